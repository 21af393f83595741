"""Reads for the recruitment app. Writes live in services.py."""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from nlp.model import Atom, Concept, Criterion, node_from_dict
from nlp.terminology import drug_classes
from recruitment.matching import (
    ArmSpec,
    BiomarkerFact,
    DiagnosisFact,
    LabFact,
    PatientFacts,
    ProcedureFact,
    TherapyFact,
    TrialSpec,
)
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
    PatientProfile,
    Procedure,
    ReasonCode,
    Therapy,
    TrialInterest,
    User,
)
from recruitment.suppression import HIGH, suppress, suppress_one
from trials.models import Arm, ConsentDocument, EligibilityCriterion, Site, Trial, TrialSite


def health_checks() -> dict[str, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = {"ok": True, "vendor": connection.vendor}
    except DatabaseError as exc:
        checks["database"] = {"ok": False, "error": exc.__class__.__name__}
    if settings.CELERY_BROKER_URL:
        checks["broker"] = _broker_check()
    else:
        checks["broker"] = {"ok": True, "mode": "eager (no broker configured)"}
    return checks


def _broker_check() -> dict[str, Any]:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "mode": "broker"}
    except Exception as exc:  # any transport failure means "not ready", whatever its class
        return {"ok": False, "mode": "broker", "error": exc.__class__.__name__}


def home_summary(*, user: User) -> dict[str, Any]:
    open_trials = Trial.objects.filter(overall_status__in=Trial.OPEN_STATUSES)
    return {
        "open_trial_count": open_trials.count(),
        "site_memberships": list(user.site_memberships.select_related("site")),
        "sponsor_memberships": list(user.sponsor_memberships.select_related("sponsor")),
    }


def _diagnosis_fact(d: Diagnosis) -> DiagnosisFact:
    return DiagnosisFact(
        ref=f"diagnosis:{d.pk}",
        code=d.code,
        label=d.label or d.code,
        present=d.presence == Diagnosis.Presence.PRESENT,
        diagnosed_on=d.diagnosed_on,
        stage=d.stage,
        histology=d.histology,
        source=d.source,
    )


def _biomarker_fact(b: Biomarker) -> BiomarkerFact:
    return BiomarkerFact(
        ref=f"biomarker:{b.pk}",
        gene=b.gene,
        alteration_type=b.alteration_type,
        status=b.status,
        protein_change=b.protein_change,
        measure=b.measure,
        value=None if b.value is None else float(b.value),
        unit=b.unit,
        assay=b.assay,
        tested_on=b.tested_on,
        source=b.source,
    )


def _lab_fact(r: LabResult) -> LabFact:
    return LabFact(
        ref=f"lab:{r.pk}",
        analyte=r.analyte,
        loinc=r.loinc,
        value=float(r.value),
        unit=r.unit,
        collected_on=r.collected_on,
        reference_low=None if r.reference_low is None else float(r.reference_low),
        reference_high=None if r.reference_high is None else float(r.reference_high),
        source=r.source,
    )


def _therapy_fact(t: Therapy) -> TherapyFact:
    return TherapyFact(
        ref=f"therapy:{t.pk}",
        drug=t.drug,
        classes=tuple(dict.fromkeys([*drug_classes(t.drug), *([t.drug_class] if t.drug_class else [])])),
        line=t.line,
        started_on=t.started_on,
        ended_on=t.ended_on,
        source=t.source,
    )


def _procedure_fact(p: Procedure) -> ProcedureFact:
    return ProcedureFact(
        ref=f"procedure:{p.pk}", code=p.code, name=p.name, performed_on=p.performed_on, source=p.source
    )


_FACT_KINDS: tuple[tuple[str, Any, Any], ...] = (
    ("diagnoses", Diagnosis, _diagnosis_fact),
    ("biomarkers", Biomarker, _biomarker_fact),
    ("labs", LabResult, _lab_fact),
    ("therapies", Therapy, _therapy_fact),
    ("procedures", Procedure, _procedure_fact),
)


def _facts_of(profile: PatientProfile, kinds: dict[str, list[Any]]) -> PatientFacts:
    return PatientFacts(
        ref=f"profile:{profile.pk}",
        birth_date=profile.birth_date,
        sex=profile.sex,
        ecog=profile.ecog,
        pregnancy_status=profile.pregnancy_status,
        breastfeeding=profile.breastfeeding,
        history_confirmed_on=profile.history_confirmed_on,
        **{name: tuple(kinds.get(name, ())) for name, _, _ in _FACT_KINDS},
    )


