"""Harvest nlp/data/chia_lexicon.tsv: entity phrases annotated in Chia's training split (CC BY 4.0).

    python -m nlp.harvest_chia_lexicon ../shared/data/chia_dev.zip

Only the training trials (`nlp.evaluation.split`) are read, never the held-out ones the benchmark scores. A
phrase is kept when at least `MIN_PRECISION` of its occurrences in the training text fall inside an entity
of one type and at least `MIN_OWN` are annotated as exactly that phrase, so words that are sometimes an
entity and mostly not ("disease", "treatment", "serum") stay out, and so do phrases the curated vocabularies
or the parser's rules read.
The parser matches these phrases as unmapped atoms: they mark where a condition, drug, procedure or
measurement is named without claiming to know which concept.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path

from nlp.evaluation import BratDocument, read_brat_zip, split
from nlp.parser import parse_eligibility
from nlp.terminology import genes, link_exact, load_json

OUTPUT = Path(__file__).parent / "data" / "chia_lexicon.tsv"
KINDS = {"Condition": "condition", "Drug": "therapy", "Procedure": "procedure", "Measurement": "lab"}
# Thresholds chosen on the dev slice of the training trials (harvest from the other training trials, score
# the slice; micro strict/relaxed F1 and relaxed precision): phrases annotated twice, >= 60% inside an
# entity 0.405/0.576/0.782; once 0.432/0.620/0.781; also annotated as themselves in >= 20% of their
# occurrences, so that "serum" (inside "serum creatinine") is not a measurement of its own, 0.439/0.607/
# 0.790; with 50% inside, 0.441/0.611/0.781 (shipped).
MIN_ANNOTATED = 1
MIN_PRECISION = 0.5
MIN_OWN = 0.2
MAX_WORDS = 6
_TOKEN = re.compile(r"\w+|[^\w\s]")
# Words that name a category rather than a thing ("the following conditions are excluded"): as atoms they
# would ask patients about nothing in particular.
_GENERIC_HEADS = frozenset(
    {
        "condition",
        "conditions",
        "medical condition",
        "medical conditions",
        "disease",
        "diseases",
        "disorder",
        "disorders",
        "illness",
        "illnesses",
        "diagnosis",
        "symptom",
        "symptoms",
        "comorbidity",
        "comorbidities",
        "medication",
        "medications",
        "drug",
        "drugs",
        "treatment",
        "treatments",
        "therapy",
        "therapies",
        "procedure",
        "procedures",
        "intervention",
        "interventions",
        "lesion",
        "lesions",
        "study drug",
        "study drugs",
        "study medication",
        "study medications",
        "medical history",
    }
)
_STOP = frozenset(
    {
        "a",
        "an",
        "and",
        "or",
        "of",
        "the",
        "to",
        "in",
        "on",
        "for",
        "with",
        "by",
        "at",
        "as",
        "is",
        "are",
        "be",
    }
    | {"has", "have", "had", "any", "other", "all", "no", "not"}
)


def _tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0).lower(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _phrase(text: str) -> str:
    return " ".join(token for token, _, _ in _tokens(text))


def _candidates(documents: Sequence[BratDocument]) -> dict[str, Counter[str]]:
    """Phrase -> how often each Chia type annotated exactly that phrase."""
    annotated: dict[str, Counter[str]] = defaultdict(Counter)
    for doc in documents:
        for entity in doc.entities:
            if entity.type not in KINDS or len(entity.fragments) != 1:
                continue
            phrase = _phrase(doc.text[entity.start : entity.end])
            words = phrase.split()
            if (
                len(phrase) < 3
                or len(words) > MAX_WORDS
                or not re.search(r"[a-z]", phrase)
                or all(w in _STOP or not w.isalnum() for w in words)
                or phrase in _GENERIC_HEADS
                or words[0] in _STOP
                or words[-1] in _STOP
            ):
                continue
            annotated[phrase][entity.type] += 1
    return annotated


def _occurrences(doc: BratDocument, phrases: set[str]) -> Iterator[tuple[str, int, int]]:
    tokens = _tokens(doc.text)
    for index in range(len(tokens)):
        for size in range(1, MAX_WORDS + 1):
            if index + size > len(tokens):
                break
            phrase = " ".join(t for t, _, _ in tokens[index : index + size])
            if phrase in phrases:
                yield phrase, tokens[index][1], tokens[index + size - 1][2]


def _read_otherwise(phrase: str, kind: str) -> bool:
    """Whether the curated vocabularies or the parser's rules already read (or deliberately skip) the
    phrase: "pregnancy" alone is left to the pregnancy rule, which knows "pregnancy test" is no condition.
    A phrase that is itself a curated term is kept: "copd" in lower case, which the cased abbreviation
    "COPD" does not match, links through the lexicon."""
    if link_exact(phrase, kind)[0] is not None:
        return False
    if any(
        not atom.rule_id.startswith(("lexicon.", "fallback."))
        for atom in parse_eligibility(f"Inclusion Criteria:\n- {phrase}\n").atoms()
    ):
        return True
    # Assays and genes belong to the biomarker rules: "PD-L1 >= 1% by IHC" asks for no IHC procedure.
    if phrase in _assays_and_genes():
        return True
    return bool(re.search(r"pregnan|breast[- ]?feed|lactat|nursing|child[- ]?bearing|contracep", phrase))


@lru_cache(maxsize=1)
def _assays_and_genes() -> frozenset[str]:
    names = [*load_json("alterations.json")["assays"], *genes()]
    return frozenset(_phrase(name) for name in names)


def harvest(documents: Sequence[BratDocument]) -> list[tuple[str, str, int, int, int]]:
    """(phrase, kind, times annotated, occurrences, occurrences inside an entity of that type)."""
    annotated = _candidates(documents)
    phrases = set(annotated)
    seen: Counter[str] = Counter()
    inside: Counter[tuple[str, str]] = Counter()
    for doc in documents:
        for phrase, start, end in _occurrences(doc, phrases):
            seen[phrase] += 1
            for entity_type in {
                e.type
                for e in doc.entities
                if e.type in KINDS and any(s < end and start < f_end for s, f_end in e.fragments)
            }:
                inside[(phrase, entity_type)] += 1
    rows = []
    for phrase, by_type in annotated.items():
        entity_type, count = by_type.most_common(1)[0]
        kind = KINDS[entity_type]
        hits = inside[(phrase, entity_type)]
        if count < MIN_ANNOTATED or hits < MIN_PRECISION * seen[phrase] or count < MIN_OWN * seen[phrase]:
            continue
        if _read_otherwise(phrase, kind):
            continue
        rows.append((phrase, kind, count, seen[phrase], hits))
    return sorted(rows, key=lambda row: (row[1], row[0]))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("zip_path", type=Path)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    training, _ = split(read_brat_zip(str(args.zip_path)))
    rows = harvest(training)
    with args.output.open("w", encoding="utf-8") as handle:
        handle.write("term\tkind\tannotated\tseen\tinside\n")
        for row in rows:
            handle.write("\t".join(str(value) for value in row) + "\n")
    sys.stdout.write(f"{len(rows)} phrases from {len(training)} training sections -> {args.output}\n")


if __name__ == "__main__":
    main()
