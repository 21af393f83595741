"""Reads for site staff. Staff reach candidates only through the sites they are members of, so another
site's candidate is simply not found."""

import math
import re
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    Expression,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import ASin, Cast, Cos, Least, Power, Radians, Sin, Sqrt
from django.utils import timezone

from recruitment.models import (
    OPEN_STATUSES,
    Biomarker,
    Candidate,
    CandidateEvent,
    CandidateStatus,
    Consent,
    Diagnosis,
    LabResult,
    Match,
    MatchEvent,
    PatientProfile,
    Procedure,
    ReasonCode,
    SiteAlert,
    StaffAlertSetting,
    Therapy,
    TrialInterest,
    User,
)
from recruitment.selectors.consent import (
    active_consents,
    current_contact_consent,
    patient_has_active_consent,
    profiles_with_active_consent,
)
from recruitment.selectors.portal import EARTH_RADIUS_KM, SITE_RECRUITING_STATUSES, _nearest
from trials.models import Arm, ConsentDocument, Site, Trial, TrialSite

S = CandidateStatus


def staff_site_ids(*, user: User) -> set[int]:
    return set(user.site_memberships.values_list("site_id", flat=True))


def arm_enrolled_counts(*, trial_id: int | None = None) -> dict[int, int]:
    """Enrolled candidates per arm of the trial (of every trial without one), in one query: what the arms'
    caps are checked against."""
    enrolled = Candidate.objects.filter(status=CandidateStatus.ENROLLED, arm__isnull=False)
    if trial_id is not None:
        enrolled = enrolled.filter(trial_id=trial_id)
    rows = enrolled.values("arm_id").annotate(n=Count("id"))
    return {row["arm_id"]: row["n"] for row in rows}


def arm_is_closed(*, arm: Arm, enrolled: int | None = None) -> bool:
    """A suspended arm, or one whose enrolment reached its cap, takes no new candidates."""
    if arm.is_suspended:
        return True
    if arm.cap is None:
        return False
    if enrolled is None:
        enrolled = Candidate.objects.filter(arm=arm, status=CandidateStatus.ENROLLED).count()
    return enrolled >= arm.cap


def closed_arm_ids(*, trial_id: int) -> set[int]:
    counts = arm_enrolled_counts(trial_id=trial_id)
    return {
        arm.pk
        for arm in Arm.objects.filter(trial_id=trial_id)
        if arm_is_closed(arm=arm, enrolled=counts.get(arm.pk, 0))
    }


def closed_to_new_patients(*, trial_id: int) -> set[int] | None:
    """The trial's full or suspended cohorts; None when it has cohorts and every one is: then a match that
    names no cohort (cohorts without a stratum of their own) has none to go to either, as the engine says
    ("all cohorts full or suspended") at the next re-match."""
    closed = closed_arm_ids(trial_id=trial_id)
    if closed and not Arm.objects.filter(trial_id=trial_id).exclude(pk__in=closed).exists():
        return None
    return closed


TAKEN_UP_VERDICTS: frozenset[str] = frozenset({Match.Verdict.ELIGIBLE, Match.Verdict.POSSIBLY_ELIGIBLE})
"""Matches with these verdicts become candidates; an ineligible one never does."""


def recruiting_trial_sites(*, trial_id: int) -> QuerySet[TrialSite]:
    """The sites recruiting for the trial (or about to), first by name; none while the trial is closed."""
    return (
        TrialSite.objects.filter(
            trial_id=trial_id,
            trial__overall_status__in=Trial.OPEN_STATUSES,
            status__in=SITE_RECRUITING_STATUSES,
        )
        .select_related("site")
        .order_by("site__facility", "site_id")
    )


def trial_site_recruiting(trial_site: TrialSite) -> bool:
    """Whether the trial and this site both recruit (or are about to): only then are candidates taken up."""
    return trial_site.trial.is_open and trial_site.status in SITE_RECRUITING_STATUSES


def trial_site_status(trial_site: TrialSite) -> str:
    """The recruitment status that applies at this site: the trial's when it is closed or the site has none
    of its own, else the site's."""
    if not trial_site.trial.is_open or trial_site.status == TrialSite.Status.UNKNOWN:
        return f"Trial: {trial_site.trial.get_overall_status_display()}"
    return f"Site: {trial_site.get_status_display()}"


def nearest_site(patient: PatientProfile, sites: list[Site]) -> tuple[Site | None, float | None]:
    """The site nearest the patient and its distance in km; (None, None) when either has no coordinates."""
    return _nearest(patient, sites)


# The matches that become new candidates (`matches_for_new_candidates`, and the sweep's
# `trials_with_take_up_owed`): eligible ones, and possible ones of a patient who has an illness on her
# profile or asked about the trial.
_TAKEN_UP = Q(verdict=Match.Verdict.ELIGIBLE) | Q(
    Q(Exists(Diagnosis.objects.filter(patient=OuterRef("patient"), presence=Diagnosis.Presence.PRESENT)))
    | Exists(
        TrialInterest.objects.filter(
            patient=OuterRef("patient"), trial=OuterRef("trial"), withdrawn_at__isnull=True
        )
    ),
    verdict=Match.Verdict.POSSIBLY_ELIGIBLE,
)


