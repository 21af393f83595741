from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from recruitment import auth_views as sign_in_views
from recruitment import portal_urls
from recruitment import views as recruitment_views
from recruitment.api import urls as recruitment_api_urls
from recruitment.api import views as recruitment_api_views
from trials.api import urls as trials_api_urls

urlpatterns = [
    path("", recruitment_views.home, name="home"),
    path("health/", recruitment_views.health, name="health"),
    path("accounts/login/", sign_in_views.SignInView.as_view(), name="login"),
    path("accounts/login/code/", sign_in_views.login_code, name="login_code"),
    path("accounts/mfa/enrol/", sign_in_views.mfa_enrol, name="mfa_enrol"),
    path("accounts/mfa/", sign_in_views.mfa_security, name="mfa_security"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/", include(portal_urls.account_urlpatterns)),
    path("portal/", include("recruitment.portal_urls")),
    path("site/", include("recruitment.site_urls")),
    path("sponsor/", include("recruitment.sponsor_urls")),
    path("trials/", include("trials.urls")),
    # One namespace for the whole API: the registry (trials) and the recruitment roles' endpoints.
    path("api/v1/", include(([*trials_api_urls.urlpatterns, *recruitment_api_urls.urlpatterns], "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/", recruitment_api_views.endpoint_not_found, name="api-not-found"),
    # The admin's own sign-in form would skip the second factor: it goes through ours.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
]
