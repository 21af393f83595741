"""Sponsor aggregates. Nothing here returns a patient-level row: every count goes through suppression
before it leaves, and times and projections are shown only when the counts behind them are large enough."""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone

from recruitment.models import (
    Candidate,
    CandidateEvent,
    CandidateStatus,
    User,
)
from recruitment.selectors.site import arm_enrolled_counts, arm_is_closed
from recruitment.suppression import HIGH, suppress, suppress_one
from trials.models import Arm, Site, Trial

S = CandidateStatus
FUNNEL_STATES: tuple[str, ...] = tuple(CandidateStatus.values)
MIN_FOR_TIMES = 11


def sponsor_trials(*, user: User) -> QuerySet[Trial]:
    return Trial.objects.filter(sponsor__memberships__user=user).distinct().order_by("nct_id")


@dataclass(frozen=True)
class CohortRow:
    arm: Arm
    enrolled: str
    target: int | None
    cap: int | None
    closed: bool


@dataclass(frozen=True)
class TrialDashboard:
    trial: Trial
    enrolled_total: str
    target: int | None
    by_site: list[tuple[str, str]]
    by_cohort: list[CohortRow]
    funnel: list[tuple[str, str]]
    funnel_total: str
    screen_fail_rate: str
    top_failing: list[tuple[str, str]]
    median_days: list[tuple[str, str]]
    projected_completion: str


def _median_days(deltas: list[float]) -> str:
    if len(deltas) < MIN_FOR_TIMES:
        return "too few to show"
    ordered = sorted(deltas)
    middle = len(ordered) // 2
    value = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return f"{value:.0f} days"


def _stage_times(trial: Trial) -> list[tuple[str, str]]:
    reached: dict[int, dict[str, Any]] = defaultdict(dict)
    events = CandidateEvent.objects.filter(
        candidate__trial=trial,
        kind__in=[CandidateEvent.Kind.CREATED, CandidateEvent.Kind.TRANSITION],
        to_status__in=[
            CandidateStatus.MATCHED,
            CandidateStatus.CONTACTED,
            CandidateStatus.CONSENTED,
            CandidateStatus.ENROLLED,
        ],
    ).values_list("candidate_id", "to_status", "created_at")
    for candidate_id, status, at in events:
        reached[candidate_id].setdefault(status, at)
    stages = [
        ("Match to contact", CandidateStatus.MATCHED, CandidateStatus.CONTACTED),
        ("Contact to consent", CandidateStatus.CONTACTED, CandidateStatus.CONSENTED),
        ("Consent to enrolment", CandidateStatus.CONSENTED, CandidateStatus.ENROLLED),
        ("Match to enrolment", CandidateStatus.MATCHED, CandidateStatus.ENROLLED),
    ]
    return [
        (
            label,
            _median_days(
                [
                    (times[end] - times[start]).total_seconds() / 86400
                    for times in reached.values()
                    if start in times and end in times
                ]
            ),
        )
        for label, start, end in stages
    ]


def _projection(trial: Trial, enrolled: int, target: int | None) -> str:
    if target is None:
        return "no enrolment target registered"
    if enrolled >= target:
        return "target reached"
    if enrolled < MIN_FOR_TIMES:
        return "too few enrolments to project"
    first = (
        CandidateEvent.objects.filter(candidate__trial=trial, to_status=CandidateStatus.ENROLLED)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    now = timezone.now()
    days = max((now - first).days, 7) if first else 7
    per_day = enrolled / days
    finish = now + timedelta(days=math.ceil((target - enrolled) / per_day))
    return f"{finish:%d %b %Y} at {per_day * 30:.1f} enrolments a month"


def sponsor_trial_dashboard(*, trial: Trial) -> TrialDashboard:
    """Suppressed aggregates of one trial's recruitment, for the sponsor's monitors."""
    candidates = Candidate.objects.filter(trial=trial)
    status_counts = dict(candidates.values_list("status").annotate(n=Count("id")))
    funnel = suppress({status: status_counts.get(status, 0) for status in FUNNEL_STATES})
    enrolled = status_counts.get(CandidateStatus.ENROLLED, 0)
    enrolled_rows = candidates.filter(status=CandidateStatus.ENROLLED)

    site_counts = dict(enrolled_rows.values_list("site_id").annotate(n=Count("id")))
    sites = Site.objects.filter(trial_sites__trial=trial).distinct().order_by("facility")
    by_site = suppress({site.facility: site_counts.get(site.pk, 0) for site in sites})

    arms = list(trial.arms.order_by("id"))
    arm_counts = arm_enrolled_counts(trial_id=trial.pk)
    by_arm = suppress({arm.pk: arm_counts.get(arm.pk, 0) for arm in arms})
    cohorts = [
        CohortRow(
            arm=arm,
            enrolled=by_arm.cells[arm.pk],
            target=arm.enrolment_target,
            cap=arm.cap,
            closed=arm_is_closed(arm=arm, enrolled=arm_counts.get(arm.pk, 0)),
        )
        for arm in arms
    ]
    arm_targets = [arm.enrolment_target for arm in arms if arm.enrolment_target]
    target = sum(arm_targets) if arm_targets else trial.enrollment

    failed = status_counts.get(CandidateStatus.SCREEN_FAILED, 0)
    screened = failed + enrolled
    rate = (
        "suppressed"
        if suppress_one(failed) != str(failed) or screened <= HIGH
        else f"{failed / screened:.0%}"
    )
    failing = dict(
        CandidateEvent.objects.filter(candidate__trial=trial, to_status=CandidateStatus.SCREEN_FAILED)
        .values_list("criterion__text")
        .annotate(n=Count("id"))
    )
    failing_shown = suppress({str(text): n for text, n in failing.items()})
    top = sorted(failing.items(), key=lambda item: -item[1])[:5]

    return TrialDashboard(
        trial=trial,
        enrolled_total=suppress_one(enrolled),
        target=target,
        by_site=list(by_site.cells.items()),
        by_cohort=cohorts,
        funnel=[(CandidateStatus(s).label, funnel.cells[s]) for s in FUNNEL_STATES],
        funnel_total=funnel.total,
        screen_fail_rate=rate,
        top_failing=[(str(text), failing_shown.cells[str(text)]) for text, _ in top],
        median_days=_stage_times(trial),
        projected_completion=_projection(trial, enrolled, target),
    )
