"""The patient portal: registration, the patient's own profile, consent, matches and interest in trials.

Every view below the registration ones serves the signed-in patient's own data only: objects are looked up
through the patient's profile, so another patient's id is a 404, never a 403 that would confirm it exists.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from nlp import terminology
from recruitment.consent_pdf import consent_pdf
from recruitment.encryption import DecryptionError, decrypt, encrypt
from recruitment.fhir import patient_consents_bundle, patient_record_bundle
from recruitment.forms import (
    ASSAYS,
    MEASURES,
    UNITS,
    BiomarkerForm,
    ConsentForm,
    DiagnosisForm,
    FactForm,
    LabResultForm,
    ProcedureForm,
    ProfileForm,
    RegistrationForm,
    TherapyForm,
    WithdrawForm,
)
from recruitment.http import (
    TOO_MANY_EMAIL_FORMS,
    AuthenticatedRequest,
    client_ip,
    email_form_address_over_limit,
    email_form_client_over_limit,
)
from recruitment.models import (
    Biomarker,
    Consent,
    Diagnosis,
    LabResult,
    PatientProfile,
    Procedure,
    ProfileFact,
    Therapy,
    User,
)
from recruitment.notifications import match_alerts_unsubscribe, patient_for_unsubscribe_token
from recruitment.selectors.consent import (
    consent_overview,
    current_consent_document,
    current_contact_consent,
    patient_consents,
    patient_has_active_consent,
)
from recruitment.selectors.portal import PatientMatch, patient_matches, patient_matches_ranked
from recruitment.services import consent as consent_services
from recruitment.services.accounts import VerificationError, patient_register, patient_verify_email
from recruitment.services.consent import ConsentError, consent_give, trial_interest_express
from recruitment.services.profile import (
    ProfileConflict,
    patient_profile_for,
    profile_fact_delete,
    profile_fact_save,
    profile_update,
)
from recruitment.summary_paste import (
    MAX_TEXT_LENGTH,
    PasteError,
    summary_facts_save,
    summary_suggestions,
)
from recruitment.wording import plain_criterion_text
from trials.models import ConsentDocument, Trial

Purpose = ConsentDocument.Purpose


class PatientRequest(AuthenticatedRequest):
    profile: PatientProfile


PatientView = Callable[..., HttpResponse]
PATIENT_IDLE_SECONDS = getattr(settings, "PORTAL_IDLE_TIMEOUT_SECONDS", 30 * 60)


def patient_only(view: PatientView) -> PatientView:
    """Signed-in patients only; anyone else gets a 404 for patient pages. Attaches `request.profile`."""

    @login_required
    @wraps(view)
    def wrapped(request: PatientRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.role != User.Role.PATIENT:
            raise Http404("Patient pages are for patients.")
        # Health data on screen: a patient's session ends after a short idle time, renewed by each page.
        request.session.set_expiry(PATIENT_IDLE_SECONDS)
        request.profile = patient_profile_for(request.user)
        return view(request, *args, **kwargs)

    return wrapped


# Registration and e-mail verification


def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("portal:home")
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Every registration sends an e-mail (a link, or "someone tried to register" to an address that has
        # an account): limited per client and per address. Over the limit, nothing is created or sent; the
        # form comes back as typed, saying when to try again.
        if email_form_client_over_limit(request, "register") or email_form_address_over_limit(
            "register", form.cleaned_data["email"]
        ):
            form.add_error(None, TOO_MANY_EMAIL_FORMS)
            return render(request, "portal/register.html", {"form": form}, status=429)
        verify = request.build_absolute_uri(reverse("portal:verify", args=["TOKEN"])).replace(
            "TOKEN", "{token}"
        )
        patient_register(
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            first_name=form.cleaned_data["first_name"],
            last_name=form.cleaned_data["last_name"],
            verify_url=verify,
        )
        return render(request, "portal/register_done.html", {"email": form.cleaned_data["email"]})
    return render(request, "portal/register.html", {"form": form})


@require_GET
def verify(request: HttpRequest, token: str) -> HttpResponse:
    try:
        patient_verify_email(token=token)
    except VerificationError as error:
        return render(request, "portal/verify_failed.html", {"error": str(error)}, status=400)
    messages.success(request, "Thank you, your e-mail address is confirmed. You can sign in now.")
    return redirect(f"{reverse('login')}?next={reverse('portal:home')}")


# Home


@patient_only
def home(request: PatientRequest) -> HttpResponse:
    overview = consent_overview(patient=request.profile)
    return render(
        request,
        "portal/home.html",
        {
            "consents": overview,
            "matching_consent": patient_has_active_consent(patient=request.profile, purpose=Purpose.MATCHING),
            "match_count": len(patient_matches(patient=request.profile)),
            "fact_count": sum(len(kind.rows(request.profile)) for kind in FACT_KINDS.values()),
        },
    )


# Profile


@dataclass(frozen=True)
class FactKind:
    """One kind of profile fact as the editor shows it: its model, form, and plain-language names."""

    slug: str
    model: type[ProfileFact]
    form: type[FactForm]
    title: str
    singular: str
    empty: str

    def rows(self, profile: PatientProfile) -> list[Any]:
        return list(self.model.objects.filter(patient=profile))  # type: ignore[attr-defined]


FACT_KINDS: dict[str, FactKind] = {
    kind.slug: kind
    for kind in (
        FactKind(
            "diagnosis", Diagnosis, DiagnosisForm, "Illnesses and conditions", "an illness", "None added yet."
        ),
        FactKind(
            "biomarker",
            Biomarker,
            BiomarkerForm,
            "Tumour tests (biomarkers)",
            "a test result",
            "None added yet. Many trials look for these results.",
        ),
        FactKind("lab", LabResult, LabResultForm, "Blood tests", "a blood test", "None added yet."),
        FactKind(
            "therapy", Therapy, TherapyForm, "Medicines and treatments", "a medicine", "None added yet."
        ),
        FactKind(
            "procedure",
            Procedure,
            ProcedureForm,
            "Operations and procedures",
            "a procedure",
            "None added yet.",
        ),
    )
}


def _picker_lists() -> dict[str, list[str]]:
    genes = sorted({*terminology.genes(), "PD-L1", "TMB", "MSI-H"})
    labs = sorted(lab.label for lab in terminology.labs().values())
    return {"genes": genes, "labs": labs, "assays": ASSAYS, "measures": MEASURES, "units": UNITS}


@patient_only
def profile(request: PatientRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.profile)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            profile_update(profile=request.profile, fields=form.profile_fields(), shown_version=form.shown())
        except ProfileConflict as conflict:
            form.add_error(None, str(conflict))
            form.data = _with_version(request, PatientProfile.objects.get(pk=request.profile.pk))
            status = 409
        except ValidationError as error:
            _add_model_errors(form, error)
        else:
            messages.success(request, "Your profile is saved. Your matches are being updated.")
            if request.profile.sex == PatientProfile.Sex.MALE and request.profile.breastfeeding:
                # Kept, not refused: lactation can be induced, and a refusal would leave trials that exclude
                # breastfeeding reading the patient as not breastfeeding. A slip is worth a second look.
                messages.warning(
                    request,
                    "You said you are breastfeeding, and your sex recorded at birth is male: trials that "
                    "exclude breastfeeding will count you as breastfeeding. If that is a mistake, change it.",
                )
            return redirect("portal:profile")
    if status == 200 and form.errors:
        status = 400
    sections = [(kind, kind.rows(request.profile)) for kind in FACT_KINDS.values()]
    return render(request, "portal/profile.html", {"form": form, "sections": sections}, status=status)


def _add_model_errors(form: forms.BaseForm, error: ValidationError) -> None:
    for field, errors in error.update_error_dict({}).items():
        form.add_error(field if field in form.fields else None, list(errors))


def _fact_kind(slug: str) -> FactKind:
    kind = FACT_KINDS.get(slug)
    if kind is None:
        raise Http404("No such kind of fact.")
    return kind


@patient_only
def fact_edit(request: PatientRequest, kind: str, pk: int | None = None) -> HttpResponse:
    fact_kind = _fact_kind(kind)
    instance = (
        get_object_or_404(fact_kind.model, pk=pk, patient=request.profile)
        if pk is not None
        else fact_kind.model(patient=request.profile)
    )
    form = fact_kind.form(request.POST or None, instance=instance)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            profile_fact_save(
                profile=request.profile, fact=form.instance, actor=request.user, shown_version=form.shown()
            )
        except ProfileConflict as conflict:
            form.add_error(None, str(conflict))
            current = fact_kind.model._default_manager.filter(pk=instance.pk).first()
            if current is not None:
                form.data = _with_version(request, current)
            status = 409
        except ValidationError as error:
            _add_model_errors(form, error)
        else:
            messages.success(request, "Saved. Your matches are being updated.")
            return redirect(reverse("portal:profile") + f"#{kind}")
    if status == 200 and form.errors:
        status = 400
    context = {"form": form, "kind": fact_kind, "editing": pk is not None, **_picker_lists()}
    return render(request, "portal/fact_form.html", context, status=status)


def _with_version(request: HttpRequest, current: PatientProfile | ProfileFact) -> Any:
    """What was posted, with the version of the row as it is now: the form shown again after a conflict
    keeps what was typed, and saving it then is a decision made knowing."""
    posted = request.POST.copy()
    posted["shown_version"] = current.version
    return posted


REMOVED_FACTS = "removed_facts"
"""Session key: the facts (kind:id) removed in this session, latest last, so that a second Remove of one (a
double click, the same page in another tab) is answered as done while any other id stays a 404."""
REMOVED_FACTS_KEPT = 50


@require_POST
@patient_only
def fact_delete(request: PatientRequest, kind: str, pk: int) -> HttpResponse:
    fact_kind = _fact_kind(kind)
    key = f"{kind}:{pk}"
    removed_here = request.session.get(REMOVED_FACTS, [])
    fact = fact_kind.model._default_manager.filter(pk=pk, patient=request.profile).first()
    if fact is None and key not in removed_here:
        raise Http404("No such fact of yours.")
    try:
        removed = fact is not None and profile_fact_delete(
            fact=fact, shown_version=request.POST.get("shown_version") or None
        )
    except ProfileConflict as conflict:
        messages.error(request, str(conflict))
    else:
        if removed:
            request.session[REMOVED_FACTS] = [*removed_here, key][-REMOVED_FACTS_KEPT:]
            messages.success(request, f"Removed {fact}. Your matches are being updated.")
        else:
            messages.info(request, f"This {fact_kind.model._meta.verbose_name} was already removed.")
    return redirect(reverse("portal:profile") + f"#{kind}")


@require_GET
@patient_only
def terms(request: PatientRequest, kind: str) -> JsonResponse:
    """Suggestions for a profile field from the nlp terminology: preferred label first, then synonyms."""
    if kind not in ("condition", "therapy", "procedure", "lab"):
        raise Http404("No such vocabulary.")
    query = " ".join(request.GET.get("q", "").lower().split())
    results: list[dict[str, str]] = []
    if len(query) >= 2:
        for entry in terminology.vocabulary()[kind]:
            hit = next((term for term in entry.synonyms if query in term.lower()), None)
            if hit is not None:
                results.append({"code": entry.concept.code, "label": entry.concept.label, "matched": hit})
        results.sort(key=lambda r: (not r["label"].lower().startswith(query), len(r["label"])))
    return JsonResponse({"results": results[:10]})


# Consent


@patient_only
def consent(request: PatientRequest) -> HttpResponse:
    return _consent_page(request)


def _consent_page(request: PatientRequest, status: int = 200) -> HttpResponse:
    context = {
        "overview": consent_overview(patient=request.profile),
        "history": patient_consents(patient=request.profile),
        "share_consents": [
            c
            for c in patient_consents(patient=request.profile)
            if c.purpose == Purpose.SHARE and c.withdrawn_at is None
        ],
        "kept": _refused_signature(request),
    }
    return render(request, "portal/consent.html", context, status=status)


@require_POST
@patient_only
def consent_sign(request: PatientRequest) -> HttpResponse:
    form = ConsentForm(request.POST)
    back = request.POST.get("next") or reverse("portal:consent")
    if not back.startswith("/portal/"):
        back = reverse("portal:consent")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, _consent_field_message(str(error)))
        _keep_refused_signature(request)
        return redirect(back)
    document = get_object_or_404(
        ConsentDocument, pk=form.cleaned_data["document"], published_at__isnull=False
    )
    trial = None
    if form.cleaned_data["trial"] is not None:
        trial = get_object_or_404(Trial, pk=form.cleaned_data["trial"])
    try:
        consent_give(
            patient=request.profile,
            document=document,
            typed_name=form.cleaned_data["typed_name"],
            trial=trial,
            ip_address=client_ip(request.META),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            actor=request.user,
        )
    except ConsentError as error:
        messages.error(request, str(error))
        _keep_refused_signature(request)
    else:
        messages.success(request, f"Thank you. Your consent is recorded: {document.get_purpose_display()}.")
    return redirect(back)


REFUSED_SIGNATURE = "portal-refused-signature"


def _keep_refused_signature(request: PatientRequest) -> None:
    """What the patient ticked and typed in a refused signing form, for the page the refusal redirects to
    (once): the form comes back as she left it, beside the message saying what to correct. The typed name
    waits encrypted, as signed ones are stored."""
    request.session[REFUSED_SIGNATURE] = {
        "document": request.POST.get("document", ""),
        "trial": request.POST.get("trial", ""),
        "typed_name": encrypt(request.POST.get("typed_name", "")[:200]),
        "read": bool(request.POST.get("read")),
    }


def _refused_signature(request: PatientRequest, *, trial: Trial | None = None) -> dict[str, Any] | None:
    """The refused signing form kept for this page (the consent page, or one trial's match page), if any."""
    kept = request.session.pop(REFUSED_SIGNATURE, None)
    if not isinstance(kept, dict) or kept.get("trial", "") != ("" if trial is None else str(trial.pk)):
        return None
    document = str(kept.get("document", ""))
    try:
        typed_name = decrypt(str(kept.get("typed_name", "")), what="a refused signature")
    except DecryptionError:
        typed_name = ""
    return {
        **kept,
        "document": int(document) if document.isascii() and document.isdigit() else None,
        "typed_name": typed_name,
    }


def _consent_field_message(error: str) -> str:
    if error == "This field is required.":
        return "To sign, tick the box to say you agree and type your full name."
    return error


@require_POST
@patient_only
def consent_withdraw(request: PatientRequest) -> HttpResponse:
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        # No page sends these (a reason over 500 characters or with a NUL, a trial that is not an id):
        # withdrawing anyway would drop the reason, or widen one trial's withdrawal to every trial's.
        for name, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"Nothing was withdrawn. {form[name].label}: {error}")
        return _consent_page(request, status=400)
    purpose = form.cleaned_data["purpose"]
    trial = None
    if form.cleaned_data["trial"]:
        trial = get_object_or_404(Trial, pk=form.cleaned_data["trial"])
    if purpose and purpose not in Purpose.values:
        raise Http404("No such purpose.")
    withdrawn = consent_services.consent_withdraw(
        patient=request.profile,
        purposes=[purpose] if purpose else None,
        trial=trial,
        reason=form.cleaned_data["reason"],
        actor=request.user,
    )
    if withdrawn:
        labels = sorted({ConsentDocument.Purpose(c.purpose).label.lower() for c in withdrawn})
        messages.success(request, f"Withdrawn, effective now: {', '.join(labels)}.")
    else:
        messages.info(request, "There was nothing to withdraw.")
    return redirect("portal:consent")


