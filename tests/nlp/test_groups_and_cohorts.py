"""Whole eligibility texts from ClinicalTrials.gov records (tests/nlp/fixtures/real_eligibility_texts.jsonl,
public domain text) whose structure changes what a criterion means: hard-wrapped legacy paragraphs, group
headers that carry an assertion, a time window or a condition of their own, and cohort-specific criteria.
"""

import json
from pathlib import Path

import pytest

from nlp import And, Atom, Except, Not, Or, parse_eligibility
from nlp.model import Criterion, Node, ParsedEligibility, iter_atoms

TEXTS = {
    record["id"]: record["text"]
    for record in map(
        json.loads,
        (Path(__file__).parent / "fixtures" / "real_eligibility_texts.jsonl").read_text().splitlines(),
    )
}


def _criterion(parsed: ParsedEligibility, starts: str) -> Criterion:
    [found] = [c for c in parsed.criteria if c.text.startswith(starts)]
    return found


def _code(node: Node) -> str | None:
    return node.concept.code if isinstance(node, Atom) and node.concept else None


def test_legacy_hard_wrapped_lines_join_their_paragraph() -> None:
    # NCT00001474 wraps at column 99: "... platelet count greater than or equal to\r\n        75,000."
    parsed = parse_eligibility(TEXTS["legacy_wrapped_paragraphs"])
    assert len(parsed.criteria) == 16
    blood = _criterion(parsed, "Hemoglobin")
    assert blood.text.endswith("75,000.")
    platelets = [a for a in iter_atoms(blood.tree) if a.concept and a.concept.label == "platelet count"]
    assert [a.value for a in platelets] == [75000.0]
    companion = _criterion(parsed, "Patients should have a companion")
    assert companion.text.endswith("IL-2.")
    assert not any(c.text.startswith(("75,000", "IL-2", "childbearing", "weeks")) for c in parsed.criteria)


def test_a_pregnancy_test_for_women_of_childbearing_potential_binds_only_them() -> None:
    parsed = parse_eligibility(TEXTS["legacy_wrapped_paragraphs"])
    tree = _criterion(parsed, "Negative urine or serum pregnancy test").tree
    assert isinstance(tree, Or)
    negated_wocbp, requirement = tree.children
    assert isinstance(negated_wocbp, Not)
    assert _code(negated_wocbp.child) == "wocbp"
    assert _code(requirement) == "negative_pregnancy_test"


def test_free_text_lines_are_not_glued_together() -> None:
    text = "Inclusion Criteria:\nHistologically confirmed NSCLC\nECOG 0-1\nAge >= 18 years\n"
    assert len(parse_eligibility(text).criteria) == 3


def test_history_of_any_of_the_following_passes_its_assertion_and_window_to_the_sub_items() -> None:
    # NCT05039801: "History of any of the following cardiovascular conditions within 6 months of enrolment:"
    [criterion] = parse_eligibility(TEXTS["history_of_any_with_window"]).criteria
    atoms = {a.concept.code: a for a in iter_atoms(criterion.tree) if a.concept}
    for code in ("mi", "angina"):
        assert atoms[code].assertion == "historical"
        window = atoms[code].window
        assert window is not None
        assert (window.amount, window.unit, window.anchor) == (6.0, "months", "enrolment")


def test_no_history_of_any_of_the_following_excludes_each_sub_item() -> None:
    text = (
        "Inclusion Criteria:\n* No history of any of the following:\n  * myocardial infarction\n  * stroke\n"
    )
    [criterion] = parse_eligibility(text).criteria
    assert isinstance(criterion.tree, Not)
    assert isinstance(criterion.tree.child, Or)
    assert {_code(c) for c in criterion.tree.child.children} == {"mi", "stroke"}
    for atom in iter_atoms(criterion.tree):
        assert atom.assertion == "negated"
        assert atom.assertion_cue is not None
        assert text[atom.assertion_cue[0] : atom.assertion_cue[1]] == "No history of"


