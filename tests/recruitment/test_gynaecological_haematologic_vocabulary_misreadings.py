"""Sentences of the 2026 oncology registry (data/oncology_trials_2026) whose gynaecological or haematological
vocabulary or structure the parser misread, each matched against the patient it wrongly excluded (no
database). The patients are those of the earlier gynaecological and haematologic audits: Olivia, 57, with
high-grade serous ovarian carcinoma stage IIIC after two platinum lines and olaparib; Hana, 59, with relapsed
diffuse large B-cell lymphoma after R-CHOP, R-ICE and CAR-T; Arun, 64, with refractory FLT3-ITD acute myeloid
leukaemia; Mark, 70, with relapsed myeloma after lenalidomide, bortezomib and daratumumab. Petra is Olivia
with a primary peritoneal cancer instead."""

import dataclasses
import datetime

from nlp import iter_atoms, parse_eligibility
from nlp.terminology import drug_classes, link_exact
from recruitment.matching import DiagnosisFact, PatientFacts, evaluate
from tests.recruitment.test_gynaecological_pancreatic_registry_misreadings import OLIVIA
from tests.recruitment.test_haematologic_registry_misreadings import HANA, MARK

TODAY = datetime.date(2026, 12, 7)

PETRA = dataclasses.replace(
    OLIVIA,
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "primary_peritoneal_cancer",
            "primary peritoneal high-grade serous carcinoma",
            stage="IIIC",
            histology="high-grade serous carcinoma",
            diagnosed_on=datetime.date(2023, 2, 1),
        ),
    ),
)


