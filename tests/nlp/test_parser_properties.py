import json
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp import ParsedEligibility, parse_eligibility

PIECES = st.sampled_from(
    [
        "Inclusion Criteria:",
        "Exclusion Criteria:",
        "\n",
        "  * ",
        "1. ",
        "ANC ≥ 1.5 \u00d7 10^9/L",
        "no history of ",
        "unless ",
        "EGFR exon 19 deletion or L858R",
        "hepatitis B or C",
        "ECOG 0-1",
        "\\>= ",
        "µmol/L",
        "at least one of the following:",
        "\u00a0",
        "—",
        "KRAS",
    ]
)
TEXTS = st.one_of(
    st.text(max_size=300), st.lists(st.one_of(PIECES, st.text(max_size=20)), max_size=30).map("".join)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_arbitrary_text_never_crashes_and_every_span_lies_inside_the_original(text: str) -> None:
    parsed = parse_eligibility(text)
    for criterion in parsed.criteria:
        assert 0 <= criterion.span[0] <= criterion.span[1] <= len(text)
        assert text[criterion.span[0] : criterion.span[1]] == criterion.text
    for atom in parsed.atoms():
        assert 0 <= atom.span[0] <= atom.span[1] <= len(text)


@settings(max_examples=50, deadline=None)
@given(TEXTS)
def test_json_round_trip_of_arbitrary_parses_is_lossless(text: str) -> None:
    parsed = parse_eligibility(text, minimum_age="18 Years", maximum_age="6 Months", sex="FEMALE")
    assert ParsedEligibility.from_dict(json.loads(json.dumps(parsed.to_dict()))) == parsed


def test_json_round_trip_keeps_every_node_type() -> None:
    text = (
        "Inclusion Criteria:\n* Not pregnant or nursing\n"
        "* Women of childbearing potential must have a negative pregnancy test\n"
        "* Major surgery within 4 weeks of first dose\nExclusion Criteria:\n"
        "* Brain metastases unless treated and stable\n"
    )
    parsed = parse_eligibility(text)
    data = json.loads(json.dumps(parsed.to_dict()))
    kinds = json.dumps(data)
    for node_type in ('"not"', '"or"', '"except"', '"atom"'):
        assert node_type in kinds
    assert ParsedEligibility.from_dict(data) == parsed


def test_every_parse_carries_parser_and_dictionary_versions() -> None:
    parsed = parse_eligibility("ECOG 0-1")
    assert parsed.parser_version
    assert parsed.dictionary_version


def test_importing_nlp_and_parsing_never_imports_django() -> None:
    code = (
        "import sys, nlp; nlp.parse_eligibility('ANC >= 1500/mm3'); "
        "import nlp.evaluation, nlp.chia_tagger, nlp.train_chia_ner; "
        "sys.exit(1 if any(m == 'django' or m.startswith('django.') for m in sys.modules) else 0)"
    )
    result = subprocess.run(  # noqa: S603  (our own interpreter and a constant script)
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
