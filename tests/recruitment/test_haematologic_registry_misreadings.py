"""Sentences of the 2026 oncology registry (data/oncology_trials_2026) the parser misread for patients with a
haematological cancer, each matched against the patient it wrongly excluded or let in (no database).

Hana, 59, ECOG 1, not pregnant: diffuse large B-cell lymphoma, stage III, diagnosed 2024-05, CD19 and CD20
positive; R-CHOP x6 (2024-06 to 2024-10), relapsed 2025-04, R-ICE (rituximab, ifosfamide, carboplatin,
etoposide) then axicabtagene ciloleucel (CAR-T) 2025-08; relapsed again 2026-09.

Arun, 64, ECOG 1: acute myeloid leukaemia diagnosed 2026-06, FLT3-ITD positive, NPM1 mutated; 7+3
(cytarabine and daunorubicin) with midostaurin 2026-06 to 2026-08, refractory; no transplant.

Mark, 70, ECOG 1: relapsed multiple myeloma diagnosed 2021-03; lenalidomide and bortezomib, then daratumumab
(2023-10 to 2026-09)."""

import dataclasses
import datetime

from nlp import iter_atoms, parse_eligibility
from nlp.terminology import drug_classes
from recruitment.matching import DiagnosisFact, PatientFacts, evaluate
from recruitment.matching.facts import BiomarkerFact
from tests.recruitment.fact_helpers import therapy

TODAY = datetime.date(2026, 12, 7)
R_ICE = (datetime.date(2025, 4, 15), datetime.date(2025, 6, 30))
INDUCTION = (datetime.date(2026, 6, 10), datetime.date(2026, 8, 15))

HANA = PatientFacts(
    birth_date=datetime.date(1967, 2, 14),
    sex="female",
    ecog=1,
    pregnancy_status="not_pregnant",
    breastfeeding=False,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "dlbcl",
            "diffuse large B-cell lymphoma",
            stage="III",
            diagnosed_on=datetime.date(2024, 5, 1),
            course="recurrent",
        ),
    ),
    # CD19 and CD20 (MS4A1) are not in the gene vocabulary: expression markers, not alterations.
    biomarkers=(
        BiomarkerFact("biomarker:1", "CD19", "positive"),
        BiomarkerFact("biomarker:2", "MS4A1", "positive"),
    ),
    therapies=(
        therapy("therapy:1", "r-chop", 1, datetime.date(2024, 6, 1), datetime.date(2024, 10, 31)),
        therapy("therapy:2", "r-ice", 2, *R_ICE),
        therapy(
            "therapy:3", "axicabtagene ciloleucel", 3, datetime.date(2025, 8, 15), datetime.date(2025, 8, 15)
        ),
    ),
)
ARUN = PatientFacts(
    birth_date=datetime.date(1962, 7, 20),
    sex="male",
    ecog=1,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "aml",
            "acute myeloid leukaemia",
            diagnosed_on=datetime.date(2026, 6, 1),
            course="refractory",
        ),
    ),
    biomarkers=(
        BiomarkerFact("biomarker:1", "FLT3", "mutation", protein_change="ITD"),
        BiomarkerFact("biomarker:2", "NPM1", "mutation"),
    ),
    therapies=(
        therapy("therapy:1", "cytarabine", 1, *INDUCTION),
        therapy("therapy:2", "daunorubicin", 1, *INDUCTION),
        therapy("therapy:3", "midostaurin", 1, *INDUCTION),
    ),
)
MARK = PatientFacts(
    birth_date=datetime.date(1956, 1, 9),
    sex="male",
    ecog=1,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "myeloma",
            "multiple myeloma",
            diagnosed_on=datetime.date(2021, 3, 1),
            course="recurrent",
        ),
    ),
    therapies=(
        therapy("therapy:1", "lenalidomide", 1, datetime.date(2021, 4, 1), datetime.date(2023, 9, 30)),
        therapy("therapy:2", "bortezomib", 1, datetime.date(2021, 4, 1), datetime.date(2021, 10, 31)),
        therapy("therapy:3", "daratumumab", 2, datetime.date(2023, 10, 15), datetime.date(2026, 9, 30)),
    ),
)


