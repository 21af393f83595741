"""Writes for matches: idempotent upserts per patient, per trial and for everyone, and the hooks that
queue a re-match after a profile or trial change commits."""

import hashlib
import json
import logging
import marshal
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import OperationalError, transaction
from django.db.models import F, Model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from recruitment.matching import CohortVerdict, PatientFacts, Session, TrialVerdict
from recruitment.matching.engine import date_terms_for
from recruitment.matching.horizon import DateTerms, longest_for, validity_horizon, version_stamp
from recruitment.matching.index import CandidateIndex, PatientKeys, Requirement, trial_requirements
from recruitment.models import (
    Biomarker,
    Diagnosis,
    LabResult,
    Match,
    MatchEvent,
    MatchHorizon,
    PatientProfile,
    Procedure,
    Therapy,
    TrialMatchStamp,
)
from recruitment.selectors.matching import (
    TrialToMatch,
    live_matches,
    live_matches_for_trial,
    matchable_profiles,
    patient_facts,
    patient_facts_many,
    patients_with_live_matches,
    profile_ids_to_rematch,
    trial_passes_of,
    trial_stamps,
    trials_for_matching,
)
from recruitment.selectors.site import arm_enrolled_counts
from recruitment.services.outbox import rematch_request_clear, rematch_request_record, task_send
from trials.models import Trial

log = logging.getLogger(__name__)

_MATCH_FIELDS = ("verdict", "score", "criteria", "cohort", "to_settle")
# The explanation: JSON columns, read back only when the digest says a match changed.
_EXPLANATION_FIELDS = ("criteria", "cohort", "to_settle")


