"""FHIR R4 import of one patient's Bundle into profile facts, for a person to review before anything is saved.

`bundle_read` parses and validates the Bundle (with fhir.resources) and maps what the matcher can use to
proposed facts, each naming the resource it came from:

- Patient: birth date, sex, phone, address lines and postcode (the name is shown for an identity check only).
- Condition: SNOMED CT, ICD-10-CM or text, linked to the diagnosis vocabulary of nlp.terminology; a refuted
  condition becomes "ruled out", an unconfirmed, provisional or differential one is skipped; one whose
  clinicalStatus is inactive, remission or resolved is "resolved" (a history of it); the stage from
  Condition.stage or a stage-group Observation.
- Observation: ECOG (LOINC 89247-1); genomic variants (genomics reporting IG: gene studied, amino-acid change
  p.HGVS, DNA change type, clinical significance); tumour markers (ER, PR, HER2, MSI, TMB, PD-L1); laboratory
  results in UCUM units with their reference range. Only results with a final status are read: one registered
  (no result yet) or preliminary (may still change) is skipped, as a profile fact cannot say "unconfirmed".
- MedicationStatement / MedicationRequest (RxNorm display or text, linked to the drug vocabulary); one
  completed or stopped without an end date is recorded as ended on a date not known, never as ongoing.
- Procedure.

A date given by its year or month only ("2019", "2019-05") is kept with that precision on a diagnosis, a
procedure and a therapy's end, which matching reads as any day of that period; a laboratory result so dated
is skipped, since trials ask for results of the last days or weeks.

Anything wrong with the Bundle (not JSON, not a Bundle, invalid resources, a second Patient, an unknown unit,
an impossible value) raises `BundleError` listing every problem by entry index, resource id and field; nothing
is proposed then. Resources that are valid but of no use to matching (an Encounter, a resolved entry in error,
a heart rate) are listed as skipped, with the reason, so the reviewer sees what was left out.

`fhir_import_confirm` saves the facts the person kept, in one transaction, as source "imported".
"""

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError as PydanticValidationError

from nlp import terminology
from nlp.units import UnitError, convert
from recruitment.matching.atoms import TMB_HIGH_CUTOFF
from recruitment.models import (
    Biomarker,
    Diagnosis,
    FactSource,
    LabResult,
    PatientProfile,
    Procedure,
    ProfileFact,
    Therapy,
    User,
)
from recruitment.models.profile import STAGE_PATTERN, DatePrecision
from recruitment.services.matching import one_rematch_per_patient
from recruitment.services.profile import profile_fact_save, profile_update
from recruitment.validators import (
    ecog_of_a_living_patient,
    implausible_biomarker_value,
    implausible_dates,
    lab_result_problems,
    not_in_future,
    not_negative,
)

MAX_BUNDLE_BYTES = 5 * 1024 * 1024

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
UCUM = "http://unitsofmeasure.org"
HGNC = "http://www.genenames.org/geneId"

SYSTEM_NAMES = {LOINC: "LOINC", SNOMED: "SNOMED CT", ICD10CM: "ICD-10-CM", ICD10: "ICD-10", HGNC: "HGNC"}

ECOG_LOINC = "89247-1"
VARIANT_LOINC = "69548-6"
STAGE_GROUP_LOINCS = {"21908-9", "21902-2", "21914-7"}  # clinical, pathological, other stage group
GENE_STUDIED = "48018-6"
PROTEIN_CHANGE = "48005-3"
DNA_CHANGE_TYPE = "48019-4"
CLINICAL_SIGNIFICANCE = "53037-8"
# ECOG answers in LOINC's answer list LL529-9; 5 (dead) is read to be refused, as on every other path.
ECOG_ANSWERS = {"LA9622-7": 0, "LA9623-5": 1, "LA9624-3": 2, "LA9625-0": 3, "LA9626-8": 4, "LA9627-6": 5}
# Present, positive (LOINC, SNOMED); for MSI (81695-9, as mCODE reports it) MSI-H and unstable.
PRESENT_ANSWERS = {"LA9633-4", "LA6576-8", "10828004", "52101004", "LA26203-2", "LA14123-6"}
# Absent, negative; for MSI, stable and MSI-L (which trials asking for MSI-high do not count).
ABSENT_ANSWERS = {"LA9634-2", "LA6577-6", "260385009", "2667000", "LA14122-8", "LA26202-4"}
EQUIVOCAL_ANSWERS = {"LA4259-3", "42425007", "LA11884-6"}  # equivocal, indeterminate
PATHOGENIC = {"LA6668-3", "LA26332-9"}  # pathogenic, likely pathogenic
UNCERTAIN = {"LA26333-7"}
BENIGN = {"LA26334-5", "LA6675-8"}  # likely benign, benign
# Sequence Ontology change types -> our alteration types.
SO_CHANGE_TYPES = {
    "SO:0000159": Biomarker.Alteration.DELETION,
    "SO:0000667": Biomarker.Alteration.INSERTION,
    "SO:1000032": Biomarker.Alteration.MUTATION,  # delins
    "SO:1000002": Biomarker.Alteration.MUTATION,  # substitution
    "SO:0001019": Biomarker.Alteration.AMPLIFICATION,  # copy number variation, reported as a gain
    "SO:0001565": Biomarker.Alteration.FUSION,
}
# HGNC ids of the genes trials most often name, for variant reports that give the id without the symbol.
HGNC_IDS = {
    "HGNC:3236": "EGFR",
    "HGNC:3430": "ERBB2",
    "HGNC:6407": "KRAS",
    "HGNC:7989": "NRAS",
    "HGNC:1097": "BRAF",
    "HGNC:427": "ALK",
    "HGNC:10261": "ROS1",
    "HGNC:9967": "RET",
    "HGNC:7029": "MET",
    "HGNC:8975": "PIK3CA",
    "HGNC:3467": "ESR1",
    "HGNC:1100": "BRCA1",
    "HGNC:1101": "BRCA2",
    "HGNC:11998": "TP53",
}


@dataclass(frozen=True)
class Marker:
    gene: str
    alteration_type: str
    measure: str = ""


