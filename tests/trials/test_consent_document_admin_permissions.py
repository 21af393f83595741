"""Publishing a consent document in the admin needs the permission to change consent documents: a staff
member who may only view them is neither offered the action nor able to run it by posting it."""

from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory
from trials.models import ConsentDocument


def _draft() -> ConsentDocument:
    return ConsentDocument.objects.create(
        purpose=ConsentDocument.Purpose.MATCHING,
        version="9.9",
        title="Draft",
        body="Not published yet.",
        effective_from=timezone.now(),
    )


def _staff_with(*codenames: str):
    user = UserFactory.create(email="viewer@example.org", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def _publish(client, draft: ConsentDocument):
    return client.post(
        reverse("admin:trials_consentdocument_changelist"),
        {"action": "publish", "_selected_action": [draft.pk]},
    )


def test_a_viewer_cannot_publish_a_draft(db, client):
    draft = _draft()
    client.force_login(_staff_with("view_consentdocument"))
    changelist = client.get(reverse("admin:trials_consentdocument_changelist")).content.decode()
    assert 'value="publish"' not in changelist
    _publish(client, draft)
    draft.refresh_from_db()
    assert draft.published_at is None


def test_an_editor_publishes_a_draft(db, client):
    draft = _draft()
    client.force_login(_staff_with("view_consentdocument", "change_consentdocument"))
    _publish(client, draft)
    draft.refresh_from_db()
    assert draft.published_at is not None
