"""One fact, one rule: a value is refused with the same message whichever way it comes in (the patient's
portal forms, the API, the FHIR import, the summary paste, the models behind the site pages and the admin).

Pat is the patient who types, posts or imports each value; the FHIR Bundle is Maria Lopez's record.
"""

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from recruitment.fhir_import import BundleError, bundle_read, fhir_import_confirm
from recruitment.forms import BiomarkerForm, LabResultForm, ProcedureForm, ProfileForm, TherapyForm
from recruitment.models import Biomarker, Diagnosis, LabResult, PatientProfile, Procedure, Therapy, User
from recruitment.services.profile import patient_profile_for, profile_fact_save, profile_update
from recruitment.summary_paste import PasteError, summary_facts_save

pytestmark = pytest.mark.django_db

BUNDLE = json.loads((Path(__file__).parent / "fixtures" / "fhir" / "lung_patient_bundle.json").read_text())


def bundle_problems(change: dict[str, object], resource_id: str) -> list[tuple[str, str]]:
    """The import's problems once the resource `resource_id` of Maria Lopez's Bundle is changed (a None
    value removes the element)."""
    bundle = copy.deepcopy(BUNDLE)
    resource = next(e["resource"] for e in bundle["entry"] if e["resource"].get("id") == resource_id)
    for name, value in change.items():
        if value is None:
            resource.pop(name, None)
        else:
            resource[name] = value
    with pytest.raises(BundleError) as caught:
        bundle_read(json.dumps(bundle))
    return [(problem.field, problem.message) for problem in caught.value.problems]


def api_as(user: User) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def model_message(error: pytest.ExceptionInfo[ValidationError], field: str) -> str:
    (message,) = error.value.message_dict[field]
    return message


@pytest.mark.parametrize(
    ("loinc", "analyte", "value", "unit", "ucum"),
    [
        ("777-3", "platelet count", 210000, "10^9/L", "10*9/L"),
        ("6301-6", "international normalised ratio", 90, "1", "1"),
    ],
)
def test_an_implausible_lab_result_is_refused_in_the_same_words_typed_or_imported(
    pat, loinc, analyte, value, unit, ucum
):
    lab = LabResult(analyte=analyte, value=value, unit=unit, collected_on=date(2024, 3, 1))
    with pytest.raises(ValidationError) as typed:
        profile_fact_save(profile=patient_profile_for(pat), fact=lab, actor=pat)
    quantity = {"value": value, "unit": ucum, "code": ucum, "system": "http://unitsofmeasure.org"}
    code = {"coding": [{"system": "http://loinc.org", "code": loinc}]}
    imported = bundle_problems({"code": code, "valueQuantity": quantity, "referenceRange": []}, "obs-plt")
    assert imported == [("valueQuantity.value", model_message(typed, "value"))]
    assert "is not a plausible result for" in imported[0][1]


def test_a_negative_lab_result_is_refused_in_the_same_words_typed_or_imported(pat):
    lab = LabResult(analyte="serum creatinine", value=-3, unit="umol/L", collected_on=date(2024, 3, 1))
    with pytest.raises(ValidationError) as typed:
        profile_fact_save(profile=patient_profile_for(pat), fact=lab, actor=pat)
    quantity = {"value": -3, "unit": "umol/L", "code": "umol/L", "system": "http://unitsofmeasure.org"}
    imported = bundle_problems({"valueQuantity": quantity}, "obs-creat")
    assert imported == [("valueQuantity.value", model_message(typed, "value"))]
    assert imported[0][1] == "A measured value cannot be negative (got -3)."


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1e300, "A percentage cannot exceed 100 (got 1e+300%)."),
        (-1e-300, "A measured value cannot be negative (got -1e-300)."),
        (100.5, "A percentage cannot exceed 100 (got 100.5%)."),
    ],
)
def test_an_absurd_imported_number_is_quoted_short_in_the_refusal(value, message):
    """A FHIR value is any JSON number; the message quoted 1e300 written out in three hundred digits."""
    quantity = {"value": value, "unit": "%", "code": "%", "system": "http://unitsofmeasure.org"}
    assert bundle_problems({"valueQuantity": quantity}, "obs-pdl1") == [("valueQuantity.value", message)]


