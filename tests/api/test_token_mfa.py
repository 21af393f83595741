"""API tokens cannot bypass the second factor: refused for staff, issued only by a management command."""

from io import StringIO

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token, TokenProxy

from recruitment.api_auth import REFUSED_FOR_MFA_ACCOUNTS

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
    assert "staff use session sign-in with the second factor" in REFUSED_FOR_MFA_ACCOUNTS


def test_a_patient_with_the_admin_flag_cannot_use_a_token(api, pat):
    pat.is_staff = True
    pat.save(update_fields=["is_staff"])
    assert call_with_token(api, Token.objects.create(user=pat).key).status_code == 401


def test_a_patient_token_still_signs_the_caller_in(api, pat):
    assert call_with_token(api, Token.objects.create(user=pat).key).status_code == 200


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
    with pytest.raises(CommandError, match="staff use session sign-in with the second factor"):
        issue(user.email)
    assert not Token.objects.filter(user=user).exists()


def test_the_command_refuses_inactive_and_unknown_accounts(pat):
    pat.is_active = False
    pat.save(update_fields=["is_active"])
    with pytest.raises(CommandError, match="is not active"):
        issue(pat.email)
    with pytest.raises(CommandError, match="No account"):
        issue("nobody@example.org")
