"""Benchmark 2 (BENCHMARKS.md): trial ranking for TREC Clinical Trials 2021 patients.

    python manage.py bench_trec [--data ../shared/data] [--seed 2021] [--explain trec-20211]

For each patient, the judged trials present in ctgov_legacy_xml.tgz are ranked in the same run: ours (patient
text -> facts -> three-valued eligibility, combined with topical BM25), "topic" (ours without eligibility, an
ablation), the BM25 baseline (whole patient text over all trial text), random (seeded) and "ideal" (the
judgements themselves: the ceiling on this pool).
No database: trials are read from the archive with the legacy-XML importer's parser; each trial's criteria are
its parsed eligibility text plus its registered conditions as an inclusion criterion, as the product matches.
"""

from __future__ import annotations

import csv
import json
import random
import tarfile
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from statistics import mean
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from nlp import parse_eligibility
from nlp.metrics import auroc, ndcg_at_k, precision_at_k
from nlp.patient_text import extract_patient_facts
from nlp.ranking import (
    EligibilityOutcome,
    RankedTrial,
    TrialText,
    rank_bm25,
    rank_trials,
    topic_statistics,
)
from nlp.terminology import manifest
from recruitment.matching import evaluate
from recruitment.matching.conditions import registered_conditions_criterion
from recruitment.matching.from_text import facts_from_text, outcome_for_ranking
from trials.importers.common import RecordError, TrialRecord
from trials.importers.ctgov_xml import parse_document

# The TREC 2021 topics were written for the 2021 track: ages and windows are read as of its start.
TODAY = date(2021, 4, 1)


def read_trials(archive: Path, wanted: set[str]) -> dict[str, TrialRecord]:
    records = {}
    with tarfile.open(archive) as tar:
        for member in tar:
            nct_id = Path(member.name).stem
            if nct_id not in wanted or not member.isfile():
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            try:
                records[nct_id] = parse_document(handle.read(), source=member.name)
            except RecordError:
                continue
    return records


def _age(years: Any) -> str | None:
    return None if years is None else f"{years} Years"


