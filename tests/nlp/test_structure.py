from datetime import date

import pytest

from nlp import And, Atom, Or, iter_atoms, parse_eligibility
from nlp.text import items, normalise, section_of_heading
from recruitment.matching import DiagnosisFact, PatientFacts, ProcedureFact, TherapyFact, Truth, evaluate_tree


@pytest.mark.parametrize(
    ("heading", "section"),
    [
        ("Inclusion Criteria:", "inclusion"),
        ("* INCLUSION CRITERIA:", "inclusion"),
        ("Key Inclusion Criteria", "inclusion"),
        ("Key Exclusion Criteria", "exclusion"),
        ("EXCLUSION CRITERIA:", "exclusion"),
        ("Patients must not have any of the following:", "exclusion"),
        ("Subjects will be excluded if they meet any of the following:", "exclusion"),
        ("Exclusions", "exclusion"),
        ("Ineligibility.", "exclusion"),
        ("INELIGIBILITY CRITERIA:", "exclusion"),
        ("INCLUSIONS:", "inclusion"),
    ],
)
def test_heading_variants_are_recognised(heading: str, section: str) -> None:
    assert section_of_heading(heading) == section


def test_criterion_lines_are_not_mistaken_for_headings() -> None:
    assert section_of_heading("Patients must not be pregnant") is None
    assert section_of_heading("Histologically confirmed NSCLC") is None


def test_text_without_headings_is_read_as_inclusion() -> None:
    parsed = parse_eligibility("ECOG 0-1\nAge >= 18 years")
    assert not parsed.section_headings_found
    assert [c.section for c in parsed.criteria] == ["inclusion", "inclusion"]


def test_normalisation_maps_expanded_symbols_back_to_original_offsets() -> None:
    original = "ANC \u2265 1.5 \u00d7 10^9/L"
    norm = normalise(original)
    assert norm.text == "ANC >= 1.5 x 10^9/L"
    start = norm.text.index(">=")
    assert norm.to_original(start, start + 2) == (4, 5)
    assert norm.to_original(0, len(norm.text)) == (0, len(original))


def test_spans_are_reported_in_original_offsets_after_normalisation() -> None:
    text = "Inclusion Criteria:\n\u2022 Platelets \u2265 100 \u00d7 10^9/L\n"
    [atom] = parse_eligibility(text).atoms()
    assert text[atom.span[0] : atom.span[1]] == atom.text == "Platelets \u2265 100 \u00d7 10^9/L"
    assert atom.value == 100.0


def test_adequate_organ_function_header_groups_its_sub_items_with_and() -> None:
    text = (
        "Inclusion Criteria:\n"
        "  * Adequate organ function defined as:\n"
        "      * ANC >= 1.5 x 10^9/L\n"
        "      * Platelets >= 100 x 10^9/L\n"
        "  * ECOG 0-1\n"
    )
    criteria = parse_eligibility(text).criteria
    assert len(criteria) == 2
    assert isinstance(criteria[0].tree, And)
    assert len(criteria[0].tree.children) == 2
    assert "Platelets" in criteria[0].text


def test_at_least_one_of_the_following_header_makes_an_or_group() -> None:
    text = (
        "Inclusion Criteria:\n"
        "1. At least one of the following:\n"
        "   a. EGFR exon 19 deletion\n"
        "   b. ALK rearrangement\n"
    )
    [criterion] = parse_eligibility(text).criteria
    assert isinstance(criterion.tree, Or)
    codes = [
        child.concept.code for child in criterion.tree.children if isinstance(child, Atom) and child.concept
    ]
    assert codes == ["EGFR", "ALK"]


def test_a_header_ending_in_of_the_following_without_its_colon_still_heads_its_list() -> None:
    # Class 70 of docs/trec_error_classes.md, NCT00003838's wording: each disease was required on its own.
    text = (
        "Ages 8 to 80 (both inclusive) with a history of one of the following\n\n"
        "  -  PNH associated with either life-threatening thrombosis or cytopenia.\n\n"
        "  -  Aplastic anemia in subjects who have failed immunosuppressive therapy\n\n"
        "  -  RA or RARS MDS subjects who have associated transfusion dependence and/or neutropenia.\n\n"
        "Availability of HLA identical or single HLA locus mismatched family donor\n"
    )
    criteria = parse_eligibility(text).criteria
    assert len(criteria) == 2
    assert criteria[0].text.startswith("Ages 8 to 80")
    assert "RARS MDS" in criteria[0].text
    group = criteria[0].tree
    # The age band says whom the list binds; under it any one of the diseases is enough.
    assert isinstance(group, Or)
    assert isinstance(group.children[1], Or)


