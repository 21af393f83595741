"""Reads for the health endpoint and the signed-in home page."""

from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection

from recruitment.models import (
    User,
)
from trials.models import Trial


def health_checks() -> dict[str, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = {"ok": True, "vendor": connection.vendor}
    except DatabaseError as exc:
        checks["database"] = {"ok": False, "error": exc.__class__.__name__}
    if settings.CELERY_BROKER_URL:
        checks["broker"] = _broker_check()
    else:
        checks["broker"] = {"ok": True, "mode": "eager (no broker configured)"}
    return checks


def _broker_check() -> dict[str, Any]:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "mode": "broker"}
    except Exception as exc:  # any transport failure means "not ready", whatever its class
        return {"ok": False, "mode": "broker", "error": exc.__class__.__name__}


def home_summary(*, user: User) -> dict[str, Any]:
    open_trials = Trial.objects.filter(overall_status__in=Trial.OPEN_STATUSES)
    return {
        "open_trial_count": open_trials.count(),
        "site_memberships": list(user.site_memberships.select_related("site")),
        "sponsor_memberships": list(user.sponsor_memberships.select_related("sponsor")),
    }
