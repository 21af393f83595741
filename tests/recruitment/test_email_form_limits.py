"""Forms anyone may post that send an e-mail (registration, password reset) are limited per client address
and per e-mail address, so that nobody can flood an inbox or the mail relay; over a limit nothing is sent
and the person is told to try again later, without the page telling who has an account."""

import pytest
from django.core import mail
from django.urls import reverse

from recruitment.models import User
from tests.factories import UserFactory

STRONG = "a-long-and-unusual-passphrase-42"

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def limits(settings):
    settings.EMAIL_FORMS_PER_CLIENT_HOUR = 4
    settings.EMAIL_FORMS_PER_ADDRESS_HOUR = 2


def register(client, email, address="203.0.113.7"):
    return client.post(
        reverse("portal:register"),
        {"first_name": "Nora", "last_name": "Berg", "email": email, "password1": STRONG, "password2": STRONG},
        REMOTE_ADDR=address,
    )


def reset(client, email, address="203.0.113.7"):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=address)


def test_a_bot_registering_many_addresses_from_one_client_is_stopped_with_nothing_created(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(4):
            assert register(client, f"bot{n}@example.org").status_code == 200
        refused = register(client, "bot4@example.org")
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Nothing was sent: please try again in an hour." in page
    assert 'value="bot4@example.org"' in page  # what was typed comes back
    assert not User.objects.filter(email="bot4@example.org").exists()
    assert len(mail.outbox) == 4
    # Another client is not held up by the bot.
    with django_capture_on_commit_callbacks(execute=True):
        assert register(client, "nora@example.org", address="198.51.100.2").status_code == 200


def test_registering_one_address_again_and_again_does_not_flood_its_inbox(
    client, django_capture_on_commit_callbacks
):
    UserFactory.create(email="nora@example.org", role=User.Role.PATIENT)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(2):
            assert register(client, "nora@example.org", address=f"198.51.100.{n}").status_code == 200
        refused = register(client, "NORA@example.org", address="198.51.100.9")
    assert refused.status_code == 429
    assert len(mail.outbox) == 2  # "someone tried to register with your address", twice


def test_password_reset_for_one_address_sends_no_more_than_its_limit_and_says_the_same_every_time(
    client, django_capture_on_commit_callbacks
):
    UserFactory.create(email="pat@example.org", role=User.Role.PATIENT)
    with django_capture_on_commit_callbacks(execute=True):
        answers = [reset(client, "pat@example.org", address=f"198.51.100.{n}") for n in range(3)]
    assert [a.status_code for a in answers] == [302, 302, 302]
    assert {a["Location"] for a in answers} == {reverse("password_reset_done")}
    assert len(mail.outbox) == 2


def test_password_reset_from_one_client_is_refused_over_its_limit(client):
    for n in range(4):
        assert reset(client, f"someone{n}@example.org").status_code == 302
    refused = reset(client, "someone4@example.org")
    assert refused.status_code == 429
    assert "please try again in an hour" in refused.content.decode()
