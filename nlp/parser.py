"""`parse_eligibility`: eligibility text (plus the structured age/sex fields) to criteria trees."""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.pipeline import SpanRuler
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

import nlp.assertion  # noqa: F401  (registers the eligibility_context factory)
from nlp import extract
from nlp.assertion import CUES_KEY, EligibilityContext
from nlp.extract import Found
from nlp.model import And, Atom, Concept, Criterion, Except, Node, Not, Or, ParsedEligibility, Section
from nlp.terminology import link, manifest, vocabulary
from nlp.text import Item, Normalised, items, normalise

TERMS_KEY = "terms"
ATOMS_KEY = "atoms"
# Each rule with the lower-case substrings one of which its matches must contain: a text without any is
# skipped cheaply (substring tests are far faster than Python regex alternations). None: always run.
_FINDERS: tuple[tuple[Callable[[str], Iterable[Found]], tuple[str, ...] | None], ...] = (
    (extract.find_labs, None),
    (extract.find_biomarkers, None),
    (extract.find_performance_status, ("ecog", "who", "zubrod", "karnofsky", "kps", "lansky", "performance")),
    (extract.find_age, ("age", "old", "younger", "between")),
    (
        extract.find_demographic_and_pregnancy,
        ("male", "men", "pregnan", "breast", "lactat", "nursing", "potential", "wocbp", "focbp"),
    ),
    (extract.find_life_expectancy, ("life expectancy",)),
    (extract.find_therapy_lines, ("line", "regimen")),
    (extract.find_condition_qualifiers, ("stage", "measurable", "evaluable")),
    (
        extract.find_not_checkable,
        (
            "consent",
            "willing",
            "comply",
            "complian",
            "investigator",
            "opinion",
            "judg",
            "sign",
            "proximity",
            "follow-up",
            "contracep",
            "birth control",
            "unable",
        ),
    ),
    (extract.find_shared_heads, ("hepatitis",)),
)
_WINDOW_TRIGGERS = (
    "within",
    "past",
    "last",
    "previous",
    "preceding",
    "at least",
    ">",
    "more than",
    "minimum",
)
_WINDOWED_KINDS = frozenset({"therapy", "procedure", "condition", "lab", "biomarker", "other", "pregnancy"})
_OR_LINK = re.compile(r"\b(?:or|nor|either|and/or)\b|/", re.IGNORECASE)
_AND_LINK = re.compile(r"\b(?:and|plus|with)\b(?!/)", re.IGNORECASE)
_LIST_GAP = re.compile(
    r"^[\s,;()\-:]*(?:(?:or|and|and/or|nor|either|/|as well as|plus|with)[\s,()\-:]*)*$", re.I
)


def _case_sensitive(term: str) -> bool:
    return term.isupper() or sum(c.isupper() for c in term) >= 2


_PUNCTUATION = r"""\[\](){}"'<>=*,;:!?~+\-/%#&|"""


def _punctuation_tokenizer(nlp: Language) -> Tokenizer:
    """Splits on whitespace and every punctuation mark, with none of English's exceptions.

    Terms and text go through the same tokenizer, so matching only needs consistency, and this one is about
    five times faster than spaCy's English rules, which were a third of the parse time.
    """
    return Tokenizer(
        nlp.vocab,
        rules={},
        prefix_search=re.compile(rf"^[{_PUNCTUATION}.]").search,
        suffix_search=re.compile(rf"[{_PUNCTUATION}.]$").search,
        infix_finditer=re.compile(rf"[{_PUNCTUATION}]|(?<=[A-Za-z])\.(?=[A-Za-z])").finditer,
    )


