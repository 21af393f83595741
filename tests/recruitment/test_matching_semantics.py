"""Clinical semantics of single atoms and of cohorts, on hand-made facts (no database)."""

import datetime
from dataclasses import replace

import pytest

from nlp import iter_atoms, parse_eligibility
from nlp.model import And, Atom, Concept, Criterion, Except, Not, Or, TimeWindow, node_to_dict
from nlp.parser import QUALIFIER_RULE
from recruitment.matching import (
    ArmSpec,
    BiomarkerFact,
    DiagnosisFact,
    LabFact,
    PatientFacts,
    ProcedureFact,
    Settle,
    TherapyFact,
    TrialSpec,
    Truth,
    evaluate,
    evaluate_tree,
    match_trial,
)
from recruitment.matching.atoms import variant_matches

TODAY = datetime.date(2026, 11, 23)
BRAF = Concept("hgnc", "BRAF", "BRAF")
EGFR = Concept("hgnc", "EGFR", "EGFR")
PDL1 = Concept("hgnc", "CD274", "CD274")
ANC = Concept("loinc", "751-8", "absolute neutrophil count")
CREATININE = Concept("loinc", "2160-0", "serum creatinine")


def atom(kind, text, concept=None, **fields) -> Atom:
    return Atom(
        kind, text, (0, len(text)), "test", 1.0, mapped=concept is not None, concept=concept, **fields
    )


def truth(node, facts: PatientFacts, today: datetime.date = TODAY) -> Truth:
    return evaluate_tree(node, facts, today=today)[0]


def first_outcome(text: str, patient: PatientFacts) -> str:
    """The outcome of the first criterion parsed from `text` for `patient`."""
    return evaluate(parse_eligibility(text).criteria, patient, today=TODAY).criteria[0].outcome


def braf(change: str, status: str = "positive", kind: str = "mutation") -> PatientFacts:
    return PatientFacts(
        biomarkers=(BiomarkerFact("biomarker:1", "BRAF", kind, status, protein_change=change),)
    )


class TestBiomarkers:
    V600 = atom("biomarker", "BRAF V600 mutation", BRAF, alteration="mutation")

    @pytest.mark.parametrize(
        ("change", "expected"), [("V600E", Truth.MET), ("V600K", Truth.MET), ("G469A", Truth.NOT_MET)]
    )
    def test_v600_mutation_is_met_by_any_v600_substitution(self, change, expected):
        assert truth(self.V600, braf(change)) is expected

    @pytest.mark.parametrize(
        ("found", "expected"),
        [
            ("exon 19 deletion", True),
            ("Exon 19 del", True),
            ("p.E746_A750del", True),
            ("E746_S752delinsV", True),
            ("A767_V769dup", False),
            ("L858R", False),
        ],
    )
    def test_egfr_exon_19_deletion_reads_protein_changes_by_codon(self, found, expected):
        assert variant_matches("exon 19 deletion", found, "EGFR") is expected

    def test_an_exon_20_insertion_is_read_from_its_codons(self):
        assert variant_matches("exon 20 insertion", "p.A767_V769dup", "EGFR")

    def test_a_specific_substitution_is_not_met_by_a_sibling(self):
        assert (
            truth(atom("biomarker", "BRAF V600E", BRAF, alteration="V600E"), braf("V600K")) is Truth.NOT_MET
        )

    def test_untested_gene_is_unknown_with_the_test_to_order(self):
        result = evaluate_tree(self.V600, PatientFacts(), today=TODAY)[1][0]
        assert result.truth is Truth.UNKNOWN
        assert result.settle == Settle("test", "BRAF V600 not on file", biomarker="BRAF V600")

    def test_wild_type_is_tested_negative(self):
        wild = braf("", status="negative", kind="wild_type")
        assert truth(self.V600, wild) is Truth.NOT_MET
        assert truth(atom("biomarker", "BRAF wild-type", BRAF, alteration="wild_type"), wild) is Truth.MET

    def test_wild_type_requirement_fails_when_a_mutation_was_found(self):
        assert (
            truth(atom("biomarker", "BRAF wild-type", BRAF, alteration="wild_type"), braf("V600E"))
            is Truth.NOT_MET
        )

    def test_equivocal_result_is_unknown(self):
        assert truth(self.V600, braf("V600E", status="equivocal")) is Truth.UNKNOWN

    def test_fusion_is_not_a_mutation_but_is_an_alteration(self):
        fusion = PatientFacts(
            biomarkers=(BiomarkerFact("biomarker:1", "ALK", "fusion", protein_change="EML4-ALK"),)
        )
        alk = Concept("hgnc", "ALK", "ALK")
        assert truth(atom("biomarker", "ALK rearrangement", alk, alteration="fusion"), fusion) is Truth.MET
        assert truth(atom("biomarker", "ALK mutation", alk, alteration="mutation"), fusion) is Truth.NOT_MET
        assert truth(atom("biomarker", "ALK alteration", alk, alteration="mutation"), fusion) is Truth.MET

    def test_companion_diagnostic_from_another_assay_does_not_settle_it(self):
        facts = PatientFacts(
            biomarkers=(
                BiomarkerFact(
                    "biomarker:1", "CD274", "expression", measure="TPS", value=80, unit="%", assay="SP263"
                ),
            )
        )
        pdl1 = atom(
            "biomarker", "PD-L1 TPS >= 50%", PDL1, alteration="TPS", comparator=">=", value=50.0, assay="22C3"
        )
        result = evaluate_tree(pdl1, facts, today=TODAY)[1][0]
        assert result.truth is Truth.UNKNOWN
        assert result.settle == Settle("test", "PD-L1 TPS by 22C3 not on file")
        assert "another assay is on file: SP263" in result.reason

    def test_tmb_high_uses_the_numeric_result(self):
        tmb = Concept("biomarker", "TMB", "tumour mutational burden")
        high = atom("biomarker", "TMB-high", tmb, alteration="high")
        facts = PatientFacts(
            biomarkers=(BiomarkerFact("biomarker:1", "TMB", "signature", value=12, unit="mut/Mb"),)
        )
        assert truth(high, facts) is Truth.MET


class TestReceptorPanels:
    HR_POSITIVE = atom(
        "biomarker", "HR+", Concept("biomarker", "HR", "hormone receptor"), alteration="positive"
    )
    TNBC = atom("condition", "TNBC", Concept("diagnosis", "tnbc", "triple-negative breast cancer"))

    def receptors(self, **statuses: str) -> PatientFacts:
        return PatientFacts(
            diagnoses=(DiagnosisFact("diagnosis:1", "breast_cancer", "breast cancer"),),
            biomarkers=tuple(
                BiomarkerFact(f"biomarker:{gene}", gene, "expression", status)
                for gene, status in statuses.items()
            ),
        )

    def test_hormone_receptor_positive_needs_only_one_positive_receptor(self):
        assert truth(self.HR_POSITIVE, self.receptors(ESR1="positive")) is Truth.MET
        assert truth(self.HR_POSITIVE, self.receptors(ESR1="negative")) is Truth.UNKNOWN
        assert truth(self.HR_POSITIVE, self.receptors(ESR1="negative", PGR="negative")) is Truth.NOT_MET

    def test_triple_negative_breast_cancer_is_read_from_the_receptor_results(self):
        assert (
            truth(self.TNBC, self.receptors(ESR1="negative", PGR="negative", ERBB2="negative")) is Truth.MET
        )
        assert truth(self.TNBC, self.receptors(ESR1="negative", PGR="negative")) is Truth.UNKNOWN
        assert truth(self.TNBC, self.receptors(ESR1="negative", PGR="positive")) is Truth.NOT_MET


class TestLabs:
    def lab(
        self, value, unit, *, low=None, high=None, on=datetime.date(2026, 11, 20), loinc="751-8"
    ) -> PatientFacts:
        return PatientFacts(labs=(LabFact("lab:1", "lab", loinc, value, unit, on, low, high),))

    def test_units_are_converted_before_comparison(self):
        anc = atom("lab", "ANC >= 1500/uL", ANC, comparator=">=", value=1500.0, unit="/uL")
        assert truth(anc, self.lab(1.6, "10^9/L")) is Truth.MET
        assert truth(anc, self.lab(1.4, "10^9/L")) is Truth.NOT_MET

    def test_a_reports_thousands_per_microlitre_are_compared(self):
        anc = atom("lab", "ANC >= 1.5 x 10^9/L", ANC, comparator=">=", value=1.5, unit="10^9/L")
        assert truth(anc, self.lab(1.6, "K/uL")) is Truth.MET
        assert truth(anc, self.lab(1.4, "K/uL")) is Truth.NOT_MET

    def test_mass_to_molar_conversion_uses_the_analyte(self):
        creatinine = atom(
            "lab", "creatinine <= 1.5 mg/dL", CREATININE, comparator="<=", value=1.5, unit="mg/dL"
        )
        assert truth(creatinine, self.lab(120, "umol/L", loinc="2160-0")) is Truth.MET  # 1.36 mg/dL
        assert truth(creatinine, self.lab(150, "umol/L", loinc="2160-0")) is Truth.NOT_MET  # 1.70 mg/dL

    def test_an_ifcc_hba1c_is_compared_through_the_master_equation_not_as_a_ratio(self):
        hba1c = atom(
            "lab",
            "HbA1c < 7%",
            Concept("loinc", "4548-4", "haemoglobin A1c"),
            comparator="<",
            value=7.0,
            unit="%",
        )
        # 64 mmol/mol is 8.0 %; read as a plain ratio it would have been 6.4 % and met the limit.
        assert truth(hba1c, self.lab(64, "mmol/mol", loinc="4548-4")) is Truth.NOT_MET
        assert truth(hba1c, self.lab(48, "mmol/mol", loinc="4548-4")) is Truth.MET  # 6.5 %

    def test_a_ucum_power_of_ten_is_a_power_not_a_product(self):
        platelets = atom(
            "lab", "platelets >= 100 x 10^9/L", Concept("loinc", "777-3", "platelet count"),
            comparator=">=", value=100.0, unit="10^9/L",
        )  # fmt: skip
        # UCUM writes 10^3/uL as 10*3/uL; read as 10 x 3 it made 150 thousand platelets 4.5 x 10^9/L.
        assert truth(platelets, self.lab(150, "10*3/uL", loinc="777-3")) is Truth.MET

    def test_incompatible_units_are_unknown_not_excluded(self):
        anc = atom("lab", "ANC >= 1.5 x 10^9/L", ANC, comparator=">=", value=1.5, unit="10^9/L")
        assert truth(anc, self.lab(1.6, "mg/dL")) is Truth.UNKNOWN

    def test_lln_uses_the_labs_own_reference_range(self):
        anc = atom("lab", "ANC >= LLN", ANC, comparator=">=", lln_multiple=1.0)
        assert truth(anc, self.lab(1.9, "10^9/L", low=2.0, high=7.5)) is Truth.NOT_MET
        assert truth(anc, self.lab(1.9, "10^9/L", low=1.8, high=7.5)) is Truth.MET

    def test_a_result_outside_the_window_asks_for_a_new_test(self):
        window = TimeWindow(14, "days", "within", "randomisation")
        anc = atom("lab", "ANC >= 1.5", ANC, comparator=">=", value=1.5, unit="10^9/L", window=window)
        result = evaluate_tree(anc, self.lab(2.0, "10^9/L", on=datetime.date(2026, 10, 1)), today=TODAY)[1][0]
        assert result.truth is Truth.UNKNOWN
        assert result.settle == Settle("test", "absolute neutrophil count in the last 14 days not on file")


