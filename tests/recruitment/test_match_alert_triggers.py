"""A re-match that makes a match eligible e-mails the patient; the hourly run catches what was held back."""

import pytest
from django.conf import settings
from django.core import mail

from recruitment.tasks import rematch_patient, rematch_trial, send_match_alerts
from tests.recruitment.test_match_services import EGFR_TRIAL, trial_with

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personas_consent_to_matching")]


def test_elena_is_told_once_when_a_rematch_finds_her_eligible(
    criteria, elena, django_capture_on_commit_callbacks
):
    trial = trial_with(criteria, EGFR_TRIAL)
    with django_capture_on_commit_callbacks(execute=True):
        rematch_patient(elena.pk)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [elena.user.email]
    assert trial.brief_title in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        rematch_trial(trial.pk)
    assert len(mail.outbox) == 1  # nothing new to tell


def test_an_ineligible_patient_gets_no_e_mail(criteria, hana, django_capture_on_commit_callbacks):
    trial_with(criteria, EGFR_TRIAL)
    with django_capture_on_commit_callbacks(execute=True):
        rematch_patient(hana.pk)
    assert mail.outbox == []


def test_the_hourly_alert_run_is_scheduled():
    entry = settings.CELERY_BEAT_SCHEDULE["hourly-match-alerts"]
    assert entry["task"] == send_match_alerts.name
