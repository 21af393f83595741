"""The matcher's stored verdicts and their append-only history."""

from django.db import models
from django.utils import timezone

from recruitment.models.profile import PatientProfile


class Match(models.Model):
    """The matcher's verdict for a patient and a trial (and the cohort/stratum it assigns, if any).

    Written only by `match_upsert_for_patient`: a re-run changes only what changed, and a match the engine no
    longer produces is retired, never deleted, so that what a patient or site was shown stays on record.
    A re-run compares `digest` rather than reading the stored explanation back.
    """

    class Verdict(models.TextChoices):
        ELIGIBLE = "eligible", "Eligible"
        POSSIBLY_ELIGIBLE = "possibly_eligible", "Possibly eligible"
        INELIGIBLE = "ineligible", "Ineligible"

    patient = models.ForeignKey(PatientProfile, on_delete=models.CASCADE, related_name="matches")
    trial = models.ForeignKey("trials.Trial", on_delete=models.CASCADE, related_name="matches")
    arm = models.ForeignKey(
        "trials.Arm", on_delete=models.CASCADE, null=True, blank=True, related_name="matches"
    )
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    score = models.FloatField(help_text="1 eligible, 0.5-1 possibly eligible (share settled), 0 ineligible.")
    criteria = models.JSONField(default=list, help_text="Per-criterion verdicts with evidence.")
    cohort = models.JSONField(
        default=dict, blank=True, help_text="The stratum verdict when an arm is assigned."
    )
    to_settle = models.JSONField(
        default=list, blank=True, help_text="Questions and tests that would settle it."
    )
    digest = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text="Fingerprint of verdict, score, criteria, cohort and to_settle as last written; empty for "
        "matches written before it existed, until their next re-match.",
    )
    evaluated_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["patient", "-score", "trial"]
        verbose_name_plural = "matches"
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "trial", "arm"],
                condition=models.Q(retired_at__isnull=True, arm__isnull=False),
                name="one_live_match_per_patient_arm",
            ),
            models.UniqueConstraint(
                fields=["patient", "trial"],
                condition=models.Q(retired_at__isnull=True, arm__isnull=True),
                name="one_live_trial_match_per_patient",
            ),
            models.CheckConstraint(
                condition=models.Q(score__gte=0, score__lte=1), name="match_score_in_unit_range"
            ),
        ]
        indexes = [models.Index(fields=["trial", "retired_at", "verdict"])]

    def __str__(self) -> str:
        cohort = f" / {self.arm.label}" if self.arm_id and self.arm else ""
        return f"{self.patient.user} ~ {self.trial.nct_id}{cohort}: {self.verdict}"


class MatchEvent(models.Model):
    """Append-only history of a match: created, changed (with the fields that changed) or retired."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Verdict changed"
        RETIRED = "retired", "Retired"

    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["match", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.match_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"


class MatchHorizon(models.Model):
    """Until when a patient's matches stand without a re-match, with facts and trials unchanged.

    Written by a patient re-match (`match_upsert_for_patient`): the evaluation date, the first date on which
    the date alone could change a result (`matching.horizon.validity_horizon`, at most
    `REMATCH_HORIZON_MAX_DAYS` later) and the engine and terminology versions they hold for. A trial
    re-match lowers `valid_until` to that trial's own horizon for the patients it evaluates and counts itself
    in `trial_passes` (see `services.matching._horizons_lower`). The nightly re-match takes only the
    patients due: no row, another version, or `valid_until` reached (and those owed a re-match). The row
    goes when the patient withdraws the matching consent or a re-match finds them not matchable
    (`services.matching.match_horizon_drop`); a consent given again queues a re-match of its own.
    """

    profile = models.OneToOneField(
        PatientProfile, on_delete=models.CASCADE, primary_key=True, related_name="match_horizon"
    )
    matched_on = models.DateField(
        null=True, blank=True, help_text="Evaluation date of the last patient re-match; empty if none yet."
    )
    valid_until = models.DateField(db_index=True, help_text="Due for a re-match on this date.")
    version = models.CharField(
        max_length=100, blank=True, help_text="Engine, parser and dictionary versions the matches hold for."
    )
    trial_passes = models.PositiveIntegerField(
        default=0, help_text="Trial re-matches that evaluated the patient (a patient re-match checks it)."
    )

    def __str__(self) -> str:
        return f"matches of profile {self.profile_id} valid until {self.valid_until}"


class TrialMatchStamp(models.Model):
    """What a trial looked like to matching at the last nightly run: its criteria version, status, arms (with
    caps, suspension and strata) and enrolled counts, as one digest (`selectors.matching.trial_stamps`).

    The nightly run re-matches only the patients due by date; a trial whose stamp changed since the previous
    night (a cohort filled by enrolments, an edit that queued no re-match, a trial re-match the broker
    refused) is re-matched as a whole that night instead.
    """

    trial = models.OneToOneField("trials.Trial", on_delete=models.CASCADE, primary_key=True, related_name="+")
    stamp = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"trial {self.trial_id} as matched: {self.stamp}"