class TestHistory:
    ICI = Concept("drug_class", "immune_checkpoint_inhibitor", "immune checkpoint inhibitor")

    def therapy(self, ended, *, confirmed=False) -> PatientFacts:
        return PatientFacts(
            therapies=(
                TherapyFact(
                    "therapy:1", "nivolumab", ("anti_pd1", "immune_checkpoint_inhibitor"), ended_on=ended
                ),
            ),
            history_confirmed_on=datetime.date(2026, 11, 1) if confirmed else None,
        )

    @pytest.mark.parametrize(
        ("ended", "expected"),
        [
            (datetime.date(2026, 11, 1), Truth.MET),
            (None, Truth.MET),
            (datetime.date(2026, 9, 1), Truth.UNKNOWN),
        ],
    )
    def test_washout_counts_from_the_end_of_therapy_and_ongoing_therapy_is_inside(self, ended, expected):
        washout = atom("therapy", "ICI within 4 weeks", self.ICI, window=TimeWindow(4, "weeks", "within"))
        assert truth(washout, self.therapy(ended)) is expected

    def test_confirmed_history_turns_absence_into_not_met(self):
        washout = atom("therapy", "ICI within 4 weeks", self.ICI, window=TimeWindow(4, "weeks", "within"))
        assert truth(washout, self.therapy(datetime.date(2026, 9, 1), confirmed=True)) is Truth.NOT_MET

    def test_drug_class_hierarchy_applies(self):
        assert truth(atom("therapy", "prior immunotherapy", self.ICI), self.therapy(None)) is Truth.MET

    def test_at_least_window_needs_the_therapy_to_have_ended_long_enough_ago(self):
        since = atom("therapy", "ICI >= 4 weeks ago", self.ICI, window=TimeWindow(4, "weeks", "at_least"))
        assert truth(since, self.therapy(datetime.date(2026, 10, 1), confirmed=True)) is Truth.MET
        assert truth(since, self.therapy(datetime.date(2026, 11, 20), confirmed=True)) is Truth.NOT_MET

    def test_no_concurrent_therapy_is_broken_only_by_a_therapy_still_given(self):
        """Walter, 45, finished his steroids (s/p, date not known); Nora is still on hers; Ida's ended on a
        known date. "No concurrent corticosteroids as antiemetic" excludes only Nora; for the others it is
        open until their history is confirmed complete (another steroid may be missing from it)."""
        [criterion] = parse_eligibility(
            "Exclusion Criteria:\n- No concurrent corticosteroids as antiemetic\n"
        ).criteria
        [steroids] = [a for a in iter_atoms(criterion.tree) if a.kind == "therapy"]
        assert steroids.window is not None
        assert steroids.window.relation == "current"

        def on_steroids(*, confirmed: bool = False, **when) -> PatientFacts:
            return PatientFacts(
                therapies=(TherapyFact("therapy:1", "prednisone", ("corticosteroid",), **when),),
                history_confirmed_on=datetime.date(2026, 11, 1) if confirmed else None,
            )

        walter, nora = on_steroids(ended=True), on_steroids()
        ida = on_steroids(ended_on=datetime.date(2025, 3, 1))
        assert [truth(steroids, p) for p in (walter, nora, ida)] == [Truth.UNKNOWN, Truth.MET, Truth.UNKNOWN]
        walter, ida = (
            on_steroids(ended=True, confirmed=True),
            on_steroids(ended_on=ida.therapies[0].ended_on, confirmed=True),
        )
        assert [truth(steroids, p) for p in (walter, ida)] == [Truth.NOT_MET, Truth.NOT_MET]

    def test_an_undated_procedure_may_or_may_not_be_concurrent(self):
        """Radiotherapy recorded for Walter without a date: "No concurrent radiotherapy" is a question."""
        [criterion] = parse_eligibility("Exclusion Criteria:\n- No concurrent radiotherapy\n").criteria
        walter = PatientFacts(procedures=(ProcedureFact("procedure:1", "radiotherapy", "radiotherapy"),))
        assert truth(criterion.tree, walter) is Truth.UNKNOWN

    def test_an_ended_therapy_without_a_date_is_neither_in_nor_out_of_a_washout(self):
        washout = atom("therapy", "ICI within 4 weeks", self.ICI, window=TimeWindow(4, "weeks", "within"))
        ended = PatientFacts(
            therapies=(TherapyFact("therapy:1", "nivolumab", ("immune_checkpoint_inhibitor",), ended=True),)
        )
        assert truth(washout, ended) is Truth.UNKNOWN

    def test_procedure_in_window(self):
        surgery = atom(
            "procedure",
            "major surgery within 28 days",
            Concept("procedure", "surgery", "surgery"),
            window=TimeWindow(28, "days", "within"),
        )
        facts = PatientFacts(
            procedures=(ProcedureFact("procedure:1", "surgery", "lobectomy", datetime.date(2026, 11, 2)),)
        )
        assert truth(surgery, facts) is Truth.MET

    def test_a_histology_is_unknown_for_a_cancer_recorded_by_its_organ_alone(self):
        """Grace's note says "infiltrating ductal breast carcinoma", recorded as breast cancer: "The tumor
        must be invasive adenocarcinoma on histologic examination" needs her histology, it does not exclude
        her."""
        [criterion] = parse_eligibility(
            "Inclusion Criteria:\n- The tumor must be invasive adenocarcinoma on histologic examination\n"
        ).criteria
        grace = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "breast_cancer", "breast cancer"),))
        assert truth(criterion.tree, grace) is Truth.UNKNOWN
        with_histology = PatientFacts(
            diagnoses=(
                DiagnosisFact("diagnosis:1", "breast_cancer", "breast cancer", histology="lobular carcinoma"),
            )
        )
        assert truth(criterion.tree, with_histology) is Truth.NOT_MET

    def test_a_histology_in_the_name_of_the_diagnosis_is_that_histology(self):
        """Hugo has lung adenocarcinoma: he has an adenocarcinoma and not a squamous cell carcinoma."""
        hugo = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma"),))
        adeno = atom("condition", "adenocarcinoma", Concept("diagnosis", "adenocarcinoma", "adenocarcinoma"))
        squamous = atom(
            "condition",
            "squamous cell carcinoma",
            Concept("diagnosis", "squamous_cell_carcinoma", "squamous cell carcinoma"),
        )
        assert [truth(adeno, hugo), truth(squamous, hugo)] == [Truth.MET, Truth.NOT_MET]

    def test_an_organ_is_unknown_for_a_cancer_recorded_by_its_histology_alone(self):
        """Pia has an adenocarcinoma of unknown primary: "Histologically confirmed breast cancer" is open,
        and a leukaemia she does not have."""
        pia = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "adenocarcinoma", "adenocarcinoma"),))
        breast = atom("condition", "breast cancer", Concept("diagnosis", "breast_cancer", "breast cancer"))
        aml = atom("condition", "AML", Concept("diagnosis", "aml", "acute myeloid leukaemia"))
        assert [truth(breast, pia), truth(aml, pia)] == [Truth.UNKNOWN, Truth.NOT_MET]

    def test_an_excluded_malignancy_is_another_cancer_not_the_one_being_treated(self):
        malignancy = atom(
            "condition",
            "another malignancy within 3 years",
            Concept("diagnosis", "cancer", "cancer"),
            window=TimeWindow(3, "years", "within"),
        )
        luad = DiagnosisFact(
            "diagnosis:1", "luad", "lung adenocarcinoma", diagnosed_on=datetime.date(2026, 3, 1)
        )
        melanoma = DiagnosisFact(
            "diagnosis:2", "melanoma", "melanoma", diagnosed_on=datetime.date(2024, 6, 1)
        )
        only_luad = PatientFacts(diagnoses=(luad,))
        assert evaluate_tree(malignancy, only_luad, today=TODAY, section="exclusion")[0] is Truth.UNKNOWN
        confirmed = PatientFacts(diagnoses=(luad,), history_confirmed_on=TODAY)
        assert evaluate_tree(malignancy, confirmed, today=TODAY, section="exclusion")[0] is Truth.NOT_MET
        both = PatientFacts(diagnoses=(luad, melanoma))
        assert evaluate_tree(malignancy, both, today=TODAY, section="exclusion")[0] is Truth.MET
        assert evaluate_tree(malignancy, only_luad, today=TODAY, section="inclusion")[0] is Truth.MET

    OTHER_MALIGNANCY = atom(
        "condition",
        "other malignancy",
        Concept("diagnosis", "second_malignancy", "second primary malignancy"),
    )

    def test_the_index_cancer_named_twice_is_not_another_malignancy(self):
        """Ines's note says "lymphoma" and later "non-Hodgkin lymphoma"; Tomas's "breast cancer" and
        "adenocarcinoma": each is one cancer, so "No other malignancy" is open, not violated."""
        ines = PatientFacts(
            diagnoses=(
                DiagnosisFact("text:condition:0", "lymphoma", "lymphoma"),
                DiagnosisFact("text:condition:1", "nhl", "non-Hodgkin lymphoma"),
                DiagnosisFact("text:condition:2", "lymphoma", "lymphoma"),
            )
        )
        tomas = PatientFacts(
            diagnoses=(
                DiagnosisFact("text:condition:0", "breast_cancer", "breast cancer"),
                DiagnosisFact("text:condition:1", "adenocarcinoma", "adenocarcinoma"),
            )
        )
        for facts in (ines, tomas):
            assert evaluate_tree(self.OTHER_MALIGNANCY, facts, today=TODAY, section="exclusion")[0] is (
                Truth.UNKNOWN
            )

    def test_a_cancer_of_another_kind_beside_the_index_cancer_is_another_malignancy(self):
        """Uma has a myeloma and a melanoma; Vik an adenocarcinoma and a squamous cell carcinoma."""
        uma = PatientFacts(
            diagnoses=(
                DiagnosisFact("text:condition:0", "myeloma", "multiple myeloma"),
                DiagnosisFact("text:condition:1", "melanoma", "melanoma"),
            )
        )
        vik = PatientFacts(
            diagnoses=(
                DiagnosisFact("text:condition:0", "adenocarcinoma", "adenocarcinoma"),
                DiagnosisFact("text:condition:1", "squamous_cell_carcinoma", "squamous cell carcinoma"),
            )
        )
        for facts in (uma, vik):
            assert evaluate_tree(self.OTHER_MALIGNANCY, facts, today=TODAY, section="exclusion")[0] is (
                Truth.MET
            )

    def test_ruled_out_diagnosis_answers_the_question_and_its_subtypes(self):
        facts = PatientFacts(
            diagnoses=(DiagnosisFact("diagnosis:1", "diabetes", "diabetes mellitus", present=False),)
        )
        t2dm = atom("condition", "type 2 diabetes", Concept("diagnosis", "t2dm", "type 2 diabetes mellitus"))
        assert truth(t2dm, facts) is Truth.NOT_MET


