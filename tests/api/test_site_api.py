"""Site staff's API (site/): their sites' candidates only, one endpoint per workflow action, PHI access
logged, contact details only once the patient agreed."""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.pagination import PageNumberPagination

from recruitment.models import Candidate, CandidateEvent, CandidateStatus, Match, PatientProfile
from recruitment.selectors.site import site_queue
from recruitment.services.consent import consent_withdraw, trial_interest_express
from recruitment.services.workflow import candidate_transition, candidates_create_for_site
from tests import factories
from tests.recruitment.consent_helpers import publish, sign
from tests.recruitment.workflow_helpers import candidate_for
from trials.models import ConsentDocument, Site

pytestmark = pytest.mark.django_db

S = CandidateStatus


def _queue(world) -> str:
    return reverse("api:site-candidates", args=[world.boston.pk, world.trial.pk])


def _act(api, candidate: Candidate, action: str, **data):
    return api.post(reverse(f"api:site-candidate-{action}", args=[candidate.pk]), data, format="json")


@pytest.mark.parametrize("persona", ["pat", "sophie", "cora"])
def test_other_roles_calling_site_endpoints_get_403(api, world, persona):
    api.force_authenticate(getattr(world, persona))
    assert api.get(reverse("api:site-trials")).status_code == 403
    assert api.get(reverse("api:site-candidate", args=[world.candidate.pk])).status_code == 403
    assert _act(api, world.candidate, "pre-screen", expected_status=S.MATCHED).status_code == 403


def test_sam_lists_the_trials_of_his_sites_only(api, world):
    api.force_authenticate(world.sam)
    rows = api.get(reverse("api:site-trials")).json()["results"]
    assert [(r["site_id"], r["trial"]["nct_id"]) for r in rows] == [(world.boston.pk, world.trial.nct_id)]


def test_another_sites_queue_candidate_and_actions_are_404(api, world):
    api.force_authenticate(world.dan)
    assert api.get(_queue(world)).status_code == 404
    assert api.get(reverse("api:site-candidate", args=[world.candidate.pk])).status_code == 404
    assert _act(api, world.candidate, "pre-screen", expected_status=S.MATCHED).status_code == 404
    world.candidate.refresh_from_db()
    assert world.candidate.status == S.MATCHED
    assert not world.candidate.events.filter(kind=CandidateEvent.Kind.VIEWED).exists()


@pytest.fixture
def taken_up(world):
    """Pat and Olga taken up as candidates of Sam's site too, as a re-match would."""
    return candidates_create_for_site(trial=world.trial, site=world.boston)


def test_the_queue_lists_the_sites_candidates_without_identifiers(api, world, taken_up):
    api.force_authenticate(world.sam)
    body = api.get(_queue(world)).json()
    codes = {row["subject_code"] for row in body["results"]}
    assert body["count"] == 3
    assert world.candidate.subject_code in codes
    assert "Example" not in str(body)
    assert "@" not in str(body)


def test_the_queue_filters_by_status_eligibility_and_unknown_criteria(api, world, taken_up):
    api.force_authenticate(world.sam)
    candidate_transition(
        candidate_id=world.candidate.pk, to_status=S.PRE_SCREENED, actor=world.sam, expected_status=S.MATCHED
    )
    pre_screened = api.get(_queue(world), {"status": "pre_screened"}).json()["results"]
    eligible = api.get(_queue(world), {"eligibility": "eligible"}).json()["results"]
    unknown = api.get(_queue(world), {"unknown": "true"}).json()["results"]
    assert [r["subject_code"] for r in pre_screened] == [world.candidate.subject_code]
    assert [r["subject_code"] for r in eligible] == [world.candidate.subject_code]
    assert len(unknown) == 2
    assert all(r["unknown_criteria"] == 1 for r in unknown)


def test_the_queue_filters_by_cohort_and_orders_by_score(api, world):
    arm = factories.ArmFactory.create(trial=world.trial, label="EGFR cohort")
    in_arm = candidate_for(world.trial, world.boston, email="arm@example.org", arm=arm)
    Match.objects.filter(patient=in_arm.patient).update(score=0.6)
    api.force_authenticate(world.sam)
    cohort = api.get(_queue(world), {"cohort": arm.pk}).json()["results"]
    assert [r["subject_code"] for r in cohort] == [in_arm.subject_code]
    lowest_first = api.get(_queue(world), {"ordering": "score"}).json()["results"]
    highest_first = api.get(_queue(world), {"ordering": "-score"}).json()["results"]
    assert [r["score"] for r in lowest_first] == sorted(r["score"] for r in lowest_first)
    assert [r["score"] for r in highest_first] == sorted((r["score"] for r in highest_first), reverse=True)


