"""A sentence that ends by saying whom it makes ineligible ("Patients with LCNEC are not eligible.") denies
what it names among the inclusions, and says again what excludes among the exclusions; sentences of the
2026 oncology registry (data/oncology_trials_2026)."""

import pytest

from nlp import iter_atoms, parse_eligibility
from nlp.model import Not


def atoms(text: str) -> list[tuple[str, str, str | None]]:
    [criterion] = parse_eligibility(text).criteria
    return [(a.text, a.assertion, a.review) for a in iter_atoms(criterion.tree)]


@pytest.mark.parametrize(
    ("sentence", "named"),
    [
        (  # NCT04093167: an exception to the inclusion's NSCLC
            "Histologically confirmed metastatic NSCLC. Patients with Large Cell Neuroendocrine Carcinoma "
            "(LCNEC) are not eligible.",
            "Neuroendocrine Carcinoma",
        ),
        (
            "Patients who have a diagnosis of bladder cancer are not eligible.",
            "bladder cancer",
        ),  # NCT03802851
        (
            "Patients with human immunodeficiency virus (HIV) infection are ineligible;",
            "human immunodeficiency virus",
        ),
    ],
)
# NCT02339571 and NCT06617923 for the HIV sentence.
def test_what_an_inclusion_says_makes_a_patient_ineligible_is_denied(sentence, named):
    assert (named, "negated", None) in atoms(f"Inclusion Criteria:\n* {sentence}\n")


def test_the_inclusion_around_the_denial_still_holds():
    text = (
        "Inclusion Criteria:\n* Histologically confirmed metastatic NSCLC. Patients with Large Cell "
        "Neuroendocrine Carcinoma (LCNEC) are not eligible.\n"
    )
    assert ("NSCLC", "present", None) in atoms(text)


def test_not_eligible_for_a_treatment_is_no_denial_of_the_disease():
    text = "Inclusion Criteria:\n* Stage III NSCLC patients who are not eligible for curative surgery\n"
    found = atoms(text)
    assert ("Stage III", "present", None) in found
    assert ("NSCLC", "present", None) in found


def test_an_exclusion_that_says_it_excludes_is_a_plain_exclusion_with_no_conflict_to_review():
    for ending in ("are ineligible;", "are not eligible.", "are excluded."):
        text = f"Exclusion Criteria:\n* Patients with human immunodeficiency virus (HIV) infection {ending}\n"
        [criterion] = parse_eligibility(text).criteria
        assert not isinstance(criterion.tree, Not)
        assert atoms(text) == [("human immunodeficiency virus", "present", None)], ending
