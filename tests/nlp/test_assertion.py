import pytest
import spacy
from spacy.language import Language

import nlp.assertion  # noqa: F401  (registers the factory)
from nlp import Not, iter_atoms, parse_eligibility


@pytest.fixture(scope="module")
def context() -> Language:
    pipeline = spacy.blank("en")
    pipeline.add_pipe("eligibility_context")
    return pipeline


def _assertion(context: Language, text: str, target: str) -> str:
    doc = context.make_doc(text)
    start = text.index(target)
    span = doc.char_span(start, start + len(target))
    assert span is not None, f"{target!r} does not fall on token boundaries in {text!r}"
    doc.spans["atoms"] = [span]
    doc = context(doc)
    return str(doc.spans["atoms"][0]._.assertion)


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ("No history of diabetes", "diabetes", "negated"),
        ("History of stroke", "stroke", "historical"),
        ("Prior treatment with docetaxel", "docetaxel", "historical"),
        ("Planned major surgery during the study", "surgery", "hypothetical"),
        ("Brain metastases unless treated and stable", "treated", "exception"),
        ("Any malignancy other than basal cell carcinoma", "basal cell carcinoma", "exception"),
        ("Asthma but no COPD", "Asthma", "present"),
        ("Asthma but no COPD", "COPD", "negated"),
        ("Without measurable disease; diabetes", "diabetes", "present"),
    ],
)
def test_context_component_assigns_eligibility_assertions(
    context: Language, text: str, target: str, expected: str
) -> None:
    assert _assertion(context, text, target) == expected


def test_cue_positions_are_kept_for_exception_splitting(context: Language) -> None:
    doc = context(context.make_doc("Brain metastases unless treated"))
    assert [(s.text, s.label_) for s in doc.spans["context_cues"]] == [("unless", "exception")]


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        # NCT00001931: the record hard-wraps a "No patients with ..." item; the negation runs on to its end
        (
            "No patients with evidence of other serious medical illness, a history of alcohol or drug\n"
            "abuse, those who have participated in an investigational trial within 28 days prior to\n"
            "study, and pregnant or nursing women",
            "pregnant",
            "negated",
        ),
        # NCT00001383
        (
            "No patients with a history of coronary artery disease with angina pectoris or history of\n"
            "congestive heart failure.",
            "congestive heart failure",
            "negated",
        ),
        # a line that starts afresh (capital letter) is not a wrap
        ("No patients with diabetes\nPregnant women are eligible", "Pregnant", "present"),
        # a negation that does not name the people excluded still ends at the line
        ("No prior chemotherapy for metastatic disease or\nradiotherapy", "radiotherapy", "present"),
    ],
)
def test_a_negation_naming_the_people_excluded_runs_over_hard_wraps(
    context: Language, text: str, target: str, expected: str
) -> None:
    assert _assertion(context, text, target) == expected


@pytest.mark.parametrize(
    "text",
    [
        "No more than 84 days since prior surgery for breast cancer",
        "Not more than 2 prior chemotherapy regimens",
        "No less than 4 weeks since radiotherapy",
    ],
)
def test_a_limit_opening_with_no_is_not_a_negation(context: Language, text: str) -> None:
    target = next(word for word in ("surgery", "chemotherapy", "radiotherapy") if word in text)
    assert _assertion(context, text, target) != "negated"


def test_a_plain_no_still_negates_after_the_limit_phrases_were_added(context: Language) -> None:
    assert _assertion(context, "No prior surgery for breast cancer", "surgery") == "negated"


@pytest.mark.parametrize(
    ("line", "negated", "present"),
    [
        (
            "Not deemed suitable for curative surgery and have borderline resectable pancreatic cancer.",
            "surgery",
            "pancreatic cancer",
        ),
        ("No prior chemotherapy and has measurable disease", "chemotherapy", "measurable disease"),
    ],
)
def test_a_negation_ends_where_a_second_requirement_begins_with_and_have(
    line: str, negated: str, present: str
) -> None:
    from nlp import iter_atoms, parse_eligibility

    (criterion,) = parse_eligibility(f"Inclusion Criteria:\n* {line}\n").criteria
    assertions = {a.text: a.assertion for a in iter_atoms(criterion.tree)}
    assert (assertions[negated], assertions[present]) == ("negated", "present")


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        # NCT00004486, NCT00001906
        ("No family history of bipolar disorder", "bipolar disorder", "family"),
        ("No family history of congenital or hereditary immunodeficiency.", "immunodeficiency", "family"),
        # a negation after the family history is the patient's own again
        ("Family history of long QT syndrome, no personal history of syncope", "syncope", "negated"),
    ],
)
def test_a_denied_family_history_is_still_about_the_relatives(
    context: Language, text: str, target: str, expected: str
) -> None:
    assert _assertion(context, text, target) == expected


