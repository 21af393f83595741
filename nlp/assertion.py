"""ConText-style assertion for eligibility text, as a spaCy component with its rules in a data file.

Cues (data/context_rules.json) open a scope forwards or backwards that ends at a terminator, a clause break
(';', '.', ':' or a line end) or another cue of a different category. Each target span in
`doc.spans[targets_key]` gets `span._.assertion`: negated, family, exception, hypothetical, historical or
present; when cues of several categories cover a span the most decisive wins in that order ("no history of X"
is negated, "family history of X" a relative's), except that a family cue inside a negation's scope keeps the
span a relative's ("no family history of X" denies the relatives' history, not the patient's own).
Cue spans are kept in `doc.spans["context_cues"]` for callers that need their positions (exception splitting).
"""

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from nlp.terminology import load_json
from nlp.text import fold_case, holds_folded

PRIORITY = ("negated", "family", "exception", "hypothetical", "historical")
CUES_KEY = "context_cues"
# Brackets end a clause, except those around an abbreviation: in "No history of chronic obstructive
# pulmonary disease (COPD), asthma or interstitial lung disease" the negation reaches the asthma.
_ABBREVIATION = r"[\w/.+-]"
_BRACKET = (
    rf"\((?!{_ABBREVIATION}{{1,12}}\))|"
    + "".join(rf"(?<!\({_ABBREVIATION}{{{width}}})" for width in range(1, 13))
    + r"\)"
)
# What ends a clause but brackets, and the same where a line that goes on in lower case is a hard wrap.
# A full stop, but not those of "e.g." or "i.e." (nor of "e.g" without its last): "No current evidence of ...
# disease (e.g gastrectomy, ileal bypass, Crohn's disease, gastroparesis)" (NCT06126276) denies the examples.
_STOP = (
    r"(?:(?<!\b[eEiI])(?<!\b[eE]\.[gG])(?<!\b[iI]\.[eE])\."
    r"|(?<=\b[eEiI])(?<!\b[iI]\.[eE])\.(?![gGeE]\b))"
)
_BREAKS = r"[;:\n]|" + _STOP + r"|\s-\s|"
_WRAPPED_BREAKS = r"[;:]|" + _STOP + r"|\n(?![ \t]*[a-z])|\s-\s|"
_CLAUSE_BREAK = re.compile(_BREAKS + _BRACKET)
_WRAPPED_CLAUSE_BREAK = re.compile(_WRAPPED_BREAKS + _BRACKET)
# A negation reads on through a bracket opened after its cue: "No active infection (requiring intravenous
# antibiotics) or uncontrolled diabetes" denies the diabetes too, and "Not received immunotherapy (PD-1,
# PD-L1, or CTLA-4 antibodies)" denies the examples rather than asking for PD-L1. A bracket closed that
# opened before the cue ends it ("(no prior chemotherapy) and ..."), and so does a cross-reference ("no
# satisfactory alternative treatment options (see Exclusion Criterion 1 for excluded solid tumors)",
# NCT07124000).
_NEGATION_BREAK = re.compile(_BREAKS + r"[()]")
_WRAPPED_NEGATION_BREAK = re.compile(_WRAPPED_BREAKS + r"[()]")
_CROSS_REFERENCE = re.compile(r"\s*(?:see|refer|cf)\b", re.IGNORECASE)
# "No clinically significant abnormality in CXR (other than changes consistent with asthma)" (NCT00001909): an
# exception in brackets is not denied with what it excepts; it ends the negation as a cross-reference does.
_EXCEPTION_OPENS = re.compile(
    r"\s*(?:other\s+than|except|excluding|apart\s+from|besides|unless|with\s+the\s+exception)\b",
    re.IGNORECASE,
)

if not Span.has_extension("assertion"):
    Span.set_extension("assertion", default="present")
if not Span.has_extension("assertion_cue"):
    # (start_char, end_char) of the cue that decided `assertion`, None when the span is present
    Span.set_extension("assertion_cue", default=None)


