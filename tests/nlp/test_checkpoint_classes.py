"""Immune checkpoint inhibitors named by their targets are treatments, not the PD-L1 biomarker."""

import pytest

from nlp import iter_atoms, parse_eligibility


def readings(line: str) -> list[tuple[str, str]]:
    (criterion,) = parse_eligibility(f"Exclusion Criteria:\n* {line}\n").criteria
    return [(a.kind, a.concept.code if a.concept else "") for a in iter_atoms(criterion.tree)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Prior anti-PD-1/PD-L1 therapy", [("therapy", "anti_pd1"), ("therapy", "anti_pdl1")]),
        ("Prior PD1/PDL1 antibody", [("therapy", "anti_pd1"), ("therapy", "anti_pdl1")]),
        ("Prior PD-1/PD-L1 inhibitor", [("therapy", "anti_pd1"), ("therapy", "anti_pdl1")]),
        (
            "Previous treatment with a platinum agent, PD1 or PDL1 agent.",
            [("therapy", "platinum"), ("therapy", "anti_pd1"), ("therapy", "anti_pdl1")],
        ),
        (
            "PD-1/PD-L1 and CTLA-4 blockade",
            [("therapy", "anti_pd1"), ("therapy", "anti_pdl1"), ("therapy", "anti_ctla4")],
        ),
    ],
)
def test_targets_listed_as_a_drug_are_checkpoint_inhibitor_classes(
    line: str, expected: list[tuple[str, str]]
) -> None:
    assert readings(line) == expected


@pytest.mark.parametrize(
    "line", ["PD-L1 expression >= 1%", "PD-L1 TPS >= 50% by 22C3", "PD-L1 or PD-1 positive"]
)
def test_the_pd_l1_result_stays_a_biomarker(line: str) -> None:
    assert ("biomarker", "CD274") in readings(line)
    assert not any(kind == "therapy" for kind, _ in readings(line))
