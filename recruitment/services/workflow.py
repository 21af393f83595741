"""Writes for the site workflow: candidate creation, transitions, following re-matches and PHI access records.

Every status change goes through `candidate_transition`, which locks the candidate row, checks
the state, the actor's role and site, saves with update_fields and appends a CandidateEvent; notifications go
out only after commit. An open candidacy shows the patient's live match: `candidate_match_follow` moves it
to the match a re-match left (or to none), with an event saying what changed."""

import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_save
from django.dispatch import Signal, receiver
from django.utils import timezone

from recruitment.models import (
    NOTE_MAX_LENGTH,
    OPEN_STATUSES,
    Candidate,
    CandidateEvent,
    CandidateStatus,
    Consent,
    Match,
    PatientProfile,
    ReasonCode,
    TrialInterest,
    User,
)
from recruitment.selectors.site import (
    SITE_RECRUITING_STATUSES,
    TAKEN_UP_VERDICTS,
    arm_is_closed,
    candidacies_to_reopen,
    candidates_off_live_match,
    contact_allowed,
    ended_by_consent_withdrawal,
    live_match_to_follow,
    match_standing,
    matches_for_new_candidates,
    nearest_site,
    recruiting_trial_sites,
    staff_site_ids,
    trials_with_take_up_owed,
)
from recruitment.services.consent import consent_withdrawn
from recruitment.services.outbox import task_send
from trials.models import Arm, ConsentDocument, EligibilityCriterion, Site, Trial, TrialSite

SYSTEM = "system"
"""The role of changes made by the service itself (consent withdrawal), with no signed-in actor."""

CONTACT_PURPOSES = frozenset({ConsentDocument.Purpose.CONTACT, ConsentDocument.Purpose.SHARE})

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
    # Only a candidacy the patient's consent withdrawal ended, when they consent again (`candidates_create`).
    (S.WITHDRAWN, S.MATCHED): TransitionRule(frozenset({SYSTEM}), frozenset({R.CONSENT_GIVEN_AGAIN})),
}
"""Every permitted (from, to) move with who may make it and which reason codes it takes."""


class TransitionError(ValueError):
    """The move is not allowed from the current state or by this actor; the message is for site staff.
    `field` names the one input that would fix it (reason, note, criterion or cohort), if there is one."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


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
    full or suspended. `actor=None` is the service itself (consent withdrawal). A step along the main path
    while the candidacy shows a match a re-match has retired is a TransitionConflict too: the candidacy
    follows the live match (committed), and the actor checks it before trying again.
    """
    stale = _candidate_transition(
        candidate_id=candidate_id,
        to_status=to_status,
        actor=actor,
        reason=reason,
        note=note,
        expected_status=expected_status,
        criterion_id=criterion_id,
        arm_id=arm_id,
    )
    if isinstance(stale, str):
        # Raised once the follow has committed, so that the retry works from the live match.
        raise TransitionConflict(stale)
    return stale