def test_a_lab_unit_the_matcher_cannot_convert_is_refused_in_the_same_words_typed_posted_or_imported(pat):
    lab = LabResult(
        analyte="serum creatinine", value=Decimal("1.1"), unit="mg/furlong", collected_on=date(2024, 3, 1)
    )
    with pytest.raises(ValidationError) as typed:
        profile_fact_save(profile=patient_profile_for(pat), fact=lab, actor=pat)
    posted = api_as(pat).post(
        reverse("api:me-labs"),
        {"analyte": "serum creatinine", "value": "1.1", "unit": "mg/furlong", "collected_on": "2024-03-01"},
        format="json",
    )
    quantity = {
        "value": 1.1,
        "unit": "mg/furlong",
        "code": "mg/furlong",
        "system": "http://unitsofmeasure.org",
    }
    imported = bundle_problems({"valueQuantity": quantity}, "obs-creat")
    assert imported == [("valueQuantity.code", model_message(typed, "unit"))]
    assert posted.status_code == 400
    assert posted.json()["unit"] == [model_message(typed, "unit")]
    assert imported[0][1].startswith("'mg/furlong' is not a unit serum creatinine can be read in")


@pytest.mark.parametrize(
    ("unit", "message"),
    [
        ("bananas", "'bananas' is not a unit we can read: write it as on the lab report"),
        ("km", "'km' is not a unit laboratory results are given in: write it as on the lab report"),
    ],
)
def test_a_test_outside_the_vocabulary_in_no_lab_unit_is_refused_in_the_same_words_typed_filled_or_posted(
    pat, unit, message
):
    typed_lab = {"analyte": "ferritin", "value": "150", "unit": unit, "collected_on": "2024-03-01"}
    lab = LabResult(analyte="ferritin", value=Decimal(150), unit=unit, collected_on=date(2024, 3, 1))
    with pytest.raises(ValidationError) as typed:
        profile_fact_save(profile=patient_profile_for(pat), fact=lab, actor=pat)
    form = LabResultForm(typed_lab, instance=LabResult(patient=patient_profile_for(pat)))
    posted = api_as(pat).post(reverse("api:me-labs"), typed_lab, format="json")
    assert model_message(typed, "unit").startswith(message)
    assert form.errors["unit"] == [model_message(typed, "unit")]
    assert posted.status_code == 400
    assert posted.json()["unit"] == [model_message(typed, "unit")]
    assert not LabResult.objects.filter(patient__user=pat).exists()


@pytest.mark.parametrize(
    "unit",
    [
        "",
        "10^9/L",
        "x10^3/uL",
        "g/dL",
        "mg/dL",
        "mg/L",
        "ng/mL",
        "umol/L",
        "mmol/L",
        "U/L",
        "%",
        "mL/min",
        "mL/min/1.73m2",
        "fL",
        "pg",
        "s",
        "mm/h",
        "1",
        "mIU/mL",
        "mEq/L",
        "mOsm/kg",
        "copies/mL",
    ],
)
def test_a_test_outside_the_vocabulary_in_a_unit_labs_report_is_kept(pat, unit):
    lab = LabResult(analyte="ferritin", value=Decimal(150), unit=unit, collected_on=date(2024, 3, 1))
    profile_fact_save(profile=patient_profile_for(pat), fact=lab, actor=pat)
    assert LabResult.objects.filter(patient__user=pat, analyte="ferritin", loinc="").exists()


def test_a_unit_outgrowing_its_field_once_written_with_a_caret_is_refused(pat):
    unit = "mL" + " " * 17 + "/min/1.73m2"  # 30 characters typed, 31 with the caret
    lab = LabResult(analyte="ferritin", value=Decimal(1), unit=unit, collected_on=date(2024, 3, 1))
    with pytest.raises(ValidationError) as typed:
        profile_fact_save(profile=patient_profile_for(pat), fact=lab, actor=pat)
    assert model_message(typed, "unit") == "Write the unit in at most 30 characters."


def test_an_egfr_in_ucum_notation_is_kept_in_the_vocabularys_notation(pat):
    lab = LabResult(analyte="eGFR", value=Decimal(72), unit="mL/min/1.73m2", collected_on=date(2024, 3, 1))
    profile_fact_save(profile=patient_profile_for(pat), fact=lab, actor=pat)
    assert LabResult.objects.get(patient__user=pat).unit == "mL/min/1.73m^2"


