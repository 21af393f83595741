"""Facts read from a patient's free text (nlp.patient_text) as engine PatientFacts; verdicts for ranking.

Text gives no dates: age becomes an approximate birth date, labs are taken as of `today`, and nothing here is
a confirmed history, so a condition the text does not mention stays unknown. Mentions the text denies become
ruled-out diagnoses; relatives' conditions are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from nlp.patient_text import Finding, PatientText
from nlp.ranking import EligibilityOutcome
from nlp.terminology import drug_classes
from recruitment.matching.facts import (
    BiomarkerFact,
    DiagnosisFact,
    LabFact,
    PatientFacts,
    ProcedureFact,
    TherapyFact,
)
from recruitment.matching.logic import Truth
from recruitment.matching.results import Outcome, Overall, TrialVerdict

_OWN = ("present", "historical")
# Evidence references of the patient's diagnoses and biomarkers: "diagnosis:7" from a profile,
# "<ref>:condition:0" / "<ref>:biomarker:0" from text.
_DISEASE_REFS = frozenset({"diagnosis", "condition", "biomarker"})
# Criteria nlp.parse_eligibility builds from the registry's minimum/maximum age and sex fields.
_STRUCTURED = ("minimum_age:", "maximum_age:", "sex:")
_ALTERATION_TYPES = {
    "fusion": "fusion",
    "rearrangement": "fusion",
    "amplification": "amplification",
    "deletion": "deletion",
    "insertion": "insertion",
    "high": "signature",
    "stable": "signature",
    "deficient": "signature",
    "proficient": "signature",
    "positive": "expression",
    "negative": "expression",
}


def finding_source(finding: Finding) -> str:
    """The `source` of a fact read from `finding`: where in the text it was found."""
    return f"text {finding.span[0]}-{finding.span[1]}: {finding.text}"


def _birth_date(age: float | None, today: date) -> date | None:
    if age is None:
        return None
    # Half a year younger than the stated whole age: the midpoint of the years that age covers.
    return today - timedelta(days=round((age + 0.5) * 365.25))


def facts_from_text(patient: PatientText, *, today: date, ref: str = "text") -> PatientFacts:
    diagnoses = []
    for index, f in enumerate(patient.of("condition")):
        # A bare "tumour"/"cancer" is not a diagnosis: recorded, it would read as the patient's cancer type.
        if f.concept is None or f.assertion in ("family", "hypothetical") or f.concept.code == "cancer":
            continue
        diagnoses.append(
            DiagnosisFact(
                f"{ref}:condition:{index}",
                f.concept.code,
                f.concept.label,
                f.assertion in _OWN,
                stage=f.stage or "",
                source=finding_source(f),
                course=(f.course or "") if f.assertion in _OWN else "",
            )
        )
    biomarkers = [
        BiomarkerFact(
            f"{ref}:biomarker:{index}",
            f.concept.code,
            "wild_type"
            if f.status == "negative" and not f.alteration
            else _ALTERATION_TYPES.get(f.alteration or "", "mutation"),
            status=f.status or "positive",
            protein_change=f.alteration or "",
            value=f.value,
            unit=f.unit or "",
            source=finding_source(f),
        )
        for index, f in enumerate(patient.of("biomarker"))
        if f.concept is not None and f.assertion != "family"
    ]
    labs = [
        LabFact(
            f"{ref}:lab:{index}",
            f.concept.label,
            f.concept.code,
            f.value,
            f.unit or "",
            today,
            source=finding_source(f),
        )
        for index, f in enumerate(patient.patients_own("lab"))
        if f.concept is not None and f.concept.code and f.value is not None
    ]
    treatments = patient.patients_own("therapy")
    ended = _ended(treatments)
    said = {f.concept.code for f in treatments if f.concept is not None and f.status}
    therapies = [
        TherapyFact(
            f"{ref}:therapy:{index}",
            f.concept.code,
            tuple(drug_classes(f.concept.code)) if f.concept.system == "drug" else (f.concept.code,),
            source=finding_source(f),
            ended=f.concept.code in ended,
            course_known=f.concept.code in said,
        )
        for index, f in enumerate(treatments)
        if f.concept is not None
    ]
    procedures = [
        ProcedureFact(f"{ref}:procedure:{index}", f.concept.code, f.concept.label, source=finding_source(f))
        for index, f in enumerate(patient.patients_own("procedure"))
        if f.concept is not None
    ]
    sex = patient.sex or ""
    pregnancy = patient.pregnancy or ("not_applicable" if sex == "male" else "unknown")
    return PatientFacts(
        ref=ref,
        birth_date=_birth_date(patient.age, today),
        sex=sex,
        ecog=patient.ecog,
        pregnancy_status=pregnancy,
        diagnoses=tuple(diagnoses),
        biomarkers=tuple(biomarkers),
        labs=tuple(labs),
        therapies=tuple(therapies),
        procedures=tuple(procedures),
    )


def _ended(findings: Sequence[Finding]) -> frozenset[str]:
    """Treatments the text says are over ("s/p steroids") and nowhere says are still given: a note that
    lists a therapy twice dates it only once. Without either, whether it is still given is not known
    (`TherapyFact.course_known`)."""
    statuses: dict[str, set[str | None]] = {}
    for f in findings:
        if f.concept is not None:
            statuses.setdefault(f.concept.code, set()).add(f.status)
    return frozenset(code for code, said in statuses.items() if "ended" in said and "ongoing" not in said)


def outcome_for_ranking(verdict: TrialVerdict) -> EligibilityOutcome:
    """The verdict reduced to what nlp.ranking combines and explains: criteria met, not met and unknown."""
    return outcome_from_stored(verdict.overall.value, verdict.score, [c.to_dict() for c in verdict.criteria])


def outcome_from_stored(
    overall: str, score: float, criteria: Sequence[Mapping[str, Any]]
) -> EligibilityOutcome:
    """The same from a verdict as stored on a Match (`CriterionVerdict.to_dict` per criterion); a field
    missing from an older or hand-made record counts as not saying anything.

    A criterion for some cohorts only (`applies_to`) that is not met does not count against a trial the
    patient may still enter: another cohort admits them, and the verdict says so.
    """
    if overall != Overall.INELIGIBLE:
        criteria = [c for c in criteria if not (c.get("applies_to") and _violated(c))]

    def texts(*outcomes: Outcome) -> tuple[str, ...]:
        return tuple(_text(c) for c in criteria if c.get("outcome") in outcomes)

    return EligibilityOutcome(
        overall,
        score,
        met=texts(Outcome.SATISFIED),
        not_met=texts(Outcome.VIOLATED),
        unknown=texts(Outcome.UNKNOWN),
        structured_not_met=tuple(_text(c) for c in criteria if _structured(c) and _violated(c)),
        contradicted=_contradicted_by_registry(criteria),
        not_met_on_disease=tuple(
            _text(c) for c in criteria if c.get("section") == "inclusion" and _violated(c) and _on_disease(c)
        ),
        met_on_biomarker=tuple(
            _text(c)
            for c in criteria
            if c.get("section") == "inclusion" and c.get("outcome") == Outcome.SATISFIED and _on_biomarker(c)
        ),
        untested_biomarkers=_untested_biomarkers(criteria),
        rare_drivers=_rare_drivers(criteria),
    )


def _text(criterion: Mapping[str, Any]) -> str:
    return str(criterion.get("text", ""))


def _structured(criterion: Mapping[str, Any]) -> bool:
    return tuple(criterion.get("span", ())) == (0, 0) and _text(criterion).startswith(_STRUCTURED)


def _violated(criterion: Mapping[str, Any]) -> bool:
    return bool(criterion.get("outcome") == Outcome.VIOLATED)


def _decided_by(criterion: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [a for a in criterion.get("atoms", ()) if a.get("truth") in (Truth.MET, Truth.NOT_MET)]


def _on_disease(criterion: Mapping[str, Any]) -> bool:
    """Decided only by the patient's diagnoses and biomarkers (the facts cited are of those kinds)."""
    refs = [str(e.get("ref", "")) for atom in _decided_by(criterion) for e in atom.get("evidence", ())]
    return bool(refs) and all(_ref_kind(ref) in _DISEASE_REFS for ref in refs)


