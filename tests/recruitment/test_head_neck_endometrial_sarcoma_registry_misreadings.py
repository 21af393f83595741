"""Sentences of the 2026 oncology registry (data/oncology_trials_2026) the parser misread for three patients
with head and neck cancer, endometrial cancer and soft-tissue sarcoma, each matched against the patient it
wrongly excluded (no database).

Hugo, 65, ECOG 1, recurrent HPV-positive oropharyngeal squamous cell carcinoma (stage IV, 2023-09), PD-L1 CPS
20 (22C3); cisplatin with radiotherapy (2023-10 to 2023-12), then pembrolizumab (2025-02 to 2026-05). Edith,
68, ECOG 1, postmenopausal, stage IV endometrioid endometrial carcinoma (2024-06), dMMR / MSI-H; hysterectomy
with bilateral salpingo-oophorectomy (2024-07); carboplatin, paclitaxel and dostarlimab (2024-08 to 2025-01),
then dostarlimab maintenance to 2026-07. Soren, 51, ECOG 0, metastatic leiomyosarcoma (2025-02), doxorubicin
(2025-03 to 2025-08) and nothing else on file."""

import datetime

from nlp import parse_eligibility
from recruitment.matching import DiagnosisFact, PatientFacts, ProcedureFact, evaluate
from recruitment.matching.facts import BiomarkerFact
from tests.recruitment.fact_helpers import therapy

TODAY = datetime.date(2026, 12, 7)

HUGO = PatientFacts(
    birth_date=datetime.date(1961, 11, 2),
    sex="male",
    ecog=1,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "hnscc",
            "oropharyngeal squamous cell carcinoma, HPV-positive (p16+)",
            diagnosed_on=datetime.date(2023, 9, 1),
            stage="IV",
            course="recurrent",
        ),
    ),
    biomarkers=(
        BiomarkerFact("biomarker:1", "CD274", "expression", measure="CPS", value=20.0, assay="22C3"),
    ),
    therapies=(
        therapy("therapy:1", "cisplatin", None, datetime.date(2023, 10, 1), datetime.date(2023, 12, 15)),
        therapy("therapy:2", "pembrolizumab", 1, datetime.date(2025, 2, 1), datetime.date(2026, 5, 30)),
    ),
    procedures=(
        ProcedureFact("procedure:1", "radiotherapy", "chemoradiotherapy", datetime.date(2023, 10, 1)),
    ),
)
EDITH = PatientFacts(
    birth_date=datetime.date(1958, 5, 14),
    sex="female",
    ecog=1,
    pregnancy_status="not_pregnant",
    breastfeeding=False,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "endometrial_cancer",
            "endometrioid endometrial carcinoma",
            diagnosed_on=datetime.date(2024, 6, 10),
            stage="IV",
            histology="endometrioid",
        ),
    ),
    biomarkers=(
        BiomarkerFact("biomarker:1", "MSI", "signature", status="positive"),
        BiomarkerFact("biomarker:2", "MMR", "signature", status="positive"),
    ),
    therapies=(
        therapy("therapy:1", "carboplatin", 1, datetime.date(2024, 8, 1), datetime.date(2025, 1, 15)),
        therapy("therapy:2", "paclitaxel", 1, datetime.date(2024, 8, 1), datetime.date(2025, 1, 15)),
        therapy("therapy:3", "dostarlimab", 1, datetime.date(2024, 8, 1), datetime.date(2026, 7, 1)),
    ),
    procedures=(
        ProcedureFact("procedure:1", "hysterectomy", "hysterectomy", datetime.date(2024, 7, 1)),
        ProcedureFact(
            "procedure:2", "oophorectomy", "bilateral salpingo-oophorectomy", datetime.date(2024, 7, 1)
        ),
    ),
)
SOREN = PatientFacts(
    birth_date=datetime.date(1975, 2, 20),
    sex="male",
    ecog=0,
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "sarcoma",
            "metastatic leiomyosarcoma",
            diagnosed_on=datetime.date(2025, 2, 1),
            stage="IV",
            histology="leiomyosarcoma",
        ),
    ),
    therapies=(therapy("therapy:1", "doxorubicin", 1, datetime.date(2025, 3, 1), datetime.date(2025, 8, 1)),),
)


