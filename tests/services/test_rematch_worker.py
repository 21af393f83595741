"""Re-matching through the queue: in-process on embedded defaults, in a real worker on PostgreSQL + Redis."""

import datetime

import pytest

from recruitment.models import Match, MatchEvent, PatientProfile
from recruitment.tasks import rematch_patient
from tests import factories
from tests.recruitment.consent_helpers import Purpose, name_patient, publish, sign
from tests.recruitment.factories import DiagnosisFactory, PatientProfileFactory
from tests.services.conftest import wait_for
from trials.services import trial_parse_eligibility

ELIGIBILITY = """Inclusion Criteria:
  -  Histologically confirmed non-small cell lung cancer
  -  Age >= 18 years
Exclusion Criteria:
  -  Pregnant or breastfeeding
"""


def live_matches(profile: PatientProfile) -> list[Match]:
    return list(Match.objects.filter(patient=profile, retired_at__isnull=True))


def consenting_patient(**fields: object) -> PatientProfile:
    profile = PatientProfileFactory.create(birth_date=datetime.date(1961, 5, 2), **fields)
    name_patient(profile, "Nora", "Lind")
    sign(profile, publish(Purpose.MATCHING))
    return profile


@pytest.mark.django_db(transaction=True)
def test_a_saved_profile_is_rematched_by_the_worker_within_seconds(task_runner):
    trial = factories.TrialFactory.create(eligibility_text=ELIGIBILITY)
    trial_parse_eligibility(trial_id=trial.pk)
    profile = consenting_patient(pregnancy_status=PatientProfile.Pregnancy.NOT_PREGNANT)
    profile.breastfeeding = False
    profile.save(update_fields=["breastfeeding"])
    DiagnosisFactory.create(patient=profile, code="nsclc", label="non-small cell lung cancer")
    wait_for(lambda: [m.verdict for m in live_matches(profile)] == ["eligible"], timeout=30)
    profile.pregnancy_status = PatientProfile.Pregnancy.PREGNANT
    profile.save(update_fields=["pregnancy_status"])
    wait_for(lambda: live_matches(profile) == [], timeout=30)
    retired = MatchEvent.objects.get(match__patient=profile, kind=MatchEvent.Kind.RETIRED)
    assert retired.detail["reason"].startswith("ineligible: exclusion criterion")


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_delivery_of_a_rematch_produces_no_duplicate_match(task_runner):
    trial = factories.TrialFactory.create(eligibility_text=ELIGIBILITY)
    trial_parse_eligibility(trial_id=trial.pk)
    profile = consenting_patient()
    DiagnosisFactory.create(patient=profile, code="nsclc", label="non-small cell lung cancer")
    wait_for(lambda: len(live_matches(profile)) == 1, timeout=30)
    results = [rematch_patient.delay(profile.pk), rematch_patient.delay(profile.pk)]
    assert [result.get(timeout=60) for result in results] == [0, 0]
    assert Match.objects.filter(patient=profile).count() == 1
    assert MatchEvent.objects.filter(match__patient=profile, kind=MatchEvent.Kind.CREATED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_parsed_trial_is_matched_to_waiting_patients_by_the_worker(task_runner):
    profile = consenting_patient()
    DiagnosisFactory.create(patient=profile, code="nsclc", label="non-small cell lung cancer")
    trial = factories.TrialFactory.create(eligibility_text=ELIGIBILITY)
    trial_parse_eligibility(trial_id=trial.pk)
    # Pregnancy and breastfeeding are not on file: possible, with the questions that would settle it.
    wait_for(lambda: [m.verdict for m in live_matches(profile)] == ["possibly_eligible"], timeout=30)
    (match,) = live_matches(profile)
    assert {"kind": "question", "text": "Are you pregnant?"} in match.to_settle
