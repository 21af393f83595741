"""Factories for patient profiles and their facts. Personas in conftest.py are built from these."""

import datetime
from typing import TypeVar

import factory
from django.db.models import Model
from factory.django import DjangoModelFactory

from recruitment.models import Biomarker, Diagnosis, LabResult, PatientProfile, Procedure, Therapy
from tests.factories import UserFactory

T = TypeVar("T", bound=Model)


class _CleanedFactory(DjangoModelFactory[T]):
    """Runs model validation (which also normalises codes, e.g. HER2 -> ERBB2) as a form would."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class: type[T], *args: object, **kwargs: object) -> T:
        instance = model_class(*args, **kwargs)
        instance.full_clean()
        instance.save()
        return instance


class PatientProfileFactory(_CleanedFactory[PatientProfile]):
    class Meta:
        model = PatientProfile

    user = factory.SubFactory(UserFactory)
    birth_date = datetime.date(1970, 1, 1)
    sex = PatientProfile.Sex.FEMALE


class DiagnosisFactory(_CleanedFactory[Diagnosis]):
    class Meta:
        model = Diagnosis

    patient = factory.SubFactory(PatientProfileFactory)
    code = "nsclc"
    label = "non-small cell lung cancer"


class BiomarkerFactory(_CleanedFactory[Biomarker]):
    class Meta:
        model = Biomarker

    patient = factory.SubFactory(PatientProfileFactory)
    gene = "EGFR"
    alteration_type = Biomarker.Alteration.MUTATION


class LabResultFactory(_CleanedFactory[LabResult]):
    class Meta:
        model = LabResult

    patient = factory.SubFactory(PatientProfileFactory)
    analyte = "platelet count"
    loinc = "777-3"
    value = 250
    unit = "10^9/L"
    collected_on = datetime.date(2026, 11, 1)


class TherapyFactory(_CleanedFactory[Therapy]):
    class Meta:
        model = Therapy

    patient = factory.SubFactory(PatientProfileFactory)
    drug = "carboplatin"


class ProcedureFactory(_CleanedFactory[Procedure]):
    class Meta:
        model = Procedure

    patient = factory.SubFactory(PatientProfileFactory)
    code = "radiotherapy"
    name = "radiotherapy"
