"""The owner of an account is e-mailed whenever its second factor changes or a recovery code is used: the
first authenticator is set up after the password alone, so the notice is how Sam would learn that someone
who knows his password did it."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from recruitment import mfa, totp
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def test_sam_setting_up_his_authenticator_at_sign_in_is_told_by_email(
    client, sam, settings, django_capture_on_commit_callbacks
):
    settings.SITE_ROOT = "https://trials.example.org"
    client.post(reverse("login"), {"username": sam.email, "password": DEFAULT_PASSWORD})
    page = client.get(reverse("mfa_enrol")).content.decode()
    secret = re.search(r'id="mfa-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("mfa_enrol"), {"code": totp.totp_code(secret)})
    [notice] = mail.outbox
    assert notice.to == [sam.email]
    assert notice.subject == "Security notice: an authenticator app was set up for signing in"
    assert "If this was not you" in notice.body
    assert "change it now at https://trials.example.org/accounts/password/change/" in notice.body
    assert secret not in notice.body


def test_a_wrong_first_code_sends_nothing(client, sam, django_capture_on_commit_callbacks):
    client.post(reverse("login"), {"username": sam.email, "password": DEFAULT_PASSWORD})
    page = client.get(reverse("mfa_enrol")).content.decode()
    secret = re.search(r'id="mfa-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    wrong = "000000" if totp.totp_code(secret) != "000000" else "111111"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("mfa_enrol"), {"code": wrong})
    assert mail.outbox == []


def test_using_a_recovery_code_and_renewing_them_each_send_a_notice(sam, django_capture_on_commit_callbacks):
    mfa.mfa_device_enrol_demo(user=sam, secret=totp.DEMO_MFA_SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        codes = mfa.mfa_recovery_codes_renew(user=sam)
    with django_capture_on_commit_callbacks(execute=True):
        assert mfa.mfa_code_check(user=sam, code=codes[0])
    with django_capture_on_commit_callbacks(execute=True):
        assert not mfa.mfa_code_check(user=sam, code="NOT-A-CODE")
    assert [m.subject for m in mail.outbox] == [
        "Security notice: new recovery codes were made (the old ones no longer work)",
        "Security notice: a recovery code was used to sign in",
    ]


def test_a_mail_server_that_is_down_does_not_break_the_sign_in_step(
    sam, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    mfa.mfa_device_enrol_demo(user=sam, secret=totp.DEMO_MFA_SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        codes = mfa.mfa_recovery_codes_renew(user=sam)
    assert len(codes) == mfa.RECOVERY_CODE_COUNT
