"""An administrator's edit of a patient's profile or facts in the admin counts as a newer save: a portal page
the patient opened before it is refused as stale, as after any other save, instead of silently putting the
old values back. Personas: Ada, the administrator (pytest-django's admin user), and Elena, the patient."""

import datetime
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from recruitment.models import Diagnosis, PatientProfile
from tests.recruitment.consent_helpers import name_patient
from tests.recruitment.test_portal import elenas_profile_as_typed, shown_version

pytestmark = pytest.mark.django_db

# Saved on a whole second, as the admin's date and time widgets show it: posting the page back unchanged
# then leaves the time as it was, and only a stamp of the edit itself tells the portal's pages.
ON_THE_SECOND = datetime.datetime(2026, 11, 20, 9, 0, tzinfo=datetime.UTC)


class _FormFields(HTMLParser):
    """The values a browser would post for the admin's change form, as shown."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.data[name] = a.get("value") or "on"
            else:
                self.data[name] = a.get("value", "")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] += data


def shown_form(client: Client, url: str) -> dict[str, str]:
    parser = _FormFields()
    parser.feed(client.get(url).content.decode())
    return parser.data


def test_adas_admin_edit_of_elenas_ecog_makes_elenas_open_profile_page_stale(admin_client, client, elena):
    PatientProfile.objects.filter(pk=elena.pk).update(updated_at=ON_THE_SECOND)
    name_patient(elena)
    client.force_login(elena.user)
    shown = shown_version(client.get(reverse("portal:profile")).content.decode())
    url = reverse("admin:recruitment_patientprofile_change", args=[elena.pk])
    data = shown_form(admin_client, url)
    data["ecog"] = "2"  # from a clinic letter
    assert admin_client.post(url, data).status_code == 302
    response = client.post(reverse("portal:profile"), elenas_profile_as_typed(shown))
    assert response.status_code == 409
    elena.refresh_from_db()
    assert elena.ecog == 2


def test_adas_admin_edit_of_a_diagnosis_makes_elenas_open_edit_page_of_it_stale(admin_client, client, elena):
    Diagnosis.objects.filter(patient=elena).update(entered_at=ON_THE_SECOND)
    name_patient(elena)
    client.force_login(elena.user)
    luad = Diagnosis.objects.get(patient=elena, code="luad")
    edit = reverse("portal:fact_edit", args=["diagnosis", luad.pk])
    shown = shown_version(client.get(edit).content.decode())
    url = reverse("admin:recruitment_patientprofile_change", args=[elena.pk])
    data = shown_form(admin_client, url)
    stage_field = next(name for name, value in data.items() if name.endswith("-stage") and value == "IVA")
    data[stage_field] = "IVB"
    assert admin_client.post(url, data).status_code == 302
    response = client.post(
        edit,
        {
            "condition": "lung adenocarcinoma",
            "presence": "present",
            "stage": "IVA",
            "shown_version": shown,
        },
    )
    assert response.status_code == 409
    luad.refresh_from_db()
    assert luad.stage == "IVB"
    assert PatientProfile.objects.get(pk=elena.pk).ecog == 1  # the profile itself was not changed
