"""Site and sponsor pages: who sees what (DESIGN.md "Users and what each may see"), the candidate page's
pseudonymity and PHI-access log, transitions from the page, exports and the sponsor's suppressed counts.

Wrong role for a section: 403. Right role but not your site, candidate or trial: 404.
"""

import csv
import datetime
import html
import io
import itertools
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from recruitment.models import Candidate, CandidateEvent, CandidateStatus, User
from recruitment.selectors.site import screening_log
from recruitment.services.consent import consent_withdraw, trial_interest_express
from recruitment.services.workflow import TransitionError, candidate_transition
from recruitment.suppression import SMALL
from tests import factories
from tests.recruitment.consent_helpers import sign
from tests.recruitment.workflow_helpers import candidate_for, screen_failed
from trials.models import ConsentDocument, EligibilityCriterion, Trial, TrialSite

S = CandidateStatus


@pytest.fixture
def candidate(nsclc_trial, boston_site, sam):
    return candidate_for(nsclc_trial, boston_site, email="elena@example.org")


@pytest.fixture
def other_site_staff(db):
    trial_site = factories.TrialSiteFactory.create(site__facility="Denver Lung Clinic")
    return factories.SiteMembershipFactory.create(user__email="dan@example.org", site=trial_site.site).user


@pytest.fixture
def other_sponsor(db):
    return factories.SponsorMembershipFactory.create(user__email="otto@example.org").user


def _get(client, user: User | None, url: str) -> int:
    if user is not None:
        client.force_login(user)
    return client.get(url).status_code


PERSONAS = ["pat", "sam", "other_site_staff", "sophie", "other_sponsor", "cora"]


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (
            "site_home",
            {
                "pat": 403,
                "sam": 200,
                "other_site_staff": 200,
                "sophie": 403,
                "other_sponsor": 403,
                "cora": 403,
            },
        ),
        (
            "queue",
            {
                "pat": 403,
                "sam": 200,
                "other_site_staff": 404,
                "sophie": 403,
                "other_sponsor": 403,
                "cora": 403,
            },
        ),
        (
            "candidate",
            {
                "pat": 403,
                "sam": 200,
                "other_site_staff": 404,
                "sophie": 403,
                "other_sponsor": 403,
                "cora": 403,
            },
        ),
        (
            "screening_log",
            {
                "pat": 403,
                "sam": 200,
                "other_site_staff": 404,
                "sophie": 403,
                "other_sponsor": 403,
                "cora": 403,
            },
        ),
        (
            "funnel",
            {
                "pat": 403,
                "sam": 200,
                "other_site_staff": 404,
                "sophie": 403,
                "other_sponsor": 403,
                "cora": 403,
            },
        ),
        (
            "fhir",
            {
                "pat": 403,
                "sam": 200,
                "other_site_staff": 404,
                "sophie": 403,
                "other_sponsor": 403,
                "cora": 403,
            },
        ),
        (
            "sponsor_home",
            {
                "pat": 403,
                "sam": 403,
                "other_site_staff": 403,
                "sophie": 200,
                "other_sponsor": 200,
                "cora": 403,
            },
        ),
        (
            "sponsor_trial",
            {
                "pat": 403,
                "sam": 403,
                "other_site_staff": 403,
                "sophie": 200,
                "other_sponsor": 404,
                "cora": 403,
            },
        ),
    ],
)
def test_each_role_sees_exactly_its_own_pages(
    request, client, candidate, nsclc_trial, boston_site, page, expected
):
    urls = {
        "site_home": reverse("site:home"),
        "queue": reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk]),
        "candidate": reverse("site:candidate", args=[candidate.pk]),
        "screening_log": reverse("site:screening_log", args=[boston_site.pk, nsclc_trial.pk]),
        "funnel": reverse("site:funnel", args=[boston_site.pk, nsclc_trial.pk]),
        "fhir": reverse("site:fhir", args=[boston_site.pk, nsclc_trial.pk]),
        "sponsor_home": reverse("sponsor:home"),
        "sponsor_trial": reverse("sponsor:trial", args=[nsclc_trial.pk]),
    }
    for persona in PERSONAS:
        client.logout()
        assert _get(client, request.getfixturevalue(persona), urls[page]) == expected[persona], persona
    client.logout()
    assert client.get(urls[page]).status_code == 302


