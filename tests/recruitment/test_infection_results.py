"""Infection tests and the people an infection requirement binds. Registry sentences (data/
oncology_trials_2026) that failed Mei, a woman with lung adenocarcinoma whose confirmed history holds no
infection: a negative test result ("Negative HIV test at screening", "Seronegative for HIV antibody") read as
the infection itself, and "HIV-infected participants must have well controlled HIV" read as "must have HIV".
Hal has HIV, treated and controlled. No database."""

import datetime

import pytest

from nlp import parse_eligibility
from recruitment.matching import DiagnosisFact, PatientFacts, TherapyFact, evaluate

TODAY = datetime.date(2026, 12, 7)
LUNG = DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma", stage="IV")
MEI = PatientFacts(
    birth_date=datetime.date(1968, 5, 2),
    sex="female",
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(LUNG,),
)
HAL = PatientFacts(
    birth_date=datetime.date(1961, 2, 3),
    sex="male",
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(LUNG, DiagnosisFact("diagnosis:2", "hiv", "HIV infection")),
    therapies=(
        TherapyFact("therapy:1", "bictegravir", ("antiviral",), started_on=datetime.date(2019, 1, 1)),
    ),
)


def outcome(text: str, patient: PatientFacts) -> str:
    [verdict] = evaluate(
        parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria, patient, today=TODAY
    ).criteria
    return str(verdict.outcome)


NEGATIVE_RESULTS = [
    "Negative hepatitis B surface antigen (HBsAg) test at screening",  # NCT04302025
    "Negative HIV test at screening",  # NCT04991025, shortened
    "Seronegative for HIV antibody.",  # NCT00068003
    "HIV negative",
    "Negative hepatitis C virus (HCV) antibody test at screening",  # NCT04302025, shortened
]


@pytest.mark.parametrize("text", NEGATIVE_RESULTS)
def test_mei_without_infection_meets_a_negative_test_requirement(text: str) -> None:
    assert outcome(text, MEI) == "satisfied"


@pytest.mark.parametrize("text", ["Negative HIV test at screening", "Seronegative for HIV antibody."])
def test_hal_with_hiv_fails_a_negative_hiv_test_requirement(text: str) -> None:
    assert outcome(text, HAL) == "violated"


def test_negative_for_a_biomarker_asks_for_its_absence() -> None:
    [criterion] = parse_eligibility("Inclusion Criteria:\n* Negative for EGFR mutation\n").criteria
    assert type(criterion.tree).__name__ == "Not"


INFECTED_MUST = (
    "Human immunodeficiency virus (HIV)-infected participants must have well controlled HIV on antiretroviral"
    " therapy (ART)"  # NCT06780085, NCT06780098, NCT06312137, NCT06422143
)


def test_an_infected_populations_requirement_does_not_require_mei_to_be_infected() -> None:
    assert outcome(INFECTED_MUST, MEI) == "satisfied"


def test_an_infected_populations_requirement_binds_hal() -> None:
    # Hal is on antiretroviral therapy: he meets it; whether it is "well controlled" is not read.
    assert outcome(INFECTED_MUST, HAL) == "satisfied"
    untreated = PatientFacts(
        sex="male", history_confirmed_on=datetime.date(2026, 12, 1), diagnoses=HAL.diagnoses
    )
    assert outcome(INFECTED_MUST, untreated) == "violated"
