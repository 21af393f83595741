"""An open candidacy shows the patient's live match: after a re-match it follows the new one (with an event
in its history), or the site is told plainly that the patient no longer matches and why; an enrolled or
ended candidacy keeps the match it had.

Elena (EGFR exon 19 deletion, ECOG 1) is matched by the real engine to a stratified trial run at Sam's
Boston site, with an EGFR exon 19 cohort and a HER2 IHC 1+ cohort (she fits the first, may fit the second).
"""

import html

import pytest
from django.urls import reverse

from nlp.model import node_to_dict
from recruitment.models import Candidate, CandidateEvent, CandidateStatus, Match, ReasonCode
from recruitment.selectors.site import match_standing, site_queue
from recruitment.services.consent import consent_withdraw, trial_interest_express
from recruitment.services.matching import match_upsert_for_patient
from recruitment.services.workflow import TransitionConflict, candidate_transition
from tests import factories
from tests.recruitment.conftest import TODAY
from tests.recruitment.consent_helpers import Purpose, publish, sign
from tests.recruitment.test_match_services import trial_with
from trials.models import Arm, Trial

S = CandidateStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personas_consent_to_matching")]

ECOG_TEXT = "Eastern Cooperative Oncology Group (ECOG) performance status: 0 or 1"


@pytest.fixture
def stratified_trial(criteria, boston_site) -> Trial:
    trial = trial_with(criteria, ("adult", "ecog_0_1"), nct_id="NCT05000002")
    factories.TrialSiteFactory.create(trial=trial, site=boston_site)
    for label, definition in (("EGFR ex19", "egfr_ex19"), ("HER2 IHC 1+", "her2_ihc_1")):
        factories.ArmFactory.create(
            trial=trial, label=label, biomarker_definition=node_to_dict(criteria[definition].tree), cap=5
        )
    return trial


def _arm(trial: Trial, label: str) -> Arm:
    return trial.arms.get(label=label)


def _rematch(patient, capture, **kwargs) -> None:
    """A re-match of the patient, committed: what follows a commit (take-up, following) runs too."""
    with capture(execute=True):
        match_upsert_for_patient(patient=patient, today=TODAY, **kwargs)


@pytest.fixture
def candidate(elena, stratified_trial, sam, django_capture_on_commit_callbacks) -> Candidate:
    _rematch(elena, django_capture_on_commit_callbacks)
    candidate = Candidate.objects.get(patient=elena, trial=stratified_trial)
    egfr = _arm(stratified_trial, "EGFR ex19")
    assert candidate.match is not None
    assert (candidate.arm_id, candidate.match.arm_id) == (egfr.pk, egfr.pk)
    return candidate


def _get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _follow_events(candidate: Candidate) -> list[CandidateEvent]:
    return list(candidate.events.filter(kind=CandidateEvent.Kind.TRANSITION, actor__isnull=True))


def test_an_open_candidate_follows_the_new_live_match_with_an_event(
    candidate, elena, stratified_trial, sam, django_capture_on_commit_callbacks
):
    candidate_transition(candidate_id=candidate.pk, to_status=S.PRE_SCREENED, actor=sam)
    egfr = _arm(stratified_trial, "EGFR ex19")
    # The EGFR cohort fills: the re-match retires that match and keeps the HER2 one.
    _rematch(elena, django_capture_on_commit_callbacks, enrolled={egfr.pk: 5})

    candidate.refresh_from_db()
    live = Match.objects.get(patient=elena, trial=stratified_trial, retired_at__isnull=True)
    assert (candidate.match, candidate.arm.label, candidate.status) == (live, "HER2 IHC 1+", S.PRE_SCREENED)
    (event,) = _follow_events(candidate)
    assert (event.from_status, event.to_status) == (S.PRE_SCREENED, S.PRE_SCREENED)
    assert event.note == "Re-matched: Eligible, cohort EGFR ex19 → Eligible, cohort HER2 IHC 1+."
    assert match_standing(candidate=candidate).current


def test_following_is_idempotent(candidate, elena, stratified_trial, django_capture_on_commit_callbacks):
    egfr = _arm(stratified_trial, "EGFR ex19")
    _rematch(elena, django_capture_on_commit_callbacks, enrolled={egfr.pk: 5})
    _rematch(elena, django_capture_on_commit_callbacks, enrolled={egfr.pk: 5})
    assert len(_follow_events(candidate)) == 1


def _enrol(candidate: Candidate, patient, sam) -> None:
    sign(patient, publish(Purpose.CONTACT))
    trial_interest_express(patient=patient, trial=candidate.trial)
    for step in (S.PRE_SCREENED, S.CONTACTED, S.CONSENTED, S.SCREENING, S.ENROLLED):
        candidate_transition(candidate_id=candidate.pk, to_status=step, actor=sam)


