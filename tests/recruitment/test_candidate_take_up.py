"""Candidates are taken up where the facts change (a match written, interest or contact consent given, a
cohort or site reopened), after commit, by an idempotent task; the site queue only reads."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from recruitment import tasks
from recruitment.models import Candidate, Match
from recruitment.selectors.portal import patient_matches
from recruitment.selectors.site import trials_with_take_up_owed
from recruitment.services.consent import trial_interest_express
from recruitment.services.workflow import candidates_create
from tests import factories
from tests.recruitment.consent_helpers import sign
from tests.recruitment.factories import DiagnosisFactory
from tests.recruitment.workflow_helpers import matched_patient
from trials.models import ConsentDocument, Trial, TrialSite

BOSTON = (Decimal("42.337"), Decimal("-71.106"))
PROVIDENCE = (Decimal("41.824"), Decimal("-71.413"))


def _locate(obj, point):
    obj.latitude, obj.longitude = point
    obj.save(update_fields=["latitude", "longitude"])


def test_opening_the_queue_creates_no_candidate(client, sam, nsclc_trial, boston_site):
    matched_patient(nsclc_trial, email="elena@example.org")
    client.force_login(sam)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk])).status_code == 200
    assert not Candidate.objects.exists()
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in {"INSERT", "DELETE"}]
    # The session keeps the time of this visit (for "new since my last visit"); nothing else is written.
    assert all("django_session" in sql for sql in writes), writes


def _rematched(profile, trial, verdict: str) -> Match:
    """The match a re-match writes: a fresh row with `verdict` in place of the helper's."""
    old = Match.objects.get(patient=profile, trial=trial)
    old.delete()
    return Match.objects.create(
        patient=profile, trial=trial, verdict=verdict, score=old.score, criteria=old.criteria
    )