@lru_cache(maxsize=1)
def pipeline() -> Language:
    """Blank English with the terminology SpanRulers and the assertion component; built once per process.

    Abbreviations ("HIV", "MI", "ICI") match case-sensitively so "mi" or "mm" in running text do not; every
    other term matches case-insensitively. Both are phrase patterns: token patterns would be far slower.
    """
    nlp = spacy.blank("en")
    nlp.tokenizer = _punctuation_tokenizer(nlp)
    folded: list[dict[str, str]] = []
    cased: list[dict[str, str]] = []
    for kind, entries in vocabulary().items():
        if kind == "lab":
            continue  # labs need their values, so a regex rule finds them
        for entry in entries:
            for term in entry.synonyms:
                (cased if _case_sensitive(term) else folded).append({"label": kind, "pattern": term})
    for name, attr, patterns in (("span_ruler", "LOWER", folded), ("cased_span_ruler", "ORTH", cased)):
        ruler: SpanRuler = nlp.add_pipe(  # type: ignore[assignment]
            "span_ruler",
            name=name,
            config={
                "spans_key": TERMS_KEY,
                "phrase_matcher_attr": attr,
                "validate": False,
                "overwrite": False,
            },
        )
        ruler.add_patterns(patterns)  # type: ignore[arg-type]
    nlp.add_pipe("eligibility_context", config={"targets_key": ATOMS_KEY})
    return nlp


def _dictionary_atoms(doc: Doc) -> Iterable[Found]:
    for span in doc.spans[TERMS_KEY]:
        concept, how = link(span.text, span.label_)
        if span.label_ == "condition" and concept is not None and concept.code in ("cancer",):
            confidence = 0.6  # generic "cancer"/"tumour" says little on its own
        else:
            confidence = 0.95 if how == "exact" else 0.9
        yield Found(
            span.label_,
            span.start_char,
            span.end_char,
            f"dictionary.{span.label_}.{how}",
            confidence,
            concept,
        )


def _priority(found: Found) -> tuple[int, int, int]:
    # The longer reading wins ("KRAS G12C inhibitor" is a drug class, not a biomarker); ties go to the
    # candidate that captured more structure.
    bare = found.rule_id in ("lab.name", "biomarker.gene")
    return (found.end - found.start, found.specificity, 0 if bare else 1)


def _resolve(candidates: list[Found]) -> list[Found]:
    kept: list[Found] = []
    taken: list[tuple[int, int]] = []
    for found in sorted(candidates, key=_priority, reverse=True):
        if found.end <= found.start:
            continue
        # A shared-head expansion sits inside its parent's span by construction.
        if found.rule_id.endswith("shared_head"):
            kept.append(found)
            continue
        if any(found.start < end and start < found.end for start, end in taken):
            continue
        kept.append(found)
        taken.append((found.start, found.end))
    return sorted(kept, key=lambda f: (f.start, f.end))


def _structured(minimum_age: str | None, maximum_age: str | None, sex: str | None) -> list[Criterion]:
    criteria = []
    age = Concept("demographic", "age", "age")
    for field, value, comparator in (("minimum_age", minimum_age, ">="), ("maximum_age", maximum_age, "<=")):
        years = _years(value)
        if years is not None and value is not None:
            atom = Atom(
                "demographic",
                value,
                (0, 0),
                f"structured.{field}",
                1.0,
                True,
                True,
                age,
                comparator,
                years,
                unit="years",
            )
            criteria.append(Criterion("inclusion", f"{field}: {value}", (0, 0), atom))
    code = (sex or "").strip().lower()
    if code in ("male", "female"):
        atom = Atom(
            "demographic",
            sex or "",
            (0, 0),
            "structured.sex",
            1.0,
            True,
            True,
            Concept("demographic", "sex", code),
        )
        criteria.append(Criterion("inclusion", f"sex: {sex}", (0, 0), atom))
    return criteria


def _years(value: str | None) -> float | None:
    match = re.match(r"\s*(\d+(?:\.\d+)?)\s*(year|month|week|day)", value or "", re.IGNORECASE)
    if not match:
        return None
    per_year = {"year": 1.0, "month": 12.0, "week": 52.0, "day": 365.0}[match.group(2).lower()]
    return round(float(match.group(1)) / per_year, 3)


