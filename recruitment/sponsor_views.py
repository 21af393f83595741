"""Sponsor pages under /sponsor/: suppressed recruitment aggregates of the organisation's own trials.

Only sponsor users use these pages (anyone else: 403); another sponsor's trial is a 404. No view here
returns a patient-level row: everything comes from `selectors.sponsor_trial_dashboard`, already suppressed.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from recruitment import selectors
from recruitment.http import AuthenticatedRequest
from recruitment.models import User
from recruitment.suppression import HIDDEN, SMALL

SponsorView = Callable[..., HttpResponse]


def sponsor_only(view: SponsorView) -> SponsorView:
    @login_required
    @wraps(view)
    def wrapped(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.role != User.Role.SPONSOR:
            raise PermissionDenied("Sponsor pages are for sponsor users.")
        return view(request, *args, **kwargs)

    return wrapped


@sponsor_only
@require_GET
def home(request: AuthenticatedRequest) -> HttpResponse:
    trials = list(selectors.sponsor_trials(user=request.user))
    return render(request, "sponsor/home.html", {"trials": trials})


@sponsor_only
@require_GET
def trial_dashboard(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    trial = selectors.sponsor_trials(user=request.user).filter(pk=pk).first()
    if trial is None:
        raise Http404("No such trial of your organisation.")
    context = {
        "dashboard": selectors.sponsor_trial_dashboard(trial=trial),
        "small": SMALL,
        "hidden": HIDDEN,
    }
    return render(request, "sponsor/trial.html", context)
