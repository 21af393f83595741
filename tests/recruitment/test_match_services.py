"""match_upsert_for_patient: candidates per open trial and stratum, idempotent re-runs, retirement, events.

Elena and Pedro have signed the matching consent: only consenting patients are matched.
"""

import datetime
import hashlib
import json
import os
import subprocess
import sys

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from nlp.model import Atom, Concept, Criterion, node_to_dict
from recruitment.matching import Overall
from recruitment.models import Match, MatchEvent, PatientProfile
from recruitment.services.matching import match_digest, match_upsert_for_patient
from tests.factories import ArmFactory, TrialFactory
from tests.recruitment.conftest import TODAY
from trials.models import EligibilityCriterion, Trial
from trials.services import trial_parse_eligibility

EGFR_TRIAL = ("adult", "stage_iv_nsclc", "egfr_ex19", "ecog_0_1", "consent", "brain_metastases")
KRAS_TRIAL = ("adult", "ecog_0_1", "kras_g12c_pdl1_50", "pregnant_or_breastfeeding", "consent")

pytestmark = pytest.mark.usefixtures("personas_consent_to_matching")


def trial_with(criteria: dict[str, Criterion], ids: tuple[str, ...], **fields) -> Trial:
    trial = TrialFactory.create(**fields)
    for position, criterion_id in enumerate(ids):
        criterion = criteria[criterion_id]
        EligibilityCriterion.objects.create(
            trial=trial,
            position=position,
            section=criterion.section,
            text=criterion.text,
            text_key=hashlib.sha256(criterion.text.encode()).hexdigest(),
            span_start=criterion.span[0],
            span_end=criterion.span[1],
            parsed_tree=node_to_dict(criterion.tree),
            parser_version="test",
            dictionary_version="test",
        )
    return trial


def live(patient: PatientProfile) -> list[Match]:
    return list(Match.objects.filter(patient=patient, retired_at__isnull=True).order_by("trial__nct_id"))


