"""FHIR R4 export of a patient's consents, as plain dicts in the R4 Consent shape (one Bundle per patient)."""

import base64
import hashlib
from typing import Any

from django.conf import settings

from recruitment.models import Candidate, CandidateStatus, Consent, PatientProfile
from recruitment.selectors.consent import is_current_consent_document, patient_consents
from recruitment.selectors.site import match_standings
from trials.models import Trial

PURPOSE_SYSTEM = f"{settings.SITE_ROOT}/fhir/CodeSystem/consent-purpose"
DOCUMENT_HASH_SYSTEM = f"{settings.SITE_ROOT}/fhir/NamingSystem/consent-document-sha256"


def _instant(value: Any) -> str:
    return value.isoformat(timespec="seconds")


def consent_to_fhir(consent: Consent) -> dict[str, Any]:
    """One signed consent as a FHIR R4 Consent: active while not withdrawn and on the current version,
    inactive otherwise; the provision's period ends at withdrawal."""
    document = consent.document
    active = consent.withdrawn_at is None and is_current_consent_document(document)
    period: dict[str, str] = {"start": _instant(consent.signed_at)}
    if consent.withdrawn_at is not None:
        period["end"] = _instant(consent.withdrawn_at)
    provision: dict[str, Any] = {
        "type": "permit",
        "period": period,
        "purpose": [
            {"system": PURPOSE_SYSTEM, "code": consent.purpose, "display": document.get_purpose_display()}
        ],
    }
    if consent.trial_id is not None and consent.trial is not None:
        provision["data"] = [
            {"meaning": "related", "reference": {"reference": f"ResearchStudy/{consent.trial.nct_id}"}}
        ]
    text = f"{document.title}\n\n{document.body}".encode()
    return {
        "resourceType": "Consent",
        "id": f"consent-{consent.pk}",
        "identifier": [{"system": DOCUMENT_HASH_SYSTEM, "value": consent.document_hash}],
        "status": "active" if active else "inactive",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "research",
                    "display": "Research",
                }
            ]
        },
        "category": [
            {"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Consent Document"}]}
        ],
        "patient": {"reference": f"Patient/{consent.patient_id}"},
        "dateTime": _instant(consent.signed_at),
        "sourceAttachment": {
            "contentType": "text/plain; charset=utf-8",
            "language": document.language,
            "title": f"{document.title} (version {document.version})",
            # FHIR R4 Attachment.hash is the base64 SHA-1; the SHA-256 signed is in `identifier`.
            "hash": base64.b64encode(hashlib.sha1(text, usedforsecurity=False).digest()).decode(),
        },
        "policyRule": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "OPTIN",
                    "display": "opt-in",
                }
            ]
        },
        "verification": [
            {
                "verified": True,
                "verifiedWith": {"display": consent.typed_name},
                "verificationDate": _instant(consent.signed_at),
            }
        ],
        "provision": provision,
    }


