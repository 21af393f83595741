"""Registered conditions act as an implicit inclusion criterion: Elena, Hana and Pedro against it."""

import pytest

from nlp.model import Criterion
from recruitment.matching import (
    DiagnosisFact,
    Outcome,
    PatientFacts,
    TrialSpec,
    evaluate_criterion,
    match_trial,
)
from recruitment.matching.conditions import registered_conditions_criterion
from recruitment.matching.index import CandidateIndex
from recruitment.selectors.matching import trials_for_matching
from tests.factories import TrialFactory
from tests.recruitment.conftest import TODAY


def registered(*names: str) -> Criterion:
    criterion = registered_conditions_criterion(names)
    assert criterion is not None
    return criterion


def test_a_breast_cancer_trial_rules_out_elena_by_her_lung_cancer_and_admits_hana(elena_facts, hana_facts):
    criterion = registered("Breast Cancer")
    elena = evaluate_criterion(criterion, elena_facts, today=TODAY)
    hana = evaluate_criterion(criterion, hana_facts, today=TODAY)
    assert criterion.section == "inclusion"
    assert criterion.text == "Registered condition: breast cancer"
    assert (elena.outcome, hana.outcome) == (Outcome.VIOLATED, Outcome.SATISFIED)
    assert elena.atoms[0].text == "registered condition: breast cancer"
    assert elena.atoms[0].reason == "the recorded cancer is not a breast cancer"
    assert [e.text for e in elena.evidence] == ["lung adenocarcinoma, stage IVA (2026-03-10)"]
    assert hana.atoms[0].reason == "diagnosis breast cancer is a breast cancer"


def test_a_registered_nsclc_is_met_through_the_diagnosis_hierarchy(elena_facts, pedro_facts):
    criterion = registered("Non-small Cell Lung Cancer")
    outcomes = [evaluate_criterion(criterion, f, today=TODAY).outcome for f in (elena_facts, pedro_facts)]
    assert outcomes == [Outcome.SATISFIED, Outcome.SATISFIED]


def test_a_registered_subtype_is_unknown_for_a_diagnosis_recorded_less_specifically(pedro_facts):
    verdict = evaluate_criterion(registered("Lung Adenocarcinoma"), pedro_facts, today=TODAY)
    assert verdict.outcome is Outcome.UNKNOWN
    assert [s.text for s in verdict.to_settle] == [
        "Histology/subtype confirming lung adenocarcinoma not on file"
    ]


def test_with_no_diagnosis_on_file_it_is_unknown_even_when_the_history_is_confirmed_complete():
    nothing = PatientFacts(history_confirmed_on=TODAY)
    verdict = evaluate_criterion(registered("Breast Cancer"), nothing, today=TODAY)
    assert verdict.outcome is Outcome.UNKNOWN
    assert [s.text for s in verdict.to_settle] == ["Have you been diagnosed with breast cancer?"]


def test_several_registered_conditions_are_alternatives(elena_facts, hana_facts, pedro_facts):
    criterion = registered("Breast Cancer", "Non-small Cell Lung Cancer", "Breast Cancer")
    assert criterion.text == "Registered condition: breast cancer or non-small cell lung cancer"
    outcomes = {
        evaluate_criterion(criterion, f, today=TODAY).outcome for f in (elena_facts, hana_facts, pedro_facts)
    }
    assert outcomes == {Outcome.SATISFIED}


def test_names_that_do_not_link_to_a_diagnosis_are_ignored():
    assert registered_conditions_criterion(["Healthy Volunteers", "Quality of Life"]) is None
    assert registered_conditions_criterion([]) is None
    assert registered("Healthy Volunteers", "Breast Cancer").text == "Registered condition: breast cancer"


def test_a_fuzzy_link_is_not_trusted_to_rule_anyone_out():
    assert registered_conditions_criterion(["Neoplasms"]) is None


def test_the_index_prunes_on_registered_conditions_as_the_engine_decides(elena_facts, hana_facts):
    criteria = (registered("Breast Cancer"),)
    index = CandidateIndex(trials={1: criteria}, today=TODAY)
    no_diagnosis = PatientFacts(history_confirmed_on=TODAY)
    for facts, kept in ((elena_facts, False), (hana_facts, True), (no_diagnosis, True)):
        assert (index.trials_for(facts) == {1}) is kept
        verdict = match_trial(TrialSpec(1, True), criteria, facts, today=TODAY)
        assert (verdict.overall.value != "ineligible") is kept


@pytest.mark.django_db
def test_trials_to_match_carry_the_registered_conditions_as_their_last_criterion():
    TrialFactory.create(conditions=["Breast Cancer", "Healthy Volunteers"], overall_status="RECRUITING")
    TrialFactory.create(conditions=["Healthy Volunteers"], overall_status="RECRUITING")
    found = {tuple(t.trial.conditions): t for t in trials_for_matching()}
    with_condition = found[("Breast Cancer", "Healthy Volunteers")]
    assert with_condition.criteria[-1].text == "Registered condition: breast cancer"
    assert with_condition.compiled.criteria == with_condition.criteria
    assert not any(c.text.startswith("Registered") for c in found[("Healthy Volunteers",)].criteria)


def test_a_registry_name_joining_conditions_admits_each_of_them():
    """Rosa has multiple myeloma and Carl chronic lymphocytic leukaemia: a transplant trial registered for
    "Leukemia", "Lymphoma", "Multiple Myeloma and Plasma Cell Neoplasm" and "Myelodysplastic Syndromes" (the
    registry's own names) admits both, and a trial for "Hepatitis C, Chronic" is about hepatitis C."""
    rosa = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "myeloma", "multiple myeloma"),))
    carl = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "cll", "chronic lymphocytic leukaemia"),))
    criterion = registered(
        "Leukemia", "Lymphoma", "Multiple Myeloma and Plasma Cell Neoplasm", "Myelodysplastic Syndromes"
    )
    outcomes = [evaluate_criterion(criterion, f, today=TODAY).outcome for f in (rosa, carl)]
    assert outcomes == [Outcome.SATISFIED, Outcome.SATISFIED]
    assert registered("Hepatitis C, Chronic").text == "Registered condition: hepatitis C"


def test_the_registrys_course_and_stage_words_do_not_hide_the_disease():
    criterion = registered("Refractory Multiple Myeloma", "Recurrent Adult Acute Myeloid Leukemia")
    assert criterion.text == "Registered condition: multiple myeloma or acute myeloid leukaemia"