def outcome(text: str, patient: PatientFacts) -> str:
    """The outcome of the only criterion parsed from `text` for `patient`."""
    [verdict] = evaluate(parse_eligibility(text).criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


def codes(text: str) -> list[str]:
    """The concept codes of the atoms parsed from `text`."""
    atoms = [a for criterion in parse_eligibility(text).criteria for a in iter_atoms(criterion.tree)]
    return [a.concept.code for a in atoms if a.concept is not None]


def inclusion(text: str) -> str:
    return f"Inclusion Criteria:\n* {text}\n"


def exclusion(text: str) -> str:
    return f"Exclusion Criteria:\n* {text}\n"


class TestHaematologicDrugsAreKnown:
    """CAR-T products, anthracyclines, FLT3, BTK and BCL-2 inhibitors, hypomethylating agents, proteasome
    inhibitors, IMiDs and anti-CD38 antibodies were missing from the vocabulary: a patient who had
    axicabtagene ciloleucel had no cellular therapy on file, one who had daunorubicin no anthracycline, and
    'Prior therapy with anthracycline' or 'anti-CD38 therapy' could not be read at all."""

    def test_the_drugs_have_their_classes(self):
        assert {"cell_therapy", "immunotherapy"} <= set(drug_classes("axicabtagene ciloleucel"))
        assert {"anthracycline", "chemotherapy"} <= set(drug_classes("daunorubicin"))
        assert "anthracycline" in drug_classes("r-chop")
        assert {"flt3_inhibitor", "tki"} <= set(drug_classes("midostaurin"))
        assert {"btk_inhibitor", "tki"} <= set(drug_classes("ibrutinib"))
        assert "bcl2_inhibitor" in drug_classes("venetoclax")
        assert "hypomethylating_agent" in drug_classes("azacitidine")
        assert "proteasome_inhibitor" in drug_classes("bortezomib")
        assert "imid" in drug_classes("lenalidomide")
        assert "anti_cd38" in drug_classes("daratumumab")
        assert {"ifosfamide", "carboplatin", "etoposide", "anti_cd20"} <= set(drug_classes("r-ice"))

    def test_a_patient_after_car_t_meets_a_permission_dated_from_it(self):
        # NCT05418088: Hana's CAR-T was more than 30 days ago; before, it was no cellular therapy at all.
        text = (
            "Patients who received prior CAR T-cells are eligible, (commercial CD 19 CAR-T cells or dual"
            " CAR-T cells), if it has been at least 30 days since previous CAR T cell therapy and <5% of"
            " circulating levels of CD3+ cells express the prior CAR by flow cytometry."
        )
        assert outcome(inclusion(text), HANA) == "satisfied"

    def test_a_prior_anthracycline_is_read(self):
        # NCT07125183
        text = exclusion("Prior therapy with anthracycline.")
        assert outcome(text, ARUN) == "violated"
        assert outcome(text, MARK) == "satisfied"

    def test_a_prior_anti_cd38_antibody_is_read(self):
        # NCT06398457
        text = exclusion("Previous exposure to Daratumumab-SC or other anti-CD38 therapy")
        assert outcome(text, MARK) == "violated"
        assert outcome(text, HANA) == "satisfied"


class TestHaematologicSubtypesAreKnown:
    """A leukaemia or lymphoma the vocabulary did not name was read as its generic word: 'prolymphocytic
    leukemia' as any leukaemia (an exclusion of every AML patient), 'Grey zone lymphoma' or 'marginal zone
    lymphoma' as any lymphoma, 'SLL' not at all."""

    def test_prolymphocytic_leukaemia_is_not_every_leukaemia(self):
        # NCT06859008, NCT06973187
        texts = (
            "Known plasma cell neoplasm, prolymphocytic leukemia, history of or currently suspected Richter's"
            " syndrome",
            "Known prolymphocytic leukemia or history of, or currently suspected, Richter's transformation.",
        )
        assert [outcome(exclusion(text), ARUN) for text in texts] == ["satisfied"] * 2

    def test_a_chronic_myelomonocytic_leukaemia_is_not_an_aml(self):
        # NCT04195633 (an inclusion among alternatives)
        assert outcome(inclusion("Chronic myelomonocytic leukemia (CMML)"), ARUN) == "violated"

    def test_sll_is_chronic_lymphocytic_leukaemia(self):
        cll = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "cll", "chronic lymphocytic leukaemia"),))
        assert outcome(inclusion("Histologically confirmed SLL"), cll) == "satisfied"


