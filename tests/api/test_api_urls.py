"""URLs under /api/ that match no endpoint, and ids no database can hold: clear JSON answers, never a 500."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

TOO_LARGE = 10**40


@pytest.mark.parametrize(
    "path", ["/api/v1/no-such-thing/", "/api/v1/site/candidates/not-a-number/", "/api/v1/me/matches/1%0A/"]
)
def test_an_unknown_api_url_is_a_json_404(api, world, path):
    api.force_authenticate(world.pat)
    response = api.post(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "No such API endpoint."}


def test_a_get_without_the_trailing_slash_is_redirected_and_a_post_is_told_where(api, world):
    api.force_authenticate(world.pat)
    get = api.get("/api/v1/me/profile?x=1")
    post = api.post("/api/v1/me/diagnoses", {"condition": "asthma"}, format="json")
    assert (get.status_code, get["Location"]) == (301, "/api/v1/me/profile/?x=1")
    assert post.status_code == 404
    assert post.json()["detail"] == "No such API endpoint; did you mean /api/v1/me/diagnoses/?"


def test_ids_too_large_for_the_database_are_not_found_or_refused(api, world):
    api.force_authenticate(world.sam)
    queue = reverse("api:site-candidates", args=[world.boston.pk, world.trial.pk])
    assert api.get(reverse("api:site-candidates", args=[TOO_LARGE, TOO_LARGE])).status_code == 404
    assert api.get(reverse("api:site-candidate", args=[TOO_LARGE])).status_code == 404
    cohort = api.get(queue, {"cohort": TOO_LARGE})
    assert cohort.status_code == 400
    assert "cohort" in cohort.json()


def test_a_browser_asking_for_the_patients_matches_gets_json_never_the_browsable_page(api, world):
    api.force_authenticate(world.pat)
    url = reverse("api:me-matches")
    browser = api.get(url, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    html_only = api.get(url, HTTP_ACCEPT="text/html")
    by_format = api.get(url, {"format": "api"})
    assert (browser.status_code, browser["Content-Type"]) == (200, "application/json")
    assert (html_only.status_code, html_only["Content-Type"]) == (406, "application/json")
    assert by_format.status_code == 404
    assert b"<html" not in browser.content + html_only.content + by_format.content


def test_the_browsable_api_is_offered_in_debug_only(api, world, settings):
    settings.DEBUG = True
    api.force_authenticate(world.pat)
    page = api.get(reverse("api:me-matches"), HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")


def test_the_schema_and_its_docs_page_are_served_as_before(client, world):
    client.force_login(world.pat)
    assert client.get(reverse("api-schema"), HTTP_ACCEPT="application/json").status_code == 200
    assert client.get(reverse("api-schema")).status_code == 200
    docs = client.get(reverse("api-docs"), HTTP_ACCEPT="text/html")
    assert (docs.status_code, docs["Content-Type"].split(";")[0]) == (200, "text/html")


def _lists(world):
    """Every list endpoint, the persona who may read it, and one of its documented filters."""
    trial, boston = world.trial, world.boston
    return [
        (reverse("api:trial-list"), world.pat, {"overall_status": "RECRUITING"}),
        (reverse("api:trial-criteria", args=[trial.nct_id]), world.pat, {"reading_changed": "false"}),
        (reverse("api:site-list"), world.pat, {"country": "United States"}),
        (reverse("api:me-matches"), world.pat, {}),
        (reverse("api:me-consents"), world.pat, {}),
        (reverse("api:me-diagnoses"), world.pat, {}),
        (reverse("api:site-trials"), world.sam, {}),
        (reverse("api:site-candidates", args=[boston.pk, trial.pk]), world.sam, {"status": "matched"}),
        (reverse("api:sponsor-trials"), world.sophie, {}),
    ]


def test_a_misspelt_filter_on_any_list_is_400_naming_it_not_the_whole_list(api, world):
    for url, persona, _ in _lists(world):
        api.force_authenticate(persona)
        response = api.get(url, {"stauts": "recruiting"})
        assert response.status_code == 400, url
        (message,) = response.json()["stauts"]
        assert message.startswith("Unknown query parameter"), url


def test_pagination_format_and_documented_filters_are_still_taken_on_every_list(api, world):
    for url, persona, documented in _lists(world):
        api.force_authenticate(persona)
        response = api.get(url, {"format": "json", **documented})
        assert response.status_code == 200, (url, response.content[:300])
        if "count" in response.json():
            assert api.get(url, {"page": 1, **documented}).status_code == 200, url


def _reads(world):
    """Every read that is not a list (one object, or one page such as the profile), by API, with the
    persona who may make it."""
    return {
        "patient": (
            world.pat,
            [
                reverse("api:me-profile"),
                reverse("api:me-consent-status"),
                reverse("api:me-match", args=[world.pat_match.pk]),
                *(
                    reverse(f"api:me-{slug}-detail", args=[facts.get().pk])
                    for slug, facts in (
                        ("diagnoses", world.pat_profile.diagnoses),
                        ("biomarkers", world.pat_profile.biomarkers),
                        ("labs", world.pat_profile.lab_results),
                        ("therapies", world.pat_profile.therapies),
                        ("procedures", world.pat_profile.procedures),
                    )
                ),
            ],
        ),
        "site": (world.sam, [reverse("api:site-candidate", args=[world.candidate.pk])]),
        "sponsor": (world.sophie, [reverse("api:sponsor-dashboard", args=[world.trial.pk])]),
        "trials": (
            world.pat,
            [
                reverse("api:api-root"),
                reverse("api:trial-detail", args=[world.trial.nct_id]),
                reverse("api:site-detail", args=[world.boston.pk]),
            ],
        ),
    }


@pytest.mark.parametrize("which", ["patient", "site", "sponsor", "trials"])
def test_a_misspelt_parameter_on_a_read_of_one_object_is_400_naming_it_not_ignored(api, world, which):
    persona, urls = _reads(world)[which]
    api.force_authenticate(persona)
    for url in urls:
        response = api.get(url, {"fromat": "json"})
        assert response.status_code == 400, url
        assert response.json() == {"fromat": ["Unknown query parameter; this read takes format."]}, url
        assert api.get(url, {"page": "2"}).status_code == 400, url  # a read has no pages


@pytest.mark.parametrize("which", ["patient", "site", "sponsor", "trials"])
def test_a_read_of_one_object_still_takes_format(api, world, which):
    persona, urls = _reads(world)[which]
    api.force_authenticate(persona)
    for url in urls:
        assert api.get(url, {"format": "json"}).status_code == 200, url
