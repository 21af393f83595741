"""ConText-style assertion for eligibility text, as a spaCy component with its rules in a data file.

Cues (data/context_rules.json) open a scope forwards or backwards that ends at a terminator, a clause break
(';', '.', ':' or a line end) or another cue of a different category. Each target span in
`doc.spans[targets_key]` gets `span._.assertion`: negated, exception, hypothetical, historical or present;
when cues of several categories cover a span the most decisive wins in that order ("no history of X" is
negated).
Cue spans are kept in `doc.spans["context_cues"]` for callers that need their positions (exception splitting).
"""

import re
from dataclasses import dataclass
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from nlp.terminology import load_json

PRIORITY = ("negated", "exception", "hypothetical", "historical")
CUES_KEY = "context_cues"
_CLAUSE_BREAK = re.compile(r"[;.:\n]|\s-\s|\(|\)")

if not Span.has_extension("assertion"):
    Span.set_extension("assertion", default="present")


@dataclass(frozen=True)
class Cue:
    start: int
    end: int
    category: str
    direction: str


def _compile(rules: dict[str, Any]) -> tuple[re.Pattern[str], dict[str, tuple[str, str]], re.Pattern[str]]:
    table = {cue["literal"].lower(): (cue["category"], cue["direction"]) for cue in rules["cues"]}
    # Longest first so "no history of" beats "no" and "history of".
    alternatives = "|".join(re.escape(literal) for literal in sorted(table, key=len, reverse=True))
    cues = re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)
    terminators = "|".join(re.escape(t) for t in sorted(rules["terminators"], key=len, reverse=True))
    return cues, table, re.compile(rf"(?<!\w)(?:{terminators})(?!\w)", re.IGNORECASE)


class EligibilityContext:
    """Assigns `span._.assertion` to every span under `doc.spans[targets_key]`."""

    def __init__(self, rules: dict[str, Any], targets_key: str) -> None:
        self.cue_pattern, self.cue_table, self.terminator_pattern = _compile(rules)
        self.targets_key = targets_key

    def find_cues(self, text: str) -> list[Cue]:
        return [
            Cue(m.start(), m.end(), *self.cue_table[m.group(0).lower()])
            for m in self.cue_pattern.finditer(text)
        ]

    def _scope(self, text: str, cue: Cue, cues: list[Cue]) -> tuple[int, int]:
        if cue.direction == "backward":
            breaks = [m.end() for m in _CLAUSE_BREAK.finditer(text, 0, cue.start)]
            return (breaks[-1] if breaks else 0), cue.start
        end = len(text)
        for pattern in (_CLAUSE_BREAK, self.terminator_pattern):
            found = pattern.search(text, cue.end)
            if found and found.start() < end and found.start() != cue.start:
                end = found.start()
        for other in cues:
            if other.start >= cue.end and other.category != cue.category and other.category == "exception":
                end = min(end, other.start)
        return cue.end, end

    def __call__(self, doc: Doc) -> Doc:
        text = doc.text
        cues = self.find_cues(text)
        scopes = [(cue, *self._scope(text, cue, cues)) for cue in cues]
        cue_spans = []
        for cue in cues:
            span = doc.char_span(cue.start, cue.end, label=cue.category, alignment_mode="expand")
            if span is not None:
                cue_spans.append(span)
        doc.spans[CUES_KEY] = cue_spans
        for target in doc.spans.get(self.targets_key, []):
            covering = {
                cue.category
                for cue, start, end in scopes
                if start <= target.start_char < end and not (cue.start <= target.start_char < cue.end)
            }
            target._.assertion = next((c for c in PRIORITY if c in covering), "present")
        return doc


@Language.factory(
    "eligibility_context",
    default_config={"rules_file": "context_rules.json", "targets_key": "atoms"},
)
def make_eligibility_context(
    nlp: Language, name: str, rules_file: str, targets_key: str
) -> EligibilityContext:
    """ConText-style assertion over `doc.spans[targets_key]` with rules from nlp/data/<rules_file>."""
    return EligibilityContext(load_json(rules_file), targets_key)
