"""Dates a record gives by their year or month only ("2019", "2026-11"): a window whose edge falls inside
that year or month cannot be settled by them, and must not be read as if the date were its first day."""

import datetime
import html
import json
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from nlp import parse_eligibility
from recruitment.fhir_import import BundleError, bundle_read, fhir_import_confirm
from recruitment.forms import DiagnosisForm
from recruitment.matching import DiagnosisFact, PatientFacts, ProcedureFact, TherapyFact, Truth, evaluate_tree
from recruitment.matching.horizon import windowed_dates
from recruitment.models import Diagnosis
from recruitment.selectors.matching import patient_facts
from recruitment.services.profile import patient_profile_for, profile_fact_save, profile_update
from tests.recruitment.consent_helpers import name_patient

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 23)
FIXTURE = Path(__file__).parent / "fixtures" / "fhir" / "lung_patient_bundle.json"


def verdict(line: str, facts: PatientFacts, section: str = "Exclusion") -> Truth:
    (criterion,) = parse_eligibility(f"{section} Criteria:\n- {line}\n").criteria
    return evaluate_tree(criterion.tree, facts, today=TODAY, section=criterion.section)[0]


def hana_diagnosed_in(year: int) -> PatientFacts:
    """Hana's breast cancer, dated by its year only."""
    breast = DiagnosisFact(
        "diagnosis:1",
        "breast_cancer",
        "breast cancer",
        diagnosed_on=datetime.date(year, 1, 1),
        diagnosed_by=datetime.date(year, 12, 31),
    )
    return PatientFacts(sex="female", diagnoses=(breast,))


def test_hanas_cancer_diagnosed_this_year_may_or_may_not_be_within_six_months():
    line = "Breast cancer diagnosed within the past 6 months"
    assert verdict(line, hana_diagnosed_in(2026), "Inclusion") == Truth.UNKNOWN


def test_hanas_cancer_diagnosed_in_2019_is_outside_six_months_whatever_the_day():
    line = "Breast cancer diagnosed within the past 6 months"
    assert verdict(line, hana_diagnosed_in(2019), "Inclusion") == Truth.NOT_MET


def test_a_year_only_diagnosis_moves_the_horizon_on_both_ends_of_its_year():
    assert windowed_dates(hana_diagnosed_in(2026))["diagnoses"] == {
        datetime.date(2026, 1, 1),
        datetime.date(2026, 12, 31),
    }


def rafael(performed_by: datetime.date | None) -> PatientFacts:
    """Rafael's surgery, recorded for November 2026."""
    surgery = ProcedureFact(
        "procedure:1",
        "surgery",
        "surgery",
        performed_on=datetime.date(2026, 11, 1),
        performed_by=performed_by,
    )
    return PatientFacts(history_confirmed_on=TODAY, procedures=(surgery,))


def test_rafaels_surgery_in_november_is_within_four_weeks_but_may_or_may_not_be_within_two():
    november = datetime.date(2026, 11, 30)
    assert verdict("Major surgery within 4 weeks prior to enrollment", rafael(november)) == Truth.MET
    assert verdict("Major surgery within 14 days prior to enrollment", rafael(november)) == Truth.UNKNOWN
    assert verdict("Major surgery within 14 days prior to enrollment", rafael(None)) == Truth.NOT_MET


def test_a_chemotherapy_ended_in_a_month_known_by_its_month_leaves_a_washout_unknown():
    carbo = TherapyFact(
        "therapy:1",
        "carboplatin",
        ("platinum", "chemotherapy"),
        ended_on=datetime.date(2026, 10, 1),
        ended_by=datetime.date(2026, 10, 31),
    )
    line = "Chemotherapy within 4 weeks prior to enrollment"
    assert verdict(line, PatientFacts(history_confirmed_on=TODAY, therapies=(carbo,))) == Truth.UNKNOWN


# Import -------------------------------------------------------------------------------------------------


@pytest.fixture
def bundle():
    return json.loads(FIXTURE.read_text())


def entry_of(bundle, resource_id):
    return next(e for e in bundle["entry"] if e["resource"].get("id") == resource_id)["resource"]


def imported(bundle, source):
    return next(f for f in bundle_read(json.dumps(bundle)).facts if f.source == source)


def test_marias_diagnosis_dated_by_its_year_keeps_that_precision(bundle):
    entry_of(bundle, "cond-luad")["onsetDateTime"] = "2019"
    luad = imported(bundle, "Condition/cond-luad")
    assert (luad.values["diagnosed_on"], luad.values["diagnosed_on_precision"]) == ("2019-01-01", "year")
    assert "diagnosed in 2019" in luad.summary


