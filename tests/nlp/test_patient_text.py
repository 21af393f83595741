"""Facts from free-text patient summaries: real-style phrasings (TREC CT 2021 topics) and robustness."""

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp import parse_eligibility
from nlp.patient_text import PatientText, extract_patient_facts
from recruitment.matching import Truth, evaluate
from recruitment.matching.atoms import age_on
from recruitment.matching.from_text import facts_from_text, outcome_for_ranking, outcome_from_stored

FIXTURES = [
    json.loads(line)
    for line in (Path(__file__).parent / "fixtures" / "patient_texts.jsonl").read_text().splitlines()
    if line.strip()
]


@pytest.mark.parametrize("case", FIXTURES, ids=[str(i) for i in range(len(FIXTURES))])
def test_reads_trec_style_summaries(case):
    result = extract_patient_facts(case["text"])
    if "age" in case:
        assert result.age == pytest.approx(case["age"])
    assert result.sex == case["sex"]
    if "smoking" in case:
        assert result.smoking == case["smoking"]
    own = {f.concept.code for f in result.patients_own("condition") if f.concept}
    own |= {f.concept.code for f in result.patients_own("therapy") if f.concept}
    for code in case.get("conditions", []) + case.get("therapies", []):
        assert code in own
    for label, value in case.get("labs", {}).items():
        assert any(f.concept and f.concept.label == label and f.value == value for f in result.of("lab"))
    family = {f.text.lower() for f in result.of("condition") if f.assertion == "family"}
    for text in case.get("family", []):
        assert text in family
        assert all(f.text.lower() != text for f in result.patients_own("condition"))


def test_denied_condition_is_negated_not_the_patients():
    result = extract_patient_facts(
        "A 60-year-old woman with no history of diabetes presents with chest pain."
    )
    diabetes = [f for f in result.of("condition") if f.concept and f.concept.code == "diabetes"]
    assert diabetes
    assert all(f.assertion == "negated" for f in diabetes)
    assert result.age == 60
    assert result.sex == "female"


def test_mothers_cancer_is_family_history():
    result = extract_patient_facts("Her mother had breast cancer. She has hypertension.")
    breast = [f for f in result.of("condition") if f.concept and f.concept.code == "breast_cancer"]
    assert breast
    assert all(f.assertion == "family" for f in breast)
    assert any(f.concept and f.concept.code == "hypertension" for f in result.patients_own("condition"))


def test_labs_ecog_pregnancy_and_biomarkers():
    result = extract_patient_facts(
        "58-year-old woman, ECOG performance status 1, 12 weeks gestation. Hemoglobin 9.8 g/dL. "
        "Tumour is EGFR exon 19 deletion positive; ALK negative."
    )
    assert result.ecog == 1
    assert result.pregnancy == "pregnant"
    haemoglobin = [f for f in result.of("lab") if f.concept and f.concept.code == "718-7"]
    assert haemoglobin[0].value == pytest.approx(9.8)
    assert haemoglobin[0].unit == "g/dL"
    statuses = {f.concept.code: f.status for f in result.of("biomarker") if f.concept}
    assert statuses.get("EGFR") == "positive"
    assert statuses.get("ALK") == "negative"


def test_karnofsky_becomes_an_ecog_grade():
    assert extract_patient_facts("Karnofsky performance status 80%.").ecog == 1


def test_every_finding_has_its_span_text_and_a_confidence():
    text = FIXTURES[0]["text"]
    for finding in extract_patient_facts(text).findings:
        start, end = finding.span
        assert text[start:end] == finding.text
        assert 0 < finding.confidence <= 1


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes_and_spans_stay_inside(text):
    for finding in extract_patient_facts(text).findings:
        start, end = finding.span
        assert 0 <= start <= end <= len(text)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "no history of",
                "mother had",
                "58-year-old",
                "woman",
                "diabetes",
                "EGFR",
                "creatinine 1.2 mg/dL",
                "ECOG 2",
                "not pregnant",
                ".",
                ",",
                "smoker",
            ]
        ),
        max_size=12,
    )
)
def test_clinical_fragments_in_any_order_never_crash(words):
    text = " ".join(words)
    for finding in extract_patient_facts(text).findings:
        assert text[finding.span[0] : finding.span[1]] == finding.text