def test_the_candidate_page_is_pseudonymous_until_the_patient_agrees_to_contact(client, sam, candidate):
    client.force_login(sam)
    page = client.get(reverse("site:candidate", args=[candidate.pk])).content.decode()
    assert candidate.subject_code in page
    assert "55-59" in page
    for identifier in ("Rossi", "elena@example.org", "1970"):
        assert identifier not in page
    assert "Contact details stay hidden" in page


def test_contact_details_show_once_the_patient_asks_to_hear_from_the_trial(
    client, sam, candidate, nsclc_trial
):
    sign(candidate.patient, ConsentDocument.objects.get(purpose=ConsentDocument.Purpose.CONTACT))
    trial_interest_express(patient=candidate.patient, trial=nsclc_trial)
    client.force_login(sam)
    page = client.get(reverse("site:candidate", args=[candidate.pk])).content.decode()
    assert "elena@example.org" in page
    assert "Elena Rossi" in page


@pytest.mark.parametrize(
    ("status", "shows_contact"),
    [
        (CandidateStatus.CONTACTED, True),
        (CandidateStatus.ENROLLED, True),
        (CandidateStatus.DECLINED, False),
        (CandidateStatus.UNREACHABLE, False),
        (CandidateStatus.SCREEN_FAILED, False),
    ],
)
def test_contact_details_go_once_a_candidacy_ends_other_than_in_enrolment(
    client, sam, candidate, nsclc_trial, status, shows_contact
):
    sign(candidate.patient, ConsentDocument.objects.get(purpose=ConsentDocument.Purpose.CONTACT))
    trial_interest_express(patient=candidate.patient, trial=nsclc_trial)
    Candidate.objects.filter(pk=candidate.pk).update(status=status)
    client.force_login(sam)
    page = client.get(reverse("site:candidate", args=[candidate.pk])).content.decode()
    assert ("elena@example.org" in page) is shows_contact


def test_every_view_of_a_candidate_page_is_logged(client, sam, candidate):
    client.force_login(sam)
    url = reverse("site:candidate", args=[candidate.pk])
    client.get(url)
    client.get(url)
    views = candidate.events.filter(kind=CandidateEvent.Kind.VIEWED)
    assert views.count() == 2
    assert {e.actor for e in views} == {sam}


def test_the_candidate_page_says_an_exclusion_that_passed_does_not_apply(client, sam, candidate):
    """An exclusion the patient passes is "satisfied" in the match: "Met" beside "Biologically born male"
    would tell Sam that his female candidate is excluded, against her verdict."""
    match = candidate.match
    match.criteria = [
        {"section": "inclusion", "text": "Biologically born female", "outcome": "satisfied", "atoms": []},
        {"section": "exclusion", "text": "Biologically born male", "outcome": "satisfied", "atoms": []},
        {"section": "exclusion", "text": "Prior osimertinib", "outcome": "violated", "atoms": []},
    ]
    match.save(update_fields=["criteria"])
    client.force_login(sam)

    page = client.get(reverse("site:candidate", args=[candidate.pk])).content.decode()

    badges = re.findall(
        r'<span class="outcome-badge">([^<]*)</span> <span class="muted">[^<]*</span> ([^<]*)</p>', page
    )
    assert badges == [
        ("Met", "Biologically born female"),
        ("Does not apply", "Biologically born male"),
        ("Applies: excluded", "Prior osimertinib"),
    ]


def test_the_registrys_age_limit_reads_as_a_sentence_on_the_candidate_page_and_its_screen_failure_list(
    client, sam, candidate
):
    match = candidate.match
    match.criteria = [
        {"section": "inclusion", "text": "minimum_age: 18 Years", "outcome": "satisfied", "atoms": []}
    ]
    match.save(update_fields=["criteria"])
    EligibilityCriterion.objects.create(
        trial=candidate.trial,
        position=0,
        section="inclusion",
        text="minimum_age: 18 Years",
        span_start=0,
        span_end=0,
        parsed_tree={},
        parser_version="t",
        dictionary_version="t",
    )
    client.force_login(sam)

    page = html.unescape(client.get(reverse("site:candidate", args=[candidate.pk])).content.decode())

    assert "minimum_age" not in page
    assert (
        page.count("Aged 18 years or over") == 2
    )  # the criterion, and its entry in the failing-criterion list


