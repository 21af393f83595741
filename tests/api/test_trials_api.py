import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests import factories
from trials import services

pytestmark = pytest.mark.django_db

ELIGIBILITY = """Inclusion Criteria:
  -  ECOG performance status 0 or 1
Exclusion Criteria:
  -  Known active hepatitis B or C infection
"""


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def parsed_trial(nsclc_trial):
    nsclc_trial.eligibility_text = ELIGIBILITY
    nsclc_trial.save(update_fields=["eligibility_text"])
    services.trial_parse_eligibility(trial_id=nsclc_trial.pk)
    return nsclc_trial


def test_anonymous_calls_are_refused_with_401(api):
    response = api.get(reverse("api:trial-list"))
    assert response.status_code == 401


def test_a_token_signs_the_caller_in(api, pat, nsclc_trial):
    token = Token.objects.create(user=pat)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api.get(reverse("api:trial-list"))
    assert response.status_code == 200
    assert response.json()["results"][0]["nct_id"] == nsclc_trial.nct_id


def test_trials_filter_by_status_condition_and_openness(api, pat):
    factories.TrialFactory.create(conditions=["Breast Cancer"], overall_status="RECRUITING")
    closed = factories.TrialFactory.create(conditions=["Breast Cancer"], overall_status="COMPLETED")
    factories.TrialFactory.create(conditions=["Asthma"], overall_status="RECRUITING")
    api.force_authenticate(pat)
    found = api.get(reverse("api:trial-list"), {"condition": "breast", "open": "false"}).json()
    assert [t["nct_id"] for t in found["results"]] == [closed.nct_id]


def test_an_openness_filter_other_than_true_or_false_is_400_not_ignored(api, pat):
    api.force_authenticate(pat)
    response = api.get(reverse("api:trial-list"), {"open": "yes"})
    assert response.status_code == 400
    assert "true or false" in response.json()["open"][0]


def test_sites_of_one_name_in_one_city_are_paged_in_a_fixed_order(api, pat):
    """Two branches of one facility tie on country, city and name: without a unique key last in the ORDER BY
    the database may return them in either order on each page read, so a client paging through the list could
    see one twice and miss the other."""
    for zip_code in ("02215", "02114"):
        factories.SiteFactory.create(facility="City Cancer Centre", zip_code=zip_code)
    api.force_authenticate(pat)
    with CaptureQueriesContext(connection) as queries:
        assert api.get(reverse("api:site-list")).status_code == 200
    page = next(q["sql"] for q in queries.captured_queries if " LIMIT " in q["sql"])
    assert page.split(" ORDER BY ")[1].split(" LIMIT ")[0].endswith('"trials_site"."id" ASC')


def test_a_trial_is_found_by_its_nct_id_in_any_case_with_arms_and_sites(api, pat, nsclc_trial, boston_site):
    factories.ArmFactory.create(trial=nsclc_trial, label="Cohort A: EGFR exon 19 deletion")
    api.force_authenticate(pat)
    body = api.get(reverse("api:trial-detail", args=[nsclc_trial.nct_id.lower()])).json()
    assert body["arms"][0]["label"] == "Cohort A: EGFR exon 19 deletion"
    assert body["trial_sites"][0]["site"]["facility"] == "Boston Thoracic Oncology"


def test_an_unknown_trial_is_404(api, pat):
    api.force_authenticate(pat)
    assert api.get(reverse("api:trial-detail", args=["NCT00000000"])).status_code == 404


def test_the_trial_list_costs_a_fixed_number_of_queries(api, pat, django_assert_max_num_queries):
    for _ in range(20):
        factories.TrialSiteFactory.create()
    api.force_authenticate(pat)
    with django_assert_max_num_queries(4):
        assert api.get(reverse("api:trial-list")).status_code == 200


def test_criteria_come_with_the_reading_the_matcher_uses(api, pat, parsed_trial):
    api.force_authenticate(pat)
    criteria = api.get(reverse("api:trial-criteria", args=[parsed_trial.nct_id])).json()
    hepatitis = next(c for c in criteria if "hepatitis" in c["text"])
    assert hepatitis["section"] == "exclusion"
    assert hepatitis["effective_tree"] == hepatitis["parsed_tree"]
    assert isinstance(hepatitis["mentions"], list)


def test_a_curators_note_and_address_are_shown_to_curators_only(api, pat, cora, parsed_trial):
    criterion = parsed_trial.criteria.get(text__icontains="ECOG")
    services.criterion_review(
        criterion_id=criterion.pk, actor=cora, action="accept", revision=criterion.revision, note="per PI"
    )
    url = reverse("api:trial-criteria", args=[parsed_trial.nct_id])
    api.force_authenticate(pat)
    seen_by_pat = next(c for c in api.get(url).json() if c["id"] == criterion.pk)
    api.force_authenticate(cora)
    seen_by_cora = next(c for c in api.get(url).json() if c["id"] == criterion.pk)
    assert (seen_by_pat["curator_note"], seen_by_pat["reviewed_by"]) == ("", None)
    assert seen_by_pat["status"] == "accepted"
    assert (seen_by_cora["curator_note"], seen_by_cora["reviewed_by"]) == ("per PI", "cora@example.org")