class TestDemographicsAndStatus:
    ADULT = atom(
        "demographic", "age >= 18", Concept("demographic", "age", "age"), comparator=">=", value=18.0
    )

    @pytest.mark.parametrize(
        ("today", "expected"),
        [(datetime.date(2026, 5, 9), Truth.NOT_MET), (datetime.date(2026, 5, 10), Truth.MET)],
    )
    def test_age_is_taken_on_the_evaluation_date(self, today, expected):
        assert truth(self.ADULT, PatientFacts(birth_date=datetime.date(2008, 5, 10)), today) is expected

    @pytest.mark.parametrize(
        "text",
        ["Age over 18 years", "Patients older than 18 years", "Age > 18 years", "Patients over 18 years"],
    )
    def test_lea_aged_18_and_a_half_is_over_18(self, text):
        """Lea was born on 10 May 2008: on 7 December 2026 she is 18 years and 7 months old, older than 18
        years. Compared in whole years, "> 18" asked her to be 19."""
        [criterion] = parse_eligibility(f"Inclusion Criteria:\n- {text}\n").criteria
        [age] = [a for a in iter_atoms(criterion.tree) if a.kind == "demographic"]
        lea = PatientFacts(birth_date=datetime.date(2008, 5, 10))
        assert truth(age, lea, datetime.date(2026, 12, 7)) is Truth.MET
        assert truth(age, lea, datetime.date(2026, 5, 9)) is Truth.NOT_MET  # still 17

    def test_under_75_still_leaves_out_a_patient_aged_75(self):
        under_75 = atom(
            "demographic", "age < 75", Concept("demographic", "age", "age"), comparator="<", value=75.0
        )
        born = datetime.date(1951, 3, 1)
        assert truth(under_75, PatientFacts(birth_date=born), datetime.date(2026, 2, 28)) is Truth.MET
        assert truth(under_75, PatientFacts(birth_date=born), datetime.date(2026, 3, 1)) is Truth.NOT_MET

    def test_karnofsky_from_ecog_is_decided_only_when_the_range_agrees(self):
        kps = Concept("scale", "Karnofsky", "Karnofsky performance status")
        at_least_70 = atom("performance_status", "KPS >= 70", kps, comparator=">=", value=70.0)
        at_least_80 = atom("performance_status", "KPS >= 80", kps, comparator=">=", value=80.0)
        assert truth(at_least_70, PatientFacts(ecog=1)) is Truth.MET
        assert truth(at_least_80, PatientFacts(ecog=1)) is Truth.UNKNOWN
        assert truth(at_least_70, PatientFacts(ecog=3)) is Truth.NOT_MET

    def test_men_are_neither_pregnant_nor_of_childbearing_potential(self):
        pregnant = atom("pregnancy", "pregnant", Concept("pregnancy", "pregnant", "pregnant"))
        wocbp = atom("pregnancy", "WOCBP", Concept("pregnancy", "wocbp", "woman of childbearing potential"))
        assert truth(pregnant, PatientFacts(sex="male")) is Truth.NOT_MET
        assert truth(wocbp, PatientFacts(sex="male")) is Truth.NOT_MET
        assert truth(pregnant, PatientFacts(sex="female")) is Truth.UNKNOWN

    @pytest.mark.parametrize(
        ("stage", "code", "expected"),
        [
            ("IIIB", "III-IV", Truth.MET),
            ("IIIA", "IIIB-IV", Truth.NOT_MET),
            ("III", "IIIB", Truth.UNKNOWN),
            ("IVA", "IV", Truth.MET),
            ("II", "IV", Truth.NOT_MET),
        ],
    )
    def test_stage_ranges(self, stage, code, expected):
        facts = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "nsclc", "NSCLC", stage=stage),))
        assert (
            truth(atom("condition", f"stage {code}", Concept("stage", code, f"stage {code}")), facts)
            is expected
        )


class TestUnreadableText:
    def test_text_the_parser_could_not_read_is_unknown_with_a_question(self):
        unread = atom(
            "other", "Meets criteria as a High-Risk Individual as defined by protocol", None, checkable=False
        )
        result = evaluate_tree(unread, PatientFacts(), today=TODAY)[1][0]
        assert result.truth is Truth.UNKNOWN
        assert result.settle == Settle("question", f"Does this apply to you: {unread.text}?")

    def test_the_question_ends_in_one_question_mark_after_the_criterions_full_stop(self):
        unread = atom("other", "Incarcerated or under psychiatric assessment.", None, checkable=False)
        result = evaluate_tree(unread, PatientFacts(), today=TODAY)[1][0]
        assert result.settle == Settle(
            "question", "Does this apply to you: Incarcerated or under psychiatric assessment?"
        )

    def test_consent_and_investigator_judgement_do_not_decide(self):
        consent = atom("other", "informed consent", Concept("other", "consent", "consent"), checkable=False)
        assert truth(consent, PatientFacts()) is Truth.NOT_CHECKABLE


class TestExceptions:
    BRAIN = atom(
        "condition", "brain metastases", Concept("diagnosis", "brain_metastases", "brain metastases")
    )
    STABLE = atom("other", "unless treated and stable", None, checkable=False)

    def test_an_exception_nobody_can_check_leaves_the_exclusion_unknown(self):
        facts = PatientFacts(
            diagnoses=(DiagnosisFact("diagnosis:1", "brain_metastases", "brain metastases"),)
        )
        assert truth(Except(self.BRAIN, self.STABLE), facts) is Truth.UNKNOWN

    def test_an_exception_whose_checkable_part_fails_leaves_the_main_condition_standing(self):
        facts = PatientFacts(
            diagnoses=(DiagnosisFact("diagnosis:1", "brain_metastases", "brain metastases"),)
        )
        assert truth(Except(self.BRAIN, And((self.STABLE, Not(self.BRAIN)))), facts) is Truth.MET

    def test_exception_does_not_matter_when_the_main_condition_is_absent(self):
        facts = PatientFacts(history_confirmed_on=datetime.date(2026, 1, 1))
        assert truth(Except(self.BRAIN, self.STABLE), facts) is Truth.NOT_MET


class TestCohorts:
    EX19 = atom("biomarker", "EGFR exon 19 deletion", EGFR, alteration="exon 19 deletion")
    FACTS = PatientFacts(
        biomarkers=(BiomarkerFact("biomarker:1", "EGFR", "deletion", protein_change="exon 19 deletion"),)
    )
    CRITERIA = [Criterion("inclusion", "EGFR exon 19 deletion", (0, 21), EX19)]

    def trial(self, *arms: ArmSpec, is_open: bool = True) -> TrialSpec:
        return TrialSpec(1, is_open, arms)

    def test_patient_is_assigned_to_the_stratum_whose_definition_she_meets(self):
        arms = (
            ArmSpec(1, "Exon 19", node_to_dict(self.EX19)),
            ArmSpec(2, "Wild-type", node_to_dict(Not(self.EX19))),
        )
        verdict = match_trial(self.trial(*arms), self.CRITERIA, self.FACTS, today=TODAY)
        assert [c.label for c in verdict.assignable_cohorts] == ["Exon 19"]
        assert verdict.accepting

    def test_full_and_suspended_cohorts_take_no_new_candidates(self):
        arms = (ArmSpec(1, "Full", cap=10), ArmSpec(2, "Paused", is_suspended=True))
        verdict = match_trial(self.trial(*arms), self.CRITERIA, self.FACTS, today=TODAY, enrolled={1: 10})
        assert [c.reason for c in verdict.cohorts] == ["cohort full (10/10)", "cohort suspended"]
        assert not verdict.accepting
        assert verdict.closed_reason == "all cohorts full or suspended"

    def test_a_cohort_below_its_cap_is_open(self):
        verdict = match_trial(
            self.trial(ArmSpec(1, "A", cap=10)), self.CRITERIA, self.FACTS, today=TODAY, enrolled={1: 9}
        )
        assert verdict.accepting

    def test_an_unreadable_stratum_definition_leaves_the_stratum_unknown(self):
        verdict = match_trial(
            self.trial(ArmSpec(1, "A", {"gene": "EGFR"})), self.CRITERIA, self.FACTS, today=TODAY
        )
        (cohort,) = verdict.cohorts
        assert (cohort.truth, cohort.assignable) == (Truth.UNKNOWN, True)

    def test_a_full_cohort_with_an_unreadable_stratum_definition_takes_no_new_candidates(self):
        verdict = match_trial(
            self.trial(ArmSpec(1, "A", {"gene": "EGFR"}, cap=5)),
            self.CRITERIA,
            self.FACTS,
            today=TODAY,
            enrolled={1: 5},
        )
        (cohort,) = verdict.cohorts
        assert (cohort.reason, cohort.assignable, verdict.accepting) == ("cohort full (5/5)", False, False)

    def test_closed_trial_takes_no_new_candidates(self):
        verdict = match_trial(self.trial(is_open=False), self.CRITERIA, self.FACTS, today=TODAY)
        assert (verdict.accepting, verdict.closed_reason) == (False, "trial not recruiting")


class TestQualifiedConditions:
    def test_a_qualifier_no_profile_records_is_asked_about_not_called_unreadable(self):
        parsed = parse_eligibility("Exclusion Criteria:\n- Uncontrolled hypertension\n")
        facts = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "hypertension", "hypertension"),))
        [criterion] = parsed.criteria
        [qualifier_atom] = [a for a in iter_atoms(criterion.tree) if a.rule_id == QUALIFIER_RULE]
        _, results = evaluate_tree(criterion.tree, facts, today=TODAY)
        [qualifier] = [r for r in results if r.span == qualifier_atom.span]
        assert qualifier.truth is Truth.UNKNOWN
        assert qualifier.reason == "the profile does not record this detail"
        assert qualifier.settle == Settle("question", "Does this apply to you: Uncontrolled hypertension?")

    def test_a_cause_named_after_the_condition_is_asked_about(self):
        """Rosa has amyloidosis beside her myeloma: whether it is secondary to rheumatoid arthritis is a
        question, not a violation of the inclusion "No amyloidosis secondary to rheumatoid arthritis"."""
        parsed = parse_eligibility("No amyloidosis secondary to rheumatoid arthritis or chronic infection")
        rosa = PatientFacts(
            diagnoses=(
                DiagnosisFact("diagnosis:1", "myeloma", "multiple myeloma"),
                DiagnosisFact("diagnosis:2", "amyloidosis", "amyloidosis"),
            )
        )
        assert evaluate(parsed.criteria, rosa, today=TODAY).overall.value == "possibly_eligible"


class TestNonPrefixedPregnancy:
    CRITERION = "Inclusion Criteria:\n- Non-pregnant, non-breastfeeding women\n"

    def test_the_prefix_negates_the_status_it_is_glued_to(self):
        [criterion] = parse_eligibility(self.CRITERION).criteria
        statuses = [a for a in iter_atoms(criterion.tree) if a.kind == "pregnancy"]
        assert [(a.text, a.assertion) for a in statuses] == [
            ("pregnant", "negated"),
            ("breastfeeding", "negated"),
        ]

    def test_a_woman_neither_pregnant_nor_breastfeeding_meets_it_and_a_pregnant_one_does_not(self):
        [criterion] = parse_eligibility(self.CRITERION).criteria
        not_pregnant = PatientFacts(sex="female", pregnancy_status="not_pregnant", breastfeeding=False)
        pregnant = PatientFacts(sex="female", pregnancy_status="pregnant", breastfeeding=False)
        assert truth(criterion.tree, not_pregnant) is Truth.MET
        assert truth(criterion.tree, pregnant) is Truth.NOT_MET


