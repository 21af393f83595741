"""Automatic take-up and a matching-consent withdrawal for the same patient at the same moment, on real
PostgreSQL row locks: both take the patient's profile lock first, so one waits for the other, and whichever
goes first the patient is left with no open candidacy."""

import threading
from collections.abc import Iterator

import pytest
from django.db import connection, transaction

from recruitment.models import OPEN_STATUSES, Candidate, CandidateStatus, PatientProfile
from recruitment.services import workflow
from recruitment.services.consent import consent_withdraw
from recruitment.services.workflow import candidates_create
from tests.recruitment.workflow_helpers import matched_patient
from tests.services.conftest import sessions_waiting_for_a_lock, wait_for
from tests.services.reliability import nothing_queued
from trials.models import ConsentDocument, Trial

MATCHING = ConsentDocument.Purpose.MATCHING


@pytest.fixture
def waiting_patient(real_services, nsclc_trial: Trial, boston_site, monkeypatch) -> Iterator[PatientProfile]:
    """A consenting patient with a live match to the trial and no candidacy yet. No task is queued: the
    test runs the take-up itself, and a worker left from another test must not take the patient up first."""
    monkeypatch.setattr(workflow, "_enqueue_take_up", lambda trial_id, patient_ids: None)
    monkeypatch.setattr(workflow, "_enqueue_site_alerts", lambda candidate_ids: None)
    with nothing_queued(monkeypatch):
        profile = matched_patient(nsclc_trial, email="elena@example.org")
        assert not Candidate.objects.filter(patient=profile).exists()
        yield profile


@pytest.mark.django_db(transaction=True)
def test_a_take_up_waiting_for_a_withdrawal_takes_nobody_up(waiting_patient, nsclc_trial):
    outcome: dict[str, list[Candidate]] = {}

    def take_up() -> None:
        try:
            outcome["created"] = candidates_create(trial_id=nsclc_trial.pk, patient_ids=[waiting_patient.pk])
        finally:
            connection.close()

    thread = threading.Thread(target=take_up)
    with transaction.atomic():
        # The withdrawal's own first lock, taken before the take-up starts: the take-up must wait for it.
        PatientProfile.objects.select_for_update().get(pk=waiting_patient.pk)
        thread.start()
        wait_for(lambda: sessions_waiting_for_a_lock() == 1, timeout=30)
        consent_withdraw(patient=waiting_patient, purposes=[MATCHING], reason="changed my mind")
    thread.join(timeout=30)

    assert outcome["created"] == []
    assert not Candidate.objects.filter(patient=waiting_patient).exists()


@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_waiting_for_a_take_up_ends_the_new_candidacy(waiting_patient, nsclc_trial):
    outcome: dict[str, list[Candidate]] = {}
    taken_up, release = threading.Event(), threading.Event()

    def take_up_and_hold() -> None:
        try:
            with transaction.atomic():
                outcome["created"] = candidates_create(
                    trial_id=nsclc_trial.pk, patient_ids=[waiting_patient.pk]
                )
                taken_up.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    def withdraw() -> None:
        try:
            consent_withdraw(patient=waiting_patient, purposes=[MATCHING], reason="changed my mind")
        finally:
            connection.close()

    holder, withdrawal = threading.Thread(target=take_up_and_hold), threading.Thread(target=withdraw)
    holder.start()
    assert taken_up.wait(timeout=30)
    withdrawal.start()
    try:
        wait_for(lambda: sessions_waiting_for_a_lock() == 1, timeout=30)
    finally:
        release.set()
        holder.join(timeout=30)
        withdrawal.join(timeout=30)

    (created,) = outcome["created"]
    created.refresh_from_db()
    assert created.status == CandidateStatus.WITHDRAWN
    assert not Candidate.objects.filter(patient=waiting_patient, status__in=OPEN_STATUSES).exists()
