"""The candidate state machine: every permitted move, forbidden ones per role, reasons, caps, consent."""

import pytest
from django.utils import timezone

from recruitment.models import Candidate, CandidateEvent, CandidateStatus, ReasonCode, User
from recruitment.selectors.site import site_queue
from recruitment.services import workflow
from recruitment.services.consent import consent_withdraw, trial_interest_express
from recruitment.services.workflow import (
    TRANSITIONS,
    TransitionConflict,
    TransitionError,
    candidate_transition,
    candidates_create,
    candidates_create_for_site,
)
from tests import factories
from tests.recruitment.workflow_helpers import candidate_for, matched_patient
from trials.models import ConsentDocument, EligibilityCriterion, Trial, TrialSite

S = CandidateStatus
R = ReasonCode

# The path to each state from MATCHED, so that any transition can be tested from its source state.
PATH_TO: dict[str, list[str]] = {
    S.MATCHED: [],
    S.PRE_SCREENED: [S.PRE_SCREENED],
    S.CONTACTED: [S.PRE_SCREENED, S.CONTACTED],
    S.CONSENTED: [S.PRE_SCREENED, S.CONTACTED, S.CONSENTED],
    S.SCREENING: [S.PRE_SCREENED, S.CONTACTED, S.CONSENTED, S.SCREENING],
}


@pytest.fixture
def candidate(nsclc_trial, boston_site, sam) -> Candidate:
    return candidate_for(nsclc_trial, boston_site, email="elena@example.org", contact=True)


@pytest.fixture
def criterion(nsclc_trial) -> EligibilityCriterion:
    return EligibilityCriterion.objects.create(
        trial=nsclc_trial,
        position=1,
        section=EligibilityCriterion.Section.INCLUSION,
        text="ECOG 0-1",
        span_start=0,
        span_end=8,
        parsed_tree={},
        parser_version="t",
        dictionary_version="t",
    )


def _walk(candidate: Candidate, actor: User, to: str) -> None:
    for step in PATH_TO[to]:
        candidate_transition(candidate_id=candidate.pk, to_status=step, actor=actor)


STAFF_MOVES = sorted(move for move, rule in TRANSITIONS.items() if User.Role.SITE_STAFF in rule.roles)


def test_the_system_alone_reopens_a_candidacy_the_patients_withdrawal_ended():
    # Tested with the patient's new consent in tests/recruitment/test_reconsent.py.
    assert sorted(set(TRANSITIONS) - set(STAFF_MOVES)) == [(S.WITHDRAWN, S.MATCHED)]


@pytest.mark.parametrize(("source", "target"), STAFF_MOVES)
def test_site_staff_make_every_permitted_transition(candidate, sam, criterion, source, target):
    _walk(candidate, sam, source)
    rule = TRANSITIONS[(source, target)]
    reason = next(iter(sorted(rule.reasons)), "")
    candidate_transition(
        candidate_id=candidate.pk,
        to_status=target,
        actor=sam,
        reason=reason,
        note="checked",
        expected_status=source,
        criterion_id=criterion.pk,
    )
    candidate.refresh_from_db()
    assert candidate.status == target
    event = candidate.events.filter(kind=CandidateEvent.Kind.TRANSITION).last()
    assert event is not None
    assert (event.from_status, event.to_status, event.actor, event.reason) == (source, target, sam, reason)
    assert event.criterion == (criterion if rule.needs_criterion else None)


def test_no_contact_before_the_patient_agreed_to_it_for_this_trial(nsclc_trial, boston_site, sam):
    candidate = candidate_for(nsclc_trial, boston_site, email="quiet@example.org")
    candidate_transition(candidate_id=candidate.pk, to_status=S.PRE_SCREENED, actor=sam)
    with pytest.raises(TransitionError, match="not agreed to be contacted"):
        candidate_transition(candidate_id=candidate.pk, to_status=S.CONTACTED, actor=sam)


