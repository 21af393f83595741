"""Consent: versioned immutable documents, signatures per purpose, re-consent on a new version, withdrawal
effective at once (matches retired, interests closed, hook and e-mail after commit), FHIR and PDF copies."""

import re
import unicodedata

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from recruitment.consent_pdf import consent_pdf
from recruitment.fhir import patient_consents_bundle
from recruitment.models import Consent, ConsentEvent, MatchEvent, TrialInterest
from recruitment.selectors.consent import (
    consent_overview,
    current_consent_document,
    patient_has_active_consent,
    profiles_with_active_consent,
)
from recruitment.services.consent import (
    ConsentError,
    consent_give,
    consent_withdraw,
    consent_withdrawn,
    trial_interest_express,
)
from tests.factories import TrialFactory
from tests.recruitment.consent_helpers import Purpose, name_patient, publish, publish_all, sign
from tests.recruitment.test_match_services import EGFR_TRIAL, live, trial_with


@pytest.fixture
def documents(db):
    return publish_all()


@pytest.fixture
def named_elena(elena):
    name_patient(elena)
    return elena


@pytest.mark.django_db
class TestConsentDocuments:
    def test_the_content_hash_is_the_sha256_of_title_and_body(self, documents):
        document = documents[Purpose.MATCHING]
        assert re.fullmatch(r"[0-9a-f]{64}", document.content_hash)
        assert document.content_hash == document.hash_content(document.title, document.body)

    def test_a_published_text_cannot_be_edited_only_replaced_by_a_new_version(self, documents):
        document = documents[Purpose.MATCHING]
        document.body = "A quietly changed text."
        with pytest.raises(ValidationError, match="new version"):
            document.save()

    def test_a_published_version_can_still_be_given_an_end_date(self, documents):
        document = documents[Purpose.MATCHING]
        document.effective_until = timezone.now()
        document.save()
        assert current_consent_document(purpose=Purpose.MATCHING) is None

    def test_the_current_version_is_the_latest_in_effect(self, documents):
        newer = publish(Purpose.MATCHING, "2.0", days_ago=1, body="Revised text.")
        publish(Purpose.MATCHING, "3.0", days_ago=-5, body="Not yet in effect.")
        assert current_consent_document(purpose=Purpose.MATCHING) == newer


@pytest.mark.django_db
class TestGivingConsent:
    def test_signature_records_name_time_meaning_version_hash_and_origin(self, documents, named_elena):
        document = documents[Purpose.MATCHING]
        consent = consent_give(
            patient=named_elena,
            document=document,
            typed_name="  elena   ROSSI ",
            ip_address="203.0.113.9",
            user_agent="Firefox",
        )
        assert (consent.typed_name, consent.document_version, consent.document_hash) == (
            "elena ROSSI",
            "1.0",
            document.content_hash,
        )
        assert consent.meaning.startswith("I agree that my profile is compared")
        assert (consent.ip_address, consent.user_agent) == ("203.0.113.9", "Firefox")
        assert [e.kind for e in consent.events.all()] == [ConsentEvent.Kind.GIVEN]
        assert patient_has_active_consent(patient=named_elena, purpose=Purpose.MATCHING)

    def test_each_purpose_is_consented_separately(self, documents, named_elena):
        sign(named_elena, documents[Purpose.MATCHING])
        assert not patient_has_active_consent(patient=named_elena, purpose=Purpose.CONTACT)

    def test_a_name_other_than_the_patients_is_refused(self, documents, named_elena):
        with pytest.raises(ConsentError, match="Elena Rossi"):
            consent_give(patient=named_elena, document=documents[Purpose.MATCHING], typed_name="E. Rossi")
        assert not Consent.objects.exists()

    def test_the_name_typed_with_combining_accents_is_the_same_name(self, documents, named_elena):
        """'José' is one character (NFC) or 'e' and a combining accent (NFD, as some keyboards and pasted
        text give it): both look the same, and were refused as another name than the account's."""
        name_patient(named_elena, first="José", last="Núñez")
        typed = unicodedata.normalize("NFD", "José Núñez")
        assert typed != "José Núñez"
        consent = consent_give(patient=named_elena, document=documents[Purpose.MATCHING], typed_name=typed)
        assert consent.typed_name == typed  # the signature is kept as typed

    def test_a_superseded_version_cannot_be_signed(self, documents, named_elena):
        publish(Purpose.MATCHING, "2.0", days_ago=1, body="Revised text.")
        with pytest.raises(ConsentError, match="no longer in use"):
            sign(named_elena, documents[Purpose.MATCHING])

    def test_sharing_is_given_per_trial(self, documents, named_elena):
        trial = TrialFactory.create()
        with pytest.raises(ConsentError, match="per trial"):
            sign(named_elena, documents[Purpose.SHARE])
        sign(named_elena, documents[Purpose.SHARE], trial=trial)
        assert patient_has_active_consent(patient=named_elena, purpose=Purpose.SHARE, trial=trial)
        other = TrialFactory.create()
        assert not patient_has_active_consent(patient=named_elena, purpose=Purpose.SHARE, trial=other)

    def test_signing_twice_keeps_one_signature(self, documents, named_elena):
        first = sign(named_elena, documents[Purpose.MATCHING])
        assert sign(named_elena, documents[Purpose.MATCHING]) == first

    def test_a_new_version_pauses_consent_until_signed_again(self, documents, named_elena, hana):
        name_patient(hana, "Hana", "Sato")
        sign(named_elena, documents[Purpose.MATCHING])
        sign(hana, documents[Purpose.MATCHING])
        assert set(profiles_with_active_consent(Purpose.MATCHING)) == {named_elena, hana}
        second = publish(Purpose.MATCHING, "2.0", days_ago=0, body="Revised text.")
        assert not patient_has_active_consent(patient=named_elena, purpose=Purpose.MATCHING)
        overview = {row.purpose: row for row in consent_overview(patient=named_elena)}
        assert overview[Purpose.MATCHING].needs_reconsent
        assert overview[Purpose.MATCHING].document == second
        sign(named_elena, second)
        assert list(profiles_with_active_consent(Purpose.MATCHING)) == [named_elena]

    def test_giving_matching_consent_matches_the_patient_after_commit(
        self, criteria, documents, named_elena, django_capture_on_commit_callbacks
    ):
        trial_with(criteria, EGFR_TRIAL)
        with django_capture_on_commit_callbacks(execute=True):
            sign(named_elena, documents[Purpose.MATCHING])
        assert [m.verdict for m in live(named_elena)] == ["eligible"]


