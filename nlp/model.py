"""The criteria tree handed to the matcher, and its JSON form.

Trees are And / Or / Not / Except(main, exception) over Atoms. Negation found in the text is already applied
by the tree (a negated atom sits under Not), so an Atom always states the positive fact to look up; its
`assertion` records what the text said (provenance), and `review` marks readings a curator should confirm.
An atom about a relative ("family history of long QT syndrome", "a relative of an individual with a BRCA2
mutation") has assertion "family" and is not checkable: no profile records relatives, and the patient's own
condition or result must never answer it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeAlias

AtomKind = Literal[
    "condition",
    "biomarker",
    "lab",
    "therapy",
    "procedure",
    "demographic",
    "performance_status",
    "pregnancy",
    "life_expectancy",
    "other",
]
Assertion = Literal["present", "negated", "historical", "hypothetical", "exception", "family"]
Section = Literal["inclusion", "exclusion"]


@dataclass(frozen=True)
class Concept:
    system: str
    code: str
    label: str


@dataclass(frozen=True)
class TimeWindow:
    amount: float
    unit: str  # days, weeks, months, years
    # "within" (the last N units), "at_least" (N units or more ago) or "current" (still going on: "no
    # concurrent radiotherapy"; its amount is 0)
    relation: str
    anchor: str = ""  # e.g. "first dose", "randomisation", "enrolment"
    # Where the text states the window ("within 6 months"), in the caller's offsets; None when unknown
    # (windows made by hand or stored before spans were recorded).
    span: tuple[int, int] | None = None


@dataclass(frozen=True)
class Atom:
    kind: AtomKind
    text: str
    span: tuple[int, int]
    rule_id: str
    confidence: float
    checkable: bool = True
    mapped: bool = False
    concept: Concept | None = None
    comparator: str | None = None  # one of >=, >, <=, <, =, in
    value: float | None = None
    value_high: float | None = None
    values: tuple[float, ...] = ()  # explicit sets, e.g. ECOG 0 or 1
    unit: str | None = None
    uln_multiple: float | None = None
    lln_multiple: float | None = None
    alteration: str | None = None  # biomarker alteration, e.g. "G12C", "exon 19 deletion", "fusion", "IHC 3+"
    assay: str | None = None
    window: TimeWindow | None = None
    assertion: Assertion = "present"
    review: str | None = None  # why a curator should look, e.g. a polarity conflict
    # The cue that decided `assertion` ("no", "naive to", "history of", "unless"), in the caller's offsets,
    # for curators to see why; None when the atom is plainly present or its assertion came from structure.
    assertion_cue: tuple[int, int] | None = None

    @classmethod
    def make(
        cls,
        kind: AtomKind,
        text: str,
        span: tuple[int, int],
        rule_id: str,
        confidence: float,
        checkable: bool = True,
        mapped: bool = False,
        concept: Concept | None = None,
        comparator: str | None = None,
        value: float | None = None,
        value_high: float | None = None,
        values: tuple[float, ...] = (),
        unit: str | None = None,
        uln_multiple: float | None = None,
        lln_multiple: float | None = None,
        alteration: str | None = None,
        assay: str | None = None,
        window: TimeWindow | None = None,
        assertion: Assertion = "present",
        review: str | None = None,
        assertion_cue: tuple[int, int] | None = None,
    ) -> Atom:
        """The same object as `Atom(...)` (same parameters and defaults), built without the frozen
        dataclass's per-field `object.__setattr__`: about 1 us instead of 4 (the parser builds tens of
        thousands per registry batch). tests/nlp/test_model_make.py keeps the two in step."""
        made = object.__new__(cls)
        # A dict display, not keywords: no keyword dict built and copied on each call.
        made.__dict__.update(
            {
                "kind": kind,
                "text": text,
                "span": span,
                "rule_id": rule_id,
                "confidence": confidence,
                "checkable": checkable,
                "mapped": mapped,
                "concept": concept,
                "comparator": comparator,
                "value": value,
                "value_high": value_high,
                "values": values,
                "unit": unit,
                "uln_multiple": uln_multiple,
                "lln_multiple": lln_multiple,
                "alteration": alteration,
                "assay": assay,
                "window": window,
                "assertion": assertion,
                "review": review,
                "assertion_cue": assertion_cue,
            }
        )
        return made


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class Except:
    main: Node
    exception: Node


Node: TypeAlias = And | Or | Not | Except | Atom


@dataclass(frozen=True)
class Criterion:
    """One criterion of a trial's eligibility text.

    `cohort` is the cohort, arm or part of the study the criterion is restricted to, as the text names it
    (whitespace collapsed, case kept): "Cohort B", "Arms A and C", "Part 2", "Dose Escalation", "Phase Ib".
    It comes from a heading ("Inclusion Criteria for Dose Escalation only:"), a line of its own ("Cohort B:")
    covering the criteria below it until the next heading, or a prefix on the criterion itself ("COHORT II:
    Patient must have progressed..."). None means the criterion applies to every cohort; so does a label
    that names no cohort the trial has, since guessing which one was meant could drop a criterion. A label
    may name several cohorts ("Cohorts A and B", "Parts 4A, 4B and 7"): a matcher compares each identifier.

    `mentions` are phrases recognised in the criterion that link to no concept ("histologically", "adverse
    events"), kept out of `tree` because the criterion also holds something coded: a phrase no profile can
    answer would otherwise turn a criterion the coded part settles into a question for every patient. They
    are shown to curators and scored as entities. A criterion with nothing coded keeps its phrases in the
    tree, so that it stays an open question rather than silently dropping out.
    """

    section: Section
    text: str
    span: tuple[int, int]
    tree: Node
    cohort: str | None = None
    mentions: tuple[Atom, ...] = ()

    @classmethod
    def make(
        cls,
        section: Section,
        text: str,
        span: tuple[int, int],
        tree: Node,
        cohort: str | None = None,
        mentions: tuple[Atom, ...] = (),
    ) -> Criterion:
        """The same object as `Criterion(...)`, built without the frozen dataclass's per-field
        `object.__setattr__` (see `Atom.make`)."""
        made = object.__new__(cls)
        made.__dict__.update(
            {
                "section": section,
                "text": text,
                "span": span,
                "tree": tree,
                "cohort": cohort,
                "mentions": mentions,
            }
        )
        return made


@dataclass(frozen=True)
class ParsedEligibility:
    criteria: list[Criterion]
    parser_version: str
    dictionary_version: str
    section_headings_found: bool = True
    notes: list[str] = field(default_factory=list)

    def atoms(self) -> list[Atom]:
        return [atom for criterion in self.criteria for atom in iter_atoms(criterion.tree)]

    def recognised(self) -> list[Atom]:
        """Every atom read from the text: those in the trees and the uncoded mentions beside them."""
        return [
            atom
            for criterion in self.criteria
            for atom in sorted(
                [*iter_atoms(criterion.tree), *criterion.mentions], key=lambda a: (a.span[0], a.span[1])
            )
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "parser_version": self.parser_version,
            "dictionary_version": self.dictionary_version,
            "section_headings_found": self.section_headings_found,
            "notes": list(self.notes),
            "criteria": [
                {
                    "section": c.section,
                    "text": c.text,
                    "span": list(c.span),
                    "tree": node_to_dict(c.tree),
                    "cohort": c.cohort,
                    "mentions": [node_to_dict(atom) for atom in c.mentions],
                }
                for c in self.criteria
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ParsedEligibility:
        return cls(
            criteria=[
                Criterion(
                    c["section"],
                    c["text"],
                    (c["span"][0], c["span"][1]),
                    node_from_dict(c["tree"]),
                    c.get("cohort"),  # parses stored before cohorts were recorded have none
                    tuple(_atom_from_dict(atom) for atom in c.get("mentions", ())),
                )
                for c in data["criteria"]
            ],
            parser_version=data["parser_version"],
            dictionary_version=data["dictionary_version"],
            section_headings_found=data["section_headings_found"],
            notes=list(data["notes"]),
        )


def iter_atoms(node: Node) -> list[Atom]:
    if isinstance(node, Atom):
        return [node]
    if isinstance(node, Not):
        return iter_atoms(node.child)
    if isinstance(node, Except):
        return iter_atoms(node.main) + iter_atoms(node.exception)
    return [atom for child in node.children for atom in iter_atoms(child)]


def node_to_dict(node: Node) -> dict[str, Any]:
    if isinstance(node, Atom):
        data = asdict(node)
        data["span"] = list(node.span)
        data["values"] = list(node.values)
        if node.assertion_cue is not None:
            data["assertion_cue"] = list(node.assertion_cue)
        if node.window is not None and node.window.span is not None:
            data["window"]["span"] = list(node.window.span)
        return {"type": "atom", **data}
    if isinstance(node, Not):
        return {"type": "not", "child": node_to_dict(node.child)}
    if isinstance(node, Except):
        return {"type": "except", "main": node_to_dict(node.main), "exception": node_to_dict(node.exception)}
    kind = "and" if isinstance(node, And) else "or"
    return {"type": kind, "children": [node_to_dict(child) for child in node.children]}


def node_from_dict(data: dict[str, Any]) -> Node:
    kind = data["type"]
    if kind == "not":
        return Not(node_from_dict(data["child"]))
    if kind == "except":
        return Except(node_from_dict(data["main"]), node_from_dict(data["exception"]))
    if kind in ("and", "or"):
        children = tuple(node_from_dict(child) for child in data["children"])
        return And(children) if kind == "and" else Or(children)
    fields = {k: v for k, v in data.items() if k != "type"}
    fields["span"] = (fields["span"][0], fields["span"][1])
    fields["values"] = tuple(fields["values"])
    fields["concept"] = Concept(**fields["concept"]) if fields["concept"] else None
    fields["window"] = _window_from_dict(fields["window"]) if fields["window"] else None
    if fields.get("assertion_cue") is not None:
        fields["assertion_cue"] = (fields["assertion_cue"][0], fields["assertion_cue"][1])
    return Atom(**fields)


def _atom_from_dict(data: dict[str, Any]) -> Atom:
    node = node_from_dict(data)
    if not isinstance(node, Atom):
        raise ValueError(f"a mention must be an atom, not {data.get('type')!r}")
    return node


def _window_from_dict(data: dict[str, Any]) -> TimeWindow:
    fields = dict(data)
    if fields.get("span") is not None:
        fields["span"] = (fields["span"][0], fields["span"][1])
    return TimeWindow(**fields)
