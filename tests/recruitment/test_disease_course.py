"""The course of a cancer (newly diagnosed, recurrent or relapsed, refractory) as trials ask for it and as a
profile records it: read from criteria, answered by the engine, recorded by every path facts come in by."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from nlp import iter_atoms, parse_eligibility
from nlp.extract import COURSE_RULE
from nlp.patient_text import extract_patient_facts
from recruitment.matching import DiagnosisFact, PatientFacts, Truth, evaluate_tree
from recruitment.matching.from_text import facts_from_text
from recruitment.models import Diagnosis
from tests.recruitment.factories import PatientProfileFactory

TODAY = datetime.date(2026, 11, 23)


def only_criterion(line: str, section: str = "Inclusion"):
    parsed = parse_eligibility(f"{section} Criteria:\n- {line}\n")
    (criterion,) = parsed.criteria
    return criterion


def courses_read(line: str) -> list[str]:
    return [
        a.concept.code
        for a in iter_atoms(only_criterion(line).tree)
        if a.rule_id == COURSE_RULE and a.concept
    ]


def verdict(line: str, facts: PatientFacts, section: str = "Inclusion") -> Truth:
    criterion = only_criterion(line, section)
    return evaluate_tree(criterion.tree, facts, today=TODAY, section=criterion.section)[0]


def myeloma(course: str = "") -> PatientFacts:
    return PatientFacts(
        diagnoses=(DiagnosisFact("diagnosis:1", "myeloma", "multiple myeloma", course=course),)
    )


def glioblastoma(course: str = "") -> PatientFacts:
    return PatientFacts(
        diagnoses=(DiagnosisFact("diagnosis:1", "glioblastoma", "glioblastoma", course=course),)
    )


class TestReadingTheCourseATrialAsksFor:
    @pytest.mark.parametrize(
        ("line", "expected"),
        [
            ("Relapsed or refractory multiple myeloma", ["myeloma:recurrent,refractory"]),
            ("Relapsed/refractory diffuse large B-cell lymphoma", ["dlbcl:recurrent,refractory"]),
            ("Newly diagnosed glioblastoma", ["glioblastoma:newly_diagnosed"]),
            ("Recurrent or progressive glioma", ["glioma:recurrent,progressive"]),
        ],
    )
    def test_a_course_named_before_a_cancer_is_a_checkable_requirement(self, line, expected):
        assert courses_read(line) == expected

    @pytest.mark.parametrize(
        "line",
        [
            # one alternative among words that are not courses: "metastatic" alone would do
            "Recurrent or metastatic squamous cell carcinoma of the head and neck",
            # resistance to one drug, not the cancer's course
            "Platinum-refractory ovarian cancer",
            # a further narrowing no profile records: the site asks
            "Relapsed symptomatic multiple myeloma",
            # not a cancer
            "Patients with progressive multiple sclerosis",
        ],
    )
    def test_a_course_word_that_does_not_state_the_cancers_course_is_not_read_as_one(self, line):
        assert courses_read(line) == []

    def test_a_cap_on_treatments_for_a_refractory_cancer_stays_a_question_for_the_site(self):
        # "No more than 2 prior regimens for refractory lymphoma" limits treatments: a patient without
        # lymphoma meets it, so the course is not made a requirement of it.
        assert courses_read("No more than 2 prior regimens for refractory lymphoma") == []


class TestAnsweringItFromTheProfile:
    """Rosa has multiple myeloma; Nadia glioblastoma."""

    @pytest.mark.parametrize(
        ("course", "expected"),
        [
            ("recurrent", Truth.MET),
            ("refractory", Truth.MET),
            ("newly_diagnosed", Truth.NOT_MET),
            ("", Truth.UNKNOWN),
        ],
    )
    def test_rosas_relapsed_or_refractory_trial(self, course, expected):
        assert verdict("Relapsed or refractory multiple myeloma", myeloma(course)) is expected

    @pytest.mark.parametrize(
        ("course", "expected"),
        [("newly_diagnosed", Truth.MET), ("recurrent", Truth.NOT_MET), ("refractory", Truth.NOT_MET)],
    )
    def test_nadias_newly_diagnosed_trial(self, course, expected):
        assert verdict("Newly diagnosed glioblastoma", glioblastoma(course)) is expected

    def test_a_relapsed_cancer_may_or_may_not_be_refractory(self):
        assert verdict("Refractory multiple myeloma", myeloma("recurrent")) is Truth.UNKNOWN

    def test_a_recurrent_cancer_is_progressive(self):
        assert verdict("Recurrent or progressive glioblastoma", glioblastoma("recurrent")) is Truth.MET

    def test_an_excluded_course_applies_only_to_that_course(self):
        line = "Recurrent glioblastoma"
        assert verdict(line, glioblastoma("recurrent"), "Exclusion") is Truth.MET
        assert verdict(line, glioblastoma("newly_diagnosed"), "Exclusion") is Truth.NOT_MET

    def test_an_unrecorded_course_is_a_question_never_a_guess(self):
        criterion = only_criterion("Newly diagnosed glioblastoma")
        truth, results = evaluate_tree(criterion.tree, glioblastoma(), today=TODAY, section="inclusion")
        assert truth is Truth.UNKNOWN
        asked = [r.settle.text for r in results if r.settle is not None]
        assert asked == [
            "Is your glioblastoma newly diagnosed, has it come back after treatment (recurrent or relapsed),"
            " or has it not responded to treatment (refractory)?"
        ]

    def test_the_course_of_another_cancer_does_not_answer(self):
        facts = PatientFacts(
            diagnoses=(
                DiagnosisFact("diagnosis:1", "myeloma", "multiple myeloma"),
                DiagnosisFact("diagnosis:2", "breast_cancer", "breast cancer", course="recurrent"),
            )
        )
        assert verdict("Relapsed multiple myeloma", facts) is Truth.UNKNOWN


class TestReadingItFromANote:
    @pytest.mark.parametrize(
        ("note", "expected"),
        [
            ("A 64-year-old man with relapsed multiple myeloma after VAD.", "recurrent"),
            ("She presented with relapse of her myeloma.", "recurrent"),
            ("Newly diagnosed glioblastoma in a 50-year-old woman.", "newly_diagnosed"),
            ("58 yo woman with relapsed/refractory DLBCL.", "refractory"),
            ("Recurrent or metastatic breast cancer.", ""),
        ],
    )
    def test_the_course_a_note_gives_its_cancer(self, note, expected):
        facts = facts_from_text(extract_patient_facts(note), today=TODAY)
        assert [d.course for d in facts.diagnoses] == [expected]

    def test_a_family_members_relapse_is_not_the_patients(self):
        facts = facts_from_text(extract_patient_facts("Her mother had relapsed breast cancer."), today=TODAY)
        assert all(not d.course for d in facts.diagnoses)


@pytest.mark.django_db
class TestRecordingIt:
    def test_a_course_is_recorded_for_cancers_only(self):
        patient = PatientProfileFactory.create()
        asthma = Diagnosis(patient=patient, code="asthma", course="recurrent")
        with pytest.raises(ValidationError) as refused:
            asthma.full_clean()
        assert "course" in refused.value.message_dict

    def test_a_ruled_out_cancer_has_no_course(self):
        patient = PatientProfileFactory.create()
        ruled_out = Diagnosis(patient=patient, code="myeloma", presence="absent", course="recurrent")
        with pytest.raises(ValidationError) as refused:
            ruled_out.full_clean()
        assert "course" in refused.value.message_dict
