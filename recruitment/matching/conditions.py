"""A trial's registered conditions as an implicit inclusion criterion.

Registries list the conditions a trial studies ("Breast Cancer", "Non-small Cell Lung Cancer"), and criteria
text often takes them for granted ("Measurable disease per RECIST 1.1"): without them, a trial whose criteria
name no diagnosis looks possibly eligible for every patient. The names that link to a diagnosis concept,
exactly or by a listed synonym, become one inclusion criterion: the patient has one of them. Names that do
not link ("Healthy Volunteers", "Quality of Life") are left out, and a fuzzy link is not trusted to rule
anyone out. With no diagnosis on file the criterion is unknown (atoms.condition), never unmet.
"""

from __future__ import annotations

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


def registered_conditions_criterion(names: Iterable[str]) -> Criterion | None:
    """The inclusion criterion "has one of the registered conditions"; None when no name links."""
    concepts = list(dict.fromkeys(c for c in map(linked_condition, names) if c is not None))
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
