"""Site staff URLs under /site/."""

from django.urls import path

from recruitment import fhir_import_views, site_paste_views
from recruitment import site_views as views

app_name = "site"

urlpatterns = [
    path("", views.home, name="home"),
    path("alerts/", views.alerts, name="alerts"),
    path("<int:site_id>/trials/<int:trial_id>/", views.queue, name="queue"),
    path("<int:site_id>/trials/<int:trial_id>/bulk/", views.bulk, name="bulk"),
    path("<int:site_id>/trials/<int:trial_id>/screening-log.csv", views.screening_log, name="screening_log"),
    path("<int:site_id>/trials/<int:trial_id>/funnel/", views.funnel, name="funnel"),
    path("<int:site_id>/trials/<int:trial_id>/fhir.json", views.fhir_export, name="fhir"),
    path("candidates/<int:pk>/", views.candidate_detail, name="candidate"),
    path("candidates/<int:pk>/move/", views.candidate_move, name="candidate_move"),
    path("candidates/<int:pk>/paste/", site_paste_views.candidate_paste, name="candidate_paste"),
    path("candidates/<int:pk>/import/", fhir_import_views.site_import, name="fhir_import"),
    path("candidates/<int:pk>/import/review/", fhir_import_views.site_review, name="fhir_review"),
]
