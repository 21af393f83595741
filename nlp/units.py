"""Unit conversion for lab values, on pint with the notations eligibility text uses."""

from __future__ import annotations

import re
from functools import lru_cache

import pint

from nlp.terminology import lab_by_code


class UnitError(ValueError):
    """Raised when two units cannot be converted, with the reason in the message."""


# Spellings pint does not parse as written in criteria.
_ALIASES = {
    "ul": "microliter",
    "µl": "microliter",
    "mcl": "microliter",
    "mm3": "millimeter ** 3",
    "mm^3": "millimeter ** 3",
    "iu/l": "U/L",
    "u/l": "U/L",
}
_POWER = re.compile(r"10\s*(?:\^|\*\*|e)\s*(\d+)", re.I)
# Laboratory reports' "thousands per microlitre" (platelets 150 K/uL, WBC 7.5 K/µL); pint reads K as kelvin.
_THOUSANDS = re.compile(r"^(?:k|thou|thousands?)\s*/", re.I)


@lru_cache(maxsize=1)
def _registry() -> pint.UnitRegistry:
    # Pint already knows enzyme activity (U, enzyme_unit), which is all the lab units here need.
    return pint.UnitRegistry()


def _normalise(unit: str) -> str:
    text = unit.strip().replace("µ", "u").replace("μ", "u").replace("\u00d7", "x")
    text = re.sub(r"^x\s*", "", text)
    text = _POWER.sub(lambda m: f"1e{m.group(1)}", text)
    text = _THOUSANDS.sub("1e3/", text)
    lowered = text.lower()
    for alias, replacement in _ALIASES.items():
        lowered = re.sub(rf"(?<![a-z]){re.escape(alias)}(?![a-z])", replacement, lowered)
    lowered = lowered.replace("mmol", "millimole").replace("umol", "micromole").replace("dl", "deciliter")
    # "/mm3" and "cells/uL" are counts per volume
    lowered = re.sub(r"^cells\s*/", "/", lowered)
    return "1" + lowered if lowered.startswith("/") else lowered


def _quantity(value: float, unit: str) -> pint.Quantity:
    try:
        scale = _registry().parse_expression(_normalise(unit))
    except Exception as error:
        raise UnitError(f"unknown unit {unit!r}") from error
    if not isinstance(scale, pint.Quantity):
        raise UnitError(f"unknown unit {unit!r}")
    return value * scale


def convert(value: float, from_unit: str, to_unit: str, analyte: str | None = None) -> float:
    """Convert `value` between units; `analyte` (a lab code from labs.tsv) enables mass <-> molar conversion.

    Raises UnitError with the reason when units are unknown or dimensionally incompatible.
    """
    registry = _registry()
    source = _quantity(value, from_unit)
    target = _quantity(1.0, to_unit)
    if source.dimensionality == target.dimensionality:
        return float((source / target).to_base_units().magnitude)
    molar_mass = lab_by_code(analyte).molar_mass if analyte else None
    if molar_mass:
        grams_per_mole = registry.Quantity(molar_mass, "g/mol")
        for candidate in (source * grams_per_mole, source / grams_per_mole):
            if candidate.dimensionality == target.dimensionality:
                return float((candidate / target).to_base_units().magnitude)
    hint = "" if analyte else " (pass analyte= for mass/molar conversions)"
    raise UnitError(
        f"cannot convert {from_unit!r} ({source.dimensionality}) "
        f"to {to_unit!r} ({target.dimensionality}){hint}"
    )
