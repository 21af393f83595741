"""Sentences of the 2026 oncology registry (data/oncology_trials_2026) the parser misread for a man with
metastatic castration-resistant prostate cancer, each matched against the patient it wrongly excluded (no
database).

Paul, 68, ECOG 1, mCRPC (adenocarcinoma, bone metastases) diagnosed 2021-06-01, BRCA2 mutation; on
leuprolide since 2021-07 (ongoing androgen deprivation), then enzalutamide (2022-01 to 2024-03), docetaxel
(2024-04 to 2024-08) and olaparib (2024-09 to 2026-10-15). PSA 24 ng/mL and testosterone 18 ng/dL (castrate)
on 2026-11-20."""

import datetime

from nlp import iter_atoms, parse_eligibility
from nlp.terminology import drug_classes
from recruitment.matching import DiagnosisFact, LabFact, PatientFacts, evaluate
from recruitment.matching.facts import BiomarkerFact
from tests.recruitment.fact_helpers import therapy

TODAY = datetime.date(2026, 12, 7)
LABS_ON = datetime.date(2026, 11, 20)


PAUL = PatientFacts(
    birth_date=datetime.date(1958, 4, 12),
    sex="male",
    ecog=1,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "mcrpc",
            "metastatic castration-resistant prostate cancer",
            diagnosed_on=datetime.date(2021, 6, 1),
            stage="IV",
            histology="adenocarcinoma",
        ),
    ),
    biomarkers=(BiomarkerFact("biomarker:1", "BRCA2", "mutation"),),
    labs=(
        LabFact("lab:1", "PSA", "2857-1", 24.0, "ng/mL", LABS_ON, 0.0, 4.0),
        LabFact("lab:2", "testosterone", "2986-8", 18.0, "ng/dL", LABS_ON, 300.0, 1000.0),
        LabFact("lab:3", "haemoglobin", "718-7", 12.1, "g/dL", LABS_ON, 13.0, 17.0),
    ),
    therapies=(
        therapy("therapy:1", "leuprolide", None, datetime.date(2021, 7, 1)),
        therapy("therapy:2", "enzalutamide", 1, datetime.date(2022, 1, 1), datetime.date(2024, 3, 31)),
        therapy("therapy:3", "docetaxel", 2, datetime.date(2024, 4, 1), datetime.date(2024, 8, 31)),
        therapy("therapy:4", "olaparib", 3, datetime.date(2024, 9, 1), datetime.date(2026, 10, 15)),
    ),
)
# A man with prostate cancer and nothing else on file.
PETER = PatientFacts(
    birth_date=datetime.date(1955, 9, 1),
    sex="male",
    diagnoses=(DiagnosisFact("diagnosis:1", "prostate_cancer", "prostate cancer"),),
)


