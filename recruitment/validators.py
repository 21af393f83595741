"""Checks of profile facts shared by every path facts come in by: the models (so the portal and site forms,
the API and the admin), the FHIR import and the summary paste. The field validators are referenced by
migrations, so keep their paths."""

import re
import unicodedata
from collections.abc import Collection, Mapping
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import models
from django.utils import timezone

from nlp import terminology
from nlp.terminology import Lab
from nlp.units import UnitError, convert


def number_as_typed(value: Decimal | float) -> str:
    """A value as typed, whatever decimal places the field or serializer padded it to (5000.000 -> 5000); a
    value no form takes (an imported 1e300) in scientific notation, not written out in 300 digits."""
    number = Decimal(str(value)).normalize()
    written = f"{number:f}"
    return written if len(written) <= 20 else f"{number:.6g}"


_NO_NUL = ProhibitNullCharactersValidator()

# Characters no one types on purpose into a profile or a registry record: control characters (a backspace or
# an escape pasted from a PDF) and the marks that reorder text on screen, so that what is shown is not what
# is stored. Tabs and line ends stay allowed, for notes and eligibility text.
_DIRECTION_MARKS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_ALLOWED_CONTROLS = "\t\n\r"


def control_character(value: str) -> str | None:
    """The first invisible control or text-direction character in `value`, or None."""
    for char in value:
        if char in _DIRECTION_MARKS or (unicodedata.category(char) == "Cc" and char not in _ALLOWED_CONTROLS):
            return char
    return None


def unreadable_characters(
    instance: models.Model, *, exclude: Collection[str] = ()
) -> dict[str, list[ValidationError]]:
    """Errors by field for the text values of `instance` holding a NUL character, as Django's forms refuse
    them (PostgreSQL cannot store one; SQLite does), or another invisible control character. The FHIR
    import and the summary paste write through the model's checks, not a form's."""
    errors = {}
    for field in instance._meta.concrete_fields:
        value = getattr(instance, field.attname)
        if field.name in exclude or not isinstance(value, str):
            continue
        try:
            _NO_NUL(value)
        except ValidationError as error:
            errors[field.name] = [error]
            continue
        char = control_character(value)
        if char is not None:
            errors[field.name] = [
                ValidationError(
                    "Remove the invisible control character (U+%(code)s) from this text; it is often "
                    "copied along from a PDF or a web page.",
                    code="control_character",
                    params={"code": f"{ord(char):04X}"},
                )
            ]
    return errors


def not_in_future(value: date) -> None:
    if value > timezone.localdate():
        raise ValidationError("%(value)s is in the future.", code="future_date", params={"value": value})


def not_negative(value: Decimal) -> None:
    if value < 0:
        raise ValidationError(
            "A measured value cannot be negative (got %(value)s).", params={"value": number_as_typed(value)}
        )


ECOG_MESSAGE = "An ECOG performance status is 0, 1, 2, 3 or 4 (5 means the patient has died), not %(value)s."


def ecog_of_a_living_patient(value: int) -> None:
    """A registered patient is alive: grade 5 (dead) is a data error, as is anything off the scale."""
    if not 0 <= value <= 4:
        raise ValidationError(ECOG_MESSAGE, code="invalid_ecog", params={"value": value})


MAX_THERAPY_LINE = 20
"""Even the most heavily treated patients rarely pass ten lines; more than this is a typing error."""


def plausible_therapy_line(value: int) -> None:
    if not 1 <= value <= MAX_THERAPY_LINE:
        raise ValidationError(
            "Lines of therapy are counted from 1 to %(most)s (got %(value)s).",
            code="invalid_line",
            params={"value": value, "most": MAX_THERAPY_LINE},
        )


SIGNATURES = frozenset({"TMB", "MSI", "MSI-H", "MMR", "DMMR"})
"""Genomic signatures a biomarker row may name instead of a gene."""


def gene_symbol(name: str) -> str | None:
    """The HGNC symbol (or signature) a biomarker's gene names, aliases resolved (HER2 -> ERBB2, PD-L1 ->
    CD274), or None when it is neither a gene the vocabulary knows nor a signature."""
    genes = terminology.genes()
    name = name.strip()
    symbol = genes.get(name) or genes.get(name.upper()) or name.upper()
    return symbol if symbol in genes.values() or symbol in SIGNATURES else None


