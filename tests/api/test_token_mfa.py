"""API tokens cannot bypass the second factor: refused for staff and for patients who set up an authenticator,
issued only by a management command, and cancelled when the password changes or an authenticator is set up."""

from io import StringIO

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token, TokenProxy

from recruitment import mfa, totp
from recruitment.api_auth import REFUSED_FOR_MFA_ACCOUNTS
from recruitment.models import MfaDevice, User
from recruitment.services.accounts import user_deactivate, user_reactivate
from tests.factories import DEFAULT_PASSWORD
from tests.mfa_helpers import enrol_with_demo_secret

pytestmark = pytest.mark.django_db


def call_with_token(api, key):
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api.get(reverse("api:trial-list"))


@pytest.mark.parametrize("persona", ["sam", "sophie", "cora"])
def test_a_staff_token_is_refused_with_401_naming_the_session_sign_in(api, request, persona):
    # A token made before tokens were refused to staff (or by hand in the shell) stops working.
    token = Token.objects.create(user=request.getfixturevalue(persona))
    response = call_with_token(api, token.key)
    assert response.status_code == 401
    assert response.json()["detail"] == REFUSED_FOR_MFA_ACCOUNTS
    assert "use the API from that session" in REFUSED_FOR_MFA_ACCOUNTS


def test_a_patient_with_the_admin_flag_cannot_use_a_token(api, pat):
    pat.is_staff = True
    pat.save(update_fields=["is_staff"])
    assert call_with_token(api, Token.objects.create(user=pat).key).status_code == 401


def test_a_patient_token_still_signs_the_caller_in(api, pat):
    assert call_with_token(api, Token.objects.create(user=pat).key).status_code == 200


def test_a_patient_who_set_up_an_authenticator_cannot_use_a_token(api, pat):
    # Made by hand in the shell: the code Pat chose is asked for at every sign-in, so a bearer credential that
    # skips it is refused like a staff token.
    enrol_with_demo_secret(pat)
    token = Token.objects.create(user=pat)
    response = call_with_token(api, token.key)
    assert response.status_code == 401
    assert response.json()["detail"] == REFUSED_FOR_MFA_ACCOUNTS


def test_a_patient_with_an_authenticator_still_uses_the_api_from_a_signed_in_session(api, pat):
    enrol_with_demo_secret(pat)
    api.force_login(pat)
    assert api.get(reverse("api:trial-list")).status_code == 200


def test_setting_up_an_authenticator_cancels_the_patients_token_for_good(api, pat):
    key = issue(pat.email)
    device = mfa.mfa_device_start(user=pat)
    mfa.mfa_device_confirm(user=pat, code=totp.totp_code(device.secret))
    assert not Token.objects.filter(user=pat).exists()
    # An administrator resetting the lost authenticator does not bring the token back.
    MfaDevice.objects.filter(user=pat).delete()
    assert call_with_token(api, key).status_code == 401


def test_a_new_password_cancels_the_token(api, pat):
    key = issue(pat.email)
    pat.set_password("a whole new passphrase")
    pat.save()
    assert call_with_token(api, key).status_code == 401
    assert not Token.objects.filter(user=pat).exists()


def test_a_patient_made_staff_loses_her_token_for_good(api, pat):
    key = issue(pat.email)
    pat.role = User.Role.SITE_STAFF
    pat.save()
    pat.role = User.Role.PATIENT
    pat.save()
    assert call_with_token(api, key).status_code == 401
    assert not Token.objects.filter(user=pat).exists()


def test_changing_the_password_on_the_web_cancels_the_token(api, client, pat):
    key = issue(pat.email)
    client.force_login(pat)
    new = "another-long-and-unusual-passphrase-7"
    response = client.post(
        reverse("password_change"),
        {"old_password": DEFAULT_PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert call_with_token(api, key).status_code == 401


def test_a_token_does_not_come_back_with_an_account_closed_and_opened_again(api, pat):
    key = issue(pat.email)
    user_deactivate(user=pat)
    user_reactivate(user=pat)
    assert call_with_token(api, key).status_code == 401
    assert not Token.objects.filter(user=pat).exists()


def test_saving_the_account_without_a_new_password_keeps_the_token(api, pat):
    key = issue(pat.email)
    pat.first_name = "Patricia"
    pat.save()
    assert call_with_token(api, key).status_code == 200


def test_staff_still_use_the_api_from_their_signed_in_session(api, sam):
    api.force_login(sam)
    assert api.get(reverse("api:trial-list")).status_code == 200


def test_the_admin_offers_no_token_pages():
    assert not admin.site.is_registered(TokenProxy)


def test_the_schema_still_documents_token_authentication():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def issue(*args):
    out, err = StringIO(), StringIO()
    call_command("issue_api_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip()


def test_the_command_prints_a_working_token_for_a_patient_once(api, pat):
    key = issue(pat.email.upper())
    assert call_with_token(api, key).status_code == 200
    with pytest.raises(CommandError, match="already has a token"):
        issue(pat.email)
    assert Token.objects.get(user=pat).key == key


def test_replacing_a_token_cancels_the_old_one(api, pat):
    old = issue(pat.email)
    new = issue(pat.email, "--replace")
    assert new != old
    assert call_with_token(api, old).status_code == 401
    assert call_with_token(api, new).status_code == 200


def test_revoking_a_token_cancels_it(api, pat):
    key = issue(pat.email)
    assert issue(pat.email, "--revoke") == f"Token of {pat.email} revoked."
    assert call_with_token(api, key).status_code == 401
    assert issue(pat.email, "--revoke") == f"{pat.email} had no token."


@pytest.mark.parametrize("persona", ["sam", "sophie", "cora"])
def test_the_command_refuses_staff(request, persona):
    user = request.getfixturevalue(persona)
    with pytest.raises(CommandError, match="signs in with a second factor"):
        issue(user.email)
    assert not Token.objects.filter(user=user).exists()


def test_the_command_refuses_a_patient_with_an_authenticator(pat):
    enrol_with_demo_secret(pat)
    with pytest.raises(CommandError, match="signs in with a second factor"):
        issue(pat.email)
    assert not Token.objects.filter(user=pat).exists()


def test_the_command_refuses_inactive_and_unknown_accounts(pat):
    pat.is_active = False
    pat.save(update_fields=["is_active"])
    with pytest.raises(CommandError, match="is not active"):
        issue(pat.email)
    with pytest.raises(CommandError, match="No account"):
        issue("nobody@example.org")
