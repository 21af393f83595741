"""Atom extraction from normalised criteria text: regex rules for values, biomarkers and scales.

Each rule yields `Found` candidates in normalised offsets with a rule id; `resolve` keeps the most specific
candidate where they overlap (a lab with its value beats the bare lab name, "EGFR TKI" beats the gene "EGFR").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from nlp.model import AtomKind, Concept, TimeWindow
from nlp.terminology import gene_names, genes, is_a, labs, link_exact, load_json, vocabulary
from nlp.text import fold_case, may_contain

NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
# ">/=" and "</=" are NCI's ">=" and "<=" (48 registry mentions: "Age: \>/=18 years", "Karnofsky Performance
# Status \>/= 50%", NCT04774718).
COMPARATOR = (
    r">\s*or\s*=|<\s*or\s*=|>\s*/\s*=|<\s*/\s*=|>=|<=|=>|=<|>|<|=|"
    r"(?:greater|more|higher|less|lower|fewer) than or equal to|"
    r"(?:greater|more|higher|less|lower|fewer) than|at least|at most|no (?:more|less|greater|higher"
    r"|lower) than|"
    r"not (?:more|less|greater|higher|lower) than|(?:equal to or )?(?:above|below|over|under)|up to|"
    r"not exceed(?:ing)?|exceeding|minimum(?: of)?|maximum(?: of)?|within"
)
_COMPARATOR_WORDS = [
    (
        r"^(>=|=>|> or =|> ?/ ?=|at least|greater than or equal|more than or equal|higher than or equal"
        r"|no less than|"
        r"not less than|no lower than|not lower than|minimum)",
        ">=",
    ),
    (
        r"^(<=|=<|< or =|< ?/ ?=|at most|less than or equal|lower than or equal|fewer than or equal"
        r"|no more than|not more than|"
        r"no greater than|not greater than|no higher than|not higher than|up to|not exceed|maximum|within)",
        "<=",
    ),
    (r"^(>|greater than|more than|higher than|above|over|exceeding)", ">"),
    (r"^(<|less than|lower than|fewer than|below|under)", "<"),
    (r"^=", "="),
]
_COMPARATOR_PATTERNS = [(re.compile(pattern), symbol) for pattern, symbol in _COMPARATOR_WORDS]
UNIT = (
    r"x\s*10\s*\^?\s*\d+\s*/\s*(?:u|m|mc)?l|10\s*\^\s*\d+\s*/\s*(?:u|m|mc)?l|"
    r"(?:cells\s*)?/\s*(?:mm\s*\^?\s*3|mm³|ul|mcl|l)\b|"
    r"g/dl|g/l|mg/dl|mg/l|umol/l|mmol/l|mol/l|ml/min(?:/1\.73\s*m\s*\^?\s*2)?|u/l|iu/l|u/ml|ng/ml|ng/dl|nmol/l|pg/ml|"
    r"%|ms(?:ec)?\b|seconds?\b|mmhg|kg/m\s*\^?\s*2|kg\b"
)
_ULN = r"(?:(?:the\s+)?(?:institutional\s+)?(?:upper limit of (?:the\s+)?normal(?: range)?|ULN))"
_LLN = r"(?:(?:the\s+)?(?:institutional\s+)?(?:lower limit of (?:the\s+)?normal(?: range)?|LLN))"


@dataclass
class Found:
    kind: AtomKind
    start: int
    end: int
    rule_id: str
    confidence: float
    concept: Concept | None = None
    checkable: bool = True
    comparator: str | None = None
    value: float | None = None
    value_high: float | None = None
    values: tuple[float, ...] = ()
    unit: str | None = None
    uln_multiple: float | None = None
    lln_multiple: float | None = None
    alteration: str | None = None
    assay: str | None = None
    window: TimeWindow | None = None
    display: str | None = None  # text to report when it differs from the span (shared-head expansion)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def specificity(self) -> int:
        # Added up without a generator: read for every candidate each time candidates are ranked.
        return (
            (self.comparator is not None)
            + (self.value is not None)
            + (self.unit is not None)
            + (self.uln_multiple is not None)
            + (self.alteration is not None)
            + (self.assay is not None)
        )


def _finditer(
    pattern: re.Pattern[str], text: str, lowered: str, needles: tuple[str, ...] = ()
) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)` for a case-insensitive pattern (`lowered` is `text.lower()`), its matches'
    spans and their lower-cased text alike, skipped when `text` holds none of the lower-case `needles` one of
    which every match contains (most texts hold none; no needles: never skipped)."""
    if needles and not may_contain(text, lowered, needles):
        return iter(())
    ascii_pattern = _ascii_variant(pattern)
    if ascii_pattern is not None and text.isascii():
        if pattern in _WORD_LED:
            return _at_boundaries(_without_boundary(ascii_pattern), lowered)
        return ascii_pattern.finditer(lowered)
    return pattern.finditer(text)


