"""Privacy review fixes: what site staff and sponsors must not be able to read or derive."""

import csv
import datetime
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from nlp.model import Atom, Concept
from recruitment.fhir_import import bundle_read
from recruitment.matching import PatientFacts, evaluate_tree
from recruitment.models import (
    Biomarker,
    Candidate,
    CandidateEvent,
    CandidateStatus,
    EnrolmentSnapshot,
    FactSource,
    PatientProfile,
    ReasonCode,
)
from recruitment.selectors.site import NOT_SHOWN, age_band, site_evidence, site_queue, site_queue_page_rows
from recruitment.selectors.sponsor import enrolment_charts, sponsor_trial_dashboard
from recruitment.services.consent import consent_withdraw
from recruitment.services.monitoring import enrolment_snapshots_refresh
from recruitment.services.workflow import candidate_transition
from recruitment.suppression import HIDDEN, SMALL
from tests import factories
from tests.recruitment import factories as factories_r
from tests.recruitment.consent_helpers import name_patient
from tests.recruitment.workflow_helpers import candidate_for, screen_failed
from trials.models import ConsentDocument, EligibilityCriterion
from trials.services import trial_parse_eligibility

S = CandidateStatus

TODAY = datetime.date(2026, 11, 23)
ADULT = Atom(
    "demographic",
    "age >= 18",
    (0, 9),
    "test",
    1.0,
    mapped=True,
    concept=Concept("demographic", "age", "age"),
    comparator=">=",
    value=18.0,
)


def test_age_evidence_gives_the_age_on_the_evaluation_date_but_not_the_birth_date():
    birth = datetime.date(1961, 3, 14)
    _, results = evaluate_tree(ADULT, PatientFacts(ref="profile:1", birth_date=birth), today=TODAY)
    texts = [e.text for r in results for e in r.evidence]
    assert texts == ["aged 65"]
    assert not any(str(birth) in t or "1961" in t for t in texts)


@pytest.mark.parametrize(
    ("born", "shown"),
    [(datetime.date(1961, 3, 14), "aged 65-69"), (datetime.date(1930, 5, 1), "aged 90 or over")],
)
def test_site_staff_read_the_age_a_criterion_used_as_their_summarys_band(born, shown):
    # The summary gives Sam a 5-year band before contact; the criterion's "aged 65" would undo it.
    _, results = evaluate_tree(ADULT, PatientFacts(ref="profile:1", birth_date=born), today=TODAY)
    stored = {"atoms": [r.to_dict() for r in results]}
    assert site_evidence(stored) == [shown]


# Sponsor dashboard: no count of 1-10 can be read or worked out.


@pytest.fixture
def providence(nsclc_trial):
    return factories.TrialSiteFactory.create(trial=nsclc_trial, site__facility="Providence Lung").site


def _snapshot(trial, day, site, enrolled, arm=None) -> None:
    EnrolmentSnapshot.objects.create(trial=trial, day=day, site=site, arm=arm, enrolled=enrolled)


def _screen_failed(trial, site, n: int) -> None:
    for i in range(n):
        candidate = candidate_for(trial, site, email=f"failed{i}@example.org")
        Candidate.objects.filter(pk=candidate.pk).update(status=S.SCREEN_FAILED)


@pytest.mark.parametrize(("enrolled", "rate"), [(5, "suppressed"), (30, "29%")])
def test_the_screen_fail_rate_is_hidden_when_it_would_give_away_a_small_enrolled_count(
    nsclc_trial, boston_site, enrolled, rate
):
    _screen_failed(nsclc_trial, boston_site, 12)
    _snapshot(nsclc_trial, timezone.localdate(), boston_site, enrolled)
    assert sponsor_trial_dashboard(trial=nsclc_trial).screen_fail_rate == rate


def test_a_trial_where_no_one_has_finished_screening_says_so_instead_of_suppressed(nsclc_trial, boston_site):
    # Enrolled 0 and Screen failed 0 are on the page already: there is no rate, and nothing to withhold.
    candidate_for(nsclc_trial, boston_site, email="matched@example.org")
    assert sponsor_trial_dashboard(trial=nsclc_trial).screen_fail_rate == "no one has finished screening yet"


