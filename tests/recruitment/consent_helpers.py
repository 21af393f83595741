"""Consent documents and signed consents for tests: one published version per purpose, in effect now."""

import datetime

from django.utils import timezone

from recruitment.models import Consent, PatientProfile
from recruitment.services.consent import consent_give
from trials.models import ConsentDocument, Trial

Purpose = ConsentDocument.Purpose

TEXTS: dict[str, tuple[str, str]] = {
    Purpose.MATCHING: (
        "Agreeing to be matched with trials",
        "We compare your profile with the entry rules of clinical trials. Nobody outside this service sees "
        "your profile unless you agree to it separately. You can stop this at any time.",
    ),
    Purpose.CONTACT: (
        "Agreeing to be contacted by study teams",
        "Study teams of trials you match may contact you by e-mail. You can stop this at any time.",
    ),
    Purpose.SHARE: (
        "Sharing your profile with one trial",
        "The study team of this trial sees your profile. You can stop this at any time.",
    ),
}


def publish(
    purpose: str, version: str = "1.0", *, days_ago: int = 30, body: str | None = None
) -> ConsentDocument:
    title, text = TEXTS[purpose]
    now = timezone.now()
    return ConsentDocument.objects.create(
        purpose=purpose,
        version=version,
        title=title,
        body=body or text,
        effective_from=now - datetime.timedelta(days=days_ago),
        published_at=now - datetime.timedelta(days=days_ago),
    )


def publish_all() -> dict[str, ConsentDocument]:
    return {purpose: publish(purpose) for purpose in Purpose.values}


def name_patient(patient: PatientProfile, first: str = "Elena", last: str = "Rossi") -> None:
    patient.user.first_name, patient.user.last_name = first, last
    patient.user.save(update_fields=["first_name", "last_name"])


def sign(patient: PatientProfile, document: ConsentDocument, trial: Trial | None = None) -> Consent:
    return consent_give(
        patient=patient, document=document, typed_name=patient.user.get_full_name(), trial=trial
    )