@pytest.mark.parametrize("unit", ["", "mg/dL", "umol/L", "µmol/L"])
def test_a_lab_in_its_own_unit_a_convertible_one_or_none_is_kept(pat, unit):
    lab = LabResult(
        analyte="serum creatinine", value=Decimal("1.1"), unit=unit, collected_on=date(2024, 3, 1)
    )
    profile_fact_save(profile=patient_profile_for(pat), fact=lab, actor=pat)
    assert LabResult.objects.filter(patient__user=pat, unit=unit).exists()


@pytest.mark.parametrize("day", [date(1850, 1, 1), date(2999, 1, 1)])
def test_a_date_before_1900_or_in_the_future_is_refused_in_the_same_words_typed_or_imported(pat, day):
    procedure = Procedure(name="lobectomy", performed_on=day)
    with pytest.raises(ValidationError) as typed:
        profile_fact_save(profile=patient_profile_for(pat), fact=procedure, actor=pat)
    imported = bundle_problems({"performedDateTime": day.isoformat(), "performedPeriod": None}, "proc-rt")
    assert imported == [("performed[x]", model_message(typed, "performed_on"))]


def test_ecog_5_is_refused_in_the_same_words_on_every_path_in(pat):
    """Grade 5 means dead: a registered patient's ECOG is 0-4 whether typed, posted, pasted or imported."""
    profile = patient_profile_for(pat)
    expected = "An ECOG performance status is 0, 1, 2, 3 or 4 (5 means the patient has died), not 5."
    with pytest.raises(ValidationError) as model:
        profile_update(profile=profile, fields={"ecog": 5})
    form = ProfileForm({"ecog": "5", "pregnancy_status": "unknown"}, instance=profile)
    response = api_as(pat).patch(reverse("api:me-profile"), {"ecog": 5}, format="json")
    with pytest.raises(PasteError) as pasted:
        summary_facts_save(
            profile=profile, picks=[json.dumps({"kind": "ecog", "fields": {"ecog": 5}})], actor=pat
        )
    as_integer = bundle_problems({"valueInteger": 5}, "obs-ecog")
    dead = {"coding": [{"system": "http://loinc.org", "code": "LA9627-6"}]}
    as_answer = bundle_problems({"valueInteger": None, "valueCodeableConcept": dead}, "obs-ecog")

    assert model_message(model, "ecog") == expected
    assert form.errors["ecog"] == [expected]
    assert (response.status_code, response.json()) == (400, {"ecog": [expected]})
    assert pasted.value.problems == [f"Not added: {expected}"]
    assert as_integer == [("valueInteger", expected)]
    assert as_answer == [("valueCodeableConcept", expected)]
    profile.refresh_from_db()
    assert profile.ecog is None


def test_a_negative_ecog_is_refused_by_the_form_and_the_api_in_the_scales_words(pat):
    profile = patient_profile_for(pat)
    expected = "An ECOG performance status is 0, 1, 2, 3 or 4 (5 means the patient has died), not -1."
    form = ProfileForm({"ecog": "-1", "pregnancy_status": "unknown"}, instance=profile)
    response = api_as(pat).patch(reverse("api:me-profile"), {"ecog": -1}, format="json")
    assert form.errors["ecog"] == [expected]
    assert (response.status_code, response.json()) == (400, {"ecog": [expected]})


def test_an_absurd_tumour_mutational_burden_is_refused_in_the_same_words_on_every_path_in(pat):
    profile = patient_profile_for(pat)
    tmb = {
        "gene": "TMB",
        "alteration_type": "signature",
        "status": "positive",
        "value": "5000",
        "unit": "mut/Mb",
    }
    with pytest.raises(ValidationError) as model:
        profile_fact_save(profile=profile, fact=Biomarker(**tmb), actor=pat)
    form = BiomarkerForm(tmb, instance=Biomarker(patient=profile))
    response = api_as(pat).post(reverse("api:me-biomarkers"), tmb, format="json")
    quantity = {"value": 5000, "unit": "{mutations}/{megabase}", "system": "http://unitsofmeasure.org"}
    code = {"coding": [{"system": "http://loinc.org", "code": "94076-7"}]}
    imported = bundle_problems({"code": code, "valueQuantity": quantity}, "obs-pdl1")

    expected = (
        "A tumour mutational burden above 1000 mut/Mb is not plausible (got 5000); "
        "check the value and its unit."
    )
    assert model_message(model, "value") == expected
    assert form.errors["value"] == [expected]
    assert (response.status_code, response.json()) == (400, {"value": [expected]})
    assert imported == [("valueQuantity.value", expected)]
    assert not profile.biomarkers.exists()


