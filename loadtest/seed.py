"""Seed a database (PostgreSQL) for the web load test, and write the plan the locustfile reads.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recruit_load .venv/bin/python loadtest/seed.py

Runs without a broker (tasks in-process). Steps: migrate; `load_demo` (the bundled real trials, consent
documents, one account per role); synthetic patients from `recruitment/matching/synthetic.py` written as
accounts, profiles, facts and matching (and contact) consents; the patients who sign in are re-matched against
every open trial; the queue patients are matched against the queue trial only (a full re-match of tens of
thousands of patients takes hours of CPU here, see docs/benchmarks.md "Matching") and taken up as candidates
of the queue's site; site staff and sponsor accounts with the demo second-factor secret.

The queue trial is the open trial that the most synthetic patients may enter, opened at the demo's busiest
site; enough queue patients are generated for `--queue` candidates. Run it on a database of its own.
"""

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402

from recruitment import totp  # noqa: E402
from recruitment.management.commands.load_demo import DEMO_PASSWORD, busiest_site  # noqa: E402
from recruitment.matching import Overall, PatientFacts, match_trial  # noqa: E402
from recruitment.matching.synthetic import synthetic_patients  # noqa: E402
from recruitment.mfa import mfa_device_enrol_demo  # noqa: E402
from recruitment.models import (  # noqa: E402
    SIGNATURE_MEANING,
    Biomarker,
    Candidate,
    Consent,
    Diagnosis,
    LabResult,
    PatientProfile,
    Procedure,
    Therapy,
    User,
)
from recruitment.selectors.consent import current_consent_document  # noqa: E402
from recruitment.selectors.matching import trials_for_matching  # noqa: E402
from recruitment.services.accounts import (  # noqa: E402
    site_membership_ensure,
    sponsor_membership_ensure,
    user_upsert,
)
from recruitment.services.matching import match_upsert_all, match_upsert_for_trial  # noqa: E402
from recruitment.services.workflow import candidates_create_for_site  # noqa: E402
from trials.models import ConsentDocument, Site, Trial, TrialSite  # noqa: E402

PLAN = Path(__file__).resolve().parent / "plan.json"
BATCH = 2000


def say(message: str, started: float) -> None:
    sys.stdout.write(f"[{time.perf_counter() - started:7.1f} s] {message}\n")
    sys.stdout.flush()


def entry_share(trial_ids: Iterable[int], sample: list[PatientFacts], today: date) -> dict[int, float]:
    """For each trial, the share of `sample` it may take (eligible or possibly eligible, and accepting)."""
    shares = {}
    for candidate in trials_for_matching(trial_ids=trial_ids):
        taken = 0
        for facts in sample:
            verdict = match_trial(candidate.spec, candidate.criteria, facts, today=today, enrolled={})
            taken += verdict.overall is not Overall.INELIGIBLE and verdict.accepting
        shares[candidate.trial.pk] = taken / len(sample)
    return shares


def queue_trial(*, seed: int, today: date) -> tuple[Trial, float]:
    """The open trial that a sample of synthetic patients may enter most often, and that share."""
    open_trials = Trial.objects.filter(overall_status__in=Trial.OPEN_STATUSES).values_list("pk", flat=True)
    sample = list(synthetic_patients(60, seed=seed + 1, today=today))
    shares = entry_share(list(open_trials), sample, today)
    best = max(shares, key=lambda pk: (shares[pk], -pk))
    return Trial.objects.get(pk=best), shares[best]


