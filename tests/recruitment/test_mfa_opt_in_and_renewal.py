"""Patients who set up an authenticator are asked for its code at sign-in; new recovery codes need the
current code or the password first."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from recruitment import mfa, totp
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

CODE_LIST = re.compile(r"<li><code>([A-Z2-9]{5}-[A-Z2-9]{5})</code></li>")


def password_step(client, user):
    return client.post(reverse("login"), {"username": user.email, "password": DEFAULT_PASSWORD})


def signed_in(client):
    return "_auth_user_id" in client.session


def not_the_code(secret):
    return str((int(totp.totp_code(secret)) + 1) % 1_000_000).zfill(6)


class TestPatientsWhoSetUpAnAuthenticator:
    def test_the_password_alone_no_longer_signs_them_in(self, client, pat):
        secret = totp.new_secret()
        mfa.mfa_device_enrol_demo(user=pat, secret=secret)
        assert password_step(client, pat).url == reverse("login_code")
        assert not signed_in(client)
        assert client.get(reverse("portal:profile")).status_code == 302

        response = client.post(reverse("login_code"), {"code": totp.totp_code(secret)})
        assert response.url == reverse("home")
        assert client.session["_auth_user_id"] == str(pat.pk)

    def test_a_wrong_code_signs_nobody_in(self, client, pat):
        secret = totp.new_secret()
        mfa.mfa_device_enrol_demo(user=pat, secret=secret)
        password_step(client, pat)
        response = client.post(reverse("login_code"), {"code": not_the_code(secret)})
        assert response.status_code == 200
        assert not signed_in(client)

    def test_an_authenticator_set_up_from_the_security_page_is_asked_for_next_time(self, client, pat):
        client.force_login(pat)
        page = client.get(reverse("mfa_enrol")).content.decode()
        shown = re.search(r'id="mfa-secret">([A-Z2-7]+)<', page)
        assert shown is not None
        client.post(
            reverse("mfa_enrol"), {"code": totp.totp_code(shown.group(1)), "password": DEFAULT_PASSWORD}
        )
        client.post(reverse("logout"))
        assert password_step(client, pat).url == reverse("login_code")
        assert not signed_in(client)

    def test_setting_one_up_signs_out_her_other_sessions_but_not_the_one_she_used(self, client, pat):
        # A session opened with the password alone (maybe someone else's, the reason Pat wants a code) ends
        # once she sets up an authenticator: it never passed the code step her account now asks for.
        other = Client()
        assert password_step(other, pat).url == reverse("home")
        client.force_login(pat)
        page = client.get(reverse("mfa_enrol")).content.decode()
        shown = re.search(r'id="mfa-secret">([A-Z2-7]+)<', page)
        assert shown is not None
        assert (
            client.post(
                reverse("mfa_enrol"), {"code": totp.totp_code(shown.group(1)), "password": DEFAULT_PASSWORD}
            ).status_code
            == 200
        )
        assert client.get(reverse("portal:home")).status_code == 200
        assert other.get(reverse("portal:home")).status_code == 302
        assert not signed_in(other)

    def test_someone_at_pats_open_session_cannot_put_their_authenticator_on_her_account(self, client, pat):
        # Without her password, a session left open is not enough: the code alone proves only that the
        # person at the keyboard holds the new app.
        client.force_login(pat)
        page = client.get(reverse("mfa_enrol")).content.decode()
        shown = re.search(r'id="mfa-secret">([A-Z2-7]+)<', page)
        assert shown is not None
        refused = client.post(
            reverse("mfa_enrol"), {"code": totp.totp_code(shown.group(1)), "password": "guess"}
        )
        assert refused.status_code == 200
        assert "That password is not right." in refused.content.decode()
        assert not mfa.has_confirmed_device(pat)
        client.post(reverse("mfa_enrol"), {"code": totp.totp_code(shown.group(1))})
        assert not mfa.has_confirmed_device(pat)

    def test_a_patient_who_set_up_none_still_signs_in_with_the_password(self, client, pat):
        assert password_step(client, pat).url == reverse("home")
        assert signed_in(client)


@pytest.fixture
def enrolled_sam(client, sam):
    """Sam signed in, with an authenticator (its secret) and a first set of recovery codes."""
    secret = totp.new_secret()
    mfa.mfa_device_enrol_demo(user=sam, secret=secret)
    old_codes = mfa.mfa_recovery_codes_renew(user=sam)
    client.force_login(sam)
    return secret, old_codes


def renew(client, **data):
    return client.post(reverse("mfa_security"), data)


class TestNewRecoveryCodes:
    def test_a_session_alone_does_not_get_new_codes(self, client, sam, enrolled_sam):
        _, old_codes = enrolled_sam
        response = renew(client)
        assert response.status_code == 400
        assert "Enter the current code from your app, or your password." in response.content.decode()
        assert not CODE_LIST.findall(response.content.decode())
        assert mfa.mfa_code_check(user=sam, code=old_codes[0])  # the old codes still work

    def test_the_current_code_gets_new_codes_and_the_old_ones_stop_working(self, client, sam, enrolled_sam):
        secret, old_codes = enrolled_sam
        response = renew(client, code=totp.totp_code(secret))
        assert response.status_code == 200
        assert len(CODE_LIST.findall(response.content.decode())) == mfa.RECOVERY_CODE_COUNT
        assert not mfa.mfa_code_check(user=sam, code=old_codes[0])

    def test_the_password_gets_new_codes(self, client, sam, enrolled_sam):
        response = renew(client, password=DEFAULT_PASSWORD)
        assert len(CODE_LIST.findall(response.content.decode())) == mfa.RECOVERY_CODE_COUNT

    def test_a_code_once_used_does_not_get_codes_again(self, client, sam, enrolled_sam):
        secret, _ = enrolled_sam
        code = totp.totp_code(secret)
        renew(client, code=code)
        response = renew(client, code=code)
        assert response.status_code == 400
        assert "That code or password is not right" in response.content.decode()

    @pytest.mark.parametrize("field", ["code", "password"])
    def test_a_wrong_code_or_password_keeps_the_old_codes(self, client, sam, enrolled_sam, field):
        secret, old_codes = enrolled_sam
        response = renew(client, **{field: not_the_code(secret)})
        assert response.status_code == 400
        assert not CODE_LIST.findall(response.content.decode())
        assert mfa.mfa_code_check(user=sam, code=old_codes[0])

    def test_a_recovery_code_does_not_confirm_the_identity(self, client, sam, enrolled_sam):
        _, old_codes = enrolled_sam
        assert renew(client, code=old_codes[0]).status_code == 400
        assert mfa.mfa_code_check(user=sam, code=old_codes[1])

    def test_wrong_attempts_count_towards_the_lockout(self, client, sam, enrolled_sam, settings):
        secret, old_codes = enrolled_sam
        responses = [renew(client, password="not it") for _ in range(settings.AXES_FAILURE_LIMIT)]
        assert responses[-1].status_code == 429
        client.force_login(sam)
        response = renew(client, code=totp.totp_code(secret))
        assert not CODE_LIST.findall(response.content.decode())
        assert mfa.mfa_code_check(user=sam, code=old_codes[0])