class TestChildbearingPotential:
    """Real phrasings from a methotrexate trial's hard-wrapped criteria: none of them may exclude a man."""

    CRITERIA = (
        "Inclusion Criteria:\n\n"
        "  -  Willingness of men and women of childbearing potential to practice an adequate method\n"
        "     of birth control during the study and for 3 months afterwards.\n\n"
        "  -  Willingness to refrain from breast-feeding during the study and for 3 months\n"
        "     afterwards.\n\n"
        "Exclusion Criteria:\n\n"
        "  -  Positive serum pregnancy test for women of childbearing potential.\n\n"
        "Pregancy or, in women of childbearing potential, inability to practice adequate\n"
        "contraception.\n"
    )
    OMAR = PatientFacts(sex="male", pregnancy_status="not_applicable")
    LENA = PatientFacts(sex="female", pregnancy_status="pregnant", breastfeeding=False)
    RUTH = PatientFacts(sex="female", pregnancy_status="not_pregnant", breastfeeding=False)

    def outcomes(self, facts: PatientFacts) -> list[str]:
        criteria = parse_eligibility(self.CRITERIA).criteria
        return [c.outcome for c in evaluate(criteria, facts, today=TODAY).criteria]

    def test_a_man_meets_what_is_asked_of_women_who_may_become_pregnant(self):
        assert self.outcomes(self.OMAR) == ["satisfied"] * 4

    def test_a_positive_pregnancy_test_excludes_a_pregnant_woman_only(self):
        assert self.outcomes(self.LENA)[2] == "violated"
        assert self.outcomes(self.RUTH)[2] == "satisfied"


class TestViralHepatitis:
    """Karim, 53, has chronic hepatitis C (TREC-style note: "chronic HCV infection for the past 2 years")."""

    KARIM = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "hcv", "hepatitis C"),))

    def outcome(self, text: str) -> str:
        [criterion] = parse_eligibility(text).criteria
        return evaluate([criterion], self.KARIM, today=TODAY).criteria[0].outcome

    def test_hepatitis_c_is_a_hepatitis_and_a_liver_disease(self):
        assert self.outcome("Exclusion Criteria:\n- Known hepatitis\n") == "violated"
        no_liver_disease = "Inclusion Criteria:\n- No prior or current chronic liver disease\n"
        assert self.outcome(no_liver_disease) == "violated"

    def test_another_form_of_liver_disease_is_not_his_own(self):
        text = (
            "Exclusion Criteria:\n- Evidence of another form of liver disease in addition to viral "
            "hepatitis, such as autoimmune or alcoholic liver disease.\n"
        )
        assert self.outcome(text) != "violated"


class TestHeartDisease:
    """Harold, 62, has hypertension; Dora, 70, coronary artery disease."""

    HAROLD = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "hypertension", "hypertension"),))
    DORA = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "cad", "coronary artery disease"),))

    def outcomes(self, text: str) -> list[str]:
        criteria = parse_eligibility(text).criteria
        return [evaluate(criteria, p, today=TODAY).criteria[0].outcome for p in (self.HAROLD, self.DORA)]

    def test_hypertension_is_not_heart_disease(self):
        assert self.outcomes("Exclusion Criteria:\n- History of heart disease\n") == ["unknown", "violated"]

    def test_a_functional_class_of_heart_disease_is_a_question_for_a_patient_with_heart_disease(self):
        text = "Inclusion Criteria:\n- No New York Heart Association class III or IV heart disease\n"
        assert self.outcomes(text) == ["unknown", "unknown"]


@pytest.mark.parametrize(
    "text",
    [
        "Males and females between the ages of 18-75.",
        "Males and females between the ages of 18 and 85 are eligible for the study.",
        "Ages 18 to 65",
        "Male and female adults, 18 through 70 years of age, inclusive",
    ],
)
def test_an_age_range_written_with_ages_is_read(text: str) -> None:
    """Farid is 57, Lily 9: each range admits him and not her."""
    [criterion] = parse_eligibility(f"Inclusion Criteria:\n- {text}\n").criteria
    farid = PatientFacts(birth_date=datetime.date(1969, 1, 1))
    lily = PatientFacts(birth_date=datetime.date(2017, 1, 1))
    assert [truth(criterion.tree, p) for p in (farid, lily)] == [Truth.MET, Truth.NOT_MET]


class TestWhoAfterThePeopleNegated:
    """ "who" after the people a "No" is about describes them; it does not end the negation."""

    def test_no_patients_who_have_received_chemotherapy_excludes_only_the_treated(self):
        [criterion] = parse_eligibility(
            "Inclusion Criteria:\n- No patients who have received prior chemotherapy\n"
        ).criteria
        rosa = PatientFacts(therapies=(TherapyFact("therapy:1", "melphalan", ("chemotherapy",)),))
        assert truth(criterion.tree, rosa) is Truth.NOT_MET

    def test_a_man_is_not_excluded_by_no_women_who_are_pregnant(self):
        [criterion] = parse_eligibility(
            "Inclusion Criteria:\n- No women who are pregnant or intend to become pregnant.\n"
        ).criteria
        omar = PatientFacts(sex="male", pregnancy_status="not_applicable")
        assert truth(criterion.tree, omar) is Truth.MET


def test_a_plain_positive_result_neither_shows_nor_rules_out_an_amplification():
    """Grace's note says "The tumor is HER2-positive": "HER2 overexpressing (3+) ... or amplified by FISH"
    needs the assay, it does not exclude her; a HER2-negative result still does."""
    wanted = atom(
        "biomarker", "HER2 amplification", Concept("hgnc", "ERBB2", "ERBB2"), alteration="amplification"
    )
    positive = PatientFacts(biomarkers=(BiomarkerFact("biomarker:1", "ERBB2", "expression", "positive"),))
    negative = PatientFacts(biomarkers=(BiomarkerFact("biomarker:1", "ERBB2", "wild_type", "negative"),))
    assert [truth(wanted, positive), truth(wanted, negative)] == [Truth.UNKNOWN, Truth.NOT_MET]


def test_an_age_that_says_whom_a_criterion_is_for_binds_only_them():
    """Rosa is 64: "Creatinine clearance at least 60 mL/min in patients aged 70 or older" does not ask her
    for a creatinine clearance; Vera, 75, without one on file, is asked."""
    [criterion] = parse_eligibility(
        "Inclusion Criteria:\n- Creatinine clearance at least 60 mL/min in patients aged 70 or older\n"
    ).criteria
    rosa = PatientFacts(birth_date=datetime.date(1962, 1, 1))
    vera = PatientFacts(birth_date=datetime.date(1951, 1, 1))
    assert [truth(criterion.tree, p) for p in (rosa, vera)] == [Truth.MET, Truth.UNKNOWN]


def test_an_age_on_the_line_under_its_label_is_read():
    """PDQ records write "Age:" and, on the next line, "-  3 to 21": Walter, 45, is outside it."""
    [criterion] = parse_eligibility("Inclusion Criteria:\n\nAge:\n\n  -  3 to 21\n").criteria
    walter = PatientFacts(birth_date=datetime.date(1975, 6, 1))
    assert truth(criterion.tree, walter) is Truth.NOT_MET


def test_unless_in_an_inclusion_waives_the_requirement_for_the_site_to_confirm():
    """Carl has CLL and a raised SGOT; so has Nils, without CLL (history confirmed). "SGOT no greater than 1.5
    times ULN (unless due to hemolysis or chronic lymphocytic leukemia)" does not fail Carl for his CLL
    (before, the waiver excluded him): whether it applies is a question for the site. Nils fails it."""
    [criterion] = parse_eligibility(
        "Inclusion Criteria:\n- SGOT no greater than 1.5 times ULN (unless due to hemolysis or chronic "
        "lymphocytic leukemia)\n"
    ).criteria
    cll = DiagnosisFact("diagnosis:1", "cll", "chronic lymphocytic leukaemia")
    high_sgot = LabFact("lab:1", "AST", "1920-8", 200.0, "U/L", TODAY, reference_high=40.0)
    carl = PatientFacts(diagnoses=(cll,), labs=(high_sgot,))
    nils = PatientFacts(labs=(high_sgot,), history_confirmed_on=TODAY)
    assert [truth(criterion.tree, p) for p in (carl, nils)] == [Truth.UNKNOWN, Truth.NOT_MET]


class TestGliomas:
    CRITERIA = parse_eligibility(
        "Inclusion Criteria:\n"
        "  -  Histologically confirmed malignant glioma\n\n"
        "       -  Glioblastoma\n\n"
        "       -  Gliosarcoma\n\n"
        "       -  Anaplastic astrocytoma\n\n"
        "       -  Anaplastic oligodendroglioma\n"
    ).criteria

    def test_a_malignant_glioma_of_any_listed_type_is_met(self):
        """Omar has an anaplastic astrocytoma: one of the listed malignant gliomas, not all of them."""
        omar = PatientFacts(
            diagnoses=(DiagnosisFact("diagnosis:1", "anaplastic_astrocytoma", "anaplastic astrocytoma"),)
        )
        assert evaluate(self.CRITERIA, omar, today=TODAY).overall.value == "eligible"

    def test_a_low_grade_astrocytoma_trial_is_not_for_an_anaplastic_astrocytoma(self):
        omar = PatientFacts(
            diagnoses=(DiagnosisFact("diagnosis:1", "anaplastic_astrocytoma", "anaplastic astrocytoma"),)
        )
        criteria = parse_eligibility("Inclusion Criteria:\n- Recurrent low-grade astrocytoma").criteria
        assert evaluate(criteria, omar, today=TODAY).overall.value == "ineligible"


class TestGroupsByPopulation:
    TEXT = (
        "Inclusion Criteria:\n\nfor acromegaly\n\n  -  Clinical and biochemical diagnosis of acromegaly.\n\n"
        "for GHD\n\n  -  Clinical and biochemical diagnosis of GHD.\n\n"
        "Exclusion Criteria:\n\nfor acromegaly\n\n  -  Hyperthyroidism\n\n"
        "for GHD\n\n  -  Previous history of acromegaly\n"
    )

    def test_another_groups_exclusions_do_not_exclude_a_patient_of_this_group(self):
        """Amir has acromegaly: the acromegaly group's criteria are his; the GHD group's exclusion "Previous
        history of acromegaly" and the line "for acromegaly" itself do not exclude him."""
        amir = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "acromegaly", "acromegaly"),))
        verdict = evaluate(parse_eligibility(self.TEXT).criteria, amir, today=TODAY)
        assert verdict.overall.value == "possibly_eligible"
        exclusions = [c.outcome.value for c in verdict.criteria if c.section == "exclusion"]
        assert exclusions == ["unknown", "unknown"]

    def test_a_group_member_with_the_groups_exclusion_is_excluded(self):
        """Bea has acromegaly and hyperthyroidism, which the acromegaly group excludes."""
        bea = PatientFacts(
            diagnoses=(
                DiagnosisFact("diagnosis:1", "acromegaly", "acromegaly"),
                DiagnosisFact("diagnosis:2", "hyperthyroidism", "hyperthyroidism"),
            )
        )
        assert evaluate(parse_eligibility(self.TEXT).criteria, bea, today=TODAY).overall.value == "ineligible"


class TestTreatmentOfTheDisease:
    """Vera, 41, has stage IB cervical cancer and no treatment on file yet; Ines, 38, has breast cancer."""

    VERA = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "cervical_cancer", "cervical cancer"),))
    INES = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "breast_cancer", "breast cancer"),))

    def outcomes(self, text: str) -> list[str]:
        criteria = parse_eligibility(text).criteria
        return [evaluate(criteria, p, today=TODAY).criteria[0].outcome for p in (self.VERA, self.INES)]

    @pytest.mark.parametrize(
        "text",
        [
            "Inclusion Criteria:\n- No prior therapy for cervical cancer\n",
            "Inclusion Criteria:\n- No previous treatment of the cervical cancer\n",
        ],
    )
    def test_no_prior_therapy_for_her_disease_asks_about_the_therapy_not_the_disease(self, text):
        assert self.outcomes(text) == ["unknown", "satisfied"]

    def test_the_treatment_words_are_the_qualifier(self):
        atoms = [
            a.text
            for a in iter_atoms(parse_eligibility("No prior therapy for cervical cancer").criteria[0].tree)
            if a.rule_id == QUALIFIER_RULE
        ]
        assert atoms == ["therapy for cervical cancer"]

    def test_her_disease_alone_still_fails_a_plain_no(self):
        assert self.outcomes("Inclusion Criteria:\n- No cervical cancer\n") == ["violated", "satisfied"]


