from typing import Any

from rest_framework import serializers

from trials.models import Arm, EligibilityCriterion, Site, Trial, TrialSite


class ArmSerializer(serializers.ModelSerializer[Arm]):
    class Meta:
        model = Arm
        fields = [
            "id", "label", "arm_type", "description", "interventions", "biomarker_definition",
            "enrolment_target", "cap", "is_suspended",
        ]  # fmt: skip


class SiteSerializer(serializers.ModelSerializer[Site]):
    class Meta:
        model = Site
        fields = ["id", "facility", "city", "state", "zip_code", "country", "latitude", "longitude"]


class TrialSiteSerializer(serializers.ModelSerializer[TrialSite]):
    site = SiteSerializer()

    class Meta:
        model = TrialSite
        fields = ["site", "status"]


class TrialListSerializer(serializers.ModelSerializer[Trial]):
    sponsor = serializers.CharField(source="sponsor.name", default=None, read_only=True, allow_null=True)
    site_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Trial
        fields = [
            "nct_id", "brief_title", "phase", "overall_status", "study_type", "sponsor", "conditions",
            "minimum_age_years", "maximum_age_years", "sex", "healthy_volunteers", "site_count",
            "eligibility_parsed_at",
        ]  # fmt: skip


class TrialDetailSerializer(TrialListSerializer):
    arms = ArmSerializer(many=True, read_only=True)
    trial_sites = TrialSiteSerializer(many=True, read_only=True)

    class Meta(TrialListSerializer.Meta):
        fields = [
            *TrialListSerializer.Meta.fields,
            "official_title", "acronym", "collaborators", "keywords", "interventions", "brief_summary",
            "start_date", "primary_completion_date", "completion_date", "last_update_posted", "enrollment",
            "enrollment_is_actual", "eligibility_text", "arms", "trial_sites",
        ]  # fmt: skip


class CriterionSerializer(serializers.ModelSerializer[EligibilityCriterion]):
    effective_tree = serializers.JSONField(read_only=True, allow_null=True)
    reviewed_by = serializers.EmailField(
        source="reviewed_by.email", default=None, read_only=True, allow_null=True
    )

    class Meta:
        model = EligibilityCriterion
        fields = [
            "id", "position", "section", "text", "cohort", "span_start", "span_end", "status", "needs_review",
            "effective_tree", "parsed_tree", "mentions", "curated_tree", "parser_version",
            "dictionary_version", "revision", "curator_note", "reviewed_by", "reviewed_at",
            "reading_changed_at",
        ]  # fmt: skip
        # Where the criterion sits in the trial's text and what the parser saw there: re-read by the parser,
        # never set through the API.
        read_only_fields = ["cohort", "mentions", "reading_changed_at"]

    def to_representation(self, instance: EligibilityCriterion) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not self.context.get("show_curators", True):
            # Every signed-in user reads the criteria; who reviewed them and their notes are the curators'.
            data["curator_note"] = ""
            data["reviewed_by"] = None
        return data


class CriteriaQuerySerializer(serializers.Serializer[None]):
    reading_changed = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text=(
            "true: only reviewed criteria a later parse read differently (`reading_changed_at` set), "
            "which wait for a curator; false: only the others."
        ),
    )


class CriterionReviewInputSerializer(serializers.Serializer[None]):
    action = serializers.ChoiceField(choices=["accept", "correct", "unparseable", "reset"])
    revision = serializers.IntegerField(
        min_value=1, help_text="The revision you reviewed; 409 if it changed."
    )
    tree = serializers.JSONField(required=False, allow_null=True, help_text="Required for 'correct'.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ErrorSerializer(serializers.Serializer[None]):
    detail = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer[None]):
    """Field errors: each invalid field maps to its messages; errors about the request as a whole come under
    `non_field_errors` or, for a refused action, `detail`."""

    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)
    detail = serializers.CharField(required=False)
