"""FHIR R4 patient Bundles: mapped for review, saved only on confirmation, refused whole when wrong."""

import copy
import json
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
from django.urls import reverse

from recruitment.fhir_import import BundleError, ImportPreview, ProposedFact, bundle_read, fhir_import_confirm
from recruitment.models import Biomarker, Diagnosis, FactSource, LabResult, PatientProfile, Procedure, Therapy
from recruitment.services.profile import patient_profile_for
from tests.recruitment.consent_helpers import name_patient
from tests.recruitment.workflow_helpers import candidate_for

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).parent / "fixtures" / "fhir" / "lung_patient_bundle.json"


@pytest.fixture
def bundle():
    return json.loads(FIXTURE.read_text())


def entry_of(bundle, resource_id):
    return next(e for e in bundle["entry"] if e["resource"].get("id") == resource_id)["resource"]


def facts_by_source(preview: ImportPreview) -> dict[str, list[ProposedFact]]:
    grouped: dict[str, list[ProposedFact]] = {}
    for fact in preview.facts:
        grouped.setdefault(fact.source, []).append(fact)
    return grouped


def problems_of(bundle_text):
    with pytest.raises(BundleError) as caught:
        bundle_read(bundle_text)
    return [str(problem) for problem in caught.value.problems]


def total_facts(profile):
    return sum(
        model.objects.filter(patient=profile).count()
        for model in (Diagnosis, Biomarker, LabResult, Therapy, Procedure)
    )


# Reading and mapping ------------------------------------------------------------------------------------


def test_each_resource_becomes_a_fact_naming_its_source(bundle):
    preview = bundle_read(json.dumps(bundle))
    by_source = facts_by_source(preview)
    assert preview.patient_name == "Maria Lopez"
    (luad,) = by_source["Condition/cond-luad"]
    assert luad.values | {"presence": str(luad.values["presence"])} == {
        "code": "luad",
        "label": "lung adenocarcinoma",
        "presence": "present",
        "diagnosed_on": "2024-02-01",
        "stage": "IVA",
    }
    (hiv,) = by_source["Condition/cond-hiv"]
    assert (hiv.values["code"], hiv.values["presence"]) == ("hiv", "absent")
    (ecog,) = by_source["Observation/obs-ecog"]
    assert ecog.values == {"ecog": 1, "ecog_assessed_on": "2024-03-01"}
    assert {f.summary for f in by_source["Patient/maria-lopez"]} >= {"Born 1961-03-14", "Sex: female"}


@pytest.mark.parametrize(
    ("status", "course"), [("recurrence", "recurrent"), ("relapse", "recurrent"), ("active", None)]
)
def test_a_cancers_recurrence_or_relapse_is_its_course(bundle, status, course):
    entry_of(bundle, "cond-luad")["clinicalStatus"] = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": status}]
    }
    (luad,) = facts_by_source(bundle_read(json.dumps(bundle)))["Condition/cond-luad"]
    assert luad.values.get("course") == course


def test_a_confirmed_recurrence_is_saved_as_the_diagnosis_course(bundle, pat):
    entry_of(bundle, "cond-luad")["clinicalStatus"] = {
        "coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "recurrence"}
        ]
    }
    profile = patient_profile_for(pat)
    preview = bundle_read(json.dumps(bundle))
    fhir_import_confirm(profile=profile, preview=preview, keys=[f.key for f in preview.facts], actor=pat)
    assert Diagnosis.objects.get(patient=profile, code="luad").course == "recurrent"


def test_a_bundle_confirmed_twice_records_each_fact_once(bundle, pat):
    profile = patient_profile_for(pat)
    preview = bundle_read(json.dumps(bundle))
    keys = [f.key for f in preview.facts]
    fhir_import_confirm(profile=profile, preview=preview, keys=keys, actor=pat)
    once = total_facts(profile)
    fhir_import_confirm(profile=profile, preview=preview, keys=keys, actor=pat)  # a double click
    assert total_facts(profile) == once > 0


def test_a_genomic_variant_gives_gene_protein_change_and_interpretation(bundle):
    (egfr,) = facts_by_source(bundle_read(json.dumps(bundle)))["Observation/obs-egfr"]
    assert (egfr.values["gene"], egfr.values["protein_change"]) == ("EGFR", "E746_A750del")
    assert (egfr.values["alteration_type"], egfr.values["status"]) == ("deletion", "positive")
    assert egfr.note == "Pathogenic"


