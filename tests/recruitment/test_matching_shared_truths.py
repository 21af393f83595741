"""Truths shared by the patients of one class (`SharedTruths`) are the truths each patient gets alone."""

import datetime
import random

import pytest

from nlp.model import Criterion, TimeWindow
from recruitment.matching import (
    CompiledTrial,
    PatientFacts,
    ProcedureFact,
    Session,
    SharedTruths,
    TrialSpec,
    Truth,
)
from recruitment.matching.synthetic import synthetic_patients
from tests.recruitment.conftest import TODAY
from tests.recruitment.test_candidate_index import atom, hand_built_trials, inclusion, real_trials


@pytest.fixture(scope="module")
def trials(criteria: dict[str, Criterion]) -> list[CompiledTrial]:
    rng = random.Random(4)
    lines = list(criteria.values())
    combined = [tuple(rng.sample(lines, 4)) for _ in range(20)]
    registry = [*real_trials(60), *hand_built_trials(), *combined]
    return [CompiledTrial(TrialSpec(i, True), c) for i, c in enumerate(registry)]


def test_shared_truths_over_a_generated_population_equal_each_patients_own(trials):
    shared = SharedTruths()
    for facts in synthetic_patients(200, seed=11, today=TODAY):
        session, alone = Session(facts, TODAY, shared), Session(facts, TODAY, shared=None)
        for trial in trials:
            # The first pass reads shared truths; the explanation takes each criterion's truth from it too.
            assert trial.violated(session) == trial.violated(alone)
            assert trial.match(session).to_dict() == trial.match(alone).to_dict()
    # The comparison did exercise truths answered for another patient of the same class.
    assert shared.hits > 10_000


def _radiotherapy(days_ago: int) -> PatientFacts:
    when = TODAY - datetime.timedelta(days=days_ago)
    return PatientFacts(procedures=(ProcedureFact("procedure:1", "radiotherapy", "radiotherapy", when),))


def test_patients_whose_dates_differ_share_a_truth_only_when_the_atom_has_no_window():
    recent = atom("procedure", "procedure", "radiotherapy", window=TimeWindow(4, "weeks", "within"))
    ever = atom("procedure", "procedure", "radiotherapy")
    trial = CompiledTrial(TrialSpec(1, True), [inclusion(recent, "recent"), inclusion(ever, "ever")])
    shared = SharedTruths()
    truths = [
        [c.truth for c in trial.match(Session(_radiotherapy(days), TODAY, shared)).criteria]
        for days in (10, 100)
    ]
    assert truths == [[Truth.MET, Truth.MET], [Truth.UNKNOWN, Truth.MET]]
    assert shared.hits == 1


def test_truths_stay_right_when_the_shared_truths_start_again_from_empty(trials):
    shared = SharedTruths(limit=200)
    sessions = [Session(facts, TODAY, shared) for facts in synthetic_patients(30, seed=12, today=TODAY)]
    # Interleaved, so that sessions keep classes they found before the store started again, often.
    for trial in trials:
        for session in sessions:
            alone = Session(session.facts, TODAY, shared=None)
            assert trial.match(session).to_dict() == trial.match(alone).to_dict()
    assert shared.size <= 200
