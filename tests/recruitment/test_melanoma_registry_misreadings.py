"""Sentences of the 2026 oncology registry (data/oncology_trials_2026) the parser misread for two patients
with melanoma, each matched against the patient it wrongly excluded (no database).

Lena, 52, ECOG 0, stage IV cutaneous melanoma (BRAF V600E) diagnosed 2024-01, brain metastases found 2024-02
and treated by stereotactic radiosurgery 2024-03; nivolumab with ipilimumab (2024-03 to 2024-10), then
dabrafenib with trametinib (2024-11 to 2026-08). Max, 70, ECOG 1, stage III melanoma (BRAF wild type), the
kind of melanoma not recorded and nothing else on file."""

import dataclasses
import datetime

from nlp import iter_atoms, parse_eligibility
from recruitment.matching import DiagnosisFact, PatientFacts, ProcedureFact, evaluate
from recruitment.matching.facts import BiomarkerFact
from tests.recruitment.fact_helpers import therapy

TODAY = datetime.date(2026, 12, 7)

LENA = PatientFacts(
    birth_date=datetime.date(1974, 6, 20),
    sex="female",
    ecog=0,
    pregnancy_status="not_pregnant",
    breastfeeding=False,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "cutaneous_melanoma",
            "cutaneous melanoma",
            diagnosed_on=datetime.date(2024, 1, 15),
            stage="IV",
        ),
        DiagnosisFact(
            "diagnosis:2", "brain_metastases", "brain metastases", diagnosed_on=datetime.date(2024, 2, 20)
        ),
    ),
    biomarkers=(BiomarkerFact("biomarker:1", "BRAF", "mutation", protein_change="V600E"),),
    therapies=(
        therapy("therapy:1", "nivolumab", 1, datetime.date(2024, 3, 1), datetime.date(2024, 10, 15)),
        therapy("therapy:2", "ipilimumab", 1, datetime.date(2024, 3, 1), datetime.date(2024, 5, 15)),
        therapy("therapy:3", "dabrafenib", 2, datetime.date(2024, 11, 1), datetime.date(2026, 8, 20)),
        therapy("therapy:4", "trametinib", 2, datetime.date(2024, 11, 1), datetime.date(2026, 8, 20)),
    ),
    procedures=(
        ProcedureFact("procedure:1", "radiotherapy", "stereotactic radiosurgery", datetime.date(2024, 3, 10)),
    ),
)
# Lena as she would be had her cancer never reached the brain.
LENA_WITHOUT_BRAIN_METASTASES = dataclasses.replace(LENA, diagnoses=LENA.diagnoses[:1])
MAX = PatientFacts(
    birth_date=datetime.date(1956, 2, 2),
    sex="male",
    ecog=1,
    diagnoses=(DiagnosisFact("diagnosis:1", "melanoma", "melanoma", stage="III"),),
    biomarkers=(BiomarkerFact("biomarker:1", "BRAF", "mutation", status="negative"),),
)


