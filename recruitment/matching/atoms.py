"""Evaluation of single atoms against a patient's facts: the clinical semantics live here.

Every function returns an AtomResult. A definite answer (met / not met) always names the facts it used; an
unknown always says what would settle it. Missing data is unknown, never "not met", unless the patient's
history was confirmed complete (conditions, therapies, procedures) or a test result says negative.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from functools import cache, lru_cache
from operator import attrgetter
from typing import Protocol

from nlp import terminology
from nlp.extract import COURSES, STAGE_NUMERALS
from nlp.model import Atom, Concept, TimeWindow
from nlp.parser import QUALIFIER_RULE
from nlp.units import UnitError, convert
from recruitment.matching.facts import BiomarkerFact, DiagnosisFact, LabFact, PatientFacts
from recruitment.matching.logic import Truth
from recruitment.matching.results import AtomResult, Evidence, Settle, SettleKind

GENERIC_ASSAYS = frozenset({"IHC", "ISH", "FISH", "CISH", "SISH", "NGS", "PCR", "CTDNA"})
# FDA threshold for TMB-high (pembrolizumab tissue-agnostic approval).
TMB_HIGH_CUTOFF = 10.0
_DAYS_PER_UNIT = {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25}
_POINT = re.compile(r"^(?:p\.)?([A-Z])(\d{1,4})([A-Z*]|X|fs)?$", re.I)
# Not glued to a word by a hyphen: the "L1" of "PD-L1" is no variant.
_POINT_IN_TEXT = re.compile(r"(?<![\w-])([ACDEFGHIKLMNPQRSTVWY])(\d{1,4})([ACDEFGHIKLMNPQRSTVWY]|X)?\b")
_IHC = re.compile(r"IHC\s*([0-3])\+?(?:\s*ISH\s*(\S+))?", re.I)
# Patients and sites know these proteins by their common names, not their HGNC gene symbols.
_COMMON_NAMES = {"CD274": "PD-L1", "ERBB2": "HER2", "ESR1": "ER", "PGR": "PR"}
# Receptor statuses are read from each receptor's own result.
_RECEPTOR_PANELS = {"HR": ("ESR1", "PGR"), "TNBC": ("ESR1", "PGR", "ERBB2")}
# Diagnoses defined by receptor status: a breast cancer is triple-negative when its receptor results say so.
_SUBTYPE_PANELS = {"tnbc": "TNBC"}
_HER2_LOW = re.compile(r"\bHER-?2[- ]low\b", re.I)
_STAGE = re.compile(r"^(0|IV|V|I{1,3})([ABCD])?$")
# Stages on a disease's own scale (nlp.extract's "hoehn_yahr:II-IV"): the diagnosis that scale stages.
_STAGE_SCALES = {"hoehn_yahr": ("parkinsons", "What is your Hoehn and Yahr stage?")}


def _asked(lead: str, atom: Atom) -> str:
    """A criterion's own words put as a question: "Does this apply to you: no prior chemotherapy?" (the
    criterion's closing full stop or semicolon gives way to the question mark)."""
    return f"{lead}: {atom.text.rstrip().rstrip('.;:,')}?"


# ECOG grade -> the Karnofsky scores it spans (Oken et al. 1982 correspondence).
_ECOG_TO_KARNOFSKY = {0: (90, 100), 1: (70, 80), 2: (50, 60), 3: (30, 40), 4: (10, 20), 5: (0, 0)}
_EXON = re.compile(r"^exon\s*(\d{1,2})\s*(deletion|del|insertion|ins|skipping|mutation|duplication)s?$", re.I)
_EXON_KINDS = {"del": "deletion", "ins": "insertion", "dup": "insertion", "delins": "deletion"}
_HGVS_INDEL = re.compile(r"^[A-Z](\d{1,4})(?:_[A-Z]\d{1,4})?(delins|del|ins|dup)", re.I)
# EGFR codon ranges per exon (NM_005228), so that p.E746_A750del reads as an exon 19 deletion.
_EGFR_EXONS = {18: (688, 728), 19: (729, 761), 20: (762, 823), 21: (824, 875)}
# Registry text often loses superscripts: "x 109/L" is 10^9/L.
_LOST_SUPERSCRIPT = re.compile(r"^(?:x\s*)?10([3-9]|12)\s*/", re.I)


@dataclass(frozen=True)
class Context:
    facts: PatientFacts
    today: date
    section: str = "inclusion"


# Two atoms that agree on the fields `truth_key` reads have the same truth for any patient, whatever their
# wording or place in the text, and the engine evaluates them once per patient. Those are the fields the
# handlers below read to decide truth (the text only for biomarkers, the section and whether a history is
# asked only for conditions); a handler that starts reading another field must add it to the key.
# Atoms made from the trial's registered conditions rather than from its eligibility text.
REGISTERED_CONDITION_RULE = "registry.condition"


def truth_key(atom: Atom, section: str) -> str:
    """What decides the atom's truth, as a string (it hashes once, and atoms are compared by it per patient).

    Every free-text part is a repr, so that no field's content can pass for a separator.
    """
    concept, window = atom.concept, atom.window
    what = None if concept is None else (concept.system, concept.code, concept.label)
    when = None if window is None else (window.amount, window.unit, window.relation)
    return (
        f"{atom.kind}|{atom.checkable:d}|{what!r}|{atom.comparator!r}|{atom.value!r}|{atom.value_high!r}|"
        f"{atom.values!r}|{atom.unit!r}|{atom.uln_multiple!r}|{atom.lln_multiple!r}|{atom.alteration!r}|"
        f"{atom.assay!r}|{when!r}|{section if atom.kind == 'condition' else ''}|"
        f"{atom.assertion == 'historical' if atom.kind == 'condition' else ''}|"
        f"{atom.rule_id == REGISTERED_CONDITION_RULE:d}|{atom.text if atom.kind == 'biomarker' else ''!r}"
    )


def answered_without_facts(atom: Atom) -> bool:
    """Whether the atom's result is the same for every patient (unreadable, not checkable or not coded)."""
    if not atom.checkable or atom.kind in ("other", "life_expectancy"):
        return True
    return atom.kind not in _HANDLERS or atom.concept is None


def evaluate_atom(atom: Atom, ctx: Context) -> AtomResult:
    if not atom.checkable and atom.concept is None:
        # Text the parser could not read at all may exclude anyone: that is unknown, not "the site checks it".
        # A qualifier was read, but is a detail (severity, control, site) that no profile records.
        reason = (
            "the profile does not record this detail"
            if atom.rule_id == QUALIFIER_RULE
            else "the criterion could not be read"
        )
        return _unknown(atom, reason, "question", _asked("Does this apply to you", atom))
    if not atom.checkable:
        return _result(atom, Truth.NOT_CHECKABLE, "not answerable from a profile; the site checks it")
    handler = _HANDLERS.get(atom.kind)
    if handler is None or (atom.concept is None and atom.kind != "other"):
        return _unknown(
            atom, "the criterion could not be coded", "question", _asked("Does this apply to you", atom)
        )
    return handler(atom, ctx)


def _result(atom: Atom, truth: Truth, reason: str, evidence: Iterable[Evidence] = ()) -> AtomResult:
    return AtomResult.make(atom.text, atom.span, truth, reason, tuple(evidence))


def _unknown(
    atom: Atom, reason: str, kind: SettleKind, text: str, evidence: Iterable[Evidence] = ()
) -> AtomResult:
    return AtomResult.make(atom.text, atom.span, Truth.UNKNOWN, reason, tuple(evidence), Settle(kind, text))


