"""The linear Chia tagger the parser runs, and its entities as Criterion.mentions."""

import itertools
from collections.abc import Sequence

import numpy as np
import pytest

from nlp import linear_tagger as lt
from nlp.chia_mentions import RULE_PREFIX
from nlp.evaluation import parser_prediction
from nlp.model import ParsedEligibility, iter_atoms
from nlp.parser import parse_eligibility

TEXT = "Inclusion Criteria:\n* Platelet count >= 100,000/mm3\n* No history of myocardial infarction\n"


def _is_bio_valid(tags: list[int]) -> bool:
    previous = "O"
    for tag in (lt.TAGS[t] for t in tags):
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            return False
        previous = tag
    return True


def test_shipped_tagger_finds_a_measurement_and_its_value_in_text_offsets() -> None:
    spans = lt.load().tag(TEXT)
    assert spans
    assert all(0 <= s.start < s.end <= len(TEXT) and "\n" not in TEXT[s.start : s.end] for s in spans)
    assert {"Measurement", "Value"} <= {s.type for s in spans}


def test_text_without_words_has_no_entities() -> None:
    assert lt.load().tag("") == []
    assert lt.load().tag(" \n\t\n") == []


def test_shipped_model_is_small() -> None:
    assert lt.MODEL_PATH.stat().st_size < 3_000_000


def test_decoding_never_starts_an_entity_inside_or_switches_type_mid_entity() -> None:
    rng = np.random.default_rng(0)
    emissions = rng.normal(size=(4, 9, len(lt.TAGS))).astype(np.float32)
    transitions = lt.constrain(rng.normal(size=(len(lt.TAGS), len(lt.TAGS))).astype(np.float32))
    paths = lt.viterbi(emissions, transitions, [9, 3, 1, 6])
    assert [len(p) for p in paths] == [9, 3, 1, 6]
    assert all(_is_bio_valid(p) for p in paths)


def _brute_force(
    emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray
) -> list[int]:
    def total(path: Sequence[int]) -> float:
        steps = sum(transitions[a, b] for a, b in itertools.pairwise(path))
        return float(
            start[path[0]] + sum(emissions[i, t] for i, t in enumerate(path)) + steps + end[path[-1]]
        )

    paths: list[Sequence[int]] = list(itertools.product(range(len(lt.TAGS)), repeat=len(emissions)))
    best = max(paths, key=total)
    return list(best)


def test_viterbi_finds_the_best_path_of_each_row_of_any_length() -> None:
    rng = np.random.default_rng(1)
    transitions = lt.constrain(rng.normal(size=(len(lt.TAGS), len(lt.TAGS))).astype(np.float32))
    lengths = [1, 2, 3, 1, 2]
    emissions = rng.normal(size=(len(lengths), 3, len(lt.TAGS))).astype(np.float32)
    starts = rng.normal(size=(len(lengths), len(lt.TAGS))).astype(np.float32)
    ends = rng.normal(size=(len(lengths), len(lt.TAGS))).astype(np.float32)
    expected = [
        _brute_force(emissions[r, :n], transitions, starts[r], ends[r]) for r, n in enumerate(lengths)
    ]
    assert lt.viterbi(emissions, transitions, lengths, starts, ends) == expected
    default_start = np.array([-1e9 if t.startswith("I-") else 0.0 for t in lt.TAGS])
    no_end = np.zeros(len(lt.TAGS))
    assert lt.viterbi(emissions[2:3], transitions, [3]) == [
        _brute_force(emissions[2], transitions, default_start, no_end)
    ]


def _reference_viterbi(emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray) -> list[int]:
    """One row, one step and one tag at a time: the textbook recursion, in float64."""
    tags = range(len(lt.TAGS))
    score = [float(start[t] + emissions[0, t]) for t in tags]
    back: list[list[int]] = []
    for row in emissions[1:]:
        best = []
        for t in tags:
            best.append(max(tags, key=lambda p: score[p] + float(transitions[p, t])))
        score = [score[p] + float(transitions[p, t]) + float(row[t]) for t, p in zip(tags, best, strict=True)]
        back.append(best)
    path = [max(tags, key=lambda t: score[t])]
    for best in reversed(back):
        path.append(best[path[-1]])
    return path[::-1]


def test_viterbi_agrees_with_the_textbook_recursion_on_many_rows_of_mixed_lengths() -> None:
    rng = np.random.default_rng(2)
    transitions = lt.constrain((10 * rng.normal(size=(len(lt.TAGS), len(lt.TAGS)))).astype(np.float32))
    for _ in range(20):
        lengths = rng.integers(0, 25, size=rng.integers(1, 12)).tolist()
        emissions = (10 * rng.normal(size=(len(lengths), max(lengths), len(lt.TAGS)))).astype(np.float32)
        for row, length in enumerate(lengths):
            emissions[row, length:] = 0.0
        expected = [
            _reference_viterbi(emissions[r, :n], transitions, lt._START) if n else []
            for r, n in enumerate(lengths)
        ]
        assert lt.viterbi(emissions, transitions, lengths) == expected


def test_a_stray_inside_tag_starts_an_entity_of_its_own_type() -> None:
    tags = [lt.TAGS.index(t) for t in ("B-Drug", "I-Condition", "O", "I-Value")]
    spans = lt.spans_from_tags([(0, 1), (2, 3), (4, 5), (6, 7)], tags)
    assert [(s.type, s.start, s.end) for s in spans] == [("Drug", 0, 1), ("Condition", 2, 3), ("Value", 6, 7)]


