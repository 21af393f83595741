"""Unit conversion for lab values, on pint with the notations eligibility text uses."""

from __future__ import annotations

import re
from functools import lru_cache

import pint

from nlp.terminology import lab_by_code


class UnitError(ValueError):
    """Raised when two units cannot be converted, with the reason in the message."""


# A unit is read word by word into a pint expression: words are looked up here, case-insensitively (a lab
# report's "MG/DL" is milligrams per decilitre, never megagauss), instead of being handed to pint, whose
# spellings are case-sensitive and whose wider vocabulary reads lab words as something else ("mU" as milli
# atomic mass units, "G" as gauss).
_WORDS = {
    "%": "percent",
    "percent": "percent",
    "1": "dimensionless",
    "ratio": "dimensionless",
    "cells": "dimensionless",
    "cell": "dimensionless",
    "copies": "dimensionless",
    "count": "dimensionless",
    "mmhg": "millimeter_Hg",
    "sec": "second",
    "secs": "second",
    "second": "second",
    "seconds": "second",
    "msec": "millisecond",
    "min": "minute",
    "mins": "minute",
    "minute": "minute",
    "minutes": "minute",
    "h": "hour",
    "hr": "hour",
    "hrs": "hour",
    "hour": "hour",
    "hours": "hour",
    "d": "day",
    "day": "day",
    "days": "day",
    "mcl": "microliter",
    "mcg": "microgram",
}
# Otherwise a word is a prefix and one of these (milli + gram, micro + mole, kilo + international unit).
_BASES = {
    "g": "gram",
    "gm": "gram",
    "mol": "mole",
    "l": "liter",
    "u": "enzyme_unit",
    # International units count as units: results and limits in mIU/L and mU/L (TSH) are the same figures.
    "iu": "enzyme_unit",
    "eq": "equivalent",
    "osm": "osmole",
    "m": "meter",
    "s": "second",
}
_PREFIXES = {
    "": "",
    "k": "kilo",
    "d": "deci",
    "c": "centi",
    "m": "milli",
    "u": "micro",
    "mc": "micro",
    "n": "nano",
    "p": "pico",
    "f": "femto",
}
# Counts given as a bare SI prefix: "G/L" (giga per litre, 10^9/L) and "T/L" (10^12/L) on European reports.
# Only in capitals, alone: "g/L" is grams per litre.
_COUNT_PREFIXES = {"G": "1e9", "T": "1e12"}
_LENGTHS = {"m", "cm", "mm", "um"}
_POWER_OF_TEN = re.compile(r"10\s*(?:\^|\*\*|\*|e)\s*(\d+)", re.I)
# Laboratory reports' "thousands per microlitre" (platelets 150 K/uL, WBC 7.5 K/µL); pint reads K as kelvin.
_THOUSANDS = re.compile(r"^(?:k|thou|thousands?)\s*/", re.I)
# One factor of a unit: a number (a power of ten already written 1e9, or a body surface of 1.73), or a word
# with an optional power (m^2, m**2, m2, mm3; "mm 3" as some criteria print a lost superscript).
_FACTOR = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?(?:e\d+)?)|(?P<word>%|[A-Za-z]+)(?:\s*(?:\^|\*\*)\s*(?P<power>-?\d+)|"
    r"(?P<digits>[23])\b|\s+(?P<spaced>[23])\b)?)\s*(?:[.*\u00b7]\s*)?"
)


@lru_cache(maxsize=1)
def _registry() -> pint.UnitRegistry:
    # Pint knows enzyme activity (U, enzyme_unit); equivalents and osmoles are added as dimensions of their
    # own, so that they convert only to themselves (or, for equivalents, through an analyte's valence).
    registry = pint.UnitRegistry()
    registry.define("equivalent = [equivalent] = eq")
    registry.define("osmole = [osmole] = osmol")
    return registry


def _word(word: str, unit: str) -> str:
    if word in _COUNT_PREFIXES:
        return _COUNT_PREFIXES[word]
    lowered = word.lower()
    if lowered in _WORDS:
        return _WORDS[lowered]
    for prefix, name in _PREFIXES.items():
        base = lowered[len(prefix) :]
        if lowered.startswith(prefix) and base in _BASES:
            return f"{name}{_BASES[base]}"
    raise UnitError(f"unknown unit {unit!r}")