def _candidate_transition(
    *,
    candidate_id: int,
    to_status: str,
    actor: User | None,
    reason: str,
    note: str,
    expected_status: str | None,
    criterion_id: int | None,
    arm_id: int | None,
) -> Candidate | str:
    """`candidate_transition`, or the conflict message when a move along the main path finds the candidacy
    showing a match that a re-match has retired (the candidacy is then made to follow the live one first)."""
    if len(note) > NOTE_MAX_LENGTH:
        raise TransitionError(
            f"A note is at most {NOTE_MAX_LENGTH:,} characters; this one has {len(note):,}."
        )
    with transaction.atomic():
        candidate = Candidate.objects.select_for_update().filter(pk=candidate_id).first()
        if candidate is None:
            raise TransitionError("No such candidate.")
        if actor is not None and candidate.site_id not in staff_site_ids(user=actor):
            raise TransitionError("You are not a member of the site handling this candidate.")
        if expected_status is not None and candidate.status != expected_status:
            moves = candidate.events.filter(kind=CandidateEvent.Kind.TRANSITION).exclude(
                from_status=F("to_status")  # a followed re-match, which moves nothing
            )
            last = moves.select_related("actor").last()
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
        if not rule.reasons and candidate.is_open:
            # A step forward is taken on what the staff member read: the match (verdict, cohort) the page
            # showed. A re-match retired it and the candidacy has not followed yet: the cohort an enrolment
            # would default to may be one the patient no longer fits. Exits need no match and go ahead.
            followed = _match_follow_locked(candidate)
            if followed is not None:
                return (
                    f"{candidate.subject_code} was re-matched since you opened it: {followed.note} "
                    "Check the updated result, then try again."
                )
        if rule.reasons and reason not in rule.reasons:
            raise TransitionError("Choose a reason from the list for this change.", field="reason")
        if not rule.reasons and reason:
            raise TransitionError("This change takes no reason code; use the note.", field="reason")
        if reason == R.OTHER and not note.strip():
            raise TransitionError("With the reason Other, say in the note what the reason is.", field="note")
        reopening = (from_status, to_status) == (S.WITHDRAWN, S.MATCHED)
        if reopening and not ended_by_consent_withdrawal(candidate_id=candidate.pk):
            raise TransitionError(
                "Only a candidacy that ended because the patient withdrew consent reopens, "
                "when they consent again."
            )
        criterion = None
        if rule.needs_criterion:
            if criterion_id is not None:
                # One still in the trial, as the page offers: a retired one's text has left it.
                criterion = EligibilityCriterion.objects.filter(
                    pk=criterion_id, trial_id=candidate.trial_id, retired_at__isnull=True
                ).first()
            if criterion is None:
                raise TransitionError(
                    "A screen failure names the criterion that failed, one of the trial's current ones.",
                    field="criterion",
                )
        if to_status == S.CONTACTED and not contact_allowed(candidate=candidate):
            raise TransitionError("The patient has not agreed to be contacted about this trial.")
        fields = ["status", "updated_at"]
        if to_status == S.ENROLLED:
            # As a full or suspended cohort, a trial (or this site) that stopped recruiting takes no one in;
            # the candidacies under way leave the path with a reason.
            if (
                not recruiting_trial_sites(trial_id=candidate.trial_id)
                .filter(site=candidate.site_id)
                .exists()
            ):
                raise TransitionError(
                    f"{candidate.trial.nct_id} is not recruiting at this site; it takes no new patients."
                )
            if arm_id is not None:
                candidate.arm = Arm.objects.filter(pk=arm_id, trial_id=candidate.trial_id).first()
                if candidate.arm is None:
                    raise TransitionError("That cohort is not part of this trial.", field="cohort")
                fields.append("arm")
            if candidate.arm is None and Arm.objects.filter(trial_id=candidate.trial_id).exists():
                raise TransitionError("Choose the cohort the patient is enrolled in.", field="cohort")
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
            note=note,
            created_at=now,
        )
        if reopening:
            _match_follow_locked(candidate)  # the match it ended with was retired by the withdrawal
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


@receiver(candidate_transitioned, dispatch_uid="transition_refreshes_enrolment_snapshot")
def _refresh_snapshot(sender: object, candidate_id: int, **kwargs: Any) -> None:
    """Sponsors' enrolment figures follow each transition (this signal is sent after commit)."""
    trial_id = Candidate.objects.filter(pk=candidate_id).values_list("trial_id", flat=True).first()
    if trial_id is not None:
        _enqueue_snapshot_refresh(trial_id)


def _enqueue_snapshot_refresh(trial_id: int) -> None:
    from recruitment.tasks import refresh_enrolment_snapshots

    task_send(refresh_enrolment_snapshots, trial_id, recovered_by="the nightly snapshot run")


