"""The validity horizon: until which date a patient's results stay what they are on an evaluation date.

With the patient's facts and the trials unchanged, the evaluation date reaches a verdict, a score, a cohort
assignment or a stored explanation in two places only (the handlers in `atoms` and the candidate index):

- `atoms.in_window`, which compares a dated fact with a window's cutoff (`window_start(window, today)`), or
  for a "current" window with the date itself. It is called with a diagnosis's `diagnosed_on` (conditions,
  other cancers), a lab's `collected_on`, a therapy's `ended_on` (with whether it is ongoing) and a
  procedure's `performed_on`; no handler passes a biomarker's `tested_on` or a therapy's `started_on`, which
  are only ever ordered against each other.
- the age: in whole years (`atoms.age_on`: the truth, the evidence "aged 58", the index's age key), which
  changes on birthdays, and as an exact age in days / 365.25 for criteria with a limit that is not a whole
  number of years (`atoms.exact_age_limits`), which crosses each such limit on a day of its own.

`validity_horizon` returns the first date after the evaluation date on which one of these could answer
otherwise, from the facts and the trials' windows and age limits (`DateTerms`), never from the truths a
session computed: a truth read from `engine.SharedTruths` or computed changes on the same days. A date
earlier than the true one costs a re-match that changes nothing; a later one would leave a stale result,
which tests/recruitment/test_matching_horizon.py looks for day by day over a generated population.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from math import floor

from nlp.model import Atom
from nlp.terminology import manifest
from recruitment.matching.atoms import age_on, exact_age_limits, window_days
from recruitment.matching.facts import PatientFacts

# Bump when a change of the engine can change a result for unchanged facts and trials (a handler, the
# explanation's wording, the score): every patient's stored horizon then stops counting.
ENGINE_VERSION = "2026.12.06"


@dataclass(frozen=True)
class DateTerms:
    """What of some trials reads the evaluation date: their windows' lengths in days by relation, whether any
    window is "current", and the age limits compared with the exact age. Unions of them are cheap."""

    within: tuple[int, ...] = ()
    at_least: tuple[int, ...] = ()
    current: bool = False
    exact_age_limits: tuple[float, ...] = ()

    @classmethod
    def of_atoms(cls, atoms: Iterable[Atom]) -> DateTerms:
        within: set[int] = set()
        at_least: set[int] = set()
        current = False
        limits: set[float] = set()
        for atom in atoms:
            window = atom.window
            if window is not None:
                if window.relation == "current":
                    current = True
                elif window.relation == "within":
                    within.add(window_days(window))
                else:  # `in_window` reads every other relation as "at least so long ago"
                    at_least.add(window_days(window))
            if atom.kind == "demographic" and atom.concept is not None and atom.concept.code == "age":
                limits.update(exact_age_limits(atom))
        return cls(tuple(sorted(within)), tuple(sorted(at_least)), current, tuple(sorted(limits)))


def union(terms: Iterable[DateTerms]) -> DateTerms:
    """The date terms of several sets of trials together (every trial a patient is matched against)."""
    within: set[int] = set()
    at_least: set[int] = set()
    limits: set[float] = set()
    current = False
    for part in terms:
        within.update(part.within)
        at_least.update(part.at_least)
        limits.update(part.exact_age_limits)
        current = current or part.current
    return DateTerms(tuple(sorted(within)), tuple(sorted(at_least)), current, tuple(sorted(limits)))


def windowed_dates(facts: PatientFacts) -> set[date]:
    """The dates `atoms.in_window` is called with for this patient (see the module's docstring)."""
    found = {d.diagnosed_on for d in facts.diagnoses}
    found.update(r.collected_on for r in facts.labs)
    found.update(t.ended_on for t in facts.therapies)
    found.update(p.performed_on for p in facts.procedures)
    found.discard(None)
    return found  # type: ignore[return-value]


def next_birthday(birth_date: date, today: date) -> date:
    """The first date after `today` on which `atoms.age_on` gives another age (1 March for a 29 February
    birthday in a common year, as `age_on` counts it)."""
    for year in (today.year, today.year + 1):
        try:
            day = birth_date.replace(year=year)
        except ValueError:
            day = date(year, 3, 1)
        if day > today and age_on(birth_date, day) != age_on(birth_date, today):
            return day
    raise AssertionError("a birthday comes within a year")  # pragma: no cover


def validity_horizon(facts: PatientFacts, today: date, terms: DateTerms, *, longest: int) -> date:
    """The first date after `today` on which the patient's results against trials whose date terms are
    within `terms` may differ from those on `today`, with facts and trials unchanged; at most `longest` days
    after `today` (a safety net: a patient is re-matched at least that often whatever this says).

    For a fact dated `when` and a window of `d` days, `in_window` holds for a "within" window while
    `when >= today - d` (until `when + d`, so it may change on `when + d + 1`), for an "at least" window once
    `when <= today - d` (from `when + d`), and for a "current" one while `when >= today` (until `when`).
    Undated facts, ongoing therapies and windowless atoms answer the same every day.
    """
    horizon = today + timedelta(days=longest)
    now = today.toordinal()
    best = horizon.toordinal()
    within, at_least = terms.within, terms.at_least
    for when in windowed_dates(facts):
        day = when.toordinal()
        age = now - day
        # The smallest window still holding the fact (d >= age) stops holding it on day + d + 1.
        i = bisect_left(within, age)
        if i < len(within):
            best = min(best, day + within[i] + 1)
        # The smallest window not yet reached (d > age) starts holding it on day + d.
        i = bisect_right(at_least, age)
        if i < len(at_least):
            best = min(best, day + at_least[i])
        if terms.current and day >= now:
            best = min(best, day + 1)
    birth = facts.birth_date
    if birth is not None:
        best = min(best, next_birthday(birth, today).toordinal())
        born = birth.toordinal()
        for limit in terms.exact_age_limits:
            # `n / 365.25` against the limit, in floating point: it may change on any of these days.
            first = floor(limit * 365.25)
            for days in (first, first + 1, first + 2):
                if born + days > now:
                    best = min(best, born + days)
                    break
    return date.fromordinal(best)


def version_stamp() -> str:
    """The versions a stored horizon holds for: the engine's, and the parser's and dictionaries' (a new parse
    or terminology can change results without a trial's text changing). Another stamp makes everyone due."""
    versions = manifest()
    return (
        f"engine {ENGINE_VERSION}; parser {versions['parser_version']};"
        f" dictionaries {versions['dictionary_version']}"
    )