class _Builder:
    def __init__(self, norm: Normalised, doc: Doc, found: list[Found], assertions: list[str]) -> None:
        self.norm = norm
        self.doc = doc
        self.found = found
        self.assertions = assertions
        self.starts = [f.start for f in found]
        self.exception_cues = sorted(s.start_char for s in doc.spans[CUES_KEY] if s.label_ == "exception")
        lowered = norm.text.lower()
        self.windows = (
            list(extract.find_windows(norm.text)) if any(t in lowered for t in _WINDOW_TRIGGERS) else []
        )

    def _original(self, start: int, end: int) -> tuple[str, tuple[int, int]]:
        span = self.norm.to_original(start, end)
        return self.norm.original[span[0] : span[1]], span

    def criterion(self, item: Item) -> Criterion:
        end = _last_end(item)
        text, span = self._original(item.start, end)
        return Criterion(item.section, text, span, self.node(item))

    def node(self, item: Item) -> Node:
        if item.children:
            children = tuple(self.node(child) for child in item.children)
            if len(children) == 1:
                return children[0]
            return Or(children) if item.is_or_group(self.norm.text) else And(children)
        return self.leaf(item)

    def leaf(self, item: Item) -> Node:
        low, high = bisect_left(self.starts, item.start), bisect_left(self.starts, item.end)
        indices = [i for i in range(low, high) if self.found[i].end <= item.end]
        if not indices:
            text, span = self._original(item.start, item.end)
            return Atom("other", text, span, "fallback.unparsed", 0.1, checkable=False, mapped=False)
        cut = next((c for c in self.exception_cues if item.start <= c < item.end), None)
        main = [i for i in indices if cut is None or self.found[i].start < cut]
        exception = [i for i in indices if cut is not None and self.found[i].start >= cut]
        if cut is None or not main:
            return self.combine(indices, item.section)
        if exception:
            return Except(
                self.combine(main, item.section), self.combine(exception, item.section, in_exception=True)
            )
        # "unless treated and stable" names nothing we can link, so the exception stays as text for review.
        text, span = self._original(cut, item.end)
        clause = Atom("other", text, span, "exception.clause", 0.3, checkable=False, assertion="exception")
        return Except(self.combine(main, item.section), clause)

    def combine(self, indices: list[int], section: Section, in_exception: bool = False) -> Node:
        """Atoms joined by "or" (or by commas in a list ending in "or") form an Or; other runs are And-ed.

        In an exclusion, a bare comma list ("HIV, hepatitis B, hepatitis C") names things that each exclude
        on their own, so it is an Or there too; an exception's list stays a conjunction.
        """
        comma_means_or = section == "exclusion" and not in_exception
        runs: list[list[Node]] = [[self.atom_node(indices[0], section, in_exception)]]
        run_is_or: list[bool] = [False]
        run_says_or: list[bool] = [False]
        for previous, current in itertools.pairwise(indices):
            gap = self.norm.text[self.found[previous].end : self.found[current].start]
            node = self.atom_node(current, section, in_exception)
            link = _link(gap)
            if link in ("or", "list"):
                runs[-1].append(node)
                run_says_or[-1] = run_says_or[-1] or link == "or"
                run_is_or[-1] = run_is_or[-1] or link == "or" or comma_means_or
            else:
                runs.append([node])
                run_is_or.append(False)
                run_says_or.append(False)
        groups: list[Node] = []
        for run, is_or, says_or in zip(runs, run_is_or, run_says_or, strict=True):
            if len(run) == 1:
                groups.append(run[0])
            elif says_or and all(isinstance(node, Not) for node in run):
                # "not pregnant or nursing" means neither, not "not pregnant, or not nursing".
                groups.append(Not(Or(tuple(node.child for node in run if isinstance(node, Not)))))
            else:
                groups.append(Or(tuple(run)) if is_or else And(tuple(run)))
        return groups[0] if len(groups) == 1 else And(tuple(groups))

    def atom_node(self, index: int, section: Section, in_exception: bool) -> Node:
        found = self.found[index]
        assertion = self.assertions[index]
        if in_exception:
            assertion = "exception"
        review = None
        if assertion == "negated" and section == "exclusion":
            review = "polarity conflict: negated mention inside an exclusion criterion"
        text, span = self._original(found.start, found.end)
        window = next(
            (
                w
                for start, end, w in self.windows
                if found.kind in _WINDOWED_KINDS
                and self._same_line(found.start, start)
                and not (start < found.end and found.start < end)
            ),
            None,
        )
        atom = Atom(
            kind=found.kind,
            text=found.display or text,
            span=span,
            rule_id=found.rule_id,
            confidence=found.confidence * (0.5 if review else 1.0),
            checkable=found.checkable,
            mapped=found.concept is not None,
            concept=found.concept,
            comparator=found.comparator,
            value=found.value,
            value_high=found.value_high,
            values=found.values,
            unit=found.unit,
            uln_multiple=found.uln_multiple,
            lln_multiple=found.lln_multiple,
            alteration=found.alteration,
            assay=found.assay,
            window=window,
            assertion=assertion,  # type: ignore[arg-type]
            review=review,
        )
        node: Node = atom
        requirement = found.extra.get("requirement")
        if isinstance(requirement, Concept) and requirement.code != "wocbp":
            # "WOCBP must have a negative pregnancy test": not WOCBP, or the requirement holds.
            needed = Atom(
                "pregnancy",
                atom.text,
                span,
                "pregnancy.wocbp_requirement",
                0.8,
                checkable=bool(found.extra.get("requirement_checkable")),
                mapped=True,
                concept=requirement,
            )
            node = Or((Not(atom), needed))
        if assertion == "negated" and review is None:
            node = Not(node)
        return node

    def _same_line(self, a: int, b: int) -> bool:
        low, high = min(a, b), max(a, b)
        return "\n" not in self.norm.text[low:high]