@pytest.mark.django_db
class TestMatchUpsert:
    def test_elena_gets_an_eligible_match_with_per_criterion_evidence(self, criteria, elena):
        trial = trial_with(criteria, EGFR_TRIAL)
        events = match_upsert_for_patient(patient=elena, today=TODAY)
        (match,) = live(elena)
        assert (match.trial, match.arm, match.verdict, match.score) == (trial, None, "eligible", 1.0)
        assert [c["outcome"] for c in match.criteria] == [
            "satisfied",
            "satisfied",
            "satisfied",
            "satisfied",
            "not_checkable",
            "satisfied",
            "satisfied",  # the trial's registered condition (the factory's NSCLC)
        ]
        assert match.criteria[2]["atoms"][0]["evidence"][0]["text"].startswith(
            "EGFR exon 19 deletion positive"
        )
        assert [e.kind for e in events] == [MatchEvent.Kind.CREATED]

    def test_pedro_possible_match_stores_what_would_settle_it(self, criteria, pedro):
        trial_with(criteria, KRAS_TRIAL)
        match_upsert_for_patient(patient=pedro, today=TODAY)
        (match,) = live(pedro)
        assert match.verdict == "possibly_eligible"
        assert {"kind": "test", "text": "PD-L1 TPS not on file"} in match.to_settle

    def test_ineligible_and_closed_trials_produce_no_match(self, criteria, elena, pedro):
        trial_with(criteria, KRAS_TRIAL)
        trial_with(criteria, EGFR_TRIAL, overall_status=Trial.Status.COMPLETED)
        assert match_upsert_for_patient(patient=elena, today=TODAY) == []
        assert live(elena) == []

    def test_a_rerun_with_nothing_changed_changes_nothing(self, criteria, elena):
        trial_with(criteria, EGFR_TRIAL)
        match_upsert_for_patient(patient=elena, today=TODAY)
        before = Match.objects.get()
        assert match_upsert_for_patient(patient=elena, today=TODAY) == []
        after = Match.objects.get()
        assert (after.pk, after.evaluated_at) == (before.pk, before.evaluated_at)

    def test_a_profile_change_updates_the_match_and_records_what_changed(self, criteria, elena):
        trial_with(criteria, EGFR_TRIAL)
        match_upsert_for_patient(patient=elena, today=TODAY)
        elena.history_confirmed_on = None
        elena.save(update_fields=["history_confirmed_on"])
        (event,) = match_upsert_for_patient(patient=elena, today=TODAY)
        assert event.kind == MatchEvent.Kind.UPDATED
        assert event.detail["previous"] == {"verdict": "eligible", "score": 1.0}
        assert live(elena)[0].verdict == "possibly_eligible"

    def test_a_match_no_longer_produced_is_retired_not_deleted(self, criteria, elena):
        trial_with(criteria, EGFR_TRIAL)
        match_upsert_for_patient(patient=elena, today=TODAY)
        elena.ecog = 3
        elena.save(update_fields=["ecog"])
        (event,) = match_upsert_for_patient(patient=elena, today=TODAY)
        assert event.kind == MatchEvent.Kind.RETIRED
        assert event.detail == {
            "reason": "ineligible: inclusion criterion "
            "'Eastern Cooperative Oncology Group (ECOG) performance status: 0 or 1'"
        }
        assert live(elena) == []
        assert Match.objects.get().retired_at is not None

    def test_patient_is_matched_to_each_stratum_she_fits_or_may_fit_while_it_has_room(self, criteria, elena):
        trial = trial_with(criteria, ("adult", "ecog_0_1"))
        definitions = {i: node_to_dict(criteria[i].tree) for i in ("egfr_ex19", "her2_ihc_1", "no_driver")}
        ex19 = ArmFactory.create(
            trial=trial, label="EGFR ex19", biomarker_definition=definitions["egfr_ex19"], cap=5
        )
        her2 = ArmFactory.create(
            trial=trial, label="HER2 IHC 1+", biomarker_definition=definitions["her2_ihc_1"]
        )
        ArmFactory.create(trial=trial, label="Driver-negative", biomarker_definition=definitions["no_driver"])
        match_upsert_for_patient(patient=elena, today=TODAY)
        assert sorted((m.arm.label, m.cohort["truth"]) for m in live(elena) if m.arm) == [
            ("EGFR ex19", "met"),
            ("HER2 IHC 1+", "unknown"),
        ]

        (event,) = match_upsert_for_patient(patient=elena, today=TODAY, enrolled={ex19.pk: 5})
        assert (event.kind, event.match.arm, event.detail) == (
            MatchEvent.Kind.RETIRED,
            ex19,
            {"reason": "cohort no longer assignable"},
        )
        assert [m.arm for m in live(elena)] == [her2]

    def test_a_criterion_a_curator_marked_unparseable_is_left_to_the_site(self, criteria, elena):
        trial = trial_with(criteria, EGFR_TRIAL)
        trial.criteria.filter(position=0).update(status=EligibilityCriterion.Status.UNPARSEABLE)
        match_upsert_for_patient(patient=elena, today=TODAY)
        (match,) = live(elena)
        assert (match.verdict, match.criteria[0]["outcome"]) == ("eligible", "not_checkable")

    def test_closing_a_trial_retires_its_matches(self, criteria, elena):
        trial = trial_with(criteria, EGFR_TRIAL)
        match_upsert_for_patient(patient=elena, today=TODAY)
        trial.overall_status = Trial.Status.ACTIVE_NOT_RECRUITING
        trial.save(update_fields=["overall_status"])
        (event,) = match_upsert_for_patient(patient=elena, today=TODAY)
        assert (event.kind, event.detail) == (MatchEvent.Kind.RETIRED, {"reason": "trial not recruiting"})

    def test_suspended_strata_take_no_new_candidates(self, criteria, elena):
        trial = trial_with(criteria, ("adult",))
        definition = node_to_dict(criteria["egfr_ex19"].tree)
        ArmFactory.create(trial=trial, label="EGFR ex19", biomarker_definition=definition, is_suspended=True)
        assert match_upsert_for_patient(patient=elena, today=TODAY) == []


AGED_59 = Criterion(
    "inclusion",
    "Age 59 years or older",
    (0, 21),
    Atom(
        "demographic",
        "Age 59 years or older",
        (0, 21),
        "hand_built",
        1.0,
        mapped=True,
        concept=Concept("demographic", "age", "age"),
        comparator=">=",
        value=59.0,
    ),
)


