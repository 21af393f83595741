"""Request-rate limits for the API: one budget per signed-in user, one per client address for anonymous calls.

DRF's own rate throttles read their rates once, when the class is defined; these read
`REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]` on every request, so an operator's setting (and a test's override)
always applies. Counts live in the default cache: per process with the embedded local-memory cache, shared by
every web process once `CACHE_URL` points at Redis (config/settings.py).
"""

import copy
from typing import Any

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


def current_rate(scope: str | None) -> str | None:
    rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope or "")
    return None if rate is None else str(rate)


class AnonymousApiThrottle(AnonRateThrottle):
    """Calls without credentials, counted per client address (REMOTE_ADDR; X-Forwarded-For is not trusted)."""

    def get_rate(self) -> str | None:
        return current_rate(self.scope)


class UserApiThrottle(UserRateThrottle):
    """Calls of a signed-in user or token, counted per user whatever the address."""

    def get_rate(self) -> str | None:
        return current_rate(self.scope)


RATE_LIMITED = {
    "description": "Too many requests: wait the seconds in Retry-After, then retry.",
    "headers": {
        "Retry-After": {"description": "Seconds to wait before the next call.", "schema": {"type": "integer"}}
    },
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def document_rate_limits(result: dict[str, Any], **kwargs: object) -> dict[str, Any]:
    """drf-spectacular post-processing hook: any operation of the API can answer 429, so each documents it."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("429", copy.deepcopy(RATE_LIMITED))
    return result
