"""Negations that read on through a bracket, and alterations named in lists, from sentences of the 2026
oncology registry (data/oncology_trials_2026), each matched against the patients it concerns (no database).

Lin has stage IV lung adenocarcinoma, a confirmed history with diabetes in it and no infection, and was never
given immunotherapy. Ivo has the same cancer and had pembrolizumab. Mo's lung adenocarcinoma carries a MET
exon 14 skipping mutation; Omar's was tested for MET and does not."""

import datetime

from nlp import iter_atoms, parse_eligibility
from recruitment.matching import BiomarkerFact, DiagnosisFact, PatientFacts, evaluate
from tests.recruitment.fact_helpers import therapy

TODAY = datetime.date(2026, 12, 7)
CONFIRMED = datetime.date(2026, 12, 1)
LUAD = DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma", stage="IV")

LIN = PatientFacts(
    sex="female",
    history_confirmed_on=CONFIRMED,
    diagnoses=(LUAD, DiagnosisFact("diagnosis:2", "diabetes", "type 2 diabetes")),
)
IVO = PatientFacts(
    sex="male",
    history_confirmed_on=CONFIRMED,
    diagnoses=(LUAD,),
    therapies=(
        therapy("therapy:1", "pembrolizumab", 1, datetime.date(2025, 1, 10), datetime.date(2026, 5, 1)),
    ),
)
MO = PatientFacts(
    diagnoses=(LUAD,),
    biomarkers=(BiomarkerFact("biomarker:1", "MET", "mutation", protein_change="exon 14 skipping"),),
)
OMAR = PatientFacts(
    diagnoses=(LUAD,),
    biomarkers=(BiomarkerFact("biomarker:1", "MET", "mutation", status="negative"),),
)


