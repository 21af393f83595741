"""Site staff pages under /site/: the candidate queue per trial and site, the candidate page, transitions
and the site's exports.

Only site staff use these pages (anyone else: 403). Staff reach trials and candidates only through the sites
they are members of, so another site's candidate or trial is a 404, never a 403 that would confirm it exists.
"""

import csv
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import Truncator
from django.views.decorators.http import require_GET, require_POST

from recruitment.fhir import site_research_bundle
from recruitment.http import AuthenticatedRequest, role_required
from recruitment.models import NOTE_MAX_LENGTH, Candidate, CandidateStatus, Match, ReasonCode, User
from recruitment.notifications import site_alerts_mark_read, staff_digest_set
from recruitment.selectors import site as site_selectors
from recruitment.selectors.consent import patient_has_active_consent
from recruitment.selectors.site import (
    DISTANCE_BANDS_KM,
    SCREENING_LOG_COLUMNS,
    arm_is_closed,
    candidate_history,
    consort_funnel,
    contact_allowed,
    digest_enabled,
    match_standing,
    match_standings,
    pseudonymous_summary,
    shared_profile,
    site_queue,
    site_queue_page_rows,
    site_trials,
    staff_alerts,
    staff_candidate,
    staff_trial_site,
    trial_site_recruiting,
    unread_alert_count,
)
from recruitment.services.workflow import (
    TRANSITIONS,
    TransitionConflict,
    TransitionError,
    candidate_transition,
    candidate_view_record,
)
from recruitment.wording import plain_criterion_text
from trials.models import Arm, ConsentDocument, EligibilityCriterion, TrialSite

S = CandidateStatus
Purpose = ConsentDocument.Purpose


site_staff_only = role_required(
    lambda user: user.role == User.Role.SITE_STAFF, "Site pages are for site staff."
)


def _trial_site(request: AuthenticatedRequest, site_id: int, trial_id: int) -> TrialSite:
    trial_site = staff_trial_site(user=request.user, site_id=site_id, trial_id=trial_id)
    if trial_site is None:
        raise Http404("No such trial at your sites.")
    return trial_site


def _candidate(request: AuthenticatedRequest, pk: int) -> Candidate:
    candidate = staff_candidate(user=request.user, pk=pk)
    if candidate is None:
        raise Http404("No such candidate at your sites.")
    return candidate


