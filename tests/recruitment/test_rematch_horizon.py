"""Each patient's horizon is stored with their matches, and the nightly run re-matches only the patients due.

Elena (lung adenocarcinoma diagnosed 2026-03-10, born 2 April), Hana and Pedro have signed the matching
consent. Without a window in the registry, a horizon is the next birthday or the patient's safety-net
interval (`longest_for`: 23 to 30 days by patient id, with REMATCH_HORIZON_MAX_DAYS 30 here), whichever
comes first.
"""

import datetime
import hashlib
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError

from nlp.model import Atom, Concept, Criterion, TimeWindow, node_to_dict
from recruitment.matching.horizon import longest_for, version_stamp
from recruitment.models import Candidate, CandidateStatus, MatchHorizon, PatientProfile, TrialMatchStamp
from recruitment.selectors.matching import profile_ids_due, trial_ids_changed, trial_stamps
from recruitment.services import matching
from recruitment.services.consent import consent_withdraw
from recruitment.services.matching import match_upsert_all, match_upsert_for_patient, match_upsert_for_trial
from recruitment.services.outbox import rematch_request_record
from recruitment.tasks import rematch_everyone
from tests.factories import ArmFactory, TrialFactory, TrialSiteFactory, UserFactory
from tests.recruitment.conftest import TODAY
from tests.recruitment.consent_helpers import Purpose, sign
from tests.recruitment.factories import DiagnosisFactory, LabResultFactory
from tests.recruitment.test_match_services import EGFR_TRIAL, KRAS_TRIAL, live, trial_with
from trials.models import Arm, ConsentDocument, EligibilityCriterion, Trial, TrialSite

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personas_consent_to_matching")]

MAX_DAYS = 30


@pytest.fixture(autouse=True)
def thirty_days(settings):
    settings.REMATCH_HORIZON_MAX_DAYS = MAX_DAYS


def horizon_of(patient: PatientProfile) -> MatchHorizon:
    return MatchHorizon.objects.get(profile_id=patient.pk)


def safety_net(patient: PatientProfile) -> datetime.date:
    return TODAY + timedelta(days=longest_for(patient.pk, MAX_DAYS))


def has_horizon(patient: PatientProfile) -> bool:
    return MatchHorizon.objects.filter(profile_id=patient.pk).exists()


def cancer_diagnosed_within(months: int) -> Trial:
    """A trial for cancers diagnosed in the last `months` (Elena's, from March 2026, leaves a 9-month one on
    10 December 2026)."""
    trial = TrialFactory.create()
    cancer = Atom(
        "condition",
        f"cancer diagnosed in the last {months} months",
        (0, 10),
        "hand_built",
        1.0,
        mapped=True,
        concept=Concept("diagnosis", "cancer", "cancer"),
        window=TimeWindow(months, "months", "within"),
    )
    EligibilityCriterion.objects.create(
        trial=trial,
        position=0,
        section="inclusion",
        text=cancer.text,
        text_key=hashlib.sha256(cancer.text.encode()).hexdigest(),
        span_start=0,
        span_end=10,
        parsed_tree=node_to_dict(cancer),
        parser_version="test",
        dictionary_version="test",
    )
    return trial


def on(monkeypatch: pytest.MonkeyPatch, day: datetime.date) -> None:
    monkeypatch.setattr("recruitment.tasks.timezone.localdate", lambda: day)


def test_a_patient_rematch_stores_the_date_her_results_can_next_change(criteria, elena):
    trial_with(criteria, EGFR_TRIAL)
    match_upsert_for_patient(patient=elena, today=TODAY)
    stored = horizon_of(elena)
    assert (stored.matched_on, stored.valid_until, stored.version) == (
        TODAY,
        safety_net(elena),  # no window anywhere, and her birthday is in April
        version_stamp(),
    )


def test_a_window_in_any_open_trial_brings_the_horizon_forward(criteria, elena):
    trial_with(criteria, EGFR_TRIAL)
    cancer_diagnosed_within(9)
    match_upsert_for_patient(patient=elena, today=TODAY)
    # 2026-03-10 + round(9 * 30.4375) = 274 days: in the window up to 9 December, out of it on the 10th.
    assert horizon_of(elena).valid_until == datetime.date(2026, 12, 10)


