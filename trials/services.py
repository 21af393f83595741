"""Writes to the registry. Every change goes through a function here, which also appends the TrialEvent."""

from __future__ import annotations

import enum
import hashlib
import math
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, get_args

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from nlp import (
    Atom,
    EligibilityText,
    Node,
    ParsedEligibility,
    iter_atoms,
    parse_eligibility,
    parse_eligibility_many,
)
from nlp.model import Assertion, AtomKind, Criterion, node_from_dict, node_to_dict
from recruitment.matching.cohorts import LABEL_SEPARATOR
from recruitment.models import Candidate, EnrolmentSnapshot, Match, User
from recruitment.services.matching import trial_changed
from trials import selectors
from trials.models import Arm, EligibilityCriterion, Site, Sponsor, Trial, TrialEvent, TrialSite

if TYPE_CHECKING:
    # Only for annotations: trials.importers imports this module to write what it parsed.
    from trials.importers.common import ArmRecord, SiteRecord, TrialRecord

# Arm and trial-site columns that come from the registry. Everything else on an arm (biomarker definition,
# enrolment target, cap, suspension) belongs to curators and is never written by an import.
ARM_IMPORTED_FIELDS = ("arm_type", "description", "interventions")
ATOM_KINDS: tuple[str, ...] = get_args(AtomKind)
ASSERTIONS: tuple[str, ...] = get_args(Assertion)
COMPARATORS = (">=", ">", "<=", "<", "=", "in", "between")
# The trial fields the stored criteria are parsed from (`_eligibility_text`, `selectors.trial_parse_key`).
PARSED_FIELDS = ("eligibility_text", "minimum_age_years", "maximum_age_years", "sex")
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


def trial_import_record(
    *,
    record: TrialRecord,
    source: str,
    cache: RegistryCache | None = None,
    parse: bool = True,
    parse_queue: list[int] | None = None,
) -> Outcome:
    """Create or update one trial with its arms and sites from an imported record, in one transaction.

    Idempotent: a record identical to the last one imported (same checksum) changes nothing and writes
    nothing; a changed record updates the trial in place and logs which fields changed. Arms are matched by
    label: their curator-owned fields survive, and arms the registry no longer lists are removed (suspended
    instead while patients were matched or enrolled in them). What the record's format does not carry
    (`record.absent`, e.g. arms and sites in a flat export) is left alone.
    With `parse`, a created or changed trial is parsed after the commit; given `parse_queue`, its id is
    appended there for the caller to queue with others (`trials_parse_on_commit`), as parsing many trials in
    one call costs less per trial.
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
            trial = _trial_create(record=record, source=source, sponsor_id=sponsor_id, site_ids=site_ids)
            outcome = Outcome.CREATED
        else:
            outcome = _trial_update(
                trial=trial,
                record=record,
                source=source,
                sponsor_id=sponsor_id,
                site_ids=site_ids,
                parse=parse,
            )
        if parse and outcome is not Outcome.UNCHANGED:
            if parse_queue is None:
                trials_parse_on_commit(trial_ids=[trial.pk])
            else:
                parse_queue.append(trial.pk)
    cache.merge(created_here)
    return outcome


def trial_curation_record(
    *, trial: Trial, actor: AbstractBaseUser | AnonymousUser | None, fields: list[str]
) -> TrialEvent:
    """Append the history entry for a curator's edit of a trial or its arms, and act on the edit.

    The edit itself is saved by the caller (the admin form); this keeps who changed what. An edit of what the
    criteria are read from queues a parse after the commit, like an import; the parse re-matches the trial
    on the new criteria, so it is not re-matched here as well (that would match the old ones first), unless
    the edit also closed it (`_rematch_unless_parse_follows`).
    """
    parse_follows = any(name in PARSED_FIELDS for name in fields)
    if parse_follows:
        trials_parse_on_commit(trial_ids=[trial.pk])
    _rematch_unless_parse_follows(trial=trial, changed=fields, parse_follows=parse_follows)
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
        # Another import may create the same sponsor meanwhile: get_or_create inserts in a savepoint and,
        # when the name is taken, reads the other import's row.
        sponsor_id = Sponsor.objects.get_or_create(
            name=name, defaults={"agency_class": record.sponsor_class}
        )[0].pk
    created_here.sponsor_ids[name] = sponsor_id
    return sponsor_id


def _site_ids(
    sites: tuple[SiteRecord, ...], cache: RegistryCache, created_here: RegistryCache
) -> dict[str, int]:
    """Site id by key for every site of the record, creating the facilities not seen before."""
    ids = {site.key: cache.site_ids[site.key] for site in sites if site.key in cache.site_ids}
    missing = {site.key: site for site in sites if site.key not in ids}
    if missing:
        found = _sites_create(missing)
        created_here.site_ids.update(found)
        ids.update(found)
    return ids


def _sites_create(sites: dict[str, SiteRecord]) -> dict[str, int]:
    """Site id by key for these sites, creating those not in the database.

    Another import may create some of the same sites between the lookup and the insert (on PostgreSQL the
    insert then waits for it and fails on the unique key): the insert is undone alone, in its savepoint, and
    tried once more for the sites still missing after reading the other import's.
    """
    try:
        return _sites_insert_missing(sites)
    except IntegrityError:
        return _sites_insert_missing(sites)


def _sites_insert_missing(sites: dict[str, SiteRecord]) -> dict[str, int]:
    found = dict(Site.objects.filter(key__in=list(sites)).values_list("key", "id"))
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
        for key, site in sites.items()
        if key not in found
    ]
    with transaction.atomic():
        found.update((site.key, site.pk) for site in Site.objects.bulk_create(new))
    return found


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
) -> Trial:
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
    return trial


def trials_parse_on_commit(*, trial_ids: list[int]) -> None:
    """Queue one parse of these trials' eligibility texts for when the current transaction commits."""
    transaction.on_commit(partial(_enqueue_parse, list(trial_ids)))


