import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_health_reports_the_database_and_eager_mode_without_signing_in(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["mode"].startswith("eager")
    assert response["Cache-Control"].startswith("max-age=0")


def test_health_is_unavailable_when_the_configured_broker_does_not_answer(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    from config.celery import app

    app.conf.broker_url = settings.CELERY_BROKER_URL
    try:
        response = client.get(reverse("health"))
    finally:
        app.conf.broker_url = None
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
