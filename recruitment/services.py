"""Writes for the recruitment app: accounts and memberships for now; consent and workflow join later."""

from django.db import transaction

from recruitment.models import SiteMembership, SponsorMembership, User
from trials.models import Site, Sponsor


@transaction.atomic
def user_upsert(*, email: str, role: str, password: str, is_staff: bool = False, is_superuser: bool = False) -> User:
    """Create the account, or bring an existing one to the given role and password."""
    user = User.objects.select_for_update().filter(email=email.lower()).first()
    if user is None:
        return User.objects.create_user(email, password, role=role, is_staff=is_staff, is_superuser=is_superuser)
    user.role = role
    user.is_staff = is_staff
    user.is_superuser = is_superuser
    user.is_active = True
    user.set_password(password)
    user.save(update_fields=["role", "is_staff", "is_superuser", "is_active", "password"])
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