# Tumour-marker Observations (mCODE tumor marker test) by LOINC code.
TUMOUR_MARKERS = {
    "40556-3": Marker("ESR1", Biomarker.Alteration.EXPRESSION, "IHC"),
    "16112-5": Marker("ESR1", Biomarker.Alteration.EXPRESSION, "IHC"),
    "40557-1": Marker("PGR", Biomarker.Alteration.EXPRESSION, "IHC"),
    "16113-3": Marker("PGR", Biomarker.Alteration.EXPRESSION, "IHC"),
    "18474-7": Marker("ERBB2", Biomarker.Alteration.EXPRESSION, "IHC"),
    "85319-2": Marker("ERBB2", Biomarker.Alteration.EXPRESSION, "IHC"),
    "48676-1": Marker("ERBB2", Biomarker.Alteration.EXPRESSION),
    "85318-4": Marker("ERBB2", Biomarker.Alteration.AMPLIFICATION, "FISH"),
    "62862-8": Marker("MSI", Biomarker.Alteration.SIGNATURE),
    "81695-9": Marker("MSI", Biomarker.Alteration.SIGNATURE),
    "94076-7": Marker("TMB", Biomarker.Alteration.SIGNATURE),
}
# Laboratories report eGFR, already normalised to 1.73 m2 of body surface, as "mL/min".
UNIT_EQUIVALENTS = {("egfr_lab", "mL/min"): "mL/min/1.73m^2"}
# Condition.clinicalStatus of a condition that is over (condition-clinical: inactive and its children).
OVER_STATUSES = {"inactive", "remission", "resolved"}
UNCONFIRMED_VERIFICATIONS = {"unconfirmed", "provisional", "differential"}
# Besides records in error or never done: a drug only intended (MedicationStatement) and a procedure still in
# preparation, which trials asking about prior treatment must not count.
SKIPPED_STATUSES = {
    "entered-in-error",
    "cancelled",
    "not-done",
    "not-taken",
    "draft",
    "revoked",
    "intended",
    "preparation",
}
# An Observation without its final result: a profile fact is a result, and cannot say "may still change".
UNFINISHED_RESULTS = {
    "registered": "no result yet",
    "preliminary": "an interim result that may still change; import it once the laboratory finalises it",
}
# A medication given no more (MedicationStatement and MedicationRequest statuses).
FINISHED_STATUSES = {"completed", "stopped"}
# A MedicationRequest that is only proposed, planned or offered as an option was not necessarily given.
SKIPPED_INTENTS = {"proposal", "plan", "option"}
ONE_LETTER = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E", "Gly": "G",
    "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F", "Pro": "P", "Ser": "S",
    "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*",
}  # fmt: skip
FACT_MODELS: dict[str, type[ProfileFact]] = {
    "diagnosis": Diagnosis,
    "biomarker": Biomarker,
    "lab": LabResult,
    "therapy": Therapy,
    "procedure": Procedure,
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the Bundle, located for the person who has to fix the export."""

    entry: int | None
    resource: str
    field: str
    message: str

    def __str__(self) -> str:
        where = [f"entry {self.entry}" if self.entry is not None else "Bundle"]
        if self.resource:
            where.append(f"({self.resource})")
        if self.field:
            where.append(self.field)
        return f"{' '.join(where)}: {self.message}"


class BundleError(Exception):
    """The Bundle cannot be imported; `problems` says where and why."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


@dataclass(frozen=True)
class ProposedFact:
    """One fact to import. `kind` is a profile field group ("profile") or a fact model; `values` are the
    model fields, JSON-serialisable (dates as ISO strings) so that the proposal can wait in the session."""

    key: str
    kind: str
    summary: str
    source: str
    entry: int
    values: dict[str, Any]
    note: str = ""


@dataclass(frozen=True)
class Skipped:
    entry: int
    source: str
    reason: str


@dataclass
class ImportPreview:
    """What a Bundle would add: the record's name (for an identity check), facts, and resources left out."""

    patient_name: str
    patient_source: str
    facts: list[ProposedFact] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "ImportPreview":
        data = json.loads(text)
        return cls(
            patient_name=data["patient_name"],
            patient_source=data["patient_source"],
            facts=[ProposedFact(**fact) for fact in data["facts"]],
            skipped=[Skipped(**item) for item in data["skipped"]],
        )


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, entry: int | None, resource: str, field_name: str, message: str) -> None:
        self.items.append(Problem(entry, resource, field_name, message))


def _dig(value: Any, *path: str | int) -> Any:
    for step in path:
        if value is None:
            return None
        if isinstance(step, int):
            value = value[step] if isinstance(value, list) and len(value) > step else None
        else:
            value = value.get(step) if isinstance(value, dict) else None
    return value


def _codings(concept: Any) -> list[dict[str, Any]]:
    return [c for c in (_dig(concept, "coding") or []) if isinstance(c, dict)]


def _code_in(concept: Any, system: str) -> str | None:
    return next(
        (c.get("code") for c in _codings(concept) if c.get("system") == system and c.get("code")), None
    )


def _codes(concept: Any) -> set[str]:
    return {c["code"] for c in _codings(concept) if c.get("code")}


def _texts(concept: Any) -> list[str]:
    """Human-readable names of a CodeableConcept: its text, then each coding's display."""
    texts = [concept.get("text")] if isinstance(concept, dict) and concept.get("text") else []
    texts += [c["display"] for c in _codings(concept) if c.get("display")]
    return [str(text) for text in texts]


def _label(concept: Any) -> str:
    texts = _texts(concept)
    if texts:
        return texts[0]
    coding = next(iter(_codings(concept)), {})
    system = SYSTEM_NAMES.get(coding.get("system", ""), coding.get("system", ""))
    return f"{system} {coding.get('code', '')}".strip() or "(no code)"


_SEMANTIC_TAG = re.compile(r"\s*\((disorder|finding|procedure|morphologic abnormality|situation)\)\s*$", re.I)


def _parse_date(value: Any) -> date | None:
    if not value:
        return None
    text = str(value)
    try:
        if len(text) == 4:
            return date(int(text), 1, 1)
        if len(text) == 7:
            return date(int(text[:4]), int(text[5:7]), 1)
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _precision(value: Any) -> str | None:
    """Month or year for a FHIR date given without its day ("2019", "2019-05"); None for a full date."""
    text = str(value or "")
    return {4: DatePrecision.YEAR, 7: DatePrecision.MONTH}.get(len(text))


def _shown(day: str, precision: str | None) -> str:
    return f"in {day[:4]}" if precision == DatePrecision.YEAR else f"in {day[:7]}" if precision else day


def _effective(resource: Mapping[str, Any]) -> tuple[str, Any]:
    """effective[x] as (element, value): a dateTime, an instant, or the start of a period (a specimen taken or
    a score assessed over an interval)."""
    for name in ("effectiveDateTime", "effectiveInstant"):
        if resource.get(name):
            return name, resource[name]
    return "effectivePeriod.start", _dig(resource, "effectivePeriod", "start")


def _stored(value: Decimal, *, places: int) -> str:
    """A value as the model's DecimalField keeps it: exports often carry float noise (88.00000000000001)."""
    return f"{round(value, places).normalize():f}"


def _ucum(unit: str) -> str:
    """UCUM as written in FHIR -> the notation nlp.units reads: 10*9/L -> 10^9/L, annotations dropped
    ({cells}/uL -> /uL), the eGFR body-surface annotation kept as 1.73m^2."""
    text = unit.strip().replace("{1.73_m2}", "1.73m^2")
    text = re.sub(r"10\*(\d+)", r"10^\1", text)
    text = re.sub(r"\{[^}]*\}", "", text)
    # UCUM writes powers as trailing digits (m2, cm3) and special units in brackets (mm[Hg], [IU]).
    text = re.sub(r"(?<=[A-Za-z])(\d+)", r"^\1", text).replace("[", "").replace("]", "")
    return text or "1"


