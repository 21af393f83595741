"""A patient who withdrew consent and later consents again is back in the queue of the site that had them,
in the same candidacy, when they still match; a candidacy a site ended stays ended.

Elena is the patient; Sam is staff at the Boston site recruiting for the NSCLC trial.
"""

import pytest
from django.utils import timezone

from recruitment.models import (
    Candidate,
    CandidateEvent,
    CandidateStatus,
    Match,
    PatientProfile,
    ReasonCode,
    SiteAlert,
)
from recruitment.notifications import site_alerts_create, site_alerts_mark_read
from recruitment.selectors.site import trials_with_take_up_owed, unread_alert_count
from recruitment.services.consent import consent_withdraw
from recruitment.services.workflow import TransitionError, candidate_transition, candidates_take_up_owed
from tests.recruitment.consent_helpers import sign
from tests.recruitment.workflow_helpers import candidate_for
from trials.models import ConsentDocument, Trial

S = CandidateStatus
Purpose = ConsentDocument.Purpose

pytestmark = pytest.mark.django_db


def _withdraws(profile: PatientProfile, capture) -> None:
    with capture(execute=True):
        consent_withdraw(patient=profile, purposes=[Purpose.MATCHING])


def _consents_again(profile: PatientProfile, capture) -> None:
    with capture(execute=True):
        sign(profile, {d.purpose: d for d in ConsentDocument.objects.all()}[Purpose.MATCHING])


def _withdraws_then_consents_again_and_is_rematched(profile: PatientProfile, trial: Trial, capture) -> Match:
    _withdraws(profile, capture)
    _consents_again(profile, capture)
    return _rematched_eligible(profile, trial, capture)


def _rematched_eligible(profile: PatientProfile, trial: Trial, capture, *, delivered: bool = True) -> Match:
    """What a re-match writes when she is eligible: her live match, replacing whatever the engine left; with
    `delivered` False, the work it queues after commit never reaches a worker."""
    with capture(execute=delivered):
        Match.objects.filter(patient=profile, trial=trial, retired_at__isnull=True).update(
            retired_at=timezone.now()
        )
        return Match.objects.create(
            patient=profile, trial=trial, verdict=Match.Verdict.ELIGIBLE, score=1.0, criteria=[]
        )


def test_elena_consents_again_and_is_back_in_sams_queue_in_the_same_candidacy(
    nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks
):
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org")

    live = _withdraws_then_consents_again_and_is_rematched(
        candidate.patient, nsclc_trial, django_capture_on_commit_callbacks
    )

    candidate.refresh_from_db()
    assert Candidate.objects.filter(patient=candidate.patient, trial=nsclc_trial).count() == 1
    assert (candidate.status, candidate.site, candidate.match) == (S.MATCHED, boston_site, live)
    moves = [
        (e.from_status, e.to_status, e.reason)
        for e in candidate.events.filter(kind=CandidateEvent.Kind.TRANSITION).exclude(
            from_status=S.MATCHED, to_status=S.MATCHED
        )
    ]
    assert moves == [
        (S.MATCHED, S.WITHDRAWN, ReasonCode.CONSENT_WITHDRAWN),
        (S.WITHDRAWN, S.MATCHED, ReasonCode.CONSENT_GIVEN_AGAIN),
    ]


def test_sam_is_alerted_again_when_elenas_candidacy_reopens(
    nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks
):
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org")
    site_alerts_create(candidate_ids=[candidate.pk])
    site_alerts_mark_read(user=sam)

    _withdraws_then_consents_again_and_is_rematched(
        candidate.patient, nsclc_trial, django_capture_on_commit_callbacks
    )

    candidate.refresh_from_db()
    assert candidate.status == S.MATCHED
    alert = SiteAlert.objects.get(user=sam, candidate=candidate)
    assert (alert.read_at, alert.digested_at) == (None, None)
    assert unread_alert_count(user=sam) == 1
    # A second delivery of the same alert task changes nothing.
    site_alerts_mark_read(user=sam)
    assert site_alerts_create(candidate_ids=[candidate.pk]) == 0
    assert unread_alert_count(user=sam) == 0


def test_a_candidacy_sam_ended_stays_ended_when_elena_consents_again(
    nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks
):
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org")
    candidate_transition(
        candidate_id=candidate.pk,
        to_status=S.PRE_SCREEN_INELIGIBLE,
        actor=sam,
        reason=ReasonCode.RECORDS_CONTRADICT_PROFILE,
    )

    _withdraws_then_consents_again_and_is_rematched(
        candidate.patient, nsclc_trial, django_capture_on_commit_callbacks
    )

    candidate.refresh_from_db()
    assert candidate.status == S.PRE_SCREEN_INELIGIBLE


