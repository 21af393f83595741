"""Site staff paste a clinic note or referral letter for one of their candidates; the facts read from it are
shown for review and only the ticked ones are saved to the patient's profile, as entered by site staff.

The same reading and saving as the patient portal's "paste a summary" (recruitment/summary_paste). Access
follows the candidate page: site staff only (anyone else: 403), and only for a candidate of one of their
sites (another site's candidate: 404). Saving goes through the profile services, so the patient is
re-matched after commit.
"""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from recruitment.http import AuthenticatedRequest
from recruitment.models import CandidateStatus, FactSource
from recruitment.selectors.consent import patient_has_active_consent
from recruitment.selectors.site import staff_candidate, unread_alert_count
from recruitment.services.profile import ProfileConflict
from recruitment.site_views import site_staff_only
from recruitment.summary_paste import (
    MAX_TEXT_LENGTH,
    PasteError,
    summary_facts_save,
    summary_suggestions,
)
from trials.models import ConsentDocument


@site_staff_only
@require_http_methods(["GET", "POST"])
def candidate_paste(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    candidate = staff_candidate(user=request.user, pk=pk)
    if candidate is None:
        raise Http404("No such candidate at your sites.")
    patient = candidate.patient
    # A patient who withdrew matching consent is out of matching: nothing new goes into their profile.
    if not patient_has_active_consent(patient=patient, purpose=ConsentDocument.Purpose.MATCHING):
        messages.error(
            request, "The patient no longer consents to matching; their profile cannot be added to."
        )
        return redirect("site:candidate", pk)
    # As for a site's FHIR import: only while the candidacy is under way (or ended in enrolment). A patient
    # who was ruled out, declined or withdrew is no longer this site's to add to.
    if not (candidate.is_open or candidate.status == CandidateStatus.ENROLLED):
        messages.error(request, "This candidacy has ended; the patient's profile cannot be added to from it.")
        return redirect("site:candidate", pk)
    text = request.POST.get("text", "") if request.method == "POST" else ""
    picks = request.POST.getlist("pick")
    status = 200
    if request.method == "POST" and "add" in request.POST:
        try:
            added = summary_facts_save(
                profile=patient,
                picks=picks,
                actor=request.user,
                source=FactSource.SITE_ENTERED,
                shown_version=request.POST.get("shown_version") or None,
            )
        except ProfileConflict:
            messages.error(
                request,
                "The patient's profile was changed after this page was opened (by the patient, a colleague "
                "or a record import), so nothing was saved. The ticked facts are kept below: check them "
                "against the profile and save again.",
            )
            status = 409
        except PasteError as error:
            for problem in error.problems:
                messages.error(request, problem)
            if picks:
                messages.error(request, "Nothing was saved. Untick or correct the items and save again.")
        else:
            # The same words whether or not a ticked item was on the profile already (summary_suggestions).
            messages.success(
                request,
                f"The profile of {candidate.subject_code} now holds the {added} ticked "
                f"item{'s' if added != 1 else ''}; matching is being updated.",
            )
            return redirect("site:candidate", pk)
    if len(text) > MAX_TEXT_LENGTH:
        messages.warning(request, f"Only the first {MAX_TEXT_LENGTH:,} characters were read.")
    context = {
        "candidate": candidate,
        "text": text,
        "suggestions": (
            summary_suggestions(text, today=timezone.localdate(), profile=patient, shown_to_site=True)
            if text.strip()
            else []
        ),
        "picked": set(picks),
        "read": bool(text.strip()),
        "max_length": MAX_TEXT_LENGTH,
        "unread_alerts": unread_alert_count(user=request.user),
        "shown_version": patient.version,
    }
    return render(request, "site/paste.html", context, status=status)