def test_a_count_without_unit_is_per_microlitre_when_large():
    platelets = extract_patient_facts("Plt: 350000").of("lab")
    assert platelets[0].unit == "/uL"
    assert platelets[0].value == 350000


@pytest.mark.parametrize(
    ("text", "age", "sex"),
    [
        ("Fernandez is a 41 year man who is a professional soccer player.", 41, "male"),
        ("A 75 yo M w/ metastatic papillary thyroid cancer", 75, "male"),
        ("79 yo F with multifactorial chronic hypoxemia", 79, "female"),
        ("A 6-month-old boy with fever", 0.5, "male"),
    ],
)
def test_age_and_sex_in_note_shorthand(text, age, sex):
    result = extract_patient_facts(text)
    assert result.age == pytest.approx(age)
    assert result.sex == sex


TODAY = date(2021, 4, 1)


def test_text_facts_feed_the_engine():
    patient = extract_patient_facts(
        "A 45-year-old man with hypertension, no history of diabetes; his mother had breast cancer. "
        "Creatinine 1.1 mg/dL. ECOG 1."
    )
    facts = facts_from_text(patient, today=TODAY, ref="p1")
    assert facts.sex == "male"
    assert facts.ecog == 1
    assert facts.pregnancy_status == "not_applicable"
    assert facts.birth_date is not None
    assert age_on(facts.birth_date, TODAY) == 45
    by_code = {d.code: d.present for d in facts.diagnoses}
    assert by_code["hypertension"] is True
    assert by_code["diabetes"] is False
    assert "breast_cancer" not in by_code
    assert any(lab.loinc == "2160-0" and lab.value == 1.1 for lab in facts.labs)


def test_a_structured_sex_limit_is_a_structured_exclusion_for_ranking():
    facts = facts_from_text(extract_patient_facts("A 45-year-old man."), today=TODAY)
    criteria = parse_eligibility("Inclusion Criteria:\n- Adults", sex="FEMALE").criteria
    outcome = outcome_for_ranking(evaluate(criteria, facts, today=TODAY))
    assert outcome.overall == "ineligible"
    assert outcome.structured_not_met == ("sex: FEMALE",)


def test_to_dict_is_json_for_a_review_form():
    data = extract_patient_facts("A 58-year-old woman with asthma.").to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["age"] == 58
    assert data["sex"] == "female"
    asthma = next(f for f in data["findings"] if f["kind"] == "condition")
    assert asthma["concept"]["code"] == "asthma"
    assert asthma["span"] == [25, 31]


def test_a_patient_described_as_a_mother_keeps_her_own_conditions():
    result = extract_patient_facts("A 32-year-old mother of three presents with asthma.")
    assert result.sex == "female"
    assert [f.assertion for f in result.of("condition")] == ["present"]


@pytest.mark.parametrize(
    "text",
    [
        "A 35-year-old woman. Beta hcg: negative for pregnancy.",
        "A 35-year-old woman; urine hCG was negative.",
    ],
)
def test_a_negative_pregnancy_test_means_not_pregnant(text):
    assert extract_patient_facts(text).pregnancy == "not_pregnant"


def test_an_infants_mention_of_pregnancy_is_the_mothers():
    result = extract_patient_facts(
        "A 3-day-old female infant, born at 38 weeks of gestation after an uncomplicated pregnancy."
    )
    assert result.of("pregnancy") == ()
    assert facts_from_text(result, today=TODAY).pregnancy_status == "unknown"


@pytest.mark.parametrize(
    "text",
    ["She has a negative history of smoking or drug use.", "No history of smoking.", "He won't smoke."],
)
def test_denied_smoking_history_is_a_never_smoker(text):
    assert extract_patient_facts(text).smoking == "never"


def test_a_negation_does_not_reach_past_a_relative_clause():
    result = extract_patient_facts(
        "Bone marrow biopsy was negative for any involvement, which made this a primary cardiac lymphoma."
    )
    assert [f.assertion for f in result.of("condition")] == ["present"]
    assert [f.assertion for f in extract_patient_facts("Biopsy negative for lymphoma.").of("condition")] == [
        "negated"
    ]


