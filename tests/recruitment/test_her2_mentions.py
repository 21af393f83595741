"""A HER2 mention that only names the test, its status or its IHC score is no demand for a HER2 alteration.
Read as one ("any positive HER2 finding"), these registry sentences (data/oncology_trials_2026) turned away
Bea, whose HER2-low tumour (IHC 1+, ISH not amplified) is what several of them were written for, and the
patient whose tumour is HER2 0. Each is matched against three women with the same metastatic HR-positive
breast cancer, who differ only in HER2: Bea (IHC 1+, HER2-low), Hana (IHC 3+, HER2-positive) and Zoe (IHC 0).
No database."""

import dataclasses
import datetime

from nlp import iter_atoms, parse_eligibility
from recruitment.matching import BiomarkerFact, DiagnosisFact, PatientFacts, evaluate

TODAY = datetime.date(2026, 12, 7)


def her2(status: str, score: int) -> BiomarkerFact:
    return BiomarkerFact(
        "biomarker:3", "ERBB2", "expression", status=status, measure="IHC", value=score, assay="HercepTest"
    )


def patient(her2_result: BiomarkerFact, stage: str = "IV") -> PatientFacts:
    return PatientFacts(
        birth_date=datetime.date(1974, 3, 10),
        sex="female",
        ecog=1,
        diagnoses=(
            DiagnosisFact(
                "diagnosis:1",
                "breast_cancer",
                "breast cancer",
                diagnosed_on=datetime.date(2025, 1, 15),
                stage=stage,
            ),
        ),
        biomarkers=(
            BiomarkerFact("biomarker:1", "ESR1", "expression", status="positive", measure="IHC", value=3),
            BiomarkerFact("biomarker:2", "PGR", "expression", status="positive", measure="IHC", value=2),
            her2_result,
        ),
    )


BEA = patient(her2("negative", 1))
HANA = patient(her2("positive", 3))
ZOE = patient(her2("negative", 0))
WOMEN = (BEA, HANA, ZOE)


def outcomes(text: str, women: tuple[PatientFacts, ...] = WOMEN) -> list[str]:
    """The outcome of the only criterion parsed from the inclusion `text`, for each woman."""
    found = []
    for woman in women:
        [verdict] = evaluate(
            parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria, woman, today=TODAY
        ).criteria
        found.append(str(verdict.outcome))
    return found


class TestAStatusOrTestNamedIsNoRequirement:
    """'HER2 status known', 'any HER2 status', 'HER2 to CEP17 ratio': the site checks the test; the patient's
    result neither meets nor fails it."""

    def test_any_her2_and_er_pr_status(self):
        # NCT03987555
        assert outcomes("Invasive breast cancer (any HER2 and ER/PR status)") == ["satisfied"] * 3

    def test_her2_status_known(self):
        # NCT05059444
        text = (
            "Cohort 3: Invasive breast carcinoma with hormone receptor (e.g. estrogen receptor (ER) and"
            " progesterone receptor (PR) expression) and human epidermal growth factor receptor 2 (HER2)"
            " status known"
        )
        assert outcomes(text) == ["satisfied"] * 3

    def test_any_status_is_allowed_in_brackets(self):
        # NCT06260033
        text = (
            "Histologically confirmed ER+ (any progesterone receptor \\[PR\\] and human epidermal growth"
            " factor receptor 2 \\[HER2\\] status is allowed) metastatic breast cancer"
        )
        assert outcomes(text) == ["satisfied"] * 3

    def test_her2_negative_defined_by_a_ratio_and_a_copy_number(self):
        # NCT05464810: the definition's "ratio of HER2 to CEP17" and "HER2 gene copy number" name the ISH
        # test; "HER2 negative" is the requirement (early-stage women: the trial is for stage I-III).
        text = (
            "Biopsy proven hormone receptor positive, HER2 negative stage I-III invasive breast cancer\n\n"
            "  * HER2 negativity is defined as either of the following by local laboratory assessment\n\n"
            "    * IHC 0, 1+, or 2+ and in situ hybridization (ISH) non-amplified (ratio of HER2 to CEP17"
            " \\< 2.0 or single probe average HER2 gene copy number \\< 4 signals/cell)"
        )
        early = tuple(
            dataclasses.replace(w, diagnoses=(dataclasses.replace(w.diagnoses[0], stage="II"),))
            for w in WOMEN
        )
        assert outcomes(text, early) == ["satisfied", "violated", "satisfied"]

    def test_a_polarity_before_the_status_is_still_a_requirement(self):
        # NCT06348134
        text = (
            "Patients with histologically confirmed carcinoma of the female breast with positive HER2 status"
        )
        assert outcomes(text) == ["violated", "satisfied", "violated"]

    def test_the_mention_is_kept_for_the_site(self):
        [criterion] = parse_eligibility(
            "Inclusion Criteria:\n* HER2 status must be determined locally\n"
        ).criteria
        [mention] = [a for a in iter_atoms(criterion.tree) if a.kind == "biomarker"]
        assert not mention.checkable


