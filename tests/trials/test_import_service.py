"""Writing imported records: one atomic trial per record, idempotent, curator fields left alone."""

import dataclasses
import json
from decimal import Decimal

import pytest
from django.db import IntegrityError

from recruitment.models import Candidate, CandidateStatus, Match
from tests.recruitment.factories import PatientProfileFactory
from trials.importers.common import TrialRecord, record_checksum
from trials.importers.oncology_jsonl import parse_trial
from trials.importers.sources import Document, parse_document
from trials.models import Arm, Site, Sponsor, Trial, TrialEvent, TrialSite
from trials.services import Outcome, RegistryCache, trial_import_record

pytestmark = pytest.mark.django_db


def _record(ctgov, name: str = "NCT00496028.xml") -> TrialRecord:
    path = ctgov / "legacy_xml" / name
    ((_, record),) = parse_document(Document(name=path.name, read=path.read_bytes))
    assert isinstance(record, TrialRecord)
    return record


def _changed(record: TrialRecord, **changes) -> TrialRecord:
    changed = dataclasses.replace(record, **changes)
    return dataclasses.replace(changed, checksum=record_checksum(changed))


def test_importing_a_record_creates_the_trial_with_arms_sites_and_an_event(ctgov):
    record = _record(ctgov)
    assert trial_import_record(record=record, source="a.xml") == Outcome.CREATED
    trial = Trial.objects.get(nct_id="NCT00496028")
    assert trial.brief_title == record.brief_title
    assert trial.sponsor is not None
    assert trial.sponsor.name == record.sponsor_name
    assert trial.source == Trial.Source.CTGOV_LEGACY_XML
    assert trial.arms.count() == 3
    assert trial.trial_sites.count() == 7
    (event,) = trial.events.all()
    assert event.kind == TrialEvent.Kind.IMPORTED
    assert event.detail["source"] == "a.xml"


def test_reimporting_an_unchanged_record_changes_nothing(ctgov, django_assert_max_num_queries):
    record = _record(ctgov)
    trial_import_record(record=record, source="a.xml")
    before = Trial.objects.values().get()
    with django_assert_max_num_queries(3):
        assert trial_import_record(record=record, source="a.xml") == Outcome.UNCHANGED
    assert Trial.objects.values().get() == before
    assert (Trial.objects.count(), Arm.objects.count(), TrialSite.objects.count()) == (1, 3, 7)
    assert TrialEvent.objects.count() == 1


def test_an_updated_record_changes_the_fields_and_logs_them(ctgov):
    record = _record(ctgov)
    trial_import_record(record=record, source="a.xml")
    newer = _changed(record, brief_title="A new title", enrollment=99, overall_status=Trial.Status.TERMINATED)
    assert trial_import_record(record=newer, source="b.xml") == Outcome.UPDATED
    trial = Trial.objects.get()
    assert (trial.brief_title, trial.enrollment, trial.overall_status) == ("A new title", 99, "TERMINATED")
    assert trial.source_checksum == newer.checksum
    event = trial.events.get(kind=TrialEvent.Kind.UPDATED)
    assert event.detail["changed"] == ["brief_title", "overall_status", "enrollment"]
    assert event.detail["source"] == "b.xml"
    assert Trial.objects.count() == 1


def test_curator_owned_arm_fields_survive_reimport(ctgov):
    record = _record(ctgov)
    trial_import_record(record=record, source="a.xml")
    arm = Arm.objects.get(label=record.arms[0].label)
    arm.biomarker_definition = {"atom": "EGFR exon 19 deletion"}
    arm.enrolment_target = 40
    arm.cap = 45
    arm.is_suspended = True
    arm.save()
    renamed = dataclasses.replace(record.arms[0], description="Described anew")
    trial_import_record(record=_changed(record, arms=(renamed, *record.arms[1:])), source="b.xml")
    arm.refresh_from_db()
    assert arm.description == "Described anew"
    assert arm.biomarker_definition == {"atom": "EGFR exon 19 deletion"}
    assert (arm.enrolment_target, arm.cap, arm.is_suspended) == (40, 45, True)


def test_arms_and_sites_the_registry_dropped_are_removed(ctgov):
    record = _record(ctgov)
    trial_import_record(record=record, source="a.xml")
    trial_import_record(record=_changed(record, arms=record.arms[:1], sites=record.sites[:2]), source="b.xml")
    trial = Trial.objects.get()
    assert list(trial.arms.values_list("label", flat=True)) == [record.arms[0].label]
    assert trial.trial_sites.count() == 2
    # The facilities stay: other trials may run there.
    assert Site.objects.count() == 7
    detail = trial.events.get(kind=TrialEvent.Kind.UPDATED).detail
    assert detail["changed"] == ["arms", "sites"]
    assert sorted(detail["arms"]["removed"]) == sorted(arm.label for arm in record.arms[1:])