def test_a_header_listing_exceptions_makes_its_sub_items_exceptions() -> None:
    # NCT04777994: "History of other malignancy, with the following exceptions:"
    parsed = parse_eligibility(TEXTS["malignancy_with_listed_exceptions"])
    tree = _criterion(parsed, "History of other malignancy").tree
    assert isinstance(tree, Except)
    assert _code(tree.main) == "second_malignancy"
    assert isinstance(tree.exception, Or)
    assert len(parsed.criteria) == 2


def test_women_of_childbearing_potential_must_binds_the_sub_items_to_wocbp_only() -> None:
    # NCT06265285: "Women of childbearing potential (WOCBP) must:" then a pregnancy test and contraception.
    [criterion] = parse_eligibility(TEXTS["wocbp_must_group"]).criteria
    tree = criterion.tree
    assert isinstance(tree, Or)
    not_wocbp, body = tree.children
    assert isinstance(not_wocbp, Not)
    assert _code(not_wocbp.child) == "wocbp"
    assert isinstance(body, And)
    codes = {a.concept.code for a in iter_atoms(body) if a.concept}
    assert {"negative_pregnancy_test", "contraception"} <= codes
    assert "wocbp" not in codes


@pytest.mark.parametrize(
    "header",
    ["Patients must have measurable disease, defined as:", "Must have histologically confirmed NSCLC with:"],
)
def test_a_header_that_requires_and_defines_is_a_conjunction_not_a_condition(header: str) -> None:
    text = f"Inclusion Criteria:\n* {header}\n  * ECOG 0-1\n  * Age >= 18 years\n"
    [criterion] = parse_eligibility(text).criteria
    assert isinstance(criterion.tree, And)
    assert not any(isinstance(child, Not) for child in criterion.tree.children)


def test_if_childbearing_potential_at_the_start_of_a_header_binds_its_sub_items() -> None:
    text = (
        "Inclusion Criteria:\n* If a woman of childbearing potential, must:\n"
        "  * have a negative pregnancy test\n  * agree to use contraception\n"
    )
    [criterion] = parse_eligibility(text).criteria
    assert isinstance(criterion.tree, Or)
    not_wocbp = criterion.tree.children[0]
    assert isinstance(not_wocbp, Not)
    assert _code(not_wocbp.child) == "wocbp"


def test_brain_metastases_eligible_if_stable_and_off_steroids_is_an_exception() -> None:
    # NCT04633239, in the exclusions.
    [criterion] = parse_eligibility(TEXTS["brain_metastases_eligible_if_stable_off_steroids"]).criteria
    tree = criterion.tree
    assert isinstance(tree, Except)
    assert _code(tree.main) == "brain_metastases"
    assert isinstance(tree.exception, And)
    stable, radiotherapy, steroids = tree.exception.children
    assert _code(stable) == "stable_brain_metastases"
    assert isinstance(stable, Atom)
    assert not stable.checkable
    assert _code(radiotherapy) == "radiotherapy"
    assert isinstance(steroids, Not)
    assert _code(steroids.child) == "corticosteroid"
    # "as ascertained by ... brain imaging (MRI or CT)" says how stability is judged, not what is required
    assert {a.kind for a in iter_atoms(tree)} == {"condition", "other", "procedure", "therapy"}
    assert [a.text for a in iter_atoms(tree) if a.kind == "procedure"] == ["radiation therapy"]


@pytest.mark.parametrize(
    ("line", "stable_text"),
    [
        # NCT04633239-style phrasings, trimmed to the exception
        ("Brain metastases, unless neurologically stable", "unless neurologically stable"),
        ("Untreated brain metastases unless treated and stable for 4 weeks", "unless treated"),
    ],
)
def test_unless_stable_on_brain_metastases_is_a_recognised_exception(line: str, stable_text: str) -> None:
    [criterion] = parse_eligibility(f"Exclusion Criteria:\n* {line}\n").criteria
    assert isinstance(criterion.tree, Except)
    # "Untreated" narrows the metastases to a state no profile records: a question beside them.
    assert [_code(a) for a in iter_atoms(criterion.tree.main) if a.concept] == ["brain_metastases"]
    exception = criterion.tree.exception
    assert isinstance(exception, Atom)
    assert exception.rule_id == "exception.brain_metastases_stable"
    assert exception.text.startswith(stable_text)


