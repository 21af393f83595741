"""Elena, Hana and Pedro against real criterion lines: the expected outcome of each, with evidence."""

import pytest

from nlp.model import Criterion
from recruitment.matching import Outcome, Overall, PatientFacts, evaluate, evaluate_criterion
from tests.recruitment.conftest import TODAY

S, V, U, NC = Outcome.SATISFIED, Outcome.VIOLATED, Outcome.UNKNOWN, Outcome.NOT_CHECKABLE

EXPECTED = {
    # criterion id: (Elena, Hana, Pedro)
    "adult": (S, S, S),
    "bilirubin_uln": (S, U, U),
    "consent": (NC, NC, NC),
    "crcl": (S, U, S),
    "ecog_0_1": (S, S, S),
    "egfr_ex19": (S, U, V),
    "egfr_tki_naive": (V, U, U),
    "her2_ihc_1": (U, S, U),
    "her2_low_breast": (V, S, V),
    "kras_g12c_pdl1_50": (V, V, U),
    "no_driver": (V, U, S),
    "pdl1_22c3_1": (S, U, U),
    "platelets": (S, U, S),
    "solid_tumour": (S, S, S),
    "stage_iv_nsclc": (S, V, V),
    "tnbc": (V, V, V),
    "brain_metastases": (S, U, U),
    "brain_metastases_unless_stable": (S, U, U),
    "egfr_activating": (V, U, S),
    "other_malignancy": (S, U, U),
    "another_primary_malignancy": (S, U, U),
    "pregnant_or_breastfeeding": (S, U, S),
    "recent_checkpoint_inhibitor": (S, U, V),
    "recent_radiotherapy": (S, U, U),
}


@pytest.mark.parametrize("criterion_id", sorted(EXPECTED))
def test_each_persona_gets_the_expected_outcome_per_real_criterion(
    criterion_id, criteria, elena_facts, hana_facts, pedro_facts
):
    criterion = criteria[criterion_id]
    got = tuple(
        evaluate_criterion(criterion, facts, today=TODAY).outcome
        for facts in (elena_facts, hana_facts, pedro_facts)
    )
    assert got == EXPECTED[criterion_id]


def _verdict(criteria: dict[str, Criterion], criterion_id: str, facts: PatientFacts):
    return evaluate_criterion(criteria[criterion_id], facts, today=TODAY)


def test_elena_meets_the_nsclc_criterion_through_the_diagnosis_hierarchy(criteria, elena_facts):
    verdict = _verdict(criteria, "stage_iv_nsclc", elena_facts)
    assert verdict.outcome is Outcome.SATISFIED
    assert [e.text for e in verdict.evidence] == ["lung adenocarcinoma, stage IVA (2026-03-10)"]
    assert verdict.text.startswith("ALL PHASES, PATIENTS ONLY: Diagnosed with stage IV")


def test_elena_platelets_in_10e3_per_microlitre_meet_a_limit_in_10e9_per_litre(criteria, elena_facts):
    verdict = _verdict(criteria, "platelets", elena_facts)
    assert verdict.outcome is Outcome.SATISFIED
    assert verdict.atoms[0].reason == "210 10^9/L >= 50 10^9/L"


def test_elena_bilirubin_is_compared_with_three_times_her_labs_upper_limit(criteria, elena_facts):
    verdict = _verdict(criteria, "bilirubin_uln", elena_facts)
    assert verdict.atoms[0].reason == "0.8 <= 3 x ULN (3.6 mg/dL)"


def test_elena_is_ineligible_for_a_driver_negative_trial_because_of_her_egfr_deletion(criteria, elena_facts):
    verdict = _verdict(criteria, "no_driver", elena_facts)
    assert verdict.outcome is Outcome.VIOLATED
    assert verdict.evidence[0].text.startswith("EGFR exon 19 deletion positive")


