"""Migration 0014 takes birth dates out of match explanations stored before the engine stopped writing them,
retired matches included, and leaves every other word alone."""

import importlib

from django.apps import apps
from django.utils import timezone

from recruitment.models import Match
from tests.recruitment.workflow_helpers import matched_patient

scrub = importlib.import_module("recruitment.migrations.0014_match_evidence_without_birth_dates")

OLD_CRITERIA = [
    {
        "text": "Age 18 years or older",
        "outcome": "satisfied",
        "atoms": [{"evidence": [{"ref": "profile", "detail": "born 1961-04-05, aged 65 on 2026-11-23"}]}],
    },
    {
        "text": "Stage IV NSCLC",
        "outcome": "satisfied",
        "atoms": [{"evidence": [{"detail": "born in clinic"}]}],
    },
]


def test_stored_and_retired_matches_lose_the_birth_date_and_nothing_else(nsclc_trial):
    profile = matched_patient(nsclc_trial, email="elena@example.org")
    live = Match.objects.get(patient=profile, trial=nsclc_trial, retired_at__isnull=True)
    live.criteria = OLD_CRITERIA
    live.save(update_fields=["criteria"])
    retired = Match.objects.create(
        patient=profile,
        trial=nsclc_trial,
        verdict=live.verdict,
        score=live.score,
        criteria=OLD_CRITERIA,
        retired_at=timezone.now(),
    )

    scrub.scrub_birth_dates(apps, None)

    for match in (live, retired):
        match.refresh_from_db()
        age, stage = match.criteria
        assert age["atoms"][0]["evidence"][0]["detail"] == "aged 65 on 2026-11-23"
        assert stage == OLD_CRITERIA[1]
