"""Patient profile facts: validation with clear messages, and normalisation to the nlp vocabularies."""

import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from nlp.units import convert
from recruitment import validators
from recruitment.models import Biomarker, Diagnosis, LabResult, PatientProfile, Procedure, Therapy
from recruitment.selectors.matching import patient_facts
from tests.factories import UserFactory
from tests.recruitment import factories

FUTURE = datetime.date.today() + datetime.timedelta(days=30)


def messages(error: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return error.value.message_dict


@pytest.mark.django_db
class TestValidation:
    def test_birth_date_in_the_future_is_refused(self):
        with pytest.raises(ValidationError) as error:
            factories.PatientProfileFactory.create(birth_date=FUTURE)
        assert messages(error)["birth_date"] == [f"{FUTURE} is in the future."]

    def test_ecog_off_the_scale_is_refused(self):
        with pytest.raises(ValidationError) as error:
            factories.PatientProfileFactory.create(ecog=6)
        assert messages(error)["ecog"] == [
            "An ECOG performance status is 0, 1, 2, 3 or 4 (5 means the patient has died), not 6."
        ]

    def test_a_negative_ecog_gets_one_message(self):
        with pytest.raises(ValidationError) as error:
            factories.PatientProfileFactory.create(ecog=-1)
        assert messages(error)["ecog"] == [
            "An ECOG performance status is 0, 1, 2, 3 or 4 (5 means the patient has died), not -1."
        ]

    def test_a_negative_line_of_therapy_gets_one_message(self):
        with pytest.raises(ValidationError) as error:
            factories.TherapyFactory.create(line=-2)
        assert messages(error)["line"] == ["Lines of therapy are counted from 1 to 20 (got -2)."]

    def test_only_patients_have_profiles(self):
        sam = UserFactory.create(role="site_staff")
        with pytest.raises(ValidationError) as error:
            factories.PatientProfileFactory.create(user=sam)
        assert any("not a patient" in message for message in messages(error)["user"])

    def test_a_man_cannot_be_recorded_as_pregnant(self):
        with pytest.raises(ValidationError) as error:
            factories.PatientProfileFactory.create(sex="male", pregnancy_status="pregnant")
        assert "rules out a pregnancy" in messages(error)["pregnancy_status"][0]

    def test_negative_lab_values_are_refused(self):
        with pytest.raises(ValidationError) as error:
            factories.LabResultFactory.create(value=-1)
        assert messages(error)["value"] == ["A measured value cannot be negative (got -1)."]

    def test_a_lab_value_far_beyond_any_real_result_is_refused(self):
        with pytest.raises(ValidationError) as error:
            factories.LabResultFactory.create(analyte="serum creatinine", loinc="", value=500, unit="mg/dL")
        assert "500 mg/dL is not a plausible result for serum creatinine" in messages(error)["value"][0]

    def test_a_high_but_real_lab_value_in_another_unit_is_kept(self):
        lab = factories.LabResultFactory.create(
            analyte="serum creatinine", loinc="", value=800, unit="umol/L"
        )
        assert lab.pk is not None

    def test_a_lab_value_in_another_unit_is_converted_once_to_be_checked(self, monkeypatch):
        conversions = []

        def counted(*args: Any) -> float:
            conversions.append(args)
            return convert(*args)

        monkeypatch.setattr(validators, "convert", counted)
        factories.LabResultFactory.create(analyte="serum creatinine", loinc="", value=800, unit="umol/L")
        assert conversions == [(800.0, "umol/L", "mg/dL", "creatinine")]

    def test_reference_range_must_be_ordered(self):
        with pytest.raises(ValidationError) as error:
            factories.LabResultFactory.create(reference_low=5, reference_high=1)
        assert "upper limit is below its lower limit" in messages(error)["reference_high"][0]

    def test_therapy_cannot_end_before_it_started(self):
        with pytest.raises(ValidationError) as error:
            factories.TherapyFactory.create(
                started_on=datetime.date(2026, 5, 1), ended_on=datetime.date(2026, 4, 1)
            )
        assert messages(error)["ended_on"] == [
            "A therapy cannot end before it started: the end date 2026-04-01 is before the start date "
            "2026-05-01. Correct one of the two dates."
        ]

    def test_a_fact_dated_before_1900_is_refused_naming_the_date(self):
        with pytest.raises(ValidationError) as error:
            factories.ProcedureFactory.create(name="lobectomy", performed_on=datetime.date(1826, 1, 1))
        assert messages(error)["performed_on"] == ["1826-01-01 is before 1900: not a plausible date."]

    def test_a_fact_dated_before_the_patients_birth_is_refused(self):
        elena = factories.PatientProfileFactory.create(birth_date=datetime.date(1968, 4, 2))
        with pytest.raises(ValidationError) as error:
            factories.DiagnosisFactory.create(patient=elena, diagnosed_on=datetime.date(1968, 4, 1))
        assert messages(error)["diagnosed_on"] == [
            "1968-04-01 is before the patient's birth date (1968-04-02)."
        ]

    def test_an_ecog_assessment_before_1900_is_refused(self):
        with pytest.raises(ValidationError) as error:
            factories.PatientProfileFactory.create(ecog=1, ecog_assessed_on=datetime.date(1800, 1, 1))
        assert messages(error)["ecog_assessed_on"] == ["1800-01-01 is before 1900: not a plausible date."]

    def test_unknown_diagnosis_code_is_refused(self):
        with pytest.raises(ValidationError) as error:
            factories.DiagnosisFactory.create(code="lung thing")
        assert "not in the diagnosis vocabulary" in messages(error)["code"][0]

    def test_wild_type_must_be_recorded_as_negative(self):
        with pytest.raises(ValidationError) as error:
            factories.BiomarkerFactory.create(
                alteration_type=Biomarker.Alteration.WILD_TYPE, status="positive"
            )
        assert "negative test" in messages(error)["status"][0]

    def test_percentages_stop_at_one_hundred(self):
        with pytest.raises(ValidationError) as error:
            factories.BiomarkerFactory.create(gene="CD274", measure="TPS", value=120, unit="%")
        assert messages(error)["value"] == ["A percentage cannot exceed 100 (got 120%)."]

    @pytest.mark.parametrize(
        ("measure", "value", "message"),
        [
            ("TPS", 150, "A TPS is a percentage: it cannot exceed 100 (got 150)."),
            ("CPS", 120, "A CPS is a percentage: it cannot exceed 100 (got 120)."),
            ("VAF", "100.5", "A VAF is a percentage: it cannot exceed 100 (got 100.5)."),
            ("H-score", 350, "An H-score runs from 0 to 300 (got 350)."),
        ],
    )
    def test_a_score_beyond_its_scale_is_refused_though_no_unit_is_written(self, measure, value, message):
        # Reports print "PD-L1 TPS 50" without a percent sign; a patient types it as printed.
        with pytest.raises(ValidationError) as error:
            factories.BiomarkerFactory.create(gene="CD274", measure=measure, value=value, unit="")
        assert messages(error)["value"] == [message]

    def test_a_percentage_written_out_in_words_stops_at_one_hundred(self):
        with pytest.raises(ValidationError) as error:
            factories.BiomarkerFactory.create(gene="CD274", measure="", value=150, unit="percent")
        assert messages(error)["value"] == ["A percentage cannot exceed 100 (got 150%)."]

    def test_scores_at_the_top_of_their_scale_are_kept(self):
        for measure, value in (("TPS", 100), ("CPS", 100), ("H-score", 300)):
            assert factories.BiomarkerFactory.create(gene="CD274", measure=measure, value=value).pk


@pytest.mark.django_db
class TestNormalisation:
    def test_gene_aliases_become_hgnc_symbols(self):
        assert factories.BiomarkerFactory.create(gene="HER2").gene == "ERBB2"

    def test_lab_gets_its_loinc_code_from_the_analyte_name(self):
        assert factories.LabResultFactory.create(analyte="ANC", loinc="", value=4).loinc == "751-8"

    def test_brand_names_become_vocabulary_drugs(self):
        assert factories.TherapyFactory.create(drug="Keytruda").drug == "pembrolizumab"

    def test_a_drug_class_given_as_the_drug_is_kept_as_its_class(self):
        therapy = factories.TherapyFactory.create(drug="platinum doublet")
        assert (therapy.drug, therapy.drug_class) == ("platinum doublet", "platinum")

    def test_procedure_is_coded_from_its_name(self):
        assert factories.ProcedureFactory.create(code="", name="radiation therapy").code == "radiotherapy"

    def test_diagnosis_label_and_stage_are_filled_in(self):
        diagnosis = factories.DiagnosisFactory.create(code="luad", label="", stage="iva")
        assert (diagnosis.label, diagnosis.stage) == ("lung adenocarcinoma", "IVA")

    def test_every_fact_records_its_source_and_entry_time(self):
        therapy = factories.TherapyFactory.create(source="site_entered")
        assert therapy.source == "site_entered"
        assert therapy.entered_at is not None


@pytest.mark.django_db
def test_patient_facts_take_one_query_per_kind_of_fact(elena, django_assert_num_queries):
    with django_assert_num_queries(5):
        facts = patient_facts(profile=elena)
    assert [d.code for d in facts.diagnoses] == ["luad"]
    assert facts.therapies[0].classes[:2] == ("egfr_tki", "tki")
    assert (len(facts.labs), len(facts.biomarkers), len(facts.procedures)) == (3, 3, 1)


def test_models_are_documented():
    for model in (PatientProfile, Diagnosis, Biomarker, LabResult, Therapy, Procedure):
        assert not (model.__doc__ or "").startswith(model.__name__ + "(")