def test_moving_a_candidate_from_its_page(client, sam, candidate):
    client.force_login(sam)
    response = client.post(
        reverse("site:candidate_move", args=[candidate.pk]),
        {"to_status": S.PRE_SCREENED, "expected_status": S.MATCHED, "note": "records checked"},
        follow=True,
    )
    assert "moved to Pre-screened" in response.content.decode()
    candidate.refresh_from_db()
    assert candidate.status == S.PRE_SCREENED


def test_a_stale_page_gets_the_conflict_message(client, sam, candidate, boston_site):
    kim = factories.SiteMembershipFactory.create(user__email="kim@example.org", site=boston_site).user
    candidate_transition(candidate_id=candidate.pk, to_status=S.PRE_SCREENED, actor=kim)
    client.force_login(sam)
    response = client.post(
        reverse("site:candidate_move", args=[candidate.pk]),
        {"to_status": S.CONTACTED, "expected_status": S.MATCHED},
        follow=True,
    )
    assert "already moved to Pre-screened by kim@example.org" in response.content.decode()


def test_the_loser_of_two_moves_sees_the_conflict_with_their_note_kept(client, sam, candidate, boston_site):
    kim = factories.SiteMembershipFactory.create(user__email="kim@example.org", site=boston_site).user
    candidate_transition(candidate_id=candidate.pk, to_status=S.PRE_SCREENED, actor=kim)
    client.force_login(sam)
    response = client.post(
        reverse("site:candidate_move", args=[candidate.pk]),
        {
            "to_status": S.PRE_SCREEN_INELIGIBLE,
            "reason": "criterion_not_met",
            "expected_status": S.MATCHED,
            "note": "Brain metastases on the March MRI",
        },
    )
    page = response.content.decode()
    assert response.status_code == 409
    assert "already moved to Pre-screened by kim@example.org" in page
    assert "Brain metastases on the March MRI</textarea>" in page
    assert '<option value="criterion_not_met" selected>' in page
    # The form is for the candidate as it is now, so that the move can be made again from there.
    assert f'name="expected_status" value="{S.PRE_SCREENED}"' in page
    candidate.refresh_from_db()
    assert candidate.status == S.PRE_SCREENED


def test_a_stale_page_whose_move_is_gone_gets_the_conflict_with_the_note_kept(
    client, sam, candidate, boston_site
):
    kim = factories.SiteMembershipFactory.create(user__email="kim@example.org", site=boston_site).user
    candidate_transition(candidate_id=candidate.pk, to_status=S.PRE_SCREENED, actor=kim)
    client.force_login(sam)
    response = client.post(
        reverse("site:candidate_move", args=[candidate.pk]),
        {"to_status": S.PRE_SCREENED, "expected_status": S.MATCHED, "note": "records checked"},
    )
    page = response.content.decode()
    assert response.status_code == 409
    assert "This candidate has changed since you opened the page" in page
    assert "records checked</textarea>" in page


def test_a_move_posted_for_an_ended_candidacy_is_refused_without_a_form(client, sam, candidate):
    candidate_transition(
        candidate_id=candidate.pk, to_status=S.WITHDRAWN, actor=sam, reason="investigator_decision"
    )
    client.force_login(sam)
    response = client.post(
        reverse("site:candidate_move", args=[candidate.pk]),
        {"to_status": S.PRE_SCREENED, "expected_status": S.WITHDRAWN, "note": "records checked"},
    )
    page = response.content.decode()
    assert response.status_code == 409
    assert "This candidate has changed since you opened the page" in page
    assert 'id="move-heading"' not in page