def test_an_invalid_queue_filter_is_400(api, world):
    api.force_authenticate(world.sam)
    response = api.get(_queue(world), {"status": "sleeping", "cohort": "x"})
    assert response.status_code == 400
    assert set(response.json()) == {"status", "cohort"}


@pytest.mark.parametrize("value", ["yes", "maybe", "on"])
def test_a_yes_no_queue_filter_other_than_true_or_false_is_400_not_ignored(api, world, value):
    """Read as "not given", `unknown=yes` would list every candidate as if filtered."""
    api.force_authenticate(world.sam)
    response = api.get(_queue(world), {"unknown": value})
    assert response.status_code == 400
    assert "true or false" in response.json()["unknown"][0]


def test_the_yes_no_queue_filter_takes_true_false_1_and_0(api, world):
    api.force_authenticate(world.sam)
    for value in ("true", "false", "True", "1", "0"):
        assert api.get(_queue(world), {"unknown": value}).status_code == 200, value


def test_the_queue_costs_the_same_queries_for_one_candidate_or_many(api, world, django_assert_num_queries):
    api.force_authenticate(world.sam)
    # The trial-site, the matching consent's current version, the count, the page: the queue is paged in SQL.
    with django_assert_num_queries(4):
        assert api.get(_queue(world)).json()["count"] == 1
    for n in range(4):
        candidate_for(world.trial, world.boston, email=f"more{n}@example.org")  # takes up Pat and Olga too
    with django_assert_num_queries(4):
        assert api.get(_queue(world)).json()["count"] == 7


def test_the_candidate_detail_is_pseudonymous_until_contact_is_agreed_and_each_read_is_logged(
    api, world, taken_up
):
    api.force_authenticate(world.sam)
    olga = Candidate.objects.get(patient=world.olga_profile)
    url = reverse("api:site-candidate", args=[olga.pk])
    body = api.get(url).json()
    assert body["contact"] is None
    assert body["summary"]["age_band"] == "60-64"
    assert body["summary"]["diagnoses"] == ["lung adenocarcinoma"]
    assert "olga@example.org" not in str(body)
    assert [c["outcome"] for c in body["criteria"]] == ["satisfied", "unknown", "satisfied"]
    assert body["actions"] == ["pre-screen", "pre-screen-ineligible", "withdraw"]
    api.get(url)
    views = olga.events.filter(kind=CandidateEvent.Kind.VIEWED)
    assert [e.actor for e in views] == [world.sam, world.sam]


def test_sam_reads_a_candidates_registry_age_limit_as_the_candidate_page_words_it(api, world, taken_up):
    age = {"section": "inclusion", "text": "minimum_age: 18 Years", "outcome": "satisfied", "atoms": []}
    world.olga_match.criteria = [age, *world.olga_match.criteria]
    world.olga_match.save(update_fields=["criteria"])
    api.force_authenticate(world.sam)
    olga = Candidate.objects.get(patient=world.olga_profile)
    first = api.get(reverse("api:site-candidate", args=[olga.pk])).json()["criteria"][0]
    assert (first["text"], first["registry_text"]) == ("Aged 18 years or over", "minimum_age: 18 Years")


def test_the_shared_profile_shows_only_once_the_patient_shares_it_with_that_trial(api, world, taken_up):
    """As the candidate page (`shared_profile`): sharing with another trial shows nothing here, and the
    shared profile holds no identifier (those come with `contact`)."""
    api.force_authenticate(world.sam)
    olga = Candidate.objects.get(patient=world.olga_profile)
    url = reverse("api:site-candidate", args=[olga.pk])
    assert api.get(url).json()["shared_profile"] is None
    share = world.documents[ConsentDocument.Purpose.SHARE]
    sign(world.olga_profile, share, trial=world.other_trial)
    assert api.get(url).json()["shared_profile"] is None

    sign(world.olga_profile, share, trial=world.trial)
    body = api.get(url).json()
    sections = {row["title"]: row["facts"] for row in body["shared_profile"]["sections"]}
    assert len(sections["Treatments"]) == 1
    assert sections["Illnesses and conditions"] == [str(world.olga_profile.diagnoses.get())]
    assert "olga@example.org" not in str(body["shared_profile"])


