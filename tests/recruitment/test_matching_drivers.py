"""A trial that needs a driver the patient's tumour almost surely lacks (nlp/data/drivers.json): the verdict
stays possibly eligible, its settle says why the result is unlikely, and ranking reads it from the stored
verdict.

Criterion lines are from the 2026 oncology registry (/work/shared/data/oncology_trials_2026).
"""

from datetime import date

import pytest

from nlp import parse_eligibility, terminology
from nlp.ranking import RankedTrial, TrialText, rank_for_profile
from recruitment.matching import BiomarkerFact, DiagnosisFact, Overall, PatientFacts, evaluate
from recruitment.matching.from_text import outcome_for_ranking, outcome_from_stored

TODAY = date(2026, 12, 7)
KRAS_G12C = (  # NCT04613596
    "Histologically confirmed diagnosis of unresectable or metastatic NSCLC with KRAS G12C mutation and any "
    "PD-L1 TPS"
)
ALK = (  # NCT04774718
    "Histologically confirmed diagnosis of CNS or solid tumors with documented evidence of ALK gene fusions "
    "as assessed centrally through the use of the investigational F1CDx assay"
)
KRAS_G12C_TISSUE = (  # NCT04956640
    "Patients must have disease with evidence of KRAS G12C mutation in tumor tissue or circulating tumor "
    "deoxyribonucleic acid (DNA)."
)
NSCLC = "Histologically confirmed diagnosis of unresectable or metastatic NSCLC"
PD_L1 = "Tumor PD-L1 expression with a tumor proportion score (TPS) of at least 50%"
KRAS_G12D = "Pathologically documented, locally advanced or metastatic solid tumor with a KRAS G12D-mutation"
MET_AMPLIFICATION = "Documented MET amplification"
KRAS_OR_AMPLIFICATION = (  # NCT06917079
    "Histologically documented locally advanced and unresectable or metastatic NSCLC, PDAC, CRC, or other "
    "solid tumor with KRAS G12A, G12C, G12D, G12S, or G12V mutation, or KRAS-amplification"
)


def _facts(diagnosis: str, *biomarkers: BiomarkerFact) -> PatientFacts:
    concept = terminology.diagnosis(diagnosis)
    return PatientFacts(
        birth_date=date(1960, 5, 1),
        sex="female",
        diagnoses=(DiagnosisFact("diagnosis:1", concept.code, concept.label),),
        biomarkers=biomarkers,
    )


MEI = _facts("luad", BiomarkerFact("biomarker:1", "EGFR", "mutation", protein_change="L858R"))
TOM = _facts("nsclc", BiomarkerFact("biomarker:1", "KRAS", "mutation", protein_change="G12C"))
NO_DRIVER = _facts(
    "luad",
    BiomarkerFact("biomarker:1", "EGFR", "wild_type", status="negative"),
    BiomarkerFact("biomarker:2", "ALK", "fusion", status="negative"),
    BiomarkerFact("biomarker:3", "ROS1", "fusion", status="negative"),
)
ROSA = _facts("colon_cancer", BiomarkerFact("biomarker:1", "BRAF", "mutation", protein_change="V600E"))


def _verdict(line: str, facts: PatientFacts):
    criteria = parse_eligibility(f"Inclusion Criteria:\n- {line}\n", sex="ALL").criteria
    return evaluate(criteria, facts, today=TODAY)


def test_mei_egfr_l858r_is_still_possibly_eligible_for_a_kras_g12c_trial_whose_test_says_why_it_is_unlikely():
    verdict = _verdict(KRAS_G12C_TISSUE, MEI)
    assert verdict.overall is Overall.POSSIBLY_ELIGIBLE
    [kras] = [a for c in verdict.criteria for a in c.atoms if a.text == "KRAS G12C"]
    assert kras.truth == "unknown"
    assert kras.settle is not None
    assert kras.settle.text == (
        "KRAS G12C not on file (KRAS mutations are rarely found in tumours with an EGFR mutation)"
    )
    outcome = outcome_for_ranking(verdict)
    assert outcome.rare_drivers == (("KRAS mutations", "an EGFR mutation"),)
    assert outcome.untested_biomarkers == ("KRAS G12C",)
    stored = outcome_from_stored(
        verdict.overall.value, verdict.score, [c.to_dict() for c in verdict.criteria]
    )
    assert stored == outcome


def test_mei_needs_an_alk_fusion_her_egfr_mutant_tumour_rarely_has():
    verdict = _verdict(ALK, MEI)
    assert verdict.overall is Overall.POSSIBLY_ELIGIBLE
    assert outcome_for_ranking(verdict).rare_drivers == (("ALK fusions", "an EGFR mutation"),)


def test_tom_with_kras_g12c_meets_the_kras_trial_on_his_result_and_needs_an_alk_fusion_he_rarely_has():
    kras = outcome_for_ranking(_verdict(KRAS_G12C_TISSUE, TOM))
    assert kras.met_on_biomarker
    assert kras.rare_drivers == ()
    assert outcome_for_ranking(_verdict(ALK, TOM)).rare_drivers == (("ALK fusions", "a KRAS mutation"),)