def patient_facts(*, profile: PatientProfile) -> PatientFacts:
    """The frozen snapshot the matching engine evaluates: one query per kind of fact."""
    kinds = {
        name: [convert(row) for row in model.objects.filter(patient=profile)]
        for name, model, convert in _FACT_KINDS
    }
    return _facts_of(profile, kinds)


def patient_facts_many(*, profiles: Iterable[PatientProfile]) -> dict[int, PatientFacts]:
    """Snapshots of many patients, one query per kind of fact for all of them (chunk the input)."""
    by_id = {profile.pk: profile for profile in profiles}
    kinds: dict[int, dict[str, list[Any]]] = {pk: defaultdict(list) for pk in by_id}
    for name, model, convert in _FACT_KINDS:
        for row in model.objects.filter(patient_id__in=list(by_id)):
            kinds[row.patient_id][name].append(convert(row))
    return {pk: _facts_of(profile, kinds[pk]) for pk, profile in by_id.items()}


@dataclass(frozen=True)
class TrialToMatch:
    """An open trial as the engine needs it: its arms as specs and its live criteria as nlp trees."""

    trial: Trial
    spec: TrialSpec
    criteria: tuple[Criterion, ...]


def _criterion(record: EligibilityCriterion) -> Criterion:
    span = (record.span_start, record.span_end)
    tree = record.effective_tree
    if tree is None:
        # Marked unparseable by a curator: reported for the site to check, never deciding on its own.
        concept = Concept("other", "curator_unparseable", "marked unparseable by a curator")
        unreadable = Atom(
            "other", record.text, span, "curator.unparseable", 1.0, checkable=False, concept=concept
        )
        return Criterion(record.section, record.text, span, unreadable)  # type: ignore[arg-type]
    return Criterion(record.section, record.text, span, node_from_dict(tree))  # type: ignore[arg-type]


def trials_for_matching(*, trial_ids: Iterable[int] | None = None) -> list[TrialToMatch]:
    """Open trials (all, or those of `trial_ids`) with their arms and live criteria, in three queries."""
    trials = Trial.objects.filter(overall_status__in=Trial.OPEN_STATUSES).prefetch_related(
        Prefetch("criteria", queryset=EligibilityCriterion.objects.filter(retired_at__isnull=True)),
        "arms",
    )
    if trial_ids is not None:
        trials = trials.filter(pk__in=list(trial_ids))
    return [
        TrialToMatch(
            trial=trial,
            spec=TrialSpec(
                id=trial.pk,
                is_open=trial.is_open,
                arms=tuple(
                    ArmSpec(arm.pk, arm.label, arm.biomarker_definition, arm.cap, arm.is_suspended)
                    for arm in trial.arms.all()
                ),
            ),
            criteria=tuple(_criterion(record) for record in trial.criteria.all()),
        )
        for trial in trials
    ]


def live_matches(*, patient: PatientProfile) -> list[Match]:
    return list(Match.objects.filter(patient=patient, retired_at__isnull=True).select_related("trial", "arm"))


def matchable_profiles() -> QuerySet[PatientProfile]:
    """The only gate on who is matched: every matching path starts from this queryset.

    Profiles whose patients consent now to be matched, under the current version of the matching consent.
    """
    return profiles_with_active_consent(ConsentDocument.Purpose.MATCHING)


def live_matches_for_trial(*, trial_id: int, patient_ids: Iterable[int]) -> dict[int, list[Match]]:
    """Live matches of one trial, by patient, for the given patients."""
    found: dict[int, list[Match]] = defaultdict(list)
    matches = Match.objects.filter(trial_id=trial_id, patient_id__in=list(patient_ids))
    for match in matches.filter(retired_at__isnull=True):
        found[match.patient_id].append(match)
    return found


def profile_ids_to_rematch() -> list[int]:
    """Matchable patients, and those who hold live matches without being matchable (to retire them)."""
    holders = Match.objects.filter(retired_at__isnull=True).values_list("patient_id", flat=True)
    return sorted(set(matchable_profiles().values_list("pk", flat=True)) | set(holders))