def _never_tested(
    atom: Atom, reason: str, result: str, evidence: Iterable[Evidence] = (), *, text: str = ""
) -> AtomResult:
    """Unknown because the patient has no result of the tumour test the atom needs: the test to order
    (`text`, by default the `result` it would have to give, not on file)."""
    settle = Settle("test", text or f"{result} not on file", biomarker=result)
    return AtomResult.make(atom.text, atom.span, Truth.UNKNOWN, reason, tuple(evidence), settle)


def _decide(atom: Atom, holds: bool, reason: str, evidence: Iterable[Evidence]) -> AtomResult:
    return _result(atom, Truth.MET if holds else Truth.NOT_MET, reason, evidence)


class Fact(Protocol):
    @property
    def ref(self) -> str: ...

    def describe(self) -> str: ...


def _ev(fact: Fact) -> Evidence:
    return Evidence(fact.ref, fact.describe())


def compare(
    value: float, comparator: str | None, target: float | None, high: float | None = None
) -> bool | None:
    """None when the atom gives no usable comparison."""
    if target is None:
        return None
    checks: dict[str, Callable[[], bool]] = {
        ">=": lambda: value >= target,
        ">": lambda: value > target,
        "<=": lambda: value <= target,
        "<": lambda: value < target,
        "=": lambda: abs(value - target) < 1e-9,
        "between": lambda: high is not None and target <= value <= high,
    }
    check = checks.get(comparator or "")
    return check() if check else None


def window_days(window: TimeWindow) -> int:
    """The window's length in whole days, as `in_window` counts it (`horizon` reads the same number)."""
    return round(window.amount * _DAYS_PER_UNIT.get(window.unit, 1.0))


def window_start(window: TimeWindow, today: date) -> date:
    return today - timedelta(days=window_days(window))


def in_window(
    when: date | None,
    window: TimeWindow | None,
    today: date,
    *,
    ongoing: bool | None = False,
    until: date | None = None,
) -> bool | None:
    """Whether an event falls in the atom's window; None when its date is not known.

    `ongoing` is True for a therapy still given, False for one that has ended (dated or not) and None when
    that is not known (an undated procedure). A "current" window ("no concurrent radiotherapy") holds only
    what is still going on: a therapy that has ended is outside it even when its end date is not known.
    A date known by its month or year only runs from `when` to `until`: unless both ends agree, the window's
    edge falls inside that period and the answer is not known.
    """
    if window is None:
        return True
    if until is not None and when is not None and until != when:
        first, last = (
            in_window(when, window, today, ongoing=ongoing),
            in_window(until, window, today, ongoing=ongoing),
        )
        return first if first == last else None
    if window.relation == "current":
        if ongoing is None:
            return None
        return ongoing or (when is not None and when >= today)
    if ongoing:
        return window.relation == "within"
    if when is None:
        return None
    cutoff = window_start(window, today)
    return when >= cutoff if window.relation == "within" else when <= cutoff


def _window_text(window: TimeWindow | None) -> str:
    if window is None:
        return ""
    if window.relation == "current":
        return " currently"
    amount = f"{window.amount:g} {window.unit}"
    return f" in the last {amount}" if window.relation == "within" else f" at least {amount} ago"


# -- conditions -------------------------------------------------------------------------------------------


@cache
def _is_a(code: str, ancestor_code: str) -> bool:
    # Matching asks the same few hundred questions of a small, fixed hierarchy millions of times.
    return terminology.is_a(code, ancestor_code)


@cache
def _is_oncologic(code: str) -> bool:
    return any(_is_a(code, root) for root in terminology.ONCOLOGY_ROOTS)


def _dx_matches(patient_code: str, wanted: str) -> bool:
    if wanted == "cancer":
        return _is_oncologic(patient_code)
    return _is_a(patient_code, wanted)


# Histologies found in many organs. The hierarchy files a cancer under its organ, so an organ's histology is
# read from its name ("lung adenocarcinoma") or the recorded histology.
_HISTOLOGIES = {"adenocarcinoma": "adenocarcinoma", "squamous_cell_carcinoma": "squamous cell carcinoma"}


def _names_histology(dx: DiagnosisFact, wanted: str) -> bool:
    name = _HISTOLOGIES.get(wanted)
    return name is not None and name in f"{dx.label} {dx.histology}".lower()


# Findings of a tumour assessment (RECIST measurable disease), asked of every cancer patient: a diagnosis
# list never holds them, so their absence from a complete history is no answer.
_TUMOUR_ASSESSMENTS = frozenset({"measurable_disease"})


def _organ_only(dx: DiagnosisFact) -> bool:
    """A cancer recorded by its organ ("breast cancer"), its histology not on file."""
    return not dx.histology and dx.label.lower().endswith("cancer")


def condition(atom: Atom, ctx: Context) -> AtomResult:
    assert atom.concept is not None
    if atom.concept.system == "stage":
        return stage(atom, ctx)
    if atom.concept.system == "course":
        return course(atom, ctx)
    wanted, label = atom.concept.code, atom.concept.label
    # Cancer trials do not exclude the cancer they treat: an excluded "malignancy" is another one.
    if wanted == "second_malignancy" or (wanted == "cancer" and ctx.section == "exclusion"):
        return second_malignancy(atom, ctx)
    present = [d for d in ctx.facts.diagnoses if d.present]
    if not present and atom.rule_id == REGISTERED_CONDITION_RULE:
        # The registry lists what the trial studies, not what it excludes: with no diagnosis on file, even a
        # history confirmed complete says nothing about which cancer the patient is seeking a trial for.
        return _unknown(atom, "no diagnosis on file", "question", f"Have you been diagnosed with {label}?")
    matching = [d for d in present if _dx_matches(d.code, wanted) or _names_histology(d, wanted)]
    undated, over = [], []
    for dx in matching:
        if dx.resolved and not _asks_history(atom):
            over.append(dx)
            continue
        inside = in_window(dx.diagnosed_on, atom.window, ctx.today, until=dx.diagnosed_by)
        if inside:
            return _result(atom, Truth.MET, f"diagnosis {dx.label} is a {label}", [_ev(dx)])
        if inside is None:
            undated.append(dx)
    if over:
        return _unknown(
            atom,
            f"{label} resolved or in remission: whether past disease counts is not said",
            "question",
            _asked("Does this apply to you", atom),
            map(_ev, over),
        )
    if undated:
        return _unknown(
            atom,
            "diagnosis date not on file",
            "question",
            f"When were you diagnosed with {label}?",
            map(_ev, undated),
        )
    if matching:
        return _result(
            atom, Truth.NOT_MET, f"{label} diagnosed outside{_window_text(atom.window)}", map(_ev, matching)
        )
    broader = [d for d in present if d.code != wanted and _is_a(wanted, d.code)]
    if broader and wanted in _SUBTYPE_PANELS:
        panel = _receptor_panel(
            replace(atom, concept=Concept("biomarker", _SUBTYPE_PANELS[wanted], label)), ctx
        )
        return replace(panel, text=atom.text, evidence=(*map(_ev, broader), *panel.evidence))
    if broader:
        return _unknown(
            atom,
            f"recorded diagnosis is less specific than {label}",
            "test",
            f"Histology/subtype confirming {label} not on file",
            map(_ev, broader),
        )
    ruled_out = [d for d in ctx.facts.diagnoses if not d.present and _is_a(wanted, d.code)]
    if ruled_out:
        return _result(atom, Truth.NOT_MET, f"{label} ruled out", map(_ev, ruled_out))
    own_cancer = [d for d in present if _is_oncologic(d.code)]
    if _is_oncologic(wanted) and own_cancer:
        # A cancer recorded by its organ alone may be the histology asked for, and one recorded by its
        # histology alone may arise in the organ asked for: neither says it is not.
        histology_missing = [d for d in own_cancer if wanted in _HISTOLOGIES and _organ_only(d)]
        site_missing = [d for d in own_cancer if d.code in _HISTOLOGIES and _is_a(wanted, "solid_tumour")]
        if histology_missing or site_missing:
            missing = "histology" if histology_missing else "primary site"
            return _unknown(
                atom,
                f"the recorded cancer's {missing} is not on file",
                "test",
                f"{missing.capitalize()} confirming {label} not on file",
                map(_ev, histology_missing or site_missing),
            )
        return _result(atom, Truth.NOT_MET, f"the recorded cancer is not a {label}", map(_ev, own_cancer))
    if wanted in _TUMOUR_ASSESSMENTS:
        # Whether the disease can be measured is read from the latest scan, which no medical history
        # records: a history confirmed complete does not say the patient has none.
        return _unknown(atom, f"{label} not on file", "test", f"Scan report showing {label} not on file")
    if ctx.facts.history_complete:
        return _result(atom, Truth.NOT_MET, f"no {label} in the confirmed history", [_history_evidence(ctx)])
    return _unknown(atom, f"{label} not on file", "question", f"Have you ever been diagnosed with {label}?")