def matches_for_new_candidates(*, trial: Trial, patient_ids: Collection[int] | None = None) -> list[Match]:
    """The best live eligible or possibly eligible match per patient of the trial (of `patient_ids`, when
    given) who has no candidacy yet and still consents to matching, skipping matches to full or suspended
    arms (all of them: then none, not even a match that names no cohort).

    A possible match of a profile with no illness on it is no candidate unless the patient asked to hear
    from the trial: such a profile is possibly eligible for nearly every trial, and a site could pre-screen
    it on nothing. Adding a diagnosis re-matches her, which takes her matches up then."""
    closed = closed_to_new_patients(trial_id=trial.pk)
    if closed is None:
        return []
    matches = (
        Match.objects.filter(
            _TAKEN_UP,
            trial=trial,
            retired_at__isnull=True,
            patient__in=profiles_with_active_consent(ConsentDocument.Purpose.MATCHING),
        )
        .exclude(patient__candidacies__trial=trial)
        .exclude(arm_id__in=closed)
        .select_related("patient")
        .order_by("patient_id", "-score", "id")
    )
    if patient_ids is not None:
        matches = matches.filter(patient_id__in=list(patient_ids))
    best: dict[int, Match] = {}
    for match in matches:
        best.setdefault(match.patient_id, match)
    return list(best.values())


def _withdrawal_move() -> QuerySet[CandidateEvent]:
    """The move that withdrew the candidacy (for a subquery on Candidate rows)."""
    return (
        CandidateEvent.objects.filter(
            candidate=OuterRef("pk"),
            kind=CandidateEvent.Kind.TRANSITION,
            to_status=CandidateStatus.WITHDRAWN,
        )
        .exclude(from_status=CandidateStatus.WITHDRAWN)
        .order_by("-created_at", "-id")
    )


def _withdrawal_reason() -> Subquery:
    """The reason code of the move that withdrew the candidacy when the system made it, "" when staff did
    (annotated on Candidate rows). Staff may record "patient withdrew consent" themselves (the patient told
    the site): that is the site's decision, which no consent given in the portal undoes."""
    system_reason = Case(
        When(actor__isnull=True, then=F("reason")), default=Value(""), output_field=CharField()
    )
    return Subquery(_withdrawal_move().annotate(system_reason=system_reason).values("system_reason")[:1])


def _ended_by_consent_withdrawal() -> QuerySet[Candidate]:
    """Candidacies the patient's consent withdrawal in the portal ended (the system's move), annotated with
    the time of that move (`withdrawn_at`); a site's exits, "patient withdrew consent" recorded by staff
    included, and the system's other exits aside."""
    return (
        Candidate.objects.filter(status=CandidateStatus.WITHDRAWN)
        .annotate(
            exit_reason=_withdrawal_reason(),
            withdrawn_at=Subquery(_withdrawal_move().values("created_at")[:1]),
        )
        .filter(exit_reason=ReasonCode.CONSENT_WITHDRAWN)
    )


def ended_by_consent_withdrawal(*, candidate_id: int) -> bool:
    return _ended_by_consent_withdrawal().filter(pk=candidate_id).exists()


def _ended_by_withdrawal_consenting_again() -> QuerySet[Candidate]:
    """Candidacies the patient's consent withdrawal ended, whose patient has consented to matching again
    since: their active matching consent was signed after the candidacy was withdrawn. A withdrawal of
    contact or of sharing with the trial leaves the matching consent as it was, so what it ended stays
    ended (until the patient signs matching consent anew)."""
    signed_since = active_consents(purpose=ConsentDocument.Purpose.MATCHING).filter(
        patient=OuterRef("patient"), signed_at__gt=OuterRef("withdrawn_at")
    )
    return _ended_by_consent_withdrawal().filter(Exists(signed_since))


def candidacies_to_reopen(*, trial: Trial, patient_ids: Collection[int] | None = None) -> list[Candidate]:
    """The trial's candidacies (of `patient_ids`, when given) that ended because the patient withdrew
    consent, whose patient consents to matching again and has a live eligible or possibly eligible match
    outside full or suspended cohorts, at a site that still recruits for the trial. Candidacies that ended
    for any other reason (a site's decision, a full cohort, a death) stay ended."""
    closed = closed_to_new_patients(trial_id=trial.pk)
    if closed is None:
        return []
    live = Match.objects.filter(
        trial=trial, patient=OuterRef("patient"), retired_at__isnull=True, verdict__in=TAKEN_UP_VERDICTS
    ).exclude(arm_id__in=closed)
    candidacies = (
        _ended_by_withdrawal_consenting_again()
        .filter(trial=trial, site__in=recruiting_trial_sites(trial_id=trial.pk).values("site_id"))
        .filter(Exists(live))
        .order_by("pk")
    )
    if patient_ids is not None:
        candidacies = candidacies.filter(patient_id__in=list(patient_ids))
    return list(candidacies)


