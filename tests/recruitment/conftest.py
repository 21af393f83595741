"""Patient personas for matching, and real criteria lines parsed by nlp.

- Elena: lung adenocarcinoma, EGFR exon 19 deletion, ECOG 1, on osimertinib; history confirmed complete.
- Hana: breast cancer, HER2-low (IHC 1+), ER positive; breastfeeding not stated, history not confirmed.
- Pedro: NSCLC without histology subtype, KRAS G12C, EGFR/ALK/ROS1 negative, PD-L1 never tested.

Dates are fixed and `TODAY` is the evaluation date, so that ages and washouts do not drift.
"""

import datetime
import json
from pathlib import Path

import pytest

from nlp import parse_eligibility
from nlp.model import And, Atom, Concept, Criterion, Except, Node, Not, Or
from recruitment.matching import PatientFacts
from recruitment.models import Biomarker, PatientProfile
from recruitment.selectors.matching import patient_facts
from tests.recruitment import factories

TODAY = datetime.date(2026, 11, 23)
FIXTURES = Path(__file__).parent / "fixtures"
PSEUDO_SPAN = (0, 0)


def _atom(kind: str, text: str, concept: Concept, **fields: object) -> Atom:
    return Atom(kind, text, PSEUDO_SPAN, "hand_built", 1.0, mapped=True, concept=concept, **fields)  # type: ignore[arg-type]


def _hand_built_trees() -> dict[str, Node]:
    """Trees for lines the parser misreads (each listed as a parser gap in the report), by fixture id."""
    drug_class = Concept("drug_class", "egfr_tki", "EGFR tyrosine kinase inhibitor")
    osimertinib = Concept("drug", "osimertinib", "osimertinib")
    egfr = Concept("hgnc", "EGFR", "EGFR")
    trees: dict[str, Node] = {
        # "treatment naive to" is not read as a negation.
        "egfr_tki_naive": Not(
            Or((_atom("therapy", "osimertinib", osimertinib), _atom("therapy", "EGFR TKI", drug_class)))
        ),
        # "Adenocarcinoma patients must NOT be positive for ..." is a condition on adenocarcinoma patients,
        # not a conjunction with adenocarcinoma; the population is already NSCLC, so only the drivers remain.
        "no_driver": Not(
            Or(
                (
                    _atom("biomarker", "EGFR Exon 19 deletion", egfr, alteration="exon 19 deletion"),
                    _atom("biomarker", "EGFR L858R", egfr, alteration="L858R"),
                    _atom("biomarker", "ALK", Concept("hgnc", "ALK", "ALK")),
                    _atom(
                        "biomarker",
                        "ROS1 rearrangement",
                        Concept("hgnc", "ROS1", "ROS1"),
                        alteration="fusion",
                    ),
                )
            )
        ),
        # "HER2-low" loses its "-low".
        "her2_low_breast": And(
            (
                _atom("biomarker", "HER2-low", Concept("hgnc", "ERBB2", "ERBB2"), alteration="low"),
                _atom("condition", "breast cancer", Concept("diagnosis", "breast_cancer", "breast cancer")),
            )
        ),
        # "squamous or nonsquamous NSCLC" keeps only the non-squamous reading.
        "kras_g12c_pdl1_50": And(
            (
                Or(
                    (
                        _atom(
                            "condition",
                            "squamous",
                            Concept("diagnosis", "lusc", "squamous cell lung carcinoma"),
                        ),
                        _atom(
                            "condition",
                            "nonsquamous NSCLC",
                            Concept("diagnosis", "luad", "lung adenocarcinoma"),
                        ),
                    )
                ),
                _atom("biomarker", "KRAS G12C", Concept("hgnc", "KRAS", "KRAS"), alteration="G12C"),
                _atom(
                    "biomarker",
                    "PD-L1 TPS >=50%",
                    Concept("hgnc", "CD274", "CD274"),
                    alteration="TPS",
                    comparator=">=",
                    value=50.0,
                    unit="%",
                ),
            )
        ),
        # The exception is "neurologically stable and not needing steroids"; the parser keeps "steroids".
        "brain_metastases_unless_stable": Except(
            _atom(
                "condition", "Brain metastases", Concept("diagnosis", "brain_metastases", "brain metastases")
            ),
            And(
                (
                    Atom("other", "neurologically stable", PSEUDO_SPAN, "hand_built", 1.0, checkable=False),
                    Not(
                        _atom(
                            "therapy", "steroids", Concept("drug_class", "corticosteroid", "corticosteroid")
                        )
                    ),
                )
            ),
        ),
    }
    return trees