def test_a_patient_with_no_driver_found_is_only_missing_the_kras_result():
    verdict = _verdict(KRAS_G12C_TISSUE, NO_DRIVER)
    outcome = outcome_for_ranking(verdict)
    assert verdict.overall is Overall.POSSIBLY_ELIGIBLE
    assert outcome.untested_biomarkers == ("KRAS G12C",)
    assert outcome.rare_drivers == ()


def test_rosa_braf_v600e_colorectal_rarely_has_the_kras_mutation_a_solid_tumour_trial_needs():
    verdict = _verdict(KRAS_G12D, ROSA)
    assert verdict.overall is Overall.POSSIBLY_ELIGIBLE
    assert outcome_for_ranking(verdict).rare_drivers == (("KRAS mutations", "a BRAF V600E mutation"),)


def test_a_met_amplification_is_not_a_driver_an_egfr_mutant_tumour_rarely_has():
    # MET amplification is how EGFR-mutant tumours often escape EGFR inhibitors: only MET exon 14 skipping is
    # a driver of the group.
    verdict = _verdict(MET_AMPLIFICATION, MEI)
    assert outcome_for_ranking(verdict).rare_drivers == ()
    assert outcome_for_ranking(verdict).untested_biomarkers == ("MET amplification",)


@pytest.mark.parametrize("line", [KRAS_OR_AMPLIFICATION, KRAS_G12C])
def test_a_criterion_naming_another_result_she_lacks_beside_the_driver_is_a_plain_long_shot(line):
    # Without the criterion's tree, a KRAS amplification or a PD-L1 score may be an alternative that admits
    # her: the trial ranks as one needing a result she does not have, no lower.
    outcome = outcome_for_ranking(_verdict(line, MEI))
    assert outcome.overall == "possibly_eligible"
    assert len(outcome.untested_biomarkers) > 1
    assert outcome.rare_drivers == ()


def test_the_same_driver_in_another_cancer_says_nothing():
    # An EGFR mutation in a colorectal cancer is not one of that cancer's drivers.
    rosa_egfr = _facts("crc", BiomarkerFact("biomarker:1", "EGFR", "mutation", protein_change="L858R"))
    assert outcome_for_ranking(_verdict(KRAS_G12D, rosa_egfr)).rare_drivers == ()


def _ranked(facts: PatientFacts, gene: str) -> list[RankedTrial]:
    lines = {"kras": KRAS_G12C_TISSUE, "alk": ALK, "plain": NSCLC, "pdl1": PD_L1}
    trials = [TrialText(name, "Advanced non-small cell lung cancer", ("NSCLC",)) for name in lines]
    outcomes = {name: outcome_for_ranking(_verdict(line, facts)) for name, line in lines.items()}
    return rank_for_profile(["non-small cell lung cancer"], [gene], trials, outcomes)


def test_mei_sees_the_kras_g12c_and_alk_trials_below_an_untargeted_nsclc_trial_and_why():
    ranked = _ranked(MEI, "EGFR")
    # The PD-L1 trial also needs a result she does not have, but one as likely in her tumour as in any.
    assert [r.nct_id for r in ranked][:2] == ["plain", "pdl1"]
    assert {r.nct_id: r.eligibility.overall for r in ranked if r.eligibility} == {
        "plain": "eligible",
        "pdl1": "possibly_eligible",
        "kras": "possibly_eligible",
        "alk": "possibly_eligible",
    }
    kras = next(r for r in ranked if r.nct_id == "kras")
    assert (
        "It needs a KRAS G12C result; KRAS mutations are rarely found in tumours with an EGFR mutation like"
        " yours." in kras.summary()
    )


def test_tom_still_sees_the_kras_g12c_trial_first_and_the_alk_trial_last():
    ranked = _ranked(TOM, "KRAS")
    assert [r.nct_id for r in ranked] == ["kras", "plain", "pdl1", "alk"]
    assert "It selects for your tumour test result." in ranked[0].summary()
    assert "ALK fusions are rarely found in tumours with a KRAS mutation like yours." in ranked[3].summary()


def test_a_patient_with_no_driver_found_ranks_as_before():
    ranked = _ranked(NO_DRIVER, "EGFR")
    assert all(r.eligibility is not None and r.eligibility.rare_drivers == () for r in ranked)
    assert not any("rarely" in r.summary() for r in ranked)


def test_a_lineage_antigen_untested_does_not_rank_a_trial_down():
    # NCT00005829 defines its CLL by "Expression of CD19, CD20, and CD23 B cell surface markers": nearly every
    # CLL carries them, so the trial is no targeted one for a man with CLL whose record names none.
    cll = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "cll", "chronic lymphocytic leukaemia"),))
    verdict = _verdict("Expression of CD19, CD20, and CD23 B cell surface markers", cll)
    assert outcome_for_ranking(verdict).untested_biomarkers == ()
    kras = outcome_for_ranking(_verdict("KRAS G12C mutation", cll))
    assert kras.untested_biomarkers == ("KRAS G12C",)
