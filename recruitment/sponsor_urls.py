"""Sponsor URLs under /sponsor/."""

from django.urls import path

from recruitment import sponsor_views as views

app_name = "sponsor"

urlpatterns = [
    path("", views.home, name="home"),
    path("trials/<int:pk>/", views.trial_dashboard, name="trial"),
]