def test_an_absent_variant_is_a_negative_wild_type_test(bundle):
    (kras,) = facts_by_source(bundle_read(json.dumps(bundle)))["Observation/obs-kras"]
    assert (kras.values["gene"], kras.values["alteration_type"], kras.values["status"]) == (
        "KRAS",
        "wild_type",
        "negative",
    )


@pytest.mark.parametrize(("significance", "status"), [("LA26333-7", "equivocal"), ("LA6668-3", "positive")])
def test_the_variant_interpretation_sets_the_status(bundle, significance, status):
    component = entry_of(bundle, "obs-egfr")["component"][3]
    component["valueCodeableConcept"]["coding"][0]["code"] = significance
    (egfr,) = facts_by_source(bundle_read(json.dumps(bundle)))["Observation/obs-egfr"]
    assert egfr.values["status"] == status


def test_a_benign_variant_is_left_out_with_the_reason(bundle):
    entry_of(bundle, "obs-egfr")["component"][3]["valueCodeableConcept"]["coding"][0]["code"] = "LA6675-8"
    preview = bundle_read(json.dumps(bundle))
    assert "Observation/obs-egfr" not in facts_by_source(preview)
    assert any(s.source == "Observation/obs-egfr" and "benign" in s.reason for s in preview.skipped)


def test_three_letter_protein_changes_are_written_as_trials_write_them(bundle):
    protein = entry_of(bundle, "obs-egfr")["component"][1]["valueCodeableConcept"]["coding"][0]
    protein["code"] = "p.(Leu858Arg)"
    (egfr,) = facts_by_source(bundle_read(json.dumps(bundle)))["Observation/obs-egfr"]
    assert egfr.values["protein_change"] == "L858R"


def test_labs_keep_ucum_units_and_reference_ranges(bundle):
    by_source = facts_by_source(bundle_read(json.dumps(bundle)))
    (creatinine,) = by_source["Observation/obs-creat"]
    assert creatinine.values == {
        "analyte": "serum creatinine",
        "loinc": "2160-0",
        "value": "88",
        "unit": "umol/L",
        "collected_on": "2024-03-01",
        "reference_low": "45",
        "reference_high": "90",
    }
    (platelets,) = by_source["Observation/obs-plt"]
    assert platelets.values["unit"] == "10^9/L"  # UCUM 10*9/L, in the notation the matcher converts


def test_a_reference_range_in_another_unit_is_converted_for_the_analyte(bundle):
    creatinine = entry_of(bundle, "obs-creat")
    creatinine["valueQuantity"].update(value=1.0, unit="mg/dL", code="mg/dL")
    creatinine["referenceRange"] = [
        {
            "low": {"value": 45, "system": "http://unitsofmeasure.org", "code": "umol/L"},
            "high": {"value": 90, "system": "http://unitsofmeasure.org", "code": "umol/L"},
        }
    ]
    hba1c = lab_observation("hba1c", "4548-4", 7.0, "%")
    hba1c["resource"]["referenceRange"] = [
        {
            "low": {"value": 20, "system": "http://unitsofmeasure.org", "code": "mmol/mol"},
            "high": {"value": 42, "system": "http://unitsofmeasure.org", "code": "mmol/mol"},
        }
    ]
    bundle["entry"].append(hba1c)
    by_source = facts_by_source(bundle_read(json.dumps(bundle)))
    (creatinine_fact,) = by_source["Observation/obs-creat"]
    assert (creatinine_fact.values["reference_low"], creatinine_fact.values["reference_high"]) == (
        "0.509",  # 45 umol/L of creatinine (113.12 g/mol)
        "1.0181",
    )
    (hba1c_fact,) = by_source["Observation/hba1c"]
    # IFCC 20-42 mmol/mol is NGSP 4.0-6.0 %, by the master equation; not 2.0-4.2 as a plain unit ratio.
    assert (hba1c_fact.values["reference_low"], hba1c_fact.values["reference_high"]) == ("3.9816", "5.9942")


def test_pd_l1_is_a_tumour_marker_with_its_score(bundle):
    (pdl1,) = facts_by_source(bundle_read(json.dumps(bundle)))["Observation/obs-pdl1"]
    assert (pdl1.values["gene"], pdl1.values["measure"], pdl1.values["value"]) == ("CD274", "TPS", "60")


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ("LA26203-2", "positive"),
        ("LA14123-6", "positive"),
        ("LA26202-4", "negative"),
        ("LA14122-8", "negative"),
    ],
)
def test_an_msi_result_in_the_loinc_answers_mcode_uses_is_read(bundle, answer, status):
    msi = {
        "resourceType": "Observation",
        "id": "obs-msi",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "81695-9"}]},
        "subject": {"reference": "urn:uuid:6f1c2a9e-3d4b-4e8a-9c1f-2b7d5e0a1c33"},
        "effectiveDateTime": "2024-03-01",
        "valueCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": answer}]},
    }
    bundle["entry"].append({"resource": msi})
    (fact,) = facts_by_source(bundle_read(json.dumps(bundle)))["Observation/obs-msi"]
    assert (fact.values["gene"], fact.values["status"]) == ("MSI", status)


