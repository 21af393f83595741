"""Sponsor aggregates. Nothing here returns a patient-level row: every count goes through suppression
before it leaves, and times and projections are shown only when the counts behind them are large enough."""

import math
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone

from recruitment.models import (
    Candidate,
    CandidateEvent,
    CandidateStatus,
    EnrolmentSnapshot,
    User,
)
from recruitment.selectors.site import arm_enrolled_counts, arm_is_closed
from recruitment.suppression import HIDDEN, HIGH, SMALL, Suppressed, suppress, suppress_one
from trials.models import Arm, Site, Trial

S = CandidateStatus
FUNNEL_STATES: tuple[str, ...] = tuple(CandidateStatus.values)
MIN_FOR_TIMES = 11
MAX_CHART_POINTS = 27
"""Above this many days a chart shows one point a week (ending on the latest day), so it stays legible."""
MIN_CHART_STEP = HIGH + 1
"""A chart's line moves only by at least this much: a smaller step between two days would tell how many
patients (1-10) enrolled in between, so the last value shown is carried until the change since it is big
enough."""


def sponsor_trials(*, user: User) -> QuerySet[Trial]:
    return Trial.objects.filter(sponsor__memberships__user=user).distinct().order_by("nct_id")


@dataclass(frozen=True)
class CohortRow:
    arm: Arm
    enrolled: str
    target: int | None
    cap: int | None
    """None when there is no cap, or when it is not shown: a full cohort's cap is its enrolled count, so a
    cap is shown only beside an enrolled count that is shown, and never when it is 1-10."""
    closed: bool | None
    """Full or suspended; None when that is not shown: a cohort's cap is registry data anyone signed in reads,
    so whether one whose count is withheld is full would tell the count (full) or narrow it (open)."""
    cap_hidden: bool = False


@dataclass(frozen=True)
class ChartPoint:
    day: date
    shown: str
    """What the data table shows: the count drawn, or the suppression mark."""
    value: int | None
    """The count to draw, None when it is suppressed (then no number is drawn). It is the last count
    published for the series until the count has moved by MIN_CHART_STEP or more since."""


@dataclass(frozen=True)
class ChartSeries:
    label: str
    points: list[ChartPoint]
    target: int | None = None


@dataclass(frozen=True)
class EnrolmentChart:
    """Cumulative enrolment over time from the daily snapshots, one series per site or cohort."""

    key: str
    title: str
    days: list[date]
    series: list[ChartSeries]


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
    charts: list[EnrolmentChart] = field(default_factory=list)
    figures_as_of: date | None = None
    """The day of the snapshot the enrolment figures (totals, per site and cohort, charts) come from: a day,
    not a time, since the time of a refresh is the time of a transition at a site."""
    cohort_total: str = ""
    """The per-cohort table's own total, suppressed with its cells."""


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


