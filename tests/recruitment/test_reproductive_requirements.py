"""Reproductive requirements bind the people they name, not everyone. Registry sentences (data/
oncology_trials_2026) that failed Omar, a man, or Mei, a woman of 58, on requirements meant for the other sex:
a header's own "not pregnant" negating the alternatives listed under it, "at least 1 of" not read as a choice,
and "Male participant must not donate sperm" read as "must be male". No database."""

import datetime

import pytest

from nlp import parse_eligibility
from recruitment.matching import DiagnosisFact, PatientFacts, evaluate

TODAY = datetime.date(2026, 12, 7)
LUNG = (DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma", stage="IV"),)
OMAR = PatientFacts(birth_date=datetime.date(1960, 1, 1), sex="male", diagnoses=LUNG)
MEI = PatientFacts(
    birth_date=datetime.date(1968, 5, 2),
    sex="female",
    pregnancy_status="not_pregnant",
    breastfeeding=False,
    diagnoses=LUNG,
)


def outcome(text: str, patient: PatientFacts) -> str:
    [verdict] = evaluate(parse_eligibility(text).criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


# NCT07140016 and NCT05382559
NOT_PREGNANT_AND_ONE_OF = (
    "Inclusion Criteria:\n"
    "* Female participant is not pregnant and at least one of the following conditions apply:\n\n"
    "  * Not a woman of childbearing potential (WOCBP).\n"
    "  * WOCBP who has a negative urine or serum pregnancy test within 7 days prior to the first dose of"
    " study intervention and agrees to follow the contraceptive guidance.\n"
)
NOT_PREGNANT_AND_ONE_OF_DIGIT = (
    "Inclusion Criteria:\n"
    "* Female participant is not pregnant, confirmed by pregnancy test and medical evaluation by interview,"
    " and at least 1 of the following conditions apply:\n\n"
    "  * Not a woman of childbearing potential (WOCBP).\n"
    "  * WOCBP who agrees to follow the contraceptive guidance from the time of informed consent through at"
    " least 6 months after study intervention administration.\n"
)


@pytest.mark.parametrize("text", [NOT_PREGNANT_AND_ONE_OF, NOT_PREGNANT_AND_ONE_OF_DIGIT])
def test_omar_meets_a_female_participants_pregnancy_requirement(text: str) -> None:
    assert outcome(text, OMAR) == "satisfied"


@pytest.mark.parametrize("text", [NOT_PREGNANT_AND_ONE_OF, NOT_PREGNANT_AND_ONE_OF_DIGIT])
def test_a_header_negation_does_not_reach_the_alternatives_it_introduces(text: str) -> None:
    # Mei, not pregnant, may still become pregnant: the second alternative is hers, and nothing rules her out.
    assert outcome(text, MEI) != "violated"


@pytest.mark.parametrize(
    "text",
    [
        # NCT05382559
        "Male participant must not donate sperm during the treatment period and for 3 months after study"
        " intervention administration.",
        # NCT04704661
        "Male subjects must not freeze or donate sperm starting at screening and throughout the study period,"
        " and at least 6 months after the final study drug administration.",
    ],
)
def test_a_mans_sperm_requirement_does_not_require_mei_to_be_a_man(text: str) -> None:
    assert outcome(f"Inclusion Criteria:\n* {text}\n", MEI) != "violated"


def test_a_plain_sex_requirement_still_binds() -> None:
    assert outcome("Inclusion Criteria:\n* Male patients aged 18 or older\n", MEI) == "violated"


def test_a_womans_ova_requirement_does_not_require_omar_to_be_a_woman() -> None:
    # NCT03260491, NCT07094204
    for text in (
        "Female subjects must not donate, or retrieve for their own use, ova from the time of screening and"
        " throughout the study treatment period",
        "Female participant must not donate ova starting at first dose of study intervention",
    ):
        assert outcome(f"Inclusion Criteria:\n* {text}\n", OMAR) != "violated"


# NCT06124118: each sex's own creatinine clearance formula, under a header naming the sex alone.
FORMULA_PER_SEX = (
    "Inclusion Criteria:\n"
    "* Creatinine clearance >= 50 mL/min using Cockcroft-Gault:\n\n"
    "  Males:\n\n"
    "  * ((140-age) x weight)/(serum creatinine x 72)\n\n"
    "  Females:\n\n"
    "  * ((140-age) x weight)/(serum creatinine x 72) x 0.85\n"
)


@pytest.mark.parametrize("patient", [OMAR, MEI], ids=["Omar", "Mei"])
def test_a_header_naming_a_sex_binds_only_that_sex(patient: PatientFacts) -> None:
    assert outcome(FORMULA_PER_SEX, patient) != "violated"


def test_who_counts_as_post_menopausal_is_a_definition_not_a_requirement() -> None:
    # NCT04499053, NCT04693377, NCT05500092
    text = (
        "Inclusion Criteria:\n"
        "* Evidence of post-menopausal status or negative urinary or serum pregnancy test for female"
        " pre-menopausal patients. The following age-specific requirements apply:\n\n"
        "   * Women <50 years of age would be considered post-menopausal if they have been amenorrheic for"
        " 12 months or more following cessation of exogenous hormonal treatments\n"
        "   * Women >=50 years of age would be considered post-menopausal if they have been amenorrheic for"
        " 12 months or more\n"
    )
    assert outcome(text, OMAR) != "violated"


def test_a_header_naming_women_who_binds_only_women() -> None:
    # NCT04541108
    text = (
        "Inclusion Criteria:\n* Female patients who:\n\n"
        "   * Are postmenopausal for at least one year before the screening visit, OR\n"
        "   * Are surgically sterile, OR\n"
        "   * Are of childbearing potential who agree to practice a highly effective method of"
        " contraception\n"
    )
    assert outcome(text, OMAR) != "violated"
