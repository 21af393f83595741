"""A patient's profile exported as a FHIR R4 Bundle and imported again into an empty profile gives the same
facts: the export writes what the import reads."""

import datetime
import json
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from recruitment.fhir import patient_record_bundle
from recruitment.fhir_import import bundle_read, fhir_import_confirm
from recruitment.models import Biomarker, Diagnosis, LabResult, PatientProfile, Procedure, Therapy, User
from recruitment.services.profile import patient_profile_for
from tests.recruitment import factories

pytestmark = pytest.mark.django_db

PROVENANCE = {"id", "patient", "source", "entered_by", "entered_at"}


@pytest.fixture
def ines(db) -> PatientProfile:
    """Ines: lung adenocarcinoma, EGFR L858R, on osimertinib after carboplatin; hepatitis B resolved, HIV
    ruled out; radiotherapy known by its month only."""
    profile = factories.PatientProfileFactory.create(
        user__email="ines@example.org",
        birth_date=datetime.date(1968, 5, 2),
        sex=PatientProfile.Sex.FEMALE,
        ecog=1,
        ecog_assessed_on=datetime.date(2026, 10, 1),
    )
    factories.DiagnosisFactory(
        patient=profile,
        code="luad",
        label="lung adenocarcinoma",
        stage="IVA",
        diagnosed_on=datetime.date(2024, 2, 1),
        course="recurrent",
    )
    factories.DiagnosisFactory(
        patient=profile,
        code="hbv",
        label="hepatitis B",
        diagnosed_on=datetime.date(2010, 1, 1),
        diagnosed_on_precision="year",
        resolved=True,
    )
    factories.DiagnosisFactory(
        patient=profile, code="hiv", label="HIV infection", presence=Diagnosis.Presence.ABSENT
    )
    factories.BiomarkerFactory(
        patient=profile,
        gene="EGFR",
        alteration_type=Biomarker.Alteration.MUTATION,
        protein_change="L858R",
        assay="NGS",
        tested_on=datetime.date(2024, 2, 20),
    )
    factories.BiomarkerFactory(
        patient=profile,
        gene="KRAS",
        alteration_type=Biomarker.Alteration.WILD_TYPE,
        status="negative",
        assay="NGS",
        tested_on=datetime.date(2024, 2, 20),
    )
    factories.BiomarkerFactory(
        patient=profile,
        gene="CD274",
        alteration_type=Biomarker.Alteration.EXPRESSION,
        measure="TPS",
        value=60,
        unit="%",
        tested_on=datetime.date(2024, 2, 22),
    )
    factories.LabResultFactory(
        patient=profile,
        analyte="serum creatinine",
        loinc="2160-0",
        value="0.9",
        unit="mg/dL",
        reference_low="0.5",
        reference_high="1.1",
        collected_on=datetime.date(2026, 10, 1),
    )
    factories.LabResultFactory(
        patient=profile,
        analyte="platelet count",
        loinc="777-3",
        value=210,
        unit="10^9/L",
        collected_on=datetime.date(2026, 10, 1),
    )
    factories.TherapyFactory(
        patient=profile,
        drug="carboplatin",
        started_on=datetime.date(2024, 3, 5),
        ended_on=datetime.date(2024, 6, 20),
    )
    factories.TherapyFactory(patient=profile, drug="osimertinib", started_on=datetime.date(2024, 7, 1))
    factories.TherapyFactory(
        patient=profile, drug="cisplatin", started_on=datetime.date(2015, 1, 5), ended=True
    )
    factories.ProcedureFactory(
        patient=profile,
        code="radiotherapy",
        name="radiotherapy",
        performed_on=datetime.date(2024, 4, 1),
        performed_on_precision="month",
    )
    return profile


def facts_of(profile: PatientProfile) -> dict[str, list[dict]]:
    """Every fact's content, without who entered it and when."""
    found = {}
    for model in (Diagnosis, Biomarker, LabResult, Therapy, Procedure):
        rows = [
            {
                name: value.normalize() if isinstance(value, Decimal) else value
                for name, value in model_to_dict(row).items()
                if name not in PROVENANCE
            }
            for row in model.objects.filter(patient=profile)
        ]
        found[model.__name__] = sorted(rows, key=repr)
    profile.refresh_from_db()
    found["profile"] = [{f: getattr(profile, f) for f in ("birth_date", "sex", "ecog", "ecog_assessed_on")}]
    return found


def round_trip(source: PatientProfile, into: User) -> PatientProfile:
    """`source` exported, read back with nothing skipped, and every fact confirmed into `into`'s empty
    profile."""
    preview = bundle_read(json.dumps(patient_record_bundle(patient=source)))
    assert preview.skipped == []
    empty = patient_profile_for(into)
    fhir_import_confirm(profile=empty, preview=preview, keys=[f.key for f in preview.facts], actor=into)
    return empty


def test_ines_profile_exported_and_imported_into_an_empty_profile_gives_the_same_facts(ines, pat):
    assert facts_of(round_trip(ines, pat)) == facts_of(ines)


def test_the_export_leaves_out_contact_details(ines):
    PatientProfile.objects.filter(pk=ines.pk).update(phone="+1 617 555 0100", postcode="02115")
    ines.refresh_from_db()
    text = json.dumps(patient_record_bundle(patient=ines))
    assert "555" not in text
    assert "02115" not in text


def test_hanas_receptor_results_survive_the_round_trip(hana, pat):
    """HER2 IHC 1+ (negative, HercepTest) and ER 90 %: tumour markers, each with its assay."""
    assert facts_of(round_trip(hana, pat))["Biomarker"] == facts_of(hana)["Biomarker"]


def test_ines_downloads_her_profile_as_a_fhir_file(client, ines):
    client.force_login(ines.user)
    response = client.get(reverse("portal:profile_fhir"))
    assert response["Content-Type"] == "application/fhir+json"
    assert "attachment" in response["Content-Disposition"]
    assert json.loads(response.content) == patient_record_bundle(patient=ines)


@pytest.mark.parametrize("persona", ["sam", "sophie", "cora"])
def test_the_profile_download_is_for_patients_only(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("portal:profile_fhir")).status_code == 404
