"""Eligibility-criteria NLP: a pure library (no Django) used by the trial registry and the matcher."""

from nlp.model import (
    And,
    Atom,
    Concept,
    Criterion,
    Except,
    Node,
    Not,
    Or,
    ParsedEligibility,
    TimeWindow,
    iter_atoms,
)
from nlp.parser import EligibilityText, parse_eligibility, parse_eligibility_many
from nlp.terminology import drug_classes, icd10cm, is_a, lab_by_code, link
from nlp.units import UnitError, convert

__all__ = [
    "And",
    "Atom",
    "Concept",
    "Criterion",
    "EligibilityText",
    "Except",
    "Node",
    "Not",
    "Or",
    "ParsedEligibility",
    "TimeWindow",
    "UnitError",
    "convert",
    "drug_classes",
    "icd10cm",
    "is_a",
    "iter_atoms",
    "lab_by_code",
    "link",
    "parse_eligibility",
    "parse_eligibility_many",
]
