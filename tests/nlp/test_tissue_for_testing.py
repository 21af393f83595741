"""A tissue or sample the trial asks for names the assay it is for; the assay's biomarker is the purpose of
the sample, not a result the patient must have. Phrasings from the 2026 oncology registry."""

import pytest

from nlp import iter_atoms, parse_eligibility


def _atoms(line: str, section: str = "Inclusion"):
    (criterion,) = parse_eligibility(f"{section} Criteria:\n* {line}\n").criteria
    return list(iter_atoms(criterion.tree))


@pytest.mark.parametrize(
    "line",
    [
        "Archival tumour tissue must be available for PD-L1 testing",
        "Patients must provide a tumor sample for central EGFR mutation testing",
        "Availability of FFPE tissue for biomarker analysis (e.g. HER2 IHC)",
        # NCT04429542
        "Patients must provide tissue for PD-L1 biomarker analysis from a core or excisional biopsy",
        # NCT04585958
        "Patients must have archival formalin-fixed paraffin-embedded (FFPE) tissue available for central"
        " confirmation of HER2 testing",
        # NCT06695845
        "All participants must have adequate tumor sample for submission to allow central HER2 testing.",
        # NCT06312137
        "Tumor tissue sample from surgical resection has been provided for determination of programmed cell"
        " death ligand 1 (PD-L1) and trophoblast cell surface antigen 2 (TROP2) status by central vendor",
    ],
)
def test_a_sample_for_an_assay_asks_for_tissue_not_for_a_biomarker_result(line: str) -> None:
    atoms = _atoms(line)
    assert not [a for a in atoms if a.kind == "biomarker"]
    assert ("other", "tissue_sample", False) in [
        (a.kind, a.concept and a.concept.code, a.checkable) for a in atoms
    ]


def test_the_tumour_in_a_tumour_sample_is_not_a_diagnosis() -> None:
    atoms = _atoms("Patients must provide a tumor sample for central EGFR mutation testing")
    assert not [a for a in atoms if a.kind == "condition"]


@pytest.mark.parametrize(
    ("line", "gene"),
    [
        ("PD-L1 TPS >= 50% by 22C3 testing", "CD274"),
        ("EGFR mutation confirmed by central testing", "EGFR"),
        ("HER2-positive by IHC 3+ or ISH", "ERBB2"),
        ("Tumor sample positive for EGFR mutation by central testing", "EGFR"),
        # NCT06450873: the receptors come before the tissue
        (
            "Histological confirmation of ER+, HER2- breast cancer, newly diagnosed and tissue available for"
            " central confirmation of Ki-67 measurement.",
            "ERBB2",
        ),
    ],
)
def test_a_result_the_text_requires_is_still_a_biomarker(line: str, gene: str) -> None:
    atoms = _atoms(line)
    assert gene in [a.concept.code for a in atoms if a.kind == "biomarker" and a.concept and a.checkable]
