"""Criteria written for one cohort ("Inclusion Criteria for Cohort A:") count only for the arms they name."""

import datetime

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from nlp import parse_eligibility
from recruitment.matching import (
    ArmSpec,
    BiomarkerFact,
    CompiledTrial,
    DiagnosisFact,
    Overall,
    PatientFacts,
    Session,
    TrialSpec,
    match_trial,
)
from recruitment.matching.cohorts import arms_named, implicit_cohorts, names_arm
from recruitment.matching.from_text import outcome_for_ranking
from recruitment.matching.index import CandidateIndex
from recruitment.matching.synthetic import synthetic_patients
from recruitment.selectors.matching import TrialToMatch, trials_for_matching
from tests.factories import ArmFactory, TrialFactory
from tests.recruitment.conftest import TODAY
from trials.models import EligibilityCriterion, Trial
from trials.services import criterion_review, trial_parse_eligibility

# The layout of phase 1/2 basket trials on ClinicalTrials.gov: common criteria, then a block per cohort with
# its molecular requirement.
COHORT_TRIAL = """Inclusion Criteria:

* Histologically or cytologically confirmed non-small cell lung cancer
* Eastern Cooperative Oncology Group (ECOG) performance status of 0 or 1

Inclusion Criteria for Cohort A:

* Documented KRAS G12C mutation

Inclusion Criteria for Cohort B:

* EGFR exon 19 deletion or L858R mutation
* Eastern Cooperative Oncology Group (ECOG) performance status of 0 or 1

Exclusion Criteria:

* Pregnant or breastfeeding
"""

# Pedro (KRAS G12C, EGFR negative) fits Cohort A only; Elena (EGFR exon 19 deletion, KRAS never tested) fits
# Cohort B and may fit Cohort A.


@pytest.mark.parametrize(
    ("label", "arm", "named"),
    [
        ("Cohort B", "Cohort B", True),
        ("Cohort B", "Cohort B: EGFR-mutant NSCLC", True),
        ("Cohort B", "B", True),
        ("Cohort B", "Arm B (osimertinib)", True),
        ("cohort  b", "COHORT B", True),
        ("Cohort B", "Cohort B2", False),
        ("Cohort B", "Cohort A: B-cell lymphoma", False),
        ("Arms A and C", "Arm A", True),
        ("Arms A and C", "Arm C: placebo", True),
        ("Arms A and C", "Arm B", False),
        ("Parts 4A, 4B and 7", "Part 4B", True),
        ("Parts 4A, 4B and 7", "Part 4", False),
        ("Part 2", "Part 2: Dose Expansion", True),
        ("Part 2", "Part 20", False),
        ("Part 2", "Cohort 2", False),
        ("Dose Escalation", "Dose Escalation (Part 1)", True),
        ("Dose Escalation", "Dose Expansion", False),
        ("Phase Ib", "Phase Ib: Expansion", True),
    ],
)
def test_a_cohort_label_names_the_arms_with_its_identifiers(label, arm, named):
    assert names_arm(label, arm) is named


def test_a_label_naming_no_arm_or_every_arm_applies_to_all_arms():
    arms = [(1, "Cohort A"), (2, "Cohort B")]
    assert arms_named(None, arms) is None
    assert arms_named("Cohort C", arms) is None
    assert arms_named("Cohorts A and B", arms) is None
    assert arms_named("Cohort A", arms) == {1}
    # Text written under two cohorts' headings holds both labels.
    assert arms_named("Cohort A; Cohort C", arms) is None
    assert arms_named("Cohort A; Cohort B", [*arms, (3, "Cohort C")]) == {1, 2}


@pytest.fixture
def cohort_trial(db) -> Trial:
    trial = TrialFactory.create(eligibility_text=COHORT_TRIAL, minimum_age_years=18, sex=Trial.Sex.ALL)
    ArmFactory.create(trial=trial, label="Cohort A: KRAS G12C")
    ArmFactory.create(trial=trial, label="Cohort B: EGFR-mutant")
    trial_parse_eligibility(trial_id=trial.pk)
    return trial


