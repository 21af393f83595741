"""The patient profile: demographics and the coded facts the matcher reads, each with its source."""

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Self

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property

from nlp import terminology
from nlp.extract import COURSES, RECORDED_COURSES
from recruitment.encryption import EncryptedCharField
from recruitment.models.accounts import User
from recruitment.validators import (
    EARLIEST_PLAUSIBLE,
    UNKNOWN_GENE,
    ecog_of_a_living_patient,
    gene_as_reported,
    gene_symbol,
    implausible_biomarker_value,
    implausible_dates,
    lab_result_problems,
    lab_unit_as_read,
    not_in_future,
    not_negative,
    number_as_typed,
    plausible_therapy_line,
    unreadable_characters,
)

STAGE_PATTERN = re.compile(r"0|I{1,3}[ABC]?|IV[ABC]?")
LAB_UNIT_LENGTH = 30


class DatePrecision(models.TextChoices):
    """How much of a date the record gave. A date known by its month or year is stored as its first day, and
    matching reads it as any day of that month or year."""

    DAY = "day", "Day"
    MONTH = "month", "Month only"
    YEAR = "year", "Year only"


def last_possible_day(day: date | None, precision: str) -> date | None:
    """The last day a date given with `precision` may be (None when the day itself is known)."""
    if day is None or precision == DatePrecision.DAY:
        return None
    if precision == DatePrecision.YEAR or day.month == 12:
        return date(day.year, 12, 31)
    return date(day.year, day.month + 1, 1) - timedelta(days=1)


def date_as_given(day: date, precision: str) -> str:
    """A date written with as much of it as is known: 2019-03-12, 2019-03 or 2019."""
    if precision == DatePrecision.YEAR:
        return f"{day:%Y}"
    if precision == DatePrecision.MONTH:
        return f"{day:%Y-%m}"
    return day.isoformat()


@dataclass(frozen=True)
class GivenDate:
    """A date as given: its first and last possible days (the same for a day) and how it is written."""

    first: date
    last: date
    shown: str


def precision_field(name: str) -> models.CharField:
    return models.CharField(
        max_length=5,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
        help_text=f"How much of {name} the record gave; a month or year alone is stored as its first day.",
    )


class FactSource(models.TextChoices):
    SELF_REPORTED = "self_reported", "Self-reported by the patient"
    SITE_ENTERED = "site_entered", "Entered by site staff"
    IMPORTED = "imported", "Imported from a record"


class RangedPositiveSmallIntegerField(models.PositiveSmallIntegerField):
    """A positive small integer whose validators state its whole range (an ECOG grade 0-4, a line of therapy
    1-20) in words about the field. The column's own "at least 0" stays the database's check: beside them it
    gave a second, generic message for the same negative number."""

    @cached_property
    def validators(self) -> list[Any]:
        # Field's list (the field's own validators), not IntegerField's, which appends the column's range.
        return super(models.IntegerField, self).validators


class ReadableTextModel(models.Model):
    """A model whose texts hold no NUL character (PostgreSQL cannot store one; SQLite would) nor any other
    invisible control character, refused with its fields' own checks (`unreadable_characters`)."""

    class Meta:
        abstract = True

    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        errors: dict[str, list[ValidationError]] = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        errors = unreadable_characters(self, exclude={*(exclude or ()), *errors}) | errors
        if errors:
            raise ValidationError(errors)