def test_a_note_too_long_to_keep_is_refused_on_the_form_not_cut(client, sam, candidate):
    client.force_login(sam)
    note = "Spoke to the referring oncologist. " * 60
    response = client.post(
        reverse("site:candidate_move", args=[candidate.pk]),
        {"to_status": S.PRE_SCREENED, "expected_status": S.MATCHED, "note": note},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert f"Ensure this value has at most 2000 characters (it has {len(note.strip())})." in page
    assert note.strip() in page
    candidate.refresh_from_db()
    assert candidate.status == S.MATCHED


def test_a_note_too_long_to_keep_is_refused_by_the_service_whoever_calls_it(sam, candidate):
    with pytest.raises(TransitionError, match=r"A note is at most 2,000 characters; this one has 2,001\."):
        candidate_transition(candidate_id=candidate.pk, to_status=S.PRE_SCREENED, actor=sam, note="x" * 2001)
    candidate.refresh_from_db()
    assert candidate.status == S.MATCHED


def test_bulk_pre_screening_from_the_queue(client, sam, nsclc_trial, boston_site):
    first = candidate_for(nsclc_trial, boston_site, email="a@example.org")
    second = candidate_for(nsclc_trial, boston_site, email="b@example.org")
    client.force_login(sam)
    client.post(
        reverse("site:bulk", args=[boston_site.pk, nsclc_trial.pk]),
        {"action": "pre_screen", "candidate": [first.pk, second.pk]},
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (S.PRE_SCREENED, S.PRE_SCREENED)


def test_a_bulk_action_ignores_candidate_ids_that_are_not_numbers(client, sam, nsclc_trial, boston_site):
    first = candidate_for(nsclc_trial, boston_site, email="a@example.org")
    client.force_login(sam)
    response = client.post(
        reverse("site:bulk", args=[boston_site.pk, nsclc_trial.pk]),
        {"action": "pre_screen", "candidate": ["²", "x", "", str(first.pk)]},
    )
    assert response.status_code == 302  # "²" passed str.isdigit and failed int() with a 500
    first.refresh_from_db()
    assert first.status == S.PRE_SCREENED


def test_queue_filters_by_status(client, sam, nsclc_trial, boston_site):
    first = candidate_for(nsclc_trial, boston_site, email="a@example.org")
    second = candidate_for(nsclc_trial, boston_site, email="b@example.org")
    candidate_transition(candidate_id=first.pk, to_status=S.PRE_SCREENED, actor=sam)
    client.force_login(sam)
    page = client.get(reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk]), {"status": "matched"})
    html = page.content.decode()
    assert second.subject_code in html
    assert first.subject_code not in html


def test_the_screening_log_is_de_identified(client, sam, candidate, nsclc_trial, boston_site):
    candidate_transition(candidate_id=candidate.pk, to_status=S.PRE_SCREENED, actor=sam)
    client.force_login(sam)
    response = client.get(reverse("site:screening_log", args=[boston_site.pk, nsclc_trial.pk]))
    body = b"".join(response.streaming_content if response.streaming else [response.content]).decode()
    (row,) = list(csv.DictReader(io.StringIO(body)))
    assert row["subject_code"] == candidate.subject_code
    assert row["status"] == "pre_screened"
    assert row["consent_version"] == "1.0"
    assert row["eligible"] == "eligible"
    assert "Rossi" not in body
    assert "elena@" not in body


def test_the_screening_log_dates_an_outcome_by_the_move_that_ended_it_last(
    sam, nsclc_trial, boston_site, monkeypatch
):
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org")
    ten_days_ago = timezone.now() - datetime.timedelta(days=10)
    with monkeypatch.context() as patched:
        patched.setattr(timezone, "now", lambda: ten_days_ago)
        # Elena withdrew consent ten days ago and consented again: her candidacy reopened.
        candidate_transition(
            candidate_id=candidate.pk, to_status=S.WITHDRAWN, actor=None, reason="consent_withdrawn"
        )
        candidate_transition(
            candidate_id=candidate.pk, to_status=S.MATCHED, actor=None, reason="consent_given_again"
        )
    candidate_transition(
        candidate_id=candidate.pk, to_status=S.WITHDRAWN, actor=sam, reason="investigator_decision"
    )
    (row,) = screening_log(site=boston_site, trial=nsclc_trial)
    assert (row["status"], row["reason"]) == (S.WITHDRAWN, "investigator_decision")
    assert row["outcome_on"] == timezone.localdate().isoformat()


