"""Synthetic oncology patients for benchmarks and equivalence tests: pure Python, reproducible for a seed.

Proportions are rounded figures from public epidemiology, meant to give the matcher a realistic mix rather
than to be exact: the cancer mix of adults seeking trials (lung, breast and colorectal first), driver
prevalence in Western populations (NSCLC: EGFR ~15 %, KRAS G12C ~13 %, other KRAS ~12 %, ALK ~5 %, BRAF
V600E ~2 %, MET exon 14 ~3 %, ROS1 and RET ~1-2 %; breast: ER+ ~70 %, HER2-positive ~15-20 %, HER2-low ~50 %;
colorectal: KRAS ~40 %, BRAF V600E ~8 %, MSI-high ~5 %; melanoma: BRAF V600 ~45 %), PD-L1 22C3 TPS in
NSCLC (<1 % about a third, 1-49 % a third, >=50 % about 30 %), ages around 63 years, and the gaps real
profiles have (untested genes, missing ECOG, undated or unconfirmed history).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

from nlp import terminology
from recruitment.matching.facts import (
    BiomarkerFact,
    DiagnosisFact,
    LabFact,
    PatientFacts,
    ProcedureFact,
    TherapyFact,
)

# code, share of patients, share female, (mean age, sd)
CANCERS: tuple[tuple[str, float, float, tuple[float, float]], ...] = (
    ("luad", 0.12, 0.5, (66, 10)),
    ("lusc", 0.04, 0.35, (69, 9)),
    ("nsclc", 0.03, 0.45, (67, 10)),
    ("sclc", 0.02, 0.45, (66, 9)),
    ("breast_cancer", 0.16, 0.99, (58, 12)),
    ("tnbc", 0.03, 1.0, (52, 12)),
    ("crc", 0.05, 0.45, (64, 12)),
    ("colon_cancer", 0.04, 0.45, (65, 12)),
    ("rectal_cancer", 0.02, 0.4, (62, 12)),
    ("prostate_cancer", 0.05, 0.0, (68, 8)),
    ("mcrpc", 0.03, 0.0, (71, 8)),
    ("pancreatic_cancer", 0.04, 0.48, (68, 9)),
    ("melanoma", 0.05, 0.42, (62, 14)),
    ("ovarian_cancer", 0.04, 1.0, (62, 11)),
    ("gastric_cancer", 0.02, 0.35, (66, 11)),
    ("oesophageal_cancer", 0.02, 0.25, (66, 10)),
    ("bladder_cancer", 0.03, 0.25, (70, 9)),
    ("rcc", 0.03, 0.35, (63, 11)),
    ("hcc", 0.02, 0.25, (64, 10)),
    ("hnscc", 0.03, 0.25, (62, 10)),
    ("glioblastoma", 0.02, 0.4, (60, 12)),
    ("endometrial_cancer", 0.03, 1.0, (63, 10)),
    ("cervical_cancer", 0.01, 1.0, (50, 12)),
    ("dlbcl", 0.02, 0.45, (66, 13)),
    ("myeloma", 0.02, 0.45, (68, 9)),
    ("aml", 0.01, 0.45, (66, 14)),
    ("cll", 0.01, 0.4, (70, 10)),
    ("sarcoma", 0.01, 0.5, (50, 18)),
)
# Patients who have not (yet) recorded any diagnosis: matching must treat their disease as unknown.
NO_DIAGNOSIS_SHARE = 0.03
STAGES = ("I", "II", "IIIA", "IIIB", "IIIC", "IV", "IVA", "IVB")
STAGE_WEIGHTS = (0.05, 0.08, 0.08, 0.08, 0.04, 0.37, 0.15, 0.15)
LUNG = frozenset({"luad", "lusc", "nsclc"})
BREAST = frozenset({"breast_cancer", "tnbc"})
COLORECTAL = frozenset({"crc", "colon_cancer", "rectal_cancer"})
PROSTATE = frozenset({"prostate_cancer", "mcrpc"})
# NSCLC drivers, mutually exclusive: (gene, alteration type, protein change, share).
NSCLC_DRIVERS = (
    ("EGFR", "deletion", "exon 19 deletion", 0.068),
    ("EGFR", "mutation", "L858R", 0.06),
    ("EGFR", "insertion", "exon 20 insertion", 0.015),
    ("EGFR", "mutation", "G719S", 0.007),
    ("KRAS", "mutation", "G12C", 0.13),
    ("KRAS", "mutation", "G12V", 0.06),
    ("KRAS", "mutation", "G12D", 0.04),
    ("KRAS", "mutation", "G13D", 0.02),
    ("ALK", "fusion", "EML4-ALK", 0.05),
    ("ROS1", "fusion", "CD74-ROS1", 0.015),
    ("BRAF", "mutation", "V600E", 0.02),
    ("MET", "mutation", "exon 14 skipping", 0.03),
    ("RET", "fusion", "KIF5B-RET", 0.015),
)
NSCLC_PANEL = ("EGFR", "KRAS", "ALK", "ROS1", "BRAF", "MET", "RET")
# analyte, LOINC, unit, reference low, reference high, typical value, sd
LABS = (
    ("absolute neutrophil count", "751-8", "10^9/L", 1.8, 7.7, 4.2, 1.8),
    ("platelet count", "777-3", "10^9/L", 150, 400, 240, 80),
    ("haemoglobin", "718-7", "g/dL", 12.0, 16.0, 12.2, 1.7),
    ("creatinine", "2160-0", "mg/dL", 0.6, 1.2, 0.95, 0.3),
    ("total bilirubin", "1975-2", "mg/dL", 0.2, 1.2, 0.7, 0.35),
    ("aspartate aminotransferase", "1920-8", "U/L", 10, 40, 30, 18),
    ("alanine aminotransferase", "1742-6", "U/L", 7, 56, 32, 20),
)
# Therapies by cancer group, by line: each entry is one regimen (drugs given together).
REGIMENS: dict[str, tuple[tuple[str, ...], ...]] = {
    "lung": (("carboplatin", "pemetrexed", "pembrolizumab"), ("docetaxel",), ("gemcitabine",)),
    "lung_squamous": (("carboplatin", "paclitaxel", "pembrolizumab"), ("docetaxel",)),
    "breast": (("letrozole", "palbociclib"), ("fulvestrant",), ("paclitaxel",), ("capecitabine",)),
    "breast_her2": (("trastuzumab", "pertuzumab", "docetaxel"), ("trastuzumab deruxtecan",)),
    "colorectal": (("oxaliplatin", "fluorouracil", "bevacizumab"), ("capecitabine",)),
    "prostate": (("abiraterone", "prednisone"), ("enzalutamide",), ("docetaxel",)),
    "melanoma": (("nivolumab", "ipilimumab"), ("dabrafenib", "trametinib")),
    "ovarian": (("carboplatin", "paclitaxel"), ("olaparib",)),
    "other": (("cisplatin", "gemcitabine"), ("nivolumab",), ("docetaxel",)),
}
TARGETED = {"EGFR": "osimertinib", "ALK": "alectinib", "KRAS G12C": "sotorasib", "BRAF": "dabrafenib"}


def synthetic_patients(n: int, *, seed: int, today: date) -> Iterator[PatientFacts]:
    """`n` patients; the same seed and date give the same patients, fact for fact."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    for number in range(n):
        yield synthetic_patient(rng, number, today=today)