def patients_with_live_matches(*, trial_id: int) -> set[int]:
    return set(
        Match.objects.filter(trial_id=trial_id, retired_at__isnull=True).values_list("patient_id", flat=True)
    )


# Consent. "Active" means signed for the current effective version of the purpose and not withdrawn: a new
# version pauses everything that depends on the purpose until the patient signs it.


def current_consent_document(*, purpose: str, language: str = "en") -> ConsentDocument | None:
    """The version patients are asked to sign now for `purpose`, in `language` if it exists, else any."""
    current = _current_consent_documents(purpose=purpose)
    return current.filter(language=language).first() or current.first()


def _current_consent_documents(*, purpose: str) -> QuerySet[ConsentDocument]:
    now = timezone.now()
    in_effect = ConsentDocument.objects.filter(
        purpose=purpose, published_at__isnull=False, effective_from__lte=now
    ).filter(Q(effective_until__isnull=True) | Q(effective_until__gt=now))
    latest = in_effect.order_by("-effective_from").values_list("version", flat=True).first()
    if latest is None:
        return ConsentDocument.objects.none()
    return in_effect.filter(version=latest).order_by("language")


def _active_consents(*, purpose: str, trial: Trial | None = None) -> QuerySet[Consent]:
    consents = Consent.objects.filter(
        purpose=purpose,
        withdrawn_at__isnull=True,
        document__in=_current_consent_documents(purpose=purpose),
    )
    return consents.filter(trial=trial) if trial is not None else consents


def patient_has_active_consent(*, patient: PatientProfile, purpose: str, trial: Trial | None = None) -> bool:
    """Whether `patient` consents now to `purpose` (for sharing: with `trial`) under the current version."""
    if purpose == ConsentDocument.Purpose.SHARE and trial is None:
        raise ValueError("Sharing consent is given per trial; pass the trial.")
    return _active_consents(purpose=purpose, trial=trial).filter(patient=patient).exists()


def profiles_with_active_consent(purpose: str, trial: Trial | None = None) -> QuerySet[PatientProfile]:
    """Profiles whose patients consent now to `purpose` (for sharing: with `trial`), e.g. those to match."""
    return PatientProfile.objects.filter(
        pk__in=_active_consents(purpose=purpose, trial=trial).values("patient_id")
    )


def patient_consents(*, patient: PatientProfile) -> list[Consent]:
    """Every consent of the patient, newest first, withdrawn ones included: the full history."""
    return list(
        Consent.objects.filter(patient=patient)
        .select_related("document", "trial")
        .order_by("-signed_at", "-id")
    )


@dataclass(frozen=True)
class ConsentStatus:
    """What the consent page shows for one purpose: the text to sign now and the patient's standing."""

    purpose: str
    label: str
    document: ConsentDocument | None
    active: Consent | None
    outdated: Consent | None

    @property
    def needs_reconsent(self) -> bool:
        return self.active is None and self.outdated is not None


def consent_overview(*, patient: PatientProfile, language: str = "en") -> list[ConsentStatus]:
    """Per general purpose (matching, contact): the current document, the active consent and, when only an
    older version was signed, that consent (so the page can ask to sign again)."""
    open_consents = [
        c for c in patient_consents(patient=patient) if c.withdrawn_at is None and c.trial_id is None
    ]
    rows = []
    for purpose in (ConsentDocument.Purpose.MATCHING, ConsentDocument.Purpose.CONTACT):
        document = current_consent_document(purpose=purpose, language=language)
        current_ids = set(_current_consent_documents(purpose=purpose).values_list("pk", flat=True))
        mine = [c for c in open_consents if c.purpose == purpose]
        active = next((c for c in mine if c.document_id in current_ids), None)
        outdated = None if active else next(iter(mine), None)
        rows.append(
            ConsentStatus(purpose, ConsentDocument.Purpose(purpose).label, document, active, outdated)
        )
    return rows


def is_current_consent_document(document: ConsentDocument) -> bool:
    return _current_consent_documents(purpose=document.purpose).filter(pk=document.pk).exists()


def current_contact_consent(*, patient: PatientProfile) -> Consent | None:
    """The patient's active consent to be contacted by sites, if any."""
    return _active_consents(purpose=ConsentDocument.Purpose.CONTACT).filter(patient=patient).first()