class PatientProfile(ReadableTextModel):
    """A patient's own clinical summary, the input of matching.

    Demographics, performance status and pregnancy live here; coded facts (diagnoses, biomarkers, labs,
    therapies, procedures) are rows of their own so that each carries its source and entry time. Once the
    patient or a site confirms that the lists of conditions, therapies and procedures are complete
    (`history_confirmed_on`), a missing entry counts as absent instead of unknown.
    """

    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"

    class Pregnancy(models.TextChoices):
        UNKNOWN = "unknown", "Not stated"
        PREGNANT = "pregnant", "Pregnant"
        NOT_PREGNANT = "not_pregnant", "Not pregnant"
        NOT_APPLICABLE = "not_applicable", "Cannot become pregnant"

    user = models.OneToOneField(
        User,
        on_delete=models.CASCADE,
        related_name="patient_profile",
        limit_choices_to={"role": User.Role.PATIENT},
    )
    birth_date = models.DateField(null=True, blank=True, validators=[not_in_future])
    sex = models.CharField(max_length=10, choices=Sex.choices, blank=True)
    postcode = models.CharField("ZIP/postcode", max_length=30, blank=True)
    # Contact details for sites the patient agreed to hear from: direct identifiers, encrypted at rest.
    # The postcode stays in clear: distance to sites is computed from it.
    phone = EncryptedCharField(max_length=40, blank=True)
    address = EncryptedCharField(max_length=300, blank=True, help_text="Street address lines.")
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    ecog = RangedPositiveSmallIntegerField(
        "ECOG performance status",
        null=True,
        blank=True,
        validators=[ecog_of_a_living_patient],
    )
    ecog_assessed_on = models.DateField(null=True, blank=True, validators=[not_in_future])
    pregnancy_status = models.CharField(max_length=20, choices=Pregnancy.choices, default=Pregnancy.UNKNOWN)
    breastfeeding = models.BooleanField(null=True, blank=True)
    history_confirmed_on = models.DateField(
        null=True,
        blank=True,
        validators=[not_in_future],
        help_text="When the lists of conditions, therapies and procedures were confirmed complete.",
    )
    notes = models.TextField(blank=True)
    source = models.CharField(max_length=20, choices=FactSource.choices, default=FactSource.SELF_REPORTED)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    _recorded_birth_date: date | None  # set by from_db

    class Meta:
        ordering = ["user__email"]

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    @classmethod
    def from_db(cls, db: str | None, field_names: Collection[str], values: Collection[Any]) -> Self:
        profile = super().from_db(db, field_names, values)
        # The birth date as read, so that a change of it is checked against the facts already recorded.
        profile._recorded_birth_date = profile.__dict__.get("birth_date")
        return profile

    @property
    def version(self) -> str:
        """What a form shown from this profile carries, so that saving it can tell whether the profile was
        saved again since (`profile_update` stamps `updated_at` on every save)."""
        return self.updated_at.isoformat()

    def _birth_date_changed(self) -> bool:
        """A saved profile whose birth date is not the one read from the database (or was never read)."""
        return self.pk is not None and self.birth_date != getattr(self, "_recorded_birth_date", None)

    def facts_dated_before(self, born: date) -> list[str]:
        """The recorded facts with a date before `born`, each named with its first such date."""
        found = []
        for facts in (self.diagnoses, self.biomarkers, self.lab_results, self.therapies, self.procedures):
            model = facts.model
            fields = fact_date_fields(model)
            before = Q()
            for field in fields:
                before |= Q(**{f"{field.name}__lt": born})
            for fact in facts.filter(before):
                # A date known by its month or year only is before the birth if its last possible day is.
                for field in fields:
                    given = fact.date_given(field.name)
                    if given is not None and given.last < born:
                        found.append(
                            f"the {model._meta.verbose_name} {fact}, {field.verbose_name} {given.shown}"
                        )
                        break
        return found

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.user_id and self.user.role != User.Role.PATIENT:
            errors["user"] = f"{self.user} is a {self.user.get_role_display()}, not a patient."
        if (self.latitude is None) != (self.longitude is None):
            errors["longitude"] = "Give both latitude and longitude, or neither."
        if self.birth_date and self.birth_date < EARLIEST_PLAUSIBLE:
            errors["birth_date"] = "A birth date before 1900 is not plausible."
        dates = {"ecog_assessed_on": self.ecog_assessed_on, "history_confirmed_on": self.history_confirmed_on}
        errors |= implausible_dates(dates, born=self.birth_date if "birth_date" not in errors else None)
        if "birth_date" not in errors and self._birth_date_changed():
            earlier = self.facts_dated_before(self.birth_date) if self.birth_date else []
            if earlier:
                listed = "; ".join(earlier[:5]) + (
                    f"; and {len(earlier) - 5} more" if len(earlier) > 5 else ""
                )
                errors["birth_date"] = (
                    f"Facts already recorded are dated before {self.birth_date}: {listed}. "
                    "Correct or remove them first, or check the birth date."
                )
        if self.sex == self.Sex.MALE and self.pregnancy_status == self.Pregnancy.PREGNANT:
            # Matching reads this sex (recorded at birth) and this status: one of the two is wrong. Beside a
            # pregnancy already recorded, the sex just changed is; otherwise the pregnancy being recorded is.
            stored = PatientProfile.objects.filter(pk=self.pk).values_list("pregnancy_status", flat=True)
            if self.pk is not None and stored.first() == self.Pregnancy.PREGNANT:
                errors["sex"] = (
                    "This profile records a pregnancy, which the sex male (recorded at birth) rules out: "
                    "change the pregnancy first if it is over or was recorded by mistake, then the sex."
                )
            else:
                errors["pregnancy_status"] = (
                    "This profile is recorded as male at birth, which rules out a pregnancy: if the sex is "
                    "wrong, correct the sex first, then record the pregnancy."
                )
        if errors:
            raise ValidationError(errors)