def test_a_stored_verdict_reduces_like_a_fresh_one_for_ranking():
    facts = facts_from_text(extract_patient_facts("A 45-year-old man with breast cancer."), today=TODAY)
    criteria = parse_eligibility(
        "Inclusion Criteria:\n- Histologically confirmed lung cancer\n- Adults", sex="ALL"
    ).criteria
    verdict = evaluate(criteria, facts, today=TODAY)
    fresh = outcome_for_ranking(verdict)
    stored = outcome_from_stored(
        verdict.overall.value, verdict.score, [c.to_dict() for c in verdict.criteria]
    )
    assert stored == fresh
    assert fresh.not_met_on_disease == ("Histologically confirmed lung cancer",)


def test_an_inclusion_met_on_the_patients_own_biomarker_result_is_named_for_ranking():
    facts = facts_from_text(
        extract_patient_facts("A 61-year-old woman with lung adenocarcinoma, EGFR exon 19 deletion."),
        today=TODAY,
    )
    criteria = parse_eligibility(
        "Inclusion Criteria:\n- EGFR mutation positive NSCLC\n- ECOG 0-1", sex="ALL"
    ).criteria
    outcome = outcome_for_ranking(evaluate(criteria, facts, today=TODAY))
    assert outcome.met_on_biomarker == ("EGFR mutation positive NSCLC",)
    assert "ECOG 0-1" not in outcome.met_on_biomarker


def test_note_shorthand_for_common_conditions():
    result = extract_patient_facts("65 yo man with history of CAD and prior MI, HLD, HTN, DM2. Mother: HTN.")
    own = {f.text: f.concept.code for f in result.patients_own("condition") if f.concept}
    assert own["HLD"] == "hyperlipidemia"
    assert own["HTN"] == "hypertension"
    assert own["DM2"] == "t2dm"
    assert [f.assertion for f in result.of("condition") if f.text == "HTN"] == ["historical", "family"]
    # "HL" is Hodgkin lymphoma as often as hyperlipidaemia: not expanded
    ambiguous = extract_patient_facts("HL in remission.").of("condition")
    assert not any(f.rule_id.endswith(".abbreviation") for f in ambiguous)


def test_a_negated_kind_of_disease_does_not_rule_out_the_disease() -> None:
    # TREC 2021 topic 27: "no evidence of alcoholic liver disease" in a patient with chronic viral hepatitis.
    patient = extract_patient_facts(
        "There is no evidence of alcoholic liver disease or metabolic liver disease. He denies diabetes."
    )
    negated = {f.concept.code for f in patient.of("condition") if f.concept and f.assertion == "negated"}
    assert "liver_disease" not in negated
    assert "diabetes" in negated


@pytest.mark.parametrize(
    "text",
    [
        # TREC 2021 topic 12's past medical history
        "Past Medical History:\nHistory of gestational diabetes mellitus\nHypertension with pregnancy\n",
        "She had pregnancy-induced hypertension at 28.",
    ],
)
def test_a_past_pregnancy_named_as_a_condition_setting_is_not_a_current_pregnancy(text: str) -> None:
    assert extract_patient_facts(text).pregnancy is None


def test_a_current_pregnancy_is_still_read() -> None:
    assert extract_patient_facts("Currently in her first pregnancy, at 12 weeks.").pregnancy == "pregnant"


def test_a_note_says_which_treatments_are_over_and_which_go_on() -> None:
    """Walter's note: his steroids and radiation are behind him (s/p, followed by), carboplatin goes on."""
    patient = extract_patient_facts(
        "A 45-year-old man with anaplastic astrocytoma s/p high-dose steroids. Therapy included field "
        "radiation followed by carboplatin. He is currently on carboplatin."
    )
    courses = {f.text: f.status for f in patient.of("therapy") + patient.of("procedure")}
    assert courses == {"steroids": "ended", "radiation": "ended", "carboplatin": "ongoing"}
    facts = facts_from_text(patient, today=TODAY)
    assert {t.drug: t.ongoing for t in facts.therapies} == {"corticosteroid": False, "carboplatin": True}


