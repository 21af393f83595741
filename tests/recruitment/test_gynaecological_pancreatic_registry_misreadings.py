"""Sentences of the 2026 oncology registry (data/oncology_trials_2026) the parser misread for a woman with
recurrent ovarian cancer and a man with metastatic pancreatic cancer, each matched against the patient it
wrongly excluded (no database).

Olivia, 57, ECOG 1, post-menopausal, high-grade serous ovarian carcinoma stage IIIC diagnosed 2023-02,
germline BRCA1 mutation, HRD positive; carboplatin and paclitaxel (2023-03 to 2023-08) with interval debulking
surgery, olaparib maintenance (2023-09 to 2025-10), then for a platinum-sensitive recurrence carboplatin and
pegylated liposomal doxorubicin (2025-12 to 2026-05): two lines. Paolo, 66, ECOG 1, metastatic pancreatic
ductal adenocarcinoma (liver metastases) diagnosed 2025-06, KRAS G12D; FOLFIRINOX (2025-07 to 2026-01), then
gemcitabine and nab-paclitaxel since 2026-02, ongoing; a biliary stent, bilirubin normal. Oona, 64, has
ovarian cancer and nothing else on file."""

import dataclasses
import datetime

from nlp import iter_atoms, parse_eligibility
from recruitment.matching import BiomarkerFact, DiagnosisFact, LabFact, PatientFacts, evaluate
from recruitment.matching.facts import ProcedureFact
from tests.recruitment.fact_helpers import therapy

TODAY = datetime.date(2026, 12, 7)
LABS_ON = datetime.date(2026, 11, 20)


OLIVIA = PatientFacts(
    birth_date=datetime.date(1969, 6, 15),
    sex="female",
    ecog=1,
    pregnancy_status="not_pregnant",
    breastfeeding=False,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "ovarian_cancer",
            "high-grade serous ovarian carcinoma",
            stage="IIIC",
            histology="high-grade serous carcinoma",
            diagnosed_on=datetime.date(2023, 2, 1),
        ),
    ),
    biomarkers=(BiomarkerFact("biomarker:1", "BRCA1", "mutation", source="germline"),),
    labs=(LabFact("lab:1", "bilirubin", "1975-2", 0.6, "mg/dL", LABS_ON, 0.1, 1.2),),
    therapies=(
        therapy("therapy:1", "carboplatin", 1, datetime.date(2023, 3, 1), datetime.date(2023, 8, 31)),
        therapy("therapy:2", "paclitaxel", 1, datetime.date(2023, 3, 1), datetime.date(2023, 8, 31)),
        therapy("therapy:3", "olaparib", 1, datetime.date(2023, 9, 1), datetime.date(2025, 10, 31)),
        therapy("therapy:4", "carboplatin", 2, datetime.date(2025, 12, 1), datetime.date(2026, 5, 31)),
        therapy("therapy:5", "doxorubicin", 2, datetime.date(2025, 12, 1), datetime.date(2026, 5, 31)),
    ),
    procedures=(
        ProcedureFact("procedure:1", "surgery", "interval debulking surgery", datetime.date(2023, 6, 1)),
    ),
)
PAOLO = PatientFacts(
    birth_date=datetime.date(1960, 2, 10),
    sex="male",
    ecog=1,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "pancreatic_cancer",
            "metastatic pancreatic ductal adenocarcinoma",
            stage="IV",
            histology="adenocarcinoma",
            diagnosed_on=datetime.date(2025, 6, 1),
        ),
    ),
    biomarkers=(BiomarkerFact("biomarker:1", "KRAS", "mutation", protein_change="G12D"),),
    labs=(LabFact("lab:1", "bilirubin", "1975-2", 0.8, "mg/dL", LABS_ON, 0.1, 1.2),),
    therapies=(
        therapy("therapy:1", "folfirinox", 1, datetime.date(2025, 7, 1), datetime.date(2026, 1, 31)),
        therapy("therapy:2", "gemcitabine", 2, datetime.date(2026, 2, 1)),
        therapy("therapy:3", "paclitaxel", 2, datetime.date(2026, 2, 1)),
    ),
    procedures=(ProcedureFact("procedure:1", "stent", "biliary stent", datetime.date(2025, 6, 15)),),
)
# A woman with ovarian cancer and nothing else on file.
OONA = PatientFacts(
    birth_date=datetime.date(1962, 1, 1),
    sex="female",
    diagnoses=(DiagnosisFact("diagnosis:1", "ovarian_cancer", "ovarian cancer"),),
)


