"""Matching benchmark: synthetic patients against the real open trials in the database (BENCHMARKS.md §3).

Trials are repeated in memory under new ids until there are M cohorts (a trial without arms is one cohort).
Copies share their criteria, so within one patient's session a copy reuses the verdicts of its original:
every patient-side figure is therefore also measured against the distinct real trials alone and scaled to M
("no sharing between copies"), which is the figure that holds for M distinct trials. Sampled measurements are
scaled up to the full sizes; every scaled figure is printed as "extrapolated".

Atom truths shared across patients (`SharedTruths`) depend on which patients were matched before, so each
measurement states its own: "alone" (none, what a patient costs in a fresh process), or a copy of the truths
left by matching `--warm-patients` other patients (a worker's steady state), never the timed patient's own.
"""

import gc
import multiprocessing
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any, Literal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.utils import timezone

from recruitment.matching import CompiledTrial, PatientFacts, Session, SharedTruths, TrialSpec
from recruitment.matching.conditions import registered_conditions_criterion
from recruitment.matching.engine import date_terms_for
from recruitment.matching.horizon import DateTerms, longest_for, union, validity_horizon
from recruitment.matching.index import CandidateIndex
from recruitment.matching.synthetic import synthetic_patients
from recruitment.selectors.matching import trials_for_matching

Registry = dict[int, CompiledTrial]


def _cohorts(spec: TrialSpec) -> int:
    return max(1, len(spec.arms))