def test_the_enrolled_total_is_the_site_tables_own_total(nsclc_trial, boston_site, providence):
    # 10 + 10: a plain "20" beside two "1-10" sites would tell that both enrolled ten.
    today = timezone.localdate()
    _snapshot(nsclc_trial, today, boston_site, 10)
    _snapshot(nsclc_trial, today, providence, 10)
    dashboard = sponsor_trial_dashboard(trial=nsclc_trial)
    assert dashboard.by_site == [("Boston Thoracic Oncology", SMALL), ("Providence Lung", SMALL)]
    assert dashboard.enrolled_total == HIDDEN


def test_the_enrolled_total_is_withheld_when_the_cohort_table_withholds_it(nsclc_trial, boston_site):
    first = factories.ArmFactory.create(trial=nsclc_trial, label="A")
    second = factories.ArmFactory.create(trial=nsclc_trial, label="B")
    today = timezone.localdate()
    _snapshot(nsclc_trial, today, boston_site, 10, first)
    _snapshot(nsclc_trial, today, boston_site, 10, second)
    dashboard = sponsor_trial_dashboard(trial=nsclc_trial)
    assert [row.enrolled for row in dashboard.by_cohort] == [SMALL, SMALL]
    assert dashboard.cohort_total == HIDDEN
    assert dashboard.enrolled_total == HIDDEN


def _enrolled(trial, site, arm, n: int) -> None:
    for _ in range(n):
        Candidate.objects.create(
            patient=factories_r.PatientProfileFactory.create(),
            trial=trial,
            site=site,
            arm=arm,
            status=S.ENROLLED,
            subject_code=f"S-{Candidate.objects.count():08d}",
        )


def _numbers_shown(dashboard) -> list[str]:
    """Every count the dashboard, its API and its charts show for enrolment."""
    charted = [
        point.shown for chart in dashboard.charts for series in chart.series for point in series.points
    ]
    return [
        dashboard.enrolled_total,
        dashboard.cohort_total,
        *(count for _, count in dashboard.by_site),
        *(row.enrolled for row in dashboard.by_cohort),
        dict(dashboard.funnel)["Enrolled"],
        *charted,
    ]


def test_sophie_cannot_read_two_cohorts_of_ten_from_the_one_sites_count(nsclc_trial, boston_site):
    # Cohorts A and B each enrolled 10, both at Boston: the cohort table withholds its total, since 20 would
    # tell both 10s. Boston's own count, the funnel's Enrolled cell or a chart must not tell the 20 either.
    first = factories.ArmFactory.create(trial=nsclc_trial, label="A")
    second = factories.ArmFactory.create(trial=nsclc_trial, label="B")
    for arm in (first, second):
        _enrolled(nsclc_trial, boston_site, arm, 10)
        _snapshot(nsclc_trial, timezone.localdate(), boston_site, 10, arm)
    dashboard = sponsor_trial_dashboard(trial=nsclc_trial)
    assert [row.enrolled for row in dashboard.by_cohort] == [SMALL, SMALL]
    assert "20" not in _numbers_shown(dashboard), _numbers_shown(dashboard)
    assert dashboard.funnel_total != "20"


def test_sophie_cannot_read_two_sites_of_ten_from_the_one_cohorts_count(nsclc_trial, boston_site, providence):
    only = factories.ArmFactory.create(trial=nsclc_trial, label="A")
    for site in (boston_site, providence):
        _enrolled(nsclc_trial, site, only, 10)
        _snapshot(nsclc_trial, timezone.localdate(), site, 10, only)
    dashboard = sponsor_trial_dashboard(trial=nsclc_trial)
    assert dashboard.by_site == [("Boston Thoracic Oncology", SMALL), ("Providence Lung", SMALL)]
    assert "20" not in _numbers_shown(dashboard), _numbers_shown(dashboard)
    assert dashboard.funnel_total != "20"


