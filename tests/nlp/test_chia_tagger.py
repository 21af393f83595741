from nlp.chia_tagger import _attach_values, load_tagger, tag
from nlp.evaluation import PredictedEntity


def test_shipped_tagger_finds_chia_entities_in_original_offsets() -> None:
    text = "Inclusion:\nPlatelet count >= 100,000/mm3\nNo history of myocardial infarction\n"
    prediction = tag(text, load_tagger())
    assert prediction.entities
    for entity in prediction.entities:
        assert 0 <= entity.start < entity.end <= len(text)
    types = {e.type for e in prediction.entities}
    assert {"Measurement", "Value"} <= types


def test_value_attaches_to_the_head_before_it() -> None:
    line = "Platelets >= 100"
    entities = [PredictedEntity("Measurement", 0, 9), PredictedEntity("Value", 10, 16)]
    assert _attach_values(line, entities, 0) == [(0, 1)]


def test_value_after_a_comma_attaches_to_the_head_that_follows() -> None:
    line = "Adults, >= 18 years of age"
    entities = [
        PredictedEntity("Person", 0, 6),
        PredictedEntity("Value", 8, 19),
        PredictedEntity("Person", 20, 26),
    ]
    assert _attach_values(line, entities, 0) == [(2, 1)]
