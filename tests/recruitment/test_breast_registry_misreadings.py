"""Sentences of the 2026 oncology registry (data/oncology_trials_2026) the parser misread for a woman with
metastatic HR-positive, HER2-low breast cancer, each matched against the patient it wrongly excluded (no
database).

Bea, 52, postmenopausal, ECOG 1, stage IV breast cancer (ER+, PR+, HER2 IHC 1+, PIK3CA H1047R), had letrozole
with palbociclib until 2026-06-01 and capecitabine until 2026-10-15: her last anticancer therapy ended 53
days before today."""

import datetime

from nlp import iter_atoms, parse_eligibility
from recruitment.matching import BiomarkerFact, DiagnosisFact, PatientFacts, evaluate
from tests.recruitment.fact_helpers import therapy

TODAY = datetime.date(2026, 12, 7)


BEA = PatientFacts(
    birth_date=datetime.date(1974, 3, 10),
    sex="female",
    ecog=1,
    pregnancy_status="not_pregnant",
    breastfeeding=False,
    history_confirmed_on=datetime.date(2026, 12, 1),
    diagnoses=(
        DiagnosisFact(
            "diagnosis:1",
            "breast_cancer",
            "breast cancer",
            diagnosed_on=datetime.date(2025, 1, 15),
            stage="IV",
        ),
    ),
    biomarkers=(
        BiomarkerFact("biomarker:1", "ESR1", "expression", measure="IHC", value=3, assay="IHC"),
        BiomarkerFact("biomarker:2", "PGR", "expression", measure="IHC", value=2, assay="IHC"),
        BiomarkerFact(
            "biomarker:3",
            "ERBB2",
            "expression",
            status="negative",
            measure="IHC",
            value=1,
            assay="HercepTest",
        ),
        BiomarkerFact("biomarker:4", "PIK3CA", "mutation", protein_change="H1047R"),
    ),
    therapies=(
        therapy("therapy:1", "letrozole", 1, datetime.date(2025, 2, 1), datetime.date(2026, 6, 1)),
        therapy("therapy:2", "palbociclib", 1, datetime.date(2025, 2, 1), datetime.date(2026, 6, 1)),
        therapy("therapy:3", "capecitabine", 2, datetime.date(2026, 6, 15), datetime.date(2026, 10, 15)),
    ),
)
# Bea's sister in treatment: the same, but her capecitabine ended five days ago.
CLEO = PatientFacts(
    birth_date=BEA.birth_date,
    sex="female",
    history_confirmed_on=BEA.history_confirmed_on,
    diagnoses=BEA.diagnoses,
    therapies=(
        therapy("therapy:1", "capecitabine", 1, datetime.date(2026, 6, 15), datetime.date(2026, 12, 2)),
    ),
)


def outcome(text: str, patient: PatientFacts) -> str:
    """The outcome of the only criterion parsed from `text` for `patient`."""
    [verdict] = evaluate(parse_eligibility(text).criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


class TestAWashoutWindowKeptWithItsTherapy:
    """A washout excludes a recent treatment, not every treatment ever given. These phrasings lost their
    window, so Bea, whose capecitabine ended seven weeks ago, was excluded as if it were a lifetime."""

    TEXTS = (
        # NCT06218914
        "Systemic therapy within at least 2 weeks or 3 half-lives, whichever is shorter, prior to"
        " enrollment.",
        # NCT05989724
        "Anticancer therapy within 5 half-lives or 2 weeks (whichever is shorter) prior to study entry.",
        # NCT05947851
        "Has received prior systemic anticancer therapy within 5 half-lives or 4 weeks prior to study entry.",
        # NCT05030038
        "Administered chemotherapy less than 4 weeks prior to enrollment.",
    )

    def test_bea_whose_last_therapy_ended_seven_weeks_ago_is_not_excluded(self):
        assert [outcome(f"Exclusion Criteria:\n* {text}\n", BEA) for text in self.TEXTS] == ["satisfied"] * 4

    def test_cleo_whose_chemotherapy_ended_five_days_ago_is_excluded(self):
        assert [outcome(f"Exclusion Criteria:\n* {text}\n", CLEO) for text in self.TEXTS] == ["violated"] * 4

    def test_no_less_than_is_a_lower_bound(self):
        # NCT05411718: "willing to stop no less than 7 days prior to starting": at least 7 days, not within 7.
        [criterion] = parse_eligibility(
            "Exclusion Criteria:\n* Aspirin no less than 7 days prior to study entry\n"
        ).criteria
        [aspirin] = iter_atoms(criterion.tree)
        assert aspirin.window is not None
        assert (aspirin.window.relation, aspirin.window.amount) == ("at_least", 7)


class TestATreatmentToComeIsNoHistory:
    """A treatment the patient is scheduled for, expected to receive or considered for is a plan the site
    knows, not a treatment she had. Read as history, Bea's capecitabine met "Scheduled to undergo neoadjuvant
    systemic chemotherapy" (an exclusion), and her lack of paclitaxel or surgery failed inclusions that only
    say what she is to receive."""

    def test_bea_is_not_excluded_by_a_chemotherapy_she_is_scheduled_for(self):
        # NCT06127979
        text = "Exclusion Criteria:\n* Scheduled to undergo neoadjuvant systemic chemotherapy\n"
        assert outcome(text, BEA) != "violated"

    def test_bea_fails_no_inclusion_for_a_treatment_to_come(self):
        texts = (
            # NCT06127979
            "Scheduled to undergo upfront surgery",
            # NCT03987555
            "Individuals receiving treatment at the Wake Forest Comprehensive Cancer Center who are"
            " anticipated to receive paclitaxel for curative or palliative intent",
            "Patients considered for curative or palliative chemotherapy with paclitaxel 60-175 mg/m2",
        )
        outcomes = [outcome(f"Inclusion Criteria:\n* {text}\n", BEA) for text in texts]
        assert outcomes == [
            "not_checkable",
            "satisfied",
            "not_checkable",
        ]  # the second also asks for a cancer

    def test_a_treatment_had_is_still_history(self):
        # NCT05996107: "Prior history of CDK4/6 inhibitor therapy" still excludes Bea, who had palbociclib.
        assert (
            outcome("Exclusion Criteria:\n* Prior history of CDK4/6 inhibitor therapy.\n", BEA) == "violated"
        )
