import pytest

from nlp import terminology
from nlp.terminology import drug_classes, icd10cm, is_a, lexicon, link, manifest, vocabulary
from nlp.units import UnitError, convert


def test_lung_adenocarcinoma_is_a_nsclc_is_a_lung_cancer_is_a_solid_tumour() -> None:
    assert is_a("luad", "nsclc")
    assert is_a("luad", "lung_cancer")
    assert is_a("luad", "solid_tumour")
    assert is_a("nsclc", "nsclc")


def test_is_a_does_not_go_downwards_or_sideways() -> None:
    assert not is_a("solid_tumour", "luad")
    assert not is_a("sclc", "nsclc")
    assert not is_a("unknown_code", "solid_tumour")


def test_diagnoses_carry_icd10cm_codes_where_known() -> None:
    assert icd10cm("breast_cancer") == "C50.919"


def test_pembrolizumab_is_an_anti_pd1_and_an_immune_checkpoint_inhibitor() -> None:
    classes = drug_classes("Pembrolizumab")
    assert classes[0] == "anti_pd1"
    assert "immune_checkpoint_inhibitor" in classes
    assert is_a("anti_pd1", "immune_checkpoint_inhibitor")


def test_unknown_drug_has_no_classes() -> None:
    assert drug_classes("notadrug") == []


def test_linking_prefers_exact_then_synonym() -> None:
    concept, how = link("non-small cell lung cancer", "condition")
    assert concept is not None
    assert concept.code == "nsclc"
    assert how == "exact"
    concept, how = link("NSCLC", "condition")
    assert concept is not None
    assert concept.code == "nsclc"
    assert how == "synonym"


def test_fuzzy_linking_fixes_a_typo() -> None:
    concept, how = link("hepatocelular carcinoma", "condition")
    assert concept is not None
    assert concept.code == "hcc"
    assert how == "fuzzy"


@pytest.mark.parametrize(
    "text",
    ["type 3 diabetes mellitus", "non-small cell lung carcinomas of the foot", "NSCL", "KRASS"],
)
def test_fuzzy_linking_refuses_near_misses_and_abbreviations(text: str) -> None:
    concept, how = link(text, "condition")
    assert concept is None
    assert how == "unmapped"


def test_fuzzy_linking_never_turns_small_cell_into_non_small_cell() -> None:
    concept, _ = link("small-cell lung carcinom", "condition")
    assert concept is None or concept.code == "sclc"


def test_manifest_names_parser_and_dictionary_versions() -> None:
    assert manifest()["parser_version"]
    assert manifest()["dictionary_version"]


def test_creatinine_mg_per_dl_converts_to_umol_per_l_with_its_molar_mass() -> None:
    assert convert(1.0, "mg/dL", "umol/L", analyte="creatinine") == pytest.approx(88.4, abs=0.1)
    assert convert(88.4, "µmol/L", "mg/dL", analyte="creatinine") == pytest.approx(1.0, abs=0.01)
    assert convert(1.0, "mg/dL", "umol/L", analyte="2160-0") == pytest.approx(88.4, abs=0.1)


def test_ten_to_the_ninth_per_litre_equals_ten_cubed_per_microlitre() -> None:
    assert convert(1.5, "x 10^9/L", "10^3/uL") == pytest.approx(1.5)
    assert convert(1500, "cells/mm3", "10^9/L") == pytest.approx(1.5)


@pytest.mark.parametrize("unit", ["K/uL", "K/µL", "k/mm3", "thou/uL", "Thousand/uL"])
def test_a_reports_thousands_per_microlitre_is_ten_to_the_ninth_per_litre(unit: str) -> None:
    assert convert(150, unit, "10^9/L") == pytest.approx(150)


@pytest.mark.parametrize(
    ("value", "unit", "wanted", "expected"),
    [
        (150, "10*3/uL", "10^9/L", 150),  # UCUM's power of ten, not 10 x 3
        (2.5, "mIU/L", "mU/L", 2.5),  # TSH: international units count as units
        (2.5, "uIU/mL", "mU/L", 2.5),
        (1, "U/mL", "U/L", 1000),
        (1, "kU/L", "U/L", 1000),
        (1.2, "MG/DL", "mg/dL", 1.2),  # capitals are not megagauss
        (3.1, "G/L", "10^9/L", 3.1),  # a European report's giga per litre
        (4.5, "T/L", "10^12/L", 4.5),
        (12, "g/L", "g/dL", 1.2),  # while g/L stays grams
        (300, "mg/24h", "mg/d", 300),  # a day's excretion, not mg/24 x h
        (60, "mL/min/1.73 m2", "mL/min/1.73m^2", 60),
        (1500, "/mm 3", "10^9/L", 1.5),  # a lost superscript, as criteria print it
        (40, "mmHg", "mmHg", 40),
        (25, "kg/m2", "kg/m^2", 25),
        (10000, "copies/mL", "copies/L", 1e7),
    ],
)
def test_lab_report_units_are_read_as_laboratories_write_them(
    value: float, unit: str, wanted: str, expected: float
) -> None:
    assert convert(value, unit, wanted) == pytest.approx(expected)


