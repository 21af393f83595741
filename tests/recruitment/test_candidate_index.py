"""The candidate index skips only pairs the engine rates ineligible: index-on equals exhaustive evaluation."""

import gzip
import json
import random
from pathlib import Path

import pytest

from nlp import parse_eligibility
from nlp.model import And, Atom, Concept, Criterion, Except, Node, Not, Or
from recruitment.matching import ArmSpec, Overall, PatientFacts, TrialSpec, match_trial
from recruitment.matching.conditions import registered_conditions_criterion
from recruitment.matching.index import CandidateIndex, PatientKeys, trial_requirements
from recruitment.matching.synthetic import synthetic_patients
from tests.recruitment.conftest import TODAY

DEMO_TRIALS = Path(__file__).resolve().parents[2] / "trials" / "demo_data" / "oncology_trials_2026.jsonl.gz"
SPAN = (0, 0)


def atom(kind: str, system: str, code: str, label: str = "", **fields: object) -> Atom:
    concept = Concept(system, code, label or code)
    return Atom(kind, label or code, SPAN, "hand_built", 1.0, mapped=True, concept=concept, **fields)  # type: ignore[arg-type]


def inclusion(tree: Node, text: str = "hand-built") -> Criterion:
    return Criterion("inclusion", text, SPAN, tree)


def real_trials(count: int) -> list[tuple[Criterion, ...]]:
    """Criteria parsed from the eligibility text of real oncology trials (the bundled demo registry)."""
    trials = []
    with gzip.open(DEMO_TRIALS, "rt", encoding="utf-8") as lines:
        for line, _ in zip(lines, range(count), strict=False):
            eligibility = json.loads(line)["eligibility"]
            parsed = parse_eligibility(
                eligibility["raw_text"],
                minimum_age=eligibility.get("minimum_age"),
                maximum_age=eligibility.get("maximum_age"),
                sex=eligibility.get("sex") or "ALL",
            )
            trials.append(tuple(parsed.criteria))
    return trials


def hand_built_trials() -> list[tuple[Criterion, ...]]:
    """The shapes the index reads, and the ones it must leave alone (Not, Except, scores, specific assays)."""
    luad = atom("condition", "diagnosis", "luad", "lung adenocarcinoma")
    nsclc = atom("condition", "diagnosis", "nsclc", "NSCLC")
    breast = atom("condition", "diagnosis", "breast_cancer", "breast cancer")
    egfr = atom("biomarker", "hgnc", "EGFR", "EGFR mutation", alteration="mutation")
    kras = atom("biomarker", "hgnc", "KRAS", "KRAS G12C", alteration="G12C")
    pdl1 = atom("biomarker", "hgnc", "CD274", "PD-L1 >= 50%", alteration="TPS", comparator=">=", value=50.0)
    her2_low = atom("biomarker", "hgnc", "ERBB2", "HER2-low", alteration="low")
    female = atom("demographic", "demographic", "sex", "female")
    adult = atom("demographic", "demographic", "age", "age", comparator=">=", value=18.0)
    under_70 = atom("demographic", "demographic", "age", "age", comparator="<=", value=70.0)
    stable = Atom("other", "neurologically stable", SPAN, "hand_built", 1.0, checkable=False)
    ecog_0_1 = atom("performance_status", "performance", "ECOG", "ECOG 0-1", values=(0.0, 1.0))
    ecog_le_2 = atom("performance_status", "performance", "ECOG", "ECOG <= 2", comparator="<=", value=2.0)
    breast_registered = registered_conditions_criterion(["Breast Cancer", "Healthy Volunteers"])
    lung_registered = registered_conditions_criterion(["Non-small Cell Lung Cancer", "Breast Cancer"])
    assert breast_registered is not None
    assert lung_registered is not None
    return [
        (inclusion(nsclc), inclusion(egfr)),
        (inclusion(And((luad, kras))), inclusion(adult)),
        (inclusion(Or((luad, breast))),),
        (inclusion(Or((egfr, female))),),
        (inclusion(breast), inclusion(her2_low), inclusion(female)),
        (inclusion(Not(egfr)), inclusion(nsclc)),
        (inclusion(Except(nsclc, stable)),),
        (inclusion(pdl1), inclusion(under_70)),
        (inclusion(atom("biomarker", "hgnc", "EGFR", "EGFR cobas", alteration="mutation", assay="cobas")),),
        (Criterion("exclusion", "no NSCLC", SPAN, nsclc),),
        (inclusion(ecog_0_1), inclusion(adult)),
        (inclusion(Or((ecog_le_2, breast))),),
        (Criterion("exclusion", "ECOG 0-1", SPAN, ecog_0_1),),
        (breast_registered,),
        (inclusion(egfr), lung_registered),
        (),
    ]


