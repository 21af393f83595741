"""Versioned vocabularies under nlp/data/ and the lookups the matcher needs.

Linking goes exact label, then synonym, then a guarded rapidfuzz fallback. The fallback never applies to gene
symbols or abbreviations, and refuses candidates that differ from the query in a number or a negating prefix,
because those near-misses ("type 1" vs "type 2 diabetes", "small cell" vs "non-small cell") score above 95.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any

from rapidfuzz import fuzz, process

from nlp.model import Concept

FUZZY_MIN_SCORE = 92.0
_NEGATING_PREFIX = re.compile(r"\b(non|not|un|anti|in)[- ]?", re.I)
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Lab:
    code: str
    label: str
    loinc: str
    unit: str
    molar_mass: float | None
    synonyms: tuple[str, ...]
    # Charges per molecule of an ion, for results in equivalents (potassium 1: mEq/L = mmol/L; magnesium 2).
    valence: int | None = None


@dataclass(frozen=True)
class Entry:
    concept: Concept
    synonyms: tuple[str, ...]


def _data(name: str) -> str:
    return files("nlp").joinpath("data", name).read_text(encoding="utf-8")


def _rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(_data(name).splitlines(), delimiter="\t"))


def _split(field: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (field or "").split("|") if part.strip())


@lru_cache(maxsize=1)
def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_data("manifest.json"))
    return data


@cache
def load_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_data(name))
    return data


@lru_cache(maxsize=1)
def _diagnoses() -> dict[str, tuple[str, str, str, tuple[str, ...]]]:
    return {
        row["code"]: (row["label"], row["parent"], row["icd10cm"], _split(row["synonyms"]))
        for row in _rows("diagnoses.tsv")
    }


@lru_cache(maxsize=1)
def _drug_class_parents() -> dict[str, tuple[str, str, tuple[str, ...]]]:
    return {
        row["code"]: (row["label"], row["parent"], _split(row["synonyms"]))
        for row in _rows("drug_classes.tsv")
    }


@lru_cache(maxsize=1)
def _drugs() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    return {row["drug"]: (_split(row["classes"]), _split(row["synonyms"])) for row in _rows("drugs.tsv")}


@lru_cache(maxsize=1)
def _drug_by_synonym() -> dict[str, str]:
    """Each drug's synonyms, in lower case, to the drug: "nab-paclitaxel" -> paclitaxel."""
    return {synonym.lower(): drug for drug, (_, synonyms) in _drugs().items() for synonym in synonyms}


@lru_cache(maxsize=1)
def labs() -> dict[str, Lab]:
    return {
        row["code"]: Lab(
            row["code"],
            row["label"],
            row["loinc"],
            row["unit"],
            float(row["molar_mass_g_per_mol"]) if row["molar_mass_g_per_mol"] else None,
            _split(row["synonyms"]),
            int(row["valence"]) if row["valence"] else None,
        )
        for row in _rows("labs.tsv")
    }


@lru_cache(maxsize=1)
def labs_by_loinc() -> dict[str, Lab]:
    """The labs by LOINC code (each lab of labs.tsv has its own)."""
    return {lab.loinc: lab for lab in labs().values() if lab.loinc}


def lab_by_code(code: str) -> Lab:
    """A lab by its code in labs.tsv ("creatinine") or its LOINC code ("2160-0", as atoms carry it)."""
    found = labs().get(code) or labs_by_loinc().get(code)
    if found is None:
        raise KeyError(f"unknown lab {code!r}; known: {sorted(labs())}")
    return found


@lru_cache(maxsize=1)
def genes() -> dict[str, str]:
    """Symbol or alias (case as written) -> HGNC symbol."""
    table: dict[str, str] = {}
    for row in _rows("genes.tsv"):
        table[row["symbol"]] = row["symbol"]
        for alias in _split(row["aliases"]):
            table[alias] = row["symbol"]
    return table


