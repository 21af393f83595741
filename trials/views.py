from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from recruitment.http import AuthenticatedRequest, role_required
from trials import selectors, services
from trials.forms import CriterionReviewForm
from trials.models import EligibilityCriterion, Trial

curator_required = role_required(lambda user: user.is_curator, "Curators only.")


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


@curator_required
def criteria_review(request: AuthenticatedRequest, nct_id: str) -> HttpResponse:
    trial = get_object_or_404(Trial, nct_id=nct_id.upper())
    return _review_page(request, trial)


@dataclass(frozen=True)
class KeptReview:
    """What a curator posted for one criterion and why it was not saved: shown again in its form."""

    criterion_id: int
    tree: str
    note: str
    errors: list[str]


def _review_page(
    request: AuthenticatedRequest, trial: Trial, *, kept: KeptReview | None = None, status: int = 200
) -> HttpResponse:
    section = request.GET.get("section", "")
    criterion_status = request.GET.get("status", "")
    flagged = request.GET.get("flagged") == "1"
    changed = request.GET.get("changed") == "1"
    criteria = selectors.criteria_for_review(
        trial=trial, section=section, status=criterion_status, flagged=flagged, changed=changed
    )
    return render(
        request,
        "trials/criteria_review.html",
        {
            "trial": trial,
            "criteria": criteria,
            # A refused review of a criterion not listed (retired, or filtered out) is shown above the list.
            "kept_unlisted": kept is not None
            and all(item.criterion.pk != kept.criterion_id for item in criteria),
            "counts": selectors.criteria_counts(trial=trial),
            "section": section,
            "status": criterion_status,
            "flagged": flagged,
            "changed": changed,
            "statuses": EligibilityCriterion.Status.choices,
            "actions": CriterionReviewForm.ACTIONS,
            "kept": kept,
        },
        status=status,
    )


@require_POST
@curator_required
def criterion_review(request: AuthenticatedRequest, nct_id: str, criterion_id: int) -> HttpResponse:
    """A review that cannot be saved (a stale revision, a malformed tree) shows the page again with what the
    curator typed in that criterion's form, beside the current reading; a redirect would lose it."""
    criterion = get_object_or_404(EligibilityCriterion, pk=criterion_id, trial__nct_id=nct_id.upper())
    form = CriterionReviewForm(request.POST)
    back = f"{reverse('trials:criteria', args=[criterion.trial.nct_id])}#criterion-{criterion.pk}"

    def refused(errors: list[str], status: int) -> HttpResponse:
        typed = KeptReview(criterion.pk, request.POST.get("tree", ""), request.POST.get("note", ""), errors)
        return _review_page(request, criterion.trial, kept=typed, status=status)

    if not form.is_valid():
        return refused(
            [
                f"Criterion #{criterion.position}, {field}: {error}"
                for field, errors in form.errors.items()
                for error in errors
            ],
            400,
        )
    try:
        services.criterion_review(
            criterion_id=criterion.pk,
            actor=request.user,
            action=form.cleaned_data["action"],
            revision=form.cleaned_data["revision"],
            tree=form.cleaned_data["parsed_tree"],
            note=form.cleaned_data["note"],
        )
    except services.CriterionConflict:
        conflict = (
            f"Criterion #{criterion.position} was changed by someone else since you opened it: nothing "
            "was saved. Its current reading is shown; what you typed is kept in its form, to check and "
            "save again."
        )
        return refused([conflict], 409)
    except services.CriterionStateError as exc:
        # A criterion the registry's text no longer holds: what the curator typed may belong to its successor.
        return refused([f"Criterion #{criterion.position}: {exc}; nothing was saved."], 409)
    messages.success(request, f"Criterion #{criterion.position} saved.")
    return redirect(back)


@require_POST
@curator_required
def trial_reparse(request: AuthenticatedRequest, nct_id: str) -> HttpResponse:
    trial = get_object_or_404(Trial, nct_id=nct_id.upper())
    result = services.trial_parse_eligibility(trial_id=trial.pk, force=True)
    messages.success(
        request,
        f"Parsed again: {result.created} new, {result.updated} updated, {result.kept_curated} curated kept, "
        f"{result.retired} retired, {result.restored} restored.",
    )
    return redirect("trials:criteria", nct_id=trial.nct_id)