@pytest.mark.parametrize("outcome", [S.ENROLLED, S.PRE_SCREEN_INELIGIBLE])
def test_an_enrolled_or_ended_candidate_keeps_its_match(
    candidate, elena, sam, stratified_trial, django_capture_on_commit_callbacks, outcome
):
    if outcome == S.ENROLLED:
        _enrol(candidate, elena, sam)
    else:
        candidate_transition(
            candidate_id=candidate.pk, to_status=outcome, actor=sam, reason=ReasonCode.INVESTIGATOR_DECISION
        )
    candidate.refresh_from_db()
    before = (candidate.match_id, candidate.arm_id, candidate.events.count())
    egfr = _arm(stratified_trial, "EGFR ex19")
    _rematch(elena, django_capture_on_commit_callbacks, enrolled={egfr.pk: 5})

    candidate.refresh_from_db()
    assert (candidate.match_id, candidate.arm_id, candidate.events.count()) == before
    assert candidate.status == outcome
    assert candidate.match.retired_at is not None
    assert match_standing(candidate=candidate).current


def test_when_the_patient_no_longer_matches_the_page_and_queue_say_why(
    client, candidate, elena, sam, boston_site, stratified_trial, django_capture_on_commit_callbacks
):
    elena.ecog = 3
    elena.save(update_fields=["ecog"])
    _rematch(elena, django_capture_on_commit_callbacks)

    candidate.refresh_from_db()
    expected = f"No longer matches: ineligible: inclusion criterion '{ECOG_TEXT}'."
    assert (candidate.status, candidate.match, candidate.arm) == (S.MATCHED, None, None)
    (event,) = _follow_events(candidate)
    assert event.note == f"{expected} Was: Eligible, cohort EGFR ex19."

    client.force_login(sam)
    page = _get(client, reverse("site:candidate", args=[candidate.pk]))
    assert expected in page
    assert "verdict-eligible" not in page
    assert expected in _get(client, reverse("site:queue", args=[boston_site.pk, stratified_trial.pk]))


def test_when_matching_consent_is_gone_the_page_says_so(
    client, candidate, elena, sam, django_capture_on_commit_callbacks
):
    # A new version of the matching consent pauses matching until Elena signs it; the candidacy stays open.
    publish(Purpose.MATCHING, version="2.0", days_ago=1)
    _rematch(elena, django_capture_on_commit_callbacks)
    candidate.refresh_from_db()
    assert candidate.is_open
    client.force_login(sam)
    page = _get(client, reverse("site:candidate", args=[candidate.pk]))
    assert "Matching consent not renewed: the patient has not signed its new version." in page

    consent_withdraw(patient=elena, purposes=[Purpose.MATCHING])
    assert match_standing(candidate=candidate).note == "Matching consent withdrawn."


def test_a_retired_match_not_yet_followed_is_not_shown_as_current(
    client, candidate, elena, sam, boston_site, stratified_trial
):
    egfr = _arm(stratified_trial, "EGFR ex19")
    # Committed but not yet followed (the task is still queued): the retired explanation is not shown.
    match_upsert_for_patient(patient=elena, today=TODAY, enrolled={egfr.pk: 5})
    candidate.refresh_from_db()
    assert candidate.match.retired_at is not None
    standing = match_standing(candidate=candidate)
    assert not standing.current
    assert standing.note.startswith("Re-matched a moment ago")
    queue = site_queue(site=boston_site, trial=stratified_trial, verdict=Match.Verdict.ELIGIBLE)
    assert list(queue) == []


def test_queue_cohort_and_eligibility_filters_read_the_live_match(
    candidate, elena, boston_site, stratified_trial, django_capture_on_commit_callbacks
):
    egfr, her2 = _arm(stratified_trial, "EGFR ex19"), _arm(stratified_trial, "HER2 IHC 1+")
    _rematch(elena, django_capture_on_commit_callbacks, enrolled={egfr.pk: 5})

    def listed(**filters) -> list[Candidate]:
        return list(site_queue(site=boston_site, trial=stratified_trial, **filters))

    assert listed(arm_id=egfr.pk) == []
    assert listed(arm_id=her2.pk) == [candidate]
    assert listed(verdict=Match.Verdict.ELIGIBLE) == [candidate]

    elena.ecog = 3
    elena.save(update_fields=["ecog"])
    _rematch(elena, django_capture_on_commit_callbacks)
    assert listed(arm_id=her2.pk) == listed(verdict=Match.Verdict.ELIGIBLE) == []
    assert listed() == [candidate]


def test_the_page_says_when_the_live_match_cohort_is_full_or_suspended(
    client, candidate, sam, stratified_trial
):
    Arm.objects.filter(trial=stratified_trial, label="EGFR ex19").update(is_suspended=True)
    client.force_login(sam)
    page = _get(client, reverse("site:candidate", args=[candidate.pk]))
    assert "Cohort EGFR ex19 is full or suspended: it takes no new patients." in page


