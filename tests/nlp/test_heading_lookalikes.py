"""Lines that start with "Inclusion" or "Exclusion" without being headings, and ages given in months: real
ClinicalTrials.gov phrasings (legacy records NCT00006494, NCT00000960, NCT00004848) that a section heading
reading or a years-only age rule would turn into the wrong criteria."""

from nlp.model import iter_atoms
from nlp.parser import parse_eligibility

# NCT00006494, hard-wrapped as in the registry record.
WRAPPED_EXCLUSION = (
    "Exclusion Criteria:\n\n"
    "        Have any laboratory abnormality for which withdrawal of a drug or drug regimen might be\n"
    "        considered. For the purposes of general guidance, Grade III toxicities would result in\n"
    "        exclusion from study with the exception of stable thrombocytopenia or proteinuria or\n"
    "        elevated bilirubin resulting from Gilbert's syndrome or indinavir treatment.\n"
)

# NCT00000960
INCLUSION_AGE_ITEMS = (
    "Inclusion Criteria\n\n"
    "Patients must:\n\n"
    "  -  Have HIV infection.\n\n"
    "  -  Inclusion age for women is 13 years old or more or IRB local age of consent.\n\n"
    "  -  Inclusion age for infants is 0 to 20 months.\n"
)

# NCT00004848: the second sentence begins a wrapped line with "exclusion".
INCLUSION_WITH_EXCLUSION_WORD = (
    "Inclusion Criteria:\n\n"
    "        Patients with elevated pre-operative alanine aminotransferase (ALT) will be excluded. An\n"
    "        aspartate aminotransferase (AST) of between 45 and 75 IU per L will not serve as cause for\n"
    "        exclusion if the corresponding ALT is normal on at least two occasions.\n"
    "\n"
    "        Age 18 years or older.\n"
)


def test_a_wrapped_line_starting_with_exclusion_stays_in_its_criterion() -> None:
    parsed = parse_eligibility(WRAPPED_EXCLUSION)
    [criterion] = parsed.criteria
    assert "exclusion from study with the exception of" in criterion.text
    assert "Gilbert's syndrome" in criterion.text


def test_items_that_begin_with_the_word_inclusion_are_criteria_not_headings() -> None:
    parsed = parse_eligibility(INCLUSION_AGE_ITEMS)
    texts = " ".join(c.text for c in parsed.criteria)
    assert "Inclusion age for women is 13 years old" in texts
    assert "Inclusion age for infants is 0 to 20 months" in texts


def test_a_line_beginning_with_exclusion_inside_inclusion_text_does_not_switch_the_section() -> None:
    parsed = parse_eligibility(INCLUSION_WITH_EXCLUSION_WORD)
    assert {c.section for c in parsed.criteria} == {"inclusion"}
    assert any("Age 18 years or older" in c.text for c in parsed.criteria)


def test_real_headings_still_open_their_sections() -> None:
    for heading, section in (
        ("Exclusion Criteria:", "exclusion"),
        ("EXCLUSION:", "exclusion"),
        ("Exclusion", "exclusion"),
        ("Key Exclusion Criteria for Cohort B", "exclusion"),
        ("* INCLUSION CRITERIA:", "inclusion"),
    ):
        parsed = parse_eligibility(f"{heading}\n* Pregnant or breastfeeding\n")
        assert [c.section for c in parsed.criteria] == [section], heading


def _ages(text: str) -> list[tuple[str | None, float | None, float | None]]:
    parsed = parse_eligibility(f"Inclusion Criteria:\n* {text}\n")
    return [
        (a.comparator, a.value, a.value_high)
        for c in parsed.criteria
        for a in iter_atoms(c.tree)
        if a.concept is not None and a.concept.code == "age"
    ]


def test_an_age_in_months_is_never_read_as_years() -> None:
    assert _ages("Patients aged >= 12 months and < 18 years") == []
    assert _ages("Children aged 6 to 18 months") == []


def test_ages_in_years_are_still_read() -> None:
    assert _ages("Aged 18-75 years") == [("between", 18.0, 75.0)]
    assert _ages("Age 18 years or older") == [(">=", 18.0, None)]
