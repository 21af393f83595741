"""Mei has EGFR-mutant lung adenocarcinoma, no infection, and her history is confirmed complete. Among the
lung trials of the 2026 registry (data/oncology_trials_2026) she failed requirements meant for other
patients: the NCI sentences on hepatitis B and C and HIV asked her to have the infection, and the screening
scans and biopsies an inclusion names ("measurable disease by CT or MRI", "biopsy-proven") asked her to have
had them on her record. Each sentence is copied from the registry. No database."""

import datetime

import pytest

from nlp import parse_eligibility
from recruitment.matching import BiomarkerFact, DiagnosisFact, PatientFacts, Truth, evaluate

TODAY = datetime.date(2026, 12, 7)
LUNG = DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma", stage="IV")
MEI = PatientFacts(
    birth_date=datetime.date(1968, 3, 2),
    sex="female",
    ecog=1,
    diagnoses=(LUNG,),
    biomarkers=(BiomarkerFact("biomarker:1", "EGFR", "mutation", protein_change="L858R"),),
    history_confirmed_on=datetime.date(2026, 12, 1),
)
# Hana has chronic hepatitis B besides her lung cancer; her viral load is not on file.
HANA = PatientFacts(
    birth_date=datetime.date(1966, 7, 9),
    sex="female",
    diagnoses=(LUNG, DiagnosisFact("diagnosis:2", "hbv", "chronic hepatitis B")),
    history_confirmed_on=datetime.date(2026, 12, 1),
)

HBV = (  # NCT04181060
    "For patients with evidence of chronic hepatitis B virus (HBV) infection, the HBV viral load must be"
    " undetectable on suppressive therapy, if indicated"
)
HCV = (  # NCT04181060
    "Patients with a history of hepatitis C virus (HCV) infection must have been treated and cured. For"
    " patients with HCV infection who are currently on treatment, they are eligible if they have an"
    " undetectable HCV viral load."
)
HIV_IF = (  # NCT06345729
    "If human immunodeficiency virus (HIV)-infected, must have well controlled HIV on antiretroviral therapy"
    " (ART)"
)
HIV_ELIGIBLE = (  # NCT04181060
    "Human immunodeficiency virus (HIV)-infected patients on effective anti-retroviral therapy with"
    " undetectable viral load within 6 months are eligible for this trial"
)
BY_CT_OR_MRI = (  # NCT06561386
    "Participants must have measurable disease by computed tomography (CT) or magnetic resonance imaging"
    " (MRI) per RECIST v1.1 criteria."
)
BIOPSY_PROVEN = "Metastatic or recurrent, biopsy-proven non-small cell lung cancer"  # NCT06007937


def outcome(text: str, patient: PatientFacts) -> str:
    [verdict] = evaluate(
        parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria, patient, today=TODAY
    ).criteria
    return str(verdict.outcome)


@pytest.mark.parametrize("text", [HBV, HCV, HIV_IF, HIV_ELIGIBLE])
def test_mei_without_the_infection_is_not_asked_to_have_it(text):
    assert outcome(text, MEI) != "violated"


def test_mei_meets_the_hepatitis_b_requirement_outright():
    assert outcome(HBV, MEI) == "satisfied"


def test_hana_with_hepatitis_b_is_still_held_to_it():
    assert outcome(HBV, HANA) != "satisfied"


@pytest.mark.parametrize("text", [BY_CT_OR_MRI, BIOPSY_PROVEN])
def test_the_scans_and_biopsies_of_screening_are_for_the_site(text):
    verdict = evaluate(parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria, MEI, today=TODAY)
    [criterion] = verdict.criteria
    assert str(criterion.outcome) != "violated"
    scans = [a for a in criterion.atoms if a.text in ("CT", "computed tomography", "biopsy")]
    assert scans
    assert all(a.truth is Truth.NOT_CHECKABLE for a in scans)


def test_a_scan_an_exclusion_names_is_still_read():
    """Only the inclusions' scans are screening: "Contraindication to MRI" still names the MRI."""
    [criterion] = parse_eligibility("Exclusion Criteria:\n* Prior MRI of the brain within 7 days\n").criteria
    verdict = evaluate([criterion], MEI, today=TODAY)
    assert [a.truth for a in verdict.criteria[0].atoms if a.text == "MRI"] == [Truth.NOT_MET]


def test_a_patients_with_x_should_clause_binds_only_them():
    """NCT04585958: only patients with brain metastases are asked to be off steroids; Mei has none."""
    text = (
        "Patients with brain metastases should be stable and off steroids and at least 4 weeks from radiation"
        " at the time of registration"
    )
    assert outcome(text, MEI) == "satisfied"


def test_a_treatment_she_must_be_eligible_to_receive_is_not_one_she_had():
    """NCT06124118: "Eligible to receive standard of care chemoradiation" asks whether she can have it."""
    text = "Eligible to receive standard of care chemoradiation per institutional standards."
    [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria
    verdict = evaluate([criterion], MEI, today=TODAY)
    assert [a.truth for a in verdict.criteria[0].atoms] == [Truth.NOT_CHECKABLE]


def test_the_nci_sentence_on_a_prior_or_concurrent_malignancy_lets_one_in_and_asks_none():
    """NCT04181060 and 29 more registry trials: the sentence permits another cancer; read as a requirement
    it asked Mei, who has none, to have one."""
    text = (
        "Patients with a prior or concurrent malignancy whose natural history or treatment does not have the"
        " potential to interfere with the safety or efficacy assessment of the investigational regimen are"
        " eligible for this trial"
    )
    assert outcome(text, MEI) != "violated"