def _is_live(match: Match | None) -> bool:
    return match is not None and match.retired_at is None and match.verdict in TAKEN_UP_VERDICTS


_SHOWS_LIVE_MATCH = ~Q(status__in=OPEN_STATUSES) | Q(
    match__retired_at__isnull=True, match__verdict__in=TAKEN_UP_VERDICTS
)
"""Candidates whose match is what the site should read: an open candidacy's only while it is live (a
re-match may have retired it before the candidacy followed), an ended one's always (it is its record)."""


def candidates_off_live_match(
    *, trial_id: int, patient_ids: Collection[int] | None = None
) -> QuerySet[Candidate]:
    """Open candidacies of the trial (of `patient_ids`, when given) whose match is gone, retired or no longer
    eligible: those a re-match may have given a new live match, or none."""
    candidates = Candidate.objects.filter(trial_id=trial_id, status__in=OPEN_STATUSES).exclude(
        _SHOWS_LIVE_MATCH
    )
    if patient_ids is not None:
        candidates = candidates.filter(patient_id__in=list(patient_ids))
    return candidates.order_by("pk")


def trials_with_take_up_owed() -> list[int]:
    """Trials, recruiting at some site, that hold work for `candidates_create`: a live eligible or possibly
    eligible match of a consenting patient with no candidacy yet, an open candidacy whose match was retired
    while the patient has another live match to follow, or a candidacy the patient's consent withdrawal ended
    while they consent and match again (`candidacies_to_reopen` decides for each). Normally the take-up task
    does this right after the facts change; this finds what a broker outage at that moment left undone."""
    recruiting = TrialSite.objects.filter(
        trial__overall_status__in=Trial.OPEN_STATUSES, status__in=SITE_RECRUITING_STATUSES
    ).values("trial_id")
    live = Match.objects.filter(retired_at__isnull=True, verdict__in=TAKEN_UP_VERDICTS)
    candidacy = Candidate.objects.filter(patient_id=OuterRef("patient_id"), trial_id=OuterRef("trial_id"))
    not_taken_up = (
        live.filter(
            _TAKEN_UP,
            trial_id__in=recruiting,
            patient__in=profiles_with_active_consent(ConsentDocument.Purpose.MATCHING),
        )
        .exclude(Exists(candidacy))
        .values_list("trial_id", flat=True)
    )
    to_follow = (
        Candidate.objects.filter(status__in=OPEN_STATUSES)
        .exclude(_SHOWS_LIVE_MATCH)
        .filter(Exists(live.filter(patient_id=OuterRef("patient_id"), trial_id=OuterRef("trial_id"))))
        .values_list("trial_id", flat=True)
    )
    to_reopen = (
        _ended_by_withdrawal_consenting_again()
        .filter(trial_id__in=recruiting)
        .filter(Exists(live.filter(patient_id=OuterRef("patient_id"), trial_id=OuterRef("trial_id"))))
        .values_list("trial_id", flat=True)
    )
    return sorted(set(not_taken_up) | set(to_follow) | set(to_reopen))


def live_match_to_follow(*, candidate: Candidate) -> Match | None:
    """The live match an open candidacy should show: its own while that is live (a patient who fits two
    cohorts stays in the one the site works with), else the patient's best live match for the trial, one in
    an open cohort first; None when the patient has none (ineligible now, or no consent to be matched)."""
    if _is_live(candidate.match):
        return candidate.match
    live = list(
        Match.objects.filter(
            patient_id=candidate.patient_id,
            trial_id=candidate.trial_id,
            retired_at__isnull=True,
            verdict__in=TAKEN_UP_VERDICTS,
        )
        .select_related("arm")
        .order_by("-score", "id")
    )
    if len(live) < 2:
        return next(iter(live), None)
    closed = closed_arm_ids(trial_id=candidate.trial_id)
    return min(live, key=lambda match: match.arm_id in closed)


@dataclass(frozen=True)
class MatchStanding:
    """How a candidacy stands against the patient's live match for its trial, in words for site staff."""

    current: bool
    """The candidacy shows a live match, or has ended (then its match is the record of what was shown)."""
    note: str = ""
    """When not current, why its explanation is not shown: no longer matching (and why), consent gone, or
    a re-match that the candidacy has not followed yet."""
    cohort_closed: str = ""
    """When the live match's cohort is full or suspended, so that no one plans an enrolment into it."""


