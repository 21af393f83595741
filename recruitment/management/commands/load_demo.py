"""Load the demo: real trials bundled with the repo and one account per role."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count, Q

from recruitment.models import User
from recruitment.services import site_membership_ensure, sponsor_membership_ensure, user_upsert
from trials.importers import import_paths
from trials.models import Site, Sponsor, Trial

DEMO_DATA = Path(settings.BASE_DIR) / "trials" / "demo_data"
DEMO_FILES = [DEMO_DATA / "oncology_trials_2026.jsonl.gz", DEMO_DATA / "ctgov_legacy_oncology_300.tgz"]
DEMO_PASSWORD = "demo-trials-2026"  # noqa: S105 - printed for the demo; the command refuses to run outside DEBUG
DEMO_ACCOUNTS = [
    ("patient@demo.example", User.Role.PATIENT),
    ("site@demo.example", User.Role.SITE_STAFF),
    ("sponsor@demo.example", User.Role.SPONSOR),
    ("curator@demo.example", User.Role.CURATOR),
]


class Command(BaseCommand):
    help = (
        "Import the bundled real trials (839 current oncology trials, 300 legacy trials with sites) "
        "and create one account per role."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "load_demo creates accounts with a published password; it runs only with DEBUG on."
            )
        summary = import_paths(DEMO_FILES, progress=not options["no_progress"])
        self.stdout.write(
            f"Trials: {summary.created} created, {summary.updated} updated, {summary.unchanged} unchanged, "
            f"{summary.failed} failed ({summary.elapsed:.1f} s)"
        )
        for error in summary.errors:
            self.stderr.write(f"  {error}")
        if summary.failed:
            raise CommandError("some demo trials failed to import; see above")

        users = {
            role: user_upsert(
                email=email,
                role=role,
                password=DEMO_PASSWORD,
                is_staff=role == User.Role.CURATOR,
                is_superuser=role == User.Role.CURATOR,
            )
            for email, role in DEMO_ACCOUNTS
        }
        site = busiest_site()
        sponsor = busiest_sponsor()
        site_membership_ensure(user=users[User.Role.SITE_STAFF], site=site)
        sponsor_membership_ensure(user=users[User.Role.SPONSOR], sponsor=sponsor)

        self.stdout.write(self.style.SUCCESS(f"\nDemo accounts (password for all: {DEMO_PASSWORD})"))
        for email, role in DEMO_ACCOUNTS:
            detail = {
                User.Role.SITE_STAFF: f"  member of {site}",
                User.Role.SPONSOR: f"  member of {sponsor}",
            }
            self.stdout.write(f"  {User.Role(role).label:<11} {email:<24}{detail.get(role, '')}")
        self.stdout.write(
            "Sign in with one of them at the address the server prints below (make demo: http://127.0.0.1:8000/)."
        )


def busiest_site() -> Site:
    """The site running the most open trials, so the site demo shows live recruitment."""
    open_trials = Q(trial_sites__trial__overall_status__in=Trial.OPEN_STATUSES)
    site = (
        Site.objects.annotate(open_count=Count("trial_sites", filter=open_trials), total=Count("trial_sites"))
        .order_by("-open_count", "-total", "id")
        .first()
    )
    if site is None:
        raise CommandError("the demo data holds no site")
    return site


def busiest_sponsor() -> Sponsor:
    sponsor = Sponsor.objects.annotate(total=Count("trials")).order_by("-total", "id").first()
    if sponsor is None:
        raise CommandError("the demo data holds no sponsor")
    return sponsor
