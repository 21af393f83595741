"""FHIR statuses and partial dates a clinical record carries, read for what they say about the patient today:
a result not yet final, a disease in remission, a drug course completed, a diagnosis dated by its year."""

import copy
import datetime
import json
from pathlib import Path

import pytest

from nlp import parse_eligibility
from recruitment.fhir_import import ImportPreview, bundle_read, fhir_import_confirm
from recruitment.matching import Truth, evaluate_tree
from recruitment.models import PatientProfile
from recruitment.selectors.matching import patient_facts
from recruitment.services.profile import patient_profile_for

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).parent / "fixtures" / "fhir" / "lung_patient_bundle.json"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"


@pytest.fixture
def bundle():
    return json.loads(FIXTURE.read_text())


def entry_of(bundle, resource_id):
    return next(e for e in bundle["entry"] if e["resource"].get("id") == resource_id)["resource"]


def sources(preview: ImportPreview) -> set[str]:
    return {fact.source for fact in preview.facts}


def skipped_reason(preview: ImportPreview, source: str) -> str:
    return next(item.reason for item in preview.skipped if item.source == source)


# Observations -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["cancelled", "entered-in-error", "preliminary", "registered"])
@pytest.mark.parametrize("resource_id", ["obs-creat", "obs-ecog", "obs-egfr", "obs-pdl1"])
def test_maria_s_result_that_is_not_final_is_left_out_naming_its_status(bundle, resource_id, status):
    """Cancelled and in-error results were never hers; a registered test has no result yet, and a
    preliminary one may still change, which a profile fact (always a result) cannot say."""
    entry_of(bundle, resource_id)["status"] = status
    preview = bundle_read(json.dumps(bundle))
    source = f"Observation/{resource_id}"
    assert source not in sources(preview)
    assert skipped_reason(preview, source).startswith(f"status is {status}")


@pytest.mark.parametrize("status", ["final", "amended", "corrected"])
def test_maria_s_final_or_corrected_result_is_imported(bundle, status):
    entry_of(bundle, "obs-creat")["status"] = status
    assert "Observation/obs-creat" in sources(bundle_read(json.dumps(bundle)))


def test_a_preliminary_stage_group_does_not_stage_maria_s_cancer(bundle):
    stage_group = {
        "resourceType": "Observation",
        "id": "obs-stage",
        "status": "preliminary",
        "code": {"coding": [{"system": "http://loinc.org", "code": "21908-9"}]},
        "subject": {"reference": "Patient/maria-lopez"},
        "valueCodeableConcept": {"text": "Stage IIIB"},
    }
    entry_of(bundle, "cond-luad").pop("stage", None)
    bundle["entry"].append({"resource": copy.deepcopy(stage_group)})
    preview = bundle_read(json.dumps(bundle))
    (luad,) = [f for f in preview.facts if f.source == "Condition/cond-luad"]
    assert "stage" not in luad.values
    assert skipped_reason(preview, "Observation/obs-stage").startswith("status is preliminary")


# Medications --------------------------------------------------------------------------------------------

TODAY = datetime.date(2026, 11, 23)


def verdict(line: str, facts, section: str = "Exclusion") -> Truth:
    (criterion,) = parse_eligibility(f"{section} Criteria:\n- {line}\n").criteria
    return evaluate_tree(criterion.tree, facts, today=TODAY, section=criterion.section)[0]


def completed_carboplatin(bundle, status="completed"):
    statement = entry_of(bundle, "med-carbo")
    statement["status"] = status
    statement["effectivePeriod"] = {"start": "2024-03-05"}
    return bundle


@pytest.mark.parametrize("status", ["completed", "stopped"])
def test_maria_s_carboplatin_completed_without_an_end_date_is_not_ongoing(bundle, status):
    preview = bundle_read(json.dumps(completed_carboplatin(bundle, status)))
    (carbo,) = [f for f in preview.facts if f.source == "MedicationStatement/med-carbo"]
    assert carbo.values == {"drug": "carboplatin", "started_on": "2024-03-05", "ended": True}
    assert "ended, date not known" in carbo.summary


def test_a_completed_medication_request_without_an_end_is_not_ongoing(bundle):
    entry_of(bundle, "med-osi")["status"] = "completed"
    (osimertinib,) = [
        f for f in bundle_read(json.dumps(bundle)).facts if f.source == "MedicationRequest/med-osi"
    ]
    assert osimertinib.values == {"drug": "osimertinib", "started_on": "2024-07-01", "ended": True}