class ProfileFact(ReadableTextModel):
    """Common fields of every coded fact: whose it is, where it came from and when it was entered."""

    patient = models.ForeignKey(PatientProfile, on_delete=models.CASCADE)
    source = models.CharField(max_length=20, choices=FactSource.choices, default=FactSource.SELF_REPORTED)
    entered_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    @property
    def version(self) -> str:
        """As `PatientProfile.version`: `profile_fact_save` stamps `entered_at` on every save."""
        return self.entered_at.isoformat()

    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        """The fields' own checks and no NUL or control character in any text, then for every date of the
        fact: not before 1900 nor before the patient's birth (each kind of fact has its own `clean`, so this
        is checked once for all here)."""
        errors: dict[str, list[ValidationError]] = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        skipped = set(exclude or ()) | errors.keys()
        born = self.patient.birth_date if self.patient_id and "patient" not in skipped else None
        for name, message in self.implausible_dates(born=born, skipped=skipped).items():
            errors[name] = [ValidationError(message)]
        if errors:
            raise ValidationError(errors)

    def implausible_dates(self, *, born: date | None, skipped: Collection[str] = ()) -> dict[str, str]:
        """The fact's dates before 1900 or before `born`, by field; one known by its month or year only
        (`<date>_precision`) is so only if the last day it may be is, and is named as it was given."""
        given = {
            field.name: self.date_given(field.name)
            for field in fact_date_fields(type(self))
            if field.name not in skipped
        }
        return implausible_dates(
            {name: day.first if day else None for name, day in given.items()},
            born=born,
            latest={name: day.last for name, day in given.items() if day},
            shown={name: day.shown for name, day in given.items() if day},
        )

    def date_given(self, name: str) -> GivenDate | None:
        """The fact's date `name` as the record or the person gave it (None when not given)."""
        day = getattr(self, name)
        if day is None:
            return None
        precision = getattr(self, f"{name}_precision", DatePrecision.DAY)
        return GivenDate(day, last_possible_day(day, precision) or day, date_as_given(day, precision))


def fact_date_fields(model: type[ProfileFact]) -> list[models.DateField]:
    """The dates of a kind of fact (when diagnosed, started, collected...), not its entry time."""
    return [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField)
    ]


