"""Site staff paste a clinic note for a candidate: suggestions for review, nothing saved until ticked, saved
facts marked as entered by site staff; only staff of the candidate's site get there (other staff: 404,
other roles: 403)."""

import html
import json
import re

import pytest
from django.urls import reverse

from recruitment.models import Biomarker, Diagnosis, FactSource, Therapy
from recruitment.services.consent import consent_withdraw
from recruitment.services.profile import profile_update
from tests import factories
from tests.recruitment.workflow_helpers import candidate_for
from trials.models import ConsentDocument

NOTE = (
    "58-year-old woman with lung adenocarcinoma, EGFR exon 19 deletion positive. On osimertinib. "
    "ECOG 1. No history of diabetes."
)


@pytest.fixture
def candidate(nsclc_trial, boston_site, sam):
    return candidate_for(nsclc_trial, boston_site, email="elena@example.org")


@pytest.fixture
def other_site_staff(db):
    trial_site = factories.TrialSiteFactory.create(site__facility="Denver Lung Clinic")
    return factories.SiteMembershipFactory.create(user__email="dan@example.org", site=trial_site.site).user


def _url(candidate) -> str:
    return reverse("site:candidate_paste", args=[candidate.pk])


def _facts(profile) -> dict[str, int]:
    profile.refresh_from_db()
    return {
        "diagnoses": Diagnosis.objects.filter(patient=profile).count(),
        "biomarkers": Biomarker.objects.filter(patient=profile).count(),
        "therapies": Therapy.objects.filter(patient=profile).count(),
        "ecog": profile.ecog,
    }


def _picks(page: str) -> dict[str, str]:
    """Checkbox value by the label shown next to it."""
    values = re.findall(r'name="pick" id="pick-(\d+)" value="([^"]+)"', page)
    labels = dict(re.findall(r'<label for="pick-(\d+)">([^<]+?) <', page))
    return {labels[number]: html.unescape(value) for number, value in values}


def test_preview_shows_spans_and_confidence_and_saves_nothing(client, sam, candidate):
    before = _facts(candidate.patient)
    client.force_login(sam)
    assert (
        f'href="{_url(candidate)}"'
        in client.get(reverse("site:candidate", args=[candidate.pk])).content.decode()
    )
    page = client.post(_url(candidate), {"text": NOTE, "read": "1"}).content.decode()
    assert "checked" not in page
    picks = _picks(page)
    assert {"lung adenocarcinoma", "EGFR exon 19 deletion positive", "osimertinib"} <= set(picks)
    assert "No diabetes mellitus (ruled out)" in picks
    start = NOTE.index("lung adenocarcinoma")
    assert f'Read from characters {start}-{start + 19}: "lung adenocarcinoma" (confidence 0.90)' in page
    assert _facts(candidate.patient) == before


def test_confirm_saves_only_the_ticked_facts_as_site_entered_and_rematches_after_commit(
    client, sam, candidate, django_capture_on_commit_callbacks
):
    client.force_login(sam)
    picks = _picks(client.post(_url(candidate), {"text": NOTE, "read": "1"}).content.decode())
    before = _facts(candidate.patient)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            _url(candidate),
            {
                "text": NOTE,
                "add": "1",
                "pick": [picks["EGFR exon 19 deletion positive"], picks["osimertinib"]],
            },
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("site:candidate", args=[candidate.pk])
    after = _facts(candidate.patient)
    assert after == {**before, "biomarkers": before["biomarkers"] + 1, "therapies": before["therapies"] + 1}
    egfr = Biomarker.objects.get(patient=candidate.patient, gene="EGFR")
    drug = Therapy.objects.get(patient=candidate.patient, drug="osimertinib")
    assert (egfr.source, egfr.entered_by, drug.source) == (
        FactSource.SITE_ENTERED,
        sam,
        FactSource.SITE_ENTERED,
    )
    assert callbacks  # the profile change queues the patient's re-match once the transaction commits


