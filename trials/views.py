from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from trials import selectors
from trials.models import Trial


@login_required
def trial_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    trials = selectors.trial_search(query=query, status=status)
    page = Paginator(trials, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "trials/trial_list.html",
        {"page": page, "query": query, "status": status, "statuses": Trial.Status.choices},
    )


@login_required
def trial_detail(request: HttpRequest, nct_id: str) -> HttpResponse:
    trial = get_object_or_404(selectors.trial_with_related(), nct_id=nct_id.upper())
    return render(request, "trials/trial_detail.html", {"trial": trial})
