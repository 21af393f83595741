"""The FHIR exports (the site's ResearchStudy/ResearchSubject bundle, the patient's Consent bundle) are valid
R4 resources as fhir.resources reads them, not merely JSON of the right shape."""

import json

import pytest
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle

from recruitment.fhir import patient_consents_bundle
from recruitment.models import CandidateStatus
from recruitment.services.consent import consent_withdraw
from recruitment.services.workflow import candidate_transition
from tests import factories
from tests.recruitment.consent_helpers import Purpose, name_patient, publish_all, sign
from tests.recruitment.workflow_helpers import candidate_for

S = CandidateStatus


def _resource_types(data: dict[str, object]) -> list[str]:
    """The bundle's resource types once fhir.resources has read it: it raises pydantic's ValidationError,
    naming the element, for anything R4 does not allow."""
    bundle = Bundle.model_validate(data)
    return [entry.resource.get_resource_type() for entry in bundle.entry or [] if entry.resource is not None]


@pytest.mark.django_db
def test_the_site_research_bundle_is_valid_r4(client, sam, nsclc_trial, boston_site):
    arm = factories.ArmFactory.create(trial=nsclc_trial, label="EGFR exon 19")
    candidate = candidate_for(nsclc_trial, boston_site, email="elena@example.org", arm=arm, contact=True)
    for step in (S.PRE_SCREENED, S.CONTACTED, S.CONSENTED, S.SCREENING, S.ENROLLED):
        candidate_transition(candidate_id=candidate.pk, to_status=step, actor=sam)
    client.force_login(sam)
    response = client.get(reverse("site:fhir", args=[boston_site.pk, nsclc_trial.pk]))
    assert _resource_types(json.loads(response.content)) == ["ResearchStudy", "ResearchSubject"]


@pytest.mark.django_db
def test_the_site_research_bundle_resolves_its_references_within_itself(
    client, sam, nsclc_trial, boston_site
):
    candidate_for(nsclc_trial, boston_site, email="elena@example.org", contact=True)
    client.force_login(sam)
    bundle = json.loads(client.get(reverse("site:fhir", args=[boston_site.pk, nsclc_trial.pk])).content)
    full_urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        # The FHIR rule: a relative reference resolves against the base of the referring entry's fullUrl.
        assert entry["fullUrl"].endswith(f"/{resource['resourceType']}/{resource['id']}")
        base = entry["fullUrl"].removesuffix(f"/{resource['resourceType']}/{resource['id']}")
        if "study" in resource:
            assert f"{base}/{resource['study']['reference']}" in full_urls


@pytest.mark.django_db
def test_the_patients_consent_bundle_is_valid_r4(elena):
    documents = publish_all()
    name_patient(elena)
    trial = factories.TrialFactory.create(nct_id="NCT05000019")
    sign(elena, documents[Purpose.MATCHING])
    sign(elena, documents[Purpose.SHARE], trial=trial)
    consent_withdraw(patient=elena, purposes=[Purpose.MATCHING])
    assert _resource_types(patient_consents_bundle(patient=elena)) == ["Consent", "Consent"]
