"""Keeping sites and sponsors informed: site staff's alerts about new candidates (in-app and the daily
digest e-mail) and the daily enrolment snapshots the sponsor dashboard charts."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from recruitment.models.accounts import User
from recruitment.models.matching import Match
from recruitment.models.workflow import Candidate


class SiteAlert(models.Model):
    """One new eligible or possibly eligible candidate, told to one member of the candidate's site.

    Written once per (staff member, candidate) after the candidacy commits; `read_at` is set when the member
    sees it in the alert list or opens the candidate, `digested_at` when a digest e-mail counted it.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="site_alerts")
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="alerts")
    verdict = models.CharField(
        max_length=20, choices=Match.Verdict.choices, help_text="The match verdict when the alert was made."
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    digested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "candidate"], name="one_alert_per_staff_candidate")
        ]
        indexes = [
            models.Index(fields=["user", "read_at"]),
            models.Index(fields=["user", "digested_at", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"alert {self.candidate_id} for {self.user_id}"


class StaffAlertSetting(models.Model):
    """A site staff member's choice about the daily digest e-mail (in-app alerts are always kept).

    `digest_since` is when the member last turned the digest on: alerts older than that are never e-mailed,
    so that turning it back on does not send everything that piled up while it was off.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="alert_setting")
    daily_digest = models.BooleanField(default=True)
    digest_since = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user_id} digest {'on' if self.daily_digest else 'off'}"


class EnrolmentSnapshot(models.Model):
    """A trial's recruitment at the end of one day at one site in one cohort (arm null: no cohort yet).

    Counts are of candidates who had reached the stage by the end of `day` (screen failures: who had
    failed by then); rows are replaced whole per (trial, day) by `enrolment_snapshot_take`, so a day is
    written again until it is over and re-running it changes nothing. Sponsors see these only suppressed.
    """

    trial = models.ForeignKey("trials.Trial", on_delete=models.CASCADE, related_name="enrolment_snapshots")
    day = models.DateField()
    site = models.ForeignKey("trials.Site", on_delete=models.CASCADE, related_name="+")
    arm = models.ForeignKey("trials.Arm", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    consented = models.PositiveIntegerField(default=0)
    screened = models.PositiveIntegerField(default=0)
    screen_failed = models.PositiveIntegerField(default=0)
    enrolled = models.PositiveIntegerField(default=0)
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["trial", "day", "site", "arm"]
        constraints = [
            models.UniqueConstraint(
                fields=["trial", "day", "site", "arm"],
                condition=Q(arm__isnull=False),
                name="one_snapshot_per_trial_day_site_arm",
            ),
            # NULLs are distinct in a unique index, so the rows without a cohort need their own.
            models.UniqueConstraint(
                fields=["trial", "day", "site"],
                condition=Q(arm__isnull=True),
                name="one_snapshot_per_trial_day_site_without_arm",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trial_id} {self.day} site {self.site_id} arm {self.arm_id}: {self.enrolled} enrolled"