def synthetic_patient(rng: random.Random, number: int, *, today: date) -> PatientFacts:
    builder = _Builder(rng, number, today)
    return builder.build()


class _Builder:
    def __init__(self, rng: random.Random, number: int, today: date) -> None:
        self.rng, self.number, self.today = rng, number, today
        self.diagnoses: list[DiagnosisFact] = []
        self.biomarkers: list[BiomarkerFact] = []
        self.labs: list[LabFact] = []
        self.therapies: list[TherapyFact] = []
        self.procedures: list[ProcedureFact] = []
        self.drivers: list[str] = []

    def ref(self, kind: str, items: list[object]) -> str:
        return f"{kind}:{self.number}.{len(items)}"

    def days_ago(self, low: int, high: int) -> date:
        return self.today - timedelta(days=self.rng.randint(low, high))

    def build(self) -> PatientFacts:
        rng = self.rng
        code, female_share, (mean_age, sd_age) = self._cancer()
        sex = "female" if rng.random() < female_share else "male"
        age = min(92.0, max(18.0, rng.gauss(mean_age, sd_age)))
        birth_date = self.today - timedelta(days=round(age * 365.25) + rng.randint(0, 364))
        if code:
            self._diagnosis(code)
            self._biomarkers(code, sex)
            self._therapies(code)
        self._comorbidities()
        self._labs()
        if rng.random() < 0.25:
            self.procedures.append(
                ProcedureFact(
                    self.ref("procedure", self.procedures),  # type: ignore[arg-type]
                    "radiotherapy",
                    "radiotherapy",
                    self.days_ago(20, 700),
                )
            )
        pregnancy, breastfeeding = self._pregnancy(sex, age)
        ecog = rng.choices((0, 1, 2, 3, None), (0.33, 0.42, 0.12, 0.04, 0.09))[0]
        return PatientFacts(
            ref=f"profile:{self.number}",
            birth_date=None if rng.random() < 0.02 else birth_date,
            sex="" if rng.random() < 0.01 else sex,
            ecog=ecog,
            pregnancy_status=pregnancy,
            breastfeeding=breastfeeding,
            history_confirmed_on=self.days_ago(0, 120) if rng.random() < 0.4 else None,
            diagnoses=tuple(self.diagnoses),
            biomarkers=tuple(self.biomarkers),
            labs=tuple(self.labs),
            therapies=tuple(self.therapies),
            procedures=tuple(self.procedures),
        )

    def _cancer(self) -> tuple[str, float, tuple[float, float]]:
        if self.rng.random() < NO_DIAGNOSIS_SHARE:
            return "", 0.5, (60, 13)
        code, _, female, age = self.rng.choices(CANCERS, [c[1] for c in CANCERS])[0]
        return code, female, age

    def _diagnosis(self, code: str) -> None:
        rng = self.rng
        stage = rng.choices(STAGES, STAGE_WEIGHTS)[0] if rng.random() < 0.85 else ""
        when = self.days_ago(30, 2200) if rng.random() < 0.9 else None
        self._add_dx(code, when, stage)
        if stage.startswith("IV") and (code in LUNG | BREAST or code == "melanoma") and rng.random() < 0.2:
            self._add_dx("brain_metastases", self.days_ago(10, 400), "")
        if rng.random() < 0.04:
            other = rng.choice(("basal_cell", "prostate_cancer", "breast_cancer", "crc", "melanoma"))
            if other != code:
                self._add_dx(other, self.days_ago(1500, 6000), "")

    def _add_dx(self, code: str, when: date | None, stage: str, present: bool = True) -> None:
        label = terminology.diagnosis(code).label
        ref = self.ref("diagnosis", self.diagnoses)  # type: ignore[arg-type]
        self.diagnoses.append(DiagnosisFact(ref, code, label, present, when, stage, ""))

    def _add_biomarker(self, gene: str, alteration: str, **fields: object) -> None:
        ref = self.ref("biomarker", self.biomarkers)  # type: ignore[arg-type]
        tested = fields.pop("tested_on", self.days_ago(15, 500))
        self.biomarkers.append(BiomarkerFact(ref, gene, alteration, tested_on=tested, **fields))  # type: ignore[arg-type]

    def _biomarkers(self, code: str, sex: str) -> None:
        rng = self.rng
        if code in LUNG and rng.random() < 0.85:
            self._nsclc_panel(squamous=code == "lusc")
        elif code in BREAST:
            self._breast(triple_negative=code == "tnbc")
        elif code in COLORECTAL and rng.random() < 0.8:
            self._driver_or_wild_type("KRAS", 0.40, "mutation", rng.choice(("G12D", "G12V", "G13D", "G12C")))
            self._driver_or_wild_type("BRAF", 0.08, "mutation", "V600E")
            self._signature("MSI", 0.05, "NGS")
        elif code == "melanoma" and rng.random() < 0.9:
            self._driver_or_wild_type("BRAF", 0.45, "mutation", rng.choice(("V600E", "V600E", "V600K")))
            self._driver_or_wild_type("NRAS", 0.2, "mutation", "Q61R")
        elif code in PROSTATE | {"ovarian_cancer"} and rng.random() < 0.6:
            share = 0.2 if code == "ovarian_cancer" else 0.1
            self._driver_or_wild_type("BRCA2", share, "mutation", "")
        if rng.random() < 0.25:
            tmb = round(rng.lognormvariate(1.6, 0.8), 1)
            status = "positive" if tmb >= 10 else "negative"
            self._add_biomarker("TMB", "signature", status=status, measure="TMB", value=tmb, unit="mut/Mb")

    def _driver_or_wild_type(self, gene: str, share: float, alteration: str, change: str) -> None:
        if self.rng.random() < share:
            self._add_biomarker(gene, alteration, protein_change=change, assay="NGS")
            self.drivers.append(f"{gene} {change}".strip())
        else:
            self._add_biomarker(gene, "wild_type", status="negative", assay="NGS")

    def _signature(self, gene: str, share: float, assay: str) -> None:
        status = "positive" if self.rng.random() < share else "negative"
        self._add_biomarker(gene, "signature", status=status, assay=assay)

    def _nsclc_panel(self, *, squamous: bool) -> None:
        rng = self.rng
        weights = [d[3] * (0.2 if squamous else 1.0) for d in NSCLC_DRIVERS]
        roll, cumulative, driver = rng.random(), 0.0, None
        for candidate, weight in zip(NSCLC_DRIVERS, weights, strict=True):
            cumulative += weight
            if roll < cumulative:
                driver = candidate
                break
        for gene in NSCLC_PANEL:
            if driver is not None and driver[0] == gene:
                self._add_biomarker(gene, driver[1], protein_change=driver[2], assay="NGS")
                self.drivers.append(f"{gene} {driver[2]}")
            elif rng.random() < 0.9:
                self._add_biomarker(gene, "wild_type", status="negative", assay="NGS")
        if rng.random() < 0.8:
            tps = rng.choices((0.0, rng.uniform(1, 49), rng.uniform(50, 100)), (0.35, 0.35, 0.30))[0]
            status = "positive" if tps >= 1 else "negative"
            self._add_biomarker(
                "CD274", "expression", status=status, measure="TPS", value=round(tps), unit="%", assay="22C3"
            )

    def _breast(self, *, triple_negative: bool) -> None:
        rng = self.rng
        er = not triple_negative and rng.random() < 0.72
        pr = er and rng.random() < 0.8
        for gene, positive in (("ESR1", er), ("PGR", pr)):
            self._add_biomarker(
                gene,
                "expression",
                status="positive" if positive else "negative",
                measure="IHC",
                value=rng.choice((1, 2, 3)) if positive else 0,
                assay="IHC",
            )
        if rng.random() < 0.9:
            ihc = (
                0
                if triple_negative and rng.random() < 0.6
                else rng.choices((0, 1, 2, 3), (0.3, 0.35, 0.2, 0.15))[0]
            )
            status = "positive" if ihc == 3 else "negative"
            self._add_biomarker(
                "ERBB2", "expression", status=status, measure="IHC", value=ihc, assay="HercepTest"
            )
            if ihc == 2:
                amplified = rng.random() < 0.25
                self._add_biomarker(
                    "ERBB2",
                    "amplification",
                    status="positive" if amplified else "negative",
                    measure="ISH",
                    assay="ISH",
                )
                if amplified:
                    self.drivers.append("HER2")
            elif ihc == 3:
                self.drivers.append("HER2")
        if er and rng.random() < 0.5:
            self._driver_or_wild_type("PIK3CA", 0.35, "mutation", rng.choice(("H1047R", "E545K")))
        if rng.random() < 0.3:
            self._driver_or_wild_type("BRCA1", 0.05, "mutation", "")

    def _therapies(self, code: str) -> None:
        rng = self.rng
        group = (
            "lung_squamous"
            if code == "lusc"
            else "lung"
            if code in LUNG | {"sclc"}
            else "breast_her2"
            if code in BREAST and "HER2" in self.drivers
            else "breast"
            if code in BREAST
            else "colorectal"
            if code in COLORECTAL
            else "prostate"
            if code in PROSTATE
            else code
            if code in REGIMENS
            else "other"
            if code != "ovarian_cancer"
            else "ovarian"
        )
        regimens = list(REGIMENS[group])
        targeted = next(
            (drug for key, drug in TARGETED.items() if any(d.startswith(key) for d in self.drivers)), None
        )
        if targeted:
            regimens.insert(0, (targeted,))
        lines = rng.choices((0, 1, 2, 3), (0.3, 0.35, 0.22, 0.13))[0]
        start = self.days_ago(60, 900)
        for line, regimen in enumerate(regimens[:lines], start=1):
            ongoing = line == lines and rng.random() < 0.4
            length = timedelta(days=rng.randint(42, 300))
            end = None if ongoing else min(self.today, start + length)
            for drug in regimen:
                ref = self.ref("therapy", self.therapies)  # type: ignore[arg-type]
                classes = tuple(terminology.drug_classes(drug))
                self.therapies.append(TherapyFact(ref, drug, classes, line, start, end))
            start = min(self.today, (end or self.today) + timedelta(days=rng.randint(7, 60)))

    def _comorbidities(self) -> None:
        rng = self.rng
        for code, share in (("t2dm", 0.14), ("hypertension", 0.3), ("copd", 0.06), ("heart_failure", 0.03)):
            if rng.random() < share:
                self._add_dx(code, self.days_ago(200, 5000) if rng.random() < 0.7 else None, "")
        for code in ("hiv", "hbv", "hcv"):
            roll = rng.random()
            if roll < 0.01:
                self._add_dx(code, self.days_ago(500, 8000), "")
            elif roll < 0.25:
                self._add_dx(code, None, "", present=False)

    def _labs(self) -> None:
        rng = self.rng
        if rng.random() < 0.15:
            return
        collected = self.days_ago(0, 90)
        for analyte, loinc, unit, low, high, mean, sd in LABS:
            if rng.random() < 0.1:
                continue
            value = round(max(0.01, rng.gauss(mean, sd)), 2)
            ref = self.ref("lab", self.labs)  # type: ignore[arg-type]
            self.labs.append(LabFact(ref, analyte, loinc, value, unit, collected, low, high))

    def _pregnancy(self, sex: str, age: float) -> tuple[str, bool | None]:
        rng = self.rng
        if sex == "male":
            return "not_applicable", None
        if age >= 55:
            return ("not_applicable" if rng.random() < 0.7 else "unknown"), (
                False if rng.random() < 0.5 else None
            )
        return rng.choices(("not_pregnant", "unknown", "pregnant"), (0.7, 0.29, 0.01))[0], (
            False if rng.random() < 0.6 else None
        )