def _asks_history(atom: Atom) -> bool:
    """Whether a condition criterion is met by a disease that is over (resolved, inactive or in remission):
    one asking for a history of it ("history of hepatitis B"), or asking when it was diagnosed ("breast cancer
    within the last 5 years"). Asked as a present disease ("hepatitis B infection", "diagnosis of breast
    cancer"), a resolved one may or may not count: that stays unknown."""
    return atom.assertion == "historical" or (atom.window is not None and atom.window.relation != "current")


# A cancer that one transforms into continues it ("CLL with Richter's transformation", TREC trec-20218): the
# two records are one disease course, not a second primary.
_TRANSFORMED_FROM = {"richter": "cll"}


def _same_cancer(index: DiagnosisFact, other: DiagnosisFact) -> bool:
    """Whether `other` may record the index cancer again: the same concept, a broader or narrower name of it
    ("NSCLC" beside "lung adenocarcinoma", "lymphoma" beside "DLBCL"), its transformation (Richter's beside
    CLL), or a histology alone beside a cancer of an organ ("adenocarcinoma" beside "breast cancer"), which
    names no second primary."""
    if _is_a(index.code, other.code) or _is_a(other.code, index.code):
        return True
    if any(
        _is_a(later.code, transformed) and _is_a(earlier.code, origin)
        for later, earlier in ((index, other), (other, index))
        for transformed, origin in _TRANSFORMED_FROM.items()
    ):
        return True
    histology, organ = (index, other) if index.code in _HISTOLOGIES else (other, index)
    return histology.code in _HISTOLOGIES and _is_a(organ.code, "solid_tumour")


def second_malignancy(atom: Atom, ctx: Context) -> AtomResult:
    """A cancer besides the most recently diagnosed one (the one the patient is seeking a trial for).

    Notes and profiles name the index cancer more than once and at different levels ("lymphoma", later
    "Burkitt's lymphoma"); such records are that cancer, not another one.
    """
    cancers = sorted(
        (d for d in ctx.facts.diagnoses if d.present and _is_oncologic(d.code)),
        key=lambda d: d.diagnosed_on or date.max,
        reverse=True,
    )
    others = [d for d in cancers[1:] if not _same_cancer(cancers[0], d)]
    question = f"Have you had another cancer{_window_text(atom.window)}, besides the one you are treated for?"
    inside = [
        None
        if d.resolved and not _asks_history(atom)
        else in_window(d.diagnosed_on, atom.window, ctx.today, until=d.diagnosed_by)
        for d in others
    ]
    if any(inside):
        hits = [d for d, hit in zip(others, inside, strict=True) if hit]
        return _result(atom, Truth.MET, f"another cancer{_window_text(atom.window)}", map(_ev, hits))
    if None in inside:
        unsettled = [d for d, hit in zip(others, inside, strict=True) if hit is None]
        reason = (
            "the other cancer is in remission or resolved: whether it counts is not said"
            if any(d.resolved and not _asks_history(atom) for d in unsettled)
            else "date of the other cancer not on file"
        )
        return _unknown(atom, reason, "question", question, map(_ev, others))
    if ctx.facts.history_complete:
        evidence = [_history_evidence(ctx), *map(_ev, cancers)]
        return _result(atom, Truth.NOT_MET, f"no other cancer{_window_text(atom.window)}", evidence)
    return _unknown(atom, "other cancers not on file", "question", question, map(_ev, cancers))


def _history_evidence(ctx: Context) -> Evidence:
    return Evidence(ctx.facts.ref, f"medical history confirmed complete on {ctx.facts.history_confirmed_on}")


def _stage_key(text: str) -> tuple[int, str] | None:
    match = _STAGE.match(text.strip().upper())
    return (STAGE_NUMERALS[match.group(1)], match.group(2) or "") if match else None


def stage(atom: Atom, ctx: Context) -> AtomResult:
    """A cancer's stage, or a stage on another disease's scale ("hoehn_yahr:II-IV": Parkinson's disease);
    a cancer's stage never answers another scale's, nor the other way round."""
    assert atom.concept is not None
    scale, _, code = atom.concept.code.rpartition(":")
    bounds = [_stage_key(part) for part in code.split("-")]
    if scale in _STAGE_SCALES:
        disease, question = _STAGE_SCALES[scale]
        staged = [d for d in ctx.facts.diagnoses if d.present and d.stage and _is_a(d.code, disease)]
    else:
        question = "What stage is your cancer?"
        staged = [d for d in ctx.facts.diagnoses if d.present and d.stage and _is_oncologic(d.code)]
    if not staged:
        return _unknown(atom, "stage not on file", "question", question)
    dx = staged[0]
    patient = _stage_key(dx.stage)
    if patient is None or any(bound is None for bound in bounds):
        return _unknown(atom, "stage could not be compared", "question", question, [_ev(dx)])
    low, high = bounds[0], bounds[-1]
    assert low is not None
    assert high is not None
    outside = _result(atom, Truth.NOT_MET, f"stage {dx.stage} outside {code}", [_ev(dx)])
    if not low[0] <= patient[0] <= high[0]:
        return outside
    # A lettered bound splits its numeral ("IIIB-IV" takes IIIB and IIIC but not IIIA): the letter decides.
    split = [
        (bound, side) for bound, side in ((low, "low"), (high, "high")) if bound[1] and bound[0] == patient[0]
    ]
    if split and not patient[1]:
        return _unknown(
            atom, "sub-stage not on file", "question", "What is the full stage (e.g. IIIB)?", [_ev(dx)]
        )
    if any(patient[1] < bound[1] if side == "low" else patient[1] > bound[1] for bound, side in split):
        return outside
    return _result(atom, Truth.MET, f"stage {dx.stage} within {code}", [_ev(dx)])


# What a recorded course says of an asked one: met, not met, or None (unknown: a recurrent cancer may or may
# not also be refractory; a newly diagnosed one may be progressing already).
_COURSE_ANSWERS: dict[tuple[str, str], bool | None] = {
    ("newly_diagnosed", "newly_diagnosed"): True,
    ("recurrent", "newly_diagnosed"): False,
    ("refractory", "newly_diagnosed"): False,
    ("recurrent", "recurrent"): True,
    ("newly_diagnosed", "recurrent"): False,
    ("refractory", "recurrent"): None,
    ("refractory", "refractory"): True,
    ("newly_diagnosed", "refractory"): False,
    ("recurrent", "refractory"): None,
    ("recurrent", "progressive"): True,
    ("refractory", "progressive"): True,
    ("newly_diagnosed", "progressive"): None,
}