@pytest.mark.parametrize(
    ("loinc", "quantity", "expected"),
    [
        (
            "16112-5",
            {"value": 90, "code": "%"},
            ("ESR1", "", "positive"),
        ),  # ER in % of cells, not an IHC score
        ("40556-3", {"value": 0.5, "code": "%"}, ("ESR1", "", "negative")),  # below 1 %
        ("85319-2", {"value": 1}, ("ERBB2", "IHC", "negative")),
        ("18474-7", {"value": 2}, ("ERBB2", "IHC", "equivocal")),
        ("18474-7", {"value": 3}, ("ERBB2", "IHC", "positive")),
        ("85318-4", {"value": 1.6, "code": "{ratio}"}, ("ERBB2", "FISH", "negative")),
        ("85318-4", {"value": 2.4, "code": "{ratio}"}, ("ERBB2", "FISH", "positive")),
        ("94076-7", {"value": 4, "code": "{mutations}/Mb"}, ("TMB", "", "negative")),
        ("94076-7", {"value": 12, "code": "{mutations}/Mb"}, ("TMB", "", "positive")),
    ],
)
def test_a_tumour_marker_number_is_read_against_its_clinical_cut_off(bundle, loinc, quantity, expected):
    marker = {
        "resourceType": "Observation",
        "id": "obs-marker",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": {"reference": "urn:uuid:6f1c2a9e-3d4b-4e8a-9c1f-2b7d5e0a1c33"},
        "effectiveDateTime": "2024-03-01",
        "valueQuantity": {"system": "http://unitsofmeasure.org", **quantity},
    }
    bundle["entry"].append({"resource": marker})
    (fact,) = facts_by_source(bundle_read(json.dumps(bundle)))["Observation/obs-marker"]
    assert (fact.values["gene"], fact.values["measure"], fact.values["status"]) == expected


def test_drugs_are_linked_from_rxnorm_names_with_their_dates(bundle):
    by_source = facts_by_source(bundle_read(json.dumps(bundle)))
    assert by_source["MedicationStatement/med-carbo"][0].values == {
        "drug": "carboplatin",
        "started_on": "2024-03-05",
        "ended_on": "2024-06-20",
    }
    assert by_source["MedicationRequest/med-osi"][0].values == {
        "drug": "osimertinib",
        "started_on": "2024-07-01",
    }


@pytest.mark.parametrize(
    ("resource_id", "change", "reason"),
    [
        ("med-carbo", {"status": "intended"}, "status is intended"),
        ("med-osi", {"intent": "proposal"}, "intent is proposal"),
        ("med-osi", {"intent": "plan"}, "intent is plan"),
        ("proc-rt", {"status": "preparation"}, "status is preparation"),
    ],
)
def test_a_treatment_only_planned_is_left_out_with_the_reason(bundle, resource_id, change, reason):
    resource = entry_of(bundle, resource_id)
    resource.update(change)
    source = f"{resource['resourceType']}/{resource_id}"
    preview = bundle_read(json.dumps(bundle))
    assert source not in facts_by_source(preview)
    assert any(item.source == source and item.reason.startswith(reason) for item in preview.skipped)


def test_a_medication_by_reference_to_a_medication_entry_is_read(bundle):
    statement = entry_of(bundle, "med-carbo")
    concept = statement.pop("medicationCodeableConcept")
    statement["medicationReference"] = {"reference": "Medication/carbo"}
    bundle["entry"].append({"resource": {"resourceType": "Medication", "id": "carbo", "code": concept}})
    preview = bundle_read(json.dumps(bundle))
    assert facts_by_source(preview)["MedicationStatement/med-carbo"][0].values["drug"] == "carboplatin"


def test_procedures_are_linked_to_the_vocabulary(bundle):
    (radiotherapy,) = facts_by_source(bundle_read(json.dumps(bundle)))["Procedure/proc-rt"]
    assert radiotherapy.values == {
        "name": "Palliative radiotherapy",
        "code": "radiotherapy",
        "performed_on": "2024-04-02",
    }


