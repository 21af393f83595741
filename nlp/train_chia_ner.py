"""Train the Chia entity tagger on the training split only.

    .venv/bin/python -m nlp.train_chia_ner ../shared/data/chia_dev.zip

Held-out trials (see `nlp.evaluation.is_held_out`) are never read here, so the benchmark stays honest.
"""

from __future__ import annotations

import argparse
import logging
import random
import time
from collections.abc import Sequence
from pathlib import Path

from spacy.language import Language
from spacy.training import Example
from spacy.util import fix_random_seed, minibatch

from nlp.chia_tagger import MODEL_DIR, blank_pipeline, lines_with_offsets
from nlp.evaluation import SCORED_TYPES, BratDocument, is_dev, read_brat_zip, split

log = logging.getLogger(__name__)
META = {
    "name": "chia_ner",
    "description": "Chia entity tagger, trained on chia_dev.zip trials with crc32(NCT id) % 5 != 0",
    "license": "CC-BY-4.0",
    "sources": [
        {
            "name": "Chia (Kury et al. 2020, Sci Data 7:281)",
            "url": "https://doi.org/10.6084/m9.figshare.11855817",
            "license": "CC BY 4.0",
        }
    ],
}


def _examples(nlp: Language, documents: Sequence[BratDocument]) -> tuple[list[Example], int]:
    examples: list[Example] = []
    misaligned = 0
    for document in documents:
        contiguous = [e for e in document.entities if e.type in SCORED_TYPES and len(e.fragments) == 1]
        for offset, line in lines_with_offsets(document.text):
            if not line.strip():
                continue
            doc = nlp.make_doc(line)
            inside = [e for e in contiguous if offset <= e.start and e.end <= offset + len(line)]
            # Chia nests entities; NER needs a flat layer, so the longest span wins.
            inside.sort(key=lambda e: (-(e.end - e.start), e.start))
            taken: list[tuple[int, int]] = []
            spans = []
            for e in inside:
                s, t = e.start - offset, e.end - offset
                if any(s < b and a < t for a, b in taken):
                    continue
                span = doc.char_span(s, t, label=e.type)
                if span is None:
                    misaligned += 1
                    continue
                taken.append((s, t))
                spans.append(span)
            doc.ents = spans
            examples.append(Example(nlp.make_doc(line), doc))
    return examples, misaligned


def train(
    zip_path: str,
    out_dir: Path,
    epochs: int,
    without_dev: bool = False,
    width: int = 96,
    embed_size: int = 3000,
    dropout: float = 0.2,
    seed: int = 0,
) -> None:
    random.seed(seed)
    fix_random_seed(seed)
    train_docs, _ = split(read_brat_zip(zip_path))
    if without_dev:
        train_docs = [d for d in train_docs if not is_dev(d.trial_id)]
    nlp = blank_pipeline()
    nlp.add_pipe(
        "ner",
        config={
            "model": {
                "@architectures": "spacy.TransitionBasedParser.v2",
                "state_type": "ner",
                "extra_state_tokens": False,
                "hidden_width": 64,
                "maxout_pieces": 2,
                "use_upper": True,
                "tok2vec": {
                    "@architectures": "spacy.HashEmbedCNN.v2",
                    "pretrained_vectors": None,
                    "width": width,
                    "depth": 4,
                    "embed_size": embed_size,
                    "window_size": 1,
                    "maxout_pieces": 3,
                    "subword_features": True,
                },
            }
        },
    )
    examples, misaligned = _examples(nlp, train_docs)
    log.info(
        "%d training sections, %d lines, %d spans off token bounds",
        len(train_docs),
        len(examples),
        misaligned,
    )
    optimizer = nlp.initialize(lambda: examples, sgd=None)
    out_dir.mkdir(parents=True, exist_ok=True)
    for epoch in range(epochs):
        started = time.perf_counter()
        random.shuffle(examples)
        losses: dict[str, float] = {}
        for batch in minibatch(examples, size=32):
            nlp.update(batch, sgd=optimizer, drop=dropout, losses=losses)
        log.info("epoch %d: loss %.0f (%.0fs)", epoch + 1, losses["ner"], time.perf_counter() - started)
        if without_dev and (epoch + 1) % 5 == 0:
            nlp.to_disk(out_dir / f"epoch{epoch + 1}")
    nlp.meta.update(META)
    nlp.to_disk(out_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("zip_path")
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument(
        "--without-dev",
        action="store_true",
        help="leave the dev trials out (and save every 5 epochs) to choose settings on them",
    )
    parser.add_argument("--width", type=int, default=96, help="token vector width")
    parser.add_argument("--embed-size", type=int, default=3000, help="hash embedding rows per attribute")
    parser.add_argument("--dropout", type=float, default=0.2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    train(args.zip_path, args.out, args.epochs, args.without_dev, args.width, args.embed_size, args.dropout)


if __name__ == "__main__":
    main()
