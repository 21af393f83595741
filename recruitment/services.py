"""Writes for the recruitment app: accounts, memberships and matches; consent and workflow join later."""

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver
from django.utils import timezone

from recruitment.matching import CohortVerdict, Outcome, Overall, PatientFacts, TrialVerdict, match_trial
from recruitment.matching.index import CandidateIndex, PatientKeys, Requirement, trial_requirements
from recruitment.models import (
    SIGNATURE_MEANING,
    Biomarker,
    Consent,
    ConsentEvent,
    Diagnosis,
    FactSource,
    LabResult,
    Match,
    MatchEvent,
    PatientProfile,
    Procedure,
    ProfileFact,
    SiteMembership,
    SponsorMembership,
    Therapy,
    TrialInterest,
    User,
)
from recruitment.selectors import (
    TrialToMatch,
    current_contact_consent,
    is_current_consent_document,
    live_matches,
    live_matches_for_trial,
    matchable_profiles,
    patient_facts,
    patient_facts_many,
    patients_with_live_matches,
    profile_ids_to_rematch,
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


def match_upsert_for_patient(
    *,
    patient: PatientProfile,
    today: date,
    enrolled: Mapping[int, int] | None = None,
    trials: Sequence[TrialToMatch] | None = None,
    index: CandidateIndex | None = None,
    facts: PatientFacts | None = None,
) -> list[MatchEvent]:
    """Re-match one patient against every open trial; returns the events appended (none if nothing changed).

    Candidates are the eligible and possibly eligible verdicts of trials taking new patients. A live match
    that is no longer produced (ineligible now, trial closed, cohort full, no consent to be matched) is
    retired, not deleted. `enrolled` maps arm id to the number enrolled there, for caps. A caller matching
    many patients passes the open `trials` once, their candidate `index` and the patient's `facts`.
    """
    with transaction.atomic():
        # Serialises re-matches of one patient (a profile edit racing the nightly run) on the profile row.
        PatientProfile.objects.select_for_update().filter(pk=patient.pk).first()
        live = live_matches(patient=patient)
        produced: dict[tuple[int, int | None], dict[str, Any]] = {}
        reasons: dict[int, str] = {}
        if matchable_profiles().filter(pk=patient.pk).exists():
            facts = facts or patient_facts(profile=patient)
            candidates = trials if trials is not None else trials_for_matching()
            if index is not None:
                keep = index.trials_for(facts) | {match.trial_id for match in live}
                candidates = [c for c in candidates if c.trial.pk in keep]
            for candidate in candidates:
                matches, reason = _produced(candidate, facts, today=today, enrolled=enrolled or {})
                produced.update(matches)
                reasons[candidate.trial.pk] = reason or "cohort no longer assignable"
        else:
            reasons = dict.fromkeys((m.trial_id for m in live), "no active consent to be matched")
        return MatchEvent.objects.bulk_create(
            _matches_settle(patient_id=patient.pk, live=live, produced=produced, reasons=reasons)
        )


def _matches_settle(
    *,
    patient_id: int,
    live: Iterable[Match],
    produced: dict[tuple[int, int | None], dict[str, Any]],
    reasons: Mapping[int, str],
) -> list[MatchEvent]:
    """Bring one patient's live matches in line with what the engine produced; returns unsaved events.

    `live` and `produced` cover the same trials (all open ones, or one): a live match not produced again is
    retired with the trial's reason, a changed one updated, a new one created.
    """
    now = timezone.now()
    events: list[MatchEvent] = []
    for match in live:
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
            patient_id=patient_id,
            trial_id=trial_id,
            arm_id=arm_id,
            evaluated_at=now,
            created_at=now,
            **values,
        )
        match.save()
        summary = {"verdict": match.verdict, "score": match.score}
        events.append(MatchEvent(match=match, kind=MatchEvent.Kind.CREATED, detail=summary, created_at=now))
    return events


def match_upsert_for_trial(
    *,
    trial: Trial,
    today: date,
    enrolled: Mapping[int, int] | None = None,
    chunk_size: int = 500,
) -> list[MatchEvent]:
    """Re-match one trial against every matchable patient: the mirror of `match_upsert_for_patient`.

    Only the trial's own matches change. Patients the candidate index rules out are skipped unless they
    hold a live match of the trial (then they are evaluated, so that the match is retired with its reason).
    Patients are handled in chunks, each in its own transaction, locking their profile rows in id order, as
    a patient re-match locks its one row, so that the two never deadlock.
    """
    (candidate,) = trials_for_matching(trial_ids=[trial.pk]) or (None,)
    requirements = trial_requirements(candidate.criteria) if candidate else ()
    holders = patients_with_live_matches(trial_id=trial.pk)
    events: list[MatchEvent] = []
    profile_ids = list(matchable_profiles().order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(profile_ids) + 1, chunk_size):
        chunk = set(profile_ids[start : start + chunk_size])
        if start + chunk_size >= len(profile_ids):
            # Holders who are no longer matchable (consent withdrawn) are settled with the last chunk.
            chunk |= holders - set(profile_ids)
        if chunk:
            events += _trial_chunk_settle(
                trial_id=trial.pk,
                candidate=candidate,
                requirements=requirements,
                profile_ids=chunk,
                matchable=set(profile_ids),
                holders=holders,
                today=today,
                enrolled=enrolled or {},
            )
    return events


