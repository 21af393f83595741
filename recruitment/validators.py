"""Field validators shared by profile facts (and referenced by migrations, so keep their paths)."""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone


def not_in_future(value: date) -> None:
    if value > timezone.localdate():
        raise ValidationError("%(value)s is in the future.", code="future_date", params={"value": value})


def not_negative(value: Decimal) -> None:
    if value < 0:
        raise ValidationError("A measured value cannot be negative (got %(value)s).", params={"value": value})


EARLIEST_PLAUSIBLE = date(1900, 1, 1)
"""As the FHIR import: a profile date before this is a typing or unit error, never a real event."""


def implausible_dates(values: Mapping[str, date | None], *, born: date | None) -> dict[str, str]:
    """Errors by field for the dates among `values` that are before 1900 or before the patient's birth."""
    errors = {}
    for name, value in values.items():
        if value is None:
            continue
        if value < EARLIEST_PLAUSIBLE:
            errors[name] = f"{value} is before 1900: not a plausible date."
        elif born is not None and value < born:
            errors[name] = f"{value} is before the patient's birth date ({born})."
    return errors