def test_an_arm_the_registry_dropped_is_suspended_not_removed_while_patients_matched_or_enrolled_in_it(
    ctgov,
):
    record = _record(ctgov)
    record = _changed(record, arms=(*record.arms, dataclasses.replace(record.arms[0], label="Never used")))
    trial_import_record(record=record, source="a.xml")
    trial = Trial.objects.get()
    enrolled_in, matched_in, unused = (trial.arms.get(label=arm.label) for arm in record.arms[1:4])
    site = trial.trial_sites.earliest("id").site
    enrolled = Candidate.objects.create(
        patient=PatientProfileFactory.create(),
        trial=trial,
        site=site,
        arm=enrolled_in,
        status=CandidateStatus.ENROLLED,
        subject_code="S-ENROLLED",
    )
    match = Match.objects.create(
        patient=PatientProfileFactory.create(),
        trial=trial,
        arm=matched_in,
        verdict=Match.Verdict.ELIGIBLE,
        score=1.0,
        criteria=[],
    )

    trial_import_record(record=_changed(record, arms=record.arms[:1]), source="b.xml")

    kept = {arm.label: arm.is_suspended for arm in trial.arms.all()}
    assert kept == {record.arms[0].label: False, enrolled_in.label: True, matched_in.label: True}
    assert not Arm.objects.filter(pk=unused.pk).exists()
    enrolled.refresh_from_db()
    assert enrolled.arm == enrolled_in
    assert Match.objects.filter(pk=match.pk, arm=matched_in).exists()
    detail = trial.events.get(kind=TrialEvent.Kind.UPDATED).detail
    assert sorted(detail["arms"]["suspended"]) == sorted([enrolled_in.label, matched_in.label])
    assert unused.label in detail["arms"]["removed"]


def test_a_site_the_registry_dropped_is_withdrawn_not_removed_while_it_holds_candidacies(ctgov):
    record = _record(ctgov)
    trial_import_record(record=record, source="a.xml")
    trial = Trial.objects.get()
    boston, *others = (ts.site for ts in trial.trial_sites.order_by("id"))
    candidacy = Candidate.objects.create(
        patient=PatientProfileFactory.create(),
        trial=trial,
        site=boston,
        status=CandidateStatus.SCREENING,
        subject_code="S-SCREENING",
    )

    trial_import_record(record=_changed(record, sites=()), source="b.xml")

    (kept,) = trial.trial_sites.all()
    assert (kept.site, kept.status) == (boston, TrialSite.Status.WITHDRAWN)
    candidacy.refresh_from_db()
    assert candidacy.site == boston
    detail = trial.events.get(kind=TrialEvent.Kind.UPDATED).detail
    assert detail["sites"]["withdrawn"] == [boston.pk]
    assert sorted(detail["sites"]["removed"]) == sorted(site.pk for site in others)


def test_sites_and_sponsors_are_shared_between_trials(ctgov):
    record = _record(ctgov)
    twin = _changed(record, nct_id="NCT00496029")
    cache = RegistryCache()
    trial_import_record(record=record, source="a.xml", cache=cache)
    trial_import_record(record=twin, source="b.xml", cache=cache)
    assert Site.objects.count() == 7
    assert Sponsor.objects.count() == 1
    assert TrialSite.objects.count() == 14


def test_a_failure_mid_record_leaves_no_partial_trial(ctgov, monkeypatch):
    def broken_bulk_create(*args, **kwargs):
        raise IntegrityError("disk on fire")

    monkeypatch.setattr(TrialSite.objects, "bulk_create", broken_bulk_create)
    cache = RegistryCache()
    with pytest.raises(IntegrityError):
        trial_import_record(record=_record(ctgov), source="a.xml", cache=cache)
    assert (Trial.objects.count(), Arm.objects.count(), Site.objects.count(), TrialEvent.objects.count()) == (
        0,
        0,
        0,
        0,
    )
    # Nothing rolled back may linger in the run's cache either.
    assert cache.site_ids == {}
    assert cache.sponsor_ids == {}


def test_same_content_from_another_format_is_not_an_update(ctgov):
    record = _record(ctgov)
    trial_import_record(record=record, source="a.xml")
    reformatted = _changed(record, countries=("Somewhere",))
    assert trial_import_record(record=reformatted, source="b.json") == Outcome.UNCHANGED
    assert Trial.objects.get().source_checksum == reformatted.checksum
    assert TrialEvent.objects.count() == 1


