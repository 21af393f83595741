"""Privacy review fixes: what site staff and sponsors must not be able to read or derive."""

import datetime

from nlp.model import Atom, Concept
from recruitment.matching import PatientFacts, evaluate_tree

TODAY = datetime.date(2026, 11, 23)
ADULT = Atom(
    "demographic",
    "age >= 18",
    (0, 9),
    "test",
    1.0,
    mapped=True,
    concept=Concept("demographic", "age", "age"),
    comparator=">=",
    value=18.0,
)


def test_age_evidence_gives_the_age_on_the_evaluation_date_but_not_the_birth_date():
    birth = datetime.date(1961, 3, 14)
    _, results = evaluate_tree(ADULT, PatientFacts(ref="profile:1", birth_date=birth), today=TODAY)
    texts = [e.text for r in results for e in r.evidence]
    assert texts == [f"aged 65 on {TODAY}"]
    assert not any(str(birth) in t or "1961" in t for t in texts)