def _trial_chunk_settle(
    *,
    trial_id: int,
    candidate: TrialToMatch | None,
    requirements: Sequence[Requirement],
    profile_ids: set[int],
    matchable: set[int],
    holders: set[int],
    today: date,
    enrolled: Mapping[int, int],
) -> list[MatchEvent]:
    with transaction.atomic():
        profiles = list(PatientProfile.objects.select_for_update().filter(pk__in=profile_ids).order_by("pk"))
        facts = patient_facts_many(profiles=[p for p in profiles if p.pk in matchable]) if candidate else {}
        live = live_matches_for_trial(trial_id=trial_id, patient_ids=profile_ids)
        events: list[MatchEvent] = []
        for profile in profiles:
            produced: dict[tuple[int, int | None], dict[str, Any]] = {}
            reason = "trial not recruiting"
            if profile.pk not in matchable:
                reason = "no active consent to be matched"
            elif candidate is not None:
                patient = facts[profile.pk]
                if profile.pk in holders or PatientKeys.of(patient, today).admits(requirements):
                    produced, reason = _produced(candidate, patient, today=today, enrolled=enrolled)
            if not produced and profile.pk not in live:
                continue
            events += _matches_settle(
                patient_id=profile.pk,
                live=live.get(profile.pk, []),
                produced=produced,
                reasons={trial_id: reason or "cohort no longer assignable"},
            )
        return MatchEvent.objects.bulk_create(events)


@dataclass
class RematchSummary:
    patients: int = 0
    events: int = 0
    seconds: float = 0.0


def match_upsert_all(
    *,
    today: date,
    profile_ids: Iterable[int] | None = None,
    chunk_size: int = 500,
    progress: Callable[[int], object] | None = None,
) -> RematchSummary:
    """Re-match patients (all matchable ones, or `profile_ids`) against every open trial, in process.

    Trials and their candidate index are built once; patient facts are read a chunk at a time. Patients who
    are no longer matchable but hold live matches are included, so that those matches are retired.
    `progress` is called with the number of patients done after each chunk.
    """
    started = time.perf_counter()
    trials = trials_for_matching()
    index = CandidateIndex(trials={t.trial.pk: t.criteria for t in trials}, today=today)
    ids = profile_ids_to_rematch() if profile_ids is None else sorted(set(profile_ids))
    summary = RematchSummary()
    for start in range(0, len(ids), chunk_size):
        profiles = list(PatientProfile.objects.filter(pk__in=ids[start : start + chunk_size]))
        facts = patient_facts_many(profiles=profiles)
        for profile in profiles:
            summary.events += len(
                match_upsert_for_patient(
                    patient=profile, today=today, trials=trials, index=index, facts=facts[profile.pk]
                )
            )
        summary.patients += len(profiles)
        if progress is not None:
            progress(len(profiles))
    summary.seconds = time.perf_counter() - started
    return summary


def profile_changed(*, profile_id: int) -> None:
    """Queue a re-match of the patient once the current transaction commits (at once outside one).

    Called for every write to a profile or one of its facts; the receivers below call it for saves and
    deletions made anywhere, the admin's forms included.
    """
    transaction.on_commit(partial(_enqueue_patient_rematch, profile_id))


def trial_changed(*, trial_id: int) -> None:
    """Queue a re-match of the trial once the current transaction commits: its status, an arm, a criterion
    (parsed or curated) changed. With no patient to match (a fresh registry import) nothing is queued."""
    holders = Match.objects.filter(trial_id=trial_id, retired_at__isnull=True)
    if matchable_profiles().exists() or holders.exists():
        transaction.on_commit(partial(_enqueue_trial_rematch, trial_id))


def _enqueue_patient_rematch(profile_id: int) -> None:
    from recruitment.tasks import rematch_patient  # the tasks module imports this one

    rematch_patient.delay(profile_id)


