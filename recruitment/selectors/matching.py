"""Reads that feed the matching engine: patients' facts, trials' criteria and arms, live matches, and
the consent gate on who may be matched at all."""

import gc
import hashlib
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, Max, Model, Q, QuerySet, Sum
from django.db.models.signals import post_delete, post_save

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
from recruitment.matching.horizon import version_stamp
from recruitment.models import (
    Biomarker,
    Diagnosis,
    LabResult,
    Match,
    MatchHorizon,
    PatientProfile,
    Procedure,
    RematchRequest,
    Therapy,
    TrialMatchStamp,
)
from recruitment.models.profile import last_possible_day
from recruitment.selectors.consent import profiles_with_active_consent
from recruitment.selectors.site import arm_enrolled_counts
from trials.models import Arm, ConsentDocument, EligibilityCriterion, Trial


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
        course=d.course,
        resolved=d.resolved,
        diagnosed_by=last_possible_day(d.diagnosed_on, d.diagnosed_on_precision),
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
        ended=t.ended,
        ended_by=last_possible_day(t.ended_on, t.ended_on_precision),
    )


def _procedure_fact(p: Procedure) -> ProcedureFact:
    return ProcedureFact(
        ref=f"procedure:{p.pk}",
        code=p.code,
        name=p.name,
        performed_on=p.performed_on,
        source=p.source,
        performed_by=last_possible_day(p.performed_on, p.performed_on_precision),
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
    cohort = record.cohort or None
    if tree is None:
        # Marked unparseable by a curator: reported for the site to check, never deciding on its own.
        concept = Concept("other", "curator_unparseable", "marked unparseable by a curator")
        unreadable = Atom(
            "other", record.text, span, "curator.unparseable", 1.0, checkable=False, concept=concept
        )
        return Criterion(record.section, record.text, span, unreadable, cohort)  # type: ignore[arg-type]
    return Criterion(record.section, record.text, span, node_from_dict(tree), cohort)  # type: ignore[arg-type]


def trials_for_matching(*, trial_ids: Iterable[int] | None = None) -> list[TrialToMatch]:
    """Open trials (all, or those of `trial_ids`) with their arms and live criteria.

    Reading and compiling the criteria trees is most of the cost of a patient re-match, so each trial's
    compiled criteria are kept per process (`_compiled_criteria`) and only read again when the trial's
    criteria version has changed. Arms and status are read every time: they are few rows, and the compiled
    criteria take a new spec without being recompiled.
    """
    trials = Trial.objects.filter(overall_status__in=Trial.OPEN_STATUSES)
    if trial_ids is not None:
        trials = trials.filter(pk__in=list(trial_ids))
    found = list(trials)
    arms = _arms_of([trial.pk for trial in found])
    versions = _criteria_versions([trial.pk for trial in found])
    cached: dict[int, _CompiledCriteria] = {}
    for trial in found:
        entry = _compiled_criteria.get(trial.pk, _version_of(trial, versions))
        if entry is not None:
            cached[trial.pk] = entry
    records = _live_criteria([trial.pk for trial in found if trial.pk not in cached])
    result = []
    for trial in found:
        spec = _trial_spec(trial, arms.get(trial.pk, ()))
        entry = cached.get(trial.pk)
        if entry is None:
            criteria = _criteria_of(trial, records.get(trial.pk, ()))
            entry = _CompiledCriteria(_version_of(trial, versions), CompiledTrial(spec, criteria))
        elif entry.compiled.spec != spec:
            entry = _CompiledCriteria(entry.version, entry.compiled.with_spec(spec))
        _compiled_criteria.put(trial.pk, entry)
        result.append(TrialToMatch(trial, spec, entry.compiled.criteria, entry.compiled))
    if len(found) - len(cached) >= FREEZE_AFTER:
        # Compiled trials live as long as the process (about 140 KB of small objects each): in the cyclic
        # collector's oldest generation, every full collection walks them all (0.45 s for the demo's 839
        # trials, once every few patient re-matches). Frozen, collections skip them. A frozen object in a
        # reference cycle is never freed once dropped, so nothing read here may form one: compiled trials
        # hold none, and arms are read without `prefetch_related` (whose querysets point back at their
        # trial); an entry dropped from the cache is then freed by reference counting.
        gc.freeze()
    return result


# Fewer newly compiled trials (a trial re-match, a few edited trials) are not worth freezing for.
FREEZE_AFTER = 100


def _arms_of(trial_ids: Sequence[int]) -> dict[int, list[Arm]]:
    by_trial: dict[int, list[Arm]] = defaultdict(list)
    for start in range(0, len(trial_ids), _CHUNK):
        for arm in Arm.objects.filter(trial_id__in=trial_ids[start : start + _CHUNK]).order_by("id"):
            by_trial[arm.trial_id].append(arm)
    return by_trial


def _trial_spec(trial: Trial, arms: Iterable[Arm]) -> TrialSpec:
    return TrialSpec(
        id=trial.pk,
        is_open=trial.is_open,
        arms=tuple(
            ArmSpec(arm.pk, arm.label, arm.biomarker_definition, arm.cap, arm.is_suspended) for arm in arms
        ),
    )


def _criteria_of(trial: Trial, records: Iterable[EligibilityCriterion]) -> tuple[Criterion, ...]:
    registered = registered_conditions_criterion(trial.conditions or ())
    return (*(_criterion(record) for record in records), *((registered,) if registered else ()))


_CHUNK = 500  # trial ids per IN (...) list, well under SQLite's limit on query parameters


def _live_criteria(trial_ids: Sequence[int]) -> dict[int, list[EligibilityCriterion]]:
    by_trial: dict[int, list[EligibilityCriterion]] = defaultdict(list)
    for start in range(0, len(trial_ids), _CHUNK):
        live = EligibilityCriterion.objects.filter(
            trial_id__in=trial_ids[start : start + _CHUNK], retired_at__isnull=True
        )
        for record in live:
            by_trial[record.trial_id].append(record)
    return by_trial


_NO_CRITERIA = (0, None, None, None)


def _criteria_versions(trial_ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
    """Per trial, a summary of its live criteria that every write changes: a parse or a review saves the
    rows it changes with a new `updated_at` (a review also bumps `revision`), a retirement drops a row from
    the live set, a new criterion adds one with a new id."""
    versions: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(trial_ids), _CHUNK):
        rows = (
            EligibilityCriterion.objects.filter(
                trial_id__in=trial_ids[start : start + _CHUNK], retired_at__isnull=True
            )
            .values("trial_id")
            .annotate(count=Count("id"), updated=Max("updated_at"), revisions=Sum("revision"), last=Max("id"))
            .order_by()
        )
        for row in rows:
            versions[row["trial_id"]] = (row["count"], row["updated"], row["revisions"], row["last"])
    return versions


def _version_of(trial: Trial, versions: Mapping[int, tuple[Any, ...]]) -> tuple[Any, ...]:
    # The registered conditions become a criterion of their own, so they are part of the version. The parse
    # key changes with every re-parse that changes the text or the parser, whatever the clocks of the
    # processes that wrote `updated_at`.
    return (
        *versions.get(trial.pk, _NO_CRITERIA),
        trial.eligibility_parse_key,
        tuple(trial.conditions or ()),
    )


@dataclass(frozen=True)
class _CompiledCriteria:
    version: tuple[Any, ...]
    compiled: CompiledTrial


class _CompiledCriteriaCache:
    """Compiled trials by trial id, each valid for one criteria version; least recently used dropped first.

    Per process and thread-safe. A lookup with another version misses, so a write made by any process is
    seen by the next read in every process; the receivers below also drop a trial as soon as this process
    saves or deletes it or one of its criteria (which covers a write that leaves the version unchanged, and
    a trial id used again after a rolled-back transaction).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[int, _CompiledCriteria] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, trial_id: int, version: tuple[Any, ...]) -> _CompiledCriteria | None:
        with self._lock:
            entry = self._entries.get(trial_id)
            if entry is None or entry.version != version:
                return None
            self._entries.move_to_end(trial_id)
            return entry

    def put(self, trial_id: int, entry: _CompiledCriteria) -> None:
        with self._lock:
            self._entries[trial_id] = entry
            self._entries.move_to_end(trial_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def discard(self, trial_id: int) -> None:
        with self._lock:
            self._entries.pop(trial_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


# A full re-match reads every open trial in turn, so a cache smaller than the open registry would evict
# each trial before its next use: sized above the demo's 839 open trials with room for a registry several
# times larger. A compiled trial holds about 140 KB (tracemalloc, demo registry), so at most some 700 MB.
_compiled_criteria = _CompiledCriteriaCache(size=5_000)


def _trial_written(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    _compiled_criteria.discard(instance.pk if isinstance(instance, Trial) else instance.trial_id)  # type: ignore[attr-defined]


for _model in (Trial, EligibilityCriterion):
    post_save.connect(_trial_written, sender=_model, dispatch_uid=f"{_model.__name__}_saved_compiled")
    post_delete.connect(_trial_written, sender=_model, dispatch_uid=f"{_model.__name__}_deleted_compiled")


# A re-match compares digests: the stored explanations are read only for the matches that changed.
_EXPLANATION = ("criteria", "cohort", "to_settle")


def live_matches(*, patient: PatientProfile) -> list[Match]:
    """The patient's live matches, for a re-match: without their explanations (see `_EXPLANATION`)."""
    live = Match.objects.filter(patient=patient, retired_at__isnull=True).defer(*_EXPLANATION)
    return list(live.select_related("trial", "arm"))


def matchable_profiles() -> QuerySet[PatientProfile]:
    """The only gate on who is matched: every matching path starts from this queryset.

    Profiles whose patients consent now to be matched, under the current version of the matching consent.
    """
    return profiles_with_active_consent(ConsentDocument.Purpose.MATCHING)


def live_matches_for_trial(*, trial_id: int, patient_ids: Iterable[int]) -> dict[int, list[Match]]:
    """Live matches of one trial, by patient, for the given patients; without their explanations."""
    found: dict[int, list[Match]] = defaultdict(list)
    matches = Match.objects.filter(trial_id=trial_id, patient_id__in=list(patient_ids)).defer(*_EXPLANATION)
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


def profile_ids_due(*, today: date) -> list[int]:
    """The patients the nightly re-match takes (`profile_ids_to_rematch` all of them): matchable patients
    whose results the date may have changed (no horizon yet, one for other versions, or one reached by
    `today`) or who are owed a re-match the broker did not take (`RematchRequest`), and those who hold live
    matches without being matchable (to retire them)."""
    matchable = set(matchable_profiles().values_list("pk", flat=True))
    owed = set(RematchRequest.objects.values_list("profile_id", flat=True))
    fresh = MatchHorizon.objects.filter(
        valid_until__gt=today, version=version_stamp(), matched_on__isnull=False
    ).values_list("profile_id", flat=True)
    holders = set(Match.objects.filter(retired_at__isnull=True).values_list("patient_id", flat=True))
    return sorted((matchable - (set(fresh) - owed)) | (holders - matchable))


def trial_passes_of(*, profile_ids: Sequence[int]) -> dict[int, int]:
    """Per patient with a horizon, how many trial re-matches have evaluated them so far (see
    `services.matching._horizons_lower`)."""
    found: dict[int, int] = {}
    for start in range(0, len(profile_ids), _CHUNK):
        rows = MatchHorizon.objects.filter(profile_id__in=profile_ids[start : start + _CHUNK])
        found.update(rows.values_list("profile_id", "trial_passes"))
    return found


def trial_stamps(*, trial_ids: Sequence[int] | None = None) -> dict[int, str]:
    """Per open trial and per trial holding live matches (or per trial of `trial_ids`), a digest of what
    matching reads of it besides the patients: criteria version (`_version_of`), status, arms with caps,
    suspension and strata, and enrolled counts per arm. Read with a few queries, compiling nothing."""
    if trial_ids is None:
        holding = Match.objects.filter(retired_at__isnull=True).values("trial_id")
        trials = list(Trial.objects.filter(Q(overall_status__in=Trial.OPEN_STATUSES) | Q(pk__in=holding)))
    else:
        trials = list(Trial.objects.filter(pk__in=list(trial_ids)))
    ids = [trial.pk for trial in trials]
    versions = _criteria_versions(ids)
    arms = _arms_of(ids)
    enrolled = arm_enrolled_counts(trial_id=ids[0]) if len(ids) == 1 else arm_enrolled_counts()
    stamps = {}
    for trial in trials:
        spec = _trial_spec(trial, arms.get(trial.pk, ()))
        state = (_version_of(trial, versions), spec, tuple(enrolled.get(arm.id, 0) for arm in spec.arms))
        stamps[trial.pk] = hashlib.blake2b(repr(state).encode(), digest_size=16).hexdigest()
    return stamps


def trial_ids_changed(*, stamps: Mapping[int, str]) -> list[int]:
    """The trials whose stamp differs from the one stored (by the last nightly run, or by the trial's last
    completed re-match), or that have none while others have (a trial opened since); none before any stamp
    was stored (the first run re-matches every patient anyway)."""
    stored = dict(TrialMatchStamp.objects.values_list("trial_id", "stamp"))
    if not stored:
        return []
    return sorted(pk for pk, stamp in stamps.items() if stored.get(pk) != stamp)