def _at_boundaries(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    r"""The matches `finditer` finds of `\b` followed by `pattern` (which never matches the empty string).

    `\b` in front hides the pattern's first letters from `re`, which then tries it at every word boundary;
    without it, `re` skips to the next of those letters. `\b` takes no characters, so a match of `pattern`
    that starts at a word boundary is the match the whole would find there; one that does not is dropped and
    the search goes on from its next character, as it does when `\b` fails.
    """
    position = 0
    length = len(text)
    while (match := pattern.search(text, position)) is not None:
        start = match.start()
        before = start > 0 and _WORD_CHARACTER.match(text, start - 1) is not None
        if before == (start < length and _WORD_CHARACTER.match(text, start) is not None):
            position = start + 1
        else:
            yield match
            position = match.end()


_WORD_CHARACTER = re.compile(r"\w")


@cache
def _without_boundary(pattern: re.Pattern[str]) -> re.Pattern[str]:
    assert pattern.pattern.startswith("\\b(")
    return re.compile(pattern.pattern[2:], pattern.flags)


@cache
def _ascii_variant(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """`pattern` without re.IGNORECASE, for lower-cased ASCII text, when its source is ASCII without
    capitals: on such text both find the same spans, this one about three times faster. (Beyond ASCII,
    IGNORECASE also folds a few letters that str.lower() leaves alone; a capital may be an escape.)"""
    source = pattern.pattern
    if not pattern.flags & re.IGNORECASE or not source.isascii() or _UNSAFE_IN_ASCII_VARIANT.search(source):
        return None
    letters = _NOT_LITERAL_CAPITALS.sub("", source)
    return re.compile(source, pattern.flags & ~re.IGNORECASE) if letters == letters.lower() else None


# Escapes that may stand for a capital or a letter folded to ASCII, backreferences, and inline flags (which
# could switch case sensitivity back on for part of the pattern).
_UNSAFE_IN_ASCII_VARIANT = re.compile(r"\\[0-9uUxN]|\(\?[aiLmsux-]+[:)]")
# Capitals that are not literal letters: group names and the class escapes \A \B \D \S \W \Z.
_NOT_LITERAL_CAPITALS = re.compile(r"\(\?P[<=]\w+|\\[ABDSWZ]")


def number(text: str) -> float:
    return float(text.replace(",", ""))


def comparator(text: str) -> str | None:
    lowered = " ".join(text.lower().split())
    for pattern, symbol in _COMPARATOR_PATTERNS:
        if pattern.match(lowered):
            return symbol
    return None


def _alternation(terms: list[str]) -> str:
    return "|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True))


_WORD_OR_HYPHEN = re.compile(r"[\w-]")


def _at_word_starts(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    r"""The matches `finditer` finds of `pattern` behind `(?<![\w-])`: names that do not continue a word.

    A look-behind in front hides the names' first letters from `re`, which then tries the whole alternation
    at every position; without it, `re` skips to the next of those letters. A match that continues a word
    is dropped and the search goes on from its next character, as it does when the look-behind fails.
    """
    position = 0
    while (match := pattern.search(text, position)) is not None:
        start = match.start()
        if start and _WORD_OR_HYPHEN.match(text, start - 1):
            position = start + 1
        else:
            yield match
            position = match.end()


def _is_abbreviation(term: str) -> bool:
    return len(term) <= 5 or sum(c.isupper() for c in term) >= 2


@lru_cache(maxsize=1)
def _lab_patterns() -> tuple[re.Pattern[str], re.Pattern[str], dict[str, str]]:
    """The abbreviations' pattern, the other names' case-insensitive one, and each name's lab code."""
    by_name: dict[str, str] = {}
    for lab in labs().values():
        for term in (lab.label, *lab.synonyms):
            by_name[term if _is_abbreviation(term) else term.lower()] = lab.code
    exact = [t for t in by_name if _is_abbreviation(t)]
    folded = [t for t in by_name if not _is_abbreviation(t)]
    return (
        # Without `(?<![\w-])` in front: `_at_word_starts` reads it.
        re.compile(rf"(?:{_alternation(exact)})(?![\w-])"),
        re.compile(rf"(?<![\w-])(?:{_alternation(folded)})s?(?![\w-])", re.IGNORECASE),
        by_name,
    )


_LAB_VALUE = re.compile(
    rf"^(?P<filler>[^;\d<>=]{{0,45}}?)(?P<cmp>{COMPARATOR})\s*(?:to\s+)?"
    rf"(?:(?P<mult>{NUMBER})\s*(?:x|times|-fold)?\s*(?P<limit>{_ULN}|{_LLN})|(?P<limit_only>{_ULN}|{_LLN})|"
    rf"(?P<num>{NUMBER})\s*(?P<unit>{UNIT})?)",
    re.IGNORECASE,
)
_LAB_LIST_GAP = re.compile(r"^[\s(),/]*(?:(?:and/or|and|or|either)[\s(),/]*)*$", re.I)


@lru_cache(maxsize=1)
def _lab_first_words() -> tuple[str, ...]:
    _, _, by_name = _lab_patterns()
    return tuple(sorted({name.split()[0] for name in by_name if not _is_abbreviation(name)}))


def find_labs(text: str) -> Iterator[Found]:
    exact, folded, by_name = _lab_patterns()
    mentions = [(m.start(), m.end(), by_name[m.group(0)]) for m in _at_word_starts(exact, text)]
    lowered = text.lower()
    # The case-folded alternation is slow in Python's re; most texts name no lab in words at all.
    if may_contain(text, lowered, _lab_first_words()):
        # `_finditer`: on ASCII text, a case-sensitive variant over the lower-cased text, 3x faster.
        for m in _finditer(folded, text, lowered):
            name = fold_case(m.group(0))
            code = by_name.get(name) or by_name.get(name[:-1])
            if code:
                mentions.append((m.start(), m.end(), code))
    mentions.sort()
    kept: list[tuple[int, int, str]] = []
    for mention in mentions:
        if kept and mention[0] < kept[-1][1]:
            if mention[1] - mention[0] > kept[-1][1] - kept[-1][0]:
                kept[-1] = mention
            continue
        # "international normalized ratio (INR)": the bracketed abbreviation is the same mention.
        if kept and kept[-1][2] == mention[2] and text[kept[-1][1] : mention[0]].strip() == "(":
            kept[-1] = (kept[-1][0], mention[1] + (text[mention[1] : mention[1] + 1] == ")"), mention[2])
            continue
        kept.append(mention)
    group: list[tuple[int, int, str]] = []
    for index, mention in enumerate(kept):
        group.append(mention)
        following = kept[index + 1] if index + 1 < len(kept) else None
        if following and _LAB_LIST_GAP.match(text[mention[1] : following[0]]):
            continue
        yield from _lab_group(text, group, following[0] if following else len(text))
        group = []


def _lab_group(text: str, group: list[tuple[int, int, str]], limit: int) -> Iterator[Found]:
    """Labs listed together ("AST and ALT <= 2.5 x ULN") share the value that follows the last of them."""
    tail_start = group[-1][1]
    match = _LAB_VALUE.match(text[tail_start:limit])
    for start, end, code in group:
        lab = labs()[code]
        concept = Concept("loinc", lab.loinc, lab.label)
        if match is None or comparator(match.group("cmp")) is None:
            yield Found("lab", start, end, "lab.name", 0.6, concept)
            continue
        value_end = tail_start + match.end()
        found = Found(
            "lab",
            start,
            end if len(group) > 1 else value_end,
            "lab.value",
            0.9,
            concept,
            comparator=comparator(match.group("cmp")),
        )
        limit_text = (match.group("limit") or match.group("limit_only") or "").lower()
        if limit_text:
            multiple = number(match.group("mult")) if match.group("mult") else 1.0
            if "lower" in limit_text or "lln" in limit_text:
                found.lln_multiple = multiple
            else:
                found.uln_multiple = multiple
            found.rule_id = "lab.limit_multiple"
        else:
            found.value = number(match.group("num"))
            found.unit = " ".join(match.group("unit").split()) if match.group("unit") else None
        found.extra["value_span"] = (tail_start + match.start("cmp"), value_end)
        yield found


_EITHER_STATUS = re.compile(r"\s*(?:,|/|or|and/or)\s*(?:positive|negative)\b", re.IGNORECASE)
# Receptors listed together share the last one's status: "ER/PR negative", "ER and PR positive".
_RECEPTOR_LISTED = re.compile(r"\s*(?:/|,|and|or|and/or)\s*(?:ER|PR|HER-?2)\b")


@lru_cache(maxsize=1)
def _gene_pattern() -> re.Pattern[str]:
    names = [n for n in genes() if n not in {"ER", "PR", "AR", "neu", "MET"}]
    # ER/PR/AR/MET are also English or other abbreviations; they count only beside receptor status words, or
    # listed with another receptor that has one ("ER/PR negative", "ER and PR positive").
    status = rf"(?=[\s-]*(?:\+|-|positive|negative|status|expression)|{_RECEPTOR_LISTED.pattern})"
    # Without `(?<![\w-])` in front (`_at_word_starts` reads it), and each receptor spelt out, so that every
    # alternative starts with a letter.
    return re.compile(
        rf"(?:{_alternation(names)}"
        rf"|MET(?=[\s-]+(?i:exon|amplif|overexp|fusion|alteration|mutation|tyrosine|inhibitor|tki)|[\s-]*ex\s?14\b)"
        rf"|ER{status}|PR{status}|AR{status})(?:(?![\w])|(?=[A-Z]\d{{1,4}}[A-Z]\b)|(?=ex\d))"
    )


@lru_cache(maxsize=1)
def _alteration_patterns() -> tuple[list[tuple[str, re.Pattern[str]]], re.Pattern[str]]:
    data = load_json("alterations.json")
    patterns = []
    for kind, forms in data["types"].items():
        words = [f for f in forms if f not in {"+", "-"}]
        pattern = rf"(?<![\w])(?:{_alternation(words)})(?![\w])"
        # A bare sign counts only glued to the gene: "ALK+", "HER2-".
        if "+" in forms:
            pattern += r"|^\+(?!\w)"
        if "-" in forms:
            pattern += r"|^-(?=\s|$|[,;.)])"
        patterns.append((kind, re.compile(pattern, re.IGNORECASE)))
    assays = re.compile(rf"(?<![\w-])(?:{_alternation(data['assays'])})(?![\w-])")
    return patterns, assays


_POINT = re.compile(
    r"(?<![\w.])(?:p\.)?([ACDEFGHIKLMNPQRSTVWY])(\d{1,4})([ACDEFGHIKLMNPQRSTVWY]|X|\*|fs)(?![a-z\d])"
)
# "exon 14", "Exon-14", "ex14" ("METex14 skipping")
_EXON = re.compile(
    r"(?:exon|(?<![a-z])ex)[\s-]*(\d{1,2})\s*"
    r"(deletions?|del|insertions?|ins|skipping|mutations?|alterations?|duplications?)",
    re.I,
)
_IHC = re.compile(
    r"\bIHC\s*\)?\s*(?:score\s*(?:of\s*)?)?(0|1\+|2\+|3\+)(?:\s*(?:and|or|/)\s*(?:ISH|FISH)\s*(\+|-|positive"
    r"|negative|amplified|non-amplified))?",
    re.I,
)
# HER2 as written, alone or as the bracketed symbol ending its full name ("... receptor 2 (HER2)-low").
_HER2_WRITTEN = ("HER2", "ERBB2", "HER-2")
_HER2_BRACKETED = tuple(f"({symbol})" for symbol in _HER2_WRITTEN)
# IHC scores written before the gene: "1+ level of expression of HER2", "IHC 0+ or IHC 1 or 2+ staining for
# HER-2", "immunohistochemistry (IHC) 2+ for HER2". Each score is one alternative.
_SCORE_ITEM = r"(?:(?:IHC|immunohistochemistry)\s*(?:\(IHC\)\s*)?)?[0-3]\+?"
_SCORES_BEFORE = re.compile(
    rf"(?<![\w.+])(?P<scores>{_SCORE_ITEM}(?:\s*(?:,\s*(?:or\s+)?|or|and/or|/)\s*{_SCORE_ITEM})*)\s*"
    r"(?:(?:level\s+of\s+)?expression|(?:membrane\s+)?staining|intensity(?:\s+score)?)\s+(?:of|for)\s+$",
    re.I,
)
_ONE_SCORE = re.compile(_SCORE_ITEM, re.I)
_AT_LEAST_BEFORE = re.compile(r"(?:[≥>]=?|at\s+least|more\s+than)\s*$", re.I)
# What names the test or its result rather than a finding: "HER2 status known", "central HER2 testing",
# "HER2 immunohistochemistry (IHC) status", "ratio of HER2 to CEP17", "HER2 gene copy number". A bracketed
# symbol or closing bracket may come between ("receptor 2 [HER2] status").
_TEST_NAMED = re.compile(
    r"(?:\s*\\?[\[(]\s*[\w/-]{1,12}\s*\\?[\])])?[\s\\\])]*"
    r"(?:(?:/|,|and/or|and|or)\s*(?:ER|PR|PgR)\b\s*)*"
    r"(?:status|statuses|testing|tests?|tested|results?|biomarker|assessment|evaluation|determination"
    r"|(?:gene\s+)?copy\s+number|(?:immunohistochemistry|IHC)(?!\s*\)?\s*(?:score\s*)?[0-3])"
    r"|(?:to|/)\s*CEP\s*17|staining)\b",
    re.I,
)
# A polarity just before a gene named with its status ("positive HER2 status", not "unknown or negative HER2
# testing will not be eligible"), or "any" before a gene
# that ends its clause ("any human epidermal growth factor receptor 2 (HER2)"; not "any PD-L1 TPS").
_POLARITY_BEFORE = re.compile(r"\b(positive|negative)[\s-]+$", re.I)
_STATUS_NAMED = re.compile(r"\s*status\b", re.I)
_ANY_BEFORE = re.compile(r"\bany\s+$", re.I)
_CLAUSE_ENDS = re.compile(r"[ \t]*(?:[\n;.)]|$)")
# "HER2-low" (IHC 1+, or IHC 2+ with a negative ISH): the matcher reads the alteration "low" as that rule.
_HER2_LOW = re.compile(r"[\s-]*low\b", re.I)
_ISH = re.compile(r"\b(?:F|C|S)?ISH\s*(\+|-|positive|negative|amplified|non-amplified|not amplified)", re.I)
_PDL1_METRIC = r"TPS|CPS|TC|IC|tumou?r proportion score|combined positive score"
# "TPS >= 50%", "tumor proportion score (TPS) of at least 50%", "TPS of 50% or greater", "CPS 10 or more". The
# number ends the match: a "%" glued or spaced counts, whitespace after a bare number does not (it may end
# the line).
_PDL1_SCORE = re.compile(
    rf"(?:(?P<metric>{_PDL1_METRIC})\s*(?:\((?:TPS|CPS)\)\s*)?(?:score\s*)?(?:of\s*)?)?"
    rf"(?:(?P<cmp>{COMPARATOR})\s*(?P<num>\d+(?:\.\d+)?)(?P<pct>\s*%)?"
    rf"|(?P<num2>\d+(?:\.\d+)?)(?P<pct2>\s*%)?\s*or\s+(?P<dir>greater|more|higher|above|less|lower|below)\b"
    rf"|(?P<low3>\d+(?:\.\d+)?)\s*%?\s*(?:-|to)\s*(?P<high3>\d+(?:\.\d+)?)\s*%)",
    re.I,
)
# The upper bound of a band: "TPS >= 1% and <= 49%", "TPS 1-49%".
_PDL1_UPPER = re.compile(rf"\s*(?:and|to|-)\s*(?P<cmp>{COMPARATOR})?\s*(?P<num>\d+(?:\.\d+)?)\s*%", re.I)
_PDL1_METRIC_SHORT = {
    "TUMOR PROPORTION SCORE": "TPS",
    "TUMOUR PROPORTION SCORE": "TPS",
    "COMBINED POSITIVE SCORE": "CPS",
}
_PDL1_METRIC_NAMED = re.compile(rf"\b(?:{_PDL1_METRIC})\b", re.I)
_PDL1_OTHER_CLAUSE = re.compile(r"[;.\d]|,|\b(?:and|or)\b", re.I)
_STANDALONE = re.compile(
    r"(?<![\w-])(?P<term>MSI-H|MSI-high|MSI high|microsatellite instability[- ]high"
    r"|high microsatellite instability"
    r"|dMMR|mismatch repair[- ]deficient|deficient mismatch repair|mismatch repair deficiency|MSS|pMMR"
    r"|microsatellite stable|(?:hormone receptor|HR)[- ]?(?:positive|negative|\+|-)"
    r"|triple[- ]negative)(?![\w])",
    re.I,
)
_STANDALONE_NEEDS = (
    "msi",
    "microsatellite",
    "dmmr",
    "pmmr",
    "mismatch",
    "mss",
    "hormone receptor",
    "hr ",
    "hr-",
    "hr+",
    "hrpositive",
    "hrnegative",
    "triple",
)
_TMB = re.compile(
    rf"(?:TMB|tumou?r mutational burden)(?:-H|[- ]high)?\s*(?:\(TMB\)\s*)?(?:of\s*)?(?P<cmp>{COMPARATOR})?\s*"
    rf"(?P<num>\d+(?:\.\d+)?)?\s*(?P<unit>mut(?:ations)?\s*/\s*Mb|muts?/Mb)?",
    re.I,
)
_TMB_NEEDS = ("tmb", "mutational burden")


_DENIED_AFTER = re.compile(r"[\s-]*(?:negative|negativity)\b", re.IGNORECASE)


def _alteration_near(text: str, start: int, end: int) -> tuple[str | None, int, int]:
    """Alteration named within a few words after (or just before) a gene mention."""
    window_end = min(len(text), end + 40)
    clause = re.split(r";|\.(?!\w)|\bor\b|\band\b(?!/)", text[end:window_end])[0]
    window = text[end : end + len(clause)]
    exon = _EXON.search(window)
    point = _POINT.search(window)
    if point and point.start() < 12 and (exon is None or point.start() < exon.start()):
        # "EGFR T790M mutation, MET Exon-14 skipping" (NCT06116682): the exon is the next gene's.
        return "".join(point.groups()), start, end + point.end()
    if exon:
        kind = exon.group(2).lower().rstrip("s")
        kind = {"del": "deletion", "ins": "insertion"}.get(kind, kind)
        return f"exon {exon.group(1)} {kind}", start, end + exon.end()
    written = text[start:end]
    if written in _HER2_WRITTEN or written.endswith(_HER2_BRACKETED):
        low = _HER2_LOW.match(text, end)
        if low:
            return "low", start, low.end()
        ihc = _IHC.search(text, end, window_end)
        if ihc:
            label = f"IHC {ihc.group(1)}" + (f" ISH {ihc.group(2)}" if ihc.group(2) else "")
            return label, start, ihc.end()
    patterns, _ = _alteration_patterns()
    best: tuple[int, str, int] | None = None
    for kind, pattern in patterns:
        found = pattern.search(window)
        if found and found.start() < 25 and (best is None or found.start() < best[0]):
            best = (found.start(), kind, found.end())
    if best:
        # "EGFR and ALK mutation-negative disease", "ROS1 fusion negative": no such alteration.
        denied = _DENIED_AFTER.match(window, best[2]) if best[1] not in ("positive", "negative") else None
        if denied is not None:
            return "negative", start, end + denied.end()
        return best[1], start, end + best[2]
    before = text[max(0, start - 25) : start]
    activating = re.search(r"(activating|sensiti[sz]ing|oncogenic|pathogenic)[\s-]*$", before, re.I)
    if activating:
        return "mutation", start - len(before) + activating.start(), end
    for kind, pattern in patterns:
        if kind in ("mutation", "amplification", "fusion", "wild_type", "loss"):
            hits = list(pattern.finditer(before))
            if hits and not before[hits[-1].end() :].strip(" -"):
                return kind, start - len(before) + hits[-1].start(), end
    return None, start, end


def find_biomarkers(text: str) -> Iterator[Found]:
    genes_found = list(_gene_biomarkers(text))
    _share_alterations(text, genes_found)
    yield from genes_found
    yield from _status_biomarkers(text)


def _share_alterations(text: str, found: list[Found]) -> None:
    """ "BRCA1 or BRCA2 mutation": a gene listed without an alteration takes the next gene's alteration."""
    for index in range(len(found) - 2, -1, -1):
        current, following = found[index], found[index + 1]
        if (
            current.rule_id == "biomarker.gene"
            and following.rule_id == "biomarker.test_named"
            and _LIST_JOIN.match(text[current.end : following.start])
        ):
            # "any HER2 and ER/PR status": each names its test.
            current.checkable = False
            current.rule_id = "biomarker.test_named"
        elif (
            current.rule_id == "biomarker.gene"
            and following.alteration
            and _LIST_JOIN.match(text[current.end : following.start])
        ):
            current.alteration = following.alteration
            current.rule_id = "biomarker.shared_alteration"
            current.confidence = 0.8


# "EGFR, ALK, and ROS1 negative": a comma before the last "and" joins the list too.
_LIST_JOIN = re.compile(r"^\s*(?:,\s*(?:and/or|and|or)?|/|and/or|and|or)\s*$", re.I)


# A gene named as what a drug targets ("KRAS inhibitor", "BRAF or MEK inhibitor", "HER2-directed therapy",
# "CD19 CAR-T", "BCMA bispecific", "TROP2 ADC"): a treatment, not a test result.
_TARGETED_BY = re.compile(
    r"(?:[\s-]*(?:or|and|/|,)\s*[A-Z][\w/-]*)?[\s-]*(?:inhibitors?|inhibition|TKIs?"
    r"|tyrosine kinase inhibitors?|targeted|targeting|directed|blockers?|antagonists?"
    r"|(?:monoclonal\s+)?antibod(?:y|ies)|mAbs?|CAR(?:[\s-]?T)?|chimeric antigen receptor|bispecifics?"
    r"|BiTEs?|T[\s-]cell engagers?|ADCs?"
    r"|antibody[\s-]drug conjugates?)\b",
    re.I,
)
# The inhibitor words right after a gene ("KRAS G12C tyrosine kinase inhibitor", "MET TKI"): the gene's
# inhibitor is one drug class, never the gene plus any tyrosine kinase inhibitor (NCT06248606).
_INHIBITOR_WORDS = re.compile(r"[\s-]*(?:(?:tyrosine[\s-]kinase|TK)\s+inhibitors?|TKIs?|inhibitors?)\b", re.I)
# A gene named after the word for what a treatment targets ("CAR T therapy targeting CD19, and/or CD20").
# "agents that target the KRAS/BRAF/MEK/ERK pathway" (NCT05786924) too.
_TARGETING_BEFORE = re.compile(
    r"\b(?:targeting|(?:that|which)\s+targets?|directed\s+(?:at|against))\s+(?:the\s+)?"
    r"(?:[\w.+-]+\s*(?:,\s*)?(?:and/or|or|and|,|/)\s*)*$",
    re.I,
)
# The mutation a drug targets, between its gene and the drug word: "KRAS p.G12C inhibitor" (NCT06252649),
# "KRASG12C inhibition therapy" (NCT06412198).
_TARGETED_CHANGE = re.compile(r"[\s-]*(?:p\.)?(?P<change>[A-Z]\d{1,4}[A-Z])(?![\w.])")


def _gene_biomarkers(text: str) -> Iterator[Found]:
    _, assays = _alteration_patterns()
    mentions: list[tuple[int, int, str, str, re.Match[str] | None]] = [
        (m.start(), m.end(), m.group(0), genes()[m.group(0)], m)
        for m in _at_word_starts(_gene_pattern(), text)
    ]
    if may_contain(text, text.lower(), _GENE_NAME_WORDS) and (full := list(_gene_full_names(text))):
        # The bracketed symbol after a full name is part of that mention.
        apart = [m for m in mentions if not any(f[0] <= m[0] < f[1] for f in full)]
        mentions = sorted([*apart, *full], key=lambda mention: mention[0])
    for m_start, m_end, written, symbol, m in mentions:
        change = _TARGETED_CHANGE.match(text, m_end)
        if change is not None and _TARGETED_BY.match(text, change.end()):
            inhibitor, _ = link_exact(f"{symbol} {change.group('change')} inhibitor", "therapy")
            if inhibitor is None:
                inhibitor, _ = link_exact(f"{written} inhibitor", "therapy")
            if inhibitor is not None:
                words = _INHIBITOR_WORDS.match(text, change.end())
                end = change.end() if words is None else words.end()
                yield Found("therapy", m_start, end, "therapy.gene_target", 0.8, inhibitor)
                continue
        if _TARGETING_BEFORE.search(text, max(0, m_start - 60), m_start):
            continue
        if _TARGETED_BY.match(text, m_end):
            inhibitor, _ = link_exact(f"{written} inhibitor", "therapy")
            words = _INHIBITOR_WORDS.match(text, m_end)
            if words is not None:
                # An inhibitor of a gene without a class of its own ("MET TKI") stays uncoded: read as the
                # bare "tyrosine kinase inhibitor" it would take in every TKI a patient ever had.
                yield Found("therapy", m_start, words.end(), "therapy.gene_target", 0.8, inhibitor)
            elif inhibitor is not None:
                yield Found("therapy", m_start, m_end, "therapy.gene_target", 0.8, inhibitor)
            continue
        if _RECEPTOR_LISTED.match(text, m_end):
            # "ER/PR negative": ER takes PR's status (`_share_alterations`), not a span over PR's.
            alteration, start, end = None, m_start, m_end
        else:
            alteration, start, end = _alteration_near(text, m_start, m_end)
        if (
            alteration is None
            and symbol == "ERBB2"
            and (scores := list(_scores_before(text, m_start, m_end)))
        ):
            yield from scores
            continue
        found = Found("biomarker", start, end, "biomarker.gene", 0.7, Concept("hgnc", symbol, symbol))
        if alteration:
            found.alteration = alteration
            found.rule_id = "biomarker.gene_alteration"
            found.confidence = 0.9
        if alteration in ("positive", "negative") and _EITHER_STATUS.match(text, end):
            # "ER status can include ER positive, negative, or unknown": any status, so no requirement.
            found.checkable = False
            found.rule_id = "biomarker.any_status"
        if symbol == "CD274":
            _read_pdl1_score(text, m_end, found)
        if found.alteration is None:
            _read_test_named(text, found)
        assay = _nearest_assay(text, found.start, found.end, assays)
        if assay:
            found.assay = assay
        yield found
        if m is not None:
            yield from _shared_gene_family(text, m)
        yield from _listed_alterations(text, found)


def _scores_before(text: str, start: int, end: int) -> Iterator[Found]:
    """One IHC-score finding per score written before HER2 ("IHC 0+ or IHC 1 or 2+ staining for HER-2"), the
    last one spanning to the gene."""
    line_start = text.rfind("\n", 0, start) + 1
    match = _SCORES_BEFORE.search(text, max(line_start, start - 80), start)
    if match is None or not re.search(r"\+|IHC|immunohisto", match.group("scores"), re.I):
        return
    if _AT_LEAST_BEFORE.search(text, max(0, match.start() - 12), match.start()):
        return  # "≥ 1+ intensity score for HER2 staining": a bound, not the one score
    items = list(_ONE_SCORE.finditer(text, match.start("scores"), match.end("scores")))
    for number, item in enumerate(items):
        score = re.search(r"[0-3]", item.group(0))
        assert score is not None
        alteration = "IHC 0" if score.group(0) == "0" else f"IHC {score.group(0)}+"
        last = number == len(items) - 1
        yield Found(
            "biomarker",
            item.start(),
            end if last else item.end(),
            "biomarker.ihc_before",
            0.85,
            Concept("hgnc", "ERBB2", "ERBB2"),
            alteration=alteration,
            assay="IHC",
            display=f"HER2 {alteration}",
        )


def _read_test_named(text: str, found: Found) -> None:
    """A gene named with no alteration: read its polarity before a status word ("positive HER2 status"), or
    mark it as naming the test, which no result meets or fails ("HER2 status known", "any HER2 status")."""
    names_test = _TEST_NAMED.match(text, found.end) is not None
    before = text[max(0, found.start - 20) : found.start]
    polarity = _POLARITY_BEFORE.search(before)
    if polarity is not None and _STATUS_NAMED.match(text, found.end):
        found.alteration = polarity.group(1).lower()
        found.start -= len(before) - polarity.start()
        found.rule_id = "biomarker.gene_alteration"
        found.confidence = 0.85
    elif names_test or (_ANY_BEFORE.search(before) and _CLAUSE_ENDS.match(text, found.end)):
        found.checkable = False
        found.rule_id = "biomarker.test_named"


# A gene written out in full ("anaplastic lymphoma kinase (ALK)", "Kirsten rat sarcoma viral oncogene homolog
# (KRAS) G12C"): the gene, with its symbol in brackets if the text adds one, never the lymphoma or sarcoma
# its name holds.
# Words of genes.tsv's full names, one or more per name; a text naming none is not searched.
_GENE_NAME_WORDS = (
    "growth factor",
    "kirsten",
    "neuroblastoma",
    "harvey",
    "v-raf",
    "lymphoma kinase",
    "c-ros",
    "proto-oncogene",
    "transfection",
    "mesenchymal",
    "neurotrophic",
    "cancer gene",
    "susceptibility",
)
_SYMBOL_AFTER = re.compile(r"\s*\(\s*(?P<symbol>[A-Za-z][\w/-]{1,12})\s*\)")


@lru_cache(maxsize=1)
def _gene_name_pattern() -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-])(?:{_alternation(list(gene_names()))})(?![\w-])", re.IGNORECASE)


def _gene_full_names(text: str) -> Iterator[tuple[int, int, str, str, None]]:
    """(start, end, symbol, symbol, None) of each gene written out in full, its bracketed symbol included."""
    for m in _gene_name_pattern().finditer(text):
        if text[m.start() - 1 : m.start()] == "(" and text[m.end() : m.end() + 1] == ")":
            continue  # "HER2-positive (human epidermal growth factor receptor 2)" names HER2 once
        symbol = gene_names()[m.group(0).lower()]
        end = m.end()
        bracket = _SYMBOL_AFTER.match(text, end)
        if bracket is not None and genes().get(bracket.group("symbol")) is not None:
            end = bracket.end()
        yield m.start(), end, symbol, symbol, None


def _read_pdl1_score(text: str, gene_end: int, found: Found) -> None:
    """The score a PD-L1 mention asks for, within its clause: its metric (TPS, CPS...; "expression" when none
    is named), comparator, value and unit ("%" for TPS, none for CPS, which is no percentage)."""
    score = _PDL1_SCORE.search(text, gene_end, min(len(text), gene_end + 100))
    if score is None:
        return
    between = text[gene_end : score.start()]
    named = score.group("metric") or next(iter(_PDL1_METRIC_NAMED.findall(between)), "")
    symbol: str | None
    high: str | None = None
    if score.group("low3") is not None:
        symbol, value, percent, high = "between", score.group("low3"), "%", score.group("high3")
    elif score.group("num2") is not None:
        if not named and not score.group("pct2"):
            return  # "PD-L1 testing on 2 or more slides": a count, not a score
        direction = score.group("dir").lower()
        symbol = ">=" if direction in ("greater", "more", "higher", "above") else "<="
        value, percent = score.group("num2"), score.group("pct2")
    else:
        symbol, value, percent = comparator(score.group("cmp")), score.group("num"), score.group("pct")
    # Words between the gene and its score are fine ("expression with a"); another number, clause or list
    # item is not, unless the words name the score ("PD-L1 expression, TPS >= 50%").
    if symbol is None or re.search(r"[;.\d]", between):
        return
    if not named and _PDL1_OTHER_CLAUSE.search(between):
        return
    metric = _PDL1_METRIC_SHORT.get(named.upper(), named.upper())
    found.alteration = metric or "expression"
    found.comparator = symbol
    found.value = float(value)
    found.value_high = None if high is None else float(high)
    score_end = score.end()
    upper = _PDL1_UPPER.match(text, score_end) if symbol in (">=", ">") else None
    bound = None if upper is None else comparator(upper.group("cmp") or "<=")
    if upper is not None and bound in ("<=", "<"):
        # A band ("TPS >= 1% and < 50%"): counted in whole percent, "< 50" is "<= 49".
        top = float(upper.group("num")) - (1 if bound == "<" else 0)
        if top > found.value:
            found.comparator, found.value_high = "between", top
            found.value += 1 if symbol == ">" else 0
            score_end = upper.end()
    found.unit = "" if metric == "CPS" and not percent else "%"
    found.end = max(found.end, score_end)
    found.rule_id = "biomarker.pdl1_score"
    found.confidence = 0.9


def _status_biomarkers(text: str) -> Iterator[Found]:
    lowered = text.lower()
    for m in _finditer(_STANDALONE, text, lowered, _STANDALONE_NEEDS):
        term = m.group("term").lower()
        code, label, alteration = _standalone(term)
        yield Found(
            "biomarker",
            m.start(),
            m.end(),
            "biomarker.status",
            0.9,
            Concept("biomarker", code, label),
            alteration=alteration,
        )
    for m in _finditer(_TMB, text, lowered, _TMB_NEEDS):
        found = Found(
            "biomarker",
            m.start(),
            m.end(),
            "biomarker.tmb",
            0.85,
            Concept("biomarker", "TMB", "tumour mutational burden"),
        )
        if "high" in m.group(0).lower() or "-h" in m.group(0).lower():
            found.alteration = "high"
        if m.group("num") and m.group("cmp"):
            found.comparator = comparator(m.group("cmp"))
            found.value = float(m.group("num"))
            found.unit = "mut/Mb"
        yield found


def _standalone(term: str) -> tuple[str, str, str]:
    if term.startswith(("msi", "microsatellite instability", "high microsatellite")):
        return "MSI", "microsatellite instability", "high"
    if term in ("mss", "microsatellite stable"):
        return "MSI", "microsatellite instability", "stable"
    if term == "pmmr":
        return "MMR", "mismatch repair", "proficient"
    if "mismatch" in term or term == "dmmr":
        return "MMR", "mismatch repair", "deficient"
    if term.startswith("triple"):
        return "TNBC", "triple-negative receptor status", "negative"
    return "HR", "hormone receptor", "positive" if term.endswith(("positive", "+")) else "negative"


def _nearest_assay(text: str, start: int, end: int, assays: re.Pattern[str]) -> str | None:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    names = [m.group(0) for m in assays.finditer(text, line_start, line_end)]
    specific = [n for n in names if n not in {"IHC", "ISH", "FISH", "CISH", "SISH", "NGS", "PCR"}]
    chosen = specific or names
    return chosen[0] if chosen else None


def _shared_gene_family(text: str, mention: re.Match[str]) -> Iterator[Found]:
    """ "BRCA1/2" names BRCA2 too."""
    symbol = mention.group(0)
    follow = re.match(r"/(\d)\b", text[mention.end() :])
    if follow and symbol[-1].isdigit():
        sibling = symbol[:-1] + follow.group(1)
        if sibling in genes():
            alteration, _, _ = _alteration_near(text, mention.end() + 2, mention.end() + 2)
            yield Found(
                "biomarker",
                mention.end() + 1,
                mention.end() + 2,
                "biomarker.shared_head",
                0.8,
                Concept("hgnc", sibling, sibling),
                alteration=alteration,
                display=sibling,
            )


_LISTED = re.compile(
    r"^\s*(?:,|/|or|and/or|and)\s*(?:(?:exon[\s-]*(?P<exon>\d{1,2})\s*(?P<what>deletions?|del|insertions?|ins"
    r"|skipping|mutations?))"
    r"|(?:exon[\s-]*\d{1,2}\s*)?(?:p\.)?(?P<point>[ACDEFGHIKLMNPQRSTVWY]\d{1,4}(?:[ACDEFGHIKLMNPQRSTVWY]|X|\*"
    r"|fs))|(?P<ihc>(?:IHC\s*)?(?:0|1\+|2\+|3\+)(?:\s*(?:/|and)\s*(?:F|C|S)?ISH\s*(?:\+|-|positive|negative))?))"
    r"(?![\w])",
    re.I,
)


def _listed_alterations(text: str, found: Found) -> Iterator[Found]:
    """ "EGFR exon 19 deletion or L858R" names a second EGFR alteration without repeating the gene."""
    position = found.end
    while found.alteration and found.concept is not None:
        match = _LISTED.match(text[position : position + 40])
        if match is None:
            return
        if match.group("ihc"):
            if not found.alteration.startswith("IHC"):
                return  # a bare score ("or 2+") lists only after another IHC score
            alteration = " ".join(match.group("ihc").replace("/", " ").split())
            if not alteration.upper().startswith("IHC"):
                alteration = f"IHC {alteration}"
        elif match.group("point"):
            alteration = match.group("point")
        else:
            kind = match.group("what").lower().rstrip("s")
            alteration = f"exon {match.group('exon')} " + {"del": "deletion", "ins": "insertion"}.get(
                kind, kind
            )
        group = "exon" if match.group("exon") else "ihc" if match.group("ihc") else "point"
        start = position + match.start(group)
        yield Found(
            "biomarker",
            start,
            position + match.end(),
            "biomarker.listed_alteration",
            0.85,
            found.concept,
            alteration=alteration,
            display=f"{found.concept.code} {alteration}",
        )
        position += match.end()


_ECOG = re.compile(
    rf"\b(?:ECOG|Eastern Cooperative Oncology Group|WHO|Zubrod)(?:[\s/-]*(?:ECOG|WHO))?\s*"
    rf"(?:\(ECOG\)\s*)?(?:performance status|performance score|PS|score"
    rf"|perfomance status)?\s*(?:\((?:ECOG\s*)?PS\)\s*)?"
    rf"(?:score\s*)?(?:of|:|must be|is|=(?![<>]))?\s*(?P<cmp>{COMPARATOR})?\s*"
    rf"(?P<values>[0-5](?:\s*(?:-|~|\uff5e|to|or|,|and|/|,\s*or)\s*[0-5])*)(?!\d|\.\d|%)"
    # "performance status 2 or less" (NCT03740256), "of 2 or lower", "1 or greater"
    r"(?:\s+or\s+(?P<after>less|lower|below|better|greater|higher|more|above|worse)\b)?",
    re.I,
)
# An ECOG grade is better the lower it is.
_ECOG_AFTER = {
    "less": "<=",
    "lower": "<=",
    "below": "<=",
    "better": "<=",
    "greater": ">=",
    "higher": ">=",
    "more": ">=",
    "above": ">=",
    "worse": ">=",
}
# The "=" of "=<" and "=>" (NCI's way of writing "<=" and ">=") is the comparator's, not "ECOG = 1"'s.
# "0-2", "0 to 2" (in any case, as _ECOG reads it) and "0~2" (NCT05746897; or with a full-width tilde) are
# ranges; "0 or 2" and "0, 2" are the grades listed.
_ECOG_RANGE = re.compile(r"-|~|\uff5e|to", re.I)
_KARNOFSKY = re.compile(
    rf"\b(?P<scale>Karnofsky|KPS|Lansky)(?:\s*performance\s*(?:status|score|scale))?\s*(?:\((?:KPS"
    rf"|LPS)\)\s*)?"
    rf"(?:score\s*)?(?:of\s*|:\s*|must be\s*)?(?P<cmp>{COMPARATOR})?\s*(?P<num>\d{{2,3}})\s*%?"
    rf"(?:\s*(?:-|to)\s*(?P<high>\d{{2,3}})\s*%?)?",
    re.I,
)


def find_performance_status(text: str) -> Iterator[Found]:
    for m in _ECOG.finditer(text):
        values = [float(v) for v in re.findall(r"[0-5]", m.group("values"))]
        cmp = comparator(m.group("cmp")) if m.group("cmp") else None
        if cmp is None and m.group("after"):
            cmp = _ECOG_AFTER[m.group("after").lower()]
        if _ECOG_RANGE.search(m.group("values")) and len(values) == 2:
            values = [float(v) for v in range(int(values[0]), int(values[1]) + 1)]
        elif cmp in ("<=", "<") and len(values) == 1:
            top = int(values[0]) - (1 if cmp == "<" else 0)
            values = [float(v) for v in range(top + 1)]
        elif cmp in (">=", ">") and len(values) == 1:
            low = int(values[0]) + (1 if cmp == ">" else 0)
            values = [float(v) for v in range(low, 6)]
        yield Found(
            "performance_status",
            m.start(),
            m.end(),
            "ps.ecog",
            0.95,
            Concept("scale", "ECOG", "ECOG performance status"),
            comparator="in",
            values=tuple(values),
        )
    # Most texts reach this finder for "who" or "ECOG" and name no Karnofsky or Lansky scale.
    for m in _finditer(_KARNOFSKY, text, text.lower(), ("karnofsky", "kps", "lansky")):
        scale = "Lansky" if m.group("scale").lower() == "lansky" else "Karnofsky"
        found = Found(
            "performance_status",
            m.start(),
            m.end(),
            "ps.karnofsky",
            0.9,
            Concept("scale", scale, f"{scale} performance status"),
            comparator=comparator(m.group("cmp")) if m.group("cmp") else ">=",
            value=float(m.group("num")),
        )
        if m.group("high"):
            found.comparator, found.value_high = "between", float(m.group("high"))
        yield found


# Ages in months, weeks or days ("aged >= 12 months") are left to the registry's structured age fields: the
# first pattern takes a bare number as years, so it must not start on one of them.
_NOT_YEARS = r"(?!\d)(?!\s*(?:(?:-|to|through|and)\s*\d{1,3}\s*)?(?:months?|mos?|weeks?|wks?|days?)\b)"
_AGE = re.compile(
    rf"\b(?:aged?|ages?\s*(?:of|:)?)\s*(?:between\s*|from\s*)?(?P<cmp>{COMPARATOR})?\s*(?P<low>\d{{1,3}}){_NOT_YEARS}\s*"
    rf"(?:(?:-|to|through|and)\s*(?P<high>\d{{1,3}}){_NOT_YEARS})?\s*(?:years?|yrs?|y)?(?:\s*(?:of age|old))?"
    rf"(?:\s*(?:and|or)\s*(?P<dir1>older|above|over|younger|below|under)(?!\s+the\s+age))?"
    rf"|(?P<cmp2>{COMPARATOR})\s*(?P<num2>\d{{1,3}})\s*(?:years?|yrs?)\s*(?:of age|old|\(inclusive\))"
    rf"|(?P<num3>\d{{1,3}})\s*(?:years?|yrs?)(?:\s*of age)?\s*(?:or|and)\s*(?P<dir>older|above|over|younger"
    rf"|below|under)"
    rf"|between\s*(?:the ages? of\s*)?(?P<low4>\d{{1,3}})\s*(?:and|-|to|through)\s*(?P<high4>\d{{1,3}})"
    rf"\s*years"
    rf"|(?P<low5>\d{{1,3}})\s*(?:-|to|through)\s*(?P<high5>\d{{1,3}})\s*(?:years?|yrs?)\s*(?:of age|old)"
    rf"|(?P<dir6>under|below|younger\s+than|over|above|older\s+than)\s+the\s+age\s+(?:of\s+)?(?P<num6>\d{{1,3}})"
    rf"{_NOT_YEARS}"
    # "Patients older than 18 years", "over 18 years of age": the unit says it is an age.
    rf"|(?P<dir7>younger\s+than|older\s+than|over|above|under|below)\s+(?P<num7>\d{{1,3}})\s*(?:years?|yrs?)"
    rf"(?:\s*(?:of age|old))?"
    rf"(?!\s*(?:of\s+)?(?:follow|smok|treat|therap|disease|since|after|ago|prior|before))",
    re.I,
)


_AGE_HINT = re.compile(
    r"\b(?:aged?|ages|old|older|younger|between)\b|years? of age|\b(?:over|above|under|below)\s+\d{1,3}\s*y",
    re.IGNORECASE,
)


def _hinted_lines(text: str, hint: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    """(start, end) of the lines containing `hint`; expensive rules run only there."""
    for match in _finditer(hint, text, text.lower()):
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end())
        yield start, len(text) if end < 0 else end


def find_age(text: str) -> Iterator[Found]:
    seen_end = -1
    for line_start, line_end in _hinted_lines(text, _AGE_HINT):
        if line_start < seen_end:
            continue
        seen_end = line_end
        yield from _age_in(text, line_start, line_end)
    yield from _ages_under_label(text)


# PDQ records put the age on the line under its label: "Age:" then "-  18 and over" or "-  18 to 65".
_AGE_LABEL = re.compile(r"^[ \t*-]*Age[ \t]*:[ \t]*\n(?:[ \t]*\n)*[ \t]*(?:[-*][ \t]+)?", re.I | re.M)
_LABELLED_AGE = re.compile(
    r"(?P<low>\d{1,3})\s*(?:years?\s*)?(?:and|or)\s*(?P<dir>over|older|above|under|younger|below)\b"
    r"|(?P<from>\d{1,3})\s*(?:to|-|through)\s*(?P<to>\d{1,3})(?:\s*years?)?(?!\s*(?:months?|weeks?|days?))\b"
    r"|(?P<word>over|above|older than|under|below|younger than)\s*(?P<n>\d{1,3})\b"
    r"(?!\s*(?:months?|weeks?|days?))",
    re.I,
)


def _ages_under_label(text: str) -> Iterator[Found]:
    for label in _AGE_LABEL.finditer(text):
        m = _LABELLED_AGE.match(text, label.end())
        if m is None:
            continue
        found = Found(
            "demographic", m.start(), m.end(), "demographic.age", 0.85, Concept("demographic", "age", "age")
        )
        found.unit = "years"
        if m.group("from"):
            found.comparator = "between"
            found.value, found.value_high = float(m.group("from")), float(m.group("to"))
        elif m.group("dir"):
            found.comparator = ">=" if m.group("dir").lower() in ("over", "older", "above") else "<="
            found.value = float(m.group("low"))
        else:
            found.comparator = ">" if m.group("word").lower().startswith(("over", "older", "above")) else "<"
            found.value = float(m.group("n"))
        yield found


def _age_in(text: str, line_start: int, line_end: int) -> Iterator[Found]:
    for m in _AGE.finditer(text, line_start, line_end):
        age = Concept("demographic", "age", "age")
        if m.group("low") is not None:
            if not re.search(r"years|yrs|age|old", m.group(0), re.I) or (
                m.group(0).lower().startswith("aged") is False
                and not m.group("cmp")
                and not m.group("high")
                and not m.group("dir1")
            ):
                continue
            found = Found("demographic", m.start(), m.end(), "demographic.age", 0.9, age, unit="years")
            if m.group("dir1") and not m.group("high"):
                direction = m.group("dir1").lower()
                found.comparator = ">=" if direction in ("older", "above", "over") else "<="
                found.value = float(m.group("low"))
            elif m.group("high"):
                found.comparator, found.value, found.value_high = (
                    "between",
                    float(m.group("low")),
                    float(m.group("high")),
                )
            else:
                found.comparator = comparator(m.group("cmp")) if m.group("cmp") else ">="
                found.value = float(m.group("low"))
        elif m.group("num2") is not None:
            found = Found(
                "demographic",
                m.start(),
                m.end(),
                "demographic.age",
                0.9,
                age,
                unit="years",
                comparator=comparator(m.group("cmp2")),
                value=float(m.group("num2")),
            )
        elif m.group("num3") is not None:
            direction = m.group("dir").lower()
            found = Found(
                "demographic",
                m.start(),
                m.end(),
                "demographic.age",
                0.9,
                age,
                unit="years",
                comparator=">=" if direction in ("older", "above", "over") else "<=",
                value=float(m.group("num3")),
            )
        elif m.group("num6") is not None or m.group("num7") is not None:
            # "under the age of 18", "over the age 90", "older than 18 years": the bound itself is outside.
            over = (m.group("dir6") or m.group("dir7")).lower().startswith(("over", "above", "older"))
            found = Found(
                "demographic",
                m.start(),
                m.end(),
                "demographic.age",
                0.9,
                age,
                unit="years",
                comparator=">" if over else "<",
                value=float(m.group("num6") or m.group("num7")),
            )
        else:
            low, high = (
                (m.group("low4"), m.group("high4"))
                if m.group("low4")
                else (m.group("low5"), m.group("high5"))
            )
            found = Found(
                "demographic",
                m.start(),
                m.end(),
                "demographic.age",
                0.9,
                age,
                unit="years",
                comparator="between",
                value=float(low),
                value_high=float(high),
            )
        if found.comparator is not None:
            yield found


_SEX = re.compile(
    r"\b(?P<sex>males?|females?|men|women|postmenopausal women|premenopausal women)\b"
    r"(?!\s+(?:of|who are of|with)\s+(?:child|reproductive))(?!\s+partners)",
    re.I,
)
_WOCBP = re.compile(
    r"\b(?:(?:wom[ae]n|females?|participants?|patients?|subjects?)\s+(?:\w+\s+){0,2}of\s+(?:child[- ]?bearing"
    r"|reproductive)\s+potential|WOCBP|FOCBP)",
    re.I,
)
_PREGNANCY_TEST = re.compile(
    r"\bnegative\s+(?:(?:serum|urine|urinary|blood|highly sensitive|sensitive|beta|\(?\u03b2-?hCG\)?|hCG)\s+"
    r"(?:(?:or|and/or|and)\s+(?:serum|urine|urinary)\s+)?)*pregnancy\s+test\b",
    re.IGNORECASE,
)
_PREGNANT = re.compile(r"\b(?:pregnan(?:t|cy)|breast[- ]?feeding|lactating|lactation|nursing)\b", re.I)
# Patterns that are `\b` and then one group (the `\b` binds every alternative), which `_finditer` searches
# without the `\b` (`_at_boundaries`): on Chia text about three times faster. Not every such pattern gains:
# where a branch does not open with a plain letter ("(?:be\s+)?willing"), `re` cannot skip ahead either way.
_WORD_LED = frozenset({_SEX, _PREGNANT})


_BOTH_SEXES = re.compile(
    r"\b(?:(?:men|males?)\s*(?:,|and/or|and|or|&)\s*(?:women|females?)"
    r"|(?:women|females?)\s*(?:,|and/or|and|or|&)\s*(?:men|males?)"
    r"|both sexes|either sex|all sexes|any sex|all genders|any gender)\b",
    re.I,
)
# A line about reproduction speaks of a sex without requiring it: "Women must not be pregnant", "Male
# participant must not donate sperm during the treatment period" (NCT05382559), "Female subjects must not
# donate ... ova" (NCT03260491).
_PREGNANCY_TOPIC = re.compile(
    r"\b(?:pregnan|breast[- ]?feed|lactat|nursing|contracep|birth control|child[- ]?bearing|sperm|ova\b"
    r"|oocytes?\b|eggs?\s+donation|father(?:ing)?\s+(?:a\s+)?child)",
    re.I,
)


_EXEMPTED = re.compile(r"\b(?:except|unless|other than|excluding)\s+(?:for\s+)?(?:[a-z-]+\s+){0,2}$", re.I)


def _line_around(text: str, start: int, end: int) -> str:
    return text[
        text.rfind("\n", 0, start) + 1 : len(text) if text.find("\n", end) < 0 else text.find("\n", end)
    ]


# A line that opens a new item: a bullet or a number. Other lines continue a hard-wrapped item ("Willingness
# of men and women of childbearing potential to practice an adequate method\n     of birth control").
_ITEM_OPENING = re.compile(r"\s*(?:[-*\u2022]|\d{1,2}[.)]\s)")


def _item_around(text: str, start: int, end: int) -> str:
    """The line around a match and the lines that continue it."""
    line_start = text.rfind("\n", 0, start) + 1
    stop = text.find("\n", end)
    while stop >= 0:
        following = text.find("\n", stop + 1)
        next_line = text[stop + 1 : len(text) if following < 0 else following]
        if not next_line.strip() or _ITEM_OPENING.match(next_line):
            break
        stop = following
    return text[line_start : len(text) if stop < 0 else stop]


# "Positive pregnancy test for women of childbearing potential": the test found her pregnant.
_POSITIVE_TEST = re.compile(r"\bpositive\s+(?:[\w-]+\s+){0,2}pregnancy\s+test", re.IGNORECASE)


def _sex_code(word: str) -> str:
    word = word.lower()
    return "female" if "female" in word or "women" in word else "male"


def find_demographic_and_pregnancy(text: str) -> Iterator[Found]:
    # "Men and women aged 18 or over" restricts no one, and "Women must not be pregnant" speaks of women
    # without requiring the patient to be one: the pregnancy atom carries that meaning.
    lowered = text.lower()
    mentions = [
        (m, text.rfind("\n", 0, m.start()), _sex_code(m.group("sex")))
        for m in _finditer(_SEX, text, lowered, ("men", "male"))
    ]
    both = [(m.start(), m.end()) for m in _finditer(_BOTH_SEXES, text, lowered)] if mentions else []
    lines_by_sex: dict[int, set[str]] = {}
    for _, line_start, code in mentions:
        lines_by_sex.setdefault(line_start, set()).add(code)
    for m, line_start, code in mentions:
        if any(start <= m.start() < end for start, end in both):
            continue
        if _PREGNANCY_TOPIC.search(_line_around(text, m.start(), m.end())):
            continue
        # The word still names a person, but it requires no sex when the line names each sex apart
        # ("hospitalized men aged 18-65 and postmenopausal women to age 65") or when it says who is exempt
        # ("except females who are postmenopausal").
        required = len(lines_by_sex[line_start]) == 1 and not _EXEMPTED.search(
            text, max(0, m.start() - 40), m.start()
        )
        yield Found(
            "demographic",
            m.start(),
            m.end(),
            "demographic.sex",
            0.7,
            Concept("demographic", "sex", code),
            checkable=required,
        )
    wocbp_lines: set[int] = set()
    previous_end = -1
    for m in _finditer(_WOCBP, text, lowered, ("potential", "wocbp", "focbp")):
        if text[previous_end : m.start()].strip() == "(":
            continue  # "Women of childbearing potential (WOCBP)" is one mention
        previous_end = m.end()
        # "Negative pregnancy test ... for women of childbearing potential" puts the requirement first.
        line = _item_around(text, m.start(), m.end()).lower()
        wocbp_lines.add(text.rfind("\n", 0, m.start()))
        joins = "or"
        if _POSITIVE_TEST.search(line):
            # Only a woman of childbearing potential who is pregnant: And, where a requirement is an Or.
            code, label, checkable, joins = "pregnant", "pregnant", True, "and"
        elif "pregnancy test" in line:
            code, label, checkable = "negative_pregnancy_test", "negative pregnancy test", True
        elif "contracep" in line or "birth control" in line or "abstinen" in line:
            code, label, checkable = "contraception", "agrees to use contraception", False
        else:
            code, label, checkable = "wocbp", "woman of childbearing potential", True
        yield Found(
            "pregnancy",
            m.start(),
            m.end(),
            "pregnancy.wocbp",
            0.85,
            Concept("pregnancy", "wocbp", "woman of childbearing potential"),
            extra={
                "requirement": Concept("pregnancy", code, label),
                "requirement_checkable": checkable,
                "requirement_joins": joins,
            },
        )
    for m in _finditer(_PREGNANCY_TEST, text, lowered, ("pregnancy",)):
        # Under "Women of childbearing potential must:" the test is the requirement; on a line that names
        # WOCBP the WOCBP atom carries it already.
        if text.rfind("\n", 0, m.start()) in wocbp_lines:
            continue
        yield Found(
            "pregnancy",
            m.start(),
            m.end(),
            "pregnancy.negative_test",
            0.85,
            Concept("pregnancy", "negative_pregnancy_test", "negative pregnancy test"),
        )
    for m in _finditer(_PREGNANT, text, lowered, ("pregnan", "breast", "lactat", "nursing")):
        word = m.group(0).lower()
        code = "pregnant" if word.startswith("pregnan") else "breastfeeding"
        if code == "pregnant" and re.match(r"\s*test", text[m.end() : m.end() + 6]):
            continue
        yield Found(
            "pregnancy", m.start(), m.end(), "pregnancy.status", 0.9, Concept("pregnancy", code, code)
        )


_LIFE = re.compile(
    rf"\blife expectancy\s*(?:of\s*|:\s*|must be\s*|is\s*)?(?P<cmp>{COMPARATOR})?\s*(?:(?P<num>\d+)"
    rf"|(?P<word>one|two|three|six|twelve))\s*(?P<unit>weeks?|months?|years?|days?)",
    re.I,
)
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10, "twelve": 12}