def _on_biomarker(criterion: Mapping[str, Any]) -> bool:
    """Met through one of the patient's biomarker results (an atom met that cites one)."""
    return any(
        _ref_kind(str(e.get("ref", ""))) == "biomarker"
        for atom in criterion.get("atoms", ())
        if atom.get("truth") == Truth.MET
        for e in atom.get("evidence", ())
    )


def _unsettled_inclusions(criteria: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """What would settle the unknown atoms of each unsettled inclusion criterion of the trial. A criterion
    for some cohorts only does not count: another cohort may not need what it asks."""
    return [
        [
            atom["settle"]
            for atom in c.get("atoms", ())
            if atom.get("truth") == Truth.UNKNOWN and atom.get("settle")
        ]
        for c in criteria
        if c.get("section") == "inclusion" and c.get("outcome") == Outcome.UNKNOWN and not c.get("applies_to")
    ]


# Surface antigens that define the B-cell and plasma-cell malignancies whose trials name them (CD19, CD20,
# CD22, CD38, BCMA): nearly every cell of those cancers carries them, so an untested one is no minority result
# to rank a trial down for (`nlp.ranking.UNTESTED_FACTOR`). "Expression of CD19, CD20, and CD23" in a CLL
# trial's definition of the disease (NCT00005829) had ranked the trial down for trec-20218, a man with CLL.
_LINEAGE_ANTIGENS = frozenset({"CD19", "MS4A1", "CD22", "CD38", "TNFRSF17"})


def _untested_biomarkers(criteria: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The tumour test results the trial's unsettled inclusion criteria need and the patient never had, each
    once; lineage antigens aside."""
    needed = (
        settle.get("biomarker", "") for settles in _unsettled_inclusions(criteria) for settle in settles
    )
    return tuple(dict.fromkeys(result for result in needed if result and result not in _LINEAGE_ANTIGENS))


def _rare_drivers(criteria: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, str], ...]:
    """(driver, the patient's driver) for the drivers her tumour almost surely lacks that unsettled inclusion
    criteria need, each once. A criterion counts only when every result it names that she never had is such a
    driver: its tree is not stored, and a result offered beside them ("KRAS G12C, G12D or G12V mutation, or
    KRAS amplification") may be an alternative that would admit her."""
    pairs: list[tuple[str, str]] = []
    for settles in _unsettled_inclusions(criteria):
        tests = [settle for settle in settles if settle.get("biomarker")]
        if tests and all(settle.get("driver") for settle in tests):
            pairs.extend((str(settle["driver"]), str(settle.get("rare_with", ""))) for settle in tests)
    return tuple(dict.fromkeys(pairs))


def _ref_kind(ref: str) -> str:
    parts = ref.split(":")
    return parts[-2] if len(parts) > 1 else ""


def _contradicted_by_registry(criteria: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """Violated text criteria decided only by sex when the registry's structured sex field accepts all.

    Sex words in criteria text are mostly conditions on something else ("Women must not be pregnant",
    "Men and women with ..."), which the parser reads as a sex requirement; the structured field is what the
    sponsor declared.
    """
    if any(_structured(c) and _text(c).startswith("sex:") for c in criteria):
        return ()
    return tuple(
        _text(c)
        for c in criteria
        if _violated(c)
        and not _structured(c)
        and all(str(a.get("reason", "")).startswith("sex ") for a in _decided_by(c))
    )
