"""Writes for a patient's own profile and its facts."""

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from recruitment.models import (
    FactSource,
    PatientProfile,
    ProfileFact,
    User,
)


def patient_profile_for(user: User) -> PatientProfile:
    """The patient's profile, created on first use for patient accounts made outside the portal."""
    profile, _ = PatientProfile.objects.get_or_create(user=user)
    return profile


@transaction.atomic
def profile_update(*, profile: PatientProfile, fields: Mapping[str, Any]) -> PatientProfile:
    """Save the patient's own profile fields (validated by the model); matching follows after commit."""
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.updated_at = timezone.now()
    profile.full_clean()
    profile.save(update_fields=[*fields, "updated_at"])
    return profile


@transaction.atomic
def profile_fact_save(
    *, profile: PatientProfile, fact: ProfileFact, actor: User, source: str = FactSource.SELF_REPORTED
) -> ProfileFact:
    """Add or change one of the patient's facts (self-reported unless site staff entered it); matching
    follows after commit."""
    fact.patient = profile
    fact.source = source
    fact.entered_by = actor
    fact.entered_at = timezone.now()
    fact.full_clean()
    fact.save()
    return fact


@transaction.atomic
def profile_fact_delete(*, fact: ProfileFact) -> None:
    fact.delete()
