"""Writes for the recruitment app: accounts, memberships and matches; consent and workflow join later."""

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from django.core.mail import send_mail
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from recruitment.matching import CohortVerdict, Outcome, Overall, PatientFacts, TrialVerdict, match_trial
from recruitment.models import (
    SIGNATURE_MEANING,
    Consent,
    ConsentEvent,
    Match,
    MatchEvent,
    PatientProfile,
    SiteMembership,
    SponsorMembership,
    TrialInterest,
    User,
)
from recruitment.selectors import (
    TrialToMatch,
    current_contact_consent,
    is_current_consent_document,
    live_matches,
    patient_facts,
    patient_has_active_consent,
    trials_for_matching,
)
from trials.models import ConsentDocument, Site, Sponsor, Trial


@transaction.atomic
def user_upsert(
    *, email: str, role: str, password: str, is_staff: bool = False, is_superuser: bool = False
) -> User:
    """Create the account, or bring an existing one to the given role and password."""
    user = User.objects.select_for_update().filter(email=email.lower()).first()
    if user is None:
        return User.objects.create_user(
            email, password, role=role, is_staff=is_staff, is_superuser=is_superuser
        )
    user.role = role
    user.is_staff = is_staff
    user.is_superuser = is_superuser
    user.is_active = True
    user.set_password(password)
    user.save(update_fields=["role", "is_staff", "is_superuser", "is_active", "password"])
    return user


def site_membership_ensure(*, user: User, site: Site) -> SiteMembership:
    if user.role != User.Role.SITE_STAFF:
        raise ValueError(f"{user} is a {user.get_role_display()}, not site staff")
    membership, _ = SiteMembership.objects.get_or_create(user=user, site=site)
    return membership


def sponsor_membership_ensure(*, user: User, sponsor: Sponsor) -> SponsorMembership:
    if user.role != User.Role.SPONSOR:
        raise ValueError(f"{user} is a {user.get_role_display()}, not a sponsor user")
    membership, _ = SponsorMembership.objects.get_or_create(user=user, sponsor=sponsor)
    return membership


_MATCH_FIELDS = ("verdict", "score", "criteria", "cohort", "to_settle")


def _match_values(verdict: TrialVerdict, cohort: CohortVerdict | None) -> dict[str, Any]:
    data = verdict.to_dict()
    return {
        "verdict": verdict.overall.value,
        "score": verdict.score,
        "criteria": data["criteria"],
        "cohort": cohort.to_dict() if cohort else {},
        "to_settle": data["to_settle"],
    }


def _produced(
    candidate: TrialToMatch, facts: PatientFacts, *, today: date, enrolled: Mapping[int, int]
) -> tuple[dict[tuple[int, int | None], dict[str, Any]], str]:
    """The matches the engine produces for one trial (one per assignable stratum, or one for the trial),
    and, when it produces none, why."""
    verdict = match_trial(candidate.spec, candidate.criteria, facts, today=today, enrolled=enrolled)
    if verdict.overall is Overall.INELIGIBLE:
        failed = next(c for c in verdict.criteria if c.outcome is Outcome.VIOLATED)
        return {}, f"ineligible: {failed.section} criterion {failed.text[:200]!r}"
    if not verdict.accepting:
        return {}, verdict.closed_reason
    stratified = {arm.id for arm in candidate.spec.arms if arm.definition}
    strata = [c for c in verdict.assignable_cohorts if c.arm_id in stratified]
    if strata:
        return {(candidate.trial.pk, c.arm_id): _match_values(verdict, c) for c in strata}, ""
    return {(candidate.trial.pk, None): _match_values(verdict, None)}, ""


