"""Every page carries the security headers; production settings add HTTPS-only cookies and HSTS."""

import pytest
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD
from tests.test_settings import PRODUCTION_ENV, read_settings

pytestmark = pytest.mark.django_db


def test_pages_carry_csp_nosniff_referrer_policy_and_frame_denial(client):
    response = client.get(reverse("login"))
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_session_cookie_is_http_only_and_same_site(client, pat):
    response = client.post(reverse("login"), {"username": "pat@example.org", "password": DEFAULT_PASSWORD})
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_production_settings_send_hsts_and_keep_cookies_on_https():
    values = read_settings(
        [
            "SECURE_HSTS_SECONDS",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS",
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
            "SECURE_SSL_REDIRECT",
        ],
        env=PRODUCTION_ENV,
    )
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True


def test_hsts_header_is_sent_over_https_in_production(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = client.get(reverse("login"), secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "includeSubDomains" in response["Strict-Transport-Security"]
