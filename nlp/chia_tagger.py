"""Chia-style entity tagger: a small spaCy NER trained in this repo on Chia's training split.

Used by the Chia benchmark. Training lives in `nlp.train_chia_ner`; the trained pipeline ships under
`nlp/data/chia_ner/`. Lines are tagged one at a time because Chia criteria are line-oriented and this keeps
offsets trivial to map back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.util import compile_infix_regex

from nlp.assertion import EligibilityContext
from nlp.evaluation import PredictedEntity, Prediction
from nlp.terminology import load_json

MODEL_DIR = Path(__file__).parent / "data" / "chia_ner"

# Chia annotates "18", "years", "<", "x ULN" as separate pieces; splitting these inside words keeps gold
# boundaries on token boundaries.
_EXTRA_INFIXES = (r"[<>≤≥=/,;:()\[\]+~%]", r"(?<=[0-9])(?=[A-Za-z])", r"(?<=[A-Za-z])(?=[0-9])", r"-")

_HEAD_TYPES = frozenset({"Measurement", "Person", "Observation", "Procedure", "Condition", "Drug"})
_CLAUSE_BREAK = re.compile(r"[;:.]")
# Chia links most negation cues to an entity a few words later.
_NEGATION_REACH = 40


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


def _attach_values(line: str, entities: list[PredictedEntity], offset: int) -> list[tuple[int, int]]:
    """Each Value goes to the nearest head before it, or after it when a comma or semicolon separates the
    one before and nothing separates the one after ("platelets, >= 100" vs ">= 18 years of age")."""
    links = []
    for v, value in enumerate(entities):
        if value.type != "Value":
            continue
        before = [i for i, e in enumerate(entities) if e.type in _HEAD_TYPES and e.end <= value.start]
        after = [i for i, e in enumerate(entities) if e.type in _HEAD_TYPES and e.start >= value.end]
        head = before[-1] if before else None
        if after:
            gap_before = line[entities[head].end - offset : value.start - offset] if head is not None else ";"
            gap_after = line[value.end - offset : entities[after[0]].start - offset]
            if re.search(r"[;,]", gap_before) and not re.search(r"[;,]", gap_after):
                head = after[0]
        if head is not None:
            links.append((head, v))
    return links


@lru_cache(maxsize=1)
def _context() -> EligibilityContext:
    return EligibilityContext(load_json("context_rules.json"), "atoms")


def _negated(doc: Doc, line: str) -> list[bool]:
    """Chia counts exception cues ("other than", "unless") as negation, so both assertion categories count;
    so does a Negation entity the tagger found shortly before, within the clause."""
    doc.spans["atoms"] = list(doc.ents)
    _context().annotate(doc, line)
    cues = [ent for ent in doc.ents if ent.label_ == "Negation"]
    flags = []
    for ent in doc.ents:
        by_context = ent._.assertion in ("negated", "exception")
        by_cue = any(
            cue.end_char <= ent.start_char
            and ent.start_char - cue.end_char <= _NEGATION_REACH
            and not _CLAUSE_BREAK.search(line, cue.end_char, ent.start_char)
            for cue in cues
        )
        flags.append(by_context or by_cue)
    return flags


def tag(text: str, nlp: Language | None = None) -> Prediction:
    nlp = nlp or load_tagger()
    prediction = Prediction()
    lines = list(lines_with_offsets(text))
    for (offset, line), doc in zip(lines, nlp.pipe(line for _, line in lines), strict=True):
        line_entities = [
            PredictedEntity(ent.label_, offset + ent.start_char, offset + ent.end_char, negated)
            for ent, negated in zip(doc.ents, _negated(doc, line), strict=True)
        ]
        base = len(prediction.entities)
        prediction.has_value.extend(
            (base + h, base + v) for h, v in _attach_values(line, line_entities, offset)
        )
        prediction.entities.extend(line_entities)
    return prediction
