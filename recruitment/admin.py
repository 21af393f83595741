from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework.authtoken.models import TokenProxy

from recruitment.models import (
    Biomarker,
    Diagnosis,
    EnrolmentSnapshot,
    LabResult,
    Match,
    MatchEvent,
    MfaDevice,
    PatientProfile,
    PhiAccess,
    Procedure,
    SiteAlert,
    SiteMembership,
    SponsorMembership,
    StaffAlertSetting,
    Therapy,
    User,
)
from recruitment.services.accounts import user_deactivate, user_reactivate
from recruitment.services.audit import phi_access_record


class PhiReadAudit(admin.ModelAdmin):
    """An admin whose pages show patients' data: each list page, and each page of a patient's object that is
    served (its change page, the delete page listing what would go with it, its history), leaves a PhiAccess
    row (who, which patient, which address, when). Pages that fail (not found, no permission) show nothing
    and leave nothing."""

    phi_kind: PhiAccess.Kind

    def phi_patient(self, obj: Any) -> PatientProfile | None:
        raise NotImplementedError

    @staticmethod
    def phi_reader(request: HttpRequest) -> User:
        user = request.user
        assert isinstance(user, User)  # the admin serves signed-in staff only
        return user

    def _phi_object_read(self, request: HttpRequest, object_id: str, response: HttpResponse) -> None:
        if response.status_code != 200:
            return
        obj = self.get_object(request, unquote(object_id))
        patient = self.phi_patient(obj) if obj is not None else None
        if patient is not None:
            phi_access_record(
                actor=self.phi_reader(request),
                kind=self.phi_kind,
                path=request.get_full_path(),
                patient=patient,
            )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        self._phi_object_read(request, object_id, response)
        return response

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().delete_view(request, object_id, extra_context)
        self._phi_object_read(request, object_id, response)
        return response

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().history_view(request, object_id, extra_context)
        self._phi_object_read(request, object_id, response)
        return response

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        if response.status_code == 200:
            phi_access_record(
                actor=self.phi_reader(request), kind=PhiAccess.Kind.LIST, path=request.get_full_path()
            )
        return response


class EmailUserCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "role")


class EmailUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = ("email", "role")


class SiteMembershipInline(admin.TabularInline):
    model = SiteMembership
    extra = 0
    raw_id_fields = ["site"]


class SponsorMembershipInline(admin.TabularInline):
    model = SponsorMembership
    extra = 0
    raw_id_fields = ["sponsor"]


class MfaDeviceInline(admin.TabularInline):
    """The user's authenticator, never its secret. Deleting it resets the second factor: the user sets up
    a new authenticator at the next sign-in (for a lost phone with no recovery codes left)."""

    model = MfaDevice
    fields = ["confirmed_at", "created_at"]
    readonly_fields = ["confirmed_at", "created_at"]
    extra = 0
    max_num = 0
    verbose_name = verbose_name_plural = "authenticator (delete to reset)"


