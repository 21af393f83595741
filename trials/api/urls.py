from django.urls import path
from rest_framework.routers import APIRootView, DefaultRouter

from trials.api import views
from trials.api.filters import ParameterlessReadView


class ApiRootView(ParameterlessReadView, APIRootView):
    """The index of the API's lists, refusing an unknown query parameter as every other read does."""


router = DefaultRouter()
router.APIRootView = ApiRootView
router.register("trials", views.TrialViewSet, basename="trial")
router.register("sites", views.SiteViewSet, basename="site")

urlpatterns = [
    *router.urls,
    path("criteria/<int:criterion_id>/review/", views.CriterionReviewView.as_view(), name="criterion-review"),
]