def age_evidence(match: Match) -> list[str]:
    return [
        evidence["text"]
        for criterion in match.criteria
        for atom in criterion["atoms"]
        for evidence in atom["evidence"]
        if evidence["text"].startswith("aged ")
    ]


@pytest.mark.django_db
class TestNightlyRematchAndAge:
    """Elena was born on 2 April 1968: 58 on the evaluation date, 59 from 2 April 2027."""

    def test_the_explanation_states_elenas_age_without_the_evaluation_date(self, criteria, elena):
        trial_with(criteria, EGFR_TRIAL)
        match_upsert_for_patient(patient=elena, today=TODAY)
        assert age_evidence(live(elena)[0]) == ["aged 58"]

    def test_the_next_nights_rematch_rewrites_nothing_when_nothing_but_the_date_moved(self, criteria, elena):
        trial_with(criteria, EGFR_TRIAL)
        match_upsert_for_patient(patient=elena, today=TODAY)
        before = Match.objects.get()
        assert match_upsert_for_patient(patient=elena, today=TODAY + datetime.timedelta(days=1)) == []
        assert Match.objects.get().evaluated_at == before.evaluated_at

    def test_elena_ages_into_a_trial_for_patients_aged_59_on_her_birthday(self, criteria, elena):
        trial_with({**criteria, "aged_59": AGED_59}, ("aged_59", "ecog_0_1"))
        assert match_upsert_for_patient(patient=elena, today=datetime.date(2027, 4, 1)) == []
        (event,) = match_upsert_for_patient(patient=elena, today=datetime.date(2027, 4, 2))
        assert event.kind == MatchEvent.Kind.CREATED
        assert age_evidence(live(elena)[0]) == ["aged 59"]

    def test_a_birthday_updates_the_stated_age_of_a_live_match(self, criteria, elena):
        trial_with(criteria, ("adult", "ecog_0_1"))
        match_upsert_for_patient(patient=elena, today=datetime.date(2027, 4, 1))
        (event,) = match_upsert_for_patient(patient=elena, today=datetime.date(2027, 4, 2))
        assert (event.kind, event.detail["changed"]) == (MatchEvent.Kind.UPDATED, ["criteria"])
        assert age_evidence(live(elena)[0]) == ["aged 59"]