def _marker_status(marker: Marker, measure: str, value: Decimal) -> str:
    """A tumour marker's number read against the cut-off clinicians use: any staining is not a positive test
    (HER2 IHC 1+ is negative, 2+ equivocal; ER and PR are positive from 1 % of cells; HER2 FISH from a
    ratio of 2; TMB is high from 10 mut/Mb, as the matcher reads it)."""
    status = Biomarker.Status
    if marker.gene == "ERBB2" and measure == "IHC":
        return status.POSITIVE if value >= 3 else status.EQUIVOCAL if value >= 2 else status.NEGATIVE
    if marker.gene == "ERBB2" and measure == "FISH":
        return status.POSITIVE if value >= 2 else status.NEGATIVE
    if marker.gene == "TMB":
        return status.POSITIVE if value >= Decimal(str(TMB_HIGH_CUTOFF)) else status.NEGATIVE
    if marker.gene == "CD274" or (marker.gene in {"ESR1", "PGR"} and not measure):
        return status.POSITIVE if value >= 1 else status.NEGATIVE
    return status.POSITIVE if value > 0 else status.NEGATIVE


def _refused(check: Callable[[Any], None], value: Any) -> str:
    """What a shared field validator says of `value` (as the model would), or "" when it passes."""
    try:
        check(value)
    except ValidationError as error:
        return " ".join(error.messages)
    return ""


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


