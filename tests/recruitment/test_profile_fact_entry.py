"""Facts entered by hand, by import or through a paste: dates that contradict each other, a pregnancy the
profile's sex rules out, a fact removed twice, and facts written while the profile changes under them."""

import datetime
import html
import json
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from recruitment.fhir_import import BundleError, bundle_read, fhir_import_confirm
from recruitment.models import PatientProfile, Therapy
from recruitment.services.profile import patient_profile_for, profile_fact_save, profile_update
from tests.recruitment.consent_helpers import name_patient

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).parent / "fixtures" / "fhir" / "lung_patient_bundle.json"


@pytest.fixture
def bundle():
    return json.loads(FIXTURE.read_text())


def entry_of(bundle, resource_id):
    return next(e for e in bundle["entry"] if e["resource"].get("id") == resource_id)["resource"]


def problems_of(bundle):
    with pytest.raises(BundleError) as caught:
        bundle_read(json.dumps(bundle))
    return [str(problem) for problem in caught.value.problems]


def signed_in(client, profile):
    name_patient(profile)
    client.force_login(profile.user)
    return client


def field_error(page: str, field: str) -> str:
    """The error shown beside `field` on a form page (empty when there is none)."""
    found = re.search(rf'class="field has-error">((?:(?!class="field).)*?)id="id_{field}"', page, re.S)
    return html.unescape(found.group(1)) if found else ""


# A start and an end ---------------------------------------------------------------------------------------


def test_elenas_carboplatin_stopped_before_it_started_is_refused_naming_both_dates(client, elena):
    response = signed_in(client, elena).post(
        reverse("portal:fact_add", args=["therapy"]),
        {"drug": "carboplatin", "started_on": "2026-05-01", "ended_on": "2026-04-01"},
    )
    assert response.status_code == 400
    error = field_error(response.content.decode(), "ended_on")
    assert "the end date 2026-04-01 is before the start date 2026-05-01" in error
    assert not elena.therapies.filter(drug="carboplatin").exists()


def test_marias_record_of_a_carboplatin_course_ending_before_it_started_is_refused_naming_both_dates(bundle):
    entry_of(bundle, "med-carbo")["effectivePeriod"] = {"start": "2024-06-20", "end": "2024-03-05"}
    (problem,) = problems_of(bundle)
    assert problem.startswith("entry 10 (MedicationStatement/med-carbo) ended_on: ")
    assert "the end date 2024-03-05 is before the start date 2024-06-20" in problem


def test_marias_carboplatin_stopped_in_2024_known_by_its_year_may_have_ended_after_its_march_start(
    bundle, pat
):
    # Stored as 1 January 2024, the year-only end is any day of 2024: not before a start of 5 March 2024.
    entry_of(bundle, "med-carbo")["effectivePeriod"] = {"start": "2024-03-05", "end": "2024"}
    preview = bundle_read(json.dumps(bundle))
    keys = [f.key for f in preview.facts if f.source == "MedicationStatement/med-carbo"]
    fhir_import_confirm(profile=patient_profile_for(pat), preview=preview, keys=keys, actor=pat)
    carbo = Therapy.objects.get(patient__user=pat, drug="carboplatin")
    assert (carbo.ended_on, carbo.ended_on_precision) == (datetime.date(2024, 1, 1), "year")


def test_marias_carboplatin_stopped_in_february_2024_before_its_march_start_is_refused_as_written(bundle):
    entry_of(bundle, "med-carbo")["effectivePeriod"] = {"start": "2024-03-05", "end": "2024-02"}
    (problem,) = problems_of(bundle)
    # The day the record did not give is not shown as if it had given it.
    assert "the end date 2024-02 is before the start date 2024-03-05" in problem


# Sex and pregnancy ----------------------------------------------------------------------------------------


def pedros_profile_as_typed(profile: PatientProfile, **changes: str) -> dict[str, str]:
    return {
        "birth_date": "1956-01-20",
        "sex": "male",
        "ecog": "1",
        "pregnancy_status": "not_applicable",
        "breastfeeding": "unknown",
        "shown_version": profile.version,
        **changes,
    }


def test_pedro_recorded_male_cannot_be_recorded_pregnant_and_is_told_to_correct_his_sex_first(client, pedro):
    response = signed_in(client, pedro).post(
        reverse("portal:profile"), pedros_profile_as_typed(pedro, pregnancy_status="pregnant")
    )
    assert response.status_code == 400
    error = field_error(response.content.decode(), "pregnancy_status")
    assert "recorded as male at birth" in error
    assert "correct the sex first" in error
    pedro.refresh_from_db()
    assert pedro.pregnancy_status == "not_applicable"