@pytest.fixture(scope="module")
def population() -> dict[int, PatientFacts]:
    return dict(enumerate(synthetic_patients(150, seed=20261123, today=TODAY)))


@pytest.fixture(scope="module")
def registry(criteria) -> dict[int, tuple[Criterion, ...]]:
    rng = random.Random(4)
    lines = list(criteria.values())
    combined = [tuple(rng.sample(lines, 4)) for _ in range(20)]
    return dict(enumerate([*real_trials(40), *hand_built_trials(), *combined]))


def test_every_pair_the_index_skips_is_ineligible_when_evaluated_exhaustively(population, registry):
    index = CandidateIndex(trials=registry, patients=population, today=TODAY)
    skipped = 0
    for patient_id, facts in population.items():
        candidates = index.trials_for(facts)
        for trial_id, criteria in registry.items():
            verdict = match_trial(TrialSpec(trial_id, True), criteria, facts, today=TODAY)
            if trial_id not in candidates:
                skipped += 1
                assert verdict.overall is Overall.INELIGIBLE, (patient_id, trial_id)
    pairs = len(population) * len(registry)
    assert skipped > pairs * 0.3, "the index should rule out a good share of pairs"


def test_both_directions_of_the_index_agree(population, registry):
    index = CandidateIndex(trials=registry, patients=population, today=TODAY)
    by_patient = {pid: index.trials_for(index.patient_keys[pid]) for pid in population}
    for trial_id in registry:
        expected = {pid for pid, trials in by_patient.items() if trial_id in trials}
        assert index.patients_for(trial_id) == expected


def test_a_trial_without_indexable_requirements_is_a_candidate_for_everyone(population):
    stable = Atom("other", "neurologically stable", SPAN, "hand_built", 1.0, checkable=False)
    trials = {1: (), 2: (inclusion(Not(atom("condition", "diagnosis", "nsclc"))),), 3: (inclusion(stable),)}
    index = CandidateIndex(trials=trials, patients=population, today=TODAY)
    assert index.always == {1, 2, 3}
    assert all(index.patients_for(t) == set(population) for t in trials)


def test_unknown_facts_are_never_pruned():
    nothing_on_file = PatientFacts()
    trials = dict(enumerate(hand_built_trials()))
    index = CandidateIndex(trials=trials, today=TODAY)
    assert index.trials_for(nothing_on_file) == set(trials)


def test_a_cancer_broader_or_narrower_than_the_trials_keeps_the_pair():
    trial = (inclusion(atom("condition", "diagnosis", "luad")),)
    index = CandidateIndex(trials={1: trial}, today=TODAY)
    keys = {code: PatientKeys.of(_with_cancer(code), TODAY) for code in ("nsclc", "luad", "breast_cancer")}
    assert index.trials_for(keys["nsclc"]) == {1}  # broader: the engine asks for the subtype
    assert index.trials_for(keys["luad"]) == {1}
    assert index.trials_for(keys["breast_cancer"]) == set()


def test_a_recorded_ecog_outside_the_required_grades_prunes_and_an_unrecorded_one_keeps():
    ecog_0_1 = atom("performance_status", "performance", "ECOG", "ECOG 0-1", values=(0.0, 1.0))
    index = CandidateIndex(trials={1: (inclusion(ecog_0_1),)}, today=TODAY)
    assert [index.trials_for(PatientFacts(ecog=grade)) for grade in (0, 1, 2, 3, None)] == [
        {1},
        {1},
        set(),
        set(),
        {1},
    ]


def test_requirements_come_from_inclusion_criteria_only():
    nsclc = atom("condition", "diagnosis", "nsclc")
    assert trial_requirements([Criterion("exclusion", "x", SPAN, nsclc)]) == ()
    assert trial_requirements([inclusion(nsclc)]) == (frozenset({("dx", "nsclc")}),)


def test_arms_do_not_change_which_trials_are_candidates(population):
    stratum = {"type": "atom", "kind": "biomarker", "text": "EGFR", "span": [0, 0], "source": "x"}
    spec = TrialSpec(1, True, (ArmSpec(10, "EGFR", stratum),))
    criteria = (inclusion(atom("condition", "diagnosis", "breast_cancer")),)
    index = CandidateIndex(trials={1: criteria}, patients=population, today=TODAY)
    for patient_id in set(population) - index.patients_for(1):
        verdict = match_trial(spec, criteria, population[patient_id], today=TODAY)
        assert verdict.overall is Overall.INELIGIBLE


def _with_cancer(code: str) -> PatientFacts:
    from recruitment.matching import DiagnosisFact

    return PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", code, code),))