def test_an_unless_clause_on_something_else_stays_text_for_review() -> None:
    [criterion] = parse_eligibility(
        "Exclusion Criteria:\n* Stroke, unless approved by the sponsor\n"
    ).criteria
    assert isinstance(criterion.tree, Except)
    assert isinstance(criterion.tree.exception, Atom)
    assert criterion.tree.exception.rule_id == "exception.clause"


def test_cohort_lines_label_the_criteria_below_them() -> None:
    # NCT02279004: "Cohort 4: ..." above bullets, "* Cohort 4A (CLOSED):" alone, "* Cohort 4B: <title>" with
    # its own indented bullets, then an exclusion heading that applies to every cohort.
    parsed = parse_eligibility(TEXTS["cohort_headings_and_labels"])
    labels = [(c.cohort, c.text[:24]) for c in parsed.criteria]
    assert labels[0] == ("Cohort 4", "Cohort 4: Paired plasma ")
    assert ("Cohort 4A", "Advanced NSCLC, newly di") in labels
    assert ("Cohort 4B", "No known targetable geno") in labels
    assert ("Cohort 4C", "Biopsy planned for resis") in labels
    assert ("Cohort 5", "Advanced NSCLC harboring") in labels
    assert [c.cohort for c in parsed.criteria if c.section == "exclusion"] == [None]


def test_a_qualified_heading_labels_its_criteria_and_both_cohorts_means_all() -> None:
    # NCT03260491
    parsed = parse_eligibility(TEXTS["cohort_qualified_headings"])
    cohorts = [c.cohort for c in parsed.criteria]
    assert cohorts[:3] == [None, None, None]
    assert cohorts[3:] == ["Dose Escalation"] * (len(cohorts) - 3)
    assert len(cohorts) > 3


def test_an_inline_cohort_prefix_labels_only_its_own_criterion() -> None:
    # NCT05638295 (golden kras_g12c_inhibitor_is_therapy) starts one bullet with "COHORT II:".
    text = (
        "Inclusion Criteria:\n"
        "* COHORT II: Patient must have progressed after any KRAS G12C inhibitor\n"
        "* ECOG 0-1\n"
    )
    assert [c.cohort for c in parse_eligibility(text).criteria] == ["COHORT II", None]


