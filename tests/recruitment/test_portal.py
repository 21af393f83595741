"""The patient portal through real URLs: registration and verification, password reset, own data only,
the profile editor, consent signing and withdrawal, matches with explanations and interest."""

import html
import json
import re
import time
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse

from recruitment.models import Biomarker, Consent, PatientProfile, TrialInterest, User
from recruitment.services.accounts import email_verification_token, user_deactivate
from recruitment.services.matching import match_upsert_for_patient
from recruitment.services.profile import profile_fact_save, profile_update
from tests.factories import TrialFactory, TrialSiteFactory
from tests.recruitment.conftest import TODAY
from tests.recruitment.consent_helpers import Purpose, name_patient, publish, publish_all, sign
from tests.recruitment.test_match_services import EGFR_TRIAL, trial_with
from trials.services import trial_parse_eligibility

STRONG = "a-long-and-unusual-passphrase-42"


@pytest.fixture
def documents(db):
    return publish_all()


@pytest.fixture
def elena_client(client, elena):
    name_patient(elena)
    client.force_login(elena.user)
    return client


def shown_version(page: str) -> str:
    """The version of the record a profile or fact page was shown with (its hidden field): the first on the
    page, since the profile's own form comes before its facts' Remove buttons, which carry theirs."""
    shown = re.search(r'name="shown_version" value="([^"]+)"', page)
    assert shown is not None
    return html.unescape(shown.group(1))


def elenas_profile_as_typed(version: str) -> dict[str, str]:
    """Elena's profile form as she fills it on a page that showed ECOG 1 and version `version`."""
    return {
        "birth_date": "1968-04-02",
        "sex": "female",
        "postcode": "02139",
        "ecog": "1",
        "pregnancy_status": "not_pregnant",
        "breastfeeding": "false",
        "shown_version": version,
    }


def account_form_as_shown(admin_client, user: User) -> dict[str, object]:
    """The account's admin change form as it is shown, ready to post back; memberships left unchanged."""
    page = admin_client.get(reverse("admin:recruitment_user_change", args=[user.pk]))
    form = page.context["adminform"].form
    data: dict[str, object] = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if field.disabled or value is None or value is False:
            continue
        if isinstance(value, list):
            data[name] = value
        elif hasattr(value, "time"):
            data[f"{name}_0"], data[f"{name}_1"] = value.date().isoformat(), value.time().isoformat()
        else:
            data[name] = str(value)
    for inline in page.context["inline_admin_formsets"]:
        data[f"{inline.formset.prefix}-TOTAL_FORMS"] = "0"
        data[f"{inline.formset.prefix}-INITIAL_FORMS"] = "0"
    return data


def signs_in(client, email: str, password: str) -> bool:
    response = client.post(reverse("login"), {"username": email, "password": password})
    return response.status_code == 302


def register(client, email="new@example.org"):
    return client.post(
        reverse("portal:register"),
        {"first_name": "Nora", "last_name": "Berg", "email": email, "password1": STRONG, "password2": STRONG},
    )