def _diagnosis_label(code: str) -> str:
    try:
        return terminology.diagnosis(code).label
    except KeyError:
        return code


def course(atom: Atom, ctx: Context) -> AtomResult:
    """The course a cancer is asked to have ("myeloma:recurrent,refractory": relapsed or refractory myeloma),
    from the course recorded on the patient's diagnoses of that cancer; any one asked for is enough."""
    assert atom.concept is not None
    disease, _, asked = atom.concept.code.rpartition(":")
    wanted = asked.split(",")
    named = " or ".join(COURSES.get(code, code) for code in wanted)
    cancers = [d for d in ctx.facts.diagnoses if d.present and _dx_matches(d.code, disease)]
    # The patient's own name for the cancer when it is on file ("your lung adenocarcinoma", not "the solid
    # tumour" a basket trial asks about).
    named_cancer = f"your {cancers[0].label}" if cancers else f"the {_diagnosis_label(disease)}"
    question = (
        f"Is {named_cancer} newly diagnosed, has it come back after treatment (recurrent or relapsed), or has"
        " it not responded to treatment (refractory)?"
    )
    recorded = [d for d in cancers if d.course]
    if not recorded:
        reason = "course of the disease not on file" if cancers else "no matching diagnosis on file"
        return _unknown(atom, reason, "question", question, [_ev(d) for d in cancers])
    answers = [(dx, [_COURSE_ANSWERS.get((dx.course, code)) for code in wanted]) for dx in recorded]
    for dx, found in answers:
        if True in found:
            return _result(atom, Truth.MET, f"{COURSES.get(dx.course, dx.course)}: {named} asked", [_ev(dx)])
    evidence = [_ev(dx) for dx, _ in answers]
    if all(answer is False for _, found in answers for answer in found):
        recorded_as = ", ".join(sorted({COURSES.get(dx.course, dx.course) for dx in recorded}))
        return _result(atom, Truth.NOT_MET, f"recorded as {recorded_as}, not {named}", evidence)
    return _unknown(
        atom, f"the recorded course does not say whether it is {named}", "question", question, evidence
    )


# -- biomarkers ---------------------------------------------------------------------------------------


def _variant_wanted(atom: Atom) -> str | None:
    """The variant the atom asks for, if any; recovers "V600" when the parser kept only "mutation"."""
    alteration = (atom.alteration or "").strip()
    if _POINT.match(alteration) or alteration.lower().startswith("exon"):
        return alteration
    if alteration in ("mutation", "") and atom.concept is not None:
        after_gene = (
            atom.text.split(atom.concept.code, 1)[-1] if atom.concept.code in atom.text else atom.text
        ).lstrip(" -:")
        point = _POINT_IN_TEXT.search(after_gene)
        if point:
            return "".join(part for part in point.groups() if part)
    return None


def _exon_form(text: str, gene: str) -> str | None:
    """ "exon 19 del" -> "exon 19 deletion"; an EGFR in-frame deletion given as p.E746_A750del -> the same."""
    exon = _EXON.match(text)
    if exon:
        return f"exon {exon.group(1)} {_EXON_KINDS.get(exon.group(2).lower(), exon.group(2).lower())}"
    indel = _HGVS_INDEL.match(text)
    if indel is None or gene != "EGFR":
        return None
    codon = int(indel.group(1))
    number = next((n for n, (low, high) in _EGFR_EXONS.items() if low <= codon <= high), None)
    kind = _EXON_KINDS[indel.group(2).lower()]
    return f"exon {number} {kind}" if number else None


def variant_matches(wanted: str, found: str, gene: str = "") -> bool:
    """V600 matches V600E/V600K; G12X matches G12C; exon forms match by exon and kind."""
    wanted_n, found_n = wanted.strip(), found.strip().removeprefix("p.")
    wanted_exon = _exon_form(wanted_n, gene)
    if wanted_exon is not None:
        return wanted_exon == _exon_form(found_n, gene)
    want, got = _POINT.match(wanted_n), _POINT.match(found_n)
    if not want or not got:
        return wanted_n.lower() == found_n.lower()
    if [g.upper() for g in want.group(1, 2)] != [g.upper() for g in got.group(1, 2)]:
        return False
    residue = (want.group(3) or "").lower()
    return residue in ("", "x") or residue == (got.group(3) or "").lower()


def _biomarker_results(atom: Atom, ctx: Context) -> tuple[list[BiomarkerFact], list[BiomarkerFact]]:
    """(results for the gene that fit the atom's assay, results for the gene from other assays)."""
    assert atom.concept is not None
    gene = atom.concept.code
    for_gene = [b for b in ctx.facts.biomarkers if b.gene.upper() == gene.upper()]
    wanted_assay = (atom.assay or "").upper()
    if not wanted_assay or wanted_assay in GENERIC_ASSAYS:
        return for_gene, []
    fits = [b for b in for_gene if wanted_assay in b.assay.upper()]
    return fits, [b for b in for_gene if b not in fits]


def _test_name(atom: Atom) -> str:
    assert atom.concept is not None
    what = _COMMON_NAMES.get(atom.concept.code, atom.concept.code)
    alteration = _variant_wanted(atom) or atom.alteration
    detail = f" {alteration}" if alteration and alteration not in ("positive", "mutation") else ""
    by = f" by {atom.assay}" if atom.assay else ""
    return f"{what}{detail}{by}"


def biomarker(atom: Atom, ctx: Context) -> AtomResult:
    assert atom.concept is not None
    if atom.concept.system == "biomarker" and atom.concept.code in _RECEPTOR_PANELS:
        return _receptor_panel(atom, ctx)
    members = terminology.gene_families().get(atom.concept.code)
    result = _gene_family(atom, members, ctx) if members else _one_gene(atom, ctx)
    settle = result.settle
    if result.truth is not Truth.UNKNOWN or settle is None or not settle.biomarker:
        return result
    rare = _rare_driver(atom, ctx.facts)
    if rare is None:
        return result
    needed, found = rare
    # Still unknown: a driver her tumour almost surely lacks is not one it is known to lack.
    settle = Settle(
        "test",
        f"{settle.text} ({needed.plural} are rarely found in tumours with {found.label})",
        settle.biomarker,
        driver=needed.plural,
        rare_with=found.label,
    )
    return AtomResult.make(result.text, result.span, result.truth, result.reason, result.evidence, settle)


def _rare_driver(atom: Atom, facts: PatientFacts) -> tuple[terminology.Driver, terminology.Driver] | None:
    """(the driver the atom asks for, another driver of the same group her tumour was found to have) when
    she has a cancer whose drivers are found together in few tumours (nlp/data/drivers.json)."""
    cancers = [d.code for d in facts.diagnoses if d.present and not d.resolved]
    for group in terminology.driver_groups():
        if not any(terminology.is_a(code, group.diagnosis) for code in cancers):
            continue
        needed = next((driver for driver in group.drivers if _asks_for(atom, driver)), None)
        if needed is None:
            continue
        found = next(
            (
                driver
                for driver in group.drivers
                if driver is not needed and any(_shows(b, driver) for b in facts.biomarkers)
            ),
            None,
        )
        if found is not None:
            return needed, found
    return None


