"""Sentences of the 2026 oncology registry (data/oncology_trials_2026) the parser misread for three patients
with upper gastrointestinal or liver cancer, each matched against the patient it wrongly excluded (no
database).

Gita, 59, ECOG 1, stage IV HER2-positive (IHC 3+) gastric adenocarcinoma diagnosed 2025-01, PD-L1 CPS 5,
CLDN18.2 negative; trastuzumab, capecitabine, oxaliplatin and pembrolizumab (2025-02 to 2026-06), then
trastuzumab deruxtecan since 2026-07. Hiro, 67, ECOG 1, hepatocellular carcinoma (BCLC C, stage IV) diagnosed
2024-11 with chronic hepatitis B on entecavir, Child-Pugh A (the profile holds no Child-Pugh score: its
bilirubin, albumin and AFP are on file); atezolizumab with bevacizumab (2025-01 to 2026-03), then lenvatinib
since 2026-04. Elif, 62, ECOG 0, stage III oesophageal squamous cell carcinoma diagnosed 2025-03: carboplatin
and paclitaxel with radiotherapy (2025-04 to 2025-05), oesophagectomy 2025-07-10, adjuvant nivolumab for a
year; nothing else."""

import datetime

from nlp import parse_eligibility
from recruitment.matching import BiomarkerFact, DiagnosisFact, PatientFacts, ProcedureFact, evaluate
from recruitment.matching.facts import LabFact
from tests.recruitment.fact_helpers import therapy

TODAY = datetime.date(2026, 12, 7)
LABS_ON = datetime.date(2026, 11, 20)

GITA = PatientFacts(
    birth_date=datetime.date(1967, 7, 19),
    sex="female",
    ecog=1,
    pregnancy_status="not_pregnant",
    breastfeeding=False,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "gastric_cancer",
            "gastric adenocarcinoma",
            diagnosed_on=datetime.date(2025, 1, 20),
            stage="IV",
            histology="adenocarcinoma",
        ),
    ),
    biomarkers=(
        BiomarkerFact("biomarker:1", "ERBB2", "expression", measure="IHC", value=3, assay="IHC"),
        BiomarkerFact("biomarker:2", "CD274", "expression", measure="CPS", value=5, unit="", assay="22C3"),
        BiomarkerFact("biomarker:3", "CLDN18", "expression", status="negative", assay="IHC"),
    ),
    therapies=(
        therapy("therapy:1", "trastuzumab", 1, datetime.date(2025, 2, 10), datetime.date(2026, 6, 30)),
        therapy("therapy:2", "capecitabine", 1, datetime.date(2025, 2, 10), datetime.date(2026, 6, 30)),
        therapy("therapy:3", "oxaliplatin", 1, datetime.date(2025, 2, 10), datetime.date(2026, 6, 30)),
        therapy("therapy:4", "pembrolizumab", 1, datetime.date(2025, 2, 10), datetime.date(2026, 6, 30)),
        therapy("therapy:5", "trastuzumab deruxtecan", 2, datetime.date(2026, 7, 15)),
    ),
)
HIRO = PatientFacts(
    birth_date=datetime.date(1959, 3, 3),
    sex="male",
    ecog=1,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "hcc",
            "hepatocellular carcinoma (BCLC C)",
            diagnosed_on=datetime.date(2024, 11, 5),
            stage="IV",
        ),
        DiagnosisFact("diagnosis:2", "hbv", "chronic hepatitis B"),
    ),
    labs=(
        LabFact("lab:1", "bilirubin", "1975-2", 1.1, "mg/dL", LABS_ON, 0.1, 1.2),
        LabFact("lab:2", "albumin", "1751-7", 3.6, "g/dL", LABS_ON, 3.5, 5.0),
        LabFact("lab:3", "AFP", "1834-1", 450.0, "ng/mL", LABS_ON, 0.0, 10.0),
    ),
    therapies=(
        therapy("therapy:1", "atezolizumab", 1, datetime.date(2025, 1, 10), datetime.date(2026, 3, 20)),
        therapy("therapy:2", "bevacizumab", 1, datetime.date(2025, 1, 10), datetime.date(2026, 3, 20)),
        therapy("therapy:3", "lenvatinib", 2, datetime.date(2026, 4, 1)),
        therapy("therapy:4", "entecavir", None, datetime.date(2024, 11, 20)),
    ),
)
ELIF = PatientFacts(
    birth_date=datetime.date(1964, 10, 2),
    sex="male",
    ecog=0,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "oesophageal_scc",
            "oesophageal squamous cell carcinoma",
            diagnosed_on=datetime.date(2025, 3, 1),
            stage="III",
            histology="squamous cell carcinoma",
        ),
    ),
    therapies=(
        therapy("therapy:1", "carboplatin", None, datetime.date(2025, 4, 7), datetime.date(2025, 5, 16)),
        therapy("therapy:2", "paclitaxel", None, datetime.date(2025, 4, 7), datetime.date(2025, 5, 16)),
        therapy("therapy:3", "nivolumab", None, datetime.date(2025, 8, 15), datetime.date(2026, 8, 15)),
    ),
    procedures=(
        ProcedureFact("procedure:1", "chemoradiotherapy", "chemoradiotherapy", datetime.date(2025, 5, 16)),
        ProcedureFact("procedure:2", "radiotherapy", "oesophageal radiotherapy", datetime.date(2025, 5, 16)),
        ProcedureFact("procedure:3", "surgery", "oesophagectomy", datetime.date(2025, 7, 10)),
    ),
)
PATIENTS = (GITA, HIRO, ELIF)


