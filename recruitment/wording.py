"""Criteria as people read them, on the patient's and the site's pages alike."""

import re

# The criteria the parser builds from the registry's age and sex fields carry the field's name
# ("minimum_age: 18 Years"); people read them as sentences.
_REGISTRY_LIMIT = re.compile(r"(minimum_age|maximum_age|sex): (.+)")
_LIMIT_WORDS = {
    "minimum_age": "Aged {value} or over",
    "maximum_age": "Aged {value} or under",
    "sex": "{value} (sex recorded at birth)",
}


def plain_criterion_text(text: str) -> str:
    """A criterion's text, with a registry age or sex limit put as a sentence ("Aged 18 years or over")."""
    limit = _REGISTRY_LIMIT.fullmatch(text)
    if limit is None:
        return text
    field, value = limit.groups()
    value = value.capitalize() if field == "sex" else value.lower()
    return _LIMIT_WORDS[field].format(value=value)
