"""Sentences of the 2026 oncology registry (data/oncology_trials_2026) the parser misread for a man with
metastatic colorectal cancer, each matched against the patient it wrongly excluded (no database).

Carlos, 61, ECOG 1, stage IV colon adenocarcinoma with liver metastases (KRAS G12C, NRAS wild type, BRAF V600E
negative, MSS / pMMR, HER2 not amplified), had FOLFOX with bevacizumab (2024-12 to 2025-08) and FOLFIRI with
bevacizumab (2025-09 to 2026-09-30): his last anticancer therapy ended 68 days before today. Rosa, 56, has
rectal adenocarcinoma and little else on file."""

import datetime

from nlp import iter_atoms, parse_eligibility
from nlp.terminology import drug_classes
from recruitment.matching import BiomarkerFact, DiagnosisFact, PatientFacts, TherapyFact, evaluate
from tests.recruitment.fact_helpers import therapy

TODAY = datetime.date(2026, 12, 7)


FIRST_LINE = (datetime.date(2024, 12, 1), datetime.date(2025, 8, 31))
SECOND_LINE = (datetime.date(2025, 9, 1), datetime.date(2026, 9, 30))
CARLOS = PatientFacts(
    birth_date=datetime.date(1965, 8, 20),
    sex="male",
    ecog=1,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "colon_cancer",
            "colon adenocarcinoma",
            stage="IV",
            histology="adenocarcinoma",
            diagnosed_on=datetime.date(2024, 11, 10),
        ),
    ),
    biomarkers=(
        BiomarkerFact("biomarker:1", "KRAS", "mutation", protein_change="G12C"),
        BiomarkerFact("biomarker:2", "NRAS", "mutation", status="negative"),
        BiomarkerFact("biomarker:3", "BRAF", "mutation", status="negative", protein_change="V600E"),
        BiomarkerFact("biomarker:4", "MSI", "signature", status="negative"),
        BiomarkerFact("biomarker:5", "MMR", "signature", status="negative"),
        BiomarkerFact("biomarker:6", "ERBB2", "amplification", status="negative"),
    ),
    therapies=(
        therapy("therapy:1", "fluorouracil", 1, *FIRST_LINE),
        therapy("therapy:2", "oxaliplatin", 1, *FIRST_LINE),
        therapy("therapy:3", "leucovorin", 1, *FIRST_LINE),
        therapy("therapy:4", "bevacizumab", 1, *FIRST_LINE),
        therapy("therapy:5", "fluorouracil", 2, *SECOND_LINE),
        therapy("therapy:6", "irinotecan", 2, *SECOND_LINE),
        therapy("therapy:7", "leucovorin", 2, *SECOND_LINE),
        therapy("therapy:8", "bevacizumab", 2, *SECOND_LINE),
    ),
)
ROSA = PatientFacts(
    birth_date=datetime.date(1970, 1, 15),
    sex="female",
    diagnoses=(DiagnosisFact("diagnosis:1", "rectal_cancer", "rectal adenocarcinoma"),),
)
# Carlos's brother in disease: stage II, MSI-high, never treated.
DIEGO = PatientFacts(
    birth_date=datetime.date(1962, 4, 1),
    sex="male",
    ecog=0,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact("diagnosis:1", "colon_cancer", "colon adenocarcinoma", stage="II"),
        DiagnosisFact("diagnosis:2", "encephalopathy", "hepatic encephalopathy"),
    ),
    biomarkers=(BiomarkerFact("biomarker:1", "MSI", "signature", status="positive"),),
)


