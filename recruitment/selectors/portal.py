"""Reads for the patient portal: a patient's own matches, ranked, with the nearest site."""

import math
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import CharField, Prefetch, QuerySet, Value

from nlp.ranking import TrialText, rank_for_profile
from recruitment.matching.from_text import outcome_from_stored
from recruitment.models import (
    Biomarker,
    Diagnosis,
    Match,
    PatientProfile,
    Procedure,
    Therapy,
    TrialInterest,
)
from recruitment.selectors.consent import patient_has_active_consent
from trials.models import ConsentDocument, Site, Trial, TrialSite

EARTH_RADIUS_KM = 6371.0

SITE_RECRUITING_STATUSES: tuple[str, ...] = (*Trial.OPEN_STATUSES, TrialSite.Status.UNKNOWN)
"""A site recruits for an open trial in these statuses: registries often give no status per location, and a
site with none of its own follows its trial's."""


@dataclass(frozen=True)
class PatientMatch:
    match: Match
    nearest_site: Site | None
    distance_km: float | None
    interested: bool
    # Why it stands where it does in the ranked list (nlp.ranking): topic words in common and fit.
    explanation: str = ""


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
    """The patient's live matches, best first, each with the nearest site recruiting for it (the one that
    takes up her candidacy); none while the patient does not consent to matching."""
    if not patient_has_active_consent(patient=patient, purpose=ConsentDocument.Purpose.MATCHING):
        return []
    matches = (
        Match.objects.filter(patient=patient, retired_at__isnull=True)
        .select_related("trial", "arm")
        .prefetch_related(
            Prefetch(
                "trial__trial_sites",
                queryset=TrialSite.objects.filter(status__in=SITE_RECRUITING_STATUSES).select_related("site"),
            )
        )
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


def patient_matches_ranked(*, patient: PatientProfile) -> list[PatientMatch]:
    """The patient's live matches ordered by nlp.ranking, each with its one-line explanation.

    Relevance is BM25 of the profile's own diagnoses (weighted), genes, drugs and procedures over what each
    trial is about, scaled by how well the patient fits the stored verdict; ties keep the engine's order
    (by score).
    """
    rows = patient_matches(patient=patient)
    if not rows:
        return rows
    conditions: list[str] = []
    others: list[str] = []
    for kind, term in _profile_terms(patient):
        (conditions if kind == "condition" else others).append(term)
    trials, outcomes = [], {}
    for row in rows:
        match, trial = row.match, row.match.trial
        key = str(match.pk)  # one entry per match: a trial with several arms has a verdict per arm
        trials.append(
            TrialText(
                key,
                trial.official_title or trial.brief_title,
                tuple(str(c) for c in trial.conditions),
                tuple(str(k) for k in trial.keywords),
            )
        )
        outcomes[key] = outcome_from_stored(match.verdict, match.score, match.criteria)
    by_key = {str(row.match.pk): row for row in rows}
    return [
        replace(by_key[ranked.nct_id], explanation=ranked.summary())
        for ranked in rank_for_profile(conditions, others, trials, outcomes)
    ]


def _profile_terms(patient: PatientProfile) -> list[tuple[str, str]]:
    """(kind, term) for the profile's present diagnoses ("condition") and its genes, drugs and procedures
    ("other"), in one query."""

    def terms(model: Any, kind: str, field: str, **where: Any) -> QuerySet[Any]:
        kind_value = Value(kind, output_field=CharField())
        return (
            model.objects.filter(patient=patient, **where)
            .order_by()  # the parts of a compound query take no ORDER BY
            .annotate(kind=kind_value)
            .values_list("kind", field)
        )

    diagnoses = terms(Diagnosis, "condition", "label", presence=Diagnosis.Presence.PRESENT)
    return list(
        diagnoses.union(
            terms(Biomarker, "other", "gene"),
            terms(Therapy, "other", "drug"),
            terms(Procedure, "other", "name"),
            all=True,
        )
    )
