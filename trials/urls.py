from django.urls import path

from trials import views

app_name = "trials"

urlpatterns = [
    path("", views.trial_list, name="list"),
    path("<str:nct_id>/", views.trial_detail, name="detail"),
    path("<str:nct_id>/criteria/", views.criteria_review, name="criteria"),
    path("<str:nct_id>/criteria/parse/", views.trial_reparse, name="reparse"),
    path("<str:nct_id>/criteria/<int:criterion_id>/review/", views.criterion_review, name="criterion_review"),
]
