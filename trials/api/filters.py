import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from trials.models import Site, Trial


class YesNoField(forms.NullBooleanField):
    """true or false (or 1 or 0), any case. Django's field reads any other value as "not given", which
    would answer a mistyped filter with the whole unfiltered list; here it is an error."""

    widget = forms.TextInput  # the select's widget, too, reads an unknown value as "not given"
    VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value: object) -> bool | None:  # type: ignore[override]
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        try:
            return self.VALUES[str(value).lower()]
        except KeyError:
            raise ValidationError(f"Give true or false, not {str(value)[:20]!r}.", code="invalid") from None


class YesNoFilter(django_filters.BooleanFilter):
    field_class = YesNoField


class TrialFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="brief_title", lookup_expr="icontains", label="Title contains")
    condition = django_filters.CharFilter(
        field_name="conditions", lookup_expr="icontains", label="Condition contains"
    )
    sponsor = django_filters.CharFilter(field_name="sponsor__name", lookup_expr="icontains")
    open = YesNoFilter(method="filter_open", label="Open to new candidates")

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
