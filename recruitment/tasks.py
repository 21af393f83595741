"""Thin Celery tasks for re-matching: they take ids, load fresh state and call a service.

Every task re-computes matches from the current profile and trial, so a retry or a duplicate delivery (which
`acks_late` allows) changes nothing the first run did not.
"""

import logging

from celery import group, shared_task
from django.db import OperationalError
from django.utils import timezone

from recruitment import notifications
from recruitment.models import Match, MatchEvent, PatientProfile
from recruitment.selectors.matching import profile_ids_to_rematch
from recruitment.services.matching import match_upsert_all, match_upsert_for_patient, match_upsert_for_trial
from trials.models import Trial

log = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def rematch_patient(profile_id: int) -> int:
    """Re-match one patient against every open trial; returns the number of match events."""
    profile = PatientProfile.objects.filter(pk=profile_id).first()
    if profile is None:
        log.info("profile %s was deleted before it was re-matched", profile_id)
        return 0
    events = match_upsert_for_patient(patient=profile, today=timezone.localdate())
    _alert_newly_eligible(events)
    return len(events)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def rematch_trial(trial_id: int) -> int:
    """Re-match one trial against every matchable patient; returns the number of match events."""
    trial = Trial.objects.filter(pk=trial_id).first()
    if trial is None:
        log.info("trial %s was deleted before it was re-matched", trial_id)
        return 0
    events = match_upsert_for_trial(trial=trial, today=timezone.localdate())
    _alert_newly_eligible(events)
    return len(events)


def _alert_newly_eligible(events: list[MatchEvent]) -> None:
    patient_ids = sorted(
        {
            event.match.patient_id
            for event in events
            if event.kind != MatchEvent.Kind.RETIRED and event.match.verdict == Match.Verdict.ELIGIBLE
        }
    )
    if patient_ids:
        send_match_alerts.delay(patient_ids)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def send_match_alerts(patient_ids: list[int] | None = None) -> int:
    """E-mail patients about eligible matches they have not been told of (throttled per patient); with no
    ids, every patient with such matches, which also catches those the throttle held back."""
    return notifications.match_alerts_send(patient_ids=patient_ids)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def rematch_patients(profile_ids: list[int]) -> dict[str, int]:
    """One chunk of a full re-match: these patients against every open trial."""
    summary = match_upsert_all(today=timezone.localdate(), profile_ids=profile_ids)
    return {"patients": summary.patients, "events": summary.events}


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def rematch_everyone(chunk_size: int = 500) -> int:
    """The nightly full re-match: ages and time windows move with the date even when no data changed.

    Fans out one `rematch_patients` task per chunk, so that every worker takes a share; returns the number
    of chunks sent.
    """
    chunks = rematch_chunks(chunk_size=chunk_size)
    group(rematch_patients.s(chunk) for chunk in chunks).apply_async()
    return len(chunks)


def rematch_chunks(*, chunk_size: int, profile_ids: list[int] | None = None) -> list[list[int]]:
    ids = profile_ids_to_rematch() if profile_ids is None else profile_ids
    return [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