def _to_match(trial: Trial) -> TrialToMatch:
    (candidate,) = trials_for_matching(trial_ids=[trial.pk])
    return candidate


def _cohorts(candidate: TrialToMatch, facts: PatientFacts) -> dict[str, tuple[str, bool, list[str]]]:
    verdict = candidate.compiled.match(Session(facts, TODAY))
    return {
        c.label: (c.eligibility.value, c.assignable, [s.reason for s in c.skipped]) for c in verdict.cohorts
    }


def test_parsing_stores_each_criterions_cohort(cohort_trial):
    stored = {c.text: c.cohort for c in cohort_trial.criteria.all()}
    assert stored["Documented KRAS G12C mutation"] == "Cohort A"
    assert stored["EGFR exon 19 deletion or L858R mutation"] == "Cohort B"
    # Also written without a label under the common criteria: one criterion, for every cohort.
    assert stored["Eastern Cooperative Oncology Group (ECOG) performance status of 0 or 1"] == ""
    assert stored["Pregnant or breastfeeding"] == ""


def test_pedro_fits_cohort_a_only_and_cohort_b_says_what_it_skipped(cohort_trial, pedro_facts):
    candidate = _to_match(cohort_trial)
    assert candidate.compiled.violated(Session(pedro_facts, TODAY)) is None
    assert _cohorts(candidate, pedro_facts) == {
        "Cohort A: KRAS G12C": ("eligible", True, ["applies to Cohort B only"]),
        "Cohort B: EGFR-mutant": ("ineligible", False, ["applies to Cohort A only"]),
    }
    verdict = candidate.compiled.match(Session(pedro_facts, TODAY))
    assert (verdict.overall, verdict.score, verdict.accepting) == (Overall.ELIGIBLE, 1.0, True)
    egfr = next(c for c in verdict.to_dict()["criteria"] if c["text"].startswith("EGFR"))
    assert (egfr["outcome"], egfr["cohort"], egfr["applies_to"]) == (
        "violated",
        "Cohort B",
        ["Cohort B: EGFR-mutant"],
    )
    cohort_b = verdict.cohorts[1]
    assert cohort_b.reason == "the criteria that apply to this cohort are not met"
    (skipped,) = cohort_b.to_dict()["skipped"]
    assert skipped == {
        "section": "inclusion",
        "text": "Documented KRAS G12C mutation",
        "reason": "applies to Cohort A only",
    }


def test_elena_fits_cohort_b_and_may_fit_cohort_a(cohort_trial, elena_facts):
    candidate = _to_match(cohort_trial)
    assert _cohorts(candidate, elena_facts) == {
        "Cohort A: KRAS G12C": ("possibly_eligible", True, ["applies to Cohort B only"]),
        "Cohort B: EGFR-mutant": ("eligible", True, ["applies to Cohort A only"]),
    }
    assert candidate.compiled.match(Session(elena_facts, TODAY)).overall is Overall.ELIGIBLE


def test_a_full_cohort_elena_fits_does_not_make_her_eligible_for_the_trial(cohort_trial, elena_facts):
    # Cohort B (EGFR) is full, so only Cohort A can take Elena, and its KRAS requirement is still unknown: the
    # trial is possible for her, not eligible, and the KRAS test is what would settle it.
    cohort_b = cohort_trial.arms.get(label="Cohort B: EGFR-mutant")
    cohort_b.cap = 5
    cohort_b.save(update_fields=["cap"])
    candidate = _to_match(cohort_trial)
    verdict = candidate.compiled.match(Session(elena_facts, TODAY), enrolled={cohort_b.pk: 5})
    assert [c.assignable for c in verdict.cohorts] == [True, False]
    assert verdict.overall is Overall.POSSIBLY_ELIGIBLE
    assert verdict.score < 1.0
    assert verdict.accepting is True
    # With a place free in Cohort B she is eligible again.
    assert candidate.compiled.match(Session(elena_facts, TODAY), enrolled={cohort_b.pk: 4}).overall is (
        Overall.ELIGIBLE
    )


