"""A candidate index: which trials a patient could match, and which patients a trial could match.

The index may only skip a pair that the engine would certainly rate ineligible. It reads requirements from a
trial's inclusion criteria that one fact of the patient can refute for sure:

- an oncologic diagnosis (not "cancer" itself, nor a histology found in many organs): refuted when the patient
  has a recorded cancer and none of the recorded diagnoses is that diagnosis, below it or above it in the
  hierarchy, or a bare histology that may have arisen in it (the engine then answers "the recorded cancer is
  not a ...", or unknown for a broader one or a bare histology, which keeps the pair);
- a positive gene alteration without a score, IHC level or specific assay: refuted when the gene was tested
  with a definite result and nothing was positive;
- sex: refuted by a recorded sex that differs;
- age with whole-year limits: refuted by a recorded birth date outside them;
- an ECOG performance status (a set of grades or a comparison): refuted by a recorded ECOG outside it.

A trial's registered conditions reach the index as the inclusion criterion the selector adds for them
(`conditions.registered_conditions_criterion`), so they prune like any diagnosis requirement.

Criteria labelled for a cohort ("Inclusion Criteria for Cohort B:") are left out: they may hold for some
arms only (`engine.CompiledTrial`), and the index does not see arms.

Everything else, including any requirement under a Not or an exception, keeps the pair. A trial with no such
requirement is a candidate for every patient, and a patient with no recorded cancer, untested genes, no sex,
no birth date or no ECOG is never pruned on that key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from nlp.model import And, Atom, Criterion, Node, Or
from recruitment.matching.atoms import (
    _HER2_LOW,
    _HISTOLOGIES,
    GENERIC_ASSAYS,
    _is_a,
    _is_oncologic,
    age_on,
    compare,
)
from recruitment.matching.facts import PatientFacts

# ("dx", code) | ("gene", symbol) | ("sex", label) | ("age", comparator, value, value_high)
# | ("ecog", grades) | ("ecog", comparator, value, value_high)
Key = tuple[object, ...]
# Alternatives: the requirement holds unless every alternative is refuted.
Requirement = frozenset[Key]


def _atom_key(atom: Atom) -> Key | None:
    concept = atom.concept
    if not atom.checkable or concept is None:
        return None
    if atom.kind == "condition" and concept.system == "diagnosis":
        code = concept.code
        if code in ("cancer", "second_malignancy") or code in _HISTOLOGIES or not _is_oncologic(code):
            return None
        return ("dx", code)
    if atom.kind == "biomarker" and concept.system == "hgnc":
        alteration = (atom.alteration or "").lower()
        if atom.comparator and atom.value is not None:
            return None
        if alteration.startswith("ihc") or alteration in ("wild_type", "negative"):
            return None
        if concept.code == "ERBB2" and (alteration == "low" or _HER2_LOW.search(atom.text)):
            return None
        if atom.assay and atom.assay.upper() not in GENERIC_ASSAYS:
            return None
        return ("gene", concept.code.upper())
    if atom.kind == "demographic" and concept.code == "sex":
        return ("sex", concept.label)
    if atom.kind == "demographic" and concept.code == "age":
        limits = [v for v in (atom.value, atom.value_high) if v is not None]
        if not limits or any(v != int(v) for v in limits) or atom.comparator is None:
            return None
        return ("age", atom.comparator, atom.value, atom.value_high)
    if atom.kind == "performance_status" and concept.code == "ECOG":
        if atom.values:
            return ("ecog", tuple(sorted(atom.values)))
        if atom.comparator is None or atom.value is None:
            return None
        return ("ecog", atom.comparator, atom.value, atom.value_high)
    return None


def _requirements(node: Node) -> list[Requirement]:
    """Requirements that all must hold for `node` not to be certainly unmet (a conjunction)."""
    if isinstance(node, Atom):
        key = _atom_key(node)
        return [frozenset({key})] if key else []
    if isinstance(node, And):
        return [r for child in node.children for r in _requirements(child)]
    if isinstance(node, Or):
        # Unmet only when every branch is unmet: each branch must contribute a requirement of its own.
        branches = [_requirements(child) for child in node.children]
        if not branches or any(not b for b in branches):
            return []
        return [frozenset().union(*(b[0] for b in branches))]
    return []  # Not, Except: a refuted atom below them does not refute the criterion.


def trial_requirements(criteria: Iterable[Criterion]) -> tuple[Requirement, ...]:
    """What the patient must not be refuted on for the trial's inclusion criteria to be possibly met.

    A criterion labelled for a cohort may count for some arms only, and a patient refuted on it may still
    enter another arm: the index, which does not see arms, leaves it to the engine.
    """
    found: dict[Requirement, None] = {}
    for criterion in criteria:
        if criterion.section == "inclusion" and criterion.cohort is None:
            found.update(dict.fromkeys(_requirements(criterion.tree)))
    return tuple(found)


@dataclass(frozen=True)
class PatientKeys:
    """The facts of a patient the index reads, on one evaluation date."""

    present_codes: frozenset[str]
    has_cancer: bool
    negative_genes: frozenset[str]
    sex: str
    age: int | None
    ecog: int | None

    @classmethod
    def of(cls, facts: PatientFacts, today: date) -> PatientKeys:
        present = frozenset(d.code for d in facts.diagnoses if d.present)
        by_gene: dict[str, list[str]] = defaultdict(list)
        for b in facts.biomarkers:
            by_gene[b.gene.upper()].append(b.status)
        negative = frozenset(
            gene
            for gene, statuses in by_gene.items()
            if "positive" not in statuses and any(s != "equivocal" for s in statuses)
        )
        return cls(
            present_codes=present,
            has_cancer=any(_is_oncologic(code) for code in present),
            negative_genes=negative,
            sex=facts.sex,
            age=None if facts.birth_date is None else age_on(facts.birth_date, today),
            ecog=facts.ecog,
        )

    def refutes(self, key: Key) -> bool:
        kind = key[0]
        if kind == "dx":
            wanted = str(key[1])
            return self.has_cancer and not any(_related(code, wanted) for code in self.present_codes)
        if kind == "gene":
            return key[1] in self.negative_genes
        if kind == "sex":
            return bool(self.sex) and self.sex != key[1]
        if kind == "age":
            return self.age is not None and _age_refutes(self.age, key)
        if kind == "ecog":
            return self.ecog is not None and _ecog_refutes(self.ecog, key)
        return False

    def admits(self, requirements: Iterable[Requirement]) -> bool:
        return all(not all(self.refutes(key) for key in alternatives) for alternatives in requirements)


def _related(code: str, wanted: str) -> bool:
    """Whether a recorded diagnosis leaves a wanted one open: the same, below or above it, or a bare histology
    ("adenocarcinoma") that may have arisen in the solid tumour wanted."""
    return (
        _is_a(code, wanted) or _is_a(wanted, code) or (code in _HISTOLOGIES and _is_a(wanted, "solid_tumour"))
    )


def _age_refutes(age: int, key: Key) -> bool:
    _, comparator, value, high = key
    return compare(float(age), str(comparator), value, high) is False  # type: ignore[arg-type]


def _ecog_refutes(ecog: int, key: Key) -> bool:
    if len(key) == 2:
        return float(ecog) not in key[1]  # type: ignore[operator]
    _, comparator, value, high = key
    return compare(float(ecog), str(comparator), value, high) is False  # type: ignore[arg-type]


class CandidateIndex:
    """Both directions of the index over a set of trials and a set of patients, for one evaluation date.

    `trials` maps a trial id to its criteria; `patients` maps a patient id to its facts (either may be empty
    when only one direction is used).
    """

    def __init__(
        self,
        *,
        trials: Mapping[int, Sequence[Criterion]],
        patients: Mapping[int, PatientFacts] | None = None,
        today: date,
    ) -> None:
        self.today = today
        self.requirements = {trial_id: trial_requirements(c) for trial_id, c in trials.items()}
        self.always = {trial_id for trial_id, requirements in self.requirements.items() if not requirements}
        self._all_trials = set(self.requirements)
        # Trials share most requirements (age >= 18, ECOG 0-1, NSCLC): a patient is checked once against each
        # distinct key and each distinct requirement, never once per trial.
        self._trials_with: dict[Requirement, set[int]] = defaultdict(set)
        for trial_id, requirements in self.requirements.items():
            for requirement in requirements:
                self._trials_with[requirement].add(trial_id)
        self._keys = frozenset(key for requirement in self._trials_with for key in requirement)
        self.patient_keys: dict[int, PatientKeys] = {}
        self._all_patients: set[int] = set()
        self._by_code: dict[str, set[int]] = defaultdict(set)
        self._no_cancer: set[int] = set()
        self._negative: dict[str, set[int]] = defaultdict(set)
        self._by_sex: dict[str, set[int]] = defaultdict(set)
        self._by_age: dict[int | None, set[int]] = defaultdict(set)
        self._by_ecog: dict[int | None, set[int]] = defaultdict(set)
        for patient_id, facts in (patients or {}).items():
            self.add_patient(patient_id, facts)

    def add_patient(self, patient_id: int, facts: PatientFacts) -> PatientKeys:
        keys = PatientKeys.of(facts, self.today)
        self.patient_keys[patient_id] = keys
        self._all_patients.add(patient_id)
        if keys.has_cancer:
            for code in keys.present_codes:
                self._by_code[code].add(patient_id)
        else:
            self._no_cancer.add(patient_id)
        for gene in keys.negative_genes:
            self._negative[gene].add(patient_id)
        self._by_sex[keys.sex].add(patient_id)
        self._by_age[keys.age].add(patient_id)
        self._by_ecog[keys.ecog].add(patient_id)
        return keys

    def trials_for(self, facts: PatientFacts | PatientKeys) -> set[int]:
        """Ids of the trials the patient may match; every other trial would rate the patient ineligible."""
        keys = facts if isinstance(facts, PatientKeys) else PatientKeys.of(facts, self.today)
        refuted = {key for key in self._keys if keys.refutes(key)}
        if not refuted:
            return set(self._all_trials)
        # A trial is out when one of its requirements has every alternative refuted (`PatientKeys.admits`).
        excluded: set[int] = set()
        for requirement, trial_ids in self._trials_with.items():
            if requirement <= refuted:
                excluded |= trial_ids
        return self._all_trials - excluded

    def patients_for(self, trial_id: int, criteria: Sequence[Criterion] | None = None) -> set[int]:
        """Ids of the indexed patients the trial may match."""
        requirements = (
            trial_requirements(criteria) if criteria is not None else self.requirements.get(trial_id, ())
        )
        found = set(self._all_patients)
        for alternatives in sorted(requirements, key=_selectivity):
            admitted: set[int] = set()
            for key in alternatives:
                admitted |= self._patients_not_refuting(key)
            found &= admitted
            if not found:
                break
        return found

    def _patients_not_refuting(self, key: Key) -> set[int]:
        kind = key[0]
        if kind == "dx":
            wanted = str(key[1])
            found = set(self._no_cancer)
            for code, patient_ids in self._by_code.items():
                if _related(code, wanted):
                    found |= patient_ids
            return found
        if kind == "gene":
            return self._all_patients - self._negative.get(str(key[1]), set())
        if kind == "sex":
            return self._by_sex.get("", set()) | self._by_sex.get(str(key[1]), set())
        if kind == "age":
            found = set(self._by_age.get(None, set()))
            for age, patient_ids in self._by_age.items():
                if age is not None and not _age_refutes(age, key):
                    found |= patient_ids
            return found
        if kind == "ecog":
            found = set(self._by_ecog.get(None, set()))
            for ecog, patient_ids in self._by_ecog.items():
                if ecog is not None and not _ecog_refutes(ecog, key):
                    found |= patient_ids
            return found
        return set(self._all_patients)


_SELECTIVITY = {"dx": 0, "gene": 1, "sex": 2, "ecog": 3, "age": 4}


def _selectivity(requirement: Requirement) -> tuple[int, int]:
    return (max(_SELECTIVITY[str(key[0])] for key in requirement), len(requirement))
