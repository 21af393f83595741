"""The compiled trials a patient re-match reuses: an unchanged trial is compiled once per process, and every
change to a trial's criteria or arms is seen by the next re-match, whether this process or another made it.

Elena has signed the matching consent.
"""

import gc
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from nlp.model import node_to_dict
from recruitment.models import MatchEvent
from recruitment.selectors import matching as selectors
from recruitment.selectors.matching import _CompiledCriteria, _CompiledCriteriaCache, trials_for_matching
from recruitment.services.matching import match_upsert_for_patient
from tests.factories import ArmFactory
from tests.recruitment.conftest import TODAY
from tests.recruitment.test_match_services import EGFR_TRIAL, live, trial_with
from trials.models import Arm, EligibilityCriterion, Trial
from trials.services import criterion_review

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personas_consent_to_matching")]

ECOG = 3  # position of the ECOG criterion in EGFR_TRIAL


def test_an_unchanged_trial_is_compiled_once_and_a_changed_one_again(criteria):
    trial = trial_with(criteria, EGFR_TRIAL)
    (first,) = trials_for_matching(trial_ids=[trial.pk])
    (again,) = trials_for_matching(trial_ids=[trial.pk])
    assert again.compiled is first.compiled
    EligibilityCriterion.objects.filter(trial=trial, position=ECOG).update(
        retired_at=timezone.now(), updated_at=timezone.now()
    )
    (changed,) = trials_for_matching(trial_ids=[trial.pk])
    assert changed.compiled is not first.compiled
    assert len(changed.criteria) == len(first.criteria) - 1


def test_a_curation_is_seen_by_the_next_rematch_in_the_same_process(
    criteria, elena, cora, django_capture_on_commit_callbacks
):
    trial = trial_with(criteria, EGFR_TRIAL)
    match_upsert_for_patient(patient=elena, today=TODAY)
    (match,) = live(elena)
    assert match.criteria[ECOG]["outcome"] == "satisfied"
    ecog = trial.criteria.get(position=ECOG)
    # The trial re-match the curation queues is left out: the patient's own re-match must see the change.
    with django_capture_on_commit_callbacks(execute=False):
        criterion_review(criterion_id=ecog.pk, actor=cora, action="unparseable", revision=ecog.revision)
    (event,) = match_upsert_for_patient(patient=elena, today=TODAY)
    assert event.kind == MatchEvent.Kind.UPDATED
    (match,) = live(elena)
    assert match.criteria[ECOG]["outcome"] == "not_checkable"


def test_a_curation_by_another_process_is_seen_by_the_next_rematch(criteria, elena):
    trial = trial_with(criteria, EGFR_TRIAL)
    match_upsert_for_patient(patient=elena, today=TODAY)
    # A queryset update sends no signal here, as a write by another process would not.
    EligibilityCriterion.objects.filter(trial=trial, position=ECOG).update(
        status=EligibilityCriterion.Status.UNPARSEABLE,
        revision=F("revision") + 1,
        updated_at=timezone.now() + timedelta(seconds=1),
    )
    match_upsert_for_patient(patient=elena, today=TODAY)
    (match,) = live(elena)
    assert match.criteria[ECOG]["outcome"] == "not_checkable"


def test_a_reparse_by_another_process_is_seen_whatever_its_clock(criteria, elena):
    trial = trial_with(criteria, EGFR_TRIAL)
    match_upsert_for_patient(patient=elena, today=TODAY)
    # The new reading (a KRAS G12C requirement Elena, with EGFR, does not meet) is saved with an older
    # `updated_at`, as by a process whose clock is behind: the trial's new parse key still tells.
    EligibilityCriterion.objects.filter(trial=trial, position=ECOG).update(
        parsed_tree=node_to_dict(criteria["kras_g12c_pdl1_50"].tree),
        updated_at=timezone.now() - timedelta(days=1),
    )
    Trial.objects.filter(pk=trial.pk).update(eligibility_parse_key="re-parsed")
    (event,) = match_upsert_for_patient(patient=elena, today=TODAY)
    assert event.kind == MatchEvent.Kind.RETIRED
    assert live(elena) == []


def test_an_arm_change_is_seen_by_the_next_rematch(criteria, elena):
    trial = trial_with(criteria, ("adult",))
    stratum = node_to_dict(criteria["egfr_ex19"].tree)
    arm = ArmFactory.create(trial=trial, label="EGFR ex19", biomarker_definition=stratum)
    match_upsert_for_patient(patient=elena, today=TODAY)
    assert [m.arm for m in live(elena)] == [arm]
    Arm.objects.filter(pk=arm.pk).update(is_suspended=True)
    (event,) = match_upsert_for_patient(patient=elena, today=TODAY)
    assert (event.kind, event.detail) == (
        MatchEvent.Kind.RETIRED,
        {"reason": "all cohorts full or suspended"},
    )


def test_the_cache_keeps_only_the_most_recently_used_trials(criteria):
    (compiled,) = (t.compiled for t in trials_for_matching(trial_ids=[trial_with(criteria, ("adult",)).pk]))
    cache = _CompiledCriteriaCache(size=2)
    for trial_id in (1, 2, 3):
        cache.put(trial_id, _CompiledCriteria(("v",), compiled))
    assert cache.get(2, ("v",)) is not None
    cache.put(4, _CompiledCriteria(("v",), compiled))
    assert [cache.get(i, ("v",)) is not None for i in (1, 2, 3, 4)] == [False, True, False, True]
    assert cache.get(2, ("other version",)) is None


def test_compiling_many_trials_at_once_takes_them_out_of_the_cyclic_collectors_scans(criteria, monkeypatch):
    freezes: list[None] = []
    monkeypatch.setattr(selectors, "FREEZE_AFTER", 2)
    monkeypatch.setattr(selectors.gc, "freeze", lambda: freezes.append(None))
    first, second = trial_with(criteria, EGFR_TRIAL), trial_with(criteria, ("adult",))
    trials_for_matching(trial_ids=[first.pk])
    assert freezes == []
    trials_for_matching(trial_ids=[first.pk, second.pk])
    assert freezes == []  # one compiled, one from the cache
    selectors._compiled_criteria.clear()
    trials_for_matching(trial_ids=[first.pk, second.pk])
    assert freezes == [None]
    trials_for_matching(trial_ids=[first.pk, second.pk])
    assert freezes == [None]


def test_what_the_matcher_reads_of_trials_holds_no_reference_cycle_that_freezing_would_leak(criteria):
    trial = trial_with(criteria, EGFR_TRIAL)
    stratum = node_to_dict(criteria["egfr_ex19"].tree)
    ArmFactory.create(trial=trial, label="EGFR ex19", biomarker_definition=stratum)
    gc.collect()
    gc.disable()
    try:
        read = trials_for_matching(trial_ids=[trial.pk])
        del read
        selectors._compiled_criteria.clear()
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = {type(o).__name__ for o in gc.garbage} & {"Trial", "Arm", "CompiledTrial", "TrialToMatch"}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left == set()