def test_resources_of_no_use_to_matching_are_listed_as_skipped(bundle):
    skipped = {item.source: item.reason for item in bundle_read(json.dumps(bundle)).skipped}
    assert "Encounter/enc-1" in skipped
    assert "not a test trial criteria are read against" in skipped["Observation/obs-hr"]


def test_entries_in_error_are_skipped(bundle):
    entry_of(bundle, "obs-creat")["status"] = "entered-in-error"
    preview = bundle_read(json.dumps(bundle))
    assert "Observation/obs-creat" not in facts_by_source(preview)
    assert any(item.source == "Observation/obs-creat" for item in preview.skipped)


@pytest.mark.parametrize("verification", ["provisional", "differential", "unconfirmed"])
def test_a_condition_not_yet_confirmed_is_left_out_with_the_reason(bundle, verification):
    entry_of(bundle, "cond-luad")["verificationStatus"] = {
        "coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}
        ]
    }
    preview = bundle_read(json.dumps(bundle))
    assert "Condition/cond-luad" not in facts_by_source(preview)
    assert any(
        item.source == "Condition/cond-luad" and f"verification status is {verification}" in item.reason
        for item in preview.skipped
    )


def test_an_icd10_code_alone_maps_to_the_most_general_diagnosis_it_names(bundle):
    entry_of(bundle, "cond-luad")["code"] = {
        "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C34.12"}]
    }
    (condition,) = facts_by_source(bundle_read(json.dumps(bundle)))["Condition/cond-luad"]
    assert condition.values["code"] == "lung_cancer"


def test_only_the_latest_ecog_score_is_kept(bundle):
    older = copy.deepcopy(entry_of(bundle, "obs-ecog"))
    older.update(id="obs-ecog-old", effectiveDateTime="2023-11-01", valueInteger=2)
    bundle["entry"].append({"resource": older})
    preview = bundle_read(json.dumps(bundle))
    assert [f.values["ecog"] for f in preview.facts if "ecog" in f.values] == [1]
    assert any(item.source == "Observation/obs-ecog-old" for item in preview.skipped)


def test_an_ecog_score_given_as_a_quantity_is_read(bundle):
    ecog = entry_of(bundle, "obs-ecog")
    del ecog["valueInteger"]
    ecog["valueQuantity"] = {
        "value": 2,
        "unit": "{score}",
        "system": "http://unitsofmeasure.org",
        "code": "{score}",
    }
    (fact,) = facts_by_source(bundle_read(json.dumps(bundle)))["Observation/obs-ecog"]
    assert fact.values["ecog"] == 2


def test_an_ecog_quantity_that_is_not_a_whole_score_is_refused(bundle):
    ecog = entry_of(bundle, "obs-ecog")
    del ecog["valueInteger"]
    ecog["valueQuantity"] = {"value": 1.5, "system": "http://unitsofmeasure.org", "code": "{score}"}
    (problem,) = problems_of(json.dumps(bundle))
    assert problem.startswith("entry 3 (Observation/obs-ecog) valueQuantity.value: ")


def lab_observation(resource_id, loinc, value, unit, day="2024-03-01"):
    return {
        "resource": {
            "resourceType": "Observation",
            "id": resource_id,
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
            "subject": {"reference": "urn:uuid:6f1c2a9e-3d4b-4e8a-9c1f-2b7d5e0a1c33"},
            "effectiveDateTime": day,
            "valueQuantity": {
                "value": value,
                "unit": unit,
                "system": "http://unitsofmeasure.org",
                "code": unit,
            },
        }
    }


def test_an_effective_period_dates_scores_and_tests_by_its_start(bundle):
    for resource_id in ("obs-ecog", "obs-pdl1", "obs-kras"):
        observation = entry_of(bundle, resource_id)
        observation.pop("effectiveDateTime", None)
        observation.pop("issued", None)
        observation["effectivePeriod"] = {"start": "2024-05-02T09:00:00Z", "end": "2024-05-02T09:30:00Z"}
    by_source = facts_by_source(bundle_read(json.dumps(bundle)))
    assert by_source["Observation/obs-ecog"][0].values["ecog_assessed_on"] == "2024-05-02"
    assert by_source["Observation/obs-pdl1"][0].values["tested_on"] == "2024-05-02"
    assert by_source["Observation/obs-kras"][0].values["tested_on"] == "2024-05-02"


def test_ucum_powers_and_the_usual_egfr_unit_are_read(bundle):
    bundle["entry"] += [
        lab_observation("bmi", "39156-5", 24.2, "kg/m2"),
        lab_observation("egfr", "33914-3", 71, "mL/min"),
    ]
    by_source = facts_by_source(bundle_read(json.dumps(bundle)))
    assert by_source["Observation/bmi"][0].values["unit"] == "kg/m^2"
    assert by_source["Observation/egfr"][0].values["unit"] == "mL/min/1.73m^2"


