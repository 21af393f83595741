"""People who sign in, their roles, and the organisations they work for."""

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework.authtoken.models import Token

from recruitment.encryption import EncryptedCharField


class UserManager(DjangoUserManager["User"]):
    """Users sign in with their e-mail address; there is no separate username."""

    use_in_migrations = True

    def _create(self, email: str | None, password: str | None, **fields: object) -> "User":
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(  # type: ignore[override]
        self, email: str | None, password: str | None = None, **fields: object
    ) -> "User":
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(  # type: ignore[override]
        self, email: str | None, password: str | None = None, **fields: object
    ) -> "User":
        fields.update(is_staff=True, is_superuser=True, role=User.Role.CURATOR)
        return self._create(email, password, **fields)


class User(AbstractUser):
    """A person who signs in. The role decides which part of the app they use and what they may see.

    Patients see only their own data; site staff see candidates of the sites they are members of; sponsor
    users see aggregates of their organisation's trials; curators maintain the registry and criteria.
    """

    class Role(models.TextChoices):
        PATIENT = "patient", "Patient"
        SITE_STAFF = "site_staff", "Site staff"
        SPONSOR = "sponsor", "Sponsor"
        CURATOR = "curator", "Curator"

    username = None  # type: ignore[assignment]
    email = models.EmailField("e-mail address", unique=True)
    # Names are direct identifiers and nothing queries them: encrypted at rest. The e-mail stays in clear
    # because sign-in looks it up.
    first_name = EncryptedCharField("first name", max_length=150, blank=True)
    last_name = EncryptedCharField("last name", max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PATIENT)
    # An account registered but not yet confirmed is inactive too: without this, one that staff closed before
    # its first sign-in would look unconfirmed, and its e-mail verification link would open it again.
    deactivated_at = models.DateTimeField(
        "closed by staff at",
        null=True,
        blank=True,
        help_text="Set when staff close the account; its e-mail verification link then cannot activate it.",
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects: ClassVar[UserManager] = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def is_patient(self) -> bool:
        return self.role == self.Role.PATIENT

    @property
    def is_site_staff(self) -> bool:
        return self.role == self.Role.SITE_STAFF

    @property
    def is_sponsor(self) -> bool:
        return self.role == self.Role.SPONSOR

    @property
    def is_curator(self) -> bool:
        return self.role == self.Role.CURATOR or self.is_superuser

    @property
    def needs_mfa(self) -> bool:
        """Everyone but patients signs in with a second factor: staff see other people's health data."""
        return self.role != self.Role.PATIENT or self.is_staff or self.is_superuser

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save; a new password, or a role that needs a second factor, also cancels the account's API token,
        as it signs out every session (the session hash comes from the password). Here rather than in a
        service because Django's own password change, reset and admin forms set passwords and roles too.
        `_password` is Django's mark of set_password() since the last save, which a hash upgrade at sign-in
        does not leave."""
        pending_password = getattr(self, "_password")  # noqa: B009 (Django's, unknown to the stubs)
        password_changed = self.pk is not None and pending_password is not None
        fields = kwargs.get("update_fields")
        # A token is refused to a user who needs a second factor (recruitment.api_auth); one made staff loses
        # it for good, so that it does not work again should the role be taken back.
        role_saved = fields is None or bool({"role", "is_staff", "is_superuser"} & set(fields))
        with transaction.atomic():
            super().save(*args, **kwargs)
            if password_changed or (self.needs_mfa and role_saved):
                Token.objects.filter(user=self).delete()

    def get_session_auth_hash(self) -> str:
        """Django's (from the password), and for a user who needs MFA also from the role and admin flags: a
        patient made site staff, sponsor, curator or admin is signed out of every session, and signs in again
        with a second factor, instead of keeping a session that never asked for one. Likewise a patient who
        sets up an authenticator is signed out of the sessions opened with the password alone (the one used
        to set it up is kept: recruitment.auth_views.mfa_enrol); this costs patients one query a request."""
        password_hash = super().get_session_auth_hash()
        if not self.needs_mfa:
            if not MfaDevice.objects.filter(user=self, confirmed_at__isnull=False).exists():
                return password_hash
            return salted_hmac(
                "recruitment.User.get_session_auth_hash.authenticator", password_hash, algorithm="sha256"
            ).hexdigest()
        return salted_hmac(
            "recruitment.User.get_session_auth_hash",
            f"{password_hash}|{self.role}|{self.is_staff:d}|{self.is_superuser:d}",
            algorithm="sha256",
        ).hexdigest()


class SiteMembership(models.Model):
    """Site staff work for one or more trial sites and see only those sites' candidates."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="site_memberships")
    site = models.ForeignKey("trials.Site", on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "site"], name="unique_site_membership")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.site}"


class SponsorMembership(models.Model):
    """Sponsor users belong to a sponsor organisation and see aggregates of its trials only."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sponsor_memberships")
    sponsor = models.ForeignKey("trials.Sponsor", on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "sponsor"], name="unique_sponsor_membership")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.sponsor}"


class MfaDevice(models.Model):
    """A user's TOTP authenticator (RFC 6238, 30-second steps, 6 digits).

    The shared secret is encrypted at rest. `confirmed_at` is set once the user has typed a first code from
    the authenticator, proving it was set up; `last_step` is the time step of the last accepted code, so that
    an overheard code cannot be replayed within its window.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="mfa_device")
    secret = EncryptedCharField(max_length=64)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_step = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Authenticator of {self.user}"


class MfaRecoveryCode(models.Model):
    """A one-time code for signing in without the authenticator; only its keyed hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="mfa_recovery_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Recovery code of {self.user} ({'used' if self.used_at else 'unused'})"
