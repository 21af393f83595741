"""Import of a FHIR patient Bundle, for review: by the patient (portal) or by site staff for their candidate.

Step one reads and validates the file and shows every fact it would add, with the resource it came from;
step two saves the facts the person kept. Between the two the proposal waits in the session, encrypted with
the field-encryption key (it holds health data and contact details), and nothing touches the profile.
"""

from dataclasses import replace
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from recruitment.encryption import DecryptionError, decrypt, encrypt
from recruitment.fhir_import import (
    MAX_BUNDLE_BYTES,
    BundleError,
    ImportPreview,
    Skipped,
    bundle_read,
    fhir_import_confirm,
)
from recruitment.http import AuthenticatedRequest, role_required
from recruitment.models import Candidate, PatientProfile
from recruitment.portal_views import PatientRequest, patient_only
from recruitment.selectors.consent import patient_has_active_consent
from recruitment.selectors.site import contact_allowed, staff_candidate
from trials.models import ConsentDocument

SESSION_PREFIX = "fhir_import:"
TOO_LARGE = f"The file is larger than {MAX_BUNDLE_BYTES // 1024 // 1024} MB."


class ImportSizeLimit(FileUploadHandler):
    """Put before Django's upload handlers on the import pages: once a file passes the import limit, its
    bytes stop being kept (neither in memory nor in a temporary file) and the form reports the size.

    The rest of the request body is still read and thrown away (StopUpload without a connection reset): a
    browser still sending when the connection drops shows a network error instead of the form's message.
    """

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.too_large = False
        self._received = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self._received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self._received += len(raw_data)
        if self._received > MAX_BUNDLE_BYTES:
            self.too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data  # passed on to the next handler, which keeps it

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler makes the file


IDENTITY_FIELDS = frozenset({"birth_date", "sex", "phone", "address", "postcode"})
"""Profile fields a site import leaves out: who the patient is and how to reach them are the patient's to
set (in the portal, or by their own import), not a record the site holds."""


class BundleForm(forms.Form):
    file = forms.FileField(
        label="FHIR file (JSON)",
        required=False,
        help_text="A FHIR R4 Bundle exported from a patient portal or hospital record, at most 5 MB.",
    )
    text = forms.CharField(
        label="Or paste the JSON",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        max_length=MAX_BUNDLE_BYTES,
    )

    def __init__(self, *args: Any, refused: str = "", **kwargs: Any) -> None:
        """`refused`: why the request body was not kept (too large), found while it was read."""
        super().__init__(*args, **kwargs)
        self.refused = refused

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.refused:
            raise forms.ValidationError(self.refused)
        upload = cleaned.get("file")
        if upload is not None and upload.size > MAX_BUNDLE_BYTES:
            raise forms.ValidationError(TOO_LARGE)
        if upload is None and not cleaned.get("text", "").strip():
            raise forms.ValidationError("Choose a file or paste the JSON of a FHIR Bundle.")
        return cleaned

    def raw(self) -> bytes | str:
        upload = self.cleaned_data.get("file")
        return upload.read() if upload is not None else self.cleaned_data["text"]


def _names_differ(record_name: str, profile: PatientProfile) -> bool:
    """The record's name shares no word with the account's: maybe another person's record."""
    account = {word.casefold() for word in profile.user.get_full_name().split()}
    record = {word.casefold() for word in record_name.split()}
    return bool(account and record and not account & record)


def _without_identity(preview: ImportPreview) -> ImportPreview:
    """The preview less its identity and contact fields, each listed as left out with the reason."""
    kept, left_out = [], []
    for fact in preview.facts:
        if fact.kind == "profile" and fact.values.keys() & IDENTITY_FIELDS:
            reason = f"{fact.summary}: identity and contact details are the patient's to import"
            left_out.append(Skipped(fact.entry, fact.source, reason))
        else:
            kept.append(fact)
    return replace(preview, facts=kept, skipped=[*preview.skipped, *left_out])


def _limited_upload(
    request: AuthenticatedRequest, *, template: str, context: dict[str, Any], **kwargs: Any
) -> HttpResponse:
    """The import form, its body read under the import size limit. Its views are exempt from the CSRF
    middleware, which would read the body before the limit is in place (Django's "modifying upload handlers
    on the fly"); the CSRF check runs here, once the limit is."""
    limit = ImportSizeLimit(request)
    request.upload_handlers = [limit, *request.upload_handlers]
    if request.method == "POST":
        try:
            request.POST  # noqa: B018 (the body is read here, under the limit)
        except RequestDataTooBig:
            # The pasted text alone passes DATA_UPLOAD_MAX_MEMORY_SIZE. Nothing was read, not even the CSRF
            # token: the answer is the empty form and the reason, and nothing changes.
            form = BundleForm(
                {}, refused=f"The pasted JSON is larger than {MAX_BUNDLE_BYTES // 1024 // 1024} MB."
            )
            return render(request, template, {**context, "form": form, "problems": []}, status=413)
    return csrf_protect(_upload)(request, limit=limit, template=template, context=context, **kwargs)