def test_elena_is_eligible_for_an_egfr_trial_whose_criteria_she_all_meets(criteria, elena_facts):
    trial = [
        criteria[i] for i in ("adult", "stage_iv_nsclc", "egfr_ex19", "ecog_0_1", "platelets", "consent")
    ]
    trial += [criteria[i] for i in ("brain_metastases", "pregnant_or_breastfeeding", "recent_radiotherapy")]
    verdict = evaluate(trial, elena_facts, today=TODAY)
    assert verdict.overall is Overall.ELIGIBLE
    assert verdict.score == 1.0
    assert verdict.to_settle == ()


def test_hana_her2_ihc_1_plus_is_her2_low(criteria, hana_facts):
    verdict = _verdict(criteria, "her2_low_breast", hana_facts)
    assert verdict.outcome is Outcome.SATISFIED
    assert "ERBB2 expression negative IHC 1 by HercepTest" in [e.text for e in verdict.evidence]


def test_hana_er_positive_result_rules_out_triple_negative_breast_cancer(criteria, hana_facts):
    verdict = _verdict(criteria, "tnbc", hana_facts)
    assert [e.ref.split(":")[0] for e in verdict.evidence] == ["diagnosis", "biomarker", "biomarker"]
    assert verdict.atoms[0].reason == "a receptor is positive"


def test_hana_is_asked_whether_she_is_breastfeeding(criteria, hana_facts):
    verdict = _verdict(criteria, "pregnant_or_breastfeeding", hana_facts)
    assert [s.text for s in verdict.to_settle] == ["Are you breastfeeding?"]


def test_hana_brain_metastases_stay_unknown_until_her_history_is_confirmed(criteria, hana_facts):
    verdict = _verdict(criteria, "brain_metastases", hana_facts)
    assert verdict.to_settle[0].text == "Have you ever been diagnosed with brain metastases?"


def test_pedro_missing_pd_l1_is_a_test_to_order_not_an_exclusion(criteria, pedro_facts):
    verdict = _verdict(criteria, "pdl1_22c3_1", pedro_facts)
    assert verdict.outcome is Outcome.UNKNOWN
    assert [(s.kind, s.text) for s in verdict.to_settle] == [("test", "PD-L1 expression by 22C3 not on file")]


def test_pedro_wild_type_egfr_is_tested_negative_not_untested(criteria, pedro_facts):
    assert _verdict(criteria, "egfr_ex19", pedro_facts).outcome is Outcome.VIOLATED
    assert _verdict(criteria, "egfr_activating", pedro_facts).outcome is Outcome.SATISFIED


def test_pedro_is_possibly_eligible_for_a_kras_g12c_trial_with_what_would_settle_it(criteria, pedro_facts):
    trial = [
        criteria[i]
        for i in ("adult", "ecog_0_1", "kras_g12c_pdl1_50", "pregnant_or_breastfeeding", "consent")
    ]
    verdict = evaluate(trial, pedro_facts, today=TODAY)
    assert verdict.overall is Overall.POSSIBLY_ELIGIBLE
    assert 0.5 < verdict.score < 1.0
    assert [(s.kind, s.text) for s in verdict.to_settle] == [
        ("test", "Histology/subtype confirming squamous cell lung carcinoma not on file"),
        ("test", "Histology/subtype confirming lung adenocarcinoma not on file"),
        ("test", "PD-L1 TPS not on file"),
    ]


def test_pedro_checkpoint_inhibitor_thirteen_days_ago_is_inside_a_21_day_washout(criteria, pedro_facts):
    verdict = _verdict(criteria, "recent_checkpoint_inhibitor", pedro_facts)
    assert verdict.outcome is Outcome.VIOLATED
    assert verdict.evidence[0].text == "pembrolizumab, line 1 (ended 2026-11-10)"


def test_pedro_creatinine_clearance_in_ml_per_second_is_converted(criteria, pedro_facts):
    verdict = _verdict(criteria, "crcl", pedro_facts)
    assert verdict.atoms[0].reason == "72 mL/min >= 50 mL/min"


def test_pedro_bilirubin_without_a_reference_range_is_unknown(criteria, pedro_facts):
    verdict = _verdict(criteria, "bilirubin_uln", pedro_facts)
    assert verdict.to_settle[0].text == "Reference range for total bilirubin not on file"
