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


class ProfileConflict(Exception):
    """The profile was saved again (another tab, the site's paste, a record import) after the form being
    saved was shown."""


@transaction.atomic
def profile_update(
    *, profile: PatientProfile, fields: Mapping[str, Any], shown_version: str | None = None
) -> PatientProfile:
    """Save the patient's own profile fields (validated by the model); matching follows after commit.

    `shown_version` is the profile's `version` when the form was shown: if it was saved since, nothing is
    written and ProfileConflict says so, instead of the older page silently undoing the newer change.
    """
    current = _profile_locked(profile.pk)
    if shown_version is not None and current.version != shown_version:
        raise ProfileConflict(
            "Your profile was changed after this page was opened (in another window, by your study team or "
            "by a record import), so nothing was saved. What you entered is kept below: check it and save "
            "again."
        )
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.updated_at = timezone.now()
    profile.full_clean()
    profile.save(update_fields=[*fields, "updated_at"])
    return profile


@transaction.atomic
def profile_fact_save(
    *,
    profile: PatientProfile,
    fact: ProfileFact,
    actor: User,
    source: str = FactSource.SELF_REPORTED,
    shown_version: str | None = None,
) -> ProfileFact:
    """Add or change one of the patient's facts (self-reported unless site staff entered it); matching
    follows after commit. A change checks `shown_version` as `profile_update` does.

    The fact is checked against the profile as it is under its lock, not as the caller read it: a birth
    date corrected since (another tab, the study team, an import) is the one a fact's dates must follow.
    """
    locked = _profile_locked(profile.pk)
    if fact.pk is not None and shown_version is not None:
        current = (
            type(fact)._default_manager.select_for_update().filter(pk=fact.pk).only("entered_at").first()
        )
        if current is None or current.version != shown_version:
            what = fact._meta.verbose_name
            done = "removed" if current is None else "changed"
            raise ProfileConflict(
                f"This {what} was {done} after this page was opened (in another window), so nothing was "
                "saved. What you entered is kept below: check it and save again, or go back to your profile."
            )
    fact.patient = locked
    fact.source = source
    fact.entered_by = actor
    fact.entered_at = timezone.now()
    fact.full_clean()
    if fact.pk is None:
        # Under the profile's lock, a new fact identical to one already recorded is that one: a form sent
        # twice (a double click), an import confirmed twice or a summary pasted again adds nothing.
        same = _identical_fact(fact)
        if same is not None:
            return same
    fact.save()
    return fact


def _profile_locked(profile_id: int) -> PatientProfile:
    """The profile as stored, locked until the transaction ends: every write to a profile or one of its
    facts takes this lock first, so that a fact and the profile it is checked against (its birth date) are
    never written at once from two places."""
    return PatientProfile.objects.select_for_update().get(pk=profile_id)


# What says when and by whom a fact was entered, not what it is.
_PROVENANCE_FIELDS = frozenset({"id", "patient", "source", "entered_by", "entered_at"})


def _identical_fact(fact: ProfileFact) -> ProfileFact | None:
    values = {
        field.attname: getattr(fact, field.attname)
        for field in fact._meta.concrete_fields
        if field.name not in _PROVENANCE_FIELDS
    }
    return type(fact)._default_manager.filter(patient_id=fact.patient_id, **values).order_by("pk").first()


@transaction.atomic
def profile_fact_delete(*, fact: ProfileFact, shown_version: str | None = None) -> bool:
    """Remove one of the patient's facts; matching follows after commit. False when it was already removed
    (a double click, another tab): nothing to do. With `shown_version` (the fact's `version` on the page the
    removal was asked from), a fact changed since is not removed: ProfileConflict says so, instead of the
    older page silently discarding the newer change."""
    _profile_locked(fact.patient_id)
    current = type(fact)._default_manager.select_for_update().filter(pk=fact.pk).only("entered_at").first()
    if current is None:
        return False
    if shown_version is not None and current.version != shown_version:
        raise ProfileConflict(
            f"This {fact._meta.verbose_name} was changed after this page was opened (in another window), so "
            "it was not removed. Check it below and remove it again if you still want to."
        )
    fact.delete()
    return True