def test_fixing_sure_outside_tokens_first_gives_the_same_entities(monkeypatch: pytest.MonkeyPatch) -> None:
    text = TEXT + "Exclusion Criteria:\n* Prior treatment with pembrolizumab within 6 months\n"
    pruned = lt.load().tag(text)
    monkeypatch.setattr(lt, "SURE_MARGIN", float("inf"))
    assert lt.LinearTagger.load().tag(text) == pruned


def test_tokens_fixed_outside_before_decoding_never_change_the_best_paths() -> None:
    rng = np.random.default_rng(3)
    tagger = lt.load()
    fixed = 0
    for _ in range(50):
        count = int(rng.integers(1, 40))
        # O-heavy scores on the shipped model's scale, so that many tokens are fixed.
        emitted = (60 * rng.normal(size=(count, len(lt.TAGS)))).astype(np.float32)
        emitted[:, 0] += rng.choice([0.0, 150.0], size=count).astype(np.float32)
        new_line = rng.random(count) < 0.15
        new_line[0] = True
        fixed += int(tagger._surely_outside(emitted, new_line).sum())
        starts = [*np.flatnonzero(new_line).tolist(), count]
        whole_lines = [
            tag
            for a, b in itertools.pairwise(starts)
            for tag in lt.viterbi(emitted[None, a:b], tagger.transitions, [b - a])[0]
        ]
        assert tagger._decode(emitted, new_line) == whole_lines
    assert fixed > 100


def test_tagger_entities_are_mentions_beside_the_atoms_and_never_questions() -> None:
    parsed = parse_eligibility(TEXT)
    tagged = [m for c in parsed.criteria for m in c.mentions if m.rule_id.startswith(RULE_PREFIX)]
    assert tagged
    assert all(not m.checkable and m.concept is None for m in tagged)
    for criterion in parsed.criteria:
        assert not any(a.rule_id.startswith(RULE_PREFIX) for a in iter_atoms(criterion.tree))
        for mention in criterion.mentions:
            start, end = mention.span
            assert criterion.span[0] <= start < end <= criterion.span[1]
            assert mention.text == TEXT[start:end]


def test_where_the_tagger_and_an_atom_read_the_same_words_the_chia_mapping_scores_the_tagged_entity() -> None:
    text = "Exclusion Criteria:\n* History of myocardial infarction\n"
    parsed = parse_eligibility(text)
    atom = next(a for c in parsed.criteria for a in iter_atoms(c.tree) if a.kind == "condition")
    mention = next(m for c in parsed.criteria for m in c.mentions if m.rule_id == RULE_PREFIX + "Condition")
    assert mention.span[0] < atom.span[1]
    assert atom.span[0] < mention.span[1]
    conditions = [e for e in parser_prediction(text).entities if e.type == "Condition"]
    assert [(e.start, e.end) for e in conditions] == [mention.span]


def test_tagger_mentions_survive_the_json_round_trip() -> None:
    parsed = parse_eligibility(TEXT)
    again = ParsedEligibility.from_dict(parsed.to_dict())
    assert again == parsed
    assert any(m.rule_id.startswith(RULE_PREFIX) for c in again.criteria for m in c.mentions)


def test_the_chia_mapping_scores_tagger_mentions_with_their_own_types() -> None:
    prediction = parser_prediction(TEXT)
    value = TEXT.index(">= 100,000")
    values = [e for e in prediction.entities if e.type == "Value"]
    assert len([e for e in values if e.start <= value < e.end]) == 1
    heads = {prediction.entities[h].type for h, _ in prediction.has_value}
    assert "Measurement" in heads


def test_a_full_word_cache_never_changes_the_tags_of_the_text_being_tagged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = (
        "Inclusion Criteria:\n* Platelet count >= 100,000/mm3\n* ECOG performance status 0-1\n"
        "Exclusion Criteria:\n* No history of myocardial infarction within 6 months\n"
        "* Known active hepatitis B or C infection\n* Pregnant or breastfeeding women\n"
    )
    expected = lt.LinearTagger.load().tag(text)
    monkeypatch.setattr(lt, "_CACHE_LIMIT", 12)
    tagger = lt.LinearTagger.load()
    tagger.tag("Serum creatinine 1.5 mg/dL or less")  # leaves the small cache part full
    assert tagger.tag(text) == expected
    assert tagger.tag(text) == expected


def test_ascii_token_pattern_cuts_ascii_text_as_the_token_pattern_does() -> None:
    # Every ASCII character alone and beside every other (a letter, digit, "." or "," either side), and
    # whole texts: the fast pattern the tagger uses on ASCII text finds the same tokens.
    characters = [chr(c) for c in range(128)]
    texts = [a + b for a in characters for b in characters]
    texts += [f"{a}1{b}2.5{a}x{b}" for a in characters for b in ",.a_9 "]
    texts += [TEXT, "ECOG 0-1; Hb>=9.0 g/dL, ANC 1,500/uL\x1c\x1fx_y 3.4.5,6,"]
    for text in texts:
        assert [m.span() for m in lt._ASCII_TOKEN.finditer(text)] == lt.tokens(text), repr(text)
