"""Helpers for the reliability tests: data written without queueing work, row locks held from a connection
of the test's own, and waiting until the real worker has nothing left to do."""

import contextlib
import datetime
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.conf import settings

from recruitment.models import Match, PatientProfile
from recruitment.selectors.consent import current_consent_document
from recruitment.services import matching, workflow
from tests.recruitment.consent_helpers import Purpose, name_patient, publish, sign
from tests.recruitment.factories import PatientProfileFactory
from tests.services.conftest import WorkerProcess, database_url, wait_for
from trials import services as trial_services

LUNG = """Inclusion Criteria:
  -  Non-small cell lung cancer
  -  Age >= 18 years
Exclusion Criteria:
  -  Pregnant or breastfeeding
"""
BREAST = """Inclusion Criteria:
  -  Breast cancer
  -  Age >= 18 years
Exclusion Criteria:
  -  Pregnant or breastfeeding
"""
SOLID = """Inclusion Criteria:
  -  Advanced solid tumour
  -  Age >= 40 years
"""


@contextlib.contextmanager
def nothing_queued(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Write a scenario's data without sending the re-matches and parses its writes would queue, so that
    the work the test starts is the only work the worker does."""
    with monkeypatch.context() as patch:
        patch.setattr(matching, "_enqueue_patient_rematch", lambda profile_id: None)
        patch.setattr(matching, "_enqueue_trial_rematch", lambda trial_id: None)
        patch.setattr(trial_services, "_enqueue_parse", lambda trial_id: None)
        # A transition queues a snapshot refresh: left to a worker, it could still be writing when the test's
        # database is flushed (a deadlock at teardown).
        patch.setattr(workflow, "_enqueue_snapshot_refresh", lambda trial_id: None)
        yield


def consenting_patient(first: str = "Nora", **fields: object) -> PatientProfile:
    fields.setdefault("birth_date", datetime.date(1961, 5, 2))
    profile = PatientProfileFactory.create(**fields)
    name_patient(profile, first, "Lind")
    sign(profile, current_consent_document(purpose=Purpose.MATCHING) or publish(Purpose.MATCHING))
    return profile


def live_matches(profile: PatientProfile) -> list[Match]:
    return list(Match.objects.filter(patient=profile, retired_at__isnull=True))


@contextlib.contextmanager
def rows_locked(table: str, ids: list[int]) -> Iterator[None]:
    """Hold row locks on `ids` of `table` from a connection of the test's own, as a slow transaction would."""
    with psycopg.connect(database_url()) as holder:
        holder.execute(f"SELECT id FROM {table} WHERE id = ANY(%s) FOR UPDATE", [ids])  # noqa: S608
        yield
        holder.rollback()


def queue_drained(worker: WorkerProcess) -> None:
    """Wait until the run's queue is empty and the worker holds no task (follow-up tasks included), twice in
    a row: a task moves from the queue to the worker between the two reads."""
    from config.celery import app

    def idle() -> bool:
        with app.connection_for_read() as conn:
            channel: Any = conn.default_channel  # type: ignore[attr-defined]
            waiting = channel.client.llen(settings.CELERY_TASK_DEFAULT_QUEUE)
        inspect = app.control.inspect([worker.name], timeout=1.0)
        held = [*(inspect.active() or {}).values(), *(inspect.reserved() or {}).values()]
        return waiting == 0 and not any(held)

    observed: list[bool] = []

    def idle_twice() -> bool:
        observed.append(idle())
        return observed[-2:] == [True, True]

    wait_for(idle_twice, timeout=60)
