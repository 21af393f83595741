"""One fact, one rule: a value is refused with the same message whichever way it comes in (the patient's
portal forms, the API, the FHIR import, the summary paste, the models behind the site pages and the admin).

Pat is the patient who types, posts or imports each value; the FHIR Bundle is Maria Lopez's record.
"""

import copy
import json
from datetime import date
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from recruitment.fhir_import import BundleError, bundle_read
from recruitment.forms import ProfileForm
from recruitment.models import LabResult
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


def test_ecog_5_is_refused_in_the_same_words_on_every_path_in(pat):
    """Grade 5 means dead: a registered patient's ECOG is 0-4 whether typed, posted, pasted or imported."""
    profile = patient_profile_for(pat)
    expected = "An ECOG performance status is 0, 1, 2, 3 or 4 (5 means the patient has died), not 5."
    with pytest.raises(ValidationError) as model:
        profile_update(profile=profile, fields={"ecog": 5})
    form = ProfileForm({"ecog": "5", "pregnancy_status": "unknown"}, instance=profile)
    api = APIClient()
    api.force_authenticate(pat)
    response = api.patch(reverse("api:me-profile"), {"ecog": 5}, format="json")
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
