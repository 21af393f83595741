"""Staff sign in with a password and then an authenticator code; patients with their password alone."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from recruitment import mfa, totp
from recruitment.models import MfaDevice, MfaRecoveryCode
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def password_step(client, user, next_url=""):
    data = {"username": user.email, "password": DEFAULT_PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data)


def enrolled(user, secret=totp.DEMO_MFA_SECRET):
    mfa.mfa_device_enrol_demo(user=user, secret=secret)
    return secret


def signed_in(client):
    return "_auth_user_id" in client.session


def test_a_patient_is_signed_in_by_the_password_alone(client, pat):
    response = password_step(client, pat)
    assert response.url == reverse("home")
    assert signed_in(client)


@pytest.mark.parametrize("persona", ["sam", "sophie", "cora"])
def test_a_staff_password_alone_does_not_sign_in_but_asks_for_the_code(client, request, persona):
    user = request.getfixturevalue(persona)
    secret = enrolled(user)
    response = password_step(client, user)
    assert response.url == reverse("login_code")
    assert not signed_in(client)
    assert client.get(reverse("site:home")).status_code == 302  # still sent to the sign-in page

    response = client.post(reverse("login_code"), {"code": totp.totp_code(secret)})
    assert response.url == reverse("home")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_an_admin_with_the_patient_role_still_needs_the_code(client, pat):
    pat.is_staff = True
    pat.save(update_fields=["is_staff"])
    enrolled(pat)
    assert password_step(client, pat).url == reverse("login_code")
    assert not signed_in(client)


def test_the_code_step_keeps_the_page_asked_for(client, sam):
    secret = enrolled(sam)
    password_step(client, sam, next_url="/site/")
    response = client.post(reverse("login_code"), {"code": totp.totp_code(secret)})
    assert response.url == "/site/"


def test_a_wrong_code_is_refused_with_a_message_and_signs_nobody_in(client, sam):
    secret = enrolled(sam)
    password_step(client, sam)
    wrong = str((int(totp.totp_code(secret)) + 1) % 1_000_000).zfill(6)
    response = client.post(reverse("login_code"), {"code": wrong})
    assert response.status_code == 200
    assert "That code is not valid" in response.content.decode()
    assert not signed_in(client)


def test_a_code_works_only_once(client, sam):
    secret = enrolled(sam)
    code = totp.totp_code(secret)
    password_step(client, sam)
    client.post(reverse("login_code"), {"code": code})
    client.post(reverse("logout"))
    password_step(client, sam)
    response = client.post(reverse("login_code"), {"code": code})
    assert response.status_code == 200
    assert not signed_in(client)


def test_wrong_codes_count_towards_the_lockout(client, sam, settings):
    secret = enrolled(sam)
    password_step(client, sam)
    responses = [
        client.post(reverse("login_code"), {"code": "000000"}) for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert responses[-1].status_code == 429
    # Locked out: even the right password and code no longer work.
    assert password_step(client, sam).status_code == 429
    client.post(reverse("login_code"), {"code": totp.totp_code(secret)})
    assert not signed_in(client)


def test_the_code_step_without_a_password_step_goes_back_to_the_sign_in_page(client, sam):
    enrolled(sam)
    response = client.post(reverse("login_code"), {"code": "123456"})
    assert response.url == reverse("login")


def test_the_password_step_expires(client, sam, settings):
    secret = enrolled(sam)
    settings.MFA_PENDING_SECONDS = -1
    password_step(client, sam)
    response = client.post(reverse("login_code"), {"code": totp.totp_code(secret)})
    assert response.url == reverse("login")
    assert not signed_in(client)


def test_a_recovery_code_signs_in_once_and_the_last_ones_are_flagged(client, sam):
    enrolled(sam)
    codes = mfa.mfa_recovery_codes_renew(user=sam)
    for code in codes[:8]:  # spend eight of ten
        mfa.mfa_code_check(user=sam, code=code)
    password_step(client, sam)
    response = client.post(reverse("login_code"), {"code": codes[8].lower()}, follow=True)
    assert signed_in(client)
    assert "You have 1 unused recovery code left" in response.content.decode()
    client.post(reverse("logout"))
    password_step(client, sam)
    assert client.post(reverse("login_code"), {"code": codes[8]}).status_code == 200
    assert not signed_in(client)


def test_recovery_codes_are_stored_hashed(sam):
    enrolled(sam)
    codes = mfa.mfa_recovery_codes_renew(user=sam)
    stored = set(MfaRecoveryCode.objects.filter(user=sam).values_list("code_hash", flat=True))
    assert len(stored) == len(codes) == mfa.RECOVERY_CODE_COUNT
    assert not stored & ({code.replace("-", "") for code in codes} | set(codes))


def test_staff_without_an_authenticator_enrol_right_after_the_password_and_then_are_signed_in(client, sam):
    response = password_step(client, sam, next_url="/site/")
    assert response.url == reverse("mfa_enrol")
    assert not signed_in(client)
    assert client.get(reverse("site:home")).status_code == 302

    page = client.get(reverse("mfa_enrol")).content.decode()
    shown = re.search(r'id="mfa-secret">([A-Z2-7]+)<', page)
    assert shown is not None
    secret = shown.group(1)
    assert "<svg" in page
    # Reloading shows the same secret: a QR code just scanned stays valid.
    assert secret in client.get(reverse("mfa_enrol")).content.decode()

    wrong = "000000" if totp.totp_code(secret) != "000000" else "111111"
    refused = client.post(reverse("mfa_enrol"), {"code": wrong})
    assert refused.status_code == 200
    assert not signed_in(client)

    done = client.post(reverse("mfa_enrol"), {"code": totp.totp_code(secret)})
    assert done.status_code == 200
    assert len(re.findall(r"<li><code>[A-Z2-9]{5}-[A-Z2-9]{5}</code></li>", done.content.decode())) == 10
    assert 'href="/site/"' in done.content.decode()
    assert signed_in(client)
    assert MfaDevice.objects.get(user=sam).confirmed_at is not None


def test_enrolment_needs_the_password_step_first(client, sam):
    assert client.get(reverse("mfa_enrol")).url == reverse("login")
    assert not MfaDevice.objects.filter(user=sam).exists()


def test_an_enrolled_user_cannot_replace_the_authenticator_from_the_code_step(client, sam):
    enrolled(sam)
    password_step(client, sam)
    response = client.get(reverse("mfa_enrol"))
    assert response.url == reverse("login_code")


def test_the_admin_sign_in_goes_through_the_second_factor(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response.url == reverse("login") + "?next=/admin/"


def test_a_signed_in_user_makes_new_recovery_codes_and_the_old_ones_stop_working(client, sam):
    secret = enrolled(sam)
    old = mfa.mfa_recovery_codes_renew(user=sam)
    client.force_login(sam)
    page = client.get(reverse("mfa_security")).content.decode()
    assert "<strong>10</strong> unused recovery codes" in page
    new_page = client.post(reverse("mfa_security"), {"code": totp.totp_code(secret)}).content.decode()
    assert old[0] not in new_page
    assert not mfa.mfa_code_check(user=sam, code=old[0])


def test_the_qr_code_carries_the_secret_in_an_otpauth_uri(sam):
    device = mfa.mfa_device_start(user=sam)
    enrolment = mfa.enrolment_for(device)
    assert enrolment.uri.startswith("otpauth://totp/")
    assert f"secret={device.secret}" in enrolment.uri
    assert enrolment.qr_svg.startswith("<svg")


def test_the_secret_is_encrypted_at_rest(sam):
    from django.db import connection

    device = mfa.mfa_device_start(user=sam)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM recruitment_mfadevice WHERE id = %s", [device.pk])
        (raw,) = cursor.fetchone()
    assert device.secret not in raw


def test_an_admin_resets_a_lost_authenticator_and_the_user_enrols_again(admin_client, sam):
    enrolled(sam)
    page = admin_client.get(reverse("admin:recruitment_user_change", args=[sam.pk])).content.decode()
    assert "Authenticator (delete to reset)" in page
    assert totp.DEMO_MFA_SECRET not in page
    MfaDevice.objects.filter(user=sam).delete()  # what the inline's delete box does
    assert password_step(Client(), sam).url == reverse("mfa_enrol")


def test_the_admin_user_search_works_with_encrypted_names(admin_client, sam):
    response = admin_client.get(reverse("admin:recruitment_user_changelist"), {"q": "sam@"})
    assert response.status_code == 200
    assert "sam@example.org" in response.content.decode()