def test_contact_details_show_once_the_patient_asked_to_hear_from_the_trial(api, world):
    api.force_authenticate(world.sam)
    body = api.get(reverse("api:site-candidate", args=[world.candidate.pk])).json()
    assert body["contact"] == {"name": "Elena Rossi", "email": "elena@example.org"}


def test_the_whole_path_to_enrolment_one_action_at_a_time(api, world):
    arm = factories.ArmFactory.create(trial=world.trial, label="EGFR cohort")
    api.force_authenticate(world.sam)
    steps = [
        ("pre-screen", S.MATCHED, {}),
        ("contact", S.PRE_SCREENED, {}),
        ("consent", S.CONTACTED, {}),
        ("screening", S.CONSENTED, {}),
        ("enrol", S.SCREENING, {"cohort": arm.pk}),
    ]
    for action, seen, extra in steps:
        response = _act(api, world.candidate, action, expected_status=seen, note=f"{action} done", **extra)
        assert response.status_code == 200, (action, response.json())
    world.candidate.refresh_from_db()
    assert (world.candidate.status, world.candidate.arm) == (S.ENROLLED, arm)
    assert response.json()["cohort"] == "EGFR cohort"


def test_a_refused_action_is_400_with_the_workflow_message(api, world):
    api.force_authenticate(world.sam)
    skip = _act(api, world.candidate, "enrol", expected_status=S.MATCHED)
    no_reason = _act(api, world.candidate, "decline", expected_status=S.MATCHED)
    assert skip.status_code == 400
    assert skip.json()["detail"] == "A candidate cannot go from Matched to Enrolled."
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()


def test_a_screen_failure_names_a_criterion_of_the_trial(api, world):
    Candidate.objects.filter(pk=world.candidate.pk).update(status=S.SCREENING)
    api.force_authenticate(world.sam)
    wrong = _act(api, world.candidate, "screen-fail", expected_status=S.SCREENING, criterion=999999)
    right = _act(
        api, world.candidate, "screen-fail", expected_status=S.SCREENING, criterion=world.criterion.pk
    )
    assert wrong.status_code == 400
    assert "names the criterion that failed" in wrong.json()["criterion"][0]
    assert right.status_code == 200
    event = world.candidate.events.filter(kind=CandidateEvent.Kind.TRANSITION).last()
    assert (event.reason, event.criterion) == ("criterion_not_met", world.criterion)


def test_a_refusal_about_one_input_names_that_input(api, world):
    """As for invalid input, a refusal that one field would fix comes under that field's name, so that a
    client can show it beside the field; a refusal about the move itself stays under `detail`."""
    factories.ArmFactory.create(trial=world.trial, label="EGFR cohort")
    other_arm = factories.ArmFactory.create(trial=world.other_trial, label="Other cohort")
    api.force_authenticate(world.sam)
    other_without_note = _act(api, world.candidate, "withdraw", expected_status=S.MATCHED, reason="other")
    Candidate.objects.filter(pk=world.candidate.pk).update(status=S.SCREENING)
    no_cohort = _act(api, world.candidate, "enrol", expected_status=S.SCREENING)
    wrong_cohort = _act(api, world.candidate, "enrol", expected_status=S.SCREENING, cohort=other_arm.pk)
    assert other_without_note.status_code == 400
    assert "say in the note" in other_without_note.json()["note"][0]
    assert no_cohort.json() == {"cohort": ["Choose the cohort the patient is enrolled in."]}
    assert wrong_cohort.json() == {"cohort": ["That cohort is not part of this trial."]}
    world.candidate.refresh_from_db()
    assert (world.candidate.status, world.candidate.arm) == (S.SCREENING, None)


def test_an_action_with_a_misspelt_field_is_400_and_moves_nothing(api, world):
    api.force_authenticate(world.sam)
    response = _act(api, world.candidate, "pre-screen", expected_status=S.MATCHED, note_text="seen records")
    assert (response.status_code, list(response.json())) == (400, ["note_text"])
    world.candidate.refresh_from_db()
    assert world.candidate.status == S.MATCHED


def test_terminal_actions_take_their_own_reason_codes(api, world):
    api.force_authenticate(world.sam)
    wrong = _act(api, world.candidate, "withdraw", expected_status=S.MATCHED, reason="travel_burden")
    right = _act(api, world.candidate, "withdraw", expected_status=S.MATCHED, reason="deceased")
    assert wrong.status_code == 400
    assert "reason" in wrong.json()
    assert right.status_code == 200
    assert right.json()["status"] == S.WITHDRAWN