def test_a_header_wrapped_after_of_the_following_keeps_its_colon_line() -> None:
    text = (
        "Inclusion Criteria:\n"
        "  -  Need for daily controller therapy based on one or more of the following\n"
        "     criteria:\n\n"
        "       1. Received prescription for an asthma controller within the 12 months\n\n"
        "       2. Experienced symptoms for more than twice a week\n"
    )
    [criterion] = parse_eligibility(text).criteria
    assert criterion.text.endswith("twice a week")


def test_a_negation_over_the_following_reaches_the_list_run_in_after_its_colon() -> None:
    # Class 71 of docs/trec_error_classes.md, NCT00001928's wording: the colon and semicolons ended the "No",
    # so the item required pregnancy of every patient.
    text = (
        "No presence or history of any medical condition that can reasonably be expected to subject\n"
        "the patient to unwarranted risks, specifically those who have the following: a history of\n"
        "convulsive, hepatic, or renal disorders; currently receiving treatment for myocardial\n"
        "infarction, arrhythmia or cardiac failure; and pregnant women or anyone not practicing an\n"
        "effective means of birth control.\n"
    )
    [criterion] = parse_eligibility(text).criteria
    pregnant = next(a for a in iter_atoms(criterion.tree) if a.kind == "pregnancy")
    assert pregnant.assertion == "negated"
    man = PatientFacts(sex="male")
    assert evaluate_tree(criterion.tree, man, today=date(2021, 4, 1))[0] is not Truth.NOT_MET


def test_no_history_of_the_following_excludes_each_listed_condition() -> None:
    text = (
        "No history of the following: hypertension, diabetes mellitus, smoking, and coronary artery disease"
    )
    [criterion] = parse_eligibility(text).criteria
    assert {a.assertion for a in iter_atoms(criterion.tree) if a.kind == "condition"} == {"negated"}


def test_hanging_continuation_lines_join_their_bullet() -> None:
    text = "Exclusion Criteria:\n- History of interstitial lung disease\n  requiring steroids\n- Pregnant\n"
    criteria = parse_eligibility(text).criteria
    assert len(criteria) == 2
    assert criteria[0].text.endswith("requiring steroids")


def test_unparsed_criteria_keep_their_text_as_an_unmapped_uncheckable_atom() -> None:
    [atom] = parse_eligibility("Inclusion Criteria:\n* Something the dictionaries do not know\n").atoms()
    assert atom.kind == "other"
    assert not atom.mapped
    assert not atom.checkable
    assert atom.text == "Something the dictionaries do not know"


def test_structured_age_and_sex_fields_become_demographic_atoms() -> None:
    parsed = parse_eligibility("", minimum_age="18 Years", maximum_age="6 Months", sex="FEMALE")
    atoms = {a.rule_id: a for a in parsed.atoms()}
    assert atoms["structured.minimum_age"].value == 18.0
    assert atoms["structured.maximum_age"].value == 0.5
    assert atoms["structured.sex"].concept is not None
    assert atoms["structured.sex"].concept.label == "female"


def test_sex_all_adds_no_restriction() -> None:
    assert parse_eligibility("", sex="ALL").criteria == []


def test_items_under_an_exclusion_lead_in_each_exclude_on_their_own() -> None:
    # NCT00002067: "Patients with the following conditions are excluded:" then one bullet per condition.
    text = (
        "Exclusion Criteria:\n"
        "Patients with the following conditions are excluded:\n"
        "  -  Dementia\n"
        "  -  Active uncontrolled systemic infections at the start of treatment.\n"
    )
    [criterion] = parse_eligibility(text).criteria
    assert criterion.section == "exclusion"
    assert isinstance(criterion.tree, Or)
    assert len(criterion.tree.children) == 2


def test_an_exclusion_header_that_asks_for_all_of_its_items_stays_an_and_group() -> None:
    text = (
        "Exclusion Criteria:\n"
        "* Patients meeting all of the following:\n"
        "    * ECOG 2\n"
        "    * Platelets < 100 x 10^9/L\n"
    )
    [criterion] = parse_eligibility(text).criteria
    assert isinstance(criterion.tree, And)