def outcome(text: str, patient: PatientFacts, section: str = "Exclusion") -> str:
    """The outcome of the only criterion parsed from `text`, as an item of `section`, for `patient`."""
    parsed = parse_eligibility(f"{section} Criteria:\n* {text}\n")
    [verdict] = evaluate(parsed.criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


class TestAPlannedTreatmentIsNoHistory:
    """A treatment the patient "may not have planned" is one still to come: Hugo's radiotherapy of 2023 and
    Edith's hysterectomy of 2024 are no plan."""

    def test_a_planned_radiotherapy_is_not_a_past_one(self) -> None:
        # NCT05256225
        text = (
            "Patients may not have planned external beam radiotherapy, prior to documentation of "
            "progression, after study registration"
        )
        assert outcome(text, HUGO) != "violated"

    def test_a_planned_hysterectomy_is_not_a_past_one(self) -> None:
        # NCT05256225
        text = (
            "Patients may not have a planned interval cytoreduction or hysterectomy, prior to documentation "
            "of progression, after study registration"
        )
        assert outcome(text, EDITH) != "violated"

    def test_a_recent_or_planned_surgery_still_reads_the_recent_one(self) -> None:
        # NCT06290128, NCT06290141: "Recent or planned major surgery", the recent surgery still a history
        recent = ProcedureFact("procedure:3", "surgery", "major surgery", TODAY - datetime.timedelta(days=10))
        patient = PatientFacts(
            birth_date=EDITH.birth_date, sex="female", history_confirmed_on=TODAY, procedures=(recent,)
        )
        assert outcome("Recent or planned major surgery", patient) == "violated"


class TestACumulativeDoseIsNoHistoryOfTheDrug:
    """A cap on the cumulative dose of a drug asks how much of it the patient had, which no profile records:
    Soren's doxorubicin does not tell whether he passed 350 mg/m2."""

    def test_a_cumulative_anthracycline_dose_named_before_the_drug_is_asked(self) -> None:
        # NCT04969835
        text = (
            "Has received a prior total cumulative anthracycline dose of ≥ 350 mg/m2 doxorubicin (or "
            "equivalent anthracycline dose)."
        )
        assert outcome(text, SOREN) == "unknown"

    def test_a_cumulative_dose_named_after_the_drug_is_asked(self) -> None:
        # NCT07021066
        text = (
            "Subjects who have received treatment with anthracyclines with a cumulative dose exceeding 360 "
            "mg/m2"
        )
        assert outcome(text, SOREN) == "unknown"

    def test_any_prior_anthracycline_still_rules_him_out(self) -> None:
        # NCT07125183
        assert outcome("Prior therapy with anthracycline.", SOREN) == "violated"


class TestAWomanWhoHasNotHadASurgeryIsOneWithout:
    """The words "female, who has not had a bilateral oophorectomy" describe the women excluded: the negation
    was read as the exclusion's own polarity conflict, and Edith's oophorectomy then excluded her."""

    def test_a_female_who_has_not_had_an_oophorectomy_excludes_no_one_who_has(self) -> None:
        # NCT04383262
        text = (
            "Non-post-menopausal female, who has not had a bilateral oophorectomy or medically documented "
            "ovarian failure. A subject may be considered to be post-menopausal when there is either:"
        )
        assert outcome(text, EDITH) != "violated"


class TestTheHarmsOfATreatmentListedAfterItAreAsked:
    """The words "experienced any of the following with prior immunotherapy:" list the harms of the treatment;
    the treatment alone ruled out Hugo and Edith, who had one without any of them on file."""

    TEXT = (
        "Has experienced any of the following with prior immunotherapy: any immune mediated adverse events "
        "(imAE) of Grade ≥3, immune-related severe neurologic events of any grade"
    )

    def test_the_harms_of_an_immunotherapy_are_not_the_immunotherapy(self) -> None:
        # NCT06710847
        assert outcome(self.TEXT, HUGO) != "violated"
        assert outcome(self.TEXT, EDITH) != "violated"


class TestAConcurrentTreatmentListSharesItsCueAcrossAnUnreadItem:
    """A list of treatments given now shares "concurrent" across an item no term reads ("targeted drugs"):
    Hugo's radiotherapy of 2023 is not a concurrent one."""

    def test_a_radiotherapy_after_an_unread_item_is_still_concurrent(self) -> None:
        # NCT06598007
        text = (
            "Receiving concurrent anticancer treatment (including chemotherapy, targeted drugs, radiotherapy "
            "\\[excluding the following small-area radiotherapy for bone metastasis\\], endocrine therapy, "
            "antitumor traditional Chinese Medicine)."
        )
        assert outcome(text, HUGO) != "violated"