def _render(
    request: AuthenticatedRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """Render a site page with the unread alert count its navigation shows."""
    return render(
        request, template, {**context, "unread_alerts": unread_alert_count(user=request.user)}, status=status
    )


@site_staff_only
@require_GET
def home(request: AuthenticatedRequest) -> HttpResponse:
    return _render(request, "site/home.html", {"rows": site_trials(user=request.user)})


class DigestForm(forms.Form):
    daily_digest = forms.BooleanField(label="Send me a daily e-mail about new candidates", required=False)


@site_staff_only
def alerts(request: AuthenticatedRequest) -> HttpResponse:
    """New candidates at the user's sites; showing them marks them read. A POST sets the digest e-mail."""
    if request.method == "POST":
        form = DigestForm(request.POST)
        if form.is_valid():
            setting = staff_digest_set(user=request.user, daily_digest=form.cleaned_data["daily_digest"])
            messages.success(
                request, "Daily e-mail turned on." if setting.daily_digest else "Daily e-mail turned off."
            )
        return redirect("site:alerts")
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    rows = staff_alerts(user=request.user)
    digest = DigestForm(initial={"daily_digest": digest_enabled(user=request.user)})
    unread = {alert.pk for alert in rows if alert.read_at is None}
    # As in the queue: no verdict or cohort of a patient who no longer consents to matching.
    candidates = {alert.candidate_id: alert.candidate for alert in rows}
    standings = match_standings(candidates=list(candidates.values()))
    shown = {pk for pk, standing in standings.items() if standing.current}
    site_alerts_mark_read(user=request.user)
    context = {"alerts": rows, "unread": unread, "match_shown": shown, "digest": digest}
    return _render(request, "site/alerts.html", context)


class QueueFilter(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *S.choices], required=False)
    cohort = forms.ModelChoiceField(queryset=Arm.objects.none(), required=False, empty_label="Any cohort")
    eligibility = forms.ChoiceField(choices=[("", "Any"), *Match.Verdict.choices], required=False)
    unknown = forms.BooleanField(label="Only with unknown criteria", required=False)
    new = forms.BooleanField(label="Only new since my last visit", required=False)
    within_km = forms.TypedChoiceField(
        label="Distance to the site",
        choices=[("", "Any distance"), *((str(km), f"Within {km} km") for km in DISTANCE_BANDS_KM)],
        coerce=int,
        empty_value=None,
        required=False,
    )

    def __init__(self, *args: Any, trial_site: TrialSite, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cohort"].queryset = trial_site.trial.arms.order_by("label")  # type: ignore[attr-defined]


BULK_ACTIONS = {
    "pre_screen": (S.MATCHED, S.PRE_SCREENED, ""),
    "not_eligible": (S.MATCHED, S.PRE_SCREEN_INELIGIBLE, ReasonCode.INVESTIGATOR_DECISION),
}


QUEUE_PAGE_SIZE = 50
QUEUE_VISIT_GAP = timedelta(minutes=30)
"""A queue page seen longer ago than this ended the previous visit."""


@site_staff_only
@require_GET
def queue(request: AuthenticatedRequest, site_id: int, trial_id: int) -> HttpResponse:
    """The trial's candidates at the site, QUEUE_PAGE_SIZE a page. The filters travel in the query string
    with the page number, so every page of a filtered queue is filtered alike; a page number past the end
    shows the last page, one that is not a number the first (as the registry's list does)."""
    trial_site = _trial_site(request, site_id, trial_id)
    site, trial = trial_site.site, trial_site.trial
    visit_key = f"site-queue-visit:{site.pk}:{trial.pk}"
    stored = request.session.get(visit_key)
    # Sessions written before visits had a start hold the time of the last page seen only.
    visit = stored if isinstance(stored, dict) else {"seen": stored or ""}
    now = timezone.now()
    seen = parse_datetime(visit.get("seen") or "")
    last_visit = parse_datetime(visit.get("since") or "")
    if seen is None or now - seen > QUEUE_VISIT_GAP:
        # A new visit: "new since my last visit" counts from the last page seen in the previous one, and
        # keeps that cut-off while this visit turns pages and changes filters.
        last_visit = seen
    request.session[visit_key] = {
        "since": last_visit.isoformat() if last_visit else "",
        "seen": now.isoformat(),
    }
    form = QueueFilter(request.GET or None, trial_site=trial_site)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "status": data["status"],
            "arm_id": data["cohort"].pk if data["cohort"] else None,
            "verdict": data["eligibility"],
            "unknown_only": data["unknown"],
            "since": last_visit if data["new"] else None,
            "within_km": data["within_km"],
        }
    page = Paginator(site_queue(site=site, trial=trial, **filters), QUEUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = site_queue_page_rows(candidates=list(page.object_list))
    context = {
        "site": site,
        "trial": trial,
        "trial_site": trial_site,
        "recruiting": trial_site_recruiting(trial_site),
        "form": form,
        "page": page,
        "rows": rows,
        "filtered": any(filters.values()),
        "last_visit": last_visit,
        "closed_arms": [a for a in trial.arms.all() if arm_is_closed(arm=a)],
    }
    return _render(request, "site/queue.html", context)


@site_staff_only
@require_POST
def bulk(request: AuthenticatedRequest, site_id: int, trial_id: int) -> HttpResponse:
    trial_site = _trial_site(request, site_id, trial_id)
    # The form posts with the queue's own query string, so staff land back on the page, filters and sort
    # they acted from.
    back = reverse("site:queue", args=[site_id, trial_id])
    if request.GET:
        back = f"{back}?{request.GET.urlencode()}"
    action = BULK_ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        messages.error(request, "Choose an action.")
        return redirect(back)
    expected, to_status, reason = action
    moved, refused = 0, []
    for raw in request.POST.getlist("candidate"):
        # isdecimal, not isdigit: "²" is a digit that int() refuses.
        candidate = staff_candidate(user=request.user, pk=int(raw)) if raw.isdecimal() else None
        if candidate is None or candidate.trial_id != trial_site.trial_id or candidate.site_id != site_id:
            continue
        try:
            candidate_transition(
                candidate_id=candidate.pk,
                to_status=to_status,
                actor=request.user,
                reason=reason,
                expected_status=expected,
                note="bulk action from the queue",
            )
            moved += 1
        except TransitionError as error:
            refused.append(str(error))
    if moved:
        messages.success(
            request, f"{moved} candidate{'s' if moved != 1 else ''} moved to {S(to_status).label}."
        )
    for refusal in refused:
        messages.error(request, refusal)
    return redirect(back)


def _criterion_choice(criterion: EligibilityCriterion) -> str:
    """A criterion as the screen-failure list offers it: "Inclusion: Aged 18 years or over"."""
    return f"{criterion.get_section_display()}: {Truncator(plain_criterion_text(criterion.text)).chars(120)}"


class TransitionForm(forms.Form):
    to_status = forms.ChoiceField(label="Move to")
    reason = forms.ChoiceField(choices=[("", "No reason (main path)"), *ReasonCode.choices], required=False)
    criterion = forms.ModelChoiceField(
        queryset=EligibilityCriterion.objects.none(),
        required=False,
        label="Failing criterion (screen failure)",
    )
    cohort = forms.ModelChoiceField(queryset=Arm.objects.none(), required=False, label="Cohort (enrolment)")
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=NOTE_MAX_LENGTH
    )
    expected_status = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, candidate: Candidate, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        nexts = [to for (source, to) in TRANSITIONS if source == candidate.status]
        to_status = self.fields["to_status"]
        assert isinstance(to_status, forms.ChoiceField)
        to_status.choices = [(to, S(to).label) for to in nexts]
        criterion = self.fields["criterion"]
        assert isinstance(criterion, forms.ModelChoiceField)
        criterion.queryset = EligibilityCriterion.objects.filter(
            trial=candidate.trial, retired_at__isnull=True
        ).order_by("position")
        criterion.label_from_instance = _criterion_choice  # type: ignore[method-assign,assignment]
        cohort = self.fields["cohort"]
        assert isinstance(cohort, forms.ModelChoiceField)
        cohort.queryset = candidate.trial.arms.order_by("label")
        cohort.label_from_instance = lambda arm: arm.label  # type: ignore[method-assign,assignment]
        cohort.initial = candidate.arm_id
        self.fields["expected_status"].initial = candidate.status


