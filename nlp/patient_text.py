"""Profile facts from a free-text patient summary ("A 58-year-old woman presents with ...").

Everything found is a `Finding` with its span in the text as given and a confidence, for a person to review
before anything is saved. Conditions, therapies and procedures are found with the same vocabularies and
ConText assertion rules as eligibility criteria; on top of that, a mention in a clause about a relative
("mother had breast cancer", "family history of ...") is the relative's, never the patient's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

from spacy.tokens import Doc

from nlp import extract
from nlp.assertion import EligibilityContext
from nlp.model import Concept
from nlp.parser import phrase_matchers, pipeline
from nlp.terminology import is_a, is_cancer, labs, link
from nlp.text import ASCII_LETTERS_OF_FOLDED

FindingKind = Literal[
    "age",
    "sex",
    "condition",
    "biomarker",
    "lab",
    "therapy",
    "procedure",
    "performance_status",
    "pregnancy",
    "smoking",
]
# What the text says about the patient: "historical" is still the patient's own past ("history of MI").
PatientAssertion = Literal["present", "negated", "historical", "hypothetical", "family"]

_AGE = re.compile(
    r"\b(?P<n>\d{1,3}(?:\.\d)?)[\s-]*(?P<unit>year|yr|month|mo|week|wk|day)s?[\s-]*"
    r"(?:old\b|(?=(?:wom|m)an\b|(?:fe)?male\b|boy\b|girl\b|lady\b|gentleman\b))"
    r"|\b(?P<n2>\d{1,3})\s*(?:yo|y/o|y\.o\.|yrs? old)(?![\w/])(?:\s+(?P<sexletter2>[MF])\b)?"
    r"|\b(?:aged?|age of)\s+(?P<n3>\d{1,3})\b"
    r"|^\s*(?P<n4>\d{1,3})\s*(?:-?\s*(?:yo|y/o)\s*)?(?P<sexletter>[MF])\b",
    re.IGNORECASE | re.MULTILINE,
)
_UNIT_YEARS = {"year": 1.0, "yr": 1.0, "month": 1 / 12, "mo": 1 / 12, "week": 7 / 365.25, "wk": 7 / 365.25}
_FEMALE_NOUNS = r"woman|female|girl|lady|mother|wife|daughter|sister|gravida|primigravida"
_MALE_NOUNS = r"man|male|boy|gentleman|husband|son|brother"
_SEX_NOUN = re.compile(rf"\b(?:(?P<f>{_FEMALE_NOUNS})|(?P<m>{_MALE_NOUNS}))\b", re.IGNORECASE)
_PRONOUN = re.compile(r"\b(?:(?P<f>she|her|hers|herself)|(?P<m>he|his|him|himself))\b", re.IGNORECASE)
_RELATIVE = re.compile(
    r"\b(?:family history|famil(?:y|ial)|mother|father|sister|brother|sibling|aunt|uncle|cousin|"
    r"grand(?:mother|father|parent)s?|parents?|daughter|son|maternal|paternal|relatives?|husband|wife|partner)\b",
    re.IGNORECASE,
)
# "a 32-year-old mother of three presents with ...": the relative word names the patient; not after a
# possessive ("Her 70-year-old father has hypertension").
_PATIENT_AS_RELATIVE = re.compile(r"\bold\s+$", re.IGNORECASE)
_RELATIVES_AGE = re.compile(
    r"\b(?:her|his|my|our|their|whose)\s+\d{1,3}[\s-]*(?:years?|yrs?)[\s-]*old\s+$", re.IGNORECASE
)
_CLAUSE = re.compile(r"[.;\n]|\bbut\b|\bwhile\b|\bwhereas\b", re.IGNORECASE)
_ECOG = re.compile(
    r"\b(?:ECOG|Zubrod|WHO)(?:\s+performance)?(?:\s+status)?(?:\s+(?:PS|score))?"
    r"\s*(?:of|is|was|=|:)?\s*(?P<v>[0-4])\b"
    r"|\b(?:performance status|PS)\s*(?:of|is|was|=|:)?\s*(?P<v2>[0-4])\b"
    r"|\b(?:Karnofsky|KPS)(?:\s+performance)?(?:\s+(?:status|score))?\s*(?:of|is|was|=|:)?\s*"
    r"(?P<kps>100|[1-9]0)\s*%?",
    re.IGNORECASE,
)
_PREGNANT = re.compile(
    r"\b(?P<neg>not\s+(?:currently\s+)?pregnant|non-?pregnant|negative\s+(?:urine\s+|serum\s+)?"
    r"(?:pregnancy test|(?:beta-?)?hcg)|(?:pregnancy test|(?:beta-?)?hcg)\s*(?::|is|was)?\s*negative"
    r"(?:\s+for\s+pregnancy)?|negative\s+for\s+pregnancy)"
    r"|\b(?P<pos>pregnant|pregnancy|(?:\d{1,2})\s*weeks?'?\s*(?:of\s+)?gestation|gestational age|"
    r"G\d+\s*P\d+|gravida\s+\d+|primigravida|(?:first|second|third)\s+trimester)\b",
    re.IGNORECASE,
)
_SMOKING = re.compile(
    r"\b(?P<never>never[-\s]smoker|non-?smoker|never smoked|(?:does not|doesn't|do not|don't|won't) smoke|"
    r"denies (?:smoking|tobacco)|(?:no|negative) (?:\w+ )?(?:history of|h/o) (?:smoking|tobacco))"
    r"|\b(?P<former>former smoker|ex-?smoker|quit smoking|stopped smoking|smoked .{0,40}?(?:until|but quit)|"
    r"history of (?:smoking|tobacco))"
    r"|\b(?P<current>(?:current|active|heavy|chronic) smoker|smoker|smokes|smoking|tobacco (?:use|abuse)|"
    r"(?P<py>\d{1,3})[\s-]*pack[\s-]*years?)\b",
    re.IGNORECASE,
)
_PACK_YEARS = re.compile(r"(\d{1,3})[\s-]*pack[\s-]*years?", re.IGNORECASE)
_NUMBER = r"\d+(?:[.,]\d+)?"
_LAB_VALUE = re.compile(
    rf"\s*(?:\([A-Za-z]{{1,6}}\)\s*)?(?:level|count|concentration)?\s*"
    rf"(?:of|is|was|were|at|=|:|-|elevated at|decreased to|increased to|of about)?\s*"
    rf"(?P<num>{_NUMBER})\s*(?P<unit>%|mg/dl|g/dl|g/l|mmol/l|umol/l|µmol/l|meq/l|iu/l|u/l|ng/ml|pg/ml|"
    rf"mg/l|mm3|/mm3|/ul|/µl|k/ul|x\s*10\^?9/l|x\s*10\^?3/ul|mm ?hg|mmhg|bpm|mg|ml/min(?:/1\.73\s*m2)?)?",
    re.IGNORECASE,
)
# Clinical-note cues the eligibility rules lack: notes deny and rule out, criteria exclude. They apply to a
# mention later in the same clause ("denies chest pain", "concerning for lymphoma"). A treatment the note
# plans or offers ("a candidate for tumor resection ... prior to chemotherapy", "He is offered Levodopa") is
# not one the patient has had.
_NOTE_NEGATION = re.compile(
    r"\b(?:denies|denied|denying|negative for|unremarkable for|ruled out for|no signs? of|no evidence of|"
    r"no (?:known|prior|previous|past)|free of|absence of|without|"
    r"(?:do|does|did|has|have|had|is|was)n['\u2019]t)\b",
    re.IGNORECASE,
)
_NOTE_UNCERTAINTY = re.compile(
    r"\b(?:concerning for|suspicious for|suspect(?:ed)?|rule out|r/o|possible|possibly|questionable|"
    r"differential(?: diagnosis)?(?: includes?)?|to exclude|evaluat(?:e|ion) for|work-?up for|"
    r"risk of|at risk for|prophylaxis|candidate for|scheduled for|planned|plans? (?:to|for)|offered"
    r"|will (?:receive|undergo|start|begin|be (?:started on|treated with)))\b",
    re.IGNORECASE,
)
# Shorthand of clinical notes and letters the criteria vocabulary does not carry, written in capitals;
# ambiguous ones are left out ("HL" is also Hodgkin lymphoma, "PE" a physical exam, "RA" room air).
_NOTE_ABBREVIATIONS = {
    "HTN": "hypertension",
    "CAD": "coronary artery disease",
    "HLD": "hyperlipidemia",
    "DM": "diabetes mellitus",
    "DM2": "type 2 diabetes",
    "DMII": "type 2 diabetes",
    "T2DM": "type 2 diabetes",
    "DM1": "type 1 diabetes",
    "T1DM": "type 1 diabetes",
    "CHF": "congestive heart failure",
    "CKD": "chronic kidney disease",
    "ESRD": "end-stage renal disease",
    "AF": "atrial fibrillation",
    "Afib": "atrial fibrillation",
    "PVD": "peripheral vascular disease",
    "PAD": "peripheral arterial disease",
    "OSA": "obstructive sleep apnea",
    "GERD": "gastroesophageal reflux disease",
    "DVT": "deep vein thrombosis",
    "UTI": "urinary tract infection",
    "UTIs": "urinary tract infection",
}
_NOTE_ABBREVIATION = re.compile(r"(?<![\w-])(?:" + "|".join(_NOTE_ABBREVIATIONS) + r")(?![\w-])")
# Whether a treatment the note names is over or still given. A cue earlier in the clause ("s/p radiation",
# "completed four cycles of FCR", "is on IFN plus RBV") or a phrase right after it ("radiation followed by
# temozolomide", "chemotherapy, completed in 2019") says so; without one the note does not say.
_ENDED_BEFORE = re.compile(
    r"\b(?:s/p|status post|completed|finished|received|underwent|had|was (?:treated|given)|were given"
    r"|previously|prior|previous|past|history of|h/o|after|following|discontinued|stopped|off)\b",
    re.IGNORECASE,
)
_ENDED_AFTER = re.compile(
    r"[^.;\n]{0,40}?\b(?:followed by|(?:was|were) (?:completed|discontinued|stopped)|completed)\b",
    re.IGNORECASE,
)
_ONGOING_BEFORE = re.compile(
    r"\b(?:currently|is on|are on|remains on|continues(?: on)?|(?:is|are) (?:taking|receiving|treating"
    r"|being treated|using|maintained)|still|ongoing)\b",
    re.IGNORECASE,
)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
# "stage IIIB", "Stage 1B", "stage IV"; a TNM stage ("pT2 N1 M0"), which gives the stage group only with
# the organ's own tables and the patient's age, is kept as written.
_CANCER_STAGE = re.compile(
    r"\bstage\s*(?P<group>0|IV|I{1,3}|[1-4])(?P<sub>[ABC])?[12]?(?!\w)"
    r"|(?<![\w-])[cpy]?(?P<tnm>T(?:[0-4][a-d]?|is|x)\s*,?\s*N(?:[0-3][a-c]?|x)\s*,?\s*M(?:[01][a-c]?|x))(?!\w)",
    re.IGNORECASE,
)
_ARABIC_STAGE = {"1": "I", "2": "II", "3": "III", "4": "IV", "5": "V"}
# A solid cancer the note says has spread ("metastatic papillary thyroid cancer", "CXR was remarkable for
# metastatic lesions", "metastases to the liver"): distant spread, stage IV in every organ's stage groups.
# Spread to lymph nodes alone is regional ("metastatic to two axillary lymph nodes", "nodal metastases").
_METASTASIS = re.compile(r"\bmetasta(?:tic|sis|ses|sized|sised)\b", re.IGNORECASE)
_NODAL_ONLY = re.compile(
    r"\s*(?:to|in|into|within)\s+(?:the\s+|\w+\s+){0,3}?(?:lymph\s*nodes?|nodes?)\b(?![^.;\n]*\band\b)",
    re.IGNORECASE,
)
_NODAL_BEFORE = re.compile(r"\b(?:lymph\s*nodes?|nodal|node)\s*$", re.IGNORECASE)
_SOLID_ROOT = "solid_tumour"
# Parkinson's disease's own scale: "Hoehn-Yahr Stage I", "Hoehn and Yahr stage 2", "H&Y stage 3" is the stage
# of the note's Parkinson's disease, wherever the note names it.
_HOEHN_YAHR_STAGE = re.compile(
    r"\b(?:ho(?:eh|he)n\s*(?:&|and|-)?\s*yahr|H\s*&\s*Y)\s*(?:\((?:H\s*&\s*Y|HY)\)\s*)?"
    r"(?:stage|score|grade)?\s*(?:of|:|=|is|was)?\s*(?P<stage>V|IV|I{1,3}|[0-5])(?!\w|\.\d)",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.;!?\n]")
_SCOPE_END = re.compile(r"\b(?:which|whose|however|although)\b", re.IGNORECASE)
# Below this age a pregnancy mentioned is the mother's ("born at term after an uncomplicated pregnancy").
_CHILDBEARING_AGE = 10.0
_TERM_KINDS: dict[str, FindingKind] = {
    "condition": "condition",
    "therapy": "therapy",
    "procedure": "procedure",
}
_EXTRA_LABS = {"EF": ("ejection fraction", "%"), "ejection fraction": ("ejection fraction", "%")}


@dataclass(frozen=True)
class Finding:
    """One fact read from the text. `value`/`unit` carry numbers (age in years, lab values, ECOG grade)."""

    kind: FindingKind
    text: str
    span: tuple[int, int]
    confidence: float
    rule_id: str
    assertion: PatientAssertion = "present"
    concept: Concept | None = None
    value: float | None = None
    unit: str | None = None
    # sex, pregnancy or smoking status, a biomarker's positive/negative, or whether a therapy or procedure
    # is "ongoing" or has "ended" (None: the text does not say)
    status: str | None = None
    alteration: str | None = None
    # a cancer's stage as the note writes it, normalised ("IB" from "stage 1B", or TNM "T2N1M0")
    stage: str | None = None
    # a cancer's course (nlp.extract.RECORDED_COURSES): "newly diagnosed", "relapsed", "refractory" ...
    course: str | None = None


@dataclass(frozen=True)
class PatientText:
    """All findings from one text, with the typed accessors a profile form needs."""

    text: str
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    def of(self, kind: FindingKind) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.kind == kind)

    def _best(self, kind: FindingKind) -> Finding | None:
        found = self.of(kind)
        return max(found, key=lambda f: f.confidence) if found else None

    @property
    def age(self) -> float | None:
        best = self._best("age")
        return best.value if best else None

    @property
    def sex(self) -> str | None:
        best = self._best("sex")
        return best.status if best else None

    @property
    def ecog(self) -> int | None:
        best = self._best("performance_status")
        return int(best.value) if best and best.value is not None else None

    @property
    def pregnancy(self) -> str | None:
        best = self._best("pregnancy")
        return best.status if best else None

    @property
    def smoking(self) -> str | None:
        best = self._best("smoking")
        return best.status if best else None

    def to_dict(self) -> dict[str, Any]:
        """JSON for a review form: the summary values and every finding with its span and confidence."""
        return {
            "age": self.age,
            "sex": self.sex,
            "ecog": self.ecog,
            "pregnancy": self.pregnancy,
            "smoking": self.smoking,
            "findings": [
                {**asdict(f), "span": list(f.span), "concept": asdict(f.concept) if f.concept else None}
                for f in self.findings
            ],
        }

    def patients_own(self, kind: FindingKind) -> tuple[Finding, ...]:
        """Mentions that are about the patient and not negated or hypothetical."""
        return tuple(f for f in self.of(kind) if f.assertion in ("present", "historical"))


def extract_patient_facts(text: str) -> PatientText:
    """Read age, sex, conditions, biomarkers, labs, therapies, procedures, ECOG, pregnancy and smoking."""
    original = text
    # The four letters re.IGNORECASE reads as ASCII ones, written as those, one for one: spans stay the same.
    text = text.translate(ASCII_LETTERS_OF_FOLDED)
    found: list[Finding] = []
    found.extend(_age(text))
    found.extend(_sex(text))
    found.extend(_terms(text))
    found.extend(_labs(text))
    found.extend(_ecog(text))
    ages = [f for f in found if f.kind == "age"]
    age = max(ages, key=lambda f: f.confidence).value if ages else None
    if age is None or age >= _CHILDBEARING_AGE:
        found.extend(_pregnancy(text))
    found.extend(_smoking(text))
    found.sort(key=lambda f: (f.span[0], f.span[1], f.kind))
    found = _with_stages(text, found)
    found = _with_courses(text, found)
    if text != original:
        found = [replace(f, text=original[f.span[0] : f.span[1]]) for f in found]
    return PatientText(original, tuple(found))


# A cancer's course named as what happened to it ("relapse of her myeloma", "recurrence of the glioblastoma",
# "newly diagnosed with breast cancer"); right before its name, extract.COURSE_BEFORE reads it.
_COURSE_EVENT_BEFORE = re.compile(
    r"\b(?:(?P<recurrent>relapse|recurrence)\s+of|(?P<newly>newly|recently)\s+diagnosed\s+(?:with|as\s+having))"
    r"\s+(?:(?:his|her|their|the|a|an)\s+)?(?:[A-Za-z][\w-]*\s+){0,2}$",
    re.IGNORECASE,
)
# An alternative before the course ("metastatic or recurrent"): the note does not say which.
_ALTERNATIVE_BEFORE = re.compile(r"(?:\bor|\band/or|/)\s*$", re.IGNORECASE)


def _with_courses(text: str, found: list[Finding]) -> list[Finding]:
    """The course a note gives a cancer, put on it: recurrent (relapsed), refractory or newly diagnosed.

    Only from words right before the cancer's name in its sentence, and only when they name one course, or
    relapsed and refractory together ("relapsed/refractory myeloma", recorded as refractory: it has come back
    and no longer responds). A cancer ruled out or in the family has no course here."""
    coursed = list(found)
    for index, f in enumerate(found):
        if f.kind != "condition" or f.concept is None or f.assertion not in ("present", "historical"):
            continue
        if not is_cancer(f.concept.code) or f.course:
            continue
        sentence_starts = [e.end() for e in _SENTENCE_END.finditer(text, 0, f.span[0])]
        start = max(sentence_starts[-1] if sentence_starts else 0, f.span[0] - 60)
        course = None
        event = _COURSE_EVENT_BEFORE.search(text, start, f.span[0])
        if event is not None:
            course = "recurrent" if event["recurrent"] else "newly_diagnosed"
        before = extract.COURSE_BEFORE.search(text, start, f.span[0])
        if course is None and before is not None:
            if _ALTERNATIVE_BEFORE.search(text, start, before.start()):
                continue
            named = [
                code for code in extract.course_codes(before["course"]) if code in extract.RECORDED_COURSES
            ]
            if len(named) == 1:
                course = named[0]
            elif set(named) == {"recurrent", "refractory"}:
                course = "refractory"
        if course is not None:
            coursed[index] = replace(f, course=course)
    return coursed


def _with_stages(text: str, found: list[Finding]) -> list[Finding]:
    """The stage a note gives put on the cancer it stages.

    A stage belongs to the condition named nearest to it in its sentence, and only when that is a cancer
    ("stage 1B of cervical cancer"); a bare "tumour" or "cancer" there is the note's first named cancer ("The
    tumor is stage IIIB"). A Hoehn and Yahr stage ("Hoehn-Yahr Stage I") is the stage of the note's
    Parkinson's disease. Other scales' stages ("CKD stage 3", "Tanner stage 2") stay unread: no cancer is
    named nearest to them.
    """
    conditions = [
        (index, f)
        for index, f in enumerate(found)
        if f.kind == "condition" and f.concept is not None and f.assertion in ("present", "historical")
    ]
    index_cancer = next(
        (i for i, f in conditions if f.concept and f.concept.code != "cancer" and is_cancer(f.concept.code)),
        None,
    )
    staged = list(found)
    for m in _CANCER_STAGE.finditer(text):
        before = [e.end() for e in _SENTENCE_END.finditer(text, 0, m.start())]
        after = _SENTENCE_END.search(text, m.end())
        start, end = (before[-1] if before else 0), (after.start() if after else len(text))
        near = [
            (min(abs(f.span[0] - m.end()), abs(m.start() - f.span[1])), i, f)
            for i, f in conditions
            if start <= f.span[0] and f.span[1] <= end
        ]
        if not near:
            continue
        _, i, nearest = min(near, key=lambda n: n[0])
        assert nearest.concept is not None
        if not is_cancer(nearest.concept.code):
            continue
        target = index_cancer if nearest.concept.code == "cancer" else i
        if target is None or staged[target].stage:
            continue
        stage = (
            re.sub(r"[\s,]", "", m["tnm"])
            if m["tnm"]
            else _ARABIC_STAGE.get(m["group"], m["group"].upper()) + (m["sub"] or "").upper()
        )
        staged[target] = replace(staged[target], stage=stage)
    _stage_metastatic(text, conditions, staged)
    parkinsons = next((i for i, f in conditions if f.concept and is_a(f.concept.code, "parkinsons")), None)
    found_stage = _HOEHN_YAHR_STAGE.search(text)
    if parkinsons is not None and found_stage is not None and not staged[parkinsons].stage:
        written = found_stage["stage"].upper()
        staged[parkinsons] = replace(staged[parkinsons], stage=_ARABIC_STAGE.get(written, written))
    return staged


def _stage_metastatic(text: str, conditions: list[tuple[int, Finding]], staged: list[Finding]) -> None:
    """Stage IV for a solid cancer the note says has spread beyond its lymph nodes, when the note gives it
    no stage: the solid cancer named in the same sentence, or else the note's first one. Not when the spread
    is denied ("no evidence of metastatic disease") or only to lymph nodes."""
    solid = [(i, f) for i, f in conditions if f.concept and is_a(f.concept.code, _SOLID_ROOT)]
    if not solid:
        return
    for m in _METASTASIS.finditer(text):
        if _NODAL_ONLY.match(text, m.end()) or _NODAL_BEFORE.search(text, max(0, m.start() - 20), m.start()):
            continue
        clause_start, _ = _clause_bounds(text, m.start(), m.end())
        before = text[clause_start : m.start()]
        cues = _context().find_cues(before)
        if _NOTE_NEGATION.search(before) or any(c.category == "negated" for c in cues):
            continue
        before_sentence = [e.end() for e in _SENTENCE_END.finditer(text, 0, m.start())]
        after = _SENTENCE_END.search(text, m.end())
        start, end = (before_sentence[-1] if before_sentence else 0), (after.start() if after else len(text))
        here = [i for i, f in solid if start <= f.span[0] and f.span[1] <= end]
        target = here[0] if here else solid[0][0]
        if not staged[target].stage:
            staged[target] = replace(staged[target], stage="IV")


def _finding(
    text: str, kind: FindingKind, start: int, end: int, confidence: float, rule: str, **kw: object
) -> Finding:
    return Finding(kind, text[start:end], (start, end), confidence, rule, **kw)  # type: ignore[arg-type]


def _age(text: str) -> Iterator[Finding]:
    for m in _AGE.finditer(text):
        if m.group("n"):
            unit = m.group("unit").lower()
            years = float(m.group("n")) * _UNIT_YEARS.get(unit, 1 / 365.25)
            yield _finding(text, "age", m.start(), m.end(), 0.95, "age.n_year_old", value=years, unit="years")
        elif m.group("n2"):
            yield _finding(text, "age", m.start(), m.end(), 0.9, "age.yo", value=float(m.group("n2")))
        elif m.group("n3"):
            yield _finding(text, "age", m.start(), m.end(), 0.8, "age.aged", value=float(m.group("n3")))
        elif m.group("n4"):
            # "48 M with a h/o ...": a clinical-note opening (number then sex letter) at a line start.
            yield _finding(
                text, "age", m.start("n4"), m.end("n4"), 0.8, "age.note_opening", value=float(m["n4"])
            )


def _sex(text: str) -> Iterator[Finding]:
    for m in _AGE.finditer(text):
        group = "sexletter" if m.group("sexletter") else "sexletter2"
        letter = m.group(group)
        if letter:
            status = "female" if letter.upper() == "F" else "male"
            yield _finding(text, "sex", m.start(group), m.end(group), 0.8, "sex.letter", status=status)
    nouns = [m for m in _SEX_NOUN.finditer(text) if not _about_relative(text, m.start(), m.end())]
    for m in nouns[:1]:
        status = "female" if m.group("f") else "male"
        # The first sex noun of a summary is the patient ("a 58-year-old woman"); later ones may be others.
        confidence = 0.9 if m.start() < 200 else 0.6
        yield _finding(text, "sex", m.start(), m.end(), confidence, "sex.noun", status=status)
    pronouns = [m for m in _PRONOUN.finditer(text) if not _about_relative(text, m.start(), m.end())]
    if pronouns and not nouns:
        female = sum(1 for p in pronouns if p.group("f"))
        male = len(pronouns) - female
        if female != male:
            first = next(p for p in pronouns if bool(p.group("f")) == (female > male))
            status = "female" if female > male else "male"
            yield _finding(text, "sex", first.start(), first.end(), 0.6, "sex.pronouns", status=status)


def _clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    before = [m.end() for m in _CLAUSE.finditer(text, max(0, start - 300), start)]
    after = _CLAUSE.search(text, end)
    return (before[-1] if before else max(0, start - 300)), (after.start() if after else len(text))


def _about_relative(text: str, start: int, end: int) -> bool:
    clause_start, clause_end = _clause_bounds(text, start, end)
    return any(
        not _PATIENT_AS_RELATIVE.search(text, max(clause_start, m.start() - 20), m.start())
        or _RELATIVES_AGE.search(text, max(clause_start, m.start() - 30), m.start()) is not None
        for m in _RELATIVE.finditer(text, clause_start, clause_end)
    )


@lru_cache(maxsize=1)
def _context() -> EligibilityContext:
    context: EligibilityContext = pipeline().get_pipe("eligibility_context")  # type: ignore[assignment]
    return context


# A word right before a negated mention that makes it a kind of the linked concept ("alcoholic" in
# "alcoholic liver disease"); function words and note cues ("no", "of", "denies", "any") do not.
_SUBTYPE_WORD = re.compile(
    r"\b(?!(?:no|not|of|or|and|nor|any|the|a|an|for|with|without|denies|denied|negative|history|evidence"
    r"|signs?|symptoms?|known|prior|previous|personal|past|significant|other|free|have|has|had|having)\b)"
    r"[a-z][a-z-]{2,}\s+$",
    re.IGNORECASE,
)


def _assertion(raw: str, text: str, start: int, end: int) -> PatientAssertion:
    if _about_relative(text, start, end):
        return "family"
    clause_start, _ = _clause_bounds(text, start, end)
    before = text[clause_start:start]
    if raw == "negated" or _cue_reaches(_NOTE_NEGATION, before):
        return "negated"
    if raw == "hypothetical" or _cue_reaches(_NOTE_UNCERTAINTY, before):
        return "hypothetical"
    return "historical" if raw == "historical" else "present"


def _cue_reaches(cue: re.Pattern[str], before: str) -> bool:
    """A note cue earlier in the clause applies unless a relative clause starts between it and the mention
    ("negative for any involvement, which made this a primary cardiac lymphoma")."""
    found = [m.end() for m in cue.finditer(before)]
    return bool(found) and not _SCOPE_END.search(before, found[-1])


def _terms(text: str) -> Iterator[Finding]:
    kept = _vocabulary_terms(text)
    kept = sorted(kept + list(_note_abbreviations(text, kept)), key=lambda term: term[1])
    biomarkers = [b for b in extract.find_biomarkers(text) if b.concept is not None]
    context = _context()
    decided = context.assertions(
        text, context.find_cues(text), [start for _, start, _ in kept] + [b.start for b in biomarkers]
    )
    raw_assertions = [category for category, _ in decided]
    for (label, start, end), raw in zip(kept, raw_assertions[: len(kept)], strict=True):
        written = text[start:end]
        expansion = _NOTE_ABBREVIATIONS.get(written) if label == "note_abbreviation" else None
        concept, how = link(expansion or " ".join(written.split()), "condition" if expansion else label)
        if concept is None:
            continue
        confidence = 0.9 if how in ("exact", "synonym") else 0.75
        if expansion:
            how, confidence = "abbreviation", 0.8
        if concept.code == "cancer":
            confidence = 0.6
        assertion = _assertion(raw, text, start, end)
        kind = "condition" if expansion else _TERM_KINDS[label]
        if (
            kind == "condition"
            and assertion == "negated"
            and _SUBTYPE_WORD.search(text, max(0, start - 40), start)
        ):
            # "no evidence of alcoholic liver disease" rules out a kind of liver disease, not liver disease:
            # linked to the broader concept it would rule out the patient's viral hepatitis.
            continue
        yield Finding(
            kind,
            written,
            (start, end),
            confidence,
            f"patient.{kind}.{how}",
            assertion,
            concept,
            status=_course(text, start, end) if kind in ("therapy", "procedure") else None,
        )
    for b, raw in zip(biomarkers, raw_assertions[len(kept) :], strict=True):
        assertion = _assertion(raw, text, b.start, b.end)
        tail = text[b.end : b.end + 25].lower()
        head = text[max(0, b.start - 25) : b.start].lower()
        negative = (
            assertion == "negated"
            or b.alteration in ("negative", "stable", "proficient", "wild-type", "wild type")
            or bool(
                re.match(
                    r"^[\s:-]*(?:negative|wild[- ]type|not (?:detected|amplified|mutated)|-(?!\w))", tail
                )
            )
            or "negative for" in head
        )
        yield Finding(
            "biomarker",
            text[b.start : b.end],
            (b.start, b.end),
            b.confidence,
            f"patient.{b.rule_id}",
            "family" if assertion == "family" else "present",
            b.concept,
            value=b.value,
            unit=b.unit,
            status="negative" if negative else "positive",
            alteration=b.alteration,
        )


def _course(text: str, start: int, end: int) -> str | None:
    """ "ended", "ongoing", or None when the clause does not say; the cue nearest the mention wins."""
    if _ENDED_AFTER.match(text, end):
        return "ended"
    clause_start, _ = _clause_bounds(text, start, end)
    before = text[clause_start:start]
    ended = [m.end() for m in _ENDED_BEFORE.finditer(before)]
    ongoing = [m.end() for m in _ONGOING_BEFORE.finditer(before)]
    if not ended and not ongoing:
        return None
    return "ended" if max(ended, default=-1) > max(ongoing, default=-1) else "ongoing"


def _vocabulary_terms(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of the vocabularies' condition, therapy and procedure terms in `text`.

    The parser's phrase matchers run over the words alone, so a term a note wraps or double-spaces ("breast
    \n carcinoma") is still found; not across a blank line. The longest reading at a position wins ("lung
    adenocarcinoma" over "adenocarcinoma").
    """
    nlp = pipeline()
    tokens = [token for token in nlp.make_doc(text) if not token.is_space]
    words = Doc(nlp.vocab, words=[token.text for token in tokens])
    found = set()
    # Only the vocabularies' own kinds: the lexicon phrases the matchers also carry link to no concept.
    for matcher, labels in phrase_matchers():
        for match_id, first, last in matcher(words):
            label = labels[match_id][1]
            start, end = tokens[first].idx, tokens[last - 1].idx + len(tokens[last - 1])
            if label in _TERM_KINDS and not _BLANK_LINE.search(text, start, end):
                found.add((label, start, end))
    kept: list[tuple[str, int, int]] = []
    order = list(_TERM_KINDS)
    for label, start, end in sorted(found, key=lambda t: (t[1], t[1] - t[2], order.index(t[0]))):
        if not kept or start >= kept[-1][2]:
            kept.append((label, start, end))
    return kept


