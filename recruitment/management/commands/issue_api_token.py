"""Issue (or revoke) the API token of a patient or integration account; the token is printed once.

A token stops working when its user sets up an authenticator, gets a new password or has the account closed
(recruitment/api_auth.py).
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recruitment.api_auth import ApiTokenError, api_token_issue, api_token_revoke
from recruitment.models import User


class Command(BaseCommand):
    help = (
        "Issue an API token for the account with this e-mail and print it (it is not shown again). "
        "Accounts that sign in with a second factor (staff, and patients who set up an authenticator) get no "
        "token: they use the API from their signed-in session."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The account's sign-in e-mail.")
        action = parser.add_mutually_exclusive_group()
        action.add_argument(
            "--replace", action="store_true", help="Cancel the account's current token and issue a new one."
        )
        action.add_argument("--revoke", action="store_true", help="Cancel the account's token, issue none.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email__iexact=options["email"].strip()).first()
        if user is None:
            raise CommandError(f"No account with the e-mail {options['email']!r}.")
        if options["revoke"]:
            revoked = api_token_revoke(user=user)
            self.stdout.write(f"Token of {user.email} revoked." if revoked else f"{user.email} had no token.")
            return
        try:
            key = api_token_issue(user=user, replace=options["replace"])
        except ApiTokenError as error:
            raise CommandError(str(error)) from None
        self.stderr.write(f"API token for {user.email} (shown once; keep it secret):")
        self.stdout.write(key)
