"""Load the demo: real trials bundled with the repo and one account per role."""

import re
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
from recruitment.models import (
    Biomarker,
    Diagnosis,
    LabResult,
    Match,
    PatientProfile,
    TrialInterest,
    User,
)
from recruitment.selectors.consent import current_consent_document
from recruitment.services.accounts import site_membership_ensure, sponsor_membership_ensure, user_upsert
from recruitment.services.consent import consent_give, trial_interest_express
from recruitment.services.monitoring import enrolment_snapshots_refresh
from recruitment.services.profile import patient_profile_for, profile_fact_save, profile_update
from trials.importers import import_paths
from trials.models import ConsentDocument, Site, Sponsor, Trial, TrialSite

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
        "Import the bundled real trials (839 current oncology trials, 300 legacy trials with sites), create "
        "one account per role, and have the demo site recruit for trials the demo patient matches."
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
        for user in users.values():
            if user.needs_mfa:
                mfa_device_enrol_demo(user=user, secret=totp.DEMO_MFA_SECRET)
        site_membership_ensure(user=users[User.Role.SITE_STAFF], site=site)

        consent_documents_ensure()
        patient = demo_patient(users[User.Role.PATIENT])
        trials = demo_site_trials_ensure(profile=patient, site=site)
        demo_interest_ensure(user=users[User.Role.PATIENT], profile=patient, trial=trials[0])
        sponsor = trials[0].sponsor or busiest_sponsor()
        sponsor_membership_ensure(user=users[User.Role.SPONSOR], sponsor=sponsor)
        for trial in trials:
            enrolment_snapshots_refresh(trial_id=trial.pk)

        self.stdout.write(self.style.SUCCESS(f"\nDemo accounts (password for all: {DEMO_PASSWORD})"))
        for email, role in DEMO_ACCOUNTS:
            detail = {
                User.Role.PATIENT: "  Elena Demo: EGFR exon 19 deletion lung adenocarcinoma, "
                f"interested in {trials[0].nct_id}",
                User.Role.SITE_STAFF: f"  member of {site}, recruiting for "
                + ", ".join(trial.nct_id for trial in trials),
                User.Role.SPONSOR: f"  member of {sponsor}, sponsor of {trials[0].nct_id}",
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


DEMO_SITE_TRIALS = 3
# Drug trials in Elena's disease, so that the site and sponsor pages show a plausible recruitment.
DEMO_PHASES = (Trial.Phase.PHASE2, Trial.Phase.PHASE2_PHASE3, Trial.Phase.PHASE3)


def _in_elenas_disease(trial: Trial) -> bool:
    return trial.study_type == Trial.StudyType.INTERVENTIONAL and any(
        "non-small cell" in name.lower() or "nsclc" in name.lower() for name in trial.conditions or ()
    )


def _names_a_gene(trial: Trial, genes: set[str]) -> bool:
    words = set(re.findall(r"[A-Z0-9]+", " ".join([trial.brief_title, *(trial.conditions or ())]).upper()))
    return not words.isdisjoint(gene.upper() for gene in genes)


def demo_site_trials_ensure(*, profile: PatientProfile, site: Site) -> list[Trial]:
    """Make the demo site recruit for a few trials the demo patient matches, so that its queue shows her.

    The bundled current trials list no sites, so none of Elena's matches would reach a site queue. The demo
    adds the site, as recruiting, to the trials she matches, in this order: those naming one of her positive
    biomarkers' genes (EGFR), then interventional non-small cell lung cancer trials in phase 2 or 3, then
    the rest, best score first. A second run puts the trial she asked to hear from and those the site already
    recruits for first, so it picks the same ones. The site's candidates are taken up after each addition
    commits; the first trial is the one she asks to hear from.
    """
    interested = set(
        TrialInterest.objects.filter(patient=profile, withdrawn_at__isnull=True).values_list(
            "trial_id", flat=True
        )
    )
    genes = set(
        Biomarker.objects.filter(patient=profile, status=Biomarker.Status.POSITIVE).values_list(
            "gene", flat=True
        )
    )
    matches = Match.objects.filter(patient=profile, retired_at__isnull=True).select_related("trial__sponsor")
    at_site = set(TrialSite.objects.filter(site=site).values_list("trial_id", flat=True))
    best: dict[int, Match] = {}
    for match in matches.order_by("-score", "trial__nct_id", "id"):
        best.setdefault(match.trial_id, match)
    ranked = sorted(
        best.values(),
        key=lambda m: (
            m.trial_id not in interested,
            m.trial_id not in at_site,
            not _names_a_gene(m.trial, genes),
            not (_in_elenas_disease(m.trial) and m.trial.phase in DEMO_PHASES),
            -m.score,
            m.trial.nct_id,
        ),
    )
    trials = [match.trial for match in ranked[:DEMO_SITE_TRIALS]]
    if not trials:
        raise CommandError("the demo patient matches no open trial, so no site would have a candidate")
    for trial in trials:
        TrialSite.objects.get_or_create(
            trial=trial, site=site, defaults={"status": TrialSite.Status.RECRUITING}
        )
    return trials


def demo_interest_ensure(*, user: User, profile: PatientProfile, trial: Trial) -> None:
    """Elena agrees to be contacted and asks to hear from the study team of `trial`: the site sees her at the
    top of its queue with her contact details."""
    contact = current_consent_document(purpose=ConsentDocument.Purpose.CONTACT)
    if contact is None:
        raise CommandError("no current contact consent document")
    consent_give(patient=profile, document=contact, typed_name="Elena Demo", actor=user)
    match = (
        Match.objects.filter(patient=profile, trial=trial, retired_at__isnull=True)
        .order_by("-score", "id")
        .first()
    )
    trial_interest_express(patient=profile, trial=trial, match=match)