def test_the_nightly_rematch_takes_only_the_patients_due(criteria, elena, hana, pedro, monkeypatch):
    trial_with(criteria, ("adult",), conditions=["Solid Tumor"])
    on(monkeypatch, TODAY)
    rematch_everyone.delay(due_only=False).get()
    assert {horizon_of(p).matched_on for p in (elena, hana, pedro)} == {TODAY}
    assert profile_ids_due(today=TODAY) == []
    MatchHorizon.objects.filter(profile_id=hana.pk).update(valid_until=TODAY + timedelta(days=1))
    tomorrow = TODAY + timedelta(days=1)
    on(monkeypatch, tomorrow)
    assert rematch_everyone.delay().get() == 1
    assert [horizon_of(p).matched_on for p in (elena, hana, pedro)] == [TODAY, tomorrow, TODAY]
    # Hana is not due again tomorrow: the re-match stored her new horizon.
    assert profile_ids_due(today=tomorrow) == []


def test_a_patient_never_matched_is_due(criteria, elena, hana):
    trial_with(criteria, EGFR_TRIAL)
    match_upsert_for_patient(patient=elena, today=TODAY)
    assert profile_ids_due(today=TODAY) == [hana.pk]


def test_the_safety_net_makes_everyone_due_after_the_longest_interval(criteria, elena, hana):
    trial_with(criteria, EGFR_TRIAL)
    match_upsert_all(today=TODAY)
    first, last = sorted([safety_net(elena), safety_net(hana)])
    assert profile_ids_due(today=first - timedelta(days=1)) == []
    assert profile_ids_due(today=last) == sorted([elena.pk, hana.pk])
    assert last <= TODAY + timedelta(days=MAX_DAYS)


def test_a_new_engine_or_terminology_version_makes_everyone_due(criteria, elena, hana, monkeypatch):
    trial_with(criteria, EGFR_TRIAL)
    match_upsert_all(today=TODAY)
    assert profile_ids_due(today=TODAY) == []
    monkeypatch.setattr("recruitment.selectors.matching.version_stamp", lambda: "engine next")
    assert profile_ids_due(today=TODAY) == sorted([elena.pk, hana.pk])


def test_a_trial_rematch_lowers_the_horizon_of_the_patients_it_evaluates(criteria, elena, hana):
    trial_with(criteria, EGFR_TRIAL)
    match_upsert_all(today=TODAY)
    assert horizon_of(elena).valid_until == safety_net(elena)
    # A new trial with a window: only its own re-match runs, and Elena's matches may change on 10 December.
    match_upsert_for_trial(trial=cancer_diagnosed_within(9), today=TODAY)
    assert horizon_of(elena).valid_until == datetime.date(2026, 12, 10)
    assert horizon_of(elena).trial_passes == 1
    # A later trial re-match with a later horizon never raises it.
    match_upsert_for_trial(trial=cancer_diagnosed_within(10), today=TODAY)
    assert horizon_of(elena).valid_until == datetime.date(2026, 12, 10)
    assert profile_ids_due(today=datetime.date(2026, 12, 10)) == [elena.pk]


def test_a_trial_rematch_gives_a_patient_never_matched_a_due_row(criteria, elena):
    match_upsert_for_trial(trial=trial_with(criteria, EGFR_TRIAL), today=TODAY)
    stored = horizon_of(elena)
    assert (stored.matched_on, stored.version, stored.trial_passes) == (None, "", 1)
    assert profile_ids_due(today=TODAY) == [elena.pk]


def test_a_full_rematch_that_read_the_trials_before_a_trial_rematch_leaves_the_patient_due_tomorrow(
    criteria, elena, monkeypatch
):
    # The nightly run reads the trials; a trial is added and re-matched; then the run reaches Elena, with
    # the registry it read before. Her matches may miss the new trial: she must not wait for her horizon.
    trial_with(criteria, EGFR_TRIAL)
    match_upsert_all(today=TODAY)
    read = matching.trials_for_matching

    def read_then_a_trial_rematch(**kwargs):
        found = read(**kwargs)
        if not kwargs:
            match_upsert_for_trial(trial=cancer_diagnosed_within(12), today=TODAY)
        return found

    monkeypatch.setattr(matching, "trials_for_matching", read_then_a_trial_rematch)
    match_upsert_all(today=TODAY)
    assert horizon_of(elena).valid_until == TODAY
    assert profile_ids_due(today=TODAY + timedelta(days=1)) == [elena.pk]


def test_a_profile_change_rematches_the_patient_and_resets_her_horizon(
    criteria, elena, django_capture_on_commit_callbacks
):
    trial_with(criteria, EGFR_TRIAL)
    match_upsert_for_patient(patient=elena, today=TODAY)
    MatchHorizon.objects.filter(profile_id=elena.pk).update(
        valid_until=datetime.date(2099, 1, 1), version="old"
    )
    with django_capture_on_commit_callbacks(execute=True):
        LabResultFactory(patient=elena, analyte="platelet count", value=250, unit="10^9/L")
    stored = horizon_of(elena)
    assert stored.version == version_stamp()
    assert stored.matched_on is not None
    assert stored.matched_on < stored.valid_until <= stored.matched_on + timedelta(days=MAX_DAYS)


