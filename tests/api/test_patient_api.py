"""The patient's API (me/): own profile, facts, consents and matches only; rules shared with the portal."""

import pytest
from django.urls import reverse

from recruitment.models import Biomarker, Consent, Diagnosis, Match
from recruitment.selectors.portal import patient_matches_ranked
from tests import factories
from tests.api.world import open_interests
from tests.recruitment.consent_helpers import publish
from trials.models import ConsentDocument

pytestmark = pytest.mark.django_db

Purpose = ConsentDocument.Purpose


def test_anonymous_calls_to_patient_endpoints_are_401(api, world):
    assert api.get(reverse("api:me-profile")).status_code == 401


@pytest.mark.parametrize("persona", ["sam", "sophie", "cora"])
def test_other_roles_calling_patient_endpoints_get_403(api, world, persona):
    api.force_authenticate(getattr(world, persona))
    assert api.get(reverse("api:me-profile")).status_code == 403
    assert api.get(reverse("api:me-matches")).status_code == 403
    assert api.post(reverse("api:me-diagnoses"), {"condition": "asthma"}, format="json").status_code == 403


def test_pat_reads_and_patches_her_profile(api, world):
    api.force_authenticate(world.pat)
    assert api.get(reverse("api:me-profile")).json()["birth_date"] == "1965-05-01"
    response = api.patch(reverse("api:me-profile"), {"ecog": 1}, format="json")
    assert response.status_code == 200
    world.pat_profile.refresh_from_db()
    assert (world.pat_profile.ecog, str(world.pat_profile.birth_date)) == (1, "1965-05-01")


def test_a_profile_patch_breaking_a_portal_or_model_rule_is_400_and_saves_nothing(api, world):
    api.force_authenticate(world.pat)
    ecog = api.patch(reverse("api:me-profile"), {"ecog": 5}, format="json")
    pregnant_male = api.patch(
        reverse("api:me-profile"), {"sex": "male", "pregnancy_status": "pregnant"}, format="json"
    )
    assert ecog.status_code == 400
    assert "ecog" in ecog.json()
    assert pregnant_male.status_code == 400
    assert "male at birth, which rules out a pregnancy" in pregnant_male.json()["pregnancy_status"][0]
    world.pat_profile.refresh_from_db()
    assert (world.pat_profile.ecog, world.pat_profile.sex) == (None, "female")


def test_a_profile_patch_from_a_stale_read_is_409_and_keeps_the_newer_change(api, world):
    """As the portal's profile form: a client that sends the `version` it read cannot undo a change saved
    since (another tab, the study team's paste, a record import)."""
    api.force_authenticate(world.pat)
    read = api.get(reverse("api:me-profile")).json()
    newer = api.patch(reverse("api:me-profile"), {"ecog": 1, "version": read["version"]}, format="json")
    stale = api.patch(reverse("api:me-profile"), {"ecog": 3, "version": read["version"]}, format="json")
    assert newer.status_code == 200
    assert newer.json()["version"] != read["version"]
    assert stale.status_code == 409
    assert "changed" in stale.json()["detail"]
    world.pat_profile.refresh_from_db()
    assert world.pat_profile.ecog == 1


def test_a_profile_patch_without_a_version_is_not_checked(api, world):
    api.force_authenticate(world.pat)
    api.patch(reverse("api:me-profile"), {"ecog": 1}, format="json")
    assert api.patch(reverse("api:me-profile"), {"ecog": 2}, format="json").status_code == 200


def test_a_misspelt_field_is_400_not_silently_ignored(api, world):
    """A PATCH of {"ecgo": 1} answered 200 and changed nothing: the client believed it saved."""
    api.force_authenticate(world.pat)
    typo = api.patch(reverse("api:me-profile"), {"ecgo": 1}, format="json")
    fact = api.post(
        reverse("api:me-diagnoses"), {"condition": "asthma", "diagnosed": "2020-01-02"}, format="json"
    )
    assert (typo.status_code, list(typo.json())) == (400, ["ecgo"])
    assert (fact.status_code, list(fact.json())) == (400, ["diagnosed"])
    assert not world.pat_profile.diagnoses.filter(label__iexact="asthma").exists()


