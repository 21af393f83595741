from django.http import HttpRequest

from recruitment.models import User


class AuthenticatedRequest(HttpRequest):
    """A request behind login_required: its user is a signed-in User, never AnonymousUser."""

    user: User