def outcome(text: str, patient: PatientFacts) -> str:
    """The outcome of the only criterion parsed from `text` for `patient`."""
    [verdict] = evaluate(parse_eligibility(text).criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


class TestARangeOfPriorLinesIsARange:
    """'1 to 3 prior lines of therapy' allows one, two or three lines. Only the number next to 'lines' was
    read, as an exact count, so Olivia's two lines failed '1 to 3' and '1-4'."""

    TEXTS = (
        # NCT05579366
        "Participants must have received 1 to 3 prior lines of therapy.",
        # NCT06619236
        "Participants must have received 1 to 4 prior lines of therapy.",
        # NCT03564340
        "1-4 prior lines of systemic therapy, as described in the protocol",
        # NCT05200559
        "Prior 1-5 lines of therapy for dose expansion",
    )

    def test_two_lines_are_within_each_range(self):
        outcomes = [outcome(f"Inclusion Criteria:\n* {text}\n", OLIVIA) for text in self.TEXTS]
        assert outcomes == ["satisfied"] * len(self.TEXTS)

    def test_the_range_is_read_with_both_ends(self):
        [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {self.TEXTS[0]}\n").criteria
        [lines] = [a for a in iter_atoms(criterion.tree) if a.concept and a.concept.code == "prior_lines"]
        assert (lines.comparator, lines.value, lines.value_high) == ("between", 1.0, 3.0)
        assert lines.text.startswith("1 to 3")
        # NCT05128825: the low end written as a word
        text = "Inclusion Criteria:\n* One to 3 prior lines or regimens are allowed\n"
        [criterion] = parse_eligibility(text).criteria
        [lines] = [a for a in iter_atoms(criterion.tree) if a.concept and a.concept.code == "prior_lines"]
        assert (lines.comparator, lines.value, lines.value_high) == ("between", 1.0, 3.0)

    def test_a_range_above_the_patients_lines_still_fails(self):
        # NCT03564340: 'patients who have had 2 to 4 lines of platinum-based therapy'
        text = "Inclusion Criteria:\n* Patients must have had 3 to 5 prior lines of systemic therapy\n"
        assert outcome(text, OLIVIA) == "violated"

    def test_a_single_count_is_read_as_before(self):
        assert outcome("Inclusion Criteria:\n* At least 3 prior lines of therapy\n", OLIVIA) == "violated"
        text = "Inclusion Criteria:\n* No more than 2 prior lines of therapy\n"
        assert outcome(text, OLIVIA) == "satisfied"


class TestNoLimitOnATreatmentDeniesNoTreatment:
    """'with no limit to number of prior lines of PARP inhibitors' sets no cap; its 'no' negated the PARP
    inhibitors, so Olivia, who progressed on olaparib as the trial asks, failed the inclusion."""

    TEXTS = (
        # NCT05065021
        "Progression on any prior Poly (ADP-ribose) polymerase (PARP) inhibitor therapy, with no limit to"
        " number of prior lines of PARP inhibitors.",
        # NCT05065021
        "Patients must have relapsed disease, either platinum-sensitive, resistant or refractory, with no"
        " limit to number of lines of prior systemic therapy.",
        # NCT05154487
        "There are no limits on the number of prior lines of chemotherapy.",
        # NCT05892068
        "No limit on prior lines of systemic therapy",
        # NCT06465069, with a treatment named after it
        "There is no restriction on number of prior therapies including PARP inhibitors.",
    )

    def test_olivia_meets_each(self):
        outcomes = [outcome(f"Inclusion Criteria:\n* {text}\n", OLIVIA) for text in self.TEXTS]
        assert "violated" not in outcomes, outcomes

    def test_the_treatment_is_not_denied(self):
        for text in self.TEXTS:
            [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria
            therapies = [a for a in iter_atoms(criterion.tree) if a.kind == "therapy"]
            assert therapies, text
            assert all(a.assertion != "negated" for a in therapies), text

    def test_no_prior_treatment_is_still_denied(self):
        text = "Inclusion Criteria:\n* No prior PARP inhibitor therapy\n"
        assert outcome(text, OLIVIA) == "violated"


class TestAWindowThatDatesAProgressionFromATreatment:
    """'progression within 6 months of the last dose of platinum' measures the platinum-free interval: the
    time from the platinum to the progression, which the site knows. Read as 'platinum in the last 6 months',
    it failed every patient whose platinum ended more than 6 months ago, however soon her cancer progressed
    after it, and excluded from a platinum-sensitive cohort any woman given platinum in the last 6 months.
    The platinum itself is still asked for, undated; the interval is left to the site."""

    TEXTS = (
        # NCT04657068
        "Platinum-resistant disease, defined as disease progression within 6 months of last receipt of"
        " platinum-based chemotherapy.",
        # NCT04787289
        "Platinum resistant disease (progression within six months of completing a platinum-containing"
        " protocol).",
        # NCT05998135
        "Patients with platinum-resistant, high-grade serous ovarian cancer, defined as disease progression"
        " within six months of completion of their last platinum-based chemotherapy",
        # NCT05200559
        "Platinum-resistant recurrent ovarian cancer (recurred within 6 months or less of prior platinum"
        " therapy)",
        # NCT04300556
        "For participant with 2-3 lines of platinum-containing therapy: progression during or within 6 months"
        " after the last dose of the 2nd or 3rd platinum-containing regimen",
    )

    def test_no_platinum_or_cancer_takes_the_window(self):
        for text in self.TEXTS:
            [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria
            atoms = [a for a in iter_atoms(criterion.tree) if a.kind in ("therapy", "condition")]
            assert any(a.kind == "therapy" for a in atoms), text
            assert all(a.window is None for a in atoms if a.kind == "therapy" or "cancer" in a.text), text

    def test_a_woman_whose_platinum_ended_months_ago_is_not_failed(self):
        outcomes = [outcome(f"Inclusion Criteria:\n* {text}\n", OLIVIA) for text in self.TEXTS]
        assert "violated" not in outcomes, outcomes

    def test_a_platinum_sensitive_cohort_does_not_exclude_recent_platinum(self):
        # NCT04890613: 'Platinum Sensitive with no evidence of disease progression within 6 months of the last
        # dose of platinum-based chemotherapy'
        text = (
            "Inclusion Criteria:\n* Platinum Sensitive with no evidence of disease progression within 6"
            " months of the last dose of platinum-based chemotherapy\n"
        )
        recent = PatientFacts(
            birth_date=OLIVIA.birth_date,
            sex="female",
            history_confirmed_on=OLIVIA.history_confirmed_on,
            diagnoses=OLIVIA.diagnoses,
            therapies=(
                therapy("therapy:1", "carboplatin", 1, datetime.date(2026, 6, 1), datetime.date(2026, 10, 1)),
            ),
        )
        assert outcome(text, recent) != "violated"

    def test_a_progression_on_platinum_denied_is_no_platinum_denied(self):
        # NCT05327010: the progression is denied; Olivia had platinum and her cancer is platinum-sensitive
        text = (
            "Inclusion Criteria:\n* Patients with ovarian cancer in cohort 3 should not have progressed on"
            " platinum within six months of therapy\n"
        )
        assert outcome(text, OLIVIA) != "violated"

    def test_a_window_from_the_treatment_to_enrolment_is_kept(self):
        # NCT06580314: randomisation is now, so the last chemotherapy must be within 12 weeks of today
        text = (
            "Inclusion Criteria:\n* Patients must be randomized at least 3 weeks and no more than 12 weeks"
            " after their last dose of chemotherapy\n"
        )
        [criterion] = parse_eligibility(text).criteria
        [chemo] = [a for a in iter_atoms(criterion.tree) if a.kind == "therapy"]
        assert chemo.window is not None


class TestPatientsOnATreatmentMustBindThosePatients:
    """'Patients on X must ...' / 'For patients receiving X, they must ...' binds the patients on X, as
    'Patients with X must ...' binds those with X. Read as a requirement of everyone, it asked Paolo, who
    takes no anticoagulant, statin or antihypertensive, to be on one."""

    TEXTS = (
        # NCT04820179
        "For patients receiving therapeutic anticoagulation, they must have a stable anticoagulant regimen.",
        # NCT05685602
        "Patients on a cholesterol lowering statin must be on a stable dose with no dose changes within 3"
        " weeks prior to study start",
        # NCT03564340
        "Patients taking anti-hypertensive medication must be on a stable anti-hypertensive regimen",
    )

    def test_paolo_is_not_failed(self):
        outcomes = [outcome(f"Inclusion Criteria:\n* {text}\n", PAOLO) for text in self.TEXTS]
        assert "violated" not in outcomes, outcomes

    def test_a_population_the_parser_cannot_read_still_binds_everyone(self):
        [criterion] = parse_eligibility(
            "Inclusion Criteria:\n* Patients on study must use contraception\n"
        ).criteria
        assert not any(a.kind == "therapy" for a in iter_atoms(criterion.tree))


class TestCancersListedAroundOneTheParserCannotReadAreAlternatives:
    """'breast cancer, ovarian cancer, BTC, endometrial cancer or squamous non-small cell lung cancer': the
    biliary tract cancer's abbreviation, which the vocabulary lacks, broke the list in two, and the two halves
    were both required, so a woman with ovarian cancer failed a trial that lists it."""

    def test_a_listed_cancer_is_met_across_an_unread_item(self):
        # NCT05123482
        text = (
            "Inclusion Criteria:\n* Histologically or cytologically confirmed metastatic or locally"
            " advanced/recurrent breast cancer, ovarian cancer, BTC, endometrial cancer or squamous non-small"
            " cell lung cancer.\n"
        )
        assert outcome(text, OONA) == "satisfied"
        assert outcome(text, OLIVIA) == "satisfied"

    def test_the_list_still_excludes_a_cancer_it_does_not_name(self):
        text = "Inclusion Criteria:\n* Breast cancer, HNSCC, endometrial cancer or melanoma\n"
        assert outcome(text, PAOLO) == "violated"


class TestTumourMarkersAreKnownLabs:
    """CA-125 (ovarian cancer; GCIG progression is CA-125 at least twice the upper limit) and CA 19-9
    (pancreatic cancer) were unknown words, so every limit on them was unreadable; 'U/mL' was no unit."""

    def test_olivias_ca125_meets_twice_the_upper_limit(self):
        # NCT03564340: 'serum CA-125 level >= 2 x upper limit of normal (ULN)'
        labs = (LabFact("lab:1", "CA-125", "10334-1", 88.0, "U/mL", LABS_ON, 0.0, 35.0),)
        olivia = _with_labs(OLIVIA, labs)
        text = "Inclusion Criteria:\n* Serum CA-125 level >= 2 x upper limit of normal (ULN)\n"
        assert outcome(text, olivia) == "satisfied"
        assert outcome("Inclusion Criteria:\n* CA-125 > 35 U/mL\n", olivia) == "satisfied"
        assert outcome(text, OONA) == "unknown"

    def test_ca19_9_is_read(self):
        [criterion] = parse_eligibility("Inclusion Criteria:\n* CA 19-9 <= 1000 U/mL\n").criteria
        [lab] = [a for a in iter_atoms(criterion.tree) if a.kind == "lab"]
        assert lab.concept is not None
        assert lab.concept.code == "24108-3"
        assert (lab.comparator, lab.value, lab.unit) == ("<=", 1000.0, "U/mL")
        assert outcome("Inclusion Criteria:\n* CA 19-9 <= 1000 U/mL\n", PAOLO) == "unknown"

    def test_btc_is_biliary_tract_cancer(self):
        [criterion] = parse_eligibility("Inclusion Criteria:\n* Advanced BTC\n").criteria
        assert [a.concept.code for a in iter_atoms(criterion.tree) if a.concept] == ["cholangiocarcinoma"]


def _with_labs(patient: PatientFacts, labs: tuple[LabFact, ...]) -> PatientFacts:
    return dataclasses.replace(patient, labs=labs)


class TestALowGradeOrMucinousOvarianCancerIsNotEveryOvarianCancer:
    """An exclusion of low-grade serous or mucinous ovarian cancer names a histology the diagnosis code does
    not carry: it is a question for the site, not met by every ovarian cancer. Before, it excluded Olivia,
    whose cancer is high-grade serous, and every woman with ovarian cancer."""

    TEXTS = (
        # NCT05512208
        "Low grade serous ovarian cancer (LGSOC).",
        # NCT06083844
        "Histology showing mucinous or low-grade epithelial ovarian carcinoma.",
    )

    def test_the_exclusion_is_not_met(self):
        outcomes = [
            outcome(f"Exclusion Criteria:\n* {text}\n", patient)
            for text in self.TEXTS
            for patient in (OLIVIA, OONA)
        ]
        assert "violated" not in outcomes, outcomes

    def test_high_grade_serous_ovarian_cancer_is_still_met(self):
        text = "Inclusion Criteria:\n* High-grade serous ovarian cancer\n"
        assert outcome(text, OLIVIA) == "satisfied"
