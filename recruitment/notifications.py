"""E-mails to patients about new eligible matches: at most one a day per patient, each with a link that
unsubscribes without signing in.

`match_alerts_send` is idempotent (a match is told once, recorded in MatchAlert) and is meant to run after
re-matching and periodically; patients without active matching consent or who unsubscribed get nothing.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from recruitment.models import Match, PatientProfile
from recruitment.models.consent import MatchAlert, MatchAlertOptOut
from recruitment.selectors.consent import profiles_with_active_consent
from trials.models import ConsentDocument

ALERT_THROTTLE = timedelta(hours=24)
UNSUBSCRIBE_SALT = "recruitment.portal.match-alerts-unsubscribe"


def unsubscribe_token(patient: PatientProfile) -> str:
    # No expiry: an unsubscribe link must keep working for as long as the e-mail is kept.
    return signing.dumps(patient.pk, salt=UNSUBSCRIBE_SALT)


def patient_for_unsubscribe_token(token: str) -> PatientProfile | None:
    try:
        pk = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return PatientProfile.objects.filter(pk=pk).first()


def match_alerts_unsubscribe(*, patient: PatientProfile) -> MatchAlertOptOut:
    opt_out, _ = MatchAlertOptOut.objects.get_or_create(patient=patient)
    return opt_out


def _absolute(path: str) -> str:
    return settings.SITE_ROOT.rstrip("/") + path


def match_alerts_send(
    *,
    unsubscribe_url: str | None = None,
    portal_url: str | None = None,
    now: datetime | None = None,
    patient_ids: list[int] | None = None,
    throttle: timedelta = ALERT_THROTTLE,
) -> int:
    """Send each patient with live eligible matches not yet told one e-mail listing them, unless the patient
    had one within `throttle` (the matches wait for the next run). Returns the number of e-mails queued.

    `unsubscribe_url` has `{token}` where the patient's token goes; both URLs default to the portal's pages
    under settings.SITE_ROOT, so a task can call `match_alerts_send(patient_ids=[...])` after a re-match.
    """
    now = now or timezone.now()
    if unsubscribe_url is None:
        unsubscribe_url = _absolute(reverse("portal:alerts_unsubscribe", args=["TOKEN"])).replace(
            "TOKEN", "{token}"
        )
    portal_url = portal_url or _absolute(reverse("portal:matches"))
    pending = (
        Match.objects.filter(
            retired_at__isnull=True,
            verdict=Match.Verdict.ELIGIBLE,
            alert__isnull=True,
            patient__in=profiles_with_active_consent(ConsentDocument.Purpose.MATCHING),
            patient__match_alert_opt_out__isnull=True,
        )
        .select_related("trial", "patient__user")
        .order_by("patient_id", "-score", "trial__nct_id")
    )
    if patient_ids is not None:
        pending = pending.filter(patient_id__in=patient_ids)
    by_patient: dict[int, list[Match]] = defaultdict(list)
    for match in pending:
        by_patient[match.patient_id].append(match)
    sent = 0
    for patient_id, matches in by_patient.items():
        with transaction.atomic():
            # Serialises two runs for one patient: the second sees the first's MatchAlert rows.
            PatientProfile.objects.select_for_update().filter(pk=patient_id).first()
            if MatchAlert.objects.filter(patient_id=patient_id, sent_at__gt=now - throttle).exists():
                continue
            fresh = [m for m in matches if not MatchAlert.objects.filter(match=m).exists()]
            if not fresh:
                continue
            MatchAlert.objects.bulk_create(
                MatchAlert(patient_id=patient_id, match=m, sent_at=now) for m in fresh
            )
            message = _alert_email(fresh, unsubscribe_url=unsubscribe_url, portal_url=portal_url)
            transaction.on_commit(message.send)
            sent += 1
    return sent


def _alert_email(matches: list[Match], *, unsubscribe_url: str, portal_url: str) -> EmailMessage:
    patient = matches[0].patient
    unsubscribe = unsubscribe_url.format(token=unsubscribe_token(patient))
    titles = "\n".join(f"- {m.trial.brief_title} ({m.trial.nct_id})" for m in matches)
    count = len(matches)
    lead = "A new trial matches" if count == 1 else f"{count} new trials match"
    body = (
        f"Hello {patient.user.first_name or 'there'},\n\n"
        f"{lead} your profile, and you meet every entry rule we could check:\n\n{titles}\n\n"
        f"See why and tell the study team you are interested: {portal_url}\n\n"
        "A study team always makes the final decision.\n\n"
        f"To stop these e-mails: {unsubscribe}\n"
    )
    return EmailMessage(
        subject="New trial matches for you" if count > 1 else "A new trial matches your profile",
        body=body,
        to=[patient.user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
