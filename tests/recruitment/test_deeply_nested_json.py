"""JSON nested deeper than the parser can follow is refused with the module's own message, never a 500."""

import json

import pytest
from django.urls import reverse

from recruitment.fhir_import import BundleError, bundle_read
from recruitment.summary_paste import PasteError, summary_facts_save

pytestmark = pytest.mark.django_db

DEPTH = 100_000


def nested_list() -> str:
    return "[" * DEPTH + "]" * DEPTH


def test_a_deeply_nested_fhir_file_is_refused_as_not_a_bundle():
    with pytest.raises(BundleError) as refused:
        bundle_read(nested_list().encode())
    assert [problem.message for problem in refused.value.problems] == [
        "the JSON is nested far too deeply to be a FHIR Bundle."
    ]


def test_the_import_page_shows_the_problem_for_deeply_nested_json(client, elena):
    client.force_login(elena.user)
    response = client.post(reverse("portal:fhir_import"), {"text": nested_list()})
    assert response.status_code == 400
    assert "nested far too deeply" in response.content.decode()


def test_a_deeply_nested_pick_is_reported_as_unreadable_and_nothing_is_saved(elena):
    deep_fields = '{"name": ' + nested_list() + "}"
    fine = json.dumps({"kind": "ecog", "fields": {"ecog": 3}})
    with pytest.raises(PasteError) as refused:
        summary_facts_save(
            profile=elena, picks=[fine, '{"kind": "ecog", "fields": ' + deep_fields + "}"], actor=elena.user
        )
    assert refused.value.problems == ["One ticked item could not be read; please add it by hand."]
    elena.refresh_from_db()
    assert elena.ecog == 1  # the readable pick (ECOG 3) was undone with the rest