def test_equivalents_convert_to_moles_through_the_ions_valence_only() -> None:
    assert convert(4.0, "mEq/L", "mmol/L", analyte="potassium") == pytest.approx(4.0)
    assert convert(2.0, "mEq/L", "mmol/L", analyte="magnesium") == pytest.approx(1.0)
    with pytest.raises(UnitError, match="cannot convert"):
        convert(4.0, "mEq/L", "mmol/L")


def test_hba1c_in_mmol_per_mol_follows_the_ngsp_ifcc_master_equation() -> None:
    assert convert(53, "mmol/mol", "%", analyte="hba1c") == pytest.approx(7.0, abs=0.01)
    assert convert(7.0, "%", "mmol/mol", analyte="hba1c") == pytest.approx(53, abs=0.1)
    assert convert(7.0, "%", "%", analyte="hba1c") == pytest.approx(7.0)


def test_mu_is_milli_units_never_an_atomic_mass() -> None:
    with pytest.raises(UnitError, match="cannot convert"):
        convert(1.0, "mU/L", "mg/dL")


def test_kelvin_is_still_kelvin_elsewhere_in_a_unit() -> None:
    with pytest.raises(UnitError):
        convert(1.0, "mg/K", "mg/dL")


def test_incompatible_units_raise_a_clear_error() -> None:
    with pytest.raises(UnitError, match="cannot convert"):
        convert(1.0, "mg/dL", "mL/min")
    with pytest.raises(UnitError, match="analyte"):
        convert(1.0, "mg/dL", "umol/L")
    with pytest.raises(UnitError, match="unknown unit"):
        convert(1.0, "furlongs-ish", "g")


def test_lymphoma_covers_hodgkin_and_non_hodgkin_which_stay_apart() -> None:
    assert link("non-Hodgkin's lymphoma", "condition")[0].code == "nhl"  # type: ignore[union-attr]
    assert link("Hodgkin's lymphoma", "condition")[0].code == "hodgkin"  # type: ignore[union-attr]
    assert is_a("hodgkin", "lymphoma")
    assert is_a("dlbcl", "nhl")
    assert is_a("dlbcl", "lymphoma")
    assert not is_a("hodgkin", "nhl")


@pytest.mark.parametrize(
    ("text", "kind", "code"),
    [
        ("transient ischemic attack", "condition", "tia"),
        ("bipolar disorder", "condition", "bipolar"),
        ("hepatic insufficiency", "condition", "hepatic_impairment"),
        ("clopidogrel", "therapy", "clopidogrel"),
        ("NSAIDs", "therapy", "nsaid"),
        ("percutaneous coronary intervention", "procedure", "pci"),
    ],
)
def test_common_comorbidities_drugs_and_procedures_link(text: str, kind: str, code: str) -> None:
    concept, _ = link(text, kind)
    assert concept is not None
    assert concept.code == code


def test_comorbidity_hierarchy_reaches_its_parent_group() -> None:
    assert is_a("stemi", "mi")
    assert is_a("stemi", "cardiovascular_disease")
    assert is_a("basal_cell", "nmsc")
    assert "antiplatelet" in drug_classes("aspirin")


def test_the_lexicon_holds_only_kinds_the_parser_makes_atoms_of() -> None:
    assert set(lexicon()) <= {"condition", "therapy", "procedure", "lab"}
    assert all(term == term.lower() for terms in lexicon().values() for term in terms)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("anaplastic astrocytoma", "anaplastic_astrocytoma"),
        ("malignant gliomas", "glioma"),
        ("gliosarcoma", "gliosarcoma"),
        ("pilocytic astrocytoma", "low_grade_astrocytoma"),
        ("anaplastic oligodendroglioma", "oligodendroglioma"),
        ("diffuse intrinsic pontine glioma", "brainstem_glioma"),
        ("acromegaly", "acromegaly"),
        ("Wilson's disease", "wilson"),
        ("Huntington's disease", "huntingtons"),
        ("Kawasaki disease", "kawasaki"),
        ("Wegener's granulomatosis", "gpa"),
        ("Waldenström's macroglobulinemia", "waldenstrom"),
        ("systemic amyloidosis", "amyloidosis"),
        ("familial amyloidosis", "hereditary_amyloidosis"),
        ("head and neck cancer", "head_neck_cancer"),
    ],
)
def test_brain_tumours_and_less_common_diseases_link(text: str, code: str) -> None:
    concept, how = link(text, "condition")
    assert concept is not None
    assert (concept.code, how) == (code, "exact" if text == concept.label else "synonym")


