"""Genes written out in full, and abbreviations in brackets inside a negation. Registry sentences (data/
oncology_trials_2026) that read "anaplastic lymphoma kinase" as a lymphoma and "Kirsten rat sarcoma viral
oncogene homolog" as a sarcoma, lost the status a list of genes shares ("EGFR, ALK, and ROS1 negative"), or
ended a negation at an abbreviation's bracket ("No history of chronic obstructive pulmonary disease (COPD),
asthma ..." then let asthma in). Mei: lung adenocarcinoma, EGFR L858R, ALK negative, confirmed history.
Kai: KRAS G12C lung adenocarcinoma, never tested for ALK. No database."""

import datetime

import pytest

from nlp import iter_atoms, parse_eligibility
from nlp.model import Node, Or
from recruitment.matching import BiomarkerFact, DiagnosisFact, PatientFacts, evaluate

TODAY = datetime.date(2026, 12, 7)
LUNG = (DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma", stage="IV"),)
MEI = PatientFacts(
    sex="female",
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=LUNG,
    biomarkers=(
        BiomarkerFact("biomarker:1", "EGFR", "mutation", protein_change="L858R"),
        BiomarkerFact("biomarker:2", "ALK", "fusion", status="negative"),
    ),
)
KAI = PatientFacts(
    sex="male",
    diagnoses=LUNG,
    biomarkers=(BiomarkerFact("biomarker:1", "KRAS", "mutation", protein_change="G12C"),),
)


def outcome(text: str, patient: PatientFacts, section: str = "Inclusion") -> str:
    [verdict] = evaluate(
        parse_eligibility(f"{section} Criteria:\n* {text}\n").criteria, patient, today=TODAY
    ).criteria
    return str(verdict.outcome)


@pytest.mark.parametrize(
    ("text", "symbol"),
    [
        ("anaplastic lymphoma kinase (ALK) rearrangement", "ALK"),  # NCT04253964
        ("Kirsten rat sarcoma viral oncogene homolog (KRAS) G12C mutation", "KRAS"),  # NCT07223047
        ("Kirsten RAt Sarcoma Virus G12C", "KRAS"),  # NCT05566223
        ("No known anaplastic lymphoma kinase rearrangement", "ALK"),
        ("Neuroblastoma RAS viral oncogene homolog (NRAS) mutation", "NRAS"),
    ],
)
def test_a_gene_written_out_is_the_gene_never_a_disease_in_its_name(text: str, symbol: str) -> None:
    atoms = list(parse_eligibility(f"Inclusion Criteria:\n* {text}\n").atoms())
    assert [a.kind for a in atoms] == ["biomarker"]
    assert atoms[0].concept is not None
    assert atoms[0].concept.code == symbol


def test_kai_meets_a_kras_g12c_requirement_written_out_in_full() -> None:
    assert outcome("Kirsten rat sarcoma viral oncogene homolog (KRAS) G12C mutation", KAI) == "satisfied"


def test_a_status_after_a_list_of_genes_applies_to_each() -> None:
    # NCT06311721: EGFR, ALK and ROS1 must all be negative; Mei's EGFR L858R rules her out, Kai is unknown.
    text = (
        "Epidermal growth factor receptor (EGFR), anaplastic lymphoma kinase (ALK), and c-ros oncogene 1"
        " (ROS1) negative"
    )
    atoms = list(parse_eligibility(f"Inclusion Criteria:\n* {text}\n").atoms())
    assert [(a.concept.code if a.concept else None, a.alteration) for a in atoms] == [
        ("EGFR", "negative"),
        ("ALK", "negative"),
        ("ROS1", "negative"),
    ]
    assert outcome(text, MEI) == "violated"


@pytest.mark.parametrize(
    "text",
    [
        "No history of chronic obstructive pulmonary disease (COPD), asthma or interstitial lung disease",
        # NCT05815173
        "Do not have an epidermal growth factor receptor (EGFR) mutation, anaplastic lymphoma kinase (ALK)"
        " translocation, rearranged during transfection (RET), or ROS1 rearrangement",
    ],
)
def test_a_negation_reaches_past_an_abbreviation_in_brackets(text: str) -> None:
    [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria
    assert {a.assertion for a in iter_atoms(criterion.tree)} == {"negated"}


def test_mei_with_an_egfr_mutation_fails_do_not_have_an_egfr_mutation_written_out() -> None:
    text = (
        "Do not have an epidermal growth factor receptor (EGFR) mutation, anaplastic lymphoma kinase (ALK)"
        " translocation, or ROS1 rearrangement"
    )
    assert outcome(text, MEI) == "violated"
    assert outcome(text, KAI) != "violated"


def test_a_purpose_ends_a_negation() -> None:
    # NCT06345729: "not previously irradiated" says nothing of the KRAS or PD-L1 status it is tested for.
    [criterion] = parse_eligibility(
        "Inclusion Criteria:\n* Provides a biopsy of a tumor lesion not previously irradiated to enable"
        " central laboratory testing of KRAS G12C mutation status\n"
    ).criteria
    assert [a.assertion for a in iter_atoms(criterion.tree) if a.kind == "biomarker"] == ["present"]


def test_a_list_goes_on_after_an_abbreviation_the_parser_does_not_read() -> None:
    # NCT04314401: Omar's lung cancer is one of the cancers listed, each with its own abbreviation.
    omar = PatientFacts(sex="male", diagnoses=LUNG)
    text = (
        "Patients with lung cancer (LCA), prostate cancer (PCA), gastroesophageal cancer (GEC), ovarian"
        " cancer (OV), acute myeloid leukemia (AML), multiple myeloma (MML)"
    )
    assert outcome(text, omar) == "satisfied"


def test_an_infection_list_after_an_abbreviation_excludes_each_infection_alone() -> None:
    # NCT03972657: HIV, hepatitis B and hepatitis C are alternatives, not all three required together.
    [criterion] = parse_eligibility(
        "Exclusion Criteria:\n* Uncontrolled infection with Human Immunodeficiency Virus (HIV), hepatitis B"
        " or hepatitis C infection; or diagnosis of immunodeficiency\n"
    ).criteria
    alternatives = [
        node
        for node in iter_nodes(criterion.tree)
        if isinstance(node, Or)
        and {a.concept.code for a in iter_atoms(node) if a.concept is not None} == {"hiv", "hbv", "hcv"}
    ]
    assert alternatives


def iter_nodes(node: Node) -> list[Node]:
    children = getattr(node, "children", None) or ((node.child,) if hasattr(node, "child") else ())
    return [node, *(n for child in children for n in iter_nodes(child))]


def test_a_plural_in_brackets_is_no_abbreviation() -> None:
    # NCT06418204: the examples are of the systemic therapy, not alternatives to the prior cancer.
    [criterion] = parse_eligibility(
        "Exclusion Criteria:\n* Participant received systemic therapy treatment for prior cancer(s) including"
        " chemotherapy, immunotherapy, targeted therapy, and hormonal therapy.\n"
    ).criteria
    assert type(criterion.tree).__name__ == "And"


def test_mutation_negative_denies_the_alteration_for_each_gene_listed() -> None:
    # NCT04093167: Mei's EGFR L858R rules her out; Kai (KRAS G12C, never tested for EGFR or ALK) is unknown.
    text = "Confirmed EGFR and ALK mutation-negative disease based on testing"
    atoms = list(parse_eligibility(f"Inclusion Criteria:\n* {text}\n").atoms())
    assert [a.alteration for a in atoms] == ["negative", "negative"]
    assert outcome(text, MEI) == "violated"
    assert outcome(text, KAI) == "unknown"


def test_at_least_one_of_a_genes_alterations_listed_is_enough() -> None:
    # NCT05261399: Mei's L858R is one of those listed.
    text = (
        "Must have at least one documented sensitising EGFR mutation: exon19 deletion, L858R mutation, and/or"
        " T790M."
    )
    assert outcome(text, MEI) == "satisfied"