def test_a_stale_action_is_409_and_names_who_moved_the_candidate(api, world):
    kim = factories.SiteMembershipFactory.create(user__email="kim@example.org", site=world.boston).user
    candidate_transition(candidate_id=world.candidate.pk, to_status=S.PRE_SCREENED, actor=kim)
    api.force_authenticate(world.sam)
    response = _act(api, world.candidate, "pre-screen-ineligible", expected_status=S.MATCHED, reason="other")
    assert response.status_code == 409
    assert response.json()["detail"].endswith("was already moved to Pre-screened by kim@example.org.")
    world.candidate.refresh_from_db()
    assert world.candidate.status == S.PRE_SCREENED


def test_the_site_trial_list_costs_a_fixed_number_of_queries(api, world, django_assert_num_queries):
    for _ in range(4):
        factories.TrialSiteFactory.create(site=world.boston)
    api.force_authenticate(world.sam)
    with django_assert_num_queries(2):  # count, page with sites and trials
        assert api.get(reverse("api:site-trials")).json()["count"] == 5


def test_the_queue_shows_distance_bands_only_and_filters_by_distance(api, world, taken_up):
    Site.objects.filter(pk=world.boston.pk).update(latitude="42.360", longitude="-71.060")
    PatientProfile.objects.filter(pk=world.olga_profile.pk).update(latitude="42.370", longitude="-71.100")
    PatientProfile.objects.filter(pk=world.pat_profile.pk).update(latitude="40.710", longitude="-74.010")
    code = {c.patient_id: c.subject_code for c in Candidate.objects.filter(site=world.boston)}
    api.force_authenticate(world.sam)
    rows = api.get(_queue(world)).json()["results"]
    assert {r["subject_code"]: r["distance_band"] for r in rows} == {
        code[world.olga_profile.pk]: "under 10 km",
        code[world.pat_profile.pk]: "250-500 km",
        world.candidate.subject_code: "unknown",
    }
    assert "42.37" not in str(rows)
    near = api.get(_queue(world), {"within_km": "10"}).json()["results"]
    assert [r["subject_code"] for r in near] == [code[world.olga_profile.pk]]


def test_a_candidate_whose_patient_no_longer_matches_says_so(api, world):
    Match.objects.filter(pk=world.candidate.match_id).update(retired_at=timezone.now())
    api.force_authenticate(world.sam)
    detail = api.get(reverse("api:site-candidate", args=[world.candidate.pk])).json()
    (row,) = api.get(_queue(world)).json()["results"]
    assert detail["standing"]["current"] is False
    assert detail["standing"]["note"]
    assert row["standing"] == detail["standing"]
    # As on the pages: the earlier match is not shown while the candidacy does not follow a live one.
    for shown in (row, detail["candidate"]):
        assert [shown[f] for f in NOT_SHOWN_FIELDS] == [None] * len(NOT_SHOWN_FIELDS)
    assert detail["criteria"] is None
    assert detail["to_settle"] is None


NOT_SHOWN_FIELDS = ("verdict", "score", "unknown_criteria", "cohort")


def test_an_ended_candidacy_of_a_patient_who_withdrew_matching_consent_shows_no_match(
    api, world, taken_up, django_capture_on_commit_callbacks
):
    olga = Candidate.objects.get(patient=world.olga_profile, site=world.boston)
    with django_capture_on_commit_callbacks(execute=True):  # the withdrawal ends her candidacy after commit
        consent_withdraw(patient=world.olga_profile, purposes=[ConsentDocument.Purpose.MATCHING])
    api.force_authenticate(world.sam)
    rows = {r["id"]: r for r in api.get(_queue(world)).json()["results"]}
    detail = api.get(reverse("api:site-candidate", args=[olga.pk])).json()
    assert detail["candidate"]["status"] == S.WITHDRAWN
    assert rows[olga.pk]["standing"]["note"] == "Matching consent withdrawn. Its match is not shown."
    for shown in (rows[olga.pk], detail["candidate"]):
        assert [shown[f] for f in NOT_SHOWN_FIELDS] == [None] * len(NOT_SHOWN_FIELDS)
    assert detail["criteria"] is None
    assert detail["to_settle"] is None
    # Candidates whose standing is current keep their match.
    assert rows[world.candidate.pk]["verdict"] == "eligible"
    assert rows[world.candidate.pk]["unknown_criteria"] == 0