class Command(BaseCommand):
    # Pure computation over files: it needs neither the database nor the URL configuration checked.
    requires_system_checks: list[str] = []
    help = "Rank TREC CT 2021 judged trials per patient: ours vs BM25 vs random; NDCG@10, P@10, AUROC."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", type=Path, default=Path(settings.BASE_DIR).parent / "shared" / "data")
        parser.add_argument("--seed", type=int, default=2021)
        parser.add_argument("--explain", default="", help="print the explained ranking of this patient id")
        parser.add_argument(
            "--top10",
            action="store_true",
            help="list each patient's top 10 with qrel, verdict and relevance (for NDCG@10 error analysis)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        pool = options["data"] / "trec2021_pool"
        archive = options["data"] / "ctgov_legacy_xml.tgz"
        if not pool.is_dir() or not archive.is_file():
            raise CommandError(f"need {pool} and {archive}")
        qrels: dict[str, dict[str, int]] = defaultdict(dict)
        with (pool / "qrels.tsv").open() as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                qrels[row["query-id"]][row["corpus-id"]] = int(row["score"])
        with (pool / "queries.jsonl").open() as handle:
            queries = {q["_id"]: q["text"] for q in map(json.loads, handle)}
        records = read_trials(archive, {nct for judged in qrels.values() for nct in judged})
        parsed = {
            nct: parse_eligibility(
                record.eligibility_text,
                minimum_age=_age(record.minimum_age_years),
                maximum_age=_age(record.maximum_age_years),
                sex=record.sex,
            ).criteria
            + [c for c in (registered_conditions_criterion(record.conditions),) if c is not None]
            for nct, record in records.items()
        }
        texts = {
            nct: TrialText(
                nct,
                record.official_title or record.brief_title,
                record.conditions,
                record.keywords,
                record.brief_summary,
                record.eligibility_text,
            )
            for nct, record in records.items()
        }
        # Relevance takes its term statistics from every trial read, as it would from a registry.
        statistics = topic_statistics(list(texts.values()))
        judged_pairs = sum(1 for q in qrels.values() for nct in q if nct in records)
        self.stdout.write(
            f"dataset: {pool} (qrels {sum(len(q) for q in qrels.values())} pairs, {len(queries)} patients); "
            f"trials from {archive.name}: {len(records)} found, {judged_pairs} judged pairs; today={TODAY}; "
            f"parser {manifest().get('parser_version')}"
        )
        rng = random.Random(options["seed"])  # noqa: S311  (a seeded baseline, not a secret)
        runs: dict[str, dict[str, list[float]]] = {
            name: {"ndcg": [], "p10": [], "pos": [], "neg": []}
            for name in ("ours", "topic", "bm25", "random", "ideal")
        }
        per_patient_auroc: dict[str, list[float]] = {name: [] for name in runs}
        verdict_counts: Counter[tuple[int, str]] = Counter()
        for qid in sorted(qrels):
            if qid not in queries:
                continue
            judged = {nct: gain for nct, gain in qrels[qid].items() if nct in records}
            if not judged:
                continue
            patient = extract_patient_facts(queries[qid])
            facts = facts_from_text(patient, today=TODAY, ref=qid)
            trials = [texts[nct] for nct in sorted(judged)]
            outcomes: dict[str, EligibilityOutcome] = {
                nct: outcome_for_ranking(evaluate(parsed[nct], facts, today=TODAY)) for nct in judged
            }
            verdict_counts.update((judged[nct], outcome.overall) for nct, outcome in outcomes.items())
            ours = rank_trials(patient, trials, outcomes, statistics=statistics)
            bm25 = rank_bm25(queries[qid], trials)
            shuffled = sorted(judged)
            rng.shuffle(shuffled)
            rankings: dict[str, list[tuple[str, float]]] = {
                "ours": [(r.nct_id, r.score) for r in ours],
                "topic": [(r.nct_id, r.score) for r in rank_trials(patient, trials, statistics=statistics)],
                "bm25": [(r.nct_id, r.score) for r in bm25],
                "random": [(nct, 1.0 - i / len(shuffled)) for i, nct in enumerate(shuffled)],
                # The judgements themselves: the ceiling, below 1 because some patients have no relevant
                # trial in their pool (NDCG 0 for every ranking).
                "ideal": sorted(((nct, float(gain)) for nct, gain in judged.items()), key=lambda r: -r[1]),
            }
            for name, ranking in rankings.items():
                gains = [judged[nct] for nct, _ in ranking]
                runs[name]["ndcg"].append(ndcg_at_k(gains, list(judged.values()), 10))
                runs[name]["p10"].append(precision_at_k([g == 2 for g in gains], 10))
                pos = [s for nct, s in ranking if judged[nct] == 2]
                neg = [s for nct, s in ranking if judged[nct] == 1]
                runs[name]["pos"].extend(pos)
                runs[name]["neg"].extend(neg)
                value = auroc(pos, neg)
                if value is not None:
                    per_patient_auroc[name].append(value)
            if qid == options["explain"]:
                self._explain(ours, judged)
            if options["top10"]:
                self._top10(qid, ours, judged)
        self.stdout.write(f"patients ranked: {len(runs['ours']['ndcg'])}")
        self.stdout.write(
            f"{'ranking':<8} {'NDCG@10':>8} {'P@10':>7} {'AUROC pooled':>13} {'AUROC per-patient':>18}"
        )
        for name, run in runs.items():
            pooled = auroc(run["pos"], run["neg"])
            self.stdout.write(
                f"{name:<8} {mean(run['ndcg']):8.4f} {mean(run['p10']):7.4f} "
                f"{pooled if pooled is not None else float('nan'):13.4f} "
                f"{mean(per_patient_auroc[name]) if per_patient_auroc[name] else float('nan'):18.4f}"
            )
        bm25_ndcg = mean(runs["bm25"]["ndcg"])
        self.stdout.write(
            f"NDCG@10 over BM25: ours {mean(runs['ours']['ndcg']) / bm25_ndcg:.2f}x, "
            f"ideal {mean(runs['ideal']['ndcg']) / bm25_ndcg:.2f}x"
        )
        self.stdout.write(
            "verdicts (ours) by judgement: "
            + ", ".join(
                f"qrel {gain} {overall}: {count}" for (gain, overall), count in sorted(verdict_counts.items())
            )
        )

    def _top10(self, qid: str, ranking: list[RankedTrial], judged: dict[str, int]) -> None:
        """One line per trial of the patient's top 10, and the eligible trials ranked below it."""
        for position, ranked in enumerate(ranking, start=1):
            if position > 10 and judged[ranked.nct_id] != 2:
                continue
            overall = ranked.eligibility.overall if ranked.eligibility else "-"
            self.stdout.write(
                f"TOP {qid} {position:2d} qrel {judged[ranked.nct_id]} {ranked.nct_id} {overall:<17} "
                f"rel {ranked.relevance:.2f} score {ranked.score:.3f} "
                f"terms {', '.join(ranked.matched_terms[:4])}"
            )

    def _explain(self, ranking: list[RankedTrial], judged: dict[str, int]) -> None:
        for ranked in ranking:
            self.stdout.write(f"[qrel {judged[ranked.nct_id]}] {ranked.explain()}")
