"""Query parameters of the site's candidate queue. The filtering itself is the `site_queue_rows` selector's,
the one the queue page uses; this FilterSet validates and documents the parameters and orders the result."""

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from recruitment.models import Candidate, CandidateStatus, Match
from recruitment.selectors.site import DISTANCE_BANDS_KM, QueueRow, site_queue_rows
from trials.models import TrialSite


class IdField(forms.IntegerField):
    """A database id: a whole number the database can hold (a larger one would fail the query)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(min_value=1, max_value=2**63 - 1, **kwargs)  # type: ignore[arg-type]


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    field_class = IdField


class CandidateQueueFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CandidateStatus.choices)
    cohort = IdFilter(label="Arm id")
    eligibility = django_filters.ChoiceFilter(choices=Match.Verdict.choices)
    unknown = django_filters.BooleanFilter(label="Only with unknown criteria")
    within_km = django_filters.TypedChoiceFilter(
        choices=[(str(km), f"Within {km} km") for km in DISTANCE_BANDS_KM],
        coerce=int,
        empty_value=None,
        label="Only patients known to live within this distance of the site",
    )
    ordering = django_filters.ChoiceFilter(
        choices=[("score", "Lowest score first"), ("-score", "Highest score first")],
        label="By match score only (default: patients who asked to hear from the trial first, then score)",
    )

    class Meta:
        model = Candidate
        fields: list[str] = []

    def queue(self, trial_site: TrialSite) -> list[QueueRow]:
        """The trial-site's queue rows with the validated parameters (call after `is_valid`)."""
        data = self.form.cleaned_data
        rows = site_queue_rows(
            site=trial_site.site,
            trial=trial_site.trial,
            within_km=data.get("within_km"),
            status=data.get("status") or "",
            arm_id=data.get("cohort"),
            verdict=data.get("eligibility") or "",
            unknown_only=bool(data.get("unknown")),
        )
        ordering = data.get("ordering")
        if ordering:
            # By score alone, candidates without a score last either way; ties keep the queue's order.
            def key(row: QueueRow) -> tuple[bool, float]:
                match = row.candidate.match
                score = match.score if match is not None else None
                return (score is None, (score or 0.0) if ordering == "score" else -(score or 0.0))

            rows.sort(key=key)
        return rows
