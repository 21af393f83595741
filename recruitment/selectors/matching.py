"""Reads that feed the matching engine: patients' facts, trials' criteria and arms, live matches, and
the consent gate on who may be matched at all."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet

from nlp.model import Atom, Concept, Criterion, node_from_dict
from nlp.terminology import drug_classes
from recruitment.matching import (
    ArmSpec,
    BiomarkerFact,
    DiagnosisFact,
    LabFact,
    PatientFacts,
    ProcedureFact,
    TherapyFact,
    TrialSpec,
)
from recruitment.matching.conditions import registered_conditions_criterion
from recruitment.matching.engine import CompiledTrial
from recruitment.models import (
    Biomarker,
    Diagnosis,
    LabResult,
    Match,
    PatientProfile,
    Procedure,
    Therapy,
)
from recruitment.selectors.consent import profiles_with_active_consent
from trials.models import ConsentDocument, EligibilityCriterion, Trial


def _diagnosis_fact(d: Diagnosis) -> DiagnosisFact:
    return DiagnosisFact(
        ref=f"diagnosis:{d.pk}",
        code=d.code,
        label=d.label or d.code,
        present=d.presence == Diagnosis.Presence.PRESENT,
        diagnosed_on=d.diagnosed_on,
        stage=d.stage,
        histology=d.histology,
        source=d.source,
    )


def _biomarker_fact(b: Biomarker) -> BiomarkerFact:
    return BiomarkerFact(
        ref=f"biomarker:{b.pk}",
        gene=b.gene,
        alteration_type=b.alteration_type,
        status=b.status,
        protein_change=b.protein_change,
        measure=b.measure,
        value=None if b.value is None else float(b.value),
        unit=b.unit,
        assay=b.assay,
        tested_on=b.tested_on,
        source=b.source,
    )


def _lab_fact(r: LabResult) -> LabFact:
    return LabFact(
        ref=f"lab:{r.pk}",
        analyte=r.analyte,
        loinc=r.loinc,
        value=float(r.value),
        unit=r.unit,
        collected_on=r.collected_on,
        reference_low=None if r.reference_low is None else float(r.reference_low),
        reference_high=None if r.reference_high is None else float(r.reference_high),
        source=r.source,
    )


def _therapy_fact(t: Therapy) -> TherapyFact:
    return TherapyFact(
        ref=f"therapy:{t.pk}",
        drug=t.drug,
        classes=tuple(dict.fromkeys([*drug_classes(t.drug), *([t.drug_class] if t.drug_class else [])])),
        line=t.line,
        started_on=t.started_on,
        ended_on=t.ended_on,
        source=t.source,
    )


def _procedure_fact(p: Procedure) -> ProcedureFact:
    return ProcedureFact(
        ref=f"procedure:{p.pk}", code=p.code, name=p.name, performed_on=p.performed_on, source=p.source
    )


_FACT_KINDS: tuple[tuple[str, Any, Any], ...] = (
    ("diagnoses", Diagnosis, _diagnosis_fact),
    ("biomarkers", Biomarker, _biomarker_fact),
    ("labs", LabResult, _lab_fact),
    ("therapies", Therapy, _therapy_fact),
    ("procedures", Procedure, _procedure_fact),
)


def _facts_of(profile: PatientProfile, kinds: dict[str, list[Any]]) -> PatientFacts:
    return PatientFacts(
        ref=f"profile:{profile.pk}",
        birth_date=profile.birth_date,
        sex=profile.sex,
        ecog=profile.ecog,
        pregnancy_status=profile.pregnancy_status,
        breastfeeding=profile.breastfeeding,
        history_confirmed_on=profile.history_confirmed_on,
        **{name: tuple(kinds.get(name, ())) for name, _, _ in _FACT_KINDS},
    )


def patient_facts(*, profile: PatientProfile) -> PatientFacts:
    """The frozen snapshot the matching engine evaluates: one query per kind of fact."""
    kinds = {
        name: [convert(row) for row in model.objects.filter(patient=profile)]
        for name, model, convert in _FACT_KINDS
    }
    return _facts_of(profile, kinds)


def patient_facts_many(*, profiles: Iterable[PatientProfile]) -> dict[int, PatientFacts]:
    """Snapshots of many patients, one query per kind of fact for all of them (chunk the input)."""
    by_id = {profile.pk: profile for profile in profiles}
    kinds: dict[int, dict[str, list[Any]]] = {pk: defaultdict(list) for pk in by_id}
    for name, model, convert in _FACT_KINDS:
        for row in model.objects.filter(patient_id__in=list(by_id)):
            kinds[row.patient_id][name].append(convert(row))
    return {pk: _facts_of(profile, kinds[pk]) for pk, profile in by_id.items()}


@dataclass(frozen=True)
class TrialToMatch:
    """An open trial as the engine needs it: its arms as specs, its live criteria as nlp trees (and its
    registered conditions as one more inclusion criterion), all compiled once for evaluation."""

    trial: Trial
    spec: TrialSpec
    criteria: tuple[Criterion, ...]
    compiled: CompiledTrial


def _criterion(record: EligibilityCriterion) -> Criterion:
    span = (record.span_start, record.span_end)
    tree = record.effective_tree
    if tree is None:
        # Marked unparseable by a curator: reported for the site to check, never deciding on its own.
        concept = Concept("other", "curator_unparseable", "marked unparseable by a curator")
        unreadable = Atom(
            "other", record.text, span, "curator.unparseable", 1.0, checkable=False, concept=concept
        )
        return Criterion(record.section, record.text, span, unreadable)  # type: ignore[arg-type]
    return Criterion(record.section, record.text, span, node_from_dict(tree))  # type: ignore[arg-type]


def trials_for_matching(*, trial_ids: Iterable[int] | None = None) -> list[TrialToMatch]:
    """Open trials (all, or those of `trial_ids`) with their arms and live criteria, in three queries."""
    trials = Trial.objects.filter(overall_status__in=Trial.OPEN_STATUSES).prefetch_related(
        Prefetch("criteria", queryset=EligibilityCriterion.objects.filter(retired_at__isnull=True)),
        "arms",
    )
    if trial_ids is not None:
        trials = trials.filter(pk__in=list(trial_ids))
    return [_trial_to_match(trial) for trial in trials]


def _trial_to_match(trial: Trial) -> TrialToMatch:
    spec = TrialSpec(
        id=trial.pk,
        is_open=trial.is_open,
        arms=tuple(
            ArmSpec(arm.pk, arm.label, arm.biomarker_definition, arm.cap, arm.is_suspended)
            for arm in trial.arms.all()
        ),
    )
    registered = registered_conditions_criterion(trial.conditions or ())
    criteria = (
        *(_criterion(record) for record in trial.criteria.all()),
        *((registered,) if registered else ()),
    )
    return TrialToMatch(trial=trial, spec=spec, criteria=criteria, compiled=CompiledTrial(spec, criteria))


def live_matches(*, patient: PatientProfile) -> list[Match]:
    return list(Match.objects.filter(patient=patient, retired_at__isnull=True).select_related("trial", "arm"))


def matchable_profiles() -> QuerySet[PatientProfile]:
    """The only gate on who is matched: every matching path starts from this queryset.

    Profiles whose patients consent now to be matched, under the current version of the matching consent.
    """
    return profiles_with_active_consent(ConsentDocument.Purpose.MATCHING)


def live_matches_for_trial(*, trial_id: int, patient_ids: Iterable[int]) -> dict[int, list[Match]]:
    """Live matches of one trial, by patient, for the given patients."""
    found: dict[int, list[Match]] = defaultdict(list)
    matches = Match.objects.filter(trial_id=trial_id, patient_id__in=list(patient_ids))
    for match in matches.filter(retired_at__isnull=True):
        found[match.patient_id].append(match)
    return found


def profile_ids_to_rematch() -> list[int]:
    """Matchable patients, and those who hold live matches without being matchable (to retire them)."""
    holders = Match.objects.filter(retired_at__isnull=True).values_list("patient_id", flat=True)
    return sorted(set(matchable_profiles().values_list("pk", flat=True)) | set(holders))


def patients_with_live_matches(*, trial_id: int) -> set[int]:
    return set(
        Match.objects.filter(trial_id=trial_id, retired_at__isnull=True).values_list("patient_id", flat=True)
    )
