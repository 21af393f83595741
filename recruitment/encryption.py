"""Encryption at rest of direct identifiers (names, phone numbers, address lines, MFA secrets).

Values are Fernet tokens (AES-128-CBC with HMAC-SHA256) under the keys in `settings.FIELD_ENCRYPTION_KEYS`:
the first key encrypts, every key decrypts, so a new key can be put first and old rows re-encrypted at
leisure. Tokens are randomised, so an encrypted column cannot be searched, sorted or compared in SQL: the
fields below refuse every lookup except `isnull`, rather than silently matching nothing. Fields that queries
need (the sign-in e-mail, postcodes for distance) stay in clear.
"""

from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression

# Fernet tokens are URL-safe base64 of a version byte 0x80 and a timestamp: they all start like this.
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 (not a secret)


class DecryptionError(Exception):
    """A stored value cannot be decrypted with the configured keys (wrong or missing key, or tampering)."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY is not set: encrypted fields cannot be read or written."
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be 32 url-safe base64-encoded bytes "
            "(make one with: python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
        ) from error


def encrypt(plaintext: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).encrypt(plaintext.encode()).decode()


def decrypt(token: str, *, what: str = "a value") -> str:
    try:
        return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            f"Cannot decrypt {what}: it was encrypted with a key that is not in FIELD_ENCRYPTION_KEY "
            "(wrong key, key rotated out too early, or the stored value was altered)."
        ) from None


class EncryptedCharField(models.CharField):
    """A CharField whose value is stored as a Fernet token in a text column.

    `max_length` limits the plaintext (forms and full_clean see the plaintext); the column is unbounded text
    because a token is about 1.4 times longer than its plaintext plus 73 characters. The empty string is
    stored as is, so that blank optional fields need no key to read.
    """

    def get_internal_type(self) -> str:
        return "TextField"

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> Any:
        if not value:
            return value
        return decrypt(value, what=f"{self.model._meta.db_table}.{self.column}")

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(str(value))

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None  # Django then raises FieldError: "Unsupported lookup ... for EncryptedCharField"
        return super().get_lookup(lookup_name)


@checks.register(checks.Tags.security, deploy=True)
def check_field_encryption_key(**kwargs: Any) -> list[checks.CheckMessage]:
    """Production needs its own key: the development key is public, in the settings file."""
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys or settings.DEV_FIELD_ENCRYPTION_KEY in keys:
        return [
            checks.Error(
                "FIELD_ENCRYPTION_KEY is not set (or is the public development key).",
                hint="Set FIELD_ENCRYPTION_KEY to a key from Fernet.generate_key(); keep it out of the "
                "database backups. Comma-separate keys to rotate: the first encrypts, all decrypt.",
                id="recruitment.E001",
            )
        ]
    try:
        _fernet(tuple(keys))
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="recruitment.E002")]
    return []