def test_a_real_high_tumour_mutational_burden_is_kept(pat):
    profile = patient_profile_for(pat)
    hypermutated = Biomarker(gene="TMB", alteration_type="signature", value=400, unit="mut/Mb")
    assert profile_fact_save(profile=profile, fact=hypermutated, actor=pat).pk is not None


@pytest.mark.parametrize("line", [0, 21])
def test_a_line_of_therapy_outside_1_to_20_is_refused_in_the_same_words_on_every_path_in(pat, line):
    profile = patient_profile_for(pat)
    with pytest.raises(ValidationError) as model:
        profile_fact_save(profile=profile, fact=Therapy(drug="carboplatin", line=line), actor=pat)
    form = TherapyForm({"drug": "carboplatin", "line": str(line)}, instance=Therapy(patient=profile))
    response = api_as(pat).post(
        reverse("api:me-therapies"), {"drug": "carboplatin", "line": line}, format="json"
    )

    expected = f"Lines of therapy are counted from 1 to 20 (got {line})."
    assert model_message(model, "line") == expected
    assert form.errors["line"] == [expected]
    assert (response.status_code, response.json()) == (400, {"line": [expected]})
    assert not profile.therapies.exists()


def test_a_negative_line_of_therapy_is_refused_by_the_form_and_the_api_in_the_same_words(pat):
    profile = patient_profile_for(pat)
    form = TherapyForm({"drug": "carboplatin", "line": "-2"}, instance=Therapy(patient=profile))
    response = api_as(pat).post(
        reverse("api:me-therapies"), {"drug": "carboplatin", "line": -2}, format="json"
    )
    expected = "Lines of therapy are counted from 1 to 20 (got -2)."
    assert form.errors["line"] == [expected]
    assert (response.status_code, response.json()) == (400, {"line": [expected]})


@pytest.fixture
def pat_with_history(pat: User) -> PatientProfile:
    """Pat, born in 1960, diagnosed in 1970 and treated from 1975."""
    profile = patient_profile_for(pat)
    profile_update(profile=profile, fields={"birth_date": date(1960, 1, 1)})
    diagnosis = Diagnosis(code="luad", diagnosed_on=date(1970, 5, 1))
    profile_fact_save(profile=profile, fact=diagnosis, actor=pat)
    therapy = Therapy(drug="carboplatin", started_on=date(1975, 2, 1), ended_on=date(1975, 6, 1))
    profile_fact_save(profile=profile, fact=therapy, actor=pat)
    return PatientProfile.objects.get(pk=profile.pk)


LATE_BIRTH = (
    "Facts already recorded are dated before 1980-01-01: the diagnosis lung adenocarcinoma, diagnosed on "
    "1970-05-01; the therapy carboplatin, started on 1975-02-01. Correct or remove them first, or check "
    "the birth date."
)


def test_a_birth_date_after_facts_already_recorded_is_refused_naming_them_on_every_path_in(
    pat, pat_with_history
):
    profile = pat_with_history
    with pytest.raises(ValidationError) as model:
        profile_update(
            profile=PatientProfile.objects.get(pk=profile.pk), fields={"birth_date": date(1980, 1, 1)}
        )
    form = ProfileForm(
        {"birth_date": "1980-01-01", "pregnancy_status": "unknown"},
        instance=PatientProfile.objects.get(pk=profile.pk),
    )
    response = api_as(pat).patch(reverse("api:me-profile"), {"birth_date": "1980-01-01"}, format="json")
    bundle = copy.deepcopy(BUNDLE)
    next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")[
        "birthDate"
    ] = "1980-01-01"
    preview = bundle_read(json.dumps(bundle))
    born = next(fact.key for fact in preview.facts if "birth_date" in fact.values)
    with pytest.raises(BundleError) as imported:
        fhir_import_confirm(profile=profile, preview=preview, keys=[born], actor=pat)

    assert model_message(model, "birth_date") == LATE_BIRTH
    assert form.errors["birth_date"] == [LATE_BIRTH]
    assert (response.status_code, response.json()) == (400, {"birth_date": [LATE_BIRTH]})
    assert [str(problem) for problem in imported.value.problems] == [
        f"entry 0 (Patient/maria-lopez) birth_date: {LATE_BIRTH}"
    ]
    profile.refresh_from_db()
    assert profile.birth_date == date(1960, 1, 1)


