from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
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
