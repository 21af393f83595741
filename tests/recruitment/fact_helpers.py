"""Building blocks for the registry personas' facts."""

import datetime

from nlp.terminology import drug_classes
from recruitment.matching import TherapyFact


def therapy(
    ref: str, drug: str, line: int | None, started: datetime.date, ended: datetime.date | None = None
) -> TherapyFact:
    """A therapy with the drug's classes as the terminology gives them; ongoing when `ended` is None."""
    return TherapyFact(ref, drug, tuple(drug_classes(drug)), line=line, started_on=started, ended_on=ended)
