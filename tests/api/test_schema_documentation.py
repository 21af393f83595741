"""The OpenAPI schema documents every operation's error answers and pages every list."""

import pytest
from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")
UNPAGED_LISTS = {"/api/v1/trials/{nct_id}/criteria/"}
"""Lists read whole on purpose: a trial's criteria (tens of rows)."""


@pytest.fixture(scope="module")
def operations() -> dict[tuple[str, str], dict]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method, path): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_every_operation_documents_401_and_403(operations):
    missing = [f"{m} {p}" for (m, p), op in operations.items() if not {"401", "403"} <= set(op["responses"])]
    assert not missing


def test_every_operation_with_an_id_in_its_path_documents_404(operations):
    missing = [f"{m} {p}" for (m, p), op in operations.items() if "{" in p and "404" not in op["responses"]]
    assert not missing


def test_every_operation_taking_a_body_documents_400(operations):
    missing = [
        f"{m} {p}"
        for (m, p), op in operations.items()
        if "requestBody" in op and "400" not in op["responses"]
    ]
    assert not missing


def test_every_workflow_action_documents_409(operations):
    actions = [(m, p) for (m, p) in operations if m == "post" and p.startswith("/api/v1/site/candidates/")]
    assert len(actions) == 10
    assert all("409" in operations[action]["responses"] for action in actions)


def test_every_list_is_paginated(operations):
    lists = {
        p: op["responses"]["200"]["content"]["application/json"]["schema"]
        for (m, p), op in operations.items()
        if m == "get" and op["operationId"].endswith("_list")
    }
    assert len(lists) > 10
    unpaged = {
        p
        for p, schema in lists.items()
        if not schema.get("$ref", "").startswith("#/components/schemas/Paginated")
    }
    assert unpaged == UNPAGED_LISTS


def test_every_operation_documents_429_with_retry_after(operations):
    missing = [
        f"{m} {p}"
        for (m, p), op in operations.items()
        if "Retry-After" not in op["responses"].get("429", {}).get("headers", {})
    ]
    assert not missing


def test_every_read_documents_400_for_a_query_parameter_it_does_not_take(operations):
    reads = [(m, p) for (m, p) in operations if m == "get"]
    missing = [f"{m} {p}" for (m, p) in reads if "400" not in operations[(m, p)]["responses"]]
    assert not missing


def test_a_repeated_delete_of_a_fact_is_documented_as_a_404(operations):
    deletes = [op for (m, p), op in operations.items() if m == "delete" and p.startswith("/api/v1/me/")]
    assert len(deletes) == 5
    for operation in deletes:
        assert "already removed" in operation["responses"]["404"]["description"]