def test_a_treatment_the_note_does_not_date_or_call_ongoing_leaves_a_washout_open() -> None:
    """Walter's note lists his astrocytoma's treatments ("Therapy included ... temozolomide ... followed by
    CPT-11 weekly with Avastin", TREC 2021 topic 1) without saying whether any still goes on. "At least 4
    weeks since prior chemotherapy" (NCT00003470) is then open for him, not failed as if he were on it."""
    walter = facts_from_text(
        extract_patient_facts(
            "A 45-year-old man with anaplastic astrocytoma. Therapy included field radiation t10-l1 followed "
            "by 11 cycles of temozolomide 7 days on and 7 days off."
        ),
        today=TODAY,
    )
    [temozolomide] = [t for t in walter.therapies if t.drug == "temozolomide"]
    assert not temozolomide.course_known
    criteria = parse_eligibility(
        "Inclusion Criteria:\n- At least 4 weeks since prior chemotherapy\n"
    ).criteria
    assert evaluate(criteria, walter, today=TODAY).criteria[0].truth is Truth.UNKNOWN
    still = facts_from_text(extract_patient_facts("He is currently on temozolomide."), today=TODAY)
    assert evaluate(criteria, still, today=TODAY).criteria[0].truth is Truth.NOT_MET


def test_an_ended_treatment_does_not_break_no_concurrent_treatment() -> None:
    """Walter is s/p steroids: "No concurrent steroids as antiemetics" no longer excludes him."""
    walter = facts_from_text(
        extract_patient_facts("A 45-year-old man with anaplastic astrocytoma s/p high-dose steroids."),
        today=TODAY,
    )
    criteria = parse_eligibility("Inclusion Criteria:\n- No concurrent steroids as antiemetics\n").criteria
    assert evaluate(criteria, walter, today=TODAY).criteria[0].outcome != "violated"


def test_classic_cytotoxics_in_a_note_are_prior_chemotherapy() -> None:
    """Rosa's myeloma was treated with melphalan and prednisone; Walter's astrocytoma with temozolomide and
    CPT-11. "No prior chemotherapy" excludes both."""
    criteria = parse_eligibility("Inclusion Criteria:\n- No prior chemotherapy\n").criteria
    for note in (
        "64yo woman with multiple myeloma. Initially treated with melphalan and prednisone.",
        "A 45-year-old man with anaplastic astrocytoma treated with temozolomide, then CPT-11.",
    ):
        facts = facts_from_text(extract_patient_facts(note), today=TODAY)
        assert evaluate(criteria, facts, today=TODAY).criteria[0].outcome == "violated"


def test_a_named_regimen_is_chemotherapy() -> None:
    """Carl's CLL was treated with FCR, then R-CVP: both are prior chemotherapy and anti-CD20 therapy."""
    patient = extract_patient_facts(
        "57-year-old gentleman with CLL. He completed four cycles of FCR therapy, then received R-CVP."
    )
    facts = facts_from_text(patient, today=TODAY)
    assert [set(t.classes) >= {"chemotherapy", "anti_cd20"} for t in facts.therapies] == [True, True]


def test_a_planned_or_offered_treatment_is_not_one_the_patient_has_had() -> None:
    """Grace is a candidate for resection "prior to chemotherapy"; Anna "was offered a radical
    hysterectomy"."""
    for note in (
        "She is a candidate for tumor resection and agrees to do so prior to chemotherapy.",
        "She was offered a radical hysterectomy.",
    ):
        patient = extract_patient_facts(note)
        assert not patient.patients_own("therapy") + patient.patients_own("procedure")


def test_receptors_listed_together_share_their_status() -> None:
    """Grace's note: "The tumor was HER2-positive and ER/PR negative"."""
    patient = extract_patient_facts("The tumor was HER2-positive and ER/PR negative.")
    statuses = {f.concept.code: f.status for f in patient.of("biomarker") if f.concept}
    assert statuses == {"ERBB2": "positive", "ESR1": "negative", "PGR": "negative"}


def test_a_receptor_status_that_may_be_either_is_no_requirement() -> None:
    [criterion] = parse_eligibility(
        "Inclusion Criteria:\n"
        "- Estrogen receptor (ER) status can include ER positive, negative, or unknown.\n"
    ).criteria
    grace = facts_from_text(extract_patient_facts("The tumor was ER/PR negative."), today=TODAY)
    assert evaluate([criterion], grace, today=TODAY).criteria[0].outcome != "violated"


