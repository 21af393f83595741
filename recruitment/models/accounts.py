"""People who sign in, their roles, and the organisations they work for."""

from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.utils import timezone


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
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PATIENT)

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
