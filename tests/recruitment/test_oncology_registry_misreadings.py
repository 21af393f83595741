"""Sentences of the 2026 oncology registry (data/oncology_trials_2026) the parser misread, each matched
against the patient it wrongly excluded or let in (no database)."""

import datetime

from nlp import iter_atoms, parse_eligibility
from nlp.model import Except, Not, Or
from nlp.parser import QUALIFIER_RULE
from recruitment.matching import BiomarkerFact, DiagnosisFact, PatientFacts, ProcedureFact, evaluate

TODAY = datetime.date(2026, 12, 7)


def outcome(text: str, patient: PatientFacts) -> str:
    """The outcome of the only criterion parsed from `text` for `patient`."""
    [verdict] = evaluate(parse_eligibility(text).criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


class TestAnAgeRangeExcludedFromBothEnds:
    """NCT06157671 excludes "Patient under the age of 18 and over the age 90". Mira is 45, Theo 16, Ada 93."""

    TEXT = "Exclusion Criteria:\n* Patient under the age of 18 and over the age 90\n"
    MIRA = PatientFacts(birth_date=datetime.date(1981, 3, 2))
    THEO = PatientFacts(birth_date=datetime.date(2010, 5, 1))
    ADA = PatientFacts(birth_date=datetime.date(1933, 1, 9))

    def test_a_patient_whose_age_is_inside_the_range_is_not_excluded(self):
        assert outcome(self.TEXT, self.MIRA) == "satisfied"

    def test_a_patient_under_the_lower_age_is_excluded(self):
        assert outcome(self.TEXT, self.THEO) == "violated"

    def test_a_patient_over_the_upper_age_is_excluded(self):
        assert outcome(self.TEXT, self.ADA) == "violated"


class TestAnExclusionOfOneHistologyOfNonSmallCellLungCancer:
    """NCT06074588 and NCT06119581 exclude squamous NSCLC. Lin has lung adenocarcinoma, Sam squamous cell lung
    carcinoma."""

    LIN = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma"),))
    SAM = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "lusc", "squamous cell lung carcinoma"),))
    TEXTS = (
        "Exclusion Criteria:\n* Has predominantly squamous cell histology NSCLC.\n",
        "Exclusion Criteria:\n* Have predominantly squamous cell histology for NSCLC\n",
    )

    def test_a_patient_whose_nsclc_is_an_adenocarcinoma_is_not_excluded(self):
        assert [outcome(text, self.LIN) for text in self.TEXTS] == ["satisfied", "satisfied"]

    def test_a_patient_whose_nsclc_is_squamous_is_excluded(self):
        assert [outcome(text, self.SAM) for text in self.TEXTS] == ["violated", "violated"]


class TestAnExclusionOfMixedSmallCellHistology:
    """NCT06311721 excludes "Small cell lung cancer (SCLC) or mixed SCLC/NSCLC histology or squamous cell
    carcinoma". Lin has lung adenocarcinoma; Kai has small cell lung cancer."""

    TEXT = (
        "Exclusion Criteria:\n"
        "1. Small cell lung cancer (SCLC) or mixed SCLC/NSCLC histology or squamous cell carcinoma.\n"
    )
    LIN = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma"),))
    KAI = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "sclc", "small cell lung cancer"),))

    def test_a_patient_whose_nsclc_has_no_small_cell_component_is_not_excluded(self):
        assert outcome(self.TEXT, self.LIN) == "satisfied"

    def test_a_patient_with_small_cell_lung_cancer_is_excluded(self):
        assert outcome(self.TEXT, self.KAI) == "violated"

    def test_nsclc_with_a_small_cell_component_excludes_no_plain_nsclc(self):
        # NCT05920356
        text = (
            "Exclusion Criteria:\n* Mixed histology NSCLC with either small-cell or large-cell neuroendocrine"
            " cell component or predominant squamous cell histology\n"
        )
        assert outcome(text, self.LIN) != "violated"
        assert outcome(text, self.KAI) == "violated"

    def test_the_mixed_histology_is_read_as_small_cell_never_as_nsclc(self):
        for text in (
            self.TEXT,
            "Exclusion Criteria:\n* EGFR-mutant NSCLC that has transformed to SCLC, or mixed SCLC NSCLC"
            " histology.\n",
        ):
            [criterion] = parse_eligibility(text).criteria
            mixed = [a for a in iter_atoms(criterion.tree) if "mixed" in a.text]
            assert [a.concept.code for a in mixed if a.concept] == ["sclc"]