@pytest.mark.parametrize("line", ["Part of the tumour must be measurable", "Arm or leg lymphoedema"])
def test_ordinary_words_are_not_cohort_labels(line: str) -> None:
    [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {line}:\n* ECOG 0-1\n").criteria[:1]
    assert criterion.cohort is None


def test_the_cohort_survives_the_json_round_trip_and_old_json_reads_as_all_cohorts() -> None:
    parsed = parse_eligibility(TEXTS["cohort_qualified_headings"])
    data = parsed.to_dict()
    assert ParsedEligibility.from_dict(data) == parsed
    for criterion in data["criteria"]:
        del criterion["cohort"]
    assert {c.cohort for c in ParsedEligibility.from_dict(data).criteria} == {None}


def test_treatment_naive_to_a_drug_is_a_negated_prior_therapy() -> None:
    # NCT04762199: "Be treatment naive to osimertinib or any other EGFR TKI,"
    [criterion] = parse_eligibility(TEXTS["treatment_naive_to"]).criteria
    tree = criterion.tree
    assert isinstance(tree, Not)
    assert isinstance(tree.child, Or)
    assert {_code(c) for c in tree.child.children} == {"osimertinib", "egfr_tki"}


@pytest.mark.parametrize(
    "line",
    [
        "Treatment-naive to immunotherapy",  # NCT05005403 writes "treatment naïve to immunotherapy"
        "treatment na\u00efve to immunotherapy",
        "Naive to prior immunotherapy",
    ],
)
def test_naive_to_phrasings_negate_the_therapy(line: str) -> None:
    [criterion] = parse_eligibility(f"Inclusion Criteria:\n* {line}\n").criteria
    assert isinstance(criterion.tree, Not)
    assert _code(criterion.tree.child) == "immunotherapy"


# NCT00461240's layout: each group's criteria listed under a line naming its population.
GROUPS_BY_POPULATION = """Inclusion Criteria:

for acromegaly

  -  Clinical and biochemical diagnosis of acromegaly.

  -  Males and females aged 18-70 years

for GHD

  -  Clinical and biochemical diagnosis of GHD.

Exclusion Criteria:

for acromegaly

  -  Patients on subcutaneous insulin therapy

  -  Hyperthyroidism

for GHD

  -  Previous history of acromegaly
"""


def test_a_line_naming_a_population_heads_its_groups_criteria() -> None:
    parsed = parse_eligibility(GROUPS_BY_POPULATION)
    assert [(c.section, c.text.split("\n")[0]) for c in parsed.criteria] == [
        ("inclusion", "for acromegaly"),
        ("inclusion", "for GHD"),
        ("exclusion", "for acromegaly"),
        ("exclusion", "for GHD"),
    ]
    inclusion, _, exclusion, unnamed = (c.tree for c in parsed.criteria)
    # Among the inclusions the group's criteria bind its members only; among the exclusions they exclude
    # only its members.
    assert isinstance(inclusion, Or)
    assert isinstance(inclusion.children[0], Not)
    assert _code(inclusion.children[0].child) == "acromegaly"
    assert isinstance(exclusion, And)
    assert _code(exclusion.children[0]) == "acromegaly"
    assert isinstance(exclusion.children[1], Or)
    # A population the vocabulary does not name is a question, never a requirement of its own.
    assert isinstance(unnamed, And)
    head = unnamed.children[0]
    assert isinstance(head, Atom)
    assert not head.checkable


@pytest.mark.parametrize("line", ["for at least 4 weeks", "for example:", "For all cohorts:", "for 6 months"])
def test_a_line_starting_with_for_that_names_no_population_heads_nothing(line: str) -> None:
    parsed = parse_eligibility(f"Exclusion Criteria:\n\n{line}\n\n  -  Hyperthyroidism\n")
    assert _code(parsed.criteria[-1].tree) == "hyperthyroidism"


@pytest.mark.parametrize(
    "text",
    [
        "These disorders would include patients with Parkinson's disease, Alzheimer's disease and multiple "
        "sclerosis.",
        "Eligible conditions may include Parkinson's disease, Alzheimer's disease, and multiple sclerosis.",
        "Neurological disorders, including patients with Parkinson's disease, Alzheimer's disease and "
        "multiple sclerosis.",
    ],
)
def test_a_list_of_the_conditions_a_protocol_would_include_is_alternatives(text: str) -> None:
    """Class 90: the diseases a protocol "would include" are examples, any one of them enough."""
    [criterion] = parse_eligibility("Inclusion Criteria:\n" + text).criteria
    ors = [n for n in _walk(criterion.tree) if isinstance(n, Or)]
    assert ors
    codes = {_code(leaf) for leaf in ors[0].children}
    assert {"parkinsons", "alzheimers", "multiple_sclerosis"} <= codes


def _walk(node: Node) -> list[Node]:
    children = getattr(node, "children", None) or ([node.child] if hasattr(node, "child") else [])
    return [node] + [n for child in children for n in _walk(child)]


def _control_part(parsed: ParsedEligibility) -> list[Criterion]:
    return [c for c in parsed.criteria if "\nor, as a control:\n" in c.text]


@pytest.mark.parametrize(
    "text",
    [
        # NCT00004274
        "PROTOCOL ENTRY CRITERIA:\n\n  -  Girls aged 8 and 12 years with Turner's syndrome-compatible "
        "karyotype\n\n  -  Age-matched girls without Turner's syndrome entered as controls\n",
        # NCT00001253
        "INCLUSION CRITERIA:\n\nPatients will include girls and women ages 5-50 yr with the diagnosis of "
        "Turner syndrome.\n\nControl subjects must be within +/- 2SD for height and weight.\n",
        "Inclusion Criteria:\n\n1. Girls with Turner syndrome. (Cases)\n\n2. Girls without Turner syndrome. "
        "(Controls)\n",
        "Inclusion criteria for patients:\n\n1. Turner syndrome.\n\nInclusion criteria for control "
        "participants:\n\n1. Absence of Turner syndrome.\n",
    ],
)
def test_the_criteria_of_a_trials_controls_are_an_alternative_to_its_patients(text: str) -> None:
    """Class 91: Tessa has Turner syndrome; "girls without Turner's syndrome entered as controls" is what a
    control must meet, not a second requirement of every girl enrolled."""
    parsed = parse_eligibility(text)
    [merged] = _control_part(parsed)
    assert isinstance(merged.tree, Or)
    patients, _controls = merged.tree.children
    assert "turner" in {_code(leaf) for leaf in _walk(patients)}
    assert [c.section for c in parsed.criteria] == ["inclusion"]


def test_a_control_groups_exclusions_do_not_exclude_the_patients() -> None:
    """NCT00495638's controls must not have sickle cell disease; Kofi, who has it, is one of its patients."""
    parsed = parse_eligibility(
        "Inclusion criteria for patients:\n\n  1. Sickle cell disease.\n\n"
        "Exclusion criteria for patients:\n\n  1. Pregnancy.\n\n"
        "Inclusion criteria for control participants:\n\n  1. Self-described race is African American.\n\n"
        "Exclusion criteria for control participants:\n\n  1. Diagnosis of sickle cell disease.\n"
    )
    assert [c.section for c in parsed.criteria] == ["inclusion", "exclusion"]
    [merged] = _control_part(parsed)
    assert isinstance(merged.tree, Or)
    assert isinstance(merged.tree.children[1], And)
    assert any(isinstance(n, Not) for n in _walk(merged.tree.children[1]))


@pytest.mark.parametrize(
    "text",
    [
        "Inclusion Criteria:\n\n- Type 2 diabetes.\n\n- Control of blood pressure with one drug.\n",
        "Inclusion Criteria:\n\n- Type 2 diabetes.\n\n- Women must use birth control.\n",
        "Inclusion Criteria:\n\n- Asthma.\n\n- Controlled hypertension allowed.\n",
        "Inclusion Criteria:\n\n- Hypertension.\n\nExclusion Criteria for patients and healthy controls:\n\n"
        "- Pregnancy.\n",
    ],
)
def test_control_of_a_disease_and_birth_control_name_no_control_group(text: str) -> None:
    assert not _control_part(parse_eligibility(text))


def test_short_items_each_naming_another_disease_are_the_studys_patient_groups() -> None:
    """Class 92, NCT00001776: Walter has Parkinson's disease and no dementia; he is in the first group, and
    "Patients with frontal lobe dementia" is another group, not a requirement of his."""
    parsed = parse_eligibility(
        "INCLUSION CRITERIA\n\nRight handed normal volunteers (18-65 years old).\n\nPatients with "
        "Parkinson's disease off medication.\n\nPatients with cerebellar deficits.\n\nPatients with frontal "
        "lobe lesions.\n\nPatients with frontal lobe dementia.\n\nEXCLUSION CRITERIA\n\nPregnant women.\n"
    )
    groups = [c for c in parsed.criteria if c.text.startswith("Patients with Parkinson's")]
    assert len(groups) == 1
    assert isinstance(groups[0].tree, Or)
    assert {"parkinsons", "dementia"} <= {_code(leaf) for leaf in _walk(groups[0].tree)}


@pytest.mark.parametrize(
    "text",
    [
        # NCT00006337: one group's requirements, the same disease twice
        "Inclusion Criteria:\n\nPatients with relatively advanced disease (Hohen and Yahr stage II-IV).\n\n"
        "Patients with Parkinson's disease who have been treated with levodopa for at least one year.\n\n"
        "Patients with Parkinson's disease who require levodopa dosing at qid intervals.\n",
        # related diseases: a kind of heart failure under heart failure
        "Inclusion Criteria:\n\nPatients with heart failure.\n\nPatients with non-ischemic cardiomyopathy.\n",
        # one disease and a lab limit
        "Inclusion Criteria:\n\nPatients with hypertension.\n\nPatients with normal thyroid function.\n",
    ],
)
def test_population_items_naming_one_disease_stay_requirements(text: str) -> None:
    parsed = parse_eligibility(text)
    assert len([c for c in parsed.criteria if c.section == "inclusion"]) >= 2
