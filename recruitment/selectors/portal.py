"""Reads for the patient portal: a patient's own matches, ranked, with the nearest site."""

import math
from dataclasses import dataclass

from django.db.models import Prefetch

from recruitment.models import (
    Match,
    PatientProfile,
    TrialInterest,
)
from recruitment.selectors.consent import patient_has_active_consent
from trials.models import ConsentDocument, Site, TrialSite

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