def test_hyphenated_drug_classes_are_read() -> None:
    """Mei "is on anti-depressants for the past 6 months": "Current antidepressant therapy" excludes her."""
    note = "A 46-year-old woman with MDD. She is on anti-depressants for the past 6 months."
    mei = facts_from_text(extract_patient_facts(note), today=TODAY)
    criteria = parse_eligibility("Exclusion Criteria:\n- Current antidepressant therapy\n").criteria
    assert evaluate(criteria, mei, today=TODAY).criteria[0].outcome == "violated"


@pytest.mark.parametrize(
    "text",
    [
        "A 61-year-old woman with invasive breast  carcinoma, on tamoxifen.",
        "A 61-year-old woman with invasive breast\ncarcinoma, on tamoxifen.",
        "A 61-year-old woman with non-small cell lung\n   cancer.",
    ],
)
def test_a_term_a_note_wraps_or_double_spaces_is_still_found(text: str) -> None:
    """Notes pasted from letters keep their line breaks and spacing; the diagnosis is still the patient's."""
    codes = {f.concept.code for f in extract_patient_facts(text).patients_own("condition") if f.concept}
    assert codes & {"breast_cancer", "nsclc"}
    assert "cancer" not in codes


def test_a_term_is_not_read_across_a_blank_line() -> None:
    result = extract_patient_facts("Family doctor: Dr Breast\n\nCarcinoma screening is due.")
    assert all(f.concept is None or f.concept.code != "breast_cancer" for f in result.findings)


def test_a_glioma_and_rarer_diseases_in_a_note_are_the_patients() -> None:
    """Omar's note names an anaplastic astrocytoma; Lena's, Wegener's granulomatosis and acromegaly."""
    omar = extract_patient_facts("45-year-old man with an unresectable anaplastic astrocytoma of the spine.")
    lena = extract_patient_facts("A 50 yo woman with Wegener's granulomatosis and a history of acromegaly.")
    assert {f.concept.code for f in omar.patients_own("condition") if f.concept} == {"anaplastic_astrocytoma"}
    assert {f.concept.code for f in lena.patients_own("condition") if f.concept} == {"gpa", "acromegaly"}


@pytest.mark.parametrize(
    ("text", "code", "stage"),
    [
        ("A Pap smear revealed stage 1B of cervical cancer.", "cervical_cancer", "IB"),
        ("58 yo woman with breast cancer. The tumor is stage IIIb.", "breast_cancer", "IIIB"),
        ("A 70-year-old man with stage IV lung adenocarcinoma.", "luad", "IV"),
        ("Resected NSCLC, pT2 N1 M0.", "nsclc", "T2N1M0"),
    ],
)
def test_a_stage_in_the_note_goes_on_the_cancer_it_stages(text: str, code: str, stage: str) -> None:
    staged = {f.concept.code: f.stage for f in extract_patient_facts(text).of("condition") if f.concept}
    assert staged[code] == stage


@pytest.mark.parametrize(
    "text",
    [
        "Parkinson's disease, Hoehn-Yahr Stage I. History of prostate cancer.",
        "CKD stage 3 and colon cancer.",
        "Fungal esophagitis stage IV?\nProstate cancer in 2010.",
    ],
)
def test_other_scales_stages_are_not_a_cancer_stage(text: str) -> None:
    # A Hoehn and Yahr stage is the Parkinson's disease's own (eighth trec round), never the cancer's.
    found = extract_patient_facts(text).findings
    assert all(f.stage is None for f in found if not (f.concept and f.concept.code == "parkinsons"))


def test_the_stage_from_text_decides_a_stage_criterion() -> None:
    """Carmen's note gives stage IB cervical cancer: a stage IV or recurrent cervical cancer trial fails."""
    carmen = extract_patient_facts("A 37-year-old woman; a Pap smear revealed stage 1B of cervical cancer.")
    facts = facts_from_text(carmen, today=TODAY, ref="carmen")
    assert [(d.code, d.stage) for d in facts.diagnoses] == [("cervical_cancer", "IB")]
    criteria = parse_eligibility("Inclusion Criteria:\n- Stage IV cervical cancer").criteria
    verdict = evaluate(criteria, facts, today=TODAY)
    assert verdict.overall.value == "ineligible"
    assert any("stage IB outside IV" in atom.reason for c in verdict.criteria for atom in c.atoms)


