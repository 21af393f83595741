"""Data migrations of the registry, run against rows as they were before."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("trials", "0006_criterion_mentions")]
AFTER = [("trials", "0008_reviewed_criterion_has_curated_tree")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def _latest_schema_after():
    """Each test leaves the schema as the rest of the suite expects it: every migration applied."""
    yield
    executor = MigrationExecutor(connection)
    _migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_criteria_accepted_before_keep_the_reading_they_were_accepted_with():
    apps = _migrate(BEFORE)
    Trial = apps.get_model("trials", "Trial")
    EligibilityCriterion = apps.get_model("trials", "EligibilityCriterion")
    trial = Trial.objects.create(nct_id="NCT05000042", brief_title="EGFR")
    reading = {"type": "atom", "kind": "performance_status", "text": "ECOG 0-1"}
    common = {"trial": trial, "section": "inclusion", "span_start": 0, "span_end": 8, "parser_version": "1",
              "dictionary_version": "1", "parsed_tree": reading}  # fmt: skip
    accepted = EligibilityCriterion.objects.create(
        position=0, text="ECOG 0-1", text_key="a", status="accepted", **common
    )
    unreviewed = EligibilityCriterion.objects.create(position=1, text="Age 18", text_key="b", **common)

    apps = _migrate(AFTER)

    EligibilityCriterion = apps.get_model("trials", "EligibilityCriterion")
    assert EligibilityCriterion.objects.get(pk=accepted.pk).curated_tree == reading
    assert EligibilityCriterion.objects.get(pk=unreviewed.pk).curated_tree is None


@pytest.mark.django_db(transaction=True)
def test_reviewed_criteria_an_earlier_parse_read_differently_are_marked_from_its_event():
    apps = _migrate([("trials", "0008_reviewed_criterion_has_curated_tree")])
    Trial = apps.get_model("trials", "Trial")
    TrialEvent = apps.get_model("trials", "TrialEvent")
    EligibilityCriterion = apps.get_model("trials", "EligibilityCriterion")
    trial = Trial.objects.create(nct_id="NCT05000042", brief_title="EGFR")
    reading = {"type": "atom", "kind": "performance_status", "text": "ECOG 0-1"}
    common = {"trial": trial, "section": "inclusion", "span_start": 0, "span_end": 8, "parser_version": "1",
              "dictionary_version": "1", "parsed_tree": reading, "curated_tree": reading,
              "status": "accepted"}  # fmt: skip
    reviewed_at = datetime(2026, 11, 1, tzinfo=UTC)
    parsed_at = datetime(2026, 11, 20, tzinfo=UTC)
    unseen = EligibilityCriterion.objects.create(
        position=0, text="ECOG 0-1", text_key="a", reviewed_at=reviewed_at, **common
    )
    seen_since = EligibilityCriterion.objects.create(
        position=1, text="ECOG 0 or 1", text_key="b", reviewed_at=datetime(2026, 11, 25, tzinfo=UTC), **common
    )
    untouched = EligibilityCriterion.objects.create(
        position=2, text="ECOG <= 1", text_key="c", reviewed_at=reviewed_at, **common
    )
    TrialEvent.objects.create(
        trial=trial, kind="parsed", created_at=parsed_at,
        detail={"curated_reading_differs": [unseen.pk, seen_since.pk]},
    )  # fmt: skip
    TrialEvent.objects.create(trial=trial, kind="parsed", detail={"created": 3})  # from before the list

    apps = _migrate([("trials", "0009_criterion_reading_changed_at")])

    EligibilityCriterion = apps.get_model("trials", "EligibilityCriterion")
    assert EligibilityCriterion.objects.get(pk=unseen.pk).reading_changed_at == parsed_at
    assert EligibilityCriterion.objects.get(pk=seen_since.pk).reading_changed_at is None
    assert EligibilityCriterion.objects.get(pk=untouched.pk).reading_changed_at is None
