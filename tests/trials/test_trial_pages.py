from decimal import Decimal

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def test_pat_finds_a_trial_by_title_and_opens_it(client, pat, nsclc_trial, boston_site):
    factories.TrialFactory.create(brief_title="Vitamin D in asthma")
    client.force_login(pat)
    page = client.get(reverse("trials:list"), {"q": "osimertinib"}).content.decode()
    assert nsclc_trial.nct_id in page
    assert "Vitamin D in asthma" not in page
    detail = client.get(reverse("trials:detail", args=[nsclc_trial.nct_id.lower()])).content.decode()
    assert "Boston Thoracic Oncology" in detail


def test_an_unknown_trial_is_not_found(client, pat):
    client.force_login(pat)
    assert client.get(reverse("trials:detail", args=["NCT00000000"])).status_code == 404


def test_the_status_filter_keeps_only_that_status(client, cora):
    open_trial = factories.TrialFactory.create()
    closed = factories.TrialFactory.create(overall_status="COMPLETED")
    client.force_login(cora)
    page = client.get(reverse("trials:list"), {"status": "COMPLETED"}).content.decode()
    assert closed.nct_id in page
    assert open_trial.nct_id not in page


def test_the_trial_list_costs_the_same_queries_for_many_trials(client, cora, django_assert_max_num_queries):
    for _ in range(30):
        factories.TrialSiteFactory.create()
    client.force_login(cora)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("trials:list"))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("minimum", "maximum", "shown"),
    [
        ("18", None, "18 years or over"),
        ("18", "75", "18 to 75 years"),
        (None, "17.5", "up to 17.5 years"),
        ("0.5", "21", "0.5 to 21 years"),
        ("0", "21", "up to 21 years"),
        (None, None, "any age"),
    ],
)
def test_pat_reads_a_trials_age_limits_as_years_without_decimals(client, pat, minimum, maximum, shown):
    trial = factories.TrialFactory.create(
        minimum_age_years=None if minimum is None else Decimal(minimum),
        maximum_age_years=None if maximum is None else Decimal(maximum),
    )
    client.force_login(pat)
    page = client.get(reverse("trials:detail", args=[trial.nct_id])).content.decode()
    assert f"<dt>Age</dt><dd>{shown}</dd>" in page