UNKNOWN_GENE = "We don't know this gene or marker. Check the spelling in your report."

# Markers whose official symbol a patient's report seldom prints: the name it does print goes beside it.
REPORT_NAMES = {
    "CD274": "PD-L1",
    "ERBB2": "HER2",
    "ESR1": "oestrogen receptor, ER",
    "PGR": "progesterone receptor, PR",
}


def gene_as_reported(symbol: str) -> str:
    """`symbol` with the name reports use beside it where they differ: "ERBB2 (HER2)"."""
    name = REPORT_NAMES.get(symbol)
    return f"{symbol} ({name})" if name else symbol


MAX_TMB = 1000
"""mut/Mb: the most hypermutated tumours (POLE or mismatch-repair deficient) reach a few hundred."""


# Scores that are percentages whatever unit is written beside them, most often none ("PD-L1 TPS 50"): the
# tumour proportion score, the combined positive score (capped at 100 by its definition), the immune cell
# score and the variant allele fraction.
PERCENT_MEASURES = frozenset({"TPS", "CPS", "IC", "VAF"})
MAX_H_SCORE = 300
"""An H-score sums the percentage of cells at each staining intensity (1 to 3) times that intensity."""


def implausible_biomarker_value(*, gene: str, measure: str, unit: str, value: Decimal) -> str:
    """Why a biomarker's number cannot be a real result (a percentage or a percentage score over 100, an
    IHC score over 3, an H-score over MAX_H_SCORE, a tumour mutational burden over MAX_TMB mut/Mb), or ""
    when it can; a negative one is `not_negative`'s."""
    measure = measure.strip().upper()
    if unit.strip().lower() in ("%", "percent") and value > 100:
        return f"A percentage cannot exceed 100 (got {number_as_typed(value)}%)."
    if measure in PERCENT_MEASURES and value > 100:
        return f"A {measure} is a percentage: it cannot exceed 100 (got {number_as_typed(value)})."
    if measure == "H-SCORE" and value > MAX_H_SCORE:
        return f"An H-score runs from 0 to {MAX_H_SCORE} (got {number_as_typed(value)})."
    if measure == "IHC" and value > 3:
        return f"An IHC score runs from 0 to 3 (got {number_as_typed(value)})."
    if gene.strip().upper() == "TMB" and value > MAX_TMB:
        return (
            f"A tumour mutational burden above {MAX_TMB} mut/Mb is not plausible "
            f"(got {number_as_typed(value)}); check the value and its unit."
        )
    return ""


EARLIEST_PLAUSIBLE = date(1900, 1, 1)
"""As the FHIR import: a profile date before this is a typing or unit error, never a real event."""


