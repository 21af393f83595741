"""`Atom.make` and `Criterion.make` are `Atom(...)` and `Criterion(...)` built faster: the same parameters,
defaults and resulting objects."""

import inspect
from dataclasses import MISSING, fields

import pytest

from nlp.linear_tagger import TaggedSpan
from nlp.model import And, Atom, Concept, Criterion, TimeWindow


@pytest.mark.parametrize("cls", [Atom, Criterion])
def test_make_takes_the_fields_in_order_with_their_defaults(cls: type[Atom] | type[Criterion]) -> None:
    parameters = list(inspect.signature(cls.make).parameters.values())
    assert [p.name for p in parameters] == [f.name for f in fields(cls)]
    for parameter, field in zip(parameters, fields(cls), strict=True):
        expected = inspect.Parameter.empty if field.default is MISSING else field.default
        assert parameter.default == expected, field.name


def test_make_builds_the_same_atom() -> None:
    given = {
        "kind": "lab",
        "text": "platelets >= 100",
        "span": (3, 19),
        "rule_id": "lab.value",
        "confidence": 0.9,
        "checkable": False,
        "mapped": True,
        "concept": Concept("loinc", "777-3", "Platelets"),
        "comparator": ">=",
        "value": 100.0,
        "value_high": 200.0,
        "values": (1.0, 2.0),
        "unit": "10^9/L",
        "uln_multiple": 1.5,
        "lln_multiple": 0.5,
        "alteration": "G12C",
        "assay": "IHC",
        "window": TimeWindow(4, "weeks", "within", span=(20, 35)),
        "assertion": "negated",
        "review": "check",
        "assertion_cue": (0, 2),
    }
    for made, built in (
        (Atom.make(**given), Atom(**given)),  # type: ignore[arg-type]
        (Atom.make("other", "x", (0, 1), "r", 0.1), Atom("other", "x", (0, 1), "r", 0.1)),
    ):
        assert made == built
        assert hash(made) == hash(built)
        assert repr(made) == repr(built)
        assert list(vars(made).items()) == list(vars(built).items())


def test_criterion_make_builds_the_same_criterion() -> None:
    atom = Atom("other", "x", (0, 1), "r", 0.1)
    for args in (
        ("inclusion", "text", (0, 4), atom),
        ("exclusion", "text", (2, 9), And((atom, atom)), "Cohort B", (atom,)),
    ):
        made, built = Criterion.make(*args), Criterion(*args)
        assert made == built
        assert hash(made) == hash(built)
        assert repr(made) == repr(built)
        assert list(vars(made).items()) == list(vars(built).items())


def test_tagged_span_make_builds_the_same_span() -> None:
    made, built = TaggedSpan.make("Condition", 3, 9), TaggedSpan("Condition", 3, 9)
    assert made == built
    assert hash(made) == hash(built)
    assert repr(made) == repr(built)
    assert list(vars(made).items()) == list(vars(built).items())
    parameters = list(inspect.signature(TaggedSpan.make).parameters)
    assert parameters == [f.name for f in fields(TaggedSpan)]
