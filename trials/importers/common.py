"""Typed records shared by every registry format, the import error, and the value normalisers.

Parsers turn raw input into these records without touching the database; `trials.services` writes them.
Normalisers raise ValueError with a message about the value only; `RecordContext.convert` adds the NCT id,
the source and the field, so every error a curator sees says which record and which field were wrong.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any, NoReturn, TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models

from recruitment.validators import control_character
from trials.models import NCT_ID_PATTERN, Arm, Site, Trial, TrialSite

T = TypeVar("T")

# ASCII: to a str pattern \d is any Unicode digit, fullwidth and Arabic-Indic ones included.
_NCT_ID = re.compile(NCT_ID_PATTERN, re.ASCII)


class RecordError(Exception):
    """A record (or a whole file) that cannot be imported, with where it came from and what was wrong."""

    def __init__(self, message: str, *, source: str, nct_id: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.source = source
        self.nct_id = nct_id
        self.field = field

    def __str__(self) -> str:
        where = f"{self.nct_id} ({self.source})" if self.nct_id else self.source
        what = f" field {self.field}" if self.field else ""
        return f"{where}{what}: {self.message}"


@dataclass(frozen=True)
class InterventionRecord:
    type: str
    name: str
    description: str = ""
    other_names: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The shape stored in Trial.interventions."""
        return {
            "type": self.type,
            "name": self.name,
            "description": self.description,
            "other_names": list(self.other_names),
        }


@dataclass(frozen=True)
class ArmRecord:
    label: str
    arm_type: str
    description: str = ""
    interventions: tuple[str, ...] = ()


@dataclass(frozen=True)
class SiteRecord:
    facility: str
    city: str = ""
    state: str = ""
    zip_code: str = ""
    country: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    status: str = TrialSite.Status.UNKNOWN
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    investigator: str = ""

    @cached_property
    def key(self) -> str:
        return site_key(
            facility=self.facility,
            city=self.city,
            state=self.state,
            zip_code=self.zip_code,
            country=self.country,
        )


@dataclass(frozen=True)
class TrialRecord:
    """One trial as read from a registry export, normalised to the model's codes and units."""

    nct_id: str
    source_format: str
    brief_title: str
    official_title: str = ""
    acronym: str = ""
    phase: str = ""
    study_type: str = Trial.StudyType.UNKNOWN
    overall_status: str = Trial.Status.UNKNOWN
    sponsor_name: str = ""
    sponsor_class: str = ""
    collaborators: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    interventions: tuple[InterventionRecord, ...] = ()
    brief_summary: str = ""
    start_date: date | None = None
    primary_completion_date: date | None = None
    completion_date: date | None = None
    last_update_posted: date | None = None
    enrollment: int | None = None
    enrollment_is_actual: bool = False
    minimum_age_years: Decimal | None = None
    maximum_age_years: Decimal | None = None
    sex: str = Trial.Sex.ALL
    healthy_volunteers: bool | None = None
    eligibility_text: str = ""
    arms: tuple[ArmRecord, ...] = ()
    sites: tuple[SiteRecord, ...] = ()
    # Registry exports list the countries even when they name no facility (the oncology export names
    # nothing else); kept on the record for callers, the registry has no field for them yet.
    countries: tuple[str, ...] = ()
    # What the format does not carry at all (a flat export has no arms, sites or keywords): an update
    # leaves those as they are instead of erasing what a richer source put there. Left out of the repr,
    # and so of the checksum, because a set's order changes from one process to the next; the format,
    # which decides it, is in the checksum.
    absent: frozenset[str] = field(default=frozenset(), repr=False)
    checksum: str = field(default="", compare=False, repr=False)

    def trial_fields(self) -> dict[str, Any]:
        """Values for the Trial columns this record carries, in the model's types."""
        values = {
            "brief_title": self.brief_title,
            "official_title": self.official_title,
            "acronym": self.acronym,
            "phase": self.phase,
            "study_type": self.study_type,
            "overall_status": self.overall_status,
            "collaborators": list(self.collaborators),
            "conditions": list(self.conditions),
            "keywords": list(self.keywords),
            "interventions": [intervention.as_json() for intervention in self.interventions],
            "brief_summary": self.brief_summary,
            "start_date": self.start_date,
            "primary_completion_date": self.primary_completion_date,
            "completion_date": self.completion_date,
            "last_update_posted": self.last_update_posted,
            "enrollment": self.enrollment,
            "enrollment_is_actual": self.enrollment_is_actual,
            "minimum_age_years": self.minimum_age_years,
            "maximum_age_years": self.maximum_age_years,
            "sex": self.sex,
            "healthy_volunteers": self.healthy_volunteers,
            "eligibility_text": self.eligibility_text,
            "source": self.source_format,
        }
        return {name: value for name, value in values.items() if name not in self.absent}