def outcome(text: str, patient: PatientFacts) -> str:
    """The outcome of the only criterion parsed from `text` for `patient`."""
    [verdict] = evaluate(parse_eligibility(text).criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


class TestProstateCancerDrugsAreKnown:
    """Apalutamide and darolutamide are androgen receptor pathway inhibitors like enzalutamide, cabazitaxel
    is a taxane, and leuprolide, goserelin, triptorelin, degarelix and relugolix are androgen deprivation
    therapy (ADT). Unknown to the vocabulary, 'abiraterone acetate, enzalutamide, apalutamide, or
    darolutamide' lost its 'or' and asked for both abiraterone and enzalutamide, and Paul's ongoing
    leuprolide could not answer a trial asking for ongoing ADT."""

    def test_a_man_who_had_enzalutamide_meets_a_list_of_any_arpi(self):
        texts = (
            # NCT04038502
            "Prior therapy with abiraterone acetate, enzalutamide, apalutamide, or darolutamide",
            # NCT06764485
            "Participants must have had previous treatment with an androgen receptor pathway inhibitor"
            " (abiraterone, enzalutamide, apalutamide, or darolutamide).",
        )
        assert [outcome(f"Inclusion Criteria:\n* {text}\n", PAUL) for text in texts] == ["satisfied"] * 2

    def test_apalutamide_and_darolutamide_are_arpis(self):
        assert "antiandrogen" in drug_classes("apalutamide")
        assert "antiandrogen" in drug_classes("darolutamide")
        assert "taxane" in drug_classes("cabazitaxel")

    def test_a_man_on_leuprolide_is_on_androgen_deprivation_therapy(self):
        assert drug_classes("leuprolide") == drug_classes("goserelin") == ["androgen_deprivation"]
        text = "Inclusion Criteria:\n* Must be receiving ongoing androgen deprivation therapy\n"
        assert outcome(text, PAUL) == "satisfied"
        assert outcome(text, PETER) == "unknown"

    def test_patients_without_a_finding_who_must_have_had_a_treatment(self):
        # NCT03476681: binds those without the aberrations; before 'must' ended the negation, it was read as
        # a demand for immunotherapy from everyone.
        text = (
            "Inclusion Criteria:\n* Patients without these genomic tumor aberrations must have received"
            " immune-checkpoint inhibitor previously, either as a single agent or in combination with"
            " chemotherapy.\n"
        )
        assert outcome(text, PAUL) != "violated"

    def test_ongoing_adt_is_no_anticancer_therapy_a_washout_excludes(self):
        # Castration goes on through every mCRPC trial; a washout of anticancer therapy does not mean it.
        texts = (
            # NCT05512208
            "Systemic anti-cancer therapy within 4 weeks of the first dose of study therapy.",
            # NCT05786924
            "Ongoing anticancer therapy.",
        )
        assert [outcome(f"Exclusion Criteria:\n* {text}\n", PAUL) for text in texts] == ["satisfied"] * 2

    def test_castrate_testosterone_is_read_with_its_unit(self):
        # NCT05919329: "testosterone < 50 ng/dL"; Paul's 18 ng/dL is castrate.
        texts = ("Serum testosterone level < 50 ng/dL at screening", "Castrate testosterone < 1.7 nmol/L")
        assert [outcome(f"Inclusion Criteria:\n* {text}\n", PAUL) for text in texts] == ["satisfied"] * 2


class TestARequirementOfWomenWithBreastCancerBindsOnlyThem:
    """'Female participants with ... breast cancer must / will be required to ...' binds those women only, as
    'Participants with X must ...' binds the participants with X. Read as a requirement of everyone, it
    excluded every man (and, once goserelin was a known drug, every woman without ovarian suppression)."""

    TEXTS = (
        # NCT06257264
        "Female participants with advanced or metastatic HR+/HER2- BC will be required to have ovarian"
        " function suppression using gonadotropin hormone-releasing hormone (GnRH) agonists (such as"
        " goserelin) or be postmenopausal.",
        # NCT04606446
        "Female participants with ER+HER2- advanced or metastatic breast cancer considered to be of"
        " childbearing potential (or have tubal ligations only) must be willing to undergo medically induced"
        " menopause by treatment with the approved LHRH agonist such as goserelin, leuprolide or equivalent"
        " agents to induce chemical menopause.",
    )

    def test_a_man_with_prostate_cancer_is_not_excluded(self):
        outcomes = [outcome(f"Inclusion Criteria:\n* {text}\n", PAUL) for text in self.TEXTS]
        assert outcomes == ["satisfied"] * 2


class TestAWindowOfTheProgressionOrTheScanIsNotTheDiagnosis:
    """A time window later on the line belongs to what it follows: the progression, the scan, another
    treatment. Given to the cancer, 'has progressed within 6 months' asked that Paul's cancer (diagnosed in
    2021) be diagnosed in the last six months."""

    TEXTS = (
        # NCT02861573
        "Has prostate cancer progression within 6 months prior to screening, as determined by the"
        " investigator",
        # NCT06136650
        "Has prostate cancer progression while receiving androgen deprivation therapy (ADT) (or post"
        " bilateral orchiectomy) within 6 months before screening",
        # NCT05125016
        "Metastatic, castration-resistant prostate cancer (mCRPC) with PSA value at screening ≥4 ng/mL that"
        " has progressed within 6 months prior to screening",
        # NCT06691984
        "mCRPC with ≥ 1 metastatic lesion that is present on baseline computed tomography (CT), magnetic"
        " resonance imaging (MRI), or bone scan imaging obtained within 28 days prior to enrollment.",
        # NCT06470243
        "Participants must have evidence for metastatic prostate cancer by bone scan and/or CT/MRI (i.e.,"
        " soft tissue, visceral, lymph node). Scans must be obtained within 28 days prior to randomization.",
    )

    def test_paul_diagnosed_in_2021_is_not_failed_by_a_recent_window(self):
        outcomes = [outcome(f"Inclusion Criteria:\n* {text}\n", PAUL) for text in self.TEXTS]
        assert "violated" not in outcomes, outcomes

    def test_the_window_leaves_the_cancer(self):
        for text in self.TEXTS:
            [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria
            cancers = [a for a in iter_atoms(criterion.tree) if a.kind == "condition"]
            assert cancers, text
            assert all(a.window is None for a in cancers), text

    def test_an_exclusions_other_cancer_keeps_its_window(self):
        for text in (
            "Other malignancy within 3 years prior to enrollment",
            "Known additional malignancy that is progressing or has required active treatment within the"
            " past 3 years",
        ):
            [criterion] = parse_eligibility(f"Exclusion Criteria:\n* {text}\n").criteria
            [cancer] = [a for a in iter_atoms(criterion.tree) if a.kind == "condition"]
            assert cancer.window is not None, text
            assert cancer.window.amount == 3, text

    def test_a_cancer_diagnosed_within_a_window_keeps_it(self):
        [criterion] = parse_eligibility(
            "Inclusion Criteria:\n* Prostate cancer diagnosed within 6 months before enrollment\n"
        ).criteria
        [cancer] = [a for a in iter_atoms(criterion.tree) if a.kind == "condition"]
        assert cancer.window is not None
        assert cancer.window.amount == 6

    def test_a_treatment_for_their_cancer_is_one_treatment_denied(self):
        # NCT06216301: with the next sentence's window gone from the NSCLC, 'Have not received prior systemic
        # treatment for their metastatic NSCLC' denied the NSCLC itself; 'for their ...' names what the
        # treatment was for, as 'for the ...' does.
        lung = PatientFacts(
            birth_date=datetime.date(1960, 5, 5),
            sex="male",
            diagnoses=(DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma", stage="IV"),),
        )
        text = (
            "Inclusion Criteria:\n* Have not received prior systemic treatment for their metastatic NSCLC."
            " Subjects who received adjuvant, neoadjuvant chemotherapy or chemoradiotherapy with curative"
            " intent for non-metastatic disease are eligible if the therapy was completed at least 12 months"
            " prior to the development of metastatic disease.\n"
        )
        assert outcome(text, lung) != "violated"


class TestRecoveryFromATreatmentAsksNoTreatment:
    """'Recovered from the toxic effects of prior chemotherapy' asks about the side effects, not for (nor
    against) the chemotherapy. 'Toxic effects', an aside in brackets and examples in brackets hid that, so the
    treatment was asked for (an inclusion) or excluded (an exclusion) itself."""

    def test_paul_is_not_failed_by_a_treatment_he_had_or_had_not(self):
        inclusions = (
            # NCT07148050
            "Recovered from acute toxic effects of all prior chemotherapy and investigational agents before"
            " entering this study",
            # NCT06568562
            "Must have recovered from adverse effects of any prior oncologic treatment (e.g. prior surgery,"
            " radiotherapy, or other antineoplastic therapy).",
        )
        # The toxicity is not on file; the surgery and radiotherapy Paul never had have left none.
        outcomes = [outcome(f"Inclusion Criteria:\n* {text}\n", PAUL) for text in inclusions]
        assert outcomes == ["unknown", "satisfied"]
        # NCT06710847
        exclusion = (
            "Has not recovered (i.e., to Grade ≤1 or to baseline) from prior anticancer therapy-induced AEs"
        )
        assert outcome(f"Exclusion Criteria:\n* {exclusion}\n", PAUL) == "unknown"


class TestOptionalAndConditionalCastration:
    """'with or without X' makes X optional, not denied; 'Patients who have not had an orchiectomy must be
    maintained on GnRH analogue therapy' denies the orchiectomy only. Read with the negation running on,
    Paul's ongoing leuprolide excluded him from trials that ask for it."""

    def test_castrate_testosterone_with_or_without_adt(self):
        # NCT06236139
        text = (
            "Inclusion Criteria:\n* Castrate levels of testosterone (< 50 ng/dL) with or without the use of"
            " androgen deprivation therapy\n"
        )
        assert outcome(text, PAUL) == "satisfied"
        [criterion] = parse_eligibility(text).criteria
        [adt] = [a for a in iter_atoms(criterion.tree) if a.kind == "therapy"]
        assert adt.assertion == "present"
        assert not adt.checkable

    def test_a_list_after_with_or_without_is_optional(self):
        # NCT03987555
        text = (
            "Inclusion Criteria:\n* Patients considered for curative or palliative chemotherapy with"
            " paclitaxel 135-175 mg/m2 with or without carboplatin, cisplatin, doxorubicin, ifosfamide,"
            " bevacizumab, or trastuzumab\n"
        )
        assert outcome(text, PAUL) == "not_checkable"

    def test_the_negation_of_a_population_ends_at_must(self):
        # NCT04038502
        text = (
            "Inclusion Criteria:\n* Ongoing gonadal androgen deprivation therapy with gonadotropin-releasing"
            " hormone (GnRH) analogues, antagonists or orchiectomy. Patients who have not had an orchiectomy"
            " must be maintained on effective GnRH analogue/antagonist therapy\n"
        )
        assert outcome(text, PAUL) == "satisfied"
        assert outcome(text, PETER) == "unknown"


class TestDrugsListedAsInstancesAreAlternatives:
    """Drugs listed in brackets after their class, or after 'e.g.' written 'eg' or 'include but are not
    limited to', are instances of it: any one of them is enough. Read as a conjunction, they asked Paul, who
    had enzalutamide, for abiraterone, apalutamide and darolutamide as well."""

    TEXTS = (
        # NCT06691984
        "Prior progression on at least one ARDT (enzalutamide, abiraterone, apalutamide, darolutamide).",
        # NCT04071236
        "Progression after at least one of the following: abiraterone, enzalutamide, apalutamide,"
        " darolutamide, or taxane chemotherapy (docetaxel, cabazitaxel).",
        # NCT05168618
        "Disease progression on or after at least one prior novel hormonal therapy (NHT) (defined as"
        " second-generation antiandrogen therapies that include but are not limited to abiraterone acetate,"
        " enzalutamide, apalutamide, darolutamide)",
        # NCT06609005
        "Received at least one prior line of taxane-based chemotherapy and at least one line of hormonal AR"
        " targeted therapy (eg, abiraterone, enzalutamide).",
    )

    def test_paul_who_had_enzalutamide_and_docetaxel_meets_them(self):
        outcomes = [outcome(f"Inclusion Criteria:\n* {text}\n", PAUL) for text in self.TEXTS]
        assert outcomes == ["satisfied"] * 4

    def test_a_regimen_after_its_brackets_is_still_required(self):
        # The brackets close the instances: what follows 'and' is asked for as well.
        text = "Inclusion Criteria:\n* Prior taxane (docetaxel, cabazitaxel) and prior abiraterone\n"
        assert outcome(text, PAUL) == "violated"


class TestATherapyTargetedAtANamedTargetIsNotEveryTargetedTherapy:
    """'PSMA targeted therapy' or 'STEAP1-targeted therapy' names therapies against one target, which the
    profile's drug classes do not record: Paul's olaparib (a targeted therapy) is none of them."""

    TEXTS = (
        # NCT06520345
        "Has received prior treatment with monoclonal antibody (mAb) J591 or HuJ591 or any other PSMA"
        " targeted therapy.",
        # NCT06691984
        "Prior six transmembrane epithelial antigen of the prostate 1 (STEAP1)-targeted therapy.",
    )

    def test_paul_is_not_excluded_by_his_parp_inhibitor(self):
        outcomes = [outcome(f"Exclusion Criteria:\n* {text}\n", PAUL) for text in self.TEXTS]
        assert outcomes == ["unknown"] * 2

    def test_bare_targeted_therapy_still_counts(self):
        assert outcome("Exclusion Criteria:\n* Prior targeted therapy\n", PAUL) == "violated"
        assert outcome("Exclusion Criteria:\n* PRIOR TARGETED THERAPY\n", PAUL) == "violated"


class TestWhatContraceptionIncludesIsNoRequirement:
    """A sentence saying what effective contraception includes lists methods, not procedures the patient
    must have had: read as requirements, the hysterectomy, oophorectomy, tubal ligation and vasectomy of
    'effective contraception also includes ...' excluded every man without all four."""

    def test_paul_is_not_asked_for_a_hysterectomy(self):
        # NCT05806515 (and NCT06470243)
        text = (
            "Inclusion Criteria:\n* Participants who are of reproductive potential must have agreed to use an"
            " effective contraceptive method with details provided as a part of the consent process. A person"
            ' who has semen likely to contain sperm is considered to be of "reproductive potential." In'
            ' addition to routine contraceptive methods, "effective contraception" also includes refraining'
            " from sexual activity that might result in pregnancy and surgery intended to prevent pregnancy"
            " (or with a side-effect of pregnancy prevention) including a hysterectomy, bilateral"
            " oophorectomy, bilateral tubal ligation/occlusion, and vasectomy with testing showing there is"
            " no sperm in the semen.\n"
        )
        # A man cannot become pregnant; what the consent process asks is left to the site.
        assert outcome(text, PAUL) == "unknown"
        [criterion] = parse_eligibility(text).criteria
        assert not [a for a in iter_atoms(criterion.tree) if a.kind == "procedure"]