def _asks_for(atom: Atom, driver: terminology.Driver) -> bool:
    """Whether the atom asks for the driver: one of its genes, with an alteration or variant that is it."""
    assert atom.concept is not None
    gene = atom.concept.code
    if gene not in driver.genes:
        return False
    variant = _variant_wanted(atom)
    if driver.variants:
        return variant is not None and any(variant_matches(variant, v, gene) for v in driver.variants)
    if variant is not None:
        return "mutation" in driver.asked_as
    return (atom.alteration or "").lower() in driver.asked_as


def _shows(result: BiomarkerFact, driver: terminology.Driver) -> bool:
    """Whether a test result shows the driver: positive, for one of its genes and alteration types, and for
    one of its variants when only those are the driver."""
    return (
        result.status == "positive"
        and result.gene in driver.genes
        and result.alteration_type in driver.found_as
        and (
            not driver.variants
            or any(variant_matches(v, result.protein_change, result.gene) for v in driver.variants)
        )
    )


def _one_gene(atom: Atom, ctx: Context) -> AtomResult:
    assert atom.concept is not None
    results, other_assays = _biomarker_results(atom, ctx)
    if not results and not other_assays:
        return _never_tested(atom, f"{_test_name(atom)} not on file", _test_name(atom))
    if not results:
        note = f" (a result from another assay is on file: {other_assays[0].assay})"
        return _unknown(
            atom,
            f"{_test_name(atom)} not on file{note}",
            "test",
            f"{_test_name(atom)} not on file",
            map(_ev, other_assays),
        )
    alteration = (atom.alteration or "").lower()
    if atom.comparator and atom.value is not None:
        return _biomarker_score(atom, results)
    if alteration.startswith("ihc"):
        return _biomarker_ihc(atom, results)
    if atom.concept.code == "ERBB2" and (alteration == "low" or _HER2_LOW.search(atom.text)):
        return _her2_low(atom, results)
    if atom.concept.system == "biomarker":
        return _signature(atom, results)
    variant = _variant_wanted(atom)
    if variant:
        return _biomarker_variant(atom, variant, results)
    return _biomarker_kind(atom, alteration, results)


def _gene_family(atom: Atom, members: tuple[str, ...], ctx: Context) -> AtomResult:
    """A family named for its genes ("NTRK fusion", "BRCA mutation"): met when a result of one member, or
    one recorded for the family itself (a pan-TRK screen), meets it; not met when that family result or
    every member's fails it; otherwise unknown, with the members still untested to order."""
    assert atom.concept is not None
    own = _one_gene(atom, ctx)
    by_member = [
        (gene, _one_gene(replace(atom, concept=Concept(atom.concept.system, gene, gene)), ctx))
        for gene in members
    ]
    results = [own, *(result for _, result in by_member)]
    met = next((r for r in results if r.truth is Truth.MET), None)
    if met is not None:
        return _result(atom, Truth.MET, met.reason, met.evidence)
    evidence = [e for r in results for e in r.evidence]
    if own.truth is Truth.NOT_MET:
        return _result(atom, Truth.NOT_MET, own.reason, evidence)
    untested = [gene for gene, r in by_member if r.truth is not Truth.NOT_MET]
    if not untested:
        reason = "; ".join(f"{gene}: {r.reason}" for gene, r in by_member)
        return _result(atom, Truth.NOT_MET, reason, evidence)
    return _never_tested(
        atom,
        f"no {_test_name(atom)} result meets it; {', '.join(untested)} not settled",
        _test_name(atom),
        evidence,
        text=f"{_test_name(atom)} ({', '.join(untested)}) not on file",
    )


def _definite(results: list[BiomarkerFact]) -> list[BiomarkerFact]:
    return [b for b in results if b.status != "equivocal"]


def _equivocal(atom: Atom, results: list[BiomarkerFact]) -> AtomResult:
    return _unknown(
        atom,
        "only equivocal results on file",
        "test",
        f"Repeat {_test_name(atom)} (equivocal)",
        map(_ev, results),
    )


def _biomarker_variant(atom: Atom, variant: str, results: list[BiomarkerFact]) -> AtomResult:
    positive = [b for b in results if b.status == "positive" and b.protein_change]
    hits = [b for b in positive if variant_matches(variant, b.protein_change, b.gene)]
    if hits:
        return _result(atom, Truth.MET, f"{variant} found", map(_ev, hits))
    definite = _definite(results)
    if not definite:
        return _equivocal(atom, results)
    return _result(atom, Truth.NOT_MET, f"tested; {variant} not found", map(_ev, definite))


_MUTATION_TYPES = frozenset({"mutation", "deletion", "insertion"})


def _biomarker_kind(atom: Atom, alteration: str, results: list[BiomarkerFact]) -> AtomResult:
    if alteration in ("wild_type", "negative"):
        positive = [b for b in results if b.status == "positive" and b.alteration_type != "wild_type"]
        if positive:
            return _result(atom, Truth.NOT_MET, "an alteration was found", map(_ev, positive))
        negative = [b for b in results if b.status == "negative"]
        if negative:
            return _result(atom, Truth.MET, "tested negative / wild-type", map(_ev, negative))
        return _equivocal(atom, results)
    if alteration == "mutation" and not re.search(r"alteration|aberration", atom.text, re.I):
        wanted: frozenset[str] | None = _MUTATION_TYPES
    elif alteration in ("fusion", "amplification", "loss", "deletion", "insertion"):
        wanted = frozenset({alteration})
    else:
        wanted = None  # bare gene, "positive", "alteration": any positive finding
    hits = [
        b
        for b in results
        if b.status == "positive"
        and b.alteration_type != "wild_type"
        and (wanted is None or b.alteration_type in wanted)
    ]
    if hits:
        return _result(atom, Truth.MET, f"{alteration or 'alteration'} found", map(_ev, hits))
    # "HER2-positive" (overexpressed or amplified) or "EGFR positive" says the gene is positive, not how: it
    # neither shows nor rules out the amplification or mutation asked for.
    unspecific = [b for b in results if b.status == "positive" and b.alteration_type == "expression"]
    if wanted is not None and unspecific:
        return _unknown(
            atom,
            f"a positive result is on file, not whether it is {alteration}",
            "test",
            f"{_test_name(atom)} not on file",
            map(_ev, unspecific),
        )
    definite = _definite(results)
    if not definite:
        return _equivocal(atom, results)
    return _result(atom, Truth.NOT_MET, f"tested; no {alteration or 'alteration'} found", map(_ev, definite))


def _latest(results: Iterable[BiomarkerFact]) -> BiomarkerFact | None:
    ordered = sorted(results, key=lambda b: b.tested_on or date.min, reverse=True)
    return ordered[0] if ordered else None


def _biomarker_score(atom: Atom, results: list[BiomarkerFact]) -> AtomResult:
    metric = (atom.alteration or "").upper()
    scored = [
        b
        for b in results
        if b.value is not None and (metric in ("", "EXPRESSION", "HIGH") or b.measure.upper() == metric)
    ]
    latest = _latest(scored)
    if latest is None or latest.value is None:
        return _unknown(
            atom,
            f"{_test_name(atom)} score not on file",
            "test",
            f"{_test_name(atom)} score not on file",
            map(_ev, results),
        )
    holds = compare(latest.value, atom.comparator, atom.value, atom.value_high)
    if holds is None:
        return _unknown(
            atom, "the criterion's threshold could not be read", "question", _asked("Does this apply", atom)
        )
    # "TPS 60 >= 50" when met, "TPS 10, not >= 50" when not.
    measured = f"{latest.measure or 'score'} {latest.value:g}{'' if holds else ', not'}"
    return _decide(atom, holds, f"{measured} {atom.comparator} {atom.value:g}", [_ev(latest)])


