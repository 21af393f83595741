import hashlib
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from recruitment.models import User

View = Callable[..., HttpResponse]


class AuthenticatedRequest(HttpRequest):
    """A request behind login_required: its user is a signed-in User, never AnonymousUser."""

    user: User


def role_required(allowed: Callable[[User], bool], message: str) -> Callable[[View], View]:
    """Views for signed-in users that `allowed` accepts; others get a 403 with `message`."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not allowed(request.user):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def client_ip(meta: Mapping[str, Any]) -> str | None:
    """The client's address from a request's META. Behind the proxy (SECURE_PROXY_SSL_HEADER), REMOTE_ADDR is
    the proxy; production should set the real client address there (e.g. gunicorn --forwarded-allow-ips), so
    only REMOTE_ADDR is trusted, never X-Forwarded-For."""
    return meta.get("REMOTE_ADDR") or None


_HOUR = 3600
TOO_MANY_EMAIL_FORMS = (
    "Too many requests that send e-mail have come from here or for this address in the last hour. "
    "Nothing was sent: please try again in an hour."
)


def _count_in_this_hour(scope: str, who: str) -> int:
    """One more attempt by `who` at `scope`, counted in a window that opens at the first attempt and lasts an
    hour; returns the count so far. `who` is hashed: no address or e-mail is kept in the cache as such."""
    key = f"email-form:{scope}:{hashlib.sha256(who.encode()).hexdigest()}"
    cache.add(key, 0, timeout=_HOUR)
    try:
        return cache.incr(key)
    except ValueError:  # the window closed between add and incr
        cache.set(key, 1, timeout=_HOUR)
        return 1


def email_form_client_over_limit(request: HttpRequest, form: str) -> bool:
    """Whether the client has posted `form` (a form that sends an e-mail) more than
    EMAIL_FORMS_PER_CLIENT_HOUR times this hour, this post included."""
    client = client_ip(request.META) or "unknown"
    return _count_in_this_hour(f"{form}:client", client) > settings.EMAIL_FORMS_PER_CLIENT_HOUR


def email_form_address_over_limit(form: str, email: str) -> bool:
    """Whether `form` has been asked to e-mail `email` more than EMAIL_FORMS_PER_ADDRESS_HOUR times this hour,
    this time included."""
    address = email.strip().lower()
    return _count_in_this_hour(f"{form}:address", address) > settings.EMAIL_FORMS_PER_ADDRESS_HOUR