def test_a_new_eligible_match_becomes_a_candidate_once_it_commits(
    nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks
):
    profile = matched_patient(nsclc_trial, email="elena@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        match = _rematched(profile, nsclc_trial, Match.Verdict.POSSIBLY_ELIGIBLE)
    candidate = Candidate.objects.get(patient=profile, trial=nsclc_trial)
    assert (candidate.site, candidate.match) == (boston_site, match)


def _with_lung_cancer(profile) -> None:
    DiagnosisFactory.create(patient=profile, code="nsclc", label="non-small cell lung cancer")


def test_a_possible_match_of_a_profile_with_no_illness_is_no_candidate(
    nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks
):
    # Nora registered and consented to matching, but has not said what she is ill with: she is possibly
    # eligible for nearly every trial, and Boston could pre-screen her on nothing.
    nora = matched_patient(nsclc_trial, email="nora@example.org", ill=False)
    with django_capture_on_commit_callbacks(execute=True):
        _rematched(nora, nsclc_trial, Match.Verdict.POSSIBLY_ELIGIBLE)
    assert not Candidate.objects.filter(patient=nora).exists()
    # Nor does the ten-minute sweep count her as owed (it would queue her trials every time).
    assert nsclc_trial.pk not in trials_with_take_up_owed()
    _with_lung_cancer(nora)
    assert nsclc_trial.pk in trials_with_take_up_owed()
    candidates_create(trial_id=nsclc_trial.pk)
    assert Candidate.objects.get(patient=nora).site == boston_site


def test_a_possible_match_of_a_profile_with_no_illness_is_taken_up_when_she_asks_about_the_trial(
    nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks
):
    nora = matched_patient(nsclc_trial, email="nora@example.org", contact=True, ill=False)
    with django_capture_on_commit_callbacks(execute=True):
        match = _rematched(nora, nsclc_trial, Match.Verdict.POSSIBLY_ELIGIBLE)
    assert not Candidate.objects.filter(patient=nora).exists()
    with django_capture_on_commit_callbacks(execute=True):
        trial_interest_express(patient=nora, trial=nsclc_trial, match=match)
    assert Candidate.objects.get(patient=nora).match == match


def test_a_match_that_does_not_commit_makes_no_candidate(nsclc_trial, boston_site, sam):
    matched_patient(nsclc_trial, email="elena@example.org")
    assert not Candidate.objects.exists()


def test_an_ineligible_match_never_becomes_a_candidate(
    nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks
):
    profile = matched_patient(nsclc_trial, email="elena@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        _rematched(profile, nsclc_trial, Match.Verdict.INELIGIBLE)
    assert not Candidate.objects.exists()


def test_the_candidacy_goes_to_the_recruiting_site_nearest_the_patient(nsclc_trial, boston_site, sam):
    providence = factories.TrialSiteFactory.create(trial=nsclc_trial, site__facility="Providence Lung").site
    _locate(boston_site, BOSTON)
    _locate(providence, PROVIDENCE)
    profile = matched_patient(nsclc_trial, email="elena@example.org")
    _locate(profile, (Decimal("41.80"), Decimal("-71.40")))
    candidates_create(trial_id=nsclc_trial.pk)
    assert Candidate.objects.get(patient=profile).site == providence


def test_elenas_portal_shows_the_recruiting_site_that_takes_her_candidacy_not_a_closed_one_nearer(
    nsclc_trial, boston_site, sam
):
    providence = factories.TrialSiteFactory.create(
        trial=nsclc_trial, site__facility="Providence Lung", status=TrialSite.Status.COMPLETED
    ).site
    _locate(boston_site, BOSTON)
    _locate(providence, PROVIDENCE)
    profile = matched_patient(nsclc_trial, email="elena@example.org")
    _locate(profile, (Decimal("41.80"), Decimal("-71.40")))
    candidates_create(trial_id=nsclc_trial.pk)
    assert Candidate.objects.get(patient=profile).site == boston_site
    (row,) = patient_matches(patient=profile)
    assert row.nearest_site == boston_site


def test_without_coordinates_the_first_recruiting_site_by_name_takes_the_candidacy(
    nsclc_trial, boston_site, sam
):
    factories.TrialSiteFactory.create(trial=nsclc_trial, site__facility="Albany Cancer Centre")
    factories.TrialSiteFactory.create(
        trial=nsclc_trial, site__facility="Aaron Closed Clinic", status=TrialSite.Status.COMPLETED
    )
    profile = matched_patient(nsclc_trial, email="elena@example.org")
    candidates_create(trial_id=nsclc_trial.pk)
    assert Candidate.objects.get(patient=profile).site.facility == "Albany Cancer Centre"


def test_taking_up_twice_creates_one_candidacy(nsclc_trial, boston_site, sam):
    matched_patient(nsclc_trial, email="elena@example.org")
    assert len(candidates_create(trial_id=nsclc_trial.pk)) == 1
    assert candidates_create(trial_id=nsclc_trial.pk) == []
    assert Candidate.objects.count() == 1


def test_only_the_named_patients_are_taken_up(nsclc_trial, boston_site, sam):
    first = matched_patient(nsclc_trial, email="a@example.org")
    matched_patient(nsclc_trial, email="b@example.org")
    (candidate,) = candidates_create(trial_id=nsclc_trial.pk, patient_ids=[first.pk])
    assert candidate.patient == first


@pytest.mark.parametrize(
    ("trial_status", "site_status"),
    [
        (Trial.Status.ACTIVE_NOT_RECRUITING, TrialSite.Status.RECRUITING),
        (Trial.Status.RECRUITING, TrialSite.Status.COMPLETED),
    ],
)
def test_a_trial_or_site_that_does_not_recruit_takes_no_new_candidates(
    nsclc_trial, boston_site, sam, trial_status, site_status
):
    matched_patient(nsclc_trial, email="elena@example.org")
    Trial.objects.filter(pk=nsclc_trial.pk).update(overall_status=trial_status)
    TrialSite.objects.filter(trial=nsclc_trial).update(status=site_status)
    assert candidates_create(trial_id=nsclc_trial.pk) == []


def test_a_reopened_cohort_takes_up_its_waiting_matches(
    nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks
):
    arm = factories.ArmFactory.create(trial=nsclc_trial, label="EGFR cohort", is_suspended=True)
    profile = matched_patient(nsclc_trial, email="elena@example.org", arm=arm)
    assert candidates_create(trial_id=nsclc_trial.pk) == []
    with django_capture_on_commit_callbacks(execute=True):
        arm.is_suspended = False
        arm.save(update_fields=["is_suspended"])
    assert Candidate.objects.get(patient=profile).arm == arm


def test_a_site_that_starts_recruiting_takes_up_the_waiting_matches(
    nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks
):
    trial_site = TrialSite.objects.get(trial=nsclc_trial, site=boston_site)
    TrialSite.objects.filter(pk=trial_site.pk).update(status=TrialSite.Status.SUSPENDED)
    profile = matched_patient(nsclc_trial, email="elena@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        trial_site.status = TrialSite.Status.RECRUITING
        trial_site.save(update_fields=["status"])
    assert Candidate.objects.get(patient=profile).site == boston_site


def test_giving_interest_or_contact_consent_takes_up_a_waiting_match(
    nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks
):
    keen = matched_patient(nsclc_trial, email="keen@example.org", contact=True)
    with django_capture_on_commit_callbacks(execute=True):
        trial_interest_express(patient=keen, trial=nsclc_trial)
    assert Candidate.objects.filter(patient=keen).exists()

    later = matched_patient(nsclc_trial, email="later@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        sign(later, ConsentDocument.objects.get(purpose=ConsentDocument.Purpose.CONTACT))
    assert Candidate.objects.filter(patient=later).exists()


def test_a_full_cohort_takes_no_new_candidates(nsclc_trial, boston_site, sam):
    arm = factories.ArmFactory.create(trial=nsclc_trial, label="EGFR cohort", cap=0)
    matched_patient(nsclc_trial, email="elena@example.org", arm=arm)
    assert candidates_create(trial_id=nsclc_trial.pk) == []


def test_a_site_without_a_status_of_its_own_recruits_while_its_trial_does(nsclc_trial, boston_site, sam):
    TrialSite.objects.filter(trial=nsclc_trial).update(status=TrialSite.Status.UNKNOWN)
    profile = matched_patient(nsclc_trial, email="elena@example.org")
    (candidate,) = candidates_create(trial_id=nsclc_trial.pk)
    assert (candidate.patient, candidate.site) == (profile, boston_site)


def test_saving_the_arms_and_sites_of_a_trial_without_waiting_matches_queues_nothing(
    nsclc_trial, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        factories.ArmFactory.create(trial=nsclc_trial)
        factories.TrialSiteFactory.create(trial=nsclc_trial)
    assert callbacks == []


def _refuse(*args, **kwargs):
    raise KombuOperationalError("broker unreachable")


def test_a_take_up_the_broker_refused_is_done_by_the_periodic_sweep(
    nsclc_trial, boston_site, sam, monkeypatch, django_capture_on_commit_callbacks
):
    profile = matched_patient(nsclc_trial, email="elena@example.org")
    monkeypatch.setattr(tasks.take_up_candidates, "apply_async", _refuse)
    with django_capture_on_commit_callbacks(execute=True):
        _rematched(profile, nsclc_trial, Match.Verdict.ELIGIBLE)  # the commit raises nothing
    assert not Candidate.objects.exists()
    assert trials_with_take_up_owed() == [nsclc_trial.pk]
    assert tasks.take_up_owed() == 1
    assert Candidate.objects.get().patient == profile
    assert trials_with_take_up_owed() == []
    assert tasks.take_up_owed() == 0


def test_the_sweep_takes_up_nobody_without_a_recruiting_site_or_matching_consent(
    nsclc_trial, boston_site, sam, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(tasks.take_up_candidates, "apply_async", _refuse)
    profile = matched_patient(nsclc_trial, email="elena@example.org")
    TrialSite.objects.filter(trial=nsclc_trial).update(status=TrialSite.Status.COMPLETED)
    assert trials_with_take_up_owed() == []
    TrialSite.objects.filter(trial=nsclc_trial).update(status=TrialSite.Status.RECRUITING)
    profile.consents.update(withdrawn_at=timezone.now())
    assert trials_with_take_up_owed() == []
    assert tasks.take_up_owed() == 0