@pytest.mark.django_db
class TestWithdrawal:
    def test_withdrawing_matching_retires_every_live_match_at_once(
        self, criteria, documents, named_elena, django_capture_on_commit_callbacks
    ):
        trial_with(criteria, EGFR_TRIAL)
        with django_capture_on_commit_callbacks(execute=True):
            consent = sign(named_elena, documents[Purpose.MATCHING])
        (match,) = live(named_elena)
        with django_capture_on_commit_callbacks(execute=True):
            consent_withdraw(patient=named_elena, purposes=[Purpose.MATCHING], reason="changed my mind")
        assert live(named_elena) == []
        match.refresh_from_db()
        assert match.retired_at is not None
        retired = match.events.get(kind=MatchEvent.Kind.RETIRED)
        assert retired.detail == {"reason": "matching consent withdrawn"}
        consent.refresh_from_db()
        assert (consent.typed_name, consent.withdrawal_reason) == ("Elena Rossi", "changed my mind")
        assert [e.kind for e in consent.events.all()] == ["given", "withdrawn"]
        assert not patient_has_active_consent(patient=named_elena, purpose=Purpose.MATCHING)

    def test_consenting_again_adds_a_signature_and_keeps_the_withdrawn_one(self, documents, named_elena):
        first = sign(named_elena, documents[Purpose.MATCHING])
        consent_withdraw(patient=named_elena)
        second = sign(named_elena, documents[Purpose.MATCHING])
        assert second.pk != first.pk
        assert Consent.objects.filter(patient=named_elena).count() == 2

    def test_withdrawing_contact_closes_interests_and_tells_the_site_workflow_after_commit(
        self, documents, named_elena, django_capture_on_commit_callbacks
    ):
        trial = TrialFactory.create()
        sign(named_elena, documents[Purpose.CONTACT])
        interest = trial_interest_express(patient=named_elena, trial=trial)
        received: list[dict[str, object]] = []

        def receiver(sender: object, **kwargs: object) -> None:
            received.append(kwargs)

        consent_withdrawn.connect(receiver)
        try:
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                consent_withdraw(patient=named_elena, purposes=[Purpose.CONTACT])
            assert received == []
            for callback in callbacks:
                callback()
        finally:
            consent_withdrawn.disconnect(receiver)
        interest.refresh_from_db()
        assert interest.withdrawn_at is not None
        assert received[0]["purposes"] == {Purpose.CONTACT}
        assert received[0]["interest_ids"] == [interest.pk]
        assert mail.outbox[-1].to == [named_elena.user.email]
        assert "be contacted by trial sites" in mail.outbox[-1].body

    def test_withdrawing_sharing_with_one_trial_leaves_the_others(self, documents, named_elena):
        first, second = TrialFactory.create(), TrialFactory.create()
        sign(named_elena, documents[Purpose.SHARE], trial=first)
        sign(named_elena, documents[Purpose.SHARE], trial=second)
        consent_withdraw(patient=named_elena, purposes=[Purpose.SHARE], trial=first)
        assert not patient_has_active_consent(patient=named_elena, purpose=Purpose.SHARE, trial=first)
        assert patient_has_active_consent(patient=named_elena, purpose=Purpose.SHARE, trial=second)

    @pytest.mark.parametrize("reason", ["x" * 501, "changed my\x00mind"])
    def test_a_reason_the_consent_cannot_keep_whole_is_refused_and_nothing_withdrawn(
        self, documents, named_elena, reason
    ):
        sign(named_elena, documents[Purpose.MATCHING])
        with pytest.raises(ConsentError, match="at most 500 characters; nothing was withdrawn"):
            consent_withdraw(patient=named_elena, reason=reason)
        assert Consent.objects.get(patient=named_elena).withdrawn_at is None

    def test_withdrawing_all_leaves_nothing_active(self, documents, named_elena):
        for purpose in (Purpose.MATCHING, Purpose.CONTACT):
            sign(named_elena, documents[purpose])
        assert len(consent_withdraw(patient=named_elena)) == 2
        assert not Consent.objects.filter(withdrawn_at__isnull=True).exists()

    def test_interest_needs_contact_consent(self, documents, named_elena):
        with pytest.raises(ConsentError, match="agree to be contacted"):
            trial_interest_express(patient=named_elena, trial=TrialFactory.create())
        assert not TrialInterest.objects.exists()


