from django.urls import path
from rest_framework.routers import DefaultRouter

from trials.api import views

router = DefaultRouter()
router.register("trials", views.TrialViewSet, basename="trial")
router.register("sites", views.SiteViewSet, basename="site")

urlpatterns = [
    *router.urls,
    path("criteria/<int:criterion_id>/review/", views.CriterionReviewView.as_view(), name="criterion-review"),
]