def test_a_birth_date_before_every_recorded_fact_is_saved(pat_with_history):
    profile_update(profile=pat_with_history, fields={"birth_date": date(1965, 7, 1)})
    pat_with_history.refresh_from_db()
    assert pat_with_history.birth_date == date(1965, 7, 1)


def test_an_unchanged_birth_date_does_not_block_other_edits(pat_with_history):
    """Facts written before this rule may predate the birth date; a change of ECOG still saves."""
    Diagnosis.objects.filter(patient=pat_with_history).update(diagnosed_on=date(1950, 1, 1))
    profile_update(profile=pat_with_history, fields={"ecog": 1})
    pat_with_history.refresh_from_db()
    assert pat_with_history.ecog == 1


def test_a_record_with_a_fact_dated_before_its_own_birth_date_is_refused_at_review():
    """Maria Lopez was born on 1961-03-14: a cancer diagnosed in 1955 is a data error, shown before saving."""
    assert bundle_problems({"onsetDateTime": "1955-01-01"}, "cond-luad") == [
        ("diagnosed_on", "1955-01-01 is before the patient's birth date (1961-03-14).")
    ]


def test_a_nul_character_is_refused_in_the_same_words_on_every_path_in(pat):
    """PostgreSQL cannot store a NUL character (SQLite does): the forms refused it, while the paste and the
    FHIR import, which write through the models' checks, reached the database with it (a 500 there)."""
    profile = patient_profile_for(pat)
    expected = "Null characters are not allowed."
    with pytest.raises(ValidationError) as model:
        profile_fact_save(profile=profile, fact=Procedure(name="lobectomy\x00"), actor=pat)
    form = ProcedureForm({"name": "lobectomy\x00"}, instance=Procedure(patient=profile))
    response = api_as(pat).post(reverse("api:me-procedures"), {"name": "lobectomy\x00"}, format="json")
    with pytest.raises(PasteError) as pasted:
        summary_facts_save(
            profile=profile,
            picks=[json.dumps({"kind": "procedure", "fields": {"name": "lobectomy\x00", "code": ""}})],
            actor=pat,
        )
    procedure = bundle_problems({"code": {"text": "lobectomy\x00"}}, "proc-rt")
    address = {"line": ["1 Main St"], "postalCode": "021\x0015"}
    postcode = bundle_problems({"address": [address]}, "maria-lopez")

    assert model_message(model, "name") == expected
    assert form.errors["name"] == [expected]
    assert (response.status_code, response.json()) == (400, {"name": [expected]})
    assert pasted.value.problems == [f"Not added: {expected}"]
    assert procedure == [("name", expected)]
    assert postcode == [("postcode", expected)]
    assert not profile.procedures.exists()


def test_an_unknown_gene_is_refused_in_the_same_words_on_every_path_in(pat):
    """The portal's form alone knew the genes: a pasted pick and the admin (the model's checks) stored any
    text as a gene, which no criterion ever matches."""
    profile = patient_profile_for(pat)
    unknown = {"gene": "EGFQ", "alteration_type": "mutation", "status": "positive"}
    with pytest.raises(ValidationError) as model:
        profile_fact_save(profile=profile, fact=Biomarker(**unknown), actor=pat)
    form = BiomarkerForm(unknown, instance=Biomarker(patient=profile))
    response = api_as(pat).post(reverse("api:me-biomarkers"), unknown, format="json")
    with pytest.raises(PasteError) as pasted:
        summary_facts_save(
            profile=profile,
            picks=[json.dumps({"kind": "biomarker", "fields": {**unknown, "protein_change": ""}})],
            actor=pat,
        )

    expected = "We don't know this gene or marker. Check the spelling in your report."
    assert model_message(model, "gene") == expected
    assert form.errors["gene"] == [expected]
    assert (response.status_code, response.json()) == (400, {"gene": [expected]})
    assert pasted.value.problems == [f"Not added: {expected}"]
    assert not profile.biomarkers.exists()


@pytest.mark.parametrize(("typed", "stored"), [("her2", "ERBB2"), ("PD-L1", "CD274"), ("msi-h", "MSI-H")])
def test_a_gene_alias_or_signature_is_stored_as_its_symbol(pat, typed, stored):
    profile = patient_profile_for(pat)
    biomarker = Biomarker(gene=typed, alteration_type="expression")
    profile_fact_save(profile=profile, fact=biomarker, actor=pat)
    assert Biomarker.objects.get(pk=biomarker.pk).gene == stored