@pytest.mark.parametrize(
    ("resource_id", "quantity"),
    [
        ("obs-creat", {"value": 30, "comparator": "<", "unit": "umol/L", "code": "umol/L"}),
        ("obs-pdl1", {"value": 1, "comparator": "<", "unit": "%", "code": "%"}),
    ],
)
def test_a_result_reported_as_a_bound_is_left_out_with_the_reason(bundle, resource_id, quantity):
    quantity["system"] = "http://unitsofmeasure.org"
    entry_of(bundle, resource_id)["valueQuantity"] = quantity
    preview = bundle_read(json.dumps(bundle))
    assert f"Observation/{resource_id}" not in facts_by_source(preview)
    (skipped,) = [item for item in preview.skipped if item.source == f"Observation/{resource_id}"]
    assert skipped.reason.startswith(f"valueQuantity.comparator: reported as < {quantity['value']}")


def test_float_noise_is_rounded_to_what_the_profile_stores(bundle):
    bundle["entry"].append(lab_observation("hb", "718-7", 12.900000000000002, "g/dL"))
    (haemoglobin,) = facts_by_source(bundle_read(json.dumps(bundle)))["Observation/hb"]
    assert haemoglobin.values["value"] == "12.9"


def test_only_the_latest_result_of_a_test_is_offered(bundle):
    bundle["entry"].append(lab_observation("creat-old", "2160-0", 70, "umol/L", day="2023-01-10"))
    preview = bundle_read(json.dumps(bundle))
    assert [f.source for f in preview.facts if f.values.get("loinc") == "2160-0"] == ["Observation/obs-creat"]
    assert any(item.source == "Observation/creat-old" and "older" in item.reason for item in preview.skipped)


def test_a_test_trials_do_not_ask_about_is_skipped(bundle):
    bundle["entry"].append(lab_observation("cea", "2039-6", 3.1, "ng/mL"))
    preview = bundle_read(json.dumps(bundle))
    assert "Observation/cea" not in facts_by_source(preview)


def test_renewed_prescriptions_become_one_therapy_spanning_them(bundle):
    renewal = copy.deepcopy(entry_of(bundle, "med-carbo"))
    renewal.update(id="med-carbo-2", effectivePeriod={"start": "2024-07-01", "end": "2024-08-15"})
    bundle["entry"].append({"resource": renewal})
    preview = bundle_read(json.dumps(bundle))
    carboplatin = [f for f in preview.facts if f.values.get("drug") == "carboplatin"]
    assert [f.values for f in carboplatin] == [
        {"drug": "carboplatin", "started_on": "2024-03-05", "ended_on": "2024-08-15"}
    ]
    assert any(item.source == "MedicationStatement/med-carbo-2" for item in preview.skipped)


@pytest.mark.parametrize(
    ("display", "drug"),
    [
        ("24 HR metoprolol succinate 100 MG Extended Release Oral Tablet [Toprol]", "metoprolol succinate"),
        ("1 ML DOCEtaxel 20 MG/ML Injection", "docetaxel"),
    ],
)
def test_drug_names_lose_strength_form_and_brand(bundle, display, drug):
    entry_of(bundle, "med-osi")["medicationCodeableConcept"] = {"coding": [{"display": display}]}
    (therapy,) = facts_by_source(bundle_read(json.dumps(bundle)))["MedicationRequest/med-osi"]
    assert therapy.values["drug"] == drug


def test_an_in_situ_carcinoma_is_not_read_as_cancer(bundle):
    entry_of(bundle, "cond-luad")["code"] = {
        "coding": [
            {"system": "http://snomed.info/sct", "display": "Carcinoma in situ of prostate (disorder)"}
        ]
    }
    preview = bundle_read(json.dumps(bundle))
    assert "Condition/cond-luad" not in facts_by_source(preview)


def test_a_preview_survives_the_round_trip_through_the_session(bundle):
    preview = bundle_read(json.dumps(bundle))
    assert ImportPreview.from_json(preview.to_json()) == preview


# Refusing bad files, with the place of each problem ---------------------------------------------------------


def test_text_that_is_not_json_is_refused():
    (problem,) = problems_of(b"<Bundle xmlns='http://hl7.org/fhir'/>")
    assert "not valid JSON (line 1, column 1" in problem


def test_a_resource_that_is_not_a_bundle_is_refused(bundle):
    (problem,) = problems_of(json.dumps(entry_of(bundle, "maria-lopez")))
    assert problem == "Bundle resourceType: expected a FHIR Bundle, found 'Patient'."