class TestAnotherCancerExceptedFromTheIndication:
    """Paul, 61, has pancreatic cancer: "adenocarcinoma of the exocrine pancreas excluding periampullary
    cancer" excepts a cancer the vocabulary cannot name, not any cancer (which would except his own)."""

    PAUL = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "pancreatic_cancer", "pancreatic cancer"),))

    def test_a_bare_cancer_excepted_in_an_inclusion_is_a_question_not_his_own_cancer(self):
        text = (
            "Inclusion Criteria:\n- Histologically or cytologically proven adenocarcinoma of the exocrine "
            "pancreas\n     excluding periampullary cancer\n"
        )
        verdict = evaluate(parse_eligibility(text).criteria, self.PAUL, today=TODAY)
        assert verdict.criteria[0].outcome == "unknown"

    def test_a_named_cancer_excepted_still_excludes_it(self):
        text = "Inclusion Criteria:\n- Any solid tumour except pancreatic cancer\n"
        verdict = evaluate(parse_eligibility(text).criteria, self.PAUL, today=TODAY)
        assert verdict.criteria[0].outcome == "violated"


class TestCopdCriteriaThatAreNotAboutCopd:
    """Walter, 66, has COPD and had spirometry last year; Greta, 70, has COPD and no spirometry on file."""

    WALTER = PatientFacts(
        diagnoses=(DiagnosisFact("diagnosis:1", "copd", "chronic obstructive pulmonary disease"),),
        procedures=(ProcedureFact("procedure:1", "spirometry", "spirometry", datetime.date(2026, 3, 2)),),
    )
    GRETA = PatientFacts(
        diagnoses=(DiagnosisFact("diagnosis:1", "copd", "chronic obstructive pulmonary disease"),)
    )

    def outcomes(self, text: str) -> list[str]:
        criteria = parse_eligibility(text).criteria
        return [evaluate(criteria, p, today=TODAY).criteria[0].outcome for p in (self.WALTER, self.GRETA)]

    def test_a_trial_network_named_after_copd_does_not_exclude_copd_patients(self):
        text = (
            "Exclusion Criteria:\n- Participation in another clinical trial in the COPD Clinical Research "
            "Network\n"
        )
        assert self.outcomes(text) == ["unknown", "unknown"]

    def test_patients_who_have_not_had_a_test_excludes_only_those_without_it(self):
        text = "Exclusion Criteria:\n- Patients who have not had a spirometry test\n"
        assert self.outcomes(text) == ["satisfied", "unknown"]

    def test_a_plain_no_in_the_exclusions_still_names_what_excludes(self):
        [atom] = parse_eligibility("Exclusion Criteria:\n- No prior spirometry\n").atoms()
        assert atom.review == "polarity conflict: negated mention inside an exclusion criterion"
        assert self.outcomes("Exclusion Criteria:\n- No prior spirometry\n")[0] == "violated"

    def test_a_class_of_copd_is_still_copd(self):
        [atom] = parse_eligibility("Exclusion Criteria:\n- COPD Group B\n").atoms()
        assert atom.concept is not None
        assert atom.concept.code == "copd"


class TestARequirementForWhomATrailingIfNames:
    """Rosa, 64, has myeloma with renal impairment and no creatinine clearance on file; Ken, 58, has myeloma,
    normal kidneys (renal impairment ruled out) and a creatinine clearance of 40 mL/min."""

    ROSA = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "renal_impairment", "renal impairment"),))
    KEN = PatientFacts(
        diagnoses=(DiagnosisFact("diagnosis:1", "renal_impairment", "renal impairment", present=False),),
        labs=(
            LabFact("lab:1", "creatinine clearance", "2164-2", 40.0, "mL/min", datetime.date(2026, 11, 1)),
        ),
    )

    def outcomes(self, text: str) -> list[str]:
        criteria = parse_eligibility(text).criteria
        return [evaluate(criteria, p, today=TODAY).criteria[0].outcome for p in (self.ROSA, self.KEN)]

    def test_the_limit_binds_only_patients_without_renal_impairment(self):
        text = "Inclusion Criteria:\n- Creatinine clearance greater than 50 mL/min if no renal impairment\n"
        assert self.outcomes(text) == ["satisfied", "violated"]

    def test_in_the_exclusions_it_excludes_only_those_the_if_names(self):
        [criterion] = parse_eligibility(
            "Exclusion Criteria:\n- Asthma if treated with systemic corticosteroids\n"
        ).criteria
        assert isinstance(criterion.tree, And)

    @pytest.mark.parametrize(
        "text",
        [
            # the opinion of the investigator names no one
            "Inclusion Criteria:\n- Absolute neutrophil count at least 1,500/mm^3 (may be less, if in the "
            "opinion of the investigator, this is an ethnic variation)\n",
            # a merged paragraph: the "if" does not reach back past its sentence
            "Inclusion Criteria:\n- Creatinine clearance greater than 50 mL/min. Eligible if no renal "
            "impairment\n",
        ],
    )
    def test_an_if_that_names_no_one_or_reaches_past_its_sentence_binds_everyone(self, text):
        [criterion] = parse_eligibility(text).criteria
        assert not (isinstance(criterion.tree, Or) and isinstance(criterion.tree.children[0], Not))


class TestAClausePatientsWithXMustY:
    """Class 5 of docs/trec_error_classes.md. Otto, 64, has multiple myeloma and was given melphalan; Lena,
    58, has chronic lymphocytic leukaemia and no treatment on file."""

    OTTO = PatientFacts(
        diagnoses=(DiagnosisFact("diagnosis:1", "myeloma", "multiple myeloma"),),
        therapies=(TherapyFact("therapy:1", "melphalan", ("chemotherapy",), ended=True),),
    )
    LENA = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "cll", "chronic lymphocytic leukaemia"),))
    TEXT = (
        "Inclusion Criteria:\n"
        "- Patients with non-Hodgkin lymphoma (NHL), chronic lymphocytic leukemia (CLL) and multiple\n"
        "  myeloma who failed prior autologous transplantation; patients with NHL and CLL must have\n"
        "  failed prior therapy with fludarabine\n"
    )

    def test_the_requirement_binds_only_the_patients_the_clause_names(self):
        assert first_outcome(self.TEXT, self.OTTO) == "satisfied"

    def test_a_patient_of_the_named_population_still_needs_the_requirement(self):
        assert first_outcome(self.TEXT, self.LENA) == "unknown"

    def test_a_whole_item_patients_with_x_must_y_binds_only_them(self):
        text = "Inclusion Criteria:\n- Patients with multiple myeloma must have received prior chemotherapy\n"
        [criterion] = parse_eligibility(text).criteria
        assert isinstance(criterion.tree, Or)
        assert isinstance(criterion.tree.children[0], Not)
        assert first_outcome(text, self.LENA) == "satisfied"

    def test_a_population_the_vocabulary_lacks_is_a_question_never_a_violation(self):
        text = (
            "Inclusion Criteria:\n- Patients with a history of symptomatic gallbladder disease must have\n"
            "  had a cholecystectomy.\n"
        )
        assert first_outcome(text, self.OTTO) == "unknown"

    def test_must_not_and_the_exclusions_keep_their_reading(self):
        for text in (
            "Inclusion Criteria:\n- Patients with multiple myeloma must not have had prior chemotherapy\n",
            "Exclusion Criteria:\n- Patients with multiple myeloma must have had prior chemotherapy\n",
        ):
            [criterion] = parse_eligibility(text).criteria
            assert not (isinstance(criterion.tree, Or) and isinstance(criterion.tree.children[0], Not))

    def test_a_disease_as_the_subject_binds_only_patients_with_it(self):
        text = "Inclusion Criteria:\n- Lymphoma must be stage III, IV, or recurrent\n"
        [criterion] = parse_eligibility(text).criteria
        assert isinstance(criterion.tree, Or)
        assert first_outcome(text, self.LENA) == "satisfied"

    @pytest.mark.parametrize(
        "line",
        [
            "Tumor must be at least 5 mm",
            "Primary therapy for multiple myeloma must start within three days",
            "Patients must have multiple myeloma",
        ],
    )
    def test_a_generic_tumour_a_treatment_or_the_patients_as_subject_bind_everyone(self, line):
        [criterion] = parse_eligibility(f"Inclusion Criteria:\n- {line}\n").criteria
        assert not (isinstance(criterion.tree, Or) and isinstance(criterion.tree.children[0], Not))

    def test_a_kind_of_cancer_after_or_in_the_same_sentence_is_an_alternative(self):
        text = (
            "Inclusion Criteria:\n- Diagnosis of indolent lymphoma as defined by International Working\n"
            "  Formulation categories A-C or diagnosis of Waldenstrom's macroglobulinemia, or chronic\n"
            "  lymphocytic leukemia\n"
        )
        [criterion] = parse_eligibility(text).criteria
        assert isinstance(criterion.tree, Or)
        assert first_outcome(text, self.LENA) == "satisfied"

    def test_a_cap_on_treatments_for_a_disease_does_not_require_the_disease(self):
        text = "Inclusion Criteria:\n- No more than 2 prior systemic regimens for treatment of lymphoma\n"
        tree = parse_eligibility(text).criteria[0].tree
        lymphoma = next(a for a in iter_atoms(tree) if a.concept is not None and a.concept.code == "lymphoma")
        assert isinstance(tree, And)
        assert any(isinstance(c, Or) and c.children[0] == Not(lymphoma) for c in tree.children)
        # Lena has CLL and no lymphoma: the cap does not rule her out.
        assert first_outcome(text, self.LENA) != "violated"

    def test_a_bracketed_abbreviation_does_not_break_a_list_of_kinds_of_cancer(self):
        text = (
            "Inclusion Criteria:\n- Patients with non-Hodgkin lymphoma (NHL), chronic lymphocytic leukemia"
            " (CLL) and multiple myeloma\n"
        )
        [criterion] = parse_eligibility(text).criteria
        assert isinstance(criterion.tree, Or)
        assert first_outcome(text, self.OTTO) == "satisfied"


class TestItemsOpeningWithTheirPopulationsAgeAreAlternatives:
    """Class 5 of docs/trec_error_classes.md. Otto, 64, and Ida, 45, each have multiple myeloma."""

    TEXT = (
        "Inclusion Criteria:\n"
        "- Patients aged > 49 years and < 75 years with multiple myeloma who failed prior transplantation\n"
        "- Patients < 50 years of age with NHL, CLL or multiple myeloma at high risk of toxicity\n"
        "- Karnofsky score at least 50\n"
    )

    @staticmethod
    def patient(age: int) -> PatientFacts:
        return PatientFacts(
            birth_date=datetime.date(TODAY.year - age, 1, 1),
            diagnoses=(DiagnosisFact("diagnosis:1", "myeloma", "multiple myeloma"),),
        )

    def test_they_become_one_criterion_any_of_them_admits(self):
        criteria = parse_eligibility(self.TEXT).criteria
        assert len(criteria) == 2
        assert isinstance(criteria[0].tree, Or)
        assert criteria[0].text.startswith("Patients aged > 49")
        assert criteria[0].text.endswith("toxicity")
        assert criteria[1].text.startswith("Karnofsky")

    @pytest.mark.parametrize("age", [64, 45])
    def test_a_patient_of_either_age_band_fits(self, age):
        verdict = evaluate(parse_eligibility(self.TEXT).criteria, self.patient(age), today=TODAY)
        assert verdict.criteria[0].outcome == "satisfied"

    def test_a_single_item_naming_its_populations_age_still_requires_it(self):
        text = "Inclusion Criteria:\n- Patients < 50 years of age with multiple myeloma\n- Karnofsky 50-100\n"
        verdict = evaluate(parse_eligibility(text).criteria, self.patient(64), today=TODAY)
        assert verdict.criteria[0].outcome == "violated"