def test_a_closed_cohorts_cap_is_shown_only_beside_a_shown_count_and_above_ten(
    client, sophie, nsclc_trial, boston_site
):
    small = factories.ArmFactory.create(trial=nsclc_trial, label="Small", cap=12, is_suspended=True)
    low_cap = factories.ArmFactory.create(trial=nsclc_trial, label="Low cap", cap=8, is_suspended=True)
    shown = factories.ArmFactory.create(trial=nsclc_trial, label="Shown", cap=40, is_suspended=True)
    today = timezone.localdate()
    _snapshot(nsclc_trial, today, boston_site, 5, small)
    _snapshot(nsclc_trial, today, boston_site, 25, low_cap)
    _snapshot(nsclc_trial, today, boston_site, 30, shown)
    rows = {row.arm.label: row for row in sponsor_trial_dashboard(trial=nsclc_trial).by_cohort}
    assert (rows["Small"].enrolled, rows["Small"].cap, rows["Small"].closed) == (SMALL, None, True)
    assert rows["Low cap"].cap is None
    assert rows["Shown"].cap == 40
    client.force_login(sophie)
    table = _between(
        client.get(reverse("sponsor:trial", args=[nsclc_trial.pk])), 'id="by-cohort"', "</table>"
    )
    assert "<td>12</td>" not in table
    assert "<td>8</td>" not in table
    assert "<td>40</td>" in table
    assert table.count("not shown") == 2


def _between(response, start: str, end: str) -> str:
    page = response.content.decode()
    return page[page.index(start) : page.index(end, page.index(start))]


def test_the_chart_moves_only_in_steps_of_eleven_or_more(client, sophie, nsclc_trial, boston_site):
    today = timezone.localdate()
    for offset, enrolled in enumerate([11, 14, 20, 25]):
        _snapshot(nsclc_trial, today - datetime.timedelta(days=3 - offset), boston_site, enrolled)
    chart = enrolment_charts(trial=nsclc_trial)[0]
    by_label = {series.label: [point.shown for point in series.points] for series in chart.series}
    # 14 and 20 are within 10 of the 11 shown last: showing them would tell 3 and 6 enrolled since.
    assert by_label["Boston Thoracic Oncology"] == ["11", "11", "11", "25"]
    assert by_label["All sites"] == ["11", "11", "11", "25"]
    client.force_login(sophie)
    response = client.get(reverse("sponsor:trial", args=[nsclc_trial.pk]))
    svg = _between(response, 'id="chart-sites"', "</svg>")
    table = _between(response, 'id="chart-sites-data"', "</table>")
    for hidden in ("14", "20"):
        assert f": {hidden}</title>" not in svg
        assert f"<td>{hidden}</td>" not in table
    assert "Boston Thoracic Oncology: 25</title>" in svg


def test_the_dashboard_gives_the_snapshot_day_and_no_time(client, sophie, nsclc_trial, boston_site):
    _snapshot(nsclc_trial, datetime.date(2026, 11, 20), boston_site, 30)
    client.force_login(sophie)
    page = client.get(reverse("sponsor:trial", args=[nsclc_trial.pk])).content.decode()
    assert "Enrolment figures as of 20 Nov 2026." in page
    assert not re.search(r"as of [^<]*\d\d:\d\d", page)


def test_a_refresh_takes_yesterday_again(nsclc_trial, boston_site, sam):
    candidate = candidate_for(nsclc_trial, boston_site, email="a@example.org")
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    # A snapshot of yesterday taken mid-day, before a patient enrolled later that day.
    Candidate.objects.filter(pk=candidate.pk).update(created_at=timezone.now() - datetime.timedelta(days=3))
    _snapshot(nsclc_trial, yesterday, boston_site, 0)
    EnrolmentSnapshot.objects.filter(day=yesterday).update(consented=7)
    enrolment_snapshots_refresh(trial_id=nsclc_trial.pk, today=today)
    assert set(EnrolmentSnapshot.objects.filter(day=yesterday).values_list("consented", flat=True)) == {0}


# Site queue: no match data of a patient who no longer consents to matching.


def _enrolled_then_withdrawn(trial, site, sam):
    candidate = candidate_for(trial, site, email="elena@example.org", contact=True)
    for step in (S.PRE_SCREENED, S.CONTACTED, S.CONSENTED, S.SCREENING, S.ENROLLED):
        candidate_transition(candidate_id=candidate.pk, to_status=step, actor=sam)
    consent_withdraw(patient=candidate.patient, purposes=[ConsentDocument.Purpose.MATCHING])
    candidate.refresh_from_db()
    return candidate


