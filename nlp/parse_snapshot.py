"""Write every parse of the benchmark corpora as JSON lines, to prove a speed-up leaves the output unchanged.

    .venv/bin/python -m nlp.parse_snapshot ../shared/data before.jsonl
    ... change the parser ...
    .venv/bin/python -m nlp.parse_snapshot ../shared/data after.jsonl && cmp before.jsonl after.jsonl

One line per text: all Chia sections, then every ClinicalTrials.gov XML record with its structured age and
sex fields, each parse serialised by `ParsedEligibility.to_dict` with sorted keys. Each text is parsed three
times, and all three must agree: in one batch with all the others (`parse_eligibility_many`), alone, and
alone again.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from nlp.evaluation import iter_ctgov_criteria, read_brat_zip
from nlp.model import ParsedEligibility
from nlp.parser import EligibilityText, parse_eligibility, parse_eligibility_many

log = logging.getLogger(__name__)


def _serialised(parsed: ParsedEligibility) -> str:
    return json.dumps(parsed.to_dict(), sort_keys=True)


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
    batched = [
        _serialised(parsed)
        for parsed in parse_eligibility_many(EligibilityText(text, **fields) for _, text, fields in jobs)
    ]
    unstable = 0
    with open(options.output, "w", encoding="utf-8") as out:
        for (name, text, fields), in_batch in zip(jobs, batched, strict=True):
            serialised = _serialised(parse_eligibility(text, **fields))
            again = _serialised(parse_eligibility(text, **fields))
            if in_batch != serialised:
                log.error("%s: the batched parse differs from the parse alone", name)
            if again != serialised:
                log.error("%s: a second parse differs from the first", name)
            unstable += in_batch != serialised or again != serialised
            out.write(f"{name}\t{serialised}\n")
    log.info(
        "%d texts -> %s; %d parsed differently again or in the batch", len(jobs), options.output, unstable
    )
    return 1 if unstable else 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    raise SystemExit(main())