def _enqueue_parse(trial_ids: list[int]) -> None:
    # Imported here: the tasks module imports this one.
    from trials.tasks import parse_trials_eligibility

    parse_trials_eligibility.delay(trial_ids)


def _trial_update(
    *,
    trial: Trial,
    record: TrialRecord,
    source: str,
    sponsor_id: int | None,
    site_ids: dict[str, int],
    parse: bool,
) -> Outcome:
    """With `parse`, a change of what the criteria are read from is re-matched by the parse that follows
    (as in `trial_curation_record`): a re-match here would first match the old criteria."""
    now = timezone.now()
    values = {**record.trial_fields(), "sponsor_id": sponsor_id}
    changed = [name for name, value in values.items() if getattr(trial, name) != value]
    for name in changed:
        setattr(trial, name, values[name])
    trial.source_checksum = record.checksum
    no_changes: dict[str, list[Any]] = {}
    arm_changes = no_changes if "arms" in record.absent else _arms_sync(trial, record.arms, now)
    site_changes = (
        no_changes if "sites" in record.absent else _trial_sites_sync(trial, record.sites, site_ids)
    )
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
    _rematch_unless_parse_follows(
        trial=trial, changed=changed, parse_follows=parse and any(name in PARSED_FIELDS for name in changed)
    )
    return Outcome.UPDATED


def _rematch_unless_parse_follows(*, trial: Trial, changed: Sequence[str], parse_follows: bool) -> None:
    """Re-match a changed trial, unless a parse follows that re-matches it on its new criteria (a re-match
    now would first match the old ones). A trial that stopped recruiting is re-matched now all the same:
    retiring its matches reads no criteria, and a parse whose retries run out would otherwise leave its
    patients matched to a closed trial until the nightly re-match."""
    if not parse_follows or ("overall_status" in changed and not trial.is_open):
        trial_changed(trial_id=trial.pk)