def record_checksum(record: TrialRecord) -> str:
    """A hash of everything the record says, so an identical re-import can be recognised.

    The dataclass repr lists every field in declaration order and is several times faster than a JSON
    dump; should it ever differ between Python versions, a re-import finds no changed field and only
    stores the new checksum.
    """
    return hashlib.sha256(repr(record).encode()).hexdigest()


def _key_part(value: str) -> str:
    return " ".join(value.split()).casefold()


def site_key(*, facility: str, city: str, state: str, zip_code: str, country: str) -> str:
    """Hash of the normalised facility and address; the same facility in two trials is one Site row."""
    parts = (facility, city, state, zip_code, country)
    return hashlib.sha256("|".join(_key_part(part) for part in parts).encode()).hexdigest()


# Between the addresses of a contact e-mail field that lists several.
_ADDRESS_SEPARATORS = re.compile(r"\s*[;,]\s*")
MAX_EMAIL_LENGTH = 254  # TrialSite.contact_email


class RecordContext:
    """Where a record comes from, so that each conversion failure names the record, source and field."""

    def __init__(self, source: str, nct_id: str | None = None):
        self.source = source
        self.nct_id = nct_id

    def fail(self, field_name: str | None, message: str) -> NoReturn:
        raise RecordError(message, source=self.source, nct_id=self.nct_id, field=field_name)

    def convert(self, field_name: str, normaliser: Callable[[Any], T], value: Any) -> T:
        try:
            return normaliser(value)
        except ValueError as exc:
            self.fail(field_name, str(exc))

    def text(self, field_name: str, value: Any, *, max_length: int | None = None) -> str:
        """Optional text: None becomes "", anything but a string is an error."""
        if value is None:
            return ""
        if not isinstance(value, str):
            self.fail(field_name, f"{value!r} is not text")
        self._storable(field_name, value)
        cleaned = clean_text(value)
        if max_length is not None and len(cleaned) > max_length:
            self.fail(field_name, f"is {len(cleaned)} characters long, at most {max_length} fit")
        return cleaned

    def _storable(self, field_name: str, value: str) -> None:
        # JSON may carry one (\u0000); PostgreSQL refuses it in text and jsonb alike, SQLite stores it.
        if "\x00" in value:
            self.fail(field_name, "holds a NUL character (\\x00), which cannot be stored")
        # Shown on a page, an escape sequence or a text-direction override reads as something else.
        char = control_character(value)
        if char is not None:
            self.fail(field_name, f"holds an invisible control character (U+{ord(char):04X})")

    def email(self, field_name: str, value: Any) -> str:
        """An optional contact e-mail address, checked as the admin's form checks TrialSite.contact_email.

        Registry records sometimes list several in one field ("a@site.org; b@site.org"): each must be an
        address, and the first is kept, since a trial site has one contact address.
        """
        addresses = _ADDRESS_SEPARATORS.split(self.text(field_name, value))
        for address in addresses:
            if not address:
                continue
            try:
                validate_email(address)
            except ValidationError:
                self.fail(field_name, f"{address!r} is not an e-mail address")
            if len(address) > MAX_EMAIL_LENGTH:
                self.fail(field_name, f"is {len(address)} characters long, at most {MAX_EMAIL_LENGTH} fit")
        return next((address for address in addresses if address), "")

    def text_list(self, field_name: str, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.fail(field_name, f"{value!r} is not a list of strings")
        for item in value:
            self._storable(field_name, item)
        return tuple(cleaned for cleaned in (clean_text(item) for item in value) if cleaned)

    def nct(self, value: Any) -> str:
        if value is None or value == "":
            self.fail("nct_id", "is missing")
        if not isinstance(value, str) or not _NCT_ID.match(value.strip().upper()):
            self.fail("nct_id", f"{value!r} is not an NCT id (NCT followed by eight digits)")
        self.nct_id = value.strip().upper()
        return self.nct_id


def clean_text(value: str) -> str:
    """Registry text blocks arrive indented and with CR LF line ends; keep the words and line structure."""
    return textwrap.dedent(value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _code(value: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", value.strip().upper()).strip("_")


def _optional_text(value: Any, what: str) -> str | None:
    """The stripped text, None when absent or blank; JSON numbers and lists where text belongs are errors."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not {what}")
    return value.strip() or None


_PHASE_ALIASES = {"N_A": Trial.Phase.NA, "NOT_APPLICABLE": Trial.Phase.NA, "NA": Trial.Phase.NA}


def parse_phase(value: str | list[str] | None) -> str:
    """'Phase 1/Phase 2' (legacy), ['PHASE1', 'PHASE2'] (API v2) and 'N/A' become Trial.Phase codes."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, str) and _code(value) in _PHASE_ALIASES:
        return _PHASE_ALIASES[_code(value)]
    if not isinstance(value, (str, list)):
        raise ValueError(f"{value!r} is not a phase")
    parts = value if isinstance(value, list) else value.split("/")
    codes = []
    for part in parts:
        if not isinstance(part, str):
            raise ValueError(f"{value!r} is not a phase")
        code = _code(part).replace("PHASE_", "PHASE")
        codes.append(_PHASE_ALIASES.get(code, code))
    joined = "_".join(codes)
    if joined not in Trial.Phase.values:
        raise ValueError(f"{value!r} is not a phase")
    return joined


_STATUS_ALIASES = {"UNKNOWN_STATUS": Trial.Status.UNKNOWN}


def parse_status(value: str | None) -> str:
    """'Active, not recruiting' (legacy) and 'ACTIVE_NOT_RECRUITING' (API v2) become Trial.Status codes."""
    text = _optional_text(value, "a recruitment status")
    if text is None:
        return Trial.Status.UNKNOWN
    code = _code(text)
    code = _STATUS_ALIASES.get(code, code)
    if code not in Trial.Status.values:
        raise ValueError(f"{value!r} is not a recruitment status")
    return code


def parse_site_status(value: str | None) -> str:
    """A site's own status; trial-only statuses (e.g. expanded access) say nothing about a site."""
    status = parse_status(value)
    return status if status in TrialSite.Status.values else TrialSite.Status.UNKNOWN


def parse_study_type(value: str | None) -> str:
    """'Observational [Patient Registry]' is observational; the bracket is a sub-type we do not keep."""
    text = _optional_text(value, "a study type")
    if text is None:
        return Trial.StudyType.UNKNOWN
    code = _code(text.split("[")[0])
    if code not in Trial.StudyType.values:
        raise ValueError(f"{value!r} is not a study type")
    return code


def parse_arm_type(value: str | None, *, study_type: str) -> str:
    """Observational groups carry no type in either format: they are cohorts."""
    text = _optional_text(value, "an arm type")
    if text is None:
        return Arm.ArmType.COHORT if study_type == Trial.StudyType.OBSERVATIONAL else Arm.ArmType.OTHER
    code = _code(text)
    if code not in Arm.ArmType.values:
        raise ValueError(f"{value!r} is not an arm type")
    return code


_AGENCY_CLASS_ALIASES = {"U_S_FED": "FED"}
AGENCY_CLASS_LENGTH = 40  # Sponsor.agency_class


def parse_agency_class(value: str | None) -> str:
    """Legacy 'Industry' or 'U.S. Fed' and API v2 'INDUSTRY' or 'FED' become the same sponsor class."""
    text = _optional_text(value, "an agency class")
    if text is None:
        return ""
    code = _AGENCY_CLASS_ALIASES.get(_code(text), _code(text))
    if len(code) > AGENCY_CLASS_LENGTH:
        raise ValueError(f"is {len(code)} characters long, at most {AGENCY_CLASS_LENGTH} fit")
    return code


_SEX = {"ALL": Trial.Sex.ALL, "BOTH": Trial.Sex.ALL, "FEMALE": Trial.Sex.FEMALE, "MALE": Trial.Sex.MALE}


def parse_sex(value: str | None) -> str:
    text = _optional_text(value, "a sex")
    if text is None:
        return Trial.Sex.ALL
    try:
        return _SEX[_code(text)]
    except KeyError:
        raise ValueError(f"{value!r} is not a sex (all, female or male)") from None


def parse_healthy_volunteers(value: str | bool | None) -> bool | None:
    """Legacy XML says 'Accepts Healthy Volunteers' or 'No'; JSON says true/false."""
    if value is None or isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not yes or no")
    code = _code(value)
    if code in {"YES", "TRUE", "ACCEPTS_HEALTHY_VOLUNTEERS"}:
        return True
    if code in {"NO", "FALSE"}:
        return False
    if code == "":
        return None
    raise ValueError(f"{value!r} is not yes or no")


_YEARS_PER_UNIT = {
    "YEAR": Decimal(1),
    "MONTH": Decimal(1) / Decimal(12),
    "WEEK": Decimal(7) / Decimal("365.25"),
    "DAY": Decimal(1) / Decimal("365.25"),
    "HOUR": Decimal(1) / Decimal(24 * 365.25),
    "MINUTE": Decimal(1) / Decimal(60 * 24 * 365.25),
}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+?)s?\s*$")
_AGE_LIMIT = Decimal(150)


def parse_age(value: str | None) -> Decimal | None:
    """'18 Years', '6 Months', '4 Weeks' -> years with two decimals; 'N/A' or nothing -> no limit."""
    text = _optional_text(value, "an age")
    if text is None or text.upper() in {"N/A", "NA", "NONE"}:
        return None
    match = _AGE.match(text)
    unit = match.group(2).upper() if match else ""
    if not match or unit not in _YEARS_PER_UNIT:
        raise ValueError(f"{value!r} is not an age")
    years = (Decimal(match.group(1)) * _YEARS_PER_UNIT[unit]).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    if years > _AGE_LIMIT:
        raise ValueError(f"{value!r} is not a plausible age")
    return years


_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m", "%B %d, %Y", "%B %Y")


# The registries' dates run from trials started in 1948 to completions planned for 2100; a date far outside
# (0001-01-01, 9999-12-31) is a placeholder or a typing error, not a trial's.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2200, 12, 31)


def parse_date(value: str | None) -> date | None:
    """Dates of any precision the registries use; a month-only date means the first of that month."""
    text = _optional_text(value, "a date")
    if text is None:
        return None
    for fmt in _DATE_FORMATS:
        try:
            day = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            raise ValueError(
                f"{value!r} is not a plausible date ({EARLIEST_DATE.year} to {LATEST_DATE.year})"
            )
        return day
    raise ValueError(f"{value!r} is not a date")


# No trial enrols more; a larger count is a typo or garbage, and would overflow the column on PostgreSQL.
MAX_COUNT = 10_000_000


def parse_count(value: str | int | None) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{value!r} is not a whole number")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise ValueError(f"{value!r} is negative")
    if number > MAX_COUNT:
        raise ValueError(f"{value!r} is not a plausible count (at most {MAX_COUNT})")
    return number


def _coordinate(value: float | int | str | None, what: str, limit: int) -> Decimal | None:
    if value is None or value == "":
        return None
    refused = ValueError(f"{value!r} is not a {what} (-{limit} to {limit})")
    if isinstance(value, bool):
        raise refused
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise refused from None
    # NaN and infinities fail this comparison too.
    if not (number.is_finite() and -limit <= number <= limit):
        raise refused
    return number.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def parse_latitude(value: float | int | str | None) -> Decimal | None:
    return _coordinate(value, "latitude", 90)


def parse_longitude(value: float | int | str | None) -> Decimal | None:
    return _coordinate(value, "longitude", 180)


_INTERVENTION_PREFIX = re.compile(r"^([A-Za-z ]+):\s+")
INTERVENTION_TYPES = frozenset(
    {
        "DRUG",
        "DEVICE",
        "BIOLOGICAL",
        "PROCEDURE",
        "RADIATION",
        "BEHAVIORAL",
        "GENETIC",
        "DIETARY_SUPPLEMENT",
        "COMBINATION_PRODUCT",
        "DIAGNOSTIC_TEST",
        "OTHER",
    }
)


def parse_intervention_type(value: str | None) -> str:
    """Legacy 'Dietary Supplement' and API v2 'DIETARY_SUPPLEMENT' become the same code."""
    text = _optional_text(value, "an intervention type")
    if text is None:
        return ""
    code = _code(text)
    if code not in INTERVENTION_TYPES:
        raise ValueError(f"{value!r} is not an intervention type")
    return code


def strip_intervention_type(name: str) -> str:
    """API v2 arms name their interventions 'Drug: Pembrolizumab'; the arm keeps only the name."""
    match = _INTERVENTION_PREFIX.match(name)
    if match and _code(match.group(1)) in INTERVENTION_TYPES:
        return name[match.end() :]
    return name


def site_max_length(field_name: str) -> int | None:
    site_field = Site._meta.get_field(field_name)
    return site_field.max_length if isinstance(site_field, models.Field) else None


def join_phone(phone: Any, extension: Any) -> Any:
    """TrialSite keeps one phone field; an extension is appended rather than lost."""
    if isinstance(phone, str) and isinstance(extension, str) and extension.strip():
        return f"{phone.strip()} ext. {extension.strip()}"
    return phone


def finish_record(context: RecordContext, record: TrialRecord) -> TrialRecord:
    """Checks that span fields, drops repeated sites, and stamps the checksum."""
    if not record.brief_title:
        context.fail("brief_title", "is missing")
    if (
        record.minimum_age_years is not None
        and record.maximum_age_years is not None
        and record.minimum_age_years > record.maximum_age_years
    ):
        context.fail(
            "minimum_age",
            f"{record.minimum_age_years} years is above the maximum age of {record.maximum_age_years} years",
        )
    labels = [arm.label for arm in record.arms]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        context.fail("arms", f"arm label {repeated[0]!r} is used twice")
    # A registry entry occasionally lists one facility twice; it is one site of the trial.
    sites = tuple(_first_by_key(record.sites))
    finished = dataclasses.replace(record, sites=sites)
    return dataclasses.replace(finished, checksum=record_checksum(finished))


def _first_by_key(sites: Iterable[SiteRecord]) -> Iterable[SiteRecord]:
    seen: set[str] = set()
    for site in sites:
        if site.key not in seen:
            seen.add(site.key)
            yield site
