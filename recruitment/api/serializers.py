"""Input and output serializers of the recruitment API.

Inputs that the patient portal also takes are checked by the portal's own forms (`checked_by_form`), so
that the API and the pages apply one set of rules; the model validation behind them runs in the services.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from recruitment.forms import (
    BiomarkerForm,
    DiagnosisForm,
    LabResultForm,
    ProcedureForm,
    ProfileForm,
    TherapyForm,
)
from recruitment.models import (
    NOTE_MAX_LENGTH,
    Biomarker,
    Candidate,
    CandidateEvent,
    CandidateStatus,
    Consent,
    Diagnosis,
    LabResult,
    Match,
    PatientProfile,
    Procedure,
    ReasonCode,
    Therapy,
    TrialInterest,
)
from recruitment.portal_views import OUTCOME_WORDS, UNSETTLED_WORDS
from recruitment.selectors.site import MatchStanding, site_evidence
from recruitment.wording import plain_criterion_text
from trials.models import ConsentDocument, Trial, TrialSite


def form_errors(form: forms.BaseForm) -> dict[str, list[str]]:
    """A portal form's errors as the API reports field errors (form-wide ones under non_field_errors)."""
    return {
        ("non_field_errors" if field == NON_FIELD_ERRORS else field): [str(e) for e in errors]
        for field, errors in form.errors.items()
    }


F = TypeVar("F", bound=forms.BaseForm)


def checked_by_form(form: F) -> F:
    if not form.is_valid():
        raise serializers.ValidationError(form_errors(form))
    return form


class RejectsUnknownFields(serializers.Serializer[Any]):
    """An input that answers a field it does not know (a misspelt name) with a 400 under that name: ignored,
    as DRF does, the client would believe it had sent it. A field this serializer only shows (e.g. `source`)
    is known, so that what was read can be sent back."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            # A form posted with a session carries its CSRF token in the body, as Django's forms do.
            unknown = sorted(set(data) - set(self.fields) - {"csrfmiddlewaretoken"})
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This endpoint takes no such field (see the API schema)."] for name in unknown}
                )
        return super().to_internal_value(data)


class TrialRefSerializer(serializers.ModelSerializer[Trial]):
    class Meta:
        model = Trial
        fields = ["id", "nct_id", "brief_title"]


# Patient: profile and facts


PROFILE_FIELDS = ProfileForm.Meta.fields
"""What a patient edits about themselves: the portal's profile form's fields, which also checks them."""


class ProfileSerializer(RejectsUnknownFields, serializers.ModelSerializer[PatientProfile]):
    """The patient's own profile. PATCH changes only the fields sent; the rest keep their values."""

    version = serializers.CharField(
        required=False,
        help_text="The profile's version as read. Send it back with a PATCH to be refused with 409, saving "
        "nothing, if the profile was changed since (as the portal's profile form is); without it, no check.",
    )

    class Meta:
        model = PatientProfile
        fields = [*PROFILE_FIELDS, "source", "updated_at", "version"]
        read_only_fields = ["source", "updated_at"]
        # The model's validator alone, whose message names the scale, not the column's "at least 0".
        extra_kwargs = {
            "ecog": {
                "help_text": "ECOG performance status, 0-4 (leave null if not known).",
                "min_value": None,
                "max_value": None,
            }
        }


class FactInputSerializer(RejectsUnknownFields, serializers.ModelSerializer[Any]):
    """The fields the portal's form for this kind of fact takes; the form checks them."""

    form_class: type[forms.ModelForm]


class FactOutputSerializer(serializers.ModelSerializer[Any]):
    pass


FACT_READ_ONLY = ["id", "source", "entered_at"]


class DiagnosisInput(FactInputSerializer):
    form_class = DiagnosisForm
    condition = serializers.CharField(
        max_length=200, help_text="The condition's name or a synonym, e.g. 'lung adenocarcinoma'."
    )

    class Meta:
        model = Diagnosis
        fields = ["condition", "presence", "diagnosed_on", "stage", "histology", "course", "resolved"]


class DiagnosisOutput(FactOutputSerializer):
    class Meta:
        model = Diagnosis
        fields = [
            *FACT_READ_ONLY,
            "system",
            "code",
            "label",
            "presence",
            "diagnosed_on",
            "stage",
            "histology",
            "course",
            "resolved",
        ]


class BiomarkerInput(FactInputSerializer):
    form_class = BiomarkerForm

    class Meta:
        model = Biomarker
        fields = list(BiomarkerForm.Meta.fields)


