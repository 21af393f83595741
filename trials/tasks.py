"""Thin Celery tasks: they take ids and call a service, so a retry or a duplicate delivery is harmless."""

import logging

from celery import shared_task
from django.db import OperationalError

from trials import selectors, services

log = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def parse_trials_eligibility(trial_ids: list[int]) -> dict[str, int]:
    """Parse these trials' eligibility texts together; already-parsed identical text is skipped."""
    results = services.trials_parse_eligibility(trial_ids=trial_ids)
    for trial_id in sorted(set(trial_ids) - {r.trial_id for r in results}):
        log.info("trial %s was deleted before its criteria were parsed", trial_id)
    parsed = sum(not r.skipped for r in results)
    return {"parsed": parsed, "skipped": len(results) - parsed}


@shared_task(acks_late=True)
def parse_outdated_trials(chunk_size: int = 100) -> int:
    """Queue a parse of every trial parsed from older text, parser or dictionaries (e.g. after an upgrade)."""
    trial_ids = selectors.trials_needing_parse()
    for start in range(0, len(trial_ids), chunk_size):
        parse_trials_eligibility.delay(trial_ids[start : start + chunk_size])
    return len(trial_ids)
