"""The site's candidate queue comes in pages: filters carry over from page to page, a page past the end is
the last one, bulk actions see only the page's rows and the cost of a page does not grow with the queue."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from recruitment import site_views
from recruitment.models import Candidate, CandidateStatus, PatientProfile
from recruitment.services.workflow import candidate_transition, candidates_create_for_site
from tests.recruitment.workflow_helpers import matched_patient
from trials.models import Site, Trial

S = CandidateStatus


@pytest.fixture
def small_pages(monkeypatch) -> int:
    monkeypatch.setattr(site_views, "QUEUE_PAGE_SIZE", 2)
    return 2


def _queue(trial: Trial, site: Site, count: int, *, prefix: str = "p") -> list[Candidate]:
    """`count` candidates of the site, in the queue's order (same score, taken up together: by id)."""
    profiles = [matched_patient(trial, email=f"{prefix}{n}@example.org") for n in range(count)]
    candidates_create_for_site(trial=trial, site=site)
    return list(Candidate.objects.filter(patient__in=profiles).order_by("id"))


def _codes(response) -> list[str]:
    return [row.candidate.subject_code for row in response.context["rows"]]


@pytest.mark.usefixtures("small_pages")
def test_page_two_shows_the_next_candidates_with_the_same_filter(client, sam, nsclc_trial, boston_site):
    candidates = _queue(nsclc_trial, boston_site, 7)
    for moved in candidates[1::3]:
        candidate_transition(candidate_id=moved.pk, to_status=S.PRE_SCREENED, actor=sam)
    still_matched = [c.subject_code for c in candidates if c not in candidates[1::3]]
    assert len(still_matched) == 5
    client.force_login(sam)
    url = reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk])

    first = client.get(url, {"status": S.MATCHED})
    second = client.get(url, {"status": S.MATCHED, "page": 2})

    assert _codes(first) == still_matched[:2]
    assert _codes(second) == still_matched[2:4]
    html = second.content.decode()
    assert "5 candidates (showing 3\u20134)" in html
    assert "Page 2 of 3" in html
    assert "?status=matched&amp;page=3" in html
    assert "?status=matched&amp;page=1" in html


@pytest.mark.usefixtures("small_pages")
@pytest.mark.parametrize("page", ["4", "99"])
def test_a_page_past_the_end_shows_the_last_page(client, sam, nsclc_trial, boston_site, page):
    candidates = _queue(nsclc_trial, boston_site, 5)
    client.force_login(sam)
    url = reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk])
    response = client.get(url, {"page": page})
    assert response.status_code == 200
    assert _codes(response) == [candidates[4].subject_code]
    assert "Page 3 of 3" in response.content.decode()


@pytest.mark.usefixtures("small_pages")
def test_a_page_that_is_not_a_number_shows_the_first(client, sam, nsclc_trial, boston_site):
    candidates = _queue(nsclc_trial, boston_site, 3)
    client.force_login(sam)
    response = client.get(reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk]), {"page": "last"})
    assert _codes(response) == [c.subject_code for c in candidates[:2]]


def test_a_queue_of_one_page_shows_its_count_and_no_page_links(client, sam, nsclc_trial, boston_site):
    _queue(nsclc_trial, boston_site, 3)
    client.force_login(sam)
    html = client.get(reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk])).content.decode()
    assert "3 candidates," in html
    assert "Pages of candidates" not in html


@pytest.mark.usefixtures("small_pages")
def test_bulk_actions_offer_and_move_only_the_rows_of_the_page(client, sam, nsclc_trial, boston_site):
    candidates = _queue(nsclc_trial, boston_site, 4)
    client.force_login(sam)
    html = client.get(
        reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk]), {"page": 2}
    ).content.decode()
    offered = [c for c in candidates if f'name="candidate" value="{c.pk}"' in html]
    assert offered == candidates[2:]
    client.post(
        reverse("site:bulk", args=[boston_site.pk, nsclc_trial.pk]),
        {"action": "pre_screen", "candidate": [c.pk for c in offered]},
    )
    statuses = list(
        Candidate.objects.filter(pk__in=[c.pk for c in candidates])
        .order_by("id")
        .values_list("status", flat=True)
    )
    assert statuses == [S.MATCHED, S.MATCHED, S.PRE_SCREENED, S.PRE_SCREENED]