def test_a_patient_without_matching_consent_is_never_due(criteria, elena, hana):
    unconsented = PatientProfile.objects.get(pk=hana.pk)
    unconsented.pk = None
    unconsented.user = UserFactory.create(email="no-consent@example.org")
    unconsented.save()
    DiagnosisFactory.create(patient=unconsented, code="breast_cancer")
    trial_with(criteria, ("solid_tumour",), conditions=["Solid Tumor"])
    match_upsert_all(today=TODAY)
    assert not has_horizon(unconsented)
    assert profile_ids_due(today=TODAY + timedelta(days=MAX_DAYS)) == sorted([elena.pk, hana.pk])


def test_withdrawing_consent_drops_the_horizon_and_consenting_again_makes_her_due(criteria, elena):
    trial_with(criteria, EGFR_TRIAL)
    match_upsert_for_patient(patient=elena, today=TODAY)
    consent_withdraw(patient=elena, purposes=[Purpose.MATCHING])  # it queues no re-match
    assert not has_horizon(elena)
    assert profile_ids_due(today=TODAY) == []
    sign(elena, ConsentDocument.objects.get(purpose=Purpose.MATCHING))
    assert profile_ids_due(today=TODAY) == [elena.pk]


def test_the_rematch_command_takes_everyone_unless_told_due_only(criteria, elena, pedro, capsys, monkeypatch):
    trial_with(criteria, EGFR_TRIAL)
    match_upsert_all(today=TODAY)
    monkeypatch.setattr("recruitment.management.commands.rematch.timezone.localdate", lambda: TODAY)
    call_command("rematch", "--no-progress", "--due-only")
    assert "Re-matched 0 patients" in capsys.readouterr().out
    call_command("rematch", "--no-progress")
    assert "Re-matched 2 patients" in capsys.readouterr().out


def test_a_patient_owed_a_rematch_the_broker_did_not_take_is_due(criteria, elena, hana):
    trial_with(criteria, EGFR_TRIAL)
    match_upsert_all(today=TODAY)
    rematch_request_record(profile_id=hana.pk)  # her profile was saved while the broker was down
    assert profile_ids_due(today=TODAY) == [hana.pk]


def egfr_cohort_of_one(criteria: dict[str, Criterion]) -> Arm:
    """An adults' trial at one site whose one cohort, EGFR exon 19 deletions, takes a single patient."""
    trial = trial_with(criteria, ("adult",))
    stratum = node_to_dict(criteria["egfr_ex19"].tree)
    TrialSiteFactory.create(trial=trial)
    return ArmFactory.create(trial=trial, label="EGFR ex19", biomarker_definition=stratum, cap=1)


def enrol(patient: PatientProfile, arm: Arm) -> None:
    """Enrol the patient in the cohort at the trial's site (no re-match follows: the test says which)."""
    site = TrialSite.objects.get(trial=arm.trial).site
    Candidate.objects.create(
        patient=patient,
        trial=arm.trial,
        site=site,
        arm=arm,
        status=CandidateStatus.ENROLLED,
        subject_code="S-0001",
    )


def test_a_cohort_filled_by_enrolments_is_rematched_on_the_next_night(criteria, elena, hana, monkeypatch):
    arm = egfr_cohort_of_one(criteria)
    on(monkeypatch, TODAY)
    rematch_everyone.delay(due_only=False).get()
    assert [m.arm for m in live(elena)] == [arm]
    enrol(hana, arm)
    tomorrow = TODAY + timedelta(days=1)
    on(monkeypatch, tomorrow)
    assert profile_ids_due(today=tomorrow) == []  # nobody is due by date: the trial's own re-match retires it
    rematch_everyone.delay().get()
    assert live(elena) == []


def test_a_trial_suspended_in_the_admin_is_rematched_on_the_next_night(criteria, elena, monkeypatch):
    trial = trial_with(criteria, EGFR_TRIAL)
    on(monkeypatch, TODAY)
    rematch_everyone.delay(due_only=False).get()
    assert len(live(elena)) == 1
    trial.overall_status = Trial.Status.SUSPENDED
    trial.save(update_fields=["overall_status"])  # a plain save queues no re-match
    on(monkeypatch, TODAY + timedelta(days=1))
    rematch_everyone.delay().get()
    assert live(elena) == []


def test_the_first_nightly_run_records_the_trials_and_an_unchanged_registry_rematches_no_trial(
    criteria, elena, monkeypatch
):
    trial_with(criteria, EGFR_TRIAL)
    assert trial_ids_changed(stamps=trial_stamps()) == []  # nothing stored yet: everyone is due anyway
    on(monkeypatch, TODAY)
    rematch_everyone.delay().get()
    assert TrialMatchStamp.objects.count() == 1
    assert trial_ids_changed(stamps=trial_stamps()) == []