def test_an_invalid_resource_is_refused_naming_entry_resource_and_field(bundle):
    entry_of(bundle, "obs-creat")["valueQuantity"]["value"] = "eighty-eight"
    problems = problems_of(json.dumps(bundle))
    assert any(p.startswith("entry 7 (Observation/obs-creat) valueQuantity.value:") for p in problems)


def test_an_unknown_resource_type_is_refused(bundle):
    bundle["entry"].append({"resource": {"resourceType": "Diagnosis", "id": "x"}})
    problems = problems_of(json.dumps(bundle))
    assert "entry 14 (Diagnosis/x) resourceType: 'Diagnosis' is not a FHIR R4 resource." in problems


def test_a_bundle_with_two_patients_is_refused(bundle):
    second = copy.deepcopy(entry_of(bundle, "maria-lopez"))
    second["id"] = "someone-else"
    bundle["entry"].append({"resource": second})
    problems = problems_of(json.dumps(bundle))
    assert problems == [
        "entry 14 (Patient/someone-else) resourceType: a second Patient (the first is entry 0, "
        "Patient/maria-lopez): import one patient's record at a time."
    ]


def test_a_resource_about_another_patient_is_refused(bundle):
    entry_of(bundle, "obs-creat")["subject"] = {"reference": "Patient/someone-else"}
    problems = problems_of(json.dumps(bundle))
    expected = "entry 7 (Observation/obs-creat) subject: refers to Patient/someone-else, not to this Bundle's"
    assert any(problem.startswith(expected) for problem in problems)


def test_an_unknown_unit_is_refused(bundle):
    for quantity in (entry_of(bundle, "obs-creat")["valueQuantity"],):
        quantity["code"] = quantity["unit"] = "mg/furlong"
    (problem,) = problems_of(json.dumps(bundle))
    assert problem.startswith(
        "entry 7 (Observation/obs-creat) valueQuantity.code: 'mg/furlong' is not a unit serum creatinine"
    )


@pytest.mark.parametrize(
    ("resource_id", "change", "expected"),
    [
        (
            "obs-ecog",
            {"valueInteger": 7},
            "entry 3 (Observation/obs-ecog) valueInteger: An ECOG performance status is 0, 1, 2, 3 or 4 "
            "(5 means the patient has died), not 7.",
        ),
        (
            "obs-plt",
            {"valueQuantity": {"value": 210000, "unit": "10*9/L", "code": "10*9/L"}},
            "is not a plausible result",
        ),
        (
            "obs-creat",
            {"valueQuantity": {"value": -3, "unit": "umol/L", "code": "umol/L"}},
            "cannot be negative",
        ),
        (
            "obs-pdl1",
            {"valueQuantity": {"value": 160, "unit": "%", "code": "%"}},
            "A percentage cannot exceed 100 (got 160%).",
        ),
        (
            "maria-lopez",
            {"birthDate": "2091-01-01"},
            "entry 0 (Patient/maria-lopez) birthDate: 2091-01-01 is in the future.",
        ),
        (
            "cond-luad",
            {"onsetDateTime": "1850-01-01"},
            "onsetDateTime: 1850-01-01 is before 1900: not a plausible date.",
        ),
    ],
)
def test_absurd_values_are_refused_naming_the_place(bundle, resource_id, change, expected):
    entry_of(bundle, resource_id).update(change)
    problems = problems_of(json.dumps(bundle))
    assert any(expected in problem for problem in problems), problems


def test_every_problem_is_reported_at_once(bundle):
    entry_of(bundle, "obs-ecog")["valueInteger"] = 9
    entry_of(bundle, "obs-creat")["valueQuantity"]["code"] = "bananas"
    assert len(problems_of(json.dumps(bundle))) == 2


def test_a_bundle_without_a_patient_is_refused(bundle):
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Patient"]
    assert "Bundle entry: the Bundle has no Patient resource." in problems_of(json.dumps(bundle))


# Saving ------------------------------------------------------------------------------------------------