def outcome(text: str, patient: PatientFacts, section: str = "Exclusion") -> str:
    """The outcome of the only criterion parsed from `text`, as an item of `section`, for `patient`."""
    parsed = parse_eligibility(f"{section} Criteria:\n* {text}\n")
    [verdict] = evaluate(parsed.criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


def codes(text: str, section: str = "Exclusion") -> list[str]:
    parsed = parse_eligibility(f"{section} Criteria:\n* {text}\n")
    return [a.concept.code for a in parsed.atoms() if a.concept is not None]


class TestTheVocabularyOfTheseCancers:
    """An oesophageal squamous cell carcinoma was read as any squamous cell carcinoma (the oesophagus
    dropped), and entecavir and AFP were words without a concept."""

    def test_an_oesophageal_squamous_cell_carcinoma_is_its_own_cancer(self):
        # NCT04389632
        text = "Esophageal squamous cell carcinoma (ESCC)"
        assert [outcome(text, p, "Inclusion") for p in PATIENTS] == ["violated", "violated", "satisfied"]
        # A skin or lung squamous cell carcinoma is not one.
        skin = DiagnosisFact("diagnosis:1", "skin_scc", "cutaneous squamous cell carcinoma")
        assert outcome(text, PatientFacts(sex="male", diagnoses=(skin,)), "Inclusion") == "violated"

    def test_entecavir_is_an_antiviral(self):
        # NCT05418088
        text = (
            "Patients with a positive hepatitis B core antibody or surface antigen are at high risk for"
            " hepatitis B virus (HBV) reaction and will require entecavir/tenofivir prophylaxis or serial"
            " hepatitis B (Hep B) PCR monitoring"
        )
        assert "entecavir" in codes(text, "Inclusion")

    def test_an_afp_level_is_read_against_the_afp_on_file(self):
        # NCT06427941: "... Histologically confirmed GC with AFP > 20 ng/mL in blood ..."
        text = "Histologically confirmed GC with AFP \\> 20 ng/mL in blood"
        assert "1834-1" in codes(text, "Inclusion")
        assert outcome("AFP \\> 20 ng/mL", HIRO, "Inclusion") == "satisfied"


class TestATreatmentToComeOrRuledOutIsNoHistory:
    """A treatment the text speaks of as needed later, planned or contraindicated is a plan or a judgement,
    which the site weighs: read as a treatment had, it excluded Elif for his oesophagectomy and his
    radiotherapy, and asked Gita for radiotherapy she never needed."""

    def test_an_anticipated_need_for_surgery_is_no_surgery_had(self):
        # NCT06265285
        text = "Anticipation of the need for major surgery during the course of study treatment"
        assert outcome(text, ELIF) == "not_checkable"
        # NCT05039801: the surgery of the last 28 days is still asked; Elif's was long before.
        text = (
            "Major surgical intervention within 28 days before study drug administration, or an anticipated"
            " need for major surgery during the study."
        )
        assert outcome(text, ELIF) != "violated"

    def test_a_contraindicated_radiotherapy_is_no_radiotherapy_had(self):
        # NCT04221893
        text = "Radiation therapy is contraindicated as adjudicated by the radiation oncologist."
        assert outcome(text, ELIF) == "not_checkable"

    def test_a_planned_radiotherapy_is_no_radiotherapy_had(self):
        # NCT07132918
        text = (
            "Participants must have a definitive course of daily fractionated RT planned of at least 15"
            " treatment fractions, typically ranging from 1.8 to 4 Gy/fraction"
        )
        assert outcome(text, GITA, "Inclusion") == "not_checkable"

    def test_a_past_radiotherapy_is_still_one(self):
        assert outcome("Prior radiation therapy to the chest", GITA) == "satisfied"
        assert outcome("Radiation therapy within the last 2 years", ELIF) == "violated"


class TestATreatmentStoppedForToxicityIsAskedWithItsReason:
    """A treatment the text excludes only when it was stopped for its toxicity is that treatment and its
    reason, which no profile records: read as the treatment alone, it excluded Gita, whose pembrolizumab ended
    with her first line, from trials of a second checkpoint inhibitor."""

    def test_a_checkpoint_inhibitor_stopped_for_an_immune_adverse_event(self):
        # NCT04389632
        text = (
            "Part C and D: Prior therapy with a PD-1 inhibitor, anti-PD-(L)1, or anti PD-L2 agent or with"
            " an agent directed to another stimulatory or co-inhibitory T-cell receptor and was discontinued"
            " from that treatment due to a Grade 3 or higher immune-mediated adverse event (IMAE)."
        )
        assert [outcome(text, p) for p in PATIENTS] == ["unknown", "satisfied", "unknown"]

    def test_the_examples_of_such_a_sentence_do_not_end_it(self):
        # NCT04787042: the full stops of "e.g.," are no sentence's end.
        text = (
            "Prior therapy with an anti-PD-1, anti-PD-L1, or anti-PD-L2 agent or with an agent directed to"
            " another stimulatory or co-inhibitory T-cell receptor (e.g., CTLA-4, OX40, CD137), and was"
            " discontinued from that treatment due to a Grade 3 or higher irAE"
        )
        assert [outcome(text, p) for p in PATIENTS] == ["unknown", "unknown", "unknown"]

    def test_the_treatment_arms_of_such_a_sentence_are_no_history(self):
        # NCT05544929: the pembrolizumab is the arm's, the anti-PD-(L)1 therapy the one stopped.
        text = (
            "Patients who discontinued prior anti-PD-(L)1 therapy due to an anti-PD-(L)1-related toxicity"
            " (applicable to the KFA115 in combination with pembrolizumab treatment arms)."
        )
        assert outcome(text, GITA) != "violated"

    def test_a_treatment_discontinued_before_its_name(self):
        # NCT06087653
        text = "Discontinued a prior line of treatment due to intolerability to lenalidomide."
        had = PatientFacts(
            history_confirmed_on=TODAY,
            therapies=(therapy("therapy:1", "lenalidomide", 1, datetime.date(2025, 1, 1), TODAY),),
        )
        assert [outcome(text, p) for p in (GITA, had)] == ["satisfied", "unknown"]

    def test_a_washout_by_discontinuation_is_still_a_washout(self):
        # NCT04898634: no toxicity named; Gita's trastuzumab deruxtecan goes on.
        text = (
            "Concurrent use of any other anticancer treatment must be discontinued for at least 2 weeks"
            " before the first dose of study drug"
        )
        assert outcome(text, GITA) == "violated"


class TestAnAbbreviationTheTextDefinesIsWhatItDefines:
    """An abbreviation the text spells out as something else is that thing, here and further on: in
    "Peritoneal Carcinomatosis Index (PCI)" PCI is no percutaneous coronary intervention, and "epidural spinal
    cord compression (ESCC)" is no oesophageal squamous cell carcinoma."""

    def test_a_peritoneal_carcinomatosis_index_is_no_coronary_intervention(self):
        # NCT05802056
        text = (
            "REGISTRATION: Peritoneal Carcinomatosis Index (PCI) \\>= 1 and =\\< 24 obtained =\\< 30 days"
            " prior to registration"
        )
        assert "pci" not in codes(text, "Inclusion")
        assert outcome(text, GITA, "Inclusion") != "violated"

    def test_an_abbreviation_spelled_out_as_itself_is_still_read(self):
        # NCT04389632
        assert set(codes("Esophageal squamous cell carcinoma (ESCC)", "Inclusion")) == {"oesophageal_scc"}
        # NCT06745024, here among the inclusions: a linked disease spells it out, as the rule had it before.
        text = "Epidural spinal cord compression (ESCC) at the enrolled bone metastasis"
        assert "oesophageal_scc" not in codes(text, "Inclusion")
        assert "pci" in codes("Prior percutaneous coronary intervention (PCI) within 6 months")


class TestDiseaseOutsideAnOrganIsNoDiseaseOfIt:
    """ "Extra hepatic disease" is cancer spread outside the liver, not a liver disease: read as one, it
    excluded Hiro for his hepatitis B from a trial that asks whether his cancer has left the liver."""

    def test_extra_hepatic_disease_is_no_liver_disease(self):
        # NCT05953337
        assert "liver_disease" not in codes("No extra hepatic disease.", "Inclusion")
        assert outcome("No extra hepatic disease.", HIRO, "Inclusion") != "violated"
        assert "liver_disease" not in codes("No extra-hepatic disease.", "Inclusion")

    def test_a_hepatic_disease_is_still_one(self):
        assert outcome("No hepatic disease.", HIRO, "Inclusion") == "violated"


class TestRadiationNamedForSomethingElseIsNoRadiotherapyHad:
    """Elif's radiotherapy to the oesophagus excluded him where the text names radiation safety, or a
    radiotherapy to the whole or half body that he never had."""

    def test_radiation_safety_precautions_are_no_radiotherapy(self):
        # NCT06710756
        text = (
            "Existence of any medical or social issues likely to interfere with study conductor that may"
            " cause increased risk to the subject or to others, e.g., lack of ability to follow radiation"
            " safety precautions"
        )
        assert "radiotherapy" not in codes(text)
        assert outcome(text, ELIF) != "violated"

    def test_a_total_body_radiation_is_not_any_radiotherapy(self):
        # NCT07213791
        assert outcome("Had previous hemi- or total-body radiation.", ELIF) == "unknown"
        assert outcome("Had previous hemi- or total-body radiation.", GITA) == "satisfied"


class TestAHistologyBeforeACancerNarrowsIt:
    """ "Squamous cell or undifferentiated gastroesophageal cancer" is two forms of it, which a gastric cancer
    code does not tell apart: read as any gastroesophageal cancer, it excluded Gita's adenocarcinoma."""

    def test_squamous_or_undifferentiated_gastroesophageal_cancer_is_not_any(self):
        # NCT06445972
        text = "Has squamous cell or undifferentiated gastroesophageal cancer"
        assert [outcome(text, p) for p in PATIENTS] == ["unknown", "satisfied", "satisfied"]

    def test_a_squamous_cell_lung_cancer_is_one(self):
        assert codes("squamous cell lung cancer", "Inclusion") == ["lusc"]


class TestTheExamplesOfADeniedDiseaseAreDenied:
    """The full stop of "e.g." ended the clause of a negation, so that "No current evidence of ... disease
    (e.g. gastrectomy, ...)" asked every patient for a gastrectomy and Crohn's disease."""

    def test_examples_after_e_g_share_the_negation(self):
        # NCT06126276
        text = (
            "No current evidence of malabsorption or chronic diarrhea or any other significant"
            " gastro-intestinal disease (e.g gastrectomy, ileal bypass, Crohn's disease, gastroparesis),"
            " associated with moderate to severe diarrhea (grade 2 or more) or inability to tolerate oral"
            " therapy"
        )
        assert outcome(text, ELIF, "Inclusion") == "satisfied"
        assert outcome(text.replace("(e.g ", "(e.g. "), ELIF, "Inclusion") == "satisfied"

    def test_a_full_stop_still_ends_a_negation(self):
        text = "No prior gastrectomy. Crohn's disease"
        parsed = parse_eligibility(f"Inclusion Criteria:\n* {text}\n")
        assert [a.assertion for a in parsed.atoms()] == ["negated", "present"]


class TestAToxicityOfATreatmentIsAskedNotTheTreatment:
    """A toxicity named "with" or "to" a treatment, or autoimmune manifestations "of" it, is what the site
    asks about: read as the treatment, it excluded all three from trials for patients after immunotherapy."""

    TEXTS = (
        # NCT04262466
        "Significant immune-mediated adverse event with prior immunotherapy (Participants in checkpoint"
        " inhibitor combination treatment)",
        # NCT03607890
        "Prior life-threatening toxicity to anti-PD-1, anti-PD-L1, anti-PD-L2,or anti-CTLA4",
        # NCT04219254
        "Has had Grade ≥3 autoimmune manifestations of previous immune checkpoint inhibitor treatments .",
    )

    def test_the_toxicity_is_asked(self):
        for text in self.TEXTS:
            assert [outcome(text, p) for p in PATIENTS] == ["unknown", "unknown", "unknown"], text

    def test_without_the_treatment_there_was_no_toxicity_of_it(self):
        nobody = PatientFacts(history_confirmed_on=TODAY)
        for text in self.TEXTS:
            assert outcome(text, nobody) == "satisfied", text


class TestASurgeryNamedForItsAftermathIsAsked:
    """Elif's oesophagectomy of July 2025 excluded him wherever a surgery was named for what it left or
    what would preclude it, for how recent it was, or for where a radiotherapy went."""

    def test_a_surgery_not_yet_recovered_from_is_asked(self):
        # NCT04219254
        assert (
            outcome("Has had major surgery from which the subject has not yet recovered.", ELIF) == "unknown"
        )

    def test_wounds_from_surgery_are_asked(self):
        # NCT05592626
        assert outcome("Unhealed wounds from surgery or injury.", ELIF) != "violated"

    def test_comorbidities_that_would_preclude_surgery_name_no_surgery_had(self):
        # NCT04557969
        text = "Non-modifiable medical comorbidities that would preclude cytoreductive surgery."
        assert outcome(text, ELIF) != "violated"

    def test_a_recent_surgery_is_not_any_surgery(self):
        # NCT06402201
        assert outcome("Recent surgery", ELIF) == "unknown"
        assert outcome("Recent surgery", GITA) == "satisfied"

    def test_a_radiotherapy_to_the_sites_to_be_enrolled_is_not_any_radiotherapy(self):
        # NCT06745024
        text = "No previous radiotherapy to the intended enrolled sites of disease"
        assert outcome(text, ELIF, "Inclusion") == "unknown"


class TestATreatmentNamedForAPurposeOrARiskIsNoHistory:
    """A treatment named as what the study is to give, what a drug interacts with, or by the payload of an
    antibody-drug conjugate is not the patient's history of that treatment (or of any ADC)."""

    def test_organ_function_to_administer_a_treatment_asks_for_no_treatment_had(self):
        # NCT04221893
        text = (
            "Must have adequate organ function to administer radiation therapy and immunotherapy as per"
            " standard of care."
        )
        assert outcome(text, GITA, "Inclusion") != "violated"

    def test_a_drug_named_for_its_interactions_is_not_asked_for(self):
        # NCT02366819
        text = (
            "Patients taking substrates, inhibitors, or inducers of cytochrome P450, family 3, subfamily A,"
            " polypeptide 4 (CYP3A4) should be encouraged to switch to alternative drugs whenever possible,"
            " given the potential for drug-drug interactions with irinotecan"
        )
        assert outcome(text, GITA, "Inclusion") != "violated"

    def test_an_adc_of_one_payload_is_not_any_adc(self):
        # NCT06219941: Gita's trastuzumab deruxtecan carries no MMAE, which the profile does not say.
        assert outcome("Prior exposure to any MMAE-based ADC.", GITA) == "unknown"
        assert outcome("Prior exposure to any MMAE-based ADC.", HIRO) == "satisfied"
        # NCT06242470
        text = "Prior treatment with any ADC with a topoisomerase payload."
        assert outcome(text, GITA) == "unknown"


class TestAWindowOnlyTheProtocolGivesIsNoLifetime:
    """A washout whose length only the protocol gives ("within protocol specified intervals") is not a
    lifetime: read as one, it excluded Elif for his surgery and immunotherapy of 2025."""

    def test_a_protocol_specified_interval_is_asked(self):
        # NCT06242470
        text = (
            "Treatment with surgery, systemic cancer therapy, immunotherapy, chimeric antigen receptor-T"
            " therapy, or anti-hormonal within protocol specified intervals."
        )
        assert outcome(text, ELIF) == "unknown"
        # NCT06533579
        text = "Chemotherapy given within the protocol-specified discontinuation timelines"
        assert [outcome(text, p) for p in PATIENTS] == ["unknown", "satisfied", "unknown"]


class TestATestNotRequiredAsksForNothing:
    """ "Testing for HIV is not required for entry onto the study" requires no HIV: read as a requirement, it
    excluded Hiro, whose record holds no HIV, from a trial that lets infected patients in."""

    def test_a_test_not_required_is_no_requirement_of_the_disease(self):
        # NCT05863195
        text = (
            "Human immunodeficiency virus (HIV)-infected patients on effective anti-retroviral therapy with"
            " undetectable viral load within 6 months of randomization are eligible for this trial. Testing"
            " for HIV is not required for entry onto the study"
        )
        assert outcome(text, HIRO, "Inclusion") != "violated"
        # NCT04317534
        assert (
            outcome(
                "Note: HIV screening testing is not required unless mandated by local health authority.",
                HIRO,
                "Inclusion",
            )
            != "violated"
        )


class TestAProcedureOnAnotherOrganIsNotAnyProcedure:
    """Elif's radiotherapy went to the oesophagus and his surgery was an oesophagectomy: a radiotherapy to
    the liver or the brain, or a resection of the intestine or the mucosa, is not what he had, which his
    record cannot tell apart."""

    def test_a_radiotherapy_to_an_organ_is_asked(self):
        # NCT05863195
        text = (
            "Patient must not have had prior radiation to the liver (prior radiation therapy to the pelvis is"
            " acceptable if completed at least 2 weeks prior to randomization)."
        )
        assert outcome(text, ELIF, "Inclusion") != "violated"
        # NCT05187182
        text = "Radiotherapy to the brain must be completed \\> 10 days prior to planned C1D1."
        assert outcome(text, ELIF) != "violated"

    def test_a_resection_of_the_intestine_or_the_mucosa_is_asked(self):
        # NCT06445972
        text = (
            "Has a bowel obstruction, history or presence of inflammatory enteropathy or extensive intestinal"
            " resection (hemicolectomy or extensive small intestine resection with chronic diarrhea)"
        )
        assert outcome(text, ELIF) == "unknown"
        # NCT05706025
        text = (
            "Prior EGD during which a therapeutic procedure such as, but not limited to, ablation,"
            " cryotherapy, or endoscopic mucosal resection, was performed for the treatment of BE and/or EAC"
        )
        assert outcome(text, ELIF) != "violated"
