"""ECOG grades as criteria write them: ranges, lists and limits."""

import pytest

from nlp import iter_atoms, parse_eligibility


def ecog_grades(line: str) -> tuple[float, ...]:
    (criterion,) = parse_eligibility(f"Inclusion Criteria:\n* {line}\n").criteria
    (atom,) = (a for a in iter_atoms(criterion.tree) if a.kind == "performance_status")
    return atom.values


@pytest.mark.parametrize(
    "line",
    [
        "ECOG 0-2",
        "ECOG 0 to 2",
        "ECOG 0 TO 2",
        "ECOG PERFORMANCE STATUS 0 To 2",
        "ECOG PS of 0\\~2.",  # NCT05746897, its tilde escaped as the registry writes it
        "ECOG 0\uff5e2",  # a full-width tilde
    ],
)
def test_a_range_of_grades_takes_every_grade_between_in_any_case(line: str) -> None:
    assert ecog_grades(line) == (0.0, 1.0, 2.0)


def test_grades_listed_with_or_are_those_grades_only() -> None:
    assert ecog_grades("ECOG 0 or 2") == (0.0, 2.0)


@pytest.mark.parametrize(
    "line",
    [
        "Eastern Cooperative Oncology Group (ECOG) performance status =\\< 1",
        "Zubrod performance status =< 1",
    ],
)
def test_an_upper_limit_written_equals_then_less_than_includes_the_limit(line: str) -> None:
    # NCI's records write "<=" as "=<" (escaped "=\\<" on ClinicalTrials.gov): ECOG 1 meets "=< 1".
    assert ecog_grades(line) == (0.0, 1.0)


def test_a_lower_limit_written_equals_then_greater_than_includes_the_limit() -> None:
    assert ecog_grades("ECOG performance status => 4") == (4.0, 5.0)


@pytest.mark.parametrize(
    ("line", "grades"),
    [
        # NCT03740256: Omar's ECOG 0 was read as failing "2".
        (
            "Eastern Cooperative Oncology Group (ECOG) performance status 2 or less (Appendix I).",
            (0.0, 1.0, 2.0),
        ),
        (
            "Eastern Cooperative Oncology Group (ECOG) performance status of 2 or lower",
            (0.0, 1.0, 2.0),
        ),  # NCT06555588
        ("ECOG performance status 1 or better", (0.0, 1.0)),
        ("ECOG 3 or greater", (3.0, 4.0, 5.0)),
    ],
)
def test_a_limit_written_after_the_grade_is_a_limit(line: str, grades: tuple[float, ...]) -> None:
    assert ecog_grades(line) == grades


@pytest.mark.parametrize(
    ("line", "comparator", "value"),
    [
        # NCT04774718: NCI's ">/=" and "</=" (escaped on ClinicalTrials.gov) are ">=" and "<=".
        ("For participants \\>/= 16 years old, Karnofsky Performance Status \\>/= 50%", ">=", 16),
        ("Age: \\>/=18 years", ">=", 18),
        ("Age </= 75 years", "<=", 75),
    ],
)
def test_a_limit_written_with_a_slash_before_the_equals_sign_includes_the_limit(
    line: str, comparator: str, value: float
) -> None:
    (criterion,) = parse_eligibility(f"Inclusion Criteria:\n* {line}\n").criteria
    ages = [a for a in iter_atoms(criterion.tree) if a.concept is not None and a.concept.code == "age"]
    assert [(a.comparator, a.value) for a in ages] == [(comparator, value)]


def test_a_karnofsky_limit_written_with_a_slash_before_the_equals_sign_is_read() -> None:
    text = "Inclusion Criteria:\n* Karnofsky Performance Status \\>/= 50%\n"
    (criterion,) = parse_eligibility(text).criteria
    (atom,) = iter_atoms(criterion.tree)
    assert (atom.kind, atom.comparator, atom.value) == ("performance_status", ">=", 50)