def test_confirming_saves_the_kept_facts_as_imported_and_nothing_else(pat, bundle):
    profile = patient_profile_for(pat)
    preview = bundle_read(json.dumps(bundle))
    dropped = next(f.key for f in preview.facts if f.source == "Observation/obs-kras")
    fhir_import_confirm(
        profile=profile, preview=preview, keys=[f.key for f in preview.facts if f.key != dropped], actor=pat
    )
    profile.refresh_from_db()
    assert (profile.birth_date, profile.sex, profile.ecog) == (date(1961, 3, 14), "female", 1)
    assert profile.phone == "+1 617 555 0142"
    assert set(Diagnosis.objects.filter(patient=profile).values_list("code", "presence")) == {
        ("luad", "present"),
        ("hiv", "absent"),
    }
    assert list(
        Biomarker.objects.filter(patient=profile).order_by("gene").values_list("gene", flat=True)
    ) == [
        "CD274",
        "EGFR",
    ]
    creatinine = LabResult.objects.get(patient=profile, loinc="2160-0")
    assert (creatinine.value, creatinine.reference_high) == (Decimal("88"), Decimal("90"))
    assert set(Therapy.objects.filter(patient=profile).values_list("drug", flat=True)) == {
        "carboplatin",
        "osimertinib",
    }
    for model in (Diagnosis, Biomarker, LabResult, Therapy, Procedure):
        assert set(model.objects.filter(patient=profile).values_list("source", "entered_by")) == {
            (FactSource.IMPORTED, pat.pk)
        }


def test_nothing_is_saved_when_one_fact_is_refused_at_confirmation(pat, bundle):
    profile = patient_profile_for(pat)
    preview = bundle_read(json.dumps(bundle))
    broken = next(f for f in preview.facts if f.source == "Procedure/proc-rt")
    broken.values["performed_on"] = "2099-01-01"  # as if the profile or rules changed since the review
    with pytest.raises(BundleError, match=r"entry 12 \(Procedure/proc-rt\) performed_on"):
        fhir_import_confirm(profile=profile, preview=preview, keys=[f.key for f in preview.facts], actor=pat)
    profile.refresh_from_db()
    assert total_facts(profile) == 0
    assert profile.birth_date is None


# The review pages ---------------------------------------------------------------------------------------


def upload(client, url, bundle):
    return client.post(url, {"text": json.dumps(bundle)})


def test_the_patient_reviews_the_record_before_anything_is_saved(client, pat, bundle):
    name_patient(patient_profile_for(pat), "Maria", "Lopez")
    client.force_login(pat)
    response = upload(client, reverse("portal:fhir_import"), bundle)
    assert response.url == reverse("portal:fhir_review")
    profile = PatientProfile.objects.get(user=pat)
    assert total_facts(profile) == 0

    page = client.get(reverse("portal:fhir_review")).content.decode()
    assert "lung adenocarcinoma, stage IVA, diagnosed 2024-02-01" in page
    assert "Condition/cond-luad" in page
    assert "Encounter/enc-1" in page  # among the resources not imported

    preview = bundle_read(json.dumps(bundle))
    kept = [f.key for f in preview.facts if f.kind == "diagnosis"]
    response = client.post(reverse("portal:fhir_review"), {"fact": kept, "confirm": "1"})
    assert response.url == reverse("portal:profile")
    assert Diagnosis.objects.filter(patient=profile, source=FactSource.IMPORTED).count() == 2
    assert total_facts(profile) == 2
    # The proposal is used up: confirming again imports nothing more.
    client.post(reverse("portal:fhir_review"), {"fact": kept, "confirm": "1"})
    assert total_facts(profile) == 2


def test_a_bad_file_is_refused_on_the_page_and_saves_nothing(client, pat, bundle):
    client.force_login(pat)
    entry_of(bundle, "obs-ecog")["valueInteger"] = 6
    response = upload(client, reverse("portal:fhir_import"), bundle)
    assert response.status_code == 400
    page = response.content.decode()
    assert "This file cannot be imported. Nothing was saved." in page
    assert "entry 3 (Observation/obs-ecog) valueInteger" in page
    assert total_facts(patient_profile_for(pat)) == 0


def test_another_persons_record_needs_an_explicit_identity_check(client, pat, bundle):
    name_patient(patient_profile_for(pat), "Patricia", "Moss")
    client.force_login(pat)
    upload(client, reverse("portal:fhir_import"), bundle)
    assert "not the name on the account" in client.get(reverse("portal:fhir_review")).content.decode()
    key = bundle_read(json.dumps(bundle)).facts[0].key
    refused = client.post(reverse("portal:fhir_review"), {"fact": [key], "confirm": "1"})
    assert refused.status_code == 400
    assert PatientProfile.objects.get(user=pat).birth_date is None
    accepted = client.post(
        reverse("portal:fhir_review"), {"fact": [key], "identity_checked": "1", "confirm": "1"}
    )
    assert accepted.status_code == 302
    assert PatientProfile.objects.get(user=pat).birth_date == date(1961, 3, 14)