def _arms_sync(trial: Trial, arms: tuple[ArmRecord, ...], now: datetime) -> dict[str, list[str]]:
    """Brings the registry-owned arm fields in line with the record; returns the labels touched."""
    existing = {
        arm.label: arm for arm in trial.arms.only("id", "label", "is_suspended", *ARM_IMPORTED_FIELDS)
    }
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
    dropped = [existing[label] for label in existing if label not in wanted]
    # An arm patients were matched, taken up or enrolled in is their record (and the sponsor's counts): it
    # is suspended, so that it takes no one new, instead of deleted with their matches and snapshots.
    in_use = {arm.pk for arm in dropped if _arm_in_use(arm)}
    suspended = [arm.label for arm in dropped if arm.pk in in_use and not arm.is_suspended]
    removed = [arm.label for arm in dropped if arm.pk not in in_use]
    Arm.objects.filter(trial=trial, label__in=suspended).update(is_suspended=True)
    Arm.objects.filter(trial=trial, label__in=removed).delete()
    Arm.objects.bulk_update(updated, ARM_IMPORTED_FIELDS)
    Arm.objects.bulk_create(added)
    return {
        "added": [arm.label for arm in added],
        "updated": [arm.label for arm in updated],
        "removed": removed,
        "suspended": suspended,
    }


def trial_part_in_use(part: Arm | TrialSite) -> str:
    """Why this arm or trial site must stay (patients' records point at it), as the import keeps it; ""
    when it may be deleted."""
    if isinstance(part, Arm):
        if _arm_in_use(part):
            return "patients were matched, taken up or enrolled in this arm: suspend it instead"
        return ""
    if Candidate.objects.filter(trial_id=part.trial_id, site_id=part.site_id).exists():
        return "candidacies of the trial were taken up at this site: set its status to withdrawn instead"
    return ""


def _arm_in_use(arm: Arm) -> bool:
    return (
        Candidate.objects.filter(arm=arm).exists()
        or Match.objects.filter(arm=arm).exists()
        or EnrolmentSnapshot.objects.filter(arm=arm).exists()
    )


def _trial_sites_sync(
    trial: Trial, sites: tuple[SiteRecord, ...], site_ids: dict[str, int]
) -> dict[str, list[int]]:
    """Same for the trial's sites; returns the site ids touched. A site the registry no longer lists is
    removed, or withdrawn while candidacies of the trial were taken up there."""
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
    dropped = [site_id for site_id in existing if site_id not in wanted]
    # A site that took candidates for the trial keeps its link: its staff still see those candidacies (to
    # end them with a reason) and its screening log. It is withdrawn, so it takes no one new.
    with_candidates = set(
        Candidate.objects.filter(trial=trial, site_id__in=dropped).values_list("site_id", flat=True)
    )
    withdrawn = [
        site_id
        for site_id in dropped
        if site_id in with_candidates and existing[site_id].status != TrialSite.Status.WITHDRAWN
    ]
    removed = [site_id for site_id in dropped if site_id not in with_candidates]
    TrialSite.objects.filter(trial=trial, site_id__in=withdrawn).update(status=TrialSite.Status.WITHDRAWN)
    TrialSite.objects.filter(trial=trial, site_id__in=removed).delete()
    TrialSite.objects.bulk_update(updated, TRIAL_SITE_IMPORTED_FIELDS)
    TrialSite.objects.bulk_create(added)
    return {
        "added": [ts.site_id for ts in added],
        "updated": [ts.site_id for ts in updated],
        "removed": removed,
        "withdrawn": withdrawn,
    }


# --- Eligibility criteria: parsing and curation -------------------------------------------------------


class CriterionConflict(Exception):
    """Someone else changed the criterion since the form was loaded."""


class CriterionStateError(Exception):
    """The requested change does not apply to the criterion in its current state."""


@dataclass(frozen=True)
class ParseResult:
    trial_id: int
    skipped: bool
    created: int = 0
    updated: int = 0
    kept_curated: int = 0
    retired: int = 0
    restored: int = 0


