"""The trial registry: trials, arms/cohorts (strata), sponsors, sites, registry events, consent texts."""

import hashlib

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

NCT_ID_PATTERN = r"^NCT\d{8}$"
nct_id_validator = RegexValidator(NCT_ID_PATTERN, "An NCT id is 'NCT' followed by eight digits.")


class Sponsor(models.Model):
    """An organisation that sponsors trials. Sponsor users see aggregates of these trials only."""

    name = models.CharField(max_length=300, unique=True)
    agency_class = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Trial(models.Model):
    """A registered clinical study, as imported from ClinicalTrials.gov and curated here."""

    class Phase(models.TextChoices):
        EARLY_PHASE1 = "EARLY_PHASE1", "Early phase 1"
        PHASE1 = "PHASE1", "Phase 1"
        PHASE1_PHASE2 = "PHASE1_PHASE2", "Phase 1/2"
        PHASE2 = "PHASE2", "Phase 2"
        PHASE2_PHASE3 = "PHASE2_PHASE3", "Phase 2/3"
        PHASE3 = "PHASE3", "Phase 3"
        PHASE4 = "PHASE4", "Phase 4"
        NA = "NA", "Not applicable"

    class Status(models.TextChoices):
        NOT_YET_RECRUITING = "NOT_YET_RECRUITING", "Not yet recruiting"
        RECRUITING = "RECRUITING", "Recruiting"
        ENROLLING_BY_INVITATION = "ENROLLING_BY_INVITATION", "Enrolling by invitation"
        ACTIVE_NOT_RECRUITING = "ACTIVE_NOT_RECRUITING", "Active, not recruiting"
        SUSPENDED = "SUSPENDED", "Suspended"
        TERMINATED = "TERMINATED", "Terminated"
        COMPLETED = "COMPLETED", "Completed"
        WITHDRAWN = "WITHDRAWN", "Withdrawn"
        AVAILABLE = "AVAILABLE", "Available (expanded access)"
        NO_LONGER_AVAILABLE = "NO_LONGER_AVAILABLE", "No longer available"
        TEMPORARILY_NOT_AVAILABLE = "TEMPORARILY_NOT_AVAILABLE", "Temporarily not available"
        APPROVED_FOR_MARKETING = "APPROVED_FOR_MARKETING", "Approved for marketing"
        WITHHELD = "WITHHELD", "Withheld"
        UNKNOWN = "UNKNOWN", "Unknown"

    # Statuses in which a trial takes new candidates.
    OPEN_STATUSES = (Status.RECRUITING, Status.NOT_YET_RECRUITING, Status.ENROLLING_BY_INVITATION)

    class StudyType(models.TextChoices):
        INTERVENTIONAL = "INTERVENTIONAL", "Interventional"
        OBSERVATIONAL = "OBSERVATIONAL", "Observational"
        EXPANDED_ACCESS = "EXPANDED_ACCESS", "Expanded access"
        UNKNOWN = "UNKNOWN", "Unknown"

    class Sex(models.TextChoices):
        ALL = "ALL", "All"
        FEMALE = "FEMALE", "Female"
        MALE = "MALE", "Male"

    class Source(models.TextChoices):
        CTGOV_LEGACY_XML = "ctgov_legacy_xml", "ClinicalTrials.gov legacy XML"
        CTGOV_API_V2 = "ctgov_api_v2", "ClinicalTrials.gov API v2 JSON"
        ONCOLOGY_JSONL = "oncology_jsonl", "Oncology trials JSON lines export"
        MANUAL = "manual", "Entered by hand"

    nct_id = models.CharField("NCT id", max_length=11, unique=True, validators=[nct_id_validator])
    brief_title = models.CharField(max_length=500)
    official_title = models.TextField(blank=True)
    acronym = models.CharField(max_length=100, blank=True)
    phase = models.CharField(max_length=20, choices=Phase.choices, blank=True)
    study_type = models.CharField(max_length=20, choices=StudyType.choices, default=StudyType.UNKNOWN)
    overall_status = models.CharField(max_length=30, choices=Status.choices, default=Status.UNKNOWN)
    sponsor = models.ForeignKey(
        Sponsor, on_delete=models.PROTECT, null=True, blank=True, related_name="trials"
    )
    collaborators = models.JSONField(default=list, blank=True)
    conditions = models.JSONField(default=list, blank=True, help_text="Condition names as registered.")
    keywords = models.JSONField(default=list, blank=True)
    interventions = models.JSONField(
        default=list, blank=True, help_text="[{type, name, description, other_names}] as registered."
    )
    brief_summary = models.TextField(blank=True)
    start_date = models.DateField(null=True, blank=True)
    primary_completion_date = models.DateField(null=True, blank=True)
    completion_date = models.DateField(null=True, blank=True)
    last_update_posted = models.DateField(null=True, blank=True)
    enrollment = models.PositiveIntegerField(null=True, blank=True)
    enrollment_is_actual = models.BooleanField(default=False)
    minimum_age_years = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    maximum_age_years = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.ALL)
    healthy_volunteers = models.BooleanField(null=True, blank=True)
    eligibility_text = models.TextField(blank=True)
    source = models.CharField(max_length=30, choices=Source.choices, default=Source.MANUAL)
    eligibility_parsed_at = models.DateTimeField(null=True, blank=True)
    eligibility_parse_key = models.CharField(
        max_length=64,
        blank=True,
        help_text="Hash of the parsed text and parser versions: skips identical re-parses.",
    )
    source_checksum = models.CharField(
        max_length=64,
        blank=True,
        help_text="Hash of the imported record; an identical re-import changes nothing.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["nct_id"]
        indexes = [models.Index(fields=["overall_status"]), models.Index(fields=["phase"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(minimum_age_years__isnull=True)
                | Q(maximum_age_years__isnull=True)
                | Q(minimum_age_years__lte=models.F("maximum_age_years")),
                name="trial_age_range_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.nct_id}: {self.brief_title}"

    @property
    def is_open(self) -> bool:
        return self.overall_status in self.OPEN_STATUSES

    @property
    def age_limits(self) -> str:
        """The registry's age limits as a reader says them: "18 years or over", "18 to 75 years" (a minimum
        of 0 is no limit)."""
        low, high = (
            None if not years else f"{years.normalize():f}"
            for years in (self.minimum_age_years, self.maximum_age_years)
        )
        if low is not None and high is not None:
            return f"{low} to {high} years"
        if low is not None:
            return f"{low} years or over"
        if high is not None:
            return f"up to {high} years"
        return "any age"


class Arm(models.Model):
    """An arm or cohort of a trial. A cohort with a biomarker definition is a stratum of its own.

    A suspended cohort, or one whose cap is reached, takes no new candidates.
    """

    class ArmType(models.TextChoices):
        EXPERIMENTAL = "EXPERIMENTAL", "Experimental"
        ACTIVE_COMPARATOR = "ACTIVE_COMPARATOR", "Active comparator"
        PLACEBO_COMPARATOR = "PLACEBO_COMPARATOR", "Placebo comparator"
        SHAM_COMPARATOR = "SHAM_COMPARATOR", "Sham comparator"
        NO_INTERVENTION = "NO_INTERVENTION", "No intervention"
        OTHER = "OTHER", "Other"
        COHORT = "COHORT", "Observational cohort"

    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="arms")
    label = models.CharField(max_length=300)
    arm_type = models.CharField(max_length=30, choices=ArmType.choices, default=ArmType.OTHER)
    description = models.TextField(blank=True)
    interventions = models.JSONField(default=list, blank=True, help_text="Names of the arm's interventions.")
    biomarker_definition = models.JSONField(
        default=dict,
        blank=True,
        help_text="The stratum's own criteria (a criteria tree); empty when the cohort has none.",
    )
    enrolment_target = models.PositiveIntegerField(null=True, blank=True)
    cap = models.PositiveIntegerField(null=True, blank=True, help_text="No new candidates once reached.")
    is_suspended = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["trial", "id"]
        verbose_name = "arm/cohort"
        verbose_name_plural = "arms/cohorts"
        constraints = [models.UniqueConstraint(fields=["trial", "label"], name="unique_arm_label_per_trial")]

    def __str__(self) -> str:
        return f"{self.trial.nct_id} / {self.label}"


class Site(models.Model):
    """A facility where trials run. One row per facility, shared by all its trials."""

    facility = models.CharField(max_length=300)
    city = models.CharField(max_length=120, blank=True)
    state = models.CharField(max_length=120, blank=True)
    zip_code = models.CharField("ZIP/postcode", max_length=30, blank=True)
    country = models.CharField(max_length=100, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    key = models.CharField(
        max_length=64, unique=True, editable=False, help_text="Hash of the normalised facility and address."
    )

    class Meta:
        ordering = ["country", "city", "facility"]
        indexes = [models.Index(fields=["country", "city"])]

    def __str__(self) -> str:
        place = ", ".join(part for part in (self.city, self.country) if part)
        return f"{self.facility} ({place})" if place else self.facility


class TrialSite(models.Model):
    """A trial running at a site, with the site's own recruitment status and contact."""

    # ClinicalTrials.gov uses one recruitment-status vocabulary for trials and their locations.
    Status = Trial.Status

    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="trial_sites")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="trial_sites")
    status = models.CharField(max_length=30, choices=Trial.Status.choices, default=Trial.Status.UNKNOWN)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=60, blank=True)
    investigator = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["trial", "site"]
        verbose_name = "trial site"
        constraints = [models.UniqueConstraint(fields=["trial", "site"], name="unique_trial_site")]

    def __str__(self) -> str:
        return f"{self.trial.nct_id} @ {self.site}"


class TrialEvent(models.Model):
    """Append-only history of registry changes: imports, curation, status changes."""

    class Kind(models.TextChoices):
        IMPORTED = "imported", "Imported"
        UPDATED = "updated", "Updated by import"
        CURATED = "curated", "Criterion curated"
        PARSED = "parsed", "Eligibility parsed"

    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        "recruitment.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["trial", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.trial.nct_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"


class EligibilityCriterion(models.Model):
    """One criterion of a trial: the parser's reading and, once a curator has looked, the curated one.

    The matcher uses `effective_tree`: a reading a curator accepted or corrected wins over the parser, and
    survives re-parsing as long as the criterion's text is still in the trial. A criterion whose text has left
    the trial is retired, not deleted, so that its history stays readable.
    """

    class Section(models.TextChoices):
        INCLUSION = "inclusion", "Inclusion"
        EXCLUSION = "exclusion", "Exclusion"

    class Status(models.TextChoices):
        PARSED = "parsed", "Parsed, not reviewed"
        ACCEPTED = "accepted", "Accepted by a curator"
        CORRECTED = "corrected", "Corrected by a curator"
        UNPARSEABLE = "unparseable", "Marked unparseable"

    CURATED_STATUSES = (Status.ACCEPTED, Status.CORRECTED, Status.UNPARSEABLE)

    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="criteria")
    position = models.PositiveIntegerField(help_text="Order within the trial's eligibility text.")
    section = models.CharField(max_length=10, choices=Section.choices)
    text = models.TextField()
    text_key = models.CharField(
        max_length=64,
        help_text="Hash of section and normalised text: finds the same criterion after a re-parse.",
    )
    span_start = models.PositiveIntegerField(help_text="Offset of the criterion in Trial.eligibility_text.")
    span_end = models.PositiveIntegerField()
    parsed_tree = models.JSONField(help_text="The parser's criteria tree (nlp node_to_dict form).")
    cohort = models.TextField(
        blank=True,
        help_text=(
            "The cohorts, arms or parts the criterion is restricted to, as the text names them ('Cohort B'; "
            "several joined by '; '); blank = every cohort. Read by the parser, kept through curation."
        ),
    )
    mentions = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            "Phrases the parser recognised but could not code (nlp Criterion.mentions, atom dicts): shown to "
            "curators as leads for a correction, never used in matching."
        ),
    )
    curated_tree = models.JSONField(
        null=True,
        blank=True,
        help_text="The reading a curator accepted or corrected; wins over the parser's while so reviewed.",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PARSED)
    needs_review = models.BooleanField(
        default=False,
        help_text="The parser flagged something a person should confirm (conflict, unmapped term).",
    )
    parser_version = models.CharField(max_length=40)
    dictionary_version = models.CharField(max_length=40)
    curator_note = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        "recruitment.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reading_changed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "When a parse last read this reviewed criterion differently from the reading the reviewer saw; "
            "empty until then, and emptied by the next review."
        ),
    )
    revision = models.PositiveIntegerField(
        default=1, help_text="Bumped by every change; guards concurrent edits."
    )
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["trial", "position", "id"]
        verbose_name_plural = "eligibility criteria"
        indexes = [
            models.Index(fields=["trial", "text_key"]),
            models.Index(fields=["status", "needs_review"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(span_start__lte=models.F("span_end")), name="criterion_span_ordered"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["accepted", "corrected"]) | Q(curated_tree__isnull=False),
                name="reviewed_criterion_has_curated_tree",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trial.nct_id} {self.section} #{self.position}: {self.text[:60]}"

    @property
    def is_curated(self) -> bool:
        return self.status in self.CURATED_STATUSES

    @property
    def effective_tree(self) -> dict[str, object] | None:
        """The tree the matcher evaluates; None when a curator marked the criterion unparseable."""
        if self.status == self.Status.UNPARSEABLE:
            return None
        if self.status in (self.Status.ACCEPTED, self.Status.CORRECTED):
            # An accepted reading is kept as it was accepted: a later parser's different reading is stored in
            # `parsed_tree` beside it, and does not replace it.
            return self.curated_tree
        return self.parsed_tree


class ConsentDocument(models.Model):
    """One version of the text a patient signs for one purpose, in one language.

    Published versions are immutable: a changed text is a new version (a new row), never an edit, so that the
    content hash recorded with each signature always points at the words that were signed. Only the end of
    the effective period may still be set on a published version (to retire it). The current version of a
    purpose is the published one with the latest `effective_from` that is in effect now; when it changes,
    consents given to earlier versions stop counting until the patient signs again.
    """

    class Purpose(models.TextChoices):
        MATCHING = "matching", "Be matched with trials"
        CONTACT = "contact", "Be contacted by trial sites"
        SHARE = "share", "Share my profile with one trial's sites"

    IMMUTABLE_FIELDS = ("purpose", "version", "language", "title", "body", "content_hash", "effective_from")

    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    version = models.CharField(max_length=20, help_text="e.g. 1.0; a changed text needs a new version.")
    language = models.CharField(max_length=10, default="en", help_text="BCP 47 tag, e.g. en, es, de.")
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="The full text shown to the patient before signing.")
    content_hash = models.CharField(
        "SHA-256 of the content", max_length=64, editable=False, help_text="Over title and body, as signed."
    )
    effective_from = models.DateTimeField(default=timezone.now)
    effective_until = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="Once published, the text can no longer change."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["purpose", "-effective_from", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "version", "language"], name="unique_consent_document_version"
            ),
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True) | Q(effective_until__gt=models.F("effective_from")),
                name="consent_document_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} v{self.version} ({self.language})"

    def save(self, *args: object, **kwargs: object) -> None:
        self.content_hash = self.hash_content(self.title, self.body)
        if self.pk is not None:
            self.clean()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @staticmethod
    def hash_content(title: str, body: str) -> str:
        return hashlib.sha256(f"{title}\n\n{body}".encode()).hexdigest()

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def clean(self) -> None:
        if self.pk is None:
            return
        stored = (
            ConsentDocument.objects.filter(pk=self.pk).values(*self.IMMUTABLE_FIELDS, "published_at").first()
        )
        if stored and stored["published_at"] is not None:
            changed = [
                name
                for name in self.IMMUTABLE_FIELDS
                if name != "content_hash" and stored[name] != getattr(self, name)
            ]
            if changed:
                raise ValidationError(
                    f"A published consent document cannot change ({', '.join(changed)}); add a new version."
                )