def test_one_unreadable_pick_saves_nothing_and_keeps_the_note(client, sam, candidate):
    client.force_login(sam)
    picks = _picks(client.post(_url(candidate), {"text": NOTE, "read": "1"}).content.decode())
    before = _facts(candidate.patient)
    forged = json.dumps({"kind": "biomarker", "fields": {"id": 1, "gene": "KRAS"}})
    response = client.post(
        _url(candidate), {"text": NOTE, "add": "1", "pick": [picks["osimertinib"], forged]}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "could not be read" in page
    assert "Nothing was saved" in page
    assert "On osimertinib." in page
    assert _facts(candidate.patient) == before


def test_a_note_ticked_after_the_patients_ecog_changed_saves_nothing_and_says_so(client, sam, candidate):
    client.force_login(sam)
    page = client.post(_url(candidate), {"text": NOTE, "read": "1"}).content.decode()
    picks = _picks(page)
    (shown,) = re.findall(r'name="shown_version" value="([^"]+)"', page)
    # Meanwhile the patient records in the portal that she is now up less than half the day.
    profile_update(profile=candidate.patient, fields={"ecog": 3})
    before = _facts(candidate.patient)
    ticked = [picks["osimertinib"], picks["Performance status (ECOG) 1"]]
    response = client.post(
        _url(candidate), {"text": NOTE, "add": "1", "pick": ticked, "shown_version": html.unescape(shown)}
    )
    page = response.content.decode()
    assert response.status_code == 409
    assert "The patient's profile was changed after this page was opened" in html.unescape(page)
    assert page.count(" checked") == 2
    assert _facts(candidate.patient) == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_sites_staff_gets_404(client, other_site_staff, candidate, method):
    before = _facts(candidate.patient)
    client.force_login(other_site_staff)
    response = getattr(client, method)(
        _url(candidate),
        {"text": NOTE, "add": "1", "pick": ['{"kind": "therapy", "fields": {"drug": "osimertinib"}}']},
    )
    assert response.status_code == 404
    assert _facts(candidate.patient) == before


def test_a_patient_gets_403(client, pat, candidate):
    client.force_login(pat)
    assert client.get(_url(candidate)).status_code == 403
    assert client.post(_url(candidate), {"text": NOTE, "read": "1"}).status_code == 403


def test_nothing_is_added_once_the_patient_withdraws_matching_consent(client, sam, candidate):
    consent_withdraw(patient=candidate.patient, purposes=[ConsentDocument.Purpose.MATCHING])
    before = _facts(candidate.patient)
    client.force_login(sam)
    pick = '{"kind": "therapy", "fields": {"drug": "osimertinib"}}'
    response = client.post(_url(candidate), {"text": NOTE, "add": "1", "pick": [pick]}, follow=True)
    assert "no longer consents to matching" in response.content.decode()
    assert _facts(candidate.patient) == before


def test_a_fact_the_sites_summary_shows_is_marked_as_on_the_profile_and_not_offered(client, sam, candidate):
    Diagnosis.objects.create(patient=candidate.patient, code="luad", label="lung adenocarcinoma")
    client.force_login(sam)
    page = client.post(_url(candidate), {"text": NOTE, "read": "1"}).content.decode()
    assert "lung adenocarcinoma" not in _picks(page)
    assert 'lung adenocarcinoma <span class="muted">(Illness or condition; already on the profile)' in page
    empty = client.post(_url(candidate), {"text": NOTE, "add": "1"})
    assert "Nothing was ticked" in empty.content.decode()
    assert "Untick" not in empty.content.decode()


def test_pasting_a_note_does_not_tell_sam_which_drugs_the_patient_takes(client, sam, candidate):
    # Sam's summary shows diagnoses, biomarkers and ECOG, not drugs: marking osimertinib "already on the
    # profile" would answer, for any drug he pastes, whether the patient takes it.
    Therapy.objects.create(patient=candidate.patient, drug="osimertinib")
    client.force_login(sam)
    page = client.post(_url(candidate), {"text": NOTE, "read": "1"}).content.decode()
    assert "already on the profile" not in page
    pick = _picks(page)["osimertinib"]
    saved = client.post(_url(candidate), {"text": NOTE, "add": "1", "pick": [pick]}, follow=True)
    assert "now holds the 1 ticked item" in saved.content.decode()
    assert (
        Therapy.objects.filter(patient=candidate.patient, drug="osimertinib").count() == 1
    )  # not added twice


def test_a_stage_in_the_note_is_offered_with_the_diagnosis_and_saved_when_ticked(client, sam, candidate):
    note = "58-year-old woman with stage IVA lung adenocarcinoma, on osimertinib."
    client.force_login(sam)
    picks = _picks(client.post(_url(candidate), {"text": note, "read": "1"}).content.decode())
    assert "lung adenocarcinoma, stage IVA" in picks
    pick = picks["lung adenocarcinoma, stage IVA"]
    client.post(_url(candidate), {"text": note, "add": "1", "pick": [pick]})
    saved = Diagnosis.objects.filter(patient=candidate.patient, code="luad").latest("pk")
    assert saved.stage == "IVA"


def test_a_relapse_in_the_note_is_offered_with_the_diagnosis_and_saved_when_ticked(client, sam, candidate):
    note = "58-year-old woman with relapsed lung adenocarcinoma after carboplatin."
    client.force_login(sam)
    picks = _picks(client.post(_url(candidate), {"text": note, "read": "1"}).content.decode())
    pick = picks["lung adenocarcinoma, recurrent or relapsed"]
    client.post(_url(candidate), {"text": note, "add": "1", "pick": [pick]})
    saved = Diagnosis.objects.filter(patient=candidate.patient, code="luad").latest("pk")
    assert saved.course == "recurrent"


def test_nothing_is_added_once_the_candidacy_has_ended(
    client, sam, nsclc_trial, boston_site, django_capture_on_commit_callbacks
):
    hana = candidate_for(nsclc_trial, boston_site, email="hana@example.org", contact=True)
    # Hana stops agreeing to be contacted: her candidacy at Sam's site ends, her matching consent stays.
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(patient=hana.patient, purposes=[ConsentDocument.Purpose.CONTACT])
    hana.refresh_from_db()
    assert hana.status == "withdrawn"
    before = _facts(hana.patient)
    client.force_login(sam)
    pick = '{"kind": "therapy", "fields": {"drug": "osimertinib"}}'
    response = client.post(_url(hana), {"text": NOTE, "add": "1", "pick": [pick]}, follow=True)
    assert "candidacy has ended" in response.content.decode()
    assert _facts(hana.patient) == before
