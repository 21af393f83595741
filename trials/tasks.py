"""Thin Celery tasks: they take ids and call a service, so a retry or a duplicate delivery is harmless."""

import logging

from celery import shared_task
from django.db import OperationalError

from trials import selectors, services
from trials.models import Trial

log = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def parse_trials_eligibility(trial_ids: list[int]) -> dict[str, int]:
    """Parse the eligibility text of these trials; already-parsed identical text is skipped by the service."""
    parsed = skipped = 0
    for trial_id in trial_ids:
        try:
            result = services.trial_parse_eligibility(trial_id=trial_id)
        except Trial.DoesNotExist:
            log.info("trial %s was deleted before its criteria were parsed", trial_id)
            continue
        if result.skipped:
            skipped += 1
        else:
            parsed += 1
    return {"parsed": parsed, "skipped": skipped}


@shared_task(acks_late=True)
def parse_outdated_trials(chunk_size: int = 100) -> int:
    """Queue a parse of every trial parsed from older text, parser or dictionaries (e.g. after an upgrade)."""
    trial_ids = selectors.trials_needing_parse()
    for start in range(0, len(trial_ids), chunk_size):
        parse_trials_eligibility.delay(trial_ids[start : start + chunk_size])
    return len(trial_ids)