def test_a_comma_list_in_an_exclusion_names_things_that_each_exclude() -> None:
    [criterion] = parse_eligibility("Exclusion Criteria:\n- Known HIV, hepatitis B, hepatitis C\n").criteria
    assert isinstance(criterion.tree, Or)
    assert len(criterion.tree.children) == 3


def test_a_comma_list_in_an_inclusion_asks_for_all_of_it() -> None:
    [criterion] = parse_eligibility("Inclusion Criteria:\n- ECOG 0-1, platelets >= 100 x 10^9/L\n").criteria
    assert isinstance(criterion.tree, And)


def test_a_qualified_heading_starts_a_section_and_its_numbered_items_stay_separate() -> None:
    # NCT03260491
    text = (
        "Inclusion Criteria for both Dose Escalation and Dose Expansion:\n\n"
        "1. Has locally advanced or metastatic NSCLC, not amenable to curative surgery or radiation\n"
        "2. Has at least one measurable lesion per RECIST version 1.1\n"
        "3. Has Eastern Cooperative Oncology Group performance status of 0 or 1 at Screening\n"
    )
    parsed = parse_eligibility(text)
    assert parsed.section_headings_found
    assert [c.text[:6] for c in parsed.criteria] == ["Has lo", "Has at", "Has Ea"]


@pytest.mark.parametrize(
    "line",
    [
        "Men and women aged 18 years or older",
        "Male or female patients",
        "Patients of either sex",
        "Women must not be pregnant",
        "Women of childbearing potential must use contraception",
    ],
)
def test_sex_words_that_restrict_no_one_make_no_sex_requirement(line: str) -> None:
    atoms = parse_eligibility(f"Inclusion Criteria:\n- {line}\n").atoms()
    assert not [a for a in atoms if a.rule_id == "demographic.sex"]


def test_a_sex_restriction_in_the_text_is_kept() -> None:
    atoms = parse_eligibility(
        "Inclusion Criteria:\n- Postmenopausal women with ER-positive breast cancer\n"
    ).atoms()
    [sex] = [a for a in atoms if a.rule_id == "demographic.sex"]
    assert sex.concept is not None
    assert sex.concept.label == "female"


def test_a_lexicon_phrase_becomes_an_unmapped_atom_that_keeps_its_text() -> None:
    # "angioedema" is in nlp/data/chia_lexicon.tsv, not in the curated diagnoses
    [atom] = parse_eligibility("Exclusion Criteria:\n- History of angioedema\n").atoms()
    assert (atom.kind, atom.text, atom.mapped, atom.concept) == ("condition", "angioedema", False, None)
    assert atom.rule_id == "lexicon.condition"
    assert atom.assertion == "historical"


def test_a_linked_term_wins_over_a_lexicon_phrase_on_the_same_words() -> None:
    atoms = parse_eligibility("Exclusion Criteria:\n- Unstable angina pectoris\n").atoms()
    assert [(a.rule_id.split(".")[0], a.concept.code if a.concept else None) for a in atoms] == [
        ("dictionary", "angina")
    ]


def test_a_lower_case_abbreviation_from_the_lexicon_links_to_its_curated_concept() -> None:
    # The cased ruler needs "COPD"; the lexicon holds "copd" as annotators saw it written.
    # "severe" adds a qualifier atom (kind "other") beside the condition; the condition is what is tested.
    [atom] = [
        a for a in parse_eligibility("Exclusion Criteria:\n- severe copd\n").atoms() if a.kind == "condition"
    ]
    assert atom.concept is not None
    assert atom.concept.code == "copd"
    assert atom.rule_id == "dictionary.condition.synonym"


def test_an_assay_named_with_a_biomarker_is_not_a_procedure_requirement() -> None:
    # NCT05715229
    text = (
        "Inclusion Criteria:\n* Eligible patients will be required to have positive PD-L1 expression "
        "\u22651% by IHC using Dako 22C3 assay.\n"
    )
    [atom] = parse_eligibility(text).atoms()
    assert atom.concept is not None
    assert atom.concept.code == "CD274"
    assert atom.assay == "22C3"


def _windows(text: str) -> list[tuple[str, str | None]]:
    return [
        (a.text, a.window.relation if a.window else None)
        for c in parse_eligibility(text).criteria
        for a in iter_atoms(c.tree)
        if a.kind in ("therapy", "procedure")
    ]


def test_a_concurrent_treatment_is_asked_about_while_it_is_given() -> None:
    assert _windows(
        "Exclusion Criteria:\n- No concurrent chemotherapy, radiotherapy, or immunotherapy\n"
        "- Concomitant use of systemic corticosteroids\n- No prior or concurrent hormonal therapy\n"
    ) == [
        ("chemotherapy", "current"),
        ("radiotherapy", "current"),
        ("immunotherapy", "current"),
        ("corticosteroids", "current"),
        ("hormonal therapy", None),
    ]


def test_a_treatment_named_as_a_label_is_not_a_requirement() -> None:
    """PDQ records label their "PRIOR CONCURRENT THERAPY" items by treatment: "Radiotherapy:" over "No
    concurrent radiotherapy" does not require radiotherapy, nor does "Chemotherapy:" in a merged line."""
    assert _windows(
        "Inclusion Criteria:\nPRIOR CONCURRENT THERAPY:\n  -  Radiotherapy:\n       -  No concurrent "
        "radiotherapy\nBiologic therapy: Not specified Chemotherapy: No prior nitrosoureas\n"
    ) == [("radiotherapy", "current"), ("nitrosoureas", None)]


def test_a_bullet_heads_the_bullets_indented_under_it_without_a_colon() -> None:
    """NCT00008307's diseases each head their own findings; Rosa, with multiple myeloma, meets the list."""
    text = (
        "DISEASE CHARACTERISTICS:\n\n"
        "  -  Clinically and/or histologically confirmed hematologic malignancy\n\n"
        "       -  Chronic myelogenous leukemia\n\n"
        "            -  Presence of Philadelphia chromosome\n\n"
        "       -  Multiple myeloma\n\n"
        "            -  Typical marrow morphology, radiographic findings, and paraprotein\n"
    )
    [criterion] = parse_eligibility(text).criteria
    rosa = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "myeloma", "multiple myeloma"),))
    assert evaluate_tree(criterion.tree, rosa, today=date(2021, 4, 1))[0] is not Truth.NOT_MET


def test_criteria_under_an_exclusions_heading_exclude() -> None:
    """NCT00006110: "Exclusions" over "Prior malignancies except: ...". Grace's breast cancer is the cancer
    the trial treats, not a prior malignancy the text excludes."""
    text = (
        "Inclusion Criteria:\n\nMeasurable or evaluable disease\n\nExclusions\n\n"
        "Prior malignancies except:\n\nEffectively treated squamous cell or basal cell skin cancer\n"
    )
    criteria = parse_eligibility(text).criteria
    assert criteria[0].section == "inclusion"
    assert {c.section for c in criteria[1:]} == {"exclusion"}
    grace = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "breast_cancer", "breast cancer"),))
    today = date(2021, 4, 1)
    verdicts = [evaluate_tree(c.tree, grace, today=today, section=c.section)[0] for c in criteria[1:]]
    assert Truth.MET not in verdicts


def test_a_group_the_inclusions_let_in_requires_nothing() -> None:
    """NCT00005970: Grace (breast cancer) has none of the listed other cancers, and need not have one."""
    text = (
        "Inclusion Criteria:\n\nEXCEPTIONS: These non-breast malignancies are eligible even if diagnosed "
        "=< 5 years prior\nto registration:\n\n"
        "  -  Squamous or basal cell carcinoma of the skin that has been effectively treated\n\n"
        "  -  Carcinoma in situ of the cervix that has been treated by surgery only\n"
    )
    [criterion] = parse_eligibility(text).criteria
    grace = PatientFacts(diagnoses=(DiagnosisFact("diagnosis:1", "breast_cancer", "breast cancer"),))
    assert evaluate_tree(criterion.tree, grace, today=date(2021, 4, 1))[0] is Truth.NOT_CHECKABLE


def test_a_group_eligible_only_if_its_conditions_hold_still_binds() -> None:
    [criterion] = parse_eligibility(
        "Inclusion Criteria:\n\nPatients with brain metastases are eligible if:\n\n"
        "  -  treated\n\n  -  stable\n"
    ).criteria
    assert isinstance(criterion.tree, Or)


def test_criteria_under_an_ineligibility_heading_exclude() -> None:
    """NCT00009945 heads its exclusions "Ineligibility.": Grace, not pregnant, is not asked to be."""
    text = (
        "Measurable disease\n\nIneligibility.\n\n"
        "  -  Pregnancy or lactation at the time of proposed randomization.\n"
    )
    criteria = parse_eligibility(text).criteria
    assert [c.section for c in criteria] == ["inclusion", "exclusion"]
    grace = PatientFacts(sex="female", pregnancy_status="not_pregnant", breastfeeding=False)
    verdict = evaluate_tree(criteria[1].tree, grace, today=date(2021, 4, 1), section="exclusion")[0]
    assert verdict is Truth.NOT_MET


def test_a_group_the_inclusions_exclude_requires_none_of_its_items() -> None:
    """ACTG-style "Prior Medication:" lists: "Excluded:" over its drugs, "Allowed:" over others. Ines, who had
    radiotherapy, is excluded; the permission on the next item does not reach back to the excluded one."""
    text = (
        "Inclusion Criteria:\n\nExcluded within 14 days of study entry:\n\n  -  Radiotherapy\n\n"
        "Allowed:\n\n  -  Aspirin\n"
    )
    excluded, allowed = parse_eligibility(text).criteria
    ines = PatientFacts(
        procedures=(ProcedureFact("procedure:1", "radiotherapy", "radiotherapy", date(2021, 3, 25)),)
    )
    assert evaluate_tree(excluded.tree, ines, today=date(2021, 4, 1))[0] is Truth.NOT_MET
    assert evaluate_tree(allowed.tree, ines, today=date(2021, 4, 1))[0] is Truth.NOT_CHECKABLE


def _condition_codes(text: str) -> set[str]:
    return {
        a.concept.code
        for c in parse_eligibility(text).criteria
        for a in iter_atoms(c.tree)
        if a.kind == "condition" and a.concept
    }


def test_an_abbreviation_the_text_defines_as_another_disease_loses_the_vocabularys_reading() -> None:
    # Class 75 of docs/trec_error_classes.md (NCT00493129's wording): MCL was mantle cell lymphoma.
    text = "Patients with SM, including mast cell leukemia (MCL).\nNo prior therapy for MCL\n"
    assert "mantle_cell" not in _condition_codes(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Relapsed mantle cell lymphoma (MCL)\nMCL in second remission\n", "mantle_cell"),
        ("Diagnosis of chronic lymphocytic lymphoma (CLL)\n", "cll"),
    ],
)
def test_an_abbreviation_defined_as_its_own_disease_keeps_its_reading(text: str, code: str) -> None:
    assert code in _condition_codes(text)


@pytest.mark.parametrize(
    ("line", "relation"),
    [
        ("No more than 84 days since prior surgery for breast cancer", "within"),
        ("Not more than 6 months since completion of radiotherapy", "within"),
        ("Less than 4 weeks since prior chemotherapy", "within"),
        ("More than 4 weeks since prior chemotherapy", "at_least"),
        ("At least 4 weeks since prior surgery", "at_least"),
    ],
)
def test_a_limit_on_the_time_since_a_treatment_is_its_window(line: str, relation: str) -> None:
    # Class 78 of docs/trec_error_classes.md: "No more than 84 days since" was read as at least 84 days.
    [criterion] = parse_eligibility(f"Exclusion Criteria:\n- {line}\n").criteria
    treatment = next(a for a in iter_atoms(criterion.tree) if a.kind in ("therapy", "procedure"))
    assert treatment.window is not None
    assert treatment.window.relation == relation


@pytest.mark.parametrize(
    "line", ["Pregnant and nursing females will be excluded", "Pregnant and lactating women"]
)
def test_pregnant_and_nursing_are_alternatives_no_one_need_be_both(line: str) -> None:
    # Class 79 of docs/trec_error_classes.md (NCT00006213's and NCT00001539's wording).
    [criterion] = parse_eligibility(f"Exclusion Criteria:\n- {line}\n").criteria
    assert isinstance(criterion.tree, Or)


def test_not_pregnant_and_not_nursing_still_asks_for_both() -> None:
    [criterion] = parse_eligibility("Inclusion Criteria:\n- Not pregnant and not nursing\n").criteria
    assert isinstance(criterion.tree, And)


@pytest.mark.parametrize(
    "line",
    [
        "Consent of parent or guardian if less than 18 years of age.",
        "The patient (or his/her guardian if less than 18 years of age) must sign a document",
    ],
)
def test_an_age_for_which_a_guardian_consents_is_not_a_requirement(line: str) -> None:
    # Class 80 of docs/trec_error_classes.md (NCT00000769's and NCT00001335's wording): every adult failed.
    [criterion] = parse_eligibility(f"Inclusion Criteria:\n- {line}\n").criteria
    ages = [a for a in iter_atoms(criterion.tree) if a.kind == "demographic"]
    assert ages
    assert not any(a.checkable for a in ages)


def test_an_age_before_the_guardians_consent_is_still_required() -> None:
    text = "Are at least 13 years old (consent of parent or guardian required if under 18)."
    [criterion] = parse_eligibility(text).criteria
    ages = [a for a in iter_atoms(criterion.tree) if a.kind == "demographic"]
    assert [(a.text, a.checkable) for a in ages] == [("at least 13 years old", True)]


def test_groups_labelled_inside_one_item_are_alternatives() -> None:
    # Class 81 of docs/trec_error_classes.md (NCT00004682's merged PDQ paragraph, shortened).
    text = (
        "--Disease Characteristics-- Mild or moderate generalized myasthenia gravis Group 1: Patients who\n"
        "have not received other immunosuppressive therapy in the past Group 2: Patients considered\n"
        "steroid-dependent\n"
    )
    [criterion] = parse_eligibility(text).criteria
    tree = criterion.tree
    groups = tree.children[-1] if isinstance(tree, And) else tree
    assert isinstance(groups, Or)
    second = groups.children[1]
    assert isinstance(second, Atom)
    assert second.text.startswith("Patients considered")
    on_steroids = PatientFacts(therapies=(TherapyFact("therapy:1", "prednisone", ("immunosuppressant",)),))
    assert evaluate_tree(criterion.tree, on_steroids, today=date(2021, 4, 1))[0] is not Truth.NOT_MET


NCT00003838_DISEASES = (
    "Diseases to be included:\n\n"
    "  -  CML chronic phase\n\n"
    "  -  AML: AML in first complete or partial remission. All AML in second remission.\n\n"
    "  -  NHL\n\n"
    "A) Intermediate or high grade relapsed despite treatment with standard therapy.\n\n"
    "B) NHL intermediate or high grade relapsing despite prior autologous transplant.\n\n"
    "  -  MM: MM subjects must be between the ages of 8 and 65 (both inclusive)\n\n"
    "  -  Mycosis fungoides, which has been shown to be amenable to allogeneic stem cell transplants.\n"
)


def test_a_header_listing_the_diseases_taken_is_any_one_of_them_even_with_repeated_names() -> None:
    # Class 82 of docs/trec_error_classes.md (NCT00003838's wording, shortened).
    [criterion] = parse_eligibility(NCT00003838_DISEASES).criteria
    assert isinstance(criterion.tree, Or)
    myeloma = PatientFacts(
        birth_date=date(1957, 1, 1), diagnoses=(DiagnosisFact("diagnosis:1", "myeloma", "multiple myeloma"),)
    )
    assert evaluate_tree(criterion.tree, myeloma, today=date(2021, 4, 1))[0] is Truth.MET


def test_a_bullet_after_a_sub_list_at_the_margin_goes_back_on_its_own_list() -> None:
    [header], _ = items(normalise(NCT00003838_DISEASES).text)
    assert [child.marker for child in header.children] == ["bullet"] * 3 + ["letter"] * 2 + ["bullet"] * 2
    assert not header.children[4].children


def test_an_age_the_guardians_consent_for_is_not_a_requirement() -> None:
    text = (
        "The procedure will be explained to subjects age 8-17 years with formal consent being\n"
        "obtained from parents or legal guardian.\n"
    )
    [criterion] = parse_eligibility(text).criteria
    ages = [a for a in iter_atoms(criterion.tree) if a.kind == "demographic"]
    assert [a.text for a in ages] == ["age 8-17 years"]  # read as an age, then not asked of everyone
    assert not any(a.checkable for a in ages)