@pytest.mark.django_db
class TestRegistration:
    def test_registering_sends_a_link_that_activates_the_account(
        self, client, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = register(client)
        assert "Check your e-mail" in response.content.decode()
        user = User.objects.get(email="new@example.org")
        assert (user.is_active, user.role, user.get_full_name()) == (False, User.Role.PATIENT, "Nora Berg")
        assert PatientProfile.objects.filter(user=user).exists()
        assert not signs_in(client, "new@example.org", STRONG)
        link = re.search(r"http://testserver(/portal/verify/\S+/)", str(mail.outbox[0].body)).group(1)  # type: ignore[union-attr]
        response = client.get(link, follow=True)
        assert "your e-mail address is confirmed" in response.content.decode()
        assert signs_in(client, "new@example.org", STRONG)

    def test_noras_double_submitted_registration_makes_one_account_and_no_error(
        self, client, monkeypatch, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            register(client)  # Nora's first click
        filter_users = User.objects.filter
        checks = [User.objects.none()]

        def checked_before_the_first_click_committed(*args, **kwargs):
            return checks.pop() if checks else filter_users(*args, **kwargs)

        # Her second click passed the "already registered?" check before the first one committed.
        monkeypatch.setattr(User.objects, "filter", checked_before_the_first_click_committed)
        with django_capture_on_commit_callbacks(execute=True):
            response = register(client)
        assert response.status_code == 200
        assert "Check your e-mail" in response.content.decode()
        monkeypatch.undo()
        assert User.objects.filter(email="new@example.org").count() == 1

    def test_a_tampered_or_expired_link_is_refused(self, client, pat):
        pat.is_active = False
        pat.save()
        token = email_verification_token(pat)
        assert client.get(reverse("portal:verify", args=[token + "x"])).status_code == 400
        with mock.patch("django.core.signing.time.time", return_value=time.time() + 4 * 86400):
            response = client.get(reverse("portal:verify", args=[token]))
        assert response.status_code == 400
        assert "expired" in response.content.decode()
        pat.refresh_from_db()
        assert not pat.is_active

    def test_nora_whose_link_expired_registers_again_and_gets_a_new_link_to_the_same_account(
        self, client, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            register(client)
        first = re.search(r"http://testserver(/portal/verify/\S+/)", str(mail.outbox[0].body)).group(1)  # type: ignore[union-attr]
        with mock.patch("django.core.signing.time.time", return_value=time.time() + 4 * 86400):
            assert "expired" in client.get(first).content.decode()
        # The expired link's page tells her to register again; a password reset goes to active accounts only.
        with django_capture_on_commit_callbacks(execute=True):
            register(client)
        assert User.objects.filter(email="new@example.org").count() == 1
        assert mail.outbox[-1].subject == "Confirm your e-mail address"
        second = re.search(r"http://testserver(/portal/verify/\S+/)", str(mail.outbox[-1].body)).group(1)  # type: ignore[union-attr]
        assert "your e-mail address is confirmed" in client.get(second, follow=True).content.decode()
        assert signs_in(client, "new@example.org", STRONG)

    def test_noras_link_does_not_undo_an_administrators_deactivation_of_her_account(
        self, client, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            register(client)
        link = re.search(r"http://testserver(/portal/verify/\S+/)", str(mail.outbox[0].body)).group(1)  # type: ignore[union-attr]
        client.get(link)
        assert signs_in(client, "new@example.org", STRONG)
        # The next day an administrator deactivates Nora's account; her link is valid for three days.
        User.objects.filter(email="new@example.org").update(is_active=False)
        client.logout()
        assert client.get(link).status_code == 400
        assert not User.objects.get(email="new@example.org").is_active
        assert not signs_in(client, "new@example.org", STRONG)

    def test_noras_link_does_not_activate_an_account_deactivated_before_she_confirmed_it(
        self, client, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            register(client)
        link = re.search(r"http://testserver(/portal/verify/\S+/)", str(mail.outbox[0].body)).group(1)  # type: ignore[union-attr]
        # Before Nora opens her link, staff close the account (she registered by mistake, or not herself).
        user_deactivate(user=User.objects.get(email="new@example.org"))
        response = client.get(link)
        assert response.status_code == 400
        assert "closed by the study team" in response.content.decode()
        assert not User.objects.get(email="new@example.org").is_active
        assert not signs_in(client, "new@example.org", STRONG)

    def test_an_administrator_closing_noras_unconfirmed_account_in_the_admin_stops_her_link(
        self, client, admin_client, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            register(client)
        link = re.search(r"http://testserver(/portal/verify/\S+/)", str(mail.outbox[0].body)).group(1)  # type: ignore[union-attr]
        nora = User.objects.get(email="new@example.org")
        # Unconfirmed, the account is inactive already: "active" cannot be unticked; the action closes it.
        response = admin_client.post(
            reverse("admin:recruitment_user_changelist"),
            {"action": "deactivate_accounts", "_selected_action": [nora.pk]},
        )
        assert response.status_code == 302
        assert "closed by the study team" in client.get(link).content.decode()
        assert not User.objects.get(pk=nora.pk).is_active

    def test_unticking_active_in_the_admin_records_the_closing_and_ticking_it_clears_it(
        self, admin_client, pat
    ):
        url = reverse("admin:recruitment_user_change", args=[pat.pk])
        data = account_form_as_shown(admin_client, pat)
        del data["is_active"]
        assert admin_client.post(url, data).status_code == 302
        pat.refresh_from_db()
        assert (pat.is_active, pat.deactivated_at is not None) == (False, True)
        data["is_active"] = "on"
        assert admin_client.post(url, data).status_code == 302
        pat.refresh_from_db()
        assert (pat.is_active, pat.deactivated_at) == (True, None)

    def test_nora_registering_again_after_her_account_was_closed_gets_no_new_link(
        self, client, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            register(client)
        user_deactivate(user=User.objects.get(email="new@example.org"))
        with django_capture_on_commit_callbacks(execute=True):
            register(client)
        assert [message.subject for message in mail.outbox][-1] != "Confirm your e-mail address"

    def test_registering_a_known_address_tells_only_its_owner(
        self, client, pat, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = register(client, email="pat@example.org")
        assert "Check your e-mail" in response.content.decode()
        assert User.objects.filter(email="pat@example.org").count() == 1
        assert "already has one" in mail.outbox[0].body

    def test_weak_passwords_are_refused_with_the_reason_beside_the_field(self, client):
        response = client.post(
            reverse("portal:register"),
            {
                "first_name": "N",
                "last_name": "B",
                "email": "n@example.org",
                "password1": "short",
                "password2": "short",
            },
        )
        assert "too short" in response.content.decode()
        assert not User.objects.filter(email="n@example.org").exists()

    def test_password_reset_mails_a_link_that_sets_a_new_password(self, client, pat):
        client.post(reverse("password_reset"), {"email": "pat@example.org"})
        found = re.search(r"http://testserver(/accounts/password/reset/\S+/)", str(mail.outbox[0].body))
        assert found is not None
        link = found.group(1)
        response = client.get(link, follow=True)
        assert "Choose a new password" in response.content.decode()
        response = client.post(
            response.redirect_chain[-1][0], {"new_password1": STRONG, "new_password2": STRONG}, follow=True
        )
        assert "Your password is changed" in response.content.decode()
        assert signs_in(client, "pat@example.org", STRONG)

    def test_the_sign_in_page_links_to_registration_and_reset(self, client):
        page = client.get(reverse("login")).content.decode()
        assert reverse("portal:register") in page
        assert reverse("password_reset") in page


@pytest.mark.django_db
class TestOwnDataOnly:
    def test_another_patients_urls_are_404(self, client, elena, hana, documents, criteria):
        name_patient(hana, "Hana", "Sato")
        trial_with(criteria, EGFR_TRIAL)
        name_patient(elena)
        consent = sign(elena, documents[Purpose.MATCHING])
        match_upsert_for_patient(patient=elena, today=TODAY)
        match = elena.matches.get()
        biomarker = elena.biomarkers.first()
        client.force_login(hana.user)
        for url in (
            reverse("portal:fact_edit", args=["biomarker", biomarker.pk]),
            reverse("portal:consent_copy", args=[consent.pk]),
            reverse("portal:match", args=[match.pk]),
        ):
            assert client.get(url).status_code == 404, url
        assert client.post(reverse("portal:fact_delete", args=["biomarker", biomarker.pk])).status_code == 404
        assert client.post(reverse("portal:match_interest", args=[match.pk])).status_code == 404
        assert Biomarker.objects.filter(pk=biomarker.pk).exists()

    def test_staff_do_not_get_patient_pages(self, client, sam):
        client.force_login(sam)
        assert client.get(reverse("portal:profile")).status_code == 404

    def test_anonymous_visitors_are_sent_to_sign_in(self, client):
        response = client.get(reverse("portal:matches"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_patients_see_the_portal_in_the_navigation(self, client, pat):
        client.force_login(pat)
        page = client.get(reverse("portal:home")).content.decode()
        for name in ("portal:profile", "portal:consent", "portal:matches"):
            assert f'href="{reverse(name)}"' in page


@pytest.mark.django_db
class TestProfileEditor:
    def test_elenas_blood_tests_are_listed_as_her_report_gives_them_without_padded_decimals(
        self, elena_client
    ):
        page = elena_client.get(reverse("portal:profile")).content.decode()
        assert "platelet count 210 10^3/uL" in page
        assert "0.8 mg/dL" in page
        assert "210.0000" not in page
        assert "0.8000" not in page

    def test_a_tumour_test_is_listed_with_the_name_on_her_report_beside_the_gene_symbol(
        self, elena_client, elena
    ):
        # Elena types "PD-L1"; the profile keeps the HGNC symbol, CD274, which her report never prints.
        Biomarker.objects.create(patient=elena, gene="CD274", alteration_type="expression", status="positive")
        page = elena_client.get(reverse("portal:profile")).content.decode()
        assert "CD274 (PD-L1) expression positive" in page

    def test_adding_a_biomarker_normalises_the_gene_and_records_the_source(self, elena_client, elena):
        response = elena_client.post(
            reverse("portal:fact_add", args=["biomarker"]),
            {
                "gene": "PD-L1",
                "alteration_type": "expression",
                "status": "positive",
                "measure": "TPS",
                "value": "60",
                "unit": "%",
                "assay": "22C3",
            },
        )
        assert response.status_code == 302
        added = elena.biomarkers.get(gene="CD274", value=60)
        assert (added.source, added.entered_by) == ("self_reported", elena.user)

    def test_model_validation_messages_show_beside_the_field(self, elena_client):
        response = elena_client.post(
            reverse("portal:fact_add", args=["biomarker"]),
            {
                "gene": "CD274",
                "alteration_type": "expression",
                "status": "positive",
                "value": "140",
                "unit": "%",
            },
        )
        page = response.content.decode()
        assert response.status_code == 400
        assert re.search(
            r'class="field has-error">.*?A percentage cannot exceed 100.*?id="id_value"', page, re.S
        )

    def test_elenas_pd_l1_score_of_150_typed_without_a_percent_sign_is_refused_beside_the_value(
        self, elena_client, elena
    ):
        response = elena_client.post(
            reverse("portal:fact_add", args=["biomarker"]),
            {
                "gene": "PD-L1",
                "alteration_type": "expression",
                "status": "positive",
                "measure": "TPS",
                "value": "150",
            },
        )
        page = response.content.decode()
        assert response.status_code == 400
        assert re.search(r'class="field has-error">.*?A TPS is a percentage.*?id="id_value"', page, re.S)
        assert not elena.biomarkers.filter(value=150).exists()

    def test_elenas_bilirubin_typed_with_a_decimal_comma_is_refused_saying_how_to_write_it(
        self, elena_client, elena
    ):
        typed = {"analyte": "total bilirubin", "value": "1,5", "unit": "mg/dL", "collected_on": "2026-11-20"}
        response = elena_client.post(reverse("portal:fact_add", args=["lab"]), typed)
        page = response.content.decode()
        assert response.status_code == 400
        assert re.search(
            r'class="field has-error">.*?with a point for decimals \(1\.5, not 1,5\).*?id="id_value"',
            page,
            re.S,
        )
        assert 'value="1,5"' in page
        assert not elena.lab_results.filter(collected_on="2026-11-20").exists()

    def test_a_therapy_that_ends_before_it_starts_is_refused(self, elena_client):
        response = elena_client.post(
            reverse("portal:fact_add", args=["therapy"]),
            {"drug": "carboplatin", "started_on": "2026-05-01", "ended_on": "2026-04-01"},
        )
        assert "cannot end before it started" in response.content.decode()

    def test_a_procedure_name_with_an_invisible_control_character_is_refused_beside_it_and_not_saved(
        self, elena_client, elena
    ):
        # Copied from a PDF, the name carries a backspace her screen does not show.
        response = elena_client.post(
            reverse("portal:fact_add", args=["procedure"]),
            {"name": "lobe\x08ctomy", "performed_on": "2026-09-02"},
        )
        page = response.content.decode()
        assert response.status_code == 400
        assert re.search(
            r'class="field has-error">.*?invisible control character \(U\+0008\).*?id="id_name"', page, re.S
        )
        assert 'value="2026-09-02"' in page  # the date she typed is kept
        assert not elena.procedures.filter(name__contains="ctomy", performed_on="2026-09-02").exists()

    def test_a_postcode_with_a_text_direction_override_is_refused_and_the_rest_of_the_profile_kept(
        self, elena_client, elena
    ):
        # U+202E makes the digits after it show in reverse order: what she sees is not what is stored.
        typed = {**elenas_profile_as_typed(""), "postcode": "02\u202e139", "ecog": "2"}
        response = elena_client.post(reverse("portal:profile"), typed)
        page = response.content.decode()
        assert response.status_code == 400  # refused, as a fact form refuses (not a 200 "OK")
        assert "invisible control character (U+202E)" in page
        assert re.search(r'name="ecog" value="2"[^>]*checked', page)  # what else she typed is kept
        elena.refresh_from_db()
        assert (elena.postcode, elena.ecog) == ("", 1)

    def test_a_diagnosis_is_picked_by_its_plain_name(self, elena_client, elena):
        elena_client.post(
            reverse("portal:fact_add", args=["diagnosis"]),
            {"condition": "Small cell lung cancer", "presence": "present", "stage": "iiib"},
        )
        added = elena.diagnoses.get(code="sclc")
        assert added.stage == "IIIB"

    def test_elenas_double_click_on_add_records_the_therapy_once(self, elena_client, elena):
        sent = {"drug": "carboplatin", "started_on": "2026-05-01", "ended_on": "2026-06-01"}
        for _ in range(2):
            response = elena_client.post(reverse("portal:fact_add", args=["therapy"]), sent)
            assert response.status_code == 302
        assert elena.therapies.filter(drug="carboplatin").count() == 1
        # Another course of the same drug is another fact.
        elena_client.post(
            reverse("portal:fact_add", args=["therapy"]), {**sent, "started_on": "2026-09-01", "ended_on": ""}
        )
        assert elena.therapies.filter(drug="carboplatin").count() == 2

    def test_an_unknown_condition_asks_to_pick_from_the_list(self, elena_client):
        response = elena_client.post(
            reverse("portal:fact_add", args=["diagnosis"]), {"condition": "zzz", "presence": "present"}
        )
        assert "Please pick one from the list" in response.content.decode()

    def test_ecog_is_explained_in_plain_words_and_saved(self, elena_client, elena):
        page = elena_client.get(reverse("portal:profile")).content.decode()
        assert "I can walk about and look after myself" in page
        response = elena_client.post(
            reverse("portal:profile"),
            {
                "birth_date": "1968-04-02",
                "sex": "female",
                "ecog": "2",
                "pregnancy_status": "not_pregnant",
                "breastfeeding": "false",
            },
        )
        assert response.status_code == 302
        elena.refresh_from_db()
        assert (elena.ecog, elena.breastfeeding) == (2, False)

    def test_a_profile_page_opened_before_another_change_does_not_undo_it(self, elena_client, elena):
        shown = shown_version(elena_client.get(reverse("portal:profile")).content.decode())
        # Meanwhile the study team's paste of a clinic note records ECOG 2 (elena's page still says 1).
        profile_update(profile=elena, fields={"ecog": 2})
        stale = elenas_profile_as_typed(shown)
        response = elena_client.post(reverse("portal:profile"), stale)
        page = response.content.decode()
        assert response.status_code == 409
        assert "Your profile was changed after this page was opened" in page
        assert 'value="02139"' in page  # what she typed is kept
        elena.refresh_from_db()
        assert (elena.ecog, elena.postcode) == (2, "")
        # Saving the page shown again is her decision, made knowing: it goes through.
        again = elena_client.post(reverse("portal:profile"), elenas_profile_as_typed(shown_version(page)))
        assert again.status_code == 302
        elena.refresh_from_db()
        assert (elena.ecog, elena.postcode) == (1, "02139")

    def test_a_fact_edited_in_two_windows_is_not_overwritten_by_the_older_one(self, elena_client, elena):
        therapy = elena.therapies.get()
        url = reverse("portal:fact_edit", args=["therapy", therapy.pk])
        shown = shown_version(elena_client.get(url).content.decode())
        # In another window she records when the treatment stopped.
        therapy.ended_on = TODAY
        profile_fact_save(profile=elena, fact=therapy, actor=elena.user)
        stale = {"drug": "osimertinib", "line": "2", "started_on": "2024-03-01", "ended_on": ""}
        response = elena_client.post(url, {**stale, "shown_version": shown})
        page = response.content.decode()
        assert response.status_code == 409
        assert "This therapy was changed after this page was opened" in page
        assert 'name="line" value="2"' in page  # what she typed is kept
        therapy.refresh_from_db()
        assert (therapy.ended_on, therapy.line) == (TODAY, 1)

    def test_elena_corrects_an_imported_course_marked_stopped_on_an_unknown_date_that_she_still_takes(
        self, elena_client, elena
    ):
        # Her hospital's record said "completed" with no end date; she is in fact still on it.
        therapy = elena.therapies.get()
        therapy.ended = True
        profile_fact_save(profile=elena, fact=therapy, actor=elena.user)
        url = reverse("portal:fact_edit", args=["therapy", therapy.pk])
        page = elena_client.get(url).content.decode()
        (ended_box,) = re.findall(r'<input[^>]*name="ended"[^>]*>', page)
        assert "checked" in ended_box
        sent = {"drug": "osimertinib", "line": "1", "started_on": "2024-03-01", "ended_on": ""}
        response = elena_client.post(url, {**sent, "shown_version": shown_version(page)})
        assert response.status_code == 302
        therapy.refresh_from_db()
        assert (therapy.ended, therapy.ended_on) == (False, None)

    def test_elena_records_a_course_she_stopped_without_knowing_when(self, elena_client, elena):
        sent = {"drug": "carboplatin", "started_on": "2023-01-10", "ended_on": "", "ended": "on"}
        response = elena_client.post(reverse("portal:fact_add", args=["therapy"]), sent)
        assert response.status_code == 302
        course = elena.therapies.get(drug="carboplatin")
        assert (course.ended, course.ended_on) == (True, None)

    def test_a_fact_changed_in_another_tab_is_not_removed_from_the_older_page(self, elena_client, elena):
        therapy = elena.therapies.get()
        page = elena_client.get(reverse("portal:profile")).content.decode()
        (shown,) = re.findall(
            rf'action="{reverse("portal:fact_delete", args=["therapy", therapy.pk])}".*?'
            r'name="shown_version" value="([^"]+)"',
            page,
            re.S,
        )
        # In another tab she records when the treatment stopped; then, on the older page, clicks Remove.
        therapy.ended_on = TODAY
        profile_fact_save(profile=elena, fact=therapy, actor=elena.user)
        url = reverse("portal:fact_delete", args=["therapy", therapy.pk])
        response = elena_client.post(url, {"shown_version": html.unescape(shown)}, follow=True)
        assert (
            "This therapy was changed after this page was opened (in another window), so it was not removed"
            in (html.unescape(response.content.decode()))
        )
        therapy.refresh_from_db()
        assert therapy.ended_on == TODAY

    def test_pregnancy_rules_of_the_model_are_shown(self, elena_client):
        response = elena_client.post(
            reverse("portal:profile"),
            {"sex": "male", "pregnancy_status": "pregnant", "breastfeeding": "unknown"},
        )
        assert "rules out a pregnancy" in response.content.decode()

    def test_removing_a_fact(self, elena_client, elena):
        therapy = elena.therapies.get()
        elena_client.post(reverse("portal:fact_delete", args=["therapy", therapy.pk]))
        assert not elena.therapies.exists()

    def test_terms_suggest_conditions_from_the_terminology(self, elena_client):
        data = elena_client.get(reverse("portal:terms", args=["condition"]), {"q": "lung adeno"}).json()
        assert {"code": "luad", "label": "lung adenocarcinoma"}.items() <= data["results"][0].items()
        assert elena_client.get(reverse("portal:terms", args=["secrets"]), {"q": "ab"}).status_code == 404


@pytest.mark.django_db
class TestConsentPages:
    def test_nothing_is_pre_ticked_and_each_purpose_is_separate(self, elena_client, documents):
        page = elena_client.get(reverse("portal:consent")).content.decode()
        assert page.count('name="read"') == 2
        assert "checked" not in page
        assert documents[Purpose.MATCHING].body in page

    def test_signing_needs_the_tick_and_the_typed_name(self, elena_client, elena, documents):
        url = reverse("portal:consent_sign")
        response = elena_client.post(
            url, {"document": documents[Purpose.MATCHING].pk, "typed_name": "Elena Rossi"}, follow=True
        )
        assert "tick the box" in response.content.decode()
        elena_client.post(
            url,
            {"document": documents[Purpose.MATCHING].pk, "typed_name": "Elena Rossi", "read": "on"},
            HTTP_USER_AGENT="TestBrowser/1.0",
        )
        consent = Consent.objects.get(patient=elena)
        assert (consent.user_agent, consent.ip_address) == ("TestBrowser/1.0", "127.0.0.1")

    def test_a_signature_naming_a_trial_by_something_not_an_id_is_refused_with_a_message(
        self, elena_client, elena, documents
    ):
        response = elena_client.post(
            reverse("portal:consent_sign"),
            {
                "document": documents[Purpose.SHARE].pk,
                "trial": "NCT05000001",
                "typed_name": "Elena Rossi",
                "read": "on",
            },
            follow=True,
        )
        assert "There is no such trial to share your profile with." in response.content.decode()
        assert not Consent.objects.filter(patient=elena).exists()

    def test_a_refused_signature_comes_back_with_what_elena_typed_and_ticked(self, elena_client, documents):
        response = elena_client.post(
            reverse("portal:consent_sign"),
            {"document": documents[Purpose.MATCHING].pk, "typed_name": "Elena Rosi", "read": "on"},
            follow=True,
        )
        page = response.content.decode()
        assert "Type your full name exactly as on your account: Elena Rossi." in page
        matching_form = page[page.index('id="name-matching"') - 2000 : page.index('id="name-matching"') + 200]
        assert 'value="Elena Rosi"' in matching_form
        assert re.search(r'<input type="checkbox" name="read" id="read-matching" required checked>', page)
        # Only the form she signed: the contact form stays empty and unticked.
        assert page.count('value="Elena Rosi"') == 1
        assert page.count(" checked>") == 1
        # Shown once: reloading the page starts from empty forms again.
        again = elena_client.get(reverse("portal:consent")).content.decode()
        assert "Elena Rosi" not in again

    def test_a_refused_signature_waits_for_the_next_page_encrypted(self, elena_client, documents):
        elena_client.post(
            reverse("portal:consent_sign"),
            {"document": documents[Purpose.MATCHING].pk, "typed_name": "Elena Rosi", "read": "on"},
        )
        assert "Elena Rosi" not in str(dict(elena_client.session))

    def test_a_refused_share_opens_its_form_again_on_the_match_page(
        self, elena_client, elena, criteria, documents
    ):
        trial = trial_with(criteria, EGFR_TRIAL)
        sign(elena, documents[Purpose.MATCHING])
        match_upsert_for_patient(patient=elena, today=TODAY)
        url = reverse("portal:match", args=[elena.matches.get(trial=trial).pk])
        response = elena_client.post(
            reverse("portal:consent_sign"),
            {
                "document": documents[Purpose.SHARE].pk,
                "trial": trial.pk,
                "typed_name": "Elena Rossi",
                "next": url,
            },
            follow=True,
        )
        page = response.content.decode()
        assert "To sign, tick the box to say you agree and type your full name." in page
        assert '<details class="share" open>' in page
        assert 'value="Elena Rossi"' in page

    def test_withdrawal_is_one_click_from_the_same_page(self, elena_client, elena, documents):
        sign(elena, documents[Purpose.MATCHING])
        page = elena_client.get(reverse("portal:consent")).content.decode()
        assert "Withdraw: be matched with trials" in page
        response = elena_client.post(reverse("portal:consent_withdraw"), {"purpose": "matching"}, follow=True)
        assert "Withdrawn, effective now" in response.content.decode()
        assert Consent.objects.get(patient=elena).withdrawn_at is not None

    @pytest.mark.parametrize(
        ("tampered", "message"),
        [
            (
                {"reason": "x" * 501},
                "Reason (optional): Ensure this value has at most 500 characters (it has 501).",
            ),
            ({"reason": "changed my\x00mind"}, "Reason (optional): Null characters are not allowed."),
            ({"trial": "NCT05000001"}, "Trial: Enter a whole number."),
        ],
    )
    def test_a_tampered_withdrawal_is_refused_with_a_message_and_withdraws_nothing(
        self, elena_client, elena, documents, tampered, message
    ):
        sign(elena, documents[Purpose.MATCHING])
        response = elena_client.post(reverse("portal:consent_withdraw"), {"purpose": "matching", **tampered})
        assert response.status_code == 400
        assert f"Nothing was withdrawn. {message}" in html.unescape(response.content.decode())
        consent = Consent.objects.get(patient=elena)
        assert (consent.withdrawn_at, consent.withdrawal_reason) == (None, "")
        assert [event.kind for event in consent.events.all()] == ["given"]

    def test_the_signed_copy_and_fhir_export_download(self, elena_client, elena, documents):
        consent = sign(elena, documents[Purpose.MATCHING])
        pdf = elena_client.get(reverse("portal:consent_copy", args=[consent.pk]))
        assert pdf["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        fhir = elena_client.get(reverse("portal:consent_fhir"))
        assert fhir["Content-Type"] == "application/fhir+json"
        assert fhir.json()["entry"][0]["resource"]["resourceType"] == "Consent"


@pytest.mark.django_db
class TestMatchesPage:
    def test_the_overview_says_matching_is_off_rather_than_zero_matches(self, elena_client, elena, documents):
        page = elena_client.get(reverse("portal:home")).content.decode()
        assert "Matching is off" in page
        assert "0 trial matches" not in page

    def test_the_overview_counts_the_matches_once_matching_is_on(
        self, elena_client, elena, criteria, documents
    ):
        trial_with(criteria, EGFR_TRIAL)
        sign(elena, documents[Purpose.MATCHING])
        match_upsert_for_patient(patient=elena, today=TODAY)
        page = elena_client.get(reverse("portal:home")).content.decode()
        assert "1 trial match right now." in page
        assert "Matching is off" not in page

    def test_matches_need_matching_consent(self, elena_client, elena, criteria, documents):
        trial_with(criteria, EGFR_TRIAL)
        match_upsert_for_patient(patient=elena, today=TODAY)
        page = elena_client.get(reverse("portal:matches")).content.decode()
        assert "Matching is off" in page

    def test_before_she_adds_an_illness_elena_is_told_why_every_trial_is_listed(
        self, elena_client, elena, criteria, documents
    ):
        trial_with(criteria, EGFR_TRIAL)
        sign(elena, documents[Purpose.MATCHING])
        elena.diagnoses.all().delete()
        match_upsert_for_patient(patient=elena, today=TODAY)

        page = elena_client.get(reverse("portal:matches")).content.decode()

        assert "You have not added an illness to your profile yet" in page
        assert f'href="{reverse("portal:fact_add", args=["diagnosis"])}"' in page

    def test_with_her_illness_on_file_elena_gets_no_such_note(self, elena_client, elena, criteria, documents):
        trial_with(criteria, EGFR_TRIAL)
        sign(elena, documents[Purpose.MATCHING])
        match_upsert_for_patient(patient=elena, today=TODAY)

        page = elena_client.get(reverse("portal:matches")).content.decode()

        assert "You have not added an illness" not in page

    def test_a_match_shows_status_and_a_plain_explanation_per_criterion(
        self, elena_client, elena, criteria, documents
    ):
        trial = trial_with(criteria, EGFR_TRIAL, brief_title="Osimertinib after progression")
        sign(elena, documents[Purpose.MATCHING])
        match_upsert_for_patient(patient=elena, today=TODAY)
        page = elena_client.get(reverse("portal:matches")).content.decode()
        assert "Osimertinib after progression" in page
        assert "Eligible" in page
        match = elena.matches.get(trial=trial)
        detail = elena_client.get(reverse("portal:match", args=[match.pk])).content.decode()
        assert "You meet this." in detail
        assert "The study team will check this with you." in detail
        assert "From your profile: EGFR exon 19 deletion positive" in detail

    def test_questions_the_profile_has_no_place_for_are_left_to_the_study_team(
        self, elena_client, elena, criteria, documents
    ):
        # "Does this apply to you: <the trial's own words>?" has no field on the profile to answer it in.
        trial = trial_with(criteria, EGFR_TRIAL)
        sign(elena, documents[Purpose.MATCHING])
        match_upsert_for_patient(patient=elena, today=TODAY)
        match = elena.matches.get(trial=trial)
        match.to_settle = [{"kind": "question", "text": "Does this apply to you: Incarcerated?"}]
        match.save(update_fields=["to_settle"])

        detail = elena_client.get(reverse("portal:match", args=[match.pk])).content.decode()

        assert "Answer these by adding to" not in detail
        assert "The study team will go through the others with you." in detail

    def test_the_registry_age_and_sex_limits_read_as_plain_sentences(self, elena_client, elena, documents):
        trial = TrialFactory.create(
            eligibility_text="Inclusion Criteria:\n* Lung adenocarcinoma",
            minimum_age_years=Decimal(18),
            maximum_age_years=Decimal(75),
            sex="FEMALE",
        )
        trial_parse_eligibility(trial_id=trial.pk)
        sign(elena, documents[Purpose.MATCHING])
        match_upsert_for_patient(patient=elena, today=TODAY)
        match = elena.matches.get(trial=trial)

        detail = elena_client.get(reverse("portal:match", args=[match.pk])).content.decode()

        assert "<blockquote>Aged 18 years or over</blockquote>" in detail
        assert "<blockquote>Aged 75 years or under</blockquote>" in detail
        assert "<blockquote>Female (sex recorded at birth)</blockquote>" in detail
        for field_name in ("minimum_age", "maximum_age", "sex:"):
            assert field_name not in detail

    def test_the_list_puts_trials_about_her_diagnosis_first_and_says_why(
        self, elena_client, elena, criteria, documents
    ):
        # Same criteria, so the same verdict and engine score: only relevance to her profile tells them apart.
        trial_with(
            criteria, EGFR_TRIAL, nct_id="NCT00000001", brief_title="Yoga for fatigue", conditions=["Fatigue"]
        )
        trial_with(
            criteria,
            EGFR_TRIAL,
            nct_id="NCT00000002",
            brief_title="Osimertinib in lung adenocarcinoma",
            conditions=["Lung Adenocarcinoma"],
        )
        sign(elena, documents[Purpose.MATCHING])
        match_upsert_for_patient(patient=elena, today=TODAY)
        page = elena_client.get(reverse("portal:matches")).content.decode()
        assert page.index("Osimertinib in lung adenocarcinoma") < page.index("Yoga for fatigue")
        assert "In common: lung, adenocarcinoma" in page
        assert "No topic words in common." in page

    def test_elenas_list_puts_a_kras_g12c_trial_below_an_untargeted_one_and_says_her_tumour_rarely_has_it(
        self, elena_client, elena, documents
    ):
        # Elena: EGFR exon 19 deletion lung adenocarcinoma, never tested for KRAS, PD-L1 TPS 5%. Registry
        # lines: NCT04956640 (KRAS G12C) and NCT04613596 (without its KRAS part, and with a PD-L1 threshold
        # she meets: its TPS >= 50% excludes her, which the matcher once missed).
        kras = TrialFactory.create(
            brief_title="Sotorasib in KRAS G12C-mutant lung adenocarcinoma",
            conditions=["Lung Adenocarcinoma"],
            eligibility_text="Inclusion Criteria:\n* Patients must have disease with evidence of KRAS G12C "
            "mutation in tumor tissue or circulating tumor deoxyribonucleic acid (DNA).",
        )
        plain = TrialFactory.create(
            brief_title="Docetaxel in lung adenocarcinoma",
            conditions=["Lung Adenocarcinoma"],
            eligibility_text="Inclusion Criteria:\n* Histologically confirmed diagnosis of unresectable or "
            "metastatic NSCLC\n* Tumor PD-L1 expression with a tumor proportion score (TPS) of at least 1%",
        )
        for trial in (kras, plain):
            trial_parse_eligibility(trial_id=trial.pk)
        sign(elena, documents[Purpose.MATCHING])
        match_upsert_for_patient(patient=elena, today=TODAY)
        assert elena.matches.get(trial=kras).verdict == "possibly_eligible"

        page = html.unescape(elena_client.get(reverse("portal:matches")).content.decode())

        assert page.index("Docetaxel in lung adenocarcinoma") < page.index("Sotorasib in KRAS G12C-mutant")
        assert (
            "It needs a KRAS G12C result; KRAS mutations are rarely found in tumours with an EGFR mutation"
            " like yours." in page
        )

    def test_interest_needs_contact_consent_then_is_recorded(self, elena_client, elena, criteria, documents):
        trial = trial_with(criteria, EGFR_TRIAL)
        sign(elena, documents[Purpose.MATCHING])
        match_upsert_for_patient(patient=elena, today=TODAY)
        match = elena.matches.get(trial=trial)
        url = reverse("portal:match_interest", args=[match.pk])
        response = elena_client.post(url, follow=True)
        assert "agree to be contacted" in response.content.decode()
        sign(elena, documents[Purpose.CONTACT])
        response = elena_client.post(url, follow=True)
        assert "The study team will be told" in response.content.decode()
        assert TrialInterest.objects.get(patient=elena).trial == trial

    def test_the_nearest_site_distance_is_shown_when_both_have_coordinates(
        self, elena_client, elena, criteria, documents
    ):
        trial = trial_with(criteria, EGFR_TRIAL)
        TrialSiteFactory.create(
            trial=trial,
            site__facility="Boston Thoracic",
            site__latitude="42.3601",
            site__longitude="-71.0589",
        )
        TrialSiteFactory.create(
            trial=trial,
            site__facility="Seattle Cancer",
            site__latitude="47.6062",
            site__longitude="-122.3321",
        )
        PatientProfile.objects.filter(pk=elena.pk).update(latitude="40.7128", longitude="-74.0060")
        sign(elena, documents[Purpose.MATCHING])
        match_upsert_for_patient(patient=elena, today=TODAY)
        page = elena_client.get(reverse("portal:matches")).content.decode()
        assert re.search(r"Nearest site: Boston Thoracic, about 30\d km away", page)


@pytest.mark.django_db
class TestPasteSummary:
    TEXT = "Lung adenocarcinoma with EGFR exon 19 deletion, ALK negative. On osimertinib. ECOG 1. No HIV."

    def test_suggestions_are_offered_unticked_and_only_ticked_ones_are_added(self, elena_client, pat):
        page = elena_client.post(reverse("portal:paste"), {"text": self.TEXT, "read": "1"}).content.decode()
        picks = re.findall(r'name="pick" id="pick-\d+" value="([^"]+)"', page)
        assert "checked" not in page
        shown = re.findall(r'<label for="pick-\d+">([^<]+)<', page)
        # Elena's profile already holds the cancer, both tumour tests, the drug and the ECOG grade
        assert shown == ["No HIV infection (ruled out) "]
        assert (
            'lung adenocarcinoma <span class="muted">(Illness or condition; already on the profile)' in page
        )
        profile = PatientProfile.objects.get(user__email="elena@example.org")
        before = profile.diagnoses.count()
        elena_client.post(reverse("portal:paste"), {"add": "1", "pick": [html.unescape(picks[0])]})
        assert profile.diagnoses.count() == before + 1
        assert profile.diagnoses.get(code="hiv").presence == "absent"

    def test_elenas_old_letter_ticked_after_her_ecog_changed_in_another_tab_saves_nothing(
        self, elena_client, elena
    ):
        letter = "Lung adenocarcinoma. ECOG 0. No HIV."
        page = elena_client.post(reverse("portal:paste"), {"text": letter, "read": "1"}).content.decode()
        picks = [
            html.unescape(pick) for pick in re.findall(r'name="pick" id="pick-\d+" value="([^"]+)"', page)
        ]
        assert any('"ecog": 0' in pick for pick in picks)
        # Meanwhile, in another tab, she records how she is today.
        profile_update(profile=elena, fields={"ecog": 2})
        ticked = {"text": letter, "add": "1", "pick": picks, "shown_version": shown_version(page)}
        response = elena_client.post(reverse("portal:paste"), ticked)
        page = response.content.decode()
        assert response.status_code == 409
        assert "Your profile was changed after this page was opened" in page
        assert page.count(" checked") == len(picks)  # her ticks are kept
        elena.refresh_from_db()
        assert elena.ecog == 2
        assert not elena.diagnoses.filter(code="hiv").exists()
        # Adding from the page shown now is her decision, made knowing: it goes through.
        knowing = {**ticked, "shown_version": shown_version(page)}
        assert elena_client.post(reverse("portal:paste"), knowing).status_code == 302
        # A double click sends the same page twice: the second adds nothing and is no conflict.
        assert elena_client.post(reverse("portal:paste"), knowing).status_code == 302
        elena.refresh_from_db()
        assert elena.ecog == 0
        assert elena.diagnoses.filter(code="hiv").count() == 1

    def test_suggested_tumour_tests_carry_the_names_her_letter_uses(self, client, pat):
        client.force_login(pat)
        page = client.post(
            reverse("portal:paste"), {"text": "HER2-positive breast cancer, ER positive.", "read": "1"}
        ).content.decode()
        shown = [label.strip() for label in re.findall(r'<label for="pick-\d+">([^<]+)<', page)]
        assert "ERBB2 (HER2) positive" in shown
        assert "ESR1 (oestrogen receptor, ER) positive" in shown

    def test_adding_with_nothing_ticked_says_only_that_nothing_was_ticked(self, elena_client):
        response = elena_client.post(reverse("portal:paste"), {"text": self.TEXT, "add": "1"})
        page = response.content.decode()
        assert "Nothing was ticked; tick the items to save." in page
        assert "Untick" not in page

    def test_a_suggestion_quotes_her_words_without_character_positions_or_scores(self, client, pat):
        client.force_login(pat)
        page = client.post(
            reverse("portal:paste"), {"text": "HER2-positive breast cancer.", "read": "1"}
        ).content.decode()
        assert 'From your text: "HER2-positive"' in page
        assert "Read from characters" not in page
        assert "confidence" not in page

    def test_a_tampered_pick_cannot_touch_another_patients_fact(self, elena_client, hana):
        other = hana.biomarkers.first()
        forged = json.dumps(
            {"kind": "biomarker", "fields": {"id": other.pk, "gene": "KRAS", "alteration_type": "mutation"}}
        )
        response = elena_client.post(reverse("portal:paste"), {"add": "1", "pick": [forged]}, follow=True)
        assert "could not be read" in response.content.decode()
        other.refresh_from_db()
        assert other.gene != "KRAS"

    @pytest.mark.parametrize("grade", ["1e999", "-Infinity", "NaN", "1.9", "true", '"2"'])
    def test_a_tampered_performance_status_pick_is_unreadable_and_changes_nothing(self, elena_client, grade):
        forged = '{"kind": "ecog", "fields": {"ecog": ' + grade + "}}"
        response = elena_client.post(reverse("portal:paste"), {"add": "1", "pick": [forged]}, follow=True)
        assert "could not be read" in response.content.decode()
        assert PatientProfile.objects.get(user__email="elena@example.org").ecog == 1


@pytest.mark.django_db
def test_a_patient_session_ends_after_half_an_hour_idle(elena_client):
    elena_client.get(reverse("portal:profile"))
    assert elena_client.session.get_expiry_age() == 30 * 60


@pytest.mark.django_db
def test_sharing_with_one_trial_is_signed_from_its_match_page(elena_client, elena, criteria, documents):
    trial = trial_with(criteria, EGFR_TRIAL)
    sign(elena, documents[Purpose.MATCHING])
    match_upsert_for_patient(patient=elena, today=TODAY)
    match = elena.matches.get(trial=trial)
    page = elena_client.get(reverse("portal:match", args=[match.pk])).content.decode()
    assert "Share my profile with this trial's study team" in page
    response = elena_client.post(
        reverse("portal:consent_sign"),
        {
            "document": documents[Purpose.SHARE].pk,
            "trial": trial.pk,
            "typed_name": "Elena Rossi",
            "read": "on",
            "next": reverse("portal:match", args=[match.pk]),
        },
        follow=True,
    )
    assert "You share your profile with this trial" in response.content.decode()
    assert Consent.objects.get(patient=elena, purpose=Purpose.SHARE).trial == trial


@pytest.mark.django_db
def test_a_new_consent_version_asks_for_re_consent_and_hides_matches_until_signed(
    elena_client, elena, criteria, documents
):
    trial_with(criteria, EGFR_TRIAL, brief_title="Osimertinib after progression")
    sign(elena, documents[Purpose.MATCHING])
    match_upsert_for_patient(patient=elena, today=TODAY)
    publish(
        Purpose.MATCHING,
        "2.0",
        days_ago=0,
        body="We now also compare your profile with observational studies.",
    )
    page = elena_client.get(reverse("portal:consent")).content.decode()
    assert "We changed this text (now version 2.0)" in page
    assert "observational studies" in page
    assert "Matching is off" in elena_client.get(reverse("portal:matches")).content.decode()


@pytest.mark.django_db
def test_the_matches_page_takes_the_same_queries_for_one_match_or_many(
    elena_client, elena, criteria, documents, django_assert_max_num_queries
):
    sign(elena, documents[Purpose.MATCHING])
    trial_with(criteria, EGFR_TRIAL)
    match_upsert_for_patient(patient=elena, today=TODAY)
    # 16: the session's check of a confirmed authenticator and the page's "no illness yet" notice are one
    # query each, whatever the number of matches.
    with django_assert_max_num_queries(16) as one:
        elena_client.get(reverse("portal:matches"))
    for _ in range(4):
        trial_with(criteria, EGFR_TRIAL)
    match_upsert_for_patient(patient=elena, today=TODAY)
    assert elena.matches.count() == 5
    with django_assert_max_num_queries(len(one.captured_queries)):
        elena_client.get(reverse("portal:matches"))
