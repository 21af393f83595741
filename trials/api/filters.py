import django_filters
from django.db.models import QuerySet

from trials.models import Site, Trial


class TrialFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="brief_title", lookup_expr="icontains", label="Title contains")
    condition = django_filters.CharFilter(
        field_name="conditions", lookup_expr="icontains", label="Condition contains"
    )
    sponsor = django_filters.CharFilter(field_name="sponsor__name", lookup_expr="icontains")
    open = django_filters.BooleanFilter(method="filter_open", label="Open to new candidates")

    class Meta:
        model = Trial
        fields = ["overall_status", "phase", "study_type", "sex"]

    def filter_open(self, queryset: QuerySet[Trial], name: str, value: bool) -> QuerySet[Trial]:
        open_statuses = list(Trial.OPEN_STATUSES)
        if value:
            return queryset.filter(overall_status__in=open_statuses)
        return queryset.exclude(overall_status__in=open_statuses)


class SiteFilter(django_filters.FilterSet):
    facility = django_filters.CharFilter(lookup_expr="icontains")
    city = django_filters.CharFilter(lookup_expr="iexact")
    country = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Site
        fields = ["facility", "city", "country"]
