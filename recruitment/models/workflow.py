"""The site workflow: a candidate's path from a match to enrolment (or out), with its append-only history."""

from django.db import models
from django.utils import timezone

from recruitment.models.accounts import User
from recruitment.models.matching import Match
from recruitment.models.profile import PatientProfile


class CandidateStatus(models.TextChoices):
    MATCHED = "matched", "Matched"
    PRE_SCREENED = "pre_screened", "Pre-screened"
    CONTACTED = "contacted", "Contacted"
    CONSENTED = "consented", "Consented"
    SCREENING = "screening", "Screening"
    ENROLLED = "enrolled", "Enrolled"
    PRE_SCREEN_INELIGIBLE = "pre_screen_ineligible", "Pre-screen ineligible"
    SCREEN_FAILED = "screen_failed", "Screen failed"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"
    UNREACHABLE = "unreachable", "Unreachable"


OPEN_STATUSES: frozenset[str] = frozenset(
    {
        CandidateStatus.MATCHED,
        CandidateStatus.PRE_SCREENED,
        CandidateStatus.CONTACTED,
        CandidateStatus.CONSENTED,
        CandidateStatus.SCREENING,
    }
)


class ReasonCode(models.TextChoices):
    """Controlled reasons for leaving the main path (and for why a pre-screen passed on record)."""

    CRITERION_NOT_MET = "criterion_not_met", "An eligibility criterion is not met"
    RECORDS_CONTRADICT_PROFILE = "records_contradict", "Medical records contradict the profile"
    PATIENT_DECLINED = "patient_declined", "Patient declined"
    PATIENT_PREFERS_OTHER_TREATMENT = "prefers_other_treatment", "Patient prefers another treatment"
    TRAVEL_BURDEN = "travel_burden", "Travel or visit burden"
    INVESTIGATOR_DECISION = "investigator_decision", "Investigator decision"
    NO_RESPONSE = "no_response", "No response after repeated attempts"
    CONTACT_DETAILS_INVALID = "contact_invalid", "Contact details invalid"
    CONSENT_WITHDRAWN = "consent_withdrawn", "Patient withdrew consent"
    CONSENT_GIVEN_AGAIN = "consent_given_again", "Patient consented to matching again"
    COHORT_FULL = "cohort_full", "Cohort full or suspended"
    DECEASED = "deceased", "Patient deceased"
    OTHER = "other", "Other (see note)"


class Candidate(models.Model):
    """A patient under review by one site for one trial, created from a live match.

    One candidacy per (patient, trial): the first site to take it up claims it, so that a patient is never
    called by two sites of the same trial. `status` is written only by `candidate_transition`, which appends
    a CandidateEvent for every change; the arm is the match's cohort/stratum and is fixed at enrolment.
    """

    patient = models.ForeignKey(PatientProfile, on_delete=models.PROTECT, related_name="candidacies")
    trial = models.ForeignKey("trials.Trial", on_delete=models.PROTECT, related_name="candidates")
    site = models.ForeignKey("trials.Site", on_delete=models.PROTECT, related_name="candidates")
    arm = models.ForeignKey(
        "trials.Arm", on_delete=models.PROTECT, null=True, blank=True, related_name="candidates"
    )
    match = models.ForeignKey(Match, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=30, choices=CandidateStatus.choices, default=CandidateStatus.MATCHED)
    subject_code = models.CharField(
        max_length=20, unique=True, help_text="Pseudonymous code shown to sites and in exports."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "trial"], name="one_candidacy_per_patient_trial")
        ]
        indexes = [models.Index(fields=["site", "trial", "status"])]

    def __str__(self) -> str:
        return f"{self.subject_code} {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


NOTE_MAX_LENGTH = 2000
"""The longest note a transition keeps: the page and the API refuse a longer one instead of cutting it."""


class CandidateEvent(models.Model):
    """Append-only history of a candidate: each transition (from, to, reason, actor, time, note) and each
    view of its page by site staff (PHI access, from == to, kind VIEWED)."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        TRANSITION = "transition", "Transition"
        VIEWED = "viewed", "Viewed"

    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.TRANSITION)
    from_status = models.CharField(max_length=30, choices=CandidateStatus.choices, blank=True)
    to_status = models.CharField(max_length=30, choices=CandidateStatus.choices)
    reason = models.CharField(max_length=30, choices=ReasonCode.choices, blank=True)
    criterion = models.ForeignKey(
        "trials.EligibilityCriterion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The failing criterion of a screen failure.",
    )
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["candidate", "created_at", "id"]
        indexes = [models.Index(fields=["kind", "to_status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.candidate_id} {self.from_status}->{self.to_status} {self.created_at:%Y-%m-%d %H:%M}"
