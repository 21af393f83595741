"""Writes for the recruitment app: accounts, memberships and matches; consent and workflow join later."""

import secrets
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
    OPEN_STATUSES,
    SIGNATURE_MEANING,
    Biomarker,
    Candidate,
    CandidateEvent,
    CandidateStatus,
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
    ReasonCode,
    SiteMembership,
    SponsorMembership,
    Therapy,
    TrialInterest,
    User,
)
from recruitment.selectors import (
    TrialToMatch,
    arm_enrolled_counts,
    arm_is_closed,
    contact_allowed,
    current_contact_consent,
    is_current_consent_document,
    live_matches,
    live_matches_for_trial,
    matchable_profiles,
    matches_for_new_candidates,
    patient_facts,
    patient_facts_many,
    patients_with_live_matches,
    profile_ids_to_rematch,
    staff_site_ids,
    trials_for_matching,
)
from trials.models import Arm, ConsentDocument, EligibilityCriterion, Site, Sponsor, Trial, TrialSite


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
    retired, not deleted. `enrolled` maps arm id to the number enrolled there, for caps; by default the
    enrolled candidates are counted. A caller matching many patients passes the open `trials` once, their
    candidate `index` and the patient's `facts`.
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
            counts = enrolled if enrolled is not None else arm_enrolled_counts()
            for candidate in candidates:
                matches, reason = _produced(candidate, facts, today=today, enrolled=counts)
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
                enrolled=enrolled if enrolled is not None else arm_enrolled_counts(trial_id=trial.pk),
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
    enrolled = arm_enrolled_counts()
    ids = profile_ids_to_rematch() if profile_ids is None else sorted(set(profile_ids))
    summary = RematchSummary()
    for start in range(0, len(ids), chunk_size):
        profiles = list(PatientProfile.objects.filter(pk__in=ids[start : start + chunk_size]))
        facts = patient_facts_many(profiles=profiles)
        for profile in profiles:
            summary.events += len(
                match_upsert_for_patient(
                    patient=profile,
                    today=today,
                    enrolled=enrolled,
                    trials=trials,
                    index=index,
                    facts=facts[profile.pk],
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


# Site workflow. Every status change goes through `candidate_transition`, which locks the candidate row,
# checks the state, the actor's role and site, saves with update_fields and appends a CandidateEvent;
# notifications go out only after commit.

SYSTEM = "system"
"""The role of changes made by the service itself (consent withdrawal), with no signed-in actor."""

S = CandidateStatus
R = ReasonCode


@dataclass(frozen=True)
class TransitionRule:
    roles: frozenset[str]
    reasons: frozenset[str] = frozenset()
    """Reason codes allowed; when not empty a reason is required."""
    needs_criterion: bool = False


_STAFF = frozenset({User.Role.SITE_STAFF})
_STAFF_OR_SYSTEM = frozenset({User.Role.SITE_STAFF, SYSTEM})
_NOT_ELIGIBLE = frozenset(
    {R.CRITERION_NOT_MET, R.RECORDS_CONTRADICT_PROFILE, R.INVESTIGATOR_DECISION, R.OTHER}
)
_DECLINED = frozenset({R.PATIENT_DECLINED, R.PATIENT_PREFERS_OTHER_TREATMENT, R.TRAVEL_BURDEN, R.OTHER})
_UNREACHABLE = frozenset({R.NO_RESPONSE, R.CONTACT_DETAILS_INVALID, R.OTHER})
_WITHDRAWN = frozenset({R.CONSENT_WITHDRAWN, R.COHORT_FULL, R.DECEASED, R.INVESTIGATOR_DECISION, R.OTHER})

TRANSITIONS: dict[tuple[str, str], TransitionRule] = {
    (S.MATCHED, S.PRE_SCREENED): TransitionRule(_STAFF),
    (S.MATCHED, S.PRE_SCREEN_INELIGIBLE): TransitionRule(_STAFF, _NOT_ELIGIBLE),
    (S.PRE_SCREENED, S.CONTACTED): TransitionRule(_STAFF),
    (S.PRE_SCREENED, S.PRE_SCREEN_INELIGIBLE): TransitionRule(_STAFF, _NOT_ELIGIBLE),
    (S.CONTACTED, S.CONSENTED): TransitionRule(_STAFF),
    (S.CONTACTED, S.DECLINED): TransitionRule(_STAFF, _DECLINED),
    (S.CONTACTED, S.UNREACHABLE): TransitionRule(_STAFF, _UNREACHABLE),
    (S.CONSENTED, S.SCREENING): TransitionRule(_STAFF),
    (S.CONSENTED, S.DECLINED): TransitionRule(_STAFF, _DECLINED),
    (S.SCREENING, S.ENROLLED): TransitionRule(_STAFF),
    (S.SCREENING, S.SCREEN_FAILED): TransitionRule(
        _STAFF, frozenset({R.CRITERION_NOT_MET}), needs_criterion=True
    ),
    **{(status, S.WITHDRAWN): TransitionRule(_STAFF_OR_SYSTEM, _WITHDRAWN) for status in OPEN_STATUSES},
}
"""Every permitted (from, to) move with who may make it and which reason codes it takes."""


class TransitionError(ValueError):
    """The move is not allowed from the current state or by this actor; the message is for site staff."""


class TransitionConflict(TransitionError):
    """Someone else moved the candidate first: the caller's view of it is stale."""


def _role_of(actor: User | None) -> str:
    return SYSTEM if actor is None else actor.role


def candidate_transition(
    *,
    candidate_id: int,
    to_status: str,
    actor: User | None,
    reason: str = "",
    note: str = "",
    expected_status: str | None = None,
    criterion_id: int | None = None,
    arm_id: int | None = None,
) -> Candidate:
    """Move a candidate to `to_status`, checking the transition table, the actor's role and site.

    `expected_status` is the state the actor saw: if the candidate has moved since, TransitionConflict says
    who moved it where. Enrolment fixes the arm (`arm_id`, else the match's) and is refused when that arm is
    full or suspended. `actor=None` is the service itself (consent withdrawal).
    """
    with transaction.atomic():
        candidate = Candidate.objects.select_for_update().filter(pk=candidate_id).first()
        if candidate is None:
            raise TransitionError("No such candidate.")
        if actor is not None and candidate.site_id not in staff_site_ids(user=actor):
            raise TransitionError("You are not a member of the site handling this candidate.")
        if expected_status is not None and candidate.status != expected_status:
            last = candidate.events.filter(kind=CandidateEvent.Kind.TRANSITION).select_related("actor").last()
            by = (last.actor.email if last and last.actor else "the system") if last else "someone"
            now_label = CandidateStatus(candidate.status).label
            raise TransitionConflict(f"{candidate.subject_code} was already moved to {now_label} by {by}.")
        from_status = candidate.status
        rule = TRANSITIONS.get((from_status, to_status))
        if rule is None:
            raise TransitionError(
                f"A candidate cannot go from {CandidateStatus(from_status).label} to "
                f"{CandidateStatus(to_status).label}."
            )
        if _role_of(actor) not in rule.roles:
            raise TransitionError("Your role may not make this change.")
        if rule.reasons and reason not in rule.reasons:
            raise TransitionError("Choose a reason from the list for this change.")
        if not rule.reasons and reason:
            raise TransitionError("This change takes no reason code; use the note.")
        criterion = None
        if rule.needs_criterion:
            if criterion_id is not None:
                criterion = EligibilityCriterion.objects.filter(
                    pk=criterion_id, trial_id=candidate.trial_id
                ).first()
            if criterion is None:
                raise TransitionError("A screen failure names the criterion that failed.")
        if to_status == S.CONTACTED and not contact_allowed(candidate=candidate):
            raise TransitionError("The patient has not agreed to be contacted about this trial.")
        fields = ["status", "updated_at"]
        if to_status == S.ENROLLED:
            if arm_id is not None:
                candidate.arm = Arm.objects.filter(pk=arm_id, trial_id=candidate.trial_id).first()
                if candidate.arm is None:
                    raise TransitionError("That cohort is not part of this trial.")
                fields.append("arm")
            if candidate.arm is None and Arm.objects.filter(trial_id=candidate.trial_id).exists():
                raise TransitionError("Choose the cohort the patient is enrolled in.")
            if candidate.arm is not None:
                # Locking the arm serialises enrolments into it: two sites cannot both take its last place.
                arm = Arm.objects.select_for_update().get(pk=candidate.arm.pk)
                if arm_is_closed(arm=arm):
                    raise TransitionError(
                        f"Cohort {arm.label} is full or suspended; it takes no new patients."
                    )
        now = timezone.now()
        candidate.status = to_status
        candidate.updated_at = now
        candidate.save(update_fields=fields)
        event = CandidateEvent.objects.create(
            candidate=candidate,
            kind=CandidateEvent.Kind.TRANSITION,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
            criterion=criterion,
            actor=actor,
            note=note[:2000],
            created_at=now,
        )
        transaction.on_commit(partial(_candidate_transitioned_notify, event_id=event.pk))
    return candidate


candidate_transitioned = Signal()
"""Sent after commit with `candidate_id`, `from_status` and `to_status`: the hook for aggregate refreshes."""


def _candidate_transitioned_notify(*, event_id: int) -> None:
    event = CandidateEvent.objects.select_related("candidate").get(pk=event_id)
    candidate_transitioned.send(
        sender=Candidate,
        candidate_id=event.candidate_id,
        from_status=event.from_status,
        to_status=event.to_status,
    )


def _subject_code() -> str:
    while True:
        code = "S-" + "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
        if not Candidate.objects.filter(subject_code=code).exists():
            return code


@transaction.atomic
def candidates_create_for_site(*, trial: Trial, site: Site) -> list[Candidate]:
    """Take up as candidates of `site` the trial's new eligible or possibly eligible matches.

    The rule: one candidacy per (patient, trial), claimed by the first of the trial's recruiting sites to
    take it up; only patients with active matching consent; never into a full or suspended cohort. (The
    queue lists patients who asked to hear from the trial first.)
    """
    if not TrialSite.objects.filter(trial=trial, site=site, status__in=Trial.OPEN_STATUSES).exists():
        return []
    Trial.objects.select_for_update().filter(pk=trial.pk).first()
    now = timezone.now()
    created = []
    for match in matches_for_new_candidates(trial=trial):
        candidate = Candidate.objects.create(
            patient_id=match.patient_id,
            trial=trial,
            site=site,
            arm_id=match.arm_id,
            match=match,
            subject_code=_subject_code(),
            created_at=now,
            updated_at=now,
        )
        CandidateEvent.objects.create(
            candidate=candidate, kind=CandidateEvent.Kind.CREATED, to_status=S.MATCHED, created_at=now
        )
        created.append(candidate)
    return created


@transaction.atomic
def candidate_view_record(*, candidate: Candidate, actor: User) -> CandidateEvent:
    """Log that `actor` opened the candidate's page (PHI access)."""
    return CandidateEvent.objects.create(
        candidate=candidate,
        kind=CandidateEvent.Kind.VIEWED,
        from_status=candidate.status,
        to_status=candidate.status,
        actor=actor,
    )


@receiver(consent_withdrawn, dispatch_uid="candidates_withdraw_on_consent_withdrawal")
def _candidates_withdraw(
    sender: object, patient_id: int, purposes: set[str], trial_ids: set[int], **kwargs: Any
) -> None:
    """Matching or contact withdrawal ends every open candidacy of the patient; sharing withdrawal ends
    those of its trials. The handling sites' staff are told by subject code only."""
    candidates = Candidate.objects.filter(patient_id=patient_id, status__in=OPEN_STATUSES)
    if not purposes & {ConsentDocument.Purpose.MATCHING, ConsentDocument.Purpose.CONTACT}:
        candidates = candidates.filter(trial_id__in=trial_ids)
    for candidate in candidates:
        try:
            candidate_transition(
                candidate_id=candidate.pk,
                to_status=S.WITHDRAWN,
                actor=None,
                reason=R.CONSENT_WITHDRAWN,
                expected_status=candidate.status,
            )
        except TransitionConflict:
            continue
        staff = User.objects.filter(site_memberships__site_id=candidate.site_id, is_active=True)
        transaction.on_commit(
            partial(
                send_mail,
                subject=f"Candidate {candidate.subject_code} withdrew consent",
                message=(
                    f"Candidate {candidate.subject_code} for {candidate.trial.nct_id} withdrew consent "
                    "and has left your queue. Cancel any planned contact.\n"
                ),
                from_email=None,
                recipient_list=[u.email for u in staff],
            )
        )
