"""Entity edges moved to Chia's annotation conventions (nlp.chia_mentions.chia_boundaries, and the Chia
mapping of the parser's atoms in nlp.evaluation.parser_prediction).

Phrasings are criterion lines of the Chia corpus (CC BY 4.0, Kury et al. 2020), training split only (the
dev slice of the training trials, `nlp.evaluation.is_dev`); the tagger's spans are given by hand, so the
tests hold whatever a retrained model reads.
"""

import pytest

from nlp.chia_mentions import chia_boundaries
from nlp.evaluation import parser_prediction
from nlp.linear_tagger import TaggedSpan


def _moved(text: str, entity_type: str, tagged: str) -> str:
    start = text.index(tagged)
    [span] = chia_boundaries(text, [TaggedSpan(entity_type, start, start + len(tagged))])
    return text[span.start : span.end]


@pytest.mark.parametrize(
    ("source", "text", "entity_type", "tagged", "expected"),
    [
        (
            "NCT00679341_exc",
            "Current known infection with human immunodeficiency virus (HIV), active hepatitis B",
            "Condition",
            "human immunodeficiency virus (HIV",
            "human immunodeficiency virus (HIV)",
        ),
        (
            "NCT02519777_exc",
            "(ie, HCV antibody [Ab] positive within 90 days prior to study entry",
            "Measurement",
            "HCV antibody [Ab",
            "HCV antibody [Ab]",
        ),
        (
            "NCT03234816_exc",
            "Baseline systolic blood pressure (SBP) < 100 mmHg",
            "Measurement",
            "SBP)",
            "SBP",
        ),
        (
            "NCT03338296_exc",
            "mild to profound mental retardation [intelligence quotient <70], moderate",
            "Value",
            "<70]",
            "<70",
        ),
    ],
)
def test_a_bracket_belongs_to_an_entity_only_if_the_entity_opened_it(
    source: str, text: str, entity_type: str, tagged: str, expected: str
) -> None:
    assert _moved(text, entity_type, tagged) == expected, source


def test_except_for_is_one_negation_cue() -> None:
    # NCT00679341_exc
    text = "History of other malignancy within the last 5 years, except for appropriately treated carcinoma"
    assert _moved(text, "Negation", "except") == "except for"


def test_an_age_value_ends_at_its_unit() -> None:
    # NCT00586898_inc, NCT00785213_inc, NCT01084993_inc
    text = "Patients must be at least 18 years of age. "
    assert _moved(text, "Value", "at least 18 years of age") == "at least 18 years"
    assert _moved("Healthy adults 18-45 years of age ", "Value", "18-45 years of age") == "18-45 years"
    # After "years old" Chia is split (31 gold Values end before "old", 27 after): left as tagged.
    assert _moved("At least 70 yrs old", "Value", "At least 70 yrs old") == "At least 70 yrs old"


def test_spans_already_following_the_conventions_are_kept_as_they_are() -> None:
    # NCT02573168_inc
    text = "Have a total baseline score on the Brief Psychiatric Rating Scale (BPRS) = 45;"
    tagged = [
        TaggedSpan("Measurement", text.index("Brief"), text.index(" (BPRS)")),
        TaggedSpan("Measurement", text.index("BPRS"), text.index("BPRS") + 4),
        TaggedSpan("Value", text.index("= 45"), text.index(";")),
        TaggedSpan("Temporal", text.index("baseline"), text.index(" score")),
    ]
    assert chia_boundaries(text, tagged) == tagged


def _chia_entities(line: str) -> list[tuple[str, str]]:
    text = f"Exclusion Criteria:\n{line}\n"
    return [(e.type, text[e.start : e.end]) for e in parser_prediction(text).entities]


def test_a_treatment_given_currently_has_the_cue_word_alone_as_its_temporal() -> None:
    # NCT02957305_exc, NCT01888965_exc: the parser's window spans "concomitant use of " up to the treatment.
    assert ("Temporal", "concomitant") in _chia_entities("patients with concomitant use of IUDs.")
    assert ("Temporal", "currently") in _chia_entities("Patients who are currently receiving prasugrel ")


def test_life_expectancy_is_no_measurement_in_chia_but_its_value_is_a_value() -> None:
    # NCT00343668_inc
    entities = _chia_entities("Estimated life expectancy of more than 3 months ")
    assert ("Value", "more than 3 months") in entities
    assert not [e for e in entities if e[0] == "Measurement"]


def test_women_of_childbearing_potential_is_a_person_and_a_condition_once() -> None:
    # NCT00343668_exc; Chia annotates "women" (Person) and "childbearing potential" (Condition) wherever it
    # annotates the phrase. Two of the parser's atoms read the phrase here.
    entities = _chia_entities(
        "Pregnant or lactating women, women of childbearing potential not employing adequate contraception "
    )
    assert ("Condition", "women of childbearing potential") not in entities
    assert entities.count(("Condition", "childbearing potential")) == 1


def _has_value(line: str) -> list[tuple[str, str]]:
    text = f"Inclusion Criteria:\n{line}\n"
    prediction = parser_prediction(text)
    spans = [text[e.start : e.end] for e in prediction.entities]
    return [(spans[head], spans[value]) for head, value in prediction.has_value]


def test_a_value_before_its_measurement_or_person_in_the_clause_is_its_value() -> None:
    # NCT00586898_inc: Chia's Has_value links "at least 18 years" to the Person "age" after it.
    assert ("age", "at least 18 years") in _has_value("Patients must be at least 18 years of age. ")
