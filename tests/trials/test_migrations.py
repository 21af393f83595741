"""Data migrations of the registry, run against rows as they were before."""

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