def test_hana_recorded_pregnant_cannot_change_her_sex_to_male_before_her_pregnancy(client, hana):
    profile_update(profile=hana, fields={"pregnancy_status": "pregnant"})
    typed = {
        "birth_date": "1979-09-15",
        "sex": "male",
        "ecog": "0",
        "pregnancy_status": "pregnant",
        "breastfeeding": "unknown",
        "shown_version": hana.version,
    }
    response = signed_in(client, hana).post(reverse("portal:profile"), typed)
    assert response.status_code == 400
    page = response.content.decode()
    assert "change the pregnancy first" in field_error(page, "sex")
    assert field_error(page, "pregnancy_status") == ""
    hana.refresh_from_db()
    assert (hana.sex, hana.pregnancy_status) == ("female", "pregnant")


def test_a_record_naming_pregnant_hana_male_is_refused_at_confirmation_naming_the_sex(bundle, hana):
    """A record imported into Hana's profile (pregnant) that says male: nothing is saved and the problem
    says which field to correct first."""
    profile_update(profile=hana, fields={"pregnancy_status": "pregnant"})
    entry_of(bundle, "maria-lopez").update(gender="male", birthDate="1979-09-15")
    preview = bundle_read(json.dumps(bundle))
    keys = [f.key for f in preview.facts if f.kind == "profile"]
    with pytest.raises(BundleError) as caught:
        fhir_import_confirm(profile=hana, preview=preview, keys=keys, actor=hana.user)
    (problem,) = caught.value.problems
    assert problem.field == "sex"
    assert "change the pregnancy first" in problem.message


def test_pedro_may_record_that_he_is_breastfeeding_and_is_asked_to_check_it(client, pedro):
    """Lactation can be induced (in trans women, recorded male at birth): refusing it would leave trials
    that exclude breastfeeding reading him as not breastfeeding. The answer is kept; he is asked to check."""
    response = signed_in(client, pedro).post(
        reverse("portal:profile"), pedros_profile_as_typed(pedro, breastfeeding="true"), follow=True
    )
    assert response.status_code == 200
    assert "You said you are breastfeeding" in html.unescape(response.content.decode())
    pedro.refresh_from_db()
    assert pedro.breastfeeding is True


# Removing twice -------------------------------------------------------------------------------------------


def test_elenas_second_click_on_remove_says_the_therapy_was_already_removed(client, elena):
    therapy = elena.therapies.get()
    url = reverse("portal:fact_delete", args=["therapy", therapy.pk])
    client = signed_in(client, elena)
    first = client.post(url)
    second = client.post(url, follow=True)
    assert first.status_code == 302
    assert second.redirect_chain == [(reverse("portal:profile") + "#therapy", 302)]
    assert "This therapy was already removed." in html.unescape(second.content.decode())
    assert not elena.therapies.exists()


def test_elenas_second_click_in_another_tab_after_the_first_succeeded_is_answered_the_same(client, elena):
    therapy = elena.therapies.get()
    url = reverse("portal:fact_delete", args=["therapy", therapy.pk])
    client = signed_in(client, elena)
    client.post(url)
    client.get(reverse("portal:profile"))  # the first tab's page shown again, its message read
    second = client.post(url, follow=True)
    assert "This therapy was already removed." in html.unescape(second.content.decode())


def test_a_fact_elena_did_not_remove_here_is_not_found_however_it_went(client, elena, pedro):
    """Another patient's fact, or one removed elsewhere, is a 404 as before: only this session's removals
    are answered as done, so the answer tells nothing of other patients' facts."""
    theirs = pedro.therapies.first()
    response = signed_in(client, elena).post(reverse("portal:fact_delete", args=["therapy", theirs.pk]))
    assert response.status_code == 404
    assert Therapy.objects.filter(pk=theirs.pk).exists()


# Writes under the profile's lock --------------------------------------------------------------------------


def test_a_therapy_edited_from_a_page_read_before_elenas_birth_date_was_corrected_is_checked_against_it(
    elena,
):
    page_read = PatientProfile.objects.get(pk=elena.pk)  # what her edit page was built from
    # Meanwhile her study team corrects her birth date (her facts are all dated 2026).
    profile_update(profile=elena, fields={"birth_date": datetime.date(1990, 6, 1)})
    therapy = elena.therapies.get()
    therapy.started_on = datetime.date(1985, 1, 1)
    with pytest.raises(ValidationError, match=r"before the patient's birth date \(1990-06-01\)"):
        profile_fact_save(profile=page_read, fact=therapy, actor=elena.user, shown_version=therapy.version)
    therapy.refresh_from_db()
    assert therapy.started_on == datetime.date(2026, 4, 1)


def test_a_therapy_added_from_a_page_read_before_elenas_birth_date_was_corrected_is_checked_against_it(
    elena,
):
    page_read = PatientProfile.objects.get(pk=elena.pk)
    profile_update(profile=elena, fields={"birth_date": datetime.date(1990, 6, 1)})
    added = Therapy(drug="carboplatin", started_on=datetime.date(1985, 1, 1))
    with pytest.raises(ValidationError, match=r"before the patient's birth date \(1990-06-01\)"):
        profile_fact_save(profile=page_read, fact=added, actor=elena.user)
    assert not elena.therapies.filter(drug="carboplatin").exists()
