"""Consent withdrawn while a re-match (or the alert run it queues) for the patient is under way in the
worker: the withdrawal wins whatever the order, and leaves no live match and nothing that would contact the
patient."""

import pytest
from django.db import transaction
from django.utils import timezone

from recruitment.models import OPEN_STATUSES, Candidate, PatientProfile, TrialInterest
from recruitment.models.consent import MatchAlert
from recruitment.services.consent import consent_withdraw, trial_interest_express
from recruitment.services.matching import match_upsert_for_patient
from recruitment.services.workflow import candidates_create_for_site
from recruitment.tasks import rematch_patient, rematch_trial, send_match_alerts
from tests import factories
from tests.recruitment.consent_helpers import Purpose, publish, sign
from tests.recruitment.factories import DiagnosisFactory
from tests.services.conftest import WorkerProcess, sessions_waiting_for_a_lock, wait_for
from tests.services.reliability import LUNG, consenting_patient, live_matches, nothing_queued, queue_drained
from trials.models import Trial
from trials.services import trial_parse_eligibility


def eligible_patient_with_a_candidacy_and_interest() -> tuple[PatientProfile, Trial, Trial]:
    """An eligible patient, matched to one trial (taken up by its site, interest expressed, no alert sent
    yet), and a second trial parsed after the patient was matched, so that re-matching it would add one."""
    first = factories.TrialFactory.create(eligibility_text=LUNG)
    trial_parse_eligibility(trial_id=first.pk)
    site = factories.SiteFactory.create()
    factories.TrialSiteFactory.create(trial=first, site=site, status=Trial.Status.RECRUITING)
    profile = consenting_patient(pregnancy_status=PatientProfile.Pregnancy.NOT_PREGNANT, breastfeeding=False)
    sign(profile, publish(Purpose.CONTACT))
    DiagnosisFactory.create(patient=profile, code="nsclc", label="non-small cell lung cancer")
    match_upsert_for_patient(patient=profile, today=timezone.localdate())
    (match,) = live_matches(profile)
    assert match.verdict == "eligible"
    candidates_create_for_site(trial=first, site=site)
    trial_interest_express(patient=profile, trial=first, match=match)
    second = factories.TrialFactory.create(eligibility_text=LUNG)
    trial_parse_eligibility(trial_id=second.pk)
    return profile, first, second


@pytest.mark.parametrize("work", ["rematch_patient", "rematch_trial", "send_match_alerts"])
@pytest.mark.django_db(transaction=True)
def test_consent_withdrawn_while_the_worker_rematches_leaves_no_match_and_no_contact(
    real_services, celery_worker: WorkerProcess, monkeypatch, work
):
    with nothing_queued(monkeypatch):
        profile, _, second = eligible_patient_with_a_candidacy_and_interest()
    assert Candidate.objects.filter(patient=profile, status__in=OPEN_STATUSES).count() == 1
    with transaction.atomic():
        # The withdrawal's own lock, taken first: the worker's task reaches the patient and waits for it.
        PatientProfile.objects.select_for_update().get(pk=profile.pk)
        result = {
            "rematch_patient": lambda: rematch_patient.delay(profile.pk),
            "rematch_trial": lambda: rematch_trial.delay(second.pk),
            "send_match_alerts": lambda: send_match_alerts.delay([profile.pk]),
        }[work]()
        wait_for(lambda: sessions_waiting_for_a_lock() == 1, timeout=30)
        consent_withdraw(patient=profile, reason="changed my mind")
    result.get(timeout=30)
    queue_drained(celery_worker)
    assert live_matches(profile) == []
    assert not Candidate.objects.filter(patient=profile, status__in=OPEN_STATUSES).exists()
    assert not TrialInterest.objects.filter(patient=profile, withdrawn_at__isnull=True).exists()
    assert not MatchAlert.objects.filter(patient=profile).exists()