def test_new_diseases_sit_under_their_groups() -> None:
    assert is_a("anaplastic_astrocytoma", "glioma")
    assert is_a("glioblastoma", "brain_tumour")
    assert is_a("glioma", "solid_tumour")
    assert not is_a("anaplastic_astrocytoma", "glioblastoma")
    assert is_a("gliosarcoma", "glioblastoma")
    # A high-grade glioma is not a low-grade one, though both are astrocytomas or gliomas.
    assert is_a("low_grade_astrocytoma", "astrocytoma")
    assert not is_a("anaplastic_astrocytoma", "low_grade_astrocytoma")
    assert not is_a("glioblastoma", "low_grade_glioma")
    assert is_a("waldenstrom", "nhl")
    assert is_a("gpa", "vasculitis")
    assert is_a("kawasaki", "autoimmune")
    assert is_a("huntingtons", "neurological_disease")
    assert is_a("hereditary_amyloidosis", "amyloidosis")
    assert not is_a("amyloidosis", "cancer")
    # MeSH files thyroid cancer among head and neck neoplasms, as the registry's PDQ condition terms do.
    assert is_a("hnscc", "head_neck_cancer")
    assert is_a("thyroid_cancer", "head_neck_cancer")
    assert not is_a("thyroid_cancer", "hnscc")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("hypothyroidism", "hypothyroidism"),
        ("atrial fibrillation", "atrial_fibrillation"),
        ("pulmonary embolism", "pe"),
        ("Crohn's disease", "crohns"),
        ("seizures", "seizure"),
        ("seizure disorder", "epilepsy"),
        ("renal failure", "renal_impairment"),
        ("hepatic impairment", "hepatic_impairment"),
        ("coagulopathy", "bleeding"),
    ],
)
def test_a_term_links_to_one_concept_the_narrowest_that_it_names(text: str, code: str) -> None:
    """A concept's own name is never also a broader concept's synonym (the first row read would win)."""
    concept, _ = link(text, "condition")
    assert concept is not None
    assert concept.code == code


def test_no_diagnosis_term_names_two_concepts() -> None:
    owners: dict[str, set[str]] = {}
    for entry in vocabulary()["condition"]:
        for term in entry.synonyms:
            owners.setdefault(term.lower(), set()).add(entry.concept.code)
    assert {term: codes for term, codes in owners.items() if len(codes) > 1} == {}


def test_chronic_kidney_disease_is_a_renal_impairment() -> None:
    assert is_a("ckd", "renal_impairment")
    assert is_a("ckd", "renal_disease")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("myasthenia gravis", "myasthenia_gravis"),
        ("ocular myasthenia", "myasthenia_gravis"),
        ("essential tremor", "essential_tremor"),
        ("temporal lobe epilepsy", "temporal_lobe_epilepsy"),
        ("partial epilepsy", "focal_epilepsy"),
        ("juvenile myoclonic epilepsy", "juvenile_myoclonic_epilepsy"),
        ("intractable epilepsy", "refractory_epilepsy"),
        ("Lennox-Gastaut syndrome", "lennox_gastaut"),
        ("status epilepticus", "status_epilepticus"),
        ("Sjogren's syndrome", "sjogrens"),
        ("Sjögren's syndrome", "sjogrens"),
        ("dermatomyositis", "dermatomyositis"),
        ("polymyositis", "polymyositis"),
        ("temporal arteritis", "giant_cell_arteritis"),
        ("polyarteritis nodosa", "polyarteritis_nodosa"),
        ("systemic mastocytosis", "systemic_mastocytosis"),
        ("urticaria pigmentosa", "cutaneous_mastocytosis"),
        ("Turner syndrome", "turner"),
        ("Turner's syndrome", "turner"),
        ("Cushing's syndrome", "cushings"),
        ("Cushing's disease", "cushings_disease"),
        ("parkinson's", "parkinsons"),
        ("HIV-1 infection", "hiv"),
        ("HIV Infections", "hiv"),
        ("acquired immunodeficiency syndrome", "hiv"),
        ("Grave's disease", "hyperthyroidism"),
        ("BPH", "bph"),
        ("Hashimoto disease", "hashimoto"),
        ("perforated appendicitis", "appendicitis"),
        ("Paget's disease of bone", "pagets_bone"),
        ("adolescent idiopathic scoliosis", "scoliosis"),
        ("neonatal hyperbilirubinemia", "neonatal_jaundice"),
        ("preeclampsia", "preeclampsia"),
        ("HPV infection", "hpv"),
        ("undescended testis", "cryptorchidism"),
        ("gallstones", "cholelithiasis"),
        ("CBD stones", "choledocholithiasis"),
        ("acute cholecystitis", "cholecystitis"),
        ("carotid stenosis", "carotid_stenosis"),
        ("cholera", "cholera"),
        ("hemolytic uremic syndrome", "hus"),
        ("AVM", "avm"),
        ("C diff", "c_difficile"),
        ("Burkitt's lymphoma", "burkitt"),
    ],
)
def test_neuromuscular_rheumatic_and_endocrine_diseases_link(text: str, code: str) -> None:
    """Diseases the TREC 2021 patients and trials name that the vocabulary lacked (class 88)."""
    concept, how = link(text, "condition")
    assert concept is not None
    assert concept.code == code
    assert how in ("exact", "synonym")


