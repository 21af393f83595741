"""Load the demo: real trials bundled with the repo and one account per role."""

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count, Q
from django.utils import timezone

from recruitment import totp
from recruitment.mfa import mfa_device_enrol_demo
from recruitment.models import Biomarker, Diagnosis, LabResult, PatientProfile, User
from recruitment.selectors.consent import current_consent_document
from recruitment.services.accounts import site_membership_ensure, sponsor_membership_ensure, user_upsert
from recruitment.services.consent import consent_give
from recruitment.services.profile import patient_profile_for, profile_fact_save, profile_update
from trials.importers import import_paths
from trials.models import ConsentDocument, Site, Sponsor, Trial

DEMO_DATA = Path(settings.BASE_DIR) / "trials" / "demo_data"
DEMO_FILES = [DEMO_DATA / "oncology_trials_2026.jsonl.gz", DEMO_DATA / "ctgov_legacy_oncology_300.tgz"]
DEMO_PASSWORD = "demo-trials-2026"  # noqa: S105 - printed for the demo; the command refuses to run outside DEBUG
# Plain-language consent texts for the demo; a real deployment publishes its own, approved versions.
DEMO_CONSENTS = {
    ConsentDocument.Purpose.MATCHING: (
        "Matching my profile with clinical trials",
        "I agree that this service compares the health information I enter with the eligibility criteria of "
        "clinical trials, and shows me the trials I may be able to join, with the reasons. No one at a trial "
        "site sees my name or contact details because of this consent. I can withdraw at any time on the "
        "consent page; matching stops at once.",
    ),
    ConsentDocument.Purpose.CONTACT: (
        "Being contacted by trial sites",
        "I agree that staff at the sites of trials I match, or tell you I am interested in, may see my "
        "contact details and contact me about taking part. I can withdraw at any time; sites are told at "
        "once.",
    ),
    ConsentDocument.Purpose.SHARE: (
        "Sharing my profile with one trial",
        "I agree that the site staff of this one trial may see the health information in my profile to check "
        "whether I can take part. I can withdraw at any time for this trial.",
    ),
}
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
        for user in users.values():
            if user.needs_mfa:
                mfa_device_enrol_demo(user=user, secret=totp.DEMO_MFA_SECRET)
        site_membership_ensure(user=users[User.Role.SITE_STAFF], site=site)
        sponsor_membership_ensure(user=users[User.Role.SPONSOR], sponsor=sponsor)

        consent_documents_ensure()
        demo_patient(users[User.Role.PATIENT])

        self.stdout.write(self.style.SUCCESS(f"\nDemo accounts (password for all: {DEMO_PASSWORD})"))
        for email, role in DEMO_ACCOUNTS:
            detail = {
                User.Role.PATIENT: "  Elena Demo: EGFR exon 19 deletion lung adenocarcinoma",
                User.Role.SITE_STAFF: f"  member of {site}",
                User.Role.SPONSOR: f"  member of {sponsor}",
            }
            self.stdout.write(f"  {User.Role(role).label:<11} {email:<24}{detail.get(role, '')}")
        self.stdout.write(
            "Sign in with one of them at the address the server prints below (make demo: http://127.0.0.1:8000/)."
        )
        self.stdout.write(
            "Site staff, sponsor and curator then give a code from an authenticator app set up with the demo "
            f"key {totp.DEMO_MFA_SECRET} (time-based, 6 digits), or print the current code with:\n"
            "  .venv/bin/python -m recruitment.totp"
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


def consent_documents_ensure() -> None:
    """Publish version 1.0 of each consent purpose unless a current version exists."""
    for purpose, (title, body) in DEMO_CONSENTS.items():
        if current_consent_document(purpose=purpose) is None:
            ConsentDocument.objects.create(
                purpose=purpose,
                version="1.0",
                language="en",
                title=title,
                body=body,
                published_at=timezone.now(),
            )


def demo_patient(user: User) -> PatientProfile:
    """Elena: stage IV lung adenocarcinoma with an EGFR exon 19 deletion, ECOG 1, PD-L1 TPS 20 % (22C3)."""
    user.first_name, user.last_name = "Elena", "Demo"
    user.save(update_fields=["first_name", "last_name"])
    profile = patient_profile_for(user)
    today = timezone.localdate()
    profile_update(
        profile=profile,
        fields={
            "birth_date": date(today.year - 62, 5, 14),
            "sex": PatientProfile.Sex.FEMALE,
            "postcode": "55905",
            "ecog": 1,
            "ecog_assessed_on": today,
            "pregnancy_status": PatientProfile.Pregnancy.NOT_APPLICABLE,
        },
    )
    if not Diagnosis.objects.filter(patient=profile).exists():
        diagnosed = today - timedelta(days=120)
        facts = [
            Diagnosis(code="luad", diagnosed_on=diagnosed, stage="IV"),
            Biomarker(
                gene="EGFR",
                alteration_type=Biomarker.Alteration.DELETION,
                protein_change="p.E746_A750del",
                status=Biomarker.Status.POSITIVE,
                tested_on=diagnosed,
            ),
            Biomarker(
                gene="CD274",
                alteration_type=Biomarker.Alteration.EXPRESSION,
                status=Biomarker.Status.POSITIVE,
                measure="TPS",
                value=Decimal(20),
                unit="%",
                assay="22C3",
                tested_on=diagnosed,
            ),
            LabResult(analyte="neutrophils", value=Decimal("3.1"), unit="10^9/L", collected_on=today),
            LabResult(analyte="platelets", value=Decimal(210), unit="10^9/L", collected_on=today),
            LabResult(
                analyte="creatinine",
                value=Decimal("0.9"),
                unit="mg/dL",
                reference_low=Decimal("0.5"),
                reference_high=Decimal("1.1"),
                collected_on=today,
            ),
        ]
        for fact in facts:
            profile_fact_save(profile=profile, fact=fact, actor=user)
    matching = current_consent_document(purpose=ConsentDocument.Purpose.MATCHING)
    if matching is not None:
        consent_give(patient=profile, document=matching, typed_name="Elena Demo", actor=user)
    return profile
