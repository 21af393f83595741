"""The registry admin: every model is listed, searchable and filterable; the event history is read-only."""

import html
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from recruitment.models import Candidate, CandidateStatus, Match
from tests import factories
from tests.recruitment.factories import PatientProfileFactory
from trials.importers import import_paths
from trials.models import Arm, Trial, TrialEvent, TrialSite
from trials.services import trial_parse_eligibility

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(ctgov):
    import_paths([ctgov / "legacy_xml"], progress=False)
    return Trial.objects.get(nct_id="NCT00496028")


@pytest.mark.parametrize(
    "model", ["trial", "arm", "sponsor", "site", "trialsite", "trialevent", "eligibilitycriterion"]
)
def test_every_registry_model_has_a_searchable_filterable_list(admin_client, imported, model):
    url = reverse(f"admin:trials_{model}_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "NCT00496028"}).status_code == 200


def test_the_trial_page_shows_arms_sites_and_history(admin_client, imported):
    page = admin_client.get(reverse("admin:trials_trial_change", args=[imported.pk])).content.decode()
    assert imported.arms.first().label in page
    assert "trial_sites-TOTAL_FORMS" in page
    assert "Imported" in page


def test_the_event_history_cannot_be_added_to_changed_or_deleted(admin_client, imported):
    event = imported.events.get()
    assert admin_client.get(reverse("admin:trials_trialevent_add")).status_code == 403
    delete = admin_client.post(reverse("admin:trials_trialevent_delete", args=[event.pk]), {"post": "yes"})
    assert delete.status_code == 403
    admin_client.post(reverse("admin:trials_trialevent_change", args=[event.pk]), {"kind": "curated"})
    event.refresh_from_db()
    assert event.kind == TrialEvent.Kind.IMPORTED


def _shown_version(admin_client, url):
    """The version of the row that the admin change form at `url` shows (posted back with the form)."""
    return admin_client.get(url).context["adminform"].form["shown_version"].value()


def test_a_curator_edit_of_an_arm_is_logged_with_its_author(admin_client, admin_user, imported):
    arm = imported.arms.first()
    url = reverse("admin:trials_arm_change", args=[arm.pk])
    response = admin_client.post(
        url,
        {
            "shown_version": _shown_version(admin_client, url),
            "trial": imported.pk,
            "label": arm.label,
            "arm_type": arm.arm_type,
            "description": arm.description,
            "interventions": '["x"]',
            "biomarker_definition": "{}",
            "enrolment_target": "30",
            "cap": "",
            "created_at_0": "2026-01-01",
            "created_at_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Arm.objects.get(pk=arm.pk).enrolment_target == 30
    event = imported.events.get(kind=TrialEvent.Kind.CURATED)
    assert event.actor == admin_user
    assert f"arm {arm.label}: enrolment_target" in event.detail["changed"]


def test_parsed_criteria_are_listed_with_a_link_to_their_review_page(admin_client, imported):
    trial_parse_eligibility(trial_id=imported.pk)
    assert imported.criteria.exists()
    page = admin_client.get(reverse("admin:trials_eligibilitycriterion_changelist")).content.decode()
    assert reverse("trials:criteria", args=[imported.nct_id]) in page


def _change_form_data(admin_client, trial):
    """The trial's admin change form as it is shown, ready to post back; inlines left unchanged."""
    page = admin_client.get(reverse("admin:trials_trial_change", args=[trial.pk]))
    form = page.context["adminform"].form
    data = {name: "" if form[name].value() is None else str(form[name].value()) for name in form.fields}
    for inline in page.context["inline_admin_formsets"]:
        data[f"{inline.formset.prefix}-TOTAL_FORMS"] = "0"
        data[f"{inline.formset.prefix}-INITIAL_FORMS"] = "0"
    return data


def test_editing_the_eligibility_text_in_the_admin_reparses_and_rematches_once(
    admin_client, django_capture_on_commit_callbacks, monkeypatch
):
    from trials import services

    trial = factories.TrialFactory.create(eligibility_text="Inclusion Criteria:\n- ECOG 0-1\n")
    trial_parse_eligibility(trial_id=trial.pk)
    rematched = []
    monkeypatch.setattr(services, "trial_changed", lambda *, trial_id: rematched.append(trial_id))
    data = _change_form_data(admin_client, trial)
    data["eligibility_text"] = "Inclusion Criteria:\n- ECOG 0-1\n\nExclusion Criteria:\n- Pregnant women\n"

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:trials_trial_change", args=[trial.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert trial.criteria.filter(text__icontains="Pregnant", retired_at__isnull=True).exists()
    assert trial.events.filter(kind=TrialEvent.Kind.PARSED).count() == 2
    assert rematched == [trial.pk]  # after the parse, on the new criteria; not before it as well


def test_an_admin_edit_that_leaves_the_criteria_alone_rematches_without_a_parse(
    admin_client, django_capture_on_commit_callbacks, monkeypatch
):
    from trials import services

    trial = factories.TrialFactory.create(overall_status=Trial.Status.RECRUITING)
    queued: list[object] = []
    monkeypatch.setattr(services, "_enqueue_parse", queued.append)
    rematched = []
    monkeypatch.setattr(services, "trial_changed", lambda *, trial_id: rematched.append(trial_id))
    data = {**_change_form_data(admin_client, trial), "overall_status": Trial.Status.SUSPENDED}

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:trials_trial_change", args=[trial.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert queued == []
    assert rematched == [trial.pk]


def test_a_curator_suspending_a_trial_and_editing_its_text_stops_its_matches_though_the_parse_never_lands(
    admin_client, django_capture_on_commit_callbacks, monkeypatch
):
    from trials import services

    trial = factories.TrialFactory.create(overall_status=Trial.Status.RECRUITING)
    nadia = PatientProfileFactory.create()
    match = Match.objects.create(
        patient=nadia, trial=trial, verdict=Match.Verdict.ELIGIBLE, score=1.0, criteria=[]
    )
    monkeypatch.setattr(services, "_enqueue_parse", lambda trial_ids: None)  # its retries used up
    data = {
        **_change_form_data(admin_client, trial),
        "overall_status": Trial.Status.SUSPENDED,
        "eligibility_text": "Inclusion Criteria:\n- ECOG 0-1\n",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:trials_trial_change", args=[trial.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    match.refresh_from_db()
    assert match.retired_at is not None


def _arm_form(admin_client, arm, biomarker_definition):
    return {
        "shown_version": _shown_version(admin_client, reverse("admin:trials_arm_change", args=[arm.pk])),
        "trial": arm.trial_id,
        "label": arm.label,
        "arm_type": arm.arm_type,
        "description": arm.description,
        "interventions": "[]",
        "biomarker_definition": biomarker_definition,
        "enrolment_target": "",
        "cap": "",
        "created_at_0": "2026-01-01",
        "created_at_1": "00:00:00",
    }


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ('{"type": "and"}', "not a valid criteria tree"),
        ("[1, 2]", "must be a JSON object"),
        ('{"type": "not", "child": ' * 60 + '{"type": "atom"}' + "}" * 60, "nested more than 50 levels deep"),
    ],
)
def test_a_stratum_definition_that_is_not_a_sound_criteria_tree_is_refused(
    admin_client, imported, definition, message
):
    arm = imported.arms.first()
    url = reverse("admin:trials_arm_change", args=[arm.pk])
    response = admin_client.post(url, _arm_form(admin_client, arm, definition))
    assert response.status_code == 200
    assert message in response.content.decode()
    arm.refresh_from_db()
    assert arm.biomarker_definition == {}


def test_a_stratum_definition_is_stored_as_a_criteria_tree_and_empty_means_none(admin_client, imported):
    arm = imported.arms.first()
    url = reverse("admin:trials_arm_change", args=[arm.pk])
    atom = {"type": "atom", "kind": "biomarker", "text": "EGFR exon 19 deletion", "span": [0, 21],
            "rule_id": "curator", "confidence": 1.0}  # fmt: skip
    assert admin_client.post(url, _arm_form(admin_client, arm, json.dumps(atom))).status_code == 302
    arm.refresh_from_db()
    assert arm.biomarker_definition["kind"] == "biomarker"
    assert admin_client.post(url, _arm_form(admin_client, arm, "{}")).status_code == 302
    arm.refresh_from_db()
    assert arm.biomarker_definition == {}


def test_an_admin_edit_of_a_trial_an_import_changed_meanwhile_is_refused_and_loses_nothing(admin_client):
    trial = factories.TrialFactory.create(brief_title="Osimertinib in EGFR-mutant NSCLC")
    data = {**_change_form_data(admin_client, trial), "acronym": "FLAURA-X"}
    # Meanwhile a registry import rewrites the title (an import bumps updated_at with every change).
    Trial.objects.filter(pk=trial.pk).update(
        brief_title="Osimertinib with chemotherapy in EGFR-mutant NSCLC", updated_at=timezone.now()
    )

    response = admin_client.post(reverse("admin:trials_trial_change", args=[trial.pk]), data)

    assert response.status_code == 200
    page = response.content.decode()
    assert "changed (by a registry import or another curator) since the page was shown" in page
    assert 'value="FLAURA-X"' in page  # what the curator typed is shown again
    trial.refresh_from_db()
    assert (trial.brief_title, trial.acronym) == ("Osimertinib with chemotherapy in EGFR-mutant NSCLC", "")
    assert not trial.events.filter(kind=TrialEvent.Kind.CURATED).exists()


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        # Stored, these broke matching the trial (a condition is linked as text).
        ("42", "Give a JSON list, in square brackets."),
        ('"NSCLC"', "Give a JSON list, in square brackets."),
        ("[1, 2]", "Give a JSON list of texts"),
        # The database refused these with a 500 (PostgreSQL all three, SQLite the infinities).
        ('["NSCLC\\u0000"]', "holds a NUL character"),
        ("[Infinity]", "inf is not a number that can be stored"),
        ("[1e999]", "inf is not a number that can be stored"),
        # The JSON reader itself gave up (a 500 on either database).
        ("[" * 100_000 + "]" * 100_000, "nested too deeply to read"),
    ],
    ids=["number", "string", "numbers", "nul", "infinity", "1e999", "deep"],
)
def test_registered_conditions_that_are_not_a_list_of_texts_the_database_can_store_are_refused(
    admin_client, conditions, message
):
    trial = factories.TrialFactory.create(conditions=["Non-small cell lung cancer"])
    data = {**_change_form_data(admin_client, trial), "conditions": conditions}
    response = admin_client.post(reverse("admin:trials_trial_change", args=[trial.pk]), data)
    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    trial.refresh_from_db()
    assert trial.conditions == ["Non-small cell lung cancer"]