class TestItemsDefiningStudyGroupsAreAlternatives:
    """Class 69 of docs/trec_error_classes.md (NCT00005479's wording). Carl has coronary artery disease and
    had bypass surgery; Dora has diabetes only."""

    TEXT = (
        "Inclusion criteria\n\n"
        "  -  Patients with type 2 diabetes mellitus (DM), defined by medical record diagnosis\n\n"
        "  -  Patients with CAD group, defined by the following criteria: documented prior MI,\n"
        "     PTCA/stent, CABG, or >75% stenosis in any vessel by coronary angiography.\n\n"
        "  -  Patients without CAD group, defined as: the absence of a prior MI and <50% stenosis in\n"
        "     all vessels by coronary angiography within the past year.\n"
    )
    CARL = PatientFacts(
        diagnoses=(
            DiagnosisFact("diagnosis:1", "cad", "coronary artery disease"),
            DiagnosisFact("diagnosis:2", "mi", "myocardial infarction"),
        ),
        procedures=(ProcedureFact("procedure:1", "cabg", "CABG", datetime.date(2020, 1, 1)),),
    )

    def test_the_groups_become_one_criterion_either_group_admits(self):
        criteria = parse_eligibility(self.TEXT).criteria
        assert len(criteria) == 2
        assert isinstance(criteria[1].tree, Or)
        assert criteria[1].text.startswith("Patients with CAD group")

    def test_a_patient_in_the_cad_group_does_not_fail_the_group_without_cad(self):
        verdict = evaluate(parse_eligibility(self.TEXT).criteria, self.CARL, today=TODAY)
        assert verdict.criteria[1].outcome != "violated"

    def test_a_single_group_item_is_still_required(self):
        text = "Inclusion Criteria:\n- Patients without CAD group, defined as: no prior MI\n- Age 40 to 75\n"
        verdict = evaluate(parse_eligibility(text).criteria, self.CARL, today=TODAY)
        assert verdict.criteria[0].outcome == "violated"


class TestATreatmentThePatientIsJudgedSuitableForIsNoHistory:
    """Class 74 of docs/trec_error_classes.md (NCT00003856's wording). Hana has head and neck cancer and had
    surgery and radiotherapy; Ravi has head and neck cancer and no treatment on file."""

    HNC = (DiagnosisFact("diagnosis:1", "head_neck_cancer", "head and neck cancer"),)
    HANA = PatientFacts(
        diagnoses=HNC,
        procedures=(
            ProcedureFact("procedure:1", "surgery", "surgery", datetime.date(2020, 1, 1)),
            ProcedureFact("procedure:2", "radiotherapy", "radiotherapy", datetime.date(2020, 3, 1)),
        ),
    )
    RAVI = PatientFacts(diagnoses=HNC)

    @pytest.mark.parametrize("patient", ["HANA", "RAVI"])
    def test_incurable_with_surgery_or_radiotherapy_requires_neither(self, patient):
        text = (
            "Inclusion Criteria:\n- Squamous cell cancer of the head and neck that is incurable with surgery"
            " or radiotherapy\n"
        )
        assert first_outcome(text, getattr(self, patient)) == "satisfied"

    def test_not_suitable_for_surgery_is_not_a_history_of_surgery(self):
        text = "Inclusion Criteria:\n- Not suitable for anesthesia or reconstructive surgery\n"
        assert first_outcome(text, self.HANA) != "violated"

    @pytest.mark.parametrize(
        "line",
        [
            "Patients with biliary obstruction must have drainage or surgical bypass prior to starting"
            " radiotherapy",
            "Negative bone scan before beginning any radiotherapy",
        ],
    )
    def test_the_treatment_to_come_named_as_a_time_anchor_is_not_required(self, line):
        # NCT00460174's and NCT00002633's wording. Ravi's history is confirmed: no radiotherapy yet.
        ravi = replace(self.RAVI, history_confirmed_on=datetime.date(2026, 1, 1))
        assert first_outcome(f"Inclusion Criteria:\n- {line}\n", ravi) != "violated"

    def test_a_prior_treatment_is_still_read(self):
        assert first_outcome("Inclusion Criteria:\n- No prior radiotherapy\n", self.HANA) == "violated"


class _ParkinsonsPersonas:
    """Pia has Parkinson's disease and takes levodopa (for how long the profile does not say); Leo has it
    and no treatment on file."""

    PD = (DiagnosisFact("diagnosis:1", "parkinsons", "Parkinson's disease"),)
    PIA = PatientFacts(diagnoses=PD, therapies=(TherapyFact("therapy:1", "levodopa", ("antiparkinson",)),))
    LEO = PatientFacts(diagnoses=PD)


class TestATreatmentThePatientToleratesOrCannotTakeIsNoHistory(_ParkinsonsPersonas):
    """Eighth trec round (docs/trec_error_classes.md): how a patient bears a treatment is not whether they
    had it. Pia has Parkinson's disease and takes levodopa; Leo has it and no treatment on file."""

    @pytest.mark.parametrize(
        "text",
        [
            "Exclusion Criteria:\n- Patients demonstrating intolerance to a s.c. test dose of levodopa.\n",
            "Exclusion Criteria:\n- Intolerant to L-dopa\n",
            "Inclusion Criteria:\n- No patients who are unable to be treated with levodopa alone.\n",
        ],
    )
    def test_intolerance_or_inability_to_take_a_drug_is_not_a_history_of_it(self, text):
        assert first_outcome(text, self.PIA) != "violated"

    def test_demonstrated_tolerance_of_a_drug_does_not_require_it(self):
        text = "Inclusion Criteria:\n- Demonstrated tolerance to a test dose of levodopa.\n"
        assert first_outcome(text, self.LEO) != "violated"

    def test_a_prior_treatment_with_the_drug_is_still_read(self):
        text = "Exclusion Criteria:\n- Prior treatment with levodopa\n"
        assert first_outcome(text, self.PIA) == "violated"

    def test_previously_untreated_with_a_drug_excludes_the_patient_who_takes_it(self):
        text = "Inclusion Criteria:\n- Previously untreated with levodopa\n"
        assert first_outcome(text, self.PIA) == "violated"
        assert first_outcome(text, self.LEO) != "violated"


class TestHowLongATreatmentWasGivenIsAskedNotAssumed(_ParkinsonsPersonas):
    """Eighth trec round: a cap or a floor on how long a treatment was given is not a requirement or an
    exclusion of any course of it. Pia takes levodopa (for how long the profile does not say); Leo takes
    nothing."""

    @pytest.mark.parametrize(
        "text",
        [
            "Inclusion Criteria:\n- Exposure to levodopa or a dopamine agonist of 14 days or less\n",
            "Inclusion Criteria:\n- No more than 12 months of prior levodopa\n",
            "Inclusion Criteria:\n- No treatment with amantadine or levodopa exceeding twelve months\n",
            "Exclusion Criteria:\n- Prior amantadine or levodopa for more than twelve months.\n",
        ],
    )
    def test_a_patient_on_the_drug_is_neither_taken_nor_turned_away(self, text):
        assert first_outcome(text, self.PIA) in ("unknown", "not_checkable")

    def test_a_cap_on_the_duration_is_no_requirement_to_have_had_the_drug(self):
        text = "Inclusion Criteria:\n- No more than 12 months of prior levodopa\n"
        assert first_outcome(text, self.LEO) != "violated"

    def test_a_floor_on_the_duration_still_requires_the_drug(self):
        text = "Inclusion Criteria:\n- Treated with levodopa for at least one year\n"
        assert first_outcome(text, self.PIA) == "unknown"
        # Leo's history is confirmed: no levodopa at all.
        leo = replace(self.LEO, history_confirmed_on=datetime.date(2026, 1, 1))
        assert first_outcome(text, leo) == "violated"

    def test_a_window_is_not_a_duration(self):
        text = "Inclusion Criteria:\n- No levodopa within 6 months of study entry\n"
        [atom] = parse_eligibility(text).atoms()
        assert atom.checkable
        assert atom.window is not None


class TestExamplesAfterIncluding:
    """Mia, 50, has acromegaly treated with octreotide only; Ben, 60, had radiotherapy and has chronic
    obstructive pulmonary disease."""

    MIA = PatientFacts(
        diagnoses=(DiagnosisFact("diagnosis:1", "acromegaly", "acromegaly"),),
        therapies=(TherapyFact("therapy:1", "octreotide", ended=True),),
    )
    BEN = PatientFacts(
        diagnoses=(DiagnosisFact("diagnosis:1", "copd", "chronic obstructive pulmonary disease"),),
        procedures=(ProcedureFact("procedure:1", "radiotherapy", "radiotherapy", datetime.date(2025, 1, 1)),),
    )

    @staticmethod
    def tree(text: str):
        [criterion] = parse_eligibility(text).criteria
        return criterion.tree

    def test_an_including_list_is_any_one_of_its_examples(self):
        tree = self.tree(
            "Exclusion Criteria:\n- Patients who have received any prior treatment for their acromegaly,"
            " including radiotherapy, octreotide, bromocriptine, lanreotide, or prior surgery.\n"
        )
        assert isinstance(tree, Or)
        assert {_code(a) for a in tree.children} >= {"radiotherapy", "surgery"}

    def test_examples_in_brackets_after_the_general_term_are_alternatives_to_it(self):
        tree = self.tree("Inclusion Criteria:\n- Systemic therapy (e.g., chemotherapy, immunotherapy)\n")
        assert isinstance(tree, Or)

    def test_examples_of_a_negated_term_share_its_negation(self):
        text = "Inclusion Criteria:\n- No severe lung disease (e.g., chronic obstructive pulmonary disease)\n"
        tree = self.tree(text)
        assert isinstance(tree, Not)
        assert truth(tree, self.BEN) is Truth.NOT_MET
        # Mia's record is silent on lung disease: unknown, never "not met".
        assert truth(tree, self.MIA) is Truth.UNKNOWN


def _code(node) -> str | None:
    return node.concept.code if isinstance(node, Atom) and node.concept else None


class TestAnAgeInAHeaderSaysWhomItsSubItemsBind:
    """Otto, 64, has multiple myeloma and no transplant donor work-up on file."""

    OTTO = PatientFacts(
        birth_date=datetime.date(TODAY.year - 64, 1, 1),
        diagnoses=(DiagnosisFact("diagnosis:1", "myeloma", "multiple myeloma"),),
    )
    TEXT = (
        "Inclusion Criteria:\n"
        "- Evaluation of siblings as potential allogeneic bone marrow transplant donors required for\n"
        "  patients 55 years of age and younger\n"
        "    - HLA typing required\n"
    )

    def test_an_older_patient_is_not_bound_by_it(self):
        [criterion] = parse_eligibility(self.TEXT).criteria
        assert isinstance(criterion.tree, Or)
        assert evaluate([criterion], self.OTTO, today=TODAY).criteria[0].outcome == "satisfied"