def _past_brackets(
    pattern: re.Pattern[str], text: str, found: re.Match[str] | None, limit: int
) -> re.Match[str] | None:
    """The first break `pattern` finds that is not a bracket opened after the cue, nor the one closing it
    (`_NEGATION_BREAK`)."""
    depth = 0
    while found is not None:
        mark = found.group(0)
        if mark == "(" and (
            _CROSS_REFERENCE.match(text, found.end()) or _EXCEPTION_OPENS.match(text, found.end())
        ):
            return found
        if mark == "(":
            depth += 1
        elif mark == ")" and depth:
            depth -= 1
        else:
            return found
        found = pattern.search(text, found.end(), limit)
    return None


@dataclass(frozen=True)
class Cue:
    start: int
    end: int
    category: str
    direction: str


_CLAUSE_END = re.compile(r"\s*(?:[.;,:)\n]|$)")
_LETTERS = re.compile(r"[A-Za-z]+")
_LOWER_CASE_LETTERS = re.compile(r"[a-z]+")
_NEXT_WORD = re.compile(r"\s+([A-Za-z]+)")
# "No patients who have received prior chemotherapy", "No patients with ..., those who have participated in
# an investigational trial, and pregnant women": a relative pronoun after the people the criterion is about
# describes them; it does not end the negation as "who"/"that" after a condition does.
_RESTATES_SUBJECT = re.compile(
    r"\b(?:patients?|subjects?|participants?|persons?|people|individuals?|women"
    r"|men|those|anyone)\s+$",
    re.IGNORECASE,
)
_PERSON_AFTER_CUE = re.compile(
    r"\s*(?:patients?|subjects?|participants?|persons?|people|individuals?|women"
    r"|men)\s+",
    re.IGNORECASE,
)
# A header that states a requirement of its own before the group's ("Female participant is not pregnant and
# at least one of the following conditions apply:", NCT07140016): the negation of the first is not the
# group's.
_NEW_REQUIREMENT_FOR_GROUP = re.compile(
    r"\band\s+(?:at\s+least\s+(?:one|1)|one\s+or\s+more|one|1|any|all|each|either)\s+of\b", re.IGNORECASE
)
# Scopes end at the clause, so a target only needs to look this far back for cues that cover it.
_MAX_SCOPE_CHARS = 400