def test_ages_are_stored_in_years(ctgov):
    trial_import_record(record=_record(ctgov, "NCT00493792.xml"), source="a.xml")
    trial = Trial.objects.get()
    assert trial.phase == Trial.Phase.NA
    assert trial.maximum_age_years == Decimal("85.00")


def test_a_flat_export_does_not_erase_what_a_richer_source_imported(ctgov):
    trial_import_record(record=_record(ctgov), source="a.xml")
    line = json.loads((ctgov / "oncology" / "trials.jsonl").read_text().splitlines()[0])
    flat = parse_trial({**line, "nct_id": "NCT00496028"}, source="trials.jsonl:1")
    assert trial_import_record(record=flat, source="trials.jsonl:1") == Outcome.UPDATED
    trial = Trial.objects.get()
    assert trial.brief_title == line["title"]
    assert trial.source == Trial.Source.ONCOLOGY_JSONL
    assert trial.official_title
    assert trial.keywords
    assert (trial.arms.count(), trial.trial_sites.count()) == (3, 7)


def test_a_record_with_new_eligibility_text_rematches_the_trial_once_on_its_new_criteria(
    ctgov, django_capture_on_commit_callbacks, monkeypatch
):
    from trials import services

    record = _record(ctgov)
    with django_capture_on_commit_callbacks(execute=True):
        trial_import_record(record=record, source="a.xml")
    rematched = []
    monkeypatch.setattr(services, "trial_changed", lambda *, trial_id: rematched.append(trial_id))
    newer = _changed(record, eligibility_text="Inclusion Criteria:\n- ECOG 0-1\n")

    with django_capture_on_commit_callbacks(execute=True):
        assert trial_import_record(record=newer, source="b.xml") == Outcome.UPDATED

    trial = Trial.objects.get()
    assert trial.criteria.filter(text__icontains="ECOG", retired_at__isnull=True).exists()
    # After the parse, on the new criteria; a re-match at the import as well would match the old ones first.
    assert rematched == [trial.pk]


def test_a_trial_closed_by_an_import_whose_parse_never_lands_stops_matching_its_patients_at_once(
    ctgov, django_capture_on_commit_callbacks, monkeypatch
):
    from trials import services

    recruiting = _changed(_record(ctgov), overall_status=Trial.Status.RECRUITING)
    trial_import_record(record=recruiting, source="a.xml", parse=False)
    trial = Trial.objects.get()
    nadia = PatientProfileFactory.create()
    match = Match.objects.create(
        patient=nadia, trial=trial, verdict=Match.Verdict.ELIGIBLE, score=1.0, criteria=[]
    )
    # The parse task queued for the new text fails for good (its retries used up): it never runs.
    monkeypatch.setattr(services, "_enqueue_parse", lambda trial_ids: None)
    closed = _changed(
        recruiting,
        overall_status=Trial.Status.TERMINATED,
        eligibility_text="Inclusion Criteria:\n- ECOG 0-1\n",
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert trial_import_record(record=closed, source="b.xml") == Outcome.UPDATED

    match.refresh_from_db()
    assert match.retired_at is not None


def _read_before_the_other_import_committed(monkeypatch, manager) -> None:
    """The first lookup through `manager` finds nothing, as it would in an import that looked just before
    another import creating the same rows committed; later lookups see them."""
    real_filter = manager.filter
    calls = []

    def stale_once(*args, **kwargs):
        calls.append(args or kwargs)
        return manager.none() if len(calls) == 1 else real_filter(*args, **kwargs)

    monkeypatch.setattr(manager, "filter", stale_once)


def test_two_imports_creating_the_same_sites_and_sponsor_at_once_both_succeed(ctgov, monkeypatch):
    record = _record(ctgov)
    twin = _changed(record, nct_id="NCT00496029")
    assert trial_import_record(record=record, source="a.xml") == Outcome.CREATED
    _read_before_the_other_import_committed(monkeypatch, Site.objects)
    _read_before_the_other_import_committed(monkeypatch, Sponsor.objects)

    assert trial_import_record(record=twin, source="b.xml", cache=RegistryCache()) == Outcome.CREATED

    assert (Site.objects.count(), Sponsor.objects.count(), TrialSite.objects.count()) == (7, 1, 14)
    assert set(Trial.objects.values_list("sponsor_id", flat=True)) == {Sponsor.objects.get().pk}
