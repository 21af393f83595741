"""Parsing many texts at once (`parse_eligibility_many`) gives exactly the parse of each text alone."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp import EligibilityText, ParsedEligibility, parse_eligibility, parse_eligibility_many
from nlp import linear_tagger as lt

PIECES = st.sampled_from(
    [
        "Inclusion Criteria:\n",
        "Exclusion Criteria:\n",
        "INCLU\u017fION CRITERIA:\r\n",
        "* ",
        "1. ",
        "  - ",
        "Platelet count >= 100,000/mm3",
        "No history of myocardial infarction",
        "\u0131f ",
        "\u0130f ",
        "\u017fuspected ",
        "\u212anown ",
        "HER2 IHC 3+ ",
        "ECOG 0-1",
        "aged 18 years or older",
        "women of child-bearing potential",
        "Pregnant or lactating",
        "within 4 weeks of first dose",
        "at least one of the following:",
        "\n",
        "\r",
        "\u2028",
        " ",
        "",
    ]
)
TEXTS = st.lists(PIECES, max_size=14).map("".join)
AGES = st.sampled_from([None, "18 Years", "6 Months", "N/A"])
SEXES = st.sampled_from([None, "ALL", "FEMALE", "MALE"])
REQUESTS = st.builds(EligibilityText, TEXTS, AGES, AGES, SEXES)


def _json(parsed: ParsedEligibility) -> str:
    return json.dumps(parsed.to_dict(), sort_keys=True)


def _alone(request: EligibilityText) -> str:
    return _json(
        parse_eligibility(
            request.text, minimum_age=request.minimum_age, maximum_age=request.maximum_age, sex=request.sex
        )
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(REQUESTS, max_size=8))
def test_a_batch_parses_each_text_as_it_would_be_parsed_alone(requests: list[EligibilityText]) -> None:
    assert [_json(p) for p in parse_eligibility_many(requests)] == [_alone(r) for r in requests]


@settings(max_examples=60, deadline=None)
@given(st.lists(TEXTS, max_size=8))
def test_tagging_texts_together_finds_each_text_s_own_spans(texts: list[str]) -> None:
    tagger = lt.load()
    assert tagger.tag_many(texts) == [tagger.tag(text) for text in texts]


def test_texts_cut_into_several_chunks_are_tagged_as_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [
        "Inclusion Criteria:\n* Platelet count >= 100,000/mm3\r",
        "",
        "No history of myocardial infarction\n\nExclusion Criteria:\n- Pregnant or lactating",
        "\u212anown HIV infection",
    ] * 5
    tagger = lt.load()
    alone = [tagger.tag(text) for text in texts]
    monkeypatch.setattr(lt, "_CHUNK_CHARACTERS", 60)
    assert tagger.tag_many(texts) == alone
    assert any(alone)


def test_the_texts_tagged_ahead_are_forgotten_after_the_block() -> None:
    tagger = lt.load()
    with tagger.tagging_ahead(["Known HIV infection"]):
        assert lt._TAGGED_AHEAD.get()
    assert lt._TAGGED_AHEAD.get() is None


def test_an_empty_batch_parses_nothing() -> None:
    assert parse_eligibility_many([]) == []
