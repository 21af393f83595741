"""The validity horizon is exact to skip on: before it, the date alone changes no truth and no explanation.

A generated population (and a few personas with future dates and a leap-day birthday) is matched on an
evaluation date D0 against real trials from the demo registry plus hand-built ones with every kind of window
and exact-age limits. On later dates before each patient's horizon, the first pass, every trial's full
explanation (`to_dict()`, what a Match stores, cohorts included) and the candidate index must be what they
were on D0. The days checked are every day up to the horizon for part of the population, and for the rest
the days on which something could change (each dated fact plus or minus each window, birthdays, exact-age
crossings, computed here from the facts, not by `horizon`) plus random days.
"""

import datetime
import hashlib
import json
import random
from collections.abc import Sequence
from datetime import date, timedelta

import pytest

from nlp.model import And, Atom, Criterion, Not, TimeWindow, node_to_dict
from recruitment.matching import (
    ArmSpec,
    CompiledTrial,
    DiagnosisFact,
    LabFact,
    PatientFacts,
    ProcedureFact,
    Session,
    SharedTruths,
    TherapyFact,
    TrialSpec,
)
from recruitment.matching.atoms import window_days
from recruitment.matching.engine import date_terms_for
from recruitment.matching.horizon import DateTerms, longest_for, next_birthday, union, validity_horizon
from recruitment.matching.index import CandidateIndex
from recruitment.matching.synthetic import synthetic_patients
from tests.recruitment.conftest import TODAY
from tests.recruitment.test_candidate_index import atom, hand_built_trials, inclusion, real_trials

D0 = TODAY
A_YEAR = 366
SPAN = (0, 0)


def _window(amount: float, unit: str, relation: str) -> TimeWindow:
    return TimeWindow(amount, unit, relation)


def dated_trials() -> list[tuple[Criterion, ...]]:
    """Windows of every relation over every kind of dated fact, and age limits in fractions of a year."""
    chemo = atom("therapy", "drug_class", "chemotherapy", "chemotherapy")
    radiotherapy = atom("procedure", "procedure", "radiotherapy", "radiotherapy")
    hypertension = atom("condition", "diagnosis", "hypertension", "hypertension")
    cancer = atom("condition", "diagnosis", "cancer", "cancer")

    def windowed(base: Atom, amount: float, unit: str, relation: str) -> Atom:
        return Atom(
            base.kind, base.text, SPAN, "hand_built", 1.0, mapped=True, concept=base.concept,
            window=_window(amount, unit, relation),
        )  # fmt: skip

    anc = atom(
        "lab", "lab", "751-8", "ANC", comparator=">=", value=1.5, unit="10^9/L",
        window=_window(14, "days", "within"),
    )  # fmt: skip
    platelets = atom(
        "lab", "lab", "777-3", "platelets", comparator=">=", value=100.0, unit="10^9/L",
        window=_window(4, "weeks", "within"),
    )  # fmt: skip
    older_than = atom("demographic", "demographic", "age", "age", comparator=">", value=62.5)
    between = atom(
        "demographic", "demographic", "age", "age", comparator="between", value=18.0, value_high=70.5
    )
    return [
        (Criterion("exclusion", "chemo in 4 weeks", SPAN, windowed(chemo, 4, "weeks", "within")),),
        (inclusion(windowed(chemo, 6, "months", "at_least")),),
        (Criterion("exclusion", "current chemo", SPAN, windowed(chemo, 0, "days", "current")),),
        (
            Criterion(
                "exclusion", "radiotherapy in 2 weeks", SPAN, windowed(radiotherapy, 2, "weeks", "within")
            ),
        ),
        (inclusion(windowed(radiotherapy, 1, "years", "at_least")),),
        (inclusion(windowed(radiotherapy, 0, "days", "current")),),
        (inclusion(windowed(cancer, 2, "years", "within")),),
        (
            Criterion(
                "exclusion",
                "other cancer",
                SPAN,
                windowed(atom("condition", "diagnosis", "second_malignancy"), 3, "years", "within"),
            ),
        ),
        (inclusion(windowed(hypertension, 5, "years", "at_least")),),
        (inclusion(anc), inclusion(platelets)),
        (inclusion(older_than),),
        (inclusion(between), inclusion(Not(windowed(chemo, 10, "days", "within")))),
        (inclusion(And((older_than, anc))),),
    ]


