"""Sentences of the 2026 oncology registry (data/oncology_trials_2026) the parser misread for three patients
with kidney or bladder cancer, each matched against the patient it wrongly excluded (no database).

Ravi, 64, ECOG 1, stage IV clear-cell renal cell carcinoma diagnosed 2023-05-10, radical nephrectomy
2023-06-20; pembrolizumab with axitinib (2023-08 to 2025-10), then cabozantinib since 2025-11. Ursula, 71,
postmenopausal, ECOG 1, metastatic urothelial carcinoma of the bladder diagnosed 2024-02-12 (FGFR3 S249C,
PD-L1 CPS 15 by 22C3), TURBT 2024-02-01; gemcitabine with carboplatin (2024-03 to 2024-07), avelumab
maintenance (2024-08 to 2025-06), then enfortumab vedotin (2025-07 to 2026-10). Sam, 58, "kidney cancer" and
nothing else on file: what his profile cannot tell stays unknown."""

import datetime

from nlp import parse_eligibility
from nlp.terminology import drug_classes
from recruitment.matching import DiagnosisFact, PatientFacts, ProcedureFact, evaluate
from recruitment.matching.facts import BiomarkerFact
from tests.recruitment.fact_helpers import therapy

TODAY = datetime.date(2026, 12, 7)

RAVI = PatientFacts(
    birth_date=datetime.date(1962, 4, 11),
    sex="male",
    ecog=1,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "ccrcc",
            "clear cell renal cell carcinoma",
            diagnosed_on=datetime.date(2023, 5, 10),
            stage="IV",
            histology="clear cell",
        ),
    ),
    procedures=(
        ProcedureFact("procedure:1", "nephrectomy", "radical nephrectomy", datetime.date(2023, 6, 20)),
    ),
    therapies=(
        therapy("therapy:1", "pembrolizumab", 1, datetime.date(2023, 8, 1), datetime.date(2025, 10, 15)),
        therapy("therapy:2", "axitinib", 1, datetime.date(2023, 8, 1), datetime.date(2025, 10, 15)),
        therapy("therapy:3", "cabozantinib", 2, datetime.date(2025, 11, 1)),
    ),
)
URSULA = PatientFacts(
    birth_date=datetime.date(1955, 9, 30),
    sex="female",
    ecog=1,
    pregnancy_status="not_pregnant",
    breastfeeding=False,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "bladder_cancer",
            "metastatic urothelial carcinoma of the bladder",
            diagnosed_on=datetime.date(2024, 2, 12),
            stage="IV",
            histology="urothelial carcinoma",
        ),
    ),
    biomarkers=(
        BiomarkerFact("biomarker:1", "FGFR3", "mutation", protein_change="S249C"),
        BiomarkerFact("biomarker:2", "CD274", "expression", measure="CPS", value=15.0, assay="22C3"),
    ),
    procedures=(
        ProcedureFact(
            "procedure:1", "turbt", "transurethral resection of bladder tumour", datetime.date(2024, 2, 1)
        ),
    ),
    therapies=(
        therapy("therapy:1", "gemcitabine", 1, datetime.date(2024, 3, 1), datetime.date(2024, 7, 15)),
        therapy("therapy:2", "carboplatin", 1, datetime.date(2024, 3, 1), datetime.date(2024, 7, 15)),
        therapy("therapy:3", "avelumab", 1, datetime.date(2024, 8, 1), datetime.date(2025, 6, 30)),
        therapy(
            "therapy:4", "enfortumab vedotin", 2, datetime.date(2025, 7, 15), datetime.date(2026, 10, 20)
        ),
    ),
)
SAM = PatientFacts(
    birth_date=datetime.date(1968, 1, 15),
    sex="male",
    diagnoses=(DiagnosisFact("diagnosis:1", "rcc", "kidney cancer"),),
)


