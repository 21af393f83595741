"""Reads for consent. "Active" means signed for the current effective version of the purpose and not
withdrawn: a new version pauses everything that depends on the purpose until the patient signs it."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from recruitment.models import (
    Consent,
    PatientProfile,
)
from trials.models import ConsentDocument, Trial


def current_consent_document(*, purpose: str, language: str = "en") -> ConsentDocument | None:
    """The version patients are asked to sign now for `purpose`, in `language` if it exists, else any."""
    current = _current_consent_documents(purpose=purpose)
    return current.filter(language=language).first() or current.first()


def _current_consent_documents(*, purpose: str) -> QuerySet[ConsentDocument]:
    now = timezone.now()
    in_effect = ConsentDocument.objects.filter(
        purpose=purpose, published_at__isnull=False, effective_from__lte=now
    ).filter(Q(effective_until__isnull=True) | Q(effective_until__gt=now))
    latest = in_effect.order_by("-effective_from").values_list("version", flat=True).first()
    if latest is None:
        return ConsentDocument.objects.none()
    return in_effect.filter(version=latest).order_by("language")


def active_consents(*, purpose: str, trial: Trial | None = None) -> QuerySet[Consent]:
    """Every patient's consents active now for `purpose` (for sharing: with `trial`, when given)."""
    consents = Consent.objects.filter(
        purpose=purpose,
        withdrawn_at__isnull=True,
        document__in=_current_consent_documents(purpose=purpose),
    )
    return consents.filter(trial=trial) if trial is not None else consents


def patient_has_active_consent(*, patient: PatientProfile, purpose: str, trial: Trial | None = None) -> bool:
    """Whether `patient` consents now to `purpose` (for sharing: with `trial`) under the current version."""
    if purpose == ConsentDocument.Purpose.SHARE and trial is None:
        raise ValueError("Sharing consent is given per trial; pass the trial.")
    return active_consents(purpose=purpose, trial=trial).filter(patient=patient).exists()


def profiles_with_active_consent(purpose: str, trial: Trial | None = None) -> QuerySet[PatientProfile]:
    """Profiles whose patients consent now to `purpose` (for sharing: with `trial`), e.g. those to match."""
    return PatientProfile.objects.filter(
        pk__in=active_consents(purpose=purpose, trial=trial).values("patient_id")
    )


def patient_consents(*, patient: PatientProfile) -> list[Consent]:
    """Every consent of the patient, newest first, withdrawn ones included: the full history."""
    return list(
        Consent.objects.filter(patient=patient)
        .select_related("document", "trial")
        .order_by("-signed_at", "-id")
    )


@dataclass(frozen=True)
class ConsentStatus:
    """What the consent page shows for one purpose: the text to sign now and the patient's standing."""

    purpose: str
    label: str
    document: ConsentDocument | None
    active: Consent | None
    outdated: Consent | None

    @property
    def needs_reconsent(self) -> bool:
        return self.active is None and self.outdated is not None


def consent_overview(*, patient: PatientProfile, language: str = "en") -> list[ConsentStatus]:
    """Per general purpose (matching, contact): the current document, the active consent and, when only an
    older version was signed, that consent (so the page can ask to sign again)."""
    open_consents = [
        c for c in patient_consents(patient=patient) if c.withdrawn_at is None and c.trial_id is None
    ]
    rows = []
    for purpose in (ConsentDocument.Purpose.MATCHING, ConsentDocument.Purpose.CONTACT):
        document = current_consent_document(purpose=purpose, language=language)
        current_ids = set(_current_consent_documents(purpose=purpose).values_list("pk", flat=True))
        mine = [c for c in open_consents if c.purpose == purpose]
        active = next((c for c in mine if c.document_id in current_ids), None)
        outdated = None if active else next(iter(mine), None)
        rows.append(
            ConsentStatus(purpose, ConsentDocument.Purpose(purpose).label, document, active, outdated)
        )
    return rows


def is_current_consent_document(document: ConsentDocument) -> bool:
    return _current_consent_documents(purpose=document.purpose).filter(pk=document.pk).exists()


def current_contact_consent(*, patient: PatientProfile) -> Consent | None:
    """The patient's active consent to be contacted by sites, if any."""
    return active_consents(purpose=ConsentDocument.Purpose.CONTACT).filter(patient=patient).first()