def implausible_dates(
    values: Mapping[str, date | None],
    *,
    born: date | None,
    latest: Mapping[str, date] | None = None,
    shown: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Errors by field for the dates among `values` that are before 1900 or before the patient's birth. A
    date known by its month or year only is checked by its `latest` possible day and named as `shown`."""
    errors = {}
    for name, value in values.items():
        if value is None:
            continue
        last = (latest or {}).get(name, value)
        written = (shown or {}).get(name, str(value))
        if last < EARLIEST_PLAUSIBLE:
            errors[name] = f"{written} is before 1900: not a plausible date."
        elif born is not None and last < born:
            errors[name] = f"{written} is before the patient's birth date ({born})."
    return errors


# Upper bounds, in the vocabulary's unit, beyond which a lab value is a data error rather than a result.
LAB_CEILINGS = {
    "anc": 200,
    "platelets": 5000,
    "haemoglobin": 30,
    "wbc": 1000,
    "creatinine": 40,
    "bun": 300,
    "crcl": 300,
    "egfr_lab": 250,
    "bilirubin": 80,
    "ast": 50000,
    "alt": 50000,
    "alp": 20000,
    "albumin": 10,
    "inr": 20,
    "pt": 300,
    "aptt": 500,
    "hba1c": 25,
    "glucose": 2000,
    "lvef": 100,
    "qtc": 1000,
    "psa": 100000,
    "testosterone": 5000,
    "potassium": 15,
    "magnesium": 20,
    "tsh": 1000,
    "bmi": 150,
}


_METRE_POWER = re.compile(r"(?<=m)([23])\b")


def lab_unit_as_read(unit: str) -> str:
    """A lab result's unit as the vocabulary writes it and nlp.units reads it: stripped, and a power of
    metres written as UCUM and lab reports do (mL/min/1.73m2, kg/m2) given its caret (mL/min/1.73m^2)."""
    return _METRE_POWER.sub(r"^\1", unit.strip())


# The kinds of quantity laboratories report results in, each named by one unit of that kind. A test outside
# the vocabulary is never compared with a criterion, but its unit must still be one of these: a length or a
# temperature is a typing error, not a result.
LAB_UNIT_KINDS = (
    "10^9/L",  # cells per volume
    "mg/dL",  # mass per volume
    "mmol/L",  # amount per volume
    "U/L",  # enzyme activity per volume
    "%",  # a fraction or a ratio (mg/g, mmol/mol)
    "s",  # a clotting time, an ECG interval
    "mL/min",  # a clearance
    "mL/min/1.73m^2",  # a clearance per body surface
    "kg/m^2",  # body mass index
    "mm/h",  # sedimentation rate
    "fL",  # a red cell's volume (MCV)
    "pg",  # a red cell's haemoglobin (MCH)
    "mg/mmol",  # a mass per amount (albumin/creatinine)
    "ng/mL/h",  # an activity as mass per volume and time (plasma renin)
    "mg/24h",  # a daily excretion
    "mmol/24h",
    "mEq/L",  # equivalents per volume (electrolytes)
    "mOsm/kg",  # osmolality
    "mmHg",  # a blood gas's partial pressure
)

_WRITE_AS_ON_THE_REPORT = "write it as on the lab report, e.g. mg/dL, umol/L, 10^9/L or U/L."


def _converts(unit: str, to_unit: str) -> bool:
    try:
        convert(1.0, unit, to_unit)
    except UnitError:
        return False
    return True


def _unit_of_no_lab(unit: str) -> str:
    """Why `unit` is no unit a laboratory result is given in, for a test outside the vocabulary."""
    if not unit or unit == "1":  # none, or a ratio as the vocabulary writes the INR's unit
        return ""
    if not _converts(unit, unit):
        return f"{unit!r} is not a unit we can read: {_WRITE_AS_ON_THE_REPORT}"
    if not any(_converts(unit, kind) for kind in LAB_UNIT_KINDS):
        return f"{unit!r} is not a unit laboratory results are given in: {_WRITE_AS_ON_THE_REPORT}"
    return ""


def lab_result_problems(lab: Lab | None, value: Decimal | None, unit: str) -> dict[str, str]:
    """Errors by field ("unit", "value") of a result of `lab` (None: a test outside the vocabulary): a unit
    it cannot be read in (the matcher could never compare it with a criterion's limit), or a value beyond
    any real result of the test, a data or unit error. The value is converted to the test's unit once, for
    both. An empty unit means the test's own unit, as everywhere else; a negative value is `not_negative`'s
    to refuse."""
    unit = unit.strip()
    if lab is None:
        problem = _unit_of_no_lab(unit)
        return {"unit": problem} if problem else {}
    unit = unit or lab.unit
    if lab.unit == "1" and unit != "1":
        return {"unit": f"A {lab.label} result is a ratio without unit, not {unit!r}."}
    number = float(value) if value is not None else 1.0
    try:
        canonical = number if unit == lab.unit else convert(number, unit, lab.unit, lab.code)
    except UnitError:
        return {
            "unit": f"{unit!r} is not a unit {lab.label} can be read in: "
            f"give it in {lab.unit} or a unit that converts to it."
        }
    ceiling = LAB_CEILINGS.get(lab.code)
    if value is None or ceiling is None or canonical <= ceiling:
        return {}
    # "1" is the unit of a ratio (INR): not written after the number.
    given = f"{number_as_typed(value)} {unit}" if unit != "1" else number_as_typed(value)
    limit = f"{ceiling} {lab.unit}" if lab.unit != "1" else f"{ceiling}"
    return {
        "value": f"{given} is not a plausible result for {lab.label} (above {limit}); "
        "check the value and its unit."
    }