class BiomarkerOutput(FactOutputSerializer):
    class Meta:
        model = Biomarker
        fields = [*FACT_READ_ONLY, *BiomarkerForm.Meta.fields, "specimen"]


class LabResultInput(FactInputSerializer):
    form_class = LabResultForm

    class Meta:
        model = LabResult
        fields = list(LabResultForm.Meta.fields)


class LabResultOutput(FactOutputSerializer):
    class Meta:
        model = LabResult
        fields = [*FACT_READ_ONLY, "loinc", *LabResultForm.Meta.fields]


class TherapyInput(FactInputSerializer):
    form_class = TherapyForm

    class Meta:
        model = Therapy
        fields = list(TherapyForm.Meta.fields)
        extra_kwargs = {"line": {"min_value": None, "max_value": None}}  # as ProfileSerializer's ecog


class TherapyOutput(FactOutputSerializer):
    class Meta:
        model = Therapy
        fields = [*FACT_READ_ONLY, "drug", "drug_class", "line", "started_on", "ended_on", "ended"]


class ProcedureInput(FactInputSerializer):
    form_class = ProcedureForm

    class Meta:
        model = Procedure
        fields = list(ProcedureForm.Meta.fields)


class ProcedureOutput(FactOutputSerializer):
    class Meta:
        model = Procedure
        fields = [*FACT_READ_ONLY, "code", "name", "performed_on"]


