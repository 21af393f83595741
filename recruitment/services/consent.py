"""Writes for consent: giving and withdrawing per purpose, and a patient's interest in a trial.

Giving and withdrawing lock the patient's profile row, so that a withdrawal racing a re-match or a
second tab's signature is applied after it, never interleaved. E-mails and the hook for the site workflow run
only after commit."""

import unicodedata
from collections.abc import Iterable
from datetime import datetime

from django.core.mail import send_mail
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from recruitment.models import (
    SIGNATURE_MEANING,
    Consent,
    ConsentEvent,
    Match,
    MatchEvent,
    PatientProfile,
    TrialInterest,
    User,
)
from recruitment.selectors.consent import current_contact_consent, is_current_consent_document
from recruitment.services.matching import match_horizon_drop, profile_changed
from trials.models import ConsentDocument, Trial

consent_withdrawn = Signal()
"""Sent after commit when consents are withdrawn, with `patient_id`, `purposes` (set of purpose codes),
`trial_ids` (trials of withdrawn share consents) and `interest_ids` (trial interests closed).

This is the hook for the site workflow: on contact or share withdrawal a receiver takes the patient out of
the site queues, cancels pending contact tasks and notifies sites with open candidacies."""


class ConsentError(ValueError):
    """A consent cannot be given or changed as asked; the message is meant for the patient. `field` names
    the one input that would fix it (typed_name, document or trial), if there is one."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _same_name(typed: str, expected: str) -> bool:
    """Alike whatever the spacing, case and Unicode form: an accent typed as a combining mark (NFD) is the
    same letter as the precomposed one (NFC)."""

    def key(name: str) -> str:
        return unicodedata.normalize("NFC", " ".join(name.split())).casefold()

    return key(typed) == key(expected)


@transaction.atomic
def consent_give(
    *,
    patient: PatientProfile,
    document: ConsentDocument,
    typed_name: str,
    trial: Trial | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
    actor: User | None = None,
) -> Consent:
    """Record the patient's signature of `document`: `consent_give_or_get` without saying which it did."""
    consent, _ = consent_give_or_get(
        patient=patient,
        document=document,
        typed_name=typed_name,
        trial=trial,
        ip_address=ip_address,
        user_agent=user_agent,
        actor=actor,
    )
    return consent


def consent_give_or_get(
    *,
    patient: PatientProfile,
    document: ConsentDocument,
    typed_name: str,
    trial: Trial | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
    actor: User | None = None,
) -> tuple[Consent, bool]:
    """Record the patient's signature of `document` (the current version of its purpose); returns the
    consent and whether it is new.

    The typed name must be the account's full name. Signing what is already signed and open returns the
    existing consent (a repeated request, e.g. a double click or a client's retry), and False. A matching
    consent queues a re-match of the patient after commit.
    """
    PatientProfile.objects.select_for_update().filter(pk=patient.pk).first()
    expected = patient.user.get_full_name()
    if not expected.strip():
        raise ConsentError("Add your full name to your account before signing.")
    if not _same_name(typed_name, expected):
        raise ConsentError(f"Type your full name exactly as on your account: {expected}.", field="typed_name")
    if not is_current_consent_document(document):
        raise ConsentError(
            "This version of the consent is no longer in use. Please read the current one.", field="document"
        )
    if (document.purpose == ConsentDocument.Purpose.SHARE) != (trial is not None):
        raise ConsentError(
            "Sharing is agreed per trial; other consents are not tied to a trial.", field="trial"
        )
    existing = Consent.objects.filter(
        patient=patient, purpose=document.purpose, document=document, trial=trial, withdrawn_at__isnull=True
    ).first()
    if existing is not None:
        return existing, False
    now = timezone.now()
    consent = Consent.objects.create(
        patient=patient,
        purpose=document.purpose,
        trial=trial,
        document=document,
        document_version=document.version,
        document_hash=document.content_hash,
        typed_name=" ".join(typed_name.split()),
        meaning=SIGNATURE_MEANING[document.purpose],
        signed_at=now,
        ip_address=ip_address or None,
        user_agent=user_agent[:400],
    )
    ConsentEvent.objects.create(
        consent=consent,
        kind=ConsentEvent.Kind.GIVEN,
        actor=actor,
        detail={"document_version": document.version, "document_hash": document.content_hash},
        created_at=now,
    )
    if document.purpose == ConsentDocument.Purpose.MATCHING:
        profile_changed(profile_id=patient.pk)
    return consent, True


