"""Reads for the recruitment app. Writes live in services.py."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Prefetch

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
    Diagnosis,
    LabResult,
    Match,
    PatientProfile,
    Procedure,
    Therapy,
    User,
)
from trials.models import EligibilityCriterion, Trial


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


def patient_facts(*, profile: PatientProfile) -> PatientFacts:
    """The frozen snapshot the matching engine evaluates: one query per kind of fact."""
    return PatientFacts(
        ref=f"profile:{profile.pk}",
        birth_date=profile.birth_date,
        sex=profile.sex,
        ecog=profile.ecog,
        pregnancy_status=profile.pregnancy_status,
        breastfeeding=profile.breastfeeding,
        history_confirmed_on=profile.history_confirmed_on,
        diagnoses=tuple(
            DiagnosisFact(
                ref=f"diagnosis:{d.pk}",
                code=d.code,
                label=d.label or d.code,
                present=d.presence == Diagnosis.Presence.PRESENT,
                diagnosed_on=d.diagnosed_on,
                stage=d.stage,
                histology=d.histology,
                source=d.source,
            )
            for d in Diagnosis.objects.filter(patient=profile)
        ),
        biomarkers=tuple(
            BiomarkerFact(
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
            for b in Biomarker.objects.filter(patient=profile)
        ),
        labs=tuple(
            LabFact(
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
            for r in LabResult.objects.filter(patient=profile)
        ),
        therapies=tuple(
            TherapyFact(
                ref=f"therapy:{t.pk}",
                drug=t.drug,
                classes=tuple(
                    dict.fromkeys([*drug_classes(t.drug), *([t.drug_class] if t.drug_class else [])])
                ),
                line=t.line,
                started_on=t.started_on,
                ended_on=t.ended_on,
                source=t.source,
            )
            for t in Therapy.objects.filter(patient=profile)
        ),
        procedures=tuple(
            ProcedureFact(
                ref=f"procedure:{p.pk}",
                code=p.code,
                name=p.name,
                performed_on=p.performed_on,
                source=p.source,
            )
            for p in Procedure.objects.filter(patient=profile)
        ),
    )


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


def trials_for_matching() -> list[TrialToMatch]:
    """Open trials with their arms and live criteria, in three queries."""
    trials = Trial.objects.filter(overall_status__in=Trial.OPEN_STATUSES).prefetch_related(
        Prefetch("criteria", queryset=EligibilityCriterion.objects.filter(retired_at__isnull=True)),
        "arms",
    )
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
