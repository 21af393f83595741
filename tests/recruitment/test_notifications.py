"""New-match e-mails: eligible matches told once, at most one e-mail a day, only with matching consent, and an
unsubscribe link that works without signing in."""

from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from recruitment.models.consent import MatchAlert, MatchAlertOptOut
from recruitment.notifications import match_alerts_send, unsubscribe_token
from recruitment.services.consent import consent_withdraw
from recruitment.services.matching import match_upsert_for_patient
from tests.recruitment.conftest import TODAY
from tests.recruitment.consent_helpers import Purpose, name_patient, publish_all, sign
from tests.recruitment.test_match_services import EGFR_TRIAL, trial_with

UNSUBSCRIBE_URL = "https://portal.example/portal/alerts/unsubscribe/{token}/"
PORTAL_URL = "https://portal.example/portal/matches/"


@pytest.fixture
def matched_elena(elena, criteria):
    name_patient(elena)
    sign(elena, publish_all()[Purpose.MATCHING])
    trial_with(criteria, EGFR_TRIAL, brief_title="Osimertinib after progression")
    match_upsert_for_patient(patient=elena, today=TODAY)
    return elena


def send(now: datetime | None = None) -> int:
    return match_alerts_send(unsubscribe_url=UNSUBSCRIBE_URL, portal_url=PORTAL_URL, now=now)


@pytest.mark.django_db
class TestMatchAlerts:
    def test_a_new_eligible_match_is_emailed_once_with_an_unsubscribe_link(
        self, matched_elena, criteria, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            assert send() == 1
            assert send() == 0
        (message,) = mail.outbox
        assert message.to == ["elena@example.org"]
        assert "Osimertinib after progression" in message.body
        token = unsubscribe_token(matched_elena)
        assert f"https://portal.example/portal/alerts/unsubscribe/{token}/" in message.body
        assert (
            message.extra_headers["List-Unsubscribe"]
            == f"<https://portal.example/portal/alerts/unsubscribe/{token}/>"
        )

    def test_at_most_one_email_a_day_later_matches_wait(self, matched_elena, criteria):
        now = timezone.now()
        assert send(now=now) == 1
        trial_with(criteria, EGFR_TRIAL, brief_title="A second trial")
        match_upsert_for_patient(patient=matched_elena, today=TODAY)
        assert send(now=now + timedelta(hours=2)) == 0
        assert send(now=now + timedelta(hours=25)) == 1
        assert MatchAlert.objects.filter(patient=matched_elena).count() == 2

    def test_no_email_without_matching_consent(self, matched_elena):
        consent_withdraw(patient=matched_elena, purposes=[Purpose.MATCHING])
        assert send() == 0

    def test_the_unsubscribe_link_works_without_signing_in(self, client, matched_elena):
        url = reverse("portal:alerts_unsubscribe", args=[unsubscribe_token(matched_elena)])
        assert "Stop e-mails about new matches?" in client.get(url).content.decode()
        assert not MatchAlertOptOut.objects.exists()
        client.post(url)
        assert MatchAlertOptOut.objects.filter(patient=matched_elena).exists()
        assert send() == 0

    def test_a_forged_unsubscribe_token_is_404(self, client, matched_elena):
        assert client.post(reverse("portal:alerts_unsubscribe", args=["1:forged"])).status_code == 404


@pytest.mark.django_db
def test_default_links_point_at_the_portal_under_site_root(
    matched_elena, settings, django_capture_on_commit_callbacks
):
    settings.SITE_ROOT = "https://trials.example.org/"
    with django_capture_on_commit_callbacks(execute=True):
        assert match_alerts_send(patient_ids=[matched_elena.pk]) == 1
    body = mail.outbox[0].body
    assert "https://trials.example.org/portal/matches/" in body
    assert "https://trials.example.org/portal/alerts/unsubscribe/" in body
