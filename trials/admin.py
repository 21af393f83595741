"""Curator admin for the registry. Edits are logged as curated TrialEvents; the event history is read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from trials.forms import ArmForm, TrialAdminForm, TrialSiteAdminForm
from trials.models import (
    Arm,
    ConsentDocument,
    EligibilityCriterion,
    Site,
    Sponsor,
    Trial,
    TrialEvent,
    TrialSite,
)
from trials.services import trial_curation_record, trial_part_in_use


class TrialPartFormSet(BaseInlineFormSet):
    """The arms or sites on a trial's page: one that patients' records point at is not deleted there."""

    def clean(self) -> None:
        super().clean()
        for form in self.deleted_forms:
            if form.instance.pk is not None and (reason := trial_part_in_use(form.instance)):
                raise ValidationError(f"{form.instance} cannot be deleted: {reason}.")


class ArmInline(admin.StackedInline):
    model = Arm
    form = ArmForm
    formset = TrialPartFormSet
    extra = 0
    fields = [
        ("label", "arm_type"),
        "description",
        "interventions",
        "biomarker_definition",
        ("enrolment_target", "cap", "is_suspended"),
        "shown_version",
    ]


class TrialSiteInline(admin.TabularInline):
    model = TrialSite
    form = TrialSiteAdminForm
    formset = TrialPartFormSet
    extra = 0
    autocomplete_fields = ["site"]
    fields = [
        "site", "status", "contact_name", "contact_email", "contact_phone", "investigator", "shown_version"
    ]  # fmt: skip


class TrialEventInline(admin.TabularInline):
    model = TrialEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "actor", "detail"]
    readonly_fields = ["created_at", "kind", "actor", "detail"]
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Trial)
class TrialAdmin(admin.ModelAdmin):
    form = TrialAdminForm
    list_display = ["nct_id", "brief_title", "phase", "overall_status", "study_type", "sponsor", "updated_at"]
    list_filter = ["overall_status", "phase", "study_type", "sex", "source"]
    search_fields = ["nct_id", "brief_title", "official_title", "acronym", "sponsor__name"]
    list_select_related = ["sponsor"]
    autocomplete_fields = ["sponsor"]
    readonly_fields = ["source", "source_checksum", "created_at", "updated_at"]
    inlines = [ArmInline, TrialSiteInline, TrialEventInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "nct_id",
                    "brief_title",
                    "official_title",
                    "acronym",
                    "sponsor",
                    "collaborators",
                    "shown_version",
                ]
            },
        ),
        (
            "Status and design",
            {"fields": ["overall_status", "phase", "study_type", "enrollment", "enrollment_is_actual"]},
        ),
        (
            "Dates",
            {"fields": ["start_date", "primary_completion_date", "completion_date", "last_update_posted"]},
        ),
        (
            "Eligibility",
            {
                "fields": [
                    ("minimum_age_years", "maximum_age_years"),
                    ("sex", "healthy_volunteers"),
                    "eligibility_text",
                ]
            },
        ),
        ("Content", {"fields": ["conditions", "keywords", "interventions", "brief_summary"]}),
        ("Import", {"fields": ["source", "source_checksum", "created_at", "updated_at"]}),
    ]

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: list[BaseInlineFormSet], change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        changed_inlines = [
            str(formset.model._meta.verbose_name_plural) for formset in formsets if formset.has_changed()
        ]
        if form.changed_data or changed_inlines:
            # Other curators' pages of this trial, shown before this save, now refuse to save over it.
            Trial.objects.filter(pk=form.instance.pk).update(updated_at=timezone.now())
            trial_curation_record(
                trial=form.instance, actor=request.user, fields=[*form.changed_data, *changed_inlines]
            )


class TrialPartAdmin(admin.ModelAdmin):
    """The admin of a part of a trial (an arm, a trial site) edited on its own page: every save or deletion
    is logged in the trial's history as the trial page logs it, and the trial re-matched."""

    def describe(self, obj: Any) -> str:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if form.changed_data:
            trial_curation_record(
                trial=obj.trial,
                actor=request.user,
                fields=[f"{self.describe(obj)}: {name}" for name in form.changed_data],
            )

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, Any, Any, Any]:
        # Listed as protected, the admin's delete pages (one row, or several from the list) refuse the
        # deletion and say why.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        for obj in objs:
            if reason := trial_part_in_use(obj):
                protected = [*protected, f"{self.describe(obj)}: {reason}"]
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        trial, what = obj.trial, self.describe(obj)
        super().delete_model(request, obj)
        trial_curation_record(trial=trial, actor=request.user, fields=[f"{what}: deleted"])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # The changelist's bulk delete runs outside a transaction: all of them and their entries, or none.
        with transaction.atomic():
            for obj in queryset.select_related("trial"):
                self.delete_model(request, obj)