def test_maria_s_completed_carboplatin_leaves_a_washout_unknown_and_concurrent_chemotherapy_not_met(
    bundle, pat
):
    """With no end date, no window can say how long ago she stopped; but she is not on it now (her list of
    treatments confirmed complete, so that no other chemotherapy is unknown)."""
    profile = patient_profile_for(pat)
    PatientProfile.objects.filter(pk=profile.pk).update(history_confirmed_on=TODAY)
    preview = bundle_read(json.dumps(completed_carboplatin(bundle)))
    carbo = [f.key for f in preview.facts if f.source == "MedicationStatement/med-carbo"]
    fhir_import_confirm(profile=profile, preview=preview, keys=carbo, actor=pat)
    profile.refresh_from_db()
    facts = patient_facts(profile=profile)
    assert verdict("Chemotherapy within 4 weeks prior to enrollment", facts) == Truth.UNKNOWN
    assert verdict("Concurrent chemotherapy", facts) == Truth.NOT_MET


def test_renewed_prescriptions_one_completed_without_an_end_end_on_an_unknown_date(bundle):
    second = copy.deepcopy(entry_of(bundle, "med-carbo"))
    second.update(id="med-carbo-2", status="completed", effectivePeriod={"start": "2024-07-01"})
    bundle["entry"].append({"resource": second})
    (carbo,) = [f for f in bundle_read(json.dumps(bundle)).facts if f.values.get("drug") == "carboplatin"]
    assert carbo.values == {"drug": "carboplatin", "started_on": "2024-03-05", "ended": True}


# Conditions ---------------------------------------------------------------------------------------------


def hana_bundle(clinical_status: str) -> dict:
    """Hana's mCODE primary cancer condition: breast cancer, diagnosed in 2018, now `clinical_status`."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "hana",
                    "gender": "female",
                    "birthDate": "1979-09-15",
                }
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "hana-breast",
                    "meta": {
                        "profile": [
                            "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-primary-cancer-condition"
                        ]
                    },
                    "clinicalStatus": {"coding": [{"system": CLINICAL, "code": clinical_status}]},
                    "verificationStatus": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                "code": "confirmed",
                            }
                        ]
                    },
                    "code": {
                        "coding": [
                            {
                                "system": "http://snomed.info/sct",
                                "code": "254837009",
                                "display": "Malignant neoplasm of breast (disorder)",
                            }
                        ]
                    },
                    "subject": {"reference": "Patient/hana"},
                    "onsetDateTime": "2018-06-01",
                    "abatementDateTime": "2019-02-01",
                }
            },
        ],
    }


@pytest.mark.parametrize("clinical_status", ["remission", "resolved", "inactive"])
def test_hanas_breast_cancer_in_remission_is_imported_as_resolved(clinical_status):
    (breast,) = [
        f for f in bundle_read(json.dumps(hana_bundle(clinical_status))).facts if f.kind == "diagnosis"
    ]
    assert breast.values["resolved"] is True
    assert "resolved or in remission" in breast.summary


def test_an_active_condition_is_not_resolved():
    (breast,) = [f for f in bundle_read(json.dumps(hana_bundle("active"))).facts if f.kind == "diagnosis"]
    assert "resolved" not in breast.values


def test_hanas_imported_remission_meets_a_history_of_breast_cancer_but_not_a_present_one(pat):
    profile = patient_profile_for(pat)
    preview = bundle_read(json.dumps(hana_bundle("remission")))
    fhir_import_confirm(profile=profile, preview=preview, keys=[f.key for f in preview.facts], actor=pat)
    facts = patient_facts(profile=profile)
    assert verdict("History of breast cancer", facts) == Truth.MET
    assert verdict("Histologically confirmed breast cancer", facts, section="Inclusion") == Truth.UNKNOWN


def test_hanas_cancer_recorded_in_remission_then_active_again_is_not_resolved():
    bundle = hana_bundle("remission")
    again = copy.deepcopy(bundle["entry"][1]["resource"])
    again.update(id="hana-breast-2", clinicalStatus={"coding": [{"system": CLINICAL, "code": "recurrence"}]})
    again.pop("abatementDateTime")
    bundle["entry"].append({"resource": again})
    (breast,) = [f for f in bundle_read(json.dumps(bundle)).facts if f.kind == "diagnosis"]
    assert "resolved" not in breast.values
