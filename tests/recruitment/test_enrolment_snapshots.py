"""Daily enrolment snapshots: computed from the candidate history per trial, site and cohort, idempotent per
day, refreshed after each transition and by the beat task; the sponsor dashboard reads and charts them, with
every number still suppressed."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from recruitment.models import CandidateStatus, EnrolmentSnapshot
from recruitment.selectors.sponsor import sponsor_trial_dashboard
from recruitment.services.monitoring import enrolment_snapshots_refresh, enrolment_snapshots_take
from recruitment.services.workflow import candidate_transition
from recruitment.suppression import HIDDEN, SMALL
from recruitment.tasks import refresh_enrolment_snapshots
from tests import factories
from tests.recruitment.workflow_helpers import candidate_for

S = CandidateStatus
TO_ENROLLED = [S.PRE_SCREENED, S.CONTACTED, S.CONSENTED, S.SCREENING, S.ENROLLED]


def _walk(candidate, actor, steps) -> None:
    for step in steps:
        candidate_transition(candidate_id=candidate.pk, to_status=step, actor=actor)


@pytest.fixture
def arm(nsclc_trial):
    return factories.ArmFactory.create(trial=nsclc_trial, label="EGFR exon 19", enrolment_target=40)


def _row(trial, day, site, arm=None) -> EnrolmentSnapshot:
    return EnrolmentSnapshot.objects.get(trial=trial, day=day, site=site, arm=arm)


def test_a_snapshot_counts_who_reached_each_stage_per_site_and_cohort(nsclc_trial, boston_site, sam, arm):
    enrolled = candidate_for(nsclc_trial, boston_site, email="a@example.org", arm=arm, contact=True)
    screening = candidate_for(nsclc_trial, boston_site, email="b@example.org", arm=arm, contact=True)
    unassigned = candidate_for(nsclc_trial, boston_site, email="c@example.org", contact=True)
    _walk(enrolled, sam, TO_ENROLLED)
    _walk(screening, sam, TO_ENROLLED[:4])
    _walk(unassigned, sam, TO_ENROLLED[:3])
    today = timezone.localdate()
    enrolment_snapshots_take(trial_id=nsclc_trial.pk, days=[today])
    in_arm = _row(nsclc_trial, today, boston_site, arm)
    assert (in_arm.consented, in_arm.screened, in_arm.screen_failed, in_arm.enrolled) == (2, 2, 0, 1)
    without_arm = _row(nsclc_trial, today, boston_site)
    assert (without_arm.consented, without_arm.screened, without_arm.enrolled) == (1, 0, 0)


def test_taking_a_day_again_replaces_it(nsclc_trial, boston_site, sam, arm):
    candidate = candidate_for(nsclc_trial, boston_site, email="a@example.org", arm=arm, contact=True)
    today = timezone.localdate()
    enrolment_snapshots_take(trial_id=nsclc_trial.pk, days=[today])
    enrolment_snapshots_take(trial_id=nsclc_trial.pk, days=[today])
    assert EnrolmentSnapshot.objects.filter(trial=nsclc_trial, day=today).count() == 1
    _walk(candidate, sam, TO_ENROLLED)
    enrolment_snapshots_take(trial_id=nsclc_trial.pk, days=[today])
    assert _row(nsclc_trial, today, boston_site, arm).enrolled == 1


def test_a_refresh_fills_in_the_days_without_a_snapshot(nsclc_trial, boston_site, sam, arm):
    candidate = candidate_for(nsclc_trial, boston_site, email="a@example.org", arm=arm, contact=True)
    _walk(candidate, sam, TO_ENROLLED)
    start = timezone.localdate()
    later = start + datetime.timedelta(days=3)
    enrolment_snapshots_refresh(trial_id=nsclc_trial.pk, today=later)
    days = list(EnrolmentSnapshot.objects.filter(trial=nsclc_trial).values_list("day", "enrolled"))
    assert days == [(start + datetime.timedelta(days=n), 1) for n in range(4)]


def test_the_day_before_the_first_enrolment_shows_none(nsclc_trial, boston_site, sam, arm):
    candidate = candidate_for(nsclc_trial, boston_site, email="a@example.org", arm=arm, contact=True)
    _walk(candidate, sam, TO_ENROLLED)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    enrolment_snapshots_take(trial_id=nsclc_trial.pk, days=[yesterday])
    assert not EnrolmentSnapshot.objects.filter(day=yesterday).exists()


def test_a_transition_refreshes_the_trials_snapshot_once_it_commits(
    nsclc_trial, boston_site, sam, arm, django_capture_on_commit_callbacks
):
    candidate = candidate_for(nsclc_trial, boston_site, email="a@example.org", arm=arm, contact=True)
    _walk(candidate, sam, TO_ENROLLED[:4])
    assert not EnrolmentSnapshot.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        candidate_transition(candidate_id=candidate.pk, to_status=S.ENROLLED, actor=sam)
    assert _row(nsclc_trial, timezone.localdate(), boston_site, arm).enrolled == 1


def test_the_periodic_task_refreshes_every_trial_with_candidates(nsclc_trial, boston_site, sam):
    candidate_for(nsclc_trial, boston_site, email="a@example.org")
    other = factories.TrialSiteFactory.create()
    factories.SiteMembershipFactory.create(site=other.site)
    candidate_for(other.trial, other.site, email="b@example.org")
    factories.TrialFactory.create()
    assert refresh_enrolment_snapshots() == 2
    assert set(EnrolmentSnapshot.objects.values_list("trial_id", flat=True)) == {
        nsclc_trial.pk,
        other.trial_id,
    }


def test_the_dashboard_reads_the_snapshots(client, sophie, nsclc_trial, boston_site, sam, arm):
    candidate = candidate_for(nsclc_trial, boston_site, email="a@example.org", arm=arm, contact=True)
    _walk(candidate, sam, TO_ENROLLED)
    client.force_login(sophie)
    url = reverse("sponsor:trial", args=[nsclc_trial.pk])
    assert "Enrolled: <strong>0</strong>" in client.get(url).content.decode()
    refresh_enrolment_snapshots(nsclc_trial.pk)
    page = client.get(url).content.decode()
    assert f"Enrolled: <strong>{SMALL}</strong>" in page
    assert "Enrolment figures as of" in page


def _snapshot(trial, day, site, arm, enrolled) -> None:
    EnrolmentSnapshot.objects.create(trial=trial, day=day, site=site, arm=arm, enrolled=enrolled)


def test_charts_draw_enrolment_against_target_without_a_suppressed_number(
    client, sophie, nsclc_trial, boston_site, arm
):
    providence = factories.TrialSiteFactory.create(trial=nsclc_trial, site__facility="Providence Lung").site
    today = timezone.localdate()
    for offset, (boston, small) in enumerate([(11, 0), (14, 3), (20, 4)]):
        day = today - datetime.timedelta(days=2 - offset)
        _snapshot(nsclc_trial, day, boston_site, arm, boston)
        _snapshot(nsclc_trial, day, providence, arm, small)
    client.force_login(sophie)
    page = client.get(reverse("sponsor:trial", args=[nsclc_trial.pk])).content.decode()

    site_chart = page[page.index('id="chart-sites"') : page.index("</svg>", page.index('id="chart-sites"'))]
    # Day 1: 11 and 0 are shown; later days hide Providence's small count and Boston as its complement.
    assert "<title>Boston Thoracic Oncology: 11</title>" in site_chart
    assert "<title>Providence Lung: 0</title>" in site_chart
    assert "<title>All sites: 24</title>" in site_chart
    for hidden in ("Providence Lung: 3", "Providence Lung: 4", "Boston Thoracic Oncology: 14"):
        assert f"<title>{hidden}</title>" not in site_chart
    assert site_chart.count("not shown (small count)") == 4
    assert 'class="chart-target"' in site_chart

    table = page[
        page.index('id="chart-sites-data"') : page.index("</table>", page.index('id="chart-sites-data"'))
    ]
    assert SMALL in table
    assert HIDDEN in table
    assert ">3<" not in table
    assert ">14<" not in table
    assert "<td>40</td>" in table

    cohort_chart = page[
        page.index('id="chart-cohorts"') : page.index("</svg>", page.index('id="chart-cohorts"'))
    ]
    assert "<title>EGFR exon 19: 24</title>" in cohort_chart


def test_the_dashboard_has_no_inline_style_or_script(client, sophie, nsclc_trial, boston_site, arm):
    _snapshot(nsclc_trial, timezone.localdate(), boston_site, arm, 12)
    client.force_login(sophie)
    page = client.get(reverse("sponsor:trial", args=[nsclc_trial.pk])).content.decode()
    assert "<svg" in page
    assert not re.search(r"\sstyle=", page)
    assert "<script" not in page


def test_the_headline_counts_every_site_as_the_chart_does_when_two_share_a_facility_name(
    client, sophie, nsclc_trial, arm
):
    # Registries name many sites alike ("Research Site"): a table keyed by the name dropped one of them.
    today = timezone.localdate()
    for city in ("Denver", "Houston"):
        site = factories.TrialSiteFactory.create(
            trial=nsclc_trial, site__facility="Research Site", site__city=city
        )
        _snapshot(nsclc_trial, today, site.site, arm, 12)
    dashboard = sponsor_trial_dashboard(trial=nsclc_trial)
    (chart_total, *_) = dashboard.charts[0].series
    assert dashboard.enrolled_total == chart_total.points[-1].shown == "24"
    assert dashboard.by_site == [("Research Site", "12"), ("Research Site", "12")]
