"""BM25, the combined ranking and its explanation, and the ranking metrics on hand-computed cases."""

import math

import pytest

from nlp.metrics import auroc, dcg, ndcg_at_k, precision_at_k
from nlp.patient_text import extract_patient_facts
from nlp.ranking import (
    BM25,
    DRIVER_FACTOR,
    UNTESTED_FACTOR,
    EligibilityOutcome,
    TrialText,
    combine,
    fit,
    patient_query,
    rank_bm25,
    rank_for_profile,
    rank_trials,
    tokenize,
    topic_statistics,
)


def test_dcg_and_ndcg_by_hand():
    # gains 2, 0, 1: 2/log2(2) + 0 + 1/log2(4) = 2.5; ideal 2, 1, 0: 2 + 1/log2(3)
    assert dcg([2, 0, 1], 10) == pytest.approx(2.5)
    assert ndcg_at_k([2, 0, 1], [2, 0, 1], 10) == pytest.approx(2.5 / (2 + 1 / math.log2(3)))
    assert ndcg_at_k([1, 2], [1, 2], 10) < 1.0
    assert ndcg_at_k([2, 1], [1, 2], 10) == pytest.approx(1.0)
    assert ndcg_at_k([0, 0], [0, 0], 10) == 0.0
    assert ndcg_at_k([0, 2], [0, 2], 1) == 0.0


def test_precision_divides_by_k_like_trec_eval():
    assert precision_at_k([True, False, True], 10) == pytest.approx(0.2)
    assert precision_at_k([True] * 12, 10) == 1.0


def test_auroc_by_hand_with_ties_counting_half():
    assert auroc([3, 2], [1, 0]) == 1.0
    assert auroc([0], [1]) == 0.0
    assert auroc([1, 3], [2, 1]) == pytest.approx((0.5 + 0 + 1 + 1) / 4)
    assert auroc([], [1]) is None


def test_bm25_prefers_the_document_with_the_rare_term():
    index = BM25([["breast", "cancer"], ["lung", "cancer"], ["asthma"]])
    scores = index.scores(["breast", "cancer"])
    assert scores[0] > scores[1] > scores[2] == 0
    assert set(index.term_scores(["breast", "cancer"], 0)) == {"breast", "cancer"}


def test_tokenize_folds_plurals_and_drops_stopwords():
    assert tokenize("The tumors of the patients") == ["tumor"]


def test_denied_and_relatives_conditions_leave_the_query():
    patient = extract_patient_facts(
        "Woman with asthma. Her mother had breast cancer. No history of diabetes."
    )
    query = patient_query(patient)
    assert "asthma" in query
    assert "diabetes" not in query
    assert "breast" not in query


TRIALS = [
    TrialText("NCT1", "Asthma in adults", ("Asthma",), eligibility="Adults with asthma"),
    TrialText("NCT2", "Inhaled therapy for asthma", ("Asthma",), eligibility="Asthma"),
    TrialText("NCT3", "Knee replacement", ("Osteoarthritis",)),
]


def test_without_verdicts_ranking_is_bm25_and_explains_matched_terms():
    patient = extract_patient_facts("A 30-year-old woman with asthma.")
    ranked = rank_trials(patient, TRIALS)
    assert ranked[-1].nct_id == "NCT3"
    assert "asthma" in ranked[0].matched_terms
    assert "matched terms: asthma" in ranked[0].explain()


def test_a_structured_exclusion_drops_an_on_topic_trial_below_an_eligible_one():
    patient = extract_patient_facts("A 30-year-old woman with asthma.")
    outcomes = {
        "NCT1": EligibilityOutcome(
            "ineligible", 0.0, not_met=("sex: MALE",), structured_not_met=("sex: MALE",)
        ),
        "NCT2": EligibilityOutcome("possibly_eligible", 0.7, met=("Asthma",), unknown=("FEV1 < 80%",)),
        "NCT3": EligibilityOutcome("possibly_eligible", 0.5),
    }
    ranked = rank_trials(patient, TRIALS, outcomes)
    assert ranked[0].nct_id == "NCT2"
    assert ranked[0].score > next(r.score for r in ranked if r.nct_id == "NCT1")
    explanation = next(r for r in ranked if r.nct_id == "NCT1").explain()
    assert "not met: sex: MALE" in explanation
    assert "unknown: FEV1 < 80%" in ranked[0].explain()


def test_no_trials_no_ranking():
    assert rank_trials(extract_patient_facts(""), []) == []