def _criterion_key(section: str, text: str) -> str:
    normalised = " ".join(text.lower().split())
    return hashlib.sha256(f"{section}\x1f{normalised}".encode()).hexdigest()


def _age_text(years: Decimal | None) -> str | None:
    return None if years is None else f"{years.normalize():f} Years"


def _needs_review(node: Node) -> bool:
    return any(atom.review is not None or not atom.mapped for atom in iter_atoms(node))


def _cohorts_by_key(criteria: list[Criterion]) -> dict[str, str]:
    """The cohort label of each criterion, by text key; blank for those that apply to every cohort.

    Text repeated under several cohorts' headings is one criterion holding all their labels; repeated once
    without a label, it applies to every cohort.
    """
    labels: dict[str, list[str] | None] = {}
    for criterion in criteria:
        key = _criterion_key(criterion.section, criterion.text)
        found = labels.setdefault(key, [])
        if found is None:
            continue
        if criterion.cohort is None:
            labels[key] = None
        elif criterion.cohort not in found:
            found.append(criterion.cohort)
    return {key: LABEL_SEPARATOR.join(found or ()) for key, found in labels.items()}


def _eligibility_text(trial: Trial) -> EligibilityText:
    return EligibilityText(
        trial.eligibility_text,
        minimum_age=_age_text(trial.minimum_age_years),
        maximum_age=_age_text(trial.maximum_age_years),
        sex=trial.sex,
    )


def trial_parse_eligibility(*, trial_id: int, force: bool = False) -> ParseResult:
    """Parse a trial's eligibility text into stored criteria, keeping curators' work.

    A criterion is recognised across re-parses by its section and normalised text. Curated criteria keep
    their curated reading and status (the parser's new reading is stored beside it); criteria whose text has
    left the trial are retired, and restored with their curation if it comes back. Identical text parsed by
    the same parser and dictionaries is skipped.
    """
    return _trial_parse_eligibility(trial_id=trial_id, force=force, parsed_ahead={})


def trials_parse_eligibility(*, trial_ids: Sequence[int], force: bool = False) -> list[ParseResult]:
    """`trial_parse_eligibility` of each trial in turn (deleted trials are left out), parsed in one call.

    Parsing many texts together (`parse_eligibility_many`) costs less per text, so the texts to parse are
    read and parsed first, outside any lock; each trial is then locked and stored on its own, and one whose
    text, fields or parser changed in between is parsed again alone.
    """
    trials = list(Trial.objects.filter(pk__in=trial_ids))
    keys = [selectors.trial_parse_key(trial) for trial in trials]
    stale = [
        (key, trial)
        for key, trial in zip(keys, trials, strict=True)
        if force or trial.eligibility_parse_key != key
    ]
    parsed = parse_eligibility_many(_eligibility_text(trial) for _, trial in stale)
    parsed_ahead = {(trial.pk, key): p for (key, trial), p in zip(stale, parsed, strict=True)}
    results: list[ParseResult] = []
    for trial_id in trial_ids:
        try:
            results.append(
                _trial_parse_eligibility(trial_id=trial_id, force=force, parsed_ahead=parsed_ahead)
            )
        except Trial.DoesNotExist:
            continue
    return results


