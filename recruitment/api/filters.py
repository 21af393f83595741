"""Query parameters of the site's candidate queue. The filtering itself is the `site_queue` selector's, the
one the queue page uses; this FilterSet validates and documents the parameters and orders the result."""

import django_filters
from django import forms
from django.db.models import F, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from recruitment.models import Candidate, CandidateStatus, Match
from recruitment.selectors.site import site_queue
from trials.models import TrialSite

ORDERINGS = {
    "score": (F("match__score").asc(nulls_last=True), "created_at", "id"),
    "-score": (F("match__score").desc(nulls_last=True), "created_at", "id"),
}


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
    ordering = django_filters.ChoiceFilter(
        choices=[("score", "Lowest score first"), ("-score", "Highest score first")],
        label="By match score only (default: patients who asked to hear from the trial first, then score)",
    )

    class Meta:
        model = Candidate
        fields: list[str] = []

    def queue(self, trial_site: TrialSite) -> QuerySet[Candidate]:
        """The trial-site's queue with the validated parameters (call after `is_valid`)."""
        data = self.form.cleaned_data
        candidates = site_queue(
            site=trial_site.site,
            trial=trial_site.trial,
            status=data.get("status") or "",
            arm_id=data.get("cohort"),
            verdict=data.get("eligibility") or "",
            unknown_only=bool(data.get("unknown")),
        )
        ordering = data.get("ordering")
        return candidates.order_by(*ORDERINGS[ordering]) if ordering else candidates