def match_standings(*, candidates: Sequence[Candidate]) -> dict[int, MatchStanding]:
    """The standing of each candidate (by id), in a few queries whatever their number."""
    # Staff never see the match of a patient who does not consent to matching now (DESIGN.md "Users"), be
    # the candidacy ended (its match is its record) or open: a new version of the matching consent that
    # the patient has not signed pauses matching at once, while their match stays live until their next
    # re-match. Only the status and subject code remain. The queue's `matching_consent` says who consents,
    # so that only those who do not cost a read (for the reason).
    withdrawn = _consent_notes(
        {c.patient_id for c in candidates if not getattr(c, "matching_consent", False)}
    )
    stale = [c for c in candidates if c.is_open and not _is_live(c.match) and c.patient_id not in withdrawn]
    pending = set(
        Match.objects.filter(
            patient_id__in={c.patient_id for c in stale},
            trial_id__in={c.trial_id for c in stale},
            retired_at__isnull=True,
            verdict__in=TAKEN_UP_VERDICTS,
        ).values_list("patient_id", "trial_id")
    )
    lost = _no_longer_matching([c for c in stale if (c.patient_id, c.trial_id) not in pending])
    arms = list(
        Arm.objects.filter(
            pk__in={c.match.arm_id for c in candidates if c.is_open and c.match and c.match.arm_id}
        )
    )
    enrolled: dict[int, int] = {}
    for trial_id in {arm.trial_id for arm in arms}:
        enrolled.update(arm_enrolled_counts(trial_id=trial_id))
    closed = {arm.pk: arm for arm in arms if arm_is_closed(arm=arm, enrolled=enrolled.get(arm.pk, 0))}
    standings = {}
    for candidate in candidates:
        if candidate.patient_id in withdrawn:
            note = withdrawn[candidate.patient_id]
            # An ended candidacy's match would otherwise be shown, as its record.
            note = note if candidate.is_open else f"{note} Its match is not shown."
            standings[candidate.pk] = MatchStanding(current=False, note=note)
        elif candidate.pk in lost:
            standings[candidate.pk] = MatchStanding(current=False, note=lost[candidate.pk])
        elif candidate.is_open and not _is_live(candidate.match):
            note = "Re-matched a moment ago: the updated result is being applied; reload the page shortly."
            standings[candidate.pk] = MatchStanding(current=False, note=note)
        else:
            arm_id = candidate.match.arm_id if candidate.is_open and candidate.match else None
            arm = closed.get(arm_id) if arm_id is not None else None
            words = f"Cohort {arm.label} is full or suspended: it takes no new patients." if arm else ""
            standings[candidate.pk] = MatchStanding(current=True, cohort_closed=words)
    return standings


def match_standing(*, candidate: Candidate) -> MatchStanding:
    return match_standings(candidates=[candidate])[candidate.pk]


def _consent_notes(patient_ids: set[int]) -> dict[int, str]:
    """For each of these patients who does not consent to matching now, why (by patient id)."""
    if not patient_ids:
        return {}
    consenting = set(
        profiles_with_active_consent(ConsentDocument.Purpose.MATCHING)
        .filter(pk__in=patient_ids)
        .values_list("pk", flat=True)
    )
    # A consent that is not withdrawn but not active either was given to an earlier version of the text.
    unrenewed = set(
        Consent.objects.filter(
            patient_id__in=patient_ids - consenting,
            purpose=ConsentDocument.Purpose.MATCHING,
            withdrawn_at__isnull=True,
        ).values_list("patient_id", flat=True)
    )
    return {
        patient_id: "Matching consent not renewed: the patient has not signed its new version."
        if patient_id in unrenewed
        else "Matching consent withdrawn."
        for patient_id in patient_ids - consenting
    }


def _no_longer_matching(candidates: Sequence[Candidate]) -> dict[int, str]:
    """Why each of these candidates' patients, who consent to matching, has no live match for its trial:
    the reason the re-match gave when it retired their last match."""
    retired: dict[tuple[int, int], str] = {}
    for patient_id, trial_id, detail in (
        MatchEvent.objects.filter(
            kind=MatchEvent.Kind.RETIRED,
            match__patient_id__in={c.patient_id for c in candidates},
            match__trial_id__in={c.trial_id for c in candidates},
        )
        .order_by("-created_at", "-id")
        .values_list("match__patient_id", "match__trial_id", "detail")
    ):
        retired.setdefault((patient_id, trial_id), str((detail or {}).get("reason", "")))
    notes = {}
    for candidate in candidates:
        reason = retired.get((candidate.patient_id, candidate.trial_id))
        notes[candidate.pk] = f"No longer matches: {reason}." if reason else "No longer matches."
    return notes


# Site pages: the queue, the pseudonymous summary, contact details once the patient agreed, the logs.


@dataclass(frozen=True)
class SiteTrial:
    site: Site
    trial: Trial
    counts: dict[str, int]
    closed_arms: list[Arm]
    recruiting: bool = True
    """See `trial_site_recruiting`."""
    status: str = ""
    """See `trial_site_status`."""


