"""Eligibility parsing runs as a Celery task: in-process on embedded defaults, in a real worker in CI."""

import pytest

from tests import factories
from tests.services.conftest import wait_for
from trials.tasks import parse_trials_eligibility

# From NCT04685135-style oncology criteria on ClinicalTrials.gov.
ELIGIBILITY = """Inclusion Criteria:
  -  Histologically confirmed non-small cell lung cancer with a KRAS G12C mutation
  -  Platelets >= 100 x 10^9/L
Exclusion Criteria:
  -  Active brain metastases
"""


@pytest.mark.django_db(transaction=True)
def test_a_queued_parse_stores_the_trials_criteria_once_however_often_it_is_delivered(task_runner):
    trial = factories.TrialFactory.create(eligibility_text=ELIGIBILITY)
    parse_trials_eligibility.delay([trial.pk])
    parse_trials_eligibility.delay([trial.pk])  # a duplicate delivery, as acks_late allows
    wait_for(lambda: trial.events.filter(kind="parsed").exists() and trial.criteria.count() >= 3)
    wait_for(lambda: not _queue_busy(task_runner))
    assert trial.events.filter(kind="parsed").count() == 1
    texts = list(trial.criteria.values_list("text", flat=True))
    assert len(texts) == len(set(texts))
    assert any("KRAS G12C" in text for text in texts)


@pytest.mark.django_db(transaction=True)
def test_a_parse_for_a_deleted_trial_is_dropped_quietly(task_runner):
    trial = factories.TrialFactory.create(eligibility_text=ELIGIBILITY)
    trial_id = trial.pk
    trial.delete()
    result = parse_trials_eligibility.delay([trial_id])
    assert result.get(timeout=60) == {"parsed": 0, "skipped": 0}


def _queue_busy(task_runner) -> bool:
    if task_runner is None:
        return False
    from config.celery import app

    inspector = app.control.inspect(destination=[task_runner.name], timeout=1.0)
    active = inspector.active() or {}
    reserved = inspector.reserved() or {}
    return any(active.values()) or any(reserved.values())
