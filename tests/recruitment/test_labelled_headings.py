"""Section headings with a label before their kind ("Treatment Exclusion Criteria:", "PROCUREMENT EXCLUSION
CRITERIA:", "The main exclusion criteria include but are not limited to the following:"), a lead-in after
their colon, or a long aside in brackets. Read as ordinary lines, they left a whole exclusion list among the
inclusions (so Omar, a man, had to be "Pregnant or lactating" to enter NCT07297160), or made one header over
every item below, whose "not limited to" negated the whole list (NCT04471727). Real registry lines from
data/oncology_trials_2026 and the legacy XML records."""

import datetime

import pytest

from nlp import parse_eligibility
from nlp.text import section_of_heading
from recruitment.matching import DiagnosisFact, PatientFacts, evaluate

TODAY = datetime.date(2026, 12, 7)
OMAR = PatientFacts(
    birth_date=datetime.date(1960, 1, 1),
    sex="male",
    diagnoses=(DiagnosisFact("diagnosis:1", "luad", "lung adenocarcinoma", stage="IV"),),
)


@pytest.mark.parametrize(
    ("line", "section"),
    [
        ("Treatment Exclusion Criteria:", "exclusion"),  # NCT03740256
        ("Procurement Inclusion Criteria", "inclusion"),  # NCT03740256
        ("PROCUREMENT EXCLUSION CRITERIA:", "exclusion"),  # NCT07297160
        ("Phase 1 and 2 Exclusion Criteria:", "exclusion"),  # NCT06249048
        ("Recent medical concerns exclusions:", "exclusion"),  # NCT06249048
        ("The main exclusion criteria include but are not limited to the following:", "exclusion"),
        ("Selected Inclusion Criteria:", "inclusion"),  # NCT05267626
        ("CRITERIA FOR EXCLUSION:", "exclusion"),
        ("Nivolumab Specific Exclusion Criteria for MSI-H Cohort:", "exclusion"),  # NCT03803553
        # NCT06117774
        (
            "Exclusion Criteria: -Participants are excluded from the study if any of the following criteria"
            " apply:",
            "exclusion",
        ),
        # NCT05566223
        (
            "Exclusion Criteria (1st Screening prior to Tumor Resection - See below for evaluation of"
            " continuing eligibility prior to start of investigational treatment):",
            "exclusion",
        ),
        # NCT06047379: a protocol's section number, and its aside after the colon; its whole exclusion list
        # stood among the inclusions, so Carlos had to have had radiotherapy to CNS lesions.
        ("9.2 Exclusion Criteria: (all Phases)", "exclusion"),
        ("4.1.2 Exclusion Criteria", "exclusion"),
    ],
)
def test_a_labelled_heading_opens_its_section(line: str, section: str) -> None:
    assert section_of_heading(line) == section


@pytest.mark.parametrize(
    "line",
    [
        "Other protocol-defined Inclusion/Exclusion criteria apply.",
        "Other exclusion criteria are claustrophobia, pregnancy (as determined by pregnancy testing",
        "Incomplete inclusion criteria",
        "For the MRI, the following exclusion criteria apply:",
        "For inclusion, the subject must:",
        "history of previous malignancies within 5 years prior to inclusion",
        "Subjects should not enter the study if any of the following exclusion criteria are fulfilled:",
        "The main inclusion and exclusion criteria include but are not limited to the following:",
        "CNS Inclusion - based on contrast brain magnetic resonance imaging, participants may have any of the"
        " following:",
        "Tumor eligibility:",
    ],
)
def test_a_sentence_or_group_header_naming_criteria_is_no_heading(line: str) -> None:
    assert section_of_heading(line) is None


# NCT07297160, shortened: its exclusions stood under an unread upper-case heading.
PROCUREMENT = (
    "PROCUREMENT INCLUSION CRITERIA:\n\n"
    "* Age ≥18 years\n\n"
    "PROCUREMENT EXCLUSION CRITERIA:\n\n"
    "* Pregnant or lactating\n"
    "* Active hepatitis B or hepatitis C infection\n"
)


def test_omar_is_not_asked_to_be_pregnant_by_exclusions_under_an_upper_case_heading() -> None:
    parsed = parse_eligibility(PROCUREMENT)
    sections = {c.text.strip(): c.section for c in parsed.criteria}
    assert sections["Pregnant or lactating"] == "exclusion"
    outcomes = {v.text.strip(): str(v.outcome) for v in evaluate(parsed.criteria, OMAR, today=TODAY).criteria}
    assert outcomes["Pregnant or lactating"] == "satisfied"


# NCT06780098, shortened.
MAIN_CRITERIA = (
    "Inclusion Criteria:\n\n"
    "The main inclusion criteria include but are not limited to the following:\n\n"
    "* Histologically or cytologically confirmed diagnosis of Stage IV squamous non-small cell lung cancer"
    " (NSCLC)\n"
    "* Participants with history of Hepatitis C virus (HCV) infection are eligible if HCV viral load is"
    " undetectable\n\n"
    "Exclusion Criteria:\n\n"
    "The main exclusion criteria include but are not limited to the following:\n\n"
    "* Diagnosis of small cell lung cancer or, for mixed tumors, presence of small cell elements\n"
    "* Has uncontrolled or significant cardiovascular disorder\n"
)


def test_items_under_a_not_limited_to_lead_in_are_separate_criteria_and_not_negated() -> None:
    parsed = parse_eligibility(MAIN_CRITERIA)
    texts = [c.text for c in parsed.criteria]
    assert not any("not limited to" in text for text in texts)
    assert len(parsed.criteria) == 4
    outcomes = {v.text[:20]: str(v.outcome) for v in evaluate(parsed.criteria, OMAR, today=TODAY).criteria}
    # Omar's adenocarcinoma is not the squamous NSCLC asked for, and not the small cell lung cancer excluded.
    assert outcomes["Histologically or cy"] == "violated"
    assert outcomes["Diagnosis of small c"] == "satisfied"


def test_a_labelled_heading_names_the_cohort_it_is_for() -> None:
    parsed = parse_eligibility(
        "COHORT 6 Inclusion Criteria:\n\n* Diffuse midline glioma\n\nCOHORT 6 Exclusion Criteria:\n\n* Prior"
        " radiotherapy\n"
    )
    assert [(c.section, c.cohort) for c in parsed.criteria] == [
        ("inclusion", "COHORT 6"),
        ("exclusion", "COHORT 6"),
    ]
