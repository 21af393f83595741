"""Recruitment API URLs, mounted with the trials API under /api/v1/ (namespace "api")."""

from django.urls import path

from recruitment.api import views

patient_urlpatterns = [
    path("me/profile/", views.ProfileView.as_view(), name="me-profile"),
    path("me/consents/", views.ConsentListView.as_view(), name="me-consents"),
    path("me/consents/status/", views.ConsentStatusView.as_view(), name="me-consent-status"),
    path("me/consents/give/", views.ConsentGiveView.as_view(), name="me-consent-give"),
    path("me/consents/withdraw/", views.ConsentWithdrawView.as_view(), name="me-consent-withdraw"),
    path("me/matches/", views.MatchListView.as_view(), name="me-matches"),
    path("me/matches/<int:pk>/", views.MatchDetailView.as_view(), name="me-match"),
    path("me/matches/<int:pk>/interest/", views.MatchInterestView.as_view(), name="me-match-interest"),
]
for slug, (list_view, detail_view) in views.FACT_VIEWS.items():
    patient_urlpatterns += [
        path(f"me/{slug}/", list_view.as_view(), name=f"me-{slug}"),
        path(f"me/{slug}/<int:pk>/", detail_view.as_view(), name=f"me-{slug}-detail"),
    ]

site_urlpatterns = [
    path("site/trials/", views.SiteTrialListView.as_view(), name="site-trials"),
    path(
        "site/<int:site_id>/trials/<int:trial_id>/candidates/",
        views.CandidateQueueView.as_view(),
        name="site-candidates",
    ),
    path("site/candidates/<int:pk>/", views.CandidateDetailView.as_view(), name="site-candidate"),
    *(
        path(f"site/candidates/<int:pk>/{slug}/", view.as_view(), name=f"site-candidate-{slug}")
        for slug, view in views.ACTION_VIEWS.items()
    ),
]

sponsor_urlpatterns = [
    path("sponsor/trials/", views.SponsorTrialListView.as_view(), name="sponsor-trials"),
    path(
        "sponsor/trials/<int:pk>/dashboard/", views.SponsorDashboardView.as_view(), name="sponsor-dashboard"
    ),
]

urlpatterns = [*patient_urlpatterns, *site_urlpatterns, *sponsor_urlpatterns]
