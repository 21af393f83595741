"""FHIR R4 export as plain dicts: a patient's consents (R4 Consent), a trial and its candidates
(ResearchStudy, ResearchSubject), and a patient's profile facts (Patient, Condition, Observation,
MedicationStatement, Procedure), one Bundle each."""

import base64
import hashlib
import re
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings

from recruitment.models import (
    Biomarker,
    Candidate,
    CandidateStatus,
    Consent,
    Diagnosis,
    LabResult,
    PatientProfile,
    Procedure,
    Therapy,
)
from recruitment.models.profile import DatePrecision
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


# Profile export: the facts matching reads, as R4 resources in the shapes `fhir_import.bundle_read` reads (US
# Core / mCODE), so that a profile exported and imported again gives the same facts.

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ECOG_LOINC = "89247-1"
VARIANT_LOINC = "69548-6"
# Sequence Ontology change types the import reads back (a point mutation is a substitution).
SO_CHANGE_TYPES: dict[str, str] = {
    Biomarker.Alteration.MUTATION: "SO:1000002",
    Biomarker.Alteration.DELETION: "SO:0000159",
    Biomarker.Alteration.INSERTION: "SO:0000667",
    Biomarker.Alteration.AMPLIFICATION: "SO:0001019",
    Biomarker.Alteration.FUSION: "SO:0001565",
}
ABSENT, PRESENT, UNCERTAIN_SIGNIFICANCE = "LA9634-2", "LA9633-4", "LA26333-7"
ANSWERS: dict[str, str] = {
    Biomarker.Status.POSITIVE: PRESENT,
    Biomarker.Status.NEGATIVE: ABSENT,
    Biomarker.Status.EQUIVOCAL: "LA4259-3",
}
# Tumour markers (mCODE tumor marker test) by gene and measure, as fhir_import.TUMOUR_MARKERS reads them.
TUMOUR_MARKER_LOINCS = {
    ("ESR1", ""): "16112-5",
    ("ESR1", "IHC"): "40556-3",
    ("PGR", ""): "16113-3",
    ("PGR", "IHC"): "40557-1",
    ("ERBB2", "IHC"): "18474-7",
    ("ERBB2", ""): "48676-1",
    ("ERBB2", "FISH"): "85318-4",
    ("MSI", ""): "81695-9",
    ("TMB", ""): "94076-7",
}


def _date(day: date, precision: str = DatePrecision.DAY) -> str:
    """A FHIR date with no more than the record knows: "2019" for a year, "2019-05" for a month."""
    text = day.isoformat()
    return (
        text[:4]
        if precision == DatePrecision.YEAR
        else text[:7]
        if precision == DatePrecision.MONTH
        else text
    )


def _ucum(unit: str) -> str:
    """A stored unit (nlp.units notation) in UCUM: 10^9/L -> 10*9/L, the eGFR 1.73m^2 as {1.73_m2}."""
    text = unit.replace("1.73m^2", "{1.73_m2}")
    return re.sub(r"10\^(\d+)", r"10*\1", text).replace("^", "") or "1"


def _quantity(value: Decimal, unit: str) -> dict[str, Any]:
    """A Quantity; a score without a unit (HER2 IHC 1) has none."""
    return {"value": float(value), **({"unit": unit, "system": UCUM, "code": unit} if unit else {})}


def _condition(patient_ref: str, d: Diagnosis) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"diagnosis-{d.pk}",
        "subject": {"reference": patient_ref},
        "code": {"text": d.label or d.code},
    }
    if d.presence == Diagnosis.Presence.ABSENT:
        resource["verificationStatus"] = {"coding": [{"system": VERIFICATION_STATUS, "code": "refuted"}]}
    else:
        status = "resolved" if d.resolved else "recurrence" if d.course == "recurrent" else "active"
        resource["clinicalStatus"] = {"coding": [{"system": CLINICAL_STATUS, "code": status}]}
        resource["verificationStatus"] = {"coding": [{"system": VERIFICATION_STATUS, "code": "confirmed"}]}
    if d.diagnosed_on:
        resource["onsetDateTime"] = _date(d.diagnosed_on, d.diagnosed_on_precision)
    if d.stage:
        resource["stage"] = [{"summary": {"text": f"Stage {d.stage}"}}]
    return resource


def _observation(patient_ref: str, resource_id: str, code: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": resource_id,
        "status": "final",
        "code": code,
        "subject": {"reference": patient_ref},
        **fields,
    }