class TestAnotherUntreatedCancer:
    """NCT04107077 excludes "Patients with coexistence of another untreated malignant neoplasm other than
    basal cell carcinoma of the skin within the last five years". Nell has newly diagnosed lung
    adenocarcinoma, no treatment yet and no other cancer (her history is confirmed complete)."""

    TEXT = (
        "Exclusion Criteria:\n* Patients with coexistence of another untreated malignant neoplasm other than"
        " basal cell carcinoma of the skin within the last five years.\n"
    )
    NELL = PatientFacts(
        diagnoses=(DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma"),),
        history_confirmed_on=datetime.date(2026, 12, 1),
    )

    def test_a_patient_whose_only_cancer_is_untreated_is_not_excluded(self):
        assert outcome(self.TEXT, self.NELL) == "satisfied"

    def test_the_untreated_cancer_is_another_cancer_with_its_exception_kept(self):
        [criterion] = parse_eligibility(self.TEXT).criteria
        assert isinstance(criterion.tree, Except)
        atoms = iter_atoms(criterion.tree.main)
        assert not [a for a in atoms if a.kind == "therapy"]
        assert [a.concept.code for a in atoms if a.kind == "condition" and a.concept] == ["cancer"]
        assert [a.text for a in atoms if a.rule_id == QUALIFIER_RULE] == ["another untreated"]
        [exception] = iter_atoms(criterion.tree.exception)
        assert exception.concept is not None
        assert exception.concept.code == "basal_cell"


class TestARelativesMutationOrHistory:
    """NCT03544983 takes "A first- (sibling, adult offspring) or second-degree (aunt/uncle, niece/nephew if
    at-risk parent is deceased) biological relative of an individual with a recently identified BRCA1 or BRCA2
    mutation": the mutation is the relative's. Wren tested negative for both genes herself; Rosa carries a
    BRCA2 mutation herself."""

    TEXT = (
        "Inclusion Criteria:\n* A first- (sibling, adult offspring) or second-degree (aunt/uncle,"
        " niece/nephew if at-risk parent is deceased) biological relative of an individual with a recently"
        " identified BRCA1 or BRCA2 mutation\n"
    )
    WREN = PatientFacts(
        biomarkers=(
            BiomarkerFact("biomarker:1", "BRCA1", "mutation", "negative"),
            BiomarkerFact("biomarker:2", "BRCA2", "mutation", "negative"),
        )
    )
    ROSA = PatientFacts(biomarkers=(BiomarkerFact("biomarker:1", "BRCA2", "mutation", "positive"),))

    def test_a_patient_without_the_mutation_herself_is_not_ruled_out_by_her_relatives_criterion(self):
        assert outcome(self.TEXT, self.WREN) == "not_checkable"

    def test_a_patients_own_mutation_does_not_meet_her_relatives_criterion(self):
        assert outcome(self.TEXT, self.ROSA) == "not_checkable"

    def test_a_family_history_is_the_relatives_never_the_patients_own_history(self):
        # NCT07140016
        text = (
            "Exclusion Criteria:\n* Participant has a history of unexplained syncope, cardiac arrest,"
            " unexplained cardiac arrhythmias or torsades de pointes, structural heart disease or a family"
            " history of long QT syndrome.\n"
        )
        [long_qt] = [a for a in parse_eligibility(text).atoms() if "QT" in a.text]
        assert long_qt.assertion == "family"
        assert not long_qt.checkable
        assert long_qt.concept is not None


class TestAPermissionIsNoRequirement:
    """Sentences that let patients in, from the inclusions of NCT02332668, NCT02366819 and a brain metastases
    note. Lin has lung adenocarcinoma, no brain metastases, neuroblastoma or measurable disease on file
    (her history is confirmed complete)."""

    LIN = PatientFacts(
        diagnoses=(DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma"),),
        history_confirmed_on=datetime.date(2026, 12, 1),
    )

    def test_a_patient_without_brain_metastases_meets_a_note_that_lets_treated_ones_in(self):
        text = (
            "Inclusion Criteria:\n* Patients with treated brain metastases may be eligible if they are"
            " neurologically stable.\n"
        )
        assert outcome(text, self.LIN) == "satisfied"

    def test_the_if_condition_of_a_permission_binds_only_the_patients_it_names(self):
        text = (
            "Inclusion Criteria:\n* Patients with treated brain metastases may be eligible if they are"
            " neurologically stable.\n"
        )
        [criterion] = parse_eligibility(text).criteria
        assert isinstance(criterion.tree, Or)
        named, condition = criterion.tree.children
        assert isinstance(named, Not)
        assert [a.concept.code for a in iter_atoms(named) if a.concept] == ["brain_metastases"]
        assert any("neurologically stable" in a.text for a in iter_atoms(condition))

    def test_what_may_be_enrolled_or_will_be_allowed_is_not_required(self):
        for text in (
            "Inclusion Criteria:\n* Participants with neuroblastoma with only metaiodobenzylguanidine"
            " (MIBG)-positive evaluable disease may be enrolled\n",
            "Inclusion Criteria:\n* Measurable or non-measurable disease by Response Evaluation Criteria in"
            " Solid Tumor (RECIST) 1.1 will be allowed\n",
        ):
            assert outcome(text, self.LIN) == "not_checkable"

    def test_what_the_text_forbids_or_says_after_a_permission_keeps_its_reading(self):
        for text in (
            # NCT04005690
            "Inclusion Criteria:\n* No other prior invasive malignancy is allowed except for the following:"
            " adequately treated basal (or squamous cell) skin cancer, in situ breast or cervical cancer\n",
            # NCT06260033
            "Inclusion Criteria:\n* Patients with prior treated brain metastases that are stable are allowed."
            " Patients must not have intracranial disease progression. Patients with prior or current"
            " leptomeningeal disease are not allowed\n",
        ):
            [criterion] = parse_eligibility(text).criteria
            assert isinstance(criterion.tree, Except)
            assert [a for a in iter_atoms(criterion.tree.exception) if a.checkable]

    def test_a_limit_with_a_permitted_exception_for_some_patients_is_still_required(self):
        # NCT06451497
        text = (
            "Inclusion Criteria:\n* AST and ALT \u22643.0 times ULN, (if liver metastases are present, then"
            " \u22645.0 times ULN is allowed).\n"
        )
        assert [a.text for a in parse_eligibility(text).atoms() if a.kind == "lab" and a.checkable] == [
            "AST",
            "ALT",
        ]


class TestWhatAnInclusionLetsInOrDefinesRequiresNothing:
    """Mei has lung adenocarcinoma, no brain metastases and a confirmed history; she is 58 and was never
    sterilised. A permission far from what it permits, a permission "for enrollment", and a definition of who
    cannot become pregnant ruled her out."""

    MEI = PatientFacts(
        birth_date=datetime.date(1968, 5, 2),
        sex="female",
        history_confirmed_on=datetime.date(2026, 12, 1),
        diagnoses=(DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma"),),
    )

    def test_a_permission_at_the_end_of_a_long_sentence_lets_in_what_it_names(self):
        # NCT06593522
        text = (
            "Inclusion Criteria:\n* Participants who have had brain metastases and have been"
            " appropriately treated with radiation therapy or surgery ending at least 14 days before study"
            " day 1 are eligible.\n"
        )
        assert outcome(text, self.MEI) == "not_checkable"

    def test_eligible_for_enrollment_is_a_permission(self):
        # NCT06875310, first sentence
        text = "Inclusion Criteria:\n* Participants with brain metastases are eligible for enrollment.\n"
        assert outcome(text, self.MEI) == "not_checkable"

    def test_eligible_for_a_treatment_is_still_not_a_permission(self):
        [criterion] = parse_eligibility(
            "Inclusion Criteria:\n* Patients with NSCLC are eligible for platinum-based chemotherapy\n"
        ).criteria
        assert any(a.checkable for a in iter_atoms(criterion.tree) if a.kind == "condition")

    def test_a_definition_of_non_childbearing_potential_requires_no_sterilisation(self):
        # NCT04585958, NCT04704661, NCT07012031
        text = (
            "Inclusion Criteria:\n* Women of non-child-bearing potential defined as pre-menopausal"
            " females with a documented tubal ligation or hysterectomy; or postmenopausal defined as 12"
            " months of spontaneous amenorrhea\n"
        )
        # A definition is for the site to read: unknown, never a sterilisation she lacks.
        assert outcome(text, self.MEI) == "unknown"


def test_what_will_not_disqualify_a_patient_is_no_requirement():
    # NCT03987555: Lin has had neither radiotherapy nor surgery.
    lin = PatientFacts(
        history_confirmed_on=datetime.date(2026, 12, 1),
        diagnoses=(DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma"),),
    )
    text = (
        "Inclusion Criteria:\n* Patients with prior radiation treatment or surgery will not be"
        " disqualified from enrollment into the study, unless the aforementioned interventions resulted in"
        " peripheral neuropathy as a complication\n"
    )
    assert outcome(text, lin) != "violated"


def test_the_studys_own_treatment_as_a_time_anchor_is_no_treatment_history():
    # NCT04119024, NCT05566223: Lin has had no chemotherapy; the chemotherapy named is the trial's own.
    lin = PatientFacts(
        history_confirmed_on=datetime.date(2026, 12, 1),
        diagnoses=(DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma"),),
    )
    for text in (
        "Hemoglobin >= 9.5 g/dL (determined within 30-60 days prior to enrollment; re-evaluated within 14"
        " days of beginning conditioning chemotherapy)",
        "Measurable disease within 4 weeks of starting lymphodepleting chemotherapy",
    ):
        [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria
        assert [a.checkable for a in iter_atoms(criterion.tree) if a.kind == "therapy"] == [False]
        assert outcome(f"Inclusion Criteria:\n* {text}\n", lin) != "violated"


class TestRadiationPneumonitis:
    """46 lines of the registry exclude "radiation pneumonitis" (NCT04181060: "radiation pneumonitis which
    required steroid treatment"): the pneumonitis radiation caused, not radiotherapy or pneumonitis. Rae had
    thoracic radiotherapy and never pneumonitis; Pia had radiation pneumonitis."""

    TEXT = "Exclusion Criteria:\n* History of radiation pneumonitis\n"
    RAE = PatientFacts(
        history_confirmed_on=datetime.date(2026, 12, 1),
        diagnoses=(DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma"),),
        procedures=(ProcedureFact("procedure:1", "radiotherapy", "thoracic radiotherapy"),),
    )
    PIA = PatientFacts(
        history_confirmed_on=datetime.date(2026, 12, 1),
        diagnoses=(
            DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma"),
            DiagnosisFact("diagnosis:2", "pneumonitis", "radiation pneumonitis", resolved=True),
        ),
        procedures=(ProcedureFact("procedure:1", "radiotherapy", "thoracic radiotherapy"),),
    )

    def test_radiotherapy_without_pneumonitis_does_not_exclude(self):
        assert outcome(self.TEXT, self.RAE) == "satisfied"

    def test_a_history_of_radiation_pneumonitis_excludes(self):
        assert outcome(self.TEXT, self.PIA) == "violated"