def site_trials(*, user: User) -> list[SiteTrial]:
    """The trials run at the user's sites, with the site's own candidate counts per status and whether the
    trial and the site recruit; recruiting ones first."""
    rows = []
    for trial_site in staff_trial_sites(user=user):
        counts = dict(
            Candidate.objects.filter(site=trial_site.site, trial=trial_site.trial)
            .values_list("status")
            .annotate(n=Count("id"))
        )
        closed = closed_arm_ids(trial_id=trial_site.trial_id)
        trial = trial_site.trial
        rows.append(
            SiteTrial(
                site=trial_site.site,
                trial=trial,
                counts=counts,
                closed_arms=list(Arm.objects.filter(pk__in=closed).order_by("label")),
                recruiting=trial_site_recruiting(trial_site),
                status=trial_site_status(trial_site),
            )
        )
    return sorted(rows, key=lambda row: not row.recruiting)


def staff_trial_sites(*, user: User) -> QuerySet[TrialSite]:
    """The trial-site pairs of the user's sites, without the per-status counts of `site_trials`."""
    return (
        TrialSite.objects.filter(site__memberships__user=user)
        .select_related("site", "trial")
        .order_by("site__facility", "trial__nct_id", "id")
    )


def staff_trial_site(*, user: User, site_id: int, trial_id: int) -> TrialSite | None:
    """The trial-site pair if the user works at that site and the trial runs there."""
    return (
        # Through the related pks, whose lookups answer "none" for an id too large for the database (an id
        # typed into a URL) instead of failing as a foreign key column lookup does.
        TrialSite.objects.filter(site__pk=site_id, trial__pk=trial_id, site__memberships__user=user)
        .select_related("site", "trial")
        .first()
    )


def _patient_distance_km(site: Site) -> Expression:
    """The patient's great-circle distance to the site in km, in SQL (the haversine of `_distance_km`), so
    that a distance filter is applied before the queue is counted and cut into pages; NULL when either has no
    coordinates."""
    if site.latitude is None or site.longitude is None:
        return Value(None, output_field=FloatField())
    site_lat, site_lon = math.radians(float(site.latitude)), math.radians(float(site.longitude))
    lat = Radians(Cast("patient__latitude", FloatField()))
    lon = Radians(Cast("patient__longitude", FloatField()))
    a = Power(Sin((Value(site_lat) - lat) / 2.0), 2) + Cos(lat) * Value(math.cos(site_lat)) * Power(
        Sin((Value(site_lon) - lon) / 2.0), 2
    )
    # Rounding can push sqrt(a) just past 1 for antipodal points, where PostgreSQL's asin raises. The Case
    # keeps NULL for a patient without coordinates: PostgreSQL's LEAST would turn NULL into the 1.0.
    return Case(
        When(
            patient__latitude__isnull=False,
            patient__longitude__isnull=False,
            then=2.0 * EARTH_RADIUS_KM * ASin(Least(Sqrt(a), Value(1.0))),
        ),
        default=Value(None),
        output_field=FloatField(),
    )


_QUEUE_SCORE = Case(When(matching_consent=True, then=F("match__score")), default=None)
"""The score a `site_queue` ranks by: none for a patient who no longer consents to matching."""


