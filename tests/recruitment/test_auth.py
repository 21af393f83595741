import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client, email, password, address="127.0.0.1"):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address)


def guess_from_many_addresses(client, email, guesses, per_address):
    """Wrong passwords for `email`, `per_address` from each address in turn: never enough for one address's
    lockout."""
    for n in range(guesses):
        sign_in(client, email, "guessing", address=f"203.0.113.{n // per_address + 1}")


def test_pat_signs_in_with_her_email_address_and_lands_in_her_portal(client, pat):
    response = sign_in(client, "Pat@Example.org".lower(), DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert client.get(reverse("home")).url == reverse("portal:home")


def test_a_wrong_password_is_refused_with_a_message(client, pat):
    response = sign_in(client, "pat@example.org", "not-her-password")
    assert response.status_code == 200
    assert "Please enter a correct e-mail address and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account_even_for_the_right_password(client, pat, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "pat@example.org", "guessing")
    response = sign_in(client, "pat@example.org", DEFAULT_PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_lockout_does_not_spill_over_to_another_account(client, pat, cora, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "pat@example.org", "guessing")
    response = sign_in(client, "cora@example.org", DEFAULT_PASSWORD)
    assert response.status_code == 302


def test_guesses_spread_over_many_addresses_lock_the_account_for_new_addresses(client, pat, settings):
    settings.AXES_ACCOUNT_FAILURE_LIMIT = 12
    guess_from_many_addresses(client, "pat@example.org", 12, per_address=settings.AXES_FAILURE_LIMIT - 1)
    response = sign_in(client, "pat@example.org", DEFAULT_PASSWORD, address="198.51.100.200")
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_fewer_guesses_over_many_addresses_than_the_account_limit_lock_nothing(client, pat, settings):
    settings.AXES_ACCOUNT_FAILURE_LIMIT = 12
    guess_from_many_addresses(client, "pat@example.org", 11, per_address=settings.AXES_FAILURE_LIMIT - 1)
    assert sign_in(client, "pat@example.org", DEFAULT_PASSWORD, address="198.51.100.200").status_code == 302


def test_pat_still_signs_in_from_her_usual_address_while_guesses_elsewhere_lock_her_account(
    client, pat, settings
):
    settings.AXES_ACCOUNT_FAILURE_LIMIT = 12
    assert sign_in(client, "pat@example.org", DEFAULT_PASSWORD, address="198.51.100.7").status_code == 302
    client.post(reverse("logout"))
    # Someone fails on purpose from many addresses to keep Pat out: her home address is spared.
    guess_from_many_addresses(client, "pat@example.org", 20, per_address=settings.AXES_FAILURE_LIMIT - 1)
    assert sign_in(client, "pat@example.org", DEFAULT_PASSWORD, address="198.51.100.200").status_code == 429
    assert sign_in(client, "pat@example.org", DEFAULT_PASSWORD, address="198.51.100.7").status_code == 302


def test_pages_need_a_signed_in_user(client):
    response = client.get(reverse("trials:list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_signing_out_needs_a_post_and_ends_the_session(client, pat):
    client.force_login(pat)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("password", ["short1!", "password1234", "123456789012", "pat@example.org"])
def test_weak_passwords_are_refused(pat, password):
    with pytest.raises(ValidationError):
        validate_password(password, user=pat)


def test_a_long_uncommon_password_is_accepted(pat):
    validate_password("tangerine-orbit-quartz-41", user=pat)


@pytest.mark.parametrize(
    ("persona", "role_label", "sees_admin"),
    [
        ("pat", "Patient", False),
        ("sam", "Site staff", False),
        ("sophie", "Sponsor", False),
        ("cora", "Curator", True),
    ],
)
def test_each_role_sees_its_own_navigation(client, request, persona, role_label, sees_admin):
    client.force_login(request.getfixturevalue(persona))
    page = client.get(reverse("home"), follow=True).content.decode()
    assert f'<span class="role-badge">{role_label}</span>' in page
    assert (f'href="{reverse("admin:index")}"' in page) is sees_admin


def test_sam_sees_the_site_he_works_for(client, sam):
    client.force_login(sam)
    assert "Boston Thoracic Oncology" in client.get(reverse("home")).content.decode()


def test_sophie_sees_her_sponsor_organisation(client, sophie, nsclc_trial):
    client.force_login(sophie)
    assert nsclc_trial.sponsor.name in client.get(reverse("home")).content.decode()


def test_e_mail_addresses_are_unique_whatever_their_case(pat):
    from recruitment.models import User

    with pytest.raises(ValidationError):
        User.objects.create_user("PAT@example.org", DEFAULT_PASSWORD)


def test_pat_made_curator_is_signed_out_and_must_sign_in_again_with_a_second_factor(client, pat):
    sign_in(client, "pat@example.org", DEFAULT_PASSWORD)
    assert client.get(reverse("portal:home")).status_code == 200
    pat.role = pat.Role.CURATOR  # an administrator changes her role; her session never asked for a code
    pat.save(update_fields=["role"])
    response = client.get(reverse("trials:list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert "_auth_user_id" not in client.session


def test_a_patients_session_outlives_changes_that_need_no_second_factor(client, pat):
    sign_in(client, "pat@example.org", DEFAULT_PASSWORD)
    pat.first_name = "Patricia"
    pat.save(update_fields=["first_name"])
    assert client.get(reverse("portal:home")).status_code == 200
