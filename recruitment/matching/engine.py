"""`evaluate`: criteria trees against a patient's facts, three-valued, with evidence. No database access.

Inclusion criteria must be met, exclusion criteria must not be; unknown stays unknown all the way up, so a
trial is eligible (everything settled in the patient's favour), possibly eligible (nothing against, something
unknown) or ineligible (something against).

A trial is compiled once (`CompiledTrial`): its trees become functions over a `Session`, one patient on one
evaluation date, in which each distinct atom is evaluated once and its result reused by every criterion and
trial that states it again (age >= 18, ECOG 0-1 and the usual organ-function labs recur in most trials).
Matching many trials first asks `violated` (the truth of each criterion, stopping at the first one that rules
the patient out) and builds the full explanation (`match`) only for the trials the patient may enter.
Truths alone are also shared across patients (`SharedTruths`): an atom's truth is computed once for all the
patients whose facts agree on what its handler reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from nlp.model import And, Atom, Criterion, Except, Node, Not, node_from_dict
from recruitment.matching.atoms import (
    Context,
    answered_without_facts,
    evaluate_atom,
    facts_read,
    facts_signature,
    truth_key,
)
from recruitment.matching.cohorts import arms_named, implicit_cohorts
from recruitment.matching.facts import PatientFacts
from recruitment.matching.horizon import DateTerms, union
from recruitment.matching.logic import Truth, except_, negate
from recruitment.matching.results import (
    AtomResult,
    CohortVerdict,
    CriterionVerdict,
    Outcome,
    Overall,
    Settle,
    SkippedCriterion,
    TrialVerdict,
)

# Criteria about the disease itself decide more than housekeeping ones when ranking possible matches.
_DECISIVE_KINDS = frozenset({"condition", "biomarker"})
_MET, _NOT_MET, _UNKNOWN, _NOT_CHECKABLE = Truth.MET, Truth.NOT_MET, Truth.UNKNOWN, Truth.NOT_CHECKABLE
_OUTCOMES = {
    section: {
        _MET: Outcome.SATISFIED if section == "inclusion" else Outcome.VIOLATED,
        _NOT_MET: Outcome.VIOLATED if section == "inclusion" else Outcome.SATISFIED,
        _UNKNOWN: Outcome.UNKNOWN,
        _NOT_CHECKABLE: Outcome.NOT_CHECKABLE,
    }
    for section in ("inclusion", "exclusion")
}


# Truths as small ints in the shared store: a dict holding only strings and ints is not tracked by the garbage
# collector, so a store of a million truths adds nothing to its collections.
_CODES = {truth: number for number, truth in enumerate(Truth)}
_BY_CODE = tuple(Truth)


class SharedTruths:
    """Atom truths shared by all patients whose facts agree on what decides them, on one evaluation date.

    An atom's truth depends only on its `truth_key`, the date and the part of the facts its handler reads
    (`atoms.facts_read`); patients with the same `atoms.facts_signature` of that part form a class, and the
    truth is computed by the handler once per class (its explanation, which names the patient's own facts,
    is not shared). Valid for the life of the process: handlers and terminology do not change under it.
    At `limit` truths it starts again from empty.
    """

    __slots__ = ("_classes", "hits", "limit", "size")

    def __init__(self, limit: int = 1_000_000) -> None:
        self.limit, self.hits, self.size = limit, 0, 0
        # Per class, the truth codes of the atoms answered for it, by `_Leaf.key`.
        self._classes: dict[tuple[date, str, tuple[object, ...]], dict[str, int]] = {}

    def class_truths(self, facts: PatientFacts, today: date, read: str) -> dict[str, int]:
        """The truths known for the class of patients whose facts agree with `facts` on `read`."""
        key = (today, read, facts_signature(facts, read))
        found = self._classes.get(key)
        if found is None:
            found = self._classes[key] = {}
        return found

    def remember(self, truths: dict[str, int], key: str, truth: Truth) -> None:
        if self.size >= self.limit:
            # A session still holding a class's dict from before keeps using it: it is still that class's.
            self._classes, self.size = {}, 0
        truths[key] = _CODES[truth]
        self.size += 1

    def copy(self) -> SharedTruths:
        """An independent copy, holding the same truths (measurements that start from one state)."""
        copied = SharedTruths(self.limit)
        copied._classes = {key: dict(truths) for key, truths in self._classes.items()}
        copied.size = self.size
        return copied


# One per process: every session shares it unless given another (or None, for per-patient truths only).
SHARED_TRUTHS = SharedTruths()


class Session:
    """One patient on one evaluation date: every distinct atom is evaluated at most once.

    Results are keyed by what decides them (`atoms.truth_key`, plus the wording for the explanation), so a
    session may be shared by any number of compiled trials; it must not outlive a change of the facts.
    Truths alone (the first pass) come from `shared` when another patient of the same class has had them.
    """

    __slots__ = ("_classes", "_contexts", "_results", "_truths", "facts", "shared", "today")

    def __init__(self, facts: PatientFacts, today: date, shared: SharedTruths | None = SHARED_TRUTHS) -> None:
        self.facts, self.today, self.shared = facts, today, shared
        self._contexts = {section: Context(facts, today, section) for section in ("inclusion", "exclusion")}
        self._truths: dict[str, Truth] = {}
        self._results: dict[str, AtomResult] = {}
        self._classes: dict[str, dict[str, int]] = {}

    def truth(self, leaf: _Leaf) -> Truth:
        found = self._truths.get(leaf.key)
        if found is not None:
            return found
        shared = self.shared
        if shared is None:
            return self.result(leaf).truth
        known = self._classes.get(leaf.read)
        if known is None:
            known = self._classes[leaf.read] = shared.class_truths(self.facts, self.today, leaf.read)
        code = known.get(leaf.key)
        if code is None:
            found = self.result(leaf).truth
            shared.remember(known, leaf.key, found)
        else:
            shared.hits += 1
            found = self._truths[leaf.key] = _BY_CODE[code]
        return found

    def result(self, leaf: _Leaf) -> AtomResult:
        found = self._results.get(leaf.explain_key)
        if found is None:
            found = leaf.evaluate(self._contexts[leaf.section])
            self._results[leaf.explain_key] = found
            self._truths[leaf.key] = found.truth
        elif found.span != leaf.atom.span:
            found = AtomResult.make(
                found.text, leaf.atom.span, found.truth, found.reason, found.evidence, found.settle
            )
        return found


_NO_FACTS = {section: Context(PatientFacts(), date.min, section) for section in ("inclusion", "exclusion")}
# The session criteria made only of such atoms are explained in, once (they read nothing of it).
_NO_PATIENT = Session(PatientFacts(), date.min, None)


class _Leaf:
    """An atom where it stands in a tree, with the keys its results are shared under within a session."""

    __slots__ = ("atom", "constant", "explain_key", "in_exception", "key", "read", "section")

    def __init__(self, atom: Atom, section: str, in_exception: bool) -> None:
        self.atom, self.section, self.in_exception = atom, section, in_exception
        self.key = f"{in_exception:d}{truth_key(atom, section)}"
        self.read = facts_read(atom)
        self.explain_key = f"{self.key}|{atom.text!r}"
        # Atoms no profile can answer get the same result for everyone: computed and serialised here, once.
        self.constant = (
            self.evaluate(_NO_FACTS[section]).keep_stored() if answered_without_facts(atom) else None
        )

    def evaluate(self, ctx: Context) -> AtomResult:
        result = evaluate_atom(self.atom, ctx)
        if self.in_exception and result.truth is _NOT_CHECKABLE:
            # Dropping an unanswerable part of an exception would widen it and silently let patients in.
            result = replace(
                result,
                truth=_UNKNOWN,
                settle=Settle("question", f"Does this exception apply: {self.atom.text}?"),
            )
        return result


TruthFn = Callable[[Session], Truth]


def _all(children: tuple[TruthFn, ...], lets_in: bool) -> TruthFn:
    """Kleene And, stopping at the first child not met; parts for the site as `logic.all_of` says."""

    def evaluate(session: Session) -> Truth:
        unknown = met = for_the_site = False
        for child in children:
            value = child(session)
            if value is _NOT_MET:
                return _NOT_MET
            if value is _UNKNOWN:
                unknown = True
            elif value is _MET:
                met = True
            else:
                for_the_site = True
        return _UNKNOWN if unknown else _MET if met and (lets_in or not for_the_site) else _NOT_CHECKABLE

    return evaluate


def _any(children: tuple[TruthFn, ...], lets_in: bool) -> TruthFn:
    """Kleene Or, stopping at the first child met; parts for the site as `logic.any_of` says."""

    def evaluate(session: Session) -> Truth:
        unknown = failed = for_the_site = False
        for child in children:
            value = child(session)
            if value is _MET:
                return _MET
            if value is _UNKNOWN:
                unknown = True
            elif value is _NOT_MET:
                failed = True
            else:
                for_the_site = True
        return (
            _UNKNOWN if unknown else _NOT_MET if failed and not (lets_in and for_the_site) else _NOT_CHECKABLE
        )

    return evaluate


def _compile(node: Node, section: str, in_exception: bool, leaves: list[_Leaf], lets_in: bool) -> TruthFn:
    """The tree as a function of the session; appends its atoms to `leaves` in reading order. `lets_in`:
    whether the node being met lets the patient in (see `logic`)."""
    if isinstance(node, Atom):
        leaf = _Leaf(node, section, in_exception)
        leaves.append(leaf)
        if leaf.constant is not None:
            value = leaf.constant.truth
            return lambda session: value
        return lambda session: session.truth(leaf)
    if isinstance(node, Not):
        child = _compile(node.child, section, in_exception, leaves, not lets_in)
        return lambda session: negate(child(session))
    if isinstance(node, Except):
        main = _compile(node.main, section, in_exception, leaves, lets_in)
        exception = _compile(node.exception, section, True, leaves, not lets_in)
        return lambda session: except_(main(session), exception(session), lets_in=lets_in)
    children = tuple(_compile(child, section, in_exception, leaves, lets_in) for child in node.children)
    return _all(children, lets_in) if isinstance(node, And) else _any(children, lets_in)


class _CompiledTree:
    __slots__ = ("leaves", "truth")

    def __init__(self, node: Node, section: str) -> None:
        leaves: list[_Leaf] = []
        self.truth = _compile(node, section, False, leaves, section == "inclusion")
        self.leaves = tuple(leaves)

    def explain(self, session: Session) -> tuple[Truth, tuple[AtomResult, ...]]:
        return self.truth(session), tuple([leaf.constant or session.result(leaf) for leaf in self.leaves])


class _CompiledCriterion:
    __slots__ = ("constant", "criterion", "dated", "decisive", "needs_review", "outcomes", "tree", "weight")

    def __init__(self, criterion: Criterion) -> None:
        self.criterion = criterion
        self.tree = _CompiledTree(criterion.tree, criterion.section)
        self.outcomes = _OUTCOMES[criterion.section]
        atoms = [leaf.atom for leaf in self.tree.leaves]
        self.decisive = any(a.kind in _DECISIVE_KINDS for a in atoms)
        self.weight = 2 if self.decisive else 1
        self.needs_review = any(a.review for a in atoms)
        # Whether the date can reach the criterion's truth: a window or an age anywhere in it.
        self.dated = DateTerms.of_atoms(atoms) != DateTerms() or any(
            a.kind == "demographic" and a.concept is not None and a.concept.code == "age" for a in atoms
        )
        # Made only of atoms no profile can answer ("signed informed consent", an unreadable sentence), the
        # criterion is explained the same for every patient: once, here (a third of the criteria explained
        # for a patient against the demo registry).
        self.constant: CriterionVerdict | None = None
        if all(leaf.constant is not None for leaf in self.tree.leaves):
            self.constant = self.explain(_NO_PATIENT).keep_stored()

    def outcome(self, session: Session) -> Outcome:
        return self.outcomes[self.tree.truth(session)]

    def explain(self, session: Session, applies_to: tuple[str, ...] = ()) -> CriterionVerdict:
        if self.constant is not None and not applies_to:
            return self.constant
        truth, atoms = self.tree.explain(session)
        criterion = self.criterion
        return CriterionVerdict.make(
            section=criterion.section,
            text=criterion.text,
            span=criterion.span,
            truth=truth,
            outcome=self.outcomes[truth],
            atoms=atoms,
            weight=self.weight,
            needs_review=self.needs_review,
            cohort=criterion.cohort,
            applies_to=applies_to,
        )


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


class _CompiledArm:
    __slots__ = ("arm", "tree", "unreadable")

    def __init__(self, arm: ArmSpec) -> None:
        self.arm, self.tree, self.unreadable = arm, None, False
        if arm.definition:
            try:
                self.tree = _CompiledTree(node_from_dict(dict(arm.definition)), "inclusion")
            except (KeyError, TypeError, ValueError):
                # A hand-edited definition that is not a criteria tree must not stop matching the other arms.
                self.unreadable = True

    def verdict(
        self,
        session: Session,
        enrolled: int,
        eligibility: Overall = Overall.ELIGIBLE,
        skipped: tuple[SkippedCriterion, ...] = (),
    ) -> CohortVerdict:
        """Whether the patient fits the arm's stratum, and whether the arm takes new candidates.

        `eligibility` is the verdict on the criteria that apply to the arm, `skipped` the criteria that don't.
        """
        arm = self.arm
        if self.tree is not None:
            truth, atoms = self.tree.explain(session)
        else:
            truth, atoms = (_UNKNOWN if self.unreadable else _MET), ()
        # Suspension and the cap come first: a cohort that takes no one takes no one, whatever its stratum.
        if arm.is_suspended:
            accepting, reason = False, "cohort suspended"
        elif arm.cap is not None and enrolled >= arm.cap:
            accepting, reason = False, f"cohort full ({enrolled}/{arm.cap})"
        elif self.unreadable:
            accepting, reason = True, "stratum definition unreadable; the site assigns"
        elif eligibility is Overall.INELIGIBLE:
            accepting, reason = True, "the criteria that apply to this cohort are not met"
        else:
            accepting, reason = (
                True,
                "no stratum definition" if not arm.definition else f"stratum {truth.value}",
            )
        return CohortVerdict(arm.id, arm.label, truth, accepting, reason, atoms, eligibility, skipped)


def _overall(verdicts: Iterable[CriterionVerdict]) -> Overall:
    outcomes = {v.outcome for v in verdicts}
    if Outcome.VIOLATED in outcomes:
        return Overall.INELIGIBLE
    if Outcome.UNKNOWN in outcomes:
        return Overall.POSSIBLY_ELIGIBLE
    return Overall.ELIGIBLE


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


class CompiledTrial:
    """A trial's criteria and arms compiled for evaluation; build one per trial version and reuse it.

    A criterion labelled for some cohorts ("Inclusion Criteria for Cohort A:") counts only for the arms its
    label names (`cohorts.arms_named`); a trial with such criteria is judged per arm, and the patient may
    enter it when some arm's criteria allow. A trial without arms is judged the same way over the cohorts its
    labels name (`cohorts.implicit_cohorts`), with no cohort verdicts of its own. When no label names an arm,
    every criterion counts for the whole trial.
    """

    __slots__ = (
        "_arms",
        "_criteria",
        "_date_terms",
        "_restricted",
        "_scopes",
        "_screening",
        "_shared",
        "_titles",
        "criteria",
        "spec",
    )

    def __init__(self, spec: TrialSpec, criteria: Sequence[Criterion]) -> None:
        self.criteria = tuple(criteria)
        self._criteria = tuple(_CompiledCriterion(c) for c in self.criteria)
        # Disease and biomarker inclusion criteria rule out most patients, so the first pass asks them first.
        self._screening = tuple(
            sorted(self._criteria, key=lambda c: not (c.decisive and c.criterion.section == "inclusion"))
        )
        self._use_spec(spec)

    def with_spec(self, spec: TrialSpec) -> CompiledTrial:
        """The same compiled criteria under another spec (new arms, caps or status): nothing is recompiled
        but the arms."""
        copy = CompiledTrial.__new__(CompiledTrial)
        copy.criteria, copy._criteria, copy._screening = self.criteria, self._criteria, self._screening
        copy._use_spec(spec)
        return copy

    def _use_spec(self, spec: TrialSpec) -> None:
        self.spec = spec
        self._arms = tuple(_CompiledArm(arm) for arm in spec.arms)
        self._date_terms: DateTerms | None = None
        titles = [(arm.id, arm.label) for arm in spec.arms] or list(
            implicit_cohorts(c.criterion.cohort for c in self._criteria)
        )
        # The arms (or, without arms, the cohorts the labels name) a patient may enter through, by id.
        self._titles = dict(titles)
        scopes = {id(c): arms_named(c.criterion.cohort, titles) for c in self._criteria}
        # Each criterion with the arms it is restricted to (None: all), in evaluation and screening order.
        self._scopes = tuple((c, scopes[id(c)]) for c in self._criteria)
        self._shared = tuple(c for c in self._screening if scopes[id(c)] is None)
        self._restricted = tuple((c, scope) for c in self._screening if (scope := scopes[id(c)]) is not None)

    @property
    def date_terms(self) -> DateTerms:
        """The windows and exact-age limits of the criteria and of the arms' strata: what of this trial
        reads the evaluation date (`horizon.validity_horizon`)."""
        if self._date_terms is None:
            trees = [c.tree for c in self._criteria] + [a.tree for a in self._arms if a.tree is not None]
            self._date_terms = DateTerms.of_atoms(leaf.atom for tree in trees for leaf in tree.leaves)
        return self._date_terms

    def date_terms_for(self, session: Session) -> DateTerms | None:
        """The date terms that can change the session's patient's result for this trial (`date_terms`), or
        None when a criterion the date cannot reach rules the patient out: ineligible on every date while
        facts and trial stay as they are. Asks the criteria in the first pass's order, from its truths."""
        for criterion in self._shared:
            if criterion.outcome(session) is Outcome.VIOLATED:
                return self.date_terms if criterion.dated else None
        return self.date_terms

    def violated(self, session: Session) -> Criterion | None:
        """A criterion that makes the patient ineligible; None when none does (then `match` explains).

        The cheap first pass: truths only, no explanation, up to the first violated criterion. A criterion
        restricted to some arms rules the patient out only when every arm has such a criterion violated.
        """
        for criterion in self._shared:
            if criterion.outcome(session) is Outcome.VIOLATED:
                return criterion.criterion
        if not self._restricted:
            return None
        first: Criterion | None = None
        for arm_id in self._titles:
            found = next(
                (
                    c.criterion
                    for c, scope in self._restricted
                    if arm_id in scope and c.outcome(session) is Outcome.VIOLATED
                ),
                None,
            )
            if found is None:
                return None
            first = first or found
        return first

    def _judge(
        self, session: Session
    ) -> tuple[TrialVerdict, dict[int, tuple[Overall, tuple[SkippedCriterion, ...]]]]:
        verdict, per_arm, _ = self._judge_arms(session)
        return verdict, per_arm

    def _judge_arms(
        self, session: Session
    ) -> tuple[
        TrialVerdict,
        dict[int, tuple[Overall, tuple[SkippedCriterion, ...]]],
        dict[int, tuple[Overall, float]],
    ]:
        """The trial verdict, every criterion explained, and per arm the verdict on the criteria that
        apply to it with those skipped, and its verdict and score (no entries when no criterion is
        restricted)."""
        if not self._restricted:
            verdicts = tuple([c.explain(session) for c in self._criteria])
            overall = _overall(verdicts)
            return TrialVerdict(overall=overall, score=score(overall, verdicts), criteria=verdicts), {}, {}
        labels = self._titles
        judged = [
            (c.explain(session, () if scope is None else tuple(labels[i] for i in sorted(scope))), scope)
            for c, scope in self._scopes
        ]
        verdicts = tuple(verdict for verdict, _ in judged)
        per_arm: dict[int, tuple[Overall, tuple[SkippedCriterion, ...]]] = {}
        per_arm_scores: dict[int, tuple[Overall, float]] = {}
        for arm_id in labels:
            applicable = [v for v, scope in judged if scope is None or arm_id in scope]
            skipped = tuple(
                SkippedCriterion(v.section, v.text, f"applies to {v.cohort} only")
                for v, scope in judged
                if scope is not None and arm_id not in scope
            )
            overall = _overall(applicable)
            per_arm[arm_id] = (overall, skipped)
            per_arm_scores[arm_id] = (overall, score(overall, applicable))
        # The patient may enter the trial through the arm that suits them best (restricted criteria exist
        # only when the trial has arms or its labels name cohorts, so there is one).
        best, best_score = max(per_arm_scores.values(), key=lambda pair: pair[1])
        return TrialVerdict(overall=best, score=best_score, criteria=verdicts), per_arm, per_arm_scores

    def evaluate(self, session: Session) -> TrialVerdict:
        """The verdict on the criteria, every criterion explained."""
        return self._judge(session)[0]

    def match(self, session: Session, *, enrolled: Mapping[int, int] | None = None) -> TrialVerdict:
        """The trial verdict plus cohort assignment; closed trials and full/suspended cohorts take no one new.

        `enrolled` maps arm id to the number already enrolled (enrolment is tracked elsewhere).
        """
        verdict, per_arm, per_arm_scores = self._judge_arms(session)
        counts = enrolled or {}
        cohorts = tuple(
            arm.verdict(session, counts.get(arm.arm.id, 0), *per_arm.get(arm.arm.id, (verdict.overall, ())))
            for arm in self._arms
        )
        if not self.spec.is_open:
            return replace(verdict, cohorts=cohorts, accepting=False, closed_reason="trial not recruiting")
        if self._restricted:
            # With criteria restricted to cohorts, the trial verdict is that of the best cohort that can take
            # the patient: a full cohort the patient fits must not lend its "eligible" to an open one where a
            # requirement is still unknown. With none assignable, the best of all stands (explained below).
            assignable = [c for c in cohorts if c.assignable]
            if assignable:
                overall, best_score = max(
                    (per_arm_scores[c.arm_id] for c in assignable), key=lambda pair: pair[1]
                )
                verdict = replace(verdict, overall=overall, score=best_score)
        if cohorts and not any(c.assignable for c in cohorts):
            reason = (
                "no open cohort fits"
                if any(c.accepting for c in cohorts)
                else "all cohorts full or suspended"
            )
            return replace(verdict, cohorts=cohorts, accepting=False, closed_reason=reason)
        # Most trials have no arms: the criteria's verdict is already the match.
        return replace(verdict, cohorts=cohorts) if cohorts else verdict