def test_a_trial_rematched_in_the_day_after_a_change_is_not_rematched_again_at_night(
    criteria, elena, hana, monkeypatch
):
    arm = egfr_cohort_of_one(criteria)
    on(monkeypatch, TODAY)
    rematch_everyone.delay(due_only=False).get()
    enrol(hana, arm)
    match_upsert_for_trial(trial=arm.trial, today=TODAY)  # the enrolment's own re-match of the trial
    assert live(elena) == []
    assert trial_ids_changed(stamps=trial_stamps()) == []


def test_a_nightly_trial_rematch_that_never_completed_is_sent_again_the_next_night(
    criteria, elena, monkeypatch
):
    trial = trial_with(criteria, EGFR_TRIAL)
    on(monkeypatch, TODAY)
    rematch_everyone.delay(due_only=False).get()
    trial.overall_status = Trial.Status.SUSPENDED
    trial.save(update_fields=["overall_status"])  # a plain save queues no re-match
    with monkeypatch.context() as lost:
        lost.setattr("recruitment.tasks.match_upsert_for_trial", lambda **kwargs: [])  # its retries used up
        on(monkeypatch, TODAY + timedelta(days=1))
        rematch_everyone.delay().get()
    assert len(live(elena)) == 1
    assert trial_ids_changed(stamps=trial_stamps()) == [trial.pk]
    on(monkeypatch, TODAY + timedelta(days=2))
    rematch_everyone.delay().get()
    assert live(elena) == []
    assert trial_ids_changed(stamps=trial_stamps()) == []


def test_a_trial_closed_with_no_live_match_loses_its_stamp_on_the_next_night(
    criteria, elena, hana, monkeypatch
):
    kept, closed = trial_with(criteria, EGFR_TRIAL), trial_with(criteria, KRAS_TRIAL)
    on(monkeypatch, TODAY)
    rematch_everyone.delay(due_only=False).get()
    assert set(TrialMatchStamp.objects.values_list("trial_id", flat=True)) == {kept.pk, closed.pk}
    assert not [m for p in (elena, hana) for m in live(p) if m.trial_id == closed.pk]
    Trial.objects.filter(pk=closed.pk).update(overall_status=Trial.Status.COMPLETED)
    on(monkeypatch, TODAY + timedelta(days=1))
    rematch_everyone.delay().get()
    assert list(TrialMatchStamp.objects.values_list("trial_id", flat=True)) == [kept.pk]


def a_rematch_that_fails_for(patient: PatientProfile, monkeypatch: pytest.MonkeyPatch) -> None:
    real = matching.match_upsert_for_patient

    def failing(**kwargs):
        if kwargs["patient"].pk == patient.pk:
            raise ValueError("a fact the engine cannot read")
        return real(**kwargs)

    monkeypatch.setattr(matching, "match_upsert_for_patient", failing)


def test_one_patient_whose_rematch_fails_does_not_hold_back_the_others(
    criteria, elena, hana, monkeypatch, caplog
):
    trial_with(criteria, EGFR_TRIAL)
    a_rematch_that_fails_for(hana, monkeypatch)
    summary = match_upsert_all(today=TODAY, chunk_size=10)
    assert summary.failed == [hana.pk]
    assert summary.patients == 2
    assert len(live(elena)) == 1  # matched although Hana, in her chunk, failed
    assert has_horizon(elena)
    assert not has_horizon(hana)
    assert profile_ids_due(today=TODAY) == [hana.pk]  # she is tried again on the next run
    assert f"re-match of patient profile {hana.pk} failed" in caplog.text


def test_a_database_error_during_a_rematch_fails_the_whole_chunk_for_a_retry(
    criteria, elena, hana, monkeypatch
):
    trial_with(criteria, EGFR_TRIAL)

    def database_down(**kwargs):
        raise OperationalError("server closed the connection")

    monkeypatch.setattr(matching, "match_upsert_for_patient", database_down)
    with pytest.raises(OperationalError):
        match_upsert_all(today=TODAY)


def test_the_rematch_command_names_the_patients_whose_rematch_failed(criteria, elena, hana, monkeypatch):
    trial_with(criteria, EGFR_TRIAL)
    a_rematch_that_fails_for(hana, monkeypatch)
    monkeypatch.setattr("recruitment.management.commands.rematch.timezone.localdate", lambda: TODAY)
    with pytest.raises(CommandError, match=rf"1 patient profile\(s\) failed .*ids {hana.pk}\)"):
        call_command("rematch", "--no-progress")
    assert len(live(elena)) == 1
