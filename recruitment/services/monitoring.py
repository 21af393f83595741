"""Writes for sponsor monitoring: the daily enrolment snapshots per trial, site and cohort.

Snapshots are recomputed from the append-only candidate history, so a day can be taken (or taken again)
at any time with the same result, and missing days are filled in from the same events."""

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from recruitment.models import Candidate, CandidateEvent, CandidateStatus, EnrolmentSnapshot
from trials.models import Trial

S = CandidateStatus

SNAPSHOT_STAGES: dict[str, str] = {
    "consented": S.CONSENTED,
    "screened": S.SCREENING,
    "screen_failed": S.SCREEN_FAILED,
    "enrolled": S.ENROLLED,
}
"""Snapshot column -> the state a candidate must have reached by the end of the day to count in it."""

BACKFILL_DAYS = 366
"""How far back a refresh fills in days with no snapshot (a trial's first year, or the last one)."""


def _end_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def _rows(trial: Trial, days: list[date]) -> list[EnrolmentSnapshot]:
    """The snapshot rows of `days`, from one read of the trial's candidates and their history."""
    candidates = list(
        Candidate.objects.filter(trial=trial).values_list("id", "site_id", "arm_id", "created_at")
    )
    reached: dict[int, dict[str, datetime]] = defaultdict(dict)
    for candidate_id, status, at in (
        CandidateEvent.objects.filter(
            candidate__trial=trial,
            kind=CandidateEvent.Kind.TRANSITION,
            to_status__in=SNAPSHOT_STAGES.values(),
        )
        .order_by("created_at", "id")
        .values_list("candidate_id", "to_status", "created_at")
    ):
        reached[candidate_id].setdefault(status, at)
    taken_at = timezone.now()
    rows = []
    for day in days:
        end = _end_of(day)
        counts: dict[tuple[int, int | None], dict[str, int]] = defaultdict(
            lambda: dict.fromkeys(SNAPSHOT_STAGES, 0)
        )
        for candidate_id, site_id, arm_id, created_at in candidates:
            if created_at >= end:
                continue
            cell = counts[(site_id, arm_id)]
            for column, status in SNAPSHOT_STAGES.items():
                reached_at = reached[candidate_id].get(status)
                if reached_at is not None and reached_at < end:
                    cell[column] += 1
        rows += [
            EnrolmentSnapshot(trial=trial, day=day, site_id=site_id, arm_id=arm_id, taken_at=taken_at, **cell)
            for (site_id, arm_id), cell in counts.items()
        ]
    return rows


def enrolment_snapshots_take(*, trial_id: int, days: list[date]) -> list[EnrolmentSnapshot]:
    """Replace the trial's snapshot rows of `days` with ones computed from its history; idempotent."""
    with transaction.atomic():
        # Two refreshes of one trial (a transition and the beat task) write one after the other.
        trial = Trial.objects.select_for_update().filter(pk=trial_id).first()
        if trial is None or not days:
            return []
        EnrolmentSnapshot.objects.filter(trial=trial, day__in=days).delete()
        return EnrolmentSnapshot.objects.bulk_create(_rows(trial, days))


def enrolment_snapshots_refresh(*, trial_id: int, today: date | None = None) -> list[EnrolmentSnapshot]:
    """Take today's and yesterday's snapshots of the trial, and those of earlier days (since its first
    candidate, at most BACKFILL_DAYS back) that have none: the day the beat task did not run, or the trial's
    first refresh. Yesterday is taken again because its last snapshot may have been taken before the day
    ended (at a transition), and a day's snapshot is meant to count the whole local day."""
    today = today or timezone.localdate()
    first = (
        Candidate.objects.filter(trial_id=trial_id)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if first is None:
        return []
    start = max(timezone.localtime(first).date(), today - timedelta(days=BACKFILL_DAYS))
    taken = set(
        EnrolmentSnapshot.objects.filter(trial_id=trial_id, day__gte=start, day__lt=today).values_list(
            "day", flat=True
        )
    )
    yesterday = today - timedelta(days=1)
    missing = [
        start + timedelta(days=n)
        for n in range((today - start).days)
        if start + timedelta(days=n) not in taken or start + timedelta(days=n) == yesterday
    ]
    return enrolment_snapshots_take(trial_id=trial_id, days=[*missing, today])