@lru_cache(maxsize=1)
def gene_names() -> dict[str, str]:
    """A gene's full name, lower-cased ("anaplastic lymphoma kinase") -> HGNC symbol (or family symbol)."""
    return {name.lower(): row["symbol"] for row in _rows("genes.tsv") for name in _split(row.get("names"))}


@lru_cache(maxsize=1)
def gene_families() -> dict[str, tuple[str, ...]]:
    """A symbol that names a family of genes ("NTRK", "BRCA") -> its members' HGNC symbols."""
    return {row["symbol"]: _split(row["members"]) for row in _rows("genes.tsv") if row["members"]}


# The roots of the oncology tree: a diagnosis below any of them is a cancer.
ONCOLOGY_ROOTS = ("solid_tumour", "haem_malignancy", "cancer")


def is_cancer(code: str) -> bool:
    return any(is_a(code, root) for root in ONCOLOGY_ROOTS)


def is_a(code: str, ancestor_code: str) -> bool:
    """True when `code` is `ancestor_code` or below it in the diagnosis or drug-class hierarchy."""
    seen: set[str] = set()
    current = code
    while current and current not in seen:
        if current == ancestor_code:
            return True
        seen.add(current)
        current = _parent(current)
    return False


def _parent(code: str) -> str:
    if code in _diagnoses():
        return _diagnoses()[code][1]
    if code in _drug_class_parents():
        return _drug_class_parents()[code][1]
    return ""


def diagnosis(code: str) -> Concept:
    label, _, _, _ = _diagnoses()[code]
    return Concept("diagnosis", code, label)


def icd10cm(code: str) -> str | None:
    return _diagnoses()[code][2] or None


def drug_classes(drug: str) -> list[str]:
    """All classes of a drug, or of the drug a synonym names, nearest first: pembrolizumab -> anti_pd1,
    immune_checkpoint_inhibitor, ...

    A regimen lists its drugs among its classes (drugs.tsv: "fcr regimen" -> chemotherapy, anti_cd20,
    fludarabine, cyclophosphamide, rituximab), so a patient who had FCR had fludarabine; each drug brings its
    own classes (fludarabine -> antimetabolite).
    """
    drugs = _drugs()
    direct = drugs.get(drug.lower()) or drugs.get(_drug_by_synonym().get(drug.lower(), ""))
    if direct is None:
        return []
    result: list[str] = []
    frontier = list(direct[0])
    while frontier:
        code = frontier.pop(0)
        if code and code not in result:
            result.append(code)
            frontier.append(_drug_class_parents().get(code, ("", "", ()))[1])
            if code in drugs:
                frontier.extend(drugs[code][0])
    return result


@dataclass(frozen=True)
class Driver:
    """A driver of a cancer (drivers.json): the test results that show it and the criteria that ask for it."""

    genes: tuple[str, ...]
    found_as: tuple[str, ...]
    asked_as: tuple[str, ...]
    variants: tuple[str, ...]
    label: str
    plural: str


@dataclass(frozen=True)
class DriverGroup:
    """Drivers found together in few tumours of a cancer: `diagnosis` and the diagnoses below it."""

    diagnosis: str
    drivers: tuple[Driver, ...]


def read_driver_groups(data: dict[str, Any]) -> tuple[DriverGroup, ...]:
    """The groups of a drivers.json document; a code the vocabularies do not know is refused by name."""
    groups = []
    for group in data["groups"]:
        if group["diagnosis"] not in _diagnoses():
            raise ValueError(f"drivers.json: unknown diagnosis {group['diagnosis']!r} (not in diagnoses.tsv)")
        drivers = []
        for driver in group["drivers"]:
            unknown = [gene for gene in driver["genes"] if gene not in genes()]
            if unknown:
                raise ValueError(f"drivers.json: unknown gene {unknown[0]!r} (not in genes.tsv)")
            drivers.append(
                Driver(
                    tuple(driver["genes"]),
                    tuple(driver["found_as"]),
                    tuple(driver["asked_as"]),
                    tuple(driver.get("variants", ())),
                    driver["label"],
                    driver["plural"],
                )
            )
        groups.append(DriverGroup(group["diagnosis"], tuple(drivers)))
    return tuple(groups)