def test_a_profile_read_can_be_sent_back_as_a_patch(api, world):
    api.force_authenticate(world.pat)
    read = api.get(reverse("api:me-profile")).json()
    response = api.patch(reverse("api:me-profile"), {**read, "ecog": 2}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["ecog"] == 2


def test_a_profile_patch_nested_too_deeply_for_the_reader_is_400_and_saves_nothing(api, world):
    api.force_authenticate(world.pat)
    body = '{"ecog": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = api.patch(reverse("api:me-profile"), body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
    world.pat_profile.refresh_from_db()
    assert world.pat_profile.ecog is None


def test_pat_adds_a_diagnosis_by_its_name_as_the_portal_form_reads_it(api, world):
    api.force_authenticate(world.pat)
    response = api.post(
        reverse("api:me-diagnoses"),
        {"condition": "Lung Adenocarcinoma", "stage": "iva", "diagnosed_on": "2026-03-10"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["code"], body["stage"], body["source"]) == ("luad", "IVA", "self_reported")
    assert body["course"] == ""
    assert Diagnosis.objects.get(pk=body["id"]).entered_by == world.pat


def test_a_fact_posted_twice_is_recorded_once_and_both_answers_name_it(api, world):
    """A retried POST (a lost answer, a double click) adds nothing, as on the portal; the repeat answers 200
    with the fact already recorded, not a fact without an id."""
    api.force_authenticate(world.pat)
    payload = {"condition": "asthma", "diagnosed_on": "2020-01-02"}
    first = api.post(reverse("api:me-diagnoses"), payload, format="json")
    again = api.post(reverse("api:me-diagnoses"), payload, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] is not None
    assert again.json() == first.json()
    assert world.pat_profile.diagnoses.filter(label__iexact="asthma").count() == 1


@pytest.mark.parametrize(
    ("kind", "payload", "field", "message"),
    [
        ("diagnoses", {"condition": "made-up illness"}, "condition", "could not find this condition"),
        ("diagnoses", {"condition": "lung adenocarcinoma", "stage": "V"}, "stage", "0 or I-IV"),
        ("diagnoses", {"condition": "asthma", "course": "recurrent"}, "course", "recorded for cancers"),
        (
            "diagnoses",
            {"condition": "lung adenocarcinoma", "course": "dormant"},
            "course",
            "not a valid choice",
        ),
        ("biomarkers", {"gene": "NOTAGENE", "alteration_type": "mutation"}, "gene", "don't know this gene"),
        (
            "biomarkers",
            {"gene": "EGFR", "alteration_type": "wild_type", "status": "positive"},
            "status",
            "wild-type result is a negative test",
        ),
        (
            "labs",
            {
                "analyte": "platelet count",
                "value": "150",
                "reference_low": "400",
                "reference_high": "150",
                "collected_on": "2026-11-01",
            },
            "reference_high",
            "upper limit is below its lower limit",
        ),
        (
            "therapies",
            {"drug": "carboplatin", "started_on": "2026-05-01", "ended_on": "2026-04-01"},
            "ended_on",
            "the end date 2026-04-01 is before the start date 2026-05-01",
        ),
        ("procedures", {"name": "lobectomy", "performed_on": "2999-01-01"}, "performed_on", "future"),
        (
            "diagnoses",
            {"condition": "lung adenocarcinoma", "diagnosed_on": "1066-10-14"},
            "diagnosed_on",
            "1066-10-14 is before 1900",
        ),
        (
            "labs",
            {"analyte": "platelet count", "value": "150", "collected_on": "1899-12-31"},
            "collected_on",
            "1899-12-31 is before 1900",
        ),
        (
            "labs",
            {"analyte": "platelet count", "value": "999999", "unit": "10^9/L", "collected_on": "2026-11-01"},
            "value",
            "not a plausible result for platelet count",
        ),
        # Pat was born on 1965-05-01.
        (
            "therapies",
            {"drug": "carboplatin", "started_on": "1950-01-01"},
            "started_on",
            "1950-01-01 is before the patient's birth date (1965-05-01)",
        ),
        (
            "biomarkers",
            {"gene": "EGFR", "alteration_type": "mutation", "tested_on": "1960-01-01"},
            "tested_on",
            "before the patient's birth date",
        ),
    ],
)
def test_a_fact_breaking_a_portal_rule_is_400_with_the_portal_message_and_is_not_saved(
    api, world, kind, payload, field, message
):
    api.force_authenticate(world.pat)
    before = api.get(reverse(f"api:me-{kind}")).json()["count"]
    response = api.post(reverse(f"api:me-{kind}"), payload, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert api.get(reverse(f"api:me-{kind}")).json()["count"] == before


def test_pd_l1_is_stored_under_its_gene_symbol_as_on_the_portal(api, world):
    api.force_authenticate(world.pat)
    response = api.post(
        reverse("api:me-biomarkers"),
        {"gene": "PD-L1", "alteration_type": "expression", "measure": "TPS", "value": "60", "unit": "%"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert Biomarker.objects.get(pk=response.json()["id"]).gene == "CD274"


def test_pat_lists_and_deletes_only_her_own_facts(api, world):
    api.force_authenticate(world.pat)
    mine = api.get(reverse("api:me-therapies")).json()["results"]
    olgas = world.olga_profile.therapies.get()
    assert [t["id"] for t in mine] == [world.pat_profile.therapies.get().pk]
    other = reverse("api:me-therapies-detail", args=[olgas.pk])
    assert api.get(other).status_code == 404
    assert api.delete(other).status_code == 404
    assert api.delete(reverse("api:me-therapies-detail", args=[mine[0]["id"]])).status_code == 204
    assert not world.pat_profile.therapies.exists()
    assert world.olga_profile.therapies.exists()


def test_pats_second_delete_of_a_therapy_is_a_404_saying_it_is_not_among_hers_or_already_removed(api, world):
    """DELETE is idempotent in its effect, not its answer: the repeat finds nothing (RFC 9110 9.3.5). A retry
    after a lost answer reads the 404's text; the schema documents it."""
    api.force_authenticate(world.pat)
    url = reverse("api:me-therapies-detail", args=[world.pat_profile.therapies.get().pk])
    assert api.delete(url).status_code == 204
    again = api.delete(url)
    assert again.status_code == 404
    assert again.json() == {"detail": "No such therapy among yours: never recorded, or already removed."}


@pytest.mark.parametrize("kind", ["diagnoses", "biomarkers", "labs", "therapies", "procedures"])
def test_fact_lists_cost_a_fixed_number_of_queries(api, world, django_assert_num_queries, kind):
    api.force_authenticate(world.pat)
    with django_assert_num_queries(3):  # profile, count, page
        assert api.get(reverse(f"api:me-{kind}")).status_code == 200


def test_consent_status_and_history(api, world):
    api.force_authenticate(world.pat)
    status = api.get(reverse("api:me-consent-status")).json()["purposes"]
    assert [(p["purpose"], p["active"] is not None, p["needs_reconsent"]) for p in status] == [
        ("matching", True, False),
        ("contact", True, False),
    ]
    history = api.get(reverse("api:me-consents")).json()
    assert history["count"] == 2
    assert {c["typed_name"] for c in history["results"]} == {"Pat Example"}


def test_the_consent_history_costs_a_fixed_number_of_queries(api, world, django_assert_num_queries):
    api.force_authenticate(world.pat)
    with django_assert_num_queries(2):  # profile, consents with their documents and trials
        assert api.get(reverse("api:me-consents")).status_code == 200


def test_a_signature_must_be_the_full_name_as_on_the_portal(api, world):
    share = world.documents[Purpose.SHARE]
    api.force_authenticate(world.pat)
    url = reverse("api:me-consent-give")
    wrong = api.post(
        url,
        {"document": share.pk, "read": True, "typed_name": "P. Example", "trial": world.trial.nct_id},
        format="json",
    )
    unread = api.post(
        url,
        {"document": share.pk, "read": False, "typed_name": "Pat Example", "trial": world.trial.nct_id},
        format="json",
    )
    assert wrong.status_code == 400
    assert wrong.json() == {"typed_name": ["Type your full name exactly as on your account: Pat Example."]}
    assert unread.status_code == 400
    assert "read" in unread.json()
    assert not Consent.objects.filter(patient=world.pat_profile, purpose=Purpose.SHARE).exists()
    signed = api.post(
        url,
        {"document": share.pk, "read": True, "typed_name": " pat  example ", "trial": world.trial.nct_id},
        format="json",
    )
    assert signed.status_code == 201, signed.json()
    assert (signed.json()["purpose"], signed.json()["trial"]) == ("share", world.trial.nct_id)


def test_pat_signing_the_matching_consent_she_already_signed_gets_200_with_that_consent_not_a_new_one(
    api, world
):
    matching = world.documents[Purpose.MATCHING]
    signed = Consent.objects.get(
        patient=world.pat_profile, purpose=Purpose.MATCHING, withdrawn_at__isnull=True
    )
    api.force_authenticate(world.pat)
    url = reverse("api:me-consent-give")
    again = api.post(url, {"document": matching.pk, "read": True, "typed_name": "Pat Example"}, format="json")
    assert again.status_code == 200, again.json()
    assert again.json()["id"] == signed.pk
    assert Consent.objects.filter(patient=world.pat_profile, purpose=Purpose.MATCHING).count() == 1
    # A new version of the text is a new consent to sign.
    newer = publish(Purpose.MATCHING, "2.0", days_ago=0)
    renewed = api.post(url, {"document": newer.pk, "read": True, "typed_name": "Pat Example"}, format="json")
    assert renewed.status_code == 201, renewed.json()
    assert renewed.json()["id"] != signed.pk


def test_sharing_without_a_trial_or_matching_with_one_is_400_under_trial(api, world):
    api.force_authenticate(world.pat)
    url = reverse("api:me-consent-give")
    share, matching = world.documents[Purpose.SHARE].pk, world.documents[Purpose.MATCHING].pk
    no_trial = api.post(url, {"document": share, "read": True, "typed_name": "Pat Example"}, format="json")
    with_trial = api.post(
        url,
        {"document": matching, "read": True, "typed_name": "Pat Example", "trial": world.trial.nct_id},
        format="json",
    )
    for refused in (no_trial, with_trial):
        assert refused.status_code == 400
        assert "Sharing is agreed per trial" in refused.json()["trial"][0]
    assert not Consent.objects.filter(patient=world.pat_profile, purpose=Purpose.SHARE).exists()


def test_an_unknown_document_or_trial_is_400(api, world):
    api.force_authenticate(world.pat)
    url = reverse("api:me-consent-give")
    no_document = api.post(
        url, {"document": 999999, "read": True, "typed_name": "Pat Example"}, format="json"
    )
    share = world.documents[Purpose.SHARE].pk
    no_trial = api.post(
        url, {"document": share, "read": True, "typed_name": "Pat Example", "trial": "NCT0"}, format="json"
    )
    assert no_document.status_code == 400
    assert "document" in no_document.json()
    assert no_trial.status_code == 400
    assert "No trial NCT0." in no_trial.json()["trial"]


def test_withdrawing_matching_consent_per_purpose_ends_the_matches_at_once(api, world):
    api.force_authenticate(world.pat)
    assert api.get(reverse("api:me-matches")).json()["count"] == 1
    response = api.post(
        reverse("api:me-consent-withdraw"), {"purpose": "matching", "reason": "taking a break"}, format="json"
    )
    assert response.status_code == 200
    assert [c["purpose"] for c in response.json()["withdrawn"]] == ["matching"]
    assert api.get(reverse("api:me-matches")).json()["count"] == 0
    contact = api.get(reverse("api:me-consent-status")).json()["purposes"][1]
    assert contact["active"] is not None  # the other purpose stays


def test_a_match_explains_each_criterion_and_what_would_settle_it(api, world):
    api.force_authenticate(world.pat)
    (row,) = api.get(reverse("api:me-matches")).json()["results"]
    assert row["verdict"] == "possibly_eligible"
    detail = api.get(reverse("api:me-match", args=[row["id"]])).json()
    first, unknown, exclusion = detail["criteria"]
    assert (first["explanation"], first["evidence"]) == ("You meet this.", ["lung adenocarcinoma"])
    assert (unknown["explanation"], unknown["to_settle"]) == (
        "We don't know yet.",
        ["PD-L1 22C3 TPS not on file"],
    )
    assert exclusion["explanation"] == "This does not apply to you."
    assert detail["to_settle"] == ["PD-L1 22C3 TPS not on file"]


def test_pat_reads_her_matchs_registry_age_limit_as_the_portal_words_it_with_the_registry_text_beside(
    api, world
):
    age = {"section": "inclusion", "text": "minimum_age: 18 Years", "outcome": "satisfied", "atoms": []}
    world.pat_match.criteria = [age, *world.pat_match.criteria]
    world.pat_match.save(update_fields=["criteria"])
    api.force_authenticate(world.pat)
    detail = api.get(reverse("api:me-match", args=[world.pat_match.pk])).json()
    first, nsclc = detail["criteria"][:2]
    assert (first["text"], first["registry_text"]) == ("Aged 18 years or over", "minimum_age: 18 Years")
    assert nsclc["text"] == nsclc["registry_text"] == "Histologically confirmed NSCLC"


def test_another_patients_match_is_404(api, world):
    api.force_authenticate(world.pat)
    assert api.get(reverse("api:me-match", args=[world.olga_match.pk])).status_code == 404
    assert api.post(reverse("api:me-match-interest", args=[world.olga_match.pk])).status_code == 404


def test_the_match_list_costs_a_fixed_number_of_queries(api, world, django_assert_num_queries):
    for _ in range(3):
        trial = factories.TrialSiteFactory.create().trial
        Match.objects.create(patient=world.pat_profile, trial=trial, verdict="eligible", score=1.0)
    api.force_authenticate(world.pat)
    # Profile, consent documents, consent, matches, their sites, interests, the profile's terms (ranking).
    with django_assert_num_queries(7):
        assert api.get(reverse("api:me-matches")).json()["count"] == 4


def test_the_match_list_is_ranked_and_explained_as_on_the_portal(api, world):
    about_her = factories.TrialSiteFactory.create(trial__conditions=["Lung adenocarcinoma"]).trial
    unrelated = factories.TrialSiteFactory.create(trial__conditions=["Psoriasis"]).trial
    Match.objects.create(patient=world.pat_profile, trial=about_her, verdict="eligible", score=0.9)
    Match.objects.create(patient=world.pat_profile, trial=unrelated, verdict="eligible", score=1.0)
    api.force_authenticate(world.pat)
    rows = api.get(reverse("api:me-matches")).json()["results"]
    portal = patient_matches_ranked(patient=world.pat_profile)
    assert [(r["id"], r["explanation"]) for r in rows] == [(p.match.pk, p.explanation) for p in portal]
    order = [r["trial"]["nct_id"] for r in rows]
    assert order.index(about_her.nct_id) < order.index(unrelated.nct_id)
    assert all(r["explanation"] for r in rows)


def test_pat_expresses_interest_in_a_matched_trial(api, world):
    api.force_authenticate(world.pat)
    response = api.post(reverse("api:me-match-interest", args=[world.pat_match.pk]))
    assert response.status_code == 200
    assert open_interests(world.pat_profile) == [world.trial.nct_id]
    assert api.get(reverse("api:me-match", args=[world.pat_match.pk])).json()["interested"] is True


def test_interest_without_contact_consent_is_400_with_the_portal_message(api, world):
    api.force_authenticate(world.pat)
    api.post(reverse("api:me-consent-withdraw"), {"purpose": "contact"}, format="json")
    response = api.post(reverse("api:me-match-interest", args=[world.pat_match.pk]))
    assert response.status_code == 400
    assert "first agree to be contacted" in response.json()["detail"]
    assert open_interests(world.pat_profile) == []


def test_withdrawing_matching_with_a_trial_is_refused_and_withdraws_nothing(api, world):
    api.force_authenticate(world.pat)
    response = api.post(
        reverse("api:me-consent-withdraw"),
        {"purpose": "matching", "trial": world.trial.nct_id},
        format="json",
    )
    assert response.status_code == 400
    assert "Only sharing is agreed per trial" in response.json()["trial"][0]
    assert world.pat_profile.consents.filter(purpose="matching", withdrawn_at__isnull=True).exists()


@pytest.mark.parametrize("reason", ["x" * 501, "changed my\x00mind"])
def test_a_withdrawal_with_a_tampered_reason_is_400_and_withdraws_nothing(api, world, reason):
    api.force_authenticate(world.pat)
    response = api.post(
        reverse("api:me-consent-withdraw"), {"purpose": "matching", "reason": reason}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["reason"]
    assert world.pat_profile.consents.filter(purpose="matching", withdrawn_at__isnull=True).exists()


def test_pat_records_through_the_api_a_course_she_stopped_without_knowing_when(api, world):
    api.force_authenticate(world.pat)
    response = api.post(
        reverse("api:me-therapies"),
        {"drug": "carboplatin", "started_on": "2023-01-10", "ended": True},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["ended"] is True
    assert world.pat_profile.therapies.get(pk=response.json()["id"]).ended