def test_skipping_a_step_is_refused(candidate, sam):
    with pytest.raises(TransitionError, match="cannot go from Matched to Enrolled"):
        candidate_transition(candidate_id=candidate.pk, to_status=S.ENROLLED, actor=sam)
    candidate.refresh_from_db()
    assert candidate.status == S.MATCHED


def test_terminal_states_are_final(candidate, sam):
    candidate_transition(candidate_id=candidate.pk, to_status=S.WITHDRAWN, actor=sam, reason=R.DECEASED)
    with pytest.raises(TransitionError):
        candidate_transition(candidate_id=candidate.pk, to_status=S.PRE_SCREENED, actor=sam)


@pytest.mark.parametrize("persona", ["pat", "sophie", "cora", "other_site_staff"])
def test_other_roles_may_not_move_a_candidate(request, candidate, persona):
    if persona == "other_site_staff":
        actor = factories.SiteMembershipFactory.create().user
    else:
        actor = request.getfixturevalue(persona)
    with pytest.raises(TransitionError, match="not a member of the site"):
        candidate_transition(candidate_id=candidate.pk, to_status=S.PRE_SCREENED, actor=actor)
    assert not candidate.events.filter(kind=CandidateEvent.Kind.TRANSITION).exists()


def test_only_the_service_itself_withdraws_without_an_actor(candidate):
    with pytest.raises(TransitionError, match="role may not"):
        candidate_transition(candidate_id=candidate.pk, to_status=S.PRE_SCREENED, actor=None)


def test_a_reason_from_the_list_is_required_to_leave_the_path(candidate, sam):
    with pytest.raises(TransitionError, match="Choose a reason"):
        candidate_transition(candidate_id=candidate.pk, to_status=S.PRE_SCREEN_INELIGIBLE, actor=sam)
    with pytest.raises(TransitionError, match="Choose a reason"):
        candidate_transition(
            candidate_id=candidate.pk, to_status=S.PRE_SCREEN_INELIGIBLE, actor=sam, reason=R.NO_RESPONSE
        )


def test_other_as_the_reason_needs_a_note_saying_what_it_is(candidate, sam):
    for note in ("", "   "):
        with pytest.raises(TransitionError, match="note"):
            candidate_transition(
                candidate_id=candidate.pk,
                to_status=S.PRE_SCREEN_INELIGIBLE,
                actor=sam,
                reason=R.OTHER,
                note=note,
            )
    candidate.refresh_from_db()
    assert (candidate.status, candidate.events.filter(kind=CandidateEvent.Kind.TRANSITION).count()) == (
        S.MATCHED,
        0,
    )
    candidate_transition(
        candidate_id=candidate.pk,
        to_status=S.PRE_SCREEN_INELIGIBLE,
        actor=sam,
        reason=R.OTHER,
        note="Moving abroad before the first visit.",
    )


def test_a_screen_failure_names_the_failing_criterion(candidate, sam):
    _walk(candidate, sam, S.SCREENING)
    with pytest.raises(TransitionError, match="names the criterion"):
        candidate_transition(
            candidate_id=candidate.pk, to_status=S.SCREEN_FAILED, actor=sam, reason=R.CRITERION_NOT_MET
        )


def test_a_screen_failure_cannot_name_a_criterion_retired_from_the_trial(candidate, sam, criterion):
    _walk(candidate, sam, S.SCREENING)
    criterion.retired_at = timezone.now()
    criterion.save(update_fields=["retired_at"])
    with pytest.raises(TransitionError, match="names the criterion"):
        candidate_transition(
            candidate_id=candidate.pk,
            to_status=S.SCREEN_FAILED,
            actor=sam,
            reason=R.CRITERION_NOT_MET,
            criterion_id=criterion.pk,
        )


