"""Chia-style entity tagger: a small spaCy NER trained in this repo on Chia's training split.

Used by the Chia benchmark. Training lives in `nlp.train_chia_ner`; the trained pipeline ships under
`nlp/data/chia_ner/`. Lines are tagged one at a time because Chia criteria are line-oriented and this keeps
offsets trivial to map back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.util import compile_infix_regex

from nlp.evaluation import PredictedEntity, Prediction

MODEL_DIR = Path(__file__).parent / "data" / "chia_ner"

# Chia annotates "18", "years", "<", "x ULN" as separate pieces; splitting these inside words keeps gold
# boundaries on token boundaries.
_EXTRA_INFIXES = (r"[<>≤≥=/,;:()\[\]+~%]", r"(?<=[0-9])(?=[A-Za-z])", r"(?<=[A-Za-z])(?=[0-9])", r"-")

_MEASURE_TYPES = frozenset({"Measurement", "Condition", "Procedure", "Drug", "Person", "Observation"})
_NEGATION_CUE = re.compile(r"\b(no|not|without|never|none|absence of|free of|negative|denies)\b", re.I)


def blank_pipeline() -> Language:
    nlp = spacy.blank("en")
    infixes = list(nlp.Defaults.infixes or []) + list(_EXTRA_INFIXES)
    tokenizer = nlp.tokenizer
    assert isinstance(tokenizer, Tokenizer)
    tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    return nlp


@lru_cache(maxsize=1)
def load_tagger() -> Language:
    return spacy.load(MODEL_DIR)


def lines_with_offsets(text: str) -> Iterator[tuple[int, str]]:
    offset = 0
    for line in text.splitlines(keepends=True):
        yield offset, line.rstrip("\r\n")
        offset += len(line)


def _attach_values(entities: list[PredictedEntity]) -> list[tuple[int, int]]:
    """Each Value is attached to the nearest preceding measurement-like entity on its line."""
    links = []
    for v, value in enumerate(entities):
        if value.type != "Value":
            continue
        heads = [i for i, e in enumerate(entities[:v]) if e.type in _MEASURE_TYPES]
        if heads:
            links.append((heads[-1], v))
    return links


def _negated(doc: Doc, start: int) -> bool:
    """A negation cue earlier in the same line, with no clause break in between, negates the entity."""
    before = doc.text[:start]
    clause = re.split(r"[.;:]|\bbut\b|\bexcept\b|\bunless\b", before)[-1]
    return bool(_NEGATION_CUE.search(clause))


def tag(text: str, nlp: Language | None = None) -> Prediction:
    nlp = nlp or load_tagger()
    prediction = Prediction()
    lines = list(lines_with_offsets(text))
    for (offset, _), doc in zip(lines, nlp.pipe(line for _, line in lines), strict=True):
        line_entities = [
            PredictedEntity(
                ent.label_, offset + ent.start_char, offset + ent.end_char, _negated(doc, ent.start_char)
            )
            for ent in doc.ents
        ]
        base = len(prediction.entities)
        prediction.has_value.extend((base + h, base + v) for h, v in _attach_values(line_entities))
        prediction.entities.extend(line_entities)
    return prediction


def tag_many(texts: Iterable[tuple[str, str]], nlp: Language | None = None) -> dict[str, Prediction]:
    return {name: tag(text, nlp) for name, text in texts}