def test_neuromuscular_and_endocrine_diagnoses_in_a_note_are_the_patients() -> None:
    """Nadia's note names myasthenia gravis, Tessa's Turner syndrome from her karyotype, Rania's systemic
    mastocytosis and Walter's Parkinson's without "disease" (class 88)."""
    nadia = extract_patient_facts("The patient is a 35-year-old woman with myasthenia gravis, class IIa.")
    tessa = extract_patient_facts(
        "A 12 year old girl with short stature. Her karyotype study revealed 45X and confirmed the diagnosis "
        "of Turner syndrome."
    )
    rania = extract_patient_facts("Pt is a 22yo F with a 5 yr history of systemic mastocytosis.")
    walter = extract_patient_facts("A 70-year-old man with parkinson's, on levodopa.")

    def own(note: PatientText) -> set[str]:
        return {f.concept.code for f in note.patients_own("condition") if f.concept}

    assert own(nadia) == {"myasthenia_gravis"}
    assert own(tessa) == {"turner"}
    assert own(rania) == {"systemic_mastocytosis"}
    assert "parkinsons" in own(walter)


@pytest.mark.parametrize(
    "text",
    [
        "He is an alert and cooperative man who doesn't have any signs of dementia.",
        "He is an alert and cooperative man who does not have any signs of dementia.",
        "She doesn\u2019t have dementia.",
        "He does not have dementia.",
    ],
)
def test_a_note_saying_the_patient_does_not_have_a_disease_negates_it(text: str) -> None:
    """Class 89: "doesn't" is as much a negation as "does not"; "have" before the disease is no kind of it."""
    found = [f for f in extract_patient_facts(text).of("condition") if f.concept]
    assert [(f.concept.code, f.assertion) for f in found if f.concept] == [("dementia", "negated")]


def test_farid_without_dementia_fits_a_parkinsons_or_alzheimers_protocol() -> None:
    """Farid has Parkinson's disease and no signs of dementia: "These disorders would include patients
    with Parkinson's disease, Alzheimer's disease, ..." names alternatives, one of which he has (classes 89,
    90)."""
    farid = extract_patient_facts(
        "A 57-year old farmer was diagnosed with Parkinson's disease a year ago. He is an alert and "
        "cooperative man who doesn't have any signs of dementia."
    )
    facts = facts_from_text(farid, today=TODAY, ref="farid")
    criteria = parse_eligibility(
        "INCLUSION CRITERIA:\n\nPatients may be included on this protocol if they have an identifiable "
        "neurological\ndisorder or represent a diagnostic puzzle. These disorders would include patients "
        "with\nParkinson's disease, Alzheimer's disease, multiple system atrophy, progressive "
        "supranuclear\npalsy, restless legs syndrome, other cognitive and movement disorders, and "
        "diagnostic\npuzzles."
    ).criteria
    assert evaluate(criteria, facts, today=TODAY).overall.value == "eligible"


def test_tessa_with_turner_syndrome_is_not_asked_to_be_a_control() -> None:
    """Tessa's karyotype confirmed Turner syndrome: a trial taking "girls with Turner's syndrome" and
    "age-matched girls without Turner's syndrome entered as controls" takes her (class 91)."""
    tessa = extract_patient_facts(
        "A 12 year old girl came to the clinic with her mother. Her karyotype study revealed 45X and "
        "confirmed the diagnosis of Turner syndrome."
    )
    criteria = parse_eligibility(
        "PROTOCOL ENTRY CRITERIA:\n\n  -  Girls aged 8 and 12 years with Turner's syndrome-compatible "
        "karyotype\n\n  -  Age-matched girls without Turner's syndrome entered as controls\n",
        minimum_age="8 Years",
        maximum_age="12 Years",
        sex="Female",
    ).criteria
    verdict = evaluate(criteria, facts_from_text(tessa, today=TODAY, ref="tessa"), today=TODAY)
    assert verdict.overall.value != "ineligible"


