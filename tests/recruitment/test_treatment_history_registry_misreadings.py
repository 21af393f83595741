"""Sentences of the 2026 oncology registry (data/oncology_trials_2026) about the treatments a patient had, the
parser misread for patients of every cancer, each matched against the patient it wrongly excluded or let in
(no database).

Ines, 64, ECOG 1, metastatic pancreatic ductal adenocarcinoma, had FOLFIRINOX (2025-07 to 2026-01) and then
gemcitabine with nab-paclitaxel (2026-02 to 2026-10-15): her last chemotherapy ended 53 days before today. She
never had radiotherapy, immunotherapy or an investigational drug; her gallbladder was removed in 2019."""

import dataclasses
import datetime

from nlp import iter_atoms, parse_eligibility
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


class TestAnExceptionToARecoveryIsNoToxicityTheTrialRequires:
    """An inclusion asking for recovery from the toxicities of prior treatment "except for" some of them names
    what a patient may still have: read as a requirement, its "peripheral neuropathy" excluded Ines, who has
    none. Whether she recovered is for the site, and so is whether a remaining toxicity is one excepted."""

    def test_an_exception_after_the_recovery_from_chemotherapy(self):
        # NCT04633239
        text = (
            "Patients who received chemotherapy must have recovered (Common Terminology Criteria for Adverse "
            "Events [CTCAE] grade =< 1) from the acute effects of chemotherapy except for residual alopecia "
            "or grade 2 peripheral neuropathy"
        )
        assert inclusion(text, INES) != "violated"

    def test_a_bracketed_exception_after_a_washout(self):
        # NCT05039801
        text = (
            "Prior treatment with chemotherapy, radiotherapy, immunotherapy or any investigational therapies "
            "must have been completed at least 3 weeks or at least five half lives, whichever is shorter, "
            "before the study drug administration, and all AEs (excluding alopecia and peripheral "
            "neuropathy) have either returned to <=Grade 1 or stabilized."
        )
        assert inclusion(text, INES) != "violated"
        assert inclusion(text, INES_TEN_DAYS_OFF) == "violated"

    def test_an_item_listing_the_exceptions_to_the_recovery_before_it(self):
        # NCT05512208
        text = (
            "Inclusion Criteria:\n"
            "9. Adequate recovery from toxicities related to prior treatments to at least Grade 1 by CTCAE "
            "v 5.0\n"
            "10. Exceptions include alopecia and peripheral neuropathy Grade <=2. Subjects with other "
            "toxicities that are stable on supportive therapy may be allowed.\n"
        )
        verdicts = evaluate(parse_eligibility(text).criteria, INES, today=TODAY).criteria
        assert [str(v.outcome) for v in verdicts if str(v.outcome) == "violated"] == []

    def test_a_neuropathy_an_inclusion_asks_for_outside_a_recovery_is_still_required(self):
        assert inclusion("Grade 2 or higher peripheral neuropathy", INES) == "violated"


