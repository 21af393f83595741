"""The API's rate limits: a caller over its budget gets 429 with Retry-After, and nobody else is slowed."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def tight_limits(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "user": "3/minute"},
    }


def test_pat_over_her_budget_gets_429_with_retry_after_and_sam_is_not_slowed(api, world, tight_limits):
    pat_token = Token.objects.create(user=world.pat)
    api.credentials(HTTP_AUTHORIZATION=f"Token {pat_token.key}")
    statuses = [api.get(reverse("api:me-profile")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = api.get(reverse("api:me-matches"))
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"].lower()

    sam_browser = APIClient()
    sam_browser.force_authenticate(world.sam)
    assert sam_browser.get(reverse("api:site-trials")).status_code == 200


def test_pat_keeps_her_budget_when_she_calls_from_another_address(world, tight_limits):
    token = Token.objects.create(user=world.pat)
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        caller = APIClient(REMOTE_ADDR=address, HTTP_AUTHORIZATION=f"Token {token.key}")
        assert caller.get(reverse("api:me-profile")).status_code == 200
    elsewhere = APIClient(REMOTE_ADDR="10.0.0.4", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert elsewhere.get(reverse("api:me-profile")).status_code == 429


def test_anonymous_schema_reads_are_limited_per_address_and_a_forged_forwarded_for_does_not_reset_it(
    tight_limits,
):
    first = APIClient(REMOTE_ADDR="203.0.113.7")
    assert [first.get(reverse("api-schema")).status_code for _ in range(2)] == [200, 200]
    forged = APIClient(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert forged.get(reverse("api-schema")).status_code == 429
    assert APIClient(REMOTE_ADDR="203.0.113.8").get(reverse("api-schema")).status_code == 200


def test_the_default_budgets_let_a_busy_coordinator_page_through_her_queue(api, world):
    api.force_authenticate(world.sam)
    statuses = {api.get(reverse("api:site-trials")).status_code for _ in range(100)}
    assert statuses == {200}
