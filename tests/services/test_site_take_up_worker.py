"""From a profile change to a site's alert and a sponsor's figure, through the queue: in-process on embedded
defaults, through a real worker on PostgreSQL + Redis. No page view takes part."""

import datetime

import pytest
from django.utils import timezone

from recruitment.models import Candidate, CandidateStatus, EnrolmentSnapshot, SiteAlert
from recruitment.services.consent import trial_interest_express
from recruitment.services.workflow import candidate_transition
from tests import factories
from tests.recruitment.consent_helpers import Purpose, name_patient, publish, sign
from tests.recruitment.factories import DiagnosisFactory, PatientProfileFactory
from tests.services.conftest import wait_for
from trials.services import trial_parse_eligibility

ELIGIBILITY = """Inclusion Criteria:
  -  Histologically confirmed non-small cell lung cancer
  -  Age >= 18 years
"""
S = CandidateStatus
TO_ENROLLED = [S.PRE_SCREENED, S.CONTACTED, S.CONSENTED, S.SCREENING, S.ENROLLED]


@pytest.mark.django_db(transaction=True)
def test_a_new_match_reaches_the_site_as_a_candidate_and_an_alert_and_enrolment_reaches_the_sponsor(
    task_runner,
):
    trial_site = factories.TrialSiteFactory.create(trial__eligibility_text=ELIGIBILITY)
    trial = trial_site.trial
    trial_parse_eligibility(trial_id=trial.pk)
    coordinator = factories.SiteMembershipFactory.create(site=trial_site.site).user
    profile = PatientProfileFactory.create(birth_date=datetime.date(1961, 5, 2))
    name_patient(profile, "Nora", "Lind")
    sign(profile, publish(Purpose.MATCHING))
    DiagnosisFactory.create(patient=profile, code="nsclc", label="non-small cell lung cancer")

    wait_for(lambda: SiteAlert.objects.filter(user=coordinator).exists(), timeout=30)
    candidate = Candidate.objects.get(patient=profile, trial=trial)
    assert candidate.site == trial_site.site

    sign(profile, publish(Purpose.CONTACT))
    trial_interest_express(patient=profile, trial=trial)
    for step in TO_ENROLLED:
        candidate_transition(candidate_id=candidate.pk, to_status=step, actor=coordinator)
    wait_for(
        lambda: EnrolmentSnapshot.objects.filter(
            trial=trial, day=timezone.localdate(), site=trial_site.site, enrolled=1
        ).exists(),
        timeout=30,
    )
