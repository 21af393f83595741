"""Sentences of the 2026 oncology registry (data/oncology_trials_2026) the parser misread, each matched
against the patient it wrongly excluded or let in (no database)."""

import datetime

from nlp import parse_eligibility
from recruitment.matching import DiagnosisFact, PatientFacts, evaluate

TODAY = datetime.date(2026, 12, 7)


def outcome(text: str, patient: PatientFacts) -> str:
    """The outcome of the only criterion parsed from `text` for `patient`."""
    [verdict] = evaluate(parse_eligibility(text).criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


class TestAnAgeRangeExcludedFromBothEnds:
    """NCT06157671 excludes "Patient under the age of 18 and over the age 90". Mira is 45, Theo 16, Ada 93."""

    TEXT = "Exclusion Criteria:\n* Patient under the age of 18 and over the age 90\n"
    MIRA = PatientFacts(birth_date=datetime.date(1981, 3, 2))
    THEO = PatientFacts(birth_date=datetime.date(2010, 5, 1))
    ADA = PatientFacts(birth_date=datetime.date(1933, 1, 9))

    def test_a_patient_whose_age_is_inside_the_range_is_not_excluded(self):
        assert outcome(self.TEXT, self.MIRA) == "satisfied"

    def test_a_patient_under_the_lower_age_is_excluded(self):
        assert outcome(self.TEXT, self.THEO) == "violated"

    def test_a_patient_over_the_upper_age_is_excluded(self):
        assert outcome(self.TEXT, self.ADA) == "violated"


class TestAnExclusionOfOneHistologyOfNonSmallCellLungCancer:
    """NCT06074588 and NCT06119581 exclude squamous NSCLC. Lin has lung adenocarcinoma, Sam squamous cell lung
    carcinoma."""

    LIN = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma"),))
    SAM = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "lusc", "squamous cell lung carcinoma"),))
    TEXTS = (
        "Exclusion Criteria:\n* Has predominantly squamous cell histology NSCLC.\n",
        "Exclusion Criteria:\n* Have predominantly squamous cell histology for NSCLC\n",
    )

    def test_a_patient_whose_nsclc_is_an_adenocarcinoma_is_not_excluded(self):
        assert [outcome(text, self.LIN) for text in self.TEXTS] == ["satisfied", "satisfied"]

    def test_a_patient_whose_nsclc_is_squamous_is_excluded(self):
        assert [outcome(text, self.SAM) for text in self.TEXTS] == ["violated", "violated"]