def test_the_queue_lists_an_enrolled_patient_who_withdrew_without_match_data(
    client, sam, nsclc_trial, boston_site
):
    boston_site.latitude, boston_site.longitude = Decimal("42.337"), Decimal("-71.106")
    boston_site.save(update_fields=["latitude", "longitude"])
    candidate = _enrolled_then_withdrawn(nsclc_trial, boston_site, sam)
    patient = candidate.patient
    patient.latitude, patient.longitude = Decimal("42.3601"), Decimal("-71.0589")
    patient.save(update_fields=["latitude", "longitude"])
    assert candidate.match is not None
    client.force_login(sam)
    url = reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk])
    row = _between(client.get(url), f"pick-{candidate.pk}", "</tr>")
    assert candidate.subject_code in row
    assert "Enrolled" in row
    assert "consent withdrawn" in row
    assert candidate.match.get_verdict_display() not in row
    assert f"{candidate.match.score:.2f}" not in row
    assert "under 10 km" not in row
    for hidden_by in ({"eligibility": candidate.match.verdict}, {"within_km": "25"}):
        assert candidate.subject_code not in client.get(url, hidden_by).content.decode()
    assert candidate.subject_code in client.get(url, {"status": "enrolled"}).content.decode()
    (queue_row,) = site_queue_page_rows(candidates=list(site_queue(site=boston_site, trial=nsclc_trial)))
    assert queue_row.distance_band == NOT_SHOWN
    assert not queue_row.standing.current


def test_the_screening_log_keeps_a_withdrawn_patients_status_but_not_the_match(
    client, sam, nsclc_trial, boston_site
):
    candidate = _enrolled_then_withdrawn(nsclc_trial, boston_site, sam)
    client.force_login(sam)
    response = client.get(reverse("site:screening_log", args=[boston_site.pk, nsclc_trial.pk]))
    body = b"".join(response.streaming_content if response.streaming else [response.content]).decode()
    (row,) = list(csv.DictReader(io.StringIO(body)))
    assert (row["subject_code"], row["status"], row["eligible"]) == (candidate.subject_code, "enrolled", "")
    assert row["matched_on"] == timezone.localtime(candidate.created_at).date().isoformat()


# Site FHIR import: only for a patient who still consents to matching, and never identity or contact fields.

FHIR_BUNDLE = Path(__file__).parent / "fixtures" / "fhir" / "lung_patient_bundle.json"


def _upload_bundle(client, candidate):
    return client.post(reverse("site:fhir_import", args=[candidate.pk]), {"text": FHIR_BUNDLE.read_text()})


def test_site_staff_cannot_import_a_record_once_matching_consent_is_withdrawn(
    client, sam, nsclc_trial, boston_site
):
    candidate = candidate_for(nsclc_trial, boston_site, email="maria@example.org", contact=True)
    consent_withdraw(patient=candidate.patient, purposes=[ConsentDocument.Purpose.MATCHING])
    client.force_login(sam)
    assert client.get(reverse("site:fhir_import", args=[candidate.pk])).status_code == 403
    assert _upload_bundle(client, candidate).status_code == 403
    assert client.get(reverse("site:fhir_review", args=[candidate.pk])).status_code == 403


def test_a_site_import_leaves_the_patients_identity_and_contact_details_alone(
    client, sam, nsclc_trial, boston_site
):
    candidate = candidate_for(nsclc_trial, boston_site, email="maria@example.org", contact=True)
    name_patient(candidate.patient, "Maria", "Lopez")
    before = PatientProfile.objects.values("birth_date", "sex", "phone", "address", "postcode").get(
        pk=candidate.patient.pk
    )
    client.force_login(sam)
    assert _upload_bundle(client, candidate).status_code == 302
    review = client.get(reverse("site:fhir_review", args=[candidate.pk])).content.decode()
    assert "identity and contact details are the patient&#x27;s to import" in review
    every_key = [fact.key for fact in bundle_read(FHIR_BUNDLE.read_text()).facts]
    identity = [
        fact.key
        for fact in bundle_read(FHIR_BUNDLE.read_text()).facts
        if fact.kind == "profile"
        and fact.values.keys() & {"birth_date", "sex", "phone", "address", "postcode"}
    ]
    assert len(identity) == 5
    for key in identity:
        assert f'value="{key}"' not in review
    # Posting the left-out keys anyway saves nothing at all.
    response = client.post(reverse("site:fhir_review", args=[candidate.pk]), {"fact": every_key})
    assert response.status_code == 400
    kept = [key for key in every_key if key not in identity]
    response = client.post(reverse("site:fhir_review", args=[candidate.pk]), {"fact": kept})
    assert response.status_code == 302
    after = PatientProfile.objects.values("birth_date", "sex", "phone", "address", "postcode").get(
        pk=candidate.patient.pk
    )
    assert after == before
    assert Biomarker.objects.filter(patient=candidate.patient, source=FactSource.IMPORTED).exists()


