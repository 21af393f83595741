"""Event-driven re-matching: profile and trial changes queue re-matches after commit; trial re-matches, full
re-matches (in process and fanned out) and duplicate deliveries settle on the same matches; only patients
who consent to be matched are matched.

Elena, Hana and Pedro have signed the matching consent here unless a test says otherwise.
"""

from collections.abc import Callable
from functools import partial

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import CommandError, call_command

from config.celery import app
from nlp.model import node_to_dict
from recruitment.models import Candidate, CandidateStatus, Match, MatchEvent, PatientProfile
from recruitment.services.consent import consent_withdraw
from recruitment.services.matching import (
    _enqueue_patient_rematch,
    _enqueue_trial_rematch,
    match_upsert_all,
    match_upsert_for_patient,
    match_upsert_for_trial,
)
from recruitment.tasks import rematch_everyone, rematch_patient, rematch_trial
from tests.factories import ArmFactory, TrialSiteFactory, UserFactory
from tests.recruitment.conftest import TODAY
from tests.recruitment.consent_helpers import Purpose
from tests.recruitment.factories import DiagnosisFactory
from tests.recruitment.test_match_services import EGFR_TRIAL, KRAS_TRIAL, live, trial_with
from trials.models import Trial
from trials.services import criterion_review

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personas_consent_to_matching")]


def rematches_queued(callbacks: list[Callable[[], object]]) -> list[str]:
    """Which re-matches were queued after commit (the re-match itself may queue e-mails after its own)."""
    queued = {_enqueue_patient_rematch: "patient", _enqueue_trial_rematch: "trial"}
    return [queued[cb.func] for cb in callbacks if isinstance(cb, partial) and cb.func in queued]


def snapshot() -> set[tuple[int, int, int | None, str, float]]:
    return {
        (m.patient_id, m.trial_id, m.arm_id, m.verdict, m.score)
        for m in Match.objects.filter(retired_at__isnull=True)
    }


def test_a_trial_rematch_matches_the_patients_it_fits(criteria, elena, hana):
    trial = trial_with(criteria, EGFR_TRIAL)
    events = match_upsert_for_trial(trial=trial, today=TODAY)
    assert [(e.kind, e.match.patient) for e in events] == [(MatchEvent.Kind.CREATED, elena)]
    assert live(hana) == []


def test_a_trial_rematch_leaves_the_patients_other_matches_alone(criteria, pedro):
    kras = trial_with(criteria, KRAS_TRIAL)
    other = trial_with(criteria, ("adult",))
    match_upsert_for_patient(patient=pedro, today=TODAY)
    before = {m.trial_id: m.evaluated_at for m in live(pedro)}
    assert set(before) == {kras.pk, other.pk}
    other.overall_status = Trial.Status.COMPLETED
    other.save(update_fields=["overall_status"])
    (event,) = match_upsert_for_trial(trial=other, today=TODAY)
    assert (event.kind, event.detail) == (MatchEvent.Kind.RETIRED, {"reason": "trial not recruiting"})
    assert [(m.trial_id, m.evaluated_at) for m in live(pedro)] == [(kras.pk, before[kras.pk])]


def test_a_rematch_of_a_trial_after_one_of_the_patient_gives_the_same_matches(criteria, elena, hana, pedro):
    trials = [trial_with(criteria, ids) for ids in (EGFR_TRIAL, KRAS_TRIAL, ("adult", "ecog_0_1"))]
    for patient in (elena, hana, pedro):
        match_upsert_for_patient(patient=patient, today=TODAY)
    expected = snapshot()
    for trial in trials:
        assert match_upsert_for_trial(trial=trial, today=TODAY) == []
    assert snapshot() == expected


def test_a_full_rematch_with_the_index_equals_one_without_it(criteria, elena, hana, pedro):
    for ids in (EGFR_TRIAL, KRAS_TRIAL, ("tnbc",), ("her2_low_breast", "adult"), ("solid_tumour",)):
        trial_with(criteria, ids)
    summary = match_upsert_all(today=TODAY)
    assert summary.patients == 3
    assert snapshot()
    for patient in (elena, hana, pedro):
        assert match_upsert_for_patient(patient=patient, today=TODAY) == []