# Patient portal reads: a patient's own matches, ranked, with the nearest site when both have coordinates.

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class PatientMatch:
    match: Match
    nearest_site: Site | None
    distance_km: float | None
    interested: bool


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def _nearest(profile: PatientProfile, sites: list[Site]) -> tuple[Site | None, float | None]:
    if profile.latitude is None or profile.longitude is None:
        return None, None
    located = [
        (
            _distance_km(
                float(profile.latitude), float(profile.longitude), float(s.latitude), float(s.longitude)
            ),
            s,
        )
        for s in sites
        if s.latitude is not None and s.longitude is not None
    ]
    if not located:
        return None, None
    distance, site = min(located, key=lambda pair: pair[0])
    return site, distance


def patient_matches(*, patient: PatientProfile) -> list[PatientMatch]:
    """The patient's live matches, best first; none while the patient does not consent to matching."""
    if not patient_has_active_consent(patient=patient, purpose=ConsentDocument.Purpose.MATCHING):
        return []
    matches = (
        Match.objects.filter(patient=patient, retired_at__isnull=True)
        .select_related("trial", "arm")
        .prefetch_related(Prefetch("trial__trial_sites", queryset=TrialSite.objects.select_related("site")))
        .order_by("-score", "trial__nct_id", "arm__label")
    )
    interested = set(
        TrialInterest.objects.filter(patient=patient, withdrawn_at__isnull=True).values_list(
            "trial_id", flat=True
        )
    )
    rows = []
    for match in matches:
        site, distance = _nearest(patient, [ts.site for ts in match.trial.trial_sites.all()])
        rows.append(PatientMatch(match, site, distance, match.trial_id in interested))
    return rows


# Site workflow reads. Site staff reach candidates only through the sites they are members of, so another
# site's candidate is simply not found.


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


def matches_for_new_candidates(*, trial: Trial) -> list[Match]:
    """The best live eligible or possibly eligible match per patient of the trial who has no candidacy yet
    and still consents to matching, skipping matches to full or suspended arms."""
    closed = closed_arm_ids(trial_id=trial.pk)
    matches = (
        Match.objects.filter(
            trial=trial,
            retired_at__isnull=True,
            verdict__in=[Match.Verdict.ELIGIBLE, Match.Verdict.POSSIBLY_ELIGIBLE],
            patient__in=profiles_with_active_consent(ConsentDocument.Purpose.MATCHING),
        )
        .exclude(patient__candidacies__trial=trial)
        .exclude(arm_id__in=closed)
        .order_by("patient_id", "-score", "id")
    )
    best: dict[int, Match] = {}
    for match in matches:
        best.setdefault(match.patient_id, match)
    return list(best.values())


# Sponsor aggregates. Nothing here returns a patient-level row: every count goes through suppression before
# it leaves, and times and projections are shown only when the counts behind them are large enough.

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


# Site pages: the queue, the pseudonymous summary, contact details once the patient agreed, the logs.


@dataclass(frozen=True)
class SiteTrial:
    site: Site
    trial: Trial
    counts: dict[str, int]
    closed_arms: list[Arm]


def site_trials(*, user: User) -> list[SiteTrial]:
    """The trials run at the user's sites, with the site's own candidate counts per status."""
    rows = []
    trial_sites = (
        TrialSite.objects.filter(site__memberships__user=user)
        .select_related("site", "trial")
        .order_by("site__facility", "trial__nct_id")
    )
    for trial_site in trial_sites:
        counts = dict(
            Candidate.objects.filter(site=trial_site.site, trial=trial_site.trial)
            .values_list("status")
            .annotate(n=Count("id"))
        )
        closed = closed_arm_ids(trial_id=trial_site.trial_id)
        rows.append(
            SiteTrial(
                site=trial_site.site,
                trial=trial_site.trial,
                counts=counts,
                closed_arms=list(Arm.objects.filter(pk__in=closed).order_by("label")),
            )
        )
    return rows


def staff_trial_site(*, user: User, site_id: int, trial_id: int) -> TrialSite | None:
    """The trial-site pair if the user works at that site and the trial runs there."""
    return (
        TrialSite.objects.filter(site_id=site_id, trial_id=trial_id, site__memberships__user=user)
        .select_related("site", "trial")
        .first()
    )


