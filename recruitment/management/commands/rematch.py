"""Re-match everything (or some patients or trials) here, or fan the work out over the Celery workers."""

from typing import Any

from celery import group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from recruitment.selectors.matching import profile_ids_due
from recruitment.services.matching import match_upsert_all, match_upsert_for_trial
from recruitment.tasks import rematch_chunks, rematch_patients, rematch_trial
from trials.models import Trial


class Command(BaseCommand):
    help = (
        "Re-match patients against open trials. Without options: every matchable patient against every open "
        "trial (due or not), in this process, with a progress bar. --due-only takes only the patients the "
        "nightly run takes; --fan-out sends chunks to the Celery workers instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--patients", nargs="+", type=int, metavar="PROFILE_ID", help="Only these patients."
        )
        which.add_argument("--trials", nargs="+", metavar="TRIAL", help="Only these trials (NCT ids or ids).")
        which.add_argument(
            "--due-only",
            action="store_true",
            help="Only the patients due, as the nightly run: no horizon yet, another engine or terminology "
            "version, a horizon reached today, a re-match owed, or live matches without consent (default: "
            "every matchable patient). The nightly run's re-match of changed trials is not made.",
        )
        parser.add_argument("--chunk-size", type=int, default=500, help="Patients per chunk (default 500).")
        parser.add_argument(
            "--fan-out",
            action="store_true",
            help="Send one Celery task per chunk (or per trial) so that all workers share the work.",
        )
        parser.add_argument("--wait", action="store_true", help="With --fan-out: wait for the results.")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        if options["trials"]:
            self._trials(options)
        else:
            self._patients(options)

    def _patients(self, options: dict[str, Any]) -> None:
        profile_ids = (
            profile_ids_due(today=timezone.localdate()) if options["due_only"] else options["patients"]
        )
        chunks = rematch_chunks(chunk_size=options["chunk_size"], profile_ids=profile_ids)
        total = sum(len(chunk) for chunk in chunks)
        if options["fan_out"]:
            result = group(rematch_patients.s(chunk) for chunk in chunks).apply_async()
            self.stdout.write(f"Sent {len(chunks)} chunks ({total} patients) to the workers.")
            if options["wait"]:
                done = result.get()
                events = sum(part["events"] for part in done)
                self.stdout.write(f"Done: {total} patients, {events} match events.")
            return
        with tqdm(total=total, unit="patient", disable=options["no_progress"]) as bar:
            summary = match_upsert_all(
                today=timezone.localdate(),
                profile_ids=[pk for chunk in chunks for pk in chunk],
                chunk_size=options["chunk_size"],
                progress=bar.update,
            )
        self.stdout.write(
            f"Re-matched {summary.patients} patients: {summary.events} match events "
            f"in {summary.seconds:.1f} s."
        )
        if summary.failed:
            ids = ", ".join(map(str, summary.failed[:20])) + (" ..." if len(summary.failed) > 20 else "")
            raise CommandError(
                f"The re-match of {len(summary.failed)} patient profile(s) failed and was rolled back"
                f" (ids {ids}); the log has each error. They stay due for the next run."
            )

    def _trials(self, options: dict[str, Any]) -> None:
        trials = []
        for name in options["trials"]:
            # isdecimal, not isdigit: "²" is a digit that int() refuses.
            lookup = {"pk": int(name)} if name.isdecimal() else {"nct_id": name.upper()}
            trial = Trial.objects.filter(**lookup).first()
            if trial is None:
                raise CommandError(f"no trial {name}")
            trials.append(trial)
        if options["fan_out"]:
            result = group(rematch_trial.s(trial.pk) for trial in trials).apply_async()
            self.stdout.write(f"Sent {len(trials)} trials to the workers.")
            if options["wait"]:
                events = sum(result.get())
                self.stdout.write(f"Done: {events} match events.")
            return
        events = 0
        for trial in tqdm(trials, unit="trial", disable=options["no_progress"]):
            events += len(
                match_upsert_for_trial(
                    trial=trial, today=timezone.localdate(), chunk_size=options["chunk_size"]
                )
            )
        self.stdout.write(f"Re-matched {len(trials)} trials: {events} match events.")