def _candidates(trial, site, status: str, n: int) -> None:
    for _ in range(n):
        Candidate.objects.create(
            patient=factories_r.PatientProfileFactory.create(),
            trial=trial,
            site=site,
            status=status,
            subject_code=f"S-{Candidate.objects.count():08d}",
        )


def test_sophie_cannot_work_out_a_small_funnel_count_from_the_enrolled_total(
    client, sophie, nsclc_trial, boston_site
):
    # 40 matched, 15 enrolled, 3 withdrawn. The funnel hides the 3, and must not pick Enrolled as its
    # complement: the enrolled total beside it shows 15, and 58 - 40 - 15 would give the 3 back.
    _candidates(nsclc_trial, boston_site, S.MATCHED, 40)
    _candidates(nsclc_trial, boston_site, S.ENROLLED, 15)
    _candidates(nsclc_trial, boston_site, S.WITHDRAWN, 3)
    _snapshot(nsclc_trial, timezone.localdate(), boston_site, 15)
    client.force_login(sophie)
    dashboard = client.get(reverse("sponsor:trial", args=[nsclc_trial.pk])).context["dashboard"]
    assert dashboard.enrolled_total == "15"
    funnel = dict(dashboard.funnel)
    assert funnel["Withdrawn"] == SMALL
    # With the enrolled count known, another funnel cell (or the total) must still hide the 3.
    hidden_others = [name for name, count in funnel.items() if count == HIDDEN and name != "Enrolled"]
    assert dashboard.funnel_total == HIDDEN or hidden_others, (funnel, dashboard.funnel_total)


def test_the_projection_does_not_give_away_an_enrolled_total_the_tables_withhold(
    client, sophie, nsclc_trial, boston_site, providence
):
    # 10 + 10, as above: the total is withheld, and a rate of "85.7 a month" over the week since the first
    # enrolment would give the 20 back, and with it both sites' 10.
    nsclc_trial.enrollment = 100
    nsclc_trial.save(update_fields=["enrollment"])
    today = timezone.localdate()
    _snapshot(nsclc_trial, today, boston_site, 10)
    _snapshot(nsclc_trial, today, providence, 10)
    client.force_login(sophie)
    dashboard = client.get(reverse("sponsor:trial", args=[nsclc_trial.pk])).context["dashboard"]
    assert dashboard.enrolled_total == HIDDEN
    assert "enrolments a month" not in dashboard.projected_completion
    assert not re.search(r"\d{4}", dashboard.projected_completion)


def test_sophie_cannot_read_a_small_cohorts_count_from_full_beside_its_registered_cap(
    client, sophie, nsclc_trial, boston_site
):
    # The cap is registry data: any signed-in user reads it from the trials API.
    small = factories.ArmFactory.create(trial=nsclc_trial, label="Small", cap=8)
    factories.ArmFactory.create(trial=nsclc_trial, label="Large", cap=None)
    for _ in range(8):
        Candidate.objects.create(
            patient=factories_r.PatientProfileFactory.create(),
            trial=nsclc_trial,
            site=boston_site,
            arm=small,
            status=S.ENROLLED,
            subject_code=f"S-{Candidate.objects.count():08d}",
        )
    _snapshot(nsclc_trial, timezone.localdate(), boston_site, 8, small)
    client.force_login(sophie)
    arms = client.get(reverse("api:trial-detail", args=[nsclc_trial.nct_id])).json()["arms"]
    assert {arm["label"]: arm["cap"] for arm in arms}["Small"] == 8
    rows = {row.arm.label: row for row in sponsor_trial_dashboard(trial=nsclc_trial).by_cohort}
    assert rows["Small"].enrolled == SMALL
    # "Full" beside the public cap of 8 would say that 8 enrolled.
    assert rows["Small"].closed is None
    page = client.get(reverse("sponsor:trial", args=[nsclc_trial.pk])).content.decode()
    row = page[page.index("<td>Small</td>") : page.index("</tr>", page.index("<td>Small</td>"))]
    assert "Full" not in row
    assert "not shown" in row


