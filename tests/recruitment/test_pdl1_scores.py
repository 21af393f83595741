"""PD-L1 is the stratifying biomarker of most lung immunotherapy trials, and the threshold is the point:
"TPS >= 50%" and "TPS 1-49%" recruit different patients. Several registry phrasings lost it, so Petra (TPS
10%) met a trial for TPS >= 50%, and "PD-L1 CPS >= 10" was left unread. Each sentence is copied from the 2026
registry (data/oncology_trials_2026). No database."""

import datetime

import pytest

from nlp import Atom, Concept, Criterion, iter_atoms, parse_eligibility
from recruitment.matching import BiomarkerFact, DiagnosisFact, PatientFacts, Truth, evaluate

TODAY = datetime.date(2026, 12, 7)
CD274 = Concept("hgnc", "CD274", "CD274")
LUNG = (DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma"),)
TNBC = (DiagnosisFact("diagnosis:1", "tnbc", "triple-negative breast cancer"),)


def pdl1(measure: str, value: float, unit: str = "%") -> BiomarkerFact:
    return BiomarkerFact(
        "biomarker:1", "CD274", "expression", measure=measure, value=value, unit=unit, assay="22C3"
    )


PAOLO = PatientFacts(sex="male", diagnoses=LUNG, biomarkers=(pdl1("TPS", 60),))
PETRA = PatientFacts(sex="female", diagnoses=LUNG, biomarkers=(pdl1("TPS", 10),))
ZENO = PatientFacts(sex="male", diagnoses=LUNG, biomarkers=(pdl1("TPS", 0),))
GRETA = PatientFacts(sex="female", diagnoses=TNBC, biomarkers=(pdl1("CPS", 12, ""),))
NILS = PatientFacts(sex="male", diagnoses=LUNG)  # never tested

# NCT04093167
HIGH = (
    "Patients must have a PD-L1 test result from a certified laboratory indicating PD-L1 expression Tumour"
    " Proportion Score (TPS) ≥ 50%."
)
# NCT04130516
BAND = (
    "Has metastatic NSCLC expressing PD-L1 with a Tumor Proportion Score (TPS) ≥1% and ≤49% as determined by"
    " an FDA-approved test"
)
# NCT06099769
CPS_10 = (
    "Patients with PD-L1 positive breast cancer (CPS ≥ 10) should have received prior treatment with"
    " pembrolizumab"
)
# NCT05669846
AT_LEAST_1 = (
    "NOTE: Documented PD-L1 status (defined as 1% or greater) as determined by immunohistochemistry with"
    " anti-PD-L1 antibody (IHC 22C3 pharmDx or other FDA approved diagnostic method)"
)
# NCT05098132
NEGATIVE = "Tumor is PD-L1 negative (TPS \\<1%) by local testing."


def pdl1_truth(text: str, patient: PatientFacts) -> Truth:
    verdict = evaluate(parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria, patient, today=TODAY)
    # The atom of the score: the one whose words go on after "PD-L1" (not a bare "PD-L1 test result").
    [result] = [
        a for c in verdict.criteria for a in c.atoms if a.text.startswith("PD-L1") and a.text != "PD-L1"
    ]
    return result.truth


@pytest.mark.parametrize(
    ("text", "paolo", "petra", "zeno"),
    [
        (HIGH, Truth.MET, Truth.NOT_MET, Truth.NOT_MET),
        (BAND, Truth.NOT_MET, Truth.MET, Truth.NOT_MET),
        (AT_LEAST_1, Truth.MET, Truth.MET, Truth.NOT_MET),
        (NEGATIVE, Truth.NOT_MET, Truth.NOT_MET, Truth.MET),
    ],
)
def test_the_tps_threshold_decides_for_paolo_petra_and_zeno(text, paolo, petra, zeno):
    assert [pdl1_truth(text, p) for p in (PAOLO, PETRA, ZENO)] == [paolo, petra, zeno]


def test_nils_never_tested_is_asked_for_the_score():
    verdict = evaluate(parse_eligibility(f"Inclusion Criteria:\n* {HIGH}\n").criteria, NILS, today=TODAY)
    settles = [a.settle.text for c in verdict.criteria for a in c.atoms if a.settle and "PD-L1" in a.text]
    assert "PD-L1 TPS not on file" in settles


def test_greta_is_scored_by_cps_not_by_a_tumour_proportion():
    assert pdl1_truth(CPS_10, GRETA) is Truth.MET
    assert pdl1_truth(CPS_10, PETRA) is Truth.UNKNOWN  # her TPS says nothing of a CPS


def test_a_cps_is_no_percentage():
    [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {CPS_10}\n").criteria
    [score] = [a for a in iter_atoms(criterion.tree) if a.rule_id == "biomarker.pdl1_score"]
    assert (score.alteration, score.comparator, score.value, score.unit) == ("CPS", ">=", 10.0, "")


@pytest.mark.parametrize("text", ["PD-L1 CPS >= 10", "Tumours with PD-L1 CPS >= 10"])
def test_a_cps_at_the_end_of_its_line_is_read(text):
    [criterion] = parse_eligibility(f"Inclusion Criteria:\n- {text}\n- ECOG 0-1\n").criteria[:1]
    assert [(a.alteration, a.value) for a in iter_atoms(criterion.tree) if a.kind == "biomarker"] == [
        ("CPS", 10.0)
    ]


def test_a_count_of_slides_is_not_a_score():
    [criterion] = parse_eligibility("Inclusion Criteria:\n- PD-L1 testing on 2 or more slides\n").criteria
    assert all(a.value is None for a in iter_atoms(criterion.tree) if a.kind == "biomarker")


def test_the_l1_of_pd_l1_is_not_read_as_a_variant():
    """A PD-L1 mention without a reading ("PD-L1" alone) asked for the variant "L1" and failed Paolo."""
    bare = Atom("biomarker", "PD-L1", (0, 5), "biomarker.gene", 0.7, mapped=True, concept=CD274)
    verdict = evaluate((Criterion("inclusion", "PD-L1", (0, 5), bare),), PAOLO, today=TODAY)
    [result] = verdict.criteria[0].atoms
    assert "L1" not in result.reason
    assert result.truth is Truth.MET


def test_a_failed_threshold_says_so():
    verdict = evaluate(parse_eligibility(f"Inclusion Criteria:\n* {HIGH}\n").criteria, PETRA, today=TODAY)
    reasons = [a.reason for c in verdict.criteria for a in c.atoms if a.truth is Truth.NOT_MET]
    assert reasons == ["TPS 10, not >= 50"]