def find_life_expectancy(text: str) -> Iterator[Found]:
    for m in _LIFE.finditer(text):
        value = float(m.group("num")) if m.group("num") else float(_WORDS[m.group("word").lower()])
        yield Found(
            "life_expectancy",
            m.start(),
            m.end(),
            "life_expectancy",
            0.95,
            Concept("observation", "life_expectancy", "life expectancy"),
            comparator=comparator(m.group("cmp")) if m.group("cmp") else ">=",
            value=value,
            unit=m.group("unit").lower().rstrip("s") + "s",
        )


_HALF_LIVES = r"(?:\d+|three|five)\s*half[- ]?li(?:ves|fes?)(?:\s*\([^()\n]{0,40}\))?"
_WINDOW = re.compile(
    # A "<" opens a window too ("Chemotherapy <= 2 weeks prior to study treatment", NCT05961709), with no word
    # boundary before it (">" still needs one: "... must have been administered >= 28 days prior to C1D1"
    # would date the radiotherapy a population names, NCT06657222), nor before "N units since": "Participants
    # must be >=2 weeks since any major surgery" (NCT03586453) dates the surgery.
    r"(?:\b|(?=<)|(?=>=?\s*\d+\s*(?:days?|weeks?|months?|years?)\s+since\b))"
    r"(?:(?P<within>within(?:\s+the)?(?:\s+(?:past|last|previous|preceding|prior))?"
    r"|(?:in|during|over) the (?:past|last|previous|preceding|prior))"
    # "within at least 2 weeks or 3 half-lives", "within 5 half-lives or 2 weeks (whichever is shorter)": the
    # weeks are the window; half-lives, which differ from drug to drug, are for the site.
    # ("relapse free within at least 1 year from diagnosis" is a lower bound, read by the "at least" branch).
    rf"(?:\s+(?P<within_at_least>at\s+least))?(?:\s*{_HALF_LIVES}\s*,?\s*or)?"
    r"\s*(?P<n1>\d+|one|two|three|four|five|six|ten|twelve)\s*(?P<u1>days?|weeks?|months?|years?)"
    r"(?(within_at_least)(?!\s*(?:from|since|after)\b))"
    # "No more than 84 days since prior surgery", "Less than 4 weeks since prior chemotherapy", "chemotherapy
    # less than 4 weeks prior to enrollment": an upper limit on the time since, i.e. within it ("no less
    # than" is a lower one, "on a regimen for less than 28 days" a duration).
    r"|(?P<nomore>(?:no|not)\s+(?:more|longer)\s+than|(?<!no )(?<!not )(?<!for )(?:less|fewer)\s+than|<=?)\s*"
    r"(?P<n3>\d+|one|two|three|four|five|six|ten|twelve)\s*(?P<u3>days?|weeks?|months?|years?)\s*"
    # "<= 28 days or within five half-lives prior to starting study treatment" (NCT06194929)
    rf"(?:or\s+(?:within\s+)?{_HALF_LIVES}\s*(?:,?\s*whichever\s+is\s+(?:shorter|longer)\s*,?\s*)?)?"
    r"(?:(?:must\s+)?(?:have\s+)?elapsed\s*)?(?:since|from|after|(?:prior\s+to|before)(?!\s+(?:the\s+)?(?:[\w-]+\s+)?"
    r"(?:recurrence|progression|relapse|diagnosis)\b))"
    # "at least 3 weeks or at least five half lives, whichever is shorter, before the study drug"
    # (NCT05039801), "greater than 4 weeks (6 weeks for nitrosoureas or mitomycin C) beyond treatment"
    # (NCT05327010): the weeks are the window; the drugs the parenthesis names apart, and half-lives, are for
    # the site.
    r"|(?<!no )(?<!not )(?P<atleast>at least|>=|more than|greater than|>|minimum of|a minimum of"
    r"|(?:no|not) less than)\s*"
    r"(?P<n2>\d+|one|two|three|four|five|six|ten|twelve)\s*(?P<u2>days?|weeks?|months?|years?)\s*"
    r"(?:\([^()\n]{0,60}\)\s*)?"
    rf"(?:,?\s*or\s+(?:at\s+least\s+)?{_HALF_LIVES}\s*(?:,?\s*whichever\s+is\s+(?:shorter|longer)\s*,?\s*)?)?"
    r"(?:must have elapsed\s*)?"
    r"(?:before|prior to|since|from|between|beyond)"
    # "Palliative radiotherapy must have completed 1 week prior to the start of study treatment"
    # (NCT04657068): a treatment ended N units before is one at least N units ago.
    r"|(?:(?<=completed )|(?<=discontinued )|(?<=stopped )|(?<=ended )|(?<=finished ))"
    r"(?P<n4>\d+|one|two|three|four|five|six|ten|twelve)\s*(?P<u4>days?|weeks?|months?)\s*"
    r"(?:before|prior to))"
    r"(?:\s*(?:of|before|prior to|preceding|from|since|after)?\s*(?:the\s*)?"
    r"(?:(?:signing|signature)\s*(?:of\s*)?(?:the\s*)?)?(?P<anchor>first dose|informed consent|consent"
    r"|the first dose|start of (?:study )?treatment|initiation of (?:study )?treatment|randomi[sz]ation"
    r"|enrol?ment|registration|study entry|study start|screening|day 1|cycle 1,? day 1|study drug"
    r"|treatment start))?",
    re.I,
)