def _screen_failed_on(trial, site, criterion, n: int) -> None:
    for _ in range(n):
        candidate = Candidate.objects.create(
            patient=factories_r.PatientProfileFactory.create(),
            trial=trial,
            site=site,
            status=S.SCREEN_FAILED,
            subject_code=f"S-{Candidate.objects.count():08d}",
        )
        CandidateEvent.objects.create(
            candidate=candidate,
            kind=CandidateEvent.Kind.TRANSITION,
            from_status=S.SCREENING,
            to_status=S.SCREEN_FAILED,
            reason=ReasonCode.CRITERION_NOT_MET,
            criterion=criterion,
            created_at=timezone.now(),
        )


def test_sophie_cannot_work_out_a_small_funnel_count_from_the_screen_fail_reasons(
    client, sophie, nsclc_trial, boston_site
):
    # 50 matched, 3 pre-screened, 22 screen failures (11 on each of two criteria). The funnel hides the 3 and,
    # to keep it hidden, the 22 beside it; the screen-fail reasons must not add up to that 22 again, or
    # 75 - 50 - 22 gives the 3 back.
    nsclc_trial.eligibility_text = "Inclusion Criteria:\n  -  ECOG 0 or 1\n  -  Adequate organ function\n"
    nsclc_trial.save(update_fields=["eligibility_text"])
    trial_parse_eligibility(trial_id=nsclc_trial.pk)
    ecog, organs = nsclc_trial.criteria.order_by("position")
    _candidates(nsclc_trial, boston_site, S.MATCHED, 50)
    _candidates(nsclc_trial, boston_site, S.PRE_SCREENED, 3)
    _screen_failed_on(nsclc_trial, boston_site, ecog, 11)
    _screen_failed_on(nsclc_trial, boston_site, organs, 11)
    client.force_login(sophie)
    dashboard = client.get(reverse("sponsor:trial", args=[nsclc_trial.pk])).context["dashboard"]
    funnel = dict(dashboard.funnel)
    assert funnel["Pre-screened"] == SMALL
    assert funnel["Screen failed"] == HIDDEN  # the complement that keeps the 3 hidden
    assert dashboard.funnel_total == "75"
    shown = [count for _, count in dashboard.top_failing if count.isdigit()]
    assert sum(map(int, shown)) != 22 or len(shown) != len(dashboard.top_failing), dashboard.top_failing


def test_a_criterion_written_like_a_formula_reaches_the_screening_log_as_text(
    client, sam, nsclc_trial, boston_site
):
    # Criterion text comes from the registry: opened in a spreadsheet, "=HYPERLINK(...)" would run.
    hostile = EligibilityCriterion.objects.create(
        trial=nsclc_trial,
        position=99,
        section="exclusion",
        text='=HYPERLINK("http://example.com/x","ECOG")',
        text_key="hostile",
        span_start=0,
        span_end=0,
        parsed_tree={},
    )
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org", contact=True)
    screen_failed(candidate, sam, hostile)
    client.force_login(sam)
    response = client.get(reverse("site:screening_log", args=[boston_site.pk, nsclc_trial.pk]))
    body = b"".join(response.streaming_content if response.streaming else [response.content]).decode()
    (row,) = list(csv.DictReader(io.StringIO(body)))
    assert row["failed_criterion"] == "'" + hostile.text


@pytest.mark.parametrize(
    ("born", "band"),
    [
        (datetime.date(1962, 6, 1), "60-64"),
        (datetime.date(1937, 1, 1), "85-89"),
        (datetime.date(1936, 11, 1), "90 or over"),
        (datetime.date(1920, 1, 1), "90 or over"),
    ],
)
def test_a_sites_summary_puts_everyone_aged_90_or_over_in_one_band(born, band):
    assert age_band(born, datetime.date(2026, 12, 6)) == band