def _biomarker(patient_ref: str, b: Biomarker) -> dict[str, Any] | None:
    """A gene's alteration as a genomics-reporting variant; PD-L1, ER, PR, HER2, MSI and TMB as tumour
    markers, with their number or their answer. Anything else (a loss of protein, an expression of another
    gene) has no shape the import reads: None."""
    tested = {"effectiveDateTime": _date(b.tested_on)} if b.tested_on else {}
    method = {"method": {"text": b.assay}} if b.assay else {}
    loinc = TUMOUR_MARKER_LOINCS.get((b.gene, b.measure))
    if loinc is not None:
        value: dict[str, Any] = (
            {"valueQuantity": _quantity(b.value, b.unit)}
            if b.value is not None
            else {"valueCodeableConcept": {"coding": [{"system": LOINC, "code": ANSWERS[b.status]}]}}
        )
        return _observation(
            patient_ref,
            f"biomarker-{b.pk}",
            {"coding": [{"system": LOINC, "code": loinc}]},
            **value,
            **tested,
            **method,
        )
    if b.gene == "CD274" and b.value is not None:
        return _observation(
            patient_ref,
            f"biomarker-{b.pk}",
            {"text": f"PD-L1 {b.measure}".strip()},
            valueQuantity=_quantity(b.value, b.unit),
            **tested,
        )
    wild_type = b.alteration_type == Biomarker.Alteration.WILD_TYPE
    if b.alteration_type not in SO_CHANGE_TYPES and not wild_type:
        return None
    components = [
        {"code": {"coding": [{"system": LOINC, "code": "48018-6"}]}, "valueCodeableConcept": {"text": b.gene}}
    ]
    if b.protein_change:
        components.append(
            {
                "code": {"coding": [{"system": LOINC, "code": "48005-3"}]},
                "valueCodeableConcept": {"text": b.protein_change},
            }
        )
    if not wild_type:
        components.append(
            {
                "code": {"coding": [{"system": LOINC, "code": "48019-4"}]},
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://www.sequenceontology.org",
                            "code": SO_CHANGE_TYPES[b.alteration_type],
                        }
                    ]
                },
            }
        )
    if b.status == Biomarker.Status.EQUIVOCAL:
        components.append(
            {
                "code": {"coding": [{"system": LOINC, "code": "53037-8"}]},
                "valueCodeableConcept": {"coding": [{"system": LOINC, "code": UNCERTAIN_SIGNIFICANCE}]},
            }
        )
    answer = ABSENT if b.status == Biomarker.Status.NEGATIVE else PRESENT
    return _observation(
        patient_ref,
        f"biomarker-{b.pk}",
        {"coding": [{"system": LOINC, "code": VARIANT_LOINC}]},
        valueCodeableConcept={"coding": [{"system": LOINC, "code": answer}]},
        component=components,
        **tested,
        **method,
    )


def _lab(patient_ref: str, r: LabResult) -> dict[str, Any]:
    unit = _ucum(r.unit)
    fields: dict[str, Any] = {
        "effectiveDateTime": _date(r.collected_on),
        "valueQuantity": {"value": float(r.value), "unit": unit, "system": UCUM, "code": unit},
    }
    limits = {
        bound: {"value": float(limit), "unit": unit, "system": UCUM, "code": unit}
        for bound, limit in (("low", r.reference_low), ("high", r.reference_high))
        if limit is not None
    }
    if limits:
        fields["referenceRange"] = [limits]
    return _observation(
        patient_ref,
        f"lab-{r.pk}",
        {"coding": [{"system": LOINC, "code": r.loinc}], "text": r.analyte},
        **fields,
    )


def _medication(patient_ref: str, t: Therapy) -> dict[str, Any]:
    over = t.ended_on is not None or t.ended
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": f"therapy-{t.pk}",
        "status": "completed" if over else "active",
        "medicationCodeableConcept": {"text": t.drug},
        "subject": {"reference": patient_ref},
    }
    period = {
        **({"start": _date(t.started_on)} if t.started_on else {}),
        **({"end": _date(t.ended_on, t.ended_on_precision)} if t.ended_on else {}),
    }
    if period:
        resource["effectivePeriod"] = period
    return resource


def _procedure(patient_ref: str, p: Procedure) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": f"procedure-{p.pk}",
        "status": "completed",
        "code": {"text": p.name},
        "subject": {"reference": patient_ref},
    }
    if p.performed_on:
        resource["performedDateTime"] = _date(p.performed_on, p.performed_on_precision)
    return resource


def patient_record_bundle(*, patient: PatientProfile) -> dict[str, Any]:
    """The patient's profile as an R4 collection Bundle: Patient (birth date, sex), Conditions, Observations
    (ECOG, biomarkers, laboratory results), MedicationStatements and Procedures. Contact details stay out:
    the export is of what matching reads."""
    patient_ref = f"Patient/{patient.pk}"
    person: dict[str, Any] = {"resourceType": "Patient", "id": str(patient.pk)}
    if patient.birth_date:
        person["birthDate"] = _date(patient.birth_date)
    if patient.sex:
        person["gender"] = patient.sex
    resources: list[dict[str, Any] | None] = [person]
    resources += [_condition(patient_ref, d) for d in patient.diagnoses.order_by("id")]
    if patient.ecog is not None:
        assessed = {"effectiveDateTime": _date(patient.ecog_assessed_on)} if patient.ecog_assessed_on else {}
        resources.append(
            _observation(
                patient_ref,
                "ecog",
                {"coding": [{"system": LOINC, "code": ECOG_LOINC}]},
                valueInteger=patient.ecog,
                **assessed,
            )
        )
    resources += [_biomarker(patient_ref, b) for b in patient.biomarkers.order_by("id")]
    resources += [_lab(patient_ref, r) for r in patient.lab_results.order_by("id")]
    resources += [_medication(patient_ref, t) for t in patient.therapies.order_by("id")]
    resources += [_procedure(patient_ref, p) for p in patient.procedures.order_by("id")]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [_entry(resource) for resource in resources if resource is not None],
    }