def test_marias_radiotherapy_dated_by_its_month_keeps_that_precision(bundle):
    entry_of(bundle, "proc-rt")["performedPeriod"] = {"start": "2024-04"}
    radiotherapy = imported(bundle, "Procedure/proc-rt")
    assert radiotherapy.values["performed_on"] == "2024-04-01"
    assert radiotherapy.values["performed_on_precision"] == "month"


def test_marias_carboplatin_ended_in_a_month_keeps_that_precision(bundle):
    entry_of(bundle, "med-carbo")["effectivePeriod"]["end"] = "2024-06"
    carbo = imported(bundle, "MedicationStatement/med-carbo")
    assert (carbo.values["ended_on"], carbo.values["ended_on_precision"]) == ("2024-06-01", "month")


def test_marias_record_may_date_her_cancer_by_the_year_she_was_born_in(bundle):
    """Born 1961-03-14, she may have been diagnosed any day of 1961 after it; 1960 is refused as written."""
    entry_of(bundle, "cond-luad")["onsetDateTime"] = "1961"
    assert imported(bundle, "Condition/cond-luad").values["diagnosed_on_precision"] == "year"
    entry_of(bundle, "cond-luad")["onsetDateTime"] = "1960"
    with pytest.raises(BundleError) as caught:
        bundle_read(json.dumps(bundle))
    (problem,) = caught.value.problems
    assert problem.message == "1960 is before the patient's birth date (1961-03-14)."


def test_a_full_date_needs_no_precision(bundle):
    assert "diagnosed_on_precision" not in imported(bundle, "Condition/cond-luad").values


def test_marias_creatinine_dated_by_its_month_is_left_out_naming_the_field(bundle):
    entry_of(bundle, "obs-creat")["effectiveDateTime"] = "2024-03"
    preview = bundle_read(json.dumps(bundle))
    assert "Observation/obs-creat" not in {f.source for f in preview.facts}
    (reason,) = [s.reason for s in preview.skipped if s.source == "Observation/obs-creat"]
    assert reason.startswith("effectiveDateTime: collected in 2024-03")


def test_hanas_year_only_diagnosis_saved_and_matched_as_a_year(bundle, pat):
    entry_of(bundle, "cond-luad")["onsetDateTime"] = "2026"
    profile = patient_profile_for(pat)
    preview = bundle_read(json.dumps(bundle))
    keys = [f.key for f in preview.facts if f.source == "Condition/cond-luad"]
    fhir_import_confirm(profile=profile, preview=preview, keys=keys, actor=pat)
    (luad,) = patient_facts(profile=profile).diagnoses
    assert luad.diagnosed_by == datetime.date(2026, 12, 31)


def test_hana_correcting_her_year_only_diagnosis_date_makes_it_exact(hana):
    """Imported as "2019", then typed by Hana as 12 March 2019: the day she gave is the day."""
    breast = hana.diagnoses.get()
    breast.diagnosed_on, breast.diagnosed_on_precision = datetime.date(2019, 1, 1), "year"
    breast.save()
    form = DiagnosisForm(
        data={
            "condition": "breast cancer",
            "presence": "present",
            "diagnosed_on": "2019-03-12",
            "stage": "IV",
        },
        instance=breast,
    )
    assert form.is_valid(), form.errors
    form.save()
    breast.refresh_from_db()
    assert (breast.diagnosed_on, breast.diagnosed_on_precision) == (datetime.date(2019, 3, 12), "day")


def test_hana_saving_her_diagnosis_without_touching_its_date_keeps_its_precision(hana):
    breast = hana.diagnoses.get()
    breast.diagnosed_on, breast.diagnosed_on_precision = datetime.date(2019, 1, 1), "year"
    breast.save()
    form = DiagnosisForm(
        data={
            "condition": "breast cancer",
            "presence": "present",
            "diagnosed_on": "2019",  # as her edit page shows it
            "stage": "IIIA",
        },
        instance=breast,
    )
    assert form.is_valid(), form.errors
    form.save()
    breast.refresh_from_db()
    assert breast.diagnosed_on_precision == "year"


# Entered by hand ------------------------------------------------------------------------------------------


@pytest.fixture
def hana_client(client, hana):
    name_patient(hana, "Hana", "Sato")
    client.force_login(hana.user)
    return client


def test_hana_who_knows_only_that_she_was_diagnosed_in_2019_enters_2019(hana_client, hana):
    response = hana_client.post(
        reverse("portal:fact_add", args=["diagnosis"]),
        {"condition": "asthma", "presence": "present", "diagnosed_on": "2019"},
    )
    assert response.status_code == 302
    asthma = hana.diagnoses.get(code="asthma")
    assert (asthma.diagnosed_on, asthma.diagnosed_on_precision) == (datetime.date(2019, 1, 1), "year")