@admin.register(Arm)
class ArmAdmin(TrialPartAdmin):
    form = ArmForm
    list_display = ["label", "trial", "arm_type", "enrolment_target", "cap", "is_suspended"]
    list_filter = ["arm_type", "is_suspended"]
    search_fields = ["label", "trial__nct_id", "trial__brief_title"]
    list_select_related = ["trial"]
    autocomplete_fields = ["trial"]

    def describe(self, obj: Arm) -> str:
        return f"arm {obj.label}"


@admin.register(Sponsor)
class SponsorAdmin(admin.ModelAdmin):
    list_display = ["name", "agency_class", "trial_count"]
    list_filter = ["agency_class"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Sponsor]:
        return super().get_queryset(request).annotate(trial_count=Count("trials"))

    @admin.display(ordering="trial_count", description="trials")
    def trial_count(self, sponsor: Any) -> int:
        return sponsor.trial_count


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["facility", "city", "state", "country", "trial_count"]
    list_filter = ["country"]
    search_fields = ["facility", "city", "state", "zip_code", "country"]
    readonly_fields = ["key"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Site]:
        return super().get_queryset(request).annotate(trial_count=Count("trial_sites"))

    @admin.display(ordering="trial_count", description="trials")
    def trial_count(self, site: Any) -> int:
        return site.trial_count


@admin.register(TrialSite)
class TrialSiteAdmin(TrialPartAdmin):
    form = TrialSiteAdminForm
    list_display = ["trial", "site", "status", "contact_name", "investigator"]
    list_filter = ["status", "site__country"]
    search_fields = ["trial__nct_id", "site__facility", "site__city", "site__country"]
    list_select_related = ["trial", "site"]
    autocomplete_fields = ["trial", "site"]

    def describe(self, obj: TrialSite) -> str:
        return f"site {obj.site}"


@admin.register(TrialEvent)
class TrialEventAdmin(admin.ModelAdmin):
    """Append-only history: it can be read here, never written, changed or deleted."""

    list_display = ["created_at", "trial", "kind", "actor"]
    list_filter = ["kind"]
    search_fields = ["trial__nct_id"]
    list_select_related = ["trial", "actor"]
    date_hierarchy = "created_at"
    readonly_fields = ["trial", "kind", "actor", "detail", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EligibilityCriterion)
class EligibilityCriterionAdmin(admin.ModelAdmin):
    """Read-only here: reviews go through the curator review page, which checks revisions and logs them."""

    list_display = ["trial", "position", "section", "status", "needs_review", "retired_at", "review_link"]
    list_filter = ["status", "section", "needs_review", "parser_version"]
    search_fields = ["trial__nct_id", "text"]
    list_select_related = ["trial"]

    @admin.display(description="review")
    def review_link(self, criterion: EligibilityCriterion) -> str:
        return format_html(
            '<a href="{}">review page</a>', reverse("trials:criteria", args=[criterion.trial.nct_id])
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ConsentDocument)
class ConsentDocumentAdmin(admin.ModelAdmin):
    """Consent texts. A draft can be edited; once published only the end of its period can be set. A changed
    text is added as a new document with a new version number, then published."""

    list_display = [
        "purpose",
        "version",
        "language",
        "title",
        "effective_from",
        "effective_until",
        "published_at",
    ]
    list_filter = ["purpose", "language"]
    search_fields = ["title", "version"]
    readonly_fields = ["content_hash", "created_at"]
    actions = ["publish"]

    def get_readonly_fields(self, request: HttpRequest, obj: ConsentDocument | None = None) -> list[str]:
        if obj is not None and obj.is_published:
            return [*ConsentDocument.IMMUTABLE_FIELDS, "published_at", "created_at"]
        return self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: ConsentDocument | None = None) -> bool:
        # The user's model permission first; even with it, a published document is part of signed records.
        return super().has_delete_permission(request, obj) and (obj is None or not obj.is_published)

    # Publishing changes the documents, so it asks for the change permission (without it the admin does not
    # offer the action, nor run it when posted).
    @admin.action(
        description="Publish the selected drafts (their text can no longer change)", permissions=["change"]
    )
    def publish(self, request: HttpRequest, queryset: QuerySet[ConsentDocument]) -> None:
        count = queryset.filter(published_at__isnull=True).update(published_at=timezone.now())
        self.message_user(request, f"{count} consent document(s) published.")