@pytest.mark.parametrize(
    ("section", "line"),
    [
        # NCT00004486, NCT00001920 (inclusion criteria)
        ("Inclusion", "No family history of bipolar disorder"),
        (
            "Inclusion",
            "No family history of schizophrenia by subject report and possibly also by collateral report",
        ),
        # NCT03260491, NCT04890613 (exclusion criteria)
        (
            "Exclusion",
            "Has any factors that increase the risk of corrected QT (QTc) interval prolongation or risk of"
            " arrhythmic events, such as congenital long QT syndrome, family history of long QT syndrome, or"
            " unexplained sudden death under 40 years of age in first-degree relatives.",
        ),
        (
            "Exclusion",
            "A history of additional risk factors for TdP (e.g., heart failure, hypokalemia, family history"
            " of long QT syndrome).",
        ),
    ],
)
def test_a_family_history_is_never_read_as_the_patients_own_diagnosis(section: str, line: str) -> None:
    from nlp import iter_atoms, parse_eligibility

    text = f"{section} Criteria:\n* {line}\n"
    relatives = text.index("family history of ") + len("family history of ")
    (criterion,) = parse_eligibility(text).criteria
    [atom] = [a for a in iter_atoms(criterion.tree) if a.span[0] == relatives]
    assert (atom.assertion, atom.checkable) == ("family", False)


@pytest.mark.parametrize(
    ("section", "line"),
    [
        # NCT03987555 (exclusion criteria)
        (
            "Exclusion",
            "Known personal or family history of hereditary peripheral neuropathy (e.g. Charcot-Marie-Tooth"
            " disease)",
        ),
        # NCT00006285 (exclusion), NCT00003365 (inclusion criteria)
        ("Exclusion", "Subjects with a personal or family history of seizures will be excluded."),
        ("Inclusion", "No personal or family history of a bleeding disorder"),
    ],
)
def test_a_personal_or_family_history_asks_about_the_patients_own_history_too(
    section: str, line: str
) -> None:
    from nlp import iter_atoms, parse_eligibility

    (criterion,) = parse_eligibility(f"{section} Criteria:\n* {line}\n").criteria
    atoms = [a for a in iter_atoms(criterion.tree) if a.kind == "condition"]
    assert sorted((a.assertion, a.checkable) for a in atoms) == [("family", False), ("historical", True)]
    assert len({a.span for a in atoms}) == 1


@pytest.mark.parametrize(
    ("line", "target"),
    [
        ("Prior therapy with anti CD20 monoclonal antibodies is not allowed", "anti CD20"),  # NCT04269902
        ("Prior anti-CTLA4 therapy is not allowed.", "anti-CTLA4"),  # NCT05200559
        ("Tumors with any component of small cell lung cancer are not allowed.", "small cell"),  # NCT04585477
        ("Concurrent radiotherapy is not permitted", "radiotherapy"),
    ],
)
def test_what_an_inclusion_says_is_not_allowed_is_denied(context: Language, line: str, target: str) -> None:
    """Among the inclusions, "X is not allowed" was read as X required: every patient without X failed."""
    assert _assertion(context, line, target) == "negated"
    [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {line}\n").criteria
    assert isinstance(criterion.tree, Not)
    assert any(target in a.text for a in iter_atoms(criterion.tree.child) if a.mapped)


# Registry sentences (data/oncology_trials_2026) whose examples "including, but not limited to, ..." were
# negated by the "not" of "not limited to", or lost the negation of the term they are examples of.
@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        # NCT06062745
        (
            "Uncontrolled intercurrent illness including, but not limited to, ongoing or active infection,"
            " symptomatic congestive heart failure, unstable angina pectoris",
            "congestive heart failure",
            "present",
        ),
        # NCT06447662
        (
            "Active or history of clinically significant gastrointestinal (GI) disease (including but not"
            " limited to inflammatory GI disease [eg, ulcerative colitis",
            "ulcerative colitis",
            "present",
        ),
        # NCT04704661
        (
            "Must have histologically confirmed advanced solid tumor including but not restricted to breast"
            " cancer, gastric or gastroesophageal cancer",
            "breast cancer",
            "present",
        ),
        (
            "No prior systemic therapy, including but not limited to chemotherapy or immunotherapy",
            "chemotherapy",
            "negated",
        ),
    ],
)
def test_examples_after_not_limited_to_take_the_assertion_of_what_they_exemplify(
    context: Language, text: str, target: str, expected: str
) -> None:
    assert _assertion(context, text, target) == expected


def test_a_header_that_includes_but_is_not_limited_to_its_items_negates_none_of_them() -> None:
    # NCT04471727: "The main inclusion criteria include but are not limited to the following:" over its items,
    # here as a header of an item list.
    parsed = parse_eligibility(
        "Inclusion Criteria:\n* Key requirements include but are not limited to the following:\n"
        "  * Stage IV NSCLC\n  * ECOG 0-1\n"
    )
    assert {a.assertion for c in parsed.criteria for a in iter_atoms(c.tree)} == {"present"}


def test_an_inclusion_requiring_a_general_disease_lets_in_any_of_its_examples() -> None:
    [criterion] = parse_eligibility(
        "Inclusion Criteria:\n* Must have advanced solid tumor including but not restricted to breast"
        " cancer, colon cancer\n"
    ).criteria
    assert type(criterion.tree).__name__ == "Or"


def test_every_cues_first_word_is_letters_only_so_cue_search_takes_the_fast_path() -> None:
    from nlp.assertion import EligibilityContext
    from nlp.terminology import load_json

    assert EligibilityContext(load_json("context_rules.json"), "atoms").letters_only
