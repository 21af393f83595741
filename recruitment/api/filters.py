"""Query parameters of the site's candidate queue. The filtering itself is the `site_queue` selector's, the
one the queue page uses; this FilterSet validates and documents the parameters and orders the result."""

import django_filters
from django import forms
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from recruitment.models import Candidate, CandidateStatus, Match
from recruitment.selectors.site import DISTANCE_BANDS_KM, site_queue, site_queue_by_score
from trials.api.filters import YesNoFilter
from trials.models import TrialSite


class IdField(forms.IntegerField):
    """A database id: a whole number the database can hold (a larger one would fail the query)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(min_value=1, max_value=2**63 - 1, **kwargs)  # type: ignore[arg-type]


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    field_class = IdField


@extend_schema_field({"type": "integer", "enum": list(DISTANCE_BANDS_KM)})
class DistanceFilter(django_filters.TypedChoiceFilter):
    """A distance in whole km, one of the band edges: the schema says so (a choice filter reads as text)."""


class CandidateQueueFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CandidateStatus.choices)
    cohort = IdFilter(label="Arm id")
    eligibility = django_filters.ChoiceFilter(choices=Match.Verdict.choices)
    unknown = YesNoFilter(label="Only with unknown criteria")
    within_km = DistanceFilter(
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

    def queue(self, trial_site: TrialSite) -> QuerySet[Candidate]:
        """The trial-site's queue with the validated parameters (call after `is_valid`), ordered and
        filtered in SQL so that only the page asked for is read."""
        data = self.form.cleaned_data
        queue = site_queue(
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
            queue = site_queue_by_score(queue, descending=ordering == "-score")
        return queue
