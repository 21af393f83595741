"""Reads for the recruitment app. Writes live in services.py."""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count, Prefetch, Q, QuerySet
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
    Biomarker,
    Candidate,
    CandidateStatus,
    Consent,
    Diagnosis,
    LabResult,
    Match,
    PatientProfile,
    Procedure,
    Therapy,
    TrialInterest,
    User,
)
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


def arm_enrolled_counts(*, trial_id: int) -> dict[int, int]:
    """Enrolled candidates per arm of the trial: what the arms' caps are checked against."""
    rows = (
        Candidate.objects.filter(trial_id=trial_id, status=CandidateStatus.ENROLLED, arm__isnull=False)
        .values("arm_id")
        .annotate(n=Count("id"))
    )
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


def open_interest_patient_ids(*, trial: Trial) -> set[int]:
    return set(
        TrialInterest.objects.filter(trial=trial, withdrawn_at__isnull=True).values_list(
            "patient_id", flat=True
        )
    )