def _trial_parse_eligibility(
    *, trial_id: int, force: bool, parsed_ahead: dict[tuple[int, str], ParsedEligibility]
) -> ParseResult:
    """`parsed_ahead` holds parses by trial and parse key (`selectors.trial_parse_key`)."""
    with transaction.atomic():
        trial = Trial.objects.select_for_update().get(pk=trial_id)
        parse_key = selectors.trial_parse_key(trial)
        if trial.eligibility_parse_key == parse_key and not force:
            return ParseResult(trial_id=trial.pk, skipped=True)
        parsed = parsed_ahead.get((trial.pk, parse_key))
        if parsed is None:
            parsed = parse_eligibility(**_eligibility_text(trial)._asdict())

        now = timezone.now()
        # Locked, so that a curator's review saved meanwhile waits for this parse and then sees the new
        # revision, instead of one of the two writes being lost.
        existing: dict[str, EligibilityCriterion] = {}
        # A criterion whose text comes back is the one retired last with that text, curation and all.
        retired_by_key: dict[str, EligibilityCriterion] = {}
        for stored in trial.criteria.select_for_update().order_by("retired_at", "id"):
            if stored.retired_at is None:
                existing[stored.text_key] = stored
            else:
                retired_by_key[stored.text_key] = stored
        seen: set[str] = set()
        cohorts = _cohorts_by_key(parsed.criteria)
        created = updated = kept_curated = restored = 0
        reading_differs: list[int] = []
        for position, criterion in enumerate(parsed.criteria):
            key = _criterion_key(criterion.section, criterion.text)
            if key in seen:
                continue  # the same criterion written twice in one trial is one criterion
            seen.add(key)
            tree = node_to_dict(criterion.tree)
            mentions = [node_to_dict(atom) for atom in criterion.mentions]
            current = existing.get(key)
            if current is None and key in retired_by_key:
                current = retired_by_key[key]
                restored += 1
            if current is None:
                EligibilityCriterion.objects.create(
                    trial=trial,
                    position=position,
                    section=criterion.section,
                    text=criterion.text,
                    text_key=key,
                    span_start=criterion.span[0],
                    span_end=criterion.span[1],
                    parsed_tree=tree,
                    mentions=mentions,
                    cohort=cohorts[key],
                    needs_review=_needs_review(criterion.tree),
                    parser_version=parsed.parser_version,
                    dictionary_version=parsed.dictionary_version,
                )
                created += 1
                continue
            # Where the criterion sits in the text, not its reading: re-read even when a curator corrected it.
            # The words too: the key ignores case and spacing, and a rewrite in those shows the new words.
            values = {
                "text": criterion.text,
                "position": position,
                "span_start": criterion.span[0],
                "span_end": criterion.span[1],
                "parsed_tree": tree,
                "mentions": mentions,
                "cohort": cohorts[key],
                "parser_version": parsed.parser_version,
                "dictionary_version": parsed.dictionary_version,
                "retired_at": None,
            }
            if current.is_curated:
                kept_curated += 1
                # Compared where the criterion now sits: text added or removed above it moves its readings'
                # spans, which is no new reading; the curated reading's spans move with it.
                moved = criterion.span[0] - current.span_start
                if current.curated_tree is not None:
                    values["curated_tree"] = _moved(current.curated_tree, moved)
                if current.status == EligibilityCriterion.Status.ACCEPTED and tree == values["curated_tree"]:
                    values["reading_changed_at"] = None  # read as accepted again: nothing left to review
                elif tree != _moved(current.parsed_tree, moved):
                    # Kept until the next review: the curator's queue lists it (criteria_for_review).
                    reading_differs.append(current.pk)
                    values["reading_changed_at"] = now
            else:
                values["needs_review"] = _needs_review(criterion.tree)
                updated += 1
            changed = [name for name, value in values.items() if getattr(current, name) != value]
            if not changed:
                continue
            for name in changed:
                setattr(current, name, values[name])
            # A curator who opened the criterion before this parse reviewed what is no longer there.
            current.revision += 1
            current.updated_at = now
            current.save(update_fields=[*changed, "revision", "updated_at"])
        gone = [c.pk for key, c in existing.items() if key not in seen]
        retired = EligibilityCriterion.objects.filter(pk__in=gone).update(retired_at=now, updated_at=now)
        trial.eligibility_parse_key = parse_key
        trial.eligibility_parsed_at = now
        trial.save(update_fields=["eligibility_parse_key", "eligibility_parsed_at"])
        result = ParseResult(trial.pk, False, created, updated, kept_curated, retired, restored)
        TrialEvent.objects.create(
            trial=trial,
            kind=TrialEvent.Kind.PARSED,
            detail={
                "parser_version": parsed.parser_version,
                "dictionary_version": parsed.dictionary_version,
                "created": created,
                "updated": updated,
                "kept_curated": kept_curated,
                # Curated criteria whose parser reading changed under the reading a curator chose.
                "curated_reading_differs": reading_differs,
                "retired": retired,
                "restored": restored,
            },
        )
        trial_changed(trial_id=trial.pk)
    return result


