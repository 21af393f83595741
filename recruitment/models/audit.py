"""Who read patients' data outside the site workflow (the site's own reads are CandidateEvent VIEWED rows)."""

from django.db import models
from django.utils import timezone

from recruitment.models.accounts import User
from recruitment.models.profile import PatientProfile


class PhiAccess(models.Model):
    """Append-only: a staff member opened a page of the admin that shows patients' health data or identity.
    One row per patient page opened, and one per list page (no patient: the list's address says which)."""

    class Kind(models.TextChoices):
        PROFILE = "profile", "Patient profile and facts"
        MATCH = "match", "Match with per-criterion evidence"
        ACCOUNT = "account", "Patient account (name, contact)"
        LIST = "list", "List of patients or matches"

    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        PatientProfile, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    path = models.CharField(max_length=500, help_text="The page's address, with its search and filters.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "patient data access"
        verbose_name_plural = "patient data accesses"
        indexes = [
            models.Index(fields=["patient", "created_at"]),
            models.Index(fields=["actor", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.actor} read {self.get_kind_display()} at {self.created_at:%Y-%m-%d %H:%M}"