def patient_consents_bundle(*, patient: PatientProfile) -> dict[str, Any]:
    """Every consent of the patient (withdrawn ones too) as a FHIR R4 collection Bundle."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": consent_to_fhir(c)} for c in patient_consents(patient=patient)],
    }


# Research export: a trial as an R4 ResearchStudy and a site's candidates as R4 ResearchSubjects. Subjects are
# named by their pseudonymous subject code (a logical identifier reference), never by a Patient id.

SUBJECT_CODE_SYSTEM = f"{settings.SITE_ROOT}/fhir/NamingSystem/subject-code"
FHIR_BASE = f"{settings.SITE_ROOT}/fhir"
NCT_SYSTEM = "https://clinicaltrials.gov"

# Our workflow states on the R4 ResearchSubject status value set (research-subject-status).
RESEARCH_SUBJECT_STATUS: dict[str, str] = {
    CandidateStatus.MATCHED: "potential-candidate",
    CandidateStatus.PRE_SCREENED: "candidate",
    CandidateStatus.CONTACTED: "candidate",
    CandidateStatus.CONSENTED: "pending-on-study",
    CandidateStatus.SCREENING: "screening",
    CandidateStatus.ENROLLED: "on-study",
    CandidateStatus.PRE_SCREEN_INELIGIBLE: "ineligible",
    CandidateStatus.SCREEN_FAILED: "ineligible",
    CandidateStatus.DECLINED: "not-registered",
    CandidateStatus.UNREACHABLE: "not-registered",
    CandidateStatus.WITHDRAWN: "withdrawn",
}

# ClinicalTrials.gov overall status on the R4 ResearchStudy status value set (research-study-status).
RESEARCH_STUDY_STATUS: dict[str, str] = {
    Trial.Status.RECRUITING: "active",
    Trial.Status.NOT_YET_RECRUITING: "approved",
    Trial.Status.ENROLLING_BY_INVITATION: "active",
    Trial.Status.ACTIVE_NOT_RECRUITING: "closed-to-accrual",
    Trial.Status.SUSPENDED: "temporarily-closed-to-accrual",
    Trial.Status.TERMINATED: "administratively-completed",
    Trial.Status.COMPLETED: "completed",
    Trial.Status.WITHDRAWN: "withdrawn",
}
"""Statuses not listed (expanded access, unknown) export as closed-to-accrual: not taking candidates here."""
PHASE_SYSTEM = "http://terminology.hl7.org/CodeSystem/research-study-phase"
R4_PHASES: dict[str, str] = {
    Trial.Phase.EARLY_PHASE1: "early-phase-1",
    Trial.Phase.PHASE1: "phase-1",
    Trial.Phase.PHASE1_PHASE2: "phase-1-phase-2",
    Trial.Phase.PHASE2: "phase-2",
    Trial.Phase.PHASE2_PHASE3: "phase-2-phase-3",
    Trial.Phase.PHASE3: "phase-3",
    Trial.Phase.PHASE4: "phase-4",
}


def research_study(trial: Trial) -> dict[str, Any]:
    """A trial as an R4 ResearchStudy with its arms (cohorts/strata)."""
    study: dict[str, Any] = {
        "resourceType": "ResearchStudy",
        "id": trial.nct_id,
        "identifier": [{"system": NCT_SYSTEM, "value": trial.nct_id}],
        "title": trial.brief_title,
        "status": RESEARCH_STUDY_STATUS.get(trial.overall_status, "closed-to-accrual"),
        "arm": [
            {"name": arm.label, **({"description": arm.description} if arm.description else {})}
            for arm in trial.arms.order_by("id")
        ],
    }
    phase = R4_PHASES.get(trial.phase)
    if phase is not None:
        study["phase"] = {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/research-study-phase", "code": phase}
            ]
        }
    return study


def research_subject(candidate: Candidate, *, arm_shown: bool = True) -> dict[str, Any]:
    """A candidate as an R4 ResearchSubject, identified by subject code only; its arm only with
    `arm_shown` (see `site_research_bundle`)."""
    subject: dict[str, Any] = {
        "resourceType": "ResearchSubject",
        "id": candidate.subject_code,
        "identifier": [{"system": SUBJECT_CODE_SYSTEM, "value": candidate.subject_code}],
        "status": RESEARCH_SUBJECT_STATUS[candidate.status],
        "period": {"start": _instant(candidate.created_at)},
        "study": {"reference": f"ResearchStudy/{candidate.trial.nct_id}"},
        "individual": {"identifier": {"system": SUBJECT_CODE_SYSTEM, "value": candidate.subject_code}},
    }
    if not candidate.is_open:
        subject["period"]["end"] = _instant(candidate.updated_at)
    if candidate.arm is not None and arm_shown:
        key = "actualArm" if candidate.status == CandidateStatus.ENROLLED else "assignedArm"
        subject[key] = candidate.arm.label
    return subject


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    """A Bundle entry with its fullUrl: FHIR resolves a relative reference inside a Bundle (a subject's
    study) against the base of the referring entry's fullUrl, so without one nothing resolves."""
    return {"fullUrl": f"{FHIR_BASE}/{resource['resourceType']}/{resource['id']}", "resource": resource}


def site_research_bundle(*, trial: Trial, candidates: list[Candidate]) -> dict[str, Any]:
    """The trial's ResearchStudy and the given candidates' ResearchSubjects as an R4 collection Bundle.

    A subject's arm is given only while its match may be shown (`match_standings`), as in the queue: not
    for a patient who no longer consents to matching, nor from a match a re-match retired."""
    standings = match_standings(candidates=candidates)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            _entry(research_study(trial)),
            *(_entry(research_subject(c, arm_shown=standings[c.pk].current)) for c in candidates),
        ],
    }
