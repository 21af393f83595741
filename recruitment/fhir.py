"""FHIR R4 export of a patient's consents, as plain dicts in the R4 Consent shape (one Bundle per patient)."""

import base64
import hashlib
from typing import Any

from django.conf import settings

from recruitment.models import Consent, PatientProfile
from recruitment.selectors import is_current_consent_document, patient_consents

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