class TestACancerNarrowedToTheCentralNervousSystem:
    """A lymphoma or leukaemia in the central nervous system is a site of the disease, which no profile
    records: 'central nervous system (CNS) lymphoma' (the abbreviation between site and disease hid the site)
    and the leukaemia after 'CNS lymphoma or' / 'involvement by lymphoma/' were read as the disease itself,
    so every lymphoma or leukaemia patient was excluded."""

    def test_cns_involvement_is_the_sites_question(self):
        texts = (
            # NCT03516617
            "Known central nervous system (CNS) lymphoma or leukemia",
            # NCT06890884
            "Known active central nervous system (CNS) lymphoma.",
            # NCT06839053, NCT06859008
            "Known current central nervous system involvement by lymphoma/leukemia",
            # NCT07166419
            "Active central nervous system or meningeal involvement by lymphoma or leukemia",
        )
        assert [outcome(exclusion(text), HANA) for text in texts] == ["unknown"] * 4
        assert [outcome(exclusion(text), ARUN) for text in texts] == [
            "unknown",
            "satisfied",
            "unknown",
            "unknown",
        ]

    def test_no_suspicion_of_cns_lymphoma_asks_the_site(self):
        # NCT04792489
        text = inclusion(
            "No clinical suspicion of central nervous system (CNS) lymphoma (not applicable to CNS cohort)"
        )
        assert outcome(text, HANA) == "unknown"

    def test_lymphoma_or_leukaemia_alone_is_still_the_disease(self):
        assert outcome(exclusion("Lymphoma or leukemia"), ARUN) == "violated"


class TestAnAbbreviationTheTextDefines:
    """'Richter's Transformation (RT)' defines RT; read as the vocabulary's radiotherapy, every 'RT Cohort:'
    asked the patient to have had radiotherapy."""

    def test_rt_after_richters_transformation_is_no_radiotherapy(self):
        # NCT04792489
        text = (
            "Inclusion Criteria:\n* Richter's Transformation (RT) Cohort: Histologically confirmed Richter's"
            " transformation (RT) to a diffuse large B-cell lymphoma (DLBCL) subtype from underlying CLL\n"
        )
        assert "radiotherapy" not in codes(text)

    def test_radiotherapy_rt_is_still_radiotherapy(self):
        assert codes(inclusion("Prior radiotherapy (RT) is required")).count("radiotherapy") == 2


class TestTheStudysTreatmentAsATimeAnchor:
    """How long contraception goes on after the study's drug ('for 2 days after the last dose of
    acalabrutinib', 'for the duration of venetoclax treatment') names that drug as a time anchor, the study's
    treatment to come: read as a history, it asked every patient to have had it."""

    def test_contraception_after_the_last_dose_asks_for_no_treatment(self):
        texts = (
            # NCT06757647
            "Woman of childbearing potential (WOCBP) who are sexually active must use highly effective"
            " methods of contraception during treatment and for 2 days after the last dose of acalabrutinib",
            # NCT03986034
            "Agreement to use acceptable methods of contraception for the duration of venetoclax treatment if"
            " sexually active and able to bear or beget children",
        )
        assert "violated" not in [outcome(inclusion(text), ARUN) for text in texts]

    def test_a_washout_after_the_last_dose_still_dates_the_treatment(self):
        text = inclusion("At least 4 weeks after the last dose of prior cytarabine")
        recent = PatientFacts(
            therapies=(
                therapy(
                    "therapy:1", "cytarabine", 1, datetime.date(2026, 11, 1), datetime.date(2026, 11, 27)
                ),
            )
        )
        assert outcome(text, ARUN) == "satisfied"
        assert outcome(text, recent) == "violated"