def test_cancelling_the_review_saves_nothing(client, pat, bundle):
    client.force_login(pat)
    upload(client, reverse("portal:fhir_import"), bundle)
    client.post(reverse("portal:fhir_review"), {"cancel": "1"})
    assert client.get(reverse("portal:fhir_review")).url == reverse("portal:fhir_import")
    assert total_facts(patient_profile_for(pat)) == 0


def test_the_pending_import_is_encrypted_in_the_session(client, pat, bundle):
    client.force_login(pat)
    upload(client, reverse("portal:fhir_import"), bundle)
    stored = client.session["fhir_import:portal"]
    assert "Lopez" not in stored
    assert "adenocarcinoma" not in stored


def test_site_staff_import_a_record_for_their_candidate_who_agreed_to_contact(
    client, sam, nsclc_trial, boston_site, bundle
):
    candidate = candidate_for(nsclc_trial, boston_site, email="maria@example.org", contact=True)
    name_patient(candidate.patient, "Maria", "Lopez")
    client.force_login(sam)
    assert upload(client, reverse("site:fhir_import", args=[candidate.pk]), bundle).status_code == 302
    review = client.get(reverse("site:fhir_review", args=[candidate.pk]))
    assert "Observation/obs-egfr" in review.content.decode()
    keys = [f.key for f in bundle_read(json.dumps(bundle)).facts if f.kind == "biomarker"]
    response = client.post(reverse("site:fhir_review", args=[candidate.pk]), {"fact": keys, "confirm": "1"})
    assert response.url == reverse("site:candidate", args=[candidate.pk])
    assert set(Biomarker.objects.filter(patient=candidate.patient).values_list("source", "entered_by")) == {
        (FactSource.IMPORTED, sam.pk)
    }


def test_site_staff_cannot_import_before_the_patient_agrees_to_contact(client, sam, nsclc_trial, boston_site):
    candidate = candidate_for(nsclc_trial, boston_site, email="maria@example.org", contact=False)
    client.force_login(sam)
    assert client.get(reverse("site:fhir_import", args=[candidate.pk])).status_code == 403


@pytest.mark.parametrize("persona", ["sophie", "cora", "pat"])
def test_only_site_staff_of_the_candidates_site_reach_the_site_import(
    client, request, persona, nsclc_trial, boston_site
):
    candidate = candidate_for(nsclc_trial, boston_site, email="maria@example.org", contact=True)
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("site:fhir_import", args=[candidate.pk])).status_code == 403


def test_staff_of_another_site_do_not_find_the_candidate(client, nsclc_trial, boston_site):
    from tests import factories

    candidate = candidate_for(nsclc_trial, boston_site, email="maria@example.org", contact=True)
    other = factories.SiteMembershipFactory.create(user__email="otto@example.org").user
    client.force_login(other)
    assert client.get(reverse("site:fhir_import", args=[candidate.pk])).status_code == 404


@pytest.mark.parametrize("persona", ["sam", "sophie", "cora"])
def test_the_portal_import_is_for_patients_only(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("portal:fhir_import")).status_code == 404


def test_an_import_owes_the_patient_one_rematch_not_one_per_fact(
    pat, bundle, django_capture_on_commit_callbacks
):
    profile = patient_profile_for(pat)
    preview = bundle_read(json.dumps(bundle))
    with django_capture_on_commit_callbacks() as callbacks:
        fhir_import_confirm(profile=profile, preview=preview, keys=[f.key for f in preview.facts], actor=pat)
    assert [c.args for c in callbacks if isinstance(c, partial)] == [(profile.pk,)]
    assert total_facts(profile) == 10


def test_a_birth_date_the_profile_refuses_at_confirmation_is_shown_on_the_review_page(client, pat, bundle):
    """Pat confirmed her history complete on 1975-01-01; a record saying she was born in 1980 is refused."""
    name_patient(patient_profile_for(pat), "Maria", "Lopez")
    PatientProfile.objects.filter(user=pat).update(history_confirmed_on=date(1975, 1, 1))
    client.force_login(pat)
    bundle["entry"][0]["resource"]["birthDate"] = "1980-01-01"
    upload(client, reverse("portal:fhir_import"), bundle)
    born = next(f.key for f in bundle_read(json.dumps(bundle)).facts if "birth_date" in f.values)
    response = client.post(reverse("portal:fhir_review"), {"fact": [born], "confirm": "1"})
    assert response.status_code == 400
    refused = "entry 0 (Patient/maria-lopez) history_confirmed_on: 1975-01-01 is before the patient"
    assert refused in response.content.decode()
    assert PatientProfile.objects.get(user=pat).birth_date is None
