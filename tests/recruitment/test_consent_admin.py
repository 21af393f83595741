"""Consent documents in the admin: drafts are edited and published; a published text is read-only."""

import pytest
from django.urls import reverse

from trials.models import ConsentDocument

pytestmark = pytest.mark.django_db


def test_a_draft_is_added_published_and_then_read_only(admin_client):
    response = admin_client.post(
        reverse("admin:trials_consentdocument_add"),
        {
            "purpose": "matching",
            "version": "2.0",
            "language": "en",
            "title": "Agreeing to be matched",
            "body": "We compare your profile with trials.",
            "effective_from_0": "2026-01-01",
            "effective_from_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    document = ConsentDocument.objects.get(version="2.0")
    assert document.content_hash == document.hash_content(document.title, document.body)
    admin_client.post(
        reverse("admin:trials_consentdocument_changelist"),
        {"action": "publish", "_selected_action": [document.pk]},
    )
    document.refresh_from_db()
    assert document.is_published
    page = admin_client.get(
        reverse("admin:trials_consentdocument_change", args=[document.pk])
    ).content.decode()
    assert 'name="body"' not in page
    assert 'name="effective_until_0"' in page
    assert (
        admin_client.get(reverse("admin:trials_consentdocument_delete", args=[document.pk])).status_code
        == 403
    )