def test_a_queue_page_holds_its_rows_only_in_the_queues_order(api, world, taken_up, monkeypatch):
    monkeypatch.setattr(PageNumberPagination, "page_size", 2)
    api.force_authenticate(world.sam)
    first = api.get(_queue(world)).json()
    second = api.get(_queue(world), {"page": 2}).json()
    assert first["count"] == second["count"] == 3
    assert (len(first["results"]), len(second["results"])) == (2, 1)
    paged = [r["id"] for r in first["results"] + second["results"]]
    assert paged == list(site_queue(site=world.boston, trial=world.trial).values_list("id", flat=True))


def test_ordering_by_score_puts_a_patient_who_withdrew_matching_consent_last(api, world, taken_up):
    Match.objects.filter(patient=world.olga_profile).update(score=0.99)
    consent_withdraw(patient=world.olga_profile, purposes=[ConsentDocument.Purpose.MATCHING])
    olga = Candidate.objects.get(patient=world.olga_profile, site=world.boston)
    api.force_authenticate(world.sam)
    for ordering in ("score", "-score"):
        rows = api.get(_queue(world), {"ordering": ordering}).json()["results"]
        assert rows[-1]["id"] == olga.pk
        assert rows[-1]["score"] is None


def test_olgas_interest_is_not_shown_or_ranked_once_she_withdrew_matching_consent(
    api, world, taken_up, django_capture_on_commit_callbacks
):
    # She asked to hear from the trial, then withdrew matching consent (not contact, so her interest stays
    # on record for her): Sam's queue keeps her code and status only, neither her interest nor its rank.
    trial_interest_express(patient=world.olga_profile, trial=world.trial, match=world.olga_match)
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(patient=world.olga_profile, purposes=[ConsentDocument.Purpose.MATCHING])
    olga = Candidate.objects.get(patient=world.olga_profile, site=world.boston)
    api.force_authenticate(world.sam)
    rows = api.get(_queue(world)).json()["results"]
    assert {r["id"]: r["interested"] for r in rows}[olga.pk] is False
    assert rows[-1]["id"] == olga.pk
    api.force_login(world.sam)  # the queue page, as the API
    page = api.get(reverse("site:queue", args=[world.boston.pk, world.trial.pk])).content.decode()
    row = page[page.index(olga.subject_code) : page.index("</tr>", page.index(olga.subject_code))]
    assert "interested" not in row


def test_pats_match_is_not_shown_while_she_has_not_signed_the_new_matching_consent(api, world, taken_up):
    # Version 2.0 of the matching consent takes effect; Pat has not signed it, so matching is paused for her
    # (her portal shows no match). Her candidacy stays open, and her match live until her next re-match, but
    # Sam no longer reads it: not in the queue, the candidate page, nor the FHIR export.
    publish(ConsentDocument.Purpose.MATCHING, "2.0", days_ago=0)
    pat = Candidate.objects.get(patient=world.pat_profile, site=world.boston)
    assert pat.is_open
    assert pat.match.retired_at is None  # type: ignore[union-attr]
    api.force_authenticate(world.sam)
    rows = {r["id"]: r for r in api.get(_queue(world)).json()["results"]}
    detail = api.get(reverse("api:site-candidate", args=[pat.pk])).json()
    note = "Matching consent not renewed: the patient has not signed its new version."
    for shown in (rows[pat.pk], detail["candidate"]):
        assert [shown[f] for f in NOT_SHOWN_FIELDS] == [None] * len(NOT_SHOWN_FIELDS)
    assert (
        rows[pat.pk]["standing"]
        == detail["standing"]
        == {"current": False, "note": note, "cohort_closed": ""}
    )
    assert detail["criteria"] is None
    api.force_login(world.sam)
    page = api.get(reverse("site:candidate", args=[pat.pk])).content.decode()
    assert "score 0.75" not in page
    assert note in page
    bundle = api.get(reverse("site:fhir", args=[world.boston.pk, world.trial.pk])).json()
    (subject,) = [e["resource"] for e in bundle["entry"] if e["resource"].get("id") == pat.subject_code]
    assert "assignedArm" not in subject
    # Elena has not signed it either: paused alike.
    assert rows[world.candidate.pk]["standing"]["note"] == note
