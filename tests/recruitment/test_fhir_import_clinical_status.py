"""FHIR statuses and partial dates a clinical record carries, read for what they say about the patient today:
a result not yet final, a disease in remission, a drug course completed, a diagnosis dated by its year."""

import copy
import json
from pathlib import Path

import pytest

from recruitment.fhir_import import ImportPreview, bundle_read

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