def _stratum(window: TimeWindow) -> dict[str, object]:
    radiotherapy = atom("procedure", "procedure", "radiotherapy", "radiotherapy", window=window)
    return node_to_dict(radiotherapy)


@pytest.fixture(scope="module")
def registry(criteria: dict[str, Criterion]) -> list[CompiledTrial]:
    rng = random.Random(4)
    lines = list(criteria.values())
    combined = [tuple(rng.sample(lines, 4)) for _ in range(20)]
    plain = [*real_trials(30), *hand_built_trials(), *combined, *dated_trials()]
    trials = [CompiledTrial(TrialSpec(i, True), c) for i, c in enumerate(plain)]
    # A window only a cohort's stratum states: cohorts are part of what is stored.
    arms = (
        ArmSpec(1, "recent radiotherapy", _stratum(_window(90, "days", "within"))),
        ArmSpec(2, "none"),
    )
    trials.append(CompiledTrial(TrialSpec(len(plain), True, arms), plain[-1]))
    return trials


def personas() -> list[PatientFacts]:
    """Dates the generator never writes: future ones, a leap-day birthday, undated and ongoing facts."""
    chemo = ("platinum", "chemotherapy", "systemic_anticancer")
    diagnosed, started, soon = D0 - timedelta(days=700), D0 - timedelta(days=40), D0 + timedelta(days=9)
    leap_day = PatientFacts(
        ref="profile:hana",
        birth_date=date(1964, 2, 29),
        sex="female",
        diagnoses=(DiagnosisFact("diagnosis:h1", "luad", "lung adenocarcinoma", diagnosed_on=diagnosed),),
        procedures=(ProcedureFact("procedure:h1", "radiotherapy", "radiotherapy", soon),),
        therapies=(TherapyFact("therapy:h1", "carboplatin", chemo, 1, started, soon + timedelta(days=11)),),
        labs=(LabFact("lab:h1", "ANC", "751-8", 2.0, "10^9/L", D0 + timedelta(days=3)),),
    )
    ongoing = PatientFacts(
        ref="profile:omar",
        birth_date=D0 - timedelta(days=round(62.5 * 365.25) - 40),
        sex="male",
        diagnoses=(DiagnosisFact("diagnosis:o1", "hypertension", "hypertension"),),
        therapies=(
            TherapyFact("therapy:o1", "carboplatin", chemo, 1, D0 - timedelta(100)),
            TherapyFact("therapy:o2", "cisplatin", chemo, 1, None, None, ended=True),
        ),
        procedures=(ProcedureFact("procedure:o1", "radiotherapy", "radiotherapy"),),
        history_confirmed_on=D0 - timedelta(days=5),
    )  # fmt: skip
    turning_18 = PatientFacts(ref="profile:zoe", birth_date=date(2008, 12, 20), sex="female")
    return [leap_day, ongoing, turning_18, PatientFacts(ref="profile:nothing")]


@pytest.fixture(scope="module")
def population() -> list[PatientFacts]:
    return [*personas(), *synthetic_patients(80, seed=20261206, today=D0)]


@pytest.fixture(scope="module")
def horizons_of_every_trial(registry: list[CompiledTrial], population: list[PatientFacts]) -> dict[str, date]:
    """Each patient's horizon from the date terms of every trial, whatever the patient's verdicts."""
    terms = union(trial.date_terms for trial in registry)
    return {facts.ref: validity_horizon(facts, D0, terms, longest=A_YEAR) for facts in population}