def test_a_followed_rematch_does_not_hide_who_moved_the_candidate_in_a_conflict(
    candidate, elena, sam, stratified_trial, django_capture_on_commit_callbacks
):
    candidate_transition(candidate_id=candidate.pk, to_status=S.PRE_SCREENED, actor=sam)
    egfr = _arm(stratified_trial, "EGFR ex19")
    _rematch(elena, django_capture_on_commit_callbacks, enrolled={egfr.pk: 5})
    with pytest.raises(TransitionConflict, match=r"by sam@example\.org"):
        candidate_transition(
            candidate_id=candidate.pk, to_status=S.PRE_SCREENED, actor=sam, expected_status=S.MATCHED
        )


def test_a_match_regained_after_it_was_lost_is_followed_again(
    candidate, elena, stratified_trial, django_capture_on_commit_callbacks
):
    elena.ecog = 3
    elena.save(update_fields=["ecog"])
    _rematch(elena, django_capture_on_commit_callbacks)
    elena.ecog = 1
    elena.save(update_fields=["ecog"])
    _rematch(elena, django_capture_on_commit_callbacks)

    candidate.refresh_from_db()
    assert candidate.match is not None
    assert candidate.match.retired_at is None
    assert [e.note for e in _follow_events(candidate)][-1] == (
        "Re-matched: no live match → Eligible, cohort EGFR ex19."
    )


def test_sam_cannot_enrol_into_the_cohort_of_a_match_a_rematch_retired(
    candidate, elena, sam, stratified_trial, django_capture_on_commit_callbacks
):
    sign(elena, publish(Purpose.CONTACT))
    trial_interest_express(patient=elena, trial=stratified_trial)
    for step in (S.PRE_SCREENED, S.CONTACTED, S.CONSENTED, S.SCREENING):
        candidate_transition(candidate_id=candidate.pk, to_status=step, actor=sam)
    egfr = _arm(stratified_trial, "EGFR ex19")
    # Committed but not yet followed: the EGFR match Sam's page showed is retired, the HER2 one is live.
    match_upsert_for_patient(patient=elena, today=TODAY, enrolled={egfr.pk: 5})

    with pytest.raises(TransitionConflict, match="was re-matched since you opened it"):
        candidate_transition(
            candidate_id=candidate.pk, to_status=S.ENROLLED, actor=sam, expected_status=S.SCREENING
        )
    candidate.refresh_from_db()
    # The refusal leaves the candidacy on the live match, so that Sam's next look shows the HER2 cohort.
    assert (candidate.status, candidate.arm.label) == (S.SCREENING, "HER2 IHC 1+")
    assert candidate.match.retired_at is None

    candidate_transition(
        candidate_id=candidate.pk, to_status=S.ENROLLED, actor=sam, expected_status=S.SCREENING
    )
    candidate.refresh_from_db()
    assert (candidate.status, candidate.arm.label) == (S.ENROLLED, "HER2 IHC 1+")


def test_sam_may_still_end_a_candidacy_whose_match_a_rematch_retired(candidate, elena, sam, stratified_trial):
    egfr = _arm(stratified_trial, "EGFR ex19")
    match_upsert_for_patient(patient=elena, today=TODAY, enrolled={egfr.pk: 5})
    candidate_transition(
        candidate_id=candidate.pk,
        to_status=S.PRE_SCREEN_INELIGIBLE,
        actor=sam,
        reason=ReasonCode.INVESTIGATOR_DECISION,
        expected_status=S.MATCHED,
    )
    candidate.refresh_from_db()
    assert candidate.status == S.PRE_SCREEN_INELIGIBLE


def test_sam_sees_elenas_whole_profile_only_once_she_shares_it_with_this_trial(
    client, candidate, elena, sam, stratified_trial
):
    client.force_login(sam)
    url = reverse("site:candidate", args=[candidate.pk])
    before = _get(client, url)
    assert "Profile shared for this trial" not in before
    assert "osimertinib" not in before  # the pseudonymous summary names illnesses and tumour tests only

    share = publish(Purpose.SHARE)
    other_trial = factories.TrialFactory.create()
    sign(elena, share, trial=other_trial)
    assert "Profile shared for this trial" not in _get(client, url)

    sign(elena, share, trial=stratified_trial)
    shared = _get(client, url)
    assert "Profile shared for this trial" in shared
    assert "osimertinib" in shared
    assert "platelet count" in shared
    assert elena.user.email not in shared  # identity still comes with contact consent only

    consent_withdraw(patient=elena, purposes=[Purpose.SHARE], trial=stratified_trial)
    assert "Profile shared for this trial" not in _get(client, url)
