"""Train the parser's Chia entity tagger (`nlp.linear_tagger`) on the training split only.

    .venv/bin/python -m nlp.train_chia_tagger ../shared/data/chia_dev.zip            # ships the model
    .venv/bin/python -m nlp.train_chia_tagger ../shared/data/chia_dev.zip --dev  # dev-slice scores only

Held-out trials (`nlp.evaluation.is_held_out`) are never read. With `--dev` the dev slice of the training
trials (`is_dev`) is left out of training and scored after every epoch; settings were chosen that way.
"""

from __future__ import annotations

import argparse
import csv
import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt

from nlp import linear_tagger as lt
from nlp.evaluation import BratDocument, PredictedEntity, Prediction, is_dev, read_brat_zip, score, split

log = logging.getLogger(__name__)
DATA = Path(__file__).parent / "data"
Line = tuple[list[str], list[int]]  # words, gold tag indices


def gazetteer() -> dict[str, tuple[str, ...]]:
    """Word -> kinds of the phrases it begins, continues or ends, from our vocabularies and the lexicon."""
    phrases: list[tuple[str, str]] = []
    with open(DATA / "chia_lexicon.tsv", encoding="utf-8") as handle:
        phrases += [(row["term"], row["kind"]) for row in csv.DictReader(handle, delimiter="\t")]
    sources = {
        "diagnoses.tsv": ("condition", ("label", "synonyms")),
        "drugs.tsv": ("drug", ("drug", "synonyms")),
        "drug_classes.tsv": ("drug", ("label", "synonyms")),
        "procedures.tsv": ("procedure", ("label", "synonyms")),
        "labs.tsv": ("measurement", ("label", "synonyms")),
    }
    for name, (kind, columns) in sources.items():
        with open(DATA / name, encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                for column in columns:
                    phrases += [(term, kind) for term in (row.get(column) or "").split("|") if term]
    kinds: dict[str, set[str]] = {}
    for phrase, kind in phrases:
        spans = lt.tokens(phrase)
        for i, (start, end) in enumerate(spans):
            word = kinds.setdefault(phrase[start:end].lower(), set())
            word.add(f"{kind}.{'B' if i == 0 else 'I'}")
            # Where a phrase ends, for the right edge strict scoring asks for: "failure" of "heart failure".
            if 0 < i == len(spans) - 1:
                word.add(f"{kind}.E")
    return {word: tuple(sorted(k)) for word, k in kinds.items()}


def _lines(documents: Sequence[BratDocument]) -> list[Line]:
    """Each non-empty line's words and gold BIO tags.

    Chia nests entities; a flat layer keeps the contiguous ones first, longest first, because a run of tags
    can only ever match a contiguous entity exactly. A discontinuous entity ("basal cell ... skin cancer" in
    "basal cell or squamous cell skin cancer", beside the contiguous "squamous cell skin cancer") then adds
    each of its fragments whose words are still free, so its words are not read as outside any entity.
    """
    lines: list[Line] = []
    for document in documents:
        entities = sorted(
            (e for e in document.entities if e.type in lt.ENTITY_TYPES),
            key=lambda e: (len(e.fragments) > 1, -(e.end - e.start), e.start),
        )
        pieces = [(e.type, fragment) for e in entities for fragment in e.fragments]
        offset = 0
        for raw in document.text.splitlines(keepends=True):
            line = raw.rstrip("\r\n")
            spans = lt.tokens(line)
            if spans:
                tags = [0] * len(spans)
                for entity_type, (a, b) in pieces:
                    inside = [i for i, (s, e) in enumerate(spans) if a <= offset + s and offset + e <= b]
                    if not inside or any(tags[i] for i in inside):
                        continue
                    for n, i in enumerate(inside):
                        tags[i] = lt.TAGS.index(f"{'B' if n == 0 else 'I'}-{entity_type}")
                lines.append(([line[s:e] for s, e in spans], tags))
            offset += len(raw)
    return lines


def _token_features(words: Sequence[str], gaz: dict[str, tuple[str, ...]]) -> list[list[str]]:
    padded = [None] * lt.WINDOW + list(words) + [None] * lt.WINDOW
    by_word = [lt.word_features(w, gaz) if w is not None else None for w in padded]
    features: list[list[str]] = []
    for t in range(len(words)):
        names: list[str] = []
        for offset in range(-lt.WINDOW, lt.WINDOW + 1):
            own = by_word[t + lt.WINDOW + offset]
            if own is not None:
                names.extend(lt.feature_names(offset, own[offset]))
        features.append(names)
    return features


class _Trainer:
    """Averaged structured perceptron: weights are averaged over every update step (Collins 2002)."""

    def __init__(self, n_features: int) -> None:
        shape = (n_features, len(lt.TAGS))
        self.weights = np.zeros(shape, dtype=np.float32)
        self.totals = np.zeros(shape, dtype=np.float32)
        self.transitions = np.zeros((len(lt.TAGS), len(lt.TAGS)), dtype=np.float32)
        self.transition_totals = np.zeros_like(self.transitions)
        self.step = 1

    def learn(self, ids: list[npt.NDArray[np.intp]], gold: list[int]) -> None:
        flat = np.concatenate(ids)
        bounds = np.cumsum([0] + [len(i) for i in ids[:-1]])
        emissions = np.add.reduceat(self.weights[flat], bounds, axis=0)
        predicted = lt.viterbi(emissions[None], lt.constrain(self.transitions), [len(gold)])[0]
        if predicted != gold:
            for token, (g, p) in enumerate(zip(gold, predicted, strict=True)):
                if g != p:
                    for tag, sign in ((g, 1.0), (p, -1.0)):
                        self.weights[ids[token], tag] += sign
                        self.totals[ids[token], tag] += sign * self.step
            for path, sign in ((gold, 1.0), (predicted, -1.0)):
                for a, b in pairwise(path):
                    self.transitions[a, b] += sign
                    self.transition_totals[a, b] += sign * self.step
        self.step += 1

    def averaged(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        step = np.float32(self.step)
        return (
            self.weights - self.totals / step,
            self.transitions - self.transition_totals / step,
        )


def _prediction(tagger: lt.LinearTagger, text: str) -> Prediction:
    return Prediction([PredictedEntity(s.type, s.start, s.end) for s in tagger.tag(text)])


def train(zip_path: str, out: Path | None, epochs: int, min_count: int, dev: bool, seed: int = 0) -> None:
    random.seed(seed)
    documents, _ = split(read_brat_zip(zip_path))
    dev_docs = [d for d in documents if is_dev(d.trial_id)] if dev else []
    train_docs = [d for d in documents if not (dev and is_dev(d.trial_id))]
    gaz = gazetteer()
    lines = _lines(train_docs)
    per_token = [(_token_features(words, gaz), tags) for words, tags in lines]
    counts = Counter(name for features, _ in per_token for token in features for name in set(token))
    names = sorted(name for name, count in counts.items() if count >= min_count)
    index = {name: i for i, name in enumerate(names)}
    data = [
        ([np.array([index[n] for n in token if n in index], dtype=np.intp) for token in features], tags)
        for features, tags in per_token
    ]
    log.info("%d sections, %d lines, %d features", len(train_docs), len(data), len(names))
    trainer = _Trainer(len(names))
    for epoch in range(epochs):
        started = time.perf_counter()
        random.shuffle(data)
        for ids, tags in data:
            trainer.learn(ids, tags)
        log.info("epoch %d (%.0fs)", epoch + 1, time.perf_counter() - started)
        if dev_docs:
            weights, transitions = trainer.averaged()
            tagger = lt.LinearTagger(names, weights, transitions, gaz)
            report = score(dev_docs, {d.name: _prediction(tagger, d.text) for d in dev_docs})
            log.info(
                "  dev slice: strict %.3f, relaxed %.3f (P %.3f, R %.3f)",
                report.strict_micro.f1,
                report.relaxed_micro.f1,
                report.relaxed_micro.precision,
                report.relaxed_micro.recall,
            )
    if out is None:
        return
    weights, transitions = trainer.averaged()
    # Features whose averaged weights are all (near) zero add nothing at run time.
    keep = np.abs(weights).max(axis=1) >= 1e-3
    out.parent.mkdir(parents=True, exist_ok=True)
    words = sorted(gaz)
    np.savez_compressed(
        out,
        features=np.array([n for n, k in zip(names, keep, strict=True) if k]),
        weights=weights[keep].astype(np.float16),
        transitions=transitions.astype(np.float32),
        gazetteer_words=np.array(words),
        gazetteer_kinds=np.array(["|".join(gaz[w]) for w in words]),
    )
    log.info("wrote %s (%d features, %.1f MB)", out, int(keep.sum()), out.stat().st_size / 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("zip_path")
    parser.add_argument(
        "--out", type=Path, help=f"where to write the model (default {lt.MODEL_PATH}; none with --dev)"
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--min-count", type=int, default=2, help="keep features seen in this many tokens")
    parser.add_argument("--dev", action="store_true", help="leave the dev slice out and score it each epoch")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # A model trained without the dev slice must never replace the shipped one by accident.
    out = args.out if args.out is not None or args.dev else lt.MODEL_PATH
    train(args.zip_path, out, args.epochs, args.min_count, args.dev)


if __name__ == "__main__":
    main()
