"""BM25, the combined ranking and its explanation, and the ranking metrics on hand-computed cases."""

import math

import pytest

from nlp.metrics import auroc, dcg, ndcg_at_k, precision_at_k
from nlp.patient_text import extract_patient_facts
from nlp.ranking import (
    BM25,
    EligibilityOutcome,
    TrialText,
    fit,
    patient_query,
    rank_bm25,
    rank_trials,
    tokenize,
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
