"""The whole OpenAPI schema (/api/schema/) driven by schemathesis, as each role, with data present.

Every operation gets generated requests, valid and invalid, as a patient, site staff, a sponsor and a curator.
Each request is sent twice: as generated (ids are mostly unknown: 404) and with the path's ids replaced by
objects the world holds, so that the views' real work runs too. No response may be a server error, and every
response must be one the schema documents (status code, content type and body).
"""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.test import Client
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.world import World

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 4

CONFIG = SchemathesisConfig.from_dict(
    {
        # Generated examples only: the coverage phase's exhaustive boundary cases take minutes on this schema.
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        # Credentials come from each role below, not from generated security headers.
        "generation": {
            "max-examples": EXAMPLES_PER_OPERATION,
            "deterministic": True,
            "database": "none",
            "with-security-parameters": False,
        },
    }
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def app() -> Iterator[WSGIHandler]:
    """The project's WSGI application, served inside the test's transaction: as Django's test client does,
    requests must not close the database connection when they end (on PostgreSQL that would end the
    transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(app: WSGIHandler, world: World) -> object:
    return schemathesis.openapi.from_wsgi("/api/schema/", app, config=CONFIG)


@dataclass(frozen=True)
class Caller:
    headers: dict[str, str]
    cookies: dict[str, str]


@pytest.fixture
def callers(world: World) -> dict[str, Caller]:
    """A patient with an API token, and site staff, a sponsor user and a curator with their signed-in
    sessions (tokens are refused to accounts with a second factor) and a CSRF token for the unsafe methods,
    as a browser page would send it."""
    token = Token.objects.create(user=world.pat)
    roles = {"pat": Caller({"Authorization": f"Token {token.key}"}, {})}
    for name in ("sam", "sophie", "cora"):
        browser = Client()
        browser.force_login(getattr(world, name))
        session = browser.cookies[settings.SESSION_COOKIE_NAME].value
        csrf = get_random_string(CSRF_SECRET_LENGTH, allowed_chars=CSRF_ALLOWED_CHARS)
        roles[name] = Caller(
            {"X-CSRFToken": csrf}, {settings.SESSION_COOKIE_NAME: session, settings.CSRF_COOKIE_NAME: csrf}
        )
    return roles


def known_ids(world: World) -> dict[str, dict[str, object]]:
    """Path parameters naming real objects, per operation path: each role's own and others' objects."""
    pat = world.pat_profile
    facts = {
        "diagnoses": pat.diagnoses.first(),
        "biomarkers": pat.biomarkers.first(),
        "labs": pat.lab_results.first(),
        "therapies": pat.therapies.first(),
        "procedures": pat.procedures.first(),
    }
    ids: dict[str, dict[str, object]] = {
        f"/api/v1/me/{kind}/{{id}}/": {"id": fact.pk} for kind, fact in facts.items() if fact is not None
    }
    ids |= {
        "/api/v1/me/matches/{id}/": {"id": world.pat_match.pk},
        "/api/v1/me/matches/{id}/interest/": {"id": world.pat_match.pk},
        "/api/v1/site/{site_id}/trials/{trial_id}/candidates/": {
            "site_id": world.boston.pk,
            "trial_id": world.trial.pk,
        },
        "/api/v1/site/candidates/{id}/": {"id": world.candidate.pk},
        "/api/v1/sponsor/trials/{id}/dashboard/": {"id": world.trial.pk},
        "/api/v1/trials/{nct_id}/": {"nct_id": world.trial.nct_id},
        "/api/v1/trials/{nct_id}/criteria/": {"nct_id": world.trial.nct_id},
        "/api/v1/sites/{id}/": {"id": world.boston.pk},
        "/api/v1/criteria/{criterion_id}/review/": {"criterion_id": world.criterion.pk},
    }
    return ids


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis_settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_every_operation_answers_as_documented_for_every_role(case, callers, world):
    real = known_ids(world).get(case.path)
    if real is None and case.path.startswith("/api/v1/site/candidates/{id}/"):
        real = {"id": world.candidate.pk}  # the workflow actions
    cases = [case]
    if real is not None:
        with_real_ids = case.operation.Case(
            path_parameters={**(case.path_parameters or {}), **real},
            query=case.query,
            body=case.body,
            media_type=case.media_type,
        )
        cases.append(with_real_ids)
    for sent in cases:
        for role, caller in callers.items():
            sent.cookies = caller.cookies
            response = sent.call(headers=caller.headers)
            assert response.status_code != 401, f"{role} is signed in"
            sent.validate_response(response, checks=CHECKS)