class _Reader:
    """Walks the entries of one validated Bundle, collecting proposals, skipped resources and problems."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = entries
        self.problems = _Problems()
        self.facts: list[ProposedFact] = []
        self.skipped: list[Skipped] = []
        self.patient_refs: set[str] = set()
        self.by_reference: dict[str, dict[str, Any]] = {}
        self.stage_groups: list[tuple[int, str, str]] = []
        for index, entry in enumerate(entries):
            resource = entry["resource"]
            ref = f"{resource['resourceType']}/{resource.get('id', '')}"
            self.by_reference[ref] = resource
            if entry.get("fullUrl"):
                self.by_reference[entry["fullUrl"]] = resource
            if resource["resourceType"] == "Patient":
                self.patient_refs |= {ref, entry.get("fullUrl") or ref}
            resource.setdefault("_entry", index)

    @staticmethod
    def source(resource: Mapping[str, Any]) -> str:
        return f"{resource['resourceType']}/{resource.get('id') or '(no id)'}"

    def propose(
        self, resource: Mapping[str, Any], kind: str, summary: str, values: dict[str, Any], note: str = ""
    ) -> None:
        entry = resource["_entry"]
        key = f"{entry}.{sum(1 for fact in self.facts if fact.entry == entry)}"
        self.facts.append(ProposedFact(key, kind, summary, self.source(resource), entry, values, note))

    def skip(self, resource: Mapping[str, Any], reason: str) -> None:
        self.skipped.append(Skipped(resource["_entry"], self.source(resource), reason))

    def problem(self, resource: Mapping[str, Any], field_name: str, message: str) -> None:
        self.problems.add(resource["_entry"], self.source(resource), field_name, message)

    def day(self, resource: Mapping[str, Any], field_name: str, value: Any) -> str | None:
        """An ISO date from a FHIR date or dateTime; a date in the future or before 1900 is a problem."""
        parsed = _parse_date(value)
        if parsed is None:
            return None
        refused = _refused(not_in_future, parsed) or implausible_dates({field_name: parsed}, born=None).get(
            field_name, ""
        )
        if refused:
            self.problem(resource, field_name, refused)
            return None
        return parsed.isoformat()

    def check_subject(self, resource: Mapping[str, Any]) -> bool:
        reference = _dig(resource, "subject", "reference") or _dig(resource, "patient", "reference")
        if reference and reference not in self.patient_refs:
            self.problem(resource, "subject", f"refers to {reference}, not to this Bundle's patient.")
            return False
        return True

    def skipped_bound(self, resource: Mapping[str, Any], quantity: Mapping[str, Any]) -> bool:
        """A result given as a bound ("eGFR >90", "PD-L1 <1%") is not a value: stored as its number it would
        be read as exactly 90 or as a PD-L1 of 1%, which is positive."""
        comparator = quantity.get("comparator")
        if not comparator:
            return False
        shown = f"{comparator} {quantity.get('value')} {quantity.get('unit') or quantity.get('code') or ''}"
        self.skip(
            resource,
            f"valueQuantity.comparator: reported as {shown.strip()}, a bound rather than a result; "
            "enter the result by hand if it is known",
        )
        return True

    def skipped_status(self, resource: Mapping[str, Any]) -> bool:
        status = resource.get("status")
        if status in SKIPPED_STATUSES:
            self.skip(resource, f"status is {status}")
            return True
        return False

    # Resources ---------------------------------------------------------------------------------------------

    def patient(self, resource: Mapping[str, Any]) -> str:
        names = resource.get("name") or []
        official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
        full_name = official.get("text") or " ".join([*official.get("given", []), official.get("family", "")])
        birth = self.day(resource, "birthDate", resource.get("birthDate"))
        if birth:
            self.propose(resource, "profile", f"Born {birth}", {"birth_date": birth})
        if resource.get("gender") in ("female", "male"):
            self.propose(resource, "profile", f"Sex: {resource['gender']}", {"sex": resource["gender"]})
        phone = next(
            (
                t.get("value")
                for t in resource.get("telecom", [])
                if t.get("system") == "phone" and t.get("value")
            ),
            None,
        )
        if phone:
            self.propose(resource, "profile", f"Phone: {phone}", {"phone": phone[:40]})
        address = next(iter(resource.get("address", [])), None)
        if address:
            lines = ", ".join([*address.get("line", []), address.get("city", ""), address.get("state", "")])
            lines = ", ".join(part.strip() for part in lines.split(",") if part.strip())
            if lines:
                self.propose(resource, "profile", f"Address: {lines}", {"address": lines[:300]})
            if address.get("postalCode"):
                postcode = str(address["postalCode"])[:30]
                self.propose(resource, "profile", f"Postcode: {postcode}", {"postcode": postcode})
        return " ".join(full_name.split())

    def condition(self, resource: Mapping[str, Any]) -> None:
        verification = _codes(resource.get("verificationStatus"))
        if "entered-in-error" in verification:
            self.skip(resource, "verification status is entered-in-error")
            return
        # A suspected or differential diagnosis is not yet the patient's: saved as present, it would match
        # her to trials for a disease she may not have.
        unsettled = verification & UNCONFIRMED_VERIFICATIONS
        if unsettled:
            self.skip(resource, f"verification status is {min(unsettled)}: not a confirmed diagnosis")
            return
        concept, how = self.diagnosis_concept(resource.get("code"))
        if concept is None:
            self.skip(
                resource, f"condition {_label(resource.get('code'))!r} is not in our diagnosis vocabulary"
            )
            return
        absent = "refuted" in verification
        values: dict[str, Any] = {
            "code": concept.code,
            "label": concept.label,
            "presence": Diagnosis.Presence.ABSENT if absent else Diagnosis.Presence.PRESENT,
        }
        onset_given = resource.get("onsetDateTime") or _dig(resource, "onsetPeriod", "start")
        onset = self.day(resource, "onsetDateTime", onset_given)
        recorded = self.day(resource, "recordedDate", resource.get("recordedDate"))
        if (onset or recorded) and not absent:
            values["diagnosed_on"] = onset or recorded
            precision = _precision(onset_given if onset else resource.get("recordedDate"))
            if precision:
                values["diagnosed_on_precision"] = precision
        stage = next(
            (s for s in (self.stage_text(_dig(item, "summary")) for item in resource.get("stage", [])) if s),
            "",
        )
        if stage:
            values["stage"] = stage
        # A cancer whose clinical status is a recurrence or relapse has come back: its course, as trials ask.
        recurred = {"recurrence", "relapse"} & _codes(resource.get("clinicalStatus"))
        if recurred and not absent and terminology.is_cancer(concept.code):
            values["course"] = "recurrent"
        # Over: a history of the condition, which criteria about the present disease must not read as current.
        if OVER_STATUSES & _codes(resource.get("clinicalStatus")) and not absent:
            values["resolved"] = True
        summary = (
            f"Ruled out: {concept.label}" + (f" (recorded {recorded})" if recorded else "")
            if absent
            else concept.label
        )
        if stage:
            summary += f", stage {stage}"
        if values.get("course"):
            summary += ", recurrent or relapsed"
        if values.get("resolved"):
            summary += ", resolved or in remission"
        if values.get("diagnosed_on"):
            summary += f", diagnosed {_shown(values['diagnosed_on'], values.get('diagnosed_on_precision'))}"
        self.propose(resource, "diagnosis", summary, values, note=f"{_label(resource.get('code'))} ({how})")

    @staticmethod
    def diagnosis_concept(code: Any) -> tuple[Any, str]:
        """Our diagnosis for a Condition.code: its words first (SNOMED displays are the most specific), then
        the ICD-10 code exactly, then its three-character category."""
        for text in _texts(code):
            for wording in _condition_wordings(_SEMANTIC_TAG.sub("", text)):
                found, how = terminology.link(wording, "condition")
                if found is not None and found.system == "diagnosis":
                    return found, f"matched on its name as {wording!r} ({how})"
        icd = _code_in(code, ICD10CM) or _code_in(code, ICD10)
        if icd:
            exact = _diagnoses_by_icd(icd.upper())
            if exact:
                return exact, f"ICD-10 {icd}"
            category = _diagnoses_by_icd(icd.upper()[:3], category=True)
            if category:
                return category, f"ICD-10 category {icd[:3]}"
        return None, ""

    @staticmethod
    def stage_text(concept: Any) -> str:
        for text in [*_texts(concept), *_codes(concept)]:
            candidate = re.sub(r"^(stage|ajcc)\s*", "", text.strip(), flags=re.I).upper()
            if candidate in {"1", "2", "3", "4"}:
                candidate = "I" * int(candidate) if candidate != "4" else "IV"
            if STAGE_PATTERN.fullmatch(candidate):
                return candidate
        return ""

    def observation(self, resource: Mapping[str, Any]) -> None:
        if self.skipped_status(resource):
            return
        if resource.get("status") in UNFINISHED_RESULTS:
            self.skip(resource, f"status is {resource['status']}: {UNFINISHED_RESULTS[resource['status']]}")
            return
        code = resource.get("code")
        loincs = {str(c["code"]) for c in _codings(code) if c.get("system") == LOINC and c.get("code")}
        profiles = " ".join(_dig(resource, "meta", "profile") or [])
        if ECOG_LOINC in loincs:
            self.ecog(resource)
        elif VARIANT_LOINC in loincs or ("genomics-reporting" in profiles and "variant" in profiles):
            self.variant(resource)
        elif loincs & STAGE_GROUP_LOINCS:
            stage = self.stage_text(resource.get("valueCodeableConcept"))
            if stage:
                self.stage_groups.append((resource["_entry"], self.source(resource), stage))
            else:
                self.skip(resource, "stage group not in the I-IV form")
        elif loincs & TUMOUR_MARKERS.keys():
            self.tumour_marker(resource, TUMOUR_MARKERS[next(iter(loincs & TUMOUR_MARKERS.keys()))])
        elif any("PD-L1" in text.upper() or "PDL1" in text.upper() for text in _texts(code)):
            measure = "CPS" if any("CPS" in t or "combined" in t.lower() for t in _texts(code)) else "TPS"
            self.tumour_marker(resource, Marker("CD274", Biomarker.Alteration.EXPRESSION, measure))
        else:
            self.lab(resource, loincs)

    def ecog(self, resource: Mapping[str, Any]) -> None:
        value = resource.get("valueInteger")
        given_as = "valueInteger" if value is not None else "valueCodeableConcept"
        quantity = _decimal(_dig(resource, "valueQuantity", "value"))
        if value is None and quantity is not None:
            # Some records give the score as a quantity in UCUM {score} (or without a unit).
            if quantity != quantity.to_integral_value():
                self.problem(
                    resource, "valueQuantity.value", f"an ECOG score is a whole number, not {quantity}."
                )
                return
            value, given_as = int(quantity), "valueQuantity.value"
        if value is None:
            value = next(
                (ECOG_ANSWERS[c] for c in _codes(resource.get("valueCodeableConcept")) if c in ECOG_ANSWERS),
                None,
            )
        if value is None:
            self.problem(
                resource,
                "value[x]",
                "an ECOG observation needs a value 0-4 (valueInteger, valueQuantity or LA code).",
            )
            return
        refused = _refused(ecog_of_a_living_patient, int(value))
        if refused:
            self.problem(resource, given_as, refused)
            return
        values: dict[str, Any] = {"ecog": int(value)}
        assessed = self.day(resource, *_effective(resource))
        if assessed:
            values["ecog_assessed_on"] = assessed
        self.propose(
            resource,
            "profile",
            f"ECOG performance status {value}" + (f" ({assessed})" if assessed else ""),
            values,
        )

    def variant(self, resource: Mapping[str, Any]) -> None:
        components = {
            code: component
            for component in resource.get("component", [])
            for code in _codes(component.get("code"))
        }
        gene_concept = _dig(components.get(GENE_STUDIED), "valueCodeableConcept")
        gene = _gene_symbol(gene_concept)
        if gene is None:
            label = _label(gene_concept) if gene_concept else "missing"
            self.problem(
                resource, "component[gene-studied]", f"gene {label!r} is not an HGNC symbol we know."
            )
            return
        value_codes = _codes(resource.get("valueCodeableConcept"))
        significance = _codes(_dig(components.get(CLINICAL_SIGNIFICANCE), "valueCodeableConcept"))
        interpretation = (
            _texts(resource.get("interpretation", [{}])[0]) if resource.get("interpretation") else []
        )
        alteration: str
        if value_codes & ABSENT_ANSWERS:
            status, alteration = Biomarker.Status.NEGATIVE, Biomarker.Alteration.WILD_TYPE
        elif significance & BENIGN:
            self.skip(resource, f"{gene} variant classified benign or likely benign")
            return
        else:
            status = Biomarker.Status.EQUIVOCAL if significance & UNCERTAIN else Biomarker.Status.POSITIVE
            alteration = self.alteration(components, interpretation)
        protein = _one_letter_protein_change(
            next(iter(_codes(_dig(components.get(PROTEIN_CHANGE), "valueCodeableConcept"))), "")
            or next(iter(_texts(_dig(components.get(PROTEIN_CHANGE), "valueCodeableConcept"))), "")
        )
        values = {
            "gene": gene,
            "alteration_type": alteration,
            "protein_change": protein,
            "status": status,
            "assay": _label(resource.get("method"))[:100] if resource.get("method") else "",
        }
        tested = self.day(resource, *_effective(resource)) or self.day(
            resource, "issued", resource.get("issued")
        )
        if tested:
            values["tested_on"] = tested
        significance_text = _texts(_dig(components.get(CLINICAL_SIGNIFICANCE), "valueCodeableConcept"))
        summary = f"{gene} {protein or Biomarker.Alteration(alteration).label.lower()}: {status}"
        note = ", ".join([*significance_text[:1], *interpretation[:1]])
        self.propose(resource, "biomarker", summary, values, note=note)

    @staticmethod
    def alteration(components: Mapping[str, Any], interpretation: list[str]) -> str:
        change_type = _codes(_dig(components.get(DNA_CHANGE_TYPE), "valueCodeableConcept"))
        for so_code, alteration in SO_CHANGE_TYPES.items():
            if so_code in change_type:
                return alteration
        words = " ".join(interpretation).lower()
        for word, alteration in (
            ("amplif", Biomarker.Alteration.AMPLIFICATION),
            ("fusion", Biomarker.Alteration.FUSION),
            ("rearrang", Biomarker.Alteration.FUSION),
            ("deletion", Biomarker.Alteration.DELETION),
            ("insertion", Biomarker.Alteration.INSERTION),
        ):
            if word in words:
                return alteration
        return Biomarker.Alteration.MUTATION

    def tumour_marker(self, resource: Mapping[str, Any], marker: Marker) -> None:
        codes = _codes(resource.get("valueCodeableConcept"))
        quantity = resource.get("valueQuantity")
        values: dict[str, Any] = {
            "gene": marker.gene,
            "alteration_type": marker.alteration_type,
            "measure": marker.measure,
        }
        if codes & PRESENT_ANSWERS:
            values["status"] = Biomarker.Status.POSITIVE
        elif codes & ABSENT_ANSWERS:
            values["status"] = Biomarker.Status.NEGATIVE
        elif codes & EQUIVOCAL_ANSWERS:
            values["status"] = Biomarker.Status.EQUIVOCAL
        elif quantity is not None:
            if self.skipped_bound(resource, quantity):
                return
            value = _decimal(quantity.get("value"))
            unit = quantity.get("code") or quantity.get("unit") or ""
            if value is None:
                self.problem(resource, "valueQuantity.value", f"{quantity.get('value')!r} is not a result.")
                return
            # A receptor given in % of stained cells is not an IHC score (0-3), which the matcher reads it as.
            measure = "" if marker.measure == "IHC" and unit.strip() == "%" else marker.measure
            implausible = _refused(not_negative, value) or implausible_biomarker_value(
                gene=marker.gene, measure=measure, unit=unit, value=value
            )
            if implausible:
                self.problem(resource, "valueQuantity.value", implausible)
                return
            values.update(
                measure=measure,
                value=_stored(value, places=3),
                unit=unit[:20],
                status=_marker_status(marker, measure, value),
            )
        else:
            self.skip(resource, "tumour marker without a positive/negative answer or a number")
            return
        if marker.gene == "MSI" and values["status"] == Biomarker.Status.POSITIVE:
            values["protein_change"] = "MSI-H"
        if resource.get("method"):
            values["assay"] = _label(resource["method"])[:100]
        tested = self.day(resource, *_effective(resource)) or self.day(
            resource, "issued", resource.get("issued")
        )
        if tested:
            values["tested_on"] = tested
        shown = f"{values['value']} {values['unit']}".strip() if "value" in values else values["status"]
        self.propose(
            resource,
            "biomarker",
            f"{marker.gene} {marker.measure} {shown}".replace("  ", " "),
            values,
            note=_label(resource.get("code")),
        )

    def lab(self, resource: Mapping[str, Any], loincs: set[str]) -> None:
        by_loinc = terminology.labs_by_loinc()
        lab = next((by_loinc[loinc] for loinc in sorted(loincs) if loinc in by_loinc), None)
        if lab is None:
            self.skip(
                resource, f"{_label(resource.get('code'))!r} is not a test trial criteria are read against"
            )
            return
        quantity = resource.get("valueQuantity")
        if quantity is None:
            self.skip(resource, f"{lab.label} without a numeric value")
            return
        if self.skipped_bound(resource, quantity):
            return
        value = _decimal(quantity.get("value"))
        if value is None:
            self.problem(resource, "valueQuantity.value", "a laboratory result needs a number.")
            return
        if quantity.get("system") not in (None, UCUM):
            self.problem(
                resource, "valueQuantity.system", f"units must be UCUM ({UCUM}), not {quantity['system']}."
            )
            return
        unit = _ucum(quantity.get("code") or quantity.get("unit") or "")
        unit = UNIT_EQUIVALENTS.get((lab.code, unit), unit)
        negative = _refused(not_negative, value)
        if negative:
            self.problem(resource, "valueQuantity.value", negative)
            return
        problems = lab_result_problems(lab, value, unit)  # a missing unit is "1" here, as UCUM writes it
        if "unit" in problems:
            self.problem(resource, "valueQuantity.code", problems["unit"])
            return
        if "value" in problems:
            self.problem(resource, "valueQuantity.value", problems["value"])
            return
        element, given = _effective(resource)
        if _precision(given):
            # Trials ask for results from the last days or weeks: a month or a year cannot place it.
            self.skip(
                resource, f"{element}: collected in {given}, without the day; enter it by hand if known"
            )
            return
        collected = self.day(resource, element, given)
        if collected is None:
            self.problem(resource, "effective[x]", "a laboratory result needs the date it was collected.")
            return
        values: dict[str, Any] = {
            "analyte": lab.label,
            "loinc": lab.loinc,
            "value": _stored(value, places=4),
            "unit": unit[:30],
            "collected_on": collected,
        }
        reference = next(iter(resource.get("referenceRange", [])), None)
        for bound, name in (("low", "reference_low"), ("high", "reference_high")):
            limit = _dig(reference, bound)
            if limit is None:
                continue
            limit_value = _decimal(limit.get("value"))
            limit_unit = _ucum(limit.get("code") or limit.get("unit") or unit)
            limit_unit = UNIT_EQUIVALENTS.get((lab.code, limit_unit), limit_unit)
            try:
                in_unit = (
                    convert(float(limit_value), limit_unit, unit, lab.code)
                    if limit_value is not None and limit_unit != unit
                    else limit_value
                )
            except UnitError as error:
                self.problem(resource, f"referenceRange.{bound}", f"unit {limit_unit!r}: {error}.")
                return
            refused = (
                "a reference limit needs a number."
                if in_unit is None
                else _refused(not_negative, Decimal(str(in_unit)))
            )
            if refused:
                self.problem(resource, f"referenceRange.{bound}", refused)
                return
            values[name] = _stored(Decimal(str(in_unit)), places=4)
        range_text = ""
        if "reference_low" in values or "reference_high" in values:
            range_text = f" (reference {values.get('reference_low', '')}-{values.get('reference_high', '')})"
        self.propose(
            resource,
            "lab",
            f"{values['analyte']} {values['value']} {unit} on {collected}{range_text}",
            values,
            note=_label(resource.get("code")),
        )

    def medication(self, resource: Mapping[str, Any]) -> None:
        if self.skipped_status(resource):
            return
        if resource.get("intent") in SKIPPED_INTENTS:
            self.skip(resource, f"intent is {resource['intent']}: not an order for the patient")
            return
        concept = resource.get("medicationCodeableConcept")
        reference = _dig(resource, "medicationReference", "reference")
        if concept is None and reference:
            medication = self.by_reference.get(reference) or self.contained(resource, reference)
            concept = medication.get("code") if medication else None
            if medication is None:
                self.problem(resource, "medicationReference", f"{reference} is not in the Bundle.")
                return
        if not concept or not _texts(concept):
            self.problem(resource, "medication[x]", "the medication has no name (text or coding display).")
            return
        drug, how = _drug(concept)
        values: dict[str, Any] = {"drug": drug}
        if resource["resourceType"] == "MedicationRequest":
            started = self.day(resource, "authoredOn", resource.get("authoredOn"))
            ended = None
        else:
            started = self.day(resource, *_effective(resource))
            ended = self.day(resource, "effectivePeriod.end", _dig(resource, "effectivePeriod", "end"))
        if started:
            values["started_on"] = started
        if ended:
            values["ended_on"] = ended
            precision = _precision(_dig(resource, "effectivePeriod", "end"))
            if precision:
                values["ended_on_precision"] = precision
        elif resource.get("status") in FINISHED_STATUSES:
            # Over, but the record does not say when: an invented end date would be trusted by washouts.
            values["ended"] = True
        when = f", from {started}" if started else ""
        when += (
            f" to {_shown(ended, values.get('ended_on_precision'))}"
            if ended
            else ", ended, date not known"
            if values.get("ended")
            else " (ongoing)"
            if resource.get("status") == "active"
            else ""
        )
        self.propose(resource, "therapy", f"{drug}{when}", values, note=f"{_label(concept)} ({how})")

    @staticmethod
    def contained(resource: Mapping[str, Any], reference: str) -> dict[str, Any] | None:
        if not reference.startswith("#"):
            return None
        return next((c for c in resource.get("contained", []) if c.get("id") == reference[1:]), None)

    def procedure(self, resource: Mapping[str, Any]) -> None:
        if self.skipped_status(resource):
            return
        name = _SEMANTIC_TAG.sub("", _label(resource.get("code")))
        concept, how = terminology.link(name, "procedure")
        values: dict[str, Any] = {"name": name[:200], "code": concept.code if concept else ""}
        performed_given = resource.get("performedDateTime") or _dig(resource, "performedPeriod", "start")
        performed = self.day(resource, "performed[x]", performed_given)
        if performed:
            values["performed_on"] = performed
            precision = _precision(performed_given)
            if precision:
                values["performed_on_precision"] = precision
        note = f"{concept.label} ({how})" if concept else "not in our procedure vocabulary: kept as written"
        self.propose(
            resource,
            "procedure",
            name + (f" on {_shown(performed, values.get('performed_on_precision'))}" if performed else ""),
            values,
            note=note,
        )

    def attach_stage_groups(self) -> None:
        """mCODE reports the stage as an Observation of its own: it belongs to the one cancer diagnosis."""
        cancers = [
            fact
            for fact in self.facts
            if fact.kind == "diagnosis"
            and fact.values["presence"] == Diagnosis.Presence.PRESENT
            and (
                terminology.is_a(fact.values["code"], "cancer")
                or terminology.is_a(fact.values["code"], "solid_tumour")
            )
        ]
        for entry, source, stage in self.stage_groups:
            if len(cancers) != 1:
                reason = f"stage group, but {len(cancers)} cancer diagnoses: which one it stages is unclear"
                self.skipped.append(Skipped(entry, source, reason))
                continue
            if cancers[0].values.get("stage"):
                self.skipped.append(Skipped(entry, source, f"stage group; {cancers[0].source} has its stage"))
                continue
            cancer = cancers[0]
            index = self.facts.index(cancer)
            values = {**cancer.values, "stage": stage}
            self.facts[index] = ProposedFact(
                cancer.key,
                cancer.kind,
                f"{cancer.summary}, stage {stage} (from {source})",
                cancer.source,
                cancer.entry,
                values,
                cancer.note,
            )

    def keep_latest(self) -> None:
        """A record holds series (an ECOG score or a creatinine at every visit); trials ask about the current
        value, so the review offers the most recent of each and lists the others as older."""
        series: dict[str, list[ProposedFact]] = {}
        for fact in self.facts:
            if "ecog" in fact.values:
                series.setdefault("ECOG score", []).append(fact)
            elif fact.kind == "lab":
                series.setdefault(fact.values["analyte"], []).append(fact)
        for what, facts in series.items():
            latest = max(
                facts,
                key=lambda fact: fact.values.get("ecog_assessed_on") or fact.values.get("collected_on") or "",
            )
            for fact in facts:
                if fact is not latest:
                    self.facts.remove(fact)
                    self.skipped.append(
                        Skipped(fact.entry, fact.source, f"older {what} (the latest is {latest.source})")
                    )

    def merge_repeats(self) -> None:
        """Long records repeat a prescription at every renewal, a procedure at every visit, a diagnosis in
        several coded forms. One therapy per drug spans its first start to its last end (open while any
        course is open, ended on a date not known when one course ended so); one procedure per kind keeps
        its latest date, since trials ask how long ago it was; one diagnosis keeps its first date."""
        groups: dict[tuple[str, str], list[ProposedFact]] = {}
        for fact in self.facts:
            if fact.kind == "therapy":
                groups.setdefault(("therapy", fact.values["drug"]), []).append(fact)
            elif fact.kind == "procedure":
                groups.setdefault(("procedure", fact.values["code"] or fact.values["name"]), []).append(fact)
            elif fact.kind == "diagnosis":
                key = f"{fact.values['code']}:{fact.values['presence']}"
                groups.setdefault(("diagnosis", key), []).append(fact)
        for (kind, _), facts in groups.items():
            if len(facts) < 2:
                continue
            if kind == "therapy":
                starts = [f.values["started_on"] for f in facts if f.values.get("started_on")]
                ends = [f.values.get("ended_on") for f in facts]
                values = {"drug": facts[0].values["drug"]}
                if starts:
                    values["started_on"] = min(starts)
                if all(ends):
                    last = max(facts, key=lambda f: f.values["ended_on"])
                    values["ended_on"] = last.values["ended_on"]
                    if "ended_on_precision" in last.values:
                        values["ended_on_precision"] = last.values["ended_on_precision"]
                elif all(end or f.values.get("ended") for end, f in zip(ends, facts, strict=True)):
                    # Every course is over, one on a date not known, which may be the last.
                    values["ended"] = True
                span = f", from {values.get('started_on', '?')}" + (
                    f" to {values['ended_on']}"
                    if "ended_on" in values
                    else ", ended, date not known"
                    if values.get("ended")
                    else ""
                )
                kept = facts[0]
                summary = f"{values['drug']}{span} ({len(facts)} prescriptions or statements)"
            elif kind == "diagnosis":
                # Two records of one diagnosis (e.g. "neoplasm of prostate" and a later, finer one): the
                # first date is when it was diagnosed; a stage comes from whichever record has one.
                kept = min(facts, key=lambda f: f.values.get("diagnosed_on") or "9999")
                staged = next((f for f in facts if f.values.get("stage")), kept)
                values = {
                    **kept.values,
                    **({"stage": staged.values["stage"]} if "stage" in staged.values else {}),
                }
                # Over only if every record says so: a later active record is the disease back.
                values.pop("resolved", None)
                if all(f.values.get("resolved") for f in facts):
                    values["resolved"] = True
                summary = f"{kept.summary} ({len(facts)} records)"
            else:
                kept = max(facts, key=lambda f: f.values.get("performed_on") or "")
                values = dict(kept.values)
                summary = f"{kept.summary} (latest of {len(facts)})"
            merged = ProposedFact(kept.key, kept.kind, summary, kept.source, kept.entry, values, kept.note)
            self.facts[self.facts.index(kept)] = merged
            for fact in facts:
                if fact is not kept:
                    self.facts.remove(fact)
                    self.skipped.append(Skipped(fact.entry, fact.source, f"merged into {kept.source}"))

    def validate_models(self) -> None:
        """Run the models' own checks now, so that the review never offers a fact the save would refuse; the
        facts' dates are checked against the record's own birth date, as saving checks them against the
        profile's."""
        born = next(
            (date.fromisoformat(f.values["birth_date"]) for f in self.facts if f.values.get("birth_date")),
            None,
        )
        for fact in self.facts:
            model = PatientProfile if fact.kind == "profile" else FACT_MODELS[fact.kind]
            values = _typed(model, fact.values)
            errors: dict[str, str] = {}
            try:
                if fact.kind == "profile":
                    PatientProfile(**values).clean_fields(
                        exclude=[f.name for f in PatientProfile._meta.fields if f.name not in values]
                    )
                else:
                    model(**values).full_clean(exclude=["patient"])
            except ValidationError as error:
                errors = {name: " ".join(messages) for name, messages in error.message_dict.items()}
            if fact.kind == "profile":
                dates = {name: value for name, value in values.items() if isinstance(value, date)}
                dates.pop("birth_date", None)
                implausible = implausible_dates(dates, born=born)
            else:
                implausible = FACT_MODELS[fact.kind](**values).implausible_dates(born=born)
            for name, message in implausible.items():
                errors.setdefault(name, message)
            for name, message in errors.items():
                self.problems.add(fact.entry, fact.source, name, message)