def match_digest(values: Mapping[str, Any]) -> str:
    """The fingerprint of what a match states (`_MATCH_FIELDS`), which a re-match compares instead of
    decoding the stored explanation.

    The values are hashed as the engine builds them, in marshal's format 2: it writes no back-references, so
    its bytes depend on the values alone (not on which equal strings happen to be one object), and dicts in
    the order `to_dict` writes their keys, the same in every process. About 2.7 times faster than sorted-key
    JSON on the demo's explanations. A value marshal cannot write falls back to sorted-key JSON. A digest
    that differs for the same content (another encoding) costs a comparison of the stored fields, never a
    missed change; equal digests for different content would need a 128-bit BLAKE2b collision.
    """
    content = {name: values[name] for name in _MATCH_FIELDS}
    try:
        data = b"m" + marshal.dumps(content, 2)
    except ValueError:
        text = json.dumps(content, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
        data = b"j" + text.encode()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _match_values(verdict: TrialVerdict, cohort: CohortVerdict | None) -> dict[str, Any]:
    data = verdict.to_dict()
    values = {
        "verdict": verdict.overall.value,
        "score": verdict.score,
        "criteria": data["criteria"],
        "cohort": cohort.to_dict() if cohort else {},
        "to_settle": data["to_settle"],
    }
    values["digest"] = match_digest(values)
    return values


def _produced(
    candidate: TrialToMatch, session: Session, *, enrolled: Mapping[int, int]
) -> tuple[dict[tuple[int, int | None], dict[str, Any]], str]:
    """The matches the engine produces for one trial (one per assignable stratum, or one for the trial),
    and, when it produces none, why. Only a trial the patient may enter is explained in full."""
    failed = candidate.compiled.violated(session)
    if failed is not None:
        return {}, f"ineligible: {failed.section} criterion {failed.text[:200]!r}"
    verdict = candidate.compiled.match(session, enrolled=enrolled)
    if not verdict.accepting:
        return {}, verdict.closed_reason
    stratified = {arm.id for arm in candidate.spec.arms if arm.definition}
    strata = [c for c in verdict.assignable_cohorts if c.arm_id in stratified]
    if strata:
        return {(candidate.trial.pk, c.arm_id): _match_values(verdict, c) for c in strata}, ""
    return {(candidate.trial.pk, None): _match_values(verdict, None)}, ""


def match_upsert_for_patient(
    *,
    patient: PatientProfile,
    today: date,
    enrolled: Mapping[int, int] | None = None,
    trials: Sequence[TrialToMatch] | None = None,
    index: CandidateIndex | None = None,
    trial_passes_seen: int | None = None,
) -> list[MatchEvent]:
    """Re-match one patient against every open trial; returns the events appended (none if nothing changed).

    Candidates are the eligible and possibly eligible verdicts of trials taking new patients. A live match
    that is no longer produced (ineligible now, trial closed, cohort full, no consent to be matched) is
    retired, not deleted. `enrolled` maps arm id to the number enrolled there, for caps; by default the
    enrolled candidates are counted. A caller matching many patients passes the open `trials` once, their
    candidate `index`, and the patient's `trial_passes` as they were before it read the trials
    (`_horizon_record`).

    The patient's horizon (`MatchHorizon`) is written too: until when these matches stand, from the date
    terms of the trials evaluated (`engine.date_terms_for`); a patient who is not matchable loses theirs.
    """
    with transaction.atomic():
        # Serialises re-matches of one patient (a profile edit racing the nightly run) on the profile row. The
        # profile and its facts are read under that lock, never before it: facts read earlier (say, a chunk of
        # the nightly run) could overwrite the match that the patient's own re-match wrote from newer ones.
        locked = PatientProfile.objects.select_for_update().filter(pk=patient.pk).first()
        if locked is None:
            return []
        patient = locked
        rematch_request_clear(profile_id=patient.pk)
        live = live_matches(patient=patient)
        produced: dict[tuple[int, int | None], dict[str, Any]] = {}
        reasons: dict[int, str] = {}
        if matchable_profiles().filter(pk=patient.pk).exists():
            facts = patient_facts(profile=patient)
            candidates = trials if trials is not None else trials_for_matching()
            if index is not None:
                keep = index.trials_for(facts) | {match.trial_id for match in live}
                candidates = [c for c in candidates if c.trial.pk in keep]
            counts = enrolled if enrolled is not None else arm_enrolled_counts()
            session = Session(facts, today)
            for candidate in candidates:
                matches, reason = _produced(candidate, session, enrolled=counts)
                produced.update(matches)
                reasons[candidate.trial.pk] = reason or "cohort no longer assignable"
            _horizon_record(
                profile_id=patient.pk,
                facts=facts,
                today=today,
                terms=date_terms_for(session, (c.compiled for c in candidates)),
                trial_passes_seen=trial_passes_seen,
            )
        else:
            reasons = dict.fromkeys((m.trial_id for m in live), "no active consent to be matched")
            match_horizon_drop(profile_id=patient.pk)
        return MatchEvent.objects.bulk_create(
            _matches_settle(patient_id=patient.pk, live=live, produced=produced, reasons=reasons)
        )


def _horizon_record(
    *, profile_id: int, facts: PatientFacts, today: date, terms: DateTerms, trial_passes_seen: int | None
) -> None:
    """Store until when the patient's new matches stand; called under the patient's profile lock.

    A full re-match reads the open trials once, before it locks its first patient. A trial changed and
    re-matched after that read but before this patient's lock evaluated the patient on the trial's new
    criteria, and this re-match has just overwritten that with the old ones (it holds the lock now, so
    nothing else writes the patient's matches or horizon meanwhile). Every trial re-match counts itself in
    `trial_passes` of each matchable patient it passes over (`_horizons_lower`), under the same locks: when
    the count differs from `trial_passes_seen`, read before the trials, the patient is due on the next
    nightly run instead of at the horizon. None: the trials were read under this lock (one patient), and no
    trial re-match can have come between.
    """
    longest = longest_for(profile_id, settings.REMATCH_HORIZON_MAX_DAYS)
    horizon = validity_horizon(facts, today, terms, longest=longest)
    rows = MatchHorizon.objects.filter(profile_id=profile_id)
    passes = rows.values_list("trial_passes", flat=True).first()  # None: no row yet
    if trial_passes_seen is not None and (passes or 0) != trial_passes_seen:
        horizon = today
    values = {"matched_on": today, "valid_until": horizon, "version": version_stamp()}
    # Every writer of the row holds the profile lock, as this one does: no row can appear in between. Two
    # statements per patient of the nightly run instead of `update_or_create`'s savepoint and locking read.
    if passes is None:
        MatchHorizon.objects.create(profile_id=profile_id, **values)
    else:
        rows.update(**values)


def match_horizon_drop(*, profile_id: int) -> None:
    """A patient who is no longer matchable has no horizon (`MatchHorizon`): called under their profile
    lock by the re-match that finds them so and by the withdrawal of their matching consent, which retires
    their matches itself and queues no re-match."""
    MatchHorizon.objects.filter(profile_id=profile_id).delete()


def _horizons_lower(*, passed: set[int], horizons: Mapping[int, date], today: date) -> None:
    """A trial re-match's part of the horizons, under the profile locks of its chunk (`passed`, the matchable
    patients in it).

    A new or changed trial brings its own windows and age limits, which the horizon stored by the patient's
    last re-match did not read: each patient the trial evaluates gets at most the trial's own horizon for
    them (`horizons`), a conditional update that only ever lowers it. The patients the candidate index rules
    out are left alone, and so are those a criterion the date cannot reach rules out
    (`CompiledTrial.date_terms_for`): a refuting fact changes only with the profile (a re-match) or the
    age, on a birthday, which every horizon already counts. Every patient passed over has `trial_passes`
    counted up (a row is made for one who has none yet: it is due anyway), for the full re-match that may
    have read the trial before its change (`_horizon_record`). Patient re-matches take the same locks, so
    the two never interleave on a patient; the conditional update keeps the lower date whatever their
    order.
    """
    if not passed:
        return
    stored = set(MatchHorizon.objects.filter(profile_id__in=passed).values_list("profile_id", flat=True))
    MatchHorizon.objects.bulk_create(
        [MatchHorizon(profile_id=pk, valid_until=today) for pk in sorted(passed - stored)],
        ignore_conflicts=True,
    )
    MatchHorizon.objects.filter(profile_id__in=passed).update(trial_passes=F("trial_passes") + 1)
    by_date: dict[date, list[int]] = defaultdict(list)
    for pk, horizon in horizons.items():
        by_date[horizon].append(pk)
    for horizon, pks in by_date.items():
        MatchHorizon.objects.filter(profile_id__in=pks, valid_until__gt=horizon).update(valid_until=horizon)


def _matches_settle(
    *,
    patient_id: int,
    live: Iterable[Match],
    produced: dict[tuple[int, int | None], dict[str, Any]],
    reasons: Mapping[int, str],
) -> list[MatchEvent]:
    """Bring one patient's live matches in line with what the engine produced; returns unsaved events.

    `live` and `produced` cover the same trials (all open ones, or one): a live match not produced again is
    retired with the trial's reason, a changed one updated, a new one created. A live match whose digest
    equals the new one is unchanged and its explanation is never read; only the others' are, in one query,
    to name the fields that changed. A match without a digest yet (written before there were any) that has
    not changed gets its digest written, and nothing else: no event, no signal.
    """
    now = timezone.now()
    events: list[MatchEvent] = []
    pairs = [(match, produced.pop((match.trial_id, match.arm_id), None)) for match in live]
    _explanations_load([m for m, values in pairs if values is not None and m.digest != values["digest"]])
    digested: list[Match] = []
    for match, values in pairs:
        if values is None:
            match.retired_at = now
            match.save(update_fields=["retired_at"])
            reason = reasons.get(match.trial_id, "trial not recruiting")
            retired = MatchEvent(
                match=match, kind=MatchEvent.Kind.RETIRED, detail={"reason": reason}, created_at=now
            )
            events.append(retired)
            continue
        if match.digest == values["digest"]:
            continue
        match.digest = values["digest"]
        changed = [name for name in _MATCH_FIELDS if getattr(match, name) != values[name]]
        if not changed:
            digested.append(match)
            continue
        previous = {name: getattr(match, name) for name in changed if name in ("verdict", "score")}
        for name in changed:
            setattr(match, name, values[name])
        match.evaluated_at = now
        match.save(update_fields=[*changed, "digest", "evaluated_at"])
        detail = {"changed": changed, "previous": previous}
        events.append(MatchEvent(match=match, kind=MatchEvent.Kind.UPDATED, detail=detail, created_at=now))
    if digested:
        Match.objects.bulk_update(digested, ["digest"])
    for (trial_id, arm_id), values in produced.items():
        match = Match(
            patient_id=patient_id,
            trial_id=trial_id,
            arm_id=arm_id,
            evaluated_at=now,
            created_at=now,
            **values,
        )
        match.save()
        summary = {"verdict": match.verdict, "score": match.score}
        events.append(MatchEvent(match=match, kind=MatchEvent.Kind.CREATED, detail=summary, created_at=now))
    return events


def _explanations_load(matches: Sequence[Match]) -> None:
    """Read the stored explanations of these matches (deferred by the selectors) in one query."""
    stored = Match.objects.filter(pk__in=[m.pk for m in matches]).values_list("pk", *_EXPLANATION_FIELDS)
    by_pk = {pk: fields for pk, *fields in stored}
    for match in matches:
        for name, value in zip(_EXPLANATION_FIELDS, by_pk[match.pk], strict=True):
            setattr(match, name, value)


def match_upsert_for_trial(
    *,
    trial: Trial,
    today: date,
    enrolled: Mapping[int, int] | None = None,
    chunk_size: int = 500,
) -> list[MatchEvent]:
    """Re-match one trial against every matchable patient: the mirror of `match_upsert_for_patient`.

    Only the trial's own matches change. Patients the candidate index rules out are skipped unless they
    hold a live match of the trial (then they are evaluated, so that the match is retired with its reason).
    Patients are handled in chunks, each in its own transaction, locking their profile rows in id order, as
    a patient re-match locks its one row, so that the two never deadlock.
    """
    # Read before the trial, so that a change made while this re-match runs leaves the stamp stale.
    stamp = trial_stamps(trial_ids=[trial.pk]).get(trial.pk)
    (candidate,) = trials_for_matching(trial_ids=[trial.pk]) or (None,)
    requirements = trial_requirements(candidate.criteria) if candidate else ()
    holders = patients_with_live_matches(trial_id=trial.pk)
    events: list[MatchEvent] = []
    profile_ids = list(matchable_profiles().order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(profile_ids) + 1, chunk_size):
        chunk = set(profile_ids[start : start + chunk_size])
        if start + chunk_size >= len(profile_ids):
            # Holders who are no longer matchable (consent withdrawn) are settled with the last chunk.
            chunk |= holders - set(profile_ids)
        if chunk:
            events += _trial_chunk_settle(
                trial_id=trial.pk,
                candidate=candidate,
                requirements=requirements,
                profile_ids=chunk,
                matchable=set(profile_ids),
                holders=holders,
                today=today,
                enrolled=enrolled if enrolled is not None else arm_enrolled_counts(trial_id=trial.pk),
            )
    if stamp is not None:
        _trial_stamp_after_rematch(trial_id=trial.pk, stamp=stamp)
    return events


def _trial_stamp_after_rematch(*, trial_id: int, stamp: str) -> None:
    """A completed trial re-match is what the nightly run's trial-side check looks for: store the stamp of
    the trial as it read it, so that the night after a change re-matched in the day does not re-match it
    again, and a nightly trial re-match that never completed (its retries used up) is sent again the next
    night. Nothing is stored before the first nightly run has stored the registry's stamps (see
    `trial_ids_changed`)."""
    if TrialMatchStamp.objects.exists():
        TrialMatchStamp.objects.update_or_create(trial_id=trial_id, defaults={"stamp": stamp})


def _trial_chunk_settle(
    *,
    trial_id: int,
    candidate: TrialToMatch | None,
    requirements: Sequence[Requirement],
    profile_ids: set[int],
    matchable: set[int],
    holders: set[int],
    today: date,
    enrolled: Mapping[int, int],
) -> list[MatchEvent]:
    with transaction.atomic():
        profiles = list(PatientProfile.objects.select_for_update().filter(pk__in=profile_ids).order_by("pk"))
        # The caller listed the matchable patients before taking these locks: a consent withdrawn since (it
        # takes the same lock) must win, so the gate is read again under the locks.
        matchable = matchable & set(
            matchable_profiles().filter(pk__in=profile_ids).values_list("pk", flat=True)
        )
        facts = patient_facts_many(profiles=[p for p in profiles if p.pk in matchable]) if candidate else {}
        live = live_matches_for_trial(trial_id=trial_id, patient_ids=profile_ids)
        events: list[MatchEvent] = []
        horizons: dict[int, date] = {}
        for profile in profiles:
            produced: dict[tuple[int, int | None], dict[str, Any]] = {}
            reason = "trial not recruiting"
            if profile.pk not in matchable:
                reason = "no active consent to be matched"
            elif candidate is not None:
                patient = facts[profile.pk]
                if profile.pk in holders or PatientKeys.of(patient, today).admits(requirements):
                    session = Session(patient, today)
                    produced, reason = _produced(candidate, session, enrolled=enrolled)
                    terms = candidate.compiled.date_terms_for(session)
                    if terms is not None:
                        horizons[profile.pk] = validity_horizon(
                            patient,
                            today,
                            terms,
                            longest=longest_for(profile.pk, settings.REMATCH_HORIZON_MAX_DAYS),
                        )
            if not produced and profile.pk not in live:
                continue
            events += _matches_settle(
                patient_id=profile.pk,
                live=live.get(profile.pk, []),
                produced=produced,
                reasons={trial_id: reason or "cohort no longer assignable"},
            )
        _horizons_lower(passed={p.pk for p in profiles if p.pk in matchable}, horizons=horizons, today=today)
        return MatchEvent.objects.bulk_create(events)


@dataclass
class RematchSummary:
    patients: int = 0
    events: int = 0
    seconds: float = 0.0
    # Patients whose re-match raised: rolled back, logged with the error, and still due (`profile_ids_due`).
    failed: list[int] = field(default_factory=list)


def match_upsert_all(
    *,
    today: date,
    profile_ids: Iterable[int] | None = None,
    chunk_size: int = 500,
    progress: Callable[[int], object] | None = None,
) -> RematchSummary:
    """Re-match patients (all matchable ones, or `profile_ids`) against every open trial, in process.

    Trials and their candidate index are built once; each patient's facts are read under their profile lock.
    Patients who are no longer matchable but hold live matches are included, so that those matches are
    retired. Each patient's `trial_passes` is read before the trials (`_horizon_record`). A patient whose
    re-match raises (other than a database error) is left as she was and listed in `failed`.
    `progress` is called with the number of patients done after each chunk.
    """
    started = time.perf_counter()
    ids = profile_ids_to_rematch() if profile_ids is None else sorted(set(profile_ids))
    passes = trial_passes_of(profile_ids=ids)
    trials = trials_for_matching()
    index = CandidateIndex(trials={t.trial.pk: t.criteria for t in trials}, today=today)
    enrolled = arm_enrolled_counts()
    summary = RematchSummary()
    for start in range(0, len(ids), chunk_size):
        profiles = list(PatientProfile.objects.filter(pk__in=ids[start : start + chunk_size]))
        for profile in profiles:
            try:
                events = match_upsert_for_patient(
                    patient=profile,
                    today=today,
                    enrolled=enrolled,
                    trials=trials,
                    index=index,
                    trial_passes_seen=passes.get(profile.pk, 0),
                )
            except OperationalError:
                raise  # the database, not this patient: the task retries the whole chunk
            except Exception:
                # One patient's facts must not hold back the rest of the chunk night after night: her own
                # transaction is rolled back, her horizon stays as it was, so she is due again.
                log.exception("re-match of patient profile %s failed; the others go on", profile.pk)
                summary.failed.append(profile.pk)
                continue
            summary.events += len(events)
        summary.patients += len(profiles)
        if progress is not None:
            progress(len(profiles))
    summary.seconds = time.perf_counter() - started
    return summary


def trial_stamps_record(*, stamps: Mapping[int, str], rematched: Collection[int] = ()) -> None:
    """Store what each trial looked like to this nightly run (`selectors.matching.trial_stamps`); called once
    the run has sent its work, so that a run that failed before compares with the previous stamps again.

    The trials in `rematched` keep their stored stamp: their re-match stores the new one when it completes
    (`match_upsert_for_trial`), so that one whose task is lost is sent again the next night."""
    # The stale ones by difference: `exclude(trial_id__in=stamps)` binds one parameter per open trial, past
    # SQLite's limit for a large registry; the trials closed since the last run are few.
    stale = set(TrialMatchStamp.objects.values_list("trial_id", flat=True)) - set(stamps)
    TrialMatchStamp.objects.filter(trial_id__in=sorted(stale)).delete()
    TrialMatchStamp.objects.bulk_create(
        [TrialMatchStamp(trial_id=pk, stamp=stamp) for pk, stamp in stamps.items() if pk not in rematched],
        update_conflicts=True,
        unique_fields=["trial"],
        update_fields=["stamp"],
    )


def profile_changed(*, profile_id: int) -> None:
    """Queue a re-match of the patient once the current transaction commits (at once outside one).

    Called for every write to a profile or one of its facts; the receivers below call it for saves and
    deletions made anywhere, the admin's forms included. The re-match is first owed in the database, in the
    writer's transaction: if the broker cannot take the task at commit, the change is saved all the same and
    the periodic drain (or the nightly full re-match) does the re-match later.
    """
    rematch_request_record(profile_id=profile_id)
    batch = _rematch_batch.get()
    if batch is not None:
        if profile_id in batch:
            return
        batch.add(profile_id)
    transaction.on_commit(partial(_enqueue_patient_rematch, profile_id))


_rematch_batch: ContextVar[set[int] | None] = ContextVar("rematch_batch", default=None)


@contextmanager
def one_rematch_per_patient() -> Iterator[None]:
    """Writes inside queue at most one re-match per patient: a record import saves dozens of facts in one
    transaction, and each would otherwise queue a full re-match of the same patient."""
    token = _rematch_batch.set(set())
    try:
        yield
    finally:
        _rematch_batch.reset(token)


def trial_changed(*, trial_id: int) -> None:
    """Queue a re-match of the trial once the current transaction commits: its status, an arm, a criterion
    (parsed or curated) changed. With no patient to match (a fresh registry import) nothing is queued."""
    holders = Match.objects.filter(trial_id=trial_id, retired_at__isnull=True)
    if matchable_profiles().exists() or holders.exists():
        transaction.on_commit(partial(_enqueue_trial_rematch, trial_id))


def _enqueue_patient_rematch(profile_id: int) -> None:
    from recruitment.tasks import rematch_patient  # the tasks module imports this one

    # The request row stays until the re-match runs.
    task_send(rematch_patient, profile_id, recovered_by="the outbox drain")


def _enqueue_trial_rematch(trial_id: int) -> None:
    from recruitment.tasks import rematch_trial

    # The change behind it gives the trial a new stamp: the nightly run re-matches it (`trial_ids_changed`).
    task_send(rematch_trial, trial_id, recovered_by="the nightly re-match of changed trials")


@receiver(post_save, sender=PatientProfile, dispatch_uid="profile_saved_rematch")
def _profile_saved(sender: type[PatientProfile], instance: PatientProfile, **kwargs: Any) -> None:
    if not kwargs.get("raw"):
        profile_changed(profile_id=instance.pk)


def _fact_written(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    if not kwargs.get("raw"):
        profile_changed(profile_id=instance.patient_id)  # type: ignore[attr-defined]


for _fact_model in (Diagnosis, Biomarker, LabResult, Therapy, Procedure):
    post_save.connect(_fact_written, sender=_fact_model, dispatch_uid=f"{_fact_model.__name__}_saved_rematch")
    post_delete.connect(
        _fact_written, sender=_fact_model, dispatch_uid=f"{_fact_model.__name__}_deleted_rematch"
    )
