"""Site alerts: each staff member of a site is told of its new candidates in the app (unread count in the
site navigation, read once seen) and by a daily digest e-mail that names no patient; each may turn it off."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from recruitment.models import Match, SiteAlert
from recruitment.notifications import site_alerts_create, site_digests_send, staff_digest_set
from recruitment.services.consent import consent_withdraw
from recruitment.tasks import send_site_digests
from tests import factories
from tests.recruitment.workflow_helpers import candidate_for, matched_patient
from trials.models import ConsentDocument


@pytest.fixture
def kim(boston_site):
    return factories.SiteMembershipFactory.create(user__email="kim@example.org", site=boston_site).user


@pytest.fixture
def dan(db):
    """Staff at another site of the same trial's sponsor world: never told of Boston's candidates."""
    return factories.SiteMembershipFactory.create(user__email="dan@example.org").user


def test_a_new_candidate_alerts_every_member_of_its_site_after_commit(
    nsclc_trial, boston_site, sam, kim, dan, django_capture_on_commit_callbacks
):
    profile = matched_patient(nsclc_trial, email="elena@example.org", verdict=Match.Verdict.POSSIBLY_ELIGIBLE)
    with django_capture_on_commit_callbacks(execute=True):
        profile.matches.get().save()
    alerts = SiteAlert.objects.filter(candidate__patient=profile)
    assert {a.user for a in alerts} == {sam, kim}
    assert {a.verdict for a in alerts} == {Match.Verdict.POSSIBLY_ELIGIBLE}


def test_alerting_twice_about_one_candidate_writes_one_alert_each(nsclc_trial, boston_site, sam):
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org")
    assert site_alerts_create(candidate_ids=[candidate.pk]) == 1
    assert site_alerts_create(candidate_ids=[candidate.pk]) == 0
    assert SiteAlert.objects.count() == 1


def test_the_unread_count_shows_in_the_site_navigation_until_the_alerts_are_seen(
    client, nsclc_trial, boston_site, sam
):
    first = candidate_for(nsclc_trial, boston_site, email="a@example.org")
    second = candidate_for(nsclc_trial, boston_site, email="b@example.org")
    site_alerts_create(candidate_ids=[first.pk, second.pk])
    client.force_login(sam)
    assert "2 unread" in client.get(reverse("site:home")).content.decode()
    page = client.get(reverse("site:alerts")).content.decode()
    assert first.subject_code in page
    assert second.subject_code in page
    assert page.count(">new</span>") == 2
    assert "unread" not in client.get(reverse("site:home")).content.decode()
    assert ">new</span>" not in client.get(reverse("site:alerts")).content.decode()


def test_opening_a_candidate_marks_its_alert_read(client, nsclc_trial, boston_site, sam):
    first = candidate_for(nsclc_trial, boston_site, email="a@example.org")
    second = candidate_for(nsclc_trial, boston_site, email="b@example.org")
    site_alerts_create(candidate_ids=[first.pk, second.pk])
    client.force_login(sam)
    client.get(reverse("site:candidate", args=[first.pk]))
    assert set(SiteAlert.objects.filter(read_at__isnull=True).values_list("candidate_id", flat=True)) == {
        second.pk
    }
    assert "1 unread" in client.get(reverse("site:home")).content.decode()


def test_the_digest_counts_new_candidates_per_trial_and_site_without_identifying_anyone(
    nsclc_trial, boston_site, sam, mailoutbox, django_capture_on_commit_callbacks
):
    first = candidate_for(nsclc_trial, boston_site, email="a@example.org")
    second = candidate_for(nsclc_trial, boston_site, email="b@example.org")
    site_alerts_create(candidate_ids=[first.pk, second.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert send_site_digests() == 1
    (mail,) = mailoutbox
    assert mail.to == [sam.email]
    assert f"{nsclc_trial.nct_id} at {boston_site.facility}: 2 eligible, 0 possibly eligible" in mail.body
    assert reverse("site:alerts") in mail.body
    for identifier in (first.subject_code, second.subject_code, "Rossi", "Elena", "a@example.org"):
        assert identifier not in mail.body
        assert identifier not in mail.subject


def test_each_digest_has_only_what_came_since_the_last(
    nsclc_trial, boston_site, sam, mailoutbox, django_capture_on_commit_callbacks
):
    first = candidate_for(nsclc_trial, boston_site, email="a@example.org")
    site_alerts_create(candidate_ids=[first.pk])
    with django_capture_on_commit_callbacks(execute=True):
        site_digests_send()
        assert site_digests_send() == 0
    second = candidate_for(nsclc_trial, boston_site, email="b@example.org")
    site_alerts_create(candidate_ids=[second.pk])
    with django_capture_on_commit_callbacks(execute=True):
        site_digests_send()
    assert [m.subject for m in mailoutbox] == [
        "1 new candidate for your trials",
        "1 new candidate for your trials",
    ]


def test_a_member_who_turned_the_digest_off_gets_none_and_nothing_piles_up(
    client, nsclc_trial, boston_site, sam, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(sam)
    client.post(reverse("site:alerts"), {})
    first = candidate_for(nsclc_trial, boston_site, email="a@example.org")
    site_alerts_create(candidate_ids=[first.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert site_digests_send() == 0
    client.post(reverse("site:alerts"), {"daily_digest": "on"})
    with django_capture_on_commit_callbacks(execute=True):
        assert site_digests_send(now=timezone.now() + datetime.timedelta(minutes=1)) == 0
    second = candidate_for(nsclc_trial, boston_site, email="b@example.org")
    site_alerts_create(candidate_ids=[second.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert site_digests_send(now=timezone.now() + datetime.timedelta(minutes=1)) == 1
    assert "1 new candidate" in mailoutbox[0].subject


def test_the_digest_setting_shows_on_the_alerts_page(client, sam):
    checked = 'name="daily_digest" id="id_daily_digest" checked'
    client.force_login(sam)
    assert checked in client.get(reverse("site:alerts")).content.decode()
    staff_digest_set(user=sam, daily_digest=False)
    assert checked not in client.get(reverse("site:alerts")).content.decode()


def test_alerts_about_a_site_the_member_left_are_not_shown_or_e_mailed(
    client, nsclc_trial, boston_site, sam, mailoutbox, django_capture_on_commit_callbacks
):
    candidate = candidate_for(nsclc_trial, boston_site, email="a@example.org")
    site_alerts_create(candidate_ids=[candidate.pk])
    sam.site_memberships.all().delete()
    factories.SiteMembershipFactory.create(user=sam)
    client.force_login(sam)
    assert candidate.subject_code not in client.get(reverse("site:alerts")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        site_digests_send()
    assert mailoutbox == []


def test_the_alerts_page_costs_the_same_queries_for_one_alert_or_many(client, nsclc_trial, boston_site, sam):
    client.force_login(sam)
    url = reverse("site:alerts")
    first = candidate_for(nsclc_trial, boston_site, email="a@example.org")
    site_alerts_create(candidate_ids=[first.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    more = [candidate_for(nsclc_trial, boston_site, email=f"more{n}@example.org") for n in range(4)]
    site_alerts_create(candidate_ids=[c.pk for c in more])
    client.get(url)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(one)


def test_the_digest_leaves_out_a_candidate_who_withdrew_before_it_was_sent(
    nsclc_trial, boston_site, sam, mailoutbox, django_capture_on_commit_callbacks
):
    elena = candidate_for(nsclc_trial, boston_site, email="a@example.org")
    hana = candidate_for(nsclc_trial, boston_site, email="b@example.org")
    site_alerts_create(candidate_ids=[elena.pk, hana.pk])
    # Elena withdraws between her alert and the evening digest: her candidacy ends at once.
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(patient=elena.patient, purposes=[ConsentDocument.Purpose.MATCHING])
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert send_site_digests() == 1
    (mail,) = mailoutbox
    assert mail.subject == "1 new candidate for your trials"
    assert f"{nsclc_trial.nct_id} at {boston_site.facility}: 1 eligible, 0 possibly eligible" in mail.body
    # Nor is she e-mailed about later.
    with django_capture_on_commit_callbacks(execute=True):
        assert send_site_digests() == 0


def test_the_alerts_page_shows_no_match_of_a_patient_who_withdrew_matching_consent(
    client, nsclc_trial, boston_site, sam, django_capture_on_commit_callbacks
):
    elena = candidate_for(nsclc_trial, boston_site, email="a@example.org")
    hana = candidate_for(nsclc_trial, boston_site, email="b@example.org")
    site_alerts_create(candidate_ids=[elena.pk, hana.pk])
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(patient=elena.patient, purposes=[ConsentDocument.Purpose.MATCHING])
    client.force_login(sam)
    page = client.get(reverse("site:alerts")).content.decode()
    elena_row = page[page.index(elena.subject_code) : page.index("</tr>", page.index(elena.subject_code))]
    hana_row = page[page.index(hana.subject_code) : page.index("</tr>", page.index(hana.subject_code))]
    # As in the queue: only her subject code and status remain.
    assert "Withdrawn" in elena_row
    assert "verdict-eligible" not in elena_row
    assert "verdict-eligible" in hana_row
