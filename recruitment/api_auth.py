"""API token authentication that keeps the second factor meaningful.

A DRF token is a bearer credential that never passes the sign-in's code step, so a token of someone who signs
in with a second factor (staff, whose role needs it, and patients who set up an authenticator) would be a way
around it. Such users use the API from their signed-in browser session; tokens are for patients without an
authenticator and integrations, issued by `manage.py issue_api_token`. A token is cancelled when its user sets
up an authenticator (recruitment.mfa), gets a new password (recruitment.models.User.save) or has the account
closed by staff (recruitment.services.accounts.user_deactivate).
"""

import logging
from typing import Any

from django.db import transaction
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from recruitment import mfa
from recruitment.models import User

log = logging.getLogger(__name__)

REFUSED_FOR_MFA_ACCOUNTS = (
    "API tokens are not accepted for accounts that sign in with a second factor: "
    "sign in with your code and use the API from that session."
)


class NoMfaBypassTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, refusing (401) the tokens of users who sign in with a second factor."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user, token = super().authenticate_credentials(key)
        if mfa.signs_in_with_second_factor(user):
            raise exceptions.AuthenticationFailed(REFUSED_FOR_MFA_ACCOUNTS)
        return user, token


class ApiTokenError(Exception):
    """A token cannot be issued or revoked as asked; the message is for the operator."""


@transaction.atomic
def api_token_issue(*, user: User, replace: bool = False) -> str:
    """A new API token for `user`, returned to be shown once. An existing token is kept unless `replace`
    (then it stops working): a token already handed out may be in use by an integration."""
    User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise ApiTokenError(f"{user.email} is not active.")
    if mfa.signs_in_with_second_factor(user):
        raise ApiTokenError(
            f"{user.email} signs in with a second factor, which a token would bypass: "
            "they use the API from a session signed in with their code."
        )
    existing = Token.objects.filter(user=user)
    if existing.exists() and not replace:
        raise ApiTokenError(
            f"{user.email} already has a token; pass --replace to cancel it and issue a new one."
        )
    existing.delete()
    token = Token.objects.create(user=user)
    log.info("API token issued for user %s", user.pk)
    return str(token.key)


@transaction.atomic
def api_token_revoke(*, user: User) -> bool:
    """Cancel the user's API token; whether there was one."""
    User.objects.select_for_update().get(pk=user.pk)
    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        log.info("API token revoked for user %s", user.pk)
    return bool(deleted)
