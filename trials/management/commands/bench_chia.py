"""Benchmark 1 (BENCHMARKS.md): criteria parsing quality on Chia, and parse throughput.

    python manage.py bench_chia [--data-dir ../shared/data] [--repeats 3]

Quality is measured only on the held-out trials (`nlp.evaluation.is_held_out`), which the shipped tagger was
never trained or tuned on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from nlp import EligibilityText, linear_tagger, parse_eligibility, parse_eligibility_many
from nlp.chia_tagger import MODEL_DIR, load_tagger, tag
from nlp.evaluation import (
    HELD_OUT_MODULUS,
    PRF,
    SCORED_TYPES,
    PredictedEntity,
    Prediction,
    Timing,
    iter_ctgov_criteria,
    parser_prediction,
    read_brat_zip,
    score,
    split,
    throughput,
)
from nlp.terminology import manifest


def _batched(texts: list[str], repeats: int) -> Timing:
    """`throughput` of one `parse_eligibility_many` call over all `texts` (its untimed warm-up is one call).

    `throughput` counts the criterion lines of the text it is given: the texts joined by line breaks have
    as many as the texts together.
    """
    batch = [EligibilityText(text) for text in texts]
    return throughput(["\n".join(texts)], lambda _: parse_eligibility_many(batch), repeats)


def _row(name: str, strict: PRF, relaxed: PRF) -> str:
    return (
        f"{name:<12} {strict.precision:6.3f} {strict.recall:6.3f} {strict.f1:6.3f}   "
        f"{relaxed.precision:6.3f} {relaxed.recall:6.3f} {relaxed.f1:6.3f} {relaxed.gold:6d}"
    )


class Command(BaseCommand):
    help = "Score the Chia entity tagger on held-out trials and time parse_eligibility (criterion lines/s)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--data-dir", type=Path, default=Path(settings.BASE_DIR).parent / "shared" / "data"
        )
        parser.add_argument("--repeats", type=int, default=3, help="timing passes; the median is printed")
        parser.add_argument(
            "--skip-xml", action="store_true", help="skip the ClinicalTrials.gov XML throughput"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        data_dir: Path = options["data_dir"]
        zip_path = data_dir / "chia_dev.zip"
        documents = read_brat_zip(str(zip_path))
        train, held_out = split(documents)
        held_out_trials = sorted({d.trial_id for d in held_out})
        versions = manifest()
        self.stdout.write(
            f"dataset: {zip_path} ({len(documents)} sections, {len({d.trial_id for d in documents})} trials)"
        )
        self.stdout.write(
            f"split: held-out = crc32(NCT id) % {HELD_OUT_MODULUS} == 0 -> {len(held_out_trials)} trials, "
            f"{len(held_out)} sections; tagger trained on the other {len(train)} sections only"
        )
        model_mb = sum(f.stat().st_size for f in MODEL_DIR.rglob("*") if f.is_file()) / 1e6
        self.stdout.write(
            f"tagger: {MODEL_DIR} ({model_mb:.1f} MB); "
            f"parser {versions['parser_version']}, dictionaries {versions['dictionary_version']}"
        )
        tagger = load_tagger()
        predictions = {doc.name: tag(doc.text, tagger) for doc in held_out}
        report = score(held_out, predictions)
        self.stdout.write("")
        self.stdout.write(
            f"{'type':<12} {'strict P':>6} {'R':>6} {'F1':>6}   {'relax P':>6} {'R':>6} {'F1':>6} {'gold':>6}"
        )
        for entity_type in SCORED_TYPES:
            self.stdout.write(_row(entity_type, report.strict[entity_type], report.relaxed[entity_type]))
        self.stdout.write(_row("micro", report.strict_micro, report.relaxed_micro))
        self.stdout.write(
            f"Has_value attachment accuracy: {report.has_value_accuracy:.3f} "
            f"(of {report.has_value_gold} gold relations)"
        )
        self.stdout.write(
            f"negation recall (negated entities flagged): {report.negation_recall:.3f} "
            f"(of {report.negated_gold} gold Has_negation); precision {report.negation_precision:.3f} "
            f"(of {report.negated_flagged} flagged)"
        )
        self.stdout.write(
            "anchors: BiLSTM-CRF 0.72 relaxed / 0.37 strict; transformer 0.62 strict; Criteria2Query 0.795"
        )
        linear = linear_tagger.load()
        linear_report = score(
            held_out,
            {
                doc.name: Prediction([PredictedEntity(s.type, s.start, s.end) for s in linear.tag(doc.text)])
                for doc in held_out
            },
        )
        self.stdout.write("")
        self.stdout.write(
            f"the parser's linear tagger alone ({linear_tagger.MODEL_PATH}, "
            f"{linear_tagger.MODEL_PATH.stat().st_size / 1e6:.1f} MB), no atoms"
        )
        self.stdout.write(_row("micro", linear_report.strict_micro, linear_report.relaxed_micro))
        parser_report = score(held_out, {doc.name: parser_prediction(doc.text) for doc in held_out})
        self.stdout.write("")
        self.stdout.write(
            "the product's parser (parse_eligibility) on the same held-out sections, atoms mapped to "
            "Chia types (time windows as Temporal, assertion cue words as Negation or Temporal) and the "
            "tagger's mentions with their own types"
        )
        self.stdout.write(
            f"{'type':<12} {'strict P':>6} {'R':>6} {'F1':>6}   {'relax P':>6} {'R':>6} {'F1':>6} {'gold':>6}"
        )
        for entity_type in SCORED_TYPES:
            self.stdout.write(
                _row(entity_type, parser_report.strict[entity_type], parser_report.relaxed[entity_type])
            )
        self.stdout.write(_row("micro", parser_report.strict_micro, parser_report.relaxed_micro))
        self.stdout.write(
            f"Has_value attachment accuracy: {parser_report.has_value_accuracy:.3f}; "
            f"negation recall {parser_report.negation_recall:.3f}, "
            f"precision {parser_report.negation_precision:.3f}"
        )
        self.stdout.write("")
        repeats = options["repeats"]
        self._timing(
            "parse_eligibility, all Chia text",
            throughput([d.text for d in documents], parse_eligibility, repeats),
            repeats,
        )
        self._timing(
            "parse_eligibility_many (batched, one call), all Chia text",
            _batched([d.text for d in documents], repeats),
            repeats,
        )
        self._timing(
            "linear tagger alone (inside parse_eligibility), all Chia text",
            throughput([d.text for d in documents], linear.tag, repeats),
            repeats,
        )
        self._timing(
            "Chia NER tagger, held-out text",
            throughput([d.text for d in held_out], lambda text: tag(text, tagger), repeats),
            repeats,
        )
        if options["skip_xml"]:
            return
        xml_path = data_dir / "ctgov_legacy_xml.tgz"
        records = list(iter_ctgov_criteria(str(xml_path)))
        self._timing(
            f"parse_eligibility, {xml_path.name} ({len(records)} trials)",
            throughput([r.text for r in records], parse_eligibility, repeats),
            repeats,
        )
        self._timing(
            f"parse_eligibility_many (batched, one call), {xml_path.name} ({len(records)} trials)",
            _batched([r.text for r in records], repeats),
            repeats,
        )

    def _timing(self, what: str, timing: Timing, repeats: int) -> None:
        self.stdout.write(
            f"throughput, {what}: {timing.lines_per_second:,.0f} criterion lines/s wall, "
            f"{timing.lines_per_cpu_second:,.0f} per CPU-second ({timing.lines} lines, median of {repeats} "
            f"passes: {timing.wall_seconds:.2f}s wall, {timing.cpu_seconds:.2f}s CPU, one process)"
        )
