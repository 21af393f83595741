"""The synthetic patient generator: reproducible for a seed, valid facts, realistic proportions."""

from collections import Counter

from nlp import terminology
from recruitment.matching.synthetic import synthetic_patients
from tests.recruitment.conftest import TODAY

SIGNATURES = {"TMB", "MSI"}


def test_the_same_seed_gives_the_same_patients_and_another_seed_others():
    first = list(synthetic_patients(200, seed=7, today=TODAY))
    assert first == list(synthetic_patients(200, seed=7, today=TODAY))
    assert first != list(synthetic_patients(200, seed=8, today=TODAY))


def test_every_fact_is_one_the_profile_models_would_accept():
    genes = set(terminology.genes().values())
    for patient in synthetic_patients(1500, seed=11, today=TODAY):
        assert patient.birth_date is None or patient.birth_date < TODAY
        assert patient.ecog in (None, 0, 1, 2, 3, 4, 5)
        assert not (patient.sex == "male" and patient.pregnancy_status == "pregnant")
        for dx in patient.diagnoses:
            terminology.diagnosis(dx.code)
            assert dx.diagnosed_on is None or dx.diagnosed_on <= TODAY
        for b in patient.biomarkers:
            assert b.gene in genes | SIGNATURES
            assert b.alteration_type != "wild_type" or b.status == "negative"
            assert b.unit != "%" or (b.value is not None and 0 <= b.value <= 100)
            assert b.measure != "IHC" or (b.value is not None and 0 <= b.value <= 3)
        for lab in patient.labs:
            assert lab.value >= 0
            assert lab.collected_on <= TODAY
            assert (
                lab.reference_low is None
                or lab.reference_high is None
                or lab.reference_low <= lab.reference_high
            )
            assert terminology.lab_by_code(lab.loinc)
        for therapy in patient.therapies:
            assert therapy.classes, f"{therapy.drug} is not in the drug vocabulary"
            assert (
                therapy.ended_on is None
                or therapy.started_on is None
                or therapy.started_on <= therapy.ended_on
            )


def test_driver_prevalence_is_close_to_published_figures():
    patients = list(synthetic_patients(6000, seed=3, today=TODAY))
    tested_nsclc = [
        p
        for p in patients
        if {d.code for d in p.diagnoses} & {"luad", "nsclc"} and any(b.gene == "EGFR" for b in p.biomarkers)
    ]
    positive = Counter(
        (b.gene, b.protein_change) for p in tested_nsclc for b in p.biomarkers if b.status == "positive"
    )
    egfr = sum(n for (gene, _), n in positive.items() if gene == "EGFR") / len(tested_nsclc)
    assert 0.10 < egfr < 0.25
    assert 0.08 < positive[("KRAS", "G12C")] / len(tested_nsclc) < 0.20
    breast = [p for p in patients if any(d.code == "breast_cancer" for d in p.diagnoses[:1])]
    her2_3 = [
        p
        for p in breast
        if any(b.gene == "ERBB2" and b.measure == "IHC" and b.value == 3 for b in p.biomarkers)
    ]
    assert 0.08 < len(her2_3) / len(breast) < 0.25