class EligibilityContext:
    """Assigns `span._.assertion` to every span under `doc.spans[targets_key]`."""

    def __init__(self, rules: dict[str, Any], targets_key: str) -> None:
        self.cue_table = {
            tuple(cue["literal"].lower().split()): (cue["category"], cue["direction"])
            for cue in rules["cues"]
        }
        self.at_clause_end = {
            tuple(cue["literal"].lower().split()) for cue in rules["cues"] if cue.get("at_clause_end")
        }
        # Cues are looked up by their first word, longest phrase first ("no history of" beats "no").
        self.by_first_word: dict[str, list[tuple[str, ...]]] = {}
        for words in sorted(self.cue_table, key=len, reverse=True):
            self.by_first_word.setdefault(words[0], []).append(words)
        self.first_words = re.compile(
            rf"(?<![A-Za-z])(?:{'|'.join(sorted(self.by_first_word, key=len, reverse=True))})(?![A-Za-z])",
            re.IGNORECASE,
        )
        # Every first word is letters only, so `first_words` matches exactly the runs of letters that spell
        # one; looking each run up is about twice as fast as that alternation (see `_first_words`). A cue
        # whose first word holds a hyphen ("non-reactive for") would lose that for every text.
        self.letters_only = all(_LETTERS.fullmatch(word) for word in self.by_first_word)
        terminators = "|".join(re.escape(t) for t in sorted(rules["terminators"], key=len, reverse=True))
        # "including, but not limited to, X" lists examples of what comes before: its "but" ends no scope
        # (and "not limited to" is a pseudo cue), so "No prior systemic therapy, including but not limited
        # to chemotherapy" denies the chemotherapy too.
        self.terminator_pattern = re.compile(
            rf"(?<!\w)(?:{terminators})(?!\w)(?!,?\s+(?:(?:is|are|was|were)\s+)?not\s+(?:be\s+)?"
            r"(?:limited|restricted)\s+to\b)",
            re.IGNORECASE,
        )
        # A terminator's match is as long as the terminator: literals, matched letter for letter.
        self.longest_terminator = max(len(t) for t in rules["terminators"])
        self.targets_key = targets_key

    def find_cues(self, text: str) -> list[Cue]:
        cues: list[Cue] = []
        taken_until = -1
        # Only a cue's first word is searched for; the rest of a phrase is read word by word after it.
        for first in self._first_words(text):
            if first.start() < taken_until:
                continue
            for phrase in self.by_first_word[fold_case(first.group(0))]:
                end = first.end()
                for expected in phrase[1:]:
                    following = _NEXT_WORD.match(text, end)
                    if following is None or fold_case(following.group(1)) != expected:
                        break
                    end = following.end()
                else:
                    start = first.start()
                    # "non-small" or "no-" glue a cue word into another word; "treatment-naive to" keeps
                    # its cue.
                    if text[end : end + 1] == "-" or (text[start - 1 : start] == "-" and len(phrase) == 1):
                        continue
                    if phrase in self.at_clause_end and not _CLAUSE_END.match(text, end):
                        continue
                    cues.append(Cue(start, end, *self.cue_table[phrase]))
                    taken_until = end
                    break
        return cues

    def _first_words(self, text: str) -> Iterator[re.Match[str]]:
        """`first_words.finditer(text)`, its spans (the matches may be of `text.lower()`). Outside the four
        letters IGNORECASE folds to ASCII (`may_contain`), its letter classes and words only match ASCII
        letters, so its matches are whole runs of them; and outside two of those four (U+0130, U+212A), no
        character lower-cases to an ASCII letter or to more than one character, so the runs of `text.lower()`
        are the runs of `text`, lower-cased."""
        if not self.letters_only or holds_folded(text):
            yield from self.first_words.finditer(text)
            return
        by_first_word = self.by_first_word
        for run in _LOWER_CASE_LETTERS.finditer(text.lower()):
            if run.group(0) in by_first_word:
                yield run

    def _scope(self, text: str, position: int, cue: Cue, cues: list[Cue]) -> tuple[int, int]:
        if cue.direction == "backward":
            line_start = text.rfind("\n", 0, cue.start) + 1
            breaks = [m.end() for m in _CLAUSE_BREAK.finditer(text, line_start, cue.start)]
            return (breaks[-1] if breaks else line_start), cue.start
        end = len(text)
        # "No patients with evidence of other serious medical illness, ... drug\n abuse, ... and pregnant or
        # nursing women": a negation that opens its line and names the people excluded runs on over the
        # record's hard wraps (the next line goes on in lower case).
        opens_item = (
            cue.category == "negated"
            and _PERSON_AFTER_CUE.match(text, cue.end) is not None
            and not text[text.rfind("\n", 0, cue.start) + 1 : cue.start].strip(" \t-*•")
        )
        negation = cue.category == "negated"
        if negation:
            clause_break = _WRAPPED_NEGATION_BREAK if opens_item else _NEGATION_BREAK
        else:
            clause_break = _WRAPPED_CLAUSE_BREAK if opens_item else _CLAUSE_BREAK
        for pattern in (clause_break, self.terminator_pattern):
            # Only a match starting before `end` counts, and a terminator starting there ends (and its
            # look-ahead reads) before `end + longest_terminator`: the scan stops there, not at the end.
            limit = len(text) if pattern is not self.terminator_pattern else end + self.longest_terminator
            found = pattern.search(text, cue.end, limit)
            if negation and pattern is clause_break:
                found = _past_brackets(pattern, text, found, limit)
            while (
                found
                and pattern is self.terminator_pattern
                and _RESTATES_SUBJECT.search(text, max(cue.end, found.start() - 40), found.start())
                and (
                    _PERSON_AFTER_CUE.fullmatch(text, cue.end, found.start())
                    or text[found.start() - 6 : found.start()].lower().rstrip() in ("those", "anyone")
                )
            ):
                found = pattern.search(text, found.end(), limit)
            if found and found.start() < end and found.start() != cue.start:
                end = found.start()
        for other in cues[position + 1 :]:
            if other.start >= end:
                break
            if other.category == "exception" and cue.category != "exception":
                end = other.start
                break
        return cue.end, end

    def __call__(self, doc: Doc) -> Doc:
        return self.annotate(doc, doc.text)

    def annotate(self, doc: Doc, text: str) -> Doc:
        """`__call__` for callers that already hold `doc.text` (spaCy rebuilds it from tokens each time)."""
        cues = self.find_cues(text)
        cue_spans = []
        for cue in cues:
            span = doc.char_span(cue.start, cue.end, label=cue.category, alignment_mode="expand")
            if span is not None:
                cue_spans.append(span)
        doc.spans[CUES_KEY] = cue_spans
        targets = list(doc.spans.get(self.targets_key, []))
        decided = self.assertions(text, cues, [target.start_char for target in targets])
        for target, (category, decisive) in zip(targets, decided, strict=True):
            target._.assertion = category
            target._.assertion_cue = (decisive.start, decisive.end) if decisive else None
        return doc

    def assertions(self, text: str, cues: list[Cue], positions: list[int]) -> list[tuple[str, Cue | None]]:
        """The assertion of a mention starting at each position, and the cue that decided it.

        The parser calls this with character offsets directly, skipping spaCy spans and their extension
        attributes, which cost more than the rules themselves.
        """
        scopes = sorted(
            ((*self._scope(text, i, cue, cues), cue) for i, cue in enumerate(cues)), key=lambda s: s[0]
        )
        scope_starts = [start for start, _, _ in scopes]
        decided: list[tuple[str, Cue | None]] = []
        for position in positions:
            covering: dict[str, Cue] = {}
            for index in range(bisect_right(scope_starts, position) - 1, -1, -1):
                start, end, cue = scopes[index]
                if start < position - _MAX_SCOPE_CHARS:
                    break
                if position < end and not (cue.start <= position < cue.end):
                    covering.setdefault(cue.category, cue)  # the nearest cue of each category
            category = next((c for c in PRIORITY if c in covering), None)
            if (
                category == "negated"
                and "family" in covering
                and covering["family"].start > covering[category].start
            ):
                category = "family"
            decided.append((category, covering[category]) if category else ("present", None))
        return decided

    def trailing(self, text: str) -> tuple[str, Cue] | None:
        """The assertion a group header passes on to its sub-items ("History of any of the following:",
        "No prior treatment with:"): a negated or historical cue whose scope runs to the end of the header."""
        cues = self.find_cues(text)
        end = len(text.rstrip().rstrip(":").rstrip())
        covering: dict[str, Cue] = {}
        for index, cue in enumerate(cues):
            if (
                cue.category in ("negated", "historical")
                and cue.direction == "forward"
                and self._scope(text, index, cue, cues)[1] >= end
                and _NEW_REQUIREMENT_FOR_GROUP.search(text, cue.end, end) is None
            ):
                covering.setdefault(cue.category, cue)
        category = next((c for c in PRIORITY if c in covering), None)
        return (category, covering[category]) if category else None


@Language.factory(
    "eligibility_context",
    default_config={"rules_file": "context_rules.json", "targets_key": "atoms"},
)
def make_eligibility_context(
    nlp: Language, name: str, rules_file: str, targets_key: str
) -> EligibilityContext:
    """ConText-style assertion over `doc.spans[targets_key]` with rules from nlp/data/<rules_file>."""
    return EligibilityContext(load_json(rules_file), targets_key)