# An exclusion is "satisfied" when the patient passes it: "Met" beside its text would read as excluded.
OUTCOME_WORDS = {
    ("inclusion", "satisfied"): ("met", "Met"),
    ("inclusion", "violated"): ("not-met", "Not met"),
    ("exclusion", "satisfied"): ("met", "Does not apply"),
    ("exclusion", "violated"): ("not-met", "Applies: excluded"),
}
UNSETTLED_WORDS = {
    "unknown": ("unknown", "Unknown"),
    "not_checkable": ("unknown", "Check with the patient"),
}


def _explained(criteria: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for criterion in criteria:
        css, words = OUTCOME_WORDS.get(
            (criterion["section"], criterion["outcome"]),
            UNSETTLED_WORDS.get(criterion["outcome"], UNSETTLED_WORDS["unknown"]),
        )
        rows.append(
            {
                "section": criterion["section"],
                "text": plain_criterion_text(criterion["text"]),
                "css": css,
                "words": words,
                "evidence": site_selectors.site_evidence(criterion),
                "to_settle": [s["text"] for s in criterion.get("to_settle", [])],
            }
        )
    return rows


@site_staff_only
@require_GET
def candidate_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    candidate = _candidate(request, pk)
    return _candidate_page(
        request, candidate, TransitionForm(candidate=candidate) if candidate.is_open else None
    )


def _candidate_page(
    request: AuthenticatedRequest, candidate: Candidate, form: TransitionForm | None, status: int = 200
) -> HttpResponse:
    candidate_view_record(candidate=candidate, actor=request.user)
    site_alerts_mark_read(user=request.user, candidate_id=candidate.pk)
    contact = contact_allowed(candidate=candidate)
    # Staff never see the clinical summary of a patient who no longer consents to matching; the subject code
    # and the history stay, since the log must not be rewritten.
    matching = patient_has_active_consent(patient=candidate.patient, purpose=Purpose.MATCHING)
    context = {
        "candidate": candidate,
        "summary": pseudonymous_summary(candidate=candidate) if matching else None,
        "shared": shared_profile(candidate=candidate),
        "contact": candidate.patient.user if contact else None,
        "criteria": _explained(candidate.match.criteria) if candidate.match and matching else [],
        "to_settle": [s["text"] for s in candidate.match.to_settle] if candidate.match else [],
        "history": candidate_history(candidate=candidate),
        "form": form,
        "standing": match_standing(candidate=candidate),
    }
    return _render(request, "site/candidate.html", context, status=status)


KEPT_ON_REFUSAL = ("reason", "criterion", "cohort", "note")
"""What staff typed or chose that a refused move keeps in the form shown again for the current status."""


@site_staff_only
@require_POST
def candidate_move(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """A refused move shows the candidate page again, as it is now, with what was typed kept: a stale page
    (someone moved the candidate first) gets the conflict message (409), invalid input its field errors
    (400)."""
    candidate = _candidate(request, pk)
    form = TransitionForm(request.POST, candidate=candidate)
    seen = request.POST.get("expected_status", "")
    if not form.is_valid():
        if candidate.is_open and (not seen or seen == candidate.status):
            return _candidate_page(request, candidate, form, status=400)
        # The choices follow the current state: a stale form's target may be gone, which is a conflict too.
        refusal, status = "This candidate has changed since you opened the page; check its status.", 409
    else:
        data = form.cleaned_data
        try:
            candidate_transition(
                candidate_id=candidate.pk,
                to_status=data["to_status"],
                actor=request.user,
                reason=data["reason"],
                note=data["note"],
                expected_status=data["expected_status"],
                criterion_id=data["criterion"].pk if data["criterion"] else None,
                arm_id=data["cohort"].pk if data["cohort"] else None,
            )
        except TransitionError as error:
            refusal, status = str(error), 409 if isinstance(error, TransitionConflict) else 400
        else:
            messages.success(request, f"{candidate.subject_code} moved to {S(data['to_status']).label}.")
            return redirect("site:candidate", pk)
    messages.error(request, refusal)
    candidate = _candidate(request, pk)  # as it is now: moved by someone else, or following a re-match
    if candidate.status == seen:
        kept = TransitionForm(request.POST, candidate=candidate)
    else:
        typed = {name: request.POST.get(name, "") for name in KEPT_ON_REFUSAL}
        kept = TransitionForm(candidate=candidate, initial=typed)
    return _candidate_page(request, candidate, kept if candidate.is_open else None, status=status)


@site_staff_only
@require_GET
def screening_log(request: AuthenticatedRequest, site_id: int, trial_id: int) -> HttpResponse:
    trial_site = _trial_site(request, site_id, trial_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="screening-log-{trial_site.trial.nct_id}-site{site_id}.csv"'
    )
    writer = csv.DictWriter(response, fieldnames=SCREENING_LOG_COLUMNS)
    writer.writeheader()
    writer.writerows(
        {name: _spreadsheet_safe(value) for name, value in row.items()}
        for row in site_selectors.screening_log(site=trial_site.site, trial=trial_site.trial)
    )
    return response


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: one that starts like a formula (criterion text comes from the
    registry, e.g. "=HYPERLINK(...)") is prefixed with an apostrophe, which the spreadsheet does not show."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


@site_staff_only
@require_GET
def fhir_export(request: AuthenticatedRequest, site_id: int, trial_id: int) -> HttpResponse:
    trial_site = _trial_site(request, site_id, trial_id)
    candidates = list(site_queue(site=trial_site.site, trial=trial_site.trial).select_related("trial", "arm"))
    bundle = site_research_bundle(trial=trial_site.trial, candidates=candidates)
    return JsonResponse(bundle, content_type="application/fhir+json")


@site_staff_only
@require_GET
def funnel(request: AuthenticatedRequest, site_id: int, trial_id: int) -> HttpResponse:
    trial_site = _trial_site(request, site_id, trial_id)
    context = {
        "site": trial_site.site,
        "trial": trial_site.trial,
        "steps": consort_funnel(site=trial_site.site, trial=trial_site.trial),
    }
    return _render(request, "site/funnel.html", context)
