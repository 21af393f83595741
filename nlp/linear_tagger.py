"""A fast Chia-style entity tagger: an averaged structured perceptron over words, run inside the parser.

Why linear: the spaCy CNN tagger (`nlp.chia_tagger`) reads ~950 lines per CPU-second, seven times too slow to
run inside `parse_eligibility`. A linear model over cached per-word features costs a dictionary lookup per
token, a few numpy operations per text and one Viterbi step per token of the text's longest run of tokens
not proven outside any entity: about 18,000 Chia lines per CPU-second alone, which still takes the parser
from ~7,000 to ~4,000-4,400 on Chia's short sections (docs/benchmarks.md).

How it stays fast: a token's score for each tag is the sum, over the five words in its window, of that
word's contribution at that position. A word's contribution depends on the word alone, so it is computed
once per distinct word and cached; a text is scored by stacking cached rows and adding shifted copies, and
all its lines are decoded together by a Viterbi over BIO tags (an I- tag only continues its own entity).

Trained by `python -m nlp.train_chia_tagger` on Chia's training split only; the weights ship in
`nlp/data/chia_tagger/model.npz`.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

MODEL_PATH = Path(__file__).parent / "data" / "chia_tagger" / "model.npz"

ENTITY_TYPES: tuple[str, ...] = (
    "Condition",
    "Drug",
    "Procedure",
    "Measurement",
    "Value",
    "Temporal",
    "Negation",
    "Person",
)
TAGS: tuple[str, ...] = ("O", *(f"{p}-{t}" for t in ENTITY_TYPES for p in ("B", "I")))
WINDOW = 2  # words either side
# Line breaks as str.splitlines (which the training script uses) knows them.
_NEWLINE = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Chia puts entity boundaries between "18" and "years", "<" and "100", "x" and "ULN": words, numbers
# (with their decimals) and single symbols are tokens.
TOKEN = re.compile(r"[^\W\d_]+|\d+(?:[.,]\d+)*|\S")
# TOKEN for ASCII text, about a third faster: there a letter of `[^\W\d_]` is one of A-Z and a-z, and a `\d`
# one of 0-9 (tests/nlp/test_chia_linear_tagger.py compares the two).
_ASCII_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+(?:[.,][0-9]+)*|\S")
# Distinct words kept scored (85 float32 each, so at most ~17 MB); past that the cache starts afresh.
_CACHE_LIMIT = 50_000
# Texts tagged together are cut into chunks of about this many characters (about 15 of Chia's sections): the
# Viterbi's buffers are padded to a chunk's longest run, and past ~10,000 characters they outgrow the CPU's
# caches (tagging all Chia text: 2,000 to 10,000 characters alike, 50,000 a third slower).
_CHUNK_CHARACTERS = 8_000
# How far (in score) the O reading must beat every other for a token to be fixed as outside before decoding:
# any positive margin keeps decoding exact (`outside_bounds`); this one also absorbs float32 rounding.
SURE_MARGIN = 1.0
Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class TaggedSpan:
    type: str
    start: int
    end: int

    @classmethod
    def make(cls, type: str, start: int, end: int) -> TaggedSpan:
        """`TaggedSpan(type, start, end)` without the frozen dataclass's per-field `object.__setattr__`
        (as `Atom.make`; tests/nlp/test_model_make.py checks they build the same object)."""
        made = object.__new__(cls)
        made.__dict__.update({"type": type, "start": start, "end": end})
        return made


def tokens(text: str) -> list[tuple[int, int]]:
    """(start, end) of each token; the training script and `LinearTagger.tag` cut text the same way."""
    return [(m.start(), m.end()) for m in TOKEN.finditer(text)]


def _shape(word: str) -> str:
    shape = re.sub(r"[A-Z]+", "A", re.sub(r"[a-z]+", "a", re.sub(r"\d+", "0", word)))
    return shape[:4]


def word_features(word: str, gazetteer: dict[str, tuple[str, ...]]) -> dict[int, list[str]]:
    """The features a word contributes at each window position (0 is the token itself).

    Only the word itself is seen two positions away; its spelling, shape and gazetteer kinds reach one
    position either side, where they mark the start or end of a phrase.
    """
    lower = word.lower()
    near = [f"w={lower}", f"s3={lower[-3:]}", f"sh={_shape(word)}"]
    near += [f"g={kind}" for kind in gazetteer.get(lower, ())]
    own = [
        *near,
        "bias",
        f"p3={lower[:3]}",
        f"s2={lower[-2:]}",
        f"p5={lower[:5]}",
        f"cap={word[:1].isupper()}{word.isupper()}",
    ]
    far = [f"w={lower}"]
    return {0: own, -1: near, 1: near, -2: far, 2: far}


def feature_names(offset: int, features: Iterable[str]) -> Iterator[str]:
    return (f"{offset}:{f}" for f in features)


def constrain(transitions: Matrix) -> Matrix:
    """Transition scores with the moves BIO forbids (an I- tag after anything but its own type) blocked."""
    constrained = transitions.astype(np.float32)
    for b, tag in enumerate(TAGS):
        if tag.startswith("I-"):
            for a, previous in enumerate(TAGS):
                if previous[2:] != tag[2:]:
                    constrained[a, b] = _BLOCKED
    return constrained


_BLOCKED = np.float32(-1e9)
_START = np.array([_BLOCKED if t.startswith("I-") else 0.0 for t in TAGS], dtype=np.float32)


def viterbi(
    emissions: Matrix,
    transitions: Matrix,
    lengths: Sequence[int],
    starts: Matrix | None = None,
    ends: Matrix | None = None,
) -> list[list[int]]:
    """Best tag sequence of each row under `transitions` (see `constrain`), all rows stepped together.

    `emissions` is (rows, longest row, tags), zero-padded past each row's end; `starts` and `ends` (rows,
    tags) score a row's first and last tag (by default: a line, which cannot start inside an entity).
    """
    lines, longest, count = emissions.shape
    if longest == 0:
        return [[] for _ in lengths]
    # Rows longest first, so the rows still running at a step are a prefix and finished ones cost nothing.
    # Array methods and ufunc reductions rather than their np.* wrappers, which cost a microsecond or two
    # per call in Python on arrays this small (here and in `_tag_chunk`, `_decode`, `_surely_outside`).
    order = (-np.asarray(lengths, dtype=np.intp)).argsort(kind="stable")
    sorted_lengths = np.asarray(lengths, dtype=np.intp)[order]
    running = (lines - np.bincount(sorted_lengths, minlength=longest).cumsum()[:longest]).tolist()
    # score[i, row, tag]: the best path of `row` ending in `tag` at step i, kept for every step so that
    # each row's final score is read once at the end.
    score = np.empty((longest, lines, count), dtype=np.float32)
    score[:] = emissions[order].transpose(1, 0, 2)
    score[0] += _START if starts is None else starts[order]
    previous = score[:, :, None, :]
    # back[i, row, tag]: the best previous tag of `row` at step i when it ends in `tag` there.
    back = np.empty((longest, lines, count), dtype=np.intp)
    candidates = np.empty((lines, count, count), dtype=np.float32)  # [row, tag, previous tag]
    flat = candidates.reshape(-1)
    offsets = np.arange(0, lines * count * count, count).reshape(lines, count)
    incoming = np.ascontiguousarray(transitions.T)
    # A few rows per step: numpy's per-call overhead is the cost, hence in-place buffers and argmax plus
    # a gather instead of max (whose reduction over a small axis is slower than both).
    for i in range(1, longest):
        active = running[i]
        step = candidates[:active]
        np.add(previous[i - 1, :active], incoming, out=step)
        best = back[i, :active]
        step.argmax(axis=2, out=best)
        score[i, :active] += flat.take(best + offsets[:active])
    final = score[np.maximum(sorted_lengths - 1, 0), np.arange(lines)]
    if ends is not None:
        final += ends[order]
    paths: list[list[int]] = [[] for _ in lengths]
    pointer = back.item  # a Python int straight from the array, without a numpy scalar
    for row, (line, tag) in enumerate(zip(order.tolist(), final.argmax(axis=1).tolist(), strict=True)):
        if not lengths[line]:
            continue
        path = [tag]
        for i in range(lengths[line] - 1, 0, -1):
            tag = pointer(i, row, tag)
            path.append(tag)
        paths[line] = path[::-1]
    return paths


_TYPE_OF = [t[2:] for t in TAGS]
_CONTINUES = [t.startswith("I-") for t in TAGS]
_B_OF = {t[2:]: k for k, t in enumerate(TAGS) if t.startswith("B-")}
_I_OF = {t[2:]: k for k, t in enumerate(TAGS) if t.startswith("I-")}
# After O, each type's B- and I- tags side by side (`_surely_outside` reads them as columns 1::2 and 2::2).
assert TAGS[1:] == tuple(f"{p}-{t}" for t in ENTITY_TYPES for p in ("B", "I"))


def outside_bounds(transitions: Matrix) -> tuple[Matrix, Matrix, Matrix]:
    """(before, after, inside) per tag t: lower bounds on what relabelling a token t -> O gains beside it.

    Take any path with tag t at token i, and relabel i as O; if the next token continues t's entity (I-X),
    relabel it B-X too. The new path is valid (O and B-X may follow anything, and whatever may follow I-X
    may follow B-X), and its score changes by

        emitted[i, O] - emitted[i, t]                         at token i itself,
        + transitions[p, O] - transitions[p, t]               >= before[t], whatever the previous tag p,
        + transitions[O, n] - transitions[t, n]               >= after[t], for a next tag n that O allows,
          or, when n is I-X, inside[t] + emitted[i + 1, B-X] - emitted[i + 1, I-X].

    So when that sum is positive for every t, every best path has O at token i: fixing such tokens first
    and decoding only the runs between them gives the same tags as decoding whole lines (`_decode`).
    A line's start and end (scored 0 for O and B- tags) are among the neighbours bounded, hence the 0s.
    """
    allowed = transitions > _BLOCKED / 2
    count = len(TAGS)
    before = np.zeros(count, dtype=np.float32)
    after = np.zeros(count, dtype=np.float32)
    inside = np.full(count, np.inf, dtype=np.float32)
    for t in range(1, count):
        before[t] = min(
            0.0, min(transitions[p, 0] - transitions[p, t] for p in range(count) if allowed[p, t])
        )
        after[t] = min(
            0.0,
            min(
                transitions[0, n] - transitions[t, n] for n in range(count) if allowed[t, n] and allowed[0, n]
            ),
        )
        b, i = _B_OF[_TYPE_OF[t]], _I_OF[_TYPE_OF[t]]
        # Only I-X may follow t and not O; after the relabelled B-X comes whatever came after I-X.
        beyond = min(0.0, min(transitions[b, n] - transitions[i, n] for n in range(count) if allowed[i, n]))
        inside[t] = transitions[0, b] - transitions[t, i] + beyond
    return before, after, inside


def spans_from_tags(token_spans: Sequence[tuple[int, int]], tags: Sequence[int]) -> list[TaggedSpan]:
    """Entity spans of BIO tags; an I- tag that does not continue an entity of its type starts one."""
    found: list[list[int]] = []  # [tag, start, end]
    previous = -2
    for i, tag in enumerate(tags):
        if not tag:
            continue
        if _CONTINUES[tag] and previous == i - 1 and _TYPE_OF[found[-1][0]] == _TYPE_OF[tag]:
            found[-1][2] = token_spans[i][1]
        else:
            found.append([tag, *token_spans[i]])
        previous = i
    make = TaggedSpan.make
    return [make(_TYPE_OF[tag], start, end) for tag, start, end in found]


class LinearTagger:
    """Scores every token of a text from cached per-word rows, then decodes all its lines at once."""

    def __init__(
        self,
        features: Sequence[str],
        weights: Matrix,
        transitions: Matrix,
        gazetteer: dict[str, tuple[str, ...]],
    ) -> None:
        self.index = {name: i for i, name in enumerate(features)}
        self.weights = weights.astype(np.float32)
        self.transitions = constrain(transitions)
        self._before, self._after, self._inside = (b[1:] for b in outside_bounds(self.transitions))
        self.gazetteer = gazetteer
        # Row 0 is the padding between lines, which adds nothing.
        self._row_of: dict[str, int] = {}
        self._rows = np.zeros((1024, 2 * WINDOW + 1, len(TAGS)), dtype=np.float32)

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> LinearTagger:
        with np.load(path, allow_pickle=False) as data:
            gazetteer = {
                str(word): tuple(str(kinds).split("|"))
                for word, kinds in zip(data["gazetteer_words"], data["gazetteer_kinds"], strict=True)
            }
            return cls([str(f) for f in data["features"]], data["weights"], data["transitions"], gazetteer)

    def word_rows(self, word: str) -> Matrix:
        """(window positions, tags): row WINDOW + k is what `word` adds to the token k places before it."""
        rows = np.zeros((2 * WINDOW + 1, len(TAGS)), dtype=np.float32)
        for offset, features in word_features(word, self.gazetteer).items():
            ids = [self.index[n] for n in feature_names(offset, features) if n in self.index]
            if ids:
                rows[WINDOW + offset] = self.weights[ids].sum(axis=0)
        return rows

    def _row(self, word: str) -> int:
        row = self._row_of.get(word)
        if row is None:
            row = len(self._row_of) + 1
            if row >= len(self._rows):
                grown = np.zeros((2 * len(self._rows), *self._rows.shape[1:]), dtype=np.float32)
                grown[: len(self._rows)] = self._rows
                self._rows = grown
            self._rows[row] = self.word_rows(word)
            self._row_of[word] = row
        return row

    def tag(self, text: str) -> list[TaggedSpan]:
        """Entity spans of a whole text, each within one line, in the text's offsets."""
        ahead = _TAGGED_AHEAD.get()
        tagged = ahead.get(text) if ahead is not None else None
        return list(tagged) if tagged is not None else self.tag_many([text])[0]

    @contextmanager
    def tagging_ahead(self, texts: Sequence[str]) -> Iterator[None]:
        """Tag `texts` together now; inside the block, `tag` answers them from that batch.

        For callers that reach the tagger one text at a time (the parser's `add_mentions`) inside a batch.
        """
        token = _TAGGED_AHEAD.set(dict(zip(texts, self.tag_many(texts), strict=True)))
        try:
            yield
        finally:
            _TAGGED_AHEAD.reset(token)

    def tag_many(self, texts: Sequence[str]) -> list[list[TaggedSpan]]:
        """`tag` of each text, the texts scored and decoded together a chunk at a time.

        A Viterbi step costs about as much for many rows as for one, so decoding many short texts together
        takes the steps of the longest run in a chunk instead of those of every text's longest run.
        """
        tagged: list[list[TaggedSpan]] = []
        chunk: list[str] = []
        size = 0
        for text in texts:
            chunk.append(text)
            size += len(text)
            if size >= _CHUNK_CHARACTERS:
                tagged += self._tag_chunk(chunk)
                chunk, size = [], 0
        if chunk:
            tagged += self._tag_chunk(chunk)
        return tagged

    def _tag_chunk(self, texts: Sequence[str]) -> list[list[TaggedSpan]]:
        # One string, each text on lines of its own: no token or feature reaches across a line break, and
        # each line is decoded from its own start, so every text is tagged as it would be alone.
        joined = "\n".join(texts)
        found = list((_ASCII_TOKEN if joined.isascii() else TOKEN).finditer(joined))
        if not found:
            return [[] for _ in texts]
        token_spans = [m.span() for m in found]
        row_of = self._row_of
        # The cache is emptied only between chunks: emptied in the middle of one, the rows already read
        # would be handed to other words. A single chunk longer than the limit may overrun it.
        if len(row_of) + len(found) >= _CACHE_LIMIT:
            row_of.clear()
        # Rows are numbered from 1, so a missing word (None) falls through to `_row`.
        words = [m.group() for m in found]
        rows = list(map(row_of.get, words))
        if None in rows:
            rows = [row or self._row(word) for row, word in zip(rows, words, strict=True)]
        starts = np.array([start for start, _ in token_spans], dtype=np.intp)
        newlines = np.array([m.start() for m in _NEWLINE.finditer(joined)], dtype=np.intp)
        line_of = newlines.searchsorted(starts)
        # Renumber the lines that have tokens 0, 1, 2...; each is followed by WINDOW padding tokens.
        new_line = np.empty(len(found), dtype=bool)
        new_line[0] = True
        new_line[1:] = line_of[1:] != line_of[:-1]
        padded_at = np.arange(len(found)) + WINDOW * new_line.cumsum()
        padded = np.zeros(padded_at[-1] + WINDOW + 1, dtype=np.intp)
        padded[padded_at] = rows
        stacked = self._rows[padded]  # (padded tokens, window positions, tags)
        n = len(padded) - 2 * WINDOW
        total = stacked[0:n, 0].copy()
        for position in range(1, 2 * WINDOW + 1):
            # Row `position` of a word is what it adds to the token `position - WINDOW` places before it.
            total += stacked[position : position + n, position]
        emitted = total[padded_at - WINDOW]
        tags = self._decode(emitted, new_line)
        tagged: list[list[TaggedSpan]] = []
        offset = first = 0
        for text in texts:
            end = offset + len(text)
            last = bisect_left(token_spans, (end, end), first)
            spans = spans_from_tags(token_spans[first:last], tags[first:last])
            if offset:
                spans = [TaggedSpan.make(s.type, s.start - offset, s.end - offset) for s in spans]
            tagged.append(spans)
            offset, first = end + 1, last
        return tagged

    def _decode(self, emitted: Matrix, new_line: npt.NDArray[np.bool_]) -> list[int]:
        """Tags of all tokens (`new_line` marks each line's first token).

        Viterbi steps cost about as much for one line as for many, so its cost follows the longest line.
        Tokens that every best path leaves outside any entity (`outside_bounds`) are fixed first, and only
        the runs between them are decoded, each scored as the O beside it would be.
        """
        count = len(emitted)
        sure = self._surely_outside(emitted, new_line)
        tags = np.zeros(count, dtype=np.intp)
        not_sure = ~sure
        unsure = not_sure.nonzero()[0]
        if not len(unsure):
            return tags.tolist()
        continues = np.zeros(count, dtype=bool)
        np.greater(not_sure[:-1], new_line[1:], out=continues[1:])  # unsure after unsure, same line
        opens = not_sure > continues
        run = opens.cumsum()[unsure] - 1
        first = opens.nonzero()[0]
        lengths = np.bincount(run)
        after_o = (first > 0) & ~new_line[first] & sure[np.maximum(first - 1, 0)]
        past = first + lengths
        following = np.minimum(past, count - 1)
        before_o = (past < count) & ~new_line[following] & sure[following]
        # Both float32 already: where() keeps the arrays' type (0.0 is a Python float, so it does not widen).
        starts = np.where(after_o[:, None], self.transitions[0][None], _START[None])
        ends = np.where(before_o[:, None], self.transitions[:, 0][None], 0.0)
        emissions = np.zeros((len(first), int(lengths.max()), len(TAGS)), dtype=np.float32)
        emissions[run, unsure - first[run]] = emitted[unsure]
        paths = viterbi(emissions, self.transitions, lengths.tolist(), starts, ends)
        tags[unsure] = [t for path in paths for t in path]
        return tags.tolist()

    def _surely_outside(self, emitted: Matrix, new_line: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Tokens whose O reading beats every other by SURE_MARGIN in any path (`outside_bounds`)."""
        count = len(emitted)
        # What relabelling the next token I-X as B-X gains, for both tags of type X (relabel[token, X, 0 or
        # 1], as the tags lie after O); nothing to relabel at a line's last token.
        relabel = np.empty((count, len(ENTITY_TYPES), 2), dtype=np.float32)
        np.subtract(emitted[1:, 1::2, None], emitted[1:, 2::2, None], out=relabel[:-1])
        relabel[-1] = np.inf
        relabel[:-1][new_line[1:]] = np.inf
        gain = emitted[:, :1] - emitted[:, 1:] + self._before
        gain += np.minimum(self._after, self._inside + relabel.reshape(count, len(TAGS) - 1))
        # Every gain above the margin: the same as their minimum above it (a NaN fails both), and a
        # reduction of booleans over a short axis is much faster than of floats.
        return np.logical_and.reduce(gain > SURE_MARGIN, axis=1)


# What `LinearTagger.tagging_ahead` tagged, by text; a context variable, so threads never see each other's.
_TAGGED_AHEAD: ContextVar[dict[str, list[TaggedSpan]] | None] = ContextVar("tagged_ahead", default=None)


@lru_cache(maxsize=1)
def load() -> LinearTagger:
    return LinearTagger.load()