def _ihc_score(results: Iterable[BiomarkerFact]) -> BiomarkerFact | None:
    return _latest(b for b in results if b.measure.upper() == "IHC" and b.value is not None)


def _biomarker_ihc(atom: Atom, results: list[BiomarkerFact]) -> AtomResult:
    wanted = _IHC.match(atom.alteration or "")
    scored = _ihc_score(results)
    if wanted is None:
        return _unknown(
            atom, "IHC requirement could not be read", "question", _asked("Does this apply", atom)
        )
    if scored is None or scored.value is None:
        return _unknown(
            atom,
            f"{_test_name(atom)} score not on file",
            "test",
            f"{_test_name(atom)} not on file",
            map(_ev, results),
        )
    if int(scored.value) != int(wanted.group(1)):
        return _result(atom, Truth.NOT_MET, f"IHC {scored.value:g}+ is not {wanted.group(1)}+", [_ev(scored)])
    if not wanted.group(2):
        return _result(atom, Truth.MET, f"IHC {scored.value:g}+", [_ev(scored)])
    ish = _latest(b for b in results if b.measure.upper() in ("ISH", "FISH", "CISH", "SISH"))
    if ish is None:
        return _unknown(atom, "ISH result not on file", "test", "HER2 ISH not on file", [_ev(scored)])
    positive_wanted = wanted.group(2).lower() in ("+", "positive", "amplified")
    return _decide(
        atom, (ish.status == "positive") == positive_wanted, "IHC and ISH compared", [_ev(scored), _ev(ish)]
    )


def _her2_low(atom: Atom, results: list[BiomarkerFact]) -> AtomResult:
    """HER2-low: IHC 1+, or IHC 2+ with a negative ISH."""
    scored = _ihc_score(results)
    if scored is None or scored.value is None:
        return _unknown(
            atom, "HER2 IHC score not on file", "test", "HER2 IHC score not on file", map(_ev, results)
        )
    if scored.value == 1:
        return _result(atom, Truth.MET, "HER2 IHC 1+ is HER2-low", [_ev(scored)])
    if scored.value != 2:
        return _result(atom, Truth.NOT_MET, f"HER2 IHC {scored.value:g}+ is not HER2-low", [_ev(scored)])
    ish = _latest(b for b in results if b.measure.upper() in ("ISH", "FISH", "CISH", "SISH"))
    if ish is None or ish.status == "equivocal":
        return _unknown(atom, "HER2 IHC 2+ needs ISH", "test", "HER2 ISH not on file", [_ev(scored)])
    return _decide(atom, ish.status == "negative", "HER2 IHC 2+ with ISH", [_ev(scored), _ev(ish)])


_SIGNATURE_POSITIVE = {
    "high": True,
    "deficient": True,
    "positive": True,
    "stable": False,
    "proficient": False,
    "negative": False,
}


def _signature(atom: Atom, results: list[BiomarkerFact]) -> AtomResult:
    """MSI-high, dMMR, TMB-high, hormone receptor status: a positive result means the signature is present."""
    assert atom.concept is not None
    wants_positive = _SIGNATURE_POSITIVE.get((atom.alteration or "positive").lower(), True)
    latest = _latest(_definite(results))
    if latest is None:
        return _equivocal(atom, results)
    present = latest.status == "positive"
    if atom.concept.code == "TMB" and latest.value is not None:
        present = latest.value >= TMB_HIGH_CUTOFF
    return _decide(atom, present == wants_positive, f"{atom.concept.label} {latest.status}", [_ev(latest)])


def _receptor_panel(atom: Atom, ctx: Context) -> AtomResult:
    """Hormone receptor positive: ER or PR positive. Triple-negative: ER, PR and HER2 all negative."""
    assert atom.concept is not None
    code = atom.concept.code
    latest = {
        gene: _latest(_definite([b for b in ctx.facts.biomarkers if b.gene == gene]))
        for gene in _RECEPTOR_PANELS[code]
    }
    known = [b for b in latest.values() if b is not None]
    missing = [_COMMON_NAMES.get(gene, gene) for gene, b in latest.items() if b is None]
    any_positive = any(b.status == "positive" for b in known)
    reason = "a receptor is positive" if any_positive else "all receptors negative"
    if code == "HR":
        present = True if any_positive else (False if not missing else None)
        holds = (
            None
            if present is None
            else present == _SIGNATURE_POSITIVE.get(atom.alteration or "positive", True)
        )
    else:
        holds = False if any_positive else (True if not missing else None)
    if holds is None:
        wanted = " and ".join(missing)
        return _never_tested(atom, f"{wanted} status not on file", f"{wanted} status", map(_ev, known))
    return _decide(atom, holds, reason, map(_ev, known))


# -- labs ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _lab_codes_by_loinc() -> dict[str, str]:
    return {lab.loinc: lab.code for lab in terminology.labs().values()}


def _repair_unit(unit: str) -> str:
    return _LOST_SUPERSCRIPT.sub(lambda m: f"10^{m.group(1)}/", unit.strip())


def lab(atom: Atom, ctx: Context) -> AtomResult:
    assert atom.concept is not None
    label = atom.concept.label
    if atom.value is None and atom.uln_multiple is None and atom.lln_multiple is None:
        return _result(atom, Truth.NOT_CHECKABLE, "the criterion names the test without a threshold")
    results = sorted(
        (r for r in ctx.facts.labs if r.loinc == atom.concept.code),
        key=lambda r: r.collected_on,
        reverse=True,
    )
    if atom.window is not None:
        recent = [r for r in results if in_window(r.collected_on, atom.window, ctx.today)]
        if not recent:
            last = f" (latest on file: {results[0].collected_on})" if results else ""
            return _unknown(
                atom,
                f"no {label}{_window_text(atom.window)}{last}",
                "test",
                f"{label}{_window_text(atom.window)} not on file",
            )
        results = recent
    if not results:
        return _unknown(atom, f"{label} not on file", "test", f"{label} not on file")
    latest = results[0]
    if atom.uln_multiple is not None or atom.lln_multiple is not None:
        return _lab_limit(atom, latest)
    value = _lab_value_in(atom, latest)
    if isinstance(value, str):
        return _unknown(atom, value, "question", f"Check {label} against: {atom.text}", [_ev(latest)])
    holds = compare(value, atom.comparator, atom.value, atom.value_high)
    if holds is None:
        return _unknown(
            atom,
            "the criterion's comparison could not be read",
            "question",
            f"Check {label}: {atom.text}",
            [_ev(latest)],
        )
    unit = f" {_repair_unit(atom.unit)}" if atom.unit else ""
    return _decide(atom, holds, f"{value:g}{unit} {atom.comparator} {atom.value:g}{unit}", [_ev(latest)])


def _lab_value_in(atom: Atom, result: LabFact) -> float | str:
    """The result in the criterion's unit, or why it cannot be compared."""
    if not atom.unit:
        if not result.unit or result.unit.strip() in ("1", "ratio"):
            return result.value
        return f"the criterion gives no unit to compare {result.unit} with"
    conversion = _conversion(result.unit, atom.unit, _lab_codes_by_loinc().get(result.loinc))
    if isinstance(conversion, str):
        return conversion
    scale, offset = conversion
    return result.value if (scale, offset) == (1.0, 0.0) else scale * result.value + offset


