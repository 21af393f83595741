"""A trial's registered conditions as an implicit inclusion criterion.

Registries list the conditions a trial studies ("Breast Cancer", "Non-small Cell Lung Cancer"), and criteria
text often takes them for granted ("Measurable disease per RECIST 1.1"): without them, a trial whose criteria
name no diagnosis looks possibly eligible for every patient. The names that link to a diagnosis concept,
exactly or by a listed synonym, become one inclusion criterion: the patient has one of them. Names that do
not link ("Healthy Volunteers", "Quality of Life") are left out, and a fuzzy link is not trusted to rule
anyone out. A name that does not link as a whole may join conditions that do ("Multiple Myeloma and Plasma
Cell Neoplasm", "Hepatitis C, Chronic"): each part that links is one more alternative, since leaving the
name out would make the criterion narrower than the registry. With no diagnosis on file the criterion is
unknown (atoms.condition), never unmet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from nlp import terminology
from nlp.model import Atom, Concept, Criterion, Node, Or
from recruitment.matching.atoms import REGISTERED_CONDITION_RULE

# Not a place in the eligibility text: the criterion comes from the registry's conditions field.
NO_SPAN = (0, 0)


@lru_cache(maxsize=8192)
def linked_condition(name: str) -> Concept | None:
    """The diagnosis concept a registered condition name stands for, if it links without guessing."""
    concept, how = terminology.link(name, "condition")
    if concept is None or how not in ("exact", "synonym") or concept.system != "diagnosis":
        return None
    return concept


# Where registry names join conditions: "A and B", "A/B", "A, Chronic".
_JOINS = re.compile(r"\s*(?:[,;/]|\band\b|\bor\b)\s*", re.IGNORECASE)
# The registry's (PDQ) qualifiers of a disease's course, stage or age group: "Recurrent Adult Acute Myeloid
# Leukemia", "Stage III Multiple Myeloma", "Refractory Chronic Lymphocytic Leukemia".
_COURSE = re.compile(
    r"^(?:(?:recurrent|refractory|relapsed|relapsing|adult|childhood|pediatric|previously\s+treated"
    r"|untreated|newly\s+diagnosed|de\s+novo|progressive|metastatic|advanced|unresectable|locali[sz]ed"
    r"|stage\s+(?:0|I{1,3}|IV)[ABC]?|grade\s+\d)\s+)+",
    re.IGNORECASE,
)


def linked_conditions(name: str) -> tuple[Concept, ...]:
    """The diagnosis concepts a registered name stands for: the whole name's, or else its parts', each
    read without the registry's qualifiers of course, stage or age group."""
    whole = linked_condition(name)
    if whole is not None:
        return (whole,)
    parts = (linked_condition(_COURSE.sub("", part)) for part in _JOINS.split(name) if part)
    return tuple(dict.fromkeys(c for c in parts if c is not None))


def registered_conditions_criterion(names: Iterable[str]) -> Criterion | None:
    """The inclusion criterion "has one of the registered conditions"; None when no name links."""
    concepts = list(dict.fromkeys(c for name in names for c in linked_conditions(name)))
    if not concepts:
        return None
    atoms = tuple(
        Atom(
            "condition",
            f"registered condition: {concept.label}",
            NO_SPAN,
            REGISTERED_CONDITION_RULE,
            1.0,
            mapped=True,
            concept=concept,
        )
        for concept in concepts
    )
    tree: Node = atoms[0] if len(atoms) == 1 else Or(atoms)
    text = "Registered condition: " + " or ".join(concept.label for concept in concepts)
    return Criterion("inclusion", text, NO_SPAN, tree)