def _projection(trial: Trial, enrolled: int, target: int | None, *, enrolled_shown: bool) -> str:
    """The projected completion; with a rate only when the enrolled count itself is shown, since the rate
    over the days since the first enrolment gives it back."""
    if target is None:
        return "no enrolment target registered"
    if not enrolled_shown:
        return "too few enrolments to project" if enrolled < MIN_FOR_TIMES else "not shown: small counts"
    if enrolled >= target:
        return "target reached"
    if enrolled < MIN_FOR_TIMES:
        return "too few enrolments to project"
    first = (
        CandidateEvent.objects.filter(
            candidate__trial=trial, kind=CandidateEvent.Kind.TRANSITION, to_status=CandidateStatus.ENROLLED
        )
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    now = timezone.now()
    days = max((now - first).days, 7) if first else 7
    per_day = enrolled / days
    finish = now + timedelta(days=math.ceil((target - enrolled) / per_day))
    return f"{finish:%d %b %Y} at {per_day * 30:.1f} enrolments a month"


def _chart_days(days: list[date]) -> list[date]:
    if len(days) <= MAX_CHART_POINTS:
        return days
    latest = days[-1]
    return [day for day in days if (latest - day).days % 7 == 0][-MAX_CHART_POINTS:]


def _series(
    label: str, key: Hashable, cells_by_day: dict[date, dict[Any, str]], days: list[date], target: int | None
) -> ChartSeries:
    points = []
    published: int | None = None
    for day in days:
        shown = cells_by_day[day][key]
        if shown in (SMALL, HIDDEN):
            points.append(ChartPoint(day, shown, None))
            continue
        count = int(shown)
        if published is None or abs(count - published) >= MIN_CHART_STEP:
            published = count
        points.append(ChartPoint(day, str(published), published))
    return ChartSeries(label, points, target)


def enrolment_charts(*, trial: Trial) -> list[EnrolmentChart]:
    """Enrolment over time per site (with the trial total against its target) and per cohort (each against
    its own target), from the daily snapshots. Each day's counts are suppressed as one table with its
    total, like the dashboard's tables: a suppressed point carries no number. A series moves only in steps
    of MIN_CHART_STEP or more, so that two days cannot be differenced into a small count."""
    per_site: dict[date, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    per_arm: dict[date, dict[int | None, int]] = defaultdict(lambda: defaultdict(int))
    for day, site_id, arm_id, enrolled in EnrolmentSnapshot.objects.filter(trial=trial).values_list(
        "day", "site_id", "arm_id", "enrolled"
    ):
        per_site[day][site_id] += enrolled
        per_arm[day][arm_id] += enrolled
    days = _chart_days(sorted(per_site))
    if not days:
        return []
    sites = list(Site.objects.filter(trial_sites__trial=trial).distinct().order_by("facility", "id"))
    arms = list(trial.arms.order_by("label", "id"))
    site_cells: dict[date, dict[Any, str]] = {}
    arm_cells: dict[date, dict[Any, str]] = {}
    for day in days:
        by_site, by_arm = _enrolment_tables(
            {site.pk: per_site[day].get(site.pk, 0) for site in sites},
            {arm.pk: per_arm[day].get(arm.pk, 0) for arm in arms},
        )
        site_cells[day] = {**by_site.cells, "total": by_site.total}
        arm_cells[day] = by_arm.cells
    target = _trial_target(trial, arms)
    charts = [
        EnrolmentChart(
            key="sites",
            title="Enrolment over time per site",
            days=days,
            series=[
                _series("All sites", "total", site_cells, days, target),
                *(_series(site.facility, site.pk, site_cells, days, None) for site in sites),
            ],
        )
    ]
    if arms:
        charts.append(
            EnrolmentChart(
                key="cohorts",
                title="Enrolment over time per cohort",
                days=days,
                series=[_series(arm.label, arm.pk, arm_cells, days, arm.enrolment_target) for arm in arms],
            )
        )
    return charts


def _enrolment_tables(sites: dict[int, int], arms: dict[int, int]) -> tuple[Suppressed[int], Suppressed[int]]:
    """One day's enrolled counts per site and per cohort, suppressed together. When every enrolment is in a
    cohort both tables add up to one total: where either must withhold it (its small cells would be told
    by it), the other must not give it back, by its own total or by cells that all show."""
    by_site, by_arm = suppress(sites), suppress(arms)
    if arms and sum(arms.values()) == sum(sites.values()) and HIDDEN in (by_site.total, by_arm.total):
        return _total_withheld(by_site), _total_withheld(by_arm)
    return by_site, by_arm


def _total_withheld(table: Suppressed[int]) -> Suppressed[int]:
    """`table` with its total withheld and, unless one of its cells is withheld already, its largest shown
    cell too: a withheld cell has no upper bound, so the cells no longer add up to the total."""
    if table.total == SMALL:
        return table
    cells = dict(table.cells)
    shown = [key for key, cell in cells.items() if cell not in (SMALL, HIDDEN) and cell != "0"]
    if shown and HIDDEN not in cells.values():
        cells[max(shown, key=lambda key: int(cells[key]))] = HIDDEN
    return Suppressed(cells=cells, total=HIDDEN)


def _trial_target(trial: Trial, arms: list[Arm]) -> int | None:
    arm_targets = [arm.enrolment_target for arm in arms if arm.enrolment_target]
    return sum(arm_targets) if arm_targets else trial.enrollment


def _latest_enrolment(trial: Trial) -> tuple[dict[int, int], dict[int, int], date | None]:
    """Enrolled per site and per arm in the trial's latest snapshot, and its day."""
    latest = (
        EnrolmentSnapshot.objects.filter(trial=trial).order_by("-day").values_list("day", flat=True).first()
    )
    by_site: dict[int, int] = defaultdict(int)
    by_arm: dict[int, int] = defaultdict(int)
    if latest is None:
        return by_site, by_arm, None
    for site_id, arm_id, enrolled in EnrolmentSnapshot.objects.filter(trial=trial, day=latest).values_list(
        "site_id", "arm_id", "enrolled"
    ):
        by_site[site_id] += enrolled
        if arm_id is not None:
            by_arm[arm_id] += enrolled
    return by_site, by_arm, latest


def _tells(table: Suppressed[Any], total: int) -> bool:
    """Whether a suppressed table gives away `total`, its sum: shown as its total, or as the sum of its cells
    when every one is shown."""
    return table.total == str(total) or all(cell not in (SMALL, HIDDEN) for cell in table.cells.values())


def sponsor_trial_dashboard(*, trial: Trial) -> TrialDashboard:
    """Suppressed aggregates of one trial's recruitment, for the sponsor's monitors."""
    candidates = Candidate.objects.filter(trial=trial)
    status_counts = dict(candidates.values_list("status").annotate(n=Count("id")))
    # Enrolment figures come from the snapshots, refreshed after every transition and by the beat task.
    site_counts, arm_snapshot, as_of = _latest_enrolment(trial)
    enrolled = sum(site_counts.values())

    # By site, as the chart: registries give many sites one name ("Research Site"), and a table keyed by the
    # name kept one of them, leaving the others' enrolments out of the headline the chart drew them in.
    sites = list(Site.objects.filter(trial_sites__trial=trial).distinct().order_by("facility", "id"))

    arms = list(trial.arms.order_by("id"))
    # Whether a cohort is full is read live: it is what stops new candidates.
    arm_counts = arm_enrolled_counts(trial_id=trial.pk)
    by_site, by_arm = _enrolment_tables(
        {site.pk: site_counts.get(site.pk, 0) for site in sites},
        {arm.pk: arm_snapshot.get(arm.pk, 0) for arm in arms},
    )
    cohorts = []
    for arm in arms:
        # "Full" beside a cap gives the enrolled count away: the cap goes with a shown count only.
        cap_shown = arm.cap is not None and arm.cap > HIGH and by_arm.cells[arm.pk] not in (SMALL, HIDDEN)
        cohorts.append(
            CohortRow(
                arm=arm,
                enrolled=by_arm.cells[arm.pk],
                target=arm.enrolment_target,
                cap=arm.cap if cap_shown else None,
                closed=(
                    arm_is_closed(arm=arm, enrolled=arm_counts.get(arm.pk, 0))
                    if arm.is_suspended or arm.cap is None or by_arm.cells[arm.pk] not in (SMALL, HIDDEN)
                    else None
                ),
                cap_hidden=arm.cap is not None and not cap_shown,
            )
        )
    target = _trial_target(trial, arms)
    # The total shown is the per-site table's own, suppressed with its cells (a plain count beside two
    # "1-10" sites could give both away), and withheld with the cohort table's (`_enrolment_tables`).
    enrolled_total = by_site.total
    # The funnel's Enrolled cell is the count the tables above give when they give it: hiding that cell as a
    # complement would hide nothing, and the funnel's total would give its small cells back.
    enrolled_told = status_counts.get(CandidateStatus.ENROLLED, 0) == enrolled and (
        _tells(by_site, enrolled) or (sum(arm_snapshot.values()) == enrolled and _tells(by_arm, enrolled))
    )
    funnel = suppress(
        {status: status_counts.get(status, 0) for status in FUNNEL_STATES},
        published={CandidateStatus.ENROLLED} if enrolled_told else (),
    )
    if enrolled_total == HIDDEN and funnel.cells[CandidateStatus.ENROLLED] not in (SMALL, HIDDEN, "0"):
        # Where the tables withhold the enrolled total, the funnel's Enrolled cell must not tell it instead,
        # nor the funnel's total less its other cells.
        funnel = Suppressed(cells={**funnel.cells, CandidateStatus.ENROLLED: HIDDEN}, total=HIDDEN)

    failed = status_counts.get(CandidateStatus.SCREEN_FAILED, 0)
    screened = failed + enrolled
    # With the rate, any one of failed, enrolled and screened gives the other two: each must be large and
    # each shown count of them must be the count itself.
    rate_hides = (
        any(suppress_one(n) != str(n) for n in (failed, enrolled, screened) if n)
        or enrolled_total != str(enrolled)
        or funnel.cells[CandidateStatus.SCREEN_FAILED] != str(failed)
    )
    if rate_hides or (screened == 0 and funnel.cells[CandidateStatus.ENROLLED] != "0"):
        rate = "suppressed"
    elif screened == 0:
        # Enrolled and Screen failed are shown as 0 beside it: there is no rate yet, and saying so gives
        # nothing away.
        rate = "no one has finished screening yet"
    else:
        rate = f"{failed / screened:.0%}"
    failing = dict(
        # Moves only: a view of a screen-failed candidate's page is an event "to" that status as well.
        CandidateEvent.objects.filter(
            candidate__trial=trial,
            kind=CandidateEvent.Kind.TRANSITION,
            to_status=CandidateStatus.SCREEN_FAILED,
        )
        .values_list("criterion__text")
        .annotate(n=Count("id"))
    )
    failing_shown = suppress({str(text): n for text, n in failing.items()})
    if funnel.cells[CandidateStatus.SCREEN_FAILED] == HIDDEN:
        # The reasons add up to the funnel's Screen failed cell: where the funnel withholds it (the
        # complement of a small cell), shown reasons would give it back, and with it the small cell.
        failing_shown = Suppressed(cells=dict.fromkeys(failing_shown.cells, HIDDEN), total=HIDDEN)
    top = sorted(failing.items(), key=lambda item: -item[1])[:5]

    return TrialDashboard(
        trial=trial,
        enrolled_total=enrolled_total,
        target=target,
        by_site=[(site.facility, by_site.cells[site.pk]) for site in sites],
        by_cohort=cohorts,
        funnel=[(CandidateStatus(s).label, funnel.cells[s]) for s in FUNNEL_STATES],
        funnel_total=funnel.total,
        screen_fail_rate=rate,
        top_failing=[(str(text), failing_shown.cells[str(text)]) for text, _ in top],
        median_days=_stage_times(trial),
        projected_completion=_projection(
            trial, enrolled, target, enrolled_shown=enrolled_total == str(enrolled)
        ),
        charts=enrolment_charts(trial=trial),
        figures_as_of=as_of,
        cohort_total=by_arm.total,
    )
