"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), with no Django import.

Kept free of Django so that the load test and the browser tests, which run in processes of their own, can
compute the current code of a demo account from its secret with the same function the server checks with.
"""

import base64
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6

# The demo staff accounts (`manage.py load_demo`) are enrolled with this secret; load_demo prints it. Never
# for a real account.
DEMO_MFA_SECRET = "DEMOSTAFFMFA2FAKEYFORDEMOONLY234"  # noqa: S105


def new_secret() -> str:
    """160 random bits, base32 without padding: what authenticator apps expect (RFC 4226 recommends 160)."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    compact = secret.replace(" ", "").upper()
    return base64.b32decode(compact + "=" * (-len(compact) % 8))


def hotp(key: bytes, counter: int, *, digits: int = DIGITS, digest: str = "sha1") -> str:
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def time_step(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // STEP_SECONDS)


def totp_code(secret: str, *, at: float | None = None) -> str:
    """The 6-digit code an authenticator shows for `secret` (base32) at time `at` (now by default)."""
    return hotp(_key(secret), time_step(at))


def matching_step(secret: str, code: str, *, at: float | None = None, after: int | None = None) -> int | None:
    """The time step whose code is `code`, trying the current step and one either side for clock drift.

    Steps up to and including `after` (the last one accepted) are refused, so a code works once.
    """
    code = code.strip().replace(" ", "")
    # ASCII digits only: "²" is a digit to isdigit(), and compare_digest raises on non-ASCII text.
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    key = _key(secret)
    now = time_step(at)
    for step in (now - 1, now, now + 1):
        if (after is None or step > after) and hmac.compare_digest(hotp(key, step), code):
            return step
    return None


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The otpauth:// URI authenticator apps read from a QR code (Google Authenticator key-uri format)."""
    label = quote(f"{issuer}:{account}")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP_SECONDS}
    )
    return f"otpauth://totp/{label}?{query}"


if __name__ == "__main__":
    import sys

    # `python -m recruitment.totp [SECRET]`: the current code, for signing in to the demo without a phone.
    print(totp_code(sys.argv[1] if len(sys.argv) > 1 else DEMO_MFA_SECRET))  # noqa: T201