def outcome(text: str, patient: PatientFacts) -> str:
    """The outcome of the only criterion parsed from `text` for `patient`."""
    [verdict] = evaluate(parse_eligibility(text).criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


def exclusion(text: str, patient: PatientFacts) -> str:
    return outcome(f"Exclusion Criteria:\n* {text}\n", patient)


def inclusion(text: str, patient: PatientFacts) -> str:
    return outcome(f"Inclusion Criteria:\n* {text}\n", patient)


class TestAQualifierRightBeforeADiseaseQualifiesIt:
    """A stage or a biomarker status written right before a disease names a form of it: an exclusion of
    'Stage IV colorectal cancer' excludes that cancer at that stage, not every colorectal cancer and every
    stage IV cancer. Read as a list of alternatives, it excluded Rosa, whose stage is not on file, and any
    colorectal cancer at all."""

    def test_a_stage_before_a_cancer_excludes_only_that_stage_of_it(self):
        # NCT04624555
        text = "Stage IV colorectal cancer"
        assert [exclusion(text, p) for p in (CARLOS, ROSA, DIEGO)] == ["violated", "unknown", "satisfied"]

    def test_a_microsatellite_status_before_a_cancer_excludes_only_that_form_of_it(self):
        # NCT05856981 ("MSS colorectal cancer (CRC): liver metastasis present"; the profile has no site of
        # metastasis) and NCT05863195 ("Patient must not have microsatellite instability-high (MSI-H)
        # colorectal cancer." among the exclusions).
        assert [exclusion("MSS colorectal cancer", p) for p in (CARLOS, ROSA, DIEGO)] == [
            "violated",
            "unknown",
            "satisfied",
        ]
        text = "Patient must not have microsatellite instability-high (MSI-H) colorectal cancer."
        assert [exclusion(text, p) for p in (CARLOS, ROSA, DIEGO)] == ["satisfied", "unknown", "violated"]

    def test_a_stage_of_another_disease_is_not_the_cancer_stage_alone(self):
        # NCT05661461: Carlos's stage IV cancer is no stage 3 or 4 encephalopathy.
        assert exclusion("Have active stage 3 or 4 encephalopathy.", CARLOS) == "satisfied"

    def test_a_comma_still_lists_alternatives(self):
        [criterion] = parse_eligibility("Exclusion Criteria:\n* Stage IV, colorectal cancer\n").criteria
        assert type(criterion.tree).__name__ == "Or"
        assert len(list(iter_atoms(criterion.tree))) == 2

    def test_a_qualified_disease_stays_one_item_of_its_list(self):
        # NCT05544929: "Locally advanced unresectable or metastatic anal cancer (squamous), thymic carcinoma,
        # MSI-H CRC, esophagogastric cancer, mesothelioma, and HNSCC": an MSI-high colorectal cancer is one
        # alternative; Carlos's MSS one is not, and a mesothelioma still is (the dictionary has no anal or
        # thymic cancer: their generic 'cancer' would let any cancer in).
        text = "esophagogastric cancer, MSI-H CRC, mesothelioma, or HNSCC"
        mesothelioma = DiagnosisFact("diagnosis:1", "mesothelioma", "mesothelioma")
        other = PatientFacts(sex="male", diagnoses=(mesothelioma,))
        assert [inclusion(text, p) for p in (CARLOS, DIEGO, other)] == ["violated", "satisfied", "satisfied"]
        # Two qualifiers before one disease both qualify it.
        text = "MSI-H or dMMR colorectal cancer"
        assert [inclusion(text, p) for p in (CARLOS, DIEGO, ROSA)] == ["violated", "satisfied", "unknown"]


class TestADrugAgainstAMutationIsATreatment:
    """A gene and its mutation named as what a drug inhibits ('KRAS p.G12C inhibitor') is the drug, not the
    mutation: read as the mutation, it excluded Carlos, whose tumour has KRAS G12C and who never had a KRAS
    inhibitor, from trials built for him."""

    TEXTS = (
        "Previous treatment with a KRAS p.G12C inhibitor",  # NCT06252649
        "Prior KRASG12C inhibition therapy",  # NCT06412198
    )

    def test_carlos_who_never_had_a_kras_inhibitor_is_not_excluded(self):
        assert [exclusion(text, CARLOS) for text in self.TEXTS] == ["satisfied", "satisfied"]

    def test_a_patient_who_had_sotorasib_is_excluded(self):
        treated = PatientFacts(
            sex="male",
            history_confirmed_on=CARLOS.history_confirmed_on,
            diagnoses=CARLOS.diagnoses,
            biomarkers=CARLOS.biomarkers,
            therapies=(therapy("therapy:1", "sotorasib", 3, datetime.date(2026, 1, 1), TODAY),),
        )
        assert [exclusion(text, treated) for text in self.TEXTS] == ["violated", "violated"]

    def test_the_drug_is_the_kras_g12c_inhibitor_class(self):
        for text in self.TEXTS:
            [criterion] = parse_eligibility(f"Exclusion Criteria:\n* {text}\n").criteria
            [atom] = iter_atoms(criterion.tree)
            assert (atom.kind, atom.concept and atom.concept.code) == ("therapy", "kras_g12c_inhibitor")


class TestTheNameOfRecistIsNoDiagnosis:
    """'Response Evaluation Criteria in Solid Tumors' names the response criteria, not a solid tumour the
    patient must have: read as a diagnosis, it took the window of the imaging in the same sentence, and
    Carlos, diagnosed two years ago, had no 'solid tumour diagnosed in the last 28 days' (98 mentions in the
    registry)."""

    def test_carlos_is_not_failed_by_the_window_of_the_imaging(self):
        # NCT05638295
        text = (
            "Patient must have at least one measurable lesion as defined by Response Evaluation Criteria in"
            " Solid Tumors (RECIST) documented by imaging obtained within 28 days prior to registration"
        )
        assert inclusion(text, CARLOS) == "unknown"

    def test_a_patient_with_a_lymphoma_is_not_asked_for_a_solid_tumour(self):
        text = "Measurable disease per Response Evaluation Criteria in Solid Tumors (RECIST) v1.1"
        [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria
        assert [atom.concept and atom.concept.code for atom in iter_atoms(criterion.tree)] == [
            "measurable_disease"
        ]


class TestATreatmentNamedAsWhatThePatientRecoversFromIsNoHistory:
    """A treatment named as what the patient has washed out of, recovered from or must not take is how the
    patient bears it, which the site judges, not whether the patient had it: read as history, every
    pretreated patient failed these, and Carlos's FOLFIRI, which ended 68 days ago, excluded him."""

    EXCLUSIONS = (
        "Inadequate washout from prior anticancer therapy",  # NCT04262466, NCT06402201
        # NCT06710847
        "Has not recovered (i.e., to Grade ≤1 or to baseline) from prior anticancer therapy-induced AEs",
        # NCT05786924
        "Any contra-indication, to use of any of the combination chemotherapy or anti-EGFR therapy partners"
        " administered as part of this trial.",
    )

    def test_carlos_is_not_excluded(self):
        # Having had anticancer therapy, whether he recovered from it is asked.
        outcomes = [exclusion(text, CARLOS) for text in self.EXCLUSIONS]
        assert outcomes == ["not_checkable", "unknown", "not_checkable"]

    def test_carlos_fails_no_inclusion_for_recovering_from_what_he_never_had(self):
        # NCT07148050: he had chemotherapy, so whether he recovered is asked, and no investigational agent,
        # from which he has nothing to recover.
        text = (
            "Recovered from acute toxic effects of all prior chemotherapy and investigational agents before"
            " entering this study"
        )
        assert inclusion(text, CARLOS) == "unknown"

    def test_a_treatment_had_still_excludes(self):
        assert exclusion("Prior anticancer therapy within 4 weeks", CARLOS) == "satisfied"
        assert exclusion("Prior treatment with oxaliplatin", CARLOS) == "violated"


class TestARequirementOnThePatientsWhoHadATreatmentBindsOnlyThem:
    """'Patients who have previously received X ... must' and 'For patients who underwent X, ... must' bind
    the patients who had X, as 'Patients with X must' does: read as a requirement, they asked Carlos, who
    never had a checkpoint inhibitor or radiotherapy, to have had one."""

    TEXTS = (
        # NCT05267626
        "Patients who have previously received an immune checkpoint inhibitor (e.g., anti-PD-L1, anti-PD-1,"
        " anti-CTLA-4) prior to enrollment must have checkpoint inhibitor immune-related toxicity resolved to"
        " either Grade ≤ 1 or baseline prior to study enrollment.",
        # NCT06657222
        "For patients who underwent radiotherapy (≥ 30% of the bone marrow or wide field) to sites outside"
        " the brain, the final dose of radiation must have been administered ≥ 28 days prior to C1D1.",
    )

    def test_carlos_who_never_had_them_meets_them(self):
        assert [inclusion(text, CARLOS) for text in self.TEXTS] == ["satisfied", "satisfied"]

    def test_a_patient_who_had_them_is_asked(self):
        treated = PatientFacts(
            sex="male",
            history_confirmed_on=CARLOS.history_confirmed_on,
            diagnoses=CARLOS.diagnoses,
            therapies=(therapy("therapy:1", "pembrolizumab", 1, datetime.date(2025, 1, 1), TODAY),),
        )
        assert inclusion(self.TEXTS[0], treated) != "satisfied"


class TestATreatmentThePatientIsToNeedOrIsGivenNowIsNoPastTreatment:
    """'expected to require another form of anticancer therapy while on study' is a plan the site knows, and
    'Actively receiving systemic treatment' a treatment still given: Carlos, whose therapy ended 68 days
    ago, met neither, but both excluded him as if any past therapy counted."""

    def test_carlos_is_not_excluded_by_a_therapy_he_is_expected_to_need(self):
        # NCT07094204, NCT06364696
        text = (
            "Participant is expected to require another form of anticancer therapy while on study treatment."
        )
        assert exclusion(text, CARLOS) == "not_checkable"

    def test_carlos_is_not_excluded_by_a_therapy_he_is_no_longer_receiving(self):
        # NCT05384626, NCT05786924
        text = (
            "Actively receiving systemic treatment or direct medical intervention on another therapeutic"
            " clinical study."
        )
        assert exclusion(text, CARLOS) == "satisfied"
        on_folfiri = PatientFacts(
            sex="male",
            history_confirmed_on=CARLOS.history_confirmed_on,
            diagnoses=CARLOS.diagnoses,
            therapies=(TherapyFact("therapy:1", "irinotecan", tuple(drug_classes("irinotecan")), line=2),),
        )
        assert exclusion(text, on_folfiri) == "violated"


def test_a_population_eligible_to_enroll_if_it_meets_a_condition_is_let_in_not_required():
    # NCT03093116: Carlos has no CNS metastases, and the sentence does not ask for them.
    text = (
        "Patients with asymptomatic CNS metastases (treated or untreated) and/or asymptomatic leptomeningeal"
        " carcinomatosis are eligible to enroll if they satisfy the protocol specified criteria."
    )
    assert inclusion(text, CARLOS) == "satisfied"


def test_what_an_inclusion_excepts_from_a_requirement_it_cannot_read_is_not_required():
    # NCT06090266: the main clause (resolution of adverse events) names nothing the parser reads; the
    # peripheral neuropathy it excepts was read as the requirement, which Carlos, without it, failed.
    text = (
        "Resolution of prior clinically significant therapy-related AEs (excluding alopecia and ≤ Grade 2"
        " peripheral neuropathy) to ≤ Grade 1 per NCI-CTCAE version 5.0, and no treatment for these AEs for"
        " at least 2 weeks prior to Cycle 1 Day 1"
    )
    assert inclusion(text, CARLOS) != "violated"
    [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria
    assert type(criterion.tree).__name__ == "Except"


class TestATransfusionAnInclusionNamesIsNoRequirement:
    """An inclusion names a transfusion as a condition on a blood count (allowed, or to be some days before
    the test), never as a treatment the patient must have had: Carlos, never transfused, failed them all."""

    TEXTS = (
        # NCT06265285
        "Hemoglobin of ≥ 9 g/dL (patients may be transfused to this level, if necessary, but transfusion must"
        " occur > 1 week prior to registration)",
        # NCT05382559, NCT07094204
        "Participant has adequate organ function as indicated by protocol laboratory value parameters (If a"
        " participant has received a recent blood transfusion, the laboratory tests must be obtained >= 14"
        " days after any blood transfusion).",
        # NCT05576896
        "Platelets (PLT) ≥ 100,000/mcL Transfusions will be allowed to achieve this, but no more than 2 units"
        " of platelet transfusion in the prior 2 weeks",
    )

    def test_carlos_who_was_never_transfused_fails_none(self):
        outcomes = [inclusion(text, CARLOS) for text in self.TEXTS]
        assert outcomes == ["unknown", "not_checkable", "not_checkable"]

    def test_a_transfusion_an_inclusion_forbids_is_still_denied(self):
        text = "Hemoglobin ≥ 9 g/dL without red blood cell transfusion within 2 weeks"
        [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria
        [transfusion] = [a for a in iter_atoms(criterion.tree) if a.kind == "procedure"]
        assert (transfusion.assertion, transfusion.checkable) == ("negated", True)


def test_a_washout_written_with_a_less_than_sign_keeps_its_window():
    # NCT05961709: "Any of the following prior therapies, if applicable: ... * Chemotherapy ≤2 weeks prior to
    # study treatment": the sign lost the window, so any chemotherapy ever given excluded Carlos.
    for sign in ("≤", "<", "<=", "\\<"):
        text = f"Chemotherapy {sign}2 weeks prior to study treatment"
        [criterion] = parse_eligibility(f"Exclusion Criteria:\n* {text}\n").criteria
        [atom] = iter_atoms(criterion.tree)
        assert atom.window is not None, sign
        assert (atom.window.relation, atom.window.amount) == ("within", 2), sign
        assert exclusion(text, CARLOS) == "satisfied"
    assert exclusion("Chemotherapy ≤ 12 weeks prior to study treatment", CARLOS) == "violated"