def test_baseline_searches_all_the_text_and_ours_only_the_topic():
    trials = [
        TrialText("NCT1", "Knee replacement", eligibility="Exclusion: asthma"),
        TrialText("NCT2", "Asthma in adults"),
    ]
    baseline = rank_bm25("Woman with asthma", trials)
    assert {r.nct_id for r in baseline if r.bm25 > 0} == {"NCT1", "NCT2"}
    ours = rank_trials(extract_patient_facts("Woman with asthma"), trials)
    assert [r.nct_id for r in ours if r.bm25 > 0] == ["NCT2"]


def test_fit_halves_the_engine_score_and_the_violation_count():
    # one violated criterion of at most three counted: 0.5 x engine score 0 + 0.5 x (1 - 1/3)
    assert fit(EligibilityOutcome("eligible", 1.0)) == 1.0
    assert fit(EligibilityOutcome("ineligible", 0.0, not_met=("a",))) == pytest.approx(0.5 * 2 / 3)
    structured = EligibilityOutcome(
        "ineligible", 0.0, not_met=("sex: MALE",), structured_not_met=("sex: MALE",)
    )
    assert fit(structured) == 0.0


def test_a_violation_the_registry_contradicts_does_not_count():
    misread = EligibilityOutcome(
        "ineligible",
        0.0,
        not_met=("Women must not be pregnant",),
        contradicted=("Women must not be pregnant",),
    )
    assert fit(misread) == fit(EligibilityOutcome("possibly_eligible", 0.5))


def test_stems_match_across_word_forms():
    trials = [TrialText("NCT1", "Treatment of depression", ("Depression",)), TrialText("NCT2", "Knee pain")]
    ranked = rank_trials(extract_patient_facts("A 47-year-old woman who feels depressed."), trials)
    assert ranked[0].nct_id == "NCT1"
    assert ranked[0].bm25 > 0
    # explained in the patient's own words, not as a stem
    assert ranked[0].matched_terms == ("depressed",)


def test_collection_statistics_weigh_a_term_common_in_the_registry_less():
    patient = extract_patient_facts("A man, 60. Likes sailing and chess.")
    trials = [TrialText("NCT1", "Sailing study"), TrialText("NCT2", "Chess study")]
    alone = rank_trials(patient, trials)
    assert alone[0].relevance == alone[1].relevance == 1.0  # each term in one of the two trials
    registry = trials + [TrialText(f"NCT{i}", "Sailing again") for i in range(3, 9)]
    ranked = rank_trials(patient, trials, statistics=topic_statistics(registry))
    assert [r.nct_id for r in ranked] == ["NCT2", "NCT1"]


def test_the_opening_sentence_weighs_more_than_incidental_words():
    patient = extract_patient_facts("A 50-year-old man with chilblains. He enjoys fishing.")
    trials = [TrialText("NCT1", "Fishing injuries"), TrialText("NCT2", "Chilblains care")]
    assert rank_trials(patient, trials)[0].nct_id == "NCT2"


def test_a_perfect_fit_does_not_lift_an_off_topic_trial():
    patient = extract_patient_facts("A 30-year-old woman with asthma.")
    outcomes = {
        "NCT1": EligibilityOutcome("possibly_eligible", 0.5, unknown=("FEV1 < 80%",)),
        "NCT3": EligibilityOutcome("eligible", 1.0, met=("Adults",)),
    }
    ranked = rank_trials(patient, TRIALS, outcomes)
    assert ranked[-1].nct_id == "NCT3"
    assert ranked[-1].score == 0.0


def test_combined_score_scales_relevance_by_fit():
    eligible = EligibilityOutcome("eligible", 1.0)
    assert combine(0.8, eligible) == pytest.approx(0.8)
    assert combine(0.8, None) == 0.8
    structured = EligibilityOutcome("ineligible", 0.0, not_met=("age",), structured_not_met=("age",))
    assert combine(0.8, structured) == pytest.approx(0.8 * 0.25 / 1.25)


def test_a_violated_inclusion_about_the_disease_counts_a_quarter():
    on_disease = EligibilityOutcome(
        "ineligible",
        0.0,
        not_met=("Histologically confirmed glioma",),
        not_met_on_disease=("Histologically confirmed glioma",),
    )
    other = EligibilityOutcome("ineligible", 0.0, not_met=("No prior steroids",))
    assert fit(on_disease) == pytest.approx(0.5 * (1 - 0.25 / 3))
    assert fit(other) == pytest.approx(0.5 * (1 - 1 / 3))


