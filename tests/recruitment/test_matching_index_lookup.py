"""The candidate index's lookup by shared keys keeps exactly the trials whose requirements the patient admits,
trial by trial."""

import pytest

from nlp.model import Criterion
from recruitment.matching import PatientFacts
from recruitment.matching.index import CandidateIndex, PatientKeys
from recruitment.matching.synthetic import synthetic_patients
from tests.recruitment.conftest import TODAY
from tests.recruitment.test_candidate_index import hand_built_trials, real_trials


@pytest.fixture(scope="module")
def population() -> dict[int, PatientFacts]:
    return dict(enumerate(synthetic_patients(300, seed=20261205, today=TODAY)))


@pytest.fixture(scope="module")
def registry() -> dict[int, tuple[Criterion, ...]]:
    return dict(enumerate([*real_trials(60), *hand_built_trials()]))


def test_the_trials_for_a_patient_are_those_whose_every_requirement_the_patient_admits(population, registry):
    index = CandidateIndex(trials=registry, today=TODAY)
    pruned = 0
    for facts in population.values():
        keys = PatientKeys.of(facts, TODAY)
        expected = {t for t, requirements in index.requirements.items() if keys.admits(requirements)}
        assert index.trials_for(facts) == expected
        pruned += len(registry) - len(expected)
    assert pruned > len(population) * len(registry) * 0.3, "the population should exercise pruning"


def test_a_patient_refuted_on_nothing_is_a_candidate_for_every_trial(registry):
    index = CandidateIndex(trials=registry, today=TODAY)
    assert index.trials_for(PatientFacts()) == set(registry)
