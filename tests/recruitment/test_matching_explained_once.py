"""Explanations built once for every patient (atoms no profile can answer, criteria made only of them) are
stored exactly as a fresh evaluation of each patient and trial would store them."""

import random
from dataclasses import replace

import pytest

from nlp.model import Atom, Concept, Criterion, Not
from recruitment.matching import (
    ArmSpec,
    CompiledTrial,
    CriterionVerdict,
    Outcome,
    PatientFacts,
    Session,
    TrialSpec,
    TrialVerdict,
    Truth,
)
from recruitment.matching.engine import evaluate_tree
from recruitment.matching.synthetic import synthetic_patients
from tests.recruitment.conftest import TODAY
from tests.recruitment.test_candidate_index import real_trials

_OUTCOMES = {
    "inclusion": {Truth.MET: Outcome.SATISFIED, Truth.NOT_MET: Outcome.VIOLATED},
    "exclusion": {Truth.MET: Outcome.VIOLATED, Truth.NOT_MET: Outcome.SATISFIED},
}


def _consent(span: tuple[int, int]) -> Criterion:
    text = "Signed informed consent"
    concept = Concept("other", "consent", "informed consent")
    tree = Atom("other", text, span, "hand_built", 1.0, checkable=False, concept=concept)
    return Criterion("inclusion", text, span, tree)


def _adult(span: tuple[int, int]) -> Criterion:
    concept = Concept("demographic", "age", "age")
    tree = Atom(
        "demographic", "Age >= 18", span, "x", 1.0, mapped=True, concept=concept, comparator=">=", value=18.0
    )
    return Criterion("inclusion", "Age >= 18", span, tree)


def _reference(spec: TrialSpec, criteria: tuple[Criterion, ...], facts: PatientFacts) -> dict[str, object]:
    """A fresh, unshared evaluation: the trial compiled for this patient alone and matched in a session of its
    own, without truths from other patients; every criterion's truth, outcome and atoms explained again from
    its tree, and every result serialised from a copy made by its constructor, so nothing built or serialised
    for another patient or trial is reused. (A criterion's other fields, such as the cohorts it applies to,
    come from that fresh compilation: the labelled-cohort test below checks them.)"""
    verdict = CompiledTrial(spec, criteria).match(Session(facts, TODAY, None))
    explained = []
    for stated, criterion in zip(verdict.criteria, criteria, strict=True):
        truth, atoms = evaluate_tree(criterion.tree, facts, today=TODAY, section=criterion.section)
        outcome = _OUTCOMES[criterion.section].get(truth) or Outcome(truth.value)
        explained.append(
            replace(stated, truth=truth, outcome=outcome, atoms=tuple(replace(a) for a in atoms))
        )
    cohorts = tuple(replace(c, atoms=tuple(replace(a) for a in c.atoms)) for c in verdict.cohorts)
    rebuilt: TrialVerdict = replace(verdict, criteria=tuple(explained), cohorts=cohorts)
    return rebuilt.to_dict()


@pytest.fixture(scope="module")
def population() -> list[PatientFacts]:
    return [PatientFacts(ref="profile:nothing"), *synthetic_patients(60, seed=20261207, today=TODAY)]


@pytest.fixture(scope="module")
def trials() -> list[tuple[TrialSpec, tuple[Criterion, ...]]]:
    """Real demo trials, and mixes of their criteria (the same criterion in several trials, under Not, and in
    trials with cohorts, some of its criteria labelled for one cohort)."""
    real = real_trials(40)
    rng = random.Random(7)
    lines = [criterion for criteria in real for criterion in criteria]
    mixes = [(*rng.sample(lines, 5), _consent((0, 23)), _adult((30, 39))) for _ in range(10)]
    negated = [tuple(replace(c, tree=Not(c.tree)) for c in rng.sample(lines, 6)) for _ in range(5)]
    arms = (ArmSpec(1, "Cohort A"), ArmSpec(2, "Cohort B"))
    labelled = [
        (replace(_consent((0, 23)), cohort="Cohort A"), replace(_consent((0, 23)), cohort="Cohort C"), *mix)
        for mix in mixes[:5]
    ]
    plain = [*real, *mixes, *negated]
    specs = [TrialSpec(i, True) for i in range(len(plain))]
    specs += [TrialSpec(len(plain) + i, True, arms) for i in range(len(labelled))]
    return list(zip(specs, [*plain, *labelled], strict=True))


def test_every_stored_explanation_is_what_a_fresh_evaluation_of_the_patient_and_trial_stores(
    population, trials
):
    compiled = [CompiledTrial(spec, criteria) for spec, criteria in trials]
    first_seen: dict[tuple[int, int], CriterionVerdict] = {}
    reused = 0
    for facts in population:
        session = Session(facts, TODAY)
        for number, (trial, (spec, criteria)) in enumerate(zip(compiled, trials, strict=True)):
            trial.violated(session)
            verdict = trial.match(session)
            assert verdict.to_dict() == _reference(spec, criteria, facts)
            for place, explained in enumerate(verdict.criteria):
                reused += first_seen.setdefault((number, place), explained) is explained
    # Explanations built once are in the comparison: about a third of the criteria here.
    assert reused > len(population) * len(first_seen) / 5


def test_a_criterion_no_profile_can_answer_is_explained_once_for_every_patient(population):
    consent, adult = _consent((0, 23)), _adult((30, 39))
    trial = CompiledTrial(TrialSpec(1, True), (consent, adult))
    nora, omar = population[1], population[2]
    first, second = (trial.match(Session(facts, TODAY)) for facts in (nora, omar))
    assert first.criteria[0] is second.criteria[0]
    assert first.criteria[1] is not second.criteria[1]
    assert first.criteria[0].to_dict() == {
        "section": "inclusion",
        "text": "Signed informed consent",
        "span": [0, 23],
        "truth": "not_checkable",
        "outcome": "not_checkable",
        "needs_review": False,
        "atoms": [
            {
                "text": "Signed informed consent",
                "span": [0, 23],
                "truth": "not_checkable",
                "reason": "not answerable from a profile; the site checks it",
                "evidence": [],
                "settle": None,
            }
        ],
        "to_settle": [],
    }


def test_a_stored_explanation_handed_out_and_changed_leaves_the_next_patients_intact(population):
    trial = CompiledTrial(TrialSpec(1, True), (_consent((0, 23)), _adult((30, 39))))
    nora, omar = population[1], population[2]
    handed = trial.match(Session(nora, TODAY)).to_dict()
    handed["criteria"][0]["truth"] = "met"
    handed["criteria"][0]["cohort"] = "Cohort A"
    assert trial.match(Session(omar, TODAY)).to_dict()["criteria"][0]["truth"] == "not_checkable"
    assert "cohort" not in trial.match(Session(omar, TODAY)).to_dict()["criteria"][0]


def test_a_criterion_no_profile_can_answer_labelled_for_one_cohort_is_stored_with_that_cohort(population):
    arms = (ArmSpec(1, "Cohort A"), ArmSpec(2, "Cohort B"))
    labelled = replace(_consent((0, 23)), cohort="Cohort A")
    trial = CompiledTrial(TrialSpec(1, True, arms), (_consent((0, 23)), labelled, _adult((30, 39))))
    for facts in population[:3]:
        stored = trial.match(Session(facts, TODAY)).to_dict()["criteria"]
        assert "cohort" not in stored[0]
        assert (stored[1]["cohort"], stored[1]["applies_to"]) == ("Cohort A", ["Cohort A"])