def _enqueue_trial_rematch(trial_id: int) -> None:
    from recruitment.tasks import rematch_trial

    rematch_trial.delay(trial_id)


@receiver(post_save, sender=PatientProfile, dispatch_uid="profile_saved_rematch")
def _profile_saved(sender: type[PatientProfile], instance: PatientProfile, **kwargs: Any) -> None:
    if not kwargs.get("raw"):
        profile_changed(profile_id=instance.pk)


def _fact_written(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    if not kwargs.get("raw"):
        profile_changed(profile_id=instance.patient_id)  # type: ignore[attr-defined]


for _fact_model in (Diagnosis, Biomarker, LabResult, Therapy, Procedure):
    post_save.connect(_fact_written, sender=_fact_model, dispatch_uid=f"{_fact_model.__name__}_saved_rematch")
    post_delete.connect(
        _fact_written, sender=_fact_model, dispatch_uid=f"{_fact_model.__name__}_deleted_rematch"
    )


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
    existing consent. A matching consent queues a re-match of the patient after commit.
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
        profile_changed(profile_id=patient.pk)
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


# Patient accounts and profile edits from the portal.

VERIFY_SALT = "recruitment.portal.verify-email"
VERIFY_MAX_AGE = timedelta(days=3)


def email_verification_token(user: User) -> str:
    """A signed, expiring token naming the account and the address it was sent to."""
    return signing.dumps({"user": user.pk, "email": user.email}, salt=VERIFY_SALT)


@transaction.atomic
def patient_register(
    *, email: str, password: str, first_name: str, last_name: str, verify_url: str
) -> User | None:
    """Create an inactive patient account with its profile and send the verification link after commit.

    `verify_url` has `{token}` where the token goes. An address already registered gets no new account:
    its owner is told by e-mail instead, so that the form does not reveal who is registered.
    """
    email = User.objects.normalize_email(email).lower()
    existing = User.objects.filter(email=email).first()
    if existing is not None:
        transaction.on_commit(
            lambda: send_mail(
                subject="Someone tried to register with your e-mail address",
                message=(
                    "Someone, maybe you, tried to create an account with this e-mail address, which already "
                    "has one. If it was you, sign in or reset your password. If not, you can ignore this.\n"
                ),
                from_email=None,
                recipient_list=[email],
            )
        )
        return None
    user = User.objects.create_user(
        email, password, role=User.Role.PATIENT, first_name=first_name.strip(), last_name=last_name.strip()
    )
    user.is_active = False
    user.save(update_fields=["is_active"])
    PatientProfile.objects.create(user=user)
    link = verify_url.format(token=email_verification_token(user))
    transaction.on_commit(
        lambda: send_mail(
            subject="Confirm your e-mail address",
            message=(
                f"Hello {user.first_name},\n\nTo finish creating your account, open this link "
                "within 3 days:\n\n"
                f"{link}\n\nIf you did not ask for an account, you can ignore this e-mail.\n"
            ),
            from_email=None,
            recipient_list=[user.email],
        )
    )
    return user


class VerificationError(ValueError):
    """The verification link is broken, expired or for an address the account no longer has."""


@transaction.atomic
def patient_verify_email(*, token: str) -> User:
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=VERIFY_MAX_AGE)
    except signing.SignatureExpired:
        raise VerificationError("This link has expired. Register again to get a new one.") from None
    except signing.BadSignature:
        raise VerificationError("This link is not valid. Check that you copied all of it.") from None
    user = User.objects.select_for_update().filter(pk=data["user"], email=data["email"]).first()
    if user is None:
        raise VerificationError("This link is not valid any more.")
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
    return user


def patient_profile_for(user: User) -> PatientProfile:
    """The patient's profile, created on first use for patient accounts made outside the portal."""
    profile, _ = PatientProfile.objects.get_or_create(user=user)
    return profile


@transaction.atomic
def profile_update(*, profile: PatientProfile, fields: Mapping[str, Any]) -> PatientProfile:
    """Save the patient's own profile fields (validated by the model); matching follows after commit."""
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.updated_at = timezone.now()
    profile.full_clean()
    profile.save(update_fields=[*fields, "updated_at"])
    return profile


@transaction.atomic
def profile_fact_save(*, profile: PatientProfile, fact: ProfileFact, actor: User) -> ProfileFact:
    """Add or change one of the patient's own facts, as self-reported; matching follows after commit."""
    fact.patient = profile
    fact.source = FactSource.SELF_REPORTED
    fact.entered_by = actor
    fact.entered_at = timezone.now()
    fact.full_clean()
    fact.save()
    return fact


@transaction.atomic
def profile_fact_delete(*, fact: ProfileFact) -> None:
    fact.delete()