def site_queue(
    *,
    site: Site,
    trial: Trial,
    status: str = "",
    arm_id: int | None = None,
    verdict: str = "",
    unknown_only: bool = False,
    since: datetime | None = None,
) -> QuerySet[Candidate]:
    """The site's candidates for the trial, patients who asked to hear from it first, then by match score."""
    open_interest = TrialInterest.objects.filter(
        patient=OuterRef("patient"), trial=OuterRef("trial"), withdrawn_at__isnull=True
    )
    queue = (
        Candidate.objects.filter(site=site, trial=trial)
        .select_related("match", "arm")
        .annotate(interested=Exists(open_interest))
    )
    if status:
        queue = queue.filter(status=status)
    if arm_id is not None:
        queue = queue.filter(arm_id=arm_id)
    if verdict:
        queue = queue.filter(match__verdict=verdict)
    if unknown_only:
        queue = queue.filter(match__isnull=False).exclude(match__to_settle=[])
    if since is not None:
        queue = queue.filter(created_at__gt=since)
    return queue.order_by("-interested", F("match__score").desc(nulls_last=True), "created_at", "id")


def staff_candidate(*, user: User, pk: int) -> Candidate | None:
    """A candidate of one of the user's sites; another site's candidate is not found."""
    return (
        Candidate.objects.filter(pk=pk, site__memberships__user=user)
        .select_related("patient__user", "trial", "site", "arm", "match")
        .first()
    )


def age_band(birth_date: date | None, today: date) -> str:
    if birth_date is None:
        return "not stated"
    age = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    low = age // 5 * 5
    return f"{low}-{low + 4}"


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
        " ".join(part for part in (d.label or d.code, f"stage {d.stage}" if d.stage else "") if part)
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
    rows = []
    for candidate in (
        Candidate.objects.filter(site=site, trial=trial).select_related("match").order_by("created_at")
    ):
        times = reached.get(candidate.pk, {})
        last = last_reasons.get(candidate.pk)

        def day(status: str, times: dict[str, datetime] = times) -> str:
            return times[status].date().isoformat() if status in times else ""

        rows.append(
            {
                "subject_code": candidate.subject_code,
                "matched_on": candidate.created_at.date().isoformat(),
                "pre_screened_on": day(S.PRE_SCREENED),
                "contacted_on": day(S.CONTACTED),
                "consented_on": day(S.CONSENTED),
                "screening_on": day(S.SCREENING),
                "outcome_on": "" if candidate.is_open else day(candidate.status),
                "status": candidate.status,
                "consent_version": versions.get(candidate.patient_id, ""),
                "eligible": candidate.match.verdict if candidate.match else "",
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


def consort_funnel(*, site: Site, trial: Trial) -> list[FunnelStep]:
    """CONSORT-style flow of the site's candidates: how many reached each stage and why others left."""
    reached = _reached_on(trial, site)
    statuses = dict(Candidate.objects.filter(site=site, trial=trial).values_list("id", "status"))
    reasons: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for event in CandidateEvent.objects.filter(
        candidate__site=site, candidate__trial=trial, kind=CandidateEvent.Kind.TRANSITION
    ).exclude(to_status__in=[*OPEN_STATUSES, S.ENROLLED]):
        reasons[event.to_status][ReasonCode(event.reason).label if event.reason else "no reason given"] += 1

    def count(status: str) -> int:
        return sum(1 for times in reached.values() if status in times)

    def exits(*terminal: str) -> list[tuple[str, int]]:
        return [
            (f"{CandidateStatus(t).label}: {reason}", n)
            for t in terminal
            for reason, n in sorted(reasons[t].items())
        ]

    steps = [
        FunnelStep("Matched (assessed for eligibility)", len(statuses), exits(S.PRE_SCREEN_INELIGIBLE)),
        FunnelStep("Pre-screened", count(S.PRE_SCREENED), exits(S.UNREACHABLE)),
        FunnelStep("Contacted", count(S.CONTACTED), []),
        FunnelStep("Consented", count(S.CONSENTED), exits(S.DECLINED)),
        FunnelStep("Screening", count(S.SCREENING), exits(S.SCREEN_FAILED)),
        FunnelStep("Enrolled", count(S.ENROLLED), []),
    ]
    withdrawn = sum(1 for status in statuses.values() if status == S.WITHDRAWN)
    steps.append(FunnelStep("Withdrawn at any stage", withdrawn, exits(S.WITHDRAWN)))
    return steps
