"""The admin's reads of patients' data are logged: who opened which patient's page, or which list, and when.

Persona: Ada, the administrator (pytest-django's admin user), looks at Pat's data in the admin.
"""

import pytest
from django.urls import reverse

from recruitment.models import PhiAccess
from tests.api.world import World, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(pat, sam, sophie, cora, nsclc_trial, boston_site) -> World:
    return build_world(pat=pat, sam=sam, sophie=sophie, cora=cora, trial=nsclc_trial, boston=boston_site)


def test_ada_opening_pats_profile_leaves_one_row_naming_her_pat_and_the_page(admin_client, admin_user, world):
    url = reverse("admin:recruitment_patientprofile_change", args=[world.pat_profile.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert "lung adenocarcinoma" in response.content.decode()
    access = PhiAccess.objects.get()
    assert (access.actor, access.patient, access.kind, access.path) == (
        admin_user,
        world.pat_profile,
        PhiAccess.Kind.PROFILE,
        url,
    )


def test_ada_opening_pats_match_and_account_logs_each_against_pat(admin_client, world):
    admin_client.get(reverse("admin:recruitment_match_change", args=[world.pat_match.pk]))
    admin_client.get(reverse("admin:recruitment_user_change", args=[world.pat.pk]))
    assert list(PhiAccess.objects.order_by("id").values_list("kind", "patient")) == [
        (PhiAccess.Kind.MATCH, world.pat_profile.pk),
        (PhiAccess.Kind.ACCOUNT, world.pat_profile.pk),
    ]


def test_a_search_of_the_patient_list_is_logged_with_its_query(admin_client, world):
    url = reverse("admin:recruitment_patientprofile_changelist") + "?q=pat%40example.org"
    assert admin_client.get(url).status_code == 200
    access = PhiAccess.objects.get()
    assert (access.kind, access.patient, access.path) == (PhiAccess.Kind.LIST, None, url)


def test_opening_a_staff_account_or_a_missing_profile_logs_nothing(admin_client, world):
    admin_client.get(reverse("admin:recruitment_user_change", args=[world.sam.pk]))
    missing = admin_client.get(reverse("admin:recruitment_patientprofile_change", args=[999_999]))
    assert missing.status_code == 302  # the admin's "no such object" redirect
    assert not PhiAccess.objects.exists()


def test_cora_the_curator_without_the_permission_is_refused_and_leaves_nothing(client, world):
    client.force_login(world.cora)
    url = reverse("admin:recruitment_patientprofile_change", args=[world.pat_profile.pk])
    assert client.get(url).status_code == 403
    assert not PhiAccess.objects.exists()


def test_the_audit_trail_is_read_only_even_for_ada(admin_client, world):
    admin_client.get(reverse("admin:recruitment_patientprofile_change", args=[world.pat_profile.pk]))
    access = PhiAccess.objects.get()
    assert admin_client.get(reverse("admin:recruitment_phiaccess_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:recruitment_phiaccess_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:recruitment_phiaccess_delete", args=[access.pk])).status_code == 403
    )
    page = admin_client.get(reverse("admin:recruitment_phiaccess_change", args=[access.pk])).content.decode()
    assert 'name="path"' not in page


@pytest.mark.parametrize("page", ["delete", "history"])
def test_ada_opening_the_delete_or_history_page_of_pats_profile_is_logged_too(
    admin_client, admin_user, world, page
):
    # The delete page lists what would go with the profile (her diagnoses among them); the history page
    # names her profile and what was changed in it.
    url = reverse(f"admin:recruitment_patientprofile_{page}", args=[world.pat_profile.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    access = PhiAccess.objects.get()
    assert (access.actor, access.patient, access.kind, access.path) == (
        admin_user,
        world.pat_profile,
        PhiAccess.Kind.PROFILE,
        url,
    )
