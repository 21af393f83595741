"""Sponsor pages under /sponsor/: suppressed recruitment aggregates of the organisation's own trials.

Only sponsor users use these pages (anyone else: 403); another sponsor's trial is a 404. No view here
returns a patient-level row: everything comes from `sponsor_trial_dashboard`, already suppressed.
"""

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from recruitment.charts import line_chart
from recruitment.http import AuthenticatedRequest, role_required
from recruitment.models import User
from recruitment.selectors.sponsor import sponsor_trial_dashboard, sponsor_trials
from recruitment.suppression import HIDDEN, SMALL

sponsor_only = role_required(
    lambda user: user.role == User.Role.SPONSOR, "Sponsor pages are for sponsor users."
)


@sponsor_only
@require_GET
def home(request: AuthenticatedRequest) -> HttpResponse:
    trials = list(sponsor_trials(user=request.user))
    return render(request, "sponsor/home.html", {"trials": trials})


@sponsor_only
@require_GET
def trial_dashboard(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    trial = sponsor_trials(user=request.user).filter(pk=pk).first()
    if trial is None:
        raise Http404("No such trial of your organisation.")
    dashboard = sponsor_trial_dashboard(trial=trial)
    context = {
        "dashboard": dashboard,
        "charts": [(chart, line_chart(chart.days, chart.series)) for chart in dashboard.charts],
        "small": SMALL,
        "hidden": HIDDEN,
    }
    return render(request, "sponsor/trial.html", context)
