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
}
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


def normalise(original: str) -> Normalised:
    if not _NEEDS_MAP.search(original):
        return Normalised(original, original, None, None)
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
    r"(?P<kind>inclusion|exclusion|eligibility|selection)(?:\s+criteria|\s+criterion)?\b[^:]{0,80}:?[\W_]*$",
    re.IGNORECASE,
)
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
_OR_GROUP = re.compile(
    r"\b(?:at least one of|any of|one of the following|any one of|one or more of|either)\b", re.IGNORECASE
)
_AND_GROUP = re.compile(r"\b(?:all of the following|all of these|each of the following)\b", re.IGNORECASE)


@dataclass
class Item:
    """One bullet/line of criteria text (normalised offsets), with sub-items under a group header."""

    start: int
    end: int
    indent: int
    marker: str
    section: Section
    children: list[Item] = field(default_factory=list)

    def is_header(self, text: str) -> bool:
        return text[self.start : self.end].rstrip().endswith(":")

    def is_or_group(self, text: str) -> bool:
        """Whether the sub-items are alternatives: any one of them settles the header.

        Under an exclusion heading each listed item excludes on its own ("Patients with the following
        conditions are excluded:"), so there the items are alternatives unless the header asks for all.
        """
        header = text[self.start : self.end]
        if _OR_GROUP.search(header):
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
    if len(line) > 120:
        return None
    match = _HEADING.match(line)
    if match:
        return "exclusion" if match.group("kind").lower() == "exclusion" else "inclusion"
    if _EXCLUSION_LEAD.match(line):
        return "exclusion"
    return None


def items(text: str) -> tuple[list[Item], bool]:
    """Top-level items of normalised text, and whether any section heading was seen.

    Text without headings is read as inclusion criteria.
    """
    section: Section = "inclusion"
    headings_found = False
    roots: list[Item] = []
    headers: list[Item] = []
    previous: Item | None = None
    offset = 0
    for raw in text.split("\n"):
        line_start = offset
        offset += len(raw) + 1
        stripped = raw.strip()
        if not stripped:
            continue
        heading = section_of_heading(stripped)
        if heading is not None:
            section, headings_found = heading, True
            headers.clear()
            previous = None
            continue
        if _CATEGORY.match(stripped):
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
        if previous is not None and not marker and _continues(text, previous, indent, stripped):
            previous.end = body_end
            continue
        item = Item(body_start, body_end, indent, _marker_kind(marker), section)
        while headers and (
            headers[-1].indent > indent
            or (headers[-1].indent == indent and headers[-1].marker == item.marker)
        ):
            headers.pop()
        (headers[-1].children if headers else roots).append(item)
        if item.is_header(text):
            headers.append(item)
        previous = item
    return roots, headings_found


def _continues(text: str, previous: Item, indent: int, line: str) -> bool:
    """An unmarked line continues the previous bullet when it hangs under it or finishes its sentence."""
    if previous.is_header(text):
        return False
    if previous.marker and indent > previous.indent:
        return True
    return line[0].islower() and text[previous.end - 1] not in ".;:"
