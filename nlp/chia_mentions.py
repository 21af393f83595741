"""The Chia tagger's entities as `Criterion.mentions`: typed spans a curator sees beside the coded atoms.

They never become matching questions (mentions stay out of the criteria trees). All of them are kept, also
where an atom reads the same words: the atom is what matching asks about, the mention is the tagger's
reading of the words' extent and type, which follows Chia's conventions more closely than the atoms' spans
(docs/benchmarks.md, "Criteria parsing (Chia)"). The curator's page marks the atom where both start together.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence

from nlp import linear_tagger
from nlp.model import Atom, AtomKind, Criterion

RULE_PREFIX = "tagger."
_KIND: dict[str, AtomKind] = {
    "Condition": "condition",
    "Drug": "therapy",
    "Procedure": "procedure",
    "Person": "demographic",
}
# Chia links most negation cues to an entity a few words later, within the clause.
_NEGATION_REACH = 40
_CLAUSE_BREAK = re.compile(r"[;:.]")
_CONFIDENCE = 0.5

# Chia's annotation conventions at entity edges, each counted on the training split's gold entities
# (docs/benchmarks.md, "The product's parser"), where the tagger's token-by-token reading misses them:
# a bracket opened inside an entity closes inside it, a bracket the entity never opened is not its own.
_CLOSING = {"(": ")", "[": "]"}
_BRACKET = re.compile(r"[][()]")
# "except for" is one cue (10 gold spans against 3 "except" followed by "for").
_EXCEPT_FOR = re.compile(r"\s+for\b", re.I)
# An age ends at its unit: "18 years" of "18 years of age or older" (68 gold Values against 4; after
# "years old" Chia is split, 31 against 27, so "old" is left as the tagger reads it).
_AGE_TAIL = re.compile(r"\b(?:years?|yrs?)(\s+of\s+age)$", re.I)


def _negated(text: str, span: linear_tagger.TaggedSpan, cues: Sequence[linear_tagger.TaggedSpan]) -> bool:
    return any(
        cue.end <= span.start
        and span.start - cue.end <= _NEGATION_REACH
        and not _CLAUSE_BREAK.search(text, cue.end, span.start)
        for cue in cues
    )


def _bracket_edges(text: str, start: int, end: int) -> tuple[int, int]:
    for opening, closing in _CLOSING.items():
        piece = text[start:end]
        unclosed = piece.count(opening) - piece.count(closing)
        if unclosed > 0 and text.startswith(closing, end):
            end += 1
        elif unclosed < 0 and piece.endswith(closing):
            end -= 1
        elif unclosed > 0 and piece.startswith(opening):
            start += 1
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _conventional(text: str, span: linear_tagger.TaggedSpan) -> linear_tagger.TaggedSpan:
    start, end = span.start, span.end
    # Most spans hold no bracket and none follows them: one scan instead of counting each kind.
    if _BRACKET.search(text, start, end + 1) is not None:
        start, end = _bracket_edges(text, start, end)
    if span.type == "Negation" and text[start:end].lower() == "except":
        match = _EXCEPT_FOR.match(text, end)
        end = match.end() if match else end
    elif span.type == "Value":
        match = _AGE_TAIL.search(text, start, end)
        end = match.start(1) if match else end
    if (start, end) == (span.start, span.end) or end <= start:
        return span
    return linear_tagger.TaggedSpan.make(span.type, start, end)


def chia_boundaries(text: str, spans: Sequence[linear_tagger.TaggedSpan]) -> list[linear_tagger.TaggedSpan]:
    """The tagger's `spans` with their edges moved to Chia's conventions; order and count unchanged."""
    return [_conventional(text, s) for s in spans]


def add_mentions(text: str, criteria: list[Criterion]) -> list[Criterion]:
    """`criteria` with the tagger's entities inside each criterion's span added to its mentions."""
    if not any(c.span[1] > c.span[0] for c in criteria):
        return criteria
    tagged = chia_boundaries(text, linear_tagger.load().tag(text))  # in text order
    starts = [s.start for s in tagged]
    cues = [s for s in tagged if s.type == "Negation"]
    result: list[Criterion] = []
    for criterion in criteria:
        start, end = criterion.span
        first = bisect_left(starts, start)
        inside = [s for s in tagged[first : bisect_left(starts, end, first)] if s.end <= end]
        if not inside:
            result.append(criterion)
            continue
        mentions = [
            Atom.make(
                _KIND.get(s.type, "other"),
                text[s.start : s.end],
                (s.start, s.end),
                RULE_PREFIX + s.type,
                _CONFIDENCE,
                checkable=False,
                assertion="negated" if s.type != "Negation" and _negated(text, s, cues) else "present",
            )
            for s in inside
        ]
        # Built directly: dataclasses.replace reads every field's definition on each call.
        result.append(
            Criterion.make(
                criterion.section,
                criterion.text,
                criterion.span,
                criterion.tree,
                criterion.cohort,
                (*criterion.mentions, *mentions),
            )
        )
    return result