@lru_cache(maxsize=4096)
def _conversion(unit: str, wanted: str, analyte: str | None) -> tuple[float, float] | str:
    """Unit conversions are affine (pint's units here have no logarithmic scales), so two points give it
    once per pair of units instead of a pint parse per comparison; or why the units cannot be compared."""
    source, target = _repair_unit(unit), _repair_unit(wanted)
    try:
        zero = convert(0.0, source, target, analyte=analyte)
        one = convert(1.0, source, target, analyte=analyte)
    except (UnitError, KeyError) as error:
        return f"units not comparable: {error}"
    return one - zero, zero


def _lab_limit(atom: Atom, result: LabFact) -> AtomResult:
    upper = atom.uln_multiple is not None
    limit = result.reference_high if upper else result.reference_low
    name = "ULN" if upper else "LLN"
    if limit is None:
        return _unknown(
            atom,
            f"{name} of the lab's reference range not on file",
            "question",
            f"Reference range for {result.analyte} not on file",
            [_ev(result)],
        )
    multiple = atom.uln_multiple if upper else atom.lln_multiple
    assert multiple is not None
    threshold = multiple * limit
    holds = compare(result.value, atom.comparator, threshold)
    if holds is None:
        return _unknown(
            atom,
            "the criterion's comparison could not be read",
            "question",
            f"Check {result.analyte}: {atom.text}",
            [_ev(result)],
        )
    reason = f"{result.value:g} {atom.comparator} {multiple:g} x {name} ({threshold:g} {result.unit})"
    return _decide(atom, holds, reason, [_ev(result)])


# -- therapies and procedures -------------------------------------------------------------------------


def therapy(atom: Atom, ctx: Context) -> AtomResult:
    assert atom.concept is not None
    if atom.concept.code == "prior_lines":
        return prior_lines(atom, ctx)
    code, label = atom.concept.code, atom.concept.label
    matching = [
        t
        for t in ctx.facts.therapies
        if t.drug == code or code in t.classes or any(_is_a(c, code) for c in t.classes)
    ]
    return _events(
        atom,
        ctx,
        [(t, t.ended_on, t.ended_by, t.ongoing) for t in matching],
        label,
        f"Have you been treated with {label}{_window_text(atom.window)}?",
    )


def procedure(atom: Atom, ctx: Context) -> AtomResult:
    assert atom.concept is not None
    matching = [p for p in ctx.facts.procedures if p.code == atom.concept.code]
    label = atom.concept.label
    return _events(
        atom,
        ctx,
        [(p, p.performed_on, p.performed_by, None if p.performed_on is None else False) for p in matching],
        label,
        f"Have you had {label}{_window_text(atom.window)}?",
    )


def _events(
    atom: Atom,
    ctx: Context,
    events: list[tuple[Fact, date | None, date | None, bool | None]],
    label: str,
    question: str,
) -> AtomResult:
    undated = []
    for fact, when, until, ongoing in events:
        inside = in_window(when, atom.window, ctx.today, ongoing=ongoing, until=until)
        if inside:
            return _result(atom, Truth.MET, f"{label}{_window_text(atom.window)}", [_ev(fact)])
        if inside is None:
            undated.append(fact)
    if undated:
        return _unknown(atom, "date not on file", "question", question, map(_ev, undated))
    if ctx.facts.history_complete:
        reason = f"no {label}{_window_text(atom.window)} in the confirmed history"
        return _result(atom, Truth.NOT_MET, reason, [_history_evidence(ctx), *(_ev(f) for f, *_ in events)])
    return _unknown(
        atom,
        f"no {label}{_window_text(atom.window)} on file",
        "question",
        question,
        (_ev(f) for f, *_ in events),
    )


def prior_lines(atom: Atom, ctx: Context) -> AtomResult:
    lines = [t.line for t in ctx.facts.therapies if t.line]
    if lines:
        count, evidence = max(lines), [_ev(t) for t in ctx.facts.therapies if t.line]
    elif ctx.facts.history_complete and not ctx.facts.therapies:
        count, evidence = 0, [_history_evidence(ctx)]
    else:
        return _unknown(
            atom,
            "lines of therapy not on file",
            "question",
            "How many lines of systemic therapy have you had?",
        )
    holds = compare(count, atom.comparator, atom.value, atom.value_high)
    if holds is None:
        return _unknown(
            atom, "the criterion's comparison could not be read", "question", _asked("Does this apply", atom)
        )
    return _decide(atom, holds, f"{count} prior line(s)", evidence)


# -- demographics, performance status, pregnancy -----------------------------------------------------