def test_a_stale_view_gets_a_conflict_naming_who_moved_it(candidate, sam, boston_site):
    colleague = factories.SiteMembershipFactory.create(user__email="kim@example.org", site=boston_site).user
    candidate_transition(
        candidate_id=candidate.pk, to_status=S.PRE_SCREENED, actor=colleague, expected_status=S.MATCHED
    )
    with pytest.raises(TransitionConflict, match=r"already moved to Pre-screened by kim@example\.org"):
        candidate_transition(
            candidate_id=candidate.pk,
            to_status=S.PRE_SCREEN_INELIGIBLE,
            actor=sam,
            reason=R.OTHER,
            expected_status=S.MATCHED,
        )


def test_one_candidacy_per_patient_and_trial_claimed_by_the_first_site(nsclc_trial, boston_site, sam):
    other = factories.TrialSiteFactory.create(trial=nsclc_trial).site
    profile = matched_patient(nsclc_trial, email="elena@example.org")
    assert len(candidates_create_for_site(trial=nsclc_trial, site=boston_site)) == 1
    assert candidates_create_for_site(trial=nsclc_trial, site=other) == []
    assert Candidate.objects.get(patient=profile).site == boston_site


def test_interested_patients_come_first(nsclc_trial, boston_site, sam):
    matched_patient(nsclc_trial, email="first@example.org")
    keen = matched_patient(nsclc_trial, email="keen@example.org", contact=True)
    trial_interest_express(patient=keen, trial=nsclc_trial)
    candidates_create_for_site(trial=nsclc_trial, site=boston_site)
    queue = list(site_queue(site=boston_site, trial=nsclc_trial))
    assert queue[0].patient == keen


def test_patients_without_matching_consent_never_become_candidates(nsclc_trial, boston_site, sam):
    profile = matched_patient(nsclc_trial, email="elena@example.org")
    consent_withdraw(patient=profile, purposes=[ConsentDocument.Purpose.MATCHING])
    assert candidates_create_for_site(trial=nsclc_trial, site=boston_site) == []


def test_take_up_reads_matching_consent_again_once_it_holds_the_patients_lock(
    nsclc_trial, boston_site, sam, monkeypatch
):
    profile = matched_patient(nsclc_trial, email="elena@example.org")
    listed = workflow.matches_for_new_candidates
    calls = 0

    def withdrawn_after_the_first_reading(**kwargs: object) -> list:
        # The withdrawal commits between the take-up's first reading and its lock on the patient, as it
        # does when the take-up waits for the withdrawal's own lock on PostgreSQL.
        nonlocal calls
        calls += 1
        matches = listed(**kwargs)  # type: ignore[arg-type]
        if calls == 1:
            consent_withdraw(patient=profile, purposes=[ConsentDocument.Purpose.MATCHING])
        return matches

    monkeypatch.setattr(workflow, "matches_for_new_candidates", withdrawn_after_the_first_reading)
    assert candidates_create(trial_id=nsclc_trial.pk, patient_ids=[profile.pk]) == []
    assert not Candidate.objects.filter(patient=profile).exists()


def test_withdrawing_contact_consent_withdraws_open_candidacies(
    nsclc_trial, boston_site, sam, mailoutbox, django_capture_on_commit_callbacks
):
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org", contact=True)
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(patient=candidate.patient, purposes=[ConsentDocument.Purpose.CONTACT])
    candidate.refresh_from_db()
    assert candidate.status == S.WITHDRAWN
    event = candidate.events.last()
    assert event is not None
    assert (event.actor, event.reason) == (None, R.CONSENT_WITHDRAWN)
    assert any(candidate.subject_code in m.subject and m.to == [sam.email] for m in mailoutbox)


