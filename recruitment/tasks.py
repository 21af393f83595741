"""Thin Celery tasks: they take ids, load fresh state and call a service.

Re-matching tasks re-compute matches from the current profile and trial; the candidate, alert and snapshot
tasks call idempotent services. A retry or a duplicate delivery (which `acks_late` allows) changes nothing the
first run did not.
"""

import logging
from datetime import timedelta

from celery import group, shared_task
from django.db import OperationalError
from django.utils import timezone

from recruitment import notifications
from recruitment.models import Candidate, Match, MatchEvent, PatientProfile
from recruitment.selectors.matching import (
    profile_ids_due,
    profile_ids_to_rematch,
    trial_ids_changed,
    trial_stamps,
)
from recruitment.services.matching import (
    match_upsert_all,
    match_upsert_for_patient,
    match_upsert_for_trial,
    trial_stamps_record,
)
from recruitment.services.monitoring import enrolment_snapshots_refresh
from recruitment.services.outbox import rematch_requests_due
from recruitment.services.workflow import candidates_create, candidates_take_up_owed
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
    return {"patients": summary.patients, "events": summary.events, "failed": len(summary.failed)}


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def rematch_everyone(chunk_size: int = 500, due_only: bool = True) -> int:
    """The nightly re-match: ages and time windows move with the date even when no data changed.

    By default only the patients due (`profile_ids_due`: whose results the date may have changed since their
    last re-match, at least every `REMATCH_HORIZON_MAX_DAYS`, and everyone after a new engine or terminology
    version); `due_only=False` takes every matchable patient. A trial that changed since the previous night
    in a way no re-match followed (`trial_ids_changed`: a cohort filled by enrolments, an edit in the admin, a
    trial re-match the broker refused) is re-matched as a whole. Fans out one `rematch_patients` task per
    chunk and one `rematch_trial` per such trial, so that every worker takes a share; returns the number of
    patient chunks sent. A second run re-sends only what the first one's workers have not done yet, and
    every re-match is idempotent.
    """
    stamps = trial_stamps()
    changed = trial_ids_changed(stamps=stamps) if due_only else []
    profile_ids = profile_ids_due(today=timezone.localdate()) if due_only else None
    chunks = rematch_chunks(chunk_size=chunk_size, profile_ids=profile_ids)
    work = [*(rematch_trial.s(trial_id) for trial_id in changed), *(rematch_patients.s(c) for c in chunks)]
    group(work).apply_async()
    trial_stamps_record(stamps=stamps, rematched=changed)
    return len(chunks)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def rematch_requested(older_than_seconds: int = 120) -> int:
    """Queue the re-matches owed for longer than `older_than_seconds`: changes committed while the broker
    could not take their task (younger ones are in the queue already). Returns the number queued."""
    profile_ids = rematch_requests_due(older_than=timedelta(seconds=older_than_seconds))
    for profile_id in profile_ids:
        rematch_patient.delay(profile_id)
    return len(profile_ids)


def rematch_chunks(*, chunk_size: int, profile_ids: list[int] | None = None) -> list[list[int]]:
    ids = profile_ids_to_rematch() if profile_ids is None else profile_ids
    return [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def take_up_candidates(trial_id: int, patient_ids: list[int] | None = None) -> int:
    """Take up the trial's new matches (of these patients, or all) as candidates; returns how many."""
    return len(candidates_create(trial_id=trial_id, patient_ids=patient_ids))


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def take_up_owed() -> int:
    """Periodic: take up the candidates a broker outage kept the take-up task from; returns how many."""
    return candidates_take_up_owed()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def alert_site_staff(candidate_ids: list[int]) -> int:
    """In-app alerts to the sites' staff about these new candidates; returns the number written."""
    return notifications.site_alerts_create(candidate_ids=candidate_ids)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def send_site_digests() -> int:
    """The daily digest e-mail to each site staff member with new alerts since their last one."""
    return notifications.site_digests_send()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def refresh_enrolment_snapshots(trial_id: int | None = None) -> int:
    """Today's enrolment snapshot of one trial (after a transition), or of every trial with candidates (the
    periodic run, which also fills in days missed); returns the number of rows written."""
    trial_ids = (
        [trial_id]
        if trial_id is not None
        else list(Candidate.objects.order_by("trial_id").values_list("trial_id", flat=True).distinct())
    )
    return sum(len(enrolment_snapshots_refresh(trial_id=pk)) for pk in trial_ids)
