"""Sign-in in two steps: password, then an authenticator code (or, for staff, enrolment of an authenticator).

After a correct password a staff user, or a patient who set up an authenticator, is NOT signed in: the session
only remembers, for a few minutes, who passed the password step and where to go next.
`django.contrib.auth.login` runs once the code is verified (or the authenticator confirmed). Wrong codes are
reported to django-axes as failed sign-ins, so they count towards the same lockout as wrong passwords.
Patients without an authenticator sign in with their password alone.
"""

import time
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from recruitment import mfa
from recruitment.http import AuthenticatedRequest
from recruitment.models import User

PENDING_KEY = "mfa_pending"


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
        help_text="The 6-digit code from your authenticator app, or one of your recovery codes.",
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    # Asked when a signed-in user sets one up (not during sign-in, which has just checked it): someone at a
    # session left open must not be able to put their own authenticator on the account.
    password = forms.CharField(
        label="Your password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ConfirmIdentityForm(forms.Form):
    """Asked before a sensitive change in a signed-in session: a session left open is not enough."""

    code = forms.CharField(
        label="Current code from your app",
        max_length=10,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    password = forms.CharField(
        label="Or your password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("code", "").strip() and not cleaned.get("password"):
            raise forms.ValidationError("Enter the current code from your app, or your password.")
        return cleaned


class SignInView(auth_views.LoginView):
    """Django's sign-in form; for staff, and patients with an authenticator, it ends at the code step."""

    def form_valid(self, form: Any) -> HttpResponse:
        user: User = form.get_user()
        has_device = mfa.has_confirmed_device(user)
        # A patient who set up an authenticator chose the protection: the code is asked for as for staff.
        if not user.needs_mfa and not has_device:
            return super().form_valid(form)
        # A new session id for the half-signed-in state, as login() would do for the signed-in one.
        self.request.session.cycle_key()
        self.request.session[PENDING_KEY] = {
            "user_id": user.pk,
            "backend": getattr(user, "backend"),  # noqa: B009 (set by authenticate(), unknown to the stubs)
            "since": time.time(),
            "next": self.get_success_url(),
        }
        return redirect("login_code" if has_device else "mfa_enrol")


def _pending(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    """The user who passed the password step in this session, if that was recent enough."""
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["since"] > settings.MFA_PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None
    user = User.objects.filter(pk=pending["user_id"], is_active=True).first()
    return (user, pending) if user is not None else None


def _finish_sign_in(request: HttpRequest, user: User, pending: dict[str, Any]) -> None:
    request.session.pop(PENDING_KEY, None)
    login(request, user, backend=pending["backend"])


def _expired(request: HttpRequest) -> HttpResponse:
    messages.info(request, "Your sign-in timed out. Please enter your password again.")
    return redirect("login")


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_code(request: HttpRequest) -> HttpResponse:
    """Second step: the authenticator's current code, or a recovery code."""
    found = _pending(request)
    if found is None:
        return _expired(request)
    user, pending = found
    credentials = {settings.AXES_USERNAME_FORM_FIELD: user.email}
    if AxesProxyHandler.is_locked(request, credentials):
        request.session.pop(PENDING_KEY, None)
        return get_lockout_response(request, credentials)
    if not mfa.has_confirmed_device(user):
        return redirect("mfa_enrol")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if mfa.mfa_code_check(user=user, code=form.cleaned_data["code"]):
            _finish_sign_in(request, user, pending)
            left = mfa.unused_recovery_code_count(user)
            if left <= 3:
                messages.warning(
                    request,
                    f"You have {left} unused recovery code{'s' if left != 1 else ''} left: "
                    f"make new ones on the sign-in security page ({reverse('mfa_security')}).",
                )
            return redirect(pending["next"])
        # Counted by django-axes like a wrong password; at the limit its middleware answers with the lockout.
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if getattr(request, "axes_locked_out", False):
            request.session.pop(PENDING_KEY, None)
        form.add_error("code", "That code is not valid. Enter the current code from your app.")
    return render(request, "registration/login_code.html", {"form": form, "email": user.email})


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator: during sign-in of a staff user who has none, or later by a signed-in user."""
    pending: dict[str, Any] | None = None
    if request.user.is_authenticated:
        user = request.user
    else:
        found = _pending(request)
        if found is None:
            return _expired(request)
        user, pending = found
    if mfa.has_confirmed_device(user):
        messages.info(request, "An authenticator is already set up for your account.")
        return redirect("login_code" if pending else "mfa_security")
    device = mfa.mfa_device_start(user=user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and (pending or _password_confirmed(request, user, form)):
        try:
            codes = mfa.mfa_device_confirm(user=user, code=form.cleaned_data["code"])
        except mfa.MfaError as error:
            credentials = {settings.AXES_USERNAME_FORM_FIELD: user.email}
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
            form.add_error("code", str(error))
        else:
            next_url = pending["next"] if pending else resolve_url(settings.LOGIN_REDIRECT_URL)
            if pending is not None:
                _finish_sign_in(request, user, pending)
            else:
                # A patient's other sessions, opened with the password alone, end now
                # (User.get_session_auth_hash); this one has just passed the code.
                update_session_auth_hash(request, user)
            return render(
                request, "registration/mfa_recovery_codes.html", {"codes": codes, "next_url": next_url}
            )
    return render(
        request,
        "registration/mfa_enrol.html",
        {
            "form": form,
            "enrolment": mfa.enrolment_for(device),
            "email": user.email,
            "asks_password": pending is None,
        },
    )


def _password_confirmed(request: HttpRequest, user: Any, form: EnrolForm) -> bool:
    """The signed-in user gave their password again; failures count towards django-axes' lockout."""
    credentials = {settings.AXES_USERNAME_FORM_FIELD: user.email}
    if AxesProxyHandler.is_locked(request, credentials):
        form.add_error("password", "Too many wrong attempts: try again later.")
        return False
    if user.check_password(form.cleaned_data["password"]):
        return True
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    form.add_error("password", "That password is not right.")
    return False


def _identity_confirmed(request: AuthenticatedRequest, form: ConfirmIdentityForm) -> bool:
    """The signed-in user proved again who they are: the authenticator's current code, or the password.
    Failures count towards django-axes' lockout, as at sign-in."""
    user = request.user
    credentials = {settings.AXES_USERNAME_FORM_FIELD: user.email}
    if AxesProxyHandler.is_locked(request, credentials):
        form.add_error(None, "Too many wrong attempts: try again later.")
        return False
    code, password = form.cleaned_data["code"].strip(), form.cleaned_data["password"]
    if code and mfa.mfa_totp_check(user=user, code=code):
        return True
    if password and user.check_password(password):
        return True
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    form.add_error(None, "That code or password is not right. Enter the current code from your app.")
    return False


@sensitive_post_parameters("code", "password")
@login_required
@never_cache
def mfa_security(request: AuthenticatedRequest) -> HttpResponse:
    """The signed-in user's second factor: whether it is set up, recovery codes left, and new codes (after
    the current code or the password: whoever finds a session left open must not get working codes)."""
    user = request.user
    form = ConfirmIdentityForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid() and _identity_confirmed(request, form):
        try:
            codes = mfa.mfa_recovery_codes_renew(user=user)
        except mfa.MfaError as error:
            messages.error(request, str(error))
            return redirect("mfa_security")
        return render(
            request,
            "registration/mfa_recovery_codes.html",
            {"codes": codes, "next_url": resolve_url(settings.LOGIN_REDIRECT_URL)},
        )
    return render(
        request,
        "registration/mfa_security.html",
        {
            "form": form,
            "enrolled": mfa.has_confirmed_device(user),
            "recovery_left": mfa.unused_recovery_code_count(user),
        },
        status=400 if form.errors else 200,
    )
