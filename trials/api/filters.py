from collections.abc import Iterable
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from trials.models import Site, Trial


def unknown_query_parameters_refuse(
    request: Request, view: APIView, *, known: Iterable[str], paged: bool = True
) -> None:
    """Refuse with a 400 naming them the query parameters a read does not take besides `known` (a list's
    filters), a list's paging and `format`: ignored, a misspelt filter (`?stauts=recruiting`) is answered with
    the whole list as if it were filtered, and a misspelt `?fromat=json` on one object looks taken."""
    paginator = getattr(view, "paginator", None) if paged else None
    paging = (getattr(paginator, "page_query_param", None), getattr(paginator, "page_size_query_param", None))
    taken = {*known, *(name for name in paging if name), api_settings.URL_FORMAT_OVERRIDE or "format"}
    unknown = sorted(set(request.query_params) - taken)
    if unknown:
        what = "list" if paged else "read"
        message = f"Unknown query parameter; this {what} takes {', '.join(sorted(taken))}."
        raise serializers.ValidationError({name: [message] for name in unknown})


class KnownParametersFilterBackend(DjangoFilterBackend):
    """django-filter's backend, refusing on a list what `unknown_query_parameters_refuse` refuses, and on the
    read of one object (which filters its queryset too) any parameter but `format`."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: APIView) -> QuerySet[Any]:
        lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
        if lookup not in view.kwargs:
            filterset_class = self.get_filterset_class(view, queryset)
            known = filterset_class.base_filters if filterset_class is not None else ()
            unknown_query_parameters_refuse(request, view, known=known)
        elif request.method in ("GET", "HEAD"):
            unknown_query_parameters_refuse(request, view, known=(), paged=False)
        filtered: QuerySet[Any] = super().filter_queryset(request, queryset, view)
        return filtered


class ParameterlessReadView(APIView):
    """An APIView whose GET reads one object or page (no list, no filter backend): it refuses any query
    parameter but `format`, as the reads through `KnownParametersFilterBackend` do."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method in ("GET", "HEAD"):
            unknown_query_parameters_refuse(request, self, known=(), paged=False)


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
