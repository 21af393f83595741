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
