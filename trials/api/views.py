from django.db.models import Count, Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from trials import services
from trials.api import serializers
from trials.api.filters import SiteFilter, TrialFilter, unknown_query_parameters_refuse
from trials.models import EligibilityCriterion, Site, Trial, TrialSite

ERRORS = {
    401: OpenApiResponse(serializers.ErrorSerializer, description="Not signed in."),
    403: OpenApiResponse(serializers.ErrorSerializer, description="Your role may not do this."),
    404: OpenApiResponse(serializers.ErrorSerializer, description="No such object."),
}

UNKNOWN_PARAMETER = OpenApiResponse(
    serializers.ValidationErrorSerializer, description="A query parameter the read does not take."
)


class IsCurator(permissions.BasePermission):
    message = "Curators only."

    def has_permission(self, request: Request, view: object) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_curator)


@extend_schema_view(
    list=extend_schema(
        responses={
            200: serializers.TrialListSerializer(many=True),
            400: OpenApiResponse(serializers.ValidationErrorSerializer, description="Invalid filter value."),
            **ERRORS,
        }
    ),
    retrieve=extend_schema(
        responses={200: serializers.TrialDetailSerializer, 400: UNKNOWN_PARAMETER, **ERRORS}
    ),
)
class TrialViewSet(viewsets.ReadOnlyModelViewSet[Trial]):
    """The trial registry. Every signed-in user may read it: it holds public registry data only."""

    lookup_field = "nct_id"
    filterset_class = TrialFilter

    def get_queryset(self) -> QuerySet[Trial]:
        trials = Trial.objects.select_related("sponsor").annotate(
            site_count=Count("trial_sites", distinct=True)
        )
        if self.action == "retrieve":
            trials = trials.prefetch_related(
                "arms", Prefetch("trial_sites", queryset=TrialSite.objects.select_related("site"))
            )
        return trials.order_by("nct_id")

    def get_serializer_class(self) -> type[serializers.TrialListSerializer]:
        return (
            serializers.TrialDetailSerializer
            if self.action == "retrieve"
            else serializers.TrialListSerializer
        )

    def get_object(self) -> Trial:
        self.kwargs["nct_id"] = self.kwargs["nct_id"].upper()
        return super().get_object()

    @extend_schema(
        parameters=[serializers.CriteriaQuerySerializer],
        responses={
            200: serializers.CriterionSerializer(many=True),
            400: OpenApiResponse(serializers.ValidationErrorSerializer, description="Invalid filter value."),
            **ERRORS,
        },
    )
    # A trial has tens of criteria, read together: one unpaginated list.
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def criteria(self, request: Request, nct_id: str) -> Response:
        """The trial's current criteria, each with the reading the matcher uses (`effective_tree`)."""
        unknown_query_parameters_refuse(request, self, known=serializers.CriteriaQuerySerializer().fields)
        query = serializers.CriteriaQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        trial = get_object_or_404(Trial, nct_id=nct_id.upper())
        criteria = trial.criteria.filter(retired_at__isnull=True).select_related("reviewed_by")
        reading_changed = query.validated_data["reading_changed"]
        if reading_changed is not None:
            criteria = criteria.filter(reading_changed_at__isnull=not reading_changed)
        context = {"show_curators": bool(getattr(request.user, "is_curator", False))}
        return Response(serializers.CriterionSerializer(criteria, many=True, context=context).data)


@extend_schema_view(
    list=extend_schema(
        responses={
            200: serializers.SiteSerializer(many=True),
            400: OpenApiResponse(serializers.ValidationErrorSerializer, description="Invalid filter value."),
            **ERRORS,
        }
    ),
    retrieve=extend_schema(responses={200: serializers.SiteSerializer, 400: UNKNOWN_PARAMETER, **ERRORS}),
)
class SiteViewSet(viewsets.ReadOnlyModelViewSet[Site]):
    queryset = Site.objects.order_by("country", "city", "facility", "id")  # the id last: stable pages
    serializer_class = serializers.SiteSerializer
    filterset_class = SiteFilter


class CriterionReviewView(APIView):
    """A curator accepts, corrects or marks unparseable one criterion, or resets it to the parsed reading."""

    permission_classes = [permissions.IsAuthenticated, IsCurator]

    @extend_schema(
        request=serializers.CriterionReviewInputSerializer,
        responses={
            200: serializers.CriterionSerializer,
            400: OpenApiResponse(serializers.ValidationErrorSerializer, description="Invalid input or tree."),
            409: OpenApiResponse(
                serializers.ErrorSerializer, description="Changed by someone else, or retired."
            ),
            **ERRORS,
        },
    )
    def post(self, request: Request, criterion_id: int) -> Response:
        criterion = get_object_or_404(EligibilityCriterion, pk=criterion_id)
        payload = serializers.CriterionReviewInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        if data["action"] == "correct" and data.get("tree") is None:
            return Response({"tree": ["A correction needs the corrected tree."]}, status=400)
        try:
            updated = services.criterion_review(
                criterion_id=criterion.pk,
                actor=request.user,  # type: ignore[arg-type]
                action=data["action"],
                revision=data["revision"],
                tree=data.get("tree") if data["action"] == "correct" else None,
                note=data["note"],
            )
        except services.ValidationError as exc:  # the corrected tree is not a valid criteria tree
            return Response({"tree": exc.messages}, status=400)
        except (services.CriterionConflict, services.CriterionStateError) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(serializers.CriterionSerializer(updated).data)