# A washout listed treatment by treatment ("Last dose of previous anticancer therapy >= 21 days,
# radiotherapy > 21 days ... prior to the first dose", "washout period ... defined as: Major surgery (>= 4
# weeks), radiation therapy (>= 3 weeks)"): a bare "at least N units" on a line that names a washout or a
# last dose. So is a bare "- N units" or ": N units" there ("Washout periods: Cytotoxic chemotherapy - 3
# weeks. Radiation therapy - 2 weeks", NCT05950464), never a range's "2-4 weeks".
_WASHOUT_LINE = re.compile(r"\bwash-?out\b|\blast dose of\b", re.IGNORECASE)
_BARE_WINDOW = re.compile(
    r"(?:>=|≥|=>|>|at least|more than|a minimum of|\s[-\u2013]|:)\s*"
    r"(?P<n>\d+)\s*(?P<u>days?|weeks?|months?)\b",
    re.IGNORECASE,
)
# The indented sub-items (and blank lines) right after a header line.
_SUB_ITEMS = re.compile(r"(?:\n[ \t]*(?=\n)|\n[ \t]+\S[^\n]*)+")


def find_windows(text: str) -> Iterator[tuple[int, int, TimeWindow]]:
    windows = list(_windows(text))
    yield from windows
    lowered = text.lower()
    if "wash" in lowered or "last dose" in lowered:
        taken = [(start, end) for start, end, _ in windows]
        for line in _WASHOUT_LINE.finditer(text):
            start = text.rfind("\n", 0, line.start()) + 1
            end = text.find("\n", line.end())
            end = len(text) if end < 0 else end
            if text[start:end].rstrip().endswith(":"):
                # A washout header over its treatments, each its own indented sub-item.
                sub = _SUB_ITEMS.match(text, end)
                end = sub.end() if sub is not None else end
            for m in _BARE_WINDOW.finditer(text, start, end):
                if any(s < m.end() and m.start() < e for s, e in taken):
                    continue
                unit = m.group("u").lower().rstrip("s") + "s"
                yield m.start(), m.end(), TimeWindow(float(m.group("n")), unit, "at_least", "washout")