def age_on(birth_date: date, today: date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def exact_age_limits(atom: Atom) -> tuple[float, ...]:
    """The limits of an age criterion that are compared with the exact age in years (days / 365.25): all of
    them when one is not a whole number of years ("older than 17.5"), none otherwise, when the age in whole
    years is compared (it changes on birthdays only)."""
    limits = tuple(v for v in (atom.value, atom.value_high) if v is not None)
    return limits if any(v != int(v) for v in limits) else ()


def demographic(atom: Atom, ctx: Context) -> AtomResult:
    assert atom.concept is not None
    facts = ctx.facts
    if atom.concept.code == "age":
        if facts.birth_date is None:
            return _unknown(atom, "birth date not on file", "question", "What is your date of birth?")
        whole = age_on(facts.birth_date, ctx.today)
        exact = (ctx.today - facts.birth_date).days / 365.25
        if exact_age_limits(atom):
            holds = compare(exact, atom.comparator, atom.value, atom.value_high)
        elif atom.comparator == ">":
            # "Over 18 years": older than 18 years exactly, i.e. from the day after the 18th birthday; in
            # whole years that is aged 18 or more (so counted from the birthday, a day early), not aged 19.
            holds = compare(float(whole), ">=", atom.value)
        else:
            holds = compare(float(whole), atom.comparator, atom.value, atom.value_high)
        if holds is None:
            return _unknown(
                atom, "the age limit could not be read", "question", _asked("Does this apply", atom)
            )
        # The age alone, without the evaluation date: the stored explanation then changes on birthdays only,
        # and the nightly re-match does not rewrite every match with an age criterion each day.
        evidence = Evidence(facts.ref, f"aged {whole}")
        return _decide(atom, holds, f"aged {whole}", [evidence])
    if atom.concept.code == "sex":
        if not facts.sex:
            return _unknown(atom, "sex not on file", "question", "What sex were you assigned at birth?")
        evidence = Evidence(facts.ref, f"sex {facts.sex}")
        return _decide(atom, facts.sex == atom.concept.label, f"sex {facts.sex}", [evidence])
    return _unknown(
        atom, f"{atom.concept.label} not on file", "question", _asked("Does this apply to you", atom)
    )


def performance_status(atom: Atom, ctx: Context) -> AtomResult:
    assert atom.concept is not None
    ecog = ctx.facts.ecog
    if ecog is None:
        return _unknown(
            atom,
            "performance status not on file",
            "question",
            "What is your ECOG performance status (your oncologist can tell you)?",
        )
    evidence = [Evidence(ctx.facts.ref, f"ECOG {ecog}")]
    if atom.concept.code == "ECOG":
        if atom.values:
            return _decide(atom, float(ecog) in atom.values, f"ECOG {ecog}", evidence)
        holds = compare(float(ecog), atom.comparator, atom.value, atom.value_high)
    else:
        # Karnofsky/Lansky from ECOG: decided only when the whole corresponding range agrees.
        low, high = _ECOG_TO_KARNOFSKY[ecog]
        at_low = compare(low, atom.comparator, atom.value, atom.value_high)
        at_high = compare(high, atom.comparator, atom.value, atom.value_high)
        holds = at_low if at_low == at_high else None
        if holds is None:
            return _unknown(
                atom,
                f"ECOG {ecog} spans Karnofsky {low}-{high}",
                "question",
                f"What is your {atom.concept.label}?",
                evidence,
            )
    if holds is None:
        return _unknown(
            atom, "the criterion could not be read", "question", _asked("Does this apply", atom), evidence
        )
    return _decide(atom, holds, f"ECOG {ecog}", evidence)


def pregnancy(atom: Atom, ctx: Context) -> AtomResult:
    assert atom.concept is not None
    facts, code = ctx.facts, atom.concept.code
    status = facts.pregnancy_status
    evidence = [Evidence(facts.ref, f"pregnancy: {status}, sex: {facts.sex or 'not stated'}")]
    cannot = facts.sex == "male" or status == "not_applicable"
    if code == "pregnant":
        if cannot or status == "not_pregnant":
            return _result(atom, Truth.NOT_MET, "not pregnant", evidence)
        if status == "pregnant":
            return _result(atom, Truth.MET, "pregnant", evidence)
        return _unknown(atom, "pregnancy status not on file", "question", "Are you pregnant?")
    if code == "breastfeeding":
        if facts.breastfeeding is None:
            if facts.sex == "male":
                return _result(atom, Truth.NOT_MET, "not breastfeeding", evidence)
            return _unknown(atom, "breastfeeding not on file", "question", "Are you breastfeeding?")
        evidence = [Evidence(facts.ref, f"breastfeeding: {'yes' if facts.breastfeeding else 'no'}")]
        return _decide(
            atom,
            facts.breastfeeding,
            "breastfeeding" if facts.breastfeeding else "not breastfeeding",
            evidence,
        )
    if code == "wocbp":
        if cannot:
            return _result(atom, Truth.NOT_MET, "cannot become pregnant", evidence)
        if facts.sex == "female" and status in ("pregnant", "not_pregnant"):
            return _result(atom, Truth.MET, "of childbearing potential", evidence)
        return _unknown(atom, "childbearing potential not on file", "question", "Could you become pregnant?")
    if code == "negative_pregnancy_test":
        # The test itself happens at screening; a self-reported pregnancy already answers it.
        if status == "pregnant":
            return _result(atom, Truth.NOT_MET, "pregnant", evidence)
        if status == "not_pregnant" or cannot:
            return _result(atom, Truth.MET, "not pregnant (a test confirms at screening)", evidence)
        return _unknown(atom, "pregnancy status not on file", "question", "Are you pregnant?")
    return _result(atom, Truth.NOT_CHECKABLE, f"{atom.concept.label}: the site checks it")


def life_expectancy(atom: Atom, ctx: Context) -> AtomResult:
    return _result(atom, Truth.NOT_CHECKABLE, "life expectancy is the investigator's estimate")


def other(atom: Atom, ctx: Context) -> AtomResult:
    return _unknown(
        atom, "the criterion could not be coded", "question", _asked("Does this apply to you", atom)
    )


_HANDLERS: dict[str, Callable[[Atom, Context], AtomResult]] = {
    "condition": condition,
    "biomarker": biomarker,
    "lab": lab,
    "therapy": therapy,
    "procedure": procedure,
    "demographic": demographic,
    "performance_status": performance_status,
    "pregnancy": pregnancy,
    "life_expectancy": life_expectancy,
    "other": other,
}


# -- which facts decide a truth -----------------------------------------------------------------------
# An atom's truth depends only on its `truth_key`, the evaluation date, and the part of the patient's facts
# its handler reads, named by `facts_read`. Patients whose facts agree on that part (`facts_signature`) get
# the same truth, so a matcher may compute it once per class of patients (engine.SharedTruths). A handler
# that starts reading another part of the facts must say so in `facts_read`;
# tests/recruitment/test_matching_shared_truths.py compares shared truths with per-patient ones.

# Never part of a truth: where a fact comes from and how it is referred to.
_NOT_READ = frozenset({"ref", "source"})


def facts_read(atom: Atom) -> str:
    """The parts of a patient's facts the atom's handler may read, "+"-separated (see `facts_signature`).

    A part with "@dates" keeps the facts' dates; without it, only their order and whether they are known,
    which is all handlers read of dates when the atom has no window (a window compares them with the
    evaluation date).
    """
    code = atom.concept.code if atom.concept is not None else ""
    dates = "@dates" if atom.window is not None else ""
    if atom.kind == "condition":
        # A subtype defined by receptor status (triple-negative) is read from the receptors' results.
        panel = _SUBTYPE_PANELS.get(code)
        receptors = f"+biomarkers:{','.join(_RECEPTOR_PANELS[panel])}" if panel else ""
        return f"history+diagnoses{dates}{receptors}"
    if atom.kind == "biomarker":
        family = terminology.gene_families().get(code, ())
        genes = _RECEPTOR_PANELS.get(code) or (code, *family)
        return f"biomarkers:{','.join(genes)}{dates}"
    if atom.kind == "lab":
        return f"labs:{code}{dates}"
    if atom.kind == "therapy":
        return f"history+therapies{dates}"
    if atom.kind == "procedure":
        return f"history+procedures{dates}"
    if atom.kind == "demographic":
        return {"age": "birth_date", "sex": "sex"}.get(code, "")
    if atom.kind == "performance_status":
        return "ecog"
    if atom.kind == "pregnancy":
        return "sex+pregnancy_status+breastfeeding"
    # A kind not named above: all the facts (next to no sharing, but never a wrong truth).
    return "all"


def facts_signature(facts: PatientFacts, read: str) -> tuple[object, ...]:
    """The facts named by `read` (`facts_read`) without what no truth depends on (references, sources)."""
    return tuple(_part_signature(facts, part) for part in read.split("+") if part)


def _part_signature(facts: PatientFacts, part: str) -> object:
    name, _, dates = part.partition("@")
    keep_dates = dates == "dates"
    if name == "history":
        return facts.history_complete
    if name in ("birth_date", "sex", "ecog", "pregnancy_status", "breastfeeding"):
        return getattr(facts, name)
    if name in ("diagnoses", "therapies", "procedures"):
        return _listed(getattr(facts, name), keep_dates)
    if name.startswith("biomarkers:"):
        genes = set(name.removeprefix("biomarkers:").upper().split(","))
        return _listed([b for b in facts.biomarkers if b.gene.upper() in genes], keep_dates)
    if name.startswith("labs:"):
        loinc = name.removeprefix("labs:")
        return _listed([r for r in facts.labs if r.loinc == loinc], keep_dates)
    return _listed([facts], keep_dates=True)


def _listed(items: Iterable[object], keep_dates: bool) -> tuple[tuple[object, ...], ...]:
    """Each item's fields in order, but `_NOT_READ`; dates as they are, or as their rank among the items'
    dates (None stays None), which keeps their order and whether they are known."""
    rows = [_read_fields(item) for item in items]
    if keep_dates:
        return tuple(rows)
    days = sorted({v for row in rows for v in row if isinstance(v, date)})
    if not days:
        return tuple(rows)
    ranks = {day: rank for rank, day in enumerate(days)}
    return tuple(tuple(ranks[v] if isinstance(v, date) else v for v in row) for row in rows)


_FIELD_GETTERS: dict[type, Callable[[object], tuple[object, ...]]] = {}


def _read_fields(item: object) -> tuple[object, ...]:
    getter = _FIELD_GETTERS.get(type(item))
    if getter is None:
        names = [f.name for f in fields(item) if f.name not in _NOT_READ]  # type: ignore[arg-type]
        getter = _FIELD_GETTERS[type(item)] = attrgetter(*names)
    return getter(item)