@transaction.atomic
def match_upsert_for_patient(
    *, patient: PatientProfile, today: date, enrolled: Mapping[int, int] | None = None
) -> list[MatchEvent]:
    """Re-match one patient against every open trial; returns the events appended (none if nothing changed).

    Candidates are the eligible and possibly eligible verdicts of trials taking new patients. A live match
    that is no longer produced (ineligible now, trial closed, cohort full) is retired, not deleted.
    `enrolled` maps arm id to the number enrolled there, for caps.
    """
    # Serialises re-matches of one patient (a profile edit racing the nightly run) on the profile row.
    PatientProfile.objects.select_for_update().filter(pk=patient.pk).first()
    facts = patient_facts(profile=patient)
    produced: dict[tuple[int, int | None], dict[str, Any]] = {}
    reasons: dict[int, str] = {}
    for candidate in trials_for_matching():
        matches, reason = _produced(candidate, facts, today=today, enrolled=enrolled or {})
        produced.update(matches)
        reasons[candidate.trial.pk] = reason or "cohort no longer assignable"
    now = timezone.now()
    events: list[MatchEvent] = []
    for match in live_matches(patient=patient):
        values = produced.pop((match.trial_id, match.arm_id), None)
        if values is None:
            match.retired_at = now
            match.save(update_fields=["retired_at"])
            reason = reasons.get(match.trial_id, "trial not recruiting")
            retired = MatchEvent(
                match=match, kind=MatchEvent.Kind.RETIRED, detail={"reason": reason}, created_at=now
            )
            events.append(retired)
            continue
        changed = [name for name in _MATCH_FIELDS if getattr(match, name) != values[name]]
        if not changed:
            continue
        previous = {name: getattr(match, name) for name in changed if name in ("verdict", "score")}
        for name in changed:
            setattr(match, name, values[name])
        match.evaluated_at = now
        match.save(update_fields=[*changed, "evaluated_at"])
        detail = {"changed": changed, "previous": previous}
        events.append(MatchEvent(match=match, kind=MatchEvent.Kind.UPDATED, detail=detail, created_at=now))
    for (trial_id, arm_id), values in produced.items():
        match = Match(
            patient=patient, trial_id=trial_id, arm_id=arm_id, evaluated_at=now, created_at=now, **values
        )
        match.save()
        summary = {"verdict": match.verdict, "score": match.score}
        events.append(MatchEvent(match=match, kind=MatchEvent.Kind.CREATED, detail=summary, created_at=now))
    return MatchEvent.objects.bulk_create(events)


# Consent. Giving and withdrawing lock the patient's profile row, so that a withdrawal racing a re-match or a
# second tab's signature is applied after it, never interleaved. E-mails and the hook for the site workflow
# run only after commit.

consent_withdrawn = Signal()
"""Sent after commit when consents are withdrawn, with `patient_id`, `purposes` (set of purpose codes),
`trial_ids` (trials of withdrawn share consents) and `interest_ids` (trial interests closed).

This is the hook for the site workflow: on contact or share withdrawal a receiver takes the patient out of
the site queues, cancels pending contact tasks and notifies sites with open candidacies."""


class ConsentError(ValueError):
    """A consent cannot be given or changed as asked; the message is meant for the patient."""


def _same_name(typed: str, expected: str) -> bool:
    return " ".join(typed.split()).casefold() == " ".join(expected.split()).casefold()


def _rematch_after_commit(patient: PatientProfile) -> None:
    """Re-match the patient once the transaction commits, if they consent to matching.

    TODO(issue 6): switch to the per-patient Celery task once recruitment/tasks.py provides it."""

    def rematch() -> None:
        profile = PatientProfile.objects.get(pk=patient.pk)
        if patient_has_active_consent(patient=profile, purpose=ConsentDocument.Purpose.MATCHING):
            match_upsert_for_patient(patient=profile, today=timezone.localdate())

    transaction.on_commit(rematch)