def form_data(form_class: type[forms.ModelForm], instance: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated API values as data for the portal's form. Fields not sent keep the instance's value (for a
    new fact: the model's default), and None becomes "not given", as an empty input on the page."""
    data = {name: getattr(instance, name, None) for name in form_class.base_fields} | dict(values)
    return {name: "" if value is None else value for name, value in data.items()}


# Patient: consent


class ConsentSerializer(serializers.ModelSerializer[Consent]):
    """A signed consent with its signature manifestation; withdrawn ones stay, with the withdrawal time."""

    trial = serializers.CharField(source="trial.nct_id", default=None, read_only=True, allow_null=True)
    document = serializers.IntegerField(source="document_id", read_only=True)

    class Meta:
        model = Consent
        fields = [
            "id", "purpose", "trial", "document", "document_version", "document_hash", "typed_name",
            "meaning", "signed_at", "withdrawn_at", "withdrawal_reason",
        ]  # fmt: skip


class ConsentDocumentSerializer(serializers.ModelSerializer[ConsentDocument]):
    class Meta:
        model = ConsentDocument
        fields = ["id", "purpose", "version", "language", "title", "body", "content_hash", "effective_from"]


class ConsentStatusSerializer(serializers.Serializer[Any]):
    """One general purpose: the document to sign now, the active consent, and whether to sign again."""

    purpose = serializers.ChoiceField(choices=ConsentDocument.Purpose.choices)
    purpose_label = serializers.CharField(source="label")
    document = ConsentDocumentSerializer(allow_null=True)
    active = ConsentSerializer(allow_null=True)
    needs_reconsent = serializers.BooleanField()


class ConsentOverviewSerializer(serializers.Serializer[Any]):
    purposes = ConsentStatusSerializer(many=True)


class ConsentGiveInput(RejectsUnknownFields):
    document = serializers.IntegerField(help_text="Id of the published consent document being signed.")
    read = serializers.BooleanField(help_text="Must be true: the patient read the text and agrees to it.")
    typed_name = serializers.CharField(
        max_length=200, help_text="The full name as on the account, typed by the patient: the signature."
    )
    trial = serializers.CharField(
        required=False, help_text="NCT id of the trial; only for sharing, which is agreed per trial."
    )


class ConsentWithdrawInput(RejectsUnknownFields):
    purpose = serializers.ChoiceField(choices=ConsentDocument.Purpose.choices)
    trial = serializers.CharField(required=False, help_text="NCT id: withdraw sharing with this trial only.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Matching and contact are agreed once, not per trial: with a trial they would match no open consent
        # and the patient would be told nothing was withdrawn while the consent stood.
        if attrs.get("trial") and attrs["purpose"] != ConsentDocument.Purpose.SHARE:
            raise serializers.ValidationError(
                {"trial": "Only sharing is agreed per trial: withdraw matching or contact without a trial."}
            )
        return attrs


class ConsentWithdrawOutput(serializers.Serializer[Any]):
    withdrawn = ConsentSerializer(many=True, help_text="The consents withdrawn now; empty if none was open.")


# Patient: matches


class PatientCriterionSerializer(serializers.Serializer[Any]):
    section = serializers.CharField()
    text = serializers.CharField(
        help_text="The criterion as the portal words it: a registry age or sex limit as a sentence "
        "('Aged 18 years or over'), any other criterion as the trial's text."
    )
    registry_text = serializers.CharField(
        help_text="The criterion as the registry states it ('minimum_age: 18 Years'), for integrators."
    )
    outcome = serializers.CharField(help_text="satisfied, violated, unknown or not_checkable.")
    explanation = serializers.CharField(help_text="What the outcome means for the patient, in plain words.")
    evidence = serializers.ListField(child=serializers.CharField(), help_text="Profile facts used.")
    to_settle = serializers.ListField(
        child=serializers.CharField(), help_text="Questions or tests that would settle an unknown."
    )


def _evidence(criterion: Mapping[str, Any]) -> list[str]:
    texts = (e["text"] for atom in criterion.get("atoms", []) for e in atom.get("evidence", []))
    return list(dict.fromkeys(texts))


def _to_settle(criterion: Mapping[str, Any]) -> list[str]:
    return [item["text"] for item in criterion.get("to_settle", [])]


def patient_criteria(criteria: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-criterion explanations in the words the portal shows the patient."""
    rows = []
    for criterion in criteria:
        _, words = OUTCOME_WORDS.get(
            (criterion["section"], criterion["outcome"]),
            UNSETTLED_WORDS.get(criterion["outcome"], UNSETTLED_WORDS["unknown"]),
        )
        rows.append(
            {
                "section": criterion["section"],
                "text": plain_criterion_text(criterion["text"]),
                "registry_text": criterion["text"],
                "outcome": criterion["outcome"],
                "explanation": words,
                "evidence": _evidence(criterion),
                "to_settle": _to_settle(criterion),
            }
        )
    return rows


class LiveMatchSerializer(serializers.Serializer[Any]):
    """One of the patient's live matches (from the `PatientMatch` row of the portal selector)."""

    id = serializers.IntegerField(source="match.pk")
    trial = TrialRefSerializer(source="match.trial")
    cohort = serializers.CharField(source="match.arm.label", default=None, allow_null=True)
    verdict = serializers.ChoiceField(source="match.verdict", choices=Match.Verdict.choices)
    score = serializers.FloatField(source="match.score")
    evaluated_at = serializers.DateTimeField(source="match.evaluated_at")
    nearest_site = serializers.CharField(source="nearest_site.facility", default=None, allow_null=True)
    distance_km = serializers.FloatField(allow_null=True)
    interested = serializers.BooleanField(help_text="The patient asked to hear from this trial's team.")


class PatientMatchSerializer(LiveMatchSerializer):
    """A row of the patient's match list, ranked as the portal ranks it (`patient_matches_ranked`)."""

    explanation = serializers.CharField(
        help_text="One line on why the trial stands where it does in the list: topics in common and fit."
    )


class PatientMatchDetailSerializer(LiveMatchSerializer):
    criteria = serializers.SerializerMethodField()
    to_settle = serializers.SerializerMethodField()

    @extend_schema_field(PatientCriterionSerializer(many=True))
    def get_criteria(self, row: Any) -> list[dict[str, Any]]:
        return patient_criteria(row.match.criteria)

    def get_to_settle(self, row: Any) -> list[str]:
        return [item["text"] for item in row.match.to_settle]


class TrialInterestSerializer(serializers.ModelSerializer[TrialInterest]):
    trial = serializers.CharField(source="trial.nct_id", read_only=True)

    class Meta:
        model = TrialInterest
        fields = ["id", "trial", "created_at"]


# Site staff


class SiteTrialSerializer(serializers.ModelSerializer[TrialSite]):
    """A trial run at one of the caller's sites: the pair that scopes a candidate queue."""

    site_id = serializers.IntegerField()
    facility = serializers.CharField(source="site.facility")
    trial = TrialRefSerializer()

    class Meta:
        model = TrialSite
        fields = ["site_id", "facility", "trial", "status"]


class MatchStandingSerializer(serializers.Serializer[Any]):
    current = serializers.BooleanField(
        help_text="The candidacy shows the patient's live match (or has ended and keeps its record). When "
        "false, the match's verdict, score, unknown count, cohort and criteria are null: not shown."
    )
    note = serializers.CharField(help_text="When not current: why (no longer matching, consent gone...).")
    cohort_closed = serializers.CharField(help_text="Set when the live match's cohort is full or suspended.")


@dataclass(frozen=True)
class CandidateView:
    """A candidate with its standing (`match_standings`), which decides whether its match may be shown."""

    candidate: Candidate
    standing: MatchStanding


NOT_SHOWN_HELP = " Null when the standing is not current: the match is not shown."


def _shown_match(row: Any) -> Match | None:
    """The candidate's match when the site may read it (the standing is current), else None."""
    return row.candidate.match if row.standing.current else None


class CandidateSerializer(serializers.Serializer[Any]):
    """A candidate as the queue lists it: pseudonymous, no name or contact details. Its match is shown only
    while its standing is current (as on the site's pages)."""

    id = serializers.IntegerField(source="candidate.pk")
    subject_code = serializers.CharField(source="candidate.subject_code")
    status = serializers.ChoiceField(source="candidate.status", choices=CandidateStatus.choices)
    cohort = serializers.SerializerMethodField(help_text="The cohort's label." + NOT_SHOWN_HELP)
    verdict = serializers.SerializerMethodField(help_text="The match's verdict." + NOT_SHOWN_HELP)
    score = serializers.SerializerMethodField(help_text="The match's score." + NOT_SHOWN_HELP)
    unknown_criteria = serializers.SerializerMethodField(
        help_text="How many questions would settle it." + NOT_SHOWN_HELP
    )
    created_at = serializers.DateTimeField(source="candidate.created_at")
    updated_at = serializers.DateTimeField(source="candidate.updated_at")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_cohort(self, row: Any) -> str | None:
        arm = row.candidate.arm
        return arm.label if arm is not None and row.standing.current else None

    @extend_schema_field(serializers.ChoiceField(choices=Match.Verdict.choices, allow_null=True))
    def get_verdict(self, row: Any) -> str | None:
        match = _shown_match(row)
        return match.verdict if match is not None else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_score(self, row: Any) -> float | None:
        match = _shown_match(row)
        return match.score if match is not None else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_unknown_criteria(self, row: Any) -> int | None:
        match = _shown_match(row)
        return len(match.to_settle) if match is not None else None


class QueueRowSerializer(CandidateSerializer):
    """A candidate as the queue lists it: pseudonymous, no name or contact details, the distance to the site
    as a band only (from the `QueueRow` of the queue page's selector)."""

    interested = serializers.BooleanField(
        source="candidate.interested", help_text="The patient asked to hear from this trial: listed first."
    )
    distance_band = serializers.CharField(help_text="e.g. 'under 10 km', or 'unknown'.")
    standing = MatchStandingSerializer()


class PseudonymousSummarySerializer(serializers.Serializer[Any]):
    subject_code = serializers.CharField()
    age_band = serializers.CharField()
    sex = serializers.CharField()
    diagnoses = serializers.ListField(child=serializers.CharField())
    biomarkers = serializers.ListField(child=serializers.CharField())
    ecog = serializers.IntegerField(allow_null=True)


class SharedSectionSerializer(serializers.Serializer[Any]):
    title = serializers.CharField()
    facts = serializers.ListField(child=serializers.CharField())


class SharedProfileSerializer(serializers.Serializer[Any]):
    """The whole health profile the patient agreed to share with this trial: no name, e-mail or birth date."""

    sections = serializers.SerializerMethodField()
    pregnancy = serializers.CharField()
    ecog_assessed_on = serializers.DateField(allow_null=True)

    @extend_schema_field(SharedSectionSerializer(many=True))
    def get_sections(self, shared: Any) -> list[dict[str, Any]]:
        return [{"title": title, "facts": facts} for title, facts in shared.sections]


class ContactSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(source="get_full_name")
    email = serializers.EmailField()


class SiteCriterionSerializer(serializers.Serializer[Any]):
    section = serializers.CharField()
    text = serializers.CharField(
        help_text="The criterion as the candidate page words it (a registry limit as a sentence)."
    )
    registry_text = serializers.CharField(help_text="The criterion as the registry states it.")
    outcome = serializers.CharField(help_text="satisfied, violated, unknown or not_checkable.")
    evidence = serializers.ListField(child=serializers.CharField())
    to_settle = serializers.ListField(child=serializers.CharField())


def site_criteria(criteria: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "section": criterion["section"],
            "text": plain_criterion_text(criterion["text"]),
            "registry_text": criterion["text"],
            "outcome": criterion["outcome"],
            "evidence": site_evidence(criterion),
            "to_settle": _to_settle(criterion),
        }
        for criterion in criteria
    ]


class CandidateEventSerializer(serializers.ModelSerializer[CandidateEvent]):
    actor = serializers.EmailField(source="actor.email", default=None, read_only=True, allow_null=True)
    criterion = serializers.CharField(source="criterion.text", default=None, read_only=True, allow_null=True)

    class Meta:
        model = CandidateEvent
        fields = ["kind", "from_status", "to_status", "reason", "criterion", "actor", "note", "created_at"]


class CandidateDetailSerializer(serializers.Serializer[Any]):
    """The candidate page as data. `summary` and `criteria` are empty once the patient no longer consents to
    matching; `shared_profile` is null until she shares her profile with this trial; `contact` is null until
    the patient agreed to be contacted about this trial."""

    candidate = CandidateSerializer()
    trial = TrialRefSerializer()
    site_id = serializers.IntegerField()
    summary = PseudonymousSummarySerializer(allow_null=True)
    shared_profile = SharedProfileSerializer(
        allow_null=True,
        help_text="Null until the patient agreed to share her profile with this trial (and while she "
        "consents to matching and the candidacy is under way or ended in enrolment), as on the page.",
    )
    contact = ContactSerializer(allow_null=True)
    criteria = SiteCriterionSerializer(
        many=True, allow_null=True, help_text="Null when the standing is not current: not shown."
    )
    to_settle = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        help_text="Questions or tests that would settle the unknowns; null when the standing is not current.",
    )
    history = CandidateEventSerializer(many=True)
    standing = MatchStandingSerializer()
    actions = serializers.ListField(
        child=serializers.CharField(), help_text="The workflow actions open from the current status."
    )


class TransitionInput(RejectsUnknownFields):
    """What every workflow action takes; some actions take a reason, a criterion or a cohort as well."""

    expected_status = serializers.ChoiceField(
        choices=CandidateStatus.choices,
        help_text="The status you saw. If the candidate has moved since, the action is refused with 409.",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH, default="")


def reason_input(name: str, reasons: frozenset[str]) -> type[TransitionInput]:
    """The input of an action that needs a reason code from its own controlled list."""
    choices = [(code, ReasonCode(code).label) for code in ReasonCode.values if code in reasons]
    return type(
        name,
        (TransitionInput,),
        {"reason": serializers.ChoiceField(choices=choices)},
    )


class ScreenFailInput(TransitionInput):
    criterion = serializers.IntegerField(help_text="Id of the trial's criterion that the patient failed.")


class EnrolInput(TransitionInput):
    cohort = serializers.IntegerField(
        required=False,
        help_text="Id of the arm the patient is enrolled in; by default the cohort of the match.",
    )


# Sponsor


class SponsorTrialSerializer(serializers.ModelSerializer[Trial]):
    class Meta:
        model = Trial
        fields = ["id", "nct_id", "brief_title", "overall_status", "enrollment"]


class CountSerializer(serializers.Serializer[Any]):
    """A suppressed count: a number as text, '1-10' for a small count, 'suppressed' for a complement."""

    name = serializers.CharField()
    count = serializers.CharField()


class CohortCountSerializer(serializers.Serializer[Any]):
    cohort = serializers.CharField(source="arm.label")
    enrolled = serializers.CharField()
    target = serializers.IntegerField(allow_null=True)
    cap = serializers.IntegerField(
        allow_null=True, help_text="Null when the cohort has no cap, or when it is hidden (`cap_hidden`)."
    )
    cap_hidden = serializers.BooleanField(
        help_text="The cohort has a cap that is not shown: a cap is shown only beside an enrolled count that "
        "is shown and only when it is above 10, since a full cohort's cap is its enrolled count."
    )
    closed = serializers.BooleanField(
        allow_null=True,
        help_text="Full or suspended: it takes no new patients. Null when not shown: beside a withheld "
        "count, whether a cohort with a cap is full would give the count away.",
    )


class SponsorDashboardSerializer(serializers.Serializer[Any]):
    """The sponsor dashboard's aggregates, suppressed exactly as on the page: no patient-level row."""

    trial = SponsorTrialSerializer()
    enrolled_total = serializers.CharField()
    target = serializers.IntegerField(allow_null=True)
    by_site = CountSerializer(many=True)
    by_cohort = CohortCountSerializer(many=True)
    cohort_total = serializers.CharField(help_text="The per-cohort table's total, suppressed with its cells.")
    figures_as_of = serializers.DateField(
        allow_null=True,
        help_text="The day of the snapshot the enrolment figures come from; null before the first snapshot.",
    )
    funnel = CountSerializer(many=True)
    funnel_total = serializers.CharField()
    screen_fail_rate = serializers.CharField()
    top_failing = CountSerializer(many=True)
    median_days = CountSerializer(many=True)
    projected_completion = serializers.CharField()


def labelled(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "count": count} for name, count in pairs]
