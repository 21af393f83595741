"""Alerts. Patients: e-mails about new eligible matches, at most one a day per patient, each with a link
that unsubscribes without signing in. Site staff: an in-app alert per new candidate at their sites, and a
daily digest e-mail of the new ones (counts per trial and site only, never a patient identifier).

`match_alerts_send` is idempotent (a match is told once, recorded in MatchAlert) and is meant to run after
re-matching and periodically; patients without active matching consent or who unsubscribed get nothing.
`site_alerts_create` and `site_digests_send` are idempotent in the same way (SiteAlert rows, `digested_at`).
"""

from collections import Counter, defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from recruitment.models import (
    OPEN_STATUSES,
    Candidate,
    CandidateEvent,
    CandidateStatus,
    Match,
    PatientProfile,
    SiteAlert,
    SiteMembership,
    StaffAlertSetting,
    User,
)
from recruitment.models.consent import MatchAlert, MatchAlertOptOut
from recruitment.selectors.consent import profiles_with_active_consent
from recruitment.selectors.site import TAKEN_UP_VERDICTS
from trials.models import ConsentDocument

ALERT_THROTTLE = timedelta(hours=24)
UNSUBSCRIBE_SALT = "recruitment.portal.match-alerts-unsubscribe"


def unsubscribe_token(patient: PatientProfile) -> str:
    # No expiry and no timestamp: an unsubscribe link must keep working for as long as the e-mail is kept, and
    # the same patient always gets the same link.
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object(patient.pk)


def patient_for_unsubscribe_token(token: str) -> PatientProfile | None:
    """The patient an unsubscribe link names, or None for a link that is not ours or is damaged.

    E-mails sent before commit 7ff359f carry timestamped tokens (signing.dumps). Their signature also checks
    out as a plain Signer's, but their payload then fails to decode (binascii.Error or a JSON error, both
    ValueErrors), so they are read again as timestamped tokens, with no age limit like the new ones.
    """
    try:
        try:
            pk = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
        except ValueError:
            pk = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(pk, int):
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
    for patient_id in by_patient:
        with transaction.atomic():
            # Serialises two runs for one patient: the second sees the first's MatchAlert rows.
            PatientProfile.objects.select_for_update().filter(pk=patient_id).first()
            if MatchAlert.objects.filter(patient_id=patient_id, sent_at__gt=now - throttle).exists():
                continue
            # Read again under the lock: a consent withdrawal since the read above (it takes the same lock)
            # has retired the matches, and a concurrent run has recorded its alerts.
            fresh = list(pending.filter(patient_id=patient_id))
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


# Site staff alerts


def site_alerts_create(*, candidate_ids: Collection[int]) -> int:
    """Alert every active staff member of each candidate's site to the new candidates among `candidate_ids`
    (still matched, with an eligible or possibly eligible match). Returns the number of alerts written; a
    second run for the same candidates writes none. A candidacy reopened since a member's alert about it
    (the patient consented again) makes that alert new again, unread and not yet in a digest."""
    candidates = list(
        Candidate.objects.filter(
            pk__in=list(candidate_ids),
            status=CandidateStatus.MATCHED,
            match__verdict__in=TAKEN_UP_VERDICTS,
            match__retired_at__isnull=True,
        ).select_related("match")
    )
    staff: dict[int, list[int]] = defaultdict(list)
    for site_id, user_id in SiteMembership.objects.filter(
        site_id__in={c.site_id for c in candidates}, user__is_active=True, user__role=User.Role.SITE_STAFF
    ).values_list("site_id", "user_id"):
        staff[site_id].append(user_id)
    opened = dict(
        CandidateEvent.objects.filter(candidate__in=candidates)
        .filter(
            Q(kind=CandidateEvent.Kind.CREATED)
            | Q(from_status=CandidateStatus.WITHDRAWN, to_status=CandidateStatus.MATCHED)
        )
        .values("candidate_id")
        .annotate(at=Max("created_at"))
        .values_list("candidate_id", "at")
    )
    existing = {
        (alert.user_id, alert.candidate_id): alert
        for alert in SiteAlert.objects.filter(candidate__in=candidates)
    }
    now = timezone.now()
    alerts, renewed = [], []
    for c in candidates:
        if c.match is None:
            continue
        for user_id in staff[c.site_id]:
            alert = existing.get((user_id, c.pk))
            if alert is None:
                alerts.append(
                    SiteAlert(user_id=user_id, candidate=c, verdict=c.match.verdict, created_at=now)
                )
            elif c.pk in opened and alert.created_at < opened[c.pk]:
                alert.verdict, alert.created_at, alert.read_at, alert.digested_at = (
                    c.match.verdict,
                    now,
                    None,
                    None,
                )
                renewed.append(alert)
    # A duplicate delivery racing this one is absorbed by the unique (user, candidate) constraint.
    SiteAlert.objects.bulk_create(alerts, ignore_conflicts=True)
    SiteAlert.objects.bulk_update(renewed, ["verdict", "created_at", "read_at", "digested_at"])
    return len(alerts) + len(renewed)