@pytest.mark.usefixtures("small_pages")
def test_new_since_my_last_visit_keeps_its_cut_off_while_paging(client, sam, nsclc_trial, boston_site):
    old = _queue(nsclc_trial, boston_site, 2, prefix="old")
    Candidate.objects.filter(pk__in=[c.pk for c in old]).update(created_at=timezone.now() - timedelta(days=2))
    new = _queue(nsclc_trial, boston_site, 3, prefix="new")
    client.force_login(sam)
    session = client.session
    previous_visit = timezone.now() - timedelta(days=1)
    session[f"site-queue-visit:{boston_site.pk}:{nsclc_trial.pk}"] = {
        "since": "",
        "seen": previous_visit.isoformat(),
    }
    session.save()
    url = reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk])

    first = client.get(url, {"new": "on"})
    second = client.get(url, {"new": "on", "page": 2})

    assert _codes(first) + _codes(second) == [c.subject_code for c in new]
    assert first.context["last_visit"] == second.context["last_visit"] == previous_visit


def test_the_distance_filter_is_applied_before_the_queue_is_cut_into_pages(
    client, sam, nsclc_trial, boston_site, monkeypatch
):
    monkeypatch.setattr(site_views, "QUEUE_PAGE_SIZE", 1)
    boston_site.latitude, boston_site.longitude = Decimal("42.337"), Decimal("-71.106")
    boston_site.save(update_fields=["latitude", "longitude"])
    far, near, _unplaced, nearer = _queue(nsclc_trial, boston_site, 4)
    places = {far: ("40.7128", "-74.0060"), near: ("42.3601", "-71.0589"), nearer: ("42.3400", "-71.1000")}
    for candidate, (latitude, longitude) in places.items():
        PatientProfile.objects.filter(pk=candidate.patient_id).update(
            latitude=Decimal(latitude), longitude=Decimal(longitude)
        )
    client.force_login(sam)
    url = reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk])

    pages = [client.get(url, {"within_km": "25", "page": n}) for n in (1, 2)]

    assert [_codes(page) for page in pages] == [[near.subject_code], [nearer.subject_code]]
    assert "2 candidates (showing 2\u20132)" in pages[1].content.decode()
    assert [row.distance_band for page in pages for row in page.context["rows"]] == ["under 10 km"] * 2


def test_a_page_costs_the_same_queries_for_one_candidate_or_many(
    client, sam, nsclc_trial, boston_site, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr(site_views, "QUEUE_PAGE_SIZE", 5)
    url = reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk])
    client.force_login(sam)
    _queue(nsclc_trial, boston_site, 1, prefix="one")
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    _queue(nsclc_trial, boston_site, 11, prefix="many")
    with django_assert_num_queries(len(one)):
        response = client.get(url, {"page": 2})
    assert len(response.context["rows"]) == 5


@pytest.mark.usefixtures("small_pages")
def test_after_a_bulk_action_sam_is_back_on_the_page_and_filters_he_acted_from(
    client, sam, nsclc_trial, boston_site
):
    candidates = _queue(nsclc_trial, boston_site, 4)
    client.force_login(sam)
    queue = reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk])
    html = client.get(queue, {"page": 2, "status": S.MATCHED}).content.decode()
    assert "?page=2&amp;status=matched" in html  # the bulk form posts with the page's query string
    response = client.post(
        reverse("site:bulk", args=[boston_site.pk, nsclc_trial.pk]) + "?page=2&status=matched",
        {"action": "pre_screen", "candidate": [candidates[2].pk]},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{queue}?page=2&status=matched"


def test_an_empty_queue_says_no_one_has_been_matched_yet_rather_than_blaming_filters(
    client, sam, nsclc_trial, boston_site
):
    client.force_login(sam)
    url = reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk])

    page = client.get(url).content.decode()

    assert "No candidates yet." in page
    assert "match these filters" not in page


def test_a_queue_emptied_by_its_filters_says_so(client, sam, nsclc_trial, boston_site):
    _queue(nsclc_trial, boston_site, 1)
    client.force_login(sam)
    url = reverse("site:queue", args=[boston_site.pk, nsclc_trial.pk])

    page = client.get(url, {"status": S.ENROLLED}).content.decode()

    assert "No candidates match these filters." in page
    assert "No candidates yet." not in page