def _match_words(match: Match | None) -> str:
    if match is None:
        return "no live match"
    cohort = f"cohort {match.arm.label}" if match.arm else "no cohort"
    return f"{Match.Verdict(match.verdict).label}, {cohort}"


def candidate_match_follow(*, candidate_id: int) -> Candidate | None:
    """Point an open candidacy at the patient's live match for its trial, after a re-match replaced the one
    it showed (a new cohort, say) or retired it; returns the candidate, or None if there is no such row.

    The change is a TRANSITION event from the status to itself, by the system, whose note gives the old and
    new verdict and cohort, or why the patient no longer matches. The candidacy stays open: whether to end it
    is the site's decision. An enrolled or ended candidacy keeps the match it had, as its record.
    """
    with transaction.atomic():
        candidate = Candidate.objects.select_for_update().filter(pk=candidate_id).first()
        if candidate is not None and candidate.is_open:
            _match_follow_locked(candidate)
    return candidate


def _match_follow_locked(candidate: Candidate) -> CandidateEvent | None:
    """`candidate_match_follow` for an open candidate whose row the caller has locked: the follow event, or
    None when it already shows its live match."""
    live = live_match_to_follow(candidate=candidate)
    if (live.pk if live else None) == candidate.match_id:
        return None
    old = candidate.match
    if live is None:
        note = f"{match_standing(candidate=candidate).note} Was: {_match_words(old)}."
    else:
        note = f"Re-matched: {_match_words(old)} → {_match_words(live)}."
    now = timezone.now()
    candidate.match = live
    candidate.arm_id = live.arm_id if live else None
    candidate.updated_at = now
    candidate.save(update_fields=["match", "arm", "updated_at"])
    return CandidateEvent.objects.create(
        candidate=candidate,
        kind=CandidateEvent.Kind.TRANSITION,
        from_status=candidate.status,
        to_status=candidate.status,
        note=note,
        created_at=now,
    )


def _subject_code() -> str:
    while True:
        code = "S-" + "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
        if not Candidate.objects.filter(subject_code=code).exists():
            return code


def _waiting_profiles_lock(*, trial: Trial, patient_ids: Collection[int] | None) -> list[int]:
    """Lock, in id order, the profiles of the patients the trial has new matches for, and return their ids.

    Every take-up locks these before the trial row, as a consent withdrawal and a re-match lock the profile
    first: with one lock order, a take-up and a withdrawal (or two take-ups) wait for each other, never
    deadlock."""
    waiting = {match.patient_id for match in matches_for_new_candidates(trial=trial, patient_ids=patient_ids)}
    waiting |= {c.patient_id for c in candidacies_to_reopen(trial=trial, patient_ids=patient_ids)}
    if not waiting:
        return []
    locked = PatientProfile.objects.select_for_update().filter(pk__in=waiting).order_by("pk")
    return list(locked.values_list("pk", flat=True))