def _group(text: str, unit: str) -> str:
    """One side of a "/", as a product: "1.73 m2" -> "(1.73 * meter ** 2)"."""
    factors: list[str] = []
    position = 0
    while position < len(text):
        found = _FACTOR.match(text, position)
        if found is None or found.end() == position:
            raise UnitError(f"unknown unit {unit!r}")
        position = found.end()
        if found["number"]:
            factors.append(found["number"])
            continue
        word = found["word"]
        name = _word(word, unit)
        power = found["power"] or found["digits"] or found["spaced"]
        if (found["digits"] or found["spaced"]) and word.lower() not in _LENGTHS:
            raise UnitError(f"unknown unit {unit!r}")
        factors.append(f"{name} ** {power}" if power else name)
    return "(" + " * ".join(factors or ["1"]) + ")"


def _expression(unit: str) -> str:
    """A unit as written in criteria and lab reports -> a pint expression; UnitError for a word not known."""
    text = unit.strip().replace("µ", "u").replace("μ", "u").replace("\u00d7", "x")
    text = re.sub(r"^[xX]\s*", "", text)
    text = _POWER_OF_TEN.sub(lambda m: f"1e{m.group(1)}", text)
    text = _THOUSANDS.sub("1e3/", text)
    numerator, *denominators = text.split("/")
    expression = _group(numerator, unit)
    for denominator in denominators:
        if not denominator.strip():
            raise UnitError(f"unknown unit {unit!r}")
        expression += " / " + _group(denominator, unit)
    return expression


def _quantity(value: float, unit: str) -> pint.Quantity:
    scale = _registry().parse_expression(_expression(unit))
    if not isinstance(scale, pint.Quantity):
        scale = _registry().Quantity(scale)
    return value * scale


# HbA1c is reported as a percentage (NGSP/DCCT) or in mmol/mol (IFCC). The two are not a unit conversion:
# they are related by the NGSP-IFCC master equation, NGSP % = 0.09148 x IFCC mmol/mol + 2.152. Read as
# units, 53 mmol/mol (7.0 %) would be 5.3 %.
_HBA1C = "hba1c"
_IFCC_TO_NGSP = (0.09148, 2.152)


def _hba1c_ifcc(unit: str) -> bool:
    return _expression(unit) == "(millimole) / (mole)"


def convert(value: float, from_unit: str, to_unit: str, analyte: str | None = None) -> float:
    """Convert `value` between units; `analyte` (a lab code from labs.tsv) enables mass <-> molar conversion
    through its molar mass, equivalents <-> moles through its valence, and HbA1c's mmol/mol <-> %.

    Raises UnitError with the reason when units are unknown or dimensionally incompatible.
    """
    registry = _registry()
    source = _quantity(value, from_unit)
    target = _quantity(1.0, to_unit)
    if analyte == _HBA1C and _hba1c_ifcc(from_unit) != _hba1c_ifcc(to_unit):
        scale, offset = _IFCC_TO_NGSP
        if _hba1c_ifcc(from_unit):
            return convert(scale * value + offset, "%", to_unit)
        return (convert(value, from_unit, "%") - offset) / scale
    if source.dimensionality == target.dimensionality:
        return float((source / target).to_base_units().magnitude)
    lab = lab_by_code(analyte) if analyte else None
    factors = []
    if lab is not None and lab.molar_mass:
        factors.append(registry.Quantity(lab.molar_mass, "g/mol"))
    if lab is not None and lab.valence:
        factors.append(registry.Quantity(lab.valence, "eq/mol"))
    for factor in factors:
        for candidate in (source * factor, source / factor):
            if candidate.dimensionality == target.dimensionality:
                return float((candidate / target).to_base_units().magnitude)
    hint = "" if analyte else " (pass analyte= for mass/molar conversions)"
    raise UnitError(
        f"cannot convert {from_unit!r} ({source.dimensionality}) "
        f"to {to_unit!r} ({target.dimensionality}){hint}"
    )
