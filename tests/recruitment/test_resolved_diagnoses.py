"""A condition that is over (resolved, inactive or in remission) as the engine reads it: a history of it, not
a present disease. Hana's breast cancer has been in remission since 2019; Omar had hepatitis B, resolved."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from nlp import parse_eligibility
from recruitment.matching import DiagnosisFact, PatientFacts, Truth, evaluate_tree
from recruitment.models import Diagnosis
from tests.recruitment.factories import PatientProfileFactory

TODAY = datetime.date(2026, 11, 23)


def verdict(line: str, facts: PatientFacts, section: str = "Exclusion") -> Truth:
    (criterion,) = parse_eligibility(f"{section} Criteria:\n- {line}\n").criteria
    return evaluate_tree(criterion.tree, facts, today=TODAY, section=criterion.section)[0]


def hana(*, resolved: bool) -> PatientFacts:
    breast = DiagnosisFact(
        "diagnosis:1",
        "breast_cancer",
        "breast cancer",
        diagnosed_on=datetime.date(2018, 6, 1),
        resolved=resolved,
    )
    return PatientFacts(sex="female", diagnoses=(breast,))


def omar() -> PatientFacts:
    return PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "hbv", "hepatitis B", resolved=True),))


@pytest.mark.parametrize(
    ("line", "section"),
    [
        ("History of breast cancer", "Exclusion"),
        ("Previous breast cancer", "Exclusion"),
        ("Women with a history of breast cancer", "Inclusion"),
        ("Breast cancer within the last 10 years", "Exclusion"),
    ],
)
def test_hanas_breast_cancer_in_remission_is_a_history_of_breast_cancer(line, section):
    assert verdict(line, hana(resolved=True), section) == Truth.MET


@pytest.mark.parametrize(
    ("line", "section"),
    [
        ("Histologically confirmed breast cancer", "Inclusion"),
        ("Diagnosis of breast cancer", "Inclusion"),
        ("Active breast cancer", "Exclusion"),
        ("Current diagnosis of breast cancer", "Exclusion"),
    ],
)
def test_hanas_breast_cancer_in_remission_does_not_answer_a_criterion_about_present_disease(line, section):
    assert verdict(line, hana(resolved=True), section) == Truth.UNKNOWN


def test_hanas_breast_cancer_in_remission_diagnosed_in_2018_is_outside_a_five_year_window():
    assert verdict("Breast cancer within the last 5 years", hana(resolved=True)) == Truth.NOT_MET


def test_omars_resolved_hepatitis_b_is_a_history_not_an_infection():
    assert verdict("History of hepatitis B", omar()) == Truth.MET
    assert verdict("Hepatitis B infection", omar()) == Truth.UNKNOWN


def test_the_question_asked_of_hana_says_her_cancer_is_in_remission():
    (criterion,) = parse_eligibility("Inclusion Criteria:\n- Diagnosis of breast cancer\n").criteria
    _, results = evaluate_tree(criterion.tree, hana(resolved=True), today=TODAY, section="inclusion")
    (result,) = results
    assert "resolved or in remission" in result.reason
    assert result.evidence[0].ref == "diagnosis:1"


def test_a_ruled_out_condition_cannot_be_resolved(db):
    profile = PatientProfileFactory.create()
    diagnosis = Diagnosis(patient=profile, code="hbv", presence=Diagnosis.Presence.ABSENT, resolved=True)
    with pytest.raises(ValidationError) as caught:
        diagnosis.full_clean()
    assert "resolved" in caught.value.message_dict


def hana_with_lung_cancer() -> PatientFacts:
    lung = DiagnosisFact("diagnosis:2", "nsclc", "non-small cell lung cancer", diagnosed_on=TODAY)
    return PatientFacts(sex="female", diagnoses=(*hana(resolved=True).diagnoses, lung))


def test_hanas_breast_cancer_in_remission_is_a_prior_malignancy_beside_her_lung_cancer():
    assert verdict("Other malignancy within the past 10 years", hana_with_lung_cancer()) == Truth.MET


def test_hanas_breast_cancer_in_remission_is_not_read_as_an_active_second_malignancy():
    assert verdict("Active malignancy", hana_with_lung_cancer()) == Truth.UNKNOWN
