"""Which arms a criterion's cohort label names ("Cohort B", "Arms A and C", "Part 2", "Dose Escalation").

Labels and arm titles are compared case-insensitively with whitespace collapsed. A label naming cohorts by
identifier names the arms with that kind and identifier ("Cohort B" names "Cohort B: HER2-positive") and the
arms titled by the bare identifier ("B"). Any label also names the arms whose title starts with it as whole
words ("Part 2" names "Part 2: Dose Expansion", not "Part 20"). "Cohort", "arm" and "group" are one kind:
registries title a trial's cohorts as arm groups; parts and phases are a different split and never match them.

A trial registered without arms may still name its cohorts in its criteria ("Cohort 6: Gastric
adenocarcinoma", "Part 1A monotherapy: ..."): `implicit_cohorts` makes those names its cohorts, so that a
patient who fits one of them is not ruled out by another's disease.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

LABEL_SEPARATOR = "; "
_KINDS = {"cohort": "cohort", "arm": "cohort", "group": "cohort", "part": "part", "phase": "phase"}
_KIND = r"(?P<kind>cohort|arm|group|part|phase)s?"
_ID = r"[a-z0-9]{1,4}"
_LABEL = re.compile(rf"^{_KIND}\s+(?P<ids>{_ID}(?:\s*(?:,|and|&|/|or)\s*{_ID})*)(?:\s+only)?$")
_ARM = re.compile(rf"^{_KIND}\s+(?P<id>{_ID})(?![a-z0-9])")
_BARE_ARM = re.compile(rf"^(?P<id>{_ID})(?:$|\s*:)")
_SEPARATORS = re.compile(r"\s*(?:,|\band\b|&|/|\bor\b)\s*")


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _identifiers(label: str) -> tuple[str, frozenset[str]] | None:
    """The kind and identifiers a label names by identifier; None for a label that is a name."""
    found = _LABEL.match(label)
    if found is None:
        return None
    ids = frozenset(part for part in _SEPARATORS.split(found["ids"]) if part)
    return _KINDS[found["kind"]], ids


def names_arm(label: str, arm_label: str) -> bool:
    """Whether the cohort label of a criterion names the arm titled `arm_label`."""
    wanted, title = _normal(label), _normal(arm_label)
    if not wanted or not title:
        return False
    if title == wanted or (title.startswith(wanted) and not title[len(wanted)].isalnum()):
        return True
    identifiers = _identifiers(wanted)
    if identifiers is None:
        return False
    kind, ids = identifiers
    arm = _ARM.match(title)
    if arm is not None:
        return _KINDS[arm["kind"]] == kind and arm["id"] in ids
    bare = _BARE_ARM.match(title)
    return bare is not None and bare["id"] in ids


def arms_named(label: str | None, arms: Iterable[tuple[int, str]]) -> frozenset[int] | None:
    """Ids of the (id, title) arms a criterion applies to; None when it applies to all of them.

    An unlabelled criterion applies to every arm, and so does one whose label names no arm of the trial:
    guessing which arm was meant could drop a criterion a patient must meet. A criterion written under
    several cohorts' headings carries their labels joined by `LABEL_SEPARATOR`; it applies to the arms any
    of them names, or to all when one of them names none.
    """
    arms = list(arms)
    if not label:
        return None
    named: set[int] = set()
    for part in label.split(LABEL_SEPARATOR):
        found = {arm_id for arm_id, title in arms if names_arm(part, title)}
        if not found:
            return None
        named |= found
    return None if len(named) == len(arms) else frozenset(named)


def implicit_cohorts(labels: Iterable[str | None]) -> tuple[tuple[int, str], ...]:
    """(id, title) of the cohorts a trial without arms names in its criteria's labels, ids negative so they
    are never an arm's; () unless the labels name two or more cohorts of one kind (cohorts, parts, phases or
    names alone: "Part 2" and "Cohort A" together may be a part and a cohort inside it, not alternatives)."""
    titles: dict[str, str] = {}  # normalised title -> title as shown
    kinds: set[str] = set()
    for label in labels:
        for part in (label or "").split(LABEL_SEPARATOR):
            wanted = _normal(part)
            if not wanted:
                continue
            identifiers = _identifiers(wanted)
            if identifiers is None:
                kinds.add("name")
                titles.setdefault(wanted, " ".join(part.split()))
            else:
                kind, ids = identifiers
                kinds.add(kind)
                for identifier in ids:
                    titles.setdefault(f"{kind} {identifier}", f"{kind.capitalize()} {identifier.upper()}")
    if len(kinds) != 1 or len(titles) < 2:
        return ()
    return tuple((-index, titles[key]) for index, key in enumerate(sorted(titles), start=1))
