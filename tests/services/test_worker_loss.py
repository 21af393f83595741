"""A worker lost in the middle of the nightly full re-match: its chunks are delivered again to the next
worker, and re-running a chunk (or the part of it that had committed) neither loses nor duplicates a match."""

import time

import pytest
from django.utils import timezone

from recruitment.matching import Overall, match_trial
from recruitment.models import Diagnosis, Match, MatchEvent, PatientProfile
from recruitment.selectors.matching import matchable_profiles, patient_facts_many, trials_for_matching
from recruitment.tasks import rematch_everyone
from tests import factories
from tests.recruitment.factories import DiagnosisFactory
from tests.services.conftest import WorkerProcess, sessions_waiting_for_a_lock, wait_for
from tests.services.reliability import BREAST, LUNG, SOLID, consenting_patient, nothing_queued, rows_locked
from trials.services import trial_parse_eligibility

CHUNK = 8
PATIENTS = 40
# Small enough that the next worker takes the dead one's messages back at once; the settings explain why
# production keeps an hour.
VISIBILITY_SECONDS = 1


def patients_and_trials() -> list[int]:
    """A mix that each trial splits three ways: eligible, possibly eligible (facts missing), ineligible."""
    for text in (LUNG, BREAST, SOLID):
        trial_parse_eligibility(trial_id=factories.TrialFactory.create(eligibility_text=text).pk)
    diagnoses = [("nsclc", "non-small cell lung cancer"), ("breast_cancer", "breast cancer"), None]
    pregnancy = list(PatientProfile.Pregnancy)
    ids = []
    for number in range(PATIENTS):
        profile = consenting_patient(f"Patient{number}", pregnancy_status=pregnancy[number % len(pregnancy)])
        profile.breastfeeding = [False, None, True][number % 3] if number % 5 else False
        profile.save(update_fields=["breastfeeding"])
        diagnosis = diagnoses[number % len(diagnoses)]
        if diagnosis is not None:
            DiagnosisFactory.create(
                patient=profile,
                code=diagnosis[0],
                label=diagnosis[1],
                presence=Diagnosis.Presence.PRESENT,
                stage="IV" if number % 2 else "",
            )
        ids.append(profile.pk)
    return ids


def exhaustive_expectation() -> set[tuple[int, int, str]]:
    """Every (patient, trial) pair evaluated in this process, without the candidate index: what the run
    must leave as live matches, as (patient, trial, verdict)."""
    today = timezone.localdate()
    trials = trials_for_matching()
    profiles = list(matchable_profiles())
    facts = patient_facts_many(profiles=profiles)
    expected = set()
    for profile in profiles:
        for trial in trials:
            verdict = match_trial(trial.spec, trial.criteria, facts[profile.pk], today=today, enrolled={})
            if verdict.overall is not Overall.INELIGIBLE and verdict.accepting:
                expected.add((profile.pk, trial.trial.pk, verdict.overall.value))
    return expected


def live() -> set[tuple[int, int, str]]:
    return set(Match.objects.filter(retired_at__isnull=True).values_list("patient_id", "trial_id", "verdict"))


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_full_rematch_loses_and_duplicates_no_match(
    real_services, celery_worker: WorkerProcess, monkeypatch
):
    with nothing_queued(monkeypatch):
        ids = patients_and_trials()
    expected = exhaustive_expectation()
    verdicts = {verdict for _, _, verdict in expected}
    assert verdicts == {"eligible", "possibly_eligible"}
    assert len(expected) < PATIENTS * 3, "some pairs must be ineligible"
    # The worker reserves two chunks (two processes, one message each); one patient in each is held, so the
    # kill finds both chunks half done and three chunks still in the queue.
    held = [ids[3], ids[CHUNK + 3]]
    try:
        with rows_locked(PatientProfile._meta.db_table, held):
            rematch_everyone.delay(chunk_size=CHUNK)
            wait_for(lambda: sessions_waiting_for_a_lock() == 2, timeout=30)
            celery_worker.stop(kill=True)
            done_before_the_kill = live()
        assert 0 < len(done_before_the_kill) < len(expected)
        assert done_before_the_kill < expected
        # Messages the dead worker held come back once unacknowledged for longer than the visibility timeout.
        time.sleep(VISIBILITY_SECONDS + 0.5)
        celery_worker.start(CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_SECONDS))
        wait_for(lambda: live() == expected, timeout=60)
    finally:
        celery_worker.stop()
        celery_worker.start()
    assert Match.objects.count() == len(expected), "no match was created twice and retired"
    created = MatchEvent.objects.filter(kind=MatchEvent.Kind.CREATED)
    assert created.count() == len(expected)
    assert not MatchEvent.objects.exclude(kind=MatchEvent.Kind.CREATED).exists()