def test_summary_is_one_line_for_a_match_list():
    patient = extract_patient_facts("A 30-year-old woman with asthma.")
    outcomes = {"NCT2": EligibilityOutcome("possibly_eligible", 0.7, met=("Asthma",), unknown=("FEV1",))}
    ranked = rank_trials(patient, TRIALS, outcomes)
    line = next(r for r in ranked if r.nct_id == "NCT2").summary()
    assert "\n" not in line
    assert line == "In common: asthma. Possibly eligible: 1 met, 1 to check."
    assert next(r for r in ranked if r.nct_id == "NCT3").summary().startswith("No topic words in common.")


def test_a_structured_profile_ranks_by_its_diagnoses_first():
    trials = [
        TrialText("m1", "Osimertinib after progression", ("Lung Adenocarcinoma",)),
        TrialText("m2", "Nausea during chemotherapy", ("Nausea",)),
    ]
    outcomes = {
        "m1": EligibilityOutcome("possibly_eligible", 0.6, unknown=("PD-L1",)),
        "m2": EligibilityOutcome("possibly_eligible", 0.6, unknown=("Nausea grade",)),
    }
    ranked = rank_for_profile(["lung adenocarcinoma"], ["chemotherapy"], trials, outcomes)
    assert [r.nct_id for r in ranked] == ["m1", "m2"]
    assert ranked[0].summary() == "In common: lung, adenocarcinoma. Possibly eligible: 1 to check."


def test_among_trials_about_her_cancer_the_one_selecting_for_her_tumours_alteration_comes_first():
    # Elena: EGFR-mutant lung adenocarcinoma. Both trials are about her cancer and both leave criteria to
    # check; the KRAS G12D trial only asks for a result she has not had, the EGFR trial's inclusion her EGFR
    # result meets.
    trials = [
        TrialText("kras", "KRAS G12D inhibitor in lung adenocarcinoma", ("Lung Adenocarcinoma",)),
        TrialText("egfr", "Osimertinib in EGFR-mutant lung adenocarcinoma", ("Lung Adenocarcinoma",)),
    ]
    outcomes = {
        "kras": EligibilityOutcome("possibly_eligible", 0.7, met=("NSCLC",), unknown=("KRAS G12D",)),
        "egfr": EligibilityOutcome(
            "possibly_eligible",
            0.6,
            met=("EGFR mutation",),
            unknown=("PD-L1", "haemoglobin"),
            met_on_biomarker=("EGFR mutation",),
        ),
    }
    ranked = rank_for_profile(["lung adenocarcinoma"], ["EGFR"], trials, outcomes)
    assert [r.nct_id for r in ranked] == ["egfr", "kras"]
    assert "It selects for your tumour test result." in ranked[0].summary()
    assert "selects" not in ranked[1].summary()


def test_a_biomarker_met_does_not_lift_a_trial_the_patient_cannot_enter():
    targeted = EligibilityOutcome("ineligible", 0.0, not_met=("ECOG 0-1",), met_on_biomarker=("EGFR",))
    plain = EligibilityOutcome("ineligible", 0.0, not_met=("ECOG 0-1",))
    assert combine(0.8, targeted) == combine(0.8, plain)


def test_a_possible_trial_needing_a_result_elena_does_not_have_ranks_below_those_needing_none():
    # Elena: EGFR-mutant lung adenocarcinoma, never tested for KRAS. The three trials are equally about her
    # cancer; the KRAS G12D trial settles more of its criteria but needs a result she does not have.
    trials = [
        TrialText("kras", "Lung adenocarcinoma, second line", ("Lung Adenocarcinoma",)),
        TrialText("plain", "Lung adenocarcinoma, second line", ("Lung Adenocarcinoma",)),
        TrialText("egfr", "Lung adenocarcinoma, second line", ("Lung Adenocarcinoma",)),
    ]
    outcomes = {
        "kras": EligibilityOutcome(
            "possibly_eligible",
            0.9,
            met=("NSCLC",),
            unknown=("KRAS G12D mutation",),
            untested_biomarkers=("KRAS G12D",),
        ),
        "plain": EligibilityOutcome("possibly_eligible", 0.6, met=("NSCLC",), unknown=("haemoglobin",)),
        "egfr": EligibilityOutcome(
            "possibly_eligible",
            0.6,
            met=("EGFR mutation",),
            unknown=("haemoglobin",),
            met_on_biomarker=("EGFR mutation",),
        ),
    }
    ranked = rank_for_profile(["lung adenocarcinoma"], ["EGFR"], trials, outcomes)
    assert [r.nct_id for r in ranked] == ["egfr", "plain", "kras"]
    assert "It needs a KRAS G12D result you do not have yet." in ranked[2].summary()
    assert "needs" not in ranked[1].summary()


