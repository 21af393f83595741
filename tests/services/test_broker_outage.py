"""A broker outage while a patient saves the profile: the save succeeds and the re-match it owes is done once
the broker is back, by the periodic drain or by the nightly full re-match."""

import json
import os
import subprocess
import sys

import pytest
from kombu.exceptions import OperationalError as KombuOperationalError

from recruitment.models import PatientProfile, RematchRequest
from recruitment.services.profile import profile_update
from recruitment.tasks import rematch_everyone, rematch_patient, rematch_requested
from tests import factories
from tests.recruitment.factories import DiagnosisFactory
from tests.services.conftest import ROOT, WorkerProcess, database_url, wait_for
from tests.services.reliability import LUNG, consenting_patient, live_matches, queue_drained
from trials.services import trial_parse_eligibility

# Nothing listens on the discard port: every attempt to publish is refused, as when Redis is down.
DEAD_BROKER = "redis://127.0.0.1:9/0"
# The web process's part, in a process of its own whose only broker is the dead one.
SAVE_THROUGH_THE_PORTAL = """
import json, sys
import django
django.setup()
from django.test import Client
from recruitment.models import User
client = Client()
client.force_login(User.objects.get(pk=int(sys.argv[1])), "django.contrib.auth.backends.ModelBackend")
response = client.post("/portal/profile/", json.loads(sys.argv[2]))
print(json.dumps({"status": response.status_code, "location": response.headers.get("Location", "")}))
"""


def save_profile_while_the_broker_is_down(profile: PatientProfile, form: dict[str, str]) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": DEAD_BROKER,
        "CELERY_RESULT_BACKEND": DEAD_BROKER,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", SAVE_THROUGH_THE_PORTAL, str(profile.user_id), json.dumps(form)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "broker unreachable" in done.stderr
    result: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("catch_up", ["periodic drain", "nightly re-match"])
@pytest.mark.django_db(transaction=True)
def test_a_profile_saved_while_the_broker_is_down_is_rematched_once_it_is_back(
    real_services, celery_worker: WorkerProcess, catch_up
):
    trial = factories.TrialFactory.create(eligibility_text=LUNG)
    trial_parse_eligibility(trial_id=trial.pk)
    profile = consenting_patient(pregnancy_status=PatientProfile.Pregnancy.PREGNANT, breastfeeding=False)
    DiagnosisFactory.create(patient=profile, code="nsclc", label="non-small cell lung cancer")
    # With the broker up, each write's re-match ran and cleared what it owed.
    queue_drained(celery_worker)
    assert not RematchRequest.objects.exists()
    assert live_matches(profile) == []

    response = save_profile_while_the_broker_is_down(
        profile,
        {
            "birth_date": "1961-05-02",
            "sex": "female",
            "postcode": "",
            "ecog": "",
            "pregnancy_status": "not_pregnant",
            "breastfeeding": "false",
            "history_confirmed_on": "",
        },
    )
    assert response == {"status": 302, "location": "/portal/profile/"}
    profile.refresh_from_db()
    assert profile.pregnancy_status == PatientProfile.Pregnancy.NOT_PREGNANT
    assert RematchRequest.objects.filter(profile_id=profile.pk).exists()
    assert live_matches(profile) == []

    if catch_up == "periodic drain":
        assert rematch_requested.delay(older_than_seconds=0).get(timeout=30) == 1
    else:
        rematch_everyone.delay().get(timeout=30)
    # Pregnancy excluded the patient; now the trial is open to her (eligible, or possibly if the parser leaves
    # a question).
    wait_for(lambda: len(live_matches(profile)) == 1, timeout=30)
    wait_for(lambda: not RematchRequest.objects.exists(), timeout=30)
    # The alert and take-up tasks the re-match queued finish here, not during the next test.
    queue_drained(celery_worker)


@pytest.mark.django_db(transaction=True)
def test_a_rematch_the_broker_refused_is_owed_until_the_drain_sends_it(task_runner, monkeypatch):
    """The same path on any services: the broker's refusal is simulated at the task's door."""
    trial = factories.TrialFactory.create(eligibility_text=LUNG)
    trial_parse_eligibility(trial_id=trial.pk)
    profile = consenting_patient(pregnancy_status=PatientProfile.Pregnancy.PREGNANT, breastfeeding=False)
    DiagnosisFactory.create(patient=profile, code="nsclc", label="non-small cell lung cancer")
    wait_for(lambda: not RematchRequest.objects.exists(), timeout=30)

    def refused(*args: object, **kwargs: object) -> None:
        raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as patch:
        patch.setattr(rematch_patient, "apply_async", refused)
        profile_update(profile=profile, fields={"pregnancy_status": PatientProfile.Pregnancy.NOT_PREGNANT})
    assert RematchRequest.objects.filter(profile_id=profile.pk).exists()
    assert live_matches(profile) == []
    # Younger than the drain's default age: it may still be on its way, so the drain leaves it.
    assert rematch_requested.delay().get(timeout=30) == 0
    assert rematch_requested.delay(older_than_seconds=0).get(timeout=30) == 1
    # Pregnancy excluded the patient; now the trial is open to her (eligible, or possibly if the parser leaves
    # a question).
    wait_for(lambda: len(live_matches(profile)) == 1, timeout=30)
    assert not RematchRequest.objects.exists()
    if task_runner is not None:
        queue_drained(task_runner)