def test_cora_accepts_a_criterion_and_a_stale_second_review_gets_409(api, cora, parsed_trial):
    criterion = parsed_trial.criteria.get(text__icontains="ECOG")
    api.force_authenticate(cora)
    url = reverse("api:criterion-review", args=[criterion.pk])
    first = api.post(url, {"action": "accept", "revision": criterion.revision}, format="json")
    assert first.status_code == 200
    assert first.json()["status"] == "accepted"
    stale = api.post(url, {"action": "unparseable", "revision": criterion.revision}, format="json")
    assert stale.status_code == 409
    assert "changed by someone else" in stale.json()["detail"]


def test_a_correction_without_a_valid_tree_is_400_and_changes_nothing(api, cora, parsed_trial):
    criterion = parsed_trial.criteria.get(text__icontains="ECOG")
    api.force_authenticate(cora)
    url = reverse("api:criterion-review", args=[criterion.pk])
    missing = api.post(url, {"action": "correct", "revision": criterion.revision}, format="json")
    bad = api.post(
        url, {"action": "correct", "revision": criterion.revision, "tree": {"type": "or"}}, format="json"
    )
    assert missing.status_code == 400
    assert bad.status_code == 400
    assert "not a valid criteria tree" in bad.json()["tree"][0]
    criterion.refresh_from_db()
    assert criterion.status == "parsed"


def test_a_correction_nested_too_deeply_is_400_and_changes_nothing(api, cora, parsed_trial):
    criterion = parsed_trial.criteria.get(text__icontains="ECOG")
    api.force_authenticate(cora)
    url = reverse("api:criterion-review", args=[criterion.pk])
    tree = {"type": "atom", "kind": "performance_status", "text": "ECOG", "span": [0, 4], "rule_id": "c",
            "confidence": 1.0, "comparator": "in", "values": [0, 1]}  # fmt: skip
    for _ in range(60):
        tree = {"type": "not", "child": tree}
    deep = api.post(url, {"action": "correct", "revision": criterion.revision, "tree": tree}, format="json")
    assert deep.status_code == 400
    assert "nested more than 50 levels deep" in deep.json()["tree"][0]
    body = '{"action": "correct", "revision": 1, "tree": ' + "[" * 100_000 + "]" * 100_000 + "}"
    deeper = api.post(url, body, content_type="application/json")
    assert deeper.status_code == 400
    assert "nested too deeply" in deeper.json()["detail"]
    criterion.refresh_from_db()
    assert criterion.status == "parsed"


@pytest.mark.parametrize("persona", ["pat", "sam", "sophie"])
def test_only_curators_review_criteria_through_the_api(api, request, parsed_trial, persona):
    criterion = parsed_trial.criteria.first()
    api.force_authenticate(request.getfixturevalue(persona))
    url = reverse("api:criterion-review", args=[criterion.pk])
    assert api.post(url, {"action": "accept", "revision": 1}, format="json").status_code == 403


def test_the_openapi_schema_and_its_docs_page_are_served(client, pat):
    client.force_login(pat)
    schema = client.get(reverse("api-schema"))
    assert schema.status_code == 200
    assert b"/api/v1/criteria/{criterion_id}/review/" in schema.content
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 200
    assert b"<script>" not in docs.content  # scripts come from our static files, as the CSP requires


def test_cora_lists_the_reviewed_criteria_a_later_parse_read_differently(api, cora, parsed_trial):
    ecog = parsed_trial.criteria.get(text__icontains="ECOG")
    hepatitis = parsed_trial.criteria.get(text__icontains="hepatitis")
    services.criterion_review(criterion_id=ecog.pk, actor=cora, action="accept", revision=ecog.revision)
    type(ecog).objects.filter(pk=ecog.pk).update(reading_changed_at=timezone.now())
    url = reverse("api:trial-criteria", args=[parsed_trial.nct_id])
    api.force_authenticate(cora)

    changed = api.get(url, {"reading_changed": "true"}).json()
    unchanged = api.get(url, {"reading_changed": "false"}).json()

    assert [c["id"] for c in changed] == [ecog.pk]
    assert changed[0]["reading_changed_at"] is not None
    assert hepatitis.pk in [c["id"] for c in unchanged]
    assert ecog.pk not in [c["id"] for c in unchanged]
    refused = api.get(url, {"reading_changed": "sometimes"})
    assert refused.status_code == 400
    assert "reading_changed" in refused.json()