@pytest.mark.django_db
class TestCopies:
    def test_fhir_export_is_an_r4_consent_per_signature(self, documents, named_elena):
        trial = TrialFactory.create(nct_id="NCT05000009")
        sign(named_elena, documents[Purpose.MATCHING])
        sign(named_elena, documents[Purpose.SHARE], trial=trial)
        consent_withdraw(patient=named_elena, purposes=[Purpose.MATCHING])
        bundle = patient_consents_bundle(patient=named_elena)
        assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
        resources = [entry["resource"] for entry in bundle["entry"]]
        assert len(resources) == 2
        for resource in resources:
            assert resource["resourceType"] == "Consent"
            assert resource["status"] in {
                "draft",
                "proposed",
                "active",
                "rejected",
                "inactive",
                "entered-in-error",
            }
            assert resource["scope"]["coding"][0]["code"] == "research"
            assert resource["category"][0]["coding"]
            assert resource["patient"]["reference"] == f"Patient/{named_elena.pk}"
            assert resource["policyRule"]["coding"]  # ppc-1: policy or policyRule
            assert resource["provision"]["type"] in {"deny", "permit"}
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", resource["dateTime"])
        by_purpose = {r["provision"]["purpose"][0]["code"]: r for r in resources}
        assert by_purpose["matching"]["status"] == "inactive"
        assert "end" in by_purpose["matching"]["provision"]["period"]
        assert by_purpose["share"]["status"] == "active"
        assert (
            by_purpose["share"]["provision"]["data"][0]["reference"]["reference"]
            == "ResearchStudy/NCT05000009"
        )

    def test_pdf_copy_is_a_well_formed_pdf_with_the_signature(self, documents, named_elena):
        consent = sign(named_elena, documents[Purpose.MATCHING])
        pdf = consent_pdf(consent)
        assert pdf.startswith(b"%PDF-1.4")
        assert pdf.rstrip().endswith(b"%%EOF")
        assert b"Signed by: Elena Rossi" in pdf
        assert consent.document_hash.encode() in pdf
        startxref = int(re.search(rb"startxref\n(\d+)", pdf).group(1))  # type: ignore[union-attr]
        assert pdf[startxref:].startswith(b"xref")
        offsets = [int(o) for o in re.findall(rb"(\d{10}) 00000 n", pdf)]
        for number, offset in enumerate(offsets, start=1):
            assert pdf[offset:].startswith(b"%d 0 obj" % number)

    def test_a_long_text_runs_over_several_pages(self, named_elena):
        document = publish(Purpose.MATCHING, body="\n".join(f"Paragraph {i}." for i in range(150)))
        pdf = consent_pdf(sign(named_elena, document))
        assert pdf.count(b"/Type /Page ") == 4  # 52 lines a page