def _note_abbreviations(text: str, taken: list[tuple[str, int, int]]) -> Iterator[tuple[str, int, int]]:
    """Clinical-note shorthand for common conditions ("h/o HTN, DM2, CAD") where no dictionary term is."""
    for m in _NOTE_ABBREVIATION.finditer(text):
        if not any(start < m.end() and m.start() < end for _, start, end in taken):
            yield "note_abbreviation", m.start(), m.end()


@lru_cache(maxsize=1)
def _lab_names() -> tuple[re.Pattern[str], dict[str, tuple[str, str, str]]]:
    """Lab name pattern and name -> (code, label, default unit); abbreviations match case-sensitively."""
    by_name: dict[str, tuple[str, str, str]] = {}
    for lab in labs().values():
        for term in (lab.label, *lab.synonyms):
            by_name[term.lower()] = (lab.loinc, lab.label, lab.unit)
    for term, (label, unit) in _EXTRA_LABS.items():
        by_name[term.lower()] = ("", label, unit)
    terms = sorted(by_name, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(t) for t in terms) + r")(?![\w-])", re.I), by_name


def _labs(text: str) -> Iterator[Finding]:
    pattern, by_name = _lab_names()
    for m in pattern.finditer(text):
        name = m.group(0)
        if len(name) <= 5 and not name.isupper() and name.lower() not in ("hb", "hgb", "plt"):
            continue  # short names ("ANC", "EF") only as written in capitals
        value = _LAB_VALUE.match(text, m.end(), min(len(text), m.end() + 40))
        if value is None:
            continue
        loinc, label, default_unit = by_name[name.lower()]
        number = float(value.group("num").replace(",", ""))
        unit = value.group("unit") or default_unit
        if not value.group("unit") and default_unit == "10^9/L" and number >= 1000:
            unit = "/uL"  # notes write counts per microlitre ("Plt: 350000"), not in 10^9/L
        yield Finding(
            "lab",
            text[m.start() : value.end()],
            (m.start(), value.end()),
            0.85 if value.group("unit") else 0.7,
            "patient.lab.value",
            _assertion("present", text, m.start(), m.end()),
            Concept("loinc", loinc, label),
            value=number,
            unit=unit,
        )


