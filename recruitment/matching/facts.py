"""A patient's facts as the engine sees them: frozen, ORM-free, built once per evaluation.

Each fact keeps a `ref` ("biomarker:12") and a human description, so that verdicts can point at the exact
profile entry they used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from nlp.extract import COURSES


@dataclass(frozen=True)
class DiagnosisFact:
    ref: str
    code: str
    label: str
    present: bool = True
    diagnosed_on: date | None = None
    stage: str = ""
    histology: str = ""
    source: str = ""
    # nlp.extract.RECORDED_COURSES: newly diagnosed, recurrent (relapsed) or refractory; "" not recorded
    course: str = ""
    # Over: resolved, inactive or in remission. A history of the condition, not a disease the patient has now.
    resolved: bool = False
    # The last day `diagnosed_on` may be, when the record gives only its month or year (`diagnosed_on` is the
    # first); None when the day is known.
    diagnosed_by: date | None = None

    def describe(self) -> str:
        status = "" if self.present else "ruled out: "
        stage = f", stage {self.stage}" if self.stage else ""
        course = f", {COURSES.get(self.course, self.course)}" if self.course else ""
        course += ", resolved or in remission" if self.resolved else ""
        when = f" ({self.diagnosed_on})" if self.diagnosed_on else ""
        return f"{status}{self.label}{stage}{course}{when}"


@dataclass(frozen=True)
class BiomarkerFact:
    ref: str
    gene: str
    alteration_type: str
    status: str = "positive"
    protein_change: str = ""
    measure: str = ""
    value: float | None = None
    unit: str = ""
    assay: str = ""
    tested_on: date | None = None
    source: str = ""

    def describe(self) -> str:
        what = self.protein_change or self.alteration_type.replace("_", "-")
        score = f" {self.measure} {self.value:g}{self.unit}".rstrip() if self.value is not None else ""
        by = f" by {self.assay}" if self.assay else ""
        when = f" ({self.tested_on})" if self.tested_on else ""
        return f"{self.gene} {what} {self.status}{score}{by}{when}"


@dataclass(frozen=True)
class LabFact:
    ref: str
    analyte: str
    loinc: str
    value: float
    unit: str
    collected_on: date
    reference_low: float | None = None
    reference_high: float | None = None
    source: str = ""

    def describe(self) -> str:
        low = "" if self.reference_low is None else f"{self.reference_low:g}"
        high = "" if self.reference_high is None else f"{self.reference_high:g}"
        reference = f" (reference {low}-{high})" if low or high else ""
        return f"{self.analyte} {self.value:g} {self.unit}{reference} on {self.collected_on}"


@dataclass(frozen=True)
class TherapyFact:
    ref: str
    drug: str
    classes: tuple[str, ...] = ()
    line: int | None = None
    started_on: date | None = None
    ended_on: date | None = None
    source: str = ""
    # Ended on a date not known ("s/p radiation", "completed four cycles"): not ongoing, and undated.
    ended: bool = False
    # As DiagnosisFact.diagnosed_by, for `ended_on`.
    ended_by: date | None = None
    # False when the source does not say whether the therapy is over or still given (a note's "treated with
    # temozolomide"): without an end it is then not known to be ongoing. A profile's therapy without an end
    # date is ongoing.
    course_known: bool = True

    @property
    def ongoing(self) -> bool | None:
        """True while still given, False once ended (dated or not), None when the source does not say."""
        if self.ended_on is not None or self.ended:
            return False
        return True if self.course_known else None

    def describe(self) -> str:
        line = f", line {self.line}" if self.line else ""
        if self.ended_on:
            end = f"ended {self.ended_on}"
        elif self.ended:
            end = "ended"
        else:
            end = "ongoing" if self.ongoing else "whether ongoing not known"
        start = f"from {self.started_on}, " if self.started_on else ""
        return f"{self.drug}{line} ({start}{end})"


@dataclass(frozen=True)
class ProcedureFact:
    ref: str
    code: str
    name: str
    performed_on: date | None = None
    source: str = ""
    # As DiagnosisFact.diagnosed_by, for `performed_on`.
    performed_by: date | None = None

    def describe(self) -> str:
        when = f" on {self.performed_on}" if self.performed_on else ""
        return f"{self.name}{when}"


@dataclass(frozen=True)
class PatientFacts:
    """Everything matching may look at. Empty tuples mean "nothing recorded", not "none"."""

    ref: str = "profile"
    birth_date: date | None = None
    sex: str = ""
    ecog: int | None = None
    pregnancy_status: str = "unknown"
    breastfeeding: bool | None = None
    history_confirmed_on: date | None = None
    diagnoses: tuple[DiagnosisFact, ...] = ()
    biomarkers: tuple[BiomarkerFact, ...] = ()
    labs: tuple[LabFact, ...] = ()
    therapies: tuple[TherapyFact, ...] = ()
    procedures: tuple[ProcedureFact, ...] = ()

    @property
    def history_complete(self) -> bool:
        """Conditions, therapies and procedures were confirmed complete: a missing entry means absent."""
        return self.history_confirmed_on is not None
