"""Second factor at sign-in (staff, and patients who set one up): TOTP authenticators and one-time recovery
codes (writes and checks).

Sign-in itself (the password step, then the code step) lives in recruitment/auth_views.py; this module holds
the state changes, each under a row lock so that two tabs or a replayed request cannot use one code twice.
"""

import logging
import secrets
from dataclasses import dataclass

import segno
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework.authtoken.models import Token

from recruitment import totp
from recruitment.models import MfaDevice, MfaRecoveryCode, User

log = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
# Unambiguous characters only (no 0/O, 1/I/L): codes are read from paper and typed by hand.
RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class MfaError(Exception):
    """A refused MFA step, with a message for the person signing in."""


SECURITY_NOTICE_ADVICE = (
    "If this was not you, someone may know your password: change it now at {url} and tell your "
    "administrator, who can reset your authenticator."
)


def _security_notice(user: User, what: str) -> None:
    """E-mail the account's owner, once the change is committed, that `what` happened to its second factor.
    The first authenticator is set up after the password alone, so this notice is how an owner learns that
    someone else did it."""
    when = timezone.localtime().strftime("%d %B %Y at %H:%M %Z")
    body = (
        f"{what} on your account {user.email} on {when}.\n\n"
        + SECURITY_NOTICE_ADVICE.format(url=settings.SITE_ROOT.rstrip("/") + reverse("password_change"))
        + "\n"
    )
    message = EmailMessage(f"Security notice: {what.lower()}", body, to=[user.email])
    # robust: a mail server that is down is logged, and never undoes or breaks the sign-in step.
    transaction.on_commit(message.send, robust=True)


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the secret as text, and as a QR code of its otpauth:// URI."""

    secret: str
    uri: str
    qr_svg: str


def has_confirmed_device(user: User) -> bool:
    return MfaDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def signs_in_with_second_factor(user: User) -> bool:
    """Staff always; a patient once they set up an authenticator (they chose the protection)."""
    return user.needs_mfa or has_confirmed_device(user)


def _cancel_api_tokens(user: User) -> None:
    # An API token never passes the code step (recruitment/api_auth.py): it goes once the account has a
    # second factor, and does not come back if an administrator later resets the authenticator.
    if Token.objects.filter(user=user).delete()[0]:
        log.info("API token cancelled for user %s: an authenticator was set up", user.pk)


def _recovery_hash(code: str) -> str:
    # Recovery codes are random (50 bits), so a keyed fast hash suffices; a slow password hash would make
    # checking ten of them cost seconds.
    normalised = code.strip().replace("-", "").replace(" ", "").upper()
    return salted_hmac("recruitment.mfa.recovery", normalised, algorithm="sha256").hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    MfaRecoveryCode.objects.filter(user=user).delete()
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    MfaRecoveryCode.objects.bulk_create(
        [MfaRecoveryCode(user=user, code_hash=_recovery_hash(code)) for code in codes]
    )
    return codes


def enrolment_for(device: MfaDevice) -> Enrolment:
    uri = totp.provisioning_uri(device.secret, account=device.user.email, issuer=settings.MFA_ISSUER)
    qr_svg = segno.make(uri, error="m").svg_inline(scale=4, title="Authenticator set-up code")
    return Enrolment(secret=device.secret, uri=uri, qr_svg=qr_svg)


@transaction.atomic
def mfa_device_start(*, user: User) -> MfaDevice:
    """The user's authenticator being set up: a new secret, or the one already shown if not yet confirmed
    (reloading the page must not invalidate a QR code the user has just scanned)."""
    User.objects.select_for_update().get(pk=user.pk)
    device = MfaDevice.objects.filter(user=user).first()
    if device is not None and device.confirmed_at is not None:
        raise MfaError("An authenticator is already set up for this account.")
    if device is None:
        device = MfaDevice.objects.create(user=user, secret=totp.new_secret())
    return device


@transaction.atomic
def mfa_device_confirm(*, user: User, code: str) -> list[str]:
    """Confirm the authenticator with its first code; returns the recovery codes, shown to the user once."""
    device = MfaDevice.objects.select_for_update().filter(user=user).first()
    if device is None:
        raise MfaError("Start the set-up again: no authenticator is being set up for this account.")
    if device.confirmed_at is not None:
        raise MfaError("An authenticator is already set up for this account.")
    step = totp.matching_step(device.secret, code)
    if step is None:
        raise MfaError("That code does not match. Check the time on your phone and enter the current code.")
    device.confirmed_at = timezone.now()
    device.last_step = step
    device.save(update_fields=["confirmed_at", "last_step"])
    log.info("authenticator set up for user %s", user.pk)
    _cancel_api_tokens(user)
    _security_notice(user, "An authenticator app was set up for signing in")
    return _new_recovery_codes(user)


def _spend_current_code(device: MfaDevice, code: str) -> bool:
    """Whether `code` is the locked device's current code, not used before; it is then used up."""
    step = totp.matching_step(device.secret, code, after=device.last_step)
    if step is None:
        return False
    device.last_step = step
    device.save(update_fields=["last_step"])
    return True


@transaction.atomic
def mfa_totp_check(*, user: User, code: str) -> bool:
    """Whether `code` is the authenticator's current code (accepted once); recovery codes do not count.
    For confirming a signed-in user's identity before a sensitive change."""
    device = MfaDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
    return device is not None and _spend_current_code(device, code)


@transaction.atomic
def mfa_code_check(*, user: User, code: str) -> bool:
    """Whether `code` is the authenticator's current code (accepted once) or an unused recovery code
    (then spent)."""
    device = MfaDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        return False
    if _spend_current_code(device, code):
        return True
    recovery = (
        MfaRecoveryCode.objects.select_for_update()
        .filter(user=user, code_hash=_recovery_hash(code), used_at__isnull=True)
        .first()
    )
    if recovery is None:
        return False
    recovery.used_at = timezone.now()
    recovery.save(update_fields=["used_at"])
    # A recovery code in use often means a lost phone: worth a look by whoever watches sign-ins.
    log.warning("recovery code used by user %s", user.pk)
    _security_notice(user, "A recovery code was used to sign in")
    return True


@transaction.atomic
def mfa_recovery_codes_renew(*, user: User) -> list[str]:
    """A fresh set of recovery codes; the old ones stop working."""
    if not MfaDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).exists():
        raise MfaError("Set up an authenticator first.")
    log.info("recovery codes renewed by user %s", user.pk)
    _security_notice(user, "New recovery codes were made (the old ones no longer work)")
    return _new_recovery_codes(user)


def unused_recovery_code_count(user: User) -> int:
    return MfaRecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


@transaction.atomic
def mfa_device_enrol_demo(*, user: User, secret: str) -> None:
    """Enrol a demo account with a known secret (load_demo only: the secret is printed for people to use)."""
    _cancel_api_tokens(user)
    MfaDevice.objects.update_or_create(
        user=user, defaults={"secret": secret, "confirmed_at": timezone.now(), "last_step": None}
    )