@require_GET
@patient_only
def consent_copy(request: PatientRequest, pk: int) -> HttpResponse:
    signed = get_object_or_404(
        Consent.objects.select_related("document", "trial"), pk=pk, patient=request.profile
    )
    response = HttpResponse(consent_pdf(signed), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="consent-{signed.pk}.pdf"'
    return response


@require_GET
@patient_only
def profile_fhir(request: PatientRequest) -> HttpResponse:
    bundle = patient_record_bundle(patient=request.profile)
    response = HttpResponse(json.dumps(bundle, indent=2), content_type="application/fhir+json")
    response["Content-Disposition"] = 'attachment; filename="my-profile.fhir.json"'
    return response


@require_GET
@patient_only
def consent_fhir(request: PatientRequest) -> HttpResponse:
    bundle = patient_consents_bundle(patient=request.profile)
    response = HttpResponse(json.dumps(bundle, indent=2), content_type="application/fhir+json")
    response["Content-Disposition"] = 'attachment; filename="my-consents.fhir.json"'
    return response


# Matches

# What each outcome means to the patient; an exclusion rule is "met" when it does not apply to them.
OUTCOME_WORDS = {
    ("inclusion", "satisfied"): ("met", "You meet this."),
    ("inclusion", "violated"): ("not-met", "You do not meet this."),
    ("exclusion", "satisfied"): ("met", "This does not apply to you."),
    ("exclusion", "violated"): ("not-met", "This applies to you, so you cannot take part."),
}
UNSETTLED_WORDS = {
    "unknown": ("unknown", "We don't know yet."),
    "not_checkable": ("unknown", "The study team will check this with you."),
}
SECTION_WORDS = {"inclusion": "To take part you need", "exclusion": "You cannot take part if"}


def _explained(criteria: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for criterion in criteria:
        css, words = OUTCOME_WORDS.get(
            (criterion["section"], criterion["outcome"]),
            UNSETTLED_WORDS.get(criterion["outcome"], UNSETTLED_WORDS["unknown"]),
        )
        evidence = [e["text"] for atom in criterion.get("atoms", []) for e in atom.get("evidence", [])]
        rows.append(
            {
                "section": SECTION_WORDS.get(criterion["section"], criterion["section"]),
                "text": plain_criterion_text(criterion["text"]),
                "css": css,
                "words": words,
                "evidence": list(dict.fromkeys(evidence)),
                "questions": [s["text"] for s in criterion.get("to_settle", [])],
            }
        )
    return rows


@patient_only
def matches(request: PatientRequest) -> HttpResponse:
    context = {
        "rows": patient_matches_ranked(patient=request.profile),
        "matching_consent": patient_has_active_consent(patient=request.profile, purpose=Purpose.MATCHING),
        "has_illness": request.profile.diagnoses.filter(presence=Diagnosis.Presence.PRESENT).exists(),
    }
    return render(request, "portal/matches.html", context)


def _own_live_match(request: PatientRequest, pk: int) -> PatientMatch:
    row = next((r for r in patient_matches(patient=request.profile) if r.match.pk == pk), None)
    if row is None:
        raise Http404("No such match.")
    return row


@patient_only
def match_detail(request: PatientRequest, pk: int) -> HttpResponse:
    row = _own_live_match(request, pk)
    match = row.match
    context = {
        "row": row,
        "match": match,
        "criteria": _explained(match.criteria),
        "questions": [s["text"] for s in match.to_settle],
        "contact_consent": current_contact_consent(patient=request.profile),
        "share_document": current_consent_document(purpose=Purpose.SHARE),
        "sharing": patient_has_active_consent(
            patient=request.profile, purpose=Purpose.SHARE, trial=match.trial
        ),
        "kept": _refused_signature(request, trial=match.trial),
    }
    return render(request, "portal/match_detail.html", context)


@require_POST
@patient_only
def match_interest(request: PatientRequest, pk: int) -> HttpResponse:
    row = _own_live_match(request, pk)
    try:
        trial_interest_express(patient=request.profile, trial=row.match.trial, match=row.match)
    except ConsentError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Thank you. The study team will be told that you are interested.")
    return redirect("portal:match", pk=pk)


# New-match e-mails


@csrf_exempt  # the signed token is the credential; mail clients' one-click unsubscribe POSTs without a form
def alerts_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    patient = patient_for_unsubscribe_token(token)
    if patient is None:
        raise Http404("This unsubscribe link is not valid.")
    if request.method == "POST":
        match_alerts_unsubscribe(patient=patient)
        return render(request, "portal/unsubscribed.html")
    return render(request, "portal/unsubscribe.html", {"token": token})


# "Paste a summary": facts read from the patient's own text, offered for review, added only when ticked.


@patient_only
def paste_summary(request: PatientRequest) -> HttpResponse:
    text = request.POST.get("text", "") if request.method == "POST" else ""
    picks = request.POST.getlist("pick")
    status = 200
    if request.method == "POST" and "add" in request.POST:
        try:
            added = summary_facts_save(
                profile=request.profile,
                picks=picks,
                actor=request.user,
                shown_version=request.POST.get("shown_version") or None,
            )
        except ProfileConflict as conflict:
            messages.error(request, str(conflict))
            status = 409
        except PasteError as error:
            for problem in error.problems:
                messages.error(request, problem)
            if picks:
                messages.error(request, "Nothing was added. Untick or correct the items above and try again.")
        else:
            messages.success(
                request, f"Added {added} item{'s' if added != 1 else ''} to your profile. Please check them."
            )
            return redirect("portal:profile")
    if len(text) > MAX_TEXT_LENGTH:
        messages.warning(request, f"Only the first {MAX_TEXT_LENGTH:,} characters were read.")
    context = {
        "text": text,
        "suggestions": (
            summary_suggestions(text, today=timezone.localdate(), profile=request.profile)
            if text.strip()
            else []
        ),
        "picked": set(picks),
        "read": bool(text.strip()),
        "max_length": MAX_TEXT_LENGTH,
        "shown_version": request.profile.version,
    }
    return render(request, "portal/paste.html", context, status=status)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, limited like registration: over the client's hourly limit the form comes
    back with a 429; over one address's limit no further e-mail goes to it, and the page says what it always
    says, so that it never tells whether an address has an account."""

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        if email_form_client_over_limit(self.request, "password_reset"):
            form.add_error(None, TOO_MANY_EMAIL_FORMS)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        if email_form_address_over_limit("password_reset", form.cleaned_data["email"]):
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)