class TestASiteBeforeACancerQualifiesIt:
    """Class 67 of docs/trec_error_classes.md. Dana has diffuse large B-cell lymphoma, nothing said of the
    CNS; Bea has breast cancer."""

    DANA = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "dlbcl", "diffuse large B-cell lymphoma"),))
    BEA = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "breast_cancer", "breast cancer"),))
    TEXT = "Inclusion Criteria:\n- Diffuse large B-cell lymphoma (no primary CNS lymphoma)\n"

    def test_no_primary_cns_lymphoma_asks_about_the_cns_rather_than_excluding_every_lymphoma(self):
        assert first_outcome(self.TEXT, self.DANA) == "unknown"

    def test_a_site_involved_by_the_lymphoma_is_asked_about_rather_than_excluding_it(self):
        # Class 72 of docs/trec_error_classes.md (NCT00004260's wording, in a merged PDQ paragraph).
        text = "Inclusion Criteria:\n- Histologically confirmed lymphoma No CNS involvement by lymphoma\n"
        assert first_outcome(text, self.DANA) == "unknown"

    def test_a_complication_named_after_the_cancer_is_asked_about_rather_than_excluding_it(self):
        # NCT00002630's wording, in a merged PDQ paragraph.
        otto = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "myeloma", "multiple myeloma"),))
        text = "Inclusion Criteria:\n- Calcium no greater than 11 mg/dl No myeloma meningitis\n"
        assert first_outcome(text, otto) == "unknown"

    def test_an_excluded_site_lymphoma_still_leaves_a_patient_without_lymphoma_clear(self):
        text = "Exclusion Criteria:\n- Testicular lymphoma\n"
        assert first_outcome(text, self.BEA) == "satisfied"
        assert first_outcome(text, self.DANA) == "unknown"


class TestATreatmentIsQualifiedByItsIndication:
    """Class 68 of docs/trec_error_classes.md. Carla has breast cancer and had chemotherapy; Hugo has breast
    cancer, had Hodgkin lymphoma before, and had chemotherapy, for which cancer the facts do not say."""

    CHEMO = (TherapyFact("therapy:1", "doxorubicin", ("chemotherapy",), ended=True),)
    CARLA = PatientFacts(
        diagnoses=(DiagnosisFact("diagnosis:1", "breast_cancer", "breast cancer"),), therapies=CHEMO
    )
    HUGO = PatientFacts(
        diagnoses=(
            DiagnosisFact("diagnosis:1", "breast_cancer", "breast cancer"),
            DiagnosisFact("diagnosis:2", "hodgkin", "Hodgkin lymphoma"),
        ),
        therapies=CHEMO,
    )
    TEXT = "Inclusion Criteria:\n- No chemotherapy for treatment of any other prior malignancy\n"

    def test_the_treatment_and_its_indication_are_one_negated_conjunction(self):
        [criterion] = parse_eligibility(self.TEXT).criteria
        assert isinstance(criterion.tree, Not)
        assert isinstance(criterion.tree.child, And)

    def test_chemotherapy_for_the_index_cancer_does_not_violate_it(self):
        # Whether Carla has another cancer the facts leave open, so the site is asked; bare "No prior
        # chemotherapy" still rules her out.
        assert first_outcome(self.TEXT, self.CARLA) == "unknown"
        assert first_outcome("Inclusion Criteria:\n- No prior chemotherapy\n", self.CARLA) == "violated"

    def test_treatments_listed_before_one_indication_share_it(self):
        # Class 76 of docs/trec_error_classes.md (NCT00001378's wording).
        text = "Inclusion Criteria:\n- No prior chemotherapy or hormonal therapy for invasive breast cancer\n"
        [criterion] = parse_eligibility(text).criteria
        assert isinstance(criterion.tree, Not)
        assert isinstance(criterion.tree.child, And)
        assert isinstance(criterion.tree.child.children[0], Or)
        assert first_outcome(text, self.CARLA) == "unknown"
        # Chemotherapy given for a lung cancer is no treatment for breast cancer.
        lung = (DiagnosisFact("diagnosis:1", "lung_cancer", "lung cancer"),)
        assert first_outcome(text, PatientFacts(diagnoses=lung, therapies=self.CHEMO)) == "satisfied"

    def test_chemotherapy_the_facts_cannot_place_is_unknown_not_violated(self):
        assert first_outcome(self.TEXT, self.HUGO) == "unknown"

    def test_the_indication_of_a_treatment_the_patient_never_had_is_not_asked_about(self):
        text = "Exclusion Criteria:\n- Radiotherapy for prior malignancy\n"
        assert first_outcome(text, self.CARLA) != "violated"


class TestAStageOnAnotherDiseasesScale:
    """Eighth trec round: a Hoehn and Yahr stage is Parkinson's disease's, a cancer stage a cancer's; neither
    answers the other. Pia has Parkinson's disease at Hoehn and Yahr stage II; Carmen has stage IB cervical
    cancer."""

    PIA = PatientFacts(
        diagnoses=(DiagnosisFact("diagnosis:1", "parkinsons", "Parkinson's disease", stage="II"),)
    )
    CARMEN = PatientFacts(
        diagnoses=(DiagnosisFact("diagnosis:1", "cervical_cancer", "cervical cancer", stage="IB"),)
    )

    def test_the_parkinsons_stage_answers_a_hoehn_and_yahr_range(self):
        assert first_outcome("Inclusion Criteria:\n- Hoehn & Yahr stage II-IV\n", self.PIA) == "satisfied"
        assert first_outcome("Inclusion Criteria:\n- Hohen and Yahr stage III-IV\n", self.PIA) == "violated"

    def test_stages_in_the_plural_are_read(self):
        text = "Inclusion Criteria:\n- Relatively advanced disease (Hoehn and Yahr Stages III to IV)\n"
        assert first_outcome(text, self.PIA) == "violated"

    def test_arabic_numerals_are_the_same_stage(self):
        assert first_outcome("Inclusion Criteria:\n- Hoehn & Yahr Stage 1 or 2\n", self.PIA) == "satisfied"
        cervical = "Inclusion Criteria:\n- Stage 1B or 2A cervical cancer\n"
        assert first_outcome(cervical, self.CARMEN) != "violated"

    def test_a_cancer_stage_does_not_answer_hoehn_and_yahr_nor_the_other_way_round(self):
        assert first_outcome("Inclusion Criteria:\n- Hoehn-Yahr stage IV\n", self.CARMEN) == "unknown"
        assert first_outcome("Inclusion Criteria:\n- Stage IV cancer\n", self.PIA) == "unknown"


class TestTheStagesACriterionListsAreAlternatives:
    """Eighth trec round (NCT00006110's wording): a patient has one stage, so "stage IIB, IIIA, IIIB, IIIC,
    or previously untreated stage IV" takes any of them. Maya has stage IV breast cancer, Lin stage IIIA."""

    @staticmethod
    def outcome(stage: str) -> str:
        text = (
            "Inclusion Criteria:\n- Histologically confirmed stage IIB, IIIA, IIIB, IIIC, or previously"
            " untreated stage IV primary carcinoma of the breast\n"
        )
        patient = PatientFacts(
            diagnoses=(DiagnosisFact("diagnosis:1", "breast_cancer", "breast cancer", stage=stage),)
        )
        return first_outcome(text, patient)

    @pytest.mark.parametrize("stage", ["IV", "IIIA", "IIB"])
    def test_any_listed_stage_meets_it(self, stage):
        assert self.outcome(stage) == "satisfied"

    def test_a_stage_not_listed_fails_it(self):
        assert self.outcome("I") == "violated"

    def test_a_list_of_numerals_that_skips_one_is_not_a_range(self):
        [atom] = [
            a for a in parse_eligibility("Stage I, III breast cancer").atoms() if a.kind == "condition"
        ][:1]
        assert atom.concept is not None
        assert atom.concept.code == "I"


class TestPreviouslyUntreatedCancer:
    """Eighth trec round (class 84): "Previously untreated disease" under a CLL diagnosis asks for no prior
    anticancer therapy. Chen had fludarabine; Dana's history is confirmed complete and has none."""

    CLL = (DiagnosisFact("diagnosis:1", "cll", "chronic lymphocytic leukaemia"),)
    CHEN = PatientFacts(
        diagnoses=CLL,
        therapies=(TherapyFact("therapy:1", "fludarabine", ("antimetabolite", "chemotherapy")),),
    )
    DANA = PatientFacts(diagnoses=CLL, history_confirmed_on=datetime.date(2026, 1, 1))

    @pytest.mark.parametrize(
        "text",
        [
            "Inclusion Criteria:\n- B-cell CLL meeting the following:\n  - Previously untreated disease\n",
            "Inclusion Criteria:\n- Untreated CLL\n",
        ],
    )
    def test_a_treated_patient_fails_and_an_untreated_one_meets_it(self, text):
        assert first_outcome(text, self.CHEN) == "violated"
        assert first_outcome(text, self.DANA) == "satisfied"

    @pytest.mark.parametrize(
        "text",
        [
            "Exclusion Criteria:\n- Untreated brain metastases\n",
            "Inclusion Criteria:\n- No untreated immediate life threatening tumor complications\n",
            "Exclusion Criteria:\n- Untreated hypertension\n",
        ],
    )
    def test_untreated_metastases_complications_or_other_diseases_say_nothing_of_prior_therapy(self, text):
        assert not [a for a in parse_eligibility(text).atoms() if a.rule_id == "therapy.untreated"]


class TestAnEventOfADiseaseIsNotItsDiagnosis:
    """Eighth trec round: a window around a disease's event ("acute asthma exacerbation requiring
    hospitalization within 12 months") is about the event, not when the disease was diagnosed. Sam has
    asthma diagnosed on a known date."""

    SAM = PatientFacts(
        diagnoses=(DiagnosisFact("diagnosis:1", "asthma", "asthma", diagnosed_on=datetime.date(2025, 9, 1)),)
    )

    @pytest.mark.parametrize(
        "text",
        [
            "Inclusion Criteria:\n- No acute asthma exacerbation within 12 months of Day 0.\n",
            "Exclusion Criteria:\n- A significant exacerbation of asthma within the 4 weeks prior\n",
        ],
    )
    def test_the_event_is_asked_about_not_answered_by_the_diagnosis_date(self, text):
        assert first_outcome(text, self.SAM) == "unknown"

    def test_a_diagnosis_window_is_still_the_diagnosis(self):
        [atom] = parse_eligibility(
            "Inclusion Criteria:\n- Asthma diagnosed within the last 5 years\n"
        ).atoms()
        assert atom.window is not None


class TestCheckpointInhibitorsNamedByTarget:
    # Ines: NSCLC with PD-L1 expressed, never given immunotherapy as far as her profile says.
    INES = PatientFacts(biomarkers=(BiomarkerFact("biomarker:1", "CD274", "expression", "positive"),))

    @pytest.mark.parametrize("line", ["Prior PD1/PDL1 antibody", "Prior anti-PD-1/PD-L1 therapy"])
    def test_her_pd_l1_result_does_not_answer_an_exclusion_of_prior_immunotherapy(self, line):
        assert first_outcome(f"Exclusion Criteria:\n* {line}\n", self.INES) != "violated"