def site_queue(
    *,
    site: Site,
    trial: Trial,
    status: str = "",
    arm_id: int | None = None,
    verdict: str = "",
    unknown_only: bool = False,
    since: datetime | None = None,
    within_km: int | None = None,
) -> QuerySet[Candidate]:
    """The site's candidates for the trial, patients who asked to hear from it first, then by match score,
    each annotated with the patient's `distance_km` to the site (None when it cannot be told).

    The cohort, eligibility and unknown-criteria filters read an open candidacy's live match only: one that
    no longer matches is in no cohort and has no verdict (an ended candidacy keeps its own). With
    `within_km`, only patients known to live within that distance (those without coordinates are left out,
    since it cannot be told). The order ends on the id, so that pages of the queue neither repeat nor skip a
    candidate."""
    open_interest = TrialInterest.objects.filter(
        patient=OuterRef("patient"), trial=OuterRef("trial"), withdrawn_at__isnull=True
    )
    queue = (
        Candidate.objects.filter(site=site, trial=trial)
        .select_related("match", "arm")
        .annotate(distance_km=_patient_distance_km(site))
    )
    # Staff never see the match (nor the distance, nor an interest in the trial) of a patient who no longer
    # consents to matching (DESIGN.md "Users"): the candidacy stays listed with its status, but no filter or
    # rank reads its match or the patient's wishes.
    # An IN over the consenting patients, not an EXISTS per row: PostgreSQL runs it once (a hashed subplan),
    # where a correlated EXISTS in the score order was run for every candidate of the queue (9 s for 10,701).
    consenting = Q(patient__in=profiles_with_active_consent(ConsentDocument.Purpose.MATCHING))
    queue = queue.annotate(
        matching_consent=ExpressionWrapper(consenting, output_field=BooleanField())
    ).annotate(
        interested=Case(
            When(matching_consent=True, then=Exists(open_interest)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )
    if within_km is not None:
        queue = queue.filter(distance_km__lte=within_km, matching_consent=True)
    if status:
        queue = queue.filter(status=status)
    if arm_id is not None:
        queue = queue.filter(
            Q(status__in=OPEN_STATUSES, match__arm_id=arm_id)
            | (~Q(status__in=OPEN_STATUSES) & Q(arm_id=arm_id))
        ).filter(_SHOWS_LIVE_MATCH, matching_consent=True)
    if verdict:
        queue = queue.filter(_SHOWS_LIVE_MATCH, matching_consent=True, match__verdict=verdict)
    if unknown_only:
        queue = queue.filter(_SHOWS_LIVE_MATCH, matching_consent=True, match__isnull=False).exclude(
            match__to_settle=[]
        )
    if since is not None:
        queue = queue.filter(created_at__gt=since)
    return queue.order_by("-interested", _QUEUE_SCORE.desc(nulls_last=True), "created_at", "id")


def site_queue_by_score(queue: QuerySet[Candidate], *, descending: bool) -> QuerySet[Candidate]:
    """A `site_queue` ordered by match score alone, candidates without a score (or whose score is not shown)
    last either way; ties keep the queue's order."""
    score = _QUEUE_SCORE.desc(nulls_last=True) if descending else _QUEUE_SCORE.asc(nulls_last=True)
    return queue.order_by(score, "-interested", "created_at", "id")


DISTANCE_BANDS_KM: tuple[int, ...] = (10, 25, 50, 100, 250, 500)
"""Band edges for the patient-to-site distance: sites see the band, never the patient's coordinates."""


NOT_SHOWN = "not shown"
"""The distance band of a patient who no longer consents to matching."""


def distance_band(km: float | None) -> str:
    if km is None:
        return "unknown"
    low = 0
    for edge in DISTANCE_BANDS_KM:
        if km < edge:
            return f"under {edge} km" if low == 0 else f"{low}-{edge} km"
        low = edge
    return f"{low} km or more"


@dataclass(frozen=True)
class QueueRow:
    candidate: Candidate
    distance_band: str
    standing: MatchStanding


def site_queue_page_rows(*, candidates: Sequence[Candidate]) -> list[QueueRow]:
    """Queue rows for one page of `site_queue`'s candidates: standings and distance bands in a fixed number
    of queries, whatever the page's size."""
    standings = match_standings(candidates=candidates)
    return [
        QueueRow(
            candidate,
            # No distance for a patient who no longer consents to matching (see site_queue).
            distance_band(candidate.distance_km) if candidate.matching_consent else NOT_SHOWN,  # type: ignore[attr-defined]
            standings[candidate.pk],
        )
        for candidate in candidates
    ]


def staff_alerts(*, user: User, limit: int = 100) -> list[SiteAlert]:
    """The user's newest alerts about new candidates, at sites the user still works at."""
    return list(
        SiteAlert.objects.filter(user=user, candidate__site__memberships__user=user)
        .select_related("candidate__trial", "candidate__site", "candidate__arm", "candidate__match")
        .order_by("-created_at", "-id")[:limit]
    )


def digest_enabled(*, user: User) -> bool:
    """Whether the user gets the daily digest e-mail (on unless turned off)."""
    return not StaffAlertSetting.objects.filter(user=user, daily_digest=False).exists()


def unread_alert_count(*, user: User) -> int:
    return SiteAlert.objects.filter(
        user=user, read_at__isnull=True, candidate__site__memberships__user=user
    ).count()


def staff_candidate(*, user: User, pk: int) -> Candidate | None:
    """A candidate of one of the user's sites; another site's candidate is not found."""
    return (
        Candidate.objects.filter(pk=pk, site__memberships__user=user)
        .select_related("patient__user", "trial", "site", "arm", "match")
        .first()
    )


OLDEST_BAND = 90
"""Ages from this one up share one band ("90 or over"), as HIPAA's Safe Harbor has them: so few people reach
each year beyond it that a narrower band could name one."""


def age_band(birth_date: date | None, today: date) -> str:
    if birth_date is None:
        return "not stated"
    return band_of_age(
        today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )


def band_of_age(age: int) -> str:
    if age >= OLDEST_BAND:
        return f"{OLDEST_BAND} or over"
    low = age // 5 * 5
    return f"{low}-{low + 4}"


# The engine's evidence for an age criterion ("aged 63", on the profile's own reference).
_AGE_EVIDENCE = re.compile(r"aged (\d+)")


def site_evidence(criterion: Mapping[str, Any]) -> list[str]:
    """The profile facts a stored criterion verdict used, each once, as site staff may read them: the age as
    the band their summary gives (the exact age, with the rest, would undo the band before contact)."""
    texts = []
    for atom in criterion.get("atoms", []):
        for evidence in atom.get("evidence", []):
            text = evidence["text"]
            age = (
                _AGE_EVIDENCE.fullmatch(text) if str(evidence.get("ref", "")).startswith("profile") else None
            )
            texts.append(f"aged {band_of_age(int(age[1]))}" if age else text)
    return list(dict.fromkeys(texts))


@dataclass(frozen=True)
class PseudonymousSummary:
    subject_code: str
    age_band: str
    sex: str
    diagnoses: list[str]
    biomarkers: list[str]
    ecog: int | None


def pseudonymous_summary(*, candidate: Candidate) -> PseudonymousSummary:
    """What a site sees before the patient agrees to be contacted: no name, e-mail or birth date."""
    patient = candidate.patient
    diagnoses = [
        ", ".join(
            part
            for part in (
                d.label or d.code,
                f"stage {d.stage}" if d.stage else "",
                d.get_course_display().lower() if d.course else "",
            )
            if part
        )
        for d in patient.diagnoses.filter(presence=Diagnosis.Presence.PRESENT)
    ]
    biomarkers = [
        " ".join(
            part for part in (b.gene, b.protein_change or b.get_alteration_type_display(), b.status) if part
        )
        for b in patient.biomarkers.all()
    ]
    return PseudonymousSummary(
        subject_code=candidate.subject_code,
        age_band=age_band(patient.birth_date, timezone.localdate()),
        sex=patient.get_sex_display() or "not stated",
        diagnoses=diagnoses,
        biomarkers=biomarkers,
        ecog=patient.ecog,
    )


@dataclass(frozen=True)
class SharedProfile:
    """The health information of a patient's profile that she agreed to share with one trial's sites."""

    sections: list[tuple[str, list[str]]]
    pregnancy: str
    ecog_assessed_on: date | None


def shared_profile(*, candidate: Candidate) -> SharedProfile | None:
    """The candidate's whole health profile, when the patient consents to matching and agreed to share her
    profile with this trial (the sharing consent's own words), while the candidacy is under way or ended in
    enrolment; otherwise None, and the site has the pseudonymous summary only. No name, e-mail, address or
    birth date: those come with contact consent, and the age band stands for the birth date."""
    if not (candidate.is_open or candidate.status == CandidateStatus.ENROLLED):
        return None
    patient = candidate.patient
    purposes = ConsentDocument.Purpose
    if not patient_has_active_consent(patient=patient, purpose=purposes.MATCHING):
        return None
    if not patient_has_active_consent(patient=patient, purpose=purposes.SHARE, trial=candidate.trial):
        return None
    sections = [
        (title, [str(fact) for fact in model.objects.filter(patient=patient).order_by("pk")])
        for title, model in (
            ("Illnesses and conditions", Diagnosis),
            ("Tumour tests (biomarkers)", Biomarker),
            ("Blood tests", LabResult),
            ("Treatments", Therapy),
            ("Operations and procedures", Procedure),
        )
    ]
    return SharedProfile(sections, patient.get_pregnancy_status_display(), patient.ecog_assessed_on)


def contact_allowed(*, candidate: Candidate) -> bool:
    """Contact details are shown once the patient agreed to be contacted and, for this trial, either asked
    to hear from it or agreed to share their profile with it, and only while the candidacy is under way (or
    ended in enrolment): a candidacy that was withdrawn, declined or ruled out is no reason to contact."""
    if not (candidate.is_open or candidate.status == CandidateStatus.ENROLLED):
        return False
    patient = candidate.patient
    if current_contact_consent(patient=patient) is None:
        return False
    interested = TrialInterest.objects.filter(
        patient=patient, trial=candidate.trial, withdrawn_at__isnull=True
    ).exists()
    return interested or patient_has_active_consent(
        patient=patient, purpose=ConsentDocument.Purpose.SHARE, trial=candidate.trial
    )


def candidate_history(*, candidate: Candidate) -> list[CandidateEvent]:
    return list(
        candidate.events.exclude(kind=CandidateEvent.Kind.VIEWED).select_related("actor", "criterion")
    )


def _reached_on(trial: Trial, site: Site) -> dict[int, dict[str, datetime]]:
    reached: dict[int, dict[str, datetime]] = defaultdict(dict)
    events = (
        CandidateEvent.objects.filter(candidate__trial=trial, candidate__site=site)
        .exclude(kind=CandidateEvent.Kind.VIEWED)
        .order_by("created_at", "id")
        .values_list("candidate_id", "to_status", "created_at")
    )
    for candidate_id, status, at in events:
        reached[candidate_id].setdefault(status, at)
    return reached


SCREENING_LOG_COLUMNS = (
    "subject_code",
    "matched_on",
    "pre_screened_on",
    "contacted_on",
    "consented_on",
    "screening_on",
    "outcome_on",
    "status",
    "consent_version",
    "eligible",
    "reason",
    "failed_criterion",
)


def screening_log(*, site: Site, trial: Trial) -> list[dict[str, str]]:
    """De-identified pre-screening/screening log rows: subject code, dates, consent version, eligibility and
    the reason for leaving the path; no name, contact or birth date."""
    reached = _reached_on(trial, site)
    last_reasons = {
        event.candidate_id: event
        for event in CandidateEvent.objects.filter(
            candidate__trial=trial, candidate__site=site, kind=CandidateEvent.Kind.TRANSITION
        )
        .select_related("criterion")
        .order_by("created_at", "id")
    }
    versions = dict(
        Consent.objects.filter(
            patient__candidacies__trial=trial,
            patient__candidacies__site=site,
            purpose=ConsentDocument.Purpose.MATCHING,
        )
        .order_by("signed_at")
        .values_list("patient_id", "document_version")
    )
    candidates = list(
        Candidate.objects.filter(site=site, trial=trial).select_related("match").order_by("created_at")
    )
    # The match's verdict is not given for a patient who no longer consents to matching.
    withdrawn = _consent_notes({c.patient_id for c in candidates})
    rows = []
    for candidate in candidates:
        times = reached.get(candidate.pk, {})
        last = last_reasons.get(candidate.pk)

        def day(status: str, times: dict[str, datetime] = times) -> str:
            return timezone.localtime(times[status]).date().isoformat() if status in times else ""

        rows.append(
            {
                "subject_code": candidate.subject_code,
                "matched_on": timezone.localtime(candidate.created_at).date().isoformat(),
                "pre_screened_on": day(S.PRE_SCREENED),
                "contacted_on": day(S.CONTACTED),
                "consented_on": day(S.CONSENTED),
                "screening_on": day(S.SCREENING),
                # The move that ended it last: a candidacy reopened and ended again reached its status twice.
                "outcome_on": (
                    timezone.localtime(last.created_at).date().isoformat()
                    if last and not candidate.is_open
                    else ""
                ),
                "status": candidate.status,
                "consent_version": versions.get(candidate.patient_id, ""),
                "eligible": (
                    candidate.match.verdict
                    if candidate.match and candidate.patient_id not in withdrawn
                    else ""
                ),
                "reason": last.reason if last else "",
                "failed_criterion": last.criterion.text if last and last.criterion else "",
            }
        )
    return rows


@dataclass(frozen=True)
class FunnelStep:
    label: str
    count: int
    exits: list[tuple[str, int]]


FUNNEL_STAGES: tuple[tuple[str, str], ...] = (
    ("Matched (assessed for eligibility)", S.MATCHED),
    ("Pre-screened", S.PRE_SCREENED),
    ("Contacted", S.CONTACTED),
    ("Consented", S.CONSENTED),
    ("Screening", S.SCREENING),
    ("Enrolled", S.ENROLLED),
)


def _ending_moves(*, site: Site, trial: Trial, statuses: Mapping[int, str]) -> list[CandidateEvent]:
    """The move that ended each of the site's ended candidacies: its last exit, so that a candidacy reopened
    after a withdrawal (and open now, or ended again since) is not counted as leaving twice."""
    last: dict[int, CandidateEvent] = {}
    for event in (
        CandidateEvent.objects.filter(
            candidate__site=site, candidate__trial=trial, kind=CandidateEvent.Kind.TRANSITION
        )
        .exclude(to_status__in=[*OPEN_STATUSES, S.ENROLLED])
        .order_by("created_at", "id")
    ):
        last[event.candidate_id] = event
    return [event for pk, event in last.items() if statuses.get(pk) == event.to_status]


def consort_funnel(*, site: Site, trial: Trial) -> list[FunnelStep]:
    """CONSORT-style flow of the site's candidates: how many reached each stage and, under each, why those
    who left from that stage left, so that a stage less its exits (and those still at it) is the next one.
    Withdrawals, from any stage, have their own line. Each ended candidacy counts once, by its last exit."""
    reached = _reached_on(trial, site)
    statuses = dict(Candidate.objects.filter(site=site, trial=trial).values_list("id", "status"))
    exits: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for event in _ending_moves(site=site, trial=trial, statuses=statuses):
        stage = S.WITHDRAWN if event.to_status == S.WITHDRAWN else event.from_status
        reason = ReasonCode(event.reason).label if event.reason else "no reason given"
        exits[stage][f"{CandidateStatus(event.to_status).label}: {reason}"] += 1

    def count(status: str) -> int:
        if status == S.MATCHED:
            return len(statuses)
        return sum(1 for times in reached.values() if status in times)

    steps = [
        FunnelStep(label, count(status), sorted(exits[status].items())) for label, status in FUNNEL_STAGES
    ]
    withdrawn = sum(1 for status in statuses.values() if status == S.WITHDRAWN)
    steps.append(FunnelStep("Withdrawn at any stage", withdrawn, sorted(exits[S.WITHDRAWN].items())))
    return steps