class TestAPermissionWithACondition:
    """'Participants who had previously received a covalently-binding BTK inhibitor ... are eligible for
    the study if they meet any of the following' and 'Subjects with prior ... CAR T therapy ... are permitted
    if it has been at least 30 days since previous CAR T cell therapy ...' bind only the patients they let
    in, as 'are eligible if' does; read as requirements, they asked every patient for a BTK inhibitor or a
    CAR-T."""

    CAR_T = (
        "Subjects with prior commercial or investigational CAR T therapy targeting CD19, and/or CD20, and/or"
        " CD22 are permitted if it has been at least 30 days since previous CAR T cell therapy and < 5% of"
        " circulating levels of CD3+ cells express the prior CAR by flow cytometry."
    )

    def test_a_permission_binds_only_whom_it_lets_in(self):
        texts = (
            # NCT05006716
            "For dose-finding and dose-expansion, participants who had previously received a"
            " covalently-binding BTK inhibitor as monotherapy or in combination with other anticancer agents"
            " are eligible for the study if they meet any of the following criteria",
            # NCT07166419
            self.CAR_T,
        )
        assert "violated" not in [outcome(inclusion(text), ARUN) for text in texts]

    def test_the_condition_is_the_sites_question_for_those_let_in(self):
        # NCT07166419: Hana had CAR-T; whether CD3+ cells still express it only the site knows.
        assert outcome(inclusion(self.CAR_T), HANA) == "unknown"


class TestAPopulationSetOffByAColon:
    """'If on anticoagulant therapy: PT must be within therapeutic range of intended use of anticoagulants'
    (NCT05672251, NCT06735664, NCT07218510, two lines each) binds the patients on anticoagulants, as the same
    population set off by a comma does; read as a requirement, it asked every patient to be on one."""

    def test_a_population_before_a_colon_binds_only_those_patients(self):
        texts = (
            "If on anticoagulant therapy: PT must be within therapeutic range of intended use of"
            " anticoagulants.",
            "If on anticoagulant therapy: aPTT must be within therapeutic range of intended use of"
            " anticoagulants",
        )
        assert [outcome(inclusion(text), patient) for text in texts for patient in (HANA, ARUN)] == [
            "satisfied"
        ] * 4


class TestATransformationIsNoSecondCancer:
    """Once Richter's transformation became a diagnosis of its own (a large B-cell lymphoma), a man with CLL
    that transformed had "another cancer" and failed every "No other active malignancy" (TREC trec-20218,
    judged eligible for NCT00005829). The transformed disease continues the CLL; a truly other cancer still
    counts."""

    CLAUDE = PatientFacts(
        birth_date=datetime.date(1965, 3, 1),
        sex="male",
        history_confirmed_on=datetime.date(2026, 12, 1),
        diagnoses=(
            DiagnosisFact(
                "diagnosis:1", "cll", "chronic lymphocytic leukaemia", diagnosed_on=datetime.date(2019, 10, 1)
            ),
            DiagnosisFact(
                "diagnosis:2", "richter", "Richter transformation", diagnosed_on=datetime.date(2026, 9, 1)
            ),
        ),
    )

    def test_richters_transformation_of_his_cll_is_not_another_malignancy(self):
        assert outcome("Exclusion Criteria:\n* Other active malignancy\n", self.CLAUDE) == "satisfied"

    def test_a_cancer_of_another_kind_still_is(self):
        other = dataclasses.replace(
            self.CLAUDE,
            diagnoses=(
                *self.CLAUDE.diagnoses,
                DiagnosisFact("diagnosis:3", "crc", "colon cancer", diagnosed_on=datetime.date(2025, 1, 1)),
            ),
        )
        assert outcome("Exclusion Criteria:\n* Other active malignancy\n", other) == "violated"
