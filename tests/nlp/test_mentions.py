"""Phrases the lexicon recognises but no vocabulary codes ("histologically", "adverse events") are shown and
scored, but they do not turn a criterion that coded atoms settle into a question for every patient."""

from nlp.chia_mentions import RULE_PREFIX
from nlp.model import Atom, Criterion, Except, ParsedEligibility, iter_atoms
from nlp.parser import parse_eligibility

INCLUSION = "Inclusion Criteria:\n* {}\n"


def _moved_out_of_tree(criterion: Criterion) -> list[Atom]:
    """Mentions the parser took out of the tree (the Chia tagger's spans are mentions from the start)."""
    return [a for a in criterion.mentions if not a.rule_id.startswith(RULE_PREFIX)]


def test_an_uncoded_phrase_beside_a_coded_condition_is_a_mention_not_a_requirement() -> None:
    parsed = parse_eligibility(INCLUSION.format("Histologically confirmed non-small cell lung cancer"))
    [criterion] = parsed.criteria
    in_tree = iter_atoms(criterion.tree)
    assert [a.kind for a in in_tree] == ["condition"]
    assert in_tree[0].concept is not None
    assert [a.text.lower() for a in _moved_out_of_tree(criterion)] == ["histologically"]
    assert all(a.concept is None for a in criterion.mentions)
    # Shown and scored all the same, in text order (the tagger's reading of the same words beside them).
    parser_readings = [a for a in parsed.recognised() if not a.rule_id.startswith(RULE_PREFIX)]
    assert [a.text.lower() for a in parser_readings] == ["histologically", "non-small cell lung cancer"]


def test_a_criterion_with_nothing_coded_keeps_its_phrases_as_open_questions() -> None:
    parsed = parse_eligibility(INCLUSION.format("Adverse events resolved to grade 1 or less"))
    [criterion] = parsed.criteria
    assert _moved_out_of_tree(criterion) == []
    assert any(a.rule_id.startswith("lexicon.") for a in iter_atoms(criterion.tree))


def test_an_uncoded_exception_stays_in_the_tree_because_it_only_lets_patients_in() -> None:
    parsed = parse_eligibility(
        INCLUSION.format("Total bilirubin ≤1.5 x ULN, except patients with known Gilbert's syndrome.")
    )
    [criterion] = parsed.criteria
    assert isinstance(criterion.tree, Except)
    assert _moved_out_of_tree(criterion) == []


def test_mentions_survive_the_json_round_trip() -> None:
    parsed = parse_eligibility(INCLUSION.format("Histologically confirmed non-small cell lung cancer"))
    again = ParsedEligibility.from_dict(parsed.to_dict())
    assert again == parsed
    assert again.criteria[0].mentions == parsed.criteria[0].mentions
