"""Treatments named for what they caused, how or when they were given or what they target, in the 2026
oncology registry (data/oncology_trials_2026): "docetaxel-related toxicities", "high dose chemotherapy
requiring stem cell rescue", "concurrent anticancer treatment (including chemotherapy, ...)", "neo-adjuvant
chemotherapy", "agents that target the KRAS/BRAF/MEK/ERK pathway". Read as the bare history (or, for the gene,
as a test result), each line excluded every patient who had ever had the drug (or the mutation).

Paul (tests/recruitment/test_prostate_registry_misreadings.py): metastatic castration-resistant prostate
cancer, leuprolide since 2021, enzalutamide 2022-2024, docetaxel 2024-04 to 2024-08, olaparib to 2026-10; no
toxicity, transplant or current chemotherapy on file. Carlos (tests/recruitment/
test_colorectal_registry_misreadings.py): metastatic KRAS G12C colon adenocarcinoma after FOLFOX with
bevacizumab and FOLFIRI, given for his metastatic disease."""

import datetime

from nlp import parse_eligibility
from recruitment.matching import PatientFacts, evaluate
from tests.recruitment.test_colorectal_registry_misreadings import CARLOS
from tests.recruitment.test_melanoma_registry_misreadings import LENA
from tests.recruitment.test_prostate_registry_misreadings import PAUL

TODAY = datetime.date(2026, 12, 7)