def _walked(trial, site, sam, email: str, *moves: tuple[str, str]) -> Candidate:
    candidate = candidate_for(trial, site, email=email, contact=True)
    for to_status, reason in moves:
        candidate_transition(candidate_id=candidate.pk, to_status=to_status, actor=sam, reason=reason)
    return candidate


def test_each_funnel_stage_less_those_who_left_from_it_is_the_next_stage(
    client, sam, nsclc_trial, boston_site
):
    to_contact = [(S.PRE_SCREENED, ""), (S.CONTACTED, "")]
    _walked(nsclc_trial, boston_site, sam, "ada@example.org", (S.PRE_SCREEN_INELIGIBLE, "criterion_not_met"))
    _walked(nsclc_trial, boston_site, sam, "bea@example.org", *to_contact, (S.UNREACHABLE, "no_response"))
    _walked(nsclc_trial, boston_site, sam, "cleo@example.org", *to_contact, (S.DECLINED, "travel_burden"))
    _walked(
        nsclc_trial,
        boston_site,
        sam,
        "dora@example.org",
        *to_contact,
        (S.CONSENTED, ""),
        (S.SCREENING, ""),
        (S.ENROLLED, ""),
    )
    client.force_login(sam)
    steps = client.get(reverse("site:funnel", args=[boston_site.pk, nsclc_trial.pk])).context["steps"]
    path = steps[:-1]  # the last step is the withdrawals, from any stage
    assert [step.count for step in path] == [4, 3, 3, 1, 1, 1]
    for step, after in itertools.pairwise(path):
        assert step.count - sum(n for _, n in step.exits) == after.count, (step, after)
    assert path[2].exits == [
        ("Declined: Travel or visit burden", 1),
        ("Unreachable: No response after repeated attempts", 1),
    ]


def test_a_candidacy_reopened_after_elena_consented_again_is_no_withdrawal_in_the_funnel(
    client, sam, nsclc_trial, boston_site
):
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org")
    candidate_transition(
        candidate_id=candidate.pk, to_status=S.WITHDRAWN, actor=None, reason="consent_withdrawn"
    )
    candidate_transition(
        candidate_id=candidate.pk, to_status=S.MATCHED, actor=None, reason="consent_given_again"
    )
    client.force_login(sam)
    withdrawn = client.get(reverse("site:funnel", args=[boston_site.pk, nsclc_trial.pk])).context["steps"][-1]
    assert (withdrawn.count, withdrawn.exits) == (0, [])


def test_the_sponsor_sees_small_counts_suppressed_and_no_subject_codes(
    client, sophie, candidate, nsclc_trial
):
    client.force_login(sophie)
    page = client.get(reverse("sponsor:trial", args=[nsclc_trial.pk])).content.decode()
    assert SMALL in page
    assert candidate.subject_code not in page


def test_sams_views_of_a_screen_failed_candidate_are_not_counted_as_screen_failures(
    client, sam, sophie, nsclc_trial, boston_site
):
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org", contact=True)
    criterion = nsclc_trial.criteria.create(
        position=1,
        section="inclusion",
        text="ECOG 0-1",
        text_key="ecog",
        span_start=0,
        span_end=8,
        parsed_tree={},
        parser_version="t",
        dictionary_version="t",
    )
    screen_failed(candidate, sam, criterion)
    client.force_login(sam)
    for _ in range(3):
        client.get(reverse("site:candidate", args=[candidate.pk]))
    client.force_login(sophie)
    dashboard = client.get(reverse("sponsor:trial", args=[nsclc_trial.pk])).context["dashboard"]
    # One screen failure, on ECOG: the three page views are no failure on a criterion named "None".
    assert dashboard.top_failing == [("ECOG 0-1", SMALL)]