def _windows(text: str) -> Iterator[tuple[int, int, TimeWindow]]:
    for m in _finditer(_WINDOW, text, text.lower()):
        amount_text = m.group("n1") or m.group("n2") or m.group("n3") or m.group("n4")
        amount = float(_WORDS.get(amount_text.lower(), 0) or amount_text)
        unit = (m.group("u1") or m.group("u2") or m.group("u3") or m.group("u4")).lower().rstrip("s") + "s"
        relation = "within" if m.group("within") or m.group("nomore") else "at_least"
        anchor = (m.group("anchor") or "").lower().removeprefix("the ")
        anchor = "informed consent" if anchor == "consent" else anchor
        yield m.start(), m.end(), TimeWindow(amount, unit, relation, anchor)


# A histology named apart from the cancer it types ("Has predominantly squamous cell histology NSCLC", "Have
# predominantly squamous cell histology for NSCLC", "NSCLC with squamous histology"): the cancer of that
# histology, as the vocabulary names it when the words stand together ("squamous NSCLC" is squamous cell lung
# carcinoma), never the cancer of any histology.
_HISTOLOGY_WORD = r"(?:non[- ]?)?squamous"
_HISTOLOGY_DEGREE = r"(?:(?:predominantly|predominant|pure|purely|mainly|mostly)\s+)?"


