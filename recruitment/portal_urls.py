"""Patient portal URLs under /portal/, and account pages (registration, password reset) under /accounts/."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from recruitment import fhir_import_views
from recruitment import portal_views as views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("register/", views.register, name="register"),
    path("verify/<str:token>/", views.verify, name="verify"),
    path("profile/", views.profile, name="profile"),
    path("profile/paste/", views.paste_summary, name="paste"),
    path("profile/import/", fhir_import_views.portal_import, name="fhir_import"),
    path("profile/import/review/", fhir_import_views.portal_review, name="fhir_review"),
    path("profile/fhir.json", views.profile_fhir, name="profile_fhir"),
    path("profile/<slug:kind>/add/", views.fact_edit, name="fact_add"),
    path("profile/<slug:kind>/<int:pk>/", views.fact_edit, name="fact_edit"),
    path("profile/<slug:kind>/<int:pk>/delete/", views.fact_delete, name="fact_delete"),
    path("terms/<slug:kind>/", views.terms, name="terms"),
    path("consent/", views.consent, name="consent"),
    path("consent/sign/", views.consent_sign, name="consent_sign"),
    path("consent/withdraw/", views.consent_withdraw, name="consent_withdraw"),
    path("consent/<int:pk>/copy.pdf", views.consent_copy, name="consent_copy"),
    path("consent/fhir.json", views.consent_fhir, name="consent_fhir"),
    path("matches/", views.matches, name="matches"),
    path("matches/<int:pk>/", views.match_detail, name="match"),
    path("matches/<int:pk>/interest/", views.match_interest, name="match_interest"),
    path("alerts/unsubscribe/<str:token>/", views.alerts_unsubscribe, name="alerts_unsubscribe"),
]

# Django's password reset, with our templates; the names are the ones its e-mail template reverses.
account_urlpatterns = [
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(success_url=reverse_lazy("password_reset_complete")),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
]
