"""Matching benchmark: synthetic patients against the real open trials in the database (BENCHMARKS.md §3).

Trials are repeated in memory under new ids until there are M cohorts (a trial without arms is one cohort).
Sampled measurements are scaled up to the full sizes; every scaled figure is printed as "extrapolated".
"""

import os
import random
import resource
import statistics
import sys
import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from nlp.model import Criterion
from recruitment.matching import Overall, PatientFacts, TrialSpec, match_trial
from recruitment.matching.index import CandidateIndex
from recruitment.matching.synthetic import synthetic_patients
from recruitment.selectors.matching import trials_for_matching

Registry = dict[int, tuple[TrialSpec, tuple[Criterion, ...]]]


def _cohorts(spec: TrialSpec) -> int:
    return max(1, len(spec.arms))


def _peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


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
            "--latency-patients", type=int, default=30, help="Patients timed against all cohorts (30)."
        )
        parser.add_argument(
            "--exhaustive-patients", type=int, default=3, help="Patients timed without the index (3)."
        )
        parser.add_argument(
            "--trial-samples", type=int, default=3, help="Trials timed against all patients (3)."
        )
        parser.add_argument(
            "--exhaustive-trial-patients",
            type=int,
            default=2000,
            help="Patients a sampled trial is timed against without the index (2,000; scaled to N).",
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
        registry = self._replicate([(t.spec, t.criteria) for t in real], options["cohorts"])
        cohorts = sum(_cohorts(spec) for spec, _ in registry.values())
        criteria_count = sum(len(c) for _, c in registry.values())
        out(
            f"Dataset: {len(real)} real open trials ({sum(_cohorts(t.spec) for t in real)} cohorts, "
            f"loaded in {load_s:.1f} s) repeated to {len(registry)} trials = {cohorts} cohorts, "
            f"{criteria_count} criteria; evaluation date {today}; seed {options['seed']}."
        )
        started = time.perf_counter()
        index = CandidateIndex(trials={tid: c for tid, (_, c) in registry.items()}, today=today)
        out(
            f"Trial index: built in {time.perf_counter() - started:.2f} s; {len(index.always)} trials with "
            f"no indexable requirement (always candidates)."
        )
        started = time.perf_counter()
        patients = dict(enumerate(synthetic_patients(options["patients"], seed=options["seed"], today=today)))
        out(f"Patients: {len(patients)} synthetic, generated in {time.perf_counter() - started:.1f} s.")

        sample = rng.sample(sorted(patients), min(options["latency_patients"], len(patients)))
        latencies, cpu_ms, candidates, per_patient_s = [], [], [], []
        for pid in sample:
            cpu = time.process_time()
            elapsed, count = self._patient(index, registry, patients[pid], today, explain=True)
            cpu_ms.append((time.process_time() - cpu) * 1000)
            latencies.append(elapsed * 1000)
            candidates.append(count)
            per_patient_s.append(cpu_ms[-1] / 1000)
        out(
            f"Patient -> all {cohorts} cohorts, with explanations, index on ({len(sample)} patients): "
            f"p50 {_percentile(latencies, 0.5):.0f} ms, p95 {_percentile(latencies, 0.95):.0f} ms wall; "
            f"p50 {_percentile(cpu_ms, 0.5):.0f} ms, p95 {_percentile(cpu_ms, 0.95):.0f} ms CPU; "
            f"mean {statistics.mean(candidates):.0f} candidate trials of {len(registry)} "
            f"({statistics.mean(candidates) / len(registry):.1%})."
        )
        exhaustive = []
        for pid in sample[: options["exhaustive_patients"]]:
            started = time.process_time()
            for spec, criteria in registry.values():
                match_trial(spec, criteria, patients[pid], today=today)
            exhaustive.append(time.process_time() - started)
        pair_ms = statistics.mean(exhaustive) / len(registry) * 1000
        out(
            f"Patient -> all cohorts, index off ({len(exhaustive)} patients): mean "
            f"{statistics.mean(exhaustive) * 1000:.0f} ms CPU ({pair_ms:.3f} ms per patient-trial pair)."
        )

        started = time.perf_counter()
        for pid, facts in patients.items():
            index.add_patient(pid, facts)
        out(f"Patient index: {len(patients)} patients added in {time.perf_counter() - started:.1f} s.")
        trial_ids = rng.sample(
            sorted(set(registry) - index.always), min(options["trial_samples"], len(registry))
        )
        for trial_id in trial_ids:
            spec, criteria = registry[trial_id]
            started, cpu = time.perf_counter(), time.process_time()
            chosen = index.patients_for(trial_id)
            matched = sum(
                match_trial(spec, criteria, patients[pid], today=today).overall is not Overall.INELIGIBLE
                for pid in chosen
            )
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            subset = list(patients)[: options["exhaustive_trial_patients"]]
            started = time.process_time()
            for pid in subset:
                match_trial(spec, criteria, patients[pid], today=today)
            full = (time.process_time() - started) * len(patients) / max(1, len(subset))
            out(
                f"Trial {trial_id} -> {len(patients)} patients: index on {elapsed:.2f} s wall, "
                f"{cpu:.2f} s CPU "
                f"({len(chosen)} candidates, {matched} eligible or possibly eligible); index off "
                f"{full:.1f} s CPU (extrapolated from {len(subset)} patients)."
            )

        with_index = statistics.mean(per_patient_s) * len(patients)
        without = statistics.mean(exhaustive) * len(patients)
        cores = os.cpu_count() or 1
        out(
            f"Full re-match {len(patients)} x {cohorts} cohorts, one process, CPU time (extrapolated from "
            f"the samples above): index on {with_index / 60:.1f} min, index off {without / 60:.1f} min, "
            f"ratio {without / with_index:.1f}x; on {cores} cores (ideal split) index on "
            f"{with_index / cores / 60:.1f} min."
        )
        out(f"Peak memory (max RSS): {_peak_mb():.0f} MB.")

    def _replicate(self, trials: list[tuple[TrialSpec, tuple[Criterion, ...]]], cohorts: int) -> Registry:
        registry: Registry = {}
        total, copy = 0, 0
        while total < cohorts:
            for spec, criteria in trials:
                if total >= cohorts:
                    break
                new_id = len(registry) + 1
                registry[new_id] = (TrialSpec(new_id, spec.is_open, spec.arms), criteria)
                total += _cohorts(spec)
            copy += 1
        return registry

    def _patient(
        self, index: CandidateIndex, registry: Registry, facts: PatientFacts, today: date, *, explain: bool
    ) -> tuple[float, int]:
        started = time.perf_counter()
        chosen = index.trials_for(facts)
        for trial_id in chosen:
            spec, criteria = registry[trial_id]
            verdict = match_trial(spec, criteria, facts, today=today)
            if explain and verdict.overall is not Overall.INELIGIBLE:
                verdict.to_dict()
        return time.perf_counter() - started, len(chosen)
