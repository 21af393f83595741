"""Writes to the registry. Every change goes through a function here, which also appends the TrialEvent."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from recruitment.models import User
from trials.models import Arm, Site, Sponsor, Trial, TrialEvent, TrialSite

if TYPE_CHECKING:
    # Only for annotations: trials.importers imports this module to write what it parsed.
    from trials.importers.common import ArmRecord, SiteRecord, TrialRecord

# Arm and trial-site columns that come from the registry. Everything else on an arm (biomarker definition,
# enrolment target, cap, suspension) belongs to curators and is never written by an import.
ARM_IMPORTED_FIELDS = ("arm_type", "description", "interventions")
TRIAL_SITE_IMPORTED_FIELDS = ("status", "contact_name", "contact_email", "contact_phone", "investigator")


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass
class RegistryCache:
    """Ids of sponsors (by name) and sites (by key) already in the database, kept for one import run.

    Only rows whose creating transaction has completed are added, so a record that rolls back never
    leaves an id in here that points at nothing.
    """

    sponsor_ids: dict[str, int] = field(default_factory=dict)
    site_ids: dict[str, int] = field(default_factory=dict)

    def merge(self, other: RegistryCache) -> None:
        self.sponsor_ids.update(other.sponsor_ids)
        self.site_ids.update(other.site_ids)


def trial_import_record(*, record: TrialRecord, source: str, cache: RegistryCache | None = None) -> Outcome:
    """Create or update one trial with its arms and sites from an imported record, in one transaction.

    Idempotent: a record identical to the last one imported (same checksum) changes nothing and writes
    nothing; a changed record updates the trial in place and logs which fields changed. Arms are matched by
    label: their curator-owned fields survive, and arms the registry no longer lists are removed.
    """
    cache = cache if cache is not None else RegistryCache()
    created_here = RegistryCache()
    with transaction.atomic():
        trial = Trial.objects.select_for_update().filter(nct_id=record.nct_id).first()
        if trial is not None and trial.source_checksum == record.checksum:
            return Outcome.UNCHANGED
        sponsor_id = _sponsor_id(record, cache, created_here)
        site_ids = _site_ids(record.sites, cache, created_here)
        if trial is None:
            outcome = _trial_create(record=record, source=source, sponsor_id=sponsor_id, site_ids=site_ids)
        else:
            outcome = _trial_update(
                trial=trial, record=record, source=source, sponsor_id=sponsor_id, site_ids=site_ids
            )
    cache.merge(created_here)
    return outcome


def trial_curation_record(
    *, trial: Trial, actor: AbstractBaseUser | AnonymousUser | None, fields: list[str]
) -> TrialEvent:
    """Append the history entry for a curator's edit of a trial or its arms.

    The edit itself is saved by the caller (the admin form); this keeps who changed what.
    """
    return TrialEvent.objects.create(
        trial=trial,
        kind=TrialEvent.Kind.CURATED,
        actor=actor if isinstance(actor, User) else None,
        detail={"changed": fields},
    )


def _sponsor_id(record: TrialRecord, cache: RegistryCache, created_here: RegistryCache) -> int | None:
    name = record.sponsor_name
    if not name:
        return None
    if name in cache.sponsor_ids:
        return cache.sponsor_ids[name]
    sponsor_id = Sponsor.objects.filter(name=name).values_list("id", flat=True).first()
    if sponsor_id is None:
        sponsor_id = Sponsor.objects.create(name=name, agency_class=record.sponsor_class).pk
    created_here.sponsor_ids[name] = sponsor_id
    return sponsor_id


def _site_ids(
    sites: tuple[SiteRecord, ...], cache: RegistryCache, created_here: RegistryCache
) -> dict[str, int]:
    """Site id by key for every site of the record, creating the facilities not seen before."""
    ids = {site.key: cache.site_ids[site.key] for site in sites if site.key in cache.site_ids}
    missing = {site.key: site for site in sites if site.key not in ids}
    if missing:
        found = dict(Site.objects.filter(key__in=list(missing)).values_list("key", "id"))
        new = [
            Site(
                key=key,
                facility=site.facility,
                city=site.city,
                state=site.state,
                zip_code=site.zip_code,
                country=site.country,
                latitude=site.latitude,
                longitude=site.longitude,
            )
            for key, site in missing.items()
            if key not in found
        ]
        found.update((created.key, created.pk) for created in Site.objects.bulk_create(new))
        created_here.site_ids.update(found)
        ids.update(found)
    return ids


def _arm(trial: Trial, arm: ArmRecord, now: datetime) -> Arm:
    return Arm(trial=trial, created_at=now, label=arm.label, **_arm_values(arm))


def _arm_values(arm: ArmRecord) -> dict[str, Any]:
    return {
        "arm_type": arm.arm_type,
        "description": arm.description,
        "interventions": list(arm.interventions),
    }


def _trial_site(trial: Trial, site: SiteRecord, site_ids: dict[str, int]) -> TrialSite:
    return TrialSite(trial=trial, site_id=site_ids[site.key], **_trial_site_values(site))


def _trial_site_values(site: SiteRecord) -> dict[str, Any]:
    return {name: getattr(site, name) for name in TRIAL_SITE_IMPORTED_FIELDS}


def _trial_create(
    *, record: TrialRecord, source: str, sponsor_id: int | None, site_ids: dict[str, int]
) -> Outcome:
    now = timezone.now()
    trial = Trial.objects.create(
        nct_id=record.nct_id,
        sponsor_id=sponsor_id,
        source_checksum=record.checksum,
        created_at=now,
        updated_at=now,
        **record.trial_fields(),
    )
    Arm.objects.bulk_create([_arm(trial, arm, now) for arm in record.arms])
    TrialSite.objects.bulk_create([_trial_site(trial, site, site_ids) for site in record.sites])
    TrialEvent.objects.create(
        trial=trial,
        kind=TrialEvent.Kind.IMPORTED,
        created_at=now,
        detail={
            "source": source,
            "format": record.source_format,
            "arms": len(record.arms),
            "sites": len(record.sites),
        },
    )
    return Outcome.CREATED


def _trial_update(
    *, trial: Trial, record: TrialRecord, source: str, sponsor_id: int | None, site_ids: dict[str, int]
) -> Outcome:
    now = timezone.now()
    values = {**record.trial_fields(), "sponsor_id": sponsor_id}
    changed = [name for name, value in values.items() if getattr(trial, name) != value]
    for name in changed:
        setattr(trial, name, values[name])
    trial.source_checksum = record.checksum
    arm_changes = _arms_sync(trial, record.arms, now)
    site_changes = _trial_sites_sync(trial, record.sites, site_ids)
    changed += [
        name for name, changes in (("arms", arm_changes), ("sites", site_changes)) if any(changes.values())
    ]
    if not changed:
        # Same content in a different form (e.g. another export of the same study): remember the new
        # checksum so the next run skips it, but there is nothing to tell anyone.
        trial.save(update_fields=["source_checksum"])
        return Outcome.UNCHANGED
    trial.updated_at = now
    trial.save(update_fields=[name for name in changed if name in values] + ["source_checksum", "updated_at"])
    TrialEvent.objects.create(
        trial=trial,
        kind=TrialEvent.Kind.UPDATED,
        created_at=now,
        detail={
            "source": source,
            "format": record.source_format,
            "changed": changed,
            "arms": arm_changes,
            "sites": site_changes,
        },
    )
    return Outcome.UPDATED


def _arms_sync(trial: Trial, arms: tuple[ArmRecord, ...], now: datetime) -> dict[str, list[str]]:
    """Brings the registry-owned arm fields in line with the record; returns the labels touched."""
    existing = {arm.label: arm for arm in trial.arms.only("id", "label", *ARM_IMPORTED_FIELDS)}
    wanted = {arm.label: arm for arm in arms}
    updated = []
    for label, record in wanted.items():
        arm = existing.get(label)
        if arm is None:
            continue
        values = _arm_values(record)
        if any(getattr(arm, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(arm, name, value)
            updated.append(arm)
    added = [_arm(trial, record, now) for label, record in wanted.items() if label not in existing]
    removed = [label for label in existing if label not in wanted]
    Arm.objects.filter(trial=trial, label__in=removed).delete()
    Arm.objects.bulk_update(updated, ARM_IMPORTED_FIELDS)
    Arm.objects.bulk_create(added)
    return {
        "added": [arm.label for arm in added],
        "updated": [arm.label for arm in updated],
        "removed": removed,
    }


def _trial_sites_sync(
    trial: Trial, sites: tuple[SiteRecord, ...], site_ids: dict[str, int]
) -> dict[str, list[int]]:
    """Same for the trial's sites; returns the site ids touched."""
    existing = {ts.site_id: ts for ts in trial.trial_sites.all()}
    wanted = {site_ids[site.key]: site for site in sites}
    updated = []
    for site_id, record in wanted.items():
        trial_site = existing.get(site_id)
        if trial_site is None:
            continue
        values = _trial_site_values(record)
        if any(getattr(trial_site, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(trial_site, name, value)
            updated.append(trial_site)
    added = [
        _trial_site(trial, record, site_ids) for site_id, record in wanted.items() if site_id not in existing
    ]
    removed = [site_id for site_id in existing if site_id not in wanted]
    TrialSite.objects.filter(trial=trial, site_id__in=removed).delete()
    TrialSite.objects.bulk_update(updated, TRIAL_SITE_IMPORTED_FIELDS)
    TrialSite.objects.bulk_create(added)
    return {
        "added": [ts.site_id for ts in added],
        "updated": [ts.site_id for ts in updated],
        "removed": removed,
    }