def _candidates_take_up(
    *, trial: Trial, site_for: Callable[[Match], Site], patient_ids: Collection[int] | None
) -> list[Candidate]:
    """Create the candidacies of the trial's new matches (locked on the trial row, so two take-ups never
    race for one patient), each at the site `site_for` picks; alerts go to that site's staff after commit."""
    Trial.objects.select_for_update().filter(pk=trial.pk).first()
    now = timezone.now()
    created = []
    for match in matches_for_new_candidates(trial=trial, patient_ids=patient_ids):
        candidate = Candidate.objects.create(
            patient_id=match.patient_id,
            trial=trial,
            site=site_for(match),
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
    if created:
        transaction.on_commit(partial(_enqueue_site_alerts, [c.pk for c in created]))
    return created


@transaction.atomic
def candidates_create_for_site(*, trial: Trial, site: Site) -> list[Candidate]:
    """Take up as candidates of `site` the trial's new eligible or possibly eligible matches.

    The rule: one candidacy per (patient, trial); only patients with active matching consent; never into a
    full or suspended cohort; only while the trial and the site are recruiting. (The queue lists patients who
    asked to hear from the trial first.)
    """
    if not recruiting_trial_sites(trial_id=trial.pk).filter(site=site).exists():
        return []
    locked = _waiting_profiles_lock(trial=trial, patient_ids=None)
    if not locked:
        return []
    return _candidates_take_up(trial=trial, site_for=lambda match: site, patient_ids=locked)


def candidates_create(*, trial_id: int, patient_ids: Collection[int] | None = None) -> list[Candidate]:
    """Take up the trial's new eligible or possibly eligible matches (of `patient_ids`, or all) as candidates,
    each at the recruiting site nearest the patient (the site the portal shows them), or the first by name
    when the patient or the sites have no coordinates. Idempotent: a patient with a candidacy is skipped.

    First, the open candidacies of these patients whose match a re-match replaced or retired follow the live
    one (`candidate_match_follow`), also when the trial no longer recruits. Called after the facts change (a
    match written or retired, interest or contact consent given, a cohort or site reopened), through
    `recruitment.tasks.take_up_candidates`; never by a page view.

    The waiting patients' profile rows are locked first, in id order, as a consent withdrawal and a
    re-match lock them, and the consent gate is read again under those locks: a take-up that began before a
    matching withdrawal committed then either commits first (and the withdrawal's cleanup ends the new
    candidacy) or sees the withdrawal and takes nobody up, never an open candidacy the cleanup missed.
    """
    for candidate_id in candidates_off_live_match(trial_id=trial_id, patient_ids=patient_ids).values_list(
        "pk", flat=True
    ):
        candidate_match_follow(candidate_id=candidate_id)
    with transaction.atomic():
        sites = [trial_site.site for trial_site in recruiting_trial_sites(trial_id=trial_id)]
        trial = Trial.objects.filter(pk=trial_id).first()
        if trial is None or not sites:
            return []
        locked = _waiting_profiles_lock(trial=trial, patient_ids=patient_ids)
        if not locked:
            return []

        def nearest(match: Match) -> Site:
            site, _ = nearest_site(match.patient, sites)
            return site or sites[0]

        # `_candidates_take_up` lists the matches again, now under the locks: that reading of the consent
        # gate (and of the live match a withdrawal retires) is the one the candidacies are created from.
        created = _candidates_take_up(trial=trial, site_for=nearest, patient_ids=locked)
        reopened = _candidacies_reopen(trial=trial, patient_ids=locked)
    return created + reopened


def _candidacies_reopen(*, trial: Trial, patient_ids: Collection[int]) -> list[Candidate]:
    """Reopen, at their own site, the candidacies a consent withdrawal ended whose patients consent again
    and match (`candidacies_to_reopen`, read under the caller's profile locks); the sites' staff are alerted
    as for new candidates. One candidacy per patient and trial stays the rule: its history shows both."""
    reopened = [
        candidate_transition(
            candidate_id=candidate.pk,
            to_status=S.MATCHED,
            actor=None,
            reason=R.CONSENT_GIVEN_AGAIN,
            note="The patient consented to matching again and still matches this trial.",
        )
        for candidate in candidacies_to_reopen(trial=trial, patient_ids=patient_ids)
    ]
    if reopened:
        transaction.on_commit(partial(_enqueue_site_alerts, [c.pk for c in reopened]))
    return reopened


def candidates_take_up_owed() -> int:
    """Take up what the take-up task never got to (the broker was down when the facts changed): see
    `trials_with_take_up_owed`. Run periodically; returns the number of candidacies created."""
    return sum(len(candidates_create(trial_id=trial_id)) for trial_id in trials_with_take_up_owed())


def _enqueue_take_up(trial_id: int, patient_ids: list[int] | None) -> None:
    from recruitment.tasks import take_up_candidates  # the tasks module imports this one

    task_send(take_up_candidates, trial_id, patient_ids, recovered_by="the periodic take-up sweep")


def _enqueue_site_alerts(candidate_ids: list[int]) -> None:
    from recruitment.tasks import alert_site_staff

    # Unsent, only the in-app alert (and its digest line) is lost: the candidacies stand in the queue.
    task_send(alert_site_staff, candidate_ids, recovered_by="nothing (the queue lists the candidates)")


def _take_up_after_commit(trial_id: int, patient_ids: list[int] | None = None) -> None:
    transaction.on_commit(partial(_enqueue_take_up, trial_id, patient_ids))


@receiver(post_save, sender=Match, dispatch_uid="match_saved_take_up")
def _match_saved(sender: type[Match], instance: Match, raw: bool = False, **kwargs: Any) -> None:
    """A live eligible or possibly eligible match, new or changed by a re-match, may be a new candidate or
    the new match of an open candidacy; a retired one leaves the open candidacy that showed it to follow."""
    if raw:
        return
    if instance.retired_at is None:
        if instance.verdict in TAKEN_UP_VERDICTS:
            _take_up_after_commit(instance.trial_id, [instance.patient_id])
    elif Candidate.objects.filter(match=instance, status__in=OPEN_STATUSES).exists():
        # Most retired matches were never taken up (a full re-match retires many): only these queue work.
        _take_up_after_commit(instance.trial_id, [instance.patient_id])


@receiver(post_save, sender=TrialInterest, dispatch_uid="interest_saved_take_up")
def _interest_saved(
    sender: type[TrialInterest], instance: TrialInterest, raw: bool = False, **kwargs: Any
) -> None:
    if not raw and instance.withdrawn_at is None:
        _take_up_after_commit(instance.trial_id, [instance.patient_id])


@receiver(post_save, sender=Consent, dispatch_uid="consent_given_take_up")
def _consent_given(
    sender: type[Consent], instance: Consent, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """Contact or sharing consent: the patient's live matches are taken up if they were not yet."""
    if raw or not created or instance.purpose not in CONTACT_PURPOSES:
        return
    trial_ids = Match.objects.filter(patient_id=instance.patient_id, retired_at__isnull=True).values_list(
        "trial_id", flat=True
    )
    for trial_id in sorted(set(trial_ids)):
        _take_up_after_commit(trial_id, [instance.patient_id])


def _trial_reopened(trial_id: int) -> None:
    # A registry import saves every arm and site of every trial: only a trial with matches waiting is queued.
    waiting = Match.objects.filter(trial_id=trial_id, retired_at__isnull=True, verdict__in=TAKEN_UP_VERDICTS)
    if waiting.exclude(patient__candidacies__trial_id=trial_id).exists():
        _take_up_after_commit(trial_id)


@receiver(post_save, sender=Arm, dispatch_uid="arm_saved_take_up")
def _arm_saved(sender: type[Arm], instance: Arm, raw: bool = False, **kwargs: Any) -> None:
    """A cohort may have reopened (cap raised, suspension lifted): its waiting matches become candidates."""
    if not raw and not instance.is_suspended:
        _trial_reopened(instance.trial_id)


@receiver(post_save, sender=TrialSite, dispatch_uid="trial_site_saved_take_up")
def _trial_site_saved(sender: type[TrialSite], instance: TrialSite, raw: bool = False, **kwargs: Any) -> None:
    """A site may have started recruiting: the trial's waiting matches may be taken up there."""
    if not raw and instance.status in SITE_RECRUITING_STATUSES:
        _trial_reopened(instance.trial_id)


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
            # No expected status: staff may have moved the candidate since it was listed, and the withdrawal
            # applies to whatever open state it is in now; only one that has ended meanwhile is left as it is.
            candidate_transition(
                candidate_id=candidate.pk, to_status=S.WITHDRAWN, actor=None, reason=R.CONSENT_WITHDRAWN
            )
        except TransitionError:
            if Candidate.objects.filter(pk=candidate.pk, status__in=OPEN_STATUSES).exists():
                raise
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