def outcome(text: str, patient: PatientFacts) -> str:
    """The outcome of the only criterion parsed from `text` for `patient`."""
    [verdict] = evaluate(parse_eligibility(text).criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


def inclusion(text: str) -> str:
    return f"Inclusion Criteria:\n* {text}\n"


def codes(text: str) -> list[str]:
    [criterion] = parse_eligibility(text).criteria
    return [atom.concept.code for atom in iter_atoms(criterion.tree) if atom.concept is not None]


class TestFallopianTubeAndPrimaryPeritonealCancerAreKnown:
    """Fallopian tube and primary peritoneal cancer had no diagnosis codes, so "ovarian, fallopian tube or
    primary peritoneal cancer" read as a bare "cancer". They are gynaecological cancers of their own: a trial
    of all three takes a woman with any of them, one of ovarian cancer alone does not take a primary
    peritoneal cancer, one of gynaecological cancers takes every one."""

    # NCT06504147
    THREE = (
        "Patients with primary advanced high-grade serous or high-grade endometrioid epithelial ovarian, "
        "fallopian tube, or primary peritoneal cancer."
    )

    def test_the_three_cancers_are_read(self):
        assert codes(inclusion(self.THREE)) == [
            "ovarian_cancer",
            "fallopian_tube_cancer",
            "primary_peritoneal_cancer",
        ]

    def test_the_last_of_a_list_keeps_its_whole_name(self):
        # NCT06748872
        text = (
            "Subject must have a confirmed diagnosis of either High grade serous or endometrioid ovarian, "
            "primary peritoneal or fallopian tube cancer"
        )
        assert codes(inclusion(text)) == [
            "ovarian_cancer",
            "primary_peritoneal_cancer",
            "fallopian_tube_cancer",
        ]

    def test_a_kind_left_out_in_brackets_does_not_end_the_list(self):
        # NCT03564340
        text = (
            "Patients with histologically or cytologically confirmed diagnosis of advanced, epithelial "
            "ovarian cancer (except carcinosarcoma), primary peritoneal, or fallopian tube cancer"
        )
        # The exception ends at its bracket; whether the cancer is a carcinosarcoma is for the site.
        assert outcome(inclusion(text), PETRA) == "unknown"
        assert outcome(inclusion(text), OLIVIA) == "unknown"

    def test_a_trial_of_the_three_takes_each_woman(self):
        assert outcome(inclusion(self.THREE), OLIVIA) == "satisfied"
        assert outcome(inclusion(self.THREE), PETRA) == "satisfied"

    def test_an_ovarian_cancer_trial_does_not_take_a_peritoneal_cancer(self):
        # NCT02732860
        text = "Histologically-confirmed advanced High Grade Serous Ovarian Cancer"
        assert outcome(inclusion(text), PETRA) == "violated"
        assert outcome(inclusion(text), OLIVIA) == "satisfied"

    def test_a_gynaecological_cancer_trial_takes_each(self):
        # NCT05512208
        text = (
            "Progression (radiographic or clinical) or recurrence of gynecological cancer after at least one "
            "prior systemic therapy for metastatic disease."
        )
        for patient in (PETRA, OLIVIA):
            [verdict] = evaluate(parse_eligibility(inclusion(text)).criteria, patient, today=TODAY).criteria
            truths = {atom.text: str(atom.truth) for atom in verdict.atoms}
            assert truths["gynecological cancer"] == "met"


class TestPlatinumResistantOrSensitiveOvarianCancerAbbreviated:
    """PROC and PSOC are platinum-resistant and platinum-sensitive ovarian cancer. Unread, "HR+/HER2- BC or
    PROC, including fallopian tube or primary peritoneal cancer" left a woman with ovarian cancer only the
    two cancers the list includes."""

    def test_proc_is_an_ovarian_cancer(self):
        # NCT06257264
        text = (
            "Participants with advanced, non-resectable, or metastatic HR+/HER2- BC or PROC, including "
            "fallopian tube or primary peritoneal cancer."
        )
        assert outcome(inclusion(text), OLIVIA) == "satisfied"
        assert outcome(inclusion(text), PETRA) == "satisfied"


class TestAnExceptionSayingWhatHoldsInsteadIsAWaiver:
    """ "Except for ovarian cancer where participants will be evaluated according to GCIG criteria" says how
    the requirement holds for ovarian cancer, not that ovarian cancer is excluded: read as narrowing, once the
    organisation's name no longer made the exception unreadable, every ovarian cancer failed it."""

    def test_measurable_disease_for_ovarian_cancer_is_the_sites_question(self):
        # NCT07186842
        text = (
            "Have measurable disease per Response Evaluation Criteria in Solid Tumors version 1.1 "
            "(RECIST 1.1), except for ovarian cancer where participants will be evaluated according to "
            "Gynecologic Cancer InterGroup criteria."
        )
        assert outcome(inclusion(text), OLIVIA) == "unknown"

    def test_gilberts_syndrome_waives_the_bilirubin_limit(self):
        # NCT04588922
        text = (
            "Total bilirubin ≤ 1.5 \u00d7 upper limit of normal (ULN) except for patients with Gilbert's "
            "syndrome, who are included if total bilirubin is < 3 \u00d7 ULN or if direct bilirubin is < 1.5 "
            "\u00d7 ULN."
        )
        assert outcome(inclusion(text), OLIVIA) == "satisfied"


class TestAnOrganisationNamedForACancerIsNoCancer:
    """The Gynecologic Cancer InterGroup (GCIG) sets CA-125 response criteria; its name is no diagnosis."""

    def test_the_intergroup_is_no_gynaecological_cancer(self):
        # NCT05920798
        text = inclusion("CA-125-evaluable disease, as defined by the Gynecologic Cancer InterGroup (GCIG)")
        assert "gynaecological_cancer" not in codes(text)


class TestASlashedStageGroupListsItsSubStages:
    """ "Stage IIIB/C" is IIIB and IIIC: only IIIB was read, so Olivia's stage IIIC cancer failed."""

    def test_stage_iiic_is_within_iiib_c_or_iv(self):
        # NCT06504147
        text = (
            "Patients with primary advanced high-grade serous or high-grade endometrioid epithelial ovarian, "
            "fallopian tube, or primary peritoneal cancer (FIGO Stage IIIB/C or IV)."
        )
        assert outcome(inclusion(text), OLIVIA) == "satisfied"

    def test_the_sub_stages_run_to_d(self):
        # NCT04930783
        text = inclusion(
            "Participants must have histologically confirmed stage IIIB/C/D or stage IV cutaneous melanoma"
        )
        assert "IIIB-IIID" in codes(text)

    def test_a_slashed_group_with_more_groups_after_it(self):
        # NCT06265285
        assert "IIB-IV" in codes(inclusion("Completely resected stage IIB/C, III or IV melanoma"))


def exclusion(text: str) -> str:
    return f"Exclusion Criteria:\n* {text}\n"


class TestBCellAndPlasmaCellAntigensAreKnown:
    """CD19, CD20 (MS4A1), CD22, BCMA (TNFRSF17), CD38 and CD30 (TNFRSF8) were not in the gene vocabulary, so
    "CD19-positive" was never read. An antigen a treatment targets ("CD19 CAR T", "therapy targeting CD19",
    "CD20-directed bispecific antibodies") is the treatment, not a result of the patient's tests."""

    def test_a_positive_antigen_is_a_biomarker(self):
        # NCT06533579
        assert codes(inclusion("CD19-positive expression")) == ["CD19"]
        # NCT06735664
        text = "Evidence of CD20 positivity at screening (by immunohistochemistry [IHC] or flow cytometry)"
        assert codes(inclusion(text)) == ["MS4A1"]
        assert outcome(inclusion(text), HANA) == "satisfied"

    def test_both_antigens_on_hanas_lymphoma(self):
        # NCT05672251
        text = (
            "Tumor must be positive for both CD19 and CD20 by immunohistochemistry after the most recent "
            "therapy."
        )
        assert outcome(inclusion(text), HANA) == "satisfied"

    def test_a_targeted_antigen_is_no_biomarker(self):
        # NCT07166419
        text = (
            "Subjects with prior commercial or investigational CAR T therapy targeting CD19, and/or CD20, "
            "and/or CD22 are permitted if it has been at least 30 days since previous CAR T cell therapy"
        )
        assert not {"CD19", "MS4A1", "CD22"} & set(codes(inclusion(text)))
        # NCT05730036
        assert "TNFRSF17" not in codes(exclusion("Note: BCMA antibody-drug conjugates are allowed."))
        # NCT06185751
        text = "History of Grade 3 CRS or ICANS with other CAR-Ts (including BCMA CAR)."
        assert "TNFRSF17" not in codes(exclusion(text))
        # NCT04269902
        text = "Prior therapy with anti CD20 monoclonal antibodies is not allowed"
        assert codes(inclusion(text)) == ["anti_cd20"]


class TestDrugSynonymsHaveTheirDrugsClasses:
    """Pegylated liposomal doxorubicin (Doxil, Caelyx) and nab-paclitaxel (Abraxane) are doxorubicin and
    paclitaxel; `drug_classes` looked up only a drug's own name, so "nab-paclitaxel" had no class."""

    def test_the_classes_of_a_synonym(self):
        assert drug_classes("nab-paclitaxel") == drug_classes("paclitaxel") != []
        assert drug_classes("Doxil") == drug_classes("doxorubicin") != []

    def test_the_brand_names_are_the_drugs(self):
        # Olivia's second line was carboplatin with pegylated liposomal doxorubicin (Caelyx in Europe).
        for written, drug in (
            ("Doxil", "doxorubicin"),
            ("Caelyx", "doxorubicin"),
            ("Abraxane", "paclitaxel"),
        ):
            concept, _ = link_exact(written, "therapy")
            assert concept is not None
            assert concept.code == drug


class TestADonorsCriteriaDoNotBindThePatient:
    """Items about the donor of a transplant or of cells ("DONOR: Age >= 12 years", "DONOR CRITERIA: The
    donor must be HIV negative", a "Donor Inclusion Criteria" heading over its items) were applied to the
    patient: Hana, 59, failed "donors younger than 18 years of age". The donor's criteria are left out, as
    a definition is; the patient's own antibodies against a donor are still hers."""

    def test_a_donor_label_binds_no_patient(self):
        # NCT04195633
        text = (
            "DONOR: Ability of donors younger than 18 years of age to undergo apheresis without use of a "
            "vascular access device. Vein check must be performed and verified by an apheresis nurse prior "
            "to arrival."
        )
        assert outcome(inclusion(text), HANA) != "violated"
        # NCT06735690
        text = (
            "DONOR CRITERIA: The donor's hepatitis B surface antigen must be negative and the hepatitis C "
            "antibody must be nonreactive."
        )
        assert codes(inclusion(text)) == []

    def test_the_items_under_a_donor_heading_bind_no_patient(self):
        # NCT06001385
        text = (
            "Inclusion Criteria:\n\n1. Age >= 18 years\n\nDonor Inclusion Criteria (note: donors are not "
            "research subjects):\n\n1. Must be unrelated to the subject and high-resolution HLA-matched at "
            "4/8, 5/8, 6/8, or 7/8 (HLA-A, -B, -C, and -DRB1.\n3. Age ≥ 18 years and ≤ 40 years at the time "
            "of signing informed consent for PBSC donation.\n"
        )
        verdicts = evaluate(parse_eligibility(text).criteria, HANA, today=TODAY).criteria
        assert [str(v.outcome) for v in verdicts if str(v.outcome) == "violated"] == []

    def test_antibodies_against_a_donor_are_the_patients(self):
        # NCT06839456
        text = (
            "Donor specific HLA antibodies (DSA) should be assessed for all subjects receiving an HLA "
            "mismatched graft (≤ 9/10)."
        )
        [criterion] = parse_eligibility(inclusion(text)).criteria
        assert list(iter_atoms(criterion.tree))


class TestATreatmentJudgedUnsuitableAfterItsName:
    """ "Autologous stem cell transplant (ASCT) ineligible." judges the patient unfit for a transplant; read
    as a transplant history, it demanded one, and Mark, who never had one, failed it."""

    def test_transplant_ineligible_asks_for_no_transplant(self):
        # NCT06087653
        assert outcome(inclusion("Autologous stem cell transplant (ASCT) ineligible."), MARK) != "violated"

    def test_cisplatin_eligible_asks_for_no_cisplatin(self):
        # NCT06571708
        text = "Considered cisplatin eligible based on protocol specified criteria."
        assert outcome(inclusion(text), MARK) != "violated"