@pytest.mark.parametrize(
    ("text", "assertion"),
    [
        (
            "The patient is a 35-year-old woman with myasthenia gravis. Her 70-year-old father has "
            "hypertension.",
            "family",
        ),
        ("His 45 year old brother had hypertension.", "family"),
        ("A 32-year-old mother of three presents with hypertension.", "present"),
    ],
)
def test_a_relatives_age_does_not_make_the_relative_the_patient(text: str, assertion: str) -> None:
    """Class 93: Nadia's note gives her father's age; "a 32-year-old mother" is still the patient."""
    found = [
        f
        for f in extract_patient_facts(text).of("condition")
        if f.concept and f.concept.code == "hypertension"
    ]
    assert [f.assertion for f in found] == [assertion]


def test_hashimoto_appendicitis_and_pagets_disease_of_bone_in_a_note_are_the_patients() -> None:
    """Hana was diagnosed with Hashimoto disease, Liam's CT showed perforated appendicitis, and Victor's
    Paget's disease of bone was confirmed: each note's main problem now links (class 88)."""
    notes = {
        "hashimoto": "A 16-year-old girl with high TSH levels. She was diagnosed with Hashimoto disease.",
        "appendicitis": "CT scan showed evidence of acute perforated appendicitis with free fluid.",
        "pagets_bone": "A 60 year old man with bone pain. Paget's Disease of Bone was confirmed.",
        "choledocholithiasis": "The ultrasound revealed several gallstones, biliary sludge and CBD stones.",
    }
    for code, text in notes.items():
        found = extract_patient_facts(text).patients_own("condition")
        assert code in {f.concept.code for f in found if f.concept}


def test_antiparkinson_and_acromegaly_drugs_in_a_note_are_the_patients_treatments() -> None:
    """Eighth trec round: "He is on Levodopa and Trihexyphenidyl" and "on stable doses of octreotide LAR"
    linked no drug, so trials asking about levodopa or somatostatin analogues had nothing to read."""
    text = (
        "A 60-year-old man with Parkinson's disease. He is on Levodopa and Trihexyphenidyl. His sister is on "
        "stable doses of octreotide LAR."
    )
    found = {f.concept.code: f.assertion for f in extract_patient_facts(text).of("therapy") if f.concept}
    assert found["levodopa"] == "present"
    assert found["trihexyphenidyl"] == "present"
    assert found["octreotide"] == "family"


def test_a_drug_the_note_offers_is_not_the_patients() -> None:
    text = "A 58-year-old man with Parkinson's disease. He is offered Levodopa."
    assert not extract_patient_facts(text).patients_own("therapy")


@pytest.mark.parametrize(
    ("criterion", "outcome"),
    [
        ("Inclusion Criteria:\n- Must have progressed on fludarabine therapy\n", "satisfied"),
        ("Inclusion Criteria:\n- No prior rituximab\n", "violated"),
        ("Inclusion Criteria:\n- No prior doxorubicin\n", "unknown"),
    ],
)
def test_a_regimen_in_a_note_is_a_history_of_each_of_its_drugs(criterion: str, outcome: str) -> None:
    """Eighth trec round: "He completed four cycles of FCR therapy" is fludarabine, cyclophosphamide and
    rituximab, which CLL trials ask about one by one."""
    patient = extract_patient_facts(
        "A 57-year-old man with CLL. He completed four cycles of FCR therapy two years ago."
    )
    facts = facts_from_text(patient, today=date(2021, 4, 1))
    verdict = evaluate(parse_eligibility(criterion).criteria, facts, today=date(2021, 4, 1))
    assert verdict.criteria[0].outcome == outcome


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        (
            "A 58-year-old man with Parkinson's disease. His disease is ranked as mild, Hoehn-Yahr Stage I.",
            "I",
        ),
        ("Parkinson's disease, Hoehn and Yahr stage 3, on levodopa.", "III"),
        ("Parkinson's disease, Hoehn and Yahr stage 2.5.", None),
        ("Parkinson's disease and CKD stage 3.", None),
    ],
)
def test_a_hoehn_and_yahr_stage_is_the_stage_of_the_notes_parkinsons_disease(
    text: str, stage: str | None
) -> None:
    found = extract_patient_facts(text).of("condition")
    [parkinsons] = [f for f in found if f.concept and f.concept.code == "parkinsons"]
    assert parkinsons.stage == stage