def date_terms_for(session: Session, trials: Iterable[CompiledTrial]) -> DateTerms:
    """The date terms of these trials that can change the session's patient's results: every trial the
    patient is matched against, the candidate index's choice (a trial it rules out is refuted by a fact, or by
    an age in whole years, which changes on a birthday that every horizon counts)."""
    return union(terms for trial in trials if (terms := trial.date_terms_for(session)) is not None)


def evaluate_tree(
    node: Node, facts: PatientFacts, *, today: date, section: str = "inclusion"
) -> tuple[Truth, tuple[AtomResult, ...]]:
    return _CompiledTree(node, section).explain(Session(facts, today))


def evaluate_criterion(criterion: Criterion, facts: PatientFacts, *, today: date) -> CriterionVerdict:
    return _CompiledCriterion(criterion).explain(Session(facts, today))


def evaluate(criteria: Sequence[Criterion], facts: PatientFacts, *, today: date) -> TrialVerdict:
    return CompiledTrial(TrialSpec(0, True), criteria).evaluate(Session(facts, today))


def evaluate_cohort(arm: ArmSpec, facts: PatientFacts, *, today: date, enrolled: int = 0) -> CohortVerdict:
    """Whether the patient fits the arm's stratum, and whether the arm takes new candidates."""
    return _CompiledArm(arm).verdict(Session(facts, today), enrolled)


def match_trial(
    trial: TrialSpec,
    criteria: Sequence[Criterion],
    facts: PatientFacts,
    *,
    today: date,
    enrolled: Mapping[int, int] | None = None,
) -> TrialVerdict:
    """One trial for one patient; callers matching many pairs compile trials once and share sessions."""
    return CompiledTrial(trial, criteria).match(Session(facts, today), enrolled=enrolled)