class Diagnosis(ProfileFact):
    """A condition coded against the nlp diagnosis hierarchy (lung adenocarcinoma is-a NSCLC is-a ...).

    `presence` records ruled-out conditions too ("no HIV"), so that a criterion about them is answered
    instead of staying unknown. A present condition that is over (`resolved`: resolved, inactive or in
    remission) meets criteria about a history of it, not those about a disease the patient has now.
    """

    class Presence(models.TextChoices):
        PRESENT = "present", "Present"
        ABSENT = "absent", "Ruled out"

    system = models.CharField(max_length=20, default="diagnosis")
    code = models.CharField(max_length=40, help_text="Code in the nlp diagnosis vocabulary, e.g. luad.")
    label = models.CharField(max_length=200, blank=True)
    presence = models.CharField(max_length=10, choices=Presence.choices, default=Presence.PRESENT)
    diagnosed_on = models.DateField(null=True, blank=True, validators=[not_in_future])
    diagnosed_on_precision = precision_field("the diagnosis date")
    stage = models.CharField(max_length=10, blank=True, help_text="Roman numerals as staged, e.g. IVA.")
    histology = models.CharField(max_length=200, blank=True)
    course = models.CharField(
        max_length=20,
        choices=[(code, COURSES[code].capitalize()) for code in RECORDED_COURSES],
        blank=True,
        help_text="Of a cancer: newly diagnosed, come back after treatment, or not responding to it.",
    )
    resolved = models.BooleanField(default=False, help_text="Over: resolved, inactive or in remission.")

    class Meta:
        default_related_name = "diagnoses"
        ordering = ["patient", "-diagnosed_on", "id"]
        verbose_name_plural = "diagnoses"

    def __str__(self) -> str:
        return self.label or self.code

    def clean(self) -> None:
        if self.system != "diagnosis":
            return
        try:
            concept = terminology.diagnosis(self.code)
        except KeyError:
            raise ValidationError({"code": f"{self.code!r} is not in the diagnosis vocabulary."}) from None
        self.label = self.label or concept.label
        if self.stage and not STAGE_PATTERN.fullmatch(self.stage.upper()):
            raise ValidationError(
                {"stage": "Give the stage as 0 or I-IV with an optional letter, e.g. IIIB."}
            )
        self.stage = self.stage.upper()
        if self.resolved and self.presence != self.Presence.PRESENT:
            raise ValidationError(
                {"resolved": "A ruled-out condition was never present: it cannot be resolved."}
            )
        if self.course and self.presence != self.Presence.PRESENT:
            raise ValidationError({"course": "A ruled-out condition has no course: leave it empty."})
        if self.course and not terminology.is_cancer(self.code):
            raise ValidationError(
                {"course": f"The course is recorded for cancers; {concept.label} is not one. Leave it empty."}
            )


class Biomarker(ProfileFact):
    """A molecular or protein test result: gene (or signature such as TMB/MSI), what was found, and how.

    A wild-type or negative result means tested and negative; a gene with no row here is untested.
    """

    class Alteration(models.TextChoices):
        MUTATION = "mutation", "Mutation"
        DELETION = "deletion", "Deletion"
        INSERTION = "insertion", "Insertion"
        FUSION = "fusion", "Fusion/rearrangement"
        AMPLIFICATION = "amplification", "Amplification"
        EXPRESSION = "expression", "Protein expression"
        LOSS = "loss", "Loss/deficiency"
        WILD_TYPE = "wild_type", "Wild-type (no alteration found)"
        SIGNATURE = "signature", "Genomic signature (TMB, MSI, MMR)"

    class Status(models.TextChoices):
        POSITIVE = "positive", "Positive"
        NEGATIVE = "negative", "Negative"
        EQUIVOCAL = "equivocal", "Equivocal"

    gene = models.CharField(
        max_length=20, help_text="HGNC symbol (aliases such as HER2 are normalised) or TMB/MSI/MMR/ER/PR."
    )
    alteration_type = models.CharField(max_length=20, choices=Alteration.choices)
    protein_change = models.CharField(
        max_length=60, blank=True, help_text="e.g. V600E, L858R, exon 19 deletion, EML4-ALK."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.POSITIVE)
    measure = models.CharField(
        max_length=20, blank=True, help_text="Score reported: TPS, CPS, IHC, H-score..."
    )
    value = models.DecimalField(
        max_digits=10, decimal_places=3, null=True, blank=True, validators=[not_negative]
    )
    unit = models.CharField(max_length=20, blank=True, help_text="e.g. %, mut/Mb; an IHC score is 0-3.")
    assay = models.CharField(max_length=100, blank=True, help_text="Test or antibody clone, e.g. 22C3.")
    specimen = models.CharField(max_length=100, blank=True)
    tested_on = models.DateField(null=True, blank=True, validators=[not_in_future])

    class Meta:
        default_related_name = "biomarkers"
        ordering = ["patient", "gene", "-tested_on", "id"]

    def __str__(self) -> str:
        return " ".join(
            part
            for part in (
                gene_as_reported(self.gene),
                self.protein_change or self.alteration_type,
                self.status,
            )
            if part
        )

    def clean(self) -> None:
        symbol = gene_symbol(self.gene)
        errors: dict[str, str] = {}
        if symbol is None:
            errors["gene"] = UNKNOWN_GENE
        else:
            self.gene = symbol
        if self.alteration_type == self.Alteration.WILD_TYPE and self.status != self.Status.NEGATIVE:
            errors["status"] = "A wild-type result is a negative test; record status negative."
        implausible = (
            implausible_biomarker_value(
                gene=self.gene, measure=self.measure, unit=self.unit, value=self.value
            )
            if self.value is not None
            else ""
        )
        if implausible:
            errors["value"] = implausible
        if errors:
            raise ValidationError(errors)


