"""A drug named as what a patient reacts to, swallows or absorbs (2026 oncology registry): "hypersensitivity
to osimertinib or any of its excipients", "the inability to swallow the osimertinib tablets", "would preclude
adequate absorption of osimertinib". The trial's drug stands there as the object of an allergy or of a
route; whether the patient ever took it is not what the text asks. Read as history, the line ruled out
every patient who had had the drug (a rechallenge trial's own population) or, in an exclusion, asked for it.

Mei, 58, ECOG 1, metastatic EGFR L858R lung adenocarcinoma, treated with osimertinib 2025-04 to 2026-09, no
allergy and no bowel disease on file."""

import datetime

from nlp import iter_atoms, parse_eligibility
from recruitment.matching import DiagnosisFact, PatientFacts, evaluate
from recruitment.matching.facts import BiomarkerFact
from tests.recruitment.fact_helpers import therapy

TODAY = datetime.date(2026, 12, 7)

MEI = PatientFacts(
    birth_date=datetime.date(1968, 3, 2),
    sex="female",
    ecog=1,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma", stage="IV"),),
    biomarkers=(BiomarkerFact("biomarker:1", "EGFR", "mutation", protein_change="L858R"),),
    therapies=(therapy("therapy:1", "osimertinib", 1, datetime.date(2025, 4, 1), datetime.date(2026, 9, 1)),),
)


def outcome(text: str, section: str = "Exclusion") -> str:
    criteria = parse_eligibility(f"{section} Criteria:\n* {text}\n").criteria
    [verdict] = evaluate(criteria, MEI, today=TODAY).criteria
    return str(verdict.outcome)


def checkable_drugs(text: str, section: str = "Exclusion") -> list[str]:
    criteria = parse_eligibility(f"{section} Criteria:\n* {text}\n").criteria
    return [a.text for c in criteria for a in iter_atoms(c.tree) if a.kind == "therapy" and a.checkable]


class TestADrugNamedAsWhatThePatientReactsToIsNoHistory:
    def test_no_history_of_hypersensitivity_to_the_drug_she_had(self):
        # NCT04181060
        text = (
            "Patient must not have a history of hypersensitivity to active or inactive excipients of "
            "osimertinib or drugs with a similar chemical structure or class to osimertinib"
        )
        assert outcome(text, "Inclusion") == "satisfied"

    def test_hypersensitivity_to_the_study_drug_or_its_excipients(self):
        # NCT03428802
        assert checkable_drugs("Hypersensitivity to pembrolizumab or any of its excipients") == []

    def test_an_allergic_reaction_to_a_drug_is_about_the_allergy(self):
        # NCT03987555
        text = (
            "Any contraindication to Paclitaxel (e.g. history of allergic reaction to paclitaxel or "
            "Kolliphor EL)"
        )
        assert checkable_drugs(text) == []


class TestADrugNamedAsWhatThePatientSwallowsOrAbsorbsIsNoHistory:
    def test_unable_to_swallow_the_tablets_of_the_drug_she_had(self):
        # NCT04181060
        text = (
            "Patient must not have refractory nausea and vomiting, chronic gastrointestinal diseases, the "
            "inability to swallow the osimertinib tablets or previous significant bowel resection that would "
            "preclude adequate absorption of osimertinib"
        )
        assert outcome(text, "Inclusion") == "satisfied"

    def test_a_condition_affecting_absorption_of_the_drug(self):
        # NCT02861573
        text = (
            "For Cohorts E and F: Has gastrointestinal malabsorption or any other condition that might "
            "affect the absorption of lenvatinib"
        )
        assert "lenvatinib" not in checkable_drugs(text)

    def test_able_to_swallow_the_capsules(self):
        # NCT04729114
        text = "Participant is able to swallow enzalutamide capsules whole."
        assert checkable_drugs(text, "Inclusion") == []

    def test_a_drug_taken_before_is_still_history(self):
        assert checkable_drugs("Prior treatment with osimertinib") == ["osimertinib"]