def test_a_candidacy_sam_withdrew_for_his_own_reason_stays_withdrawn(
    nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks
):
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org")
    candidate_transition(
        candidate_id=candidate.pk, to_status=S.WITHDRAWN, actor=sam, reason=ReasonCode.INVESTIGATOR_DECISION
    )

    _withdraws_then_consents_again_and_is_rematched(
        candidate.patient, nsclc_trial, django_capture_on_commit_callbacks
    )

    candidate.refresh_from_db()
    assert candidate.status == S.WITHDRAWN
    with pytest.raises(TransitionError, match="Only a candidacy that ended because the patient withdrew"):
        candidate_transition(
            candidate_id=candidate.pk, to_status=S.MATCHED, actor=None, reason=ReasonCode.CONSENT_GIVEN_AGAIN
        )


def test_sam_cannot_reopen_a_withdrawn_candidacy_himself(
    nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks
):
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org")
    _withdraws(candidate.patient, django_capture_on_commit_callbacks)

    with pytest.raises(TransitionError, match="Your role may not make this change"):
        candidate_transition(
            candidate_id=candidate.pk, to_status=S.MATCHED, actor=sam, reason=ReasonCode.CONSENT_GIVEN_AGAIN
        )


def test_elena_still_without_matching_consent_stays_withdrawn(
    nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks
):
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org")
    _withdraws(candidate.patient, django_capture_on_commit_callbacks)
    _rematched_eligible(candidate.patient, nsclc_trial, django_capture_on_commit_callbacks)

    candidate.refresh_from_db()
    assert candidate.status == S.WITHDRAWN


def test_a_reopening_the_broker_never_delivered_is_done_by_the_periodic_sweep(
    nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks
):
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org")
    _withdraws(candidate.patient, django_capture_on_commit_callbacks)
    _consents_again(candidate.patient, django_capture_on_commit_callbacks)
    # Her re-match commits, but the take-up it queues never reaches a worker.
    _rematched_eligible(candidate.patient, nsclc_trial, django_capture_on_commit_callbacks, delivered=False)
    assert trials_with_take_up_owed() == [nsclc_trial.pk]

    candidates_take_up_owed()

    candidate.refresh_from_db()
    assert candidate.status == S.MATCHED
    assert trials_with_take_up_owed() == []


def test_a_candidacy_sam_withdrew_because_elena_told_him_she_withdrew_stays_withdrawn(
    nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks
):
    # Elena tells Sam on the phone that she withdraws; she never withdrew anything in the portal, so she still
    # consents to matching and still matches. Only her own withdrawal in the portal reopens on re-consent.
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org")
    candidate_transition(
        candidate_id=candidate.pk, to_status=S.WITHDRAWN, actor=sam, reason=ReasonCode.CONSENT_WITHDRAWN
    )

    _rematched_eligible(candidate.patient, nsclc_trial, django_capture_on_commit_callbacks)
    candidates_take_up_owed()

    candidate.refresh_from_db()
    assert candidate.status == S.WITHDRAWN
    assert trials_with_take_up_owed() == []
    with pytest.raises(TransitionError, match="Only a candidacy that ended because the patient withdrew"):
        candidate_transition(
            candidate_id=candidate.pk, to_status=S.MATCHED, actor=None, reason=ReasonCode.CONSENT_GIVEN_AGAIN
        )


@pytest.mark.parametrize("purpose", [Purpose.CONTACT, Purpose.SHARE])
def test_a_candidacy_elenas_contact_or_sharing_withdrawal_ended_stays_ended_while_she_never_consented_again(
    nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks, purpose
):
    # She withdraws being contacted (or sharing with this trial), not matching: her matching consent stands as
    # it was, so nothing was "given again" and the sweep must not put her back in Sam's queue.
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org", contact=True)
    trial = nsclc_trial if purpose == Purpose.SHARE else None
    if trial is not None:
        sign(candidate.patient, ConsentDocument.objects.get(purpose=purpose), trial=trial)
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(patient=candidate.patient, purposes=[purpose], trial=trial)
    candidate.refresh_from_db()
    assert candidate.status == S.WITHDRAWN

    assert trials_with_take_up_owed() == []
    with django_capture_on_commit_callbacks(execute=True):
        candidates_take_up_owed()
    _rematched_eligible(candidate.patient, nsclc_trial, django_capture_on_commit_callbacks)

    candidate.refresh_from_db()
    assert candidate.status == S.WITHDRAWN


def test_elena_consenting_to_matching_again_reopens_what_her_contact_and_matching_withdrawal_ended(
    nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks
):
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org", contact=True)
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(patient=candidate.patient)  # everything at once, one click

    _consents_again(candidate.patient, django_capture_on_commit_callbacks)
    _rematched_eligible(candidate.patient, nsclc_trial, django_capture_on_commit_callbacks)

    candidate.refresh_from_db()
    assert candidate.status == S.MATCHED