class TestAnIntoleranceOrAPlanIsNoTreatmentHistory:
    """A treatment the patient did not tolerate, or one the trial plans for them, is a judgement for the site,
    not a treatment the patient had: an exclusion of an intolerance to two drugs excluded Ines, who had both
    and bore them; an inclusion of a cancer "for which gemcitabine is an appropriate treatment" or of a
    patient to receive a regimen counted her history instead."""

    def test_an_intolerance_shared_by_a_list_of_drugs_written_far_after_it(self):
        # NCT04421820
        text = "Previous intolerance to or significant reaction secondary to fluorouracil or oxaliplatin"
        assert exclusion(text, INES) != "violated"

    def test_a_cancer_for_which_a_drug_is_an_appropriate_treatment(self):
        # NCT04657068: Ines had gemcitabine; whether it is appropriate for her now is the site's question.
        text = "Advanced or metastatic cancer for which gemcitabine is an appropriate treatment."
        [verdict] = evaluate(
            parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria, INES, today=TODAY
        ).criteria
        assert [str(a.truth) for a in verdict.atoms if a.text == "gemcitabine"] == ["not_checkable"]

    def test_a_treatment_the_patient_is_subject_to_receive_or_decided_for(self):
        # NCT04421820, NCT07124000: neither a FOLFOX nor a T-DXd on file is the plan.
        for text in (
            "Histologically and/or cytologically confirmed gastrointestinal tumours that are metastatic or "
            "unresectable, and are subject to receive FOLFOX as SOC per investigator's judgement.",
            "A clinician decision has been made for treatment with T-DXd in accordance with the FDA label;",
        ):
            [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria
            assert not any(a.checkable for a in iter_atoms(criterion.tree) if a.kind == "therapy")

    def test_a_drug_that_failed_for_the_cancer_is_still_history(self):
        text = "Advanced cancer for which gemcitabine has failed."
        [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria
        assert [a.checkable for a in iter_atoms(criterion.tree) if a.kind == "therapy"] == [True]


class TestAConcurrentTreatmentIsSharedByItsExamplesAndItsList:
    """ "Concurrent" asks about the treatment given now. Its examples in brackets, and a list whose first item
    no term names, share it: read without it, a surgery or a radiotherapy years ago, or any anticancer therapy
    ever, met the exclusion (Ines's gallbladder surgery in 2019, her chemotherapy that ended in October)."""

    def test_the_examples_of_a_concurrent_treatment_for_cns_disease(self):
        # NCT05267626, NCT05592626. (The dose "10 mg prednisone/day or equivalent" is its yardstick, no
        # prednisone: tests/recruitment/test_steroid_doses.py.)
        text = (
            "No concurrent treatment for CNS disease (e.g., surgery, radiation, corticosteroids >= 10 mg "
            "prednisone/day or equivalent)"
        )
        [verdict] = evaluate(
            parse_eligibility(f"Inclusion Criteria:\n* {text}\n").criteria, INES, today=TODAY
        ).criteria
        truths = {a.text: str(a.truth) for a in verdict.atoms}
        assert (truths["surgery"], truths["radiation"], truths["corticosteroids"]) == ("not_met",) * 3

    def test_a_concurrent_list_after_an_unnamed_investigational_therapy(self):
        # NCT04421820
        text = (
            "Any condition potentially decreasing compliance to study procedures. Concurrent use of another "
            "investigational therapy or anti-cancer therapy."
        )
        assert exclusion(text, INES) == "satisfied"
        ongoing = dataclasses.replace(
            INES, therapies=(therapy("therapy:1", "gemcitabine", 2, datetime.date(2026, 2, 1)),)
        )
        assert exclusion(text, ongoing) == "violated"


class TestASurgeryOrRadiotherapyOfOneSiteOrExtentIsNotAnyOther:
    """A resection of the bowel, a surgery of the stomach, or radiation to more than a quarter of the bone
    marrow names a procedure no profile records by its site or extent: read as any surgery or any
    radiotherapy, Ines's gallbladder surgery met an exclusion meant for patients who cannot absorb a pill."""

    def test_a_bowel_resection_is_not_any_surgery(self):
        # NCT05123482, NCT06188520, NCT04079179
        text = "History of significant bowel resection that would preclude adequate absorption"
        assert exclusion(text, INES) == "unknown"

    def test_an_organ_before_the_surgery_of_a_list(self):
        # NCT04383262
        assert exclusion("A history of gastric or esophageal surgery", INES) == "unknown"

    def test_radiation_to_a_share_of_the_bone_marrow_is_not_any_radiotherapy(self):
        # NCT05950464, NCT05053971, NCT05327010
        irradiated = dataclasses.replace(
            INES,
            procedures=(
                ProcedureFact(
                    "procedure:1",
                    "radiotherapy",
                    "palliative radiotherapy",
                    performed_on=datetime.date(2026, 3, 1),
                ),
            ),
        )
        text = "Patients with radiation to > 25% of the bone marrow"
        assert [exclusion(text, p) for p in (INES, irradiated)] == ["satisfied", "unknown"]

    def test_a_surgery_named_without_a_site_is_still_any_surgery(self):
        assert exclusion("Prior surgery within 4 weeks", INES) == "satisfied"
        assert exclusion("History of surgery", INES) == "violated"


class TestASignBeforeWeeksSinceATreatmentDatesIt:
    """ ">=2 weeks since any major surgery" (a sign, then the weeks since) is a washout like "at least 2 weeks
    since": the parser found no window after a sign with no word before it, and required the surgery."""

    def test_weeks_since_a_surgery_after_a_sign(self):
        # NCT03586453
        text = "Participants must be >=2 weeks since any major surgery"
        assert inclusion(text, INES) == "satisfied"
        assert inclusion("Participants must be ≥2 weeks since any prior radiotherapy", INES) == "satisfied"

    def test_a_sign_before_weeks_prior_to_the_study_still_reads_no_window(self):
        # NCT06657222: "administered >= 28 days prior to C1D1" may date a population's radiotherapy.
        [criterion] = parse_eligibility(
            "Inclusion Criteria:\n* Subjects must have received radiotherapy >= 28 days prior to C1D1\n"
        ).criteria
        assert [a.window for a in iter_atoms(criterion.tree)] == [None]
