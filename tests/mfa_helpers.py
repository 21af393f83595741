"""Second-factor codes for tests that sign staff in through the real sign-in form (browser tests)."""

import time

from recruitment import mfa, totp
from recruitment.models import MfaDevice, User


def enrol_with_demo_secret(user: User) -> None:
    if not MfaDevice.objects.filter(user=user, confirmed_at__isnull=False).exists():
        mfa.mfa_device_enrol_demo(user=user, secret=totp.DEMO_MFA_SECRET)


def unused_code(user: User) -> str:
    """A code the server will accept now for `user`: a code works once, so a second sign-in within the same
    30 seconds takes the next step's code (accepted for clock drift), waiting if even that one is spent."""
    device = MfaDevice.objects.get(user=user)
    while True:
        step = max(totp.time_step(), (device.last_step or 0) + 1)
        if step <= totp.time_step() + 1:
            return totp.totp_code(device.secret, at=step * totp.STEP_SECONDS)
        time.sleep(1)