def test_a_parkinsons_stage_answers_hoehn_and_yahr_criteria_and_not_a_cancers() -> None:
    """Eighth trec round (class 84): Parkinson's trials separate early from advanced disease by the Hoehn
    and Yahr stage; a note's "Hoehn-Yahr Stage I" was read as no stage at all."""
    patient = extract_patient_facts("A 58-year-old man with Parkinson's disease, Hoehn-Yahr Stage I.")
    facts = facts_from_text(patient, today=date(2021, 4, 1))

    def outcome(criterion: str) -> str:
        verdict = evaluate(parse_eligibility(criterion).criteria, facts, today=date(2021, 4, 1))
        return verdict.criteria[0].outcome

    assert outcome("Inclusion Criteria:\n- Symptom severity will range from Hoehn & Yahr stage II-IV.\n") == (
        "violated"
    )
    assert outcome("Inclusion Criteria:\n- Hoehn & Yahr Stage 1 or 2\n") == "satisfied"
    assert outcome("Inclusion Criteria:\n- Stage II-IV cancer\n") == "unknown"


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        (
            "A 45-year-old woman with invasive ductal breast carcinoma. Axillary sampling revealed 5 "
            "positive lymph nodes. CXR was remarkable for metastatic lesions.",
            "IV",
        ),
        ("A 75 yo M w/ metastatic papillary thyroid cancer s/p XRT.", "IV"),
        ("Colon cancer metastatic to lymph nodes and liver.", "IV"),
        ("Breast cancer metastatic to two axillary lymph nodes.", None),
        ("Breast cancer with nodal metastases.", None),
        ("Lung adenocarcinoma. CT showed no evidence of metastatic disease.", None),
        ("Lung adenocarcinoma, stage IIIB. Metastases to the liver were found later.", "IIIB"),
    ],
)
def test_a_solid_cancer_the_note_says_has_spread_is_stage_iv(text: str, stage: str | None) -> None:
    """Eighth trec round (class 84): breast cancer trials for stage I-II and for metastatic disease were
    equally possible for a patient whose chest X-ray showed metastases; distant spread is stage IV, spread
    to lymph nodes alone is not, and a stage the note gives stands."""
    [cancer] = [f for f in extract_patient_facts(text).of("condition") if f.concept]
    assert cancer.stage == stage


def test_a_blood_cancers_lesions_are_not_a_solid_cancers_spread() -> None:
    [myeloma] = extract_patient_facts("Multiple myeloma, metastatic lesions in bone.").of("condition")
    assert myeloma.stage is None


def test_an_inclusion_needing_a_biomarker_result_elena_never_had_is_named_with_the_result_it_needs():
    # Elena: EGFR exon 19 deletion lung adenocarcinoma, never tested for KRAS, ALK or HER2.
    facts = facts_from_text(
        extract_patient_facts("A 61-year-old woman with lung adenocarcinoma, EGFR exon 19 deletion."),
        today=TODAY,
    )
    criteria = parse_eligibility(
        "Inclusion Criteria:\n- KRAS G12D mutation\n- ECOG 0-1\n- Measurable disease\n"
        "Exclusion Criteria:\n- ALK fusion\n",
        sex="ALL",
    ).criteria
    verdict = evaluate(criteria, facts, today=TODAY)
    fresh = outcome_for_ranking(verdict)
    assert fresh.overall == "possibly_eligible"
    assert fresh.untested_biomarkers == ("KRAS G12D",)
    stored = outcome_from_stored(
        verdict.overall.value, verdict.score, [c.to_dict() for c in verdict.criteria]
    )
    assert stored == fresh


def test_a_biomarker_inclusion_elena_meets_or_fails_asks_for_no_result():
    facts = facts_from_text(
        extract_patient_facts("A 61-year-old woman with lung adenocarcinoma, EGFR exon 19 deletion."),
        today=TODAY,
    )
    criteria = parse_eligibility(
        "Inclusion Criteria:\n- EGFR mutation positive NSCLC\n- ECOG 0-1\n", sex="ALL"
    ).criteria
    assert outcome_for_ranking(evaluate(criteria, facts, today=TODAY)).untested_biomarkers == ()
