"""Kleene three-valued logic, plus a fourth value for atoms no profile can answer.

NOT_CHECKABLE (consent, willingness, investigator judgement) never decides a verdict against a patient. In
an And such atoms drop out. In an Or, an alternative only the site can check may be the one she meets, so an
Or with no alternative met and one for the site is not checkable rather than not met: "women of childbearing
potential must agree to use contraception" (Or(Not(childbearing potential), contraception)) does not fail a
woman who can become pregnant. A node made only of them is itself not checkable.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Truth(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"
    NOT_CHECKABLE = "not_checkable"


def all_of(values: Iterable[Truth]) -> Truth:
    checked = [v for v in values if v is not Truth.NOT_CHECKABLE]
    if not checked:
        return Truth.NOT_CHECKABLE
    if Truth.NOT_MET in checked:
        return Truth.NOT_MET
    return Truth.UNKNOWN if Truth.UNKNOWN in checked else Truth.MET


def any_of(values: Iterable[Truth]) -> Truth:
    values = list(values)
    if Truth.MET in values:
        return Truth.MET
    if Truth.UNKNOWN in values:
        return Truth.UNKNOWN
    return Truth.NOT_MET if values and Truth.NOT_CHECKABLE not in values else Truth.NOT_CHECKABLE


def negate(value: Truth) -> Truth:
    return {Truth.MET: Truth.NOT_MET, Truth.NOT_MET: Truth.MET}.get(value, value)


def except_(main: Truth, exception: Truth) -> Truth:
    """`main` unless `exception`. An exception no profile can answer may still apply, so it is unknown."""
    if exception is Truth.NOT_CHECKABLE and main is not Truth.NOT_CHECKABLE:
        exception = Truth.UNKNOWN
    return all_of((main, negate(exception)))