def _moved(tree: dict[str, Any], offset: int) -> dict[str, Any]:
    """The tree with every position in the text (atom, window and assertion cue spans) moved by `offset`."""
    if not offset:
        return tree
    if tree.get("type") == "atom":
        moved = {**tree, "span": [tree["span"][0] + offset, tree["span"][1] + offset]}
        if tree.get("assertion_cue") is not None:
            moved["assertion_cue"] = [at + offset for at in tree["assertion_cue"]]
        window = tree.get("window")
        if window is not None and window.get("span") is not None:
            moved["window"] = {**window, "span": [at + offset for at in window["span"]]}
        return moved
    nested: dict[str, Any] = {key: _moved(tree[key], offset) for key in _CHILD_KEYS if key in tree}
    if "children" in tree:
        nested["children"] = [_moved(child, offset) for child in tree["children"]]
    return {**tree, **nested}


def criterion_review(
    *,
    criterion_id: int,
    actor: User,
    action: str,
    revision: int,
    tree: dict[str, Any] | None = None,
    note: str = "",
) -> EligibilityCriterion:
    """A curator accepts the parser's reading, corrects it with a tree of their own, or marks the criterion
    unparseable (then the matcher shows it to the site as a criterion to check by hand).

    `revision` is the one the curator saw; if the criterion changed since, nothing is written and
    CriterionConflict says so.
    """
    if not actor.is_curator:
        raise PermissionDenied("only curators review criteria")
    trial_id = EligibilityCriterion.objects.values_list("trial_id", flat=True).get(pk=criterion_id)
    with transaction.atomic():
        # The trial first, then the criterion: the order a parse takes them in, so that the two wait for
        # each other rather than deadlock.
        Trial.objects.select_for_update().only("pk").get(pk=trial_id)
        criterion = (
            EligibilityCriterion.objects.select_for_update().select_related("trial").get(pk=criterion_id)
        )
        if criterion.revision != revision:
            raise CriterionConflict(
                f"{criterion.trial.nct_id} criterion #{criterion.position} was changed by someone else "
                "since you opened it; reload to see the current version."
            )
        if criterion.retired_at is not None:
            raise CriterionStateError("this criterion is no longer in the trial's eligibility text")
        before = {"status": criterion.status, "tree": criterion.effective_tree}
        if action == "accept":
            # The reading the curator saw (`revision` says it has not changed since) is the one accepted.
            criterion.status = EligibilityCriterion.Status.ACCEPTED
            criterion.curated_tree = criterion.parsed_tree
        elif action == "correct":
            if tree is None:
                raise CriterionStateError("a correction needs the corrected tree")
            criterion.status = EligibilityCriterion.Status.CORRECTED
            criterion.curated_tree = validate_tree(tree)
        elif action == "unparseable":
            criterion.status = EligibilityCriterion.Status.UNPARSEABLE
            criterion.curated_tree = None
        elif action == "reset":
            criterion.status = EligibilityCriterion.Status.PARSED
            criterion.curated_tree = None
        else:
            raise CriterionStateError(f"unknown review action {action!r}")
        criterion.curator_note = note
        criterion.reviewed_by = actor
        criterion.reviewed_at = timezone.now()
        criterion.updated_at = criterion.reviewed_at
        criterion.reading_changed_at = None  # this review saw the parser's current reading
        criterion.needs_review = action == "reset" and _needs_review(node_from_dict(criterion.parsed_tree))
        criterion.revision += 1
        criterion.save(
            update_fields=[
                "status",
                "curated_tree",
                "curator_note",
                "reviewed_by",
                "reviewed_at",
                "reading_changed_at",
                "updated_at",
                "needs_review",
                "revision",
            ]
        )
        TrialEvent.objects.create(
            trial=criterion.trial,
            kind=TrialEvent.Kind.CURATED,
            actor=actor,
            detail={
                "criterion_id": criterion.pk,
                "action": action,
                "note": note,
                "before": before,
                "after": {"status": criterion.status, "tree": criterion.effective_tree},
            },
        )
        trial_changed(trial_id=criterion.trial_id)
    return criterion


