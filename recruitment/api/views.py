"""Recruitment API views: the patient's own data, site staff's candidates with one view per workflow action,
and sponsors' suppressed aggregates.

Scoping follows the web pages: a patient reaches objects only through their own profile, site staff only
through the sites they are members of, sponsors only their organisation's trials; anything else is a 404.
A caller of the wrong role gets 403.
"""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recruitment.api import serializers as s
from recruitment.api.filters import CandidateQueueFilter
from recruitment.api.permissions import IsPatient, IsSiteStaff, IsSponsor
from recruitment.forms import ConsentForm, ProfileForm
from recruitment.http import client_ip
from recruitment.models import (
    Biomarker,
    Candidate,
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
    User,
)
from recruitment.notifications import site_alerts_mark_read
from recruitment.selectors.consent import consent_overview, patient_consents, patient_has_active_consent
from recruitment.selectors.portal import PatientMatch, patient_matches, patient_matches_ranked
from recruitment.selectors.site import (
    candidate_history,
    contact_allowed,
    match_standing,
    pseudonymous_summary,
    shared_profile,
    site_queue_page_rows,
    staff_candidate,
    staff_trial_site,
    staff_trial_sites,
)
from recruitment.selectors.sponsor import sponsor_trial_dashboard, sponsor_trials
from recruitment.services.consent import (
    ConsentError,
    consent_give_or_get,
    consent_withdraw,
    trial_interest_express,
)
from recruitment.services.profile import (
    ProfileConflict,
    patient_profile_for,
    profile_fact_delete,
    profile_fact_save,
    profile_update,
)
from recruitment.services.workflow import (
    TRANSITIONS,
    TransitionConflict,
    TransitionError,
    candidate_transition,
    candidate_view_record,
)
from trials.api.filters import ParameterlessReadView, unknown_query_parameters_refuse
from trials.api.serializers import ErrorSerializer, ValidationErrorSerializer
from trials.models import ConsentDocument, Trial, TrialSite

S = CandidateStatus

RESPONSES = {
    400: OpenApiResponse(
        ValidationErrorSerializer,
        description="Invalid input, the action is refused, or a query parameter the read does not take.",
    ),
    401: OpenApiResponse(ErrorSerializer, description="Not signed in."),
    403: OpenApiResponse(ErrorSerializer, description="Your role may not use this endpoint."),
    404: OpenApiResponse(ErrorSerializer, description="No such object among yours (or no such page)."),
    409: OpenApiResponse(ErrorSerializer, description="Someone else changed it first; reload and retry."),
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: RESPONSES[code] for code in codes}


def model_errors(error: ValidationError) -> serializers.ValidationError:
    """A model's validation error as a 400 with field errors (form-wide ones under non_field_errors)."""
    if not hasattr(error, "error_dict"):
        return serializers.ValidationError({"non_field_errors": error.messages})
    return serializers.ValidationError(
        {
            ("non_field_errors" if field == NON_FIELD_ERRORS else field): messages
            for field, messages in error.message_dict.items()
        }
    )


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)  # the role permissions admit signed-in users only
    return user


PATIENT = [IsAuthenticated, IsPatient]
SITE_STAFF = [IsAuthenticated, IsSiteStaff]
SPONSOR = [IsAuthenticated, IsSponsor]


# Patient


def _profile(request: Request) -> PatientProfile:
    return patient_profile_for(_user(request))