def _peak_mb(who: int) -> float:
    # ru_maxrss is in kilobytes on Linux, bytes on macOS.
    peak = resource.getrusage(who).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def _cpu_s(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass
class PatientRun:
    wall_ms: float
    cpu_ms: float
    candidates: int
    explained: int


Depth = Literal["first pass", "verdicts", "explanations"]


def match_patient(
    registry: Registry,
    trial_ids: Iterable[int],
    facts: PatientFacts,
    today: date,
    shared: SharedTruths | None,
    upto: Depth = "explanations",
) -> tuple[int, int]:
    """What a re-match of one patient computes: the first pass on every candidate trial, and the full
    explanation (as stored on a Match) of each trial the patient may enter; (candidates, not ineligible).
    `upto` stops earlier, to show where the time goes: after the first pass, or with the verdicts built but
    not serialised."""
    session = Session(facts, today, shared)
    candidates = explained = 0
    for trial_id in trial_ids:
        compiled = registry[trial_id]
        candidates += 1
        if compiled.violated(session) is None:
            explained += 1
            if upto != "first pass":
                verdict = compiled.match(session)
                if upto == "explanations":
                    verdict.to_dict()
    return candidates, explained


Step = Callable[[Registry, Iterable[int], PatientFacts, date, SharedTruths | None], tuple[int, int]]


def _timed_patient(
    registry: Registry,
    index: CandidateIndex | None,
    facts: PatientFacts,
    today: date,
    shared: SharedTruths | None,
    step: Step = match_patient,
) -> PatientRun:
    started, cpu = time.perf_counter(), time.process_time()
    chosen = index.trials_for(facts) if index is not None else registry.keys()
    candidates, explained = step(registry, chosen, facts, today, shared)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return PatientRun(wall * 1000, cpu * 1000, candidates, explained)


# The full re-match in worker processes reads these, inherited from the parent by fork (copy-on-write).
_SHARED: dict[str, Any] = {}


def _rematch_chunk(patient_ids: list[int]) -> tuple[int, int]:
    registry, index, patients, today, shared = (
        _SHARED[k] for k in ("registry", "index", "patients", "today", "shared")
    )
    pairs = explained = 0
    for pid in patient_ids:
        facts = patients[pid]
        candidates, shown = match_patient(registry, index.trials_for(facts), facts, today, shared)
        pairs, explained = pairs + candidates, explained + shown
    return pairs, explained


class Command(BaseCommand):
    help = (
        "Benchmark matching: patient -> all cohorts, trial -> all patients, full re-match with/without index."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, default=100_000, help="N synthetic patients (100,000).")
        parser.add_argument(
            "--cohorts", type=int, default=10_000, help="M cohorts, real trials repeated (10,000)."
        )
        parser.add_argument(
            "--latency-patients", type=int, default=100, help="Patients timed against all cohorts (100)."
        )
        parser.add_argument(
            "--exhaustive-patients", type=int, default=10, help="Patients timed without the index (10)."
        )
        parser.add_argument(
            "--trial-samples", type=int, default=5, help="Trials timed against all patients (5)."
        )
        parser.add_argument(
            "--exhaustive-trial-patients",
            type=int,
            default=5000,
            help="Patients a sampled trial is timed against without the index (5,000; scaled to N).",
        )
        parser.add_argument(
            "--rematch-patients",
            type=int,
            default=300,
            help="Patients actually re-matched against all M cohorts, one process and all cores (300).",
        )
        parser.add_argument(
            "--warm-patients",
            type=int,
            default=2000,
            help="Patients matched first, whose shared truths the warm measurements start from (2,000).",
        )
        parser.add_argument(
            "--nightly-horizons",
            action="store_true",
            help="Instead of the measurements above: the share of patients the nightly run takes (due by "
            "their validity horizon) over --nights nights after a full re-match, and the nightly cost.",
        )
        parser.add_argument(
            "--nights", type=int, default=30, help="With --nightly-horizons: nights simulated, twice (30)."
        )
        parser.add_argument("--seed", type=int, default=20261123)
        parser.add_argument("--today", type=date.fromisoformat, default=None, help="Evaluation date.")

    def handle(self, *args: Any, **options: Any) -> None:
        today: date = options["today"] or timezone.localdate()
        rng = random.Random(options["seed"])  # noqa: S311 - sampling for a benchmark
        out = self.stdout.write
        started = time.perf_counter()
        real = trials_for_matching()
        if not real:
            raise CommandError("no open trials in the database; run `manage.py load_demo` first")
        load_s = time.perf_counter() - started
        originals: Registry = {t.trial.pk: t.compiled for t in real}
        real_cohorts = sum(_cohorts(t.spec) for t in real)
        started = time.perf_counter()
        registry = self._replicate(list(originals.values()), options["cohorts"])
        compile_s = time.perf_counter() - started
        cohorts = sum(_cohorts(c.spec) for c in registry.values())
        registered = sum(registered_conditions_criterion(t.trial.conditions or ()) is not None for t in real)
        out(
            f"Dataset: {len(real)} real open trials ({real_cohorts} cohorts, "
            f"{sum(len(t.criteria) for t in real)} criteria, {registered} of them from registered "
            f"conditions; loaded and compiled in {load_s:.1f} s) repeated to {len(registry)} trials = "
            f"{cohorts} cohorts (copies share the compiled criteria: {compile_s:.1f} s); evaluation date "
            f"{today}; seed {options['seed']}; load average {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} cores."
        )
        started = time.perf_counter()
        index = CandidateIndex(trials={tid: c.criteria for tid, c in registry.items()}, today=today)
        real_index = CandidateIndex(trials={tid: c.criteria for tid, c in originals.items()}, today=today)
        out(
            f"Trial index: built in {time.perf_counter() - started:.2f} s (both registries); "
            f"{len(index.always)} of {len(registry)} trials with no indexable requirement "
            f"(always candidates)."
        )
        started = time.perf_counter()
        patients = dict(enumerate(synthetic_patients(options["patients"], seed=options["seed"], today=today)))
        # The generated population is long-lived: keeping it out of the cyclic collector's scans is what a
        # worker holding its data would do too.
        gc.freeze()
        out(f"Patients: {len(patients)} synthetic, generated in {time.perf_counter() - started:.1f} s.")

        sample = rng.sample(sorted(patients), min(options["latency_patients"], len(patients)))
        chosen = set(sample)
        warm = SharedTruths()
        started = time.process_time()
        # From the end of the population: the full re-match below times patients from its start.
        warmers = [pid for pid in reversed(patients) if pid not in chosen][: options["warm_patients"]]
        for pid in warmers:
            facts = patients[pid]
            match_patient(originals, real_index.trials_for(facts), facts, today, warm, upto="first pass")
        out(
            f"Shared truths: {len(warmers)} other patients matched first (first pass, distinct trials) in "
            f"{time.process_time() - started:.1f} s CPU: {warm.size} truths; the warm measurements "
            f"below each start from a copy of them."
        )
        if options["nightly_horizons"]:
            self._nightly_horizons(originals, registry, index, patients, today, warm, set(warmers), options)
            return

        def series(
            registry: Registry,
            index: CandidateIndex | None,
            shared: SharedTruths | None,
            step: Step = match_patient,
            pids: list[int] = sample,
        ) -> list[PatientRun]:
            memo = None if shared is None else shared.copy()
            return [_timed_patient(registry, index, patients[pid], today, memo, step) for pid in pids]

        runs = series(registry, index, warm)
        distinct = series(originals, real_index, warm)
        alone = series(originals, real_index, None)
        scale = cohorts / real_cohorts
        cpu = [r.cpu_ms for r in runs]
        scaled = [r.cpu_ms * scale for r in distinct]
        alone_p50, alone_p95 = (_percentile([r.cpu_ms for r in alone], share) for share in (0.5, 0.95))
        out(
            f"Patient -> all {cohorts} cohorts, with explanations, index on ({len(sample)} patients): "
            f"p50 {_percentile(cpu, 0.5):.1f} ms, p95 {_percentile(cpu, 0.95):.1f} ms CPU "
            f"(wall p50 {_percentile([r.wall_ms for r in runs], 0.5):.1f} ms, "
            f"p95 {_percentile([r.wall_ms for r in runs], 0.95):.1f} ms); "
            f"mean {statistics.mean(r.candidates for r in runs):.0f} candidate trials of {len(registry)}, "
            f"{statistics.mean(r.explained for r in runs):.0f} explained (not ineligible)."
        )
        out(
            f"Patient -> the {len(originals)} distinct real trials ({real_cohorts} cohorts), index on: "
            f"p50 {_percentile([r.cpu_ms for r in distinct], 0.5):.1f} ms, "
            f"p95 {_percentile([r.cpu_ms for r in distinct], 0.95):.1f} ms CPU; scaled to {cohorts} "
            f"cohorts with no sharing between copies (x{scale:.2f}, extrapolated): "
            f"p50 {_percentile(scaled, 0.5):.1f} ms, p95 {_percentile(scaled, 0.95):.1f} ms CPU. "
            f"Alone (no truths shared from other patients): p50 {alone_p50:.1f} ms, p95 {alone_p95:.1f} ms "
            f"CPU; scaled p50 {alone_p50 * scale:.1f} ms, p95 {alone_p95 * scale:.1f} ms CPU."
        )
        # Where the time goes against the distinct trials: the first pass alone, then with the verdicts of
        # the trials not ruled out built but not serialised (the rest, to the figure above, is `to_dict`).
        first_pass, verdicts = (
            partial(match_patient, upto="first pass"),
            partial(match_patient, upto="verdicts"),
        )
        split = {
            name: [r.cpu_ms for r in series(originals, real_index, shared, step)]
            for name, shared, step in (
                ("first pass only", warm, first_pass),
                ("first pass + verdicts, not serialised", warm, verdicts),
                ("first pass only, alone", None, first_pass),
            )
        }
        out(
            f"Patient -> the {len(originals)} distinct real trials, index on, cost split (CPU; "
            f"scaled x{scale:.2f} to {cohorts} cohorts, extrapolated): "
            + "; ".join(
                f"{name} p50 {_percentile(ms, 0.5):.1f} ms, p95 {_percentile(ms, 0.95):.1f} ms "
                f"(scaled p95 {_percentile(ms, 0.95) * scale:.0f} ms)"
                for name, ms in split.items()
            )
            + "."
        )
        exhaustive = series(registry, None, warm, pids=sample[: options["exhaustive_patients"]])
        exhaustive_distinct = series(originals, None, warm, pids=sample[: options["exhaustive_patients"]])
        off_ms = statistics.mean(r.cpu_ms for r in exhaustive)
        off_distinct_ms = statistics.mean(r.cpu_ms for r in exhaustive_distinct)
        on_ms = statistics.mean(r.cpu_ms for r in runs[: options["exhaustive_patients"]])
        on_distinct_ms = statistics.mean(r.cpu_ms for r in distinct[: options["exhaustive_patients"]])
        out(
            f"Patient -> all cohorts, index off ({len(exhaustive)} patients): mean {off_ms:.0f} ms CPU "
            f"({off_ms / len(registry) * 1000:.1f} us per pair, {off_ms / on_ms:.1f}x the index-on time "
            f"of the same patients); distinct real trials {off_distinct_ms:.0f} ms "
            f"({off_distinct_ms / len(originals) * 1000:.1f} us per pair, "
            f"{off_distinct_ms / on_distinct_ms:.1f}x)."
        )

        started = time.perf_counter()
        for pid, facts in patients.items():
            index.add_patient(pid, facts)
        out(f"Patient index: {len(patients)} patients added in {time.perf_counter() - started:.1f} s.")
        self._trials_to_patients(index, registry, patients, today, rng, options)
        self._full_rematch(
            registry,
            index,
            patients,
            today,
            warm,
            set(warmers),
            options,
            runs,
            distinct,
            scale,
            off_ms / on_ms,
        )
        out(
            f"Peak memory (max RSS): {_peak_mb(resource.RUSAGE_SELF):.0f} MB this process "
            f"({len(patients)} patients, {len(registry)} compiled trials, both indexes), "
            f"{_peak_mb(resource.RUSAGE_CHILDREN):.0f} MB largest worker process."
        )

    def _trials_to_patients(
        self,
        index: CandidateIndex,
        registry: Registry,
        patients: dict[int, PatientFacts],
        today: date,
        rng: random.Random,
        options: dict[str, Any],
    ) -> None:
        trial_ids = rng.sample(
            sorted(set(registry) - index.always), min(options["trial_samples"], len(registry))
        )
        subset = list(patients)[: options["exhaustive_trial_patients"]]
        for trial_id in trial_ids:
            compiled = registry[trial_id]
            # Each run starts with no shared truths: the trial's atoms are answered once per class of
            # patients within the run.
            shared = SharedTruths()
            started, cpu = time.perf_counter(), time.process_time()
            chosen = index.patients_for(trial_id)
            matched = 0
            for pid in chosen:
                session = Session(patients[pid], today, shared)
                if compiled.violated(session) is None:
                    compiled.match(session).to_dict()
                    matched += 1
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            started, shared = time.process_time(), SharedTruths()
            for pid in subset:
                session = Session(patients[pid], today, shared)
                if compiled.violated(session) is None:
                    compiled.match(session).to_dict()
            full = (time.process_time() - started) * len(patients) / max(1, len(subset))
            self.stdout.write(
                f"Trial {trial_id} -> {len(patients)} patients: index on {cpu:.2f} s CPU ({elapsed:.2f} s "
                f"wall; {len(chosen)} candidates, {matched} eligible or possibly eligible, explained); "
                f"index off {full:.1f} s CPU (extrapolated from {len(subset)} patients)."
            )

    def _full_rematch(
        self,
        registry: Registry,
        index: CandidateIndex,
        patients: dict[int, PatientFacts],
        today: date,
        warm: SharedTruths,
        warmed: set[int],
        options: dict[str, Any],
        runs: list[PatientRun],
        distinct: list[PatientRun],
        scale: float,
        index_ratio: float,
    ) -> None:
        out = self.stdout.write
        # Patients whose truths are not among the warm ones.
        chunk = [pid for pid in sorted(patients) if pid not in warmed][: options["rematch_patients"]]
        # From the warm truths, as a run over all patients would be after its first few thousand.
        _SHARED.update(registry=registry, index=index, patients=patients, today=today, shared=warm.copy())
        started, cpu = time.perf_counter(), time.process_time()
        pairs, explained = _rematch_chunk(chunk)
        _SHARED["shared"] = warm.copy()
        one_wall, one_cpu = time.perf_counter() - started, time.process_time() - cpu
        cores = os.cpu_count() or 1
        # Workers are forked after everything is built: they share the parent's memory until they write.
        connections.close_all()
        parts = [chunk[i::cores] for i in range(cores)]
        started, before = time.perf_counter(), _cpu_s(resource.RUSAGE_CHILDREN)
        with multiprocessing.get_context("fork").Pool(cores) as pool:
            pool.map(_rematch_chunk, parts)
        all_wall, all_cpu = time.perf_counter() - started, _cpu_s(resource.RUSAGE_CHILDREN) - before
        factor = len(patients) / max(1, len(chunk))
        out(
            f"Full re-match, measured on {len(chunk)} patients x {len(registry)} trials with the index "
            f"({pairs} candidate pairs, {explained} explained): one process {one_cpu:.1f} s CPU "
            f"({one_wall:.1f} s wall); {cores} processes {all_wall:.1f} s wall ({all_cpu:.1f} s CPU in the "
            f"workers)."
        )
        # Scaled by the patients' CPU time against the distinct trials (no sharing between copies).
        no_sharing = (
            statistics.mean(r.cpu_ms for r in distinct) * scale / statistics.mean(r.cpu_ms for r in runs)
        )
        one = one_cpu * factor
        out(
            f"Full re-match {len(patients)} x {len(registry)} trials, extrapolated from those {len(chunk)} "
            f"patients: one process {one / 60:.1f} min CPU, {one / cores / 60:.1f} min on {cores} cores if "
            f"split evenly; measured on {cores} processes on this machine {all_wall * factor / 60:.1f} min "
            f"wall; with no sharing between copies (x{no_sharing:.2f} from the latency samples) "
            f"{one * no_sharing / 60:.1f} min CPU in one process."
        )
        out(
            f"Full re-match without the index, one process (x{index_ratio:.1f}, the index-off/on ratio "
            f"measured per patient above, extrapolated): {one * index_ratio / 60:.1f} min CPU."
        )

    def _nightly_horizons(
        self,
        originals: Registry,
        registry: Registry,
        index: CandidateIndex,
        patients: dict[int, PatientFacts],
        today: date,
        warm: SharedTruths,
        warmed: set[int],
        options: dict[str, Any],
    ) -> None:
        """Night 0 re-matches everyone (a deploy, or the first night); on each later night the patients whose
        horizon has come are re-matched at that night's date and get a new one, as `match_upsert_for_patient`
        computes it: from the date terms of the trials the candidate index gives, less those a criterion the
        date cannot reach rules the patient out of (`engine.date_terms_for`, from the first pass's truths).
        The distinct trials stand for their copies, which share their criteria. Facts and trials stay as they
        are: a profile or trial change re-matches its patients the same day whatever the night does."""
        out = self.stdout.write
        longest: int = settings.REMATCH_HORIZON_MAX_DAYS
        every_trial = union(compiled.date_terms for compiled in originals.values())
        out(
            f"Date terms of the {len(originals)} distinct trials: "
            f"{sum(map(len, every_trial.within.values()))} 'within' and "
            f"{sum(map(len, every_trial.at_least.values()))} 'at least' window lengths over "
            f"{len({*every_trial.within, *every_trial.at_least})} kinds of dates, current windows "
            f"{'yes' if every_trial.current else 'no'}, {len(every_trial.exact_age_limits)} exact-age "
            f"limits; "
            f"REMATCH_HORIZON_MAX_DAYS {longest} (each patient's interval by id, `longest_for`)."
        )
        cost = {"first pass": 0.0, "date terms": 0.0, "horizon": 0.0, "count": 0}

        def evaluated(day: date) -> Callable[[int], tuple[date, DateTerms]]:
            night_index = CandidateIndex(trials={tid: c.criteria for tid, c in originals.items()}, today=day)
            shared = SharedTruths()

            def horizon(pid: int) -> tuple[date, DateTerms]:
                facts = patients[pid]
                session = Session(facts, day, shared)
                trials = [originals[tid] for tid in night_index.trials_for(facts)]
                started = time.process_time()
                for compiled in trials:  # the re-match's own first pass
                    compiled.violated(session)
                checked = time.process_time()
                terms = date_terms_for(session, trials)
                termed = time.process_time()
                found = validity_horizon(facts, day, terms, longest=longest_for(pid, longest))
                cost["first pass"] += checked - started
                cost["date terms"] += termed - checked
                cost["horizon"] += time.process_time() - termed
                cost["count"] += 1
                return found, terms

            return horizon

        def of_every_trial(day: date) -> Callable[[int], tuple[date, DateTerms]]:
            return lambda pid: (
                validity_horizon(patients[pid], day, every_trial, longest=longest_for(pid, longest)),
                every_trial,
            )

        full_min = self._rematch_minutes(registry, index, patients, today, warm, warmed, options)
        for name, horizon_on in (("trials evaluated", evaluated), ("every trial's terms", of_every_trial)):
            on_night_0 = horizon_on(today)
            found = {pid: on_night_0(pid) for pid in patients}
            horizons = {pid: h for pid, (h, _) in found.items()}
            capped = sum(
                h == today + timedelta(days=longest_for(pid, longest)) for pid, h in horizons.items()
            )
            by_age = sum(
                validity_horizon(patients[pid], today, DateTerms(exact_age_limits=terms.exact_age_limits),
                                 longest=longest_for(pid, longest)) == h
                for pid, (h, terms) in found.items()
            )  # fmt: skip
            shares = []
            for night in range(1, 2 * options["nights"] + 1):
                day = today + timedelta(days=night)
                due = [pid for pid, h in horizons.items() if h <= day]
                on_night = horizon_on(day)
                for pid in due:
                    horizons[pid] = on_night(pid)[0]
                shares.append(len(due) / len(patients))
            nights = options["nights"]
            first, second = shares[:nights], shares[nights:]
            worst = first.index(max(first)) + 1
            out(
                f"Horizons from {name}: on night 0, {capped} of {len(patients)} at their safety-net "
                f"interval (longest_for: {longest - longest // 4}-{longest} days), "
                f"{by_age - capped} at a birthday or exact-age crossing, {len(patients) - by_age} at a "
                f"window "
                f"crossing; median {statistics.median((h - today).days for h, _ in found.values()):.0f} "
                f"days. "
                f"Patients due per night, nights 1-{nights} after a full re-match: mean "
                f"{statistics.mean(first):.1%}, median {statistics.median(first):.1%}, max {max(first):.1%} "
                f"(night {worst}); nights {nights + 1}-{2 * nights}: mean {statistics.mean(second):.1%}, "
                f"max {max(second):.1%}. Nightly re-match, 100,000 patients x {len(registry)} trials, one "
                f"process (extrapolated): {statistics.mean(first) * full_min:.0f} min CPU (nights "
                f"1-{nights}), "
                f"{statistics.mean(second) * full_min:.0f} min (nights {nights + 1}-{2 * nights}), worst "
                f"night "
                f"{max(shares) * full_min:.0f} min."
            )
            out("  per night (%): " + " ".join(f"{share * 100:.1f}" for share in shares))
        count = max(1, int(cost["count"]))
        out(
            f"Horizon cost per patient, from the trials evaluated ({count} computed): the terms of the "
            f"trials "
            f"evaluated {cost['date terms'] / count * 1e6:.0f} us and the horizon "
            f"{cost['horizon'] / count * 1e6:.0f} us CPU, over a first pass against the {len(originals)} "
            f"distinct trials of {cost['first pass'] / count * 1000:.1f} ms that the re-match makes anyway; "
            f"for 100,000 patients {(cost['date terms'] + cost['horizon']) / count * 100_000:.0f} s CPU."
        )

    def _rematch_minutes(
        self,
        registry: Registry,
        index: CandidateIndex,
        patients: dict[int, PatientFacts],
        today: date,
        warm: SharedTruths,
        warmed: set[int],
        options: dict[str, Any],
    ) -> float:
        """What a re-match of 100,000 patients against the replicated registry costs, one process, from the
        mean of --rematch-patients patients (index on, warm), as the full re-match above measures it."""
        chunk = [pid for pid in sorted(patients) if pid not in warmed][: options["rematch_patients"]]
        shared = warm.copy()
        cpu = time.process_time()
        for pid in chunk:
            facts = patients[pid]
            match_patient(registry, index.trials_for(facts), facts, today, shared)
        per_patient = (time.process_time() - cpu) / max(1, len(chunk))
        full_min = per_patient * 100_000 / 60
        self.stdout.write(
            f"Re-match of one patient against {len(registry)} trials, index on, warm: "
            f"{per_patient * 1000:.0f} ms CPU (mean over {len(chunk)}). Full re-match of 100,000 patients, "
            f"one process (extrapolated): {full_min:.0f} min CPU; unchanged, as a cold night (a deploy with "
            f"a "
            f"new version stamp) still re-matches everyone."
        )
        return full_min

    def _replicate(self, trials: list[CompiledTrial], cohorts: int) -> Registry:
        registry: Registry = {}
        total = 0
        while total < cohorts:
            for compiled in trials:
                if total >= cohorts:
                    break
                new_id = len(registry) + 1
                spec = TrialSpec(new_id, compiled.spec.is_open, compiled.spec.arms)
                registry[new_id] = compiled.with_spec(spec)
                total += _cohorts(spec)
        return registry