def test_hana_enters_her_lumpectomy_by_its_month_and_her_chemotherapy_end_by_its_year(hana_client, hana):
    lumpectomy = hana_client.post(
        reverse("portal:fact_add", args=["procedure"]), {"name": "lumpectomy", "performed_on": "2024-04"}
    )
    chemotherapy = hana_client.post(
        reverse("portal:fact_add", args=["therapy"]),
        {"drug": "paclitaxel", "started_on": "2024-05-02", "ended_on": "2024"},
    )
    assert (lumpectomy.status_code, chemotherapy.status_code) == (302, 302)
    surgery = hana.procedures.get()
    assert (surgery.performed_on, surgery.performed_on_precision) == (datetime.date(2024, 4, 1), "month")
    paclitaxel = hana.therapies.get()
    assert (paclitaxel.ended_on, paclitaxel.ended_on_precision) == (datetime.date(2024, 1, 1), "year")


def test_hanas_dates_are_shown_as_written_on_her_edit_pages(hana_client, hana):
    breast = hana.diagnoses.get()
    breast.diagnosed_on, breast.diagnosed_on_precision = datetime.date(2019, 1, 1), "year"
    breast.save()
    page = hana_client.get(reverse("portal:fact_edit", args=["diagnosis", breast.pk])).content.decode()
    (field,) = re.findall(r'<input[^>]*name="diagnosed_on"[^>]*>', page)
    assert 'value="2019"' in field
    assert 'type="date"' not in field  # a browser's date picker cannot take a year alone


def test_hana_changing_her_2019_diagnosis_to_march_2019_keeps_the_month(hana_client, hana):
    breast = hana.diagnoses.get()
    breast.diagnosed_on, breast.diagnosed_on_precision = datetime.date(2019, 1, 1), "year"
    breast.save()
    url = reverse("portal:fact_edit", args=["diagnosis", breast.pk])
    response = hana_client.post(
        url, {"condition": "breast cancer", "presence": "present", "diagnosed_on": "2019-03", "stage": "IV"}
    )
    assert response.status_code == 302
    breast.refresh_from_db()
    assert (breast.diagnosed_on, breast.diagnosed_on_precision) == (datetime.date(2019, 3, 1), "month")


@pytest.mark.parametrize("typed", ["March 2019", "2019-13", "2019-02-30", "19"])
def test_a_date_hana_types_in_another_form_is_refused_saying_which_forms_are_taken(hana_client, hana, typed):
    response = hana_client.post(
        reverse("portal:fact_add", args=["procedure"]), {"name": "lumpectomy", "performed_on": typed}
    )
    assert response.status_code == 400
    assert "a year (2019), a month (2019-03) or a day (2019-03-12)" in html.unescape(
        response.content.decode()
    )
    assert not hana.procedures.exists()


def test_elena_born_in_april_1968_may_date_her_asthma_1968_but_not_1967(client, elena):
    name_patient(elena)
    client.force_login(elena.user)
    url = reverse("portal:fact_add", args=["diagnosis"])
    in_1968 = client.post(url, {"condition": "asthma", "presence": "present", "diagnosed_on": "1968"})
    in_1967 = client.post(url, {"condition": "asthma", "presence": "present", "diagnosed_on": "1967-12"})
    assert in_1968.status_code == 302  # any day of 1968 from 2 April on
    assert in_1967.status_code == 400
    refusal = html.unescape(in_1967.content.decode())
    assert "1967-12 is before the patient's birth date (1968-04-02)" in refusal
    assert elena.diagnoses.get(code="asthma").diagnosed_on_precision == "year"


def test_hana_correcting_her_birth_date_keeps_her_asthma_dated_by_its_year_of_birth(hana):
    """Asthma recorded for 1979, the year she was born: any day of it after her birth will do."""
    profile_fact_save(
        profile=hana,
        fact=Diagnosis(code="asthma", diagnosed_on=datetime.date(1979, 1, 1), diagnosed_on_precision="year"),
        actor=hana.user,
    )
    profile_update(profile=hana, fields={"birth_date": datetime.date(1979, 10, 1)})
    with pytest.raises(ValidationError) as refused:
        profile_update(profile=hana, fields={"birth_date": datetime.date(1980, 2, 1)})
    (message,) = refused.value.message_dict["birth_date"]
    assert "the diagnosis asthma, diagnosed on 1979" in message
