"""Two coordinators move the same candidate at the same moment, on real PostgreSQL row locks."""

import threading

import pytest
from django.db import connection

from recruitment.models import CandidateEvent, CandidateStatus, ReasonCode
from recruitment.services.workflow import TransitionConflict, candidate_transition
from tests import factories
from tests.recruitment.workflow_helpers import candidate_for

S = CandidateStatus


@pytest.mark.django_db(transaction=True)
def test_concurrent_transitions_one_wins_the_other_gets_a_conflict(
    real_services, nsclc_trial, boston_site, sam
):
    kim = factories.SiteMembershipFactory.create(user__email="kim@example.org", site=boston_site).user
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org")
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def move(actor_email: str, to_status: str, reason: str) -> None:
        actor = sam if actor_email == sam.email else kim
        barrier.wait()
        try:
            candidate_transition(
                candidate_id=candidate.pk,
                to_status=to_status,
                actor=actor,
                reason=reason,
                expected_status=S.MATCHED,
            )
            outcomes[actor_email] = "won"
        except TransitionConflict as exc:
            outcomes[actor_email] = str(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=move, args=(sam.email, S.PRE_SCREENED, "")),
        threading.Thread(
            target=move, args=(kim.email, S.PRE_SCREEN_INELIGIBLE, ReasonCode.RECORDS_CONTRADICT_PROFILE)
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()).count("won") == 1
    winner = next(email for email, outcome in outcomes.items() if outcome == "won")
    (loser_message,) = [outcome for outcome in outcomes.values() if outcome != "won"]
    assert "already moved to" in loser_message
    assert f"by {winner}" in loser_message
    candidate.refresh_from_db()
    assert candidate.events.filter(kind=CandidateEvent.Kind.TRANSITION).count() == 1