def site_alerts_mark_read(*, user: User, candidate_id: int | None = None) -> int:
    """Mark the user's unread alerts read (only those about one candidate, when given); returns how many."""
    unread = SiteAlert.objects.filter(user=user, read_at__isnull=True)
    if candidate_id is not None:
        unread = unread.filter(candidate_id=candidate_id)
    return unread.update(read_at=timezone.now())


@transaction.atomic
def staff_digest_set(*, user: User, daily_digest: bool) -> StaffAlertSetting:
    """Turn the user's daily digest e-mail on or off. Turning it on starts from now: alerts made while it
    was off stay in the app and are not e-mailed later."""
    setting, _ = StaffAlertSetting.objects.select_for_update().get_or_create(user=user)
    if setting.daily_digest == daily_digest:
        return setting
    now = timezone.now()
    setting.daily_digest = daily_digest
    setting.updated_at = now
    fields = ["daily_digest", "updated_at"]
    if daily_digest:
        setting.digest_since = now
        fields.append("digest_since")
    setting.save(update_fields=fields)
    return setting


def site_digests_send(*, now: datetime | None = None, alerts_url: str | None = None) -> int:
    """E-mail each site staff member one digest of the alerts made since their last digest, counted per
    trial and site; members who turned the digest off get none. Returns the number of e-mails queued."""
    now = now or timezone.now()
    alerts_url = alerts_url or _absolute(reverse("site:alerts"))
    user_ids = (
        SiteAlert.objects.filter(digested_at__isnull=True, created_at__lte=now, user__is_active=True)
        .exclude(user__alert_setting__daily_digest=False)
        .values_list("user_id", flat=True)
        .distinct()
    )
    sent = 0
    for user_id in sorted(set(user_ids)):
        with transaction.atomic():
            # Serialises two runs for one member: the second finds the alerts already digested.
            user = User.objects.select_for_update().get(pk=user_id)
            setting = StaffAlertSetting.objects.filter(user=user).first()
            if setting is not None and not setting.daily_digest:
                continue
            pending = SiteAlert.objects.filter(user=user, digested_at__isnull=True, created_at__lte=now)
            if setting is not None:
                pending = pending.filter(created_at__gte=setting.digest_since)
            # Alerts about sites the member has left are not e-mailed, nor those about candidacies that
            # ended since (a patient who withdrew consent after the alert is no new candidate).
            pending = pending.filter(
                candidate__site__memberships__user=user, candidate__status__in=OPEN_STATUSES
            )
            counts = Counter(
                pending.values_list("candidate__trial__nct_id", "candidate__site__facility", "verdict")
            )
            SiteAlert.objects.filter(user=user, digested_at__isnull=True, created_at__lte=now).update(
                digested_at=now
            )
            if not counts:
                continue
            transaction.on_commit(_digest_email(user, counts, alerts_url=alerts_url).send)
            sent += 1
    return sent


def _digest_email(user: User, counts: Counter[tuple[str, str, str]], *, alerts_url: str) -> EmailMessage:
    places: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for (nct_id, facility, verdict), n in counts.items():
        places[(nct_id, facility)][verdict] = n
    lines = []
    for (nct_id, facility), by_verdict in sorted(places.items()):
        eligible = by_verdict.get(Match.Verdict.ELIGIBLE, 0)
        possibly = by_verdict.get(Match.Verdict.POSSIBLY_ELIGIBLE, 0)
        lines.append(f"- {nct_id} at {facility}: {eligible} eligible, {possibly} possibly eligible")
    total = sum(counts.values())
    body = (
        f"{total} new candidate{'s' if total != 1 else ''} since your last digest:\n\n"
        + "\n".join(lines)
        + f"\n\nReview them (sign-in required): {alerts_url}\n\n"
        "To stop this daily e-mail, turn it off on the same page.\n"
    )
    return EmailMessage(
        subject=f"{total} new candidate{'s' if total != 1 else ''} for your trials",
        body=body,
        to=[user.email],
    )