@lru_cache(maxsize=1)
def driver_groups() -> tuple[DriverGroup, ...]:
    return read_driver_groups(load_json("drivers.json"))


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, list[Entry]]:
    """Every linkable term by kind: condition, therapy, procedure, lab."""
    conditions = [
        Entry(Concept("diagnosis", code, label), (label, *synonyms))
        for code, (label, _, _, synonyms) in _diagnoses().items()
    ]
    therapies = [
        Entry(Concept("drug", drug, drug), (drug, *synonyms)) for drug, (_, synonyms) in _drugs().items()
    ] + [
        Entry(Concept("drug_class", code, label), (label, *synonyms))
        for code, (label, _, synonyms) in _drug_class_parents().items()
    ]
    procedures = [
        Entry(Concept("procedure", row["code"], row["label"]), (row["label"], *_split(row["synonyms"])))
        for row in _rows("procedures.tsv")
    ]
    lab_entries = [
        Entry(Concept("loinc", lab.loinc, lab.label), (lab.label, *lab.synonyms)) for lab in labs().values()
    ]
    return {"condition": conditions, "therapy": therapies, "procedure": procedures, "lab": lab_entries}


@lru_cache(maxsize=1)
def lexicon() -> dict[str, tuple[str, ...]]:
    """Unlinked entity phrases by kind (condition, therapy, procedure, lab), from data/chia_lexicon.tsv.

    They name that something of the kind is there without saying which concept: atoms found through them
    stay unmapped (see nlp/data/README.md for where the phrases come from).
    """
    by_kind: dict[str, list[str]] = {}
    for row in _rows("chia_lexicon.tsv"):
        by_kind.setdefault(row["kind"], []).append(row["term"])
    return {kind: tuple(terms) for kind, terms in by_kind.items()}


def _is_abbreviation(term: str) -> bool:
    return len(term) <= 5 or sum(c.isupper() for c in term) >= 2


@lru_cache(maxsize=1)
def _exact_index() -> dict[str, dict[str, tuple[Concept, bool]]]:
    """kind -> lower-cased term -> (concept, matched the preferred label)."""
    index: dict[str, dict[str, tuple[Concept, bool]]] = {}
    for kind, entries in vocabulary().items():
        table = index.setdefault(kind, {})
        for entry in entries:
            for position, term in enumerate(entry.synonyms):
                table.setdefault(term.lower(), (entry.concept, position == 0))
    return index


@lru_cache(maxsize=65536)
def link_exact(text: str, kind: str) -> tuple[Concept | None, str]:
    """(concept, how) where how is exact, synonym or unmapped: `link` without its fuzzy fallback."""
    found = _exact_index().get(kind, {}).get(" ".join(text.lower().split()))
    if found is None:
        return None, "unmapped"
    return found[0], "exact" if found[1] else "synonym"


@lru_cache(maxsize=65536)
def link(text: str, kind: str) -> tuple[Concept | None, str]:
    """(concept, how) where how is exact, synonym, fuzzy or unmapped."""
    concept, how = link_exact(text, kind)
    if concept is not None:
        return concept, how
    key = " ".join(text.lower().split())
    table = _exact_index().get(kind, {})
    if _is_abbreviation(text) or text.strip() in genes():
        return None, "unmapped"
    choices = [term for term in table if not _is_abbreviation(term)]
    best = process.extractOne(key, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_SCORE)
    if best is None or not _safe_near_miss(key, best[0]):
        return None, "unmapped"
    return table[best[0]][0], "fuzzy"


def _safe_near_miss(query: str, candidate: str) -> bool:
    if _DIGITS.findall(query) != _DIGITS.findall(candidate):
        return False
    return _NEGATING_PREFIX.findall(query) == _NEGATING_PREFIX.findall(candidate)
