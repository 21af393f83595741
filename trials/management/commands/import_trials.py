"""manage.py import_trials PATH [PATH ...]: load registry exports into the trial registry."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trials.importers import FORMATS, ImportSummary, import_paths


class Command(BaseCommand):
    help = (
        "Import trials from ClinicalTrials.gov legacy XML, API v2 JSON or the oncology JSON-lines export. "
        "PATH may be a file (also gzip-compressed, e.g. trials.jsonl.gz), a folder (searched recursively) "
        "or a .tgz/.tar.gz archive, read in place."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--format", choices=FORMATS, default="auto", help="Default: detect per document.")
        parser.add_argument(
            "--all-or-nothing",
            action="store_true",
            help="One transaction for the run: any failure undoes it.",
        )
        parser.add_argument("--limit", type=int, help="Stop after N records.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar on stderr.")
        parser.add_argument(
            "--no-parse",
            action="store_true",
            help="Do not queue parsing of the eligibility text of created or changed trials.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        summary = import_paths(
            options["paths"],
            fmt=options["format"],
            all_or_nothing=options["all_or_nothing"],
            progress=not options["no_progress"],
            limit=options["limit"],
            parse=not options["no_parse"],
        )
        self.report(summary)
        if summary.failed:
            raise CommandError(f"{summary.failed} record(s) failed", returncode=1)

    def report(self, summary: ImportSummary) -> None:
        for error in summary.errors:
            self.stderr.write(f"FAILED {error}")
        self.stdout.write(
            f"created {summary.created}, updated {summary.updated}, unchanged {summary.unchanged}, "
            f"failed {summary.failed} in {summary.elapsed:.1f}s ({summary.records_per_second:.0f} records/s)"
        )
        if summary.rolled_back:
            self.stdout.write(
                "all-or-nothing: a record failed, so the whole run was rolled back; nothing was saved"
            )