def _histology(written: str) -> str:
    return re.sub(r"^non[- ]?", "non-", written.lower())


@lru_cache(maxsize=1)
def _histology_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(histology before the cancer, histology after it), over the cancers the vocabulary has a named
    histology of ("squamous NSCLC" makes "NSCLC" one)."""
    cancers = set()
    for entry in vocabulary()["condition"]:
        for term in entry.synonyms:
            head, _, rest = term.partition(" ")
            if re.fullmatch(_HISTOLOGY_WORD, head, re.I) and " or " not in rest and " and" not in rest:
                cancers.add(rest)
    cancer = "|".join(re.escape(c) for c in sorted(cancers, key=len, reverse=True))
    before = re.compile(
        rf"\b{_HISTOLOGY_DEGREE}(?P<histology>{_HISTOLOGY_WORD})(?:\s+cells?)?(?:\s+(?:carcinoma|histology"
        rf"|histologic\s+type|type))+(?:\s+(?:for|of))?\s+(?P<cancer>{cancer})(?![\w-])",
        re.I,
    )
    after = re.compile(
        rf"\b(?P<cancer>{cancer})\s*,?\s+(?:with|of)\s+(?:an?\s+)?{_HISTOLOGY_DEGREE}"
        rf"(?P<histology>{_HISTOLOGY_WORD})(?:\s+cells?)?\s+(?:histology|histologic\s+type|type)\b",
        re.I,
    )
    return before, after


def find_histology_subtypes(text: str) -> Iterator[Found]:
    for pattern in _histology_patterns():
        for m in pattern.finditer(text):
            cancer, _ = link_exact(m.group("cancer"), "condition")
            subtype, _ = link_exact(f"{_histology(m.group('histology'))} {m.group('cancer')}", "condition")
            if cancer is None or subtype is None or not is_a(subtype.code, cancer.code):
                continue
            yield Found("condition", m.start(), m.end(), "condition.histology", 0.9, subtype)


# A mixed histology with a small-cell part ("mixed SCLC/NSCLC histology", "mixed small cell and non-small
# cell lung cancer", "combined SCLC", "mixed tumor(s) with small cell elements"): treated as small cell lung
# cancer, never as the non-small cell cancer it also names, so excluding it excludes no plain NSCLC.
_SMALL_CELL = r"(?:SCLC|small[- ]cell(?:\s+lung)?(?:\s+(?:cancer|carcinoma))?)"
_NON_SMALL_CELL = r"(?:NSCLC|non[- ]?small[- ]cell(?:\s+lung)?(?:\s+(?:cancer|carcinoma))?)"
_MIXED_JOIN = r"\s*(?:/|-|,|\+|\band\b|\bor\b|\band/or\b)?\s*"
_MIXED_SMALL_CELL = re.compile(
    rf"\b(?:mixed|combined)\s+(?:(?:{_SMALL_CELL}){_MIXED_JOIN}{_NON_SMALL_CELL}|{_NON_SMALL_CELL}{_MIXED_JOIN}"
    rf"{_SMALL_CELL}|{_SMALL_CELL})(?![\w-])(?:\s+(?:histology|histologies|tumou?rs?|components?|features|type))?"
    r"|\bmixed\s+tumou?r(?:s|\(s\))?\s+with\s+(?:an?\s+)?small[- ]cell\s+(?:elements?|components?|features?)"
    # "Mixed histology NSCLC with either small-cell or large-cell neuroendocrine cell component" (NCT05920356)
    rf"|\b(?:mixed\s+(?:histology\s+)?)?{_NON_SMALL_CELL}\s+(?:with|containing)\s+(?:either\s+|an?\s+|any\s+)?"
    r"small[- ]cell(?:\s+(?:or|and/or)\s+large[- ]cell\s+neuroendocrine)?(?:\s+cells?)?\s+"
    r"(?:elements?|components?|features?)",
    re.I,
)
SMALL_CELL_LUNG_CANCER = Concept("diagnosis", "sclc", "small cell lung cancer")


def find_mixed_small_cell(text: str) -> Iterator[Found]:
    for m in _MIXED_SMALL_CELL.finditer(text):
        yield Found(
            "condition", m.start(), m.end(), "condition.mixed_small_cell", 0.9, SMALL_CELL_LUNG_CANCER
        )


_LINES = re.compile(
    rf"(?:(?P<cmp>{COMPARATOR})\s*)?(?P<num>\d|one|two|three|four"
    rf"|five)\s*(?:or more\s*)?(?:\(\d\)\s*)?(?:prior\s*"
    rf"|previous\s*)?(?:standard\s*)?(?:systemic\s*)?(?:lines?|regimens?)\b"
    r"(?:\s*(?:of\s*)?(?:prior\s*)?(?:systemic\s*)?(?:anti-?cancer\s*|chemo)?(?:therapy|treatment"
    r"|chemotherapy)?)?",
    re.I,
)


_LINES_HINT = re.compile(r"\b(?:lines?|regimens?)\b", re.IGNORECASE)
# The low end of a range written before the count: "1 to 3 prior lines", "1-4 prior lines", "One to 3 prior
# lines or regimens" (NCT05579366, NCT03564340, NCT05128825) allow every count from one to the other.
_LINES_RANGE_LOW = re.compile(r"\b(?P<low>\d|one|two|three|four|five)\s*(?:to|-|\u2013)\s*$", re.I)


# "Previously untreated CLL", "Untreated AML", "previously untreated, histologically proven invasive carcinoma
# of the cervix": no prior anticancer therapy for the cancer named, which the parser reads as a negated
# systemic anticancer therapy (`parser._non_prefixed`). Not "untreated with X" (a negation cue before X),
# not untreated metastases, infections or complications, which are about those, and not after "no".
_UNTREATED = re.compile(
    r"\b(?:previously\s+)?untreated\b,?(?!\s+(?:with|by)\b)(?P<between>(?:\s+[\w/-]+,?){0,5}?)\s+"
    r"(?:disease|cancer|carcinoma|adenocarcinoma|lymphoma|leuka?emia|myeloma|malignancy|neoplasm|tumou?r|sarcoma"
    r"|glioma|CLL|AML|ALL|NHL|MDS)\b",
    re.IGNORECASE,
)
# ... nor before a stage ("or previously untreated stage IV primary carcinoma"): it binds that stage
# alone, which the criterion's list of stages cannot carry.
_UNTREATED_OTHER = re.compile(r"metasta|brain|CNS|infect|complication|stage", re.IGNORECASE)
# "No untreated immediate life threatening tumor complications": what must not be left untreated is
# something else, and nothing is said of prior therapy.
_UNTREATED_DENIED = re.compile(r"\b(?:no|not|without|any)\s+$", re.IGNORECASE)
# "another untreated malignant neoplasm other than basal cell carcinoma": a second cancer left untreated, not
# the patient's cancer before any therapy; "untreated" stays a qualifier of that cancer (parser._QUALIFIER).
_UNTREATED_SECOND_CANCER = re.compile(r"\b(?:an)?other\s+$|\b(?:second|additional|concurrent)\s+$", re.I)
UNTREATED_RULE = "therapy.untreated"
SYSTEMIC_ANTICANCER = Concept("drug_class", "systemic_anticancer", "systemic anticancer therapy")


def find_untreated(text: str) -> Iterator[Found]:
    for m in _UNTREATED.finditer(text):
        if (
            _UNTREATED_OTHER.search(m.group("between"))
            or _UNTREATED_DENIED.search(text, 0, m.start())
            or _UNTREATED_SECOND_CANCER.search(text, max(0, m.start() - 20), m.start())
        ):
            continue
        word = re.match(r"(?:previously\s+)?untreated", m.group(0), re.IGNORECASE)
        assert word is not None
        yield Found("therapy", m.start(), m.start() + word.end(), UNTREATED_RULE, 0.7, SYSTEMIC_ANTICANCER)


def find_therapy_lines(text: str) -> Iterator[Found]:
    seen_end = -1
    for line_start, line_end in _hinted_lines(text, _LINES_HINT):
        if line_start < seen_end:
            continue
        seen_end = line_end
        yield from _therapy_lines_in(text, line_start, line_end)


def _line_count(word: str) -> float:
    """A count of lines written as a digit or a word ("3", "three")."""
    return float(_WORDS.get(word.lower()) or word)


def _therapy_lines_in(text: str, line_start: int, line_end: int) -> Iterator[Found]:
    for m in _LINES.finditer(text, line_start, line_end):
        value = _line_count(m.group("num"))
        before = max(line_start, m.start() - 12)
        low = None if m.group("cmp") else _LINES_RANGE_LOW.search(text, before, m.start())
        if low is not None and _line_count(low.group("low")) < value:
            yield Found(
                "therapy",
                low.start(),
                m.end(),
                "therapy.lines",
                0.8,
                Concept("therapy", "prior_lines", "prior lines of systemic therapy"),
                comparator="between",
                value=_line_count(low.group("low")),
                value_high=value,
            )
            continue
        cmp = (
            comparator(m.group("cmp"))
            if m.group("cmp")
            else (
                "<="
                if re.search(r"no more than|up to", text[max(0, m.start() - 15) : m.start()], re.I)
                else None
            )
        )
        if cmp is None:
            cmp = ">=" if "or more" in m.group(0).lower() else "="
        yield Found(
            "therapy",
            m.start(),
            m.end(),
            "therapy.lines",
            0.8,
            Concept("therapy", "prior_lines", "prior lines of systemic therapy"),
            comparator=cmp,
            value=value,
        )


_STAGE = re.compile(
    r"\bstages?\s*(?P<low>0|IV[ABC]?|I{1,3}[ABC]?|[1-4][ABC]?)(?P<letters>(?:/[A-D])*)"
    r"(?:\s*(?:-|to|or|/|through)\s*(?P<high>IV[ABC]?|I{1,3}[ABC]?|[1-4][ABC]?))?(?![\w])",
    re.I,
)
# The stage groups listed after the first ("stage IIB, IIIA, IIIB, IIIC"): one range when their numerals
# follow on from one another (IIB-IIIC); stages are written in capitals, so "stage I, II or III" qualifies
# and "stage I, in ..." does not take "in".
_STAGE_LIST = re.compile(r"(?:\s*,\s*(?:(?:or|and)\s+)?|\s+(?:or|and)\s+)(IV[ABC]?|I{1,3}[ABC]?)(?![\w])")
_MEASURABLE = re.compile(
    r"\b(?:at least one\s*)?(?:radiologically\s*|radiographically\s*)?(?:measurable|evaluable)\s*(?:disease"
    r"|lesions?|tumou?rs?)"
    r"(?:[^.;\n]{0,40}?(?:RECIST|RANO|iRECIST|mRECIST|Lugano"
    r"|IMWG)(?:\s*(?:v(?:ersion)?\.?\s*)?\d(?:\.\d)?)?)?",
    re.I,
)


# Parkinson's disease is staged on its own scale ("Hoehn & Yahr stage II-IV", "Hoehn-Yahr stage IV", "Hohen
# and Yahr stage II-IV"): a stage right after the scale's name is that scale's, not a cancer's.
HOEHN_YAHR = "hoehn_yahr"
_HOEHN_YAHR_BEFORE = re.compile(
    r"\bho(?:eh|he)n\s*(?:&|and|-)?\s*yahr\s*(?:\((?:H\s*&\s*Y|HY)\)\s*)?$", re.IGNORECASE
)


# The course of a cancer, as trials select on it ("newly diagnosed glioblastoma", "relapsed or refractory
# multiple myeloma"). A profile records one of the first three; "progressive" is only asked for, and is what
# a recurrent or refractory cancer is.
COURSES = {
    "newly_diagnosed": "newly diagnosed",
    "recurrent": "recurrent or relapsed",
    "refractory": "refractory to treatment",
    "progressive": "progressive",
}
RECORDED_COURSES = ("newly_diagnosed", "recurrent", "refractory")
COURSE_RULE = "condition.course"
_COURSE_WORD = (
    r"(?:newly[\s-]+diagnosed|recurrent|recurring|relapsed|relapsing|refractory|progressive|progressing)"
)
_COURSE_CODES = {
    "newly": "newly_diagnosed",
    "recurrent": "recurrent",
    "recurring": "recurrent",
    "relapsed": "recurrent",
    "relapsing": "recurrent",
    "refractory": "refractory",
    "progressive": "progressive",
    "progressing": "progressive",
}
# One course word, or alternatives of them ("relapsed/refractory", "relapsed, refractory or progressive"),
# not glued to a word before it ("platinum-refractory" is about one drug).
COURSE_PHRASE = re.compile(
    rf"(?<![\w-]){_COURSE_WORD}(?:\s*(?:,\s*)?(?:and/or|or|/|,)\s*{_COURSE_WORD})*", re.IGNORECASE
)
_COURSE_WORDS = re.compile(_COURSE_WORD, re.IGNORECASE)
# A course right before a cancer's name (searched up to the name), up to two other words between ("newly
# diagnosed high-grade glioma", "Newly diagnosed, previously untreated CLL") that are not a conjunction or a
# preposition: the criteria parser's and the notes' reading of the course.
COURSE_BEFORE = re.compile(
    rf"(?P<course>{COURSE_PHRASE.pattern})"
    r"(?P<gap>(?:[\s,]+(?!(?:or|and|nor|with|without|in|of|for|to|after|from|at|by|the|no|not|than)\b)"
    r"[A-Za-z][\w-]*){0,2})[\s,]*$",
    re.IGNORECASE,
)


def course_codes(phrase: str) -> tuple[str, ...]:
    """The courses a COURSE_PHRASE names, in COURSES order, each once."""
    named = {
        _COURSE_CODES[m.group(0).split()[0].split("-")[0].lower()] for m in _COURSE_WORDS.finditer(phrase)
    }
    return tuple(code for code in COURSES if code in named)


_ROMAN_STAGE = {"1": "I", "2": "II", "3": "III", "4": "IV"}
# The Roman numerals of stage groups, and of other diseases' scales (Hoehn and Yahr runs to V).
STAGE_NUMERALS = {"0": 0, "I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}


def _roman_stage(written: str) -> str:
    written = written.upper()
    return _ROMAN_STAGE.get(written[:1], written[:1]) + written[1:] if written[:1].isdigit() else written


def find_condition_qualifiers(text: str) -> Iterator[Found]:
    for m in _STAGE.finditer(text):
        # "stage 3 or 4" is written in the Roman numerals the stage groups use ("III-IV").
        low, high = (_roman_stage(m.group(name) or "") for name in ("low", "high"))
        end = m.end()
        # Sub-stages after a slash share the group's numeral ("FIGO Stage IIIB/C or IV": IIIB, IIIC, IV).
        slashed = [low.rstrip("ABC") + letter.upper() for letter in m.group("letters").split("/") if letter]
        if not high:
            listed, at = list(slashed), m.end()
            while (more := _STAGE_LIST.match(text, at)) is not None:
                listed.append(more.group(1))
                at = more.end()
            numerals = [
                STAGE_NUMERALS[g.rstrip("ABCD")] for g in [low, *listed] if g.rstrip("ABCD") in STAGE_NUMERALS
            ]
            if (
                listed
                and len(numerals) == len(listed) + 1
                and set(numerals) == set(range(min(numerals), max(numerals) + 1))
            ):
                high, end = listed[-1], at
        code = f"{low}-{high}" if high else low
        if _HOEHN_YAHR_BEFORE.search(text, max(0, m.start() - 30), m.start()):
            concept = Concept("stage", f"{HOEHN_YAHR}:{code}", f"Hoehn and Yahr stage {code}")
        else:
            concept = Concept("stage", code, f"stage {code}")
        yield Found("condition", m.start(), end, "condition.stage", 0.85, concept)
    for m in _MEASURABLE.finditer(text):
        criteria = re.search(r"RECIST|RANO|iRECIST|mRECIST|Lugano|IMWG", m.group(0), re.I)
        label = f"measurable disease per {criteria.group(0)}" if criteria else "measurable disease"
        yield Found(
            "condition",
            m.start(),
            m.end(),
            "condition.measurable",
            0.9,
            Concept("diagnosis", "measurable_disease", label),
        )


_NOT_CHECKABLE = re.compile(
    r"\b(?:informed consent|consent form|(?:be\s+)?willing(?:ness)?\s+(?:and able\s+)?to|able to comply"
    r"|ability to comply|"
    r"comply with|compliance with|opinion of the (?:treating\s+)?investigator|investigator'?s? (?:opinion"
    r"|judge?ment|discretion)|"
    r"judge?ment of the investigator|in the (?:investigator'?s\s+)?(?:opinion|judge?ment)|(?:understand"
    r"|sign) (?:and sign )?(?:the|a|an)? ?(?:written )?informed|"
    r"unwilling|unable to comply|geographic(?:al)? proximity|follow-up visits|"
    r"(?:must|agrees? to|agreeable to|willing to)\s+(?:use|practi[cs]e)\s+(?:\w+\s+){0,3}(?:contracep\w*"
    r"|birth control))\b",
    re.I,
)


# "Archival tumour tissue must be available for PD-L1 testing", "a tumor sample for central EGFR mutation
# testing": the patient gives the sample; the assay named after it is what the sample is for, not a result she
# must have. Words between the sample and its purpose that state a result ("a tumor sample positive for EGFR
# mutation by central testing") make it no such phrase.
_SPECIMEN = (
    r"(?:(?:tumou?r|biopsy)\s+)?(?:tissue(?:\s+(?:samples?|specimens?|blocks?))?|samples?|specimens?|blocks?"
    r"|slides|biopsy\s+material)"
)
_STATES_RESULT = (
    r"positiv|negativ|harbou?r|mutat|express|amplif|fusion|rearrang|with\b|show|demonstrat|[<>=%\d]"
)
_ASSAY_NOUN = (
    r"testing|tests?|analys[ie]s|assessments?|evaluations?|determination|confirmation|measurements?|status"
    r"|expression|sequencing|profiling|IHC|FISH|NGS"
)
TISSUE_FOR_TESTING = re.compile(
    rf"\b(?P<specimen>{_SPECIMEN})\b(?:(?!{_STATES_RESULT})[^.;\n]){{0,80}}?"
    r"\b(?P<purpose>(?:for|to\s+(?:allow|confirm|determine|assess|evaluate|perform|enable))\b[^.;\n]*"
    rf"\b(?:{_ASSAY_NOUN})\b(?:\s*\([^()\n]*\))?)",
    re.IGNORECASE,
)
TISSUE_WORDS = ("tissue", "sample", "specimen", "block", "slides", "material")


def find_tissue_for_testing(text: str) -> Iterator[Found]:
    """A sample the trial asks for, for an assay: not answerable from a profile, like consent."""
    for m in TISSUE_FOR_TESTING.finditer(text):
        yield Found(
            "other",
            m.start("specimen"),
            m.end("specimen"),
            "other.tissue_sample",
            0.8,
            Concept("other", "tissue_sample", "tissue sample"),
            checkable=False,
        )


# "within 28 days before signing informed consent": the consent is a time anchor there, not a criterion.
_ANCHOR_BEFORE = re.compile(
    r"(?:before|prior to|after|since|from|of|following)\s+(?:the\s+)?"
    r"(?:(?:signing|signature)\s+(?:of\s+)?(?:the\s+)?)?$",
    re.IGNORECASE,
)


def find_not_checkable(text: str) -> Iterator[Found]:
    for m in _finditer(_NOT_CHECKABLE, text, text.lower()):
        if _ANCHOR_BEFORE.search(text, max(0, m.start() - 40), m.start()):
            continue
        phrase = m.group(0).lower()
        code = (
            "contraception"
            if "contracep" in phrase or "birth control" in phrase
            else "consent"
            if "consent" in phrase or "sign" in phrase
            else (
                "investigator_judgement"
                if "investigator" in phrase or "opinion" in phrase or "judg" in phrase
                else "willingness"
            )
        )
        yield Found(
            "other",
            m.start(),
            m.end(),
            f"other.{code}",
            0.8,
            Concept("other", code, code.replace("_", " ")),
            checkable=False,
        )


_HEPATITIS = re.compile(
    r"\bhepatitis\s+(?P<first>[A-E])(?P<rest>(?:\s*(?:,|/|or|and/or|and)\s*[A-E](?![\w]))+)", re.I
)


def find_shared_heads(text: str) -> Iterator[Found]:
    """ "hepatitis B or C" names two conditions; the second has no head of its own in the text."""
    from nlp.terminology import link

    for m in _HEPATITIS.finditer(text):
        letters = [(m.start("first"), m.group("first"))] + [
            (m.start("rest") + x.start(), x.group(0))
            for x in re.finditer(r"(?<![\w])[A-E](?![\w])", m.group("rest"))
        ]
        # The first letter keeps its head ("hepatitis B") and is found by the dictionary.
        for position, letter in letters[1:]:
            name = f"hepatitis {letter.upper()}"
            concept, _ = link(name, "condition")
            yield Found(
                "condition",
                position,
                position + 1,
                "condition.shared_head",
                0.85 if concept else 0.5,
                concept,
                display=name,
            )


# A name spelled out with its abbreviation in brackets before the last word of the term: "central nervous
# system (CNS) metastases" (68 lines of the 2026 oncology registry), "hepatitis C virus (HCV) infection". The
# bracket splits the term, so the dictionary sees neither "central nervous system metastases" nor "CNS
# metastases"; the abbreviation must be the initials of the words before it.
# The bracket is looked for first; the words before it only where one is found (a pattern starting at every
# word would cost every text with a bracket).
_ABBREVIATION_BRACKET = re.compile(
    r"\(\s*(?P<abbreviation>[A-Za-z]{2,6})\s*\)\s+(?P<rest>[A-Za-z][\w-]*(?:\s+[A-Za-z][\w-]*)?)"
)
_WORDS_BEFORE = re.compile(r"(?<![\w-])(?:[A-Za-z][\w-]*\s+){0,4}[A-Za-z][\w-]*\s*$")
_WORD_OF_NAME = re.compile(r"[A-Za-z][\w-]*")
_ABBREVIATED_KINDS: tuple[AtomKind, ...] = ("condition", "therapy", "procedure")


def find_abbreviated_terms(text: str) -> Iterator[Found]:
    for m in _ABBREVIATION_BRACKET.finditer(text):
        abbreviation = m.group("abbreviation")
        before = _WORDS_BEFORE.search(text, max(0, m.start() - 80), m.start())
        words = [] if before is None else list(_WORD_OF_NAME.finditer(text, before.start(), m.start()))
        named = words[-len(abbreviation) :] if len(words) >= len(abbreviation) else []
        names = []
        if named and "".join(w.group(0)[0] for w in named).lower() == abbreviation.lower():
            # The words spelled out, then the rest of the term: "central nervous system metastases".
            names.append((named[0].start(), " ".join(w.group(0) for w in named)))
        if abbreviation.isupper():
            # The abbreviation, then the rest: "PARP inhibitor" of "poly ADP ribose polymerase (PARP)
            # inhibitor", which the dictionary knows by its abbreviation only.
            names.append((m.start("abbreviation"), abbreviation))
        found = _abbreviated_term(names, m.start("rest"), m.group("rest"))
        if found is not None:
            yield found


def _abbreviated_term(names: list[tuple[int, str]], rest_start: int, rest_text: str) -> Found | None:
    """The longest term a name and the words after the bracket spell, the first name first."""
    rest = list(_WORD_OF_NAME.finditer(rest_text))
    for start, name in names:
        for count in range(len(rest), 0, -1):
            spelled = " ".join([name, *(w.group(0) for w in rest[:count])])
            for kind in _ABBREVIATED_KINDS:
                concept, _ = link_exact(spelled, kind)
                if concept is not None and concept == link_exact(name, kind)[0]:
                    # "hepatitis C virus (HCV) infection": the name alone says as much, and is found.
                    return None
                if concept is not None:
                    end = rest_start + rest[count - 1].end()
                    rule = f"dictionary.{kind}.abbreviated"
                    return Found(kind, start, end, rule, 0.9, concept, display=spelled)
    return None


# Kinds of cancer named by their own words before one shared head: "breast or ovarian cancer", "ocular/uveal
# melanoma or mucosal melanoma", "renal, bladder or prostate cancer". Only the last keeps its head in the
# text; each word (or two or three) before it names a condition when, with the head's words, it spells a
# diagnosis of the dictionary other than the bare head (so "locally advanced or metastatic melanoma" adds
# nothing).
_HEADS = (
    r"\b(?:cancers?|carcinomas?|adenocarcinomas?|melanomas?|sarcomas?|lymphomas?|leuka?emias?|tumou?rs?"
    r"|neoplasms?)\b"
)
_CONDITION_HEAD = re.compile(_HEADS, re.I)
# Without IGNORECASE, on the lower-cased text, the same search takes a third of the time; lower-casing keeps
# every offset of an ASCII text.
_CONDITION_HEAD_LOWER = re.compile(_HEADS)
# A join within reach before the head, which any coordination needs: most heads have none.
_JOIN_NEAR = re.compile(r",|/|\b(?:or|and)\b", re.I)
_WORDS_ONLY = re.compile(r"(?:[A-Za-z][\w-]*\s+)*")
COORDINATION_TRIGGERS = (
    "cancer", "carcinoma", "melanoma", "sarcoma", "lymphoma", "leukemia", "leukaemia", "tumor", "tumour",
    "neoplasm",
)  # fmt: skip
_COORDINATION_BEFORE = re.compile(r"(?:\s*,\s*(?:and/or|or|and)?|\s*/|\s+(?:and/or|or|and))\s*$", re.I)
_CONJUNCT_BEFORE = re.compile(r"(?<![\w-])(?:[A-Za-z][\w-]*\s+){0,2}[A-Za-z][\w-]*$")


def find_coordinated_conditions(text: str) -> Iterator[Found]:
    heads = _CONDITION_HEAD_LOWER.finditer(text.lower()) if text.isascii() else _CONDITION_HEAD.finditer(text)
    for head in heads:
        if not _JOIN_NEAR.search(text, max(0, head.start() - 70), head.start()):
            continue
        word = text[head.start() : head.end()]
        bare, _ = link_exact(word, "condition")
        named = _named_with_head(text, head.start(), head.end(), bare)
        if named is None:
            continue
        # The head's words, longest first, that the earlier names share: "lung cancer" and "cancer" of
        # "non-small cell lung cancer".
        words = text[named : head.start()].split()
        tails = [" ".join([*words[skip:], word]) for skip in range(1, len(words) + 1)]
        end = named
        while (join := _COORDINATION_BEFORE.search(text, max(0, end - 12), end)) and (
            conjunct := _CONJUNCT_BEFORE.search(text, max(0, join.start() - 60), join.start())
        ):
            found = _coordinated_name(text, conjunct, join.start(), tails, bare)
            if found is None:
                break
            yield found
            end = found.start


def _named_with_head(text: str, head_start: int, head_end: int, bare: Concept | None) -> int | None:
    """Where the longest diagnosis of up to five words ending at the head starts ("ovarian cancer"), unless
    it is the bare head."""
    offset = max(0, head_start - 60)
    words = list(_WORD_OF_NAME.finditer(text, offset, head_start))
    for count in range(min(len(words), 4), 0, -1):
        start = words[-count].start()
        if not _WORDS_ONLY.fullmatch(text, start, head_start):
            continue
        concept, _ = link_exact(text[start:head_end], "condition")
        if concept is not None and concept != bare:
            return start
    return None


def _coordinated_name(
    text: str, conjunct: re.Match[str], end: int, tails: list[str], bare: Concept | None
) -> Found | None:
    """The fewest words before a join that spell a diagnosis with the shared head ("breast" of "Patients with
    breast or ovarian cancer"), taking in the words before them that spell the same diagnosis ("primary
    peritoneal" of "ovarian, primary peritoneal or fallopian tube cancer", not "peritoneal" alone)."""
    words = list(_WORD_OF_NAME.finditer(text, conjunct.start(), end))
    found: Found | None = None
    for count in range(1, len(words) + 1):
        start = words[-count].start()
        for tail in tails:
            spelled = f"{text[start:end]} {tail}"
            concept, _ = link_exact(spelled, "condition")
            if concept is not None and concept != bare and (found is None or concept == found.concept):
                rule = "condition.coordinated_head"
                found = Found("condition", start, end, rule, 0.8, concept, display=spelled)
                break
    return found


# Immune checkpoint drug classes named by their targets: "anti-PD-1/PD-L1 therapy", "PD-1 or PD-L1
# inhibitor", "PD1/PDL1 antibody". A target listed after "anti-" or before a drug word is a drug class, not
# the PD-L1 biomarker (expression, TPS and CPS read as usual elsewhere).
_CHECKPOINT_TARGET = r"(?P<anti>anti[-\s]?)?(?P<target>PD-?L-?1|PD-?1|CTLA-?4)(?![\w-])"
_CHECKPOINT_JOIN = re.compile(r"\s*(?:/|,\s*(?:or|and/or|and)?|or|and/or|and)\s*", re.I)
_CHECKPOINT_TARGET_AT = re.compile(_CHECKPOINT_TARGET, re.I)
_CHECKPOINT_HEAD = re.compile(
    r"\s*(?:-\s*)?(?:(?:immune\s+)?checkpoint\s+inhibitors?|inhibitors?|agents?|antibod(?:y|ies)|mAbs?"
    r"|(?:based\s+|directed\s+|targeted\s+)?(?:therap(?:y|ies)|treatments?|immunotherap(?:y|ies))|blockade"
    r"|drugs?)\b",
    re.I,
)
_CHECKPOINT_CLASS = {"pdl1": "anti-PD-L1", "pd1": "anti-PD-1", "ctla4": "anti-CTLA-4"}


def find_checkpoint_targets(text: str) -> Iterator[Found]:
    from nlp.terminology import link

    position = 0
    while (first := _CHECKPOINT_TARGET_AT.search(text, position)) is not None:
        listed = [first]
        end = first.end()
        while (join := _CHECKPOINT_JOIN.match(text, end)) and (
            following := _CHECKPOINT_TARGET_AT.match(text, join.end())
        ):
            listed.append(following)
            end = following.end()
        position = end
        # A drug word after the list names a drug; "anti-" does so only for a list ("anti-PD-1/PD-L1"):
        # a lone "anti-PD-1" is in the vocabulary.
        headed = _CHECKPOINT_HEAD.match(text, end) is not None
        if not (headed or (len(listed) > 1 and any(m.group("anti") for m in listed))):
            continue
        for m in listed:
            if m.group("anti"):
                continue  # "anti-PD-1" is in the drug-class vocabulary as written
            key = re.sub(r"[^a-z0-9]", "", m.group("target").lower())
            concept, _ = link(_CHECKPOINT_CLASS[key], "therapy")
            yield Found(
                "therapy", m.start("target"), m.end("target"), "therapy.checkpoint_target", 0.85, concept
            )


# "Adverse events due to prior therapy", "unresolved toxicity from previous treatment": in a cancer trial
# a treatment named by no drug is the patient's anticancer therapy, and the toxicity it left is what the
# criterion asks about (the parser makes that the site's question, asked only of a treated patient).
_TOXICITY_OF_PRIOR_THERAPY = re.compile(
    r"(?:\b(?:toxicit(?:y|ies)|adverse\s+(?:events?|effects?|reactions?)|AEs?|side[\s-]effects?)\s+"
    r"(?:due\s+to|from|related\s+to|attributed\s+to|attributable\s+to|caused\s+by|of)"
    r"|\brecover(?:ed|y)?\s+(?:(?:the\s+)?effects\s+of\s+)?from)\s+(?:any\s+|all\s+)?(?:the\s+)?"
    r"(?P<therapy>(?:prior|previous|earlier)\s+(?:therap(?:y|ies)|treatments?))\b"
    # "from prior therapy, including commercial osimertinib": the drugs listed carry the question.
    r"(?!\s*,?\s*(?:including|such\s+as|e\.g\.|i\.e\.)\b)",
    re.I,
)


def find_prior_therapy_of_toxicity(text: str) -> Iterator[Found]:
    from nlp.terminology import link

    for m in _TOXICITY_OF_PRIOR_THERAPY.finditer(text):
        concept, _ = link("systemic anticancer therapy", "therapy")
        yield Found(
            "therapy", m.start("therapy"), m.end("therapy"), "therapy.prior_of_toxicity", 0.6, concept
        )