def _with_atom_defaults(tree: Any) -> Any:
    """Let a curator leave out atom fields that have a default (value, unit, window, ...)."""
    if not isinstance(tree, dict):
        return tree
    if tree.get("type") == "atom":
        defaults = {f.name: f.default for f in fields(Atom) if f.default is not MISSING}
        defaults["values"] = []
        return {**defaults, **tree}
    nested = {k: _with_atom_defaults(v) for k, v in tree.items() if k in ("child", "main", "exception")}
    if isinstance(tree.get("children"), list):
        nested["children"] = [_with_atom_defaults(child) for child in tree["children"]]
    return {**tree, **nested}


# Deeper than any criterion needs; reading and matching a tree recurse once per level.
MAX_TREE_DEPTH = 50
_CHILD_KEYS = ("child", "main", "exception")


def unstorable_json_scalar(value: Any) -> str:
    """Why PostgreSQL's jsonb cannot store this JSON text, key or number, though SQLite does: a NUL character,
    NaN or an infinity (JSON text such as 1e999 reads as one); "" when it can."""
    if isinstance(value, str) and "\x00" in value:
        return f"{value!r} holds a NUL character (\\x00), which cannot be stored"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a number that can be stored"
    return ""


def unstorable_json(value: Any) -> str:
    """The first unstorable_json_scalar problem anywhere in `value`, walked without recursion; "" if none."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif problem := unstorable_json_scalar(item):
            return problem
    return ""


def _check_depth_and_values(tree: dict[str, Any]) -> None:
    """Refuse a tree nested more than MAX_TREE_DEPTH nodes deep, or with an atom field nested as deeply, or
    holding what PostgreSQL's jsonb cannot store (`unstorable_json_scalar`).

    Walked with a stack, not by recursion, so that however deep the tree is the check itself cannot fail.
    """
    # (value, its node level, how deep it sits inside an atom field; 0 for a node itself)
    stack: list[tuple[Any, int, int]] = [(tree, 1, 0)]
    while stack:
        value, level, inner = stack.pop()
        if level > MAX_TREE_DEPTH or inner > MAX_TREE_DEPTH:
            raise ValidationError(f"the tree is nested more than {MAX_TREE_DEPTH} levels deep")
        if isinstance(value, dict):
            for key, item in value.items():
                if problem := unstorable_json_scalar(key):
                    raise ValidationError(problem)
                if inner == 0 and key in _CHILD_KEYS:
                    stack.append((item, level + 1, 0))
                elif inner == 0 and key == "children" and isinstance(item, list):
                    stack.extend((child, level + 1, 0) for child in item)
                else:
                    stack.append((item, level, inner + 1))
        elif isinstance(value, list):
            stack.extend((item, level, inner + 1) for item in value)
        elif problem := unstorable_json_scalar(value):
            raise ValidationError(problem)


def validate_tree(tree: Any) -> dict[str, Any]:
    """Check a curator's tree against the criteria-tree model and return its canonical form.

    Raises ValidationError naming what is wrong, so the form can show it beside the editor.
    """
    if not isinstance(tree, dict):
        raise ValidationError("the tree must be a JSON object with a 'type'")
    _check_depth_and_values(tree)
    try:
        node = node_from_dict(_with_atom_defaults(tree))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ValidationError(f"not a valid criteria tree: {exc.__class__.__name__}: {exc}") from exc
    for atom in iter_atoms(node):
        if atom.kind not in ATOM_KINDS:
            raise ValidationError(f"unknown atom kind {atom.kind!r}; expected one of {', '.join(ATOM_KINDS)}")
        if atom.comparator is not None and atom.comparator not in COMPARATORS:
            raise ValidationError(
                f"unknown comparator {atom.comparator!r}; expected one of {', '.join(COMPARATORS)}"
            )
        if (
            atom.comparator not in (None, "in")
            and atom.value is None
            and atom.uln_multiple is None
            and atom.lln_multiple is None
        ):
            raise ValidationError(f"atom {atom.text!r} has comparator {atom.comparator} but no value")
        if atom.comparator == "between" and atom.value_high is None:
            raise ValidationError(f"atom {atom.text!r} is between {atom.value} and no value_high")
        _check_atom_types(atom)
    return node_to_dict(node)


# Beyond any lab value, score or multiple a criterion states; the engine formats and converts these as floats.
MAX_ATOM_NUMBER = 1e12
MAX_WINDOW_AMOUNT = 1000
"""Units of a time window (days to years): a thousand years is past any washout; more is a typing error
that the engine's date arithmetic cannot take."""
# The words of a time window the matcher reads (recruitment.matching.atoms): another unit counted as days,
# another relation as "at_least".
WINDOW_UNITS = ("days", "weeks", "months", "years")
WINDOW_RELATIONS = ("within", "at_least", "current")
_ATOM_TEXTS = ("text", "rule_id", "unit", "alteration", "assay", "review")
_ATOM_NUMBERS = ("value", "value_high", "uln_multiple", "lln_multiple")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= MAX_ATOM_NUMBER