class TestAnIhcScoreNamedWithTheGene:
    """An IHC score written before the gene, or after it behind "immunohistochemistry (IHC)", is that score,
    not any HER2 finding."""

    def test_1_plus_level_of_expression(self):
        # NCT06551116
        text = (
            "Primary and/or metastatic tumor with 1+ level of expression of HER2 by immunohistochemistry as"
            " determined by local laboratory assessment utilizing ASCO/CAP guidelines."
        )
        assert outcomes(text) == ["satisfied", "violated", "violated"]

    def test_ihc_0_or_1_or_2_staining_for_her2(self):
        # NCT05826964
        text = (
            "Patients with a diagnosis of ER+, human epidermal growth factor receptor 2 negative (HER2-)"
            " metastatic (Stage IV) breast cancer. Positivity status is defined as \\>10% staining for ER and"
            " immunohistochemistry (IHC) 0+ or IHC 1 or 2+ staining for HER-2, and fluorescence in situ"
            " hybridization (FISH) negative with standard pathology staining methods."
        )
        assert outcomes(text) == ["satisfied", "violated", "satisfied"]

    def test_the_her2_low_note(self):
        # NCT06224673
        text = (
            "Pathologically documented HER2-low locally advanced unresectable or metastatic breast cancer"
            " (MBC). NOTE: human epidermal growth factor receptor 2 (HER2)-low status determined by HER2"
            " immunohistochemistry (IHC) 1+ or 2+ and no evidence of HER2 gene amplification by in situ"
            " hybridization (ISH)/fluorescence in situ hybridization (FISH), which can be documented from any"
            " tumor sample during the patient's cancer treatment history (early-stage or metastatic)."
        )
        assert outcomes(text) == ["satisfied", "violated", "violated"]


MARK = dataclasses.replace(BEA, sex="male")  # Bea's tumour, in a man


def exclusion_outcomes(text: str, women: tuple[PatientFacts, ...]) -> list[str]:
    found = []
    for woman in women:
        criteria = parse_eligibility(f"Exclusion Criteria:\n* {text}\n").criteria
        [verdict] = evaluate(criteria, woman, today=TODAY).criteria
        found.append(str(verdict.outcome))
    return found


class TestAQualifiedBreastCancerIsNotAnyBreastCancer:
    """An exclusion of a form of breast cancer (male, bilateral, contralateral, inflammatory, metaplastic,
    locally advanced) no profile records is a question for the site, not met by every breast cancer: Bea's
    metastatic breast cancer was excluded by each of these."""

    TEXTS = (
        # NCT04985032
        "Synchronous contralateral breast cancer",
        # NCT05837455
        "Inflammatory breast cancer (cT4d disease as per AJCC 8th edition).",
        "Bilateral breast cancer.",
        # NCT05870579
        "Diagnosis of inflammatory breast cancer at screening",
        # NCT05826964
        "Locally advanced breast cancer or locoregional relapse amenable for any treatment with curative"
        " intent.",
        # NCT06790693
        "Metaplastic breast cancer",
    )

    def test_bea_is_not_excluded_by_a_form_of_breast_cancer_she_is_not_recorded_with(self):
        assert [exclusion_outcomes(text, (BEA,))[0] for text in self.TEXTS] == ["unknown"] * len(self.TEXTS)

    def test_male_breast_cancer_excludes_a_man_not_bea(self):
        # NCT05030038
        assert exclusion_outcomes("Male breast cancer", (BEA, MARK)) == ["satisfied", "violated"]

    def test_a_breast_cancer_history_still_excludes_her(self):
        # NCT06127979
        assert exclusion_outcomes("History of breast cancer", (BEA,)) == ["violated"]

    def test_locally_advanced_as_one_alternative_is_no_qualifier(self):
        text = "Metastatic or locally advanced breast cancer"
        assert outcomes(text, (BEA,)) == ["satisfied"]