def consent_withdraw(
    *,
    patient: PatientProfile,
    purposes: Iterable[str] | None = None,
    trial: Trial | None = None,
    reason: str = "",
    actor: User | None = None,
) -> list[Consent]:
    """Withdraw the patient's open consents for `purposes` (None: all; with `trial`: that trial's sharing),
    effective at once. Returns the consents withdrawn.

    Matching withdrawal retires every live match (a RETIRED event each) and drops the patient's
    `MatchHorizon`, as a re-match of a patient who is not matchable would; contact withdrawal closes every
    open trial interest, share withdrawal those of its trials. After commit `consent_withdrawn` is sent for
    the site workflow and the patient gets a confirmation e-mail. A reason the consent cannot keep whole
    (too long, or with a NUL character) is refused with ConsentError, nothing withdrawn.
    """
    longest = Consent._meta.get_field("withdrawal_reason").max_length or 0
    if len(reason) > longest or "\x00" in reason:
        raise ConsentError(
            f"Give the reason for withdrawing as text of at most {longest} characters; nothing was withdrawn."
        )
    with transaction.atomic():
        PatientProfile.objects.select_for_update().filter(pk=patient.pk).first()
        open_consents = Consent.objects.select_for_update().filter(patient=patient, withdrawn_at__isnull=True)
        if purposes is not None:
            open_consents = open_consents.filter(purpose__in=list(purposes))
        if trial is not None:
            open_consents = open_consents.filter(trial=trial)
        consents = list(open_consents)
        now = timezone.now()
        for consent in consents:
            consent.withdrawn_at = now
            consent.withdrawal_reason = reason
            consent.save(update_fields=["withdrawn_at", "withdrawal_reason"])
        ConsentEvent.objects.bulk_create(
            ConsentEvent(
                consent=consent,
                kind=ConsentEvent.Kind.WITHDRAWN,
                actor=actor,
                detail={"reason": reason},
                created_at=now,
            )
            for consent in consents
        )
        withdrawn = {consent.purpose for consent in consents}
        if ConsentDocument.Purpose.MATCHING in withdrawn:
            _matches_retire(patient=patient, reason="matching consent withdrawn", now=now)
            match_horizon_drop(profile_id=patient.pk)
        interests = TrialInterest.objects.select_for_update().filter(
            patient=patient, withdrawn_at__isnull=True
        )
        share_trials = {
            consent.trial_id for consent in consents if consent.purpose == ConsentDocument.Purpose.SHARE
        }
        if ConsentDocument.Purpose.CONTACT not in withdrawn:
            interests = interests.filter(trial_id__in=share_trials)
        interest_ids = list(interests.values_list("pk", flat=True))
        TrialInterest.objects.filter(pk__in=interest_ids).update(
            withdrawn_at=now, withdrawal_reason="consent withdrawn"
        )
        if consents:
            transaction.on_commit(
                lambda: _consent_withdrawn_notify(
                    patient=patient, purposes=withdrawn, trial_ids=share_trials, interest_ids=interest_ids
                )
            )
    return consents


def _matches_retire(*, patient: PatientProfile, reason: str, now: datetime) -> list[MatchEvent]:
    """Retire the patient's live matches, as a re-match retires one it no longer produces."""
    matches = list(Match.objects.select_for_update().filter(patient=patient, retired_at__isnull=True))
    for match in matches:
        match.retired_at = now
        match.save(update_fields=["retired_at"])
    return MatchEvent.objects.bulk_create(
        MatchEvent(match=match, kind=MatchEvent.Kind.RETIRED, detail={"reason": reason}, created_at=now)
        for match in matches
    )


def _consent_withdrawn_notify(
    *, patient: PatientProfile, purposes: set[str], trial_ids: set[int | None], interest_ids: list[int]
) -> None:
    consent_withdrawn.send(
        sender=Consent,
        patient_id=patient.pk,
        purposes=purposes,
        trial_ids={pk for pk in trial_ids if pk is not None},
        interest_ids=interest_ids,
    )
    labels = ", ".join(sorted(ConsentDocument.Purpose(p).label.lower() for p in purposes))
    send_mail(
        subject="Your consent was withdrawn",
        message=(
            f"You withdrew your consent to: {labels}.\n\nThis took effect at once. "
            "You can give consent again at any time from the Consent page of the portal.\n"
        ),
        from_email=None,
        recipient_list=[patient.user.email],
    )


@transaction.atomic
def trial_interest_express(
    *, patient: PatientProfile, trial: Trial, match: Match | None = None
) -> TrialInterest:
    """Record that the patient wants to hear from the trial's study team; needs active contact consent."""
    PatientProfile.objects.select_for_update().filter(pk=patient.pk).first()
    consent = current_contact_consent(patient=patient)
    if consent is None:
        raise ConsentError("To hear from study teams, first agree to be contacted on the Consent page.")
    existing = TrialInterest.objects.filter(patient=patient, trial=trial, withdrawn_at__isnull=True).first()
    if existing is not None:
        return existing
    return TrialInterest.objects.create(patient=patient, trial=trial, match=match, contact_consent=consent)
