"""Normalisation with an offset map, section detection and the bullet/indent item tree.

Everything downstream works on normalised text; `Normalised.to_original` maps spans back, so reported spans
always index the text the caller passed in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nlp.model import Section

# Symbols rewritten to the ASCII forms the extraction regexes expect; some expand (>= from one character).
_REPLACEMENTS = {
    "\u2265": ">=",
    "\u2264": "<=",
    "\u2267": ">=",
    "\u2266": "<=",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2010": "-",
    "\u2011": "-",
    "\u00a0": " ",
    "\u00b5": "u",
    "\u03bc": "u",
    "\u00d7": "x",
    "\u2019": "'",
    "\u2018": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2022": "*",
    "\u00b7": "*",
    "\t": " ",
    # superscripts in "10\u2079/L" and "mm\u00b3"
    "\u2070": "^0",
    "\u00b9": "^1",
    "\u00b2": "^2",
    "\u00b3": "^3",
    "\u2074": "^4",
    "\u2075": "^5",
    "\u2076": "^6",
    "\u2077": "^7",
    "\u2078": "^8",
    "\u2079": "^9",
    "\r": " ",
    "\u00ef": "i",  # "naïve"
}
# re.IGNORECASE also matches these four to ASCII letters ("\u017f" to "s", the Kelvin sign to "k"), and
# str.lower() does not map them alike: a text holding one cannot be ruled out by a lower-case substring test,
# and a match's lower-cased text is not the vocabulary word it matched ("b\u0131l\u0131rub\u0131n").
FOLDED_TO_ASCII = ("\u0130", "\u0131", "\u017f", "\u212a")
_ASCII_OF_FOLDED = dict(zip(FOLDED_TO_ASCII, "IisK", strict=True))
# Normalisation writes them as the letters re reads them as, one for one, so nothing after it meets them.
ASCII_LETTERS_OF_FOLDED = str.maketrans(_ASCII_OF_FOLDED)
_REPLACEMENTS.update(_ASCII_OF_FOLDED)


def fold_case(text: str) -> str:
    """`text` lower-cased as re.IGNORECASE compares it: the four letters it folds to ASCII become those.

    A vocabulary keyed by lower-case names must look up an IGNORECASE match through this, not `str.lower`:
    "BILIRUBIN" and "b\u0131l\u0131rub\u0131n" both match "bilirubin", but only the first lowers to it.
    """
    return text.lower() if text.isascii() else text.translate(ASCII_LETTERS_OF_FOLDED).lower()


def holds_folded(text: str) -> bool:
    """Whether `text` holds one of FOLDED_TO_ASCII. They are not ASCII, and `str.isascii` reads a flag the
    string already holds, so most texts are answered without a scan."""
    return not text.isascii() and any(c in text for c in FOLDED_TO_ASCII)


def may_contain(text: str, lowered: str, needles: tuple[str, ...]) -> bool:
    """False only when no case-insensitive (re.IGNORECASE) pattern that needs one of the lower-case `needles`
    can match `text`; `lowered` is `text.lower()`. A cheap test to skip slow regex scans."""
    # A plain loop: `any` over a generator costs more than the substring tests (a lab scan has ~150 needles).
    for needle in needles:
        if needle in lowered:
            return True
    return holds_folded(text)


_NEEDS_MAP = re.compile("[" + "".join(re.escape(c) for c in _REPLACEMENTS) + "]|\\\\")
# ClinicalTrials.gov API v2 text is Markdown: "\\>=" means ">=".
_MARKDOWN_ESCAPED = frozenset("<>*_[]()#+-.=~|!")


@dataclass(frozen=True)
class Normalised:
    original: str
    text: str
    # starts[i] / ends[i]: the original character range that produced normalised character i
    starts: tuple[int, ...] | None
    ends: tuple[int, ...] | None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        if self.starts is None or self.ends is None:
            return start, end
        if end <= start:
            position = self.starts[start] if start < len(self.starts) else len(self.original)
            return position, position
        return self.starts[start], self.ends[end - 1]


# Most texts that need the map need only one-for-one replacements ("\r" in Windows line ends): those are
# rewritten by `str.translate`, and character i comes from character i, as the loop below would record.
_ONE_FOR_ONE = str.maketrans({c: r for c, r in _REPLACEMENTS.items() if len(r) == 1})
_NOT_ONE_FOR_ONE = re.compile(
    "[" + "".join(re.escape(c) for c, r in _REPLACEMENTS.items() if len(r) != 1) + "]|\\\\"
)
# Their offset maps are slices of this when it is long enough (the longest of the 8,373 Chia and legacy XML
# texts has 13,316 characters): a slice refers to ints that exist already, where `tuple(range(...))` makes
# one per character, about 9x slower.
_COUNTING = tuple(range(20_001))


def _counting(start: int, stop: int) -> tuple[int, ...]:
    """`tuple(range(start, stop))`."""
    return _COUNTING[start:stop] if stop <= len(_COUNTING) else tuple(range(start, stop))


def normalise(original: str) -> Normalised:
    if not _NEEDS_MAP.search(original):
        return Normalised(original, original, None, None)
    if not _NOT_ONE_FOR_ONE.search(original):
        length = len(original)
        return Normalised(
            original, original.translate(_ONE_FOR_ONE), _counting(0, length), _counting(1, length + 1)
        )
    return _mapped(original)


def _mapped(original: str) -> Normalised:
    """`normalise` of any text, one replacement at a time."""
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    previous = 0
    for match in _NEEDS_MAP.finditer(original):
        index = match.start()
        pieces.append(original[previous:index])
        starts.extend(range(previous, index))
        ends.extend(range(previous + 1, index + 1))
        char = match.group(0)
        escaped = char == "\\" and original[index + 1 : index + 2] in _MARKDOWN_ESCAPED
        replacement = "" if escaped else _REPLACEMENTS.get(char, char)
        pieces.append(replacement)
        starts.extend([index] * len(replacement))
        ends.extend([index + 1] * len(replacement))
        previous = index + 1
    pieces.append(original[previous:])
    starts.extend(range(previous, len(original)))
    ends.extend(range(previous + 1, len(original) + 1))
    return Normalised(original, "".join(pieces), tuple(starts), tuple(ends))


_HEADING = re.compile(
    r"^[\W_]*(?:(?:key|main|major|general|additional|specific)\s+)?"
    # Qualified headings are common: "Inclusion Criteria for both Dose Escalation and Dose Expansion:".
    r"(?P<kind>inclusion|exclusion|ineligibility|eligibility|selection)s?(?P<word>\s+criteria|\s+criterion)?\b(?P<qualifier>[^:]{0,80})"
    r":?[\W_]*$",
    re.IGNORECASE,
)
# A cohort, arm or part of the study as criteria texts name one: "Cohort B", "Arms A and C", "Part 2",
# "Dose Escalation". Letter identifiers must be capitals so "part of" or "arm or leg" never match; "stage" is
# left out because "Stage IV:" names a disease stage.
_COHORT_ID = r"(?:[A-Z]{1,2}\d?|\d{1,2}[A-Za-z]?|[IVX]{1,4}[ab]?)(?![\w-])"
_COHORT_NAME = (
    rf"(?:(?i:cohorts?|arms?|parts?|groups?|sub-?studies|sub-?study|phases?)\s*{_COHORT_ID}"
    rf"(?:\s*(?:,|and|or|&|/)\s*{_COHORT_ID})*"
    r"|(?i:(?:dose[- ])?(?:escalation|expansion)(?:\s+(?:phase|part|portion|cohorts?|stage))?)(?![\w-])"
    r"|(?i:(?:safety\s+)?run-in(?:\s+(?:phase|part|portion|cohort))?)(?![\w-]))"
)
_COHORT_IN_QUALIFIER = re.compile(_COHORT_NAME)
_COHORT_PREFIX = re.compile(
    rf"^(?P<label>{_COHORT_NAME})(?:\s*\([^)]{{0,60}}\))?(?i:\s+(?:only|patients|participants))?\s*:\s*"
)
# Headings that bring the following criteria back to every cohort.
_ALL_COHORTS = re.compile(
    r"^[\W_]*(?:for\s+)?(?:all|both|every|each)\s+(?:cohorts?|arms?|parts?|groups?|phases?|patients"
    r"|participants|subjects)(?:\s*\([^)]{0,40}\))?(?:,?\s+the following applies)?\s*:\s*$",
    re.IGNORECASE,
)
# A heading whose kind comes after a label of its own: "Treatment Exclusion Criteria:", "Phase 1 and 2
# Exclusion Criteria:", "PROCUREMENT EXCLUSION CRITERIA:", "The main exclusion criteria include but are not
# limited to the following:", "Recent medical concerns exclusions:", "COHORT 6 Inclusion Criteria:". The
# label is a few words that make no sentence (`_NOT_A_LABEL`); "eligibility" and "selection" headings, which
# also head requirements of one kind ("Tumor eligibility:"), never take one.
_LABELLED_HEADING = re.compile(
    r"^[\W_]*(?P<label>(?:[\w'+&/()-]+,?\s+){0,7}?)"
    r"(?P<criteria_for>criteria\s+for\s+)?(?P<kind>inclusion|exclusion|ineligibility)s?"
    r"(?P<word>\s+(?:criteria|criterion|requirements))?\b(?P<qualifier>[^:.;]{0,100})"
    r"(?P<colon>:[\W_]*)?$",
    re.IGNORECASE,
)
_NOT_A_LABEL = re.compile(
    r"\b(?:must|should|shall|will|may|can|meet\w*|met|fulfil\w*|satisf\w*|not|no|any|all|none|above|below"
    r"|continu\w*|defined|per|prior|before|after|to|of|at|with|within|is|are|be|has|have|had|patients?"
    r"|participants?|individuals?|women|men|if|unless|for|in|on|as|which|based|listed|considered|same"
    r"|incomplete|inclusion|exclusion|eligibility)\b|(?:\band|\bor|&|/)\s*$",
    re.IGNORECASE,
)
# Without a colon, a heading's words after its kind are a short label ("Angiographic Inclusion Criteria -
# Phase 1"), never a sentence ("Other exclusion criteria are claustrophobia, pregnancy ...").
_SENTENCE_AFTER_KIND = re.compile(r"\b(?:is|are|was|were|be|include\w*)\b|(?:\S+\s+){6}", re.IGNORECASE)
# What a heading may add after its colon: a line introducing the list ("Exclusion Criteria: -Participants are
# excluded from the study if any of the following criteria apply:").
_HEADING_LEAD = re.compile(
    r"^(?P<heading>[\W_]*(?:inclusion|exclusion)\s+criteria)\s*:\s*[^:]{0,160}\bcriteri(?:a|on)\s+appl(?:y|ies)"
    r"\s*:?[\W_]*$",
    re.IGNORECASE,
)
# A parenthetical after the heading's words, however long: "Exclusion Criteria (1st Screening prior to Tumor
# Resection - See below for evaluation of continuing eligibility prior to start of investigational
# treatment):", or after its colon ("Exclusion Criteria: (all Phases)").
_HEADING_ASIDE = re.compile(
    r"^(?P<heading>[\W_]*(?:inclusion|exclusion)\s+criteria)\s*:?\s*\([^()]{0,240}\)\s*:?[\W_]*$",
    re.IGNORECASE,
)
# A protocol's section number before a heading: "9.2 Exclusion Criteria: (all Phases)" (NCT06047379), "4.1.2
# Exclusion Criteria".
_SECTION_NUMBER = re.compile(r"^\s*\d{1,2}(?:\.\d{1,2}){1,3}\.?\s+(?=[A-Za-z])")
_EXCLUSION_LEAD = re.compile(
    r"^[\W_]*(?:patients|subjects|participants|individuals|candidates|persons)?\s*"
    r"(?:who\s+)?(?:must not|may not|cannot|are not eligible|will be excluded|will not be eligible"
    r"|are excluded)"
    r"[^:]{0,80}:\s*$",
    re.IGNORECASE,
)
_MARKER = re.compile(
    r"^(?P<indent>\s*)(?P<marker>[-*+o](?=\s)|\d{1,2}[.)](?!\d)|[a-zA-Z][.)](?=\s)|\([a-zA-Z0-9]{1,4}\)"
    r"|[ivxIVX]{1,4}[.)](?=\s))\s*"
)
_CATEGORY = re.compile(r"^[A-Z][A-Z /&,-]{3,60}:\s*$")
OR_GROUP = re.compile(
    r"\b(?:at least (?:one|1) of|any of|one of the following|any one of|one or more of|either)\b",
    re.IGNORECASE,
)
_FOLLOWING_END = re.compile(r"\bof\s+the\s+following$", re.IGNORECASE)
_AND_GROUP = re.compile(r"\b(?:all of the following|all of these|each of the following)\b", re.IGNORECASE)
# A line that only names a population ("for acromegaly", "For patients with GHD:", "For healthy
# volunteers") heads the criteria listed under it: a trial with several groups lists each group's own.
POPULATION_LABEL = re.compile(
    r"^for\s+(?!(?:all|both|each|every|any|the|this|that|these|a|an|example|instance|entry|inclusion|exclusion"
    r"|enrol(?:l?ment)?|study|participation|at\s+least|more|less|up|over|under|\d+)\b)"
    r"(?:(?:patients|subjects|participants|those|people|individuals)\s+(?:with|who\s+have)\s+)?"
    r"[A-Za-z][\w'()/-]*(?:\s+[\w'()/-]+){0,4}\s*:?\s*$",
    re.IGNORECASE,
)


@dataclass
class Item:
    """One bullet/line of criteria text (normalised offsets), with sub-items under a group header."""

    start: int
    end: int
    indent: int
    marker: str
    section: Section
    children: list[Item] = field(default_factory=list)
    cohort: str | None = None  # see Criterion.cohort

    def is_header(self, text: str) -> bool:
        line = text[self.start : self.end].rstrip()
        # "Ages 8 to 80 (both inclusive) with a history of one of the following" heads its list as much as
        # it would with the colon its author left out.
        # The search tries every position of the line; its matches end in the "g" of "following", and
        # re.IGNORECASE folds no other letter to "g".
        return line.endswith(":") or (line.endswith(("g", "G")) and _FOLLOWING_END.search(line) is not None)

    def is_or_group(self, text: str) -> bool:
        """Whether the sub-items are alternatives: any one of them settles the header.

        Under an exclusion heading each listed item excludes on its own ("Patients with the following
        conditions are excluded:"), so there the items are alternatives unless the header asks for all.
        """
        header = text[self.start : self.end]
        if OR_GROUP.search(header):
            return True
        return self.section == "exclusion" and not _AND_GROUP.search(header)


def _marker_kind(marker: str) -> str:
    if not marker:
        return ""
    if marker[0].isdigit():
        return "number"
    if marker[0] == "(":
        return "paren"
    if marker[0].isalpha() and len(marker) > 1:
        return "roman" if marker[0] in "ivxIVX" and len(marker) > 2 else "letter"
    return "bullet"


def section_of_heading(line: str) -> Section | None:
    heading = _heading(line)
    return heading[0] if heading else None


def _heading(line: str) -> tuple[Section, str | None] | None:
    """The section a heading line opens and the cohort it is restricted to, if it is a heading."""
    lowered = line.lower()
    # Only a line naming inclusion or exclusion can be a heading with a lead-in, an aside or a label.
    names_kind = "clusion" in lowered or "ineligib" in lowered
    if names_kind:
        line = _SECTION_NUMBER.sub("", line, count=1)
        for lead in (_HEADING_LEAD, _HEADING_ASIDE):
            if (found := lead.match(line)) is not None:
                line = found.group("heading") + ":"
    if len(line) > 120:
        return None
    match = _HEADING.match(line)
    # A line that merely starts with the word ("Inclusion age for women is 13 years", "exclusion from study
    # with the exception of ...") is a criterion: a heading names criteria, ends with a colon, or is the word.
    bare = match is not None and not match.group("qualifier").strip(" .")
    if match and (match.group("word") or line.rstrip().endswith(":") or bare):
        kind = match.group("kind").lower()
        section: Section = "exclusion" if kind in ("exclusion", "ineligibility") else "inclusion"
        return section, _cohort_of_qualifier(match.group("qualifier"))
    if _EXCLUSION_LEAD.match(line):
        return "exclusion", None
    labelled = _LABELLED_HEADING.match(line) if names_kind else None
    if labelled is not None and _is_labelled_heading(labelled):
        kind = labelled.group("kind").lower()
        section = "exclusion" if kind in ("exclusion", "ineligibility") else "inclusion"
        return section, _cohort_of_qualifier(f"{labelled.group('label')} {labelled.group('qualifier')}")
    return None


def _is_labelled_heading(found: re.Match[str]) -> bool:
    label, qualifier = found.group("label"), found.group("qualifier")
    if not (label.strip() or found.group("criteria_for")) or _NOT_A_LABEL.search(label):
        return False
    # "and exclusion criteria" after the kind heads both kinds at once; "any of the following" heads a
    # group of alternatives, not a section.
    if re.search(r"\b(?:inclusion|exclusion)", qualifier, re.IGNORECASE) or OR_GROUP.search(qualifier):
        return False
    if found.group("colon"):
        return True
    return found.group("word") is not None and _SENTENCE_AFTER_KIND.search(qualifier) is None


def _cohort_of_qualifier(qualifier: str) -> str | None:
    """ "for Dose Escalation only" -> "Dose Escalation"; "for both Dose Escalation and Dose Expansion" and
    anything naming no cohort -> None (the criteria apply to every cohort)."""
    # "for all cohorts of Dose Expansion only" restricts to Dose Expansion
    qualifier = re.sub(
        r"\b(?:all|each|every)\s+(?:cohorts?|arms?|parts?)\s+(?:of|in)\s+", "", qualifier, flags=re.I
    )
    if re.search(r"\b(?:both|all|every|each|any)\b", qualifier, re.IGNORECASE):
        return None
    found = _COHORT_IN_QUALIFIER.search(qualifier)
    return " ".join(found.group(0).split()) if found else None


def _cohort_line(line: str) -> tuple[str | None, int] | None:
    """A cohort label opening a line: ("Cohort B", length of the label and its colon), or (None, length) for
    an "All cohorts:" line; None when the line names no cohort."""
    if _ALL_COHORTS.match(line):
        return None, len(line)
    match = _COHORT_PREFIX.match(line)
    if match is None:
        return None
    return " ".join(match.group("label").split()), match.end()


def _wrap_width(lines: list[str]) -> int | None:
    """The column at which hard-wrapped text (ClinicalTrials.gov legacy records wrap near 100) was broken.

    Text counts as hard-wrapped when several lines end within a few columns of the longest one; free text
    with one long line per item does not, so its lines are never glued together.
    """
    lengths = [len(line.rstrip()) for line in lines if line.strip()]
    if len(lengths) < 3:
        return None
    longest = max(lengths)
    if longest < 60 or sum(1 for n in lengths if n >= longest - 8) < 3:
        return None
    return longest


def items(text: str) -> tuple[list[Item], bool]:
    """Top-level items of normalised text, and whether any section heading was seen.

    Text without headings is read as inclusion criteria.
    """
    section: Section = "inclusion"
    cohort: str | None = None
    hanging: tuple[str, int] | None = None  # a labelled bullet's cohort and indent, for lines under it
    headings_found = False
    roots: list[Item] = []
    headers: list[Item] = []
    previous: Item | None = None
    lines = text.split("\n")
    width = _wrap_width(lines)
    offset = 0
    wrapped = False  # whether the line just read was broken by hard wrapping, not by its author
    for number, raw in enumerate(lines):
        line_start = offset
        offset += len(raw) + 1
        stripped = raw.strip()
        follows_wrap, wrapped = wrapped, False
        if not stripped:
            continue
        # The rest of a hard-wrapped line is never a heading, whatever word it starts with.
        heading = None if follows_wrap else _heading(stripped)
        if heading is not None:
            (section, cohort), headings_found = heading, True
            hanging = None
            headers.clear()
            previous = None
            continue
        if _CATEGORY.match(stripped) and _cohort_line(stripped) is None:
            headers.clear()
            previous = None
            continue
        match = _MARKER.match(raw)
        marker = match.group("marker") if match else ""
        indent = len(match.group("indent")) if match else len(raw) - len(raw.lstrip())
        body_start = line_start + (match.end() if match else indent)
        body_end = line_start + len(raw.rstrip())
        if body_end <= body_start:
            continue
        if width is not None and number + 1 < len(lines):
            following = lines[number + 1].split()
            wrapped = bool(following) and len(raw.rstrip()) + 1 + len(following[0]) > width
        if previous is not None and not marker and _continues(text, previous, indent, stripped, follows_wrap):
            previous.end = body_end
            if previous.is_header(text) and previous not in headers:
                # A wrapped header ("... the following diseases are the likely candidates:") heads the
                # items below it as much as a one-line one does.
                headers.append(previous)
            continue
        kind = _marker_kind(marker)
        label = _cohort_line(text[body_start:body_end])
        if (
            previous is not None
            and previous.marker
            and marker
            and indent > previous.indent
            and previous not in headers
            and _cohort_line(text[previous.start : previous.end]) is None
            and not any(
                sibling.marker == kind and sibling.indent == indent and sibling is not previous
                for sibling in (headers[-1].children if headers else roots)
            )
        ):
            # A bullet with bullets indented under it heads them, colon or not: "Chronic myelogenous
            # leukemia" over "Presence of Philadelphia chromosome". A cohort's labelled bullet only names
            # the cohort of the bullets under it. A bullet at the kind and indent of its list's earlier
            # bullets goes on that list: the items before it ("A) ... E)" at the margin under "-  NHL")
            # were a sub-list written out of line.
            headers.append(previous)
        while headers and (
            headers[-1].indent > indent
            or (headers[-1].indent == indent and (headers[-1].marker == kind or (label and not marker)))
        ):
            headers.pop()
        if hanging is not None and indent <= hanging[1]:
            hanging = None
        item_cohort = headers[-1].cohort if headers else hanging[0] if hanging else cohort
        if label is not None:
            if label[1] >= body_end - body_start and not headers:
                cohort = label[0]  # "Cohort B:" on a line of its own covers the criteria below it
                hanging = None
                previous = None
                continue
            item_cohort = label[0] or item_cohort
            if not marker and not headers:
                # "Cohort 1: Cancers beginning initial treatment" above the cohort's bullets
                cohort = item_cohort
            elif not headers and label[0]:
                # "* Cohort 4B: Undergenotyped NSCLC" covers the bullets indented under it
                hanging = (label[0], indent)
        item = Item(body_start, body_end, indent, kind, section, cohort=item_cohort)
        (headers[-1].children if headers else roots).append(item)
        if item.is_header(text) or (not marker and POPULATION_LABEL.match(text[body_start:body_end])):
            headers.append(item)
        previous = item
    return roots, headings_found


def _continues(text: str, previous: Item, indent: int, line: str, follows_wrap: bool) -> bool:
    """An unmarked line continues the previous bullet when it hangs under it, finishes its sentence, or
    follows a line that hard wrapping broke in the middle of a sentence."""
    if text[previous.end - 1] == ":":
        return False
    if previous.marker and indent > previous.indent:
        return True
    if follows_wrap and text[previous.end - 1] not in ".;:":
        return True
    if indent < previous.indent and POPULATION_LABEL.match(line):
        return False  # "for GHD" back at the margin after the previous group's bullets opens the next group
    return line[0].islower() and text[previous.end - 1] not in ".;:"
