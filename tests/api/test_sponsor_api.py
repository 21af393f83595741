"""Sponsors' API (sponsor/): their organisation's trials only, aggregates suppressed as on the dashboard."""

import pytest
from django.urls import reverse

from recruitment.selectors.sponsor import sponsor_trial_dashboard
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