def test_a_full_rematch_reads_each_patients_facts_under_their_lock_not_with_the_chunk(
    criteria, elena, hana, monkeypatch
):
    # Elena's EGFR result is deleted (entered in error) while the nightly run works through the chunk that
    # holds her: the run must match her without it, not on the facts it would have read with the chunk.
    trial_with(criteria, EGFR_TRIAL)
    from recruitment.services import matching

    clear = matching.rematch_request_clear

    def clear_and_edit(*, profile_id: int) -> None:
        clear(profile_id=profile_id)
        elena.biomarkers.filter(gene="EGFR").delete()

    monkeypatch.setattr(matching, "rematch_request_clear", clear_and_edit)
    match_upsert_all(today=TODAY, profile_ids=[hana.pk, elena.pk], chunk_size=500)
    assert [m.verdict for m in live(elena)] == ["possibly_eligible"]


def test_saving_a_profile_rematches_the_patient_after_commit(
    criteria, elena, django_capture_on_commit_callbacks
):
    trial_with(criteria, EGFR_TRIAL)
    assert live(elena) == []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        elena.ecog = 0
        elena.save(update_fields=["ecog"])
        assert live(elena) == []  # nothing runs before the commit
    assert rematches_queued(callbacks) == ["patient"]
    assert [m.verdict for m in live(elena)] == ["eligible"]


def test_deleting_a_fact_rematches_the_patient(criteria, elena, django_capture_on_commit_callbacks):
    trial_with(criteria, EGFR_TRIAL)
    match_upsert_for_patient(patient=elena, today=TODAY)
    with django_capture_on_commit_callbacks(execute=True):
        elena.biomarkers.filter(gene="EGFR").delete()
    assert [m.verdict for m in live(elena)] == ["possibly_eligible"]


def test_curating_a_criterion_rematches_its_trial(criteria, elena, cora, django_capture_on_commit_callbacks):
    trial = trial_with(criteria, EGFR_TRIAL)
    ecog = trial.criteria.get(text__contains="ECOG")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        criterion_review(criterion_id=ecog.pk, actor=cora, action="unparseable", revision=ecog.revision)
    assert rematches_queued(callbacks) == ["trial"]
    (match,) = live(elena)
    assert match.criteria[3]["outcome"] == "not_checkable"


def test_a_registry_change_with_nobody_to_match_queues_nothing(
    criteria, cora, django_capture_on_commit_callbacks
):
    trial = trial_with(criteria, EGFR_TRIAL)
    ecog = trial.criteria.get(text__contains="ECOG")
    with django_capture_on_commit_callbacks() as callbacks:
        criterion_review(criterion_id=ecog.pk, actor=cora, action="accept", revision=ecog.revision)
    assert callbacks == []


def test_a_cohort_whose_cap_is_reached_by_enrolments_takes_no_new_match(criteria, elena, hana):
    trial = trial_with(criteria, ("adult",))
    stratum = node_to_dict(criteria["egfr_ex19"].tree)
    arm = ArmFactory.create(trial=trial, label="EGFR ex19", biomarker_definition=stratum, cap=1)
    site = TrialSiteFactory.create(trial=trial).site
    match_upsert_for_trial(trial=trial, today=TODAY)
    assert [m.arm for m in live(elena)] == [arm]
    Candidate.objects.create(
        patient=hana, trial=trial, site=site, arm=arm, status=CandidateStatus.ENROLLED, subject_code="S-0001"
    )
    match_upsert_all(today=TODAY)
    assert live(elena) == []
    (event,) = MatchEvent.objects.filter(kind=MatchEvent.Kind.RETIRED, match__patient=elena)
    assert event.detail == {"reason": "all cohorts full or suspended"}