def test_the_added_diseases_sit_under_their_groups() -> None:
    assert is_a("myasthenia_gravis", "autoimmune")
    assert is_a("essential_tremor", "neurological_disease")
    assert is_a("temporal_lobe_epilepsy", "epilepsy")
    assert is_a("absence_epilepsy", "generalized_epilepsy")
    assert is_a("epilepsy", "neurological_disease")
    assert is_a("parkinsons", "neurological_disease")
    assert not is_a("essential_tremor", "parkinsons")
    assert is_a("dermatomyositis", "autoimmune")
    assert is_a("giant_cell_arteritis", "vasculitis")
    assert is_a("polyarteritis_nodosa", "vasculitis")
    assert is_a("sjogrens", "autoimmune")
    assert is_a("cushings_disease", "cushings")
    assert is_a("systemic_mastocytosis", "mastocytosis")
    assert not is_a("mastocytosis", "cancer")
    assert not is_a("turner", "autoimmune")
    assert is_a("hashimoto", "thyroiditis")
    assert not is_a("hashimoto", "hyperthyroidism")
    assert is_a("hpv", "infection")
    assert not is_a("bph", "prostate_cancer")
    assert is_a("choledocholithiasis", "cholelithiasis")
    assert is_a("carotid_stenosis", "cardiovascular_disease")
    assert is_a("burkitt", "lymphoma")
    assert is_a("c_difficile", "infection")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("L-DOPA", "levodopa"),
        ("carbidopa/levodopa", "levodopa"),
        ("Sinemet", "levodopa"),
        ("pramipexole", "pramipexole"),
        ("Sandostatin", "octreotide"),
        ("dopamine agonists", "dopamine_agonist"),
        ("antiparkinson medication", "antiparkinson"),
        ("somatostatin analogues", "somatostatin_analogue"),
        ("centrally acting anticholinergics", None),
    ],
)
def test_antiparkinson_and_acromegaly_drugs_link(text: str, code: str | None) -> None:
    concept, _ = link(text, "therapy")
    assert (concept.code if concept else None) == code


def test_dopamine_agonists_for_parkinsons_are_antiparkinson_but_not_those_for_the_pituitary() -> None:
    assert drug_classes("ropinirole") == ["dopamine_agonist", "antiparkinson"]
    assert drug_classes("cabergoline") == ["dopamine_agonist"]
    assert "antiparkinson" in drug_classes("selegiline")


def test_a_regimen_brings_its_drugs_and_their_classes() -> None:
    classes = drug_classes("fcr regimen")
    assert {"fludarabine", "cyclophosphamide", "rituximab", "antimetabolite", "chemotherapy"} <= set(classes)
    vad = set(drug_classes("VAD regimen"))
    assert {"vincristine", "doxorubicin", "dexamethasone", "corticosteroid"} <= vad
    assert "rituximab" not in drug_classes("chop regimen")
    assert drug_classes("fludarabine") == ["antimetabolite", "chemotherapy", "systemic_anticancer"]


def test_the_shipped_driver_groups_cover_lung_and_colorectal_cancer():
    groups = {group.diagnosis: group for group in terminology.driver_groups()}
    assert set(groups) == {"nsclc", "crc"}
    assert [d.plural for d in groups["crc"].drivers] == [
        "KRAS mutations",
        "NRAS mutations",
        "BRAF V600E mutations",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"diagnosis": "lung_cancerous"}, "unknown diagnosis 'lung_cancerous'"),
        ({"genes": ["KRASS"]}, "unknown gene 'KRASS'"),
    ],
)
def test_a_driver_file_naming_an_unknown_code_is_refused(change, message):
    group = {
        "diagnosis": change.get("diagnosis", "nsclc"),
        "drivers": [
            {
                "genes": change.get("genes", ["KRAS"]),
                "found_as": ["mutation"],
                "asked_as": ["mutation"],
                "label": "a KRAS mutation",
                "plural": "KRAS mutations",
            }
        ],
    }
    with pytest.raises(ValueError, match=message):
        terminology.read_driver_groups({"version": "1", "groups": [group]})
