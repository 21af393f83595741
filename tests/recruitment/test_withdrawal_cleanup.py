"""A consent withdrawal ends the patient's open candidacies even when site staff move one between the moment
the cleanup lists them and the moment it reaches it."""

from recruitment.models import Candidate, CandidateStatus, ReasonCode
from recruitment.services import workflow
from recruitment.services.consent import consent_withdraw
from tests.recruitment.workflow_helpers import candidate_for
from trials.models import ConsentDocument

S = CandidateStatus


def test_a_candidate_sam_moves_during_the_cleanup_is_still_withdrawn(
    nsclc_trial, boston_site, sam, monkeypatch, django_capture_on_commit_callbacks
):
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org", contact=True)
    transition = workflow.candidate_transition

    def sam_moves_it_first(**kwargs):
        # Sam pre-screens the candidate just after the cleanup listed it as "matched".
        Candidate.objects.filter(pk=kwargs["candidate_id"]).update(status=S.PRE_SCREENED)
        return transition(**kwargs)

    monkeypatch.setattr(workflow, "candidate_transition", sam_moves_it_first)
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(patient=candidate.patient, purposes=[ConsentDocument.Purpose.MATCHING])
    candidate.refresh_from_db()
    assert candidate.status == S.WITHDRAWN
    assert candidate.events.last().reason == ReasonCode.CONSENT_WITHDRAWN  # type: ignore[union-attr]


def test_a_candidacy_that_ended_meanwhile_is_left_as_it_ended(
    nsclc_trial, boston_site, sam, monkeypatch, django_capture_on_commit_callbacks
):
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org", contact=True)
    transition = workflow.candidate_transition

    def sam_ends_it_first(**kwargs):
        Candidate.objects.filter(pk=kwargs["candidate_id"]).update(status=S.DECLINED)
        return transition(**kwargs)

    monkeypatch.setattr(workflow, "candidate_transition", sam_ends_it_first)
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(patient=candidate.patient, purposes=[ConsentDocument.Purpose.MATCHING])
    candidate.refresh_from_db()
    assert candidate.status == S.DECLINED