@transaction.atomic
def consent_give(
    *,
    patient: PatientProfile,
    document: ConsentDocument,
    typed_name: str,
    trial: Trial | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
    actor: User | None = None,
) -> Consent:
    """Record the patient's signature of `document` (the current version of its purpose).

    The typed name must be the account's full name. Signing what is already signed and open returns the
    existing consent. A matching consent re-matches the patient after commit.
    """
    PatientProfile.objects.select_for_update().filter(pk=patient.pk).first()
    expected = patient.user.get_full_name()
    if not expected.strip():
        raise ConsentError("Add your full name to your account before signing.")
    if not _same_name(typed_name, expected):
        raise ConsentError(f"Type your full name exactly as on your account: {expected}.")
    if not is_current_consent_document(document):
        raise ConsentError("This version of the consent is no longer in use. Please read the current one.")
    if (document.purpose == ConsentDocument.Purpose.SHARE) != (trial is not None):
        raise ConsentError("Sharing is agreed per trial; other consents are not tied to a trial.")
    existing = Consent.objects.filter(
        patient=patient, purpose=document.purpose, document=document, trial=trial, withdrawn_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    now = timezone.now()
    consent = Consent.objects.create(
        patient=patient,
        purpose=document.purpose,
        trial=trial,
        document=document,
        document_version=document.version,
        document_hash=document.content_hash,
        typed_name=" ".join(typed_name.split()),
        meaning=SIGNATURE_MEANING[document.purpose],
        signed_at=now,
        ip_address=ip_address or None,
        user_agent=user_agent[:400],
    )
    ConsentEvent.objects.create(
        consent=consent,
        kind=ConsentEvent.Kind.GIVEN,
        actor=actor,
        detail={"document_version": document.version, "document_hash": document.content_hash},
        created_at=now,
    )
    if document.purpose == ConsentDocument.Purpose.MATCHING:
        _rematch_after_commit(patient)
    return consent


def consent_withdraw(
    *,
    patient: PatientProfile,
    purposes: Iterable[str] | None = None,
    trial: Trial | None = None,
    reason: str = "",
    actor: User | None = None,
) -> list[Consent]:
    """Withdraw the patient's open consents for `purposes` (None: all; with `trial`: that trial's sharing),
    effective at once. Returns the consents withdrawn.

    Matching withdrawal retires every live match (a RETIRED event each); contact withdrawal closes every
    open trial interest, share withdrawal those of its trials. After commit `consent_withdrawn` is sent for
    the site workflow and the patient gets a confirmation e-mail.
    """
    with transaction.atomic():
        PatientProfile.objects.select_for_update().filter(pk=patient.pk).first()
        open_consents = Consent.objects.select_for_update().filter(patient=patient, withdrawn_at__isnull=True)
        if purposes is not None:
            open_consents = open_consents.filter(purpose__in=list(purposes))
        if trial is not None:
            open_consents = open_consents.filter(trial=trial)
        consents = list(open_consents)
        now = timezone.now()
        for consent in consents:
            consent.withdrawn_at = now
            consent.withdrawal_reason = reason[:500]
            consent.save(update_fields=["withdrawn_at", "withdrawal_reason"])
        ConsentEvent.objects.bulk_create(
            ConsentEvent(
                consent=consent,
                kind=ConsentEvent.Kind.WITHDRAWN,
                actor=actor,
                detail={"reason": reason},
                created_at=now,
            )
            for consent in consents
        )
        withdrawn = {consent.purpose for consent in consents}
        if ConsentDocument.Purpose.MATCHING in withdrawn:
            _matches_retire(patient=patient, reason="matching consent withdrawn", now=now)
        interests = TrialInterest.objects.select_for_update().filter(
            patient=patient, withdrawn_at__isnull=True
        )
        share_trials = {
            consent.trial_id for consent in consents if consent.purpose == ConsentDocument.Purpose.SHARE
        }
        if ConsentDocument.Purpose.CONTACT not in withdrawn:
            interests = interests.filter(trial_id__in=share_trials)
        interest_ids = list(interests.values_list("pk", flat=True))
        TrialInterest.objects.filter(pk__in=interest_ids).update(
            withdrawn_at=now, withdrawal_reason="consent withdrawn"
        )
        if consents:
            transaction.on_commit(
                lambda: _consent_withdrawn_notify(
                    patient=patient, purposes=withdrawn, trial_ids=share_trials, interest_ids=interest_ids
                )
            )
    return consents


def _matches_retire(*, patient: PatientProfile, reason: str, now: datetime) -> list[MatchEvent]:
    """Retire the patient's live matches, as a re-match retires one it no longer produces."""
    matches = list(Match.objects.select_for_update().filter(patient=patient, retired_at__isnull=True))
    for match in matches:
        match.retired_at = now
        match.save(update_fields=["retired_at"])
    return MatchEvent.objects.bulk_create(
        MatchEvent(match=match, kind=MatchEvent.Kind.RETIRED, detail={"reason": reason}, created_at=now)
        for match in matches
    )


def _consent_withdrawn_notify(
    *, patient: PatientProfile, purposes: set[str], trial_ids: set[int | None], interest_ids: list[int]
) -> None:
    consent_withdrawn.send(
        sender=Consent,
        patient_id=patient.pk,
        purposes=purposes,
        trial_ids={pk for pk in trial_ids if pk is not None},
        interest_ids=interest_ids,
    )
    labels = ", ".join(sorted(ConsentDocument.Purpose(p).label.lower() for p in purposes))
    send_mail(
        subject="Your consent was withdrawn",
        message=(
            f"You withdrew your consent to: {labels}.\n\nThis took effect at once. "
            "You can give consent again at any time from the Consent page of the portal.\n"
        ),
        from_email=None,
        recipient_list=[patient.user.email],
    )


@transaction.atomic
def trial_interest_express(
    *, patient: PatientProfile, trial: Trial, match: Match | None = None
) -> TrialInterest:
    """Record that the patient wants to hear from the trial's study team; needs active contact consent."""
    PatientProfile.objects.select_for_update().filter(pk=patient.pk).first()
    consent = current_contact_consent(patient=patient)
    if consent is None:
        raise ConsentError("To hear from study teams, first agree to be contacted on the Consent page.")
    existing = TrialInterest.objects.filter(patient=patient, trial=trial, withdrawn_at__isnull=True).first()
    if existing is not None:
        return existing
    return TrialInterest.objects.create(patient=patient, trial=trial, match=match, contact_consent=consent)
