"""Sentences of the 2026 oncology registry (data/oncology_trials_2026) about the treatments a patient had, the
parser misread for patients of every cancer, each matched against the patient it wrongly excluded or let in
(no database).

Ines, 64, ECOG 1, metastatic pancreatic ductal adenocarcinoma, had FOLFIRINOX (2025-07 to 2026-01) and then
gemcitabine with nab-paclitaxel (2026-02 to 2026-10-15): her last chemotherapy ended 53 days before today. She
never had radiotherapy, immunotherapy or an investigational drug; her gallbladder was removed in 2019."""

import dataclasses
import datetime

from nlp import parse_eligibility
from nlp.extract import find_windows
from recruitment.matching import DiagnosisFact, PatientFacts, ProcedureFact, evaluate
from tests.recruitment.fact_helpers import therapy

TODAY = datetime.date(2026, 12, 7)


FIRST_LINE = (datetime.date(2025, 7, 1), datetime.date(2026, 1, 31))
SECOND_LINE = (datetime.date(2026, 2, 1), datetime.date(2026, 10, 15))
INES = PatientFacts(
    birth_date=datetime.date(1962, 3, 3),
    sex="female",
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
    therapies=(
        therapy("therapy:1", "folfirinox", 1, *FIRST_LINE),
        therapy("therapy:2", "gemcitabine", 2, *SECOND_LINE),
        therapy("therapy:3", "paclitaxel", 2, *SECOND_LINE),
    ),
    procedures=(
        ProcedureFact("procedure:1", "surgery", "cholecystectomy", performed_on=datetime.date(2019, 5, 2)),
    ),
)
# Ines had she stopped her gemcitabine and nab-paclitaxel ten days ago.
INES_TEN_DAYS_OFF = dataclasses.replace(
    INES,
    therapies=(
        therapy("therapy:1", "folfirinox", 1, *FIRST_LINE),
        therapy("therapy:2", "gemcitabine", 2, SECOND_LINE[0], datetime.date(2026, 11, 27)),
        therapy("therapy:3", "paclitaxel", 2, SECOND_LINE[0], datetime.date(2026, 11, 27)),
    ),
)


def outcome(text: str, patient: PatientFacts) -> str:
    """The outcome of the only criterion parsed from `text` for `patient`."""
    [verdict] = evaluate(parse_eligibility(text).criteria, patient, today=TODAY).criteria
    return str(verdict.outcome)


def exclusion(text: str, patient: PatientFacts) -> str:
    return outcome(f"Exclusion Criteria:\n* {text}\n", patient)


def inclusion(text: str, patient: PatientFacts) -> str:
    return outcome(f"Inclusion Criteria:\n* {text}\n", patient)


class TestAWashoutAmongTheInclusionsAsksForNoRecentTreatment:
    """An inclusion that a treatment "must have been completed" some time before the study, or a washout
    period per treatment, asks that none of the treatments it names was given in that time: a patient never
    given them meets it. Without a window the parser found (an "or five half-lives" between the weeks and
    "before", a treatment "completed 1 week prior", "greater than 4 weeks ... beyond", a washout header
    over its treatments), it read the treatments as ones the patient must have had, each of them, and
    excluded Ines, who never had radiotherapy, and let in a patient whose chemotherapy just ended."""

    def test_a_list_of_treatments_completed_weeks_or_half_lives_before(self):
        # NCT05039801
        text = (
            "Prior treatment with chemotherapy, radiotherapy, immunotherapy or any investigational therapies "
            "must have been completed at least 3 weeks or at least five half lives, whichever is shorter, "
            "before the study drug administration."
        )
        assert [inclusion(text, p) for p in (INES, INES_TEN_DAYS_OFF)] == ["satisfied", "violated"]

    def test_a_treatment_completed_a_week_before(self):
        # NCT04657068
        text = "Palliative radiotherapy must have completed 1 week prior to the start of study treatment."
        assert inclusion(text, INES) == "satisfied"

    def test_weeks_beyond_any_chemotherapy_with_longer_ones_for_some_drugs(self):
        # NCT05327010
        text = (
            "Patients must be greater than 4 weeks (6 weeks for nitrosoureas or mitomycin C) beyond "
            "treatment with any chemotherapy"
        )
        assert [inclusion(text, p) for p in (INES, INES_TEN_DAYS_OFF)] == ["satisfied", "violated"]

    def test_a_washout_header_over_one_treatment_per_sub_item(self):
        # NCT05950464
        text = (
            "Inclusion Criteria:\n"
            "* Washout periods (due to risk of myelosuppression):\n\n"
            "  * Cytotoxic chemotherapy - 3 weeks.\n"
            "  * Radiation therapy - 2 weeks.\n"
        )
        assert [outcome(text, p) for p in (INES, INES_TEN_DAYS_OFF)] == ["satisfied", "violated"]

    def test_a_range_of_weeks_on_a_washout_line_is_no_window_of_its_upper_end(self):
        windows = [w for _, _, w in find_windows("Washout period: randomised 2-4 weeks after chemotherapy")]
        assert all(w.amount != 4 for w in windows)