@admin.register(User)
class UserAdmin(PhiReadAudit, DjangoUserAdmin):
    """Patients' accounts hold their names and contact details: opening one is logged (staff accounts are not
    patient data; the list shows e-mail addresses and roles only, yet it is logged as any list)."""

    phi_kind = PhiAccess.Kind.ACCOUNT

    def phi_patient(self, obj: User) -> PatientProfile | None:
        return PatientProfile.objects.filter(user=obj).first()

    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    ordering = ["email"]
    list_display = ["email", "role", "first_name", "last_name", "is_active", "is_staff", "last_login"]
    list_filter = ["role", "is_active", "is_staff", "is_superuser"]
    # Names are encrypted at rest, so the database cannot search them.
    search_fields = ["email"]
    inlines = [SiteMembershipInline, SponsorMembershipInline, MfaDeviceInline]
    fieldsets = (
        (None, {"fields": ("email", "password", "role")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined", "deactivated_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),)
    readonly_fields = ["deactivated_at"]
    actions = ["deactivate_accounts"]

    @admin.action(
        description="Close the selected accounts (no sign-in; e-mail verification links refused)",
        permissions=["change"],
    )
    def deactivate_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        # An account not yet confirmed is inactive already, so unticking "active" cannot close it: this can.
        for user in queryset:
            user_deactivate(user=user)
        self.message_user(request, f"{len(queryset)} account(s) closed.")

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # "Active" unticked or ticked again goes through the services, which record (or clear) the closing.
        if change and "is_active" in form.changed_data:
            if obj.is_active:
                user_reactivate(user=obj)
            else:
                user_deactivate(user=obj)


class _FactInline(admin.TabularInline):
    extra = 0
    raw_id_fields = ["entered_by"]
    # When a fact was entered is stamped on every save (its edit pages' version), never typed.
    readonly_fields = ["entered_at"]


class DiagnosisInline(_FactInline):
    model = Diagnosis
    fields = [
        "code",
        "label",
        "presence",
        "diagnosed_on",
        "stage",
        "histology",
        "course",
        "resolved",
        "source",
        "entered_at",
    ]


class BiomarkerInline(_FactInline):
    model = Biomarker
    fields = [
        "gene",
        "alteration_type",
        "protein_change",
        "status",
        "measure",
        "value",
        "unit",
        "assay",
        "specimen",
        "tested_on",
        "source",
    ]


class LabResultInline(_FactInline):
    model = LabResult
    fields = [
        "analyte",
        "loinc",
        "value",
        "unit",
        "reference_low",
        "reference_high",
        "collected_on",
        "source",
    ]


class TherapyInline(_FactInline):
    model = Therapy
    fields = ["drug", "drug_class", "line", "started_on", "ended_on", "ended", "source"]


class ProcedureInline(_FactInline):
    model = Procedure
    fields = ["code", "name", "performed_on", "source"]


@admin.register(PatientProfile)
class PatientProfileAdmin(PhiReadAudit):
    phi_kind = PhiAccess.Kind.PROFILE

    list_display = ["user", "sex", "birth_date", "ecog", "pregnancy_status", "updated_at"]
    list_filter = ["sex", "ecog", "pregnancy_status", "source"]
    search_fields = ["user__email", "postcode"]
    raw_id_fields = ["user"]
    inlines = [DiagnosisInline, BiomarkerInline, LabResultInline, TherapyInline, ProcedureInline]
    # Stamped by every save (the portal page's version), never typed.
    readonly_fields = ["created_at", "updated_at"]

    def phi_patient(self, obj: PatientProfile) -> PatientProfile | None:
        return obj

    def save_model(self, request: HttpRequest, obj: PatientProfile, form: Any, change: bool) -> None:
        # Stamped as profile_update stamps a save: a portal page shown before this edit is then refused as
        # stale instead of silently putting the old values back.
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # Each fact added or changed here is stamped as profile_fact_save stamps one, so that a fact's edit
        # page shown before it is refused as stale.
        now = timezone.now()
        for fact_form in formset.forms:
            if fact_form.instance.pk is None or fact_form.has_changed():
                fact_form.instance.entered_at = now
        super().save_formset(request, form, formset, change)


class MatchEventInline(admin.TabularInline):
    model = MatchEvent
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "detail", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Match | None = None) -> bool:
        return False


@admin.register(Match)
class MatchAdmin(PhiReadAudit):
    """Read-only: matches are written by the matching service only."""

    phi_kind = PhiAccess.Kind.MATCH

    list_display = ["patient", "trial", "arm", "verdict", "score", "evaluated_at", "retired_at"]
    list_filter = ["verdict", ("retired_at", admin.EmptyFieldListFilter)]
    search_fields = ["patient__user__email", "trial__nct_id"]
    readonly_fields = [f.name for f in Match._meta.fields]
    inlines = [MatchEventInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def phi_patient(self, obj: Match) -> PatientProfile | None:
        return obj.patient


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by services only; the admin lists them for support and audit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(SiteAlert)
class SiteAlertAdmin(_ReadOnlyAdmin):
    """Who was told of which new candidate (by subject code), and when it was read and e-mailed."""

    list_display = ["user", "candidate", "verdict", "created_at", "read_at", "digested_at"]
    list_filter = ["verdict", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "candidate__subject_code"]
    list_select_related = ["user", "candidate"]


@admin.register(StaffAlertSetting)
class StaffAlertSettingAdmin(_ReadOnlyAdmin):
    """Each member turns the digest on or off on the site alerts page (which restarts it from that time)."""

    list_display = ["user", "daily_digest", "digest_since", "updated_at"]
    list_filter = ["daily_digest"]
    search_fields = ["user__email"]


@admin.register(EnrolmentSnapshot)
class EnrolmentSnapshotAdmin(_ReadOnlyAdmin):
    """Unsuppressed counts: for administrators only, sponsors see them suppressed on their dashboard."""

    list_display = ["trial", "day", "site", "arm", "consented", "screened", "screen_failed", "enrolled"]
    list_filter = ["day"]
    search_fields = ["trial__nct_id", "site__facility"]
    list_select_related = ["trial", "site", "arm"]
    date_hierarchy = "day"


@admin.register(PhiAccess)
class PhiAccessAdmin(_ReadOnlyAdmin):
    """The audit trail of the admin's reads of patients' data; nobody can add, change or delete a row."""

    list_display = ["created_at", "actor", "kind", "patient", "path"]
    list_filter = ["kind"]
    search_fields = ["actor__email", "patient__user__email"]
    list_select_related = ["actor", "patient__user"]
    date_hierarchy = "created_at"


# Tokens are issued by `manage.py issue_api_token`, which refuses staff (a token bypasses their second
# factor); the admin page of rest_framework.authtoken would let an administrator mint one for anyone.
admin.site.unregister(TokenProxy)