def write_patients(
    patients: list[PatientFacts], *, first_number: int, password_hash: str, contact_share: int
) -> list[int]:
    """Accounts, profiles, facts and consents for `patients`, in bulk (no per-row hooks; matching follows)."""
    matching = current_consent_document(purpose=ConsentDocument.Purpose.MATCHING)
    contact = current_consent_document(purpose=ConsentDocument.Purpose.CONTACT)
    if matching is None or contact is None:
        raise SystemExit("load_demo did not publish the consent documents")
    now = timezone.now()
    ids: list[int] = []
    for start in range(0, len(patients), BATCH):
        batch = patients[start : start + BATCH]
        with transaction.atomic():
            users = User.objects.bulk_create(
                User(
                    email=f"load-patient-{first_number + start + i:05d}@load.example",
                    first_name="Load",
                    last_name=f"Patient {first_number + start + i:05d}",
                    role=User.Role.PATIENT,
                    password=password_hash,
                )
                for i in range(len(batch))
            )
            profiles = PatientProfile.objects.bulk_create(
                PatientProfile(
                    user=user,
                    birth_date=facts.birth_date,
                    sex=facts.sex,
                    ecog=facts.ecog,
                    pregnancy_status=facts.pregnancy_status,
                    breastfeeding=facts.breastfeeding,
                    history_confirmed_on=facts.history_confirmed_on,
                )
                for user, facts in zip(users, batch, strict=True)
            )
            _facts_write(zip(profiles, batch, strict=True))
            consents = []
            for number, profile in enumerate(profiles, start=first_number + start):
                documents = [matching, contact] if number % 100 < contact_share else [matching]
                consents += [
                    Consent(
                        patient=profile,
                        purpose=document.purpose,
                        document=document,
                        document_version=document.version,
                        document_hash=document.content_hash,
                        typed_name=f"Load Patient {number:05d}",
                        meaning=SIGNATURE_MEANING[document.purpose],
                        signed_at=now,
                    )
                    for document in documents
                ]
            Consent.objects.bulk_create(consents)
        ids += [profile.pk for profile in profiles]
    return ids


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _facts_write(pairs: Iterable[tuple[PatientProfile, PatientFacts]]) -> None:
    rows: dict[Any, list[Any]] = {Diagnosis: [], Biomarker: [], LabResult: [], Therapy: [], Procedure: []}
    for profile, facts in pairs:
        rows[Diagnosis] += [
            Diagnosis(
                patient=profile,
                code=d.code,
                label=d.label,
                presence=Diagnosis.Presence.PRESENT if d.present else Diagnosis.Presence.ABSENT,
                diagnosed_on=d.diagnosed_on,
                stage=d.stage,
                histology=d.histology,
            )
            for d in facts.diagnoses
        ]
        rows[Biomarker] += [
            Biomarker(
                patient=profile,
                gene=b.gene,
                alteration_type=b.alteration_type,
                status=b.status,
                protein_change=b.protein_change,
                measure=b.measure,
                value=_decimal(b.value),
                unit=b.unit,
                assay=b.assay,
                tested_on=b.tested_on,
            )
            for b in facts.biomarkers
        ]
        rows[LabResult] += [
            LabResult(
                patient=profile,
                analyte=lab.analyte,
                loinc=lab.loinc,
                value=Decimal(str(lab.value)),
                unit=lab.unit,
                collected_on=lab.collected_on,
                reference_low=_decimal(lab.reference_low),
                reference_high=_decimal(lab.reference_high),
            )
            for lab in facts.labs
        ]
        rows[Therapy] += [
            Therapy(
                patient=profile,
                drug=t.drug,
                drug_class=t.classes[0] if t.classes else "",
                line=t.line,
                started_on=t.started_on,
                ended_on=t.ended_on,
            )
            for t in facts.therapies
        ]
        rows[Procedure] += [
            Procedure(patient=profile, code=p.code, name=p.name, performed_on=p.performed_on)
            for p in facts.procedures
        ]
    for model, objects in rows.items():
        model.objects.bulk_create(objects)