@pytest.fixture(scope="module")
def horizons(registry: list[CompiledTrial], population: list[PatientFacts]) -> dict[str, date]:
    """Each patient's horizon as a re-match computes it: from the date terms of the trials the candidate
    index gives, less those a criterion the date cannot reach rules the patient out of."""
    index = CandidateIndex(trials={i: t.criteria for i, t in enumerate(registry)}, today=D0)
    found = {}
    for facts in population:
        trials = [registry[i] for i in sorted(index.trials_for(facts))]
        terms = date_terms_for(Session(facts, D0, SharedTruths()), trials)
        found[facts.ref] = validity_horizon(facts, D0, terms, longest=A_YEAR)
    return found


class _Results:
    """What the date can reach for one patient on one day, as one digest per day: the candidate index's
    choice and, per trial, whether the first pass rules the patient out and the full explanation of every
    trial it does not (what a Match stores), or with `every_trial` the explanation of every trial and the
    criterion the first pass stops at."""

    def __init__(self, registry: list[CompiledTrial]) -> None:
        self.registry = registry
        self.index_trials = {i: t.criteria for i, t in enumerate(registry)}
        self._indexes: dict[date, CandidateIndex] = {}
        self._shared: dict[date, SharedTruths] = {}

    def digest(self, facts: PatientFacts, day: date, *, every_trial: bool = False) -> str:
        index = self._indexes.get(day)
        if index is None:
            index = self._indexes[day] = CandidateIndex(trials=self.index_trials, today=day)
        shared = self._shared.setdefault(day, SharedTruths())
        session = Session(facts, day, shared)
        found: list[object] = [sorted(index.trials_for(facts))]
        for trial in self.registry:
            violated = trial.violated(session)
            if every_trial:
                found.append([None if violated is None else violated.text, trial.match(session).to_dict()])
            else:
                found.append("ruled out" if violated is not None else trial.match(session).to_dict())
        text = json.dumps(found, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def results(registry: list[CompiledTrial]) -> _Results:
    return _Results(registry)


def _days_that_could_matter(facts: PatientFacts, windows: Sequence[TimeWindow], until: date) -> set[date]:
    """Days around every event the date could bring, from all of the patient's dates (more than the horizon
    reads), each window and the age; the caller keeps those before the horizon."""
    dated = [d.diagnosed_on for d in facts.diagnoses] + [r.collected_on for r in facts.labs]
    dated += [b.tested_on for b in facts.biomarkers] + [p.performed_on for p in facts.procedures]
    dated += [t.started_on for t in facts.therapies] + [t.ended_on for t in facts.therapies]
    days: set[date] = set()
    for when in filter(None, dated):
        for shift in {0, *(window_days(w) for w in windows)}:
            days.update(when + timedelta(days=shift + k) for k in (-1, 0, 1, 2))
    if facts.birth_date is not None:
        birthday = next_birthday(facts.birth_date, D0)
        days.update((birthday - timedelta(days=1), birthday))
        for years in (62.5, 18.0, 70.5):
            crossing = facts.birth_date + timedelta(days=round(years * 365.25))
            days.update(crossing + timedelta(days=k) for k in (-2, -1, 0, 1, 2))
    return {day for day in days if D0 < day < until}


def _windows(registry: list[CompiledTrial]) -> list[TimeWindow]:
    terms = union(trial.date_terms for trial in registry)
    lengths = {d for days in (*terms.within.values(), *terms.at_least.values()) for d in days}
    return [TimeWindow(d, "days", "within") for d in sorted(lengths)]


@pytest.mark.parametrize("every_trial", [False, True], ids=["stored results", "every truth"])
def test_on_every_day_before_a_patients_horizon_the_results_are_those_of_the_evaluation_date(
    population, horizons, horizons_of_every_trial, results, every_trial
):
    """As a re-match stores it (the horizon from the trials evaluated) and, for the horizon from every
    trial's date terms, down to every criterion of every trial."""
    checked = 0
    for facts in population[:16]:
        horizon = (horizons_of_every_trial if every_trial else horizons)[facts.ref]
        before = results.digest(facts, D0, every_trial=every_trial)
        for offset in range(1, min((horizon - D0).days, 90)):
            day = D0 + timedelta(days=offset)
            now = results.digest(facts, day, every_trial=every_trial)
            assert now == before, f"{facts.ref} changed on {day}, horizon {horizon}"
            checked += 1
    assert checked > 100


def test_on_the_days_that_could_matter_before_a_patients_horizon_the_results_are_unchanged(
    population, registry, horizons, results
):
    windows = _windows(registry)
    rng = random.Random(7)
    checked = 0
    for facts in population:
        horizon = horizons[facts.ref]
        days = _days_that_could_matter(facts, windows, horizon)
        days.update(D0 + timedelta(days=rng.randint(1, A_YEAR)) for _ in range(3))
        days.add(horizon - timedelta(days=1))
        before = results.digest(facts, D0)
        for day in sorted(d for d in days if D0 < d < horizon):
            assert results.digest(facts, day) == before, f"{facts.ref} changed on {day}, horizon {horizon}"
            checked += 1
    assert checked > 150


def test_horizons_are_not_all_tomorrow_and_often_end_on_a_real_change(population, horizons, results):
    assert all(D0 < h <= D0 + timedelta(days=A_YEAR) for h in horizons.values())
    assert sum(h > D0 + timedelta(days=7) for h in horizons.values()) > len(population) // 4
    # Tight as well as safe, for a fair share: the results do change on the horizon itself.
    changed = sum(results.digest(f, horizons[f.ref]) != results.digest(f, D0) for f in population[:40])
    assert changed >= 5


def test_the_horizon_is_at_most_the_longest_interval_whatever_the_facts():
    nothing = PatientFacts()
    assert validity_horizon(nothing, D0, DateTerms(), longest=30) == D0 + timedelta(days=30)


def test_a_leap_day_birthday_comes_on_the_first_of_march_in_a_common_year():
    assert next_birthday(date(1964, 2, 29), datetime.date(2026, 11, 23)) == date(2027, 3, 1)
    assert next_birthday(date(1964, 2, 29), datetime.date(2027, 3, 1)) == date(2028, 2, 29)


def test_a_trial_ruled_out_by_a_criterion_the_date_cannot_reach_brings_no_date_terms():
    breast = atom("condition", "diagnosis", "breast_cancer", "breast cancer")
    washout = atom("therapy", "drug_class", "chemotherapy", window=_window(4, "weeks", "within"))
    trial = CompiledTrial(TrialSpec(1, True), [inclusion(breast), inclusion(washout)])
    ended = TherapyFact(
        "therapy:1", "carboplatin", ("chemotherapy",), 1, D0 - timedelta(60), D0 - timedelta(10)
    )
    lung = DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma")
    on_breast = DiagnosisFact("diagnosis:1", "breast_cancer", "breast cancer")
    assert trial.date_terms_for(Session(PatientFacts(diagnoses=(lung,), therapies=(ended,)), D0)) is None
    terms = trial.date_terms_for(Session(PatientFacts(diagnoses=(on_breast,), therapies=(ended,)), D0))
    assert terms is not None
    assert terms.within == {"therapies": (28,)}


def test_a_trials_date_terms_include_the_windows_of_its_cohorts_strata(registry):
    with_arms = registry[-1]
    assert 90 in with_arms.date_terms.within["procedures:radiotherapy"]
    without_arms = CompiledTrial(TrialSpec(0, True), with_arms.criteria).date_terms
    assert 90 not in without_arms.within.get("procedures:radiotherapy", ())


def test_the_safety_net_spreads_patients_over_the_last_quarter_of_the_longest_interval():
    assert {longest_for(pk, 30) for pk in range(1, 200)} == set(range(23, 31))
    assert all(1 <= longest_for(pk, days) <= days for pk in range(50) for days in (1, 2, 7))
