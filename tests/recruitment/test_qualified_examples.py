"""A qualifier of a general condition holds for the examples that follow it (2026 oncology registry):
"known active infectious disease, such as hepatitis B or C infection" excludes an active hepatitis B, not
every hepatitis B on file. Hiro (tests/recruitment/test_upper_gi_registry_misreadings.py) has chronic
hepatitis B, suppressed on entecavir: whether it is active is the site's question, not a reason to rule him
out."""

import datetime

from nlp import parse_eligibility
from recruitment.matching import PatientFacts, evaluate
from tests.recruitment.test_upper_gi_registry_misreadings import HIRO

TODAY = datetime.date(2026, 12, 7)


def outcome(text: str, patient: PatientFacts = HIRO) -> str:
    [verdict] = evaluate(
        parse_eligibility(f"Exclusion Criteria:\n* {text}\n").criteria, patient, today=TODAY
    ).criteria
    return str(verdict.outcome)


def test_examples_after_such_as_share_the_qualifier_of_their_head():
    # NCT03740256
    assert (
        outcome("Patients with known active infectious disease, such as hepatitis B or C infection.")
        == "unknown"
    )


def test_examples_after_including_share_the_qualifier_of_their_head():
    # NCT05036291
    text = "Active infection including hepatitis B, hepatitis C, and human immunodeficiency virus (HIV):"
    assert outcome(text) == "unknown"


def test_an_unqualified_example_list_still_rules_him_out():
    assert outcome("Known infection, such as hepatitis B or C infection.") == "violated"
