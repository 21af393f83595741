"""What evaluation returns: per-atom and per-criterion verdicts with evidence, and the trial verdict."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from recruitment.matching.logic import Truth

SettleKind = Literal["question", "test"]


def _keep_stored(result: Any, stored: dict[str, Any]) -> None:
    """Keep `stored` as the serialised form of a result the same for every patient (an atom no profile can
    answer, a criterion made only of such atoms), built once with the compiled trial. Its `to_dict` then
    returns a copy of that dict, whose nested lists and dicts are shared by every copy: nothing modifies a
    stored verdict's parts, and a field of the result is never changed after it is made (it is frozen)."""
    object.__setattr__(result, "_stored", stored)


@dataclass(frozen=True)
class Evidence:
    """A profile fact used for a verdict: its reference ("lab:7") and what it says."""

    ref: str
    text: str


@dataclass(frozen=True)
class Settle:
    """What would settle an unknown: a question for the patient, or a test to order.

    `biomarker` names the result a tumour test never done would give ("KRAS G12D"): a trial that needs one
    is a long shot until it comes back, and ranking says so. Empty for every other question and test.
    `driver` and `rare_with` say when that result is a driver the patient's tumour almost surely lacks
    (nlp/data/drivers.json): the driver asked for ("KRAS mutations") and the one her tumour was found to have
    ("an EGFR mutation"). Empty otherwise.
    """

    kind: SettleKind
    text: str
    biomarker: str = ""
    driver: str = ""
    rare_with: str = ""

    def to_dict(self) -> dict[str, str]:
        data = {"kind": self.kind, "text": self.text}
        if self.biomarker:
            # Only on biomarker tests: the stored settles of other atoms stay as they were.
            data["biomarker"] = self.biomarker
        if self.driver:
            data["driver"] = self.driver
            data["rare_with"] = self.rare_with
        return data


@dataclass(frozen=True)
class AtomResult:
    text: str
    span: tuple[int, int]
    truth: Truth
    reason: str
    evidence: tuple[Evidence, ...] = ()
    settle: Settle | None = None

    @classmethod
    def make(
        cls,
        text: str,
        span: tuple[int, int],
        truth: Truth,
        reason: str,
        evidence: tuple[Evidence, ...] = (),
        settle: Settle | None = None,
    ) -> AtomResult:
        """The same object as `AtomResult(...)`, built without the frozen dataclass's per-field
        `object.__setattr__` (about 1.5 us saved; the engine builds thousands per patient)."""
        made = object.__new__(cls)
        made.__dict__.update(
            text=text, span=span, truth=truth, reason=reason, evidence=evidence, settle=settle
        )
        return made

    def keep_stored(self) -> AtomResult:
        """This result, serialised once from now on (`_keep_stored`)."""
        _keep_stored(self, self._serialised())
        return self

    def to_dict(self) -> dict[str, Any]:
        stored = self.__dict__.get("_stored")
        return self._serialised() if stored is None else dict(stored)

    def _serialised(self) -> dict[str, Any]:
        settle, evidence = self.settle, self.evidence
        return {
            "text": self.text,
            "span": list(self.span),
            # str() of a StrEnum is its value, without the descriptor lookup of `.value` (hot when storing).
            "truth": str(self.truth),
            "reason": self.reason,
            # Most results cite nothing: an empty list without running a comprehension.
            "evidence": [{"ref": e.ref, "text": e.text} for e in evidence] if evidence else [],
            "settle": None if settle is None else settle.to_dict(),
        }


class Outcome(StrEnum):
    SATISFIED = "satisfied"
    VIOLATED = "violated"
    UNKNOWN = "unknown"
    NOT_CHECKABLE = "not_checkable"