def outcome(text: str, patient: PatientFacts) -> str:
    [verdict] = evaluate(parse_eligibility(text).criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


def test_a_negation_reaches_past_a_bracketed_aside_to_the_next_condition():
    # "No active infection (requiring antibiotics) or uncontrolled diabetes": Lin has diabetes.
    text = "Inclusion Criteria:\n* No active infection (requiring IV antibiotics) or uncontrolled diabetes\n"
    assert outcome(text, LIN) != "satisfied"
    diabetes = [a for a in iter_atoms(parse_eligibility(text).criteria[0].tree) if a.text == "diabetes"]
    assert [a.assertion for a in diabetes] == ["negated"]


class TestImmunotherapyWithItsTargetsInBrackets:
    """NCT04585477: "Not received immunotherapy (PD-1, PD-L1, or CTLA-4 antibodies) or be intended to receive
    immunotherapy, apart from this study." The targets name antibodies, not a PD-L1 result."""

    TEXT = (
        "Inclusion Criteria:\n"
        "* Not received immunotherapy (PD-1, PD-L1, or CTLA-4 antibodies) or be intended to receive "
        "immunotherapy, apart from this study.\n"
    )

    def test_the_listed_targets_are_drug_classes(self):
        atoms = {a.text: a for a in iter_atoms(parse_eligibility(self.TEXT).criteria[0].tree)}
        assert {atoms[t].kind for t in ("PD-1", "PD-L1", "CTLA-4")} == {"therapy"}
        assert {atoms[t].assertion for t in ("PD-1", "PD-L1", "CTLA-4")} == {"negated"}

    def test_a_patient_never_given_immunotherapy_is_not_excluded(self):
        assert outcome(self.TEXT, LIN) != "violated"

    def test_a_patient_given_an_anti_pd1_antibody_is_excluded(self):
        assert outcome(self.TEXT, IVO) == "violated"


def test_a_cross_reference_in_brackets_ends_a_negation():
    # NCT07124000: the solid tumours of the cross-reference are not denied.
    text = (
        "Inclusion Criteria:\n"
        "2. Patients with locally advanced, unresectable, or metastatic HER2-positive (IHC 3+) solid tumors "
        "who have received prior systemic treatment for metastatic or advanced disease and have no "
        "satisfactory alternative treatment options as determined by the Investigator (see Exclusion "
        "Criterion 1 for excluded solid tumors);\n"
    )
    solid = [a for a in iter_atoms(parse_eligibility(text).criteria[0].tree) if a.text == "solid tumors"]
    assert [a.assertion for a in solid] == ["present", "present"]


class TestAnAlterationListWithTheTumourThatCarriesOne:
    """NCT06116682: "Participants must not have other known actionable oncogenic alterations, such as (but not
    limited to) EGFR sensitizing mutations, EGFR T790M mutation, MET Exon-14 skipping mutant NSCLC, ALK gene
    fusion, ..." """

    TEXT = (
        "Inclusion Criteria:\n"
        "* Participants must not have other known actionable oncogenic alterations, such as (but not limited "
        "to) EGFR sensitizing mutations, EGFR T790M mutation, MET Exon-14 skipping mutant NSCLC, ALK gene "
        "fusion, ROS1 gene rearrangement, and BRAF V600E mutation\n"
    )

    def test_each_gene_keeps_its_own_alteration(self):
        atoms = [
            a for a in iter_atoms(parse_eligibility(self.TEXT).criteria[0].tree) if a.kind == "biomarker"
        ]
        assert [(a.concept.code, a.alteration) for a in atoms if a.concept is not None] == [
            ("EGFR", "mutation"),
            ("EGFR", "T790M"),
            ("MET", "exon 14 skipping"),
            ("ALK", "fusion"),
            ("ROS1", "fusion"),
            ("BRAF", "V600E"),
        ]

    def test_a_patient_whose_nsclc_lacks_the_met_alteration_is_not_excluded_for_having_nsclc(self):
        assert outcome(self.TEXT, OMAR) != "violated"

    def test_a_patient_whose_nsclc_carries_the_met_alteration_is_excluded(self):
        assert outcome(self.TEXT, MO) == "violated"


class TestCancersListedAsCarryingOneAlteration:
    """NCT05503797 excludes from one subprotocol "Diagnosis of BRAF V600E-mutated cutaneous melanoma,
    papillary thyroid cancer, or NSCLC": each cancer with the mutation, not any NSCLC."""

    TEXT = (
        "Exclusion Criteria:\n"
        "* Diagnosis of BRAF V600E-mutated cutaneous melanoma, papillary thyroid cancer, or NSCLC.\n"
    )
    BRAF_NEGATIVE = PatientFacts(
        diagnoses=(LUAD,), biomarkers=(BiomarkerFact("biomarker:1", "BRAF", "mutation", status="negative"),)
    )
    BRAF_V600E = PatientFacts(
        diagnoses=(LUAD,),
        biomarkers=(BiomarkerFact("biomarker:1", "BRAF", "mutation", protein_change="V600E"),),
    )

    def test_a_patient_whose_nsclc_lacks_the_mutation_is_not_excluded(self):
        assert outcome(self.TEXT, self.BRAF_NEGATIVE) == "satisfied"

    def test_a_patient_whose_nsclc_carries_the_mutation_is_excluded(self):
        assert outcome(self.TEXT, self.BRAF_V600E) == "violated"


def test_met_exon_14_is_read_however_it_is_written():
    for written in ("MET Exon-14 skipping mutation", "METex14 skipping", "MET ex14 skipping"):
        [atom] = iter_atoms(parse_eligibility(f"Inclusion Criteria:\n* {written}\n").criteria[0].tree)
        assert (atom.kind, atom.alteration) == ("biomarker", "exon 14 skipping"), written


def test_a_treatment_that_did_not_work_was_given():
    # NCT00005064 "Not responded (no CR) to initial induction chemotherapy", and the registry's "did not
    # respond to previous treatment": the patient had the treatment.
    for sentence in (
        "Not responded (no CR) to initial induction chemotherapy",
        "Patients who have not responded to prior chemotherapy",
        "Disease that did not respond to chemotherapy",
        "No response to prior chemotherapy",
    ):
        [atom] = iter_atoms(parse_eligibility(f"Inclusion Criteria:\n* {sentence}\n").criteria[0].tree)
        assert (atom.text, atom.assertion != "negated") == ("chemotherapy", True), sentence
    treated = PatientFacts(
        history_confirmed_on=CONFIRMED,
        therapies=(
            therapy("therapy:1", "cytarabine", 1, datetime.date(2025, 2, 1), datetime.date(2025, 3, 1)),
        ),
    )
    assert outcome("Inclusion Criteria:\n* Not responded (no CR) to induction chemotherapy\n", treated) == (
        "satisfied"
    )


class TestATreatmentADiseaseRequired:
    """What a disease required is that disease's treatment, not the patient's history of it: "Active skin
    disorder that has required systemic therapy within the past year" (NCT05074810, NCT05512208) excludes no
    one for a year of anticancer therapy. "All subjects will require prior anti-PD-1/PD-L1 therapy"
    (NCT04219254) still asks for the history."""

    MEI = PatientFacts(
        history_confirmed_on=CONFIRMED,
        diagnoses=(LUAD,),
        therapies=(
            therapy("therapy:1", "osimertinib", 1, datetime.date(2025, 4, 1), datetime.date(2026, 9, 1)),
        ),
    )

    def test_anticancer_therapy_within_the_year_is_not_a_skin_disorders_treatment(self):
        text = (
            "Exclusion Criteria:\n"
            "* Active skin disorder that has required systemic therapy within the past year\n"
        )
        assert outcome(text, self.MEI) != "violated"

    def test_antibiotics_an_infection_required_are_no_history_of_antibiotics(self):
        text = (
            "Inclusion Criteria:\n* No active infection (requiring IV antibiotics) or uncontrolled diabetes\n"
        )
        [antibiotics] = [
            a for a in iter_atoms(parse_eligibility(text).criteria[0].tree) if a.kind == "therapy"
        ]
        assert not antibiotics.checkable

    def test_a_required_prior_therapy_is_still_a_history(self):
        text = "Inclusion Criteria:\n* All subjects will require prior anti-PD-1/PD-L1 therapy.\n"
        assert outcome(text, self.MEI) == "violated"
        assert outcome(text, IVO) == "satisfied"


def test_an_exception_in_brackets_after_a_denial_is_allowed_not_denied():
    # NCT00001909 (legacy XML; the TREC pool judges trec-202159, a boy of 15 with asthma, eligible): "No
    # clinically significant abnormality in CXR (other than changes consistent with asthma) within 1 year
    # prior to enrollment." The negation read on into the bracket, and the asthma became a reason to exclude
    # him.
    text = (
        "Inclusion Criteria:\n* No clinically significant abnormality in CXR (other than changes consistent"
        " with asthma)\nwithin 1 year prior to enrollment.\n"
    )
    asthma = PatientFacts(sex="male", diagnoses=(DiagnosisFact("diagnosis:1", "asthma", "asthma"),))
    assert outcome(text, asthma) == "unknown"
    [atom] = [a for a in iter_atoms(parse_eligibility(text).criteria[0].tree) if a.text == "asthma"]
    assert atom.assertion == "exception"
