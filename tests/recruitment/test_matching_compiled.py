"""The compiled engine: a session shared by many trials, and the first pass, change no verdict."""

import pytest

from nlp.model import Atom, Concept, Criterion, Or
from recruitment.matching import (
    ArmSpec,
    BiomarkerFact,
    CompiledTrial,
    Overall,
    PatientFacts,
    Session,
    TrialSpec,
)
from recruitment.matching.synthetic import synthetic_patients
from tests.recruitment.conftest import TODAY
from tests.recruitment.test_candidate_index import real_trials


@pytest.fixture(scope="module")
def population() -> list[PatientFacts]:
    return list(synthetic_patients(80, seed=7, today=TODAY))


@pytest.fixture(scope="module")
def compiled() -> list[CompiledTrial]:
    return [CompiledTrial(TrialSpec(i, True), criteria) for i, criteria in enumerate(real_trials(40))]


def test_a_session_shared_by_all_trials_explains_each_as_a_fresh_one_would(population, compiled):
    for facts in population:
        shared = Session(facts, TODAY)
        for trial in compiled:
            assert trial.match(shared).to_dict() == trial.match(Session(facts, TODAY)).to_dict()


def test_the_first_pass_finds_a_violated_criterion_exactly_when_the_patient_is_ineligible(
    population, compiled
):
    ineligible = 0
    for facts in population:
        session = Session(facts, TODAY)
        for trial in compiled:
            failed = trial.violated(session)
            verdict = trial.match(Session(facts, TODAY))
            assert (failed is not None) == (verdict.overall is Overall.INELIGIBLE)
            if failed is not None:
                ineligible += 1
                (named,) = [c for c in verdict.criteria if c.text == failed.text and c.span == failed.span]
                assert named.outcome.value == "violated"
    assert 0 < ineligible < len(population) * len(compiled)


def _age_atom(text: str, span: tuple[int, int]) -> Atom:
    concept = Concept("demographic", "age", "age")
    return Atom(
        "demographic", text, span, "x", 1.0, mapped=True, concept=concept, comparator=">=", value=18.0
    )


def test_atoms_worded_differently_share_a_verdict_but_keep_their_own_text_and_span():
    first = Criterion("inclusion", "Age >= 18", (0, 9), _age_atom("Age >= 18", (0, 9)))
    second = Criterion("inclusion", "18 years or older", (40, 57), _age_atom("18 years or older", (40, 57)))
    session = Session(PatientFacts(birth_date=TODAY.replace(year=TODAY.year - 40)), TODAY)
    verdicts = [CompiledTrial(TrialSpec(i, True), [c]).match(session) for i, c in enumerate((first, second))]
    atoms = [v.criteria[0].atoms[0] for v in verdicts]
    assert [(a.text, a.span, a.truth.value) for a in atoms] == [
        ("Age >= 18", (0, 9), "met"),
        ("18 years or older", (40, 57), "met"),
    ]


def test_a_biomarker_atom_is_not_shared_with_one_worded_for_another_variant():
    egfr = Concept("hgnc", "EGFR", "EGFR")
    l858r = BiomarkerFact("biomarker:1", "EGFR", "mutation", protein_change="L858R", assay="NGS")
    facts = PatientFacts(biomarkers=(l858r,))

    def mutation(text: str) -> Criterion:
        atom = Atom(
            "biomarker", text, (0, len(text)), "x", 1.0, mapped=True, concept=egfr, alteration="mutation"
        )
        return Criterion("inclusion", text, atom.span, Or((atom,)))

    session = Session(facts, TODAY)
    outcomes = [
        CompiledTrial(TrialSpec(i, True), [mutation(text)]).match(session).overall
        for i, text in enumerate(("EGFR L858R mutation", "EGFR T790M mutation"))
    ]
    assert outcomes == [Overall.ELIGIBLE, Overall.INELIGIBLE]


def test_the_same_compiled_criteria_under_another_spec_follow_the_new_arms_and_status(population, compiled):
    facts = population[0]
    closed = compiled[0].with_spec(TrialSpec(99, False, (ArmSpec(5, "Cohort A", cap=0),)))
    verdict, original = closed.match(Session(facts, TODAY)), compiled[0].match(Session(facts, TODAY))
    assert verdict.criteria == original.criteria
    assert (verdict.accepting, verdict.closed_reason) == (False, "trial not recruiting")
    assert [(c.arm_id, c.reason) for c in verdict.cohorts] == [(5, "cohort full (0/0)")]
