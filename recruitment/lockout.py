"""Sign-in lockout: django-axes' count per account and address, and a higher count per account from anywhere.

Axes (AXES_* in config/settings.py) locks an account at one address after AXES_FAILURE_LIMIT failures
within AXES_COOLOFF_TIME. Alone, that gives whoever spreads guesses over many addresses unlimited tries at an
account. This handler also counts an account's failures from all addresses in the same window: from
AXES_ACCOUNT_FAILURE_LIMIT on, the account is locked at every address it has never signed in from, until the
window holds fewer failures again. Addresses it signed in from before (axes' access log) keep only their own
count, so that someone failing on purpose from elsewhere cannot lock the owner out of their usual places.
"""

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


class AccountAndAddressLockout(AxesDatabaseHandler):
    """Axes' database handler with the per-account count above."""

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        # Axes locks when this reaches its failure limit (for the sign-in form, the code step and the backend
        # alike): a locked account is reported as at that limit.
        per_address: int = super().get_failures(request, credentials)
        if self._account_locked_here(request, credentials):
            return max(per_address, get_failure_limit(request, credentials))
        return per_address

    @staticmethod
    def _account_locked_here(request: HttpRequest, credentials: dict[str, Any] | None) -> bool:
        username = get_client_username(request, credentials)
        if not username:
            return False
        since = get_cool_off_threshold(request)
        recent = AccessAttempt.objects.filter(username=username, attempt_time__gte=since)
        failures = recent.aggregate(total=Sum("failures_since_start"))["total"] or 0
        if failures < settings.AXES_ACCOUNT_FAILURE_LIMIT:
            return False
        address = getattr(request, "axes_ip_address", None)
        return not AccessLog.objects.filter(username=username, ip_address=address).exists()
