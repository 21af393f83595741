"""Writes for accounts: users, site and sponsor memberships, patient registration and e-mail verification."""

import logging
from datetime import timedelta

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from recruitment.models import (
    PatientProfile,
    SiteMembership,
    SponsorMembership,
    User,
)
from trials.models import Site, Sponsor

log = logging.getLogger(__name__)


@transaction.atomic
def user_upsert(
    *, email: str, role: str, password: str, is_staff: bool = False, is_superuser: bool = False
) -> User:
    """Create the account, or bring an existing one to the given role and password."""
    user = User.objects.select_for_update().filter(email=email.lower()).first()
    if user is None:
        return User.objects.create_user(
            email, password, role=role, is_staff=is_staff, is_superuser=is_superuser
        )
    user.role = role
    user.is_staff = is_staff
    user.is_superuser = is_superuser
    user.is_active = True
    user.deactivated_at = None
    user.set_password(password)
    user.save(update_fields=["role", "is_staff", "is_superuser", "is_active", "deactivated_at", "password"])
    return user


@transaction.atomic
def user_deactivate(*, user: User) -> User:
    """Staff close the account: it can no longer sign in, and no e-mail verification link, even one within its
    three days, opens it again. Its API token is cancelled, so that opening the account again does not bring
    back a credential perhaps the reason for closing it. Closing a closed account changes nothing."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.deactivated_at is not None:
        return user
    user.is_active = False
    user.deactivated_at = timezone.now()
    user.save(update_fields=["is_active", "deactivated_at"])
    Token.objects.filter(user=user).delete()
    log.info("account %s closed by staff", user.pk)
    return user


@transaction.atomic
def user_reactivate(*, user: User) -> User:
    """Staff open a closed account again (an account never confirmed is then open without its link)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active and user.deactivated_at is None:
        return user
    user.is_active = True
    user.deactivated_at = None
    user.save(update_fields=["is_active", "deactivated_at"])
    log.info("account %s opened again by staff", user.pk)
    return user


def site_membership_ensure(*, user: User, site: Site) -> SiteMembership:
    if user.role != User.Role.SITE_STAFF:
        raise ValueError(f"{user} is a {user.get_role_display()}, not site staff")
    membership, _ = SiteMembership.objects.get_or_create(user=user, site=site)
    return membership


def sponsor_membership_ensure(*, user: User, sponsor: Sponsor) -> SponsorMembership:
    if user.role != User.Role.SPONSOR:
        raise ValueError(f"{user} is a {user.get_role_display()}, not a sponsor user")
    membership, _ = SponsorMembership.objects.get_or_create(user=user, sponsor=sponsor)
    return membership


VERIFY_SALT = "recruitment.portal.verify-email"
VERIFY_MAX_AGE = timedelta(days=3)


def email_verification_token(user: User) -> str:
    """A signed, expiring token naming the account and the address it was sent to."""
    return signing.dumps({"user": user.pk, "email": user.email}, salt=VERIFY_SALT)


@transaction.atomic
def patient_register(
    *, email: str, password: str, first_name: str, last_name: str, verify_url: str
) -> User | None:
    """Create an inactive patient account with its profile and send the verification link after commit.

    `verify_url` has `{token}` where the token goes. An address already registered gets no new account:
    its owner is told by e-mail instead, so that the form does not reveal who is registered.
    """
    email = User.objects.normalize_email(email).lower()
    existing = User.objects.filter(email=email).first()
    if (
        existing is not None
        and not existing.is_active
        and existing.last_login is None
        and existing.deactivated_at is None
    ):
        # Registered but never confirmed (the link expired or was lost): a new link to the same account, as
        # the expired link's page tells the patient to do. A password reset cannot help here: it goes to
        # active accounts only.
        _send_verification_link(existing, verify_url)
        return None
    if existing is not None:
        transaction.on_commit(
            lambda: send_mail(
                subject="Someone tried to register with your e-mail address",
                message=(
                    "Someone, maybe you, tried to create an account with this e-mail address, which already "
                    "has one. If it was you, sign in or reset your password. If not, you can ignore this.\n"
                ),
                from_email=None,
                recipient_list=[email],
            )
        )
        return None
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email,
                password,
                role=User.Role.PATIENT,
                first_name=first_name.strip(),
                last_name=last_name.strip(),
            )
    except (IntegrityError, ValidationError) as error:
        if isinstance(error, ValidationError) and "email" not in getattr(error, "error_dict", {}):
            raise
        # The form submitted twice (a double click): the other request passed the check above at the same
        # moment and created the account, whose link it sends. This one answers as if all went well.
        return None
    user.is_active = False
    user.save(update_fields=["is_active"])
    PatientProfile.objects.create(user=user)
    _send_verification_link(user, verify_url)
    return user


def _send_verification_link(user: User, verify_url: str) -> None:
    link = verify_url.format(token=email_verification_token(user))
    transaction.on_commit(
        lambda: send_mail(
            subject="Confirm your e-mail address",
            message=(
                f"Hello {user.first_name},\n\nTo finish creating your account, open this link "
                "within 3 days:\n\n"
                f"{link}\n\nIf you did not ask for an account, you can ignore this e-mail.\n"
            ),
            from_email=None,
            recipient_list=[user.email],
        )
    )


ACCOUNT_CLOSED = (
    "This account was closed by the study team, so this link cannot open it. "
    "If you think this is a mistake, contact the study team."
)


class VerificationError(ValueError):
    """The verification link is broken, expired or for an address the account no longer has."""


@transaction.atomic
def patient_verify_email(*, token: str) -> User:
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=VERIFY_MAX_AGE)
    except signing.SignatureExpired:
        raise VerificationError("This link has expired. Register again to get a new one.") from None
    except signing.BadSignature:
        raise VerificationError("This link is not valid. Check that you copied all of it.") from None
    user = User.objects.select_for_update().filter(pk=data["user"], email=data["email"]).first()
    if user is None:
        raise VerificationError("This link is not valid any more.")
    if not user.is_active:
        # Closed by staff, before or after its first sign-in (an account verified, used and now inactive was
        # closed, even if not through user_deactivate): a link still within its three days must not undo that.
        if user.deactivated_at is not None or user.last_login is not None:
            raise VerificationError(ACCOUNT_CLOSED)
        user.is_active = True
        user.save(update_fields=["is_active"])
    return user