def test_clearing_the_registered_conditions_leaves_an_empty_list(admin_client):
    trial = factories.TrialFactory.create(conditions=["Non-small cell lung cancer"])
    data = {**_change_form_data(admin_client, trial), "conditions": ""}
    response = admin_client.post(reverse("admin:trials_trial_change", args=[trial.pk]), data)
    assert response.status_code == 302  # the column takes no null: PostgreSQL refused the save with a 500
    trial.refresh_from_db()
    assert trial.conditions == []


def test_an_arms_interventions_must_be_a_list_of_texts(admin_client, imported):
    arm = imported.arms.first()
    url = reverse("admin:trials_arm_change", args=[arm.pk])
    response = admin_client.post(url, {**_arm_form(admin_client, arm, "{}"), "interventions": '[{"a": 1}]'})
    assert response.status_code == 200
    assert "Give a JSON list of texts" in response.content.decode()


def test_of_two_curators_editing_one_trial_the_second_save_is_refused(admin_client):
    trial = factories.TrialFactory.create(overall_status=Trial.Status.RECRUITING)
    first = {**_change_form_data(admin_client, trial), "overall_status": Trial.Status.SUSPENDED}
    second = {**_change_form_data(admin_client, trial), "acronym": "LATE"}
    url = reverse("admin:trials_trial_change", args=[trial.pk])

    assert admin_client.post(url, first).status_code == 302
    response = admin_client.post(url, second)

    assert response.status_code == 200
    trial.refresh_from_db()
    assert (trial.overall_status, trial.acronym) == (Trial.Status.SUSPENDED, "")


