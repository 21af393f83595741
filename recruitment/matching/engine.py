"""`evaluate`: criteria trees against a patient's facts, three-valued, with evidence. No database access.

Inclusion criteria must be met, exclusion criteria must not be; unknown stays unknown all the way up, so a
trial is eligible (everything settled in the patient's favour), possibly eligible (nothing against, something
unknown) or ineligible (something against).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from nlp.model import And, Atom, Criterion, Except, Node, Not, iter_atoms, node_from_dict
from recruitment.matching.atoms import Context, evaluate_atom
from recruitment.matching.facts import PatientFacts
from recruitment.matching.logic import Truth, all_of, any_of, except_, negate
from recruitment.matching.results import (
    AtomResult,
    CohortVerdict,
    CriterionVerdict,
    Outcome,
    Overall,
    Settle,
    TrialVerdict,
)

# Criteria about the disease itself decide more than housekeeping ones when ranking possible matches.
_DECISIVE_KINDS = frozenset({"condition", "biomarker"})


def evaluate_tree(
    node: Node, facts: PatientFacts, *, today: date, section: str = "inclusion"
) -> tuple[Truth, tuple[AtomResult, ...]]:
    results: list[AtomResult] = []
    truth = _node(node, Context(facts, today, section), results)
    return truth, tuple(results)


def _node(node: Node, ctx: Context, results: list[AtomResult], *, in_exception: bool = False) -> Truth:
    if isinstance(node, Atom):
        result = evaluate_atom(node, ctx)
        if in_exception and result.truth is Truth.NOT_CHECKABLE:
            # Dropping an unanswerable part of an exception would widen it and silently let patients in.
            result = replace(
                result,
                truth=Truth.UNKNOWN,
                settle=Settle("question", f"Does this exception apply: {node.text}?"),
            )
        results.append(result)
        return result.truth
    if isinstance(node, Not):
        return negate(_node(node.child, ctx, results, in_exception=in_exception))
    if isinstance(node, Except):
        main = _node(node.main, ctx, results, in_exception=in_exception)
        return except_(main, _node(node.exception, ctx, results, in_exception=True))
    values = [_node(child, ctx, results, in_exception=in_exception) for child in node.children]
    return all_of(values) if isinstance(node, And) else any_of(values)


def _outcome(section: str, truth: Truth) -> Outcome:
    if truth is Truth.NOT_CHECKABLE:
        return Outcome.NOT_CHECKABLE
    if truth is Truth.UNKNOWN:
        return Outcome.UNKNOWN
    wanted = Truth.MET if section == "inclusion" else Truth.NOT_MET
    return Outcome.SATISFIED if truth is wanted else Outcome.VIOLATED


def evaluate_criterion(criterion: Criterion, facts: PatientFacts, *, today: date) -> CriterionVerdict:
    truth, atoms = evaluate_tree(criterion.tree, facts, today=today, section=criterion.section)
    tree_atoms = iter_atoms(criterion.tree)
    return CriterionVerdict(
        section=criterion.section,
        text=criterion.text,
        span=criterion.span,
        truth=truth,
        outcome=_outcome(criterion.section, truth),
        atoms=atoms,
        weight=2 if any(a.kind in _DECISIVE_KINDS for a in tree_atoms) else 1,
        needs_review=any(a.review for a in tree_atoms),
    )


def score(overall: Overall, criteria: Iterable[CriterionVerdict]) -> float:
    """1 for eligible, 0 for ineligible; possible matches rank between by their weighted share settled."""
    if overall is Overall.ELIGIBLE:
        return 1.0
    if overall is Overall.INELIGIBLE:
        return 0.0
    counted = [c for c in criteria if c.outcome in (Outcome.SATISFIED, Outcome.UNKNOWN)]
    total = sum(c.weight for c in counted)
    settled = sum(c.weight for c in counted if c.outcome is Outcome.SATISFIED)
    return round(0.5 + 0.49 * settled / total, 4) if total else 0.5


def evaluate(criteria: Sequence[Criterion], facts: PatientFacts, *, today: date) -> TrialVerdict:
    verdicts = tuple(evaluate_criterion(c, facts, today=today) for c in criteria)
    outcomes = {v.outcome for v in verdicts}
    if Outcome.VIOLATED in outcomes:
        overall = Overall.INELIGIBLE
    elif Outcome.UNKNOWN in outcomes:
        overall = Overall.POSSIBLY_ELIGIBLE
    else:
        overall = Overall.ELIGIBLE
    return TrialVerdict(overall=overall, score=score(overall, verdicts), criteria=verdicts)


@dataclass(frozen=True)
class ArmSpec:
    """What the engine needs of an arm/cohort: its stratum definition (nlp tree JSON; empty = none)."""

    id: int
    label: str
    definition: Mapping[str, Any] = field(default_factory=dict)
    cap: int | None = None
    is_suspended: bool = False


@dataclass(frozen=True)
class TrialSpec:
    """What the engine needs of a trial besides its criteria: whether it recruits, and its arms."""

    id: int
    is_open: bool
    arms: tuple[ArmSpec, ...] = ()


def evaluate_cohort(arm: ArmSpec, facts: PatientFacts, *, today: date, enrolled: int = 0) -> CohortVerdict:
    """Whether the patient fits the arm's stratum, and whether the arm takes new candidates."""
    unreadable = False
    if arm.definition:
        try:
            definition = node_from_dict(dict(arm.definition))
        except (KeyError, TypeError, ValueError):
            # A hand-edited definition that is not a criteria tree must not stop matching the other arms.
            definition, unreadable = None, True
        truth, atoms = evaluate_tree(definition, facts, today=today) if definition else (Truth.UNKNOWN, ())
    else:
        truth, atoms = Truth.MET, ()
    if unreadable:
        accepting, reason = not arm.is_suspended, "stratum definition unreadable; the site assigns"
    elif arm.is_suspended:
        accepting, reason = False, "cohort suspended"
    elif arm.cap is not None and enrolled >= arm.cap:
        accepting, reason = False, f"cohort full ({enrolled}/{arm.cap})"
    else:
        accepting, reason = True, "no stratum definition" if not arm.definition else f"stratum {truth.value}"
    return CohortVerdict(arm.id, arm.label, truth, accepting, reason, atoms)


def match_trial(
    trial: TrialSpec,
    criteria: Sequence[Criterion],
    facts: PatientFacts,
    *,
    today: date,
    enrolled: Mapping[int, int] | None = None,
) -> TrialVerdict:
    """The trial verdict plus cohort assignment; closed trials and full/suspended cohorts take no one new.

    `enrolled` maps arm id to the number already enrolled (enrolment is tracked elsewhere).
    """
    verdict = evaluate(criteria, facts, today=today)
    counts = enrolled or {}
    cohorts = tuple(
        evaluate_cohort(arm, facts, today=today, enrolled=counts.get(arm.id, 0)) for arm in trial.arms
    )
    if not trial.is_open:
        return replace(verdict, cohorts=cohorts, accepting=False, closed_reason="trial not recruiting")
    if cohorts and not any(c.assignable for c in cohorts):
        reason = (
            "no open cohort fits" if any(c.accepting for c in cohorts) else "all cohorts full or suspended"
        )
        return replace(verdict, cohorts=cohorts, accepting=False, closed_reason=reason)
    return replace(verdict, cohorts=cohorts)
