from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from recruitment.http import AuthenticatedRequest
from recruitment.selectors.health import health_checks, home_summary


@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    if request.user.is_patient:
        return redirect("portal:home")  # patients have one place: their portal
    return render(request, "home.html", home_summary(user=request.user))


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness for load balancers: 200 when every configured dependency answers, else 503."""
    checks = health_checks()
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )
