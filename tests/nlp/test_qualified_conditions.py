"""Conditions narrowed by a qualifier, an indication or a list header, from real TREC CT 2021 trials."""

import pytest

from nlp import iter_atoms, parse_eligibility
from nlp.model import And, Atom, Except, Not, Or


def _qualifiers(text: str) -> list[str]:
    return [a.text for a in parse_eligibility(text).atoms() if a.rule_id == "condition.qualifier"]


@pytest.mark.parametrize(
    ("text", "qualified"),
    [
        # NCT00001716
        (
            "Exclusion Criteria:\n- Clinically unstable sickle cell anemia\n",
            "Clinically unstable sickle cell anemia",
        ),
        # NCT00003470
        ("Cardiovascular:\n  -  No uncontrolled hypertension\n", "uncontrolled hypertension"),
        # NCT00005985
        ("No resistant or refractory lymphoma", "resistant or refractory lymphoma"),
        # NCT00495586
        ("Exclusion Criteria:\n- Severe COPD (FEV1<50%)\n", "Severe COPD"),
        # NCT00006164
        ("Exclusion Criteria:\n- No other liver disease.\n", "other liver disease"),
        # NCT00005635
        ("No prior chemotherapy for breast cancer metastases", "chemotherapy for breast cancer"),
        # NCT00002542
        ("No evidence of residual tumor in the axilla following dissection", "tumor"),
        # NCT00006164, NCT00005985
        ("Exclusion Criteria:\n- No major complications of cirrhosis.\n", "complications of cirrhosis"),
        ("No symptoms of cardiac disease", "symptoms of cardiac disease"),
        # NCT00002810: a cause after the condition narrows it as a qualifier before it does
        (
            "No amyloidosis secondary to rheumatoid arthritis or chronic infection",
            "amyloidosis secondary to rheumatoid",
        ),
        ("Exclusion Criteria:\n- Anemia due to bleeding\n", "Anemia due to bleeding"),
        # A site before a kind of cancer the vocabulary does not name with it
        ("Diffuse large B-cell lymphoma (no primary CNS lymphoma)", "primary CNS lymphoma"),
        ("Exclusion Criteria:\n- Intraocular lymphoma\n", "Intraocular lymphoma"),
    ],
)
def test_a_qualified_condition_carries_a_qualifier_no_profile_answers(text: str, qualified: str) -> None:
    assert _qualifiers(text) == [qualified]
    [atom] = [a for a in parse_eligibility(text).atoms() if a.rule_id == "condition.qualifier"]
    assert atom.kind == "other"
    assert not atom.checkable
    assert atom.concept is None


def test_the_qualifier_is_and_ed_with_the_condition_so_the_patient_without_it_still_fails() -> None:
    [criterion] = parse_eligibility("Clinically unstable sickle cell anemia").criteria
    assert isinstance(criterion.tree, And)
    condition, qualifier = criterion.tree.children
    assert isinstance(condition, Atom)
    assert condition.concept is not None
    assert condition.concept.code == "sickle_cell"
    assert isinstance(qualifier, Atom)
    assert qualifier.rule_id == "condition.qualifier"


@pytest.mark.parametrize(
    "text",
    [
        "Sickle cell anemia",
        "History of hypertension",
        # the engine reads "other malignancy" as another cancer itself
        "Exclusion Criteria:\n- No other malignancy\n",
        # a negated bare tumour in the exclusions is left to the engine's second-malignancy reading
        "Exclusion Criteria:\n- No tumor\n",
    ],
)
def test_a_bare_condition_gets_no_qualifier(text: str) -> None:
    assert _qualifiers(text) == []


def test_names_the_vocabulary_lacks_do_not_break_a_list_of_alternatives() -> None:
    # NCT00008307: "myelodysplasia" links to nothing; the list was read as AML and lymphoma (and, since
    # dictionary 2026.12.3 made it a synonym, acute lymphocytic leukemia).
    [criterion] = parse_eligibility(
        "Acute myeloid leukemia, acute lymphocytic leukemia, myelodysplasia, or lymphoma"
    ).criteria
    assert isinstance(criterion.tree, Or)
    assert {a.concept.code for a in criterion.tree.children if isinstance(a, Atom) and a.concept} == {
        "aml",
        "all",
        "lymphoma",
    }


def test_an_age_band_header_binds_only_patients_of_that_age() -> None:
    # NCT00005985
    text = "Performance status:\n  -  Age 65-70 years:\n       -  Karnofsky 80-100%\n"
    [criterion] = parse_eligibility(text).criteria
    assert isinstance(criterion.tree, Or)
    not_age, karnofsky = criterion.tree.children
    assert isinstance(not_age, Not)
    assert isinstance(not_age.child, Atom)
    assert not_age.child.rule_id == "demographic.age"
    assert isinstance(karnofsky, Atom)
    assert karnofsky.kind == "performance_status"


@pytest.mark.parametrize(
    ("text", "permitted"),
    [
        # NCT00002630
        ("Radiotherapy: Prior radiotherapy allowed", "radiotherapy"),
        # NCT00004165
        ("Primary amyloidosis without subsequent multiple myeloma allowed", None),
        # NCT00002569
        ("Concurrent steroids allowed to control central nervous system (CNS) symptoms", "steroids"),
    ],
)
def test_what_the_text_allows_is_not_required(text: str, permitted: str | None) -> None:
    atoms = parse_eligibility(text).atoms()
    if permitted is not None:
        [atom] = [a for a in atoms if a.text == permitted]
        assert not atom.checkable
    # "without subsequent multiple myeloma allowed": denied, so still a requirement
    negated = [a for a in atoms if a.assertion == "negated"]
    assert all(a.checkable for a in negated)


def test_what_the_text_does_not_allow_stays_a_requirement() -> None:
    [atom] = parse_eligibility("Prior radiotherapy not allowed").atoms()
    assert atom.checkable


def test_an_organ_named_after_a_histology_links_the_cancer_of_that_organ() -> None:
    # NCT00003782, NCT00003049
    [breast] = parse_eligibility("Histologically confirmed invasive adenocarcinoma of the breast").atoms()
    [pancreas] = parse_eligibility("Proven adenocarcinoma of the exocrine pancreas").atoms()
    assert breast.concept is not None
    assert breast.concept.code == "breast_cancer"
    assert pancreas.concept is not None
    assert pancreas.concept.code == "pancreatic_cancer"


def test_two_kinds_of_cancer_joined_by_and_are_alternatives() -> None:
    # NCT00006251
    [criterion] = parse_eligibility(
        "Patients with chronic lymphocytic leukemia (CLL) and multiple myeloma"
    ).criteria
    assert isinstance(criterion.tree, Or)


def test_kinds_of_cancer_listed_with_commas_are_alternatives_beside_a_condition_that_is_not() -> None:
    # NCT00004232: the cancers are one alternative; the aplastic anaemia after "and" stays apart
    [criterion] = parse_eligibility(
        "Eligible for leukemia, lymphoma, myeloma, and aplastic anemia treatment protocols"
    ).criteria
    assert isinstance(criterion.tree, And)
    cancers, anaemia = criterion.tree.children
    assert isinstance(cancers, Or)
    assert [a.text for a in cancers.children if isinstance(a, Atom)] == ["leukemia", "lymphoma", "myeloma"]
    assert isinstance(anaemia, Atom)


def test_a_condition_and_its_comorbidity_joined_by_and_are_both_required() -> None:
    [criterion] = parse_eligibility("Patients with type 2 diabetes and hypertension").criteria
    assert isinstance(criterion.tree, And)


def test_sub_items_each_naming_a_diagnosis_under_a_wrapped_header_are_alternatives() -> None:
    # NCT00006251: the header's colon is on its second, hard-wrapped line.
    text = (
        "Inclusion Criteria:\n\n"
        "  -  Patients < 75 years of age with other malignant diseases treatable by allogeneic bone\n"
        "     marrow transplant; the following diseases are the likely candidates:\n\n"
        "       -  Myelodysplastic syndromes\n\n"
        "       -  Hodgkin's disease\n\n"
        "       -  Renal cell carcinoma\n"
    )
    [criterion] = parse_eligibility(text).criteria
    # The header's age binds the list (Or(Not(age), list)); the list itself is one Or of the diseases.
    assert isinstance(criterion.tree, Or)
    diseases = criterion.tree.children[-1]
    assert isinstance(diseases, Or)
    assert len(diseases.children) == 3


def test_sub_items_that_are_requirements_of_one_disease_stay_a_conjunction() -> None:
    text = "Inclusion Criteria:\n- Disease characteristics:\n  - Breast cancer\n  - HER2 positive\n"
    [criterion] = parse_eligibility(text).criteria
    assert isinstance(criterion.tree, And)


@pytest.mark.parametrize(
    "text",
    [
        # NCT00002104
        "Patients must be hospitalized men aged 18-65 and postmenopausal women to age 65.",
        # NCT00001909
        "Agreement to use medically accepted contraception throughout the study, if sexually active,\n"
        "except females who are postmenopausal for greater than or equal to 2 years.",
    ],
)
def test_sex_words_that_name_groups_or_exemptions_are_not_a_sex_requirement(text: str) -> None:
    sex_words = [a for a in parse_eligibility(text).atoms() if a.rule_id == "demographic.sex"]
    assert sex_words
    assert not any(a.checkable for a in sex_words)


def test_a_sex_word_alone_is_still_a_sex_requirement() -> None:
    [atom] = [
        a
        for a in parse_eligibility("Postmenopausal women aged 50 or over").atoms()
        if a.kind == "demographic" and a.rule_id == "demographic.sex"
    ]
    assert atom.checkable
    assert atom.concept is not None
    assert atom.concept.label == "female"


@pytest.mark.parametrize(
    "text",
    [
        # NCT00001250
        "Exclusion Criteria:\n- Previous therapy to the breast other than excisional biopsy.\n",
        # NCT00461396
        "Exclusion Criteria:\n- Any disease other than multiple sclerosis that would better explain the "
        "patient's neurological signs and symptoms\n",
    ],
)
def test_what_follows_other_than_is_an_exception_even_when_the_main_clause_is_unread(text: str) -> None:
    [criterion] = parse_eligibility(text).criteria
    assert isinstance(criterion.tree, Except)
    assert isinstance(criterion.tree.main, Atom)
    assert criterion.tree.main.rule_id == "fallback.unparsed"