def _check_atom_types(atom: Atom) -> None:
    """Refuse an atom whose fields are not of the types the matcher reads: the tree model takes any JSON
    there, and an ECOG value of "one" or a window of "six" months passed and then failed every evaluation
    of the trial."""
    where = f"atom {atom.text!r}" if isinstance(atom.text, str) else "an atom"
    for name in _ATOM_TEXTS:
        value = getattr(atom, name)
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"{where}: {name} must be text, not {value!r}")
    for name in _ATOM_NUMBERS:
        value = getattr(atom, name)
        if value is not None and not _is_number(value):
            raise ValidationError(
                f"{where}: {name} must be a number of at most {MAX_ATOM_NUMBER:g}, not {value!r}"
            )
    if atom.assertion not in ASSERTIONS:
        raise ValidationError(
            f"{where}: assertion must be one of {', '.join(ASSERTIONS)}, not {atom.assertion!r}"
        )
    if not all(_is_number(value) for value in atom.values):
        raise ValidationError(f"{where}: values must be numbers, not {list(atom.values)!r}")
    if not all(isinstance(part, int) and not isinstance(part, bool) for part in atom.span):
        raise ValidationError(f"{where}: span must be two whole numbers, not {list(atom.span)!r}")
    if not _is_number(atom.confidence):
        raise ValidationError(f"{where}: confidence must be a number, not {atom.confidence!r}")
    concept = atom.concept
    if concept is not None and not all(
        isinstance(part, str) for part in (concept.system, concept.code, concept.label)
    ):
        raise ValidationError(f"{where}: the concept's system, code and label must be text")
    if concept is not None and not concept.code.strip():
        raise ValidationError(f"{where}: the concept's code must not be blank")
    window = atom.window
    if window is not None:
        if not (isinstance(window.unit, str) and isinstance(window.relation, str)):
            raise ValidationError(f"{where}: the window's unit and relation must be text")
        if window.unit not in WINDOW_UNITS:
            raise ValidationError(
                f"{where}: the window's unit must be one of {', '.join(WINDOW_UNITS)}, not {window.unit!r}"
            )
        if window.relation not in WINDOW_RELATIONS:
            raise ValidationError(
                f"{where}: the window's relation must be one of {', '.join(WINDOW_RELATIONS)}, "
                f"not {window.relation!r}"
            )
        if not (_is_number(window.amount) and 0 <= window.amount <= MAX_WINDOW_AMOUNT):
            raise ValidationError(
                f"{where}: the window's amount must be a number from 0 to {MAX_WINDOW_AMOUNT}, "
                f"not {window.amount!r}"
            )