def test_a_full_cohort_is_flagged_on_site_and_sponsor_pages(client, sam, sophie, nsclc_trial, boston_site):
    arm = factories.ArmFactory.create(trial=nsclc_trial, label="EGFR cohort", cap=0)
    client.force_login(sam)
    assert (
        "Cohort EGFR cohort is full"
        in client.get(reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk])).content.decode()
    )
    client.force_login(sophie)
    assert "Full or suspended" in client.get(reverse("sponsor:trial", args=[nsclc_trial.pk])).content.decode()
    assert arm.label in client.get(reverse("sponsor:trial", args=[nsclc_trial.pk])).content.decode()


def test_after_matching_consent_is_withdrawn_only_the_code_and_history_remain(client, sam, candidate):
    consent_withdraw(patient=candidate.patient, purposes=[ConsentDocument.Purpose.MATCHING])
    client.force_login(sam)
    page = client.get(reverse("site:candidate", args=[candidate.pk])).content.decode()
    assert candidate.subject_code in page
    assert "no longer consents to matching" in page
    assert "55-59" not in page
    assert "Histologically confirmed NSCLC" not in page


def test_the_queue_costs_the_same_queries_for_one_candidate_or_many(client, sam, nsclc_trial, boston_site):
    url = reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk])
    client.force_login(sam)
    candidate_for(nsclc_trial, boston_site, email="a@example.org")
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(4):
        candidate_for(nsclc_trial, boston_site, email=f"more{n}@example.org")
    client.get(url)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(one)


def _place(obj, latitude: str, longitude: str) -> None:
    obj.latitude, obj.longitude = Decimal(latitude), Decimal(longitude)
    obj.save(update_fields=["latitude", "longitude"])


def test_the_queue_shows_a_distance_band_and_filters_by_distance_without_coordinates(
    client, sam, nsclc_trial, boston_site
):
    _place(boston_site, "42.337", "-71.106")
    near = candidate_for(nsclc_trial, boston_site, email="near@example.org")
    far = candidate_for(nsclc_trial, boston_site, email="far@example.org")
    unplaced = candidate_for(nsclc_trial, boston_site, email="unplaced@example.org")
    _place(near.patient, "42.3601", "-71.0589")
    _place(far.patient, "40.7128", "-74.0060")
    client.force_login(sam)
    url = reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk])
    page = client.get(url).content.decode()
    assert "under 10 km" in page
    assert "250-500 km" in page
    assert "unknown" in page
    for coordinate in ("42.36", "71.05", "40.71", "74.00"):
        assert coordinate not in page
    within = client.get(url, {"within_km": "25"}).content.decode()
    assert near.subject_code in within
    assert far.subject_code not in within
    assert unplaced.subject_code not in within


def test_the_site_home_keeps_trials_that_do_not_recruit_apart_with_their_status(
    client, sam, nsclc_trial, boston_site
):
    closed = factories.TrialSiteFactory.create(
        site=boston_site,
        trial__nct_id="NCT05000002",
        trial__overall_status=Trial.Status.ACTIVE_NOT_RECRUITING,
    ).trial
    paused = factories.TrialSiteFactory.create(
        site=boston_site, trial__nct_id="NCT05000003", status=TrialSite.Status.SUSPENDED
    ).trial
    unstated = factories.TrialSiteFactory.create(
        site=boston_site, trial__nct_id="NCT05000004", status=TrialSite.Status.UNKNOWN
    ).trial
    client.force_login(sam)
    page = client.get(reverse("site:home")).content.decode()
    recruiting = page[page.index('id="recruiting-trials"') : page.index('id="closed-trials"')]
    not_recruiting = page[page.index('id="closed-trials"') :]
    assert nsclc_trial.nct_id in recruiting
    assert "Site: Recruiting" in recruiting
    # A site the registry gives no status for follows its trial.
    assert unstated.nct_id in recruiting
    assert "Trial: Recruiting" in recruiting
    assert closed.nct_id not in recruiting
    assert "Trial: Active, not recruiting: no new candidates" in not_recruiting
    assert "Site: Suspended: no new candidates" in not_recruiting
    assert paused.nct_id in not_recruiting
    queue = client.get(reverse("site:queue", args=[boston_site.pk, paused.pk])).content.decode()
    assert "takes no new candidates" in queue