def _typed(model: type[Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Values from the session (JSON) converted back to what the model fields hold."""
    typed: dict[str, Any] = {}
    for name, value in values.items():
        internal = model._meta.get_field(name).get_internal_type()
        if value is not None and internal == "DateField":
            typed[name] = date.fromisoformat(value)
        elif value is not None and internal == "DecimalField":
            typed[name] = Decimal(value)
        else:
            typed[name] = value
    return typed


_CANCER_WORDS = re.compile(r"carcinoma|malignant|neoplasm|cancer|tumou?r", re.I)
_NOT_INVASIVE = re.compile(r"in situ|benign", re.I)


def _condition_wordings(text: str) -> list[str]:
    """SNOMED CT names put the site last ("Adenocarcinoma of lung"); our vocabulary puts it first ("lung
    adenocarcinoma"). Try the name as written, reordered, and as "<site> cancer" for a primary cancer named
    by a morphology we do not list ("Infiltrating duct carcinoma of breast"). A secondary (metastatic)
    neoplasm is never read as a cancer of the site it spread to."""
    wordings = [text]
    head, of, site = text.partition(" of ")
    if of and site and "secondary" not in text.lower() and "metasta" not in text.lower():
        wordings.append(f"{site} {head.lower()}")
        if _CANCER_WORDS.search(head) and not _NOT_INVASIVE.search(text):
            wordings.append(f"{site} cancer")
    return wordings


def _diagnoses_by_icd(code: str, *, category: bool = False) -> Any:
    """The most general diagnosis carrying this ICD-10-CM code (or category): C34.90 is lung cancer, whose
    children (NSCLC, adenocarcinoma...) share the code but cannot be told from it."""
    matches = []
    for entry in terminology.vocabulary()["condition"]:
        icd = (terminology.icd10cm(entry.concept.code) or "").upper()
        if icd and (icd[:3] == code if category else icd == code):
            matches.append(entry.concept)
    roots = [
        c for c in matches if not any(o.code != c.code and terminology.is_a(c.code, o.code) for o in matches)
    ]
    return roots[0] if roots else None


def _gene_symbol(concept: Any) -> str | None:
    if concept is None:
        return None
    genes = terminology.genes()
    for text in [*_texts(concept), *_codes(concept)]:
        if text.strip() in genes:
            return genes[text.strip()]
    code = _code_in(concept, HGNC) or next((c for c in _codes(concept) if c.startswith("HGNC:")), None)
    return HGNC_IDS.get(code or "")


def _one_letter_protein_change(hgvs: str) -> str:
    """p.Val600Glu, p.(Leu858Arg) or p.V600E -> V600E; exon-level or other descriptions pass through."""
    text = hgvs.strip()
    text = re.sub(r"^(NP_[\d.]+:)?p\.", "", text).strip("()")
    for three, one in ONE_LETTER.items():
        text = text.replace(three, one)
    return text[:60]


def _drug(concept: Any) -> tuple[str, str]:
    """Our drug name for a medication. RxNorm names carry strength, form and brand around the ingredient
    ("24 HR metoprolol succinate 100 MG Extended Release Oral Tablet [Toprol]"), so every run of words is
    tried against the drug vocabulary, longest first; an unknown drug keeps its words without the dose."""
    for text in _texts(concept):
        words = text.split()
        for size in range(len(words), 0, -1):
            for start in range(len(words) - size + 1):
                phrase = " ".join(words[start : start + size])
                found, how = terminology.link(phrase, "therapy")
                if found is not None:
                    return (found.code if found.system == "drug" else phrase.lower()), how
    return _ingredient(_texts(concept)[0])[:100], "not in our drug vocabulary: kept as written"


_DOSE_WORDS = re.compile(
    r"^(oral|inject\w*|injetable|tablet|capsule|solution|suspension|product|prefilled|syringe|topical|"
    r"cream|patch|powder|extended|delayed|release|hr|abuse-deterrent|[\d.,/]+|mg|ml|mcg|unt|meq|mg/ml|"
    r"\d.*|\[.*\]|/)$",
    re.I,
)


def _ingredient(text: str) -> str:
    """The ingredient words of an RxNorm-style name, without strength, form or brand."""
    kept = [word for word in text.split() if not _DOSE_WORDS.match(word)]
    return " ".join(kept or text.split()).lower()


def _load(raw: bytes | str) -> dict[str, Any]:
    if isinstance(raw, bytes):
        if len(raw) > MAX_BUNDLE_BYTES:
            raise BundleError(
                [Problem(None, "", "", f"the file is larger than {MAX_BUNDLE_BYTES // 1024 // 1024} MB.")]
            )
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BundleError(
                [Problem(None, "", "", "the file is not UTF-8 text (is it a FHIR JSON file?).")]
            ) from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise BundleError(
            [
                Problem(
                    None, "", "", f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})."
                )
            ]
        ) from None
    except RecursionError:
        # The parser recurses once per nested array or object; a real Bundle is a few dozen levels deep.
        raise BundleError(
            [Problem(None, "", "", "the JSON is nested far too deeply to be a FHIR Bundle.")]
        ) from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        found = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise BundleError([Problem(None, "", "resourceType", f"expected a FHIR Bundle, found {found!r}.")])
    return data


def _validate(data: dict[str, Any]) -> list[dict[str, Any]]:
    """fhir.resources validation of the Bundle shell and of each entry's resource, every problem located."""
    problems = _Problems()
    entries = data.get("entry")
    if not isinstance(entries, list) or not entries:
        raise BundleError([Problem(None, "", "entry", "the Bundle has no entries.")])
    try:
        Bundle.model_validate(
            {
                **data,
                "entry": [
                    {"fullUrl": e.get("fullUrl")} if isinstance(e, dict) and e.get("fullUrl") else {}
                    for e in entries
                ],
            }
        )
    except PydanticValidationError as error:
        for item in error.errors():
            problems.add(None, "", ".".join(str(part) for part in item["loc"]), item["msg"])
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not resource.get("resourceType"):
            problems.add(index, "", "resource", "the entry has no resource with a resourceType.")
            continue
        source = f"{resource['resourceType']}/{resource.get('id') or '(no id)'}"
        try:
            model = get_fhir_model_class(resource["resourceType"])
        except (KeyError, ValueError):
            problems.add(
                index, source, "resourceType", f"{resource['resourceType']!r} is not a FHIR R4 resource."
            )
            continue
        try:
            model.model_validate(resource)
        except PydanticValidationError as error:
            for item in error.errors():
                problems.add(index, source, ".".join(str(part) for part in item["loc"]), item["msg"])
    patients = [
        (index, entry["resource"])
        for index, entry in enumerate(entries)
        if isinstance(entry, dict)
        and isinstance(entry.get("resource"), dict)
        and entry["resource"].get("resourceType") == "Patient"
    ]
    if not patients:
        problems.add(None, "", "entry", "the Bundle has no Patient resource.")
    for index, patient in patients[1:]:
        first_index, first = patients[0]
        problems.add(
            index,
            f"Patient/{patient.get('id') or '(no id)'}",
            "resourceType",
            f"a second Patient (the first is entry {first_index}, Patient/{first.get('id') or '(no id)'}): "
            "import one patient's record at a time.",
        )
    if problems.items:
        raise BundleError(problems.items)
    return [dict(entry, resource=dict(entry["resource"])) for entry in entries]


def bundle_read(raw: bytes | str) -> ImportPreview:
    """Parse, validate and map a FHIR R4 patient Bundle; raises BundleError naming every problem."""
    entries = _validate(_load(raw))
    reader = _Reader(entries)
    patient_name, patient_source = "", ""
    handlers = {
        "Condition": reader.condition,
        "Observation": reader.observation,
        "MedicationStatement": reader.medication,
        "MedicationRequest": reader.medication,
        "Procedure": reader.procedure,
    }
    for entry in entries:
        resource = entry["resource"]
        kind = resource["resourceType"]
        if kind == "Patient":
            patient_name, patient_source = reader.patient(resource), reader.source(resource)
        elif kind in handlers:
            if reader.check_subject(resource):
                handlers[kind](resource)
        elif kind != "Medication":
            reader.skip(resource, f"{kind} resources are not used for matching")
    reader.attach_stage_groups()
    reader.keep_latest()
    reader.merge_repeats()
    reader.validate_models()
    if reader.problems.items:
        raise BundleError(reader.problems.items)
    return ImportPreview(patient_name, patient_source, reader.facts, reader.skipped)


def _fact_save(*, profile: PatientProfile, fact: ProposedFact, actor: User) -> None:
    model = FACT_MODELS[fact.kind]
    try:
        profile_fact_save(
            profile=profile, fact=model(**_typed(model, fact.values)), actor=actor, source=FactSource.IMPORTED
        )
    except ValidationError as error:
        raise BundleError(
            [
                Problem(fact.entry, fact.source, name, " ".join(messages))
                for name, messages in error.message_dict.items()
            ]
        ) from None


def _profile_problems(chosen: Sequence[ProposedFact], error: ValidationError) -> list[Problem]:
    """The profile's refusal located at the resource each refused field came from; a field the import did
    not set (a date the profile holds, refused against an imported birth date) at the one imported profile
    fact when there is only one."""
    profile_facts = [f for f in chosen if f.kind == "profile"]
    only = profile_facts[0] if len(profile_facts) == 1 else None
    problems = []
    for name, messages in error.message_dict.items():
        fact = next((f for f in profile_facts if name in f.values), only)
        entry, source = (fact.entry, fact.source) if fact else (None, "")
        problems.append(Problem(entry, source, name, " ".join(messages)))
    return problems


@transaction.atomic
def fhir_import_confirm(
    *, profile: PatientProfile, preview: ImportPreview, keys: Iterable[str], actor: User
) -> list[ProposedFact]:
    """Save the facts of `preview` whose keys the person kept, all or none, as imported facts.

    Profile fields (birth date, sex, contact details, ECOG) go through profile_update, coded facts through
    profile_fact_save; a fact the models refuse now (the profile changed since the review) undoes them all.
    The patient is re-matched once, after commit, not once per fact.
    """
    PatientProfile.objects.select_for_update().get(pk=profile.pk)
    wanted = set(keys)
    chosen = [fact for fact in preview.facts if fact.key in wanted]
    unknown = wanted - {fact.key for fact in preview.facts}
    if unknown:
        raise BundleError(
            [Problem(None, "", "selection", f"unknown facts {sorted(unknown)}; review the import again.")]
        )
    profile_fields: dict[str, Any] = {}
    for fact in chosen:
        if fact.kind == "profile":
            profile_fields.update(_typed(PatientProfile, fact.values))
    with one_rematch_per_patient():
        if profile_fields:
            try:
                profile_update(profile=profile, fields={**profile_fields, "source": FactSource.IMPORTED})
            except ValidationError as error:
                raise BundleError(_profile_problems(chosen, error)) from None
        for fact in chosen:
            if fact.kind != "profile":
                _fact_save(profile=profile, fact=fact, actor=actor)
    return chosen