@pytest.mark.parametrize(
    ("text", "qualified"),
    [
        # NCT00006110
        ("No excisional biopsy", "excisional biopsy"),
        # NCT00004091
        ("Surgery: No prior total hysterectomy", "total hysterectomy"),
        # NCT00001982
        ("Patients must not have contraindications to liver biopsy", "contraindications to liver biopsy"),
        # NCT00001854: a therapy, too
        (
            "Contraindications to the use of alpha interferon",
            "Contraindications to the use of alpha interferon",
        ),
    ],
)
def test_a_procedure_of_a_kind_or_site_or_a_contraindicated_treatment_is_unknown(
    text: str, qualified: str
) -> None:
    assert _qualifiers(text) == [qualified]


def test_a_bare_procedure_gets_no_qualifier() -> None:
    assert _qualifiers("No prior biopsy") == []


def test_a_condition_with_no_cause_named_after_it_is_not_qualified() -> None:
    assert _qualifiers("Exclusion Criteria:\n- Amyloidosis, or rheumatoid arthritis\n") == []


@pytest.mark.parametrize("text", ["Brain metastases", "Lung cancer", "Breast cancer"])
def test_a_site_the_vocabulary_names_with_the_cancer_is_not_a_qualifier(text: str) -> None:
    assert _qualifiers(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "No chemotherapy for treatment of any other prior malignancy",
        "No prior chemotherapy for breast cancer metastases",
    ],
)
def test_a_negated_treatment_and_its_indication_share_one_negation(text: str) -> None:
    [criterion] = parse_eligibility(f"Inclusion Criteria:\n- {text}\n").criteria
    assert isinstance(criterion.tree, Not)
    assert isinstance(criterion.tree.child, And)
    kinds = [a.kind for a in parse_eligibility(text).atoms()]
    assert kinds[0] == "therapy"


def _bare_diagnoses(text: str) -> list[str]:
    """The diagnoses a criterion asks about on their own: not narrowed by a qualifier beside them."""
    [criterion] = parse_eligibility(text).criteria

    def walk(node, qualified: bool) -> list[str]:
        if isinstance(node, Atom):
            return [node.text] if node.kind == "condition" and node.checkable and not qualified else []
        children = (node.child,) if isinstance(node, Not) else node.children
        narrowed = qualified or (
            isinstance(node, And)
            and any(isinstance(c, Atom) and c.rule_id == "condition.qualifier" for c in children)
        )
        return [name for child in children for name in walk(child, narrowed)]

    return walk(criterion.tree, False)


@pytest.mark.parametrize(
    "text",
    [
        "Exclusion Criteria:\n- Prior anthracycline for breast cancer\n",
        "Exclusion Criteria:\n- Prior therapy with an anthracycline for breast cancer\n",
        "Exclusion Criteria:\n- Patients who received prior treatment for their hepatocellular carcinoma\n",
        "Inclusion Criteria:\n- Prior chemotherapy for breast cancer is allowed if completed > 12 months"
        " ago\n",
    ],
)
def test_a_disease_a_treatment_was_given_for_is_not_asked_about_on_its_own(text: str) -> None:
    assert _bare_diagnoses(text) == []


@pytest.mark.parametrize(
    ("text", "diagnosis"),
    [
        ("Inclusion Criteria:\n- Histologically confirmed breast cancer\n", "breast cancer"),
        ("Inclusion Criteria:\n- Patients with NSCLC who received prior platinum therapy\n", "NSCLC"),
    ],
)
def test_a_diagnosis_the_patient_must_have_is_still_asked_about(text: str, diagnosis: str) -> None:
    assert _bare_diagnoses(text) == [diagnosis]


@pytest.mark.parametrize(
    "text",
    [
        "No prior systemic therapy for metastatic disease",
        "No prior chemotherapy or immunotherapy for advanced or metastatic disease",
        # NCT04181060-style setting
        "No prior systemic treatment in the metastatic setting",
    ],
)
def test_a_treatment_for_a_disease_setting_is_narrowed_to_that_setting(text: str) -> None:
    [criterion] = parse_eligibility(f"Inclusion Criteria:\n- {text}\n").criteria
    assert isinstance(criterion.tree, Not)
    therapies = [a for a in iter_atoms(criterion.tree) if a.kind == "therapy"]
    narrowed = []
    stack = [criterion.tree.child]
    while stack:
        node = stack.pop()
        if isinstance(node, And):
            settings = [
                c for c in node.children if isinstance(c, Atom) and c.rule_id == "condition.qualifier"
            ]
            if settings and settings[0].text.endswith(("disease", "setting")):
                narrowed += [c for c in node.children if isinstance(c, Atom) and c.kind == "therapy"]
        if isinstance(node, (And, Or)):
            stack.extend(node.children)
    assert therapies
    assert sorted(narrowed, key=lambda a: a.span) == therapies
