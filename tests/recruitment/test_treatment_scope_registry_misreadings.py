"""Treatments named with what narrows them, in the 2026 oncology registry (data/oncology_trials_2026): "any
other anticancer therapy targeting immune-regulatory receptors", "a chronic skin condition that does not
require systemic therapy", "KRAS G12C tyrosine kinase inhibitor". Read without it, the generic treatment
ruled out every patient who had had any anticancer therapy or any tyrosine kinase inhibitor.

Mei (tests/recruitment/test_drug_named_as_object.py), 58, ECOG 1, metastatic EGFR L858R lung adenocarcinoma,
treated with osimertinib (a tyrosine kinase inhibitor) 2025-04 to 2026-09; nothing else on file."""

import datetime

from nlp import parse_eligibility
from recruitment.matching import evaluate
from tests.recruitment.test_drug_named_as_object import MEI

TODAY = datetime.date(2026, 12, 7)


def outcome(text: str, section: str = "Exclusion") -> str:
    criteria = parse_eligibility(f"{section} Criteria:\n* {text}\n").criteria
    [verdict] = evaluate(criteria, MEI, today=TODAY).criteria
    return str(verdict.outcome)


class TestAGenericTreatmentNarrowedByItsTargetIsAQuestion:
    def test_any_other_anticancer_therapy_targeting_immune_regulatory_receptors(self):
        # NCT06627647
        text = (
            "Any prior exposure to an anti-TIGIT therapy or any other anticancer therapy targeting "
            "immune-regulatory receptors or mechanisms."
        )
        assert outcome(text) == "unknown"


class TestATreatmentTheConditionDoesNotRequireIsNoHistory:
    def test_a_skin_condition_that_does_not_require_systemic_therapy(self):
        # NCT06124118 (an exception to the autoimmune exclusion, listed as its own item)
        assert outcome("Any chronic skin condition that does not require systemic therapy") != "violated"


class TestTheInhibitorOfANamedGeneIsNotAnyTyrosineKinaseInhibitor:
    def test_a_kras_g12c_tyrosine_kinase_inhibitor_is_no_egfr_inhibitor(self):
        # NCT06248606
        assert outcome("Prior treatment with KRAS G12C tyrosine kinase inhibitor.") == "satisfied"

    def test_an_uncoded_met_inhibitor_is_a_question(self):
        assert outcome("Prior treatment with a MET tyrosine kinase inhibitor") == "unknown"


class TestTheDiseaseInAProtocolTitleIsNoRequirement:
    def test_the_lung_map_master_protocol_title(self):
        # NCT05642572: read as squamous cell lung cancer, it ruled out Mei's adenocarcinoma.
        text = (
            "Patients must meet all SCREENING/PRE-SCREENING and SUB-STUDY REGISTRATION COMMON ELIGIBILITY "
            "CRITERIA as specified in S1400: Phase II/III Biomarker-Driven Master Protocol for Previously "
            "Treated Squamous Cell Lung Cancer (Lung-Map)"
        )
        assert outcome(text, "Inclusion") != "violated"