def _ecog(text: str) -> Iterator[Finding]:
    for m in _ECOG.finditer(text):
        if m.group("kps"):
            kps = int(m.group("kps"))
            grade = next(g for g, low in ((0, 90), (1, 70), (2, 50), (3, 30), (4, 0)) if kps >= low)
            yield _finding(
                text, "performance_status", m.start(), m.end(), 0.75, "patient.kps", value=float(grade)
            )
        else:
            grade = int(m.group("v") or m.group("v2"))
            yield _finding(
                text, "performance_status", m.start(), m.end(), 0.9, "patient.ecog", value=float(grade)
            )


# The noun "pregnancy" as the setting of another condition or as an event in the history, not a current
# pregnancy: "Hypertension with pregnancy", "diabetes in pregnancy", "after an uncomplicated pregnancy",
# "history of ... pregnancy", "pregnancy-induced hypertension".
_PAST_PREGNANCY_BEFORE = re.compile(
    r"(?:\b(?:with|in|during|of|after|previous|prior|past|last|earlier|uncomplicated"
    r"|complicated)\s+|\bhistory\s+of\b[^.;\n]*)$",
    re.IGNORECASE,
)
_PREGNANCY_RELATED_AFTER = re.compile(r"[\s-]*(?:induced|related|associated)\b", re.IGNORECASE)