@pytest.fixture(scope="session")
def criteria() -> dict[str, Criterion]:
    """Real criterion lines (fixtures/real_criteria.jsonl, from ClinicalTrials.gov records) by id."""
    parsed: dict[str, Criterion] = {}
    hand_built = _hand_built_trees()
    for line in (FIXTURES / "real_criteria.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        heading = "Inclusion Criteria" if record["section"] == "inclusion" else "Exclusion Criteria"
        result = parse_eligibility(f"{heading}:\n\n* {record['text']}\n")
        (criterion,) = result.criteria
        assert criterion.section == record["section"]
        tree = hand_built.get(record["id"], criterion.tree)
        parsed[record["id"]] = Criterion(criterion.section, criterion.text, criterion.span, tree)
    return parsed


@pytest.fixture
def elena(db) -> PatientProfile:
    profile = factories.PatientProfileFactory.create(
        user__email="elena@example.org",
        birth_date=datetime.date(1968, 4, 2),
        sex=PatientProfile.Sex.FEMALE,
        ecog=1,
        pregnancy_status=PatientProfile.Pregnancy.NOT_PREGNANT,
        breastfeeding=False,
        history_confirmed_on=datetime.date(2026, 11, 1),
    )
    factories.DiagnosisFactory(
        patient=profile,
        code="luad",
        label="lung adenocarcinoma",
        stage="IVA",
        diagnosed_on=datetime.date(2026, 3, 10),
    )
    factories.BiomarkerFactory(
        patient=profile,
        gene="EGFR",
        alteration_type=Biomarker.Alteration.DELETION,
        protein_change="exon 19 deletion",
        assay="FoundationOne CDx",
    )
    factories.BiomarkerFactory(
        patient=profile,
        gene="ALK",
        alteration_type=Biomarker.Alteration.FUSION,
        status="negative",
        assay="FISH",
    )
    factories.BiomarkerFactory(
        patient=profile,
        gene="CD274",
        alteration_type=Biomarker.Alteration.EXPRESSION,
        measure="TPS",
        value=5,
        unit="%",
        assay="22C3",
    )
    factories.LabResultFactory(
        patient=profile,
        analyte="total bilirubin",
        loinc="1975-2",
        value="0.8",
        unit="mg/dL",
        reference_high="1.2",
    )
    factories.LabResultFactory(patient=profile, analyte="platelet count", value=210, unit="10^3/uL")
    factories.LabResultFactory(
        patient=profile, analyte="creatinine clearance", loinc="2164-2", value=72, unit="mL/min"
    )
    factories.TherapyFactory(
        patient=profile, drug="osimertinib", line=1, started_on=datetime.date(2026, 4, 1)
    )
    factories.ProcedureFactory(patient=profile, performed_on=datetime.date(2026, 9, 1))
    return profile


@pytest.fixture
def hana(db) -> PatientProfile:
    profile = factories.PatientProfileFactory.create(
        user__email="hana@example.org",
        birth_date=datetime.date(1979, 9, 15),
        sex=PatientProfile.Sex.FEMALE,
        ecog=0,
        pregnancy_status=PatientProfile.Pregnancy.NOT_PREGNANT,
    )
    factories.DiagnosisFactory(patient=profile, code="breast_cancer", label="breast cancer", stage="IV")
    factories.BiomarkerFactory(
        patient=profile,
        gene="HER2",
        alteration_type=Biomarker.Alteration.EXPRESSION,
        status="negative",
        measure="IHC",
        value=1,
        assay="HercepTest",
    )
    factories.BiomarkerFactory(
        patient=profile, gene="ER", alteration_type=Biomarker.Alteration.EXPRESSION, value=90, unit="%"
    )
    return profile


@pytest.fixture
def pedro(db) -> PatientProfile:
    profile = factories.PatientProfileFactory.create(
        user__email="pedro@example.org",
        birth_date=datetime.date(1956, 1, 20),
        sex=PatientProfile.Sex.MALE,
        ecog=1,
        pregnancy_status=PatientProfile.Pregnancy.NOT_APPLICABLE,
    )
    factories.DiagnosisFactory(
        patient=profile, code="nsclc", label="non-small cell lung cancer", stage="IIIB"
    )
    factories.BiomarkerFactory(patient=profile, gene="KRAS", protein_change="G12C", assay="NGS")
    for gene in ("EGFR", "ALK", "ROS1"):
        factories.BiomarkerFactory(
            patient=profile,
            gene=gene,
            alteration_type=Biomarker.Alteration.WILD_TYPE,
            status="negative",
            assay="NGS",
        )
    factories.LabResultFactory(patient=profile, analyte="platelet count", value=95, unit="10^9/L")
    factories.LabResultFactory(
        patient=profile, analyte="total bilirubin", loinc="1975-2", value="2.0", unit="mg/dL"
    )
    factories.LabResultFactory(
        patient=profile, analyte="creatinine clearance", loinc="2164-2", value="1.2", unit="mL/s"
    )
    factories.TherapyFactory(
        patient=profile,
        drug="carboplatin",
        drug_class="platinum",
        line=1,
        ended_on=datetime.date(2026, 6, 30),
    )
    factories.TherapyFactory(
        patient=profile, drug="pembrolizumab", line=1, ended_on=datetime.date(2026, 11, 10)
    )
    return profile


@pytest.fixture
def elena_facts(elena: PatientProfile) -> PatientFacts:
    return patient_facts(profile=elena)


@pytest.fixture
def hana_facts(hana: PatientProfile) -> PatientFacts:
    return patient_facts(profile=hana)


@pytest.fixture
def pedro_facts(pedro: PatientProfile) -> PatientFacts:
    return patient_facts(profile=pedro)


@pytest.fixture
def personas_consent_to_matching(request: pytest.FixtureRequest) -> None:
    """Elena, Hana and Pedro, where a test uses them, have signed the current matching consent."""
    from tests.recruitment.consent_helpers import Purpose, name_patient, publish, sign

    document = publish(Purpose.MATCHING)
    for name in ("elena", "hana", "pedro"):
        if name in request.fixturenames:
            patient = request.getfixturevalue(name)
            name_patient(patient, name.title(), "Example")
            sign(patient, document)