def _link(gap: str) -> str:
    """How two neighbouring atoms are joined: "or", "and", "list" (a bare comma) or "apart"."""
    if re.search(r"[;.]", gap) or len(gap.split()) > 3:
        return "apart"
    if "and/or" in gap.lower():
        return "or"
    if _AND_LINK.search(gap):
        return "and"
    if _OR_LINK.search(gap):
        return "or"
    return "list" if _LIST_GAP.match(gap) and len(gap) < 4 else "apart"


def _last_end(item: Item) -> int:
    return max([item.end, *(_last_end(child) for child in item.children)])


def parse_eligibility(
    text: str,
    *,
    minimum_age: str | None = None,
    maximum_age: str | None = None,
    sex: str | None = None,
) -> ParsedEligibility:
    """Parse eligibility criteria text into criteria trees.

    `minimum_age` / `maximum_age` take ClinicalTrials.gov forms ("18 Years", "6 Months"); `sex` takes
    ALL / FEMALE / MALE. Spans index `text` as given.
    """
    nlp = pipeline()
    norm = normalise(text)
    roots, headings_found = items(norm.text)
    doc = nlp.get_pipe("cased_span_ruler")(nlp.get_pipe("span_ruler")(nlp.make_doc(norm.text)))
    candidates = list(_dictionary_atoms(doc))
    lowered = norm.text.lower()
    for finder, triggers in _FINDERS:
        if triggers is None or any(trigger in lowered for trigger in triggers):
            candidates.extend(finder(norm.text))
    found = _resolve(candidates)
    spans = [doc.char_span(f.start, f.end, alignment_mode="expand") for f in found]
    doc.spans[ATOMS_KEY] = [s for s in spans if s is not None]
    context: EligibilityContext = nlp.get_pipe("eligibility_context")  # type: ignore[assignment]
    context.annotate(doc, norm.text)
    by_start = {s.start_char: s._.assertion for s in doc.spans[ATOMS_KEY]}
    assertions = [
        by_start.get(span.start_char, "present") if span is not None else "present" for span in spans
    ]
    builder = _Builder(norm, doc, found, assertions)
    criteria = _structured(minimum_age, maximum_age, sex) + [builder.criterion(item) for item in roots]
    versions = manifest()
    return ParsedEligibility(
        criteria=criteria,
        parser_version=versions["parser_version"],
        dictionary_version=versions["dictionary_version"],
        section_headings_found=headings_found,
    )