def outcome(text: str, patient: PatientFacts, section: str = "Exclusion") -> str:
    """The outcome of the only criterion parsed from `text`, as an item of `section`, for `patient`."""
    parsed = parse_eligibility(f"{section} Criteria:\n* {text}\n")
    [verdict] = evaluate(parsed.criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


def codes(text: str, section: str = "Exclusion") -> list[str]:
    parsed = parse_eligibility(f"{section} Criteria:\n* {text}\n")
    return [a.concept.code for a in parsed.atoms() if a.concept is not None]


class TestTheKindsOfMelanomaAreTold:
    """Uveal (ocular), mucosal, acral and cutaneous melanoma were all read as "melanoma": every trial that
    excludes uveal or mucosal melanoma excluded Lena's skin melanoma, and "cutaneous melanoma (mucosal
    melanoma or uveal melanoma are excluded)" asked for a melanoma that is not a melanoma, which nobody
    has."""

    EXCLUSIONS = (
        # NCT06108479
        "History of ocular/uveal melanoma or mucosal melanoma.",
        # NCT06194929
        "Uveal or mucosal melanoma.",
        # NCT06697301
        "Has melanoma of ocular origin.",
        # NCT04291105
        "Patients who have a diagnosis of ocular, mucosal or acral melanoma.",
    )

    def test_a_skin_melanoma_is_not_excluded_as_an_uveal_or_mucosal_one(self):
        assert [outcome(text, LENA) for text in self.EXCLUSIONS[:3]] == ["satisfied"] * 3

    def test_acral_melanoma_is_a_skin_melanoma_and_excludes_only_when_recorded_as_one(self):
        assert codes(self.EXCLUSIONS[3]) == ["uveal_melanoma", "mucosal_melanoma", "acral_melanoma"]
        assert outcome(self.EXCLUSIONS[3], LENA) == "unknown"

    def test_a_non_ocular_melanoma_is_any_other_melanoma(self):
        # NCT06771544: not "ocular melanoma" with a prefix the dictionary did not see
        text = "Patients must have unresectable Stage III or Stage IV non-ocular melanoma"
        assert outcome(text, LENA, "Inclusion") == "satisfied"

    def test_a_melanoma_of_unrecorded_kind_leaves_the_question_open(self):
        assert {outcome(text, MAX) for text in self.EXCLUSIONS} == {"unknown"}

    def test_cutaneous_melanoma_with_the_other_kinds_excluded_takes_a_skin_melanoma(self):
        # NCT04930783
        text = (
            "Participants must have histologically confirmed stage IIIB/C/D or stage IV cutaneous melanoma"
            " (mucosal melanoma or uveal melanoma are excluded)"
        )
        assert outcome(text, LENA, "Inclusion") == "satisfied"
        assert outcome(text, MAX, "Inclusion") == "unknown"


class TestKindsOfCancerSharingOneHeadAreEachRead:
    """ "ovarian or endometrial cancer" named only the endometrial cancer, since "ovarian" has no head of its
    own in the text: a trial excluding either excused an ovarian cancer, one asking for either turned it away.
    Each word before the shared head that names a cancer with it is now read as that cancer."""

    def test_each_cancer_of_a_shared_head_is_read(self):
        # NCT04794322, NCT04130516, NCT05856981-style lists
        assert codes("Prior history of known ovarian or endometrial cancer") == [
            "ovarian_cancer",
            "endometrial_cancer",
        ]
        assert codes("Has pancreatic, gastric, non small cell lung cancer (NSCLC), or colorectal cancer.")[
            :3
        ] == [
            "pancreatic_cancer",
            "gastric_cancer",
            "nsclc",
        ]

    def test_words_that_are_no_kind_of_cancer_add_nothing(self):
        assert codes("Locally advanced or metastatic uveal melanoma", "Inclusion") == ["uveal_melanoma"]
        assert codes("Metastatic or recurrent melanoma", "Inclusion") == ["melanoma"]


class TestUntreatedBrainMetastasesAreAQuestion:
    """ "Untreated brain metastases" (98 lines of the registry) was read as any brain metastases, and "central
    nervous system (CNS) metastases" (68 lines) as nothing at all, the bracket splitting the term. Lena's
    metastases were treated by radiosurgery: whether they count as untreated or symptomatic is for the site,
    and a patient with none is clear of both."""

    TEXTS = (
        # NCT05094336
        "Spinal cord compression or untreated brain metastases or leptomeningeal disease.",
        # NCT05382559
        "Participant has symptomatic or untreated central nervous system (CNS) metastases. Participants with"
        " asymptomatic, treated CNS metastases are eligible.",
        # NCT06771544
        "Participants with known untreated or symptomatic central nervous system (CNS) metastases and/or"
        " carcinomatous meningitis.",
    )

    def test_treated_metastases_are_not_read_as_untreated(self):
        assert [outcome(text, LENA) for text in self.TEXTS] == ["unknown"] * 3

    def test_a_patient_without_brain_metastases_is_clear(self):
        assert [outcome(text, LENA_WITHOUT_BRAIN_METASTASES) for text in self.TEXTS[:2]] == ["satisfied"] * 2

    def test_a_requirement_on_symptomatic_metastases_binds_only_the_patients_who_have_them(self):
        # NCT05267626, a header over its sub-items: "Symptomatic ... must" binds the patients with them, as
        # "Brain metastases must" did.
        text = (
            "Symptomatic central nervous system (CNS) metastases must have been treated, be asymptomatic for"
            " ≥ 14 days, and meet the following at the time of enrollment:"
        )
        assert outcome(text, LENA_WITHOUT_BRAIN_METASTASES, "Inclusion") == "satisfied"
        assert outcome(text, LENA, "Inclusion") == "unknown"

    def test_a_term_split_by_its_abbreviation_is_read_whole(self):
        text = "Known central nervous system (CNS) metastases"
        [atom] = parse_eligibility(f"Exclusion Criteria:\n* {text}\n").atoms()
        assert codes(text) == ["brain_metastases"]
        assert atom.text == "central nervous system metastases"

    def test_a_drug_class_known_by_its_abbreviation_is_read(self):
        # NCT05961124: the spelled-out name does not fit the initials, the abbreviation does
        text = "Patients who have received a poly adenosine diphosphate-ribose polymerase (PARP) inhibitor"
        assert codes(text) == ["parp_inhibitor"]

    def test_untreated_still_means_no_prior_therapy_before_a_cancer(self):
        text = "Previously untreated CLL"
        assert codes(text, "Inclusion") == ["systemic_anticancer", "cll"]
        assert parse_eligibility(f"Inclusion Criteria:\n* {text}\n").atoms()[0].assertion == "negated"


def test_the_atoms_of_a_coordinated_list_keep_the_words_they_were_read_from():
    parsed = parse_eligibility("Exclusion Criteria:\n* Uveal or mucosal melanoma.\n")
    assert [a.text for criterion in parsed.criteria for a in iter_atoms(criterion.tree)] == [
        "Uveal melanoma",
        "mucosal melanoma",
    ]


class TestWhatAPatientMayHaveHadIsNotRequired:
    """ "Patients may have had prior systemic therapy in the adjuvant setting" lets such patients in; it was
    read as requiring the therapy, so Lena's treatments outside the adjuvant window (and Max's, never
    recorded) counted against them. A count of lines after "may have had up to" still caps them."""

    def test_a_therapy_a_patient_may_have_had_is_let_in(self):
        texts = (
            # NCT02339571
            "Patients may have had prior systemic therapy in the adjuvant setting (e.g. interferon, BRAF, or"
            " MEK agents). Patients may have had prior anti-CTLA-4 in the adjuvant setting, if at least one"
            " year from last dose of treatment has passed prior to beginning treatment.",
            # NCT04585477
            "Received curative intent therapy with surgery and/or radiation. Note: May have received"
            " chemotherapy.",
        )
        assert [outcome(text, LENA, "Inclusion") for text in texts] == ["satisfied", "satisfied"]
        assert "violated" not in {outcome(text, MAX, "Inclusion") for text in texts}

    def test_what_may_have_been_received_is_for_the_site(self):
        # NCT05919238
        atoms = parse_eligibility(
            "Inclusion Criteria:\n* May have received prior neoadjuvant systemic therapy\n"
        ).atoms()
        [atom] = [a for a in atoms if a.kind == "therapy"]
        assert not atom.checkable

    def test_a_count_of_lines_a_patient_may_have_had_still_caps_them(self):
        # NCT06126276
        text = "Patients may have received up to 5 prior lines of systemic therapy"
        [atom] = parse_eligibility(f"Inclusion Criteria:\n* {text}\n").atoms()
        assert codes(text, "Inclusion") == ["prior_lines"]
        assert atom.checkable


class TestAKnownStatusIsAnyResult:
    """ "Patients must have known BRAF mutational status of tumor; wild-type (WT) or mutated" asked for a BRAF
    mutation, so Max, tested and wild type, failed it. A status that must be known is any result; a test the
    patient is to consent to is not a result at all."""

    def test_a_wild_type_result_is_a_known_status(self):
        texts = (
            # NCT02339571
            "Patients must have known BRAF mutational status of tumor; wild-type (WT) or mutated, prior to"
            " randomization",
            # NCT06697301
            "Have known BRAF V600 mutation status or consent to BRAF V600 mutation testing per local"
            " institutional standards during the screening period",
        )
        assert [outcome(text, MAX, "Inclusion") for text in texts] == ["satisfied", "satisfied"]
        assert [outcome(text, LENA, "Inclusion") for text in texts] == ["satisfied", "satisfied"]

    def test_an_untested_patient_is_asked_for_the_test(self):
        untested = dataclasses.replace(MAX, biomarkers=())
        text = "Patients must have known BRAF mutational status of tumor; wild-type (WT) or mutated"
        assert outcome(text, untested, "Inclusion") == "unknown"

    def test_a_status_stated_is_still_a_result(self):
        # Nothing says the status need only be known: the mutation is asked for.
        [atom] = parse_eligibility("Inclusion Criteria:\n* KRAS mutation status: mutated\n").atoms()
        assert atom.alteration != "wild_type"


class TestADefinitionInsideACriterionRequiresNothing:
    """A sentence that defines who counts as post-menopausal or of childbearing potential, after the
    requirement it explains, was read as a requirement of its own: "Women < 50 years of age would be
    considered post-menopausal if ..." ruled out Max, a man of 70, for his age."""

    def test_a_definition_after_the_requirement_is_left_out(self):
        # NCT04693377
        text = (
            "Evidence of post-menopausal status or negative urinary or serum pregnancy test for female"
            " pre-menopausal patients. Women will be considered post-menopausal if they have been amenorrheic"
            " for 12 months without an alternative medical cause. The following age-specific requirements"
            " apply: Women < 50 years of age would be considered post-menopausal if they have been"
            " amenorrheic for 12 months or more following cessation of exogenous hormonal treatments."
        )
        assert codes(text, "Inclusion") == ["negative_pregnancy_test"]
        assert outcome(text, MAX, "Inclusion") == "satisfied"

    def test_who_is_considered_of_childbearing_potential_is_a_definition(self):
        # NCT06680661
        text = (
            "A woman is considered to be of childbearing potential if she is < 60 years old, postmenarcheal,"
            " has not reached a postmenopausal state."
        )
        assert codes(text, "Inclusion") == []
        assert outcome(text, MAX, "Inclusion") != "violated"


def test_a_washout_of_days_or_half_lives_is_a_window():
    # NCT06194929: Lena's last treatment ended in August, long before the 28 days
    text = (
        "Prior systemic anti-cancer therapy or any investigational therapy ≤ 28 days or within five"
        " half-lives prior to starting study treatment, whichever is shorter."
    )
    assert outcome(text, LENA) == "satisfied"


def test_a_radiation_oncologist_is_no_radiotherapy():
    # NCT05830058: Lena's radiosurgery did not make her one of "those not eligible for SBRT"
    text = "Those not eligible for SBRT after review by a radiation oncologist"
    assert codes(text) == ["radiotherapy"]  # SBRT, stereotactic body radiotherapy
    assert outcome(text, LENA) != "violated"


def test_a_requirement_on_patients_on_a_drug_binds_only_them():
    # NCT06248606, NCT05187182: Lena takes no anticoagulant and no statin
    texts = (
        "No contraindications to SRS. Patients on anticoagulation must be able to hold anticoagulation for"
        " SRS treatment based on investigator discretion.",
        "Patients on a cholesterol lowering statin must be on a stable dose with no dose changes within 3"
        " weeks prior to study start.",
    )
    assert [outcome(text, LENA, "Inclusion") for text in texts] == ["unknown", "satisfied"]


class TestTheTrialsOwnProductIsNoHistory:
    """ "Willing to record daily adherence to investigational product" asked for an investigational agent in
    the patient's past; the product is the trial's own. "An investigational product" received before still
    counts."""

    def test_the_investigational_product_of_the_trial_is_not_asked_for(self):
        # NCT05094336
        text = (
            "Able to swallow and retain orally (PO) administered study treatment and willing to record daily"
            " adherence to investigational product."
        )
        assert outcome(text, LENA, "Inclusion") == "not_checkable"

    def test_an_investigational_product_received_before_is_history(self):
        # NCT05746897
        text = (
            "Investigational therapy: if the subject has participated in a clinical study and has received an"
            " investigational product within 4 weeks prior to the first dose of study treatment."
        )
        assert [a.checkable for a in parse_eligibility(f"Exclusion Criteria:\n* {text}\n").atoms()] == [True]
        assert outcome(text, LENA) == "satisfied"
