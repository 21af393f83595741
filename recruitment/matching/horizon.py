"""The validity horizon: until which date a patient's results stay what they are on an evaluation date.

With the patient's facts and the trials unchanged, the evaluation date reaches a verdict, a score, a cohort
assignment or a stored explanation in two places only (the handlers in `atoms` and the candidate index):

- `atoms.in_window`, which compares a dated fact with a window's cutoff (`window_start(window, today)`), or
  for a "current" window with the date itself. The condition handlers call it with diagnoses'
  `diagnosed_on` (the condition asked for, other cancers), the lab handler with labs' `collected_on`, the
  therapy handler with therapies' `ended_on` (and whether they are ongoing), the procedure handler with
  procedures' `performed_on`, each for the window of its own atom. No handler passes a biomarker's
  `tested_on` or a therapy's `started_on`, which are only ever ordered against each other.
- the age: in whole years (`atoms.age_on`: the truth, the evidence "aged 58", the index's age key), which
  changes on birthdays, and as an exact age in days / 365.25 for criteria with a limit that is not a whole
  number of years (`atoms.exact_age_limits`), which crosses each such limit on a day of its own.

`validity_horizon` returns the first date after the evaluation date on which one of these could answer
otherwise, from the facts and the trials' windows and age limits (`DateTerms`) alone, never from inside a
handler. Which trials' terms count is decided from the first pass's truths (`engine.date_terms_for`: a trial
ruled out by a criterion with no window and no age stays ruled out), and those are the same whether read
from `engine.SharedTruths` or computed (tests/recruitment/test_matching_shared_truths.py). A date earlier
than the true one costs a re-match that changes nothing; a later one would leave a stale result, which
tests/recruitment/test_matching_horizon.py looks for day by day over a generated population.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from math import floor

from nlp.model import Atom
from nlp.terminology import manifest
from recruitment.matching.atoms import age_on, exact_age_limits, window_days
from recruitment.matching.facts import PatientFacts

# Bump when a change of the engine can change a result for unchanged facts and trials (a handler, the
# explanation's wording, the score): every patient's stored horizon then stops counting.
# tests/recruitment/test_engine_version.py pins the engine's code to this version, so that no change to it
# lands without someone deciding whether to bump.
ENGINE_VERSION = "2026.12.07.7"


# Which of a patient's dates the handler of an atom's kind passes to `in_window` (see the module's docstring).
_DATES_READ = {"condition": "diagnoses", "lab": "labs", "therapy": "therapies", "procedure": "procedures"}
# Kinds whose handlers never call `in_window`: their windows move nothing. A kind in neither (a handler added
# later) counts against every date until it is placed here or above.
_WINDOWS_UNREAD = frozenset(
    {"biomarker", "demographic", "performance_status", "pregnancy", "life_expectancy", "other"}
)
_ALL = "all"


@dataclass(frozen=True)
class DateTerms:
    """What of some trials reads the evaluation date: per kind of dated fact (`_dates_of`, or all of them),
    their windows' lengths in days for "within" and for "at least" windows; whether any window is "current";
    and the age limits compared with the exact age."""

    within: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    at_least: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    current: bool = False
    exact_age_limits: tuple[float, ...] = ()

    @classmethod
    def of_atoms(cls, atoms: Iterable[Atom]) -> DateTerms:
        within: dict[str, set[int]] = defaultdict(set)
        at_least: dict[str, set[int]] = defaultdict(set)
        current = False
        limits: set[float] = set()
        for atom in atoms:
            window = atom.window
            if window is not None and atom.kind not in _WINDOWS_UNREAD:
                dates = _dates_of(atom)
                if window.relation == "current":
                    current = True
                elif window.relation == "within":
                    within[dates].add(window_days(window))
                else:  # `in_window` reads every other relation as "at least so long ago"
                    at_least[dates].add(window_days(window))
            if atom.kind == "demographic" and atom.concept is not None and atom.concept.code == "age":
                limits.update(exact_age_limits(atom))
        return cls(_sorted(within), _sorted(at_least), current, tuple(sorted(limits)))


def _dates_of(atom: Atom) -> str:
    """Which dates the atom's window is compared with: the lab and procedure handlers read only the facts
    coded as the atom's concept ("labs:777-3"), the others all the facts of their kind."""
    dates = _DATES_READ.get(atom.kind, _ALL)
    if atom.kind in ("lab", "procedure") and atom.concept is not None:
        return f"{dates}:{atom.concept.code}"
    return dates


def _sorted(lengths: Mapping[str, Iterable[int]]) -> dict[str, tuple[int, ...]]:
    return {dates: tuple(sorted(set(days))) for dates, days in lengths.items()}


def union(terms: Iterable[DateTerms]) -> DateTerms:
    """The date terms of several sets of trials together (every trial a patient is matched against)."""
    within: dict[str, set[int]] = defaultdict(set)
    at_least: dict[str, set[int]] = defaultdict(set)
    limits: set[float] = set()
    current = False
    for part in terms:
        for dates, days in part.within.items():
            within[dates].update(days)
        for dates, days in part.at_least.items():
            at_least[dates].update(days)
        limits.update(part.exact_age_limits)
        current = current or part.current
    return DateTerms(_sorted(within), _sorted(at_least), current, tuple(sorted(limits)))


def windowed_dates(facts: PatientFacts) -> dict[str, set[date]]:
    """The dates `atoms.in_window` is called with for this patient, by kind of fact (`_DATES_READ`), and for
    labs and procedures also by code (`_dates_of`): both ends of a date known by its month or year only."""
    found: dict[str, set[date | None]] = {
        "diagnoses": {day for d in facts.diagnoses for day in (d.diagnosed_on, d.diagnosed_by)},
        "labs": {r.collected_on for r in facts.labs},
        "therapies": {day for t in facts.therapies for day in (t.ended_on, t.ended_by)},
        "procedures": {day for p in facts.procedures for day in (p.performed_on, p.performed_by)},
    }
    for lab in facts.labs:
        found.setdefault(f"labs:{lab.loinc}", set()).add(lab.collected_on)
    for procedure in facts.procedures:
        found.setdefault(f"procedures:{procedure.code}", set()).update(
            (procedure.performed_on, procedure.performed_by)
        )
    dated = {dates: {day for day in days if day is not None} for dates, days in found.items()}
    dated[_ALL] = set().union(*dated.values())
    return dated


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


def longest_for(profile_id: int, max_days: int) -> int:
    """A patient's safety-net interval: from three quarters of `max_days` to `max_days`, by patient id, so
    that the patients re-matched on one night (the first, or after a deploy) do not all come due again on
    one night."""
    return max(1, max_days - profile_id % (max_days // 4 + 1))


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
    for dates, whens in windowed_dates(facts).items():
        within, at_least = terms.within.get(dates, ()), terms.at_least.get(dates, ())
        for when in whens:
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