class LabResult(ProfileFact):
    """A laboratory value with the lab's own reference range, so that x ULN / x LLN use that range."""

    analyte = models.CharField(max_length=100)
    loinc = models.CharField("LOINC code", max_length=20, blank=True)
    value = models.DecimalField(max_digits=14, decimal_places=4, validators=[not_negative])
    unit = models.CharField(max_length=LAB_UNIT_LENGTH, blank=True)
    reference_low = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, validators=[not_negative]
    )
    reference_high = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, validators=[not_negative]
    )
    collected_on = models.DateField(validators=[not_in_future])

    class Meta:
        default_related_name = "lab_results"
        ordering = ["patient", "analyte", "-collected_on", "id"]

    def __str__(self) -> str:
        return f"{self.analyte} {number_as_typed(self.value)} {self.unit} ({self.collected_on})"

    def clean(self) -> None:
        if not self.loinc:
            concept, _ = terminology.link(self.analyte, "lab")
            self.loinc = concept.code if concept else ""
        self.unit = lab_unit_as_read(self.unit)
        lab = terminology.labs_by_loinc().get(self.loinc)
        errors = lab_result_problems(lab, self.value, self.unit)
        if (
            "unit" not in errors and len(self.unit) > LAB_UNIT_LENGTH
        ):  # a unit typed at full length and given a caret
            errors["unit"] = f"Write the unit in at most {LAB_UNIT_LENGTH} characters."
        low, high = self.reference_low, self.reference_high
        if low is not None and high is not None and low > high:
            errors["reference_high"] = "The reference range's upper limit is below its lower limit."
        if errors:
            raise ValidationError(errors)


class Therapy(ProfileFact):
    """A systemic therapy received: drug (its classes come from the nlp drug vocabulary), line and dates.

    An open end date means ongoing, unless `ended` says it was stopped on a date not known (a record's
    "completed" course with no end): then no window can say how long ago it ended.
    """

    drug = models.CharField(max_length=100)
    drug_class = models.CharField(
        max_length=60,
        blank=True,
        help_text="Class code when the drug is not in the vocabulary, e.g. platinum.",
    )
    line = RangedPositiveSmallIntegerField(null=True, blank=True, validators=[plausible_therapy_line])
    started_on = models.DateField(null=True, blank=True, validators=[not_in_future])
    ended_on = models.DateField(null=True, blank=True, validators=[not_in_future])
    ended_on_precision = precision_field("the end date")
    ended = models.BooleanField(default=False, help_text="Stopped, on a date not known.")

    class Meta:
        default_related_name = "therapies"
        ordering = ["patient", "-started_on", "id"]
        verbose_name_plural = "therapies"

    def __str__(self) -> str:
        return self.drug

    def clean(self) -> None:
        self.drug = self.drug.strip().lower()
        concept, _ = terminology.link(self.drug, "therapy")
        if concept is not None and concept.system == "drug":
            self.drug = concept.code
        elif concept is not None and concept.system == "drug_class" and not self.drug_class:
            self.drug_class = concept.code
        if self.started_on and self.ended_on:
            # An end known by its month or year only may be any day of it: only its last day is too early.
            latest_end = last_possible_day(self.ended_on, self.ended_on_precision) or self.ended_on
            if latest_end < self.started_on:
                ended = date_as_given(self.ended_on, self.ended_on_precision)
                raise ValidationError(
                    {
                        "ended_on": f"A therapy cannot end before it started: the end date {ended} is before "
                        f"the start date {self.started_on.isoformat()}. Correct one of the two dates."
                    }
                )


class Procedure(ProfileFact):
    """A procedure undergone (surgery, radiotherapy, transplant...), coded against the nlp vocabulary."""

    code = models.CharField(max_length=40, blank=True)
    name = models.CharField(max_length=200)
    performed_on = models.DateField(null=True, blank=True, validators=[not_in_future])
    performed_on_precision = precision_field("the date")

    class Meta:
        default_related_name = "procedures"
        ordering = ["patient", "-performed_on", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.code:
            concept, _ = terminology.link(self.name, "procedure")
            self.code = concept.code if concept else ""