def test_the_results_a_trial_needs_are_listed_without_saying_she_needs_them_all():
    outcome = EligibilityOutcome(
        "possibly_eligible", 0.7, unknown=("ALK", "ROS1"), untested_biomarkers=("ALK fusion", "ROS1 fusion")
    )
    ranked = rank_for_profile(["lung adenocarcinoma"], [], [TrialText("t", "Lung cancer")], {"t": outcome})
    assert "It needs test results (ALK fusion, ROS1 fusion) you do not have yet." in ranked[0].summary()


def test_a_result_she_does_not_have_does_not_lower_a_trial_further_once_she_cannot_enter_it():
    needs = EligibilityOutcome("ineligible", 0.0, not_met=("ECOG 0-1",), untested_biomarkers=("KRAS G12D",))
    plain = EligibilityOutcome("ineligible", 0.0, not_met=("ECOG 0-1",))
    assert combine(0.8, needs) == combine(0.8, plain)


def test_mei_sees_trials_needing_a_driver_her_egfr_tumour_rarely_has_below_untargeted_nsclc_trials():
    # Mei: EGFR L858R lung adenocarcinoma, never tested for KRAS or ALK. The KRAS G12C and ALK trials settle
    # more of their criteria and are as much about her cancer as the untargeted ones, but each needs a driver
    # her tumour almost surely lacks; an untargeted trial needing a result she has not had stays above them.
    trials = [
        TrialText(name, "Advanced non-small cell lung cancer", ("Non-small Cell Lung Cancer",))
        for name in ("kras", "alk", "plain", "pdl1")
    ]
    outcomes = {
        "kras": EligibilityOutcome(
            "possibly_eligible",
            0.95,
            met=("NSCLC",),
            unknown=("NSCLC with KRAS G12C mutation and any PD-L1 TPS",),
            untested_biomarkers=("KRAS G12C",),
            rare_drivers=(("KRAS mutations", "an EGFR mutation"),),
        ),
        "alk": EligibilityOutcome(
            "possibly_eligible",
            0.95,
            met=("NSCLC",),
            unknown=("ALK gene fusions",),
            untested_biomarkers=("ALK fusion",),
            rare_drivers=(("ALK fusions", "an EGFR mutation"),),
        ),
        "plain": EligibilityOutcome("possibly_eligible", 0.6, met=("NSCLC",), unknown=("haemoglobin",)),
        "pdl1": EligibilityOutcome(
            "possibly_eligible", 0.6, met=("NSCLC",), unknown=("PD-L1",), untested_biomarkers=("PD-L1",)
        ),
    }
    ranked = rank_for_profile(["lung adenocarcinoma"], ["EGFR"], trials, outcomes)
    assert [r.nct_id for r in ranked][:2] == ["plain", "pdl1"]
    assert {r.nct_id for r in ranked[2:]} == {"kras", "alk"}
    kras = next(r for r in ranked if r.nct_id == "kras")
    assert (
        "It needs a KRAS G12C result; KRAS mutations are rarely found in tumours with an EGFR mutation like"
        " yours." in kras.summary()
    )
    assert "you do not have yet" not in kras.summary()
    assert "rarely" not in ranked[1].summary()


def test_a_driver_her_tumour_rarely_has_weighs_less_than_a_result_she_merely_lacks():
    assert DRIVER_FACTOR < UNTESTED_FACTOR
    untested = EligibilityOutcome("possibly_eligible", 0.7, untested_biomarkers=("KRAS G12C",))
    rare = EligibilityOutcome(
        "possibly_eligible",
        0.7,
        untested_biomarkers=("KRAS G12C",),
        rare_drivers=(("KRAS mutations", "an EGFR mutation"),),
    )
    assert combine(0.8, rare) == pytest.approx(combine(0.8, untested) * DRIVER_FACTOR / UNTESTED_FACTOR)


def test_several_drivers_her_tumour_rarely_has_are_named_in_one_sentence():
    outcome = EligibilityOutcome(
        "possibly_eligible",
        0.7,
        untested_biomarkers=("ALK fusion", "ROS1 fusion"),
        rare_drivers=(("ALK fusions", "an EGFR mutation"), ("ROS1 fusions", "an EGFR mutation")),
    )
    ranked = rank_for_profile(["lung adenocarcinoma"], [], [TrialText("t", "Lung cancer")], {"t": outcome})
    assert (
        "It needs test results (ALK fusion, ROS1 fusion); ALK fusions and ROS1 fusions are rarely found in"
        " tumours with an EGFR mutation like yours." in ranked[0].summary()
    )