def outcome(text: str, patient: PatientFacts = PAUL, section: str = "Exclusion") -> str:
    criteria = parse_eligibility(f"{section} Criteria:\n* {text}\n").criteria
    [verdict] = evaluate(criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


class TestAToxicityADrugCausedIsAQuestionNotItsHistory:
    def test_docetaxel_related_toxicities(self):
        # NCT03574571
        text = (
            "Has known Grade ≥3 docetaxel-related toxicities or docetaxel toxicity related dose interruption "
            "or discontinuation."
        )
        assert outcome(text) == "unknown"

    def test_a_drug_taken_without_a_toxicity_is_still_history(self):
        assert outcome("Prior treatment with docetaxel") == "violated"


class TestHighDoseChemotherapyIsNotAnyChemotherapy:
    def test_prior_high_dose_chemotherapy_requiring_stem_cell_rescue(self):
        # NCT04787042, NCT05720117
        assert outcome("Prior high dose chemotherapy requiring stem cell rescue") == "unknown"
        assert outcome("Prior high-dose chemotherapy requiring stem cell rescue.") == "unknown"


class TestTheExamplesOfAConcurrentTreatmentAreConcurrentToo:
    def test_including_chemotherapy_after_concurrent_anticancer_treatment(self):
        # NCT06598007: Paul's docetaxel ended in 2024.
        text = (
            "Receiving concurrent anticancer treatment (including chemotherapy, targeted drugs, radiotherapy "
            "\\[excluding the following small-area radiotherapy for bone metastasis\\], endocrine therapy, "
            "antitumor traditional Chinese Medicine)."
        )
        assert outcome(text) != "violated"


class TestTheSettingBeforeATreatmentIsAQuestion:
    def test_neoadjuvant_chemotherapy_is_not_chemotherapy_for_metastatic_disease(self):
        # NCT05321134: Carlos's chemotherapy was for his metastatic cancer; no profile records the setting.
        text = "The subject has received neo-adjuvant chemotherapy or radiation therapy"
        assert outcome(text, CARLOS) == "unknown"


class TestAGeneNamedAsWhatAnAgentTargetsIsNoResult:
    def test_agents_that_target_the_kras_pathway(self):
        # NCT05786924: Carlos's KRAS G12C is his tumour's, not a drug he had.
        text = "Prior use of experimental agents that target the KRAS/BRAF/MEK/ERK pathway."
        assert outcome(text, CARLOS) != "violated"


class TestAToxicityOfImmunotherapyIsAQuestionNotItsHistory:
    """Lena (tests/recruitment/test_melanoma_registry_misreadings.py) had nivolumab with ipilimumab and no
    immune-related adverse event on file: whether she had one is the site's question."""

    def test_a_toxicity_to_a_drug(self):
        # NCT03607890
        text = "Prior life-threatening toxicity to anti-PD-1, anti-PD-L1, anti-PD-L2,or anti-CTLA4"
        assert outcome(text, LENA) == "unknown"

    def test_an_adverse_event_with_prior_immunotherapy(self):
        # NCT04262466
        text = (
            "Significant immune-mediated adverse event with prior immunotherapy (Participants in checkpoint "
            "inhibitor combination treatment)"
        )
        assert outcome(text, LENA) != "violated"

    def test_iraes_from_prior_immunotherapies(self):
        # NCT05746897
        text = (
            "Subjects who have experienced Grade ≥ 3 irAEs from prior immunotherapies or who discontinue "
            "immunotherapy due to immune-related toxicities."
        )
        assert outcome(text, LENA) == "unknown"

    def test_adverse_events_from_agents_including_but_not_limited_to_examples(self):
        # NCT05584670
        text = (
            "History of treatment-related immune-mediated (or immune-related) AEs from immune-modulatory "
            "agents (including but not limited to anti-PD1/PD-L1 agents and anti-CTLA4 monoclonal antibodies)"
        )
        assert outcome(text, LENA) != "violated"

    def test_a_contraindication_shared_across_and_or_with_a_space(self):
        # NCT05868629
        text = (
            "Study participants who have contraindication to receive dabrafenib and/ or trametinib according "
            "to the local label;"
        )
        assert outcome(text, LENA) != "violated"


class TestATreatmentThePatientIsTakingIsOneGivenNow:
    def test_taking_prohibited_medications_including_anticancer_therapy(self):
        # NCT06194929: Lena's dabrafenib and trametinib ended in August.
        text = (
            "Participants taking other prohibited medications in protocol, including anticancer therapy or "
            "investigational agents and colony-stimulating factors"
        )
        assert outcome(text, LENA) == "satisfied"

    def test_taking_chemotherapy_agents_for_other_conditions(self):
        # NCT04808323: Carlos's FOLFIRI ended before today.
        text = (
            "Patients taking nonprotocol-specified chemotherapy agents or immune-modulating agents for other "
            "medical conditions are not permitted to participate in the study"
        )
        assert outcome(text, CARLOS) != "violated"

    def test_receiving_a_treatment_now_is_still_read(self):
        assert outcome("Patients receiving leuprolide", PAUL) == "violated"

    def test_since_receiving_is_no_cue_of_now(self):
        text = "Less than 4 weeks since receiving docetaxel"
        assert outcome(text, PAUL) == "satisfied"

    def test_a_treatment_the_patient_may_continue_is_permitted(self):
        # NCT07070232
        text = (
            "Participants receiving an EGFR TKI at the time of signing informed consent may continue to take "
            "the EGFR TKI until 5 days prior to Cycle 1 Day 1."
        )
        assert outcome(text, PAUL, "Inclusion") != "violated"

    def test_progression_while_receiving_a_drug_is_no_treatment_now(self):
        # NCT03260491
        text = (
            "Has radiological documentation of disease progression while receiving continuous treatment with "
            "erlotinib, gefitinib, afatinib, or docetaxel"
        )
        assert outcome(text, PAUL, "Inclusion") == "satisfied"

    def test_the_study_drug_of_a_contraception_duration_is_no_treatment_now(self):
        # NCT05267626
        text = (
            "Female patients of childbearing potential must be willing to use two forms of contraception "
            "throughout the study, starting with Screening through 60 days after the last dose of study drug "
            "(or 5 months after the last dose of study drug for patients receiving nivolumab)."
        )
        assert outcome(text, PAUL, "Inclusion") != "violated"