@dataclass(frozen=True)
class CriterionVerdict:
    """One criterion: whether its tree holds (`truth`) and what that means for eligibility (`outcome`)."""

    section: str
    text: str
    span: tuple[int, int]
    truth: Truth
    outcome: Outcome
    atoms: tuple[AtomResult, ...]
    weight: int = 1
    needs_review: bool = False
    cohort: str | None = None
    applies_to: tuple[str, ...] = ()

    @classmethod
    def make(
        cls,
        section: str,
        text: str,
        span: tuple[int, int],
        truth: Truth,
        outcome: Outcome,
        atoms: tuple[AtomResult, ...],
        weight: int,
        needs_review: bool,
        cohort: str | None,
        applies_to: tuple[str, ...],
    ) -> CriterionVerdict:
        """The same object as `CriterionVerdict(...)` with every field given, built without the frozen
        dataclass's per-field `object.__setattr__`."""
        made = object.__new__(cls)
        made.__dict__.update(
            section=section,
            text=text,
            span=span,
            truth=truth,
            outcome=outcome,
            atoms=atoms,
            weight=weight,
            needs_review=needs_review,
            cohort=cohort,
            applies_to=applies_to,
        )
        return made

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        seen: dict[str, Evidence] = {}
        for atom in self.atoms:
            for item in atom.evidence:
                seen.setdefault(item.ref, item)
        return tuple(seen.values())

    @property
    def to_settle(self) -> tuple[Settle, ...]:
        return tuple(self._settles().values())

    def _settles(self) -> dict[tuple[str, str], Settle]:
        """What would settle this criterion's unknown atoms, each once in first-seen order, by (kind, text):
        settles equal in both are equal, and the pair hashes faster than the `Settle` dataclass."""
        if self.outcome is not Outcome.UNKNOWN:
            return {}
        unknown = Truth.UNKNOWN
        return {(s.kind, s.text): s for a in self.atoms if a.truth is unknown and (s := a.settle) is not None}

    def keep_stored(self) -> CriterionVerdict:
        """This verdict, serialised once from now on (`_keep_stored`)."""
        _keep_stored(self, self._serialised())
        return self

    def to_dict(self) -> dict[str, Any]:
        stored = self.__dict__.get("_stored")
        return self._serialised() if stored is None else dict(stored)

    def _serialised(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "section": self.section,
            "text": self.text,
            "span": list(self.span),
            "truth": str(self.truth),
            "outcome": str(self.outcome),
            "needs_review": self.needs_review,
            "atoms": [atom.to_dict() for atom in self.atoms],
            "to_settle": [{"kind": kind, "text": text} for kind, text in self._settles()],
        }
        if self.cohort:
            # Only labelled criteria carry these: stored verdicts of other criteria stay as they were.
            data["cohort"] = self.cohort
            data["applies_to"] = list(self.applies_to)
        return data


class Overall(StrEnum):
    ELIGIBLE = "eligible"
    POSSIBLY_ELIGIBLE = "possibly_eligible"
    INELIGIBLE = "ineligible"


@dataclass(frozen=True)
class SkippedCriterion:
    """A criterion restricted to other cohorts, left out of one cohort's verdict, and why."""

    section: str
    text: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"section": self.section, "text": self.text, "reason": self.reason}


@dataclass(frozen=True)
class CohortVerdict:
    """Whether the patient fits an arm's own definition (stratum) and the criteria that apply to the arm,
    and whether the arm takes candidates.

    `eligibility` is the verdict on the trial's criteria that apply to this arm; `skipped` lists those
    restricted to other cohorts, which do not count here.
    """

    arm_id: int
    label: str
    truth: Truth
    accepting: bool
    reason: str
    atoms: tuple[AtomResult, ...] = ()
    eligibility: Overall = Overall.ELIGIBLE
    skipped: tuple[SkippedCriterion, ...] = ()

    @property
    def assignable(self) -> bool:
        return (
            self.accepting
            and self.eligibility is not Overall.INELIGIBLE
            and self.truth in (Truth.MET, Truth.UNKNOWN, Truth.NOT_CHECKABLE)
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "arm_id": self.arm_id,
            "label": self.label,
            "truth": self.truth.value,
            "accepting": self.accepting,
            "reason": self.reason,
            "atoms": [atom.to_dict() for atom in self.atoms],
        }
        if self.skipped:
            # Without skipped criteria the arm's eligibility is the trial's, already stored beside it.
            data["eligibility"] = self.eligibility.value
            data["skipped"] = [s.to_dict() for s in self.skipped]
        return data


@dataclass(frozen=True)
class TrialVerdict:
    overall: Overall
    score: float
    criteria: tuple[CriterionVerdict, ...]
    cohorts: tuple[CohortVerdict, ...] = ()
    accepting: bool = True
    closed_reason: str = ""

    @property
    def to_settle(self) -> tuple[Settle, ...]:
        return tuple(dict.fromkeys(s for criterion in self.criteria for s in criterion.to_settle))

    @property
    def assignable_cohorts(self) -> tuple[CohortVerdict, ...]:
        return tuple(cohort for cohort in self.cohorts if cohort.assignable)

    def to_dict(self) -> dict[str, Any]:
        criteria = [c.to_dict() for c in self.criteria]
        # The same as `to_settle`, read back from the criteria just serialised rather than computed again.
        settle = dict.fromkeys((s["kind"], s["text"]) for c in criteria for s in c["to_settle"])
        return {
            "overall": self.overall.value,
            "score": self.score,
            "accepting": self.accepting,
            "closed_reason": self.closed_reason,
            "criteria": criteria,
            "cohorts": [c.to_dict() for c in self.cohorts],
            "to_settle": [{"kind": kind, "text": text} for kind, text in settle],
        }