def staff_accounts(prefix: str, count: int, role: str, password: str) -> list[User]:
    users = []
    for number in range(1, count + 1):
        user = user_upsert(email=f"load-{prefix}-{number:02d}@load.example", role=role, password=password)
        mfa_device_enrol_demo(user=user, secret=totp.DEMO_MFA_SECRET)
        users.append(user)
    return users


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=200, help="Patients who sign in (200).")
    parser.add_argument("--queue", type=int, default=10_000, help="Candidates in the site queue (10,000).")
    parser.add_argument("--max-queue-patients", type=int, default=60_000, help="Cap on generated (60,000).")
    parser.add_argument("--site-staff", type=int, default=30, help="Site staff accounts (30).")
    parser.add_argument("--sponsors", type=int, default=30, help="Sponsor accounts (30).")
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    if settings.CELERY_BROKER_URL:
        raise SystemExit("run without CELERY_BROKER_URL: the seed runs its tasks in-process")
    if connection.vendor != "postgresql":
        sys.stderr.write("warning: the load test is meant for PostgreSQL (DATABASE_URL)\n")
    started = time.perf_counter()
    today = timezone.localdate()
    call_command("migrate", verbosity=0)
    say("migrated", started)
    call_command("load_demo", no_progress=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
    say(f"demo loaded: {Trial.objects.count()} trials", started)

    trial, share = queue_trial(seed=args.seed, today=today)
    # The bundled open trials carry no sites (the registry file has none): the queue trial recruits at the
    # demo's busiest site.
    site = busiest_site()
    TrialSite.objects.update_or_create(
        trial=trial, site=site, defaults={"status": TrialSite.Status.RECRUITING}
    )
    queue_patients = min(args.max_queue_patients, math.ceil(args.queue / max(share, 1e-3) * 1.05))
    say(f"queue trial {trial.nct_id} at {site}: {share:.0%} of patients may enter it", started)

    password_hash = make_password(DEMO_PASSWORD)
    generated = list(synthetic_patients(args.patients + queue_patients, seed=args.seed, today=today))
    signing_in = write_patients(
        generated[: args.patients], first_number=1, password_hash=password_hash, contact_share=60
    )
    queued = write_patients(
        generated[args.patients :],
        first_number=args.patients + 1,
        password_hash=password_hash,
        contact_share=30,
    )
    say(f"patients written: {len(signing_in)} who sign in, {len(queued)} for the queue", started)

    summary = match_upsert_all(today=today, profile_ids=signing_in)
    say(f"patients who sign in matched against every open trial: {summary.events} matches", started)
    match_upsert_for_trial(trial=trial, today=today)
    candidates_create_for_site(trial=trial, site=site)
    # Candidates may have been taken up at the trial's other sites too: the queue is the largest one.
    queue = (
        Candidate.objects.filter(trial=trial).values("site_id").annotate(n=Count("pk")).order_by("-n").first()
    )
    if queue is None:
        raise SystemExit(f"no candidate for {trial.nct_id}")
    queue_site = Site.objects.get(pk=queue["site_id"])
    say(f"queue: {queue['n']} candidates for {trial.nct_id} at {queue_site}", started)

    staff = staff_accounts("site", args.site_staff, User.Role.SITE_STAFF, DEMO_PASSWORD)
    for user in staff:
        site_membership_ensure(user=user, site=queue_site)
    if trial.sponsor is None:
        raise SystemExit(f"{trial.nct_id} has no sponsor to sign in as")
    sponsors = staff_accounts("sponsor", args.sponsors, User.Role.SPONSOR, DEMO_PASSWORD)
    for user in sponsors:
        sponsor_membership_ensure(user=user, sponsor=trial.sponsor)
    candidate_ids = list(
        Candidate.objects.filter(trial=trial, site=queue_site).order_by("pk").values_list("pk", flat=True)
    )
    plan = {
        "password": DEMO_PASSWORD,
        "mfa_secret": totp.DEMO_MFA_SECRET,
        "patients": [f"load-patient-{n:05d}@load.example" for n in range(1, args.patients + 1)],
        "site_staff": [user.email for user in staff],
        "sponsors": [user.email for user in sponsors],
        "queue": f"/site/{queue_site.pk}/trials/{trial.pk}/",
        "queue_size": len(candidate_ids),
        "candidates": candidate_ids[:: max(1, len(candidate_ids) // 500)],
        "sponsor_trial": f"/sponsor/trials/{trial.pk}/",
    }
    PLAN.write_text(json.dumps(plan, indent=1))
    say(f"plan written to {PLAN}", started)


if __name__ == "__main__":
    main()
