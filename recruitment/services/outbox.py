"""Writes for the re-match outbox: record a re-match owed in the writer's transaction, clear it when done,
and find the ones the broker never received."""

import logging
from datetime import timedelta
from typing import Any

from celery import Task
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from recruitment.models import PatientProfile
from recruitment.models.outbox import RematchRequest

log = logging.getLogger(__name__)


def task_send(task: Task, *args: Any, recovered_by: str) -> None:
    """Queue `task` from an after-commit hook. The change behind it is committed, so a broker that cannot take
    the task must not turn into an error for the user: it is logged, and `recovered_by` (the periodic job that
    finds the work in the database) does it later. No result is kept: the request must not wait on the
    result store as well."""
    try:
        task.apply_async(args, ignore_result=True)
    except KombuOperationalError:
        log.warning("broker unreachable: %s%r waits for %s", task.name, args, recovered_by)


def rematch_request_record(*, profile_id: int) -> None:
    """Owe the patient a re-match; one upsert, so that concurrent writers for one patient never conflict."""
    RematchRequest.objects.bulk_create(
        [RematchRequest(profile_id=profile_id, requested_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["profile_id"],
        update_fields=["requested_at"],
    )


def rematch_request_clear(*, profile_id: int) -> None:
    """Called by a re-match holding the profile lock, before it reads the facts: every change committed
    before this point is seen by the re-match, and one committed after leaves a new row."""
    RematchRequest.objects.filter(profile_id=profile_id).delete()


def rematch_requests_due(*, older_than: timedelta) -> list[int]:
    """Profiles owed a re-match for longer than `older_than` (younger ones are normally in the queue already);
    requests of deleted profiles are dropped."""
    RematchRequest.objects.exclude(profile_id__in=PatientProfile.objects.values("pk")).delete()
    cutoff = timezone.now() - older_than
    return list(
        RematchRequest.objects.filter(requested_at__lte=cutoff)
        .order_by("requested_at")
        .values_list("profile_id", flat=True)
    )