def test_a_patient_failing_every_cohorts_criteria_is_ineligible_in_both_passes(cohort_trial):
    neither = PatientFacts(
        birth_date=datetime.date(1960, 1, 1),
        ecog=0,
        pregnancy_status="not_pregnant",
        breastfeeding=False,
        diagnoses=(DiagnosisFact("diagnosis:1", "nsclc", "NSCLC"),),
        biomarkers=(
            BiomarkerFact("biomarker:1", "KRAS", "mutation", "negative"),
            BiomarkerFact("biomarker:2", "EGFR", "mutation", "negative"),
        ),
    )
    candidate = _to_match(cohort_trial)
    session = Session(neither, TODAY)
    failed = candidate.compiled.violated(session)
    assert failed is not None
    assert failed.cohort == "Cohort A"
    verdict = candidate.compiled.match(session)
    assert (verdict.overall, verdict.accepting, verdict.closed_reason) == (
        Overall.INELIGIBLE,
        False,
        "no open cohort fits",
    )


def test_without_arms_the_cohorts_the_labels_name_are_alternatives(db, pedro_facts):
    # A trial registered without arms (the 2026 oncology registry has none) still names its cohorts in its
    # criteria: Pedro fits Cohort A, so Cohort B's EGFR mutation does not rule him out, and no cohort
    # verdicts are made up for arms the trial does not have.
    trial = TrialFactory.create(eligibility_text=COHORT_TRIAL, minimum_age_years=18, sex=Trial.Sex.ALL)
    trial_parse_eligibility(trial_id=trial.pk)
    candidate = _to_match(trial)
    assert candidate.compiled.violated(Session(pedro_facts, TODAY)) is None
    verdict = candidate.compiled.match(Session(pedro_facts, TODAY))
    assert verdict.overall is Overall.ELIGIBLE
    assert verdict.cohorts == ()
    egfr = next(c for c in verdict.criteria if "EGFR" in c.text)
    assert egfr.applies_to == ("Cohort B",)


