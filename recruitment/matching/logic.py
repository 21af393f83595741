"""Kleene three-valued logic, plus a fourth value for atoms no profile can answer.

NOT_CHECKABLE (consent, willingness, investigator judgement, a qualifier such as "clinically significant")
never decides a verdict against a patient. Which way that is depends on where a node stands: in an inclusion
criterion a node that is met lets her in; in an exclusion criterion, under a Not or in an exception, it keeps
her out (`lets_in` False). Where being met lets her in, a part for the site is taken as one she may meet: it
drops out of an And, and an Or with no alternative met but one for the site is for the site, not failed
("women of childbearing potential must agree to use contraception", Or(Not(childbearing potential),
contraception), does not fail a woman who can become pregnant). Where being met keeps her out, the same part
is one she may not meet: it drops out of an Or, and an And whose other parts are met is for the site ("women
of childbearing potential not willing to use contraception", And(childbearing potential, not willing), does
not exclude her). A node made only of such parts is itself not checkable. Negation swaps both the values and
the direction, so De Morgan's laws hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Truth(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"
    NOT_CHECKABLE = "not_checkable"


def all_of(values: Iterable[Truth], *, lets_in: bool = True) -> Truth:
    """Kleene And; parts for the site as the module says."""
    values = list(values)
    if Truth.NOT_MET in values:
        return Truth.NOT_MET
    if Truth.UNKNOWN in values:
        return Truth.UNKNOWN
    if Truth.MET in values and (lets_in or Truth.NOT_CHECKABLE not in values):
        return Truth.MET
    return Truth.NOT_CHECKABLE


def any_of(values: Iterable[Truth], *, lets_in: bool = True) -> Truth:
    """Kleene Or; parts for the site as the module says."""
    values = list(values)
    if Truth.MET in values:
        return Truth.MET
    if Truth.UNKNOWN in values:
        return Truth.UNKNOWN
    if Truth.NOT_MET in values and (not lets_in or Truth.NOT_CHECKABLE not in values):
        return Truth.NOT_MET
    return Truth.NOT_CHECKABLE


def negate(value: Truth) -> Truth:
    return {Truth.MET: Truth.NOT_MET, Truth.NOT_MET: Truth.MET}.get(value, value)


def except_(main: Truth, exception: Truth, *, lets_in: bool = True) -> Truth:
    """`main` unless `exception`. An exception no profile can answer may still apply, so it is unknown."""
    if exception is Truth.NOT_CHECKABLE and main is not Truth.NOT_CHECKABLE:
        exception = Truth.UNKNOWN
    return all_of((main, negate(exception)), lets_in=lets_in)