class TestToxicityOfAPriorTreatmentIsAskedNotAssumed:
    """Oncology trials of 2026 exclude unresolved toxicity of prior treatment, not the treatment itself. Elena
    (EGFR-mutant lung adenocarcinoma) takes osimertinib and had surgery on a known date; Nora has the same
    cancer and a confirmed history with no treatment or surgery."""

    LUAD = (DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma"),)
    ELENA = PatientFacts(
        diagnoses=LUAD,
        therapies=(
            TherapyFact(
                "therapy:1",
                "osimertinib",
                ("egfr_tki", "tki", "targeted_therapy", "systemic_anticancer"),
                line=1,
                started_on=datetime.date(2026, 4, 1),
            ),
        ),
        procedures=(ProcedureFact("procedure:1", "surgery", "surgery", datetime.date(2026, 9, 1)),),
    )
    NORA = PatientFacts(diagnoses=LUAD, history_confirmed_on=datetime.date(2026, 11, 1))

    @pytest.mark.parametrize(
        "line",
        [
            "Any unresolved toxicities from prior therapy, including commercial osimertinib, greater than"
            " Common Terminology Criteria for Adverse Events (CTCAE) grade 1 at the time of starting study"
            " treatment.",
            "Significant ongoing toxicity from prior anticancer treatment",
            "Adverse events from prior anti-cancer therapy that have not resolved to Grade ≤1 or better, with"
            " the exception of alopecia of any grade and Grade ≤2 peripheral neuropathy",
            "Patients who have not recovered from adverse events due to prior anti-cancer therapy (i.e., have"
            " residual toxicities > grade 1) with the exception of alopecia",
            "Participants who have not adequately recovered from major surgery or have ongoing surgical"
            " complications",
            "Has not recovered from recent major surgery or trauma",
        ],
    )
    def test_the_treated_patient_is_asked_and_the_untreated_one_is_not_excluded(self, line):
        text = f"Exclusion Criteria:\n* {line}\n"
        assert first_outcome(text, self.ELENA) == "unknown"
        assert first_outcome(text, self.NORA) == "satisfied"

    @pytest.mark.parametrize(
        "line",
        [
            "Patients who have not recovered from adverse events due to prior therapy",
            "Unresolved toxicity from previous treatment greater than grade 1",
        ],
    )
    def test_toxicity_of_prior_therapy_named_without_a_drug_is_asked_only_of_the_treated_patient(self, line):
        text = f"Exclusion Criteria:\n* {line}\n"
        assert first_outcome(text, self.ELENA) == "unknown"
        assert first_outcome(text, self.NORA) == "satisfied"

    def test_toxicities_listed_as_exceptions_below_the_requirement_do_not_fail_the_untreated_patient(self):
        # "except for" closing the line, no colon: the bullets are exceptions, not whom the line binds.
        text = (
            "Inclusion Criteria:\n* All adverse events related to prior therapies (chemotherapy;"
            " radiotherapy; surgery) must have resolved to Grade 1 or baseline except for\n\n"
            "    * Alopecia (Grade ≤2)\n"
            "    * Sensory neuropathy (Grade ≤2)\n    * Lymphopenia (Grade 2)\n"
        )
        assert first_outcome(text, self.ELENA) == "unknown"
        assert first_outcome(text, self.NORA) != "violated"

    def test_a_note_listing_chronic_toxicities_as_exceptions_does_not_settle_it_for_the_treated_patient(self):
        # Elena has confirmed her history: no neuropathy. The note narrows what is excluded; it is no second
        # condition she must also have to be excluded.
        text = (
            "Exclusion Criteria:\n* Has not recovered from adverse events due to prior anti-cancer therapy to"
            " =< grade 1 or baseline. Note: Stable chronic conditions (grade =< 2) that are not expected to"
            " resolve (such as neuropathy, myalgia, alopecia, prior therapy-related endocrinopathies) are"
            " exceptions and may enroll\n"
        )
        elena = replace(self.ELENA, history_confirmed_on=datetime.date(2026, 11, 1))
        assert first_outcome(text, elena) == "unknown"
        assert first_outcome(text, self.NORA) == "satisfied"

    def test_recovery_from_a_treatment_is_no_requirement_to_have_had_it(self):
        text = "Inclusion Criteria:\n* Recovered from toxicities of prior chemotherapy to grade 1 or less\n"
        assert first_outcome(text, self.NORA) == "satisfied"

    def test_the_treatment_itself_is_still_read(self):
        text = (
            "Exclusion Criteria:\n* Receipt of the last dose of anticancer therapy (chemotherapy, targeted"
            " therapy) ≤ 21 days prior to the first dose of study treatment.\n"
        )
        assert first_outcome(text, self.ELENA) == "violated"


class TestMeasurableDiseaseIsAScanFindingNotAHistoryItem:
    # Elena: lung adenocarcinoma, her medical history confirmed complete; no scan report on file.
    ELENA = PatientFacts(
        diagnoses=(DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma", stage="IVA"),),
        history_confirmed_on=datetime.date(2026, 11, 1),
    )

    @pytest.mark.parametrize(
        "line",
        [
            "Measurable disease per RECIST 1.1",
            "Have at least 1 measurable lesion assessable using standard techniques by RECIST v1.1",
            "At least 1 site of radiographically measurable disease by RECIST 1.1",
        ],
    )
    def test_a_complete_history_does_not_rule_out_measurable_disease(self, line):
        assert first_outcome(f"Inclusion Criteria:\n* {line}\n", self.ELENA) == "unknown"


class TestAGeneFamilyWrittenWithASlashNamesEitherGene:
    # Olga: epithelial ovarian cancer with a germline BRCA2 mutation; BRCA1 not tested.
    OLGA = PatientFacts(
        diagnoses=(DiagnosisFact("diagnosis:1", "ovarian_cancer", "epithelial ovarian cancer"),),
        biomarkers=(BiomarkerFact("biomarker:1", "BRCA2", "mutation", "positive"),),
    )

    def test_a_brca2_carrier_meets_a_brca1_2_requirement(self):
        # NCT06580314's cohort line, without its "Other" (which asks the site which cancers count).
        line = "Epithelial ovarian cancer with BRCA1/2 deleterious alteration (germline or somatic)"
        assert first_outcome(f"Inclusion Criteria:\n* {line}\n", self.OLGA) == "satisfied"

    def test_a_brca1_2_exclusion_still_excludes_her(self):
        line = "Known BRCA1/2 or PALB2 mutations."
        assert first_outcome(f"Exclusion Criteria:\n* {line}\n", self.OLGA) == "violated"


class TestGeneFamilies:
    """A criterion naming a family of genes ("NTRK fusion", "BRCA mutation") asks for any of its members."""

    NTRK_FUSION = "Inclusion Criteria:\n* Solid tumour with NTRK gene fusion\n"
    BRCA = "Exclusion Criteria:\n* Women who are known to be positive for the BRCA mutation\n"

    @staticmethod
    def results(*found: tuple[str, str, str]) -> PatientFacts:
        return PatientFacts(
            biomarkers=tuple(
                BiomarkerFact(f"biomarker:{n}", gene, kind, status)
                for n, (gene, kind, status) in enumerate(found)
            )
        )

    def biomarker_truth(self, text: str, facts: PatientFacts) -> Truth:
        (criterion,) = parse_eligibility(text).criteria
        (atom,) = (a for a in iter_atoms(criterion.tree) if a.kind == "biomarker")
        return truth(atom, facts)

    def test_theos_ntrk1_fusion_meets_an_ntrk_fusion(self):
        assert (
            self.biomarker_truth(self.NTRK_FUSION, self.results(("NTRK1", "fusion", "positive"))) is Truth.MET
        )

    def test_a_negative_pan_trk_screen_fails_it_and_no_result_leaves_the_members_to_test(self):
        screened = self.results(("NTRK", "fusion", "negative"))
        assert self.biomarker_truth(self.NTRK_FUSION, screened) is Truth.NOT_MET
        (criterion,) = parse_eligibility(self.NTRK_FUSION).criteria
        (atom,) = (a for a in iter_atoms(criterion.tree) if a.kind == "biomarker")
        result = evaluate_tree(atom, PatientFacts(), today=TODAY)[1][0]
        assert result.settle == Settle(
            "test", "NTRK fusion (NTRK1, NTRK2, NTRK3) not on file", biomarker="NTRK fusion"
        )

    def test_beas_brca2_mutation_answers_a_bare_brca(self):
        assert self.biomarker_truth(self.BRCA, self.results(("BRCA2", "mutation", "positive"))) is Truth.MET

    def test_a_negative_brca1_alone_leaves_brca2_open_and_both_negative_fail_it(self):
        one = self.results(("BRCA1", "mutation", "negative"))
        both = self.results(("BRCA1", "mutation", "negative"), ("BRCA2", "mutation", "negative"))
        assert self.biomarker_truth(self.BRCA, one) is Truth.UNKNOWN
        assert self.biomarker_truth(self.BRCA, both) is Truth.NOT_MET


@pytest.mark.parametrize(
    "text",
    [
        "Inclusion Criteria:\n* No family history of long QT syndrome\n",
        # NCT04890613
        "Exclusion Criteria:\n* A history of additional risk factors for TdP (e.g., heart failure,"
        " hypokalemia, family history of long QT syndrome).\n",
    ],
)
def test_a_relatives_long_qt_syndrome_is_not_answered_by_the_patients_own(text: str) -> None:
    own = PatientFacts(diagnoses=(DiagnosisFact("d1", "qt_prolongation", "long QT syndrome"),))
    with_it, without_it = (first_outcome(text, patient) for patient in (own, PatientFacts()))
    assert with_it == without_it
    assert with_it in ("unknown", "not_checkable")


@pytest.mark.parametrize(
    "line",
    [
        "Patients must provide a tumor sample for central EGFR mutation testing",
        # NCT04585958
        "Patients must have archival formalin-fixed paraffin-embedded (FFPE) tissue available for central"
        " confirmation of HER2 testing",
    ],
)
def test_a_sample_asked_for_an_assay_does_not_fail_a_patient_without_the_alteration(line: str) -> None:
    negative = PatientFacts(
        biomarkers=(
            BiomarkerFact("biomarker:1", "EGFR", "mutation", "negative"),
            BiomarkerFact("biomarker:2", "ERBB2", "overexpression", "negative"),
        )
    )
    assert first_outcome(f"Inclusion Criteria:\n* {line}\n", negative) == "not_checkable"


BREAST_AFTER_ADJUVANT_PACLITAXEL = PatientFacts(
    diagnoses=(DiagnosisFact("d1", "breast_cancer", "breast cancer"),),
    therapies=(TherapyFact("t1", "paclitaxel", ("chemotherapy", "systemic_anticancer")),),
)


@pytest.mark.parametrize(
    "text",
    [
        "Inclusion Criteria:\n* No prior systemic therapy for metastatic disease\n",
        "Exclusion Criteria:\n* Prior anthracycline for breast cancer\n",
        "Exclusion Criteria:\n* Prior therapy with an anthracycline for breast cancer\n",
    ],
)
def test_a_disease_or_setting_a_treatment_was_given_for_does_not_fail_her_by_itself(text: str) -> None:
    assert first_outcome(text, BREAST_AFTER_ADJUVANT_PACLITAXEL) in ("unknown", "not_checkable")


def test_a_personal_or_family_history_excludes_her_for_her_own_long_qt_syndrome_only() -> None:
    text = "Exclusion Criteria:\n* Personal or family history of long QT syndrome\n"
    own = PatientFacts(diagnoses=(DiagnosisFact("d1", "qt_prolongation", "long QT syndrome"),))
    other = PatientFacts(diagnoses=(DiagnosisFact("d1", "luad", "lung adenocarcinoma"),))
    assert first_outcome(text, own) == "violated"
    assert first_outcome(text, other) != "violated"
