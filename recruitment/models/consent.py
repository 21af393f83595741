"""A patient's consents (one per purpose, signed against one consent document version), their append-only
history, and the interest a patient expresses in a trial."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from recruitment.encryption import EncryptedCharField
from recruitment.models.accounts import User
from recruitment.models.profile import PatientProfile
from trials.models import ConsentDocument

Purpose = ConsentDocument.Purpose

# What the signature means, stored with it (21 CFR 11.50: the meaning of a signature is part of the record).
SIGNATURE_MEANING: dict[str, str] = {
    Purpose.MATCHING: "I agree that my profile is compared with clinical trials to find ones I may join.",
    Purpose.CONTACT: "I agree that study teams of trials I match may contact me about those trials.",
    Purpose.SHARE: "I agree that my profile is shared with the study team of this trial.",
}


class Consent(models.Model):
    """A patient's signed consent to one purpose (for sharing: one trial) under one document version.

    The signature manifestation (typed name, time, meaning, document version and hash, where it was signed
    from) is written once and never changed. Withdrawal only sets `withdrawn_at` and its reason, once;
    signing again adds a new row. A consent counts as active while it is not withdrawn and its document is
    still the current version of its purpose.
    """

    patient = models.ForeignKey(PatientProfile, on_delete=models.PROTECT, related_name="consents")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    trial = models.ForeignKey(
        "trials.Trial",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consents",
        help_text="Only for sharing with one trial's sites.",
    )
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="consents")
    document_version = models.CharField(max_length=20)
    document_hash = models.CharField(max_length=64)
    # Encrypted like the account's name it must equal (recruitment.encryption).
    typed_name = EncryptedCharField("full name as typed", max_length=200)
    meaning = models.CharField(max_length=300)
    signed_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["patient", "-signed_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(purpose=Purpose.SHARE, trial__isnull=False)
                | (~Q(purpose=Purpose.SHARE) & Q(trial__isnull=True)),
                name="consent_trial_only_for_share",
            ),
            models.UniqueConstraint(
                fields=["patient", "purpose", "document"],
                condition=Q(withdrawn_at__isnull=True, trial__isnull=True),
                name="one_open_consent_per_purpose_document",
            ),
            models.UniqueConstraint(
                fields=["patient", "purpose", "document", "trial"],
                condition=Q(withdrawn_at__isnull=True, trial__isnull=False),
                name="one_open_share_consent_per_trial_document",
            ),
        ]
        indexes = [models.Index(fields=["purpose", "withdrawn_at", "document"])]

    def __str__(self) -> str:
        trial = f" {self.trial.nct_id}" if self.trial_id and self.trial else ""
        state = "withdrawn" if self.withdrawn_at else "given"
        return f"{self.patient.user} {self.purpose}{trial} v{self.document_version}: {state}"

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None


class ConsentEvent(models.Model):
    """Append-only history of consents: given and withdrawn, with who did it and from where."""

    class Kind(models.TextChoices):
        GIVEN = "given", "Given"
        WITHDRAWN = "withdrawn", "Withdrawn"

    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["consent", "created_at", "id"]

    def __str__(self) -> str:
        return f"consent {self.consent_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"


class TrialInterest(models.Model):
    """A patient asked to hear from a trial's study team. Needs active contact consent when expressed.

    The site workflow picks open interests up as candidates; withdrawing contact consent (or the patient
    taking the interest back) closes them with `withdrawn_at`.
    """

    patient = models.ForeignKey(PatientProfile, on_delete=models.CASCADE, related_name="trial_interests")
    trial = models.ForeignKey("trials.Trial", on_delete=models.CASCADE, related_name="patient_interests")
    match = models.ForeignKey(
        "recruitment.Match", on_delete=models.SET_NULL, null=True, blank=True, related_name="interests"
    )
    contact_consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="interests")
    created_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["patient", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "trial"],
                condition=Q(withdrawn_at__isnull=True),
                name="one_open_interest_per_patient_trial",
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient.user} -> {self.trial.nct_id}"


class MatchAlert(models.Model):
    """One new eligible match told to the patient by e-mail: what was sent and when (for throttling)."""

    patient = models.ForeignKey(PatientProfile, on_delete=models.CASCADE, related_name="match_alerts")
    match = models.OneToOneField("recruitment.Match", on_delete=models.CASCADE, related_name="alert")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["patient", "-sent_at"]
        indexes = [models.Index(fields=["patient", "sent_at"])]

    def __str__(self) -> str:
        return f"alert {self.match_id} to {self.patient_id} at {self.sent_at:%Y-%m-%d %H:%M}"


class MatchAlertOptOut(models.Model):
    """The patient unsubscribed from new-match e-mails (from the link in one of them)."""

    patient = models.OneToOneField(
        PatientProfile, on_delete=models.CASCADE, related_name="match_alert_opt_out"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.patient_id} opted out of match alerts"
