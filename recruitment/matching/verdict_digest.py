"""Identity check for speedups of the engine: the serialised verdicts of a fixed seeded synthetic population
against the open trials of the database, as one digest (and, with --dump, one line per pair with
the digest of its JSON, to find which pairs differ).

Run it before and after a change that must not change any verdict or explanation, and compare:

    DATABASE_URL=sqlite:////tmp/wm2/bench.sqlite3 python -m recruitment.matching.verdict_digest \
        --patients 30 --dump /tmp/wm2/before.txt

Every patient meets every open trial (no index): the first pass (`violated`, with truths shared across the
population as a re-match shares them) and, for every trial, the full `match(...).to_dict()`; the patients
are also evaluated alone (no shared truths) against every trial, so both paths of `Session.truth` count.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from datetime import date


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=150)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--today", type=date.fromisoformat, default=date(2026, 11, 23))
    parser.add_argument(
        "--dump", default="", help="Write a line per verdict here (patient, trial, mode, sha256 of its JSON)."
    )
    options = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from recruitment.matching.engine import Session, SharedTruths
    from recruitment.matching.synthetic import synthetic_patients
    from recruitment.selectors.matching import trials_for_matching

    today: date = options.today
    trials = sorted(trials_for_matching(), key=lambda t: t.trial.pk)
    patients = list(synthetic_patients(options.patients, seed=options.seed, today=today))
    digest = hashlib.sha256()
    shared = SharedTruths()
    dump = open(options.dump, "w", encoding="utf-8") if options.dump else None  # noqa: SIM115
    pairs = 0
    try:
        for number, facts in enumerate(patients):
            for session, mode in (
                (Session(facts, today, shared), "shared"),
                (Session(facts, today, None), "alone"),
            ):
                for t in trials:
                    violated = t.compiled.violated(session)
                    record = {
                        "patient": number,
                        "trial": t.trial.pk,
                        "mode": mode,
                        "violated": None if violated is None else violated.text,
                        "verdict": t.compiled.match(session).to_dict(),
                    }
                    line = json.dumps(record, sort_keys=True, ensure_ascii=False)
                    digest.update(line.encode())
                    digest.update(b"\n")
                    pairs += 1
                    if dump is not None:
                        line_digest = hashlib.sha256(line.encode()).hexdigest()[:16]
                        dump.write(f"{number} {t.trial.pk} {mode} {line_digest}\n")
    finally:
        if dump is not None:
            dump.close()
    sys.stdout.write(
        f"{len(patients)} patients x {len(trials)} trials x 2 modes = {pairs} verdicts; "
        f"sha256 {digest.hexdigest()}\n"
    )


if __name__ == "__main__":
    main()