def _upload(
    request: AuthenticatedRequest,
    *,
    limit: ImportSizeLimit,
    key: str,
    template: str,
    context: dict[str, Any],
    review_url: str,
    for_site: bool = False,
) -> HttpResponse:
    if request.method == "POST":
        form = BundleForm(request.POST, request.FILES, refused=TOO_LARGE if limit.too_large else "")
    else:
        form = BundleForm()
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            preview = bundle_read(form.raw())
        except BundleError as error:
            problems = [str(problem) for problem in error.problems]
        else:
            if for_site:
                preview = _without_identity(preview)
            request.session[SESSION_PREFIX + key] = encrypt(preview.to_json())
            return redirect(review_url)
    status = 400 if problems else 200
    return render(request, template, {**context, "form": form, "problems": problems}, status=status)


def _pending(request: AuthenticatedRequest, key: str) -> ImportPreview | None:
    stored = request.session.get(SESSION_PREFIX + key)
    if not stored:
        return None
    try:
        return ImportPreview.from_json(decrypt(stored, what="the pending import"))
    except DecryptionError:
        request.session.pop(SESSION_PREFIX + key, None)
        return None


def _review(
    request: AuthenticatedRequest,
    *,
    key: str,
    profile: PatientProfile,
    template: str,
    context: dict[str, Any],
    upload_url: str,
    done_url: str,
    for_site: bool = False,
) -> HttpResponse:
    preview = _pending(request, key)
    if preview is None:
        messages.info(request, "Nothing is waiting for review: choose the file again.")
        return redirect(upload_url)
    if for_site:
        # Left out at upload already; again here, so that no key posted for such a fact can be saved.
        preview = _without_identity(preview)
    names_differ = _names_differ(preview.patient_name, profile)
    errors: list[str] = []
    if request.method == "POST":
        if "cancel" in request.POST:
            request.session.pop(SESSION_PREFIX + key, None)
            messages.info(request, "The import was cancelled; nothing was saved.")
            return redirect(done_url)
        keys = request.POST.getlist("fact")
        if not keys:
            errors.append("Tick at least one item to import, or cancel.")
        if names_differ and not request.POST.get("identity_checked"):
            errors.append("Confirm that this record belongs to this patient: the names differ.")
        if not errors:
            try:
                saved = fhir_import_confirm(profile=profile, preview=preview, keys=keys, actor=request.user)
            except BundleError as error:
                errors = [str(problem) for problem in error.problems]
            else:
                request.session.pop(SESSION_PREFIX + key, None)
                plural = "s" if len(saved) != 1 else ""
                messages.success(
                    request,
                    f"{len(saved)} item{plural} imported from {preview.patient_source}. "
                    "Matches are being updated.",
                )
                return redirect(done_url)
    return render(
        request,
        template,
        {
            **context,
            "preview": preview,
            "names_differ": names_differ,
            "account_name": profile.user.get_full_name(),
            "errors": errors,
            "kept": set(request.POST.getlist("fact")) if request.method == "POST" else None,
        },
        status=400 if errors else 200,
    )


@csrf_exempt  # checked in _limited_upload, once the upload size limit is in place
@patient_only
@require_http_methods(["GET", "POST"])
def portal_import(request: PatientRequest) -> HttpResponse:
    return _limited_upload(
        request,
        key="portal",
        template="portal/fhir_import.html",
        context={},
        review_url=reverse("portal:fhir_review"),
    )


@patient_only
@require_http_methods(["GET", "POST"])
def portal_review(request: PatientRequest) -> HttpResponse:
    return _review(
        request,
        key="portal",
        profile=request.profile,
        template="portal/fhir_review.html",
        context={},
        upload_url=reverse("portal:fhir_import"),
        done_url=reverse("portal:profile"),
    )


site_staff_only = role_required(
    lambda user: user.is_site_staff, "Only site staff import records for candidates."
)


def _importable_candidate(request: AuthenticatedRequest, pk: int) -> Candidate:
    """A candidate of the user's sites whose patient agreed to be contacted for this trial (before that the
    site knows the patient only by a code, and importing an identified record would undo that) and still
    consents to matching (a patient who withdrew it is out of matching: nothing new goes into the profile)."""
    candidate = staff_candidate(user=request.user, pk=pk)
    if candidate is None:
        raise Http404("No such candidate at your sites.")
    if not patient_has_active_consent(patient=candidate.patient, purpose=ConsentDocument.Purpose.MATCHING):
        raise PermissionDenied(
            "The patient no longer consents to matching; their profile cannot be added to."
        )
    if not contact_allowed(candidate=candidate):
        raise PermissionDenied(
            "Records can be imported once the patient has agreed to be contacted for this trial."
        )
    return candidate


@csrf_exempt  # checked in _limited_upload, once the upload size limit is in place
@site_staff_only
@require_http_methods(["GET", "POST"])
def site_import(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    candidate = _importable_candidate(request, pk)
    return _limited_upload(
        request,
        key=f"candidate:{candidate.pk}",
        template="site/fhir_import.html",
        context={"candidate": candidate},
        review_url=reverse("site:fhir_review", args=[candidate.pk]),
        for_site=True,
    )


@site_staff_only
@require_http_methods(["GET", "POST"])
def site_review(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    candidate = _importable_candidate(request, pk)
    return _review(
        request,
        key=f"candidate:{candidate.pk}",
        profile=candidate.patient,
        template="site/fhir_review.html",
        context={"candidate": candidate},
        upload_url=reverse("site:fhir_import", args=[candidate.pk]),
        done_url=reverse("site:candidate", args=[candidate.pk]),
        for_site=True,
    )
