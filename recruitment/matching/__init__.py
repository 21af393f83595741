"""The matching engine: pure evaluation of nlp criteria trees against a frozen snapshot of patient facts."""

from recruitment.matching.engine import (
    ArmSpec,
    CompiledTrial,
    Session,
    SharedTruths,
    TrialSpec,
    evaluate,
    evaluate_cohort,
    evaluate_criterion,
    evaluate_tree,
    match_trial,
)
from recruitment.matching.facts import (
    BiomarkerFact,
    DiagnosisFact,
    LabFact,
    PatientFacts,
    ProcedureFact,
    TherapyFact,
)
from recruitment.matching.logic import Truth
from recruitment.matching.results import (
    AtomResult,
    CohortVerdict,
    CriterionVerdict,
    Evidence,
    Outcome,
    Overall,
    Settle,
    TrialVerdict,
)

__all__ = [
    "ArmSpec",
    "AtomResult",
    "BiomarkerFact",
    "CohortVerdict",
    "CompiledTrial",
    "CriterionVerdict",
    "DiagnosisFact",
    "Evidence",
    "LabFact",
    "Outcome",
    "Overall",
    "PatientFacts",
    "ProcedureFact",
    "Session",
    "Settle",
    "SharedTruths",
    "TherapyFact",
    "TrialSpec",
    "TrialVerdict",
    "Truth",
    "evaluate",
    "evaluate_cohort",
    "evaluate_criterion",
    "evaluate_tree",
    "match_trial",
]