def test_a_duplicate_delivery_of_a_rematch_creates_no_duplicate_match(criteria, elena):
    trial_with(criteria, EGFR_TRIAL)
    assert rematch_patient.delay(elena.pk).get() == 1
    assert rematch_patient.delay(elena.pk).get() == 0
    assert Match.objects.count() == 1
    assert MatchEvent.objects.count() == 1


def test_rematch_tasks_for_deleted_rows_do_nothing(db):
    assert rematch_patient.delay(987654).get() == 0
    assert rematch_trial.delay(987654).get() == 0


def test_the_nightly_rematch_fans_out_one_task_per_chunk(criteria, elena, hana, pedro):
    trial_with(criteria, ("adult",), conditions=["Solid Tumor"])
    assert rematch_everyone.delay(chunk_size=2).get() == 2
    assert {m.patient_id for m in Match.objects.all()} == {elena.pk, hana.pk, pedro.pk}


def test_the_nightly_rematch_is_scheduled_with_celery_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["nightly-rematch"]
    assert isinstance(entry["schedule"], crontab)
    assert entry["task"] in app.tasks


def test_the_rematch_command_rematches_everyone_in_process(criteria, elena, pedro, capsys):
    trial_with(criteria, EGFR_TRIAL)
    trial_with(criteria, KRAS_TRIAL)
    call_command("rematch", "--no-progress", "--chunk-size", "1")
    assert "Re-matched 2 patients: 2 match events" in capsys.readouterr().out
    assert [len(live(p)) for p in (elena, pedro)] == [1, 1]


def test_the_rematch_command_fans_out_and_takes_trials(criteria, elena, pedro, capsys):
    kras = trial_with(criteria, KRAS_TRIAL, nct_id="NCT04613596")
    call_command("rematch", "--fan-out", "--wait", "--chunk-size", "1")
    assert "Sent 2 chunks (2 patients)" in capsys.readouterr().out
    kras.overall_status = Trial.Status.SUSPENDED
    kras.save(update_fields=["overall_status"])
    call_command("rematch", "--trials", "NCT04613596", "--no-progress")
    assert "Re-matched 1 trials: 1 match events." in capsys.readouterr().out
    assert live(pedro) == []


@pytest.mark.parametrize("name", ["NCT00000000", "²"])
def test_the_rematch_command_names_a_trial_it_cannot_find(name):
    with pytest.raises(CommandError, match=f"no trial {name}"):
        call_command("rematch", "--trials", name, "--no-progress")


def test_a_patient_without_matching_consent_is_never_matched(criteria, hana):
    unconsented = PatientProfile.objects.get(pk=hana.pk)
    unconsented.pk = None
    unconsented.user = UserFactory.create(email="no-consent@example.org")
    unconsented.save()
    DiagnosisFactory.create(patient=unconsented, code="breast_cancer")
    trial = trial_with(criteria, ("solid_tumour",), conditions=["Solid Tumor"])
    match_upsert_all(today=TODAY)
    match_upsert_for_trial(trial=trial, today=TODAY)
    match_upsert_for_patient(patient=unconsented, today=TODAY)
    assert [m.patient for m in Match.objects.all()] == [hana]


def test_withdrawing_matching_consent_retires_the_matches_on_the_next_run(criteria, elena, monkeypatch):
    trial_with(criteria, EGFR_TRIAL)
    match_upsert_for_patient(patient=elena, today=TODAY)
    # Withdrawal retires matches itself; a run that finds a live match of a withdrawn patient (one written
    # by a run that raced the withdrawal) retires it too.
    monkeypatch.setattr("recruitment.services.consent._matches_retire", lambda **kwargs: [])
    consent_withdraw(patient=elena, purposes=[Purpose.MATCHING])
    assert len(live(elena)) == 1
    match_upsert_all(today=TODAY)
    assert live(elena) == []
    (event,) = MatchEvent.objects.filter(kind=MatchEvent.Kind.RETIRED)
    assert event.detail == {"reason": "no active consent to be matched"}
