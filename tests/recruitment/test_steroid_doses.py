"""Corticosteroid doses in the 2026 oncology registry (data/oncology_trials_2026): "corticosteroids (> 10
mg/day prednisone or equivalent)" names one drug class at a dose. The prednisone is the yardstick of the
dose, not a drug the patient must have had or be on, and no profile records the dose, so a patient on
steroids is a question for the site, never ruled out or in by the dose alone.

Nina, 61, ECOG 1, metastatic lung adenocarcinoma, takes no steroid. Dora, 57, ECOG 1, metastatic breast cancer
with brain metastases, has been on dexamethasone since 2026-11-20. Paul, 70, metastatic castration-resistant
prostate cancer, on abiraterone with prednisone since 2026-02-01."""

import datetime

from nlp import iter_atoms, parse_eligibility
from recruitment.matching import DiagnosisFact, PatientFacts, evaluate
from tests.recruitment.fact_helpers import therapy

TODAY = datetime.date(2026, 12, 7)

NINA = PatientFacts(
    birth_date=datetime.date(1965, 1, 9),
    sex="female",
    ecog=1,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma", stage="IV"),),
)
DORA = PatientFacts(
    birth_date=datetime.date(1969, 8, 14),
    sex="female",
    ecog=1,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact("diagnosis:1", "breast_cancer", "breast cancer", stage="IV"),
        DiagnosisFact("diagnosis:2", "brain_metastases", "brain metastases"),
    ),
    therapies=(therapy("therapy:1", "dexamethasone", None, datetime.date(2026, 11, 20)),),
)
PAUL = PatientFacts(
    birth_date=datetime.date(1956, 3, 1),
    sex="male",
    ecog=1,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(DiagnosisFact("diagnosis:1", "prostate_cancer", "prostate cancer", stage="IV"),),
    therapies=(
        therapy("therapy:1", "abiraterone", 1, datetime.date(2026, 2, 1)),
        therapy("therapy:2", "prednisone", 1, datetime.date(2026, 2, 1)),
    ),
)


def outcome(text: str, patient: PatientFacts, section: str = "Exclusion") -> str:
    criteria = parse_eligibility(f"{section} Criteria:\n* {text}\n").criteria
    [verdict] = evaluate(criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


def therapies(text: str, section: str = "Exclusion") -> list[str]:
    criteria = parse_eligibility(f"{section} Criteria:\n* {text}\n").criteria
    return [a.text for c in criteria for a in iter_atoms(c.tree) if a.kind == "therapy" and a.checkable]


class TestThePrednisoneOfADoseIsItsYardstick:
    def test_no_concurrent_steroids_at_a_prednisone_dose_asks_for_no_prednisone(self):
        # NCT05267626
        text = (
            "No concurrent treatment for CNS disease (e.g., surgery, radiation, corticosteroids ≥ 10 mg "
            "prednisone/day or equivalent)"
        )
        assert outcome(text, NINA, "Inclusion") == "satisfied"
        assert "prednisone" not in therapies(text, "Inclusion")

    def test_a_dose_in_milligrams_of_prednisone_or_equivalent_names_no_prednisone(self):
        # NCT04104893
        text = (
            "Immunosuppressive doses of systemic medications, such as corticosteroids (doses > 10 mg/day "
            "prednisone or equivalent), within 2 weeks of Day 1."
        )
        assert therapies(text) == ["corticosteroids"]

    def test_prednisone_equivalents_after_a_daily_dose(self):
        # NCT04322955
        text = (
            "Patients are excluded if they have a condition requiring systemic treatment with either "
            "corticosteroids (>10 mg daily prednisone equivalents) or other immunosuppressive medications "
            "within 14 days of study start"
        )
        assert "prednisone" not in therapies(text)

    def test_a_steroid_named_only_by_its_prednisone_dose_is_any_corticosteroid(self):
        # NCT04215809: "Steroid therapy" reads as the class; the dose of prednisone is its yardstick.
        text = (
            "Steroid therapy at a dose greater than prednisone 20 mg daily (or equivalent) for "
            "anti-neoplastic intent"
        )
        assert therapies(text) == ["Steroid therapy"]

    def test_prednisone_with_abiraterone_at_its_own_dose_is_still_a_drug(self):
        text = "Prior treatment with abiraterone acetate 1000 mg daily plus prednisone 5 mg twice daily"
        assert therapies(text, "Inclusion") == ["abiraterone acetate", "prednisone"]


class TestAPatientOnSteroidsOfUnrecordedDoseIsAQuestion:
    def test_dexamethasone_of_unknown_dose_against_a_dose_over_ten_mg(self):
        # NCT04104893
        text = (
            "Immunosuppressive doses of systemic medications, such as corticosteroids (doses > 10 mg/day "
            "prednisone or equivalent), within 2 weeks of Day 1."
        )
        assert outcome(text, DORA) == "unknown"
        assert outcome(text, NINA) == "satisfied"

    def test_prednisone_with_abiraterone_against_chronic_steroids_over_ten_mg(self):
        # NCT03972657
        text = (
            "Any condition that requires ongoing/continuous corticosteroid therapy (>10 mg prednisone/day or "
            "anti-inflammatory equivalent) within 1 week prior to the first dose of study therapy"
        )
        assert outcome(text, PAUL) == "unknown"
        assert outcome(text, NINA) == "satisfied"

    def test_a_ceiling_on_the_steroid_dose_binds_only_those_on_steroids(self):
        # NCT04269902
        text = (
            "Steroids used for treatment of conditions other than CLL/SLL must be at a dose of at most 20 "
            "mg/day of prednisone or equivalent corticosteroid at the time of registration"
        )
        assert outcome(text, NINA, "Inclusion") == "satisfied"
        assert outcome(text, DORA, "Inclusion") == "unknown"