def test_an_admin_edit_of_an_arm_the_registry_changed_meanwhile_is_refused(admin_client, imported):
    arm = imported.arms.first()
    form = _arm_form(admin_client, arm, "{}")
    Arm.objects.filter(pk=arm.pk).update(description="Updated by the registry")

    response = admin_client.post(reverse("admin:trials_arm_change", args=[arm.pk]), form)

    assert response.status_code == 200
    assert "since the page was shown: nothing was saved" in response.content.decode()
    arm.refresh_from_db()
    assert arm.description == "Updated by the registry"


def test_a_curator_edit_of_a_trial_site_is_logged_with_its_author(admin_client, admin_user, imported):
    trial_site = imported.trial_sites.first()
    url = reverse("admin:trials_trialsite_change", args=[trial_site.pk])
    response = admin_client.post(
        url,
        {
            "shown_version": _shown_version(admin_client, url),
            "trial": imported.pk,
            "site": trial_site.site_id,
            "status": Trial.Status.SUSPENDED,
            "contact_name": trial_site.contact_name,
            "contact_email": trial_site.contact_email,
            "contact_phone": trial_site.contact_phone,
            "investigator": trial_site.investigator,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    event = imported.events.get(kind=TrialEvent.Kind.CURATED)
    assert event.actor == admin_user
    assert event.detail["changed"] == [f"site {trial_site.site}: status"]


def test_deleting_an_arm_or_a_trial_site_in_the_admin_is_logged_with_its_author(
    admin_client, admin_user, imported
):
    arm = imported.arms.first()
    trial_site = imported.trial_sites.first()
    for model, row in (("arm", arm), ("trialsite", trial_site)):
        response = admin_client.post(reverse(f"admin:trials_{model}_delete", args=[row.pk]), {"post": "yes"})
        assert response.status_code == 302, response.content.decode()[:2000]

    events = imported.events.filter(kind=TrialEvent.Kind.CURATED).order_by("id")
    assert [event.actor for event in events] == [admin_user, admin_user]
    assert [event.detail["changed"] for event in events] == [
        [f"arm {arm.label}: deleted"],
        [f"site {trial_site.site}: deleted"],
    ]


def test_deleting_trial_sites_from_the_list_logs_each_with_its_author(admin_client, admin_user, imported):
    trial_sites = list(imported.trial_sites.all()[:2])
    response = admin_client.post(
        reverse("admin:trials_trialsite_changelist"),
        {"action": "delete_selected", "_selected_action": [ts.pk for ts in trial_sites], "post": "yes"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not TrialSite.objects.filter(pk__in=[ts.pk for ts in trial_sites]).exists()
    events = imported.events.filter(kind=TrialEvent.Kind.CURATED)
    assert sorted(event.detail["changed"][0] for event in events) == sorted(
        f"site {ts.site}: deleted" for ts in trial_sites
    )
    assert {event.actor for event in events} == {admin_user}


def _change_form_data_with_inlines(admin_client, trial, *, delete=None):
    """The trial's admin change form with its arms and sites as shown, ready to post back; the inline row
    `delete` (an arm or a trial site) marked for deletion."""
    page = admin_client.get(reverse("admin:trials_trial_change", args=[trial.pk]))
    data = _change_form_data(admin_client, trial)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        data.update({management.add_prefix(name): str(value) for name, value in management.initial.items()})
        for form in formset.forms:
            for name in form.fields:
                value = form[name].value()
                data[form.add_prefix(name)] = "" if value in (None, False) else str(value)
            if delete is not None and form.instance == delete:
                data[form.add_prefix("DELETE")] = "on"
    return data


def test_a_trial_saved_with_its_arms_and_sites_shown_on_its_page_is_saved(admin_client, imported):
    data = {**_change_form_data_with_inlines(admin_client, imported), "brief_title": "A clearer title"}

    response = admin_client.post(reverse("admin:trials_trial_change", args=[imported.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    imported.refresh_from_db()
    assert imported.brief_title == "A clearer title"


def test_an_arm_changed_since_the_trials_page_was_shown_is_not_saved_over(admin_client, imported):
    data = _change_form_data_with_inlines(admin_client, imported)
    arm = imported.arms.earliest("id")
    Arm.objects.filter(pk=arm.pk).update(description="Changed by the registry meanwhile")
    prefix = next(key for key, value in data.items() if key.endswith("-id") and value == str(arm.pk))[:-3]
    data[f"{prefix}-description"] = "My description"

    response = admin_client.post(reverse("admin:trials_trial_change", args=[imported.pk]), data)

    assert response.status_code == 200
    assert "This record was changed" in response.content.decode()
    assert Arm.objects.get(pk=arm.pk).description == "Changed by the registry meanwhile"


def test_an_arm_patients_were_matched_in_cannot_be_deleted_in_the_admin_only_suspended(
    admin_client, imported
):
    arm = imported.arms.first()
    match = Match.objects.create(
        patient=PatientProfileFactory.create(),
        trial=imported,
        arm=arm,
        verdict=Match.Verdict.ELIGIBLE,
        score=1.0,
        criteria=[],
    )

    one = admin_client.post(reverse("admin:trials_arm_delete", args=[arm.pk]), {"post": "yes"})
    several = admin_client.post(
        reverse("admin:trials_arm_changelist"),
        {"action": "delete_selected", "_selected_action": [arm.pk], "post": "yes"},
    )

    for response in (one, several):
        assert response.status_code == 200
        assert "suspend it instead" in response.content.decode()
    assert Match.objects.filter(pk=match.pk, arm=arm).exists()
    assert not imported.events.filter(kind=TrialEvent.Kind.CURATED).exists()


def test_a_site_with_candidacies_cannot_be_removed_from_the_trials_page_only_withdrawn(
    admin_client, imported
):
    trial_site = imported.trial_sites.earliest("id")
    Candidate.objects.create(
        patient=PatientProfileFactory.create(),
        trial=imported,
        site=trial_site.site,
        status=CandidateStatus.SCREENING,
        subject_code="S-SCREENING",
    )
    data = _change_form_data_with_inlines(admin_client, imported, delete=trial_site)

    response = admin_client.post(reverse("admin:trials_trial_change", args=[imported.pk]), data)

    assert response.status_code == 200
    assert "set its status to withdrawn instead" in response.content.decode()
    assert TrialSite.objects.filter(pk=trial_site.pk).exists()
