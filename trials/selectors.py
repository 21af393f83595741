"""Reads for the registry."""

from django.db.models import Count, Prefetch, Q, QuerySet

from trials.models import Trial, TrialSite


def trial_search(*, query: str = "", status: str = "") -> QuerySet[Trial]:
    trials = Trial.objects.select_related("sponsor").annotate(site_count=Count("trial_sites"))
    if query:
        trials = trials.filter(
            Q(nct_id__iexact=query) | Q(brief_title__icontains=query) | Q(sponsor__name__icontains=query)
        )
    if status:
        trials = trials.filter(overall_status=status)
    return trials.order_by("nct_id")


def trial_with_related() -> QuerySet[Trial]:
    return Trial.objects.select_related("sponsor").prefetch_related(
        "arms", Prefetch("trial_sites", queryset=TrialSite.objects.select_related("site"))
    )
