"""A washout among the inclusions ("At least 4 weeks must have elapsed since any chemotherapeutic agents",
NCT03476681) asks that no such treatment was given in the last 4 weeks. It was read as "had the treatment at
least 4 weeks ago": Nadia, never treated and with her history confirmed, failed it, and Theo, still on
pembrolizumab after chemotherapy that ended months ago, met it. The sentences are copied from the 2026
registry (data/oncology_trials_2026). No database."""

import datetime

import pytest

from nlp import Atom, Not, parse_eligibility
from recruitment.matching import DiagnosisFact, PatientFacts, ProcedureFact, TherapyFact, Truth, evaluate

TODAY = datetime.date(2026, 12, 7)
CONFIRMED = datetime.date(2026, 12, 1)
LUNG = (DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma"),)
CARBOPLATIN = ("chemotherapy", "platinum", "systemic_anticancer")
PEMBROLIZUMAB = ("immunotherapy", "immune_checkpoint_inhibitor", "systemic_anticancer")


def patient(*therapies: TherapyFact, confirmed: bool = True, procedures=()) -> PatientFacts:
    return PatientFacts(
        birth_date=datetime.date(1960, 5, 1),
        sex="female",
        diagnoses=LUNG,
        therapies=therapies,
        procedures=procedures,
        history_confirmed_on=CONFIRMED if confirmed else None,
    )


def carboplatin(ended_on: datetime.date | None, **more) -> TherapyFact:
    return TherapyFact("therapy:1", "carboplatin", CARBOPLATIN, ended_on=ended_on, **more)


NADIA = patient()  # never treated, history confirmed
THEO = patient(
    carboplatin(datetime.date(2026, 6, 30)),
    TherapyFact("therapy:2", "pembrolizumab", PEMBROLIZUMAB, started_on=datetime.date(2026, 8, 1)),
)
INES = patient(carboplatin(datetime.date(2026, 9, 28)))  # ten weeks ago
UMA = patient(carboplatin(datetime.date(2026, 11, 27)))  # ten days ago
WALT = patient(confirmed=False)  # nothing on file, history not confirmed

# NCT03476681 (inclusion criteria)
CHEMO_WASHOUT = (
    "At least 4 weeks must have elapsed since any chemotherapeutic agents at the time of enrollment (or 6"
    " weeks for regimens containing BCNU or mitomycin C)"
)
# NCT03476681 (inclusion criteria)
SYSTEMIC_STEROID_WASHOUT = (
    "At least 2 weeks must have elapsed since any systemic corticosteroids at the time of enrollment"
)


def verdict(text: str, facts: PatientFacts):
    return evaluate(parse_eligibility("Inclusion Criteria:\n* " + text + "\n").criteria, facts, today=TODAY)


def truth(text: str, facts: PatientFacts) -> Truth:
    return verdict(text, facts).criteria[0].truth


class TestTheChemotherapyWashout:
    def test_nadia_never_treated_meets_it(self):
        assert truth(CHEMO_WASHOUT, NADIA) is Truth.MET

    def test_ines_whose_chemotherapy_ended_ten_weeks_ago_meets_it(self):
        assert truth(CHEMO_WASHOUT, INES) is Truth.MET

    def test_uma_whose_chemotherapy_ended_ten_days_ago_fails_it(self):
        assert truth(CHEMO_WASHOUT, UMA) is Truth.NOT_MET

    def test_the_day_the_window_closes_counts_inside_it(self):
        """Stored as "no chemotherapy within the last 4 weeks", counted inclusively as every "within" window
        is: a course that ended 28 days ago is still inside it, one that ended 29 days ago is not."""
        ended = [TODAY - datetime.timedelta(days=days) for days in (27, 28, 29)]
        truths = [truth(CHEMO_WASHOUT, patient(carboplatin(day))) for day in ended]
        assert truths == [Truth.NOT_MET, Truth.NOT_MET, Truth.MET]

    def test_walt_with_nothing_on_file_is_asked_about_the_last_four_weeks(self):
        [criterion] = verdict(CHEMO_WASHOUT, WALT).criteria
        assert criterion.truth is Truth.UNKNOWN
        questions = [a.settle.text for a in criterion.atoms if a.settle is not None]
        assert "Have you been treated with chemotherapy in the last 4 weeks?" in questions

    def test_a_course_whose_end_date_is_not_known_leaves_it_open(self):
        undated = patient(carboplatin(None, ended=True))
        assert truth(CHEMO_WASHOUT, undated) is Truth.UNKNOWN

    def test_a_course_ended_in_a_month_that_straddles_the_edge_leaves_it_open(self):
        """Ended "2026-10" lies wholly before the window (from 9 November); "2026-11" straddles its edge."""
        october = patient(carboplatin(datetime.date(2026, 10, 1), ended_by=datetime.date(2026, 10, 31)))
        november = patient(carboplatin(datetime.date(2026, 11, 1), ended_by=datetime.date(2026, 11, 30)))
        assert truth(CHEMO_WASHOUT, october) is Truth.MET
        assert truth(CHEMO_WASHOUT, november) is Truth.UNKNOWN


class TestTheMostRecentCourseCounts:
    def test_theo_still_on_pembrolizumab_fails_the_anticancer_washout(self):
        text = "Last dose of previous anticancer therapy at least 21 days prior to the first dose of T3011."
        assert truth(text, THEO) is Truth.NOT_MET

    def test_an_old_course_alone_does_not_vouch_for_an_unconfirmed_history(self):
        unconfirmed = patient(carboplatin(datetime.date(2026, 6, 30)), confirmed=False)
        assert truth(CHEMO_WASHOUT, unconfirmed) is Truth.UNKNOWN


def test_the_steroid_washout_is_met_by_a_patient_who_never_had_steroids():
    assert truth(SYSTEMIC_STEROID_WASHOUT, NADIA) is Truth.MET
    last_week = datetime.date(2026, 12, 1)
    prednisone = TherapyFact("therapy:1", "prednisone", ("corticosteroid",), ended_on=last_week)
    assert truth(SYSTEMIC_STEROID_WASHOUT, patient(prednisone)) is Truth.NOT_MET


def test_a_surgery_washout_reads_the_last_operation():
    text = "Surgery for this lung cancer must be completed at least 28 days prior to registration."
    lobectomy = ProcedureFact("procedure:1", "surgery", "lobectomy", performed_on=datetime.date(2026, 11, 20))
    healed = ProcedureFact("procedure:1", "surgery", "lobectomy", performed_on=datetime.date(2026, 9, 1))
    assert truth(text, patient(procedures=(lobectomy,))) is Truth.NOT_MET
    assert truth(text, patient(procedures=(healed,))) is not Truth.NOT_MET


@pytest.mark.parametrize(
    "text",
    [
        "Must have received prior platinum-based chemotherapy at least 6 months before enrolment",
        "Patients must have had radiotherapy to the primary tumour at least 3 months before registration",
    ],
)
def test_a_treatment_the_patient_must_have_had_long_enough_ago_is_still_required(text):
    assert truth(text, NADIA) is Truth.NOT_MET


def test_the_washout_is_stored_as_no_treatment_within_the_window():
    [criterion] = parse_eligibility("Inclusion Criteria:\n* " + SYSTEMIC_STEROID_WASHOUT + "\n").criteria
    assert isinstance(criterion.tree, Not)
    assert isinstance(criterion.tree.child, Atom)
    window = criterion.tree.child.window
    assert window is not None
    assert (window.amount, window.unit, window.relation) == (2.0, "weeks", "within")


def test_an_exclusion_with_an_at_least_window_is_left_as_written():
    [criterion] = parse_eligibility("Exclusion Criteria:\n* " + SYSTEMIC_STEROID_WASHOUT + "\n").criteria
    assert isinstance(criterion.tree, Atom)
    assert criterion.tree.window is not None
    assert criterion.tree.window.relation == "at_least"


# NCT04370587 and NCT04704661 (inclusion criteria): washouts listed treatment by treatment.
LAST_DOSE = (
    "Last dose of previous anticancer therapy ≥ 21 days, radiotherapy \\> 21 days, or surgical intervention"
    " \\> 21 days prior to the first dose of T3011."
)
WASHOUT_PERIOD = (
    "Must have adequate treatment washout period before study treatment, defined as: Major surgery (\\>= 4"
    " weeks), radiation therapy (\\>= 3 weeks; in case of palliative radiation \\>= 2 weeks), systemic"
    " therapy (\\>= 3 weeks)"
)


@pytest.mark.parametrize("text", [LAST_DOSE, WASHOUT_PERIOD])
def test_a_washout_listed_treatment_by_treatment_is_met_by_nadia_and_failed_by_uma(text):
    assert truth(text, NADIA) is Truth.MET
    assert truth(text, UMA) is Truth.NOT_MET


def test_each_listed_washout_keeps_its_own_length():
    """Radiation therapy's 3 weeks, not major surgery's 4: a course that ended 25 days ago has washed out."""
    radiotherapy = ProcedureFact(
        "procedure:1", "radiotherapy", "radiotherapy", performed_on=TODAY - datetime.timedelta(days=25)
    )
    [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {WASHOUT_PERIOD}\n").criteria
    verdict = evaluate([criterion], patient(procedures=(radiotherapy,)), today=TODAY)
    [three_weeks] = [a for a in verdict.criteria[0].atoms if a.text == "radiation therapy"]
    assert three_weeks.truth is Truth.NOT_MET  # not within the last 3 weeks: the washout (its Not) holds
