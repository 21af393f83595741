"""Unsubscribe links keep working whichever token format the e-mail carries; damaged ones are a 404."""

import pytest
from django.core import signing
from django.urls import reverse

from recruitment.models.consent import MatchAlertOptOut
from recruitment.notifications import UNSUBSCRIBE_SALT

pytestmark = pytest.mark.django_db


def unsubscribe_url(token: str) -> str:
    return reverse("portal:alerts_unsubscribe", args=[token])


def test_a_link_from_an_email_sent_before_the_token_change_still_unsubscribes(client, elena):
    # E-mails sent before commit 7ff359f carry timestamped tokens.
    url = unsubscribe_url(signing.dumps(elena.pk, salt=UNSUBSCRIBE_SALT))
    assert client.get(url).status_code == 200
    client.post(url)
    assert MatchAlertOptOut.objects.filter(patient=elena).exists()


@pytest.mark.parametrize(
    "token",
    [
        # Signed by us, but the payload is not base64 JSON.
        signing.Signer(salt=UNSUBSCRIBE_SALT).sign("zz$$"),
        signing.Signer(salt=UNSUBSCRIBE_SALT).sign("bm90IGpzb24"),
        # Signed for something else.
        signing.dumps(1, salt="another-purpose"),
        # Signed by us, but not a patient id.
        signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object("1"),
    ],
    # Named, not shown: a timestamped token differs from one collection to the next.
    ids=[
        "payload-not-base64-json",
        "payload-not-json",
        "signed-for-another-purpose",
        "payload-not-a-patient-id",
    ],
)
def test_a_damaged_or_foreign_unsubscribe_token_is_404_not_an_error(client, elena, token):
    assert client.get(unsubscribe_url(token)).status_code == 404
    assert client.post(unsubscribe_url(token)).status_code == 404
    assert not MatchAlertOptOut.objects.exists()
