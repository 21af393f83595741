"""A gene named as what a drug targets is a treatment, not a test result: "Failed prior KRAS inhibitor" asked
every patient for a KRAS mutation, and "Prior EGFR-directed therapy" read EGFR as the kidney's eGFR. A
treatment followed by "naive" was never given. Phrasings from the 2026 registry (data/oncology_trials_2026)
where marked."""

import pytest

from nlp import Not, iter_atoms, parse_eligibility
from nlp.terminology import is_a


def atoms(text: str, section: str = "Inclusion") -> list[tuple[str, str | None, str]]:
    [criterion, *_] = parse_eligibility(f"{section} Criteria:\n* {text}\n").criteria
    return [(a.kind, a.concept.code if a.concept else None, a.assertion) for a in iter_atoms(criterion.tree)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Failed prior KRAS inhibitor", [("therapy", "kras_inhibitor", "historical")]),
        ("Prior EGFR-directed therapy", [("therapy", "egfr_tki", "historical")]),
        (
            # NCT03803553 (shortened)
            "Prior therapy with a BRAF or MEK inhibitor",
            [("therapy", "braf_inhibitor", "historical"), ("therapy", "mek_inhibitor", "historical")],
        ),
    ],
)
def test_a_gene_named_as_a_drug_target_is_a_treatment(text, expected):
    assert atoms(text) == expected


def test_a_kras_g12c_inhibitor_is_a_kras_inhibitor():
    assert is_a("kras_g12c_inhibitor", "kras_inhibitor")


@pytest.mark.parametrize("text", ["EGFR mutation", "EGFR exon 19 deletion or L858R", "KRAS G12C mutation"])
def test_a_gene_with_its_alteration_is_still_a_biomarker(text):
    assert {kind for kind, _, _ in atoms(text)} == {"biomarker"}


def test_egfr_in_capitals_is_not_the_kidneys_egfr():
    assert ("lab", "33914-3", "present") not in atoms("EGFR-mutant NSCLC")
    assert atoms("eGFR >= 60 mL/min/1.73m2")[0][:2] == ("lab", "33914-3")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("KRAS G12C inhibitor naive", "kras_g12c_inhibitor"),
        # NCT03093116: no ROS1 inhibitor, which no class codes (any TKI would rule out an EGFR TKI).
        ("EXP-1: ROS1 TKI-naïve ROS1+ NSCLC", None),
        ("Chemotherapy-naive patients with NSCLC", "chemotherapy"),
    ],
)
def test_a_treatment_followed_by_naive_was_never_given(text, code):
    assert ("therapy", code, "negated") in atoms(text)
    [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria
    negated = [n.child for n in _nots(criterion.tree)]
    assert any(
        getattr(child, "kind", None) == "therapy" and (child.concept.code if child.concept else None) == code
        for child in negated
    )


def _nots(node):
    if isinstance(node, Not):
        yield node
    for child in getattr(node, "children", ()):
        yield from _nots(child)


def test_a_generic_treatment_named_with_the_treatments_it_was_is_those_treatments():
    """NCT04253964: "No prior systemic treatment with either chemotherapy or immunotherapy" lets in Mei,
    whose only treatment was osimertinib; read as any systemic treatment, it shut her out."""
    text = "No prior systemic treatment with either chemotherapy or immunotherapy for non-curative intent."
    assert sorted(code or "" for _, code, _ in atoms(text)) == ["chemotherapy", "immunotherapy"]
    assert ("therapy", "systemic_anticancer", "historical") in atoms("Prior systemic treatment")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # NCT06248606: one drug class, not a KRAS G12C inhibitor or any tyrosine kinase inhibitor.
        ("Prior treatment with KRAS G12C tyrosine kinase inhibitor.", [("therapy", "kras_g12c_inhibitor")]),
        # No class for MET inhibitors: uncoded, never any tyrosine kinase inhibitor (osimertinib is one).
        ("Prior treatment with a MET tyrosine kinase inhibitor", [("therapy", None)]),
        ("Prior ROS1 TKI", [("therapy", None)]),
    ],
)
def test_a_tyrosine_kinase_inhibitor_of_a_named_gene_is_that_genes_inhibitor(text, expected):
    assert [(kind, code) for kind, code, _ in atoms(text, "Exclusion")] == expected