def outcome(text: str, patient: PatientFacts, section: str = "Exclusion") -> str:
    """The outcome of the only criterion parsed from `text`, as an item of `section`, for `patient`."""
    parsed = parse_eligibility(f"{section} Criteria:\n* {text}\n")
    [verdict] = evaluate(parsed.criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


def codes(text: str, section: str = "Exclusion") -> list[str]:
    parsed = parse_eligibility(f"{section} Criteria:\n* {text}\n")
    return [a.concept.code for a in parsed.atoms() if a.concept is not None]


class TestTheKindsOfKidneyCancerAreTold:
    """ "Clear cell renal cell carcinoma" was a synonym of renal cell carcinoma, and "variant histology" or
    "papillary" RCC were read as any RCC: a trial excluding the variant histologies excluded Ravi's clear-cell
    cancer, and Sam's kidney cancer of unrecorded kind met a trial asking for clear-cell histology."""

    def test_a_clear_cell_cancer_is_not_excluded_as_a_variant_histology(self):
        # NCT07223541
        text = "Patient with variant histology renal cell carcinoma."
        assert codes(text) == ["nccrcc"]
        assert outcome(text, RAVI) == "satisfied"
        assert outcome(text, SAM) == "unknown"

    def test_clear_cell_histology_is_asked_of_a_kidney_cancer_of_unrecorded_kind(self):
        # NCT07226544
        text = "Histologic confirmation of clear cell RCC"
        assert outcome(text, RAVI, "Inclusion") == "satisfied"
        assert outcome(text, SAM, "Inclusion") == "unknown"

    def test_a_papillary_cancer_is_a_non_clear_cell_one(self):
        # NCT05665361
        assert codes("Participants with pRCC (Cohort 2)", "Inclusion") == ["papillary_rcc"]
        text = "Histologically confirmed papillary renal cell carcinoma"
        assert outcome(text, RAVI, "Inclusion") == "violated"


class TestKidneyAndBladderCancerTreatmentsAreKnown:
    """Axitinib, sunitinib, pazopanib, tivozanib and zanzalintinib are VEGFR tyrosine kinase inhibitors like
    cabozantinib; belzutifan is a HIF-2 alpha inhibitor, erdafitinib an FGFR inhibitor, enfortumab vedotin and
    sacituzumab govitecan antibody-drug conjugates. Unknown, "Prior treatment with zanzalintinib for RCC"
    was read as "RCC" alone and excluded every kidney cancer."""

    def test_the_drugs_have_their_classes(self):
        assert drug_classes("axitinib")[:2] == ["vegfr_tki", "tki"]
        assert drug_classes("cabozantinib")[:2] == ["vegfr_tki", "tki"]
        assert drug_classes("enfortumab vedotin") == ["adc"]
        assert codes("Prior treatment with a HIF-2 alpha inhibitor or erdafitinib") == [
            "hif2a_inhibitor",
            "erdafitinib",
        ]

    def test_a_treatment_for_kidney_cancer_is_asked_of_the_treatment(self):
        # NCT07043608
        text = "Prior treatment with zanzalintinib for RCC."
        assert outcome(text, RAVI) == "satisfied"
        assert outcome(text, SAM) == "unknown"

    def test_a_vegfr_tki_is_a_tki(self):
        # NCT07223541-style: "tyrosine kinase inhibitors"; NCT05919238-style: "VEGF-TKI"
        assert outcome("Prior treatment with a VEGF-TKI", RAVI, "Inclusion") == "satisfied"
        assert outcome("Prior treatment with tyrosine kinase inhibitors", RAVI, "Inclusion") == "satisfied"

    def test_kidney_and_bladder_operations_are_procedures(self):
        assert codes("Prior radical nephrectomy or transurethral resection of bladder tumor") == [
            "nephrectomy",
            "turbt",
        ]
        assert outcome("Prior cytoreductive nephrectomy", RAVI, "Inclusion") == "satisfied"


class TestAnUpperTractCancerIsNotEveryUrothelialCancer:
    """ "Absence of concomitant upper tract urothelial carcinoma" (NCT06545955) read "urothelial carcinoma"
    and asked Ursula to have none. Whether her bladder cancer has reached the upper tract is the site's
    question."""

    def test_an_upper_tract_cancer_is_read_whole(self):
        text = "Absence of concomitant upper tract urothelial carcinoma"
        assert codes(text, "Inclusion") == ["utuc"]
        assert outcome(text, URSULA, "Inclusion") == "unknown"


def test_a_kidney_cancer_that_comes_with_a_syndrome_is_not_every_kidney_cancer():
    # NCT05410509: whether Ravi's cancer is a hereditary one is for the site
    assert outcome("Renal cell carcinoma as part of a syndrome", RAVI) == "unknown"


def test_a_protocol_number_that_starts_with_a_drug_code_is_no_drug():
    # NCT07049926: MK-3475 is pembrolizumab, MK-3475-U03 a protocol
    text = (
        "Have been previously allocated/randomized to study intervention in any sub study of protocol"
        " MK-3475-U03"
    )
    assert "pembrolizumab" not in codes(text)
    assert codes("Prior treatment with MK-3475 (pembrolizumab)") == ["pembrolizumab", "pembrolizumab"]


class TestAToxicityOfATreatmentIsNoHistoryOfIt:
    """A toxicity "to", "with" or "when receiving" a treatment, or a treatment "discontinued ... due to" an
    immune-related adverse event, asks about the toxicity: having had the treatment excluded Ravi (after
    pembrolizumab) and Ursula (after avelumab and enfortumab vedotin) from trials that turn away only the
    patients who could not tolerate it."""

    def test_a_toxicity_to_or_with_a_treatment_is_the_sites_question(self):
        texts = (
            # NCT03607890
            "Prior life-threatening toxicity to anti-PD-1, anti-PD-L1, anti-PD-L2,or anti-CTLA4",
            # NCT05665361
            "Prior history of grade \\>=3 immune-related adverse event(s) with checkpoint inhibitor therapy."
            " Note: participants who had endocrine toxicity of grades 3 or 4 are eligible",
        )
        assert [outcome(text, RAVI) for text in texts] == ["unknown"] * 2

    def test_a_toxicity_when_receiving_a_drug_is_the_sites_question(self):
        # NCT06465069
        text = "History of Grade ≥3 skin toxicity when receiving enfortumab vedotin"
        assert outcome(text, URSULA) == "unknown"

    def test_a_treatment_stopped_for_an_immune_related_event_is_the_sites_question(self):
        # NCT04787042
        text = (
            "Prior therapy with an anti-PD-1, anti-PD-L1, or anti-PD-L2 agent or with an agent directed to"
            " another stimulatory or co-inhibitory T-cell receptor (e.g., CTLA-4, OX40, CD137), and was"
            " discontinued from that treatment due to a Grade 3 or higher irAE"
        )
        assert outcome(text, RAVI) == "unknown"
        assert outcome(text, URSULA) == "unknown"

    def test_a_prior_checkpoint_inhibitor_alone_still_excludes(self):
        # NCT05733715
        text = "Has received prior therapy with an anti-PD-1, anti-PD-L1, or anti PD L2 agent"
        assert outcome(text, RAVI) == "violated"


class TestAnotherMalignancyThatDoesNotInterfereIsLetIn:
    """The NCI template "Patients with a prior or concurrent malignancy whose natural history or treatment
    does not have the potential to interfere with the safety or efficacy assessment of the investigational
    regimen are eligible" was read, where the sentence stops short of "are eligible" or goes on to more
    conditions, as requiring another cancer, which Ursula does not have."""

    def test_the_clause_itself_lets_the_malignancy_in(self):
        # NCT05576896
        text = (
            "Patients with a prior or concurrent malignancy whose natural history or treatment does not have"
            " the potential to interfere with the safety or efficacy assessment of the investigational"
            " regimen."
        )
        assert outcome(text, URSULA, "Inclusion") == "not_checkable"

    def test_a_malignancy_that_may_interfere_still_excludes(self):
        # NCT05035836
        text = (
            "Prior or concurrent malignancy whose natural history or treatment has the potential to interfere"
            " with the safety or efficacy assessment of the investigational regimen."
        )
        assert outcome(text, URSULA) == "satisfied"


class TestATreatmentsSettingBeforeItIsTheSitesQuestion:
    """An adjuvant, neoadjuvant or intravesical treatment was read as the treatment in any setting: Ursula's
    chemotherapy for metastatic disease failed "Not received any adjuvant or neoadjuvant chemotherapy" and
    counted as "prior intravesical chemotherapy". No profile records the setting (as "for metastatic
    disease" after a treatment already asks)."""

    def test_an_adjuvant_treatment_is_not_any_treatment(self):
        # NCT06571708
        text = "Not received any adjuvant or neoadjuvant chemotherapy or immunotherapy."
        assert outcome(text, URSULA, "Inclusion") == "unknown"

    def test_an_intravesical_treatment_is_not_any_treatment(self):
        # NCT06545955
        text = "Prior intravesical chemotherapy for the treatment of BCG-unresponsive NMIBC"
        assert outcome(text, URSULA) == "unknown"

    def test_a_treatment_without_a_setting_is_still_read(self):
        assert outcome("No prior chemotherapy or immunotherapy.", URSULA, "Inclusion") == "violated"

    def test_a_treatment_given_systemically_or_otherwise_is_any_treatment(self):
        # NCT05839119
        text = (
            "3.2.1 Patients who have previously received systemic or intravesical gemcitabine or"
            " platinum-containing chemotherapy"
        )
        assert outcome(text, URSULA) == "violated"


class TestTheReasonsForARequirementAskNothing:
    """NCT05839119 gives its reasons in the inclusions: "Because the safety and efficacy of Degarelix in
    pediatric patients have not been established, children ... are excluded" and "Degarelix may cause fetal
    loss" asked Ursula to have had degarelix, a drug of the trial."""

    def test_an_unestablished_safety_is_a_reason(self):
        text = (
            "Because the safety and efficacy of Degarelix in pediatric patients have not been established,"
            " children (patients \\<18 years of age) are excluded from this study."
        )
        assert "degarelix" not in codes(text, "Inclusion")
        assert outcome(text, URSULA, "Inclusion") == "satisfied"

    def test_a_harm_to_a_fetus_is_a_reason(self):
        text = (
            "The effects of Degarelix on the developing human fetus are unknown. However, based on animal"
            " studies and the mechanism of action, Degarelix may cause fetal loss."
        )
        assert "degarelix" not in codes(text, "Inclusion")


def test_the_trials_drug_named_again_as_a_time_anchor_is_no_history():
    # NCT06399419: Ravi never had nivolumab; the trial gives it
    text = (
        "Sexually active fertile subjects and their partners must agree to use medically accepted methods of"
        " contraception during the course of the study and for 5 months after the last dose of nivolumab for"
        " women with childbearing potential, and 7 months after the last dose of nivolumab for men"
    )
    assert outcome(text, RAVI, "Inclusion") == "not_checkable"
    assert codes(text, "Inclusion").count("nivolumab") == 2


def test_a_condom_required_even_after_vasectomy_asks_for_no_vasectomy():
    # NCT05665361
    text = (
        "Men with female partners of reproductive potential and pregnant partners are required to use a"
        " condom (even after vasectomy), during treatment and for at least 6 months after the final dose and"
        " must refrain from donating sperm during this same period."
    )
    [vasectomy] = [
        a for a in parse_eligibility(f"Inclusion Criteria:\n* {text}\n").atoms() if a.kind == "procedure"
    ]
    assert not vasectomy.checkable
    assert "vasectomy" in codes("Men must have had a vasectomy", "Inclusion")


def test_who_cannot_participate_is_turned_away_not_required():
    # NCT06432036: "cannot participate" denies, as "are excluded" does
    text = (
        "Negative serum pregnancy test in females of child-bearing potential; patients who are breast-feeding"
        " cannot participate in this trial"
    )
    assert outcome(text, SAM, "Inclusion") == "satisfied"
    assert outcome(text, URSULA, "Inclusion") == "satisfied"


class TestAnAntibodyDrugConjugatesPayloadIsTheSitesQuestion:
    """Ursula's enfortumab vedotin is an antibody-drug conjugate carrying a tubulin inhibitor (MMAE), not a
    topoisomerase I inhibitor: trials excluding only ADCs with that payload excluded her as if any ADC."""

    def test_an_adc_with_a_named_payload_is_not_any_adc(self):
        texts = (
            # NCT06242470
            "Prior treatment with any ADC with a topoisomerase payload.",
            # NCT06555744
            "Has received prior Topoisomerase I inhibitor(TOPO1i) antibody drug conjugate treatment,"
            " regardless of washout period.",
        )
        assert [outcome(text, URSULA) for text in texts] == ["unknown"] * 2

    def test_any_adc_still_excludes(self):
        assert outcome("Prior treatment with an antibody drug conjugate", URSULA) == "violated"


class TestRequirementsLabelledByCohortAreAlternatives:
    def test_a_naive_cohort_and_a_treated_cohort_under_one_header(self):
        # NCT06465069: read as one requirement, "naive" and "must have received" ruled out everyone.
        text = (
            "Inclusion Criteria:\n* Prior enfortumab vedotin specific requirements:\n\n"
            "  * Cohorts A1/A2/C: prior treatment with enfortumab vedotin is allowed, but not required\n"
            "  * Cohort B1: individual must be enfortumab vedotin naive in the advanced/metastatic setting\n"
            "  * Cohort B2: individual must have received enfortumab vedotin in the metastatic/advanced "
            "setting.\n"
        )
        [verdict] = evaluate(parse_eligibility(text).criteria, RAVI, today=TODAY).criteria
        assert str(verdict.outcome) != "violated"
