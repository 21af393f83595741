"""manage.py bench_import [--source PATH] [--runs N]: time registry imports into a fresh database.

Each run creates an empty, migrated database next to the configured one (a temporary SQLite file, or a
test_ database on PostgreSQL, as the test runner does), imports the source, imports it again (the
idempotent re-import, which must find every record unchanged), and drops the database. The configured
database is never written to. Parsing is not queued: it is measured by bench_chia.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from trials.importers import FORMATS, ImportSummary, import_paths

DEFAULT_SOURCE = Path(settings.BASE_DIR).parent / "shared" / "data" / "ctgov_legacy_xml.tgz"


class Command(BaseCommand):
    help = "Benchmark import_trials (first import and unchanged re-import) into a fresh temporary database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help=f"Default: {DEFAULT_SOURCE}")
        parser.add_argument("--runs", type=int, default=3)
        parser.add_argument("--format", choices=FORMATS, default="auto")

    def handle(self, *args: Any, **options: Any) -> None:
        source: Path = options["source"]
        if not source.exists():
            raise CommandError(f"{source} does not exist; pass --source PATH")
        if options["runs"] < 1:
            raise CommandError("--runs must be at least 1")
        firsts: list[ImportSummary] = []
        agains: list[ImportSummary] = []
        for run in range(1, options["runs"] + 1):
            with _fresh_database():
                first = import_paths([source], fmt=options["format"], progress=False, parse=False)
                again = import_paths([source], fmt=options["format"], progress=False, parse=False)
            firsts.append(first)
            agains.append(again)
            self.stdout.write(
                f"run {run}: import {first.elapsed:.2f}s (created {first.created}, failed {first.failed}); "
                f"re-import {again.elapsed:.2f}s (unchanged {again.unchanged}, "
                f"changed {again.created + again.updated})"
            )
            if again.created or again.updated:
                raise CommandError("the re-import changed records: imports are not idempotent")
        seconds = [summary.elapsed for summary in firsts]
        records = firsts[0].processed
        median = statistics.median(seconds)
        self.stdout.write(
            f"{source.name} on {connections[DEFAULT_DB_ALIAS].vendor}: {records} records, "
            f"{options['runs']} runs: import median {median:.2f}s, min {min(seconds):.2f}s, "
            f"{records / median:.0f} records/s; unchanged re-import median "
            f"{statistics.median(summary.elapsed for summary in agains):.2f}s"
        )


@contextmanager
def _fresh_database() -> Iterator[None]:
    connection = connections[DEFAULT_DB_ALIAS]
    test_settings = connection.settings_dict.setdefault("TEST", {})
    previous_test_name = test_settings.get("NAME")
    with tempfile.TemporaryDirectory(prefix="bench_import_") as folder:
        if connection.vendor == "sqlite":
            # A file, not the test runner's in-memory default: commits must cost what they cost in use.
            test_settings["NAME"] = str(Path(folder) / "bench.sqlite3")
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            yield
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
            test_settings["NAME"] = previous_test_name