@pytest.mark.django_db
class TestMatchDigest:
    """A re-match compares each live match's digest with the new one, and reads a stored explanation back
    only when they differ. Digests are of the explanation as the engine builds it: one read back from
    PostgreSQL's jsonb has its keys in another order, so the tests compare digests with digests."""

    def test_an_unchanged_rerun_neither_writes_nor_reads_the_stored_explanation(self, criteria, elena):
        trial_with(criteria, EGFR_TRIAL)
        match_upsert_for_patient(patient=elena, today=TODAY)
        with CaptureQueriesContext(connection) as queries:
            assert match_upsert_for_patient(patient=elena, today=TODAY) == []
        on_matches = [q["sql"] for q in queries if '"recruitment_match"' in q["sql"]]
        assert on_matches
        assert not [sql for sql in on_matches if not sql.startswith("SELECT")]
        assert not [sql for sql in on_matches if '"recruitment_match"."criteria"' in sql]

    def test_a_changed_verdict_updates_the_match_and_its_digest(self, criteria, elena):
        trial_with(criteria, EGFR_TRIAL)
        match_upsert_for_patient(patient=elena, today=TODAY)
        before = Match.objects.get()
        elena.history_confirmed_on = None
        elena.save(update_fields=["history_confirmed_on"])
        (event,) = match_upsert_for_patient(patient=elena, today=TODAY)
        after = Match.objects.get()
        assert (event.kind, after.verdict) == (MatchEvent.Kind.UPDATED, "possibly_eligible")
        assert event.detail["changed"][:2] == ["verdict", "score"]
        assert len(after.digest) == 32
        assert after.digest != before.digest
        assert match_upsert_for_patient(patient=elena, today=TODAY) == []

    def test_a_match_no_longer_produced_is_retired_and_stays_retired(self, criteria, elena):
        trial_with(criteria, EGFR_TRIAL)
        match_upsert_for_patient(patient=elena, today=TODAY)
        elena.ecog = 3
        elena.save(update_fields=["ecog"])
        (event,) = match_upsert_for_patient(patient=elena, today=TODAY)
        assert event.kind == MatchEvent.Kind.RETIRED
        assert match_upsert_for_patient(patient=elena, today=TODAY) == []
        assert Match.objects.get().retired_at is not None

    def test_a_match_stored_before_digests_gets_its_digest_and_nothing_else(self, criteria, elena):
        trial_with(criteria, EGFR_TRIAL)
        match_upsert_for_patient(patient=elena, today=TODAY)
        before = Match.objects.get()
        Match.objects.update(digest="")
        assert match_upsert_for_patient(patient=elena, today=TODAY) == []
        after = Match.objects.get()
        assert (after.digest, after.evaluated_at, after.criteria) == (
            before.digest,
            before.evaluated_at,
            before.criteria,
        )

    def test_a_match_stored_before_digests_that_changed_is_updated(self, criteria, elena):
        trial_with(criteria, EGFR_TRIAL)
        match_upsert_for_patient(patient=elena, today=TODAY)
        Match.objects.update(digest="")
        elena.history_confirmed_on = None
        elena.save(update_fields=["history_confirmed_on"])
        (event,) = match_upsert_for_patient(patient=elena, today=TODAY)
        assert (event.kind, event.detail["previous"]) == (
            MatchEvent.Kind.UPDATED,
            {"verdict": "eligible", "score": 1.0},
        )
        assert len(Match.objects.get().digest) == 32
        assert match_upsert_for_patient(patient=elena, today=TODAY) == []

    def test_a_value_marshal_cannot_write_is_digested_as_sorted_json(self):
        values = {"verdict": Overall.ELIGIBLE, "score": 1.0, "criteria": [], "cohort": {}, "to_settle": []}
        reordered = {"to_settle": [], "cohort": {}, "criteria": [], "score": 1.0, "verdict": Overall.ELIGIBLE}
        assert match_digest(values) == match_digest(reordered)
        assert match_digest(values) != match_digest({**values, "verdict": Overall.INELIGIBLE})

    def test_the_digest_is_the_same_in_another_process(self, criteria, elena):
        trial_with(criteria, EGFR_TRIAL)
        match_upsert_for_patient(patient=elena, today=TODAY)
        match = Match.objects.get()
        fields = ("verdict", "score", "criteria", "cohort", "to_settle")
        values = {name: getattr(match, name) for name in fields}
        script = (
            "import json, sys, django; django.setup(); "
            "from recruitment.services.matching import match_digest; "
            "print(match_digest(json.load(sys.stdin)))"
        )
        env = {**os.environ, "PYTHONHASHSEED": "12345", "DJANGO_SETTINGS_MODULE": "config.settings"}
        elsewhere = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
            [sys.executable, "-c", script], input=json.dumps(values), env=env, capture_output=True, text=True
        )
        assert elsewhere.stdout.strip() == match_digest(values)


@pytest.mark.django_db
def test_registry_parse_then_match_end_to_end(elena, pedro):
    """A trial's real eligibility lines, parsed and stored by the registry, then matched."""
    trial = TrialFactory.create(
        eligibility_text=(
            "Inclusion Criteria:\n\n"
            "* EGFR exon 19 deletion\n"
            "* Eastern Cooperative Oncology Group (ECOG) performance status: 0 or 1\n\n"
            "Exclusion Criteria:\n\n"
            "* Pregnant or breastfeeding (Arm 1 only)\n"
        ),
        minimum_age_years=18,
        sex=Trial.Sex.ALL,
    )
    trial_parse_eligibility(trial_id=trial.pk)
    match_upsert_for_patient(patient=elena, today=TODAY)
    match_upsert_for_patient(patient=pedro, today=TODAY)
    (match,) = live(elena)
    assert (match.verdict, [c["outcome"] for c in match.criteria]) == (
        "eligible",
        # The last one is the trial's registered condition (the factory's NSCLC).
        ["satisfied", "satisfied", "satisfied", "satisfied", "satisfied"],
    )
    assert live(pedro) == []