def test_a_full_cohort_takes_no_new_candidates_and_no_enrolment(nsclc_trial, boston_site, sam):
    arm = factories.ArmFactory.create(trial=nsclc_trial, label="EGFR cohort", cap=1)
    first = candidate_for(nsclc_trial, boston_site, email="a@example.org", arm=arm, contact=True)
    second = candidate_for(nsclc_trial, boston_site, email="b@example.org", arm=arm, contact=True)
    _walk(first, sam, S.SCREENING)
    candidate_transition(candidate_id=first.pk, to_status=S.ENROLLED, actor=sam)
    _walk(second, sam, S.SCREENING)
    with pytest.raises(TransitionError, match="EGFR cohort is full"):
        candidate_transition(candidate_id=second.pk, to_status=S.ENROLLED, actor=sam)
    matched_patient(nsclc_trial, email="c@example.org", arm=arm)
    assert candidates_create_for_site(trial=nsclc_trial, site=boston_site) == []


def test_a_match_to_no_cohort_is_not_taken_up_once_every_cohort_is_full_or_suspended(
    nsclc_trial, boston_site, sam
):
    # The trial's one cohort has no stratum of its own, so its matches name no cohort; the nightly re-match
    # retires them once the cohort is full, and until then the take-up must not place anyone in it.
    main = factories.ArmFactory.create(trial=nsclc_trial, label="Main", cap=1)
    suspended = factories.ArmFactory.create(trial=nsclc_trial, label="Extension", is_suspended=True)
    first = candidate_for(nsclc_trial, boston_site, email="a@example.org", contact=True)
    _walk(first, sam, S.SCREENING)
    candidate_transition(candidate_id=first.pk, to_status=S.ENROLLED, actor=sam, arm_id=main.pk)
    late = matched_patient(nsclc_trial, email="b@example.org")
    assert candidates_create_for_site(trial=nsclc_trial, site=boston_site) == []
    assert candidates_create(trial_id=nsclc_trial.pk) == []
    assert not Candidate.objects.filter(patient=late).exists()
    suspended.is_suspended = False
    suspended.save(update_fields=["is_suspended"])
    assert [c.patient for c in candidates_create_for_site(trial=nsclc_trial, site=boston_site)] == [late]


@pytest.mark.parametrize("status", [Trial.Status.SUSPENDED, Trial.Status.ACTIVE_NOT_RECRUITING])
def test_no_enrolment_while_the_trial_does_not_recruit(candidate, sam, nsclc_trial, status):
    _walk(candidate, sam, S.SCREENING)
    nsclc_trial.overall_status = status
    nsclc_trial.save(update_fields=["overall_status"])
    with pytest.raises(TransitionError, match="takes no new patients"):
        candidate_transition(candidate_id=candidate.pk, to_status=S.ENROLLED, actor=sam)
    candidate.refresh_from_db()
    assert candidate.status == S.SCREENING
    # Leaving the path is still open to Sam.
    candidate_transition(
        candidate_id=candidate.pk, to_status=S.WITHDRAWN, actor=sam, reason=R.INVESTIGATOR_DECISION
    )


def test_no_enrolment_at_a_site_that_stopped_recruiting(candidate, sam, nsclc_trial, boston_site):
    _walk(candidate, sam, S.SCREENING)
    TrialSite.objects.filter(trial=nsclc_trial, site=boston_site).update(status=TrialSite.Status.COMPLETED)
    with pytest.raises(TransitionError, match="takes no new patients"):
        candidate_transition(candidate_id=candidate.pk, to_status=S.ENROLLED, actor=sam)


def test_enrolment_needs_a_cohort_when_the_trial_has_cohorts(nsclc_trial, boston_site, sam):
    arm = factories.ArmFactory.create(trial=nsclc_trial, label="EGFR cohort")
    candidate = candidate_for(nsclc_trial, boston_site, email="a@example.org", contact=True)
    _walk(candidate, sam, S.SCREENING)
    with pytest.raises(TransitionError, match="Choose the cohort"):
        candidate_transition(candidate_id=candidate.pk, to_status=S.ENROLLED, actor=sam)
    candidate_transition(candidate_id=candidate.pk, to_status=S.ENROLLED, actor=sam, arm_id=arm.pk)
    candidate.refresh_from_db()
    assert candidate.arm == arm