def _pregnancy(text: str) -> Iterator[Finding]:
    for m in _PREGNANT.finditer(text):
        if m.group("neg"):
            yield _finding(
                text, "pregnancy", m.start(), m.end(), 0.85, "patient.not_pregnant", status="not_pregnant"
            )
            continue
        if _about_relative(text, m.start(), m.end()):
            continue
        noun = m.group(0).lower() == "pregnancy"
        if noun and (
            _PAST_PREGNANCY_BEFORE.search(text, max(0, m.start() - 30), m.start())
            or _PREGNANCY_RELATED_AFTER.match(text, m.end())
        ):
            continue  # "Hypertension with pregnancy", "pregnancy-induced hypertension": a past pregnancy
        raw = _negated_here(text, m.start(), m.end())
        status = "not_pregnant" if raw else "pregnant"
        confidence = 0.6 if noun else 0.85
        yield _finding(text, "pregnancy", m.start(), m.end(), confidence, "patient.pregnancy", status=status)


def _negated_here(text: str, start: int, end: int) -> bool:
    clause_start, _ = _clause_bounds(text, start, end)
    return any(
        c.category == "negated" and c.end <= start for c in _context().find_cues(text[clause_start:end])
    )


def _smoking(text: str) -> Iterator[Finding]:
    for m in _SMOKING.finditer(text):
        if _about_relative(text, m.start(), m.end()):
            continue
        if m.group("never") or (m.group("current") and _negated_here(text, m.start(), m.end())):
            status = "never"
        elif m.group("former"):
            status = "former"
        else:
            status = "current"
        pack_years = _PACK_YEARS.search(m.group(0))
        yield _finding(
            text,
            "smoking",
            m.start(),
            m.end(),
            0.8,
            f"patient.smoking.{status}",
            status=status,
            value=float(pack_years.group(1)) if pack_years else None,
            unit="pack-years" if pack_years else None,
        )
