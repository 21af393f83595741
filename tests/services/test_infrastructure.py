"""The app talks to the real services it is configured with."""

import pytest
from django.db import connection
from django.urls import reverse


@pytest.mark.django_db
def test_health_is_ok_on_whichever_services_are_configured(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json()["checks"]["database"]["vendor"] == connection.vendor


@pytest.mark.django_db(transaction=True)
def test_health_reports_the_real_broker(client, real_services):
    body = client.get(reverse("health")).json()
    assert body["checks"]["broker"] == {"ok": True, "mode": "broker"}


def test_a_real_worker_answers_on_the_runs_own_queue(celery_worker):
    from config.celery import app

    replies = app.control.ping(destination=[celery_worker.name], timeout=5.0)
    assert replies
    assert next(iter(replies[0].values())) == {"ok": "pong"}
