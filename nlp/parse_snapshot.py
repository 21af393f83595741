"""Write every parse of the benchmark corpora as JSON lines, to prove a speed-up leaves the output unchanged.

    .venv/bin/python -m nlp.parse_snapshot ../shared/data before.jsonl
    ... change the parser ...
    .venv/bin/python -m nlp.parse_snapshot ../shared/data after.jsonl && cmp before.jsonl after.jsonl

One line per text: all Chia sections, then every ClinicalTrials.gov XML record with its structured age and
sex fields, each parse serialised by `ParsedEligibility.to_dict` with sorted keys. Each text is parsed twice,
the second time after the caches are warm, and both must agree.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from nlp.evaluation import iter_ctgov_criteria, read_brat_zip
from nlp.parser import parse_eligibility

log = logging.getLogger(__name__)


def _serialised(text: str, fields: dict[str, str | None]) -> str:
    return json.dumps(parse_eligibility(text, **fields).to_dict(), sort_keys=True)


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    arguments.add_argument("data_dir", type=Path)
    arguments.add_argument("output", type=Path)
    arguments.add_argument("--skip-xml", action="store_true")
    options = arguments.parse_args(argv)
    jobs: list[tuple[str, str, dict[str, str | None]]] = [
        (doc.name, doc.text, {}) for doc in read_brat_zip(str(options.data_dir / "chia_dev.zip"))
    ]
    if not options.skip_xml:
        jobs += [
            (r.nct_id, r.text, {"minimum_age": r.minimum_age, "maximum_age": r.maximum_age, "sex": r.sex})
            for r in iter_ctgov_criteria(str(options.data_dir / "ctgov_legacy_xml.tgz"))
        ]
    first = [_serialised(text, fields) for _, text, fields in jobs]
    unstable = 0
    with open(options.output, "w", encoding="utf-8") as out:
        for (name, text, fields), serialised in zip(jobs, first, strict=True):
            if _serialised(text, fields) != serialised:
                unstable += 1
                log.error("%s: a second parse differs from the first", name)
            out.write(f"{name}\t{serialised}\n")
    log.info("%d texts -> %s; %d parsed differently the second time", len(jobs), options.output, unstable)
    return 1 if unstable else 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    raise SystemExit(main())
