"""Sponsors' API (sponsor/): their organisation's trials only, aggregates suppressed as on the dashboard."""

import pytest
from django.urls import reverse

from recruitment.selectors.sponsor import sponsor_trial_dashboard
from recruitment.services.monitoring import enrolment_snapshots_refresh
from recruitment.suppression import SMALL
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", ["pat", "sam", "cora"])
def test_other_roles_calling_sponsor_endpoints_get_403(api, world, persona):
    api.force_authenticate(getattr(world, persona))
    assert api.get(reverse("api:sponsor-trials")).status_code == 403
    assert api.get(reverse("api:sponsor-dashboard", args=[world.trial.pk])).status_code == 403


def test_sophie_lists_her_organisations_trials_only(api, world):
    api.force_authenticate(world.sophie)
    rows = api.get(reverse("api:sponsor-trials")).json()["results"]
    assert [r["nct_id"] for r in rows] == [world.trial.nct_id]


def test_another_organisations_dashboard_is_404(api, world):
    api.force_authenticate(world.otto)
    assert api.get(reverse("api:sponsor-dashboard", args=[world.trial.pk])).status_code == 404


def test_the_dashboard_is_the_pages_suppressed_aggregates_with_no_patient_level_row(api, world):
    api.force_authenticate(world.sophie)
    body = api.get(reverse("api:sponsor-dashboard", args=[world.trial.pk])).json()
    page = sponsor_trial_dashboard(trial=world.trial)
    assert body["funnel"] == [{"name": name, "count": count} for name, count in page.funnel]
    assert {r["name"]: r["count"] for r in body["funnel"]}["Matched"] == SMALL
    assert body["funnel_total"] == page.funnel_total
    text = str(body)
    for identifier in (world.candidate.subject_code, "elena@example.org", "Rossi", "patient"):
        assert identifier not in text


def test_the_sponsor_trial_list_costs_a_fixed_number_of_queries(api, world, django_assert_num_queries):
    for _ in range(5):
        factories.TrialFactory.create(sponsor=world.trial.sponsor)
    api.force_authenticate(world.sophie)
    with django_assert_num_queries(2):  # count, page
        assert api.get(reverse("api:sponsor-trials")).json()["count"] == 6


def test_a_hidden_cap_is_told_apart_from_no_cap_and_the_figures_carry_their_snapshot_day(api, world):
    uncapped = factories.ArmFactory.create(trial=world.trial, label="Open cohort", cap=None)
    small_cap = factories.ArmFactory.create(trial=world.trial, label="Small cohort", cap=5)
    enrolment_snapshots_refresh(trial_id=world.trial.pk)
    api.force_authenticate(world.sophie)
    body = api.get(reverse("api:sponsor-dashboard", args=[world.trial.pk])).json()
    page = sponsor_trial_dashboard(trial=world.trial)
    cohorts = {row["cohort"]: row for row in body["by_cohort"]}
    assert (cohorts[uncapped.label]["cap"], cohorts[uncapped.label]["cap_hidden"]) == (None, False)
    assert (cohorts[small_cap.label]["cap"], cohorts[small_cap.label]["cap_hidden"]) == (None, True)
    assert body["cohort_total"] == page.cohort_total
    assert page.figures_as_of is not None
    assert body["figures_as_of"] == page.figures_as_of.isoformat()