@extend_schema(tags=["patient"])
class ProfileView(ParameterlessReadView):
    """The signed-in patient's own profile."""

    permission_classes = PATIENT

    @extend_schema(responses={200: s.ProfileSerializer, **errors(400, 401, 403)})
    def get(self, request: Request) -> Response:
        return Response(s.ProfileSerializer(_profile(request)).data)

    @extend_schema(
        request=s.ProfileSerializer, responses={200: s.ProfileSerializer, **errors(400, 401, 403, 409)}
    )
    def patch(self, request: Request) -> Response:
        """Change the fields sent, checked as the portal's profile form checks them; matching follows. With
        the `version` read, a profile changed since is refused with 409 and nothing is saved."""
        profile = _profile(request)
        payload = s.ProfileSerializer(profile, data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        values = dict(payload.validated_data)
        shown_version = values.pop("version", None)
        form = s.checked_by_form(ProfileForm(s.form_data(ProfileForm, profile, values), instance=profile))
        try:
            profile_update(profile=profile, fields=form.profile_fields(), shown_version=shown_version)
        except ProfileConflict:
            return Response(
                {
                    "detail": "Your profile was changed after the version you sent was read, so nothing was "
                    "saved: read it again, then send your change with the new version."
                },
                status=status.HTTP_409_CONFLICT,
            )
        except ValidationError as error:
            raise model_errors(error) from error
        return Response(s.ProfileSerializer(profile).data)


@dataclass(frozen=True)
class FactKind:
    model: type[Diagnosis | Biomarker | LabResult | Therapy | Procedure]
    input: type[s.FactInputSerializer]
    output: type[s.FactOutputSerializer]


FACT_KINDS = {
    "diagnoses": FactKind(Diagnosis, s.DiagnosisInput, s.DiagnosisOutput),
    "biomarkers": FactKind(Biomarker, s.BiomarkerInput, s.BiomarkerOutput),
    "labs": FactKind(LabResult, s.LabResultInput, s.LabResultOutput),
    "therapies": FactKind(Therapy, s.TherapyInput, s.TherapyOutput),
    "procedures": FactKind(Procedure, s.ProcedureInput, s.ProcedureOutput),
}
"""The kinds of profile fact, by their URL segment under me/."""


class FactView(generics.GenericAPIView[Any]):
    permission_classes = PATIENT
    kind: FactKind

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no signed-in patient
            return self.kind.model.objects.none()
        return self.kind.model.objects.filter(patient=_profile(self.request))

    def get_serializer_class(self) -> type[s.FactOutputSerializer]:
        return self.kind.output


class FactListView(FactView, generics.ListAPIView[Any]):
    def post(self, request: Request) -> Response:
        profile = _profile(request)
        payload = self.kind.input(data=request.data)
        payload.is_valid(raise_exception=True)
        form_class = self.kind.input.form_class
        fact = self.kind.model(patient=profile)
        form = s.checked_by_form(
            form_class(s.form_data(form_class, fact, payload.validated_data), instance=fact)
        )
        try:
            saved = profile_fact_save(profile=profile, fact=form.instance, actor=_user(request))
        except ValidationError as error:
            raise model_errors(error) from error
        # A fact identical to one already recorded is that one (a retried POST): 200, nothing created.
        created = saved is form.instance
        return Response(
            self.kind.output(saved).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class FactDetailView(FactView, generics.RetrieveDestroyAPIView[Any]):
    def get_object(self) -> Any:
        fact = self.filter_queryset(self.get_queryset()).filter(pk=self.kwargs["pk"]).first()
        if fact is None:
            # A repeated DELETE (a retry after a lost answer, a second tab) lands here too: still a 404,
            # as REST has it, but one that says so.
            what = self.kind.model._meta.verbose_name
            raise Http404(f"No such {what} among yours: never recorded, or already removed.")
        return fact

    def perform_destroy(self, instance: Any) -> None:
        profile_fact_delete(fact=instance)


def _fact_views(kind: FactKind) -> tuple[type[FactListView], type[FactDetailView]]:
    """The list and detail views of one kind of fact, each documented with that kind's serializers."""
    name = kind.model._meta.verbose_name_plural
    list_view = type(
        f"{kind.model.__name__}ListView",
        (FactListView,),
        {
            "kind": kind,
            "__doc__": f"The patient's own {name} (GET), or a new one (POST) checked as the portal's form "
            "checks it; one identical to a fact already recorded is that fact (200), so a retry adds "
            "nothing. Every change re-matches the patient after commit.",
        },
    )
    detail_view = type(
        f"{kind.model.__name__}DetailView",
        (FactDetailView,),
        {
            "kind": kind,
            "__doc__": f"One of the patient's own {name}; another patient's is a 404. DELETE removes it "
            "and re-matches the patient.",
        },
    )
    documented_list = extend_schema_view(
        get=extend_schema(
            tags=["patient"], responses={200: kind.output(many=True), **errors(400, 401, 403, 404)}
        ),
        post=extend_schema(
            tags=["patient"],
            request=kind.input,
            responses={
                201: kind.output,
                200: OpenApiResponse(kind.output, description="The identical fact already recorded."),
                **errors(400, 401, 403),
            },
        ),
    )(list_view)
    documented_detail = extend_schema_view(
        get=extend_schema(tags=["patient"], responses={200: kind.output, **errors(400, 401, 403, 404)}),
        delete=extend_schema(
            tags=["patient"],
            responses={
                204: None,
                **errors(401, 403),
                404: OpenApiResponse(
                    ErrorSerializer,
                    description="No such fact among yours: never recorded, or already removed (a repeated "
                    "DELETE answers 404, not 204).",
                ),
            },
        ),
    )(detail_view)
    return documented_list, documented_detail


FACT_VIEWS = {slug: _fact_views(kind) for slug, kind in FACT_KINDS.items()}


@extend_schema(
    tags=["patient"], responses={200: s.ConsentSerializer(many=True), **errors(400, 401, 403, 404)}
)
class ConsentListView(generics.ListAPIView[Any]):
    """Every consent the patient signed, newest first, withdrawn ones included: the full history."""

    permission_classes = PATIENT

    serializer_class = s.ConsentSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Consent.objects.none()
        return patient_consents(patient=_profile(self.request))


@extend_schema(tags=["patient"])
class ConsentStatusView(ParameterlessReadView):
    """Per general purpose (matching, contact): the document to sign now, the active consent, and whether a
    new version needs signing again."""

    permission_classes = PATIENT

    @extend_schema(responses={200: s.ConsentOverviewSerializer, **errors(400, 401, 403)})
    def get(self, request: Request) -> Response:
        overview = consent_overview(patient=_profile(request))
        return Response(s.ConsentOverviewSerializer({"purposes": overview}).data)


def _trial_by_nct_id(nct_id: str | None, field: str = "trial") -> Trial | None:
    if not nct_id:
        return None
    trial = Trial.objects.filter(nct_id=nct_id.strip().upper()).first()
    if trial is None:
        raise serializers.ValidationError({field: [f"No trial {nct_id}."]})
    return trial


@extend_schema(tags=["patient"])
class ConsentGiveView(APIView):
    """Sign the current version of a consent document. The signature is the full name as on the account,
    typed by the patient, exactly as on the portal's consent page."""

    permission_classes = PATIENT

    @extend_schema(
        request=s.ConsentGiveInput,
        responses={
            201: s.ConsentSerializer,
            200: OpenApiResponse(
                s.ConsentSerializer, description="Already signed and not withdrawn: that consent, unchanged."
            ),
            **errors(400, 401, 403),
        },
    )
    def post(self, request: Request) -> Response:
        payload = s.ConsentGiveInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        form = s.checked_by_form(
            ConsentForm(
                {"document": data["document"], "read": data["read"], "typed_name": data["typed_name"]}
            )
        )
        document = ConsentDocument.objects.filter(
            pk=form.cleaned_data["document"], published_at__isnull=False
        ).first()
        if document is None:
            raise serializers.ValidationError({"document": ["No published consent document with this id."]})
        trial = _trial_by_nct_id(data.get("trial"))
        try:
            consent, created = consent_give_or_get(
                patient=_profile(request),
                document=document,
                typed_name=form.cleaned_data["typed_name"],
                trial=trial,
                ip_address=client_ip(request.META),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                actor=_user(request),
            )
        except ConsentError as error:
            if error.field:
                raise serializers.ValidationError({error.field: [str(error)]}) from error
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(s.ConsentSerializer(consent).data, status=answer)


@extend_schema(tags=["patient"])
class ConsentWithdrawView(APIView):
    """Withdraw the consent for one purpose (for sharing: optionally with one trial), effective at once:
    out of matching and site queues, pending contact cancelled, sites told. History is never rewritten."""

    permission_classes = PATIENT

    @extend_schema(
        request=s.ConsentWithdrawInput,
        responses={200: s.ConsentWithdrawOutput, **errors(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        payload = s.ConsentWithdrawInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        withdrawn = consent_withdraw(
            patient=_profile(request),
            purposes=[data["purpose"]],
            trial=_trial_by_nct_id(data.get("trial")),
            reason=data["reason"],
            actor=_user(request),
        )
        return Response(s.ConsentWithdrawOutput({"withdrawn": withdrawn}).data)


def _own_live_match(profile: PatientProfile, pk: int) -> PatientMatch:
    row = next((r for r in patient_matches(patient=profile) if r.match.pk == pk), None)
    if row is None:
        raise Http404("No such match.")
    return row


@extend_schema(
    tags=["patient"], responses={200: s.PatientMatchSerializer(many=True), **errors(400, 401, 403, 404)}
)
class MatchListView(generics.ListAPIView[Any]):
    """The patient's live matches, ranked as on the portal's match list (how well the trial is about the
    patient's own conditions, genes, drugs and procedures, and how well the patient fits), each with the
    portal's one-line explanation; none while the patient does not consent to matching."""

    permission_classes = PATIENT

    serializer_class = s.PatientMatchSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Match.objects.none()
        return patient_matches_ranked(patient=_profile(self.request))


@extend_schema(tags=["patient"])
class MatchDetailView(ParameterlessReadView):
    """One live match with the reason for each criterion's outcome and the questions that would settle
    the unknowns."""

    permission_classes = PATIENT

    @extend_schema(responses={200: s.PatientMatchDetailSerializer, **errors(400, 401, 403, 404)})
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.PatientMatchDetailSerializer(_own_live_match(_profile(request), pk)).data)


@extend_schema(tags=["patient"])
class MatchInterestView(APIView):
    """Ask to hear from the matched trial's study team; needs the consent to be contacted."""

    permission_classes = PATIENT

    @extend_schema(request=None, responses={200: s.TrialInterestSerializer, **errors(400, 401, 403, 404)})
    def post(self, request: Request, pk: int) -> Response:
        profile = _profile(request)
        row = _own_live_match(profile, pk)
        try:
            interest: TrialInterest = trial_interest_express(
                patient=profile, trial=row.match.trial, match=row.match
            )
        except ConsentError as error:
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(s.TrialInterestSerializer(interest).data)


# Site staff


@extend_schema(tags=["site"], responses={200: s.SiteTrialSerializer(many=True), **errors(400, 401, 403, 404)})
class SiteTrialListView(generics.ListAPIView[Any]):
    """The trials run at the caller's sites: each (site, trial) pair has a candidate queue."""

    permission_classes = SITE_STAFF

    serializer_class = s.SiteTrialSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return TrialSite.objects.none()
        return staff_trial_sites(user=_user(self.request))


@extend_schema(tags=["site"], responses={200: s.QueueRowSerializer(many=True), **errors(400, 401, 403, 404)})
class CandidateQueueView(generics.ListAPIView[Any]):
    """The site's candidates for the trial: patients who asked to hear from it first, then by match score.
    Another site's or trial's queue is a 404."""

    permission_classes = SITE_STAFF

    serializer_class = s.QueueRowSerializer
    filterset_class = CandidateQueueFilter

    def get_queryset(self) -> QuerySet[Candidate]:
        return Candidate.objects.none()  # the queue comes from the selector in `list`

    def list(self, request: Request, site_id: int, trial_id: int) -> Response:
        trial_site = staff_trial_site(user=_user(request), site_id=site_id, trial_id=trial_id)
        if trial_site is None:
            raise Http404("No such trial at your sites.")
        unknown_query_parameters_refuse(request, self, known=CandidateQueueFilter.base_filters)
        filters = CandidateQueueFilter(request.query_params, queryset=Candidate.objects.none())
        if not filters.is_valid():
            raise serializers.ValidationError(dict(filters.errors))
        # Only the page asked for is read and given standings and distance bands, as on the queue page.
        page = self.paginate_queryset(filters.queue(trial_site))
        rows = site_queue_page_rows(candidates=list(page or []))
        return self.get_paginated_response(s.QueueRowSerializer(rows, many=True).data)


def _staff_candidate(request: Request, pk: int) -> Candidate:
    candidate = staff_candidate(user=_user(request), pk=pk)
    if candidate is None:
        raise Http404("No such candidate at your sites.")
    return candidate


@extend_schema(tags=["site"])
class CandidateDetailView(ParameterlessReadView):
    """A candidate of one of the caller's sites: pseudonymous summary, per-criterion outcomes, history, the
    health profile only once the patient shared it with this trial, and contact details only once the patient
    agreed to be contacted about this trial. Every read is logged as PHI access."""

    permission_classes = SITE_STAFF

    @extend_schema(responses={200: s.CandidateDetailSerializer, **errors(400, 401, 403, 404)})
    def get(self, request: Request, pk: int) -> Response:
        candidate = _staff_candidate(request, pk)
        candidate_view_record(candidate=candidate, actor=_user(request))
        site_alerts_mark_read(user=_user(request), candidate_id=candidate.pk)
        # As on the page: no clinical summary once the patient no longer consents to matching.
        matching = patient_has_active_consent(
            patient=candidate.patient, purpose=ConsentDocument.Purpose.MATCHING
        )
        match = candidate.match
        standing = match_standing(candidate=candidate)
        # As on the page: no explanation at all while the standing is not current (a re-match not followed
        # yet, consent to matching gone), so null rather than an empty list that would read "no criteria".
        shown = standing.current
        detail = {
            "candidate": s.CandidateView(candidate, standing),
            "trial": candidate.trial,
            "site_id": candidate.site_id,
            "summary": pseudonymous_summary(candidate=candidate) if matching else None,
            "shared_profile": shared_profile(candidate=candidate),
            "contact": candidate.patient.user if contact_allowed(candidate=candidate) else None,
            "criteria": (s.site_criteria(match.criteria) if match and matching else []) if shown else None,
            "to_settle": ([item["text"] for item in match.to_settle] if match and matching else [])
            if shown
            else None,
            "history": candidate_history(candidate=candidate),
            "standing": standing,
            "actions": [
                slug
                for slug, action in ACTIONS.items()
                if (candidate.status, action.to_status) in TRANSITIONS
            ],
        }
        return Response(s.CandidateDetailSerializer(detail).data)


class CandidateActionView(APIView):
    """One workflow action on a candidate; the subclasses below fix the target status and the input."""

    permission_classes = SITE_STAFF

    to_status: str = ""
    input_serializer: type[s.TransitionInput] = s.TransitionInput
    reason: str = ""
    """The reason code of an action that has exactly one."""

    def post(self, request: Request, pk: int) -> Response:
        candidate = _staff_candidate(request, pk)
        payload = self.input_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            moved = candidate_transition(
                candidate_id=candidate.pk,
                to_status=self.to_status,
                actor=_user(request),
                reason=data.get("reason", self.reason),
                note=data["note"],
                expected_status=data["expected_status"],
                criterion_id=data.get("criterion"),
                arm_id=data.get("cohort"),
            )
        except TransitionConflict as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        except TransitionError as error:
            if error.field:
                raise serializers.ValidationError({error.field: [str(error)]}) from error
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(s.CandidateSerializer(s.CandidateView(moved, match_standing(candidate=moved))).data)


@dataclass(frozen=True)
class Action:
    to_status: str
    summary: str
    input_serializer: type[s.TransitionInput] = s.TransitionInput
    reason: str = ""


def _reasons_into(to_status: str) -> frozenset[str]:
    return frozenset().union(*(rule.reasons for (_, to), rule in TRANSITIONS.items() if to == to_status))


ACTIONS: dict[str, Action] = {
    "pre-screen": Action(S.PRE_SCREENED, "Pre-screen a matched candidate against the records"),
    "contact": Action(S.CONTACTED, "Record that the patient was contacted (needs their consent to contact)"),
    "consent": Action(S.CONSENTED, "Record the patient's consent to the study"),
    "screening": Action(S.SCREENING, "Start screening"),
    "enrol": Action(S.ENROLLED, "Enrol the patient in a cohort", s.EnrolInput),
    "pre-screen-ineligible": Action(
        S.PRE_SCREEN_INELIGIBLE,
        "Rule the candidate out at pre-screening",
        s.reason_input("PreScreenIneligibleInput", _reasons_into(S.PRE_SCREEN_INELIGIBLE)),
    ),
    "screen-fail": Action(
        S.SCREEN_FAILED,
        "Record a screen failure and the criterion that failed",
        s.ScreenFailInput,
        reason=ReasonCode.CRITERION_NOT_MET,
    ),
    "decline": Action(
        S.DECLINED,
        "Record that the patient declined",
        s.reason_input("DeclineInput", _reasons_into(S.DECLINED)),
    ),
    "unreachable": Action(
        S.UNREACHABLE,
        "Record that the patient could not be reached",
        s.reason_input("UnreachableInput", _reasons_into(S.UNREACHABLE)),
    ),
    "withdraw": Action(
        S.WITHDRAWN,
        "Withdraw the candidate from the trial",
        s.reason_input("WithdrawInput", _reasons_into(S.WITHDRAWN)),
    ),
}
"""One endpoint per workflow action, by URL segment under site/candidates/<id>/."""


def _action_view(slug: str, action: Action) -> type[CandidateActionView]:
    name = "".join(part.title() for part in slug.split("-")) + "View"
    view = type(
        name,
        (CandidateActionView,),
        {
            "__doc__": f"{action.summary}. Refused with 400 when the workflow does not allow it, with 409 "
            "when the candidate moved since you saw it (`expected_status`).",
            "to_status": action.to_status,
            "input_serializer": action.input_serializer,
            "reason": action.reason,
        },
    )
    return extend_schema(
        tags=["site"],
        summary=action.summary,
        request=action.input_serializer,
        responses={200: s.CandidateSerializer, **errors(400, 401, 403, 404, 409)},
    )(view)


ACTION_VIEWS = {slug: _action_view(slug, action) for slug, action in ACTIONS.items()}


# Sponsor


@extend_schema(
    tags=["sponsor"], responses={200: s.SponsorTrialSerializer(many=True), **errors(400, 401, 403, 404)}
)
class SponsorTrialListView(generics.ListAPIView[Any]):
    """The trials of the caller's sponsor organisations."""

    permission_classes = SPONSOR

    serializer_class = s.SponsorTrialSerializer

    def get_queryset(self) -> QuerySet[Trial]:
        if getattr(self, "swagger_fake_view", False):
            return Trial.objects.none()
        return sponsor_trials(user=_user(self.request))


@extend_schema(tags=["sponsor"])
class SponsorDashboardView(ParameterlessReadView):
    """Recruitment aggregates of one of the organisation's trials, with counts 1-10 suppressed exactly as on
    the dashboard page; no patient-level row. Another organisation's trial is a 404."""

    permission_classes = SPONSOR

    @extend_schema(responses={200: s.SponsorDashboardSerializer, **errors(400, 401, 403, 404)})
    def get(self, request: Request, pk: int) -> Response:
        trial = sponsor_trials(user=_user(request)).filter(pk=pk).first()
        if trial is None:
            raise Http404("No such trial of your organisation.")
        dashboard = sponsor_trial_dashboard(trial=trial)
        data = {
            "trial": trial,
            "enrolled_total": dashboard.enrolled_total,
            "target": dashboard.target,
            "by_site": s.labelled(dashboard.by_site),
            "by_cohort": dashboard.by_cohort,
            "cohort_total": dashboard.cohort_total,
            "figures_as_of": dashboard.figures_as_of,
            "funnel": s.labelled(dashboard.funnel),
            "funnel_total": dashboard.funnel_total,
            "screen_fail_rate": dashboard.screen_fail_rate,
            "top_failing": s.labelled(dashboard.top_failing),
            "median_days": s.labelled(dashboard.median_days),
            "projected_completion": dashboard.projected_completion,
        }
        return Response(s.SponsorDashboardSerializer(data).data)


@csrf_exempt  # it changes nothing: a POST to an unknown URL gets the same 404 as a GET
def endpoint_not_found(request: HttpRequest) -> HttpResponse:
    """Any other URL under /api/: a JSON 404 that API clients can read, instead of the site's HTML page
    (e.g. an id that is not a number). A GET of a known URL without its trailing slash is redirected, as
    Django's APPEND_SLASH would do for a URL that no pattern matched."""
    with_slash = f"{request.path_info}/"
    try:
        known = resolve(with_slash).url_name != "api-not-found"
    except Resolver404:
        known = False
    if known and request.method in ("GET", "HEAD"):
        return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    detail = f"No such API endpoint; did you mean {with_slash}?" if known else "No such API endpoint."
    return JsonResponse({"detail": detail}, status=404)
