"""load_demo gives every role something to look at: the demo site recruits for trials the demo patient
matches and has her as a candidate, she asked to hear from one of them, and the sponsor account sponsors it.

The demo data is cut down to its current EGFR lung cancer trials so that the import takes seconds; the site
comes from a finished trial made here (the legacy archive, which brings the real sites, is left out).
Transactions really commit: the re-match and the candidate take-up run after commit, as in the demo.
"""

import gzip
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from recruitment.management.commands import load_demo
from recruitment.models import Candidate, Match, SponsorMembership, TrialInterest, User
from tests.factories import TrialSiteFactory
from trials.models import Trial, TrialSite

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(settings, tmp_path: Path, monkeypatch) -> Path:
    settings.DEBUG = True  # load_demo refuses to publish its password otherwise
    subset = tmp_path / "egfr_lung_trials.jsonl"
    with gzip.open(load_demo.DEMO_DATA / "oncology_trials_2026.jsonl.gz", "rt", encoding="utf-8") as source:
        lines = [line for line in source if "EGFR" in line and "Non-Small Cell" in line]
    subset.write_text("".join(lines), encoding="utf-8")
    monkeypatch.setattr(load_demo, "DEMO_FILES", [subset])
    return subset


@pytest.fixture
def site_of_a_finished_trial(db):
    return TrialSiteFactory.create(
        site__facility="Rochester Cancer Center", trial__overall_status=Trial.Status.COMPLETED
    ).site


def test_the_demo_site_has_the_demo_patient_as_an_interested_candidate(demo, site_of_a_finished_trial):
    call_command("load_demo", no_progress=True)
    site_user = User.objects.get(email="site@demo.example")
    assert [m.site for m in site_user.site_memberships.all()] == [site_of_a_finished_trial]
    interest = TrialInterest.objects.get(patient__user__email="patient@demo.example")
    candidate = Candidate.objects.get(trial=interest.trial, site=site_of_a_finished_trial)
    assert candidate.patient == interest.patient
    assert candidate.match is not None
    assert candidate.match.retired_at is None
    assert TrialSite.objects.get(trial=interest.trial, site=site_of_a_finished_trial).status == "RECRUITING"

    queue = (
        _client_for(site_user)
        .get(reverse("site:queue", args=[site_of_a_finished_trial.pk, interest.trial.pk]))
        .content.decode()
    )
    assert candidate.subject_code in queue
    assert "interested" in queue


def test_the_sponsor_dashboard_shows_the_trial_the_demo_patient_is_interested_in(
    demo, site_of_a_finished_trial
):
    call_command("load_demo", no_progress=True)
    trial = TrialInterest.objects.get(patient__user__email="patient@demo.example").trial
    sponsor_user = User.objects.get(email="sponsor@demo.example")
    assert SponsorMembership.objects.filter(user=sponsor_user, sponsor=trial.sponsor).exists()
    client = _client_for(sponsor_user)
    assert trial.nct_id in client.get(reverse("sponsor:home")).content.decode()
    dashboard = client.get(reverse("sponsor:trial", args=[trial.pk]))
    assert dashboard.status_code == 200
    assert site_of_a_finished_trial.facility in dashboard.content.decode()


def test_running_load_demo_twice_changes_nothing_the_second_time(demo, site_of_a_finished_trial):
    call_command("load_demo", no_progress=True)
    first = _demo_state()
    call_command("load_demo", no_progress=True)
    assert _demo_state() == first


def _demo_state() -> dict[str, object]:
    return {
        "trial_sites": set(TrialSite.objects.values_list("trial_id", "site_id", "status")),
        "matches": set(Match.objects.values_list("id", "trial_id", "verdict", "score", "retired_at")),
        "candidates": set(Candidate.objects.values_list("id", "trial_id", "site_id", "status")),
        "interests": set(TrialInterest.objects.values_list("id", "trial_id", "withdrawn_at")),
        "sponsor_memberships": set(SponsorMembership.objects.values_list("user_id", "sponsor_id")),
    }


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client
