"""FHIR R4 ResearchStudy/ResearchSubject export for site staff, checked against the R4 structure: required
elements, value sets of status and phase, reference shapes, and no direct identifier of the patient."""

import json
import re
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from recruitment.fhir import RESEARCH_SUBJECT_STATUS, research_study, research_subject
from recruitment.models import CandidateStatus, Match
from recruitment.services.workflow import candidate_transition
from tests import factories
from tests.recruitment.workflow_helpers import candidate_for

S = CandidateStatus
# R4 value sets: http://hl7.org/fhir/R4/valueset-research-subject-status.html and research-study-status.
R4_SUBJECT_STATUSES = {
    "candidate",
    "eligible",
    "follow-up",
    "ineligible",
    "not-registered",
    "off-study",
    "on-study",
    "on-study-intervention",
    "on-study-observation",
    "pending-on-study",
    "potential-candidate",
    "screening",
    "withdrawn",
}
R4_STUDY_STATUSES = {
    "active",
    "administratively-completed",
    "approved",
    "closed-to-accrual",
    "closed-to-accrual-and-intervention",
    "completed",
    "disapproved",
    "in-review",
    "temporarily-closed-to-accrual",
    "temporarily-closed-to-accrual-and-intervention",
    "withdrawn",
}
R4_PHASES = {
    "n-a",
    "early-phase-1",
    "phase-1",
    "phase-1-phase-2",
    "phase-2",
    "phase-2-phase-3",
    "phase-3",
    "phase-4",
}
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}([+-]\d{2}:\d{2}|Z)")


def assert_research_subject(resource: dict[str, Any]) -> None:
    assert resource["resourceType"] == "ResearchSubject"
    assert set(resource) <= {
        "resourceType",
        "id",
        "identifier",
        "status",
        "period",
        "study",
        "individual",
        "assignedArm",
        "actualArm",
        "consent",
    }
    assert FHIR_ID.fullmatch(resource["id"])
    assert resource["status"] in R4_SUBJECT_STATUSES
    assert re.fullmatch(r"ResearchStudy/[A-Za-z0-9\-.]+", resource["study"]["reference"])
    assert set(resource["individual"]) == {"identifier"}
    assert set(resource["individual"]["identifier"]) == {"system", "value"}
    for value in resource["period"].values():
        assert INSTANT.fullmatch(value)


def assert_research_study(resource: dict[str, Any]) -> None:
    assert resource["resourceType"] == "ResearchStudy"
    assert FHIR_ID.fullmatch(resource["id"])
    assert resource["status"] in R4_STUDY_STATUSES
    for arm in resource["arm"]:
        assert isinstance(arm["name"], str)
        assert arm["name"]
    if "phase" in resource:
        (coding,) = resource["phase"]["coding"]
        assert coding["code"] in R4_PHASES


def test_every_workflow_state_maps_to_an_r4_subject_status():
    assert set(RESEARCH_SUBJECT_STATUS) == set(S.values)
    assert set(RESEARCH_SUBJECT_STATUS.values()) <= R4_SUBJECT_STATUSES


@pytest.mark.django_db
def test_an_enrolled_candidate_is_on_study_in_its_actual_arm(nsclc_trial, boston_site, sam):
    arm = factories.ArmFactory.create(trial=nsclc_trial, label="EGFR exon 19")
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org", arm=arm, contact=True)
    for step in (S.PRE_SCREENED, S.CONTACTED, S.CONSENTED, S.SCREENING, S.ENROLLED):
        candidate_transition(candidate_id=candidate.pk, to_status=step, actor=sam)
    candidate.refresh_from_db()
    subject = research_subject(candidate)
    assert_research_subject(subject)
    assert (subject["status"], subject["actualArm"]) == ("on-study", "EGFR exon 19")
    study = research_study(nsclc_trial)
    assert_research_study(study)
    assert study["arm"] == [{"name": "EGFR exon 19"}]


@pytest.mark.django_db
def test_the_site_export_is_a_bundle_without_patient_identifiers(client, sam, nsclc_trial, boston_site):
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org")
    client.force_login(sam)
    response = client.get(reverse("site:fhir", args=[boston_site.pk, nsclc_trial.pk]))
    assert response["Content-Type"] == "application/fhir+json"
    bundle = json.loads(response.content)
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    study, subject = (entry["resource"] for entry in bundle["entry"])
    assert_research_study(study)
    assert_research_subject(subject)
    assert subject["identifier"][0]["value"] == candidate.subject_code
    body = response.content.decode()
    assert "elena" not in body.lower()
    assert "Rossi" not in body


@pytest.mark.django_db
def test_sams_export_names_no_cohort_the_queue_does_not_show(client, sam, nsclc_trial, boston_site):
    arm = factories.ArmFactory.create(trial=nsclc_trial, label="EGFR exon 19")
    elena = candidate_for(nsclc_trial, boston_site, email="elena@example.org", arm=arm)
    # A re-match retired her match (she no longer matches) and the candidacy has not followed yet: the
    # queue and the candidate page show no cohort for her.
    assert elena.match_id is not None
    Match.objects.filter(pk=elena.match_id).update(retired_at=timezone.now())
    client.force_login(sam)
    bundle = client.get(reverse("site:fhir", args=[boston_site.pk, nsclc_trial.pk])).json()
    _, subject = (entry["resource"] for entry in bundle["entry"])
    assert_research_subject(subject)
    assert subject["id"] == elena.subject_code
    assert "assignedArm" not in subject
    assert "EGFR exon 19" not in json.dumps(subject)