def test_without_arms_a_patient_fitting_no_named_cohort_is_ineligible(db):
    trial = TrialFactory.create(eligibility_text=COHORT_TRIAL, minimum_age_years=18, sex=Trial.Sex.ALL)
    trial_parse_eligibility(trial_id=trial.pk)
    candidate = _to_match(trial)
    # Wendy: NSCLC, ECOG 1, KRAS and EGFR both tested and wild type.
    wendy = PatientFacts(
        birth_date=datetime.date(1970, 1, 1),
        sex="female",
        ecog=1,
        diagnoses=(DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma"),),
        biomarkers=(
            BiomarkerFact("biomarker:1", "KRAS", "mutation", status="negative"),
            BiomarkerFact("biomarker:2", "EGFR", "mutation", status="negative"),
        ),
    )
    assert candidate.compiled.violated(Session(wendy, TODAY)) is not None
    assert candidate.compiled.match(Session(wendy, TODAY)).overall is Overall.INELIGIBLE


@pytest.mark.parametrize(
    ("labels", "cohorts"),
    [
        (["Cohort A", "Cohort B", None], ("Cohort A", "Cohort B")),
        (["Cohorts A and C", "Cohort B"], ("Cohort A", "Cohort B", "Cohort C")),
        (["Dose Escalation", "Dose Expansion"], ("Dose Escalation", "Dose Expansion")),
        # One label alone, or a part beside a cohort (which may lie inside it), names no alternatives.
        (["Cohort A", None], ()),
        (["Part 2", "Cohort A"], ()),
    ],
)
def test_the_cohorts_a_trial_without_arms_names_in_its_labels(labels, cohorts):
    assert tuple(title for _, title in implicit_cohorts(labels)) == cohorts


def test_a_label_naming_no_arm_of_the_trial_applies_to_every_arm(db, pedro_facts):
    text = COHORT_TRIAL.replace("for Cohort B:", "for Cohort C:")
    trial = TrialFactory.create(eligibility_text=text, minimum_age_years=18, sex=Trial.Sex.ALL)
    ArmFactory.create(trial=trial, label="Cohort A: KRAS G12C")
    ArmFactory.create(trial=trial, label="Cohort B: EGFR-mutant")
    trial_parse_eligibility(trial_id=trial.pk)
    candidate = _to_match(trial)
    # The EGFR criterion says "Cohort C", which this trial does not have: Pedro is held to it in every arm.
    assert candidate.compiled.violated(Session(pedro_facts, TODAY)) is not None
    cohorts = _cohorts(candidate, pedro_facts)
    assert cohorts["Cohort A: KRAS G12C"] == ("ineligible", False, [])
    assert cohorts["Cohort B: EGFR-mutant"] == ("ineligible", False, ["applies to Cohort A only"])


def test_the_index_never_skips_a_patient_a_cohort_criterion_alone_rules_out(cohort_trial, pedro_facts):
    candidate = _to_match(cohort_trial)
    index = CandidateIndex(trials={cohort_trial.pk: candidate.criteria}, today=TODAY)
    assert cohort_trial.pk in index.trials_for(pedro_facts)
    arms = (ArmSpec(1, "Cohort A"), ArmSpec(2, "Cohort B"))
    for arms_of_trial in (arms, ()):
        verdict = match_trial(TrialSpec(1, True, arms_of_trial), candidate.criteria, pedro_facts, today=TODAY)
        assert verdict.overall is Overall.ELIGIBLE


def test_a_curators_correction_keeps_the_cohort_and_the_api_and_review_page_show_it(cohort_trial, cora):
    kras = cohort_trial.criteria.get(text="Documented KRAS G12C mutation")
    criterion_review(
        criterion_id=kras.pk, actor=cora, action="correct", revision=kras.revision, tree=kras.parsed_tree
    )
    trial_parse_eligibility(trial_id=cohort_trial.pk, force=True)
    kras.refresh_from_db()
    assert (kras.status, kras.cohort) == (EligibilityCriterion.Status.CORRECTED, "Cohort A")

    api = APIClient()
    api.force_authenticate(cora)
    url = reverse("api:trial-criteria", args=[cohort_trial.nct_id])
    rows = {row["text"]: row["cohort"] for row in api.get(url).json()}
    assert rows["Documented KRAS G12C mutation"] == "Cohort A"
    assert rows["Pregnant or breastfeeding"] == ""

    api.force_login(cora)
    page = api.get(reverse("trials:criteria", args=[cohort_trial.nct_id])).content.decode()
    assert "Applies to Cohort A only" in page
    assert "Applies to Cohort B only" in page


def test_a_cohort_criterion_pedro_does_not_meet_is_not_held_against_a_trial_he_may_enter(
    cohort_trial, pedro_facts
):
    verdict = _to_match(cohort_trial).compiled.match(Session(pedro_facts, TODAY))
    outcome = outcome_for_ranking(verdict)
    assert outcome.not_met == ()
    assert "Documented KRAS G12C mutation" in outcome.met


@pytest.mark.parametrize("arms", [(), (ArmSpec(1, "Cohort A: KRAS G12C"), ArmSpec(2, "Cohort B"))])
def test_the_first_pass_and_the_full_verdict_agree_and_the_index_skips_only_ineligible_pairs(arms):
    criteria = parse_eligibility(COHORT_TRIAL).criteria
    compiled = CompiledTrial(TrialSpec(1, True, arms), criteria)
    patients = synthetic_patients(200, seed=3, today=TODAY)
    index = CandidateIndex(trials={1: criteria}, today=TODAY)
    overalls = set()
    for facts in patients:
        session = Session(facts, TODAY)
        verdict = compiled.match(session)
        overalls.add(verdict.overall)
        assert (compiled.violated(session) is None) is (verdict.overall is not Overall.INELIGIBLE)
        if 1 not in index.trials_for(facts):
            assert verdict.overall is Overall.INELIGIBLE
        for cohort in verdict.cohorts:
            assert cohort.assignable is (cohort.eligibility is not Overall.INELIGIBLE)
    assert overalls >= {Overall.INELIGIBLE, Overall.POSSIBLY_ELIGIBLE}
