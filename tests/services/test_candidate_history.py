"""On PostgreSQL the database itself refuses to change or delete candidate history."""

import pytest
from django.db import DatabaseError, transaction

from recruitment.models import CandidateEvent
from tests.recruitment.workflow_helpers import candidate_for


@pytest.mark.django_db
def test_candidate_events_cannot_be_updated_or_deleted(real_services, nsclc_trial, boston_site, sam):
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org")
    event = candidate.events.get()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        CandidateEvent.objects.filter(pk=event.pk).update(note="rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        CandidateEvent.objects.filter(pk=event.pk).delete()
    assert CandidateEvent.objects.get(pk=event.pk).note == ""
