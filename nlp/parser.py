"""`parse_eligibility`: eligibility text (plus the structured age/sex fields) to criteria trees."""

from __future__ import annotations

import itertools
import operator
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import NamedTuple, cast

import spacy
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.pipeline import SpanRuler
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

import nlp.assertion  # noqa: F401  (registers the eligibility_context factory)
from nlp import extract, linear_tagger, rationale
from nlp.assertion import Cue, EligibilityContext
from nlp.chia_mentions import add_mentions
from nlp.extract import Found
from nlp.model import (
    And,
    Atom,
    AtomKind,
    Concept,
    Criterion,
    Except,
    Node,
    Not,
    Or,
    ParsedEligibility,
    Section,
    TimeWindow,
    iter_atoms,
)
from nlp.terminology import (
    ONCOLOGY_ROOTS,
    drug_classes,
    genes,
    icd10cm,
    is_a,
    is_cancer,
    lexicon,
    link,
    link_exact,
    manifest,
    vocabulary,
)
from nlp.text import (
    OR_GROUP,
    POPULATION_LABEL,
    Item,
    Normalised,
    holds_folded,
    items,
    may_contain,
    normalise,
    section_of_heading,
)

TERMS_KEY = "terms"
LEXICON_PREFIX = "lexicon."
ATOMS_KEY = "atoms"
# Each rule with the lower-case substrings one of which its matches must contain: a text without any is
# skipped cheaply (substring tests are far faster than Python regex alternations). None: always run.
_FINDERS: tuple[tuple[Callable[[str], Iterable[Found]], tuple[str, ...] | None], ...] = (
    (extract.find_labs, None),
    (extract.find_biomarkers, None),
    (extract.find_performance_status, ("ecog", "who", "zubrod", "karnofsky", "kps", "lansky", "performance")),
    (extract.find_age, ("age", "old", "younger", "between", "over", "above", "under", "below")),
    (
        extract.find_demographic_and_pregnancy,
        ("male", "men", "pregnan", "breast", "lactat", "nursing", "potential", "wocbp", "focbp"),
    ),
    (extract.find_life_expectancy, ("life expectancy",)),
    (extract.find_therapy_lines, ("line", "regimen")),
    (extract.find_untreated, ("untreated",)),
    (extract.find_histology_subtypes, ("squamous",)),
    (extract.find_mixed_small_cell, ("mixed", "combined", "cell element", "cell component")),
    (extract.find_condition_qualifiers, ("stage", "measurable", "evaluable")),
    (
        extract.find_not_checkable,
        (
            "consent",
            "willing",
            "comply",
            "complian",
            "investigator",
            "opinion",
            "judg",
            "sign",
            "proximity",
            "follow-up",
            "contracep",
            "birth control",
            "unable",
        ),
    ),
    (extract.find_tissue_for_testing, extract.TISSUE_WORDS),
    (extract.find_shared_heads, ("hepatitis",)),
    (extract.find_coordinated_conditions, extract.COORDINATION_TRIGGERS),
    (extract.find_abbreviated_terms, (")",)),
    (extract.find_checkpoint_targets, ("pd", "ctla")),
    (extract.find_prior_therapy_of_toxicity, ("prior", "previous", "earlier")),
)
_WINDOW_TRIGGERS = (
    "within",
    "past",
    "last",
    "previous",
    "preceding",
    "at least",
    ">",
    "more than",
    "greater than",
    "minimum",
    "less than",
    "fewer than",
    "<",
    # "... must have completed 1 week prior to the start of study treatment" (`extract._WINDOW`)
    "completed",
    "discontinued",
    "stopped",
    "ended",
    "finished",
    # "Washout periods: ... Cytotoxic chemotherapy - 3 weeks" (`extract.find_windows`)
    "wash",
)
_WINDOWED_KINDS = frozenset({"therapy", "procedure", "condition", "lab", "biomarker", "other", "pregnancy"})
_OR_LINK = re.compile(r"\b(?:or|nor|either|and/or)\b|/", re.IGNORECASE)
_AND_LINK = re.compile(r"\b(?:and|plus|with)\b(?!/)", re.IGNORECASE)
# A header naming whom its sub-items are for: "For subjects of childbearing potential:", "For men:".
_FOR_WHOM_HEADER = re.compile(
    r"[ \t*-]*for\s+(?:(?:all|any)\s+)?(?:subjects?|patients?|participants?|women|men|"
    r"females?|males?|persons?|individuals?|those)\b[^:\n]*:\s*$"
    # A sex alone over its own sub-items: "Males:" and "Females:" over each its creatinine clearance
    # formula (NCT06124118), "Male participants:" over a man's contraception.
    r"|[ \t*-]*(?:women|men|females?|males?)(?:\s+(?:subjects?|patients?|participants?))?(?:\s+who)?\s*:\s*$",
    re.IGNORECASE,
)
# A group header that makes its sub-items conditional: "Women of childbearing potential must:", "Patients
# with brain metastases are eligible if:".
_CONDITIONAL_HEADER = re.compile(
    r"\b(?:must|should|shall|needs? to|(?:are|is) required to|eligible (?:only )?if|allowed if|permitted if"
    r"|may (?:be )?(?:enrolled|eligible|included|participate)|if)\b",
    re.IGNORECASE,
)
# Exceptions that make brain metastases acceptable: "unless neurologically stable", "treated and stable".
_STABLE_CNS = re.compile(
    r"\b(?:(?:neurologically|clinically|radiologically|radiographically)\s+stable|(?:adequately\s+)?treated"
    r"(?:\s*,)?\s+(?:and|&)\s+(?:clinically\s+|neurologically\s+|radiologically\s+)?stable|stable\s+for\s+"
    r"(?:at\s+least\s+)?\d+\s*(?:days?|weeks?|months?)|asymptomatic"
    r"|no longer requir\w*\s+(?:cortico)?steroids|off\s+(?:cortico)?steroids)\b",
    re.IGNORECASE,
)
# In an exception to brain metastases ("unless treated and stable") a bare status word is about them.
_CNS_STATUS = re.compile(r"\b(?:stable|stabili[sz]ed|asymptomatic|treated|controlled)\b", re.IGNORECASE)
# ("... in whom infectious diseases have been excluded will also be eligible:" has ruled them out instead.)
_EXCLUDING_HEADER = re.compile(
    r"\b(?:(?:(?:is|are|will\s+be)\s+)?(?<!been )excluded|(?:(?:is|are)\s+)?ineligible"
    r"|(?:(?:is|are|will)\s+)?not\s+(?:be\s+)?eligible)\b",
    re.IGNORECASE,
)
# A group header in the inclusions that lets its sub-items in: "... are eligible even if ...:", "...
# allowed:".
_PERMISSION_HEADER = re.compile(
    r"\b(?:(?:are|is|will(?:\s+also)?\s+be)\s+(?:also\s+)?eligible|allowed|permitted)\b(?!\s+(?:only\s+)?if\b)",
    re.IGNORECASE,
)
# A sentence that ends by calling what it lists exceptions: "Note: Stable chronic conditions (such as
# neuropathy, alopecia) are exceptions and may enroll". The exception starts with the sentence, not at a cue.
_CALLED_EXCEPTIONS = re.compile(
    r"\b(?:are|is)\s+(?:(?:also|considered)\s+)?(?:exceptions?|exempt(?:ed)?)\b", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"[.;]\s|\n")
_EXCEPTIONS_HEADER = re.compile(r"\b(?:following|these)\s+exceptions?\b|\bexcept(?:\s+for)?\s*(?::|$)", re.I)
_ASSESSED_VERBS = (
    "ascertained",
    "assessed",
    "determined",
    "confirmed",
    "documented",
    "measured",
    "evaluated",
    "demonstrated",
    "detected",
    "seen",
    "shown",
    "visible",
    "verified",
)
_ASSESSED_BY = re.compile(
    rf"\b(?:{'|'.join(_ASSESSED_VERBS)})\s+(?:by|on|with|via|using)\b",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[;.](?:\s|$)")
# Words before a treatment with an "at least N ago" window that ask for the treatment itself, not a washout.
_TREATMENT_REQUIRED = re.compile(
    r"\b(?:(?:must|should|to|will)\s+have\s+(?:previously\s+)?(?:received|had|undergone|been\s+treated)"
    r"|having\s+(?:received|had|undergone)|previously\s+(?:received|treated)|prior\s+exposure\s+to)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z]{3}")
# Words that narrow a condition to a state no profile records ("uncontrolled hypertension", "clinically
# unstable sickle cell anemia", "resistant or refractory lymphoma", "no other liver disease"): up to two
# words may stand between the qualifier and the condition ("active fungal infection"). A functional class
# ("New York Heart Association class III or IV heart disease") is such a qualifier as well.
_QUALIFIER = re.compile(
    r"\b(?:(?:clinically|medically|hemodynamically|haemodynamically)\s+)?(?:uncontrolled|(?:poorly|inadequately|not\s+(?:well\s+)?)controlled|unstable|decompensated|severe"
    r"|moderate|mild|significant|serious|active|symptomatic|refractory|resistant|progressive|progressing"
    r"|life-threatening|smoldering|smouldering|indolent|aggressive|associated|related|complications?"
    r"|symptoms?|(?:an)?other(?!\s+than)|(?:NYHA|New\s+York\s+Heart\s+Association)(?:\s+\(NYHA\))?\s+"
    r"(?:functional\s+)?class(?:es)?\s+(?:I{1,3}|IV|[1-4])(?:\s*(?:-|to|or|and|/|,)\s*(?:I{1,3}|IV|[1-4]))*)"
    r"(?:[\s,/-]+(?:or|and|and/or|[A-Za-z0-9]+)){0,2}[\s,/-]*$",
    re.IGNORECASE,
)
# A qualified general condition that opens a list of examples, up to the example's start: "active
# infectious disease, such as hepatitis B or C", "Active infection including hepatitis B, hepatitis C, and
# HIV" (NCT05036291). Not a bracket of examples ("No severe lung disease (e.g., chronic obstructive pulmonary
# disease)"), which names what the author counts as such.
_QUALIFIED_EXAMPLES_OF = re.compile(
    r"\b(?:uncontrolled|active|symptomatic|severe|serious|clinically\s+significant|significant)\s+"
    r"(?:[\w-]+\s+){0,2}?(?:infections?|infectious\s+diseases?|diseases?|conditions?|disorders?|illness(?:es)?)"
    r"[\s,:]*(?:such\s+as|including)[^.;:\n]{0,100}$",
    re.IGNORECASE,
)
# A course named as one alternative among others ("metastatic or recurrent", "locally advanced and/or
# recurrent"): what the other alternatives are is not a course, so the course alone is not required.
_ALTERNATIVE_BEFORE = re.compile(r"(?:\bor|\band/or|\band|/|,|&)\s*$", re.IGNORECASE)
# Words every match of extract.COURSE_BEFORE holds (`may_contain`).
_COURSE_WORDS = ("newly", "recur", "relaps", "refractory", "progress")
# A body site right before a kind of cancer the vocabulary does not name with it narrows the cancer to that
# site ("(no primary CNS lymphoma)", "central nervous system (CNS) lymphoma", "intraocular lymphoma",
# "testicular lymphoma"): a lymphoma patient is asked whether the lymphoma is there, never read as having or
# lacking "lymphoma" as such.
_SITE_BEFORE_CANCER = re.compile(
    r"\b(?:primary\s+)?(?:CNS|central\s+nervous\s+system(?:\s+\(CNS\))?|brain|cerebral|intracerebral"
    r"|intracranial|spinal|leptomeningeal|meningeal|ocular|intraocular|vitreoretinal|orbital|testicular)[\s-]+$",
    re.IGNORECASE,
)
# A form of a cancer no profile records, right before it: its laterality or timing ("bilateral",
# "synchronous contralateral"), a clinical or histological kind ("inflammatory", "metaplastic", "occult") or
# its extent ("locally advanced"), unless it is one alternative of several ("metastatic or locally
# advanced").
# So is a low grade or a mucinous histology ("Low grade serous ovarian cancer (LGSOC)", NCT05512208;
# "mucinous or low-grade epithelial ovarian carcinoma", NCT06083844): the diagnosis code carries neither;
# nor a squamous or undifferentiated one of a cancer whose code names no histology ("squamous cell or
# undifferentiated gastroesophageal cancer", NCT06445972).
_FORM_BEFORE_CANCER = re.compile(
    r"\b(?:bilateral|contralateral|ipsilateral|synchronous|metachronous|inflammatory|metaplastic|occult"
    r"|multicentric|multifocal|locally\s+advanced|low[\s-]+grade|mucinous|squamous(?:[\s-]+cell)?"
    r"|undifferentiated)"
    r"(?:[\s,/-]+(?:and/or|or|and|bilateral|contralateral|ipsilateral|synchronous|metachronous|invasive"
    r"|primary|low[\s-]+grade|serous|epithelial|endometrioid|undifferentiated)){0,3}[\s-]+$",
    re.IGNORECASE,
)
# ... one alternative, perhaps with a word of its own: "metastatic or unresectable locally advanced NSCLC".
_ALTERNATIVE_FORM_BEFORE = re.compile(r"(?:\bor|\band/or|/|,)\s*(?:[\w-]+\s+)?$", re.IGNORECASE)
# A disease named as what involves a site ("No CNS involvement by lymphoma", "bone marrow involvement with
# lymphoma") is about the site, which no profile records: the disease itself is not excluded or required.
_INVOLVEMENT_BY = re.compile(
    r"(?:\b[\w-]+\s+)?\binvolvement\s+(?:by|of|with)\s+(?:the\s+|their\s+|his\s+|her\s+)?$", re.IGNORECASE
)
# ... and so is a cancer named with the site or complication right after it ("No myeloma meningitis",
# "myeloma involvement on bronchoscopy").
_SITE_AFTER_CANCER = re.compile(r"[ \t]*(?:meningitis|involvement)\b", re.IGNORECASE)
# A tumour named as where a sample comes from ("a tumor biopsy ... not more than 56 days prior to start of
# study intervention"): the window dates the sample, not the diagnosis.
_TISSUE_AFTER = re.compile(
    r"[ \t]*(?:tissues?|samples?|specimens?|biops(?:y|ies)|blocks?|slides)\b", re.IGNORECASE
)
# Words every match of _SUITABLE_FOR, _PRECLUDES, _INTERACTS_WITH, _PLANNED, _PLANNED_AFTER, _BEFORE_STARTING,
# _TOLERANCE_OF,
# _RECOVERY_FROM or _REQUIRED_FOR holds (`may_contain`).
_SUITABLE_OR_STARTING_WORDS = (
    "suitable",
    "eligible",
    "candidate",
    "amenable",
    "fit",
    "curable",
    "refus",
    "declin",
    "beginning",
    "initiat",
    "start",
    "commencing",
    "dose",  # _AFTER_THE_LAST_DOSE
    "administration",
    "infusion",
    "duration",
    "toleran",  # _TOLERANCE_OF: "intolerance to", "tolerant of"
    "sensitiv",  # _REACTS_TO
    "allerg",
    "anaphyla",
    "excipient",
    "ingredient",
    "swallow",
    "absor",
    "similar",
    "schedul",  # _PLANNED
    "plann",
    "anticipat",
    "expect",
    "intend",
    "due",
    "consider",
    "able",  # _TOLERANCE_OF: "unable to be treated with"
    "wash",  # _RECOVERY_FROM
    "contra",
    "requir",  # _REQUIRED_FOR
    "subject",  # _PLANNED: "subject to receive FOLFOX as SOC"
    "decision",  # _PLANNED: "A clinician decision has been made for treatment with T-DXd"
    "appropriate",  # _APPROPRIATE_AFTER
    "indicated",
    "preclud",  # _PRECLUDES
    "administer",  # _PLANNED: "to administer"
    "undergo",
    "interaction",  # _INTERACTS_WITH
)
# Every match of _DURATION_AFTER and _DURATION_BEFORE names one of these units.
_DURATION_WORDS = ("day", "week", "month", "year")
# ... and of _CURRENT.
_CURRENT_WORDS = ("current", "concomitant", "actively", "ongoing", "on-going")
# A treatment the patient is judged suitable for (`_Builder._judged_suitable`); the list it opens shares it.
_SUITABLE_FOR = re.compile(
    r"\b(?:suitable|unsuitable|eligible|ineligible|candidates?|amenable|fit|unfit|incurable|curable|refus(?:ed|es|e)"
    r"|declin(?:ed|es|e))\s+(?:for|to|with|by)\s+(?:(?:receive|undergo|be\s+treated\s+with)\s+)?"
    r"(?:(?:an?|the|further|any|standard)\s+)?"
    r"(?:[\w-]+,?\s+(?:(?:and|or|and/or)\s+)?){0,3}$",
    re.IGNORECASE,
)
# ... or as what a condition would preclude: "Non-modifiable medical comorbidities that would preclude
# cytoreductive surgery" (NCT04557969).
_PRECLUDES = re.compile(
    r"\bpreclud(?:e|es|ed|ing)\s+(?:(?:an?|the|any|further)\s+)?(?:[\w-]+,?\s+(?:(?:and|or|and/or)\s+)?){0,3}$",
    re.IGNORECASE,
)
# ... or as what a drug interacts with: "given the potential for drug-drug interactions with irinotecan"
# (NCT02366819), the study's drug.
_INTERACTS_WITH = re.compile(
    r"\binteractions?\s+with\s+(?:(?:an?|the|any)\s+)?(?:[\w-]+,?\s+(?:(?:and|or|and/or)\s+)?){0,3}$",
    re.IGNORECASE,
)
# ... or named before the judgement: "Autologous stem cell transplant (ASCT) ineligible." (NCT06087653),
# "transplant-ineligible", "cisplatin eligible".
_SUITABLE_AFTER = re.compile(
    r"\s*(?:\([\w-]{2,12}\)\s*)?(?:-|\s)\s*(?:in|un)?(?:eligible|suitable|fit)\b(?!\s+(?:for|to)\b)", re.I
)
# ... and one the patient is to have, a plan and no history ("Scheduled to undergo neoadjuvant systemic
# chemotherapy", "anticipated to receive paclitaxel", "Patients considered for curative or palliative
# chemotherapy with paclitaxel", "expected to require another form of anticancer therapy while on study",
# NCT07094204).
# "are subject to receive FOLFOX as SOC" (NCT04421820), "A clinician decision has been made for treatment with
# T-DXd" (NCT07124000).
# "Anticipation of the need for major surgery during the course of study treatment" (NCT06265285), "an
# anticipated need for major surgery during the study" (NCT05039801).
_PLANNED = re.compile(
    r"\b(?:(?:scheduled|planned|planning|anticipated|expected|intend(?:ed|s|ing)?|due|subject)\s+to\s+"
    r"(?:receive|undergo|start|initiate|begin|be\s+treated\s+with|require|need)|(?:being\s+)?considered\s+for"
    r"|anticipat(?:ion|ed|es?)\s+(?:of\s+)?(?:the\s+)?need\s+for"
    # "adequate organ function to administer radiation therapy and immunotherapy" (NCT04221893)
    r"|to\s+(?:administer|undergo)"
    # "Patients may not have planned external beam radiotherapy ... after study registration", "a planned
    # interval cytoreduction or hysterectomy" (NCT05256225): the plan as an adjective. Not "Recent or planned
    # major surgery" nor "planned or prior surgery", where the treatment may be a history as well.
    r"|(?<!or\s)(?<!and\s)(?<!/)\bplanned(?!\s+(?:or|and)\b)"
    r"|decision\s+(?:has\s+been\s+|was\s+)?made\s+(?:for|to\s+(?:start|initiate|begin))\s+"
    r"(?:treatment|therapy)\s+with)\s+"
    r"(?:(?:an?|the|further|any|standard)\s+)?"
    r"(?:[\w-]+,?\s+(?:(?:and|or|and/or)\s+)?){0,4}$",
    re.IGNORECASE,
)
# ... or named before the plan or the judgement: "RT planned of at least 15 treatment fractions"
# (NCT07132918), "Radiation therapy is contraindicated as adjudicated by the radiation oncologist"
# (NCT04221893).
_PLANNED_AFTER = re.compile(
    r"\s+(?:(?:is|are|was|were)\s+(?:not\s+|medically\s+|otherwise\s+)?)?(?:planned|contra-?\s?indicated)\b",
    re.IGNORECASE,
)
# ... and one named as appropriate for the disease: "Advanced or metastatic cancer for which gemcitabine is an
# appropriate treatment" (NCT04657068), the treatment to come.
_FOR_WHICH = re.compile(r"\bfor\s+which\s+$", re.IGNORECASE)
_APPROPRIATE_AFTER = re.compile(
    r"\s+(?:is|are|would\s+be)\s+(?:an?\s+|the\s+)?(?:appropriate|suitable|indicated|recommended)\b",
    re.IGNORECASE,
)
# ... and one named as what a disease requires or required ("Active infection requiring intravenous
# antibiotics", "Active skin disorder that has required systemic therapy within the past year", NCT05074810;
# "radiation pneumonitis which required steroid treatment"): that disease's treatment, which a profile does
# not tie to its indication, not the patient's history of the treatment. "All subjects will require prior
# anti-PD-1 therapy" and "Required prior therapies" ask for the history itself.
_REQUIRED_FOR = re.compile(
    r"\b(?:requiring|(?:that|which)\s+(?:has\s+|have\s+|had\s+|(?:does|do|did)\s+not\s+)?(?:required|requires?))\s+"
    r"(?!prior\b|previous\b)(?:(?:an?|the|any|further|ongoing|active)\s+)?"
    r"(?:[\w-]+,?\s+(?:(?:and|or|and/or)\s+)?){0,3}$",
    re.IGNORECASE,
)
# ... and one named as what the patient tolerates or cannot take ("intolerance to a s.c. Sandostatin
# (octreotide acetate) test dose", "Demonstrated tolerance to a test dose of octreotide", "unable to be
# treated with levodopa/carbidopa alone"): how the patient bears a treatment, which no profile records, not
# whether they had it.
# A second phrase may share the drugs: "Previous intolerance to or significant reaction secondary to
# fluorouracil or oxaliplatin" (NCT04421820).
_TOLERANCE_OF = re.compile(
    r"\b(?:(?:in)?toleran(?:ce|t)|(?:un)?able\s+to\s+(?:tolerate|take|receive|be\s+treated\s+with))\s+"
    r"(?:(?:to|of|with)\s+)?(?:(?:or|and|and/or)\s+(?:[\w-]+\s+){0,4}?(?:to|of|with)\s+)?"
    r"(?:(?:an?|the|any|prior|previous)\s+)?"
    r"(?:[\w./-]+,?\s+(?:(?:and|or|and/or)\s+)?){0,4}\(?$",
    re.IGNORECASE,
)
# ... and one named as what the patient reacts to, swallows or absorbs ("hypersensitivity to pembrolizumab or
# any of its excipients", NCT03428802; "allergic reaction to paclitaxel", NCT03987555; "the inability to
# swallow the osimertinib tablets", "adequate absorption of osimertinib", "drugs with a similar chemical
# structure or class to osimertinib", NCT04181060): an allergy or a route, not whether the patient had it.
_REACTS_TO = re.compile(
    r"\b(?:(?:hyper)?sensitivit(?:y|ies)(?:\s+reactions?)?|allerg(?:y|ies|ic(?:\s+reactions?)?)|anaphyla\w*"
    r"|excipients?|ingredients?|swallow(?:ing)?|absorption|absorb(?:ing)?"
    r"|similar\s+(?:chemical\s+)?(?:structure|class)(?:\s+or\s+(?:structure|class))?)\s+"
    r"(?:(?:to|of|in|with|as)\s+)?(?:(?:the|an?|any|its|their|study|oral|active|inactive|or|and)\s+){0,4}$",
    re.IGNORECASE,
)
# ... and one named as what the patient washes out of, recovers from or must not take ("Inadequate washout
# from prior anticancer therapy", NCT04262466; "Any contra-indication, to use of any of the combination
# chemotherapy", NCT05786924): the site judges how the patient bears it, not whether they had it.
_RECOVERY_FROM = re.compile(
    r"\b(?:(?:inadequate|insufficient)\s+wash-?\s?out(?:\s+period)?\s+(?:from|after|of|for|following)"
    r"|contra-?\s?indications?,?\s+(?:to|for)(?:\s+(?:the\s+)?use\s+of)?(?:\s+any\s+of)?)\s+"
    r"(?:(?:an?|the|all|any|prior|previous)\s+)*"
    r"(?:[\w-]+,?\s+(?:(?:and|or|and/or)\s+)?){0,3}$",
    re.IGNORECASE,
)
# An exception to a recovery from the toxicities of treatment, among the inclusions: "must have recovered ...
# from the acute effects of chemotherapy except for residual alopecia or grade 2 peripheral neuropathy"
# (NCT04633239), "Resolution of all acute toxic effects of prior therapy to Grade 1 or baseline. Exceptions
# include alopecia and peripheral neuropathy Grade <=2" (NCT05512208), "(excluding alopecia and peripheral
# neuropathy)" (NCT05039801): the toxicities a patient may still have, never ones the trial requires. So are
# those of an item that only lists the exceptions to the one before ("9. Adequate recovery from toxicities
# ... 10. Exceptions include alopecia and peripheral neuropathy Grade <=2", NCT05512208).
_TOLERATED_TOXICITY = re.compile(
    r"(?:\b(?:toxicit(?:y|ies)|toxic\s+effects?|adverse\s+(?:events?|effects?)|AEs?|side[\s-]effects?"
    r"|recover(?:ed|y)?|resolution|resolved)\b[^\n]{0,250}?|^[^\w\n]*(?:\d+[.)]?\s*)?(?=exceptions?\s+(?:include|are)))"
    r"\b(?:except(?:ions?)?|excluding|excepting|other\s+than|apart\s+from|with\s+the\s+exception\s+of)\b[^\n]*$",
    re.IGNORECASE | re.MULTILINE,
)
_ABBREVIATION_DEFINED = re.compile(r"(?P<words>(?:[A-Za-z][\w'-]*[ \t]+){1,6})\((?P<abbr>[A-Z]{2,6})\)")
# What every match of _ABBREVIATION_DEFINED ends with: looked for first, because the full pattern takes long
# to fail (it tries up to six words from every letter: ~170 µs per Chia section on average, ~75 with this).
_BRACKETED_ABBREVIATION = re.compile(r"\([A-Z]{2,6}\)")
_BEFORE_STARTING = re.compile(
    # "re-evaluated within 14 days of beginning conditioning chemotherapy" (NCT04119024), "within 4 weeks of
    # starting lymphodepleting chemotherapy": the study's own treatment, a time anchor, not a history.
    r"\b(?:prior\s+to|before|until|of)\s+(?:starting|beginning|initiating|initiation\s+of|(?:the\s+)?start\s+of"
    r"|commencing)\s+(?:(?:an?|the|any|their|his|her|maintenance|protocol|study)\s+)?"
    r"(?:[\w-]+,?\s+(?:(?:and|or|and/or)\s+)?){0,2}$",
    re.IGNORECASE,
)
# How long something goes on after the study's treatment ("use contraception ... for 2 days after the last
# dose of acalabrutinib", NCT06757647; "for the duration of venetoclax treatment", NCT03986034; "5 months
# after the last dose of study drug for patients receiving nivolumab", NCT05267626): the drug is a
# time anchor, the treatment to come, not a history. A washout is not written with "for" ("at least 4 weeks
# after the last dose of prior chemotherapy").
_AFTER_THE_LAST_DOSE = re.compile(
    r"\b(?:(?:for|through|until)\s+(?:at\s+least\s+|a\s+minimum\s+of\s+|up\s+to\s+)?[\w-]+(?:\s+\(\d+\))?\s+"
    r"(?:days?|weeks?|months?|years?)\s+(?:after|following|post)\s+(?:the\s+)?(?:last|final)\s+"
    r"(?:dose|administration|infusion)s?\s+of|for\s+the\s+duration\s+of"
    r"|(?:after|following)\s+(?:the\s+)?(?:last|final)\s+dose\s+of\s+(?:the\s+)?study\s+(?:drugs?|treatment"
    r"|intervention)\s+for\s+(?:patients|participants|subjects|those)\s+(?:receiving|treated\s+with|on))"
    r"\s+(?:the\s+|any\s+)?$",
    re.IGNORECASE,
)
# ... and the same drug named again so, without the "for": "for 5 months after the last dose of nivolumab for
# women ..., and 7 months after the last dose of nivolumab for men" (NCT06399419).
_AFTER_LAST_DOSE_AGAIN = re.compile(
    r"\b(?:after|following|post)\s+(?:the\s+)?(?:last|final)\s+(?:dose|administration|infusion)s?\s+of\s+"
    r"(?:the\s+|any\s+)?$",
    re.IGNORECASE,
)
_GUARDIAN_BEFORE = re.compile(
    r"\b(?:parents?|guardians?|legally\s+authori[sz]ed\s+representatives?)\b[^.;]*$", re.IGNORECASE
)
_INLINE_GROUP = re.compile(r"\b(?:group|cohort|arm|stratum)\s+(?:\d{1,2}|[A-D])\s*:", re.IGNORECASE)
_GUARDIAN_AFTER = re.compile(
    r"\b(?:consent|assent)\b.*\b(?:parents?|guardians?)\b", re.IGNORECASE | re.DOTALL
)
_TO_PEOPLE = re.compile(
    r"\b(?:to|for)\s+(?:patients?|subjects?|participants?|children|minors)(?:\s+(?:who\s+are|aged?))?\s+$",
    re.IGNORECASE,
)
# A header listing the diseases a trial takes ("Diseases to be included:", "Eligible diagnoses:"): no patient
# has them all, even when a name recurs among its items.
_ELIGIBLE_DISEASES_HEADER = re.compile(
    r"^\W*(?:(?:diseases?|diagnos[ie]s|disorders|malignancies|histolog(?:y|ies))\s+(?:to\s+be\s+)?"
    r"(?:included|eligible|allowed|accepted)|(?:eligible|included|allowed)\s+(?:diseases?|diagnos[ie]s"
    r"|disorders|malignancies|histolog(?:y|ies)))\s*:\s*$",
    re.IGNORECASE,
)
# A cause named right after a condition narrows it the same way ("amyloidosis secondary to rheumatoid
# arthritis", "anemia due to bleeding"): whether the patient's condition has that cause is for the site.
# So does the syndrome it comes with: "Renal cell carcinoma as part of a syndrome" (NCT05410509) is a
# hereditary kidney cancer, not every kidney cancer.
_CAUSE_AFTER = re.compile(
    r"[ \t]*,?[ \t]*(?:secondary\s+to|due\s+to|caused\s+by|attributable\s+to|induced\s+by"
    r"|as\s+(?:a\s+)?part\s+of)\s+[\w-]+",
    re.IGNORECASE,
)
_CONTRAINDICATION = r"contraindications?\s+(?:to|for)(?:\s+[\w-]+){0,4}?"
# The kind, site or extent of a procedure ("excisional biopsy", "total hysterectomy", "pelvic irradiation"),
# or a contraindication to it: a profile records the procedure, not these.
# ... or the organ it was on, which no procedure of a profile records: "previous significant bowel resection
# that would preclude adequate absorption" (NCT05123482, NCT06188520) is no gallbladder surgery, "gastric or
# esophageal surgery" (NCT04383262) no breast surgery.
_PROCEDURE_QUALIFIER = re.compile(
    r"\b(?:excisional|incisional|core|needle|total|partial|radical|pelvic|abdominal|thoracic|cranial"
    r"|myelosuppressive|palliative|stereotactic|bowel|intestinal|intestine|mucosal|gastric|stomach"
    r"|gastrointestinal|GI"
    r"|esophageal|oesophageal|hepatic|liver|lung|pulmonary|brain|spinal|cardiac|renal|kidney"
    # "hemi- or total-body radiation" (NCT07213791)
    r"|(?:total|whole|hemi|half)[- ]?body"
    rf"|whole[- ]brain|major|extensive|{_CONTRAINDICATION})[\s,/-]*$",
    re.IGNORECASE,
)
# ... or its extent after it: "patients with radiation to > 25% of the bone marrow are NOT eligible"
# (NCT05950464, NCT05053971, NCT05327010) are not all patients ever irradiated.
# ... and the sites it went to: "No previous radiotherapy to the intended enrolled sites of disease"
# (NCT06745024) is not any radiotherapy.
_PROCEDURE_EXTENT_AFTER = re.compile(
    r"\s+(?:therapy\s+)?(?:to|of|involving)\s+(?:>=?|≥|more\s+than|greater\s+than|at\s+least|over)?\s*"
    r"\d+(?:\.\d+)?\s*%"
    r"|\s+to\s+(?:the\s+)?(?:[\w-]+\s+){0,3}?(?:sites?|lesions?|fields?)\b"
    # ... or the organ: "prior radiation to the liver" (NCT05863195), "Radiotherapy to the brain"
    # (NCT05187182).
    r"|\s+to\s+(?:the\s+)?(?:[\w-]+\s+){0,2}?(?:liver|brain|chest|thorax|pelvis|abdomen|lungs?|spine"
    r"|bones?|breasts?|head|neck|mediastinum|oesophagus|esophagus|stomach|pancreas|kidneys?|prostate)\b",
    re.IGNORECASE,
)
_RECENT_BEFORE = re.compile(r"\brecent(?:ly)?\s+(?:major\s+)?$", re.IGNORECASE)
# ... and a window only the protocol gives: "Treatment with surgery, systemic cancer therapy, immunotherapy
# ... within protocol specified intervals" (NCT06242470), "Chemotherapy given within the protocol-specified
# discontinuation timelines" (NCT06533579).
_PROTOCOL_WINDOW_AFTER = re.compile(
    r"[^.;\n]{0,160}?\bwithin\s+(?:the\s+)?protocol[\s-]+(?:specified|defined|required)\b", re.IGNORECASE
)
# ... and the recovery from it that the text asks about after it: "Has had major surgery from which the
# subject has not yet recovered" (NCT04219254).
_RECOVERY_AFTER = re.compile(r"\s+from\s+which\s+[^.;\n]{0,40}?\brecover", re.IGNORECASE)
# "Contraindications to the use of alpha interferon": whether one applies is the site's judgement.
_CONTRAINDICATED = re.compile(rf"\b{_CONTRAINDICATION}\s+$", re.IGNORECASE)
# "Unresolved toxicities from prior anticancer therapy", "adverse events due to a previously administered
# agent", "not recovered from major surgery": the treatment is what caused the toxicity the text asks about,
# and whether any remains is the site's question; having had the treatment is not itself the criterion.
# Between two treatments of one list: "chemotherapy or radiotherapy", "anti-cancer therapy (including
# radiotherapy".
_TREATMENT_LIST_GAP = re.compile(
    r"^[\s,;()\-:]*(?:(?:or|and|and/\s?or|nor|either|/|as well as|plus|with|including|such as|e\.g\.)"
    r"[\s,()\-:]*)*$",
    re.IGNORECASE,
)
# A treatment stopped for its toxicity: "Prior therapy with a PD-1 inhibitor ... and was discontinued from
# that treatment due to a Grade 3 or higher immune-mediated adverse event" (NCT04389632), "Patients who
# discontinued prior anti-PD-(L)1 therapy due to an anti-PD-(L)1-related toxicity" (NCT05544929). Every
# treatment of its sentence is the one stopped (or a treatment arm the sentence applies to): having had it
# is not the criterion, the reason it was stopped is, and no profile records that. A discontinuation with no
# toxicity named ("must be discontinued for at least 2 weeks") is a washout, read as such.
_DISCONTINUED_FOR_TOXICITY = re.compile(
    r"\bdiscontinu(?:ed?|ation|es|ing)\b[^.;\n]{0,120}?\b(?:due\s+to|because\s+of|secondary\s+to|for)\s+"
    r"[^.;\n]{0,60}?\b(?:toxicit(?:y|ies)|intoleran(?:ce|t)|intolerability|adverse|AEs?|irAEs?|IMAEs?"
    r"|side[\s-]effects?)\b",
    re.IGNORECASE,
)
_TOXICITY_WORDS = (
    "toxicit",
    "toxic effect",
    "adverse",
    "side effect",
    "side-effect",
    "aes",
    "irae",
    "recover",
    "manifestation",
    "wound",
    "experienced any of the following",
)
# "Significant immune-mediated adverse event with prior immunotherapy" (NCT04262466), "Prior life-threatening
# toxicity to anti-PD-1" (NCT03607890), "skin toxicity when receiving enfortumab vedotin" (NCT06465069),
# "Grade >=3 autoimmune manifestations of previous immune checkpoint inhibitor treatments" (NCT04219254),
# "irAEs from prior immunotherapies" (NCT05746897), "AEs from immune-modulatory agents (including but not
# limited to anti-PD1/PD-L1 agents" (NCT05584670); the wounds a surgery left.
_TOXICITY_FROM = re.compile(
    r"(?:\b(?:toxicit(?:y|ies)|toxic\s+effects?|adverse\s+(?:events?|effects?|reactions?)|(?:ir|im)?AEs?"
    r"|side[\s-]effects?|(?:autoimmune|immune[\s-]related|immune[\s-]mediated)\s+manifestations?"
    # "Unhealed wounds from surgery or injury" (NCT05592626)
    r"|wounds?)\b[^.;,]{0,50}?"
    r"\b(?:from|due\s+to|related\s+to|attributed\s+to|attributable\s+to|caused\s+by|associated\s+with"
    r"|of|following|to|with|during|on|(?:when|while)\s+(?:receiving|on|taking))"
    r"|\brecover(?:ed|y)?\s+(?:\([^()]{0,60}\)\s+)?(?:[^\s.;]+\s+){0,6}?from"
    # The harms listed after the treatment: "Has experienced any of the following with prior immunotherapy:
    # any immune mediated adverse events (imAE) of Grade >=3, ..." (NCT06710847).
    r"|\bexperienced\s+any\s+of\s+the\s+following\s+(?:with|on|during|from|after))\s+"
    # "... of any prior oncologic treatment (e.g. prior surgery, radiotherapy": examples of the treatment
    r"(?:[\w-]+[\s,]+){0,4}?(?:\((?:e\.g\.|eg|i\.e\.|including(?:\s+but\s+not\s+limited\s+to)?|such\s+as)"
    r"[,:\s]*(?:[\w-]+\s+)?)?$",
    re.IGNORECASE,
)
# One or two words no term reads between two treatments of a list: "anti-PD-1, anti-PD-L1, anti-PD-L2,or
# anti-CTLA4", "anti-PD1/PD-L1 agents and anti-CTLA4", "concurrent anticancer treatment (including
# chemotherapy, targeted drugs, radiotherapy ..." (NCT06598007).
_UNREAD_ITEM_GAP = re.compile(
    r"\s*,?\s*[\w-]+(?:\s+[\w-]+)?\s*(?:,\s*(?:(?:or|and|and/or)\s*)?|,?\s*(?:or|and|and/or)\s*)$",
    re.IGNORECASE,
)
# The words between a treatment and the condition it treats: "chemotherapy for breast cancer", "Herceptin
# therapy for pancreatic cancer", "radiotherapy to treat the tumour".
_INDICATION = re.compile(
    r"\s*(?:[A-Za-z]+\s+)?(?:for|to\s+treat)\s+(?:(?:the|their|his|her|its)\s+)?(?:treatment\s+of\s+)?"
    r"(?:any\s+|an\s+|a\s+)?(?:[A-Za-z]+\s+)?$",
    re.I,
)
# "Personal or family history of long QT syndrome": the patient's own history as well as her relatives'.
_PERSONAL_OR = re.compile(r"\b(?:personal|own)\s*(?:and/or|or|and|/)\s*$", re.IGNORECASE)
# The setting a treatment was given in, after it: "No prior systemic therapy for metastatic disease", "No
# prior chemotherapy in the advanced or metastatic setting". A treatment given in another (adjuvant) does not
# count, and no profile records which setting a treatment was for.
_SETTING_WORD = (
    r"(?:(?:locally\s+)?advanced|metastatic|recurrent|relapsed|unresectable|incurable|palliative"
    r"|(?:\(neo\)|neo-?)?adjuvant|perioperative)"
)
# ... or before it: "Not received any adjuvant or neoadjuvant chemotherapy or immunotherapy" (NCT06571708),
# "Prior intravesical chemotherapy" (NCT06545955). Chemotherapy for metastatic disease is neither.
_ADJUVANT_WORD = r"(?:(?<![\w)-])(?:\(neo\)|neo-?)?adjuvant|\b(?:perioperative|peri-operative|intravesical))"
_SETTING_BEFORE = re.compile(
    rf"{_ADJUVANT_WORD}(?:\s*(?:,|/|or|and/or|and)\s*{_ADJUVANT_WORD})*[\s-]+(?:[\w-]+\s+){{0,2}}$",
    re.IGNORECASE,
)
# ... unless the systemic route is the other alternative: "previously received systemic or intravesical
# gemcitabine" (NCT05839119) is gemcitabine given either way.
_SYSTEMIC_ALTERNATIVE = re.compile(
    r"\b(?:systemic|intravenous)\s*(?:or|and/or|/)\s|\b(?:or|and/or|/)\s*(?:systemic|intravenous)\b",
    re.IGNORECASE,
)
_FOR_SETTING = re.compile(
    rf"\s+(?:for|in)\s+(?:the\s+)?(?:treatment\s+of\s+)?{_SETTING_WORD}"
    rf"(?:\s*(?:,|/|or|and/or|and)\s*{_SETTING_WORD})*\s+(?:disease|setting)\b",
    re.IGNORECASE,
)
# A treatment named by a generic word, with the condition it treats: "No prior therapy for cervical cancer",
# "previous treatment of the lymphoma". The criterion asks about the treatment, not the condition.
_GENERIC_TREATMENT_FOR = re.compile(
    r"\b(?:therapy|therapies|treatments?)\s+(?:for|of)\s+(?:the\s+|their\s+|his\s+|her\s+)?(?:[A-Za-z]+\s+)?$",
    re.I,
)
# A cap on the treatments given for a disease, up to the disease: "No more than 2 prior systemic regimens for
# treatment of lymphoma", "At most one prior chemotherapy regimen for metastatic disease".
_TREATMENT_LIMIT = re.compile(
    r"(?:\b(?:no|not)\s+more\s+than|\bat\s+most|\bmaximum\s+of|\bup\s+to|\bfewer\s+than)\s+(?:\d+|one|two|three|four)"
    r"\s+(?:[\w-]+\s+){0,3}?(?:regimens?|courses?|lines?|therap(?:y|ies)|treatments?|cycles?)\s+"
    r"(?:for|of)\s+(?:the\s+)?(?:treatment\s+of\s+)?(?:[A-Za-z]+\s+)?$",
    re.IGNORECASE,
)
# How long a treatment was given, which no profile records ("No treatment with estrogen, androgen or growth
# hormone exceeding twelve months", "Exposure to levodopa or dopamine agonist of 14 days or less", "treated
# with levodopa for at least one year", "No more than 12 months of prior estrogen"): the treatment with that
# duration, not any course of it. After the treatment (or the list it ends) ...
_DURATION_NUMBER = (
    r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|eighteen|twenty-four)"
)
_DURATION_UNIT = r"(?:days?|weeks?|months?|years?)"
_DURATION_AFTER = re.compile(
    r"[ \t]*,?[ \t]*(?:(?:therapy|treatment|use|exposure)\s+)?"
    r"(?:exceeding|lasting|totall?ing"
    r"|(?:for|of)\s+(?:more|longer|greater|less|fewer)\s+than"
    r"|(?:for|of)\s+(?:over|up\s+to|at\s+least|at\s+most|no\s+more\s+than|not\s+more\s+than)"
    rf"|(?:for|of)(?=\s+{_DURATION_NUMBER}\s+{_DURATION_UNIT}\s+or\s+(?:less|fewer|more|longer)))"
    rf"\s+{_DURATION_NUMBER}\s+{_DURATION_UNIT}",
    re.IGNORECASE,
)
_DURATION_CAP = re.compile(r"\b(?:less|fewer|at\s+most|up\s+to|no\s+more|not\s+more)\b", re.IGNORECASE)
_ARTICLE = re.compile(r"\b(?:an?|the|any)\b", re.IGNORECASE)
_OR_LESS = re.compile(r"\s+or\s+(?:less|fewer)\b", re.IGNORECASE)
# ... or before it, the duration "of" the treatment; not a window ("within 6 months of chemotherapy").
_DURATION_BEFORE = re.compile(
    r"(?<!within\s)(?<!since\s)(?<!after\s)(?<!before\s)"
    r"\b(?:(?:no|not)\s+more\s+than|more\s+than|less\s+than|at\s+least|at\s+most|up\s+to)\s+"
    rf"{_DURATION_NUMBER}\s+{_DURATION_UNIT}\s+of\s+(?:(?:prior|previous|continuous|cumulative|any)\s+)?"
    r"(?:[\w-]+,?\s+(?:(?:and|or|and/or)\s+)?){0,4}$",
    re.IGNORECASE,
)
# An event of a disease ("acute asthma exacerbation requiring hospitalization within 12 months", "significant
# exacerbation of asthma within the 4 weeks prior", "sickle cell crisis in the last month"): the window and
# the criterion are about the event, which no profile records, not about when the disease was diagnosed.
_DISEASE_EVENT = r"(?:exacerbations?|flares?|flare-ups?|attacks?|episodes?|crisis|crises|relapses?)"
# A word every match of the two patterns below holds (`_Builder.names_event`).
_DISEASE_EVENT_WORDS = ("exacerbation", "flare", "attack", "episode", "crisis", "crises", "relapse")
_DISEASE_EVENT_BEFORE = re.compile(
    rf"\b{_DISEASE_EVENT}\s+(?:of|with)\s+(?:(?:the|their|his|her|an?|acute|severe)\s+)?$", re.IGNORECASE
)
_DISEASE_EVENT_AFTER = re.compile(rf"(?:[\s-]+related)?[\s-]+{_DISEASE_EVENT}\b", re.IGNORECASE)
# Between a cancer and a window after it: an event or a test the window dates rather than the diagnosis
# (`_Builder._window_elsewhere`).
_EVENT_BEFORE_WINDOW = re.compile(
    r"\b(?:progress(?:ion|ed|ing|ive)?|ris(?:e|ing)|increas(?:e|ed|ing)|obtained|performed|scans?|imaging)\b",
    re.IGNORECASE,
)
# A sentence end or a ";" between them.
_STOP_BEFORE_WINDOW = re.compile(r";|\.(?:\s|$)")
# A window that measures the time from a treatment to a progression or recurrence ("disease progression within
# 6 months of last receipt of platinum-based chemotherapy", "recurred within 6 months or less of prior
# platinum therapy", "progression during or within 6 months after the last dose of ..."): the event right
# before it, what it counts from right after it (`_Builder._interval_between_events`).
_EVENT_ENDS_BEFORE_WINDOW = re.compile(
    r"\b(?:progress(?:ion|ed|es|ing)?|recur(?:red|rence|s)?|relaps(?:e|ed|es)|PD)\b[^.;:()]{0,25}$", re.I
)
_WINDOW_COUNTS_FROM = re.compile(r"\s*(?:or\s+(?:less|fewer|sooner)\s+)?(?:of|after|from|following)\b", re.I)
# The people a criterion is about, then a relative pronoun: a negated verb after it ("Patients who have not
# had", "those who did not receive") describes whom the criterion is about; so after a comma ("Non-post-
# menopausal female, who has not had a bilateral oophorectomy", NCT04383262).
_PEOPLE_WHO = re.compile(
    r"\b(?:patients?|subjects?|participants?|persons?|people|individuals?|women|men|females?|males?|those"
    r"|anyone)(?:\s+|\s*,\s*)(?:who|that)\s+$",
    re.IGNORECASE,
)
# A trailing condition on whom a requirement binds: "... greater than 50 mL/min if no renal impairment". Not
# "even if", "only if" (a further requirement), nor "if any/applicable/known/..." (no condition).
_TRAILING_IF = re.compile(
    r"(?<!even )(?<!only )(?<!as )\bif\b(?!\s+(?:any|applicable|needed|necessary|known|available|possible"
    r"|so|not\s+already|indicated|required|appropriate|in\s+the\s+(?:opinion|judge?ment))\b)",
    re.IGNORECASE,
)
# A clause that names whom it binds before "must": "...; patients with NHL and CLL must have failed prior
# therapy with an alkylating agent", "Patients with a history of gallbladder disease must have had a
# cholecystectomy". It opens the item or follows a ";" or a sentence end, and runs to the clause's end.
# So does one naming whom by a treatment they had: "Patients who have previously received an immune
# checkpoint inhibitor (e.g., anti-PD-L1, ...) prior to enrollment must have checkpoint inhibitor
# immune-related toxicity resolved" (NCT05267626).
_HAD_TREATMENT = (
    r"who\s+(?:have\s+|had\s+|has\s+)?(?:(?:previously|already|ever|recently)\s+)?(?:received|undergone|underwent"
    r"|been\s+treated\s+with)"
)
# Or by a treatment they are on: "Patients taking anti-hypertensive medication must be on a stable
# anti-hypertensive regimen" (NCT03564340), "Participants on ART must have a CD4+ T-cell count >= 350"
# (NCT04317534), "For patients receiving therapeutic anticoagulation, they must have a stable anticoagulant
# regimen" (NCT04820179), "Patients on anticoagulation must be able to hold anticoagulation for SRS treatment"
# (NCT06248606); the treatment must be one the parser reads (`_Builder._bound_clauses`).
_ON_TREATMENT = r"(?P<on>(?:currently\s+)?(?:on|receiving|taking|using|treated\s+with))"
_BOUND_CLAUSE = re.compile(
    r"(?:^[ \t*-]*|[;.]\s+)(?P<who>(?:(?:female|male)\s+)?(?:patients?|subjects?|participants?|individuals?)"
    rf"\s+(?:with|without|{_HAD_TREATMENT}|who|{_ON_TREATMENT})\s+)(?P<whom>[^;:]+?)\s+"
    r"(?:must|should|will\s+be\s+required\s+to)(?!\s+not\b)(?=\s)",
    re.IGNORECASE | re.MULTILINE,
)
# "For patients with evidence of chronic hepatitis B virus (HBV) infection, the HBV viral load must be
# undetectable", "If human immunodeficiency virus (HIV)-infected, must have well controlled HIV", "For
# patients who underwent radiotherapy ... to sites outside the brain, the final dose of radiation must have
# been administered >= 28 days prior to C1D1" (NCT06657222), "If on anticoagulant therapy: PT must be within
# therapeutic range of intended use of anticoagulants" (NCT05672251): a population set off by a comma or a
# colon that the rest of the clause binds.
_FOR_WHOM = re.compile(
    r"(?:^[ \t*-]*|[;.]\s+)(?P<who>(?:(?:for|in)\s+(?:patients?|subjects?|participants?|individuals?|those)"
    rf"\s+(?:with|{_HAD_TREATMENT}|who\s+(?:have|are|had)|{_ON_TREATMENT})\s+|if\s+))"
    r"(?P<whom>[^;:,.\n]{3,120}?)[,:]\s",
    re.IGNORECASE | re.MULTILINE,
)
# A clause whose subject is a disease: "Lymphoma must be stage III, IV, or recurrent" in a trial that also
# takes CLL and Waldenstrom's macroglobulinemia binds the patients with lymphoma, as the header "Waldenstrom's
# macroglobulinemia must have at least one of the following:" binds its sub-items (`_conditional`).
_DISEASE_MUST = re.compile(
    r"(?:^[ \t*-]*|[;.]\s+)(?P<who>)(?P<whom>[A-Za-z](?:[^;:.()\n]|\([^()\n]{1,12}\)){0,60}?)"
    r"\s+must(?!\s+not\b)(?=\s)",
    re.IGNORECASE | re.MULTILINE,
)
# A population named by its infection before "must": "Human immunodeficiency virus (HIV)-infected participants
# must have well controlled HIV on antiretroviral therapy (ART)" (NCT06780085 and five more) binds the
# participants with HIV.
_INFECTED_MUST = re.compile(
    r"(?:^[ \t*-]*|[;.]\s+)(?P<who>)(?P<whom>[A-Za-z](?:[^;:.()\n]|\([^()\n]{1,12}\)){0,60}?)[\s-]+"
    r"(?:infected|positive|seropositive)\s+(?:patients?|participants?|subjects?|individuals?|persons?)\s+"
    r"(?:must|should)(?!\s+not\b)(?=\s)",
    re.IGNORECASE | re.MULTILINE,
)
# "Prior radiotherapy allowed", "Concurrent steroids allowed to control CNS symptoms": a permission, not a
# requirement. It must follow the atom within its clause and item, and not be denied ("not allowed").
# A decimal point ("RECIST 1.1 will be allowed") does not end the clause; an "if" opens another ("ALT <= 3.0
# times ULN, (if liver metastases are present, then <= 5.0 times ULN is allowed)" permits the higher limit).
_PERMITTED = re.compile(
    r"(?:(?!\n[ \t]*(?:\n|[-*])|\bif\b)(?:[^;.:]|(?<=\d)\.(?=\d))){0,80}?(?<!not )(?<!not be )"
    r"\b(?:allowed|permitted|acceptable)\b",
    re.I,
)
# Among the inclusions, what the text says "may be eligible" (if ...), "may be enrolled", "may participate"
# or "are also eligible" is let in, not required: "Patients with treated brain metastases may be eligible if
# they are neurologically stable" requires no brain metastases. The "if" clause stays the exception.
_MAY_BE_ELIGIBLE = re.compile(
    r"(?:(?!\n[ \t]*(?:\n|[-*])|\bif\b)(?:[^;.:]|(?<=\d)\.(?=\d))){0,200}?"
    r"\b(?:(?:may|can)\s+(?:also\s+)?(?:be\s+)?(?:eligible|enrolled|included|enroll|participate)"
    r"|(?:are|is)\s+(?:also\s+)?eligible(?!\s+(?:for|to)\b)"
    # "Patients with prior radiation treatment or surgery will not be disqualified from enrollment"
    r"|will\s+not\s+be\s+disqualified|(?:are|is)\s+(?:also\s+)?permissible)\b(?!\s+(?:only\s+)?if\b)",
    re.I,
)
# "HIV-infected patients on effective anti-retroviral therapy with undetectable viral load within 6 months are
# eligible for this trial": the condition is let in ("eligible for platinum" is fit for a treatment, and an
# age "eligible for the study" says who the trial takes).
_ELIGIBLE_FOR_TRIAL = re.compile(
    r"(?:(?!\n[ \t]*(?:\n|[-*])|\bif\b)(?:[^;.:]|(?<=\d)\.(?=\d))){0,200}?"
    r"\b(?:are|is)\s+(?:also\s+)?eligible\s+for\s+(?:(?:this|the)\s+(?:trial|study|protocol)|enrol(?:l?ment)"
    r"|participation|inclusion)\b(?!\s+(?:only\s+)?if\b)",
    re.I,
)
# The NCI template's "Patients with a prior or concurrent malignancy whose natural history or treatment does
# not have the potential to interfere with the safety or efficacy assessment of the investigational regimen
# are eligible for this trial" (65 registry trials): the clause itself says which malignancies the trial lets
# in, also where the sentence stops before "are eligible" (NCT05576896, NCT06814496) or goes on to more
# conditions (NCT05839119).
_DOES_NOT_INTERFERE = re.compile(
    r"\s+whose\s+natural\s+history\s+(?:(?:or|and/or)\s+treatment\s+)?(?:does|do)\s+not\s+"
    r"(?:have\s+(?:the\s+)?potential\s+to\s+)?interfere\b",
    re.IGNORECASE,
)
# "Patients may have had prior systemic therapy in the adjuvant setting (e.g. interferon, BRAF, or MEK
# agents)" (NCT02339571), "Note: May have received chemotherapy" (NCT04585477): what a patient may have had
# is let in, not required. The treatments follow the permission in its clause, before any "if" that
# conditions it.
_MAY_HAVE = r"\b(?:may|can)\s+(?:also\s+)?have"
_MAY_CONTINUE = re.compile(r"\b(?:may|can)\s+continue\b", re.IGNORECASE)
_MAY_HAVE_WORDS = re.compile(_MAY_HAVE + r"\b")  # on the lower-cased text, once per text
_MAY_HAVE_HAD = re.compile(
    _MAY_HAVE + r"\s+(?:had|received|undergone|been\s+(?:treated|exposed|given))\b"
    r"(?:(?!\bif\b)[^;.:\n]|(?<=\d)\.(?=\d)){0,100}$",
    re.IGNORECASE,
)
# A gene whose status must be known: "known BRAF mutational status", "documented RAS mutation status", "KRAS
# status must be known". Not a result ("BRAF status: mutated") nor its absence ("unknown ... status").
_STATUS_AFTER = re.compile(
    r"[\s-]*(?:(?:gene|genomic|genetic)\s+)?(?:(?:mutation(?:al)?|genotype|molecular|alteration)\s+)?status\b",
    re.IGNORECASE,
)
_KNOWN_BEFORE = re.compile(
    r"(?<!un)\b(?:known|documented|determined|available|confirmed)\s+(?:(?:tumou?r|the|their)\s+)?$",
    re.IGNORECASE,
)
_KNOWN_AFTER = re.compile(
    r"\s+(?:must|should|has\s+to|needs\s+to)\s+(?:be\s+|have\s+been\s+)(?:known|determined|documented)\b",
    re.IGNORECASE,
)
_INVESTIGATIONAL_PRODUCT = re.compile(r"investigational\s+(?:medicinal\s+)?products?", re.IGNORECASE)
_ANOTHER_BEFORE = re.compile(r"\b(?:an|any|other|another|prior|previous|previously)\s+$", re.IGNORECASE)
_TESTING_AFTER = re.compile(r"[\s-]*(?:testing|test|analysis|assessment)\b", re.IGNORECASE)
_AGREE_TO_BEFORE = re.compile(
    r"\b(?:consent|agree|willing|willingness|undergo|provide\s+(?:tissue|a\s+sample)\s+for)\s+(?:to\s+)?"
    r"(?:undergo\s+)?(?:the\s+|a\s+)?$",
    re.IGNORECASE,
)
# A permission where an exception cue cuts an item ("is permitted", "may be eligible if ..."), and the
# condition it states, if any.
_PERMISSION_CUE = re.compile(
    r"(?:may|can)\s+(?:also\s+)?(?:be\s+)?(?:eligible|enrolled|included|enroll|participate)\b"
    r"|(?:are|is|will\s+be)\s+(?:also\s+)?(?:allowed|permitted|eligible|acceptable)\b",
    re.IGNORECASE,
)
_PERMISSION_CONDITION = re.compile(r"\b(?:if|provided|as\s+long\s+as)\b", re.IGNORECASE)
# Between two of the treatments "with or without" lists, perhaps with names the vocabulary does not know
# ("..., ifosfamide,").
_OPTIONAL_LIST_GAP = re.compile(r"\s*,?\s*(?:[A-Za-z][\w'-]*\s*,\s*){0,3}(?:(?:or|and/or)\s+)?")
# "with or without the use of", right before what it makes optional (`_Builder._optional`).
_WITH_OR_WITHOUT = re.compile(r"\bwith\s+or\s+without\s+(?:[\w-]+\s+){0,3}$", re.IGNORECASE)
# Before a procedure that changes nothing: "(even after vasectomy)", "even men with vasectomies".
_EVEN_AFTER = re.compile(
    r"\b(?:even|including)\s+(?:after|if|with|though|(?:men|males?)\s+with)\b[^.;()\n]{0,40}$", re.IGNORECASE
)
_MAY_BE_ELIGIBLE_WORDS = ("eligible", "enrol", "include", "participate", "disqualified", "permissible")
# "No concurrent radiotherapy", "concomitant use of systemic corticosteroids", "currently receiving
# chemotherapy", "Actively receiving systemic treatment" (NCT05384626): the treatment counts only while it is
# still given. Up to two words may stand between the cue
# and the treatment ("concurrent systemic anticancer therapy").
# The examples of a concurrent treatment share it ("No concurrent treatment for CNS disease (e.g., surgery,
# radiation, corticosteroids ...)", NCT05267626), and so does a list after an item no term names ("Concurrent
# use of another investigational therapy or anti-cancer therapy", NCT04421820).
_CURRENT = re.compile(
    r"\b(?:concurrent(?:ly)?|concomitant(?:ly)?|current(?:ly)?|actively|ongoing|on-going)"
    r"(?:\s+(?:receiving|taking|using|undergoing|on|treated\s+with|use\s+of|treatment\s+with"
    r"|administration\s+of))?\s+(?:[\w-]+\s+){0,2}"
    r"(?:(?:treatments?|therap(?:y|ies))\s+for\s+(?:[\w-]+\s+){1,3}\(?(?:e\.g\.|i\.e\.|including|such\s+as)[,:\s]*"
    r"|(?:agents?|therap(?:y|ies)|drugs?|products?)\s+(?:or|and/or)\s+)?$",
    re.IGNORECASE,
)
# The bracket of examples right after a treatment: "concurrent anticancer treatment (including chemotherapy,
# ...)" (NCT06598007); the examples share its "concurrent".
_EXAMPLES_GAP = re.compile(
    r"\s*[(\[]\s*(?:e\.g\.?|eg|i\.e\.?|including|such\s+as|for\s+example)[,:\s]*$", re.I
)
# A treatment the patient is taking or receiving (`_Builder._taking`), unless the words after the cue date it
# ("receiving prior chemotherapy") or a word before it does ("since receiving", "after receiving").
_TAKING = re.compile(
    r"(?<!since\s)(?<!after\s)(?<!before\s)(?<!following\s)(?<!to\s)(?<!while\s)(?<!when\s)(?<!during\s)"
    r"\b(?:taking|receiving)\s+"
    r"(?!(?:[\w-]+\s+){0,5}?(?:prior|previous|previously|past)\b)(?:[\w-]+,?\s+){0,6}?$",
    re.IGNORECASE,
)
_TREATMENTS = ("therapy", "procedure")
# "No prior or concurrent chemotherapy", "PRIOR CONCURRENT THERAPY:": past treatment counts as well.
_PRIOR_BEFORE = re.compile(r"\b(?:prior|previous|past)\s*(?:or|and/or|and|/)?\s*$", re.IGNORECASE)
# The engine reads another cancer from these concepts itself ("other malignancy", "prior malignancy").
_SECOND_CANCER_CODES = frozenset({"cancer", "second_malignancy"})
_DENIAL_OPENS = re.compile(r"[ \t*-]*(?:no|not|without|absence\s+of|free\s+of)\b", re.IGNORECASE)
_UNTREATED_WORD = re.compile(r"\buntreated\b", re.IGNORECASE)
# "untreated brain metastases" (98 lines of the 2026 oncology registry), "untreated hypothyroidism": a state
# of a condition that is not a cancer, which no profile records. Before a cancer the word says no therapy was
# given (`extract.find_untreated`), which the profile does record.
_UNTREATED_QUALIFIER = re.compile(
    r"\b(?:previously\s+)?untreated(?:[\s,/-]+(?:or|and|and/or|[A-Za-z0-9]+)){0,2}[\s,/-]*$", re.IGNORECASE
)
_CNS_CODES = frozenset({"brain_metastases", "leptomeningeal"})
STABLE_CNS = Concept("clinical_status", "stable_brain_metastases", "treated, stable brain metastases")
# A list of examples follows: "including", "such as", "e.g.", "for example" (", but not limited to"), and
# the population the examples are of ("These disorders would include patients with Parkinson's disease,
# Alzheimer's disease, ...": any one of them is enough).
_EXAMPLES_CUE = re.compile(
    r"\b(?:including|includes|(?:would|will|may|can|could)\s+include|such\s+as|e\.g\.|eg\b|for\s+example"
    r"|include(?=[\s,:]*but\s))[\s,:]*"
    r"(?:but\s+(?:(?:is|are)\s+)?not\s+(?:limited|restricted)\s+to[\s,:]*)?"
    r"(?:(?:patients|subjects|participants|people|persons|individuals|those)\s+(?:with|who\s+have)\s+)?$",
    re.IGNORECASE,
)
# A disease named as what need not be tested for (`_Builder._test_not_required`).
_TEST_FOR_BEFORE = re.compile(r"\b(?:testing|tests?|screening)\s+for\s+(?:[\w-]+\s+){0,3}$", re.IGNORECASE)
_TEST_NOT_REQUIRED_AFTER = re.compile(
    r"[ \t]+(?:screening[ \t]+)?(?:testing|tests?|screening)(?:[ \t]+tests?)?[ \t]+(?:is|are)[ \t]+not"
    r"[ \t]+required\b",
    re.IGNORECASE,
)
_NOT_REQUIRED_AFTER = re.compile(r"[^.;\n]{0,40}?\b(?:is|are)\s+not\s+required\b", re.IGNORECASE)
# The drug an antibody-drug conjugate carries, before or after it: "MMAE-based ADC" (NCT06219941), "prior
# Topoisomerase I inhibitor(TOPO1i) antibody drug conjugate" (NCT06555744), "any ADC with a topoisomerase
# payload" (NCT06242470).
_PAYLOAD_BEFORE = re.compile(
    r"(?:\btopoisomerase(?:[\s-]+(?:I|1))?(?:[\s-]+inhibitors?)?(?:\s*\([\w-]{2,10}\))?[\s-]*(?:based\s+)?"
    r"|\b[\w-]+[- ](?:based|containing|conjugated)\s+)$",
    re.IGNORECASE,
)
_PAYLOAD_AFTER = re.compile(
    r"\s*\(?s?\)?\s+(?:with|carrying|containing|bearing)\s+(?:an?\s+|any\s+|the\s+)?[\w\s-]{0,40}?"
    r"(?:payloads?|topoisomerase(?:[\s-]+(?:I|1))?(?:[\s-]+inhibitors?)?)\b",
    re.IGNORECASE,
)
# A target's name right before "targeted therapy": a word of capitals and digits ("PSMA", "STEAP1", "CD19").
_TARGET_BEFORE = re.compile(r"\b[A-Z][A-Z0-9]+\)?[\s-]+$")
# A bracket opened right after a word, before the drugs it lists (`_Builder.combine`).
_OPENS_INSTANCES = re.compile(r"[A-Za-z]\s*\(\s*$")
# An abbreviation in brackets ("(LCA)", "(OV)"), not a plural's "(s)".
_AT_LEAST_ONE_BEFORE = re.compile(r"\bat\s+least\s+(?:one|1)\s+(?:[\w-]+\s+){0,4}$", re.IGNORECASE)
_ABBREVIATION_GAP = re.compile(r"\s*\((?=[^()]*[A-Z0-9])[\w/.+-]{2,12}\)")
# An exception that says what holds instead for those it names ("except for patients with Gilbert's syndrome,
# who must have ...", "except for ovarian cancer where ..."): a waiver, as "unless" is.
_EXCEPT_FOR_WHOM = re.compile(
    r"except\s+(?:for|in)\s+[^.;\n]{0,80}?\b(?:where|in\s+whom|for\s+whom|in\s+which|who)\b", re.IGNORECASE
)
# A bracket leaving a kind out of what it follows, with no term the parser reads ("(except carcinosarcoma)").
_EXCEPTION_ASIDE = re.compile(r"\s*\((?:except|excluding|other\s+than|but\s+not|not\s+including)\b[^()]*\)")
_LIST_GAP = re.compile(
    r"^[\s,;()\-:]*(?:(?:or|and|and/or|nor|either|/|as well as|plus|with)[\s,()\-:]*)*$", re.I
)

_FOR_AGE = re.compile(
    r"\b(?:for|in|if)\s+(?:patients?|subjects?|participants?|children|adults|those|women|men)"
    r"(?:\s+(?:who\s+are|aged?))?\s+$",
    re.IGNORECASE,
)
# The rule of an atom standing for what narrows a condition or procedure beyond what a profile records
# ("uncontrolled" hypertension, "excisional" biopsy): the matcher asks about it rather than calling it unread.
QUALIFIER_RULE = "condition.qualifier"


def _case_sensitive(term: str) -> bool:
    # Only a bare abbreviation needs its case ("MI" is not "mi"); beside other words ("squamous NSCLC") the
    # phrase cannot be mistaken, and a capital at the start of a sentence must not stop it matching.
    return " " not in term and (term.isupper() or sum(c.isupper() for c in term) >= 2)


_PUNCTUATION = r"""\[\](){}"'<>=*,;:!?~+\-/%#&|"""


def _punctuation_tokenizer(nlp: Language) -> Tokenizer:
    """Splits on whitespace and every punctuation mark, with none of English's exceptions.

    Terms and text go through the same tokenizer, so matching only needs consistency, and this one is about
    five times faster than spaCy's English rules, which were a third of the parse time.
    """
    return Tokenizer(
        nlp.vocab,
        rules={},
        prefix_search=re.compile(rf"^[{_PUNCTUATION}.]").search,
        suffix_search=re.compile(rf"[{_PUNCTUATION}.]$").search,
        infix_finditer=re.compile(rf"[{_PUNCTUATION}]|(?<=[A-Za-z])\.(?=[A-Za-z])").finditer,
        max_cache_size=_TOKENIZER_CACHE,
    )


# How many whitespace-separated chunks the tokenizer keeps the tokens of (a cache: the tokens are the same
# either way). spaCy's default of 10,000 is full once the rulers' phrases are tokenized, so a chunk first met
# in criteria text was split again at every parse (one chunk in ten on Chia). About 200 bytes a chunk, so
# at most ~30 MB; Chia and the legacy XML records hold 58,000 distinct chunks.
_TOKENIZER_CACHE = 150_000


@lru_cache(maxsize=1)
def pipeline() -> Language:
    """Blank English with the terminology SpanRulers and the assertion component; built once per process.

    Abbreviations ("HIV", "MI", "ICI") match case-sensitively so "mi" or "mm" in running text do not; every
    other term matches case-insensitively. Both are phrase patterns: token patterns would be far slower.
    """
    nlp = spacy.blank("en")
    nlp.tokenizer = _punctuation_tokenizer(nlp)
    folded: list[dict[str, str]] = []
    cased: list[dict[str, str]] = []
    for kind, entries in vocabulary().items():
        if kind == "lab":
            continue  # labs need their values, so a regex rule finds them
        for entry in entries:
            for term in entry.synonyms:
                (cased if _case_sensitive(term) else folded).append({"label": kind, "pattern": term})
    for kind, terms in lexicon().items():
        folded.extend({"label": f"{LEXICON_PREFIX}{kind}", "pattern": term} for term in terms)
    for name, attr, patterns in (("span_ruler", "LOWER", folded), ("cased_span_ruler", "ORTH", cased)):
        ruler: SpanRuler = nlp.add_pipe(  # type: ignore[assignment]
            "span_ruler",
            name=name,
            config={
                "spans_key": TERMS_KEY,
                "phrase_matcher_attr": attr,
                "validate": False,
                "overwrite": False,
            },
        )
        ruler.add_patterns(patterns)  # type: ignore[arg-type]
    # Registered so the pipeline is complete for spaCy callers; parse_eligibility asks it for assertions
    # by character offset.
    nlp.add_pipe("eligibility_context", config={"targets_key": ATOMS_KEY})
    return nlp


@lru_cache(maxsize=1)
def phrase_matchers() -> list[tuple[PhraseMatcher, dict[int, tuple[int, str]]]]:
    """The pipeline's two SpanRulers' phrase matchers, each with its match ids' (label hash, label)."""
    nlp = pipeline()
    matchers = []
    for name in ("span_ruler", "cased_span_ruler"):
        ruler: SpanRuler = nlp.get_pipe(name)  # type: ignore[assignment]
        labels = {
            match_id: (nlp.vocab.strings.as_int(entry["label"]), entry["label"])
            for match_id, entry in ruler._match_label_id_map.items()
        }
        matchers.append((ruler.phrase_matcher, labels))
    return matchers


def _terms(doc: Doc) -> list[tuple[str, int, int]]:
    """(label, start, end) of the terminology phrases in `doc`: what running both SpanRulers stores.

    The rulers' own calls build a Span per match and a SpanGroup, which cost seven times their matching;
    this keeps their order (each ruler's distinct matches sorted as spans sort, the cased ones after).
    """
    found: list[tuple[str, int, int]] = []
    for matcher, labels in phrase_matchers():
        matches = {
            (doc[start].idx, doc[end - 1].idx + len(doc[end - 1]), *labels[match_id])
            for match_id, start, end in matcher(doc)
            if start != end
        }
        found.extend((label, start, end) for start, end, _, label in sorted(matches))
    return found


_SPECIALTY_AFTER = re.compile(r"\s+oncolog(?:ist|ists|y)\b", re.IGNORECASE)


def _dictionary_atoms(doc: Doc, text: str) -> Iterable[Found]:
    """Linked (or, for lexicon phrases, unmapped) atoms for the ruler's matches; `text` is `doc.text`."""
    for label, start, end in _terms(doc):
        from_lexicon = label.startswith(LEXICON_PREFIX)
        # The rulers' labels are the vocabulary's atom kinds (see `pipeline`).
        kind = cast(AtomKind, label[len(LEXICON_PREFIX) :] if from_lexicon else label)
        if kind == "lab" and text[start:end] in genes():
            # "EGFR" in capitals is the gene; the kidney's "eGFR" matched it only as lower-cased words.
            continue
        if kind == "procedure" and _SPECIALTY_AFTER.match(text, end):
            # "after review by a radiation oncologist" (NCT05830058) names a doctor, not a treatment.
            continue
        # A lexicon phrase links only exactly ("copd" is COPD); fuzzy linking is for curated terms' variants.
        concept, how = link_exact(text[start:end], kind) if from_lexicon else link(text[start:end], kind)
        if from_lexicon and concept is None:
            # Named, but not linked: the matcher asks about it rather than guessing a concept.
            yield Found(kind, start, end, f"lexicon.{kind}", 0.4)
            continue
        if kind == "condition" and concept is not None and concept.code == "cancer":
            confidence = 0.6  # generic "cancer"/"tumour" says little on its own
        else:
            confidence = 0.95 if how == "exact" else 0.9
        yield Found(kind, start, end, f"dictionary.{kind}.{how}", confidence, concept)


def _priority(found: Found) -> tuple[int, int, int]:
    # The longer reading wins ("KRAS G12C inhibitor" is a drug class, not a biomarker); ties go to the
    # candidate that captured more structure.
    bare = found.rule_id in ("lab.name", "biomarker.gene")
    return (found.end - found.start, found.specificity, 0 if bare else 1)


def _by_cohort(item: Item) -> bool:
    """Whether every sub-item names a cohort of its own, two or more in all."""
    cohorts = {child.cohort for child in item.children}
    return None not in cohorts and item.cohort not in cohorts and len(cohorts) > 1


def _binds_only(section: Section, whom: Node, requirement: Node) -> Node:
    """A requirement that binds only the patients `whom` describes: an inclusion they alone must meet, an
    exclusion that excludes only them."""
    return Or((Not(whom), requirement)) if section == "inclusion" else And((whom, requirement))


def _resolve(candidates: list[Found]) -> list[Found]:
    kept: list[Found] = []
    # The spans taken so far, in text order: they never overlap, so their ends are in order too, and a span
    # overlaps one of them exactly when it overlaps the last that starts before it ends.
    starts: list[int] = []
    ends: list[int] = []
    for found in sorted(candidates, key=_priority, reverse=True):
        if found.end <= found.start:
            continue
        # A shared-head expansion sits inside its parent's span by construction.
        if found.rule_id.endswith("shared_head"):
            kept.append(found)
            continue
        before = bisect_left(starts, found.end)
        if before and ends[before - 1] > found.start:
            continue
        kept.append(found)
        starts.insert(before, found.start)
        ends.insert(before, found.end)
    return sorted(kept, key=lambda f: (f.start, f.end))


def _structured(minimum_age: str | None, maximum_age: str | None, sex: str | None) -> list[Criterion]:
    criteria = []
    age = Concept("demographic", "age", "age")
    for field, value, comparator in (("minimum_age", minimum_age, ">="), ("maximum_age", maximum_age, "<=")):
        years = _years(value)
        if years is not None and value is not None:
            atom = Atom(
                "demographic",
                value,
                (0, 0),
                f"structured.{field}",
                1.0,
                True,
                True,
                age,
                comparator,
                years,
                unit="years",
            )
            criteria.append(Criterion("inclusion", f"{field}: {value}", (0, 0), atom))
    code = (sex or "").strip().lower()
    if code in ("male", "female"):
        atom = Atom(
            "demographic",
            sex or "",
            (0, 0),
            "structured.sex",
            1.0,
            True,
            True,
            Concept("demographic", "sex", code),
        )
        criteria.append(Criterion("inclusion", f"sex: {sex}", (0, 0), atom))
    return criteria


_YEARS = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(year|month|week|day)", re.IGNORECASE)


def _years(value: str | None) -> float | None:
    match = _YEARS.match(value or "")
    if not match:
        return None
    per_year = {"year": 1.0, "month": 12.0, "week": 52.0, "day": 365.0}[match.group(2).lower()]
    return round(float(match.group(1)) / per_year, 3)


def _called_exceptions(text: str) -> list[int]:
    """Where each sentence that calls what it lists exceptions starts."""
    starts = []
    for match in _CALLED_EXCEPTIONS.finditer(text):
        ends = [end.end() for end in _SENTENCE_END.finditer(text, 0, match.start())]
        start = ends[-1] if ends else 0
        while text[start].isspace():
            start += 1
        starts.append(start)
    return starts


class _Builder:
    def __init__(
        self,
        norm: Normalised,
        found: list[Found],
        assertions: list[tuple[str, tuple[int, int] | None]],
        context: EligibilityContext,
        cues: list[Cue],
    ) -> None:
        self.norm = norm
        self.found = found
        self.assertions = assertions
        self.context = context
        self.cues = cues
        self.starts = [f.start for f in found]
        lowered = norm.text.lower()
        called = may_contain(norm.text, lowered, ("exception", "exempt"))
        self.exception_cues = sorted(
            [
                cue.start
                for cue in cues
                if cue.category == "exception" and not _any_allowed_aside(norm.text, cue)
            ]
            + (_called_exceptions(norm.text) if called else [])
        )
        # Most texts permit nothing: the per-atom permission search is skipped for them.
        self.permits = any(word in lowered for word in ("allowed", "permitted", "acceptable"))
        self.may_have = _MAY_HAVE_WORDS.search(lowered) is not None
        self.names_product = "investigational" in lowered
        self.names_status = "status" in lowered
        self.says_optional = "with or without" in lowered
        self.may_be_eligible = may_contain(norm.text, lowered, _MAY_BE_ELIGIBLE_WORDS)
        self.names_duration = may_contain(norm.text, lowered, _DURATION_WORDS)
        self.names_dose = "dos" in lowered or "mg" in lowered
        self.names_cumulative_dose = "cumulative" in lowered and "dos" in lowered
        # Every window names its unit too: a fifth of the texts with a trigger name none.
        self.windows = (
            list(extract.find_windows(norm.text))
            if self.names_duration and any(t in lowered for t in _WINDOW_TRIGGERS)
            else []
        )
        # Most texts hold neither a "must" nor one of the verbs of an assessment method (`may_contain`: no
        # match of _BOUND_CLAUSE, _DISEASE_MUST or _ASSESSED_BY lacks them): their per-item scans are skipped.
        self.says_must = may_contain(norm.text, lowered, ("must", "should", "required"))
        self.names_whom = may_contain(norm.text, lowered, ("for", "if", "in")) and (
            "," in lowered or ":" in lowered
        )
        self.names_assessment = may_contain(norm.text, lowered, _ASSESSED_VERBS)
        # Likewise for the per-atom scans: a word every match of the pattern holds.
        self.says_current = may_contain(norm.text, lowered, _CURRENT_WORDS)
        self.judges_suitability = may_contain(norm.text, lowered, _SUITABLE_OR_STARTING_WORDS)
        self.names_contraindication = may_contain(norm.text, lowered, ("contraindication",))
        self.names_discontinuation = may_contain(norm.text, lowered, ("discontinu",))
        self.names_protocol = may_contain(norm.text, lowered, ("protocol",))
        self.names_not_required = "not required" in lowered
        self.names_toxicity = may_contain(norm.text, lowered, _TOXICITY_WORDS)
        self.says_taking = "taking" in lowered or "receiving" in lowered
        self.gives_examples = may_contain(norm.text, lowered, ("such as", "including"))
        self.may_continue = "continue" in lowered
        self.names_cause = any(word in lowered for word in ("related", "induced", "associated", "attribut"))
        self.says_even = may_contain(norm.text, lowered, ("even ", "including "))
        self.names_natural_history = may_contain(norm.text, lowered, ("natural history",))
        self.names_adjuvant = may_contain(norm.text, lowered, ("adjuvant", "intravesical", "operative"))
        self.names_involvement = may_contain(norm.text, lowered, ("involvement",))
        self.names_course = may_contain(norm.text, lowered, _COURSE_WORDS)
        self.names_event = may_contain(norm.text, lowered, _DISEASE_EVENT_WORDS)
        # `_treatment_duration` per atom index: both `_judged_suitable` and `_qualifier` ask for it.
        self._durations: dict[int, tuple[int, int, bool] | None] = {}
        # For `_may_hold`: normalisation leaves none of the letters IGNORECASE folds to ASCII, so the
        # lower-cased text keeps the offsets (only U+0130 lengthens in lower()) and a case-insensitive
        # pattern reads a word only where the lower-cased text holds it. Otherwise any span may hold anything.
        folded = holds_folded(norm.text)
        self.lowered = lowered if len(lowered) == len(norm.text) and not folded else None

    def _may_hold(self, word: str, start: int, end: int) -> bool:
        """False only when no case-insensitive match of `word` (lower case) lies in text[start:end]."""
        return self.lowered is None or self.lowered.find(word, start, end) >= 0

    def _original(self, start: int, end: int) -> tuple[str, tuple[int, int]]:
        span = self.norm.to_original(start, end)
        return self.norm.original[span[0] : span[1]], span

    def criterion(self, item: Item) -> Criterion:
        end = _last_end(item)
        text, span = self._original(item.start, end)
        tree = self.node(item, _Scope())
        pruned = _without_mentions(tree)
        if pruned is None or pruned is tree or pruned == tree:
            return Criterion.make(item.section, text, span, tree, item.cohort)
        kept = {id(a) for a in iter_atoms(pruned)}
        mentions = tuple(a for a in iter_atoms(tree) if id(a) not in kept)
        return Criterion.make(item.section, text, span, pruned, item.cohort, mentions)

    def node(self, item: Item, scope: _Scope) -> Node:
        if not item.children:
            return self.leaf(item, scope)
        header = self.norm.text[item.start : item.end]
        # A header's own condition must be something linked or read by a rule, not a lexicon phrase.
        every = self._indices(item.start, item.end)
        indices = [i for i in every if not self.found[i].rule_id.startswith("lexicon.")]
        passed = self.context.trailing(header)
        if passed is not None:
            category, cue = passed
            scope = replace(scope, assertion=category, cue=(item.start + cue.start, item.start + cue.end))
        if self._names_cns(indices):
            scope = replace(scope, about_cns=True)
        for start, end, window in self.windows:
            if item.start <= start < item.end:
                # "History of any of the following within 6 months of enrolment:" dates every sub-item.
                scope = replace(scope, window=replace(window, span=self.norm.to_original(start, end)))
                break
        listed_exceptions = bool(indices) and _EXCEPTIONS_HEADER.search(header) is not None
        conditional = self._conditional(header, item.start, indices)
        if item.section == "inclusion" and _PERMISSION_HEADER.search(header):
            # "EXCEPTIONS: These non-breast malignancies are eligible even if diagnosed =< 5 years prior to
            # registration:" lists what is let in; none of it is required.
            text, span = self._original(item.start, _last_end(item))
            permission = Concept("other", "permission", "what the criteria let in")
            return Atom("other", text, span, "permission.group", 0.5, checkable=False, concept=permission)
        exception = listed_exceptions or (conditional and item.section == "exclusion")
        child_scope = replace(scope, in_exception=scope.in_exception or exception)
        children = tuple(self.node(child, child_scope) for child in item.children)
        if item.section == "inclusion" and _EXCLUDING_HEADER.search(header):
            # "Excluded:", "Patients with the following conditions are excluded:", "You will not be eligible
            # for this study if you:" among the inclusions: none of the sub-items may hold.
            return Not(children[0] if len(children) == 1 else Or(children))
        if not item.marker and POPULATION_LABEL.match(header):
            return self._population(item, every, children)
        negated_group = scope.assertion == "negated" and not self._polarity_conflict(item.section, scope)
        if len(children) == 1:
            body = children[0]
        elif (
            negated_group
            or listed_exceptions
            or (item.is_or_group(self.norm.text) and not exception)
            or OR_GROUP.search(header)
            or (item.section == "inclusion" and _ELIGIBLE_DISEASES_HEADER.search(header))
            or (not exception and self._names_diagnoses(item.children))
            or (item.section == "inclusion" and _by_cohort(item))
        ):
            # "No history of any of the following:" excludes each one: none of them, not "not all of them".
            # Requirements labelled by cohort ("Cohort B1: ... enfortumab vedotin naive", "Cohort B2: ... must
            # have received enfortumab vedotin", NCT06465069) are met by meeting any one cohort's.
            body = Or(children)
        else:
            body = And(children)
        if negated_group:
            body = Not(body)
        if not indices:
            return body
        for_ages = [i for i in indices if self._for_age(i)]
        if for_ages and len(for_ages) < len(indices) and not exception and not conditional:
            # "Evaluation of siblings as donors required for patients 55 years of age and younger" over its
            # sub-items: the age says whom the header and its sub-items bind (or exclude), as in a leaf.
            ages = self.combine(for_ages, item.section, _Scope())
            rest = [i for i in every if i not in for_ages]
            head = self.combine(rest, item.section, _Scope(in_exception=scope.in_exception))
            if item.section == "inclusion":
                return Or((Not(ages), And((head, body))))
            return And((ages, head, body))
        # The header's lexicon phrases still join its list ("AML, acute lymphocytic leukemia, myelodysplasia,
        # or lymphoma" is one Or); criterion() drops them from the tree afterwards.
        head = self.combine(every, item.section, _Scope(in_exception=scope.in_exception))
        if exception:
            # "Patients with brain metastases are eligible if:" inside the exclusions, or "History of other
            # malignancy, with the following exceptions:" (any one of them is enough).
            return Except(head, body)
        if conditional and item.section == "inclusion":
            # "Women of childbearing potential must:": the sub-items bind only those the header names.
            return Or((Not(head), body))
        return And((head, body))

    def _population(self, item: Item, every: list[int], children: tuple[Node, ...]) -> Node:
        """A group's criteria under the line naming its population ("for acromegaly" over its bullets): they
        bind only that population. Among the inclusions the rest need not meet them; among the exclusions
        they exclude only members of it. A population the vocabulary does not name ("for GHD") is a
        question for the site, so its group's criteria never rule anyone out alone."""
        if every:
            head = self.combine(every, item.section, _Scope())
        else:
            text, span = self._original(item.start, item.end)
            head = Atom("other", text, span, QUALIFIER_RULE, 0.5, checkable=False, mapped=False)
        if item.section == "inclusion":
            return Or((Not(head), children[0] if len(children) == 1 else And(children)))
        return And((head, children[0] if len(children) == 1 else Or(children)))

    def _names_diagnoses(self, children: list[Item]) -> bool:
        """Whether each sub-item opens with a different diagnosis, stated plainly: "Diseases to be
        included:" over "CML chronic phase", "Acute lymphoblastic leukemia (ALL) in remission", ... lists
        alternatives; no patient has them all. So does a list of diagnoses each heading its own sub-items
        ("Chronic myelogenous leukemia" over "Presence of Philadelphia chromosome", then "Multiple myeloma"
        over "Typical marrow morphology"): the child's own line is read."""
        codes = set()
        for child in children:
            linked = [
                i
                for i in self._indices(child.start, child.end)
                if not self.found[i].rule_id.startswith("lexicon.")
            ]
            if not linked:
                continue  # a name the vocabulary lacks ("Myeloproliferative syndromes") is one more choice
            first = self.found[linked[0]]
            concept = first.concept
            if (
                first.kind != "condition"
                or concept is None
                or concept.system != "diagnosis"
                or self.assertions[linked[0]][0] != "present"
            ):
                return False
            if concept.code in codes:
                return False
            codes.add(concept.code)
        return len(codes) > 1

    def _conditional(self, header: str, offset: int, indices: list[int]) -> bool:
        """Whether the header names whom its sub-items bind: the condition comes before "must" ("Women of
        childbearing potential must:") or after a leading "if" ("If of childbearing potential, must:"), not
        after the verb ("Patients must have measurable disease, defined as:" defines, it binds no one)."""
        if indices and all(self.found[i].rule_id.startswith("demographic.age") for i in indices):
            # An age band over its own sub-items ("Age 65-70 years:" then "Under 65 years:", each with its
            # own limits) says whom they bind, not an age every patient must have.
            return True
        if indices and _FOR_WHOM_HEADER.match(header):
            # "For subjects of childbearing potential:", "For men:" over their sub-items.
            return True
        keyword = _CONDITIONAL_HEADER.search(header)
        if keyword is None or not indices:
            return False
        if keyword.group(0).lower() == "if" and not header[: keyword.start()].strip(" -*"):
            return True
        return self.found[indices[0]].start < offset + keyword.start()

    def _names_cns(self, indices: list[int]) -> bool:
        concepts = (self.found[i].concept for i in indices)
        return any(concept is not None and concept.code in _CNS_CODES for concept in concepts)

    def _indices(self, start: int, end: int) -> list[int]:
        low, high = bisect_left(self.starts, start), bisect_left(self.starts, end)
        return [i for i in range(low, high) if self.found[i].end <= end]

    def leaf(self, item: Item, scope: _Scope) -> Node:
        indices = self._without_assessment_methods(self._indices(item.start, item.end), item)
        if not indices:
            text, span = self._original(item.start, item.end)
            if scope.about_cns and _STABLE_CNS.search(text):
                return self.stable_cns(text, span)
            return Atom("other", text, span, "fallback.unparsed", 0.1, checkable=False, mapped=False)
        bound = self._bound_clauses(item, indices, scope) if item.section == "inclusion" else None
        if bound is not None:
            return bound
        groups = self._inline_groups(item, indices, scope) if item.section == "inclusion" else None
        if groups is not None:
            return groups
        for_ages = [i for i in indices if self._for_age(i)]
        if for_ages and len(for_ages) < len(indices):
            # "Evaluation of siblings as donors required for patients 55 years of age and younger": the age
            # says whom the rest binds (inclusion) or excludes (exclusion), not an age every patient needs.
            ages = self.combine(for_ages, item.section, scope)
            rest = self.combine([i for i in indices if i not in for_ages], item.section, scope)
            return _binds_only(item.section, ages, rest)
        cut = next((c for c in self.exception_cues if item.start <= c < item.end), None)
        condition = (
            _TRAILING_IF.search(self.norm.text, item.start, item.end)
            if cut is None and self._may_hold("if", item.start, item.end)
            else None
        )
        if condition is not None:
            required = [i for i in indices if self.found[i].end <= condition.start()]
            whom = [i for i in indices if self.found[i].start >= condition.end()]
            if (
                required
                and any(self.found[i].concept is not None for i in whom)
                and item.end - item.start < 200
                and ":" not in self.norm.text[item.start : item.end]
                and not _CLAUSE_END.search(self.norm.text, item.start, item.end)
            ):
                # "Creatinine clearance greater than 50 mL/min if no renal impairment": the requirement binds
                # only the patients the trailing "if" names (inclusion), or excludes only them (exclusion).
                applies = self.combine(whom, item.section, scope)
                rest = self.combine(required, item.section, scope)
                return _binds_only(item.section, applies, rest)
        # A bracketed exception ends at its bracket: in "epithelial ovarian cancer (except carcinosarcoma),
        # primary peritoneal, or fallopian tube cancer" (NCT03564340) the list goes on after it.
        close = item.end
        in_bracket = cut is not None and self.norm.text[max(0, cut - 3) : cut].rstrip().endswith("(")
        if cut is not None and in_bracket:
            bracket = self.norm.text.find(")", cut, item.end)
            if bracket != -1 and "(" not in self.norm.text[cut:bracket]:
                close = bracket
        main = [i for i in indices if cut is None or self.found[i].start < cut or self.found[i].start > close]
        exception = [i for i in indices if cut is not None and cut <= self.found[i].start < close]
        # An inclusion too, when the exception is a bracketed aside: "Resolution of prior clinically
        # significant therapy-related AEs (excluding alopecia and <= Grade 2 peripheral neuropathy) to
        # <= Grade 1" (NCT06090266) requires no neuropathy ("Phase 2 Cohorts except 2f: ... NSCLC with a
        # documented ALK rearrangement" still requires what follows the label).
        unread_main = (item.section == "exclusion" or in_bracket) and _WORD.search(
            self.norm.text, item.start, cut or item.start
        )
        if cut is None or not (main or unread_main):
            return self.combine(indices, item.section, scope)
        if main:
            main_node = self.combine(main, item.section, scope)
        else:
            # Excluded: "Previous therapy to the breast other than excisional biopsy", "Any disease other than
            # multiple sclerosis that would better explain ...". The main clause names nothing linked, so it
            # stays text for review; what follows the cue is still only an exception, never the reason.
            main_text, main_span = self._original(item.start, cut)
            main_node = Atom("other", main_text, main_span, "fallback.unparsed", 0.1, checkable=False)
        clause_text, clause_span = self._original(cut, close)
        about_cns = scope.about_cns or self._names_cns(main)
        exception_scope = replace(scope, in_exception=True)
        status = _CNS_STATUS.search(self.norm.text, cut, item.end) if about_cns else None
        permission = _PERMISSION_CUE.match(self.norm.text, cut)
        if permission is not None and self._permits_all(item, main, cut, permission.end()):
            condition = _PERMISSION_CONDITION.search(self.norm.text, permission.end(), item.end)
            if condition is None and all(self._let_in(i, item.section) for i in main):
                # "Prior radiotherapy is permitted.", "... may be enrolled": what is let in is all there is;
                # the permission itself asks nothing.
                return main_node
            if condition is not None and item.section == "inclusion":
                # "Patients with treated brain metastases may be eligible if they are neurologically stable":
                # binds only the patients it names, and whether they meet the condition is for the site.
                stated: list[Node] = []
                if status is not None:
                    stated.append(self.stable_cns(*self._original(cut, status.end())))
                elif exception:
                    stated.append(self.combine(exception, item.section, exception_scope))
                question = self._unanswerable(condition.start(), item.end)
                return Or((Not(main_node), And((*stated, question))))
        if status is not None:
            # The atom covers "unless neurologically stable", not the steroid clause that may follow.
            stable = self.stable_cns(*self._original(cut, status.end()))
            if not exception:
                return Except(main_node, stable)
            rest = self.combine(exception, item.section, exception_scope)
            return Except(main_node, And((stable, *(rest.children if isinstance(rest, And) else (rest,)))))
        if exception:
            waiver = self.combine(exception, item.section, exception_scope)
            if item.section == "inclusion" and not main and _DENIAL_OPENS.match(self.norm.text, item.start):
                # "No clinically significant abnormality in CXR (other than changes consistent with asthma)"
                # (NCT00001909, judged eligible for a boy with asthma in the TREC pool): what a denial excepts
                # is allowed, not excluded; with the main clause unread, whether it applies is for the site.
                return Or((main_node, And((waiver, self._unanswerable(cut, item.end)))))
            if item.section == "inclusion" and (
                self.norm.text[cut : cut + 6].lower() == "unless"
                or _EXCEPT_FOR_WHOM.match(self.norm.text, cut, item.end) is not None
            ):
                # A requirement "unless" something waives it: "SGOT no greater than 1.5 times ULN (unless due
                # to hemolysis or chronic lymphocytic leukemia)" is not failed by a patient with CLL. Whether
                # the waiver applies (is the SGOT raised by the CLL?) is for the site: having CLL makes it a
                # question, not a pass. ("except" in an inclusion narrows what is required instead: "solid
                # tumour except lymphoma", unless it says what holds for those it names: "measurable disease
                # per RECIST 1.1, except for ovarian cancer where participants will be evaluated according to
                # Gynecologic Cancer InterGroup criteria", NCT07186842.)
                return Or((main_node, And((waiver, self._unanswerable(cut, item.end)))))
            return Except(main_node, waiver)
        # "unless approved by the sponsor" names nothing we can link: the exception stays text for review.
        clause = Atom(
            "other", clause_text, clause_span, "exception.clause", 0.3, checkable=False, assertion="exception"
        )
        return Except(main_node, clause)

    def _bound_clauses(self, item: Item, indices: list[int], scope: _Scope) -> Node | None:
        """Clauses "patients with X must Y" inside an inclusion item bind only the patients with X: each is
        Or(Not(X), Y); the rest of the item is read as before. A population the vocabulary does not name is a
        question for the site, and a requirement it cannot read is left for review, so neither rules anyone
        out alone. None when the item has no such clause (or an exception cue, read by the usual rules)."""
        if not (self.says_must or self.names_whom):
            return None
        text = self.norm.text
        clauses: list[tuple[int, int, int]] = []  # (clause start, "must", clause end)
        position = text.rfind("\n", 0, item.start) + 1  # the item's bullet opens its line
        patterns = (
            (_BOUND_CLAUSE, _DISEASE_MUST, _INFECTED_MUST, _FOR_WHOM)
            if self.names_whom
            else (_BOUND_CLAUSE, _DISEASE_MUST, _INFECTED_MUST)
        )
        while True:
            found = [m for m in (r.search(text, position, item.end) for r in patterns) if m]
            if not found:
                break
            match = min(found, key=lambda m: (m.start(), m.re is _DISEASE_MUST))
            if (
                (match.group(0)[0] not in ";." and text[item.start : match.start("who")].strip(" \t*-"))
                or (
                    match.re is _DISEASE_MUST
                    and not self._names_diseases(match.start("whom"), match.end("whom"))
                )
                or (
                    (match.re is _FOR_WHOM or (match.re is _BOUND_CLAUSE and match.group("on")))
                    and not self._reads_any(self._indices(match.start("whom"), match.end("whom")))
                )
                or (
                    match.re is _INFECTED_MUST
                    and not self._names_infections(match.start("whom"), match.end("whom"))
                )
            ):
                # A line start inside the item is a hard wrap, not the start of a clause; a subject that is
                # not a disease ("Patients must have", "Measurable disease must be present") binds everyone.
                position = match.end()
                continue
            end_match = _CLAUSE_END.search(text, match.end(), item.end)
            end = end_match.start() if end_match else item.end
            clauses.append((match.start("who"), match.end("whom"), end))
            position = end
        if not clauses or any(
            item.start <= c < item.end and not any(s <= c < e for s, _, e in clauses)
            for c in self.exception_cues
        ):
            # An exception outside the bound clauses is read by the usual rules.
            return None
        parts: list[Node] = []
        outside = [i for i in indices if not any(s <= self.found[i].start < e for s, _, e in clauses)]
        if outside:
            parts.append(self.combine(outside, item.section, scope))
        for start, must, end in clauses:
            whom = [i for i in indices if start <= self.found[i].start and self.found[i].end <= must]
            named = {self.found[i].concept for i in whom if self.found[i].concept is not None}
            # "For patients with chronic HBV infection, the HBV viral load must be undetectable": the disease
            # named again in the requirement is its subject, not what is required.
            required = [
                i for i in indices if must <= self.found[i].start < end and self.found[i].concept not in named
            ]
            if self._reads_any(whom):
                head = self.combine(whom, item.section, _Scope())
            else:
                # Lexicon phrases only ("symptomatic gallbladder disease") stay mentions beside the question.
                head_text, head_span = self._original(start, must)
                head = Atom("other", head_text, head_span, QUALIFIER_RULE, 0.5, checkable=False, mapped=False)
                if whom:
                    head = And((self.combine(whom, item.section, _Scope()), head))
            if self._reads_any(required):
                rest = self.combine(required, item.section, scope)
            else:
                # Nothing read but lexicon phrases, which `_without_mentions` would drop, leaving Not(head):
                # the requirement stays, unread, for review.
                rest_text, rest_span = self._original(must, end)
                rest = Atom(
                    "other", rest_text, rest_span, "fallback.unparsed", 0.1, checkable=False, mapped=False
                )
            parts.append(Or((Not(head), rest)))
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def _previous_read(self, index: int) -> int:
        """The index of the nearest atom before `index` that is not a lexicon phrase alone, or -1."""
        previous = index - 1
        while previous >= 0 and self.found[previous].rule_id.startswith(LEXICON_PREFIX):
            previous -= 1
        return previous

    def _reads_any(self, indices: Iterable[int]) -> bool:
        """Whether any of the atoms is linked or read by a rule, not a lexicon phrase alone."""
        return any(not self.found[i].rule_id.startswith(LEXICON_PREFIX) for i in indices)

    def _names_diseases(self, start: int, end: int) -> bool:
        """Whether the words are a specific disease's name alone, perhaps qualified ("Lymphoma", "Chronic
        lymphocytic leukemia", "Indolent lymphoma"): not a generic "tumor" or "malignancy", not a treatment
        or a specimen of it ("Primary therapy for multiple myeloma", "Histologic sections of the tumor")."""
        inside = self._indices(start, end)
        diseases = [
            i
            for i in inside
            if (concept := self.found[i].concept) is not None
            and concept.system == "diagnosis"
            and concept.code not in _SECOND_CANCER_CODES
        ]
        if not diseases or any(i not in diseases and self.found[i].rule_id != QUALIFIER_RULE for i in inside):
            return False
        first = min(self.found[i].start for i in inside)
        before = self.norm.text[start:first]
        # A state no profile records may stand before the disease: "Symptomatic central nervous system (CNS)
        # metastases must have been treated" (NCT05267626).
        return (
            not before.strip()
            or _QUALIFIER.match(self.norm.text, start, first) is not None
            or _UNTREATED_QUALIFIER.match(self.norm.text, start, first) is not None
        ) and not self.norm.text[max(self.found[i].end for i in diseases) : end].strip()

    def _names_infections(self, start: int, end: int) -> bool:
        """Whether the words name infectious diseases (ICD-10 A00-B99) and nothing else the parser reads."""
        inside = self._indices(start, end)
        return bool(inside) and all(_is_infection(self.found[i].concept) for i in inside)

    def _for_age(self, index: int) -> bool:
        """Whether an age names whom the criterion is for ("required for patients 55 years of age and
        younger", "in patients aged 70 or older")."""
        found = self.found[index]
        if not found.rule_id.startswith("demographic.age"):
            return False
        return _FOR_AGE.search(self.norm.text, max(0, found.start - 40), found.start) is not None

    def _without_assessment_methods(self, indices: list[int], item: Item) -> list[int]:
        """Drops procedures named as the way something is judged ("stable ... as ascertained by brain
        imaging (MRI or CT)", "measurable as assessed by CT"): they are not requirements of their own."""
        if not self.names_assessment:
            return indices
        method = _ASSESSED_BY.search(self.norm.text, item.start, item.end)
        if method is None:
            return indices
        clause_end = _CLAUSE_END.search(self.norm.text, method.end(), item.end)
        end = clause_end.start() if clause_end else item.end
        return [
            i
            for i in indices
            if not (self.found[i].kind == "procedure" and method.start() <= self.found[i].start < end)
        ]

    @staticmethod
    def stable_cns(text: str, span: tuple[int, int]) -> Atom:
        # Whether metastases are treated and stable is the investigator's call from imaging and symptoms,
        # so the matcher asks rather than decides.
        return Atom(
            "other",
            text,
            span,
            "exception.brain_metastases_stable",
            0.8,
            checkable=False,
            mapped=True,
            concept=STABLE_CNS,
            assertion="exception",
        )

    def _polarity_conflict(self, section: Section, scope: _Scope, cue: tuple[int, int] | None = None) -> bool:
        """A negation inside an exclusion ("Exclusion: No prior chemotherapy") is read as the bare mention,
        flagged for review; not when the negated verb describes the people excluded ("Patients who have not
        had a spirometry test"): that double negative excludes those without it."""
        if cue is not None and _PEOPLE_WHO.search(self.norm.text, max(0, cue[0] - 40), cue[0]):
            return False
        return section == "exclusion" and not scope.in_exception

    def combine(self, indices: list[int], section: Section, scope: _Scope) -> Node:
        """Atoms joined by "or" (or by commas in a list ending in "or") form an Or; other runs are And-ed.

        In an exclusion, a bare comma list ("HIV, hepatitis B, hepatitis C") names things that each exclude
        on their own, so it is an Or there too; an exception's list stays a conjunction.
        """
        comma_means_or = section == "exclusion" and not scope.in_exception
        runs: list[list[Node]] = [[self.atom_node(indices[0], section, scope)]]
        run_is_or: list[bool] = [False]
        run_says_or: list[bool] = [False]
        run_of_examples: list[bool] = [False]  # a general term, then "including"/"e.g." and its instances
        run_indices: list[list[int]] = [[indices[0]]]  # the found atoms of each run ([] once joined)
        start = self.found[indices[0]].start
        examples = _EXAMPLES_CUE.search(self.norm.text, max(0, start - 40), start) is not None
        # Drugs in brackets right after a word, their class ("at least one ARDT (enzalutamide, abiraterone,
        # apalutamide, darolutamide)", NCT06691984): its instances, up to the closing bracket.
        instances = self.found[indices[0]].kind == "therapy" and bool(
            _OPENS_INSTANCES.search(self.norm.text, max(0, start - 40), start)
        )
        if not comma_means_or and len(indices) > 1 and self._alterations_of_one_gene(indices):
            # "at least one documented sensitising EGFR mutation: exon19 deletion, L858R mutation, and/or
            # T790M" (NCT05261399): any one of the gene's alterations listed is enough.
            before = _AT_LEAST_ONE_BEFORE.search(self.norm.text, max(0, start - 60), start)
            comma_means_or = before is not None
        carried: tuple[Node, list[Node]] | None = None  # an alteration and the cancers said to carry it
        for previous, current in itertools.pairwise(indices):
            gap = self.norm.text[self.found[previous].end : self.found[current].start]
            if gap.lstrip().startswith(")") and self.norm.text.endswith("(", 0, self.found[previous].start):
                # After an abbreviation in brackets ("non-Hodgkin lymphoma (NHL), chronic lymphocytic
                # leukemia"), the list goes on as it would after the name itself.
                gap = gap.lstrip()[1:]
            elif (bracketed := _ABBREVIATION_GAP.match(gap)) is not None:
                # So it does after an abbreviation the parser does not read: "lung cancer (LCA), prostate
                # cancer (PCA), ovarian cancer (OV)" lists three cancers (NCT04314401).
                gap = gap[bracketed.end() :]
            elif (aside := _EXCEPTION_ASIDE.match(gap)) is not None:
                # So it does after a kind the bracket leaves out: "epithelial ovarian cancer (except
                # carcinosarcoma), primary peritoneal, or fallopian tube cancer" (NCT03564340).
                gap = gap[aside.end() :]
            node = self.atom_node(current, section, scope)
            if self._indication_of(previous, current) and all(
                self.found[i].kind in ("therapy", "procedure") for i in run_indices[-1]
            ):
                # "No chemotherapy for treatment of any other prior malignancy": the treatment counts only
                # when given for that condition, so the two are one conjunction under one negation; so do
                # the treatments listed before it ("No prior chemotherapy or radiotherapy for breast cancer").
                treatments = _run_node(runs[-1], run_is_or[-1], run_says_or[-1], run_of_examples[-1])
                runs[-1] = [_treated_for(treatments, node)]
                run_is_or[-1] = run_says_or[-1] = run_of_examples[-1] = False
                run_indices[-1] = []
                continue
            if carried is not None:
                concept = self.found[current].concept
                if concept is not None and is_cancer(concept.code) and _link(gap) in ("or", "list"):
                    # "BRAF V600E-mutated cutaneous melanoma, papillary thyroid cancer, or NSCLC"
                    # (NCT05503797): each cancer listed carries the alteration.
                    carried[1].append(node)
                    cancers = _run_node(carried[1], is_or=True, says_or=True, of_examples=False)
                    runs[-1][-1] = _treated_for(carried[0], cancers)
                    continue
                carried = None
            if self._tumour_carrying(previous, current):
                # "MET Exon-14 skipping mutant NSCLC" in a list of alterations (NCT06116682): the cancer is
                # the tumour that carries the alteration, one thing with it; negated, the pair is (as above).
                carried = (runs[-1][-1], [node])
                runs[-1][-1] = _treated_for(runs[-1][-1], node)
                continue
            link = _link(gap)
            cue = _EXAMPLES_CUE.search(gap)
            if self.found[current].kind == "therapy" and _OPENS_INSTANCES.search(gap):
                instances = True
            elif instances and (")" in gap or self.found[current].kind != "therapy"):
                instances = False
            elif instances and link in ("and", "list") and not _SENTENCE_BREAK.search(gap):
                link = "or"
            if cue is not None:
                # "Systemic therapy (including chemotherapy, interferons, and immune modulators)", "any prior
                # treatment ..., including radiotherapy, octreotide, ..., or prior surgery": what follows are
                # examples, any one of them enough, and right after the general term they are instances of it.
                examples = True
                link = "or" if not gap[: cue.start()].strip(" ,(\n") else "apart"
                if link == "or":
                    run_of_examples[-1] = True
            elif examples and not _SENTENCE_BREAK.search(gap):
                if link in ("and", "list") or (
                    link == "apart" and len(gap.split()) <= 6 and _COMMA_OR_OR.search(gap)
                ):
                    link = "or"
            else:
                examples = False
            if self.found[current].rule_id == "biomarker.shared_head":
                # "BRCA1/2 mutation" names either gene, as "BRCA1 or BRCA2 mutation" does: no carrier of
                # one need carry the other.
                link = "or"
            elif link == "and" and _pregnant_and_nursing(
                self.found[previous], self.found[current], node, runs[-1][-1]
            ):
                # "Pregnant and nursing females will be excluded": no one need be both; either excludes.
                link = "or"
            elif link == "and" and _disjoint_ages(
                self.found[previous], self.found[current], node, runs[-1][-1]
            ):
                # "under the age of 18 and over the age 90": no one is both, so the text means either.
                link = "or"
            elif (
                link in ("and", "list", "apart")
                and _both_stages(self.found[previous], self.found[current], node, runs[-1][-1])
                and not _SENTENCE_OR_LINE_BREAK.search(gap)
            ):
                # "stage IIB, IIIA, IIIB, IIIC, or previously untreated stage IV": a patient has one stage,
                # so the stages a sentence lists are alternatives.
                link = "or"
            elif link == "list" and _sex_of_disease(self.found[previous], self.found[current], gap):
                # "Male breast cancer": a man's breast cancer, not either a man or a breast cancer.
                link = "apart"
            elif link == "list" and _qualifier_of_disease(self.found[previous], self.found[current], gap):
                # "Stage IV colorectal cancer" (NCT04624555), "MSS colorectal cancer" (NCT05856981): that form
                # of the disease, one conjunction that stays an item of its list ("anal cancer, thymic
                # carcinoma, MSI-H CRC, esophagogastric cancer", NCT05544929); qualifiers listed before it
                # qualify it together ("MSI-H or dMMR colorectal cancer").
                if all(self._qualifies(i) for i in run_indices[-1]):
                    qualifiers = _run_node(runs[-1], run_is_or[-1], run_says_or[-1], run_of_examples[-1])
                    runs[-1] = [And((qualifiers, node))]
                    run_is_or[-1] = run_says_or[-1] = run_of_examples[-1] = False
                    run_indices[-1] = [current]
                else:
                    runs[-1][-1] = And((runs[-1][-1], node))
                    run_indices[-1].append(current)
                continue
            elif link in ("and", "list") and _distinct_cancers(self.found[previous], self.found[current]):
                # "with non-Hodgkin lymphoma, chronic lymphocytic leukemia and multiple myeloma", "leukemia,
                # lymphoma, myeloma, and aplastic anemia treatment protocols": no one is recruited for having
                # two kinds of cancer, so the kinds are alternatives.
                link = "or"
            elif (
                link == "apart"
                and _distinct_cancers(self.found[previous], self.found[current], nested=True)
                and not _SENTENCE_BREAK.search(gap)
                and _OR_WORD.search(gap)
            ):
                # "diagnosis of indolent lymphoma as defined by International Working Formulation categories
                # A-C or diagnosis of Waldenstrom's macroglobulinemia": a kind of cancer after an "or" in the
                # same sentence is another alternative, however many words describe the first.
                link = "or"
            elif (
                link == "apart"
                and _distinct_cancers(self.found[previous], self.found[current])
                and _UNREAD_LIST_ITEMS.fullmatch(gap)
            ):
                # "breast cancer, ovarian cancer, BTC, endometrial cancer or squamous non-small cell lung
                # cancer" (NCT05123482): the list of alternatives goes on across a cancer the vocabulary
                # does not name.
                link = "or"
            elif link == "apart" and self._treatment_alternative(previous, current, gap):
                # "Ongoing gonadal androgen deprivation therapy with gonadotropin-releasing hormone (GnRH)
                # analogues, antagonists or orchiectomy" (NCT04038502): so is a treatment after an "or".
                link = "or"
            if cue is None and "(" in gap and isinstance(node, Not) != isinstance(runs[-1][-1], Not):
                # "cutaneous melanoma (mucosal melanoma or uveal melanoma are excluded)" (NCT04930783): a
                # bracket that turns the polarity starts a part of its own, joined to what it follows.
                # (Examples in brackets share their general term's negation instead: `_run_node`.)
                link = "apart"
            if link in ("or", "list"):
                runs[-1].append(node)
                run_indices[-1].append(current)
                run_says_or[-1] = run_says_or[-1] or link == "or"
                run_is_or[-1] = run_is_or[-1] or link == "or" or comma_means_or
            else:
                runs.append([node])
                run_indices.append([current])
                run_is_or.append(False)
                run_says_or.append(False)
                run_of_examples.append(False)
        groups = [_run_node(*run) for run in zip(runs, run_is_or, run_says_or, run_of_examples, strict=True)]
        return groups[0] if len(groups) == 1 else And(tuple(groups))

    def _qualifies(self, index: int) -> bool:
        """A stage or a biomarker, which a disease right after it takes as its adjective."""
        found = self.found[index]
        return found.concept is not None and (found.kind == "biomarker" or found.concept.system == "stage")

    def _treatment_alternative(self, previous: int, current: int, gap: str) -> bool:
        """Whether a treatment follows another after an "or", in the same sentence, no "and" between them."""
        return (
            self.found[previous].kind in ("therapy", "procedure")
            and self.found[current].kind in ("therapy", "procedure")
            and len(gap.split()) <= 12
            and _OR_BEFORE_NEXT.search(gap) is not None
            and not _SENTENCE_OR_LINE_BREAK.search(gap)
            and not _AND_WORD.search(gap)
        )

    def _alterations_of_one_gene(self, indices: list[int]) -> bool:
        found = [self.found[i] for i in indices]
        return all(f.kind == "biomarker" and f.concept is not None for f in found) and (
            len({f.concept.code for f in found if f.concept is not None}) == 1
        )

    def atom_node(self, index: int, section: Section, scope: _Scope) -> Node:
        found = self.found[index]
        assertion, cue = self.assertions[index]
        # A negated group header ("No history of any of the following:") negates the group as a whole.
        negated_by_group = False
        if assertion == "present" and scope.assertion is not None:
            assertion, cue = scope.assertion, scope.cue
            negated_by_group = assertion == "negated"
        # Inside an exception a negation still counts: "unless stable and not requiring steroids".
        if scope.in_exception and assertion not in ("negated", "exception"):
            assertion, cue = "exception", None
        if (
            assertion == "negated"
            and cue is not None
            and section == "exclusion"
            and not scope.in_exception
            and _EXCLUDING_HEADER.fullmatch(self.norm.text, *cue)
        ):
            # "Patients with HIV infection are ineligible" among the exclusions says again that it excludes.
            assertion, cue = "present", None
        if assertion == "negated" and cue is not None and self._counted_from(cue, found):
            # "no evidence of disease progression within 6 months of the last dose of platinum-based
            # chemotherapy" (NCT04890613) denies the progression, not the platinum it counts from.
            assertion, cue = "present", None
        # "No family history of long QT syndrome": the relative's history stays unanswerable, and denied.
        denied = assertion == "negated" or (assertion == "family" and self._denied_family(cue))
        review = None
        if denied and self._polarity_conflict(section, scope, cue):
            review = "polarity conflict: negated mention inside an exclusion criterion"
        text, span = self._original(found.start, found.end)
        window = (
            self._window_of(found, scope, section)
            if found.kind in _WINDOWED_KINDS
            and not self._disease_event(index)
            and not (found.kind == "condition" and _TISSUE_AFTER.match(self.norm.text, found.end))
            else None
        )
        # A cue right before the treatment ("no concurrent radiotherapy") outweighs a window on its line.
        current = self._current(index)
        if current is None and window is None:
            current = self._taking(index)
        if current is not None:
            window = TimeWindow(0, "days", "current", span=self.norm.to_original(*current))
        # What the text permits excludes no one and requires nothing: the site weighs it, the profile cannot.
        permitted = (
            (assertion != "negated" and self._let_in(index, section))
            or self._judged_suitable(index)
            or self._consent_age(index)
            or (assertion != "negated" and section == "inclusion" and _is_transfusion(found))
            or self._optional(index)
            or self._regardless(index)
            or self._test_to_undergo(index)
            or self._test_not_required(index)
            or self._study_product(index)
            or self._tolerated_toxicity(index, section)
        )
        atom = Atom.make(
            kind=found.kind,
            text=found.display or text,
            span=span,
            rule_id=found.rule_id,
            confidence=found.confidence * (0.5 if review else 1.0),
            checkable=found.checkable
            and not permitted
            and assertion != "family"
            and not (section == "inclusion" and _is_assessment(found)),
            mapped=found.concept is not None,
            concept=found.concept,
            comparator=found.comparator,
            value=found.value,
            value_high=found.value_high,
            values=found.values,
            unit=found.unit,
            uln_multiple=found.uln_multiple,
            lln_multiple=found.lln_multiple,
            alteration=found.alteration,
            assay=found.assay,
            window=window,
            assertion=assertion,  # type: ignore[arg-type]
            review=review,
            assertion_cue=self.norm.to_original(*cue) if cue and assertion != "present" else None,
        )
        node: Node = atom
        binds = False  # the atom names whom a requirement binds: "WOCBP must ..."
        personal = (
            _PERSONAL_OR.search(self.norm.text, max(0, cue[0] - 20), cue[0])
            if assertion == "family" and cue is not None
            else None
        )
        if personal is not None and cue is not None:
            own = replace(
                atom,
                checkable=found.checkable and not permitted,
                assertion="historical",
                assertion_cue=self.norm.to_original(personal.start(), cue[1]),
            )
            node = Or((own, atom))
        if self._known_status(index):
            # "Patients must have known BRAF mutational status of tumor; wild-type (WT) or mutated"
            # (NCT02339571): tested, whatever the result, i.e. the alteration found or the gene wild type.
            node = Or((atom, replace(atom, alteration="wild_type")))
        requirement = found.extra.get("requirement")
        if isinstance(requirement, Concept) and requirement.code != "wocbp":
            # "WOCBP must have a negative pregnancy test": not WOCBP, or the requirement holds. "Positive
            # pregnancy test for WOCBP", or an exclusion of "women of childbearing potential [unable to use]
            # adequate contraception": WOCBP, and the state the text excludes.
            needed = Atom(
                "pregnancy",
                atom.text,
                span,
                "pregnancy.wocbp_requirement",
                0.8,
                checkable=bool(found.extra.get("requirement_checkable")),
                mapped=True,
                concept=requirement,
            )
            joins_and = found.extra.get("requirement_joins") == "and" or (
                section == "exclusion" and requirement.code == "contraception"
            )
            node = And((atom, needed)) if joins_and else Or((Not(atom), needed))
            binds = not joins_and
        qualifier = self._qualifier(index, section, assertion)
        if qualifier is not None and (
            self._limits_treatments_for(index, qualifier)
            or (
                section == "inclusion"
                and assertion != "negated"
                and (self._toxicity_from(index) is not None or self._caused_after(index) is not None)
            )
            or (section == "inclusion" and assertion != "negated" and self._capped_dose(index))
        ):
            # "No more than 2 prior systemic regimens for treatment of lymphoma": a limit on the treatments
            # given for the disease, which a patient without it meets; with it, the count is for the site.
            # So is "Recovered from toxicities of prior therapy": met without the therapy, else asked.
            # So is "Steroids ... must be at a dose of at most 20 mg/day": met by a patient on none.
            node = Or((Not(node), qualifier))
        elif qualifier is not None:
            # The patient may have the condition without being in the state the text asks about: the
            # qualified atom can then be unknown, never met ("uncontrolled" is a question for the site).
            node = And((node, qualifier))
        if denied and review is None and not negated_by_group and not binds:
            node = Not(node)
        elif (node is atom or (isinstance(node, And) and node.children[0] is atom)) and self._washout(
            index, section, scope, atom
        ):
            # "At least 4 weeks since prior anticancer therapy": no such therapy in the last 4 weeks, which a
            # patient never treated meets; the most recent course counts, not any course long enough ago. A
            # qualified treatment ("palliative radiation >= 2 weeks") keeps its qualifier inside.
            assert window is not None
            within = replace(atom, window=replace(window, relation="within"))
            node = Not(And((within, *node.children[1:])) if isinstance(node, And) else within)
        return node

    def _window_of(self, found: extract.Found, scope: _Scope, section: Section) -> TimeWindow | None:
        """The first window on the atom's line, or the header's; in a washout listed treatment by treatment
        ("Major surgery (>= 4 weeks), radiation therapy (>= 3 weeks)") the one right after the treatment.
        An inclusion's cancer keeps no window that belongs to something after it (`_window_elsewhere`)."""
        on_line = [
            (start, end, w)
            for start, end, w in self.windows
            if self._same_line(found.start, start)
            and not (start < found.end and found.start < end)
            and not (section == "inclusion" and self._window_elsewhere(found, start))
            and not self._interval_between_events(start, end)
        ]
        if not on_line:
            return scope.window
        if any(w.anchor == "washout" for _, _, w in on_line):
            after = [(start, end, w) for start, end, w in on_line if start >= found.end]
            if after:
                on_line = [min(after, key=lambda window: window[0])]
        start, end, w = on_line[0]
        return replace(w, span=self.norm.to_original(start, end))

    def _window_elsewhere(self, found: extract.Found, start: int) -> bool:
        """Whether a window after an inclusion's cancer is the time of something else the sentence names
        after it: the progression or rise ("prostate cancer progression within 6 months", "mCRPC ... that has
        progressed within 6 months", NCT02861573, NCT05125016; "Castration resistant prostate cancer with
        rising PSA ..., no AR targeted agent in the prior 4 months", NCT05919329), the scan ("bone scan
        imaging obtained within 28 days", NCT06691984), or a later sentence ("... metastatic prostate cancer
        by bone scan. Scans must be obtained within 28 days", NCT06470243). The cancer was diagnosed whenever
        it was. Exclusions keep theirs: "additional malignancy that is progressing or has required active
        treatment within the past 3 years" dates the other cancer."""
        concept = found.concept
        if found.kind != "condition" or concept is None or not is_cancer(concept.code) or start < found.end:
            return False
        gap = self.norm.text[found.end : start]
        return _EVENT_BEFORE_WINDOW.search(gap) is not None or _STOP_BEFORE_WINDOW.search(gap) is not None

    def _interval_between_events(self, start: int, end: int) -> bool:
        """Whether the window is the time from a treatment to a progression or recurrence, the
        platinum-free interval of ovarian cancer trials ("disease progression within 6 months of last
        receipt of platinum-based chemotherapy", NCT04657068; "recurred within 6 months or less of prior
        platinum therapy", NCT05200559): neither the treatment nor the cancer on the line took place in that
        time before today. The treatment is still history; the interval is the site's to check. A window from
        a treatment to the study ("randomized ... no more than 12 weeks after their last dose of
        chemotherapy") is today's and stays."""
        return self._event_before_interval(start, end) is not None

    def _event_before_interval(self, start: int, end: int) -> int | None:
        """Where the progression or recurrence an interval window dates begins (`_interval_between_events`),
        or None when the window is no such interval."""
        if _WINDOW_COUNTS_FROM.match(self.norm.text, end) is None:
            return None
        offset = max(0, start - 60)
        event = _EVENT_ENDS_BEFORE_WINDOW.search(self.norm.text[offset:start])
        return None if event is None else offset + event.start()

    def _counted_from(self, cue: tuple[int, int], found: extract.Found) -> bool:
        """Whether a negated mention is what an interval after the cue counts from, or what the progression
        it dates happened on: "no evidence of disease progression within 6 months of the last dose of
        platinum-based chemotherapy" (NCT04890613) and "should not have progressed on platinum within six
        months of therapy" (NCT05327010) deny the progression, not the platinum."""
        for start, end, _ in self.windows:
            event = self._event_before_interval(start, end)
            if (
                event is not None
                and cue[1] <= event <= found.start
                and (end <= found.start or found.end <= start)
            ):
                return True
        return False

    def _washout(self, index: int, section: Section, scope: _Scope, atom: Atom) -> bool:
        """Whether an inclusion's "at least N since" window on a treatment is a washout rather than a
        treatment the patient must have had that long ago ("Must have received prior platinum at least 6
        months before enrolment" still asks for the platinum)."""
        window = atom.window
        if (
            section != "inclusion"
            or scope.in_exception
            or window is None
            or window.relation != "at_least"
            or atom.kind not in ("therapy", "procedure")
            or not atom.checkable
            or atom.assertion not in ("present", "historical")
        ):
            return False
        text, start = self.norm.text, self.found[index].start
        clause = text.rfind("\n", 0, start) + 1
        for end in _CLAUSE_END.finditer(text, clause, start):
            clause = end.end()
        return _TREATMENT_REQUIRED.search(text, clause, start) is None

    def _denied_family(self, cue: tuple[int, int] | None) -> bool:
        """Whether a family cue lies in a negation's scope ("No family history of X", "must not have ...
        family history of X")."""
        return (
            cue is not None
            and self.context.assertions(self.norm.text, self.cues, [cue[0]])[0][0] == "negated"
        )

    def _permits_all(self, item: Item, main: list[int], cut: int, after: int) -> bool:
        """Whether the item is one sentence permitting what it names, nothing negated ("No other prior
        invasive malignancy is allowed except ..." forbids), at least one of it linked or read by a rule, and
        no further exception after the permission."""
        text = self.norm.text
        end = _CLAUSE_END.search(text, item.start, item.end)
        return (
            bool(main)
            and (end is None or not text[end.end() : item.end].strip())
            and not any(cut < c < item.end for c in self.exception_cues)
            and all(self.assertions[i][0] != "negated" for i in main)
            and self._reads_any(main)
            and after <= item.end
        )

    def _let_in(self, index: int, section: Section) -> bool:
        """Whether the text permits what the atom names, later in its clause ("Prior radiotherapy allowed";
        among the inclusions also "... may be enrolled") or after "may have had" earlier in it."""
        start, end = self.found[index].start, self.found[index].end
        if self.permits and _PERMITTED.match(self.norm.text, end) is not None:
            return True
        # "Participants receiving an EGFR TKI at the time of signing informed consent may continue to take the
        # EGFR TKI until 5 days prior to Cycle 1 Day 1" (NCT07070232): a permission, either side.
        if (
            self.may_continue
            and self.found[index].kind == "therapy"
            and _MAY_CONTINUE.search(self.norm.text, *self._sentence_around(start, end)) is not None
        ):
            return True
        if self.names_natural_history and _DOES_NOT_INTERFERE.match(self.norm.text, end) is not None:
            return True
        if (
            self.may_have
            and self.found[index].rule_id != "therapy.lines"
            and _MAY_HAVE_HAD.search(self.norm.text, max(0, start - 140), start) is not None
        ):
            # A count of lines stays: "may have had up to 2 prior regimens" caps them.
            return True
        return (
            section == "inclusion"
            and self.may_be_eligible
            and (
                _MAY_BE_ELIGIBLE.match(self.norm.text, end) is not None
                or (
                    self.found[index].kind in ("condition", "therapy", "procedure")
                    and _ELIGIBLE_FOR_TRIAL.match(self.norm.text, end) is not None
                )
            )
        )

    def _known_status(self, index: int) -> bool:
        """Whether the text asks only that the gene's status be known ("known BRAF V600 mutation status",
        "RAS mutation status must be known"), not for a result."""
        found = self.found[index]
        if (
            found.kind != "biomarker"
            or not found.checkable  # "HER2 status known" names the test, for the site (`extract`)
            or found.alteration in ("wild_type", "negative")
            or not self.names_status
        ):
            return False
        status = _STATUS_AFTER.match(self.norm.text, found.end)
        if status is None:
            return False
        known_before = _KNOWN_BEFORE.search(self.norm.text, max(0, found.start - 40), found.start)
        return known_before is not None or _KNOWN_AFTER.match(self.norm.text, status.end()) is not None

    def _study_product(self, index: int) -> bool:
        """Whether the atom is the trial's own drug: "until 6 months after the last dose of investigational
        product", "daily adherence to investigational product" (NCT05094336). "An", "any" or "other
        investigational product" is one the patient had before, which the profile answers."""
        found = self.found[index]
        if not self.names_product or found.kind != "therapy":
            return False
        if not _INVESTIGATIONAL_PRODUCT.fullmatch(self.norm.text, found.start, found.end):
            return False
        line_start = self.norm.text.rfind("\n", 0, found.start) + 1
        return _ANOTHER_BEFORE.search(self.norm.text, max(line_start, found.start - 20), found.start) is None

    def _test_to_undergo(self, index: int) -> bool:
        """Whether the biomarker names a test the patient is to agree to, not a result: "or consent to BRAF
        V600 mutation testing per local institutional standards" (NCT06697301)."""
        found = self.found[index]
        if found.kind != "biomarker" or not self.names_status:
            return False
        return _TESTING_AFTER.match(self.norm.text, found.end) is not None and (
            _AGREE_TO_BEFORE.search(self.norm.text, max(0, found.start - 40), found.start) is not None
        )

    def _regardless(self, index: int) -> bool:
        """Whether the text asks the same of those who had the procedure: "required to use a condom (even
        after vasectomy)" (NCT05665361), "even if they have had a vasectomy" asks for no vasectomy."""
        found = self.found[index]
        if not self.says_even or found.kind != "procedure":
            return False
        line_start = self.norm.text.rfind("\n", 0, found.start) + 1
        return _EVEN_AFTER.search(self.norm.text, max(line_start, found.start - 50), found.start) is not None

    def _test_not_required(self, index: int) -> bool:
        """Whether the condition is named as what need not be tested for: "Testing for HIV is not required
        for entry onto the study" (NCT05863195), "HIV screening testing is not required" (NCT04317534)
        neither require nor exclude HIV."""
        found = self.found[index]
        if found.kind != "condition" or not self.names_not_required:
            return False
        line_start = self.norm.text.rfind("\n", 0, found.start) + 1
        before = _TEST_FOR_BEFORE.search(self.norm.text, max(found.start - 40, line_start), found.start)
        if before is not None and _NOT_REQUIRED_AFTER.match(self.norm.text, found.end) is not None:
            return True
        # ... or before the test: "HIV screening testing is not required" (NCT04317534).
        return _TEST_NOT_REQUIRED_AFTER.match(self.norm.text, found.end) is not None

    def _optional(self, index: int) -> bool:
        """Whether the text makes what the atom names optional: "Castrate levels of testosterone (< 50 ng/dL)
        with or without the use of androgen deprivation therapy" (NCT06236139) asks for neither."""
        if not self.says_optional:
            return False
        start = self.found[index].start
        line_start = self.norm.text.rfind("\n", 0, start) + 1
        if _WITH_OR_WITHOUT.search(self.norm.text, max(line_start, start - 60), start) is not None:
            return True
        # So is the rest of a list it heads: "paclitaxel with or without carboplatin, cisplatin, or
        # bevacizumab" (NCT03987555).
        previous = self._previous_read(index)
        return (
            previous >= 0
            and self.found[previous].kind in ("therapy", "procedure")
            and self.found[index].kind in ("therapy", "procedure")
            and _OPTIONAL_LIST_GAP.fullmatch(self.norm.text, self.found[previous].end, start) is not None
            and self._optional(previous)
        )

    def _anchors_after_last_dose(self, index: int, line_start: int) -> bool:
        """Whether the treatment is named as the time anchor of what goes on "for N months after the last
        dose of" it."""
        start = max(self.found[index].start - 100, line_start)
        return _AFTER_THE_LAST_DOSE.search(self.norm.text, start, self.found[index].start) is not None

    def _judged_suitable(self, index: int) -> bool:
        """Whether a treatment is named as what the patient is judged suitable for, or a disease curable
        with ("Not suitable for anesthesia or reconstructive surgery", "candidate for surgery", "incurable
        with surgery or radiotherapy", "ineligible for autologous transplant"), or as the start of the
        treatment to come ("drainage or surgical bypass prior to starting chemoradiotherapy", "before
        beginning any hormonal therapy", "scheduled to undergo upfront surgery", "for 2 days after the last
        dose of acalabrutinib"), or as what the patient
        tolerates or cannot take ("intolerance to octreotide", "unable to be treated with levodopa"), reacts
        to, swallows or absorbs ("hypersensitivity to pembrolizumab", "swallow the osimertinib tablets"): a
        judgement, a plan, a tolerance or an allergy, not a history a profile records."""
        found = self.found[index]
        if found.kind not in ("therapy", "procedure"):
            return False
        if self.judges_suitability:
            line_start = self.norm.text.rfind("\n", 0, found.start) + 1
            start = max(found.start - 100, line_start)
            cues = (
                _SUITABLE_FOR,
                _PRECLUDES,
                _INTERACTS_WITH,
                _PLANNED,
                _BEFORE_STARTING,
                _AFTER_THE_LAST_DOSE,
                _TOLERANCE_OF,
                _REACTS_TO,
                _RECOVERY_FROM,
                _REQUIRED_FOR,
            )
            if any(p.search(self.norm.text, start, found.start) for p in cues):
                return True
            if _AFTER_LAST_DOSE_AGAIN.search(self.norm.text, start, found.start) and any(
                self._anchors_after_last_dose(j, line_start)
                for j in range(index)
                if self.found[j].concept == found.concept and self.found[j].start >= line_start
            ):
                return True
            if _SUITABLE_AFTER.match(self.norm.text, found.end) or _PLANNED_AFTER.match(
                self.norm.text, found.end
            ):
                return True
            if _FOR_WHICH.search(self.norm.text, start, found.start) and _APPROPRIATE_AFTER.match(
                self.norm.text, found.end
            ):
                return True
            previous = self._previous_read(index)
            if (
                previous >= 0
                and self.found[previous].kind in ("therapy", "procedure")
                and self.found[previous].end >= line_start
                and _TREATMENT_LIST_GAP.match(self.norm.text[self.found[previous].end : found.start])
                and any(
                    p.search(
                        self.norm.text,
                        max(self.found[previous].start - 100, line_start),
                        self.found[previous].start,
                    )
                    for p in (_TOLERANCE_OF, _REACTS_TO, _RECOVERY_FROM)
                )
            ):
                # "Previous intolerance to or significant reaction secondary to fluorouracil or oxaliplatin"
                # (NCT04421820): the list after the intolerance shares it, however far the intolerance is;
                # so does one after an allergy ("hypersensitivity to pembrolizumab or BI-1206").
                return True
        # A cap on how long it was given: met by no treatment and by a short one, so having had it says
        # nothing.
        duration = self._treatment_duration(index)
        return duration is not None and duration[2]

    def _tolerated_toxicity(self, index: int, section: Section) -> bool:
        """Whether an inclusion's condition is an exception to the recovery from treatment toxicities the
        line asks for ("except for residual alopecia or grade 2 peripheral neuropathy"): what the patient
        may still have, which the profile cannot weigh and the trial does not require."""
        found = self.found[index]
        if section != "inclusion" or found.kind != "condition" or not self.names_toxicity:
            return False
        line_start = self.norm.text.rfind("\n", 0, found.start) + 1
        return _TOLERATED_TOXICITY.search(self.norm.text, line_start, found.start) is not None

    def _inline_groups(self, item: Item, indices: list[int], scope: _Scope) -> Node | None:
        """Groups labelled inside one item ("... Group 1: Patients who have not received other
        immunosuppressive therapy in the past ... Group 2: Patients considered steroid-dependent", in a
        merged PDQ paragraph) are alternative populations: what precedes the first label binds everyone,
        then any one group's text is enough. A group with nothing coded is a question for the site."""
        # Each label ends in its own colon: an item with fewer than two has fewer than two labels.
        if self.norm.text.count(":", item.start, item.end) < 2:
            return None
        labels = list(_INLINE_GROUP.finditer(self.norm.text, item.start, item.end))
        if len(labels) < 2:
            return None
        ends = [label.start() for label in labels[1:]] + [item.end]
        alternatives: list[Node] = []
        for start, end in zip((label.end() for label in labels), ends, strict=True):
            inside = [i for i in indices if start <= self.found[i].start < end]
            if self._reads_any(inside):
                alternatives.append(self.combine(inside, item.section, scope))
            else:
                lead = len(self.norm.text[start:end]) - len(self.norm.text[start:end].lstrip())
                text, span = self._original(start + lead, end)
                alternatives.append(
                    Atom("other", text, span, "fallback.unparsed", 0.1, checkable=False, mapped=False)
                )
        before = [i for i in indices if self.found[i].start < labels[0].start()]
        either = Or(tuple(alternatives))
        return And((self.combine(before, item.section, scope), either)) if before else either

    def _consent_age(self, index: int) -> bool:
        """Whether an age says for whom a parent or guardian gives consent ("Consent of parent or guardian if
        less than 18 years of age", "The patient (or his/her guardian if less than 18 years of age) must
        sign"): how consent is obtained at that age, not an age every patient needs."""
        found = self.found[index]
        if not found.rule_id.startswith("demographic.age"):
            return False
        start = max(found.start - 80, self.norm.text.rfind("\n", 0, found.start) + 1)
        if _GUARDIAN_BEFORE.search(self.norm.text, start, found.start) is not None:
            return True
        # "The procedure will be explained to subjects age 8-17 years with formal consent being obtained from
        # parents or legal guardian": the people the age names are those the guardians consent for.
        sentence_end = _CLAUSE_END.search(self.norm.text, found.end)
        after = self.norm.text[found.end : sentence_end.start() if sentence_end else len(self.norm.text)]
        return (
            _GUARDIAN_AFTER.search(after) is not None
            and _TO_PEOPLE.search(self.norm.text, start, found.start) is not None
        )

    def _indication_of(self, therapy: int, condition: int) -> bool:
        """Whether the condition at `condition` is what the treatment right before it was given for
        ("chemotherapy for breast cancer", "chemotherapy for treatment of any other prior malignancy")."""
        first, second = self.found[therapy], self.found[condition]
        if first.kind not in ("therapy", "procedure") or second.kind != "condition":
            return False
        concept = second.concept
        if concept is None or concept.system != "diagnosis":
            return False
        return _INDICATION.match(self.norm.text, first.end, second.start) is not None

    def _tumour_carrying(self, biomarker: int, condition: int) -> bool:
        """Whether the cancer at `condition` is named as carrying the alteration right before it ("MET exon 14
        skipping mutant NSCLC", "KRAS G12C-mutated colorectal cancer")."""
        first, second = self.found[biomarker], self.found[condition]
        if first.kind != "biomarker" or second.kind != "condition" or second.concept is None:
            return False
        if not is_cancer(second.concept.code):
            return False
        return _CARRIED_BY.fullmatch(self.norm.text, first.end, second.start) is not None

    def _limits_treatments_for(self, index: int, qualifier: Atom) -> bool:
        """Whether a diagnosis is the indication of treatments whose number or time the text caps ("No more
        than 2 prior systemic regimens for treatment of lymphoma", "at most one prior therapy for ...")."""
        if self.found[index].kind != "condition" or qualifier.rule_id != QUALIFIER_RULE:
            return False
        return self._treatments_capped_before(index)

    def _treatments_capped_before(self, index: int) -> bool:
        """Whether its line caps treatments before the atom ("No more than 2 prior regimens for ...")."""
        found = self.found[index]
        line_start = self.norm.text.rfind("\n", 0, found.start) + 1
        return _TREATMENT_LIMIT.search(self.norm.text, line_start, found.start) is not None

    def _qualifier(self, index: int, section: Section, assertion: str) -> Atom | None:
        """What narrows a diagnosis, procedure or therapy beyond what a profile records, as an atom no profile
        answers; None when it stands bare.

        For a procedure: its kind, site or extent ("excisional biopsy", "pelvic irradiation") or a
        contraindication to it. For a therapy: a contraindication, a floor on its duration, or the disease
        setting it was given in ("systemic therapy for metastatic disease"). For a diagnosis: a qualifier just
        before it ("uncontrolled" in "uncontrolled hypertension"); a treatment it is the indication of ("No
        prior chemotherapy for breast cancer" asks about the chemotherapy, "No prior therapy for cervical
        cancer" about a therapy named by a generic word, "Prior anthracycline for breast cancer" by a lexicon
        phrase the tree leaves out); or, negated or excepted among inclusion criteria, a bare "tumour" or
        "carcinoma" ("No evidence of residual tumor", "No inflammatory carcinoma", "... of the exocrine
        pancreas excluding periampullary cancer"), which is about another tumour or its extent, never the
        patient's recorded cancer as such."""
        found = self.found[index]
        concept = found.concept
        if concept is None or found.kind not in ("condition", "procedure", "therapy"):
            return None
        # Lexicon phrases ("contraindications") are words of the qualifier, not atoms that bound it.
        previous = next(
            (
                self.found[i]
                for i in range(index - 1, -1, -1)
                if not self.found[i].rule_id.startswith(LEXICON_PREFIX)
            ),
            None,
        )
        if found.kind in ("therapy", "procedure"):
            toxicity = self._toxicity_from(index)
            if toxicity is not None:
                return self._unanswerable(toxicity, found.end)
            caused = self._caused_after(index)
            if caused is not None:
                return self._unanswerable(found.start, caused)
        if found.kind == "therapy" and self.names_discontinuation:
            stopped = self._stopped_for_toxicity(index)
            if stopped is not None:
                return self._unanswerable(*stopped)
        if found.kind in ("therapy", "procedure"):
            recovery = _RECOVERY_AFTER.match(self.norm.text, found.end) if self.names_toxicity else None
            if recovery is not None:
                return self._unanswerable(found.start, recovery.end())
            protocol = (
                _PROTOCOL_WINDOW_AFTER.match(self.norm.text, found.end) if self.names_protocol else None
            )
            if protocol is not None:
                return self._unanswerable(found.start, protocol.end())
        if found.kind == "procedure":
            line_start = self.norm.text.rfind("\n", 0, found.start) + 1
            start = max(found.start - 40, line_start, previous.end if previous else 0)
            match = _PROCEDURE_QUALIFIER.search(self.norm.text, start, found.start)
            if match is None and concept.code in ("surgery", "radiotherapy"):
                # "Recent surgery" (NCT06402201): how recent, the text does not say. (A recent transfusion is
                # a condition on a blood count, read as such.)
                match = _RECENT_BEFORE.search(self.norm.text, start, found.start)
            if match is not None:
                return self._unanswerable(match.start(), found.end)
            extent = _PROCEDURE_EXTENT_AFTER.match(self.norm.text, found.end)
            return None if extent is None else self._unanswerable(found.start, extent.end())
        if found.kind == "therapy":
            if self.names_contraindication:
                start = max(found.start - 60, previous.end if previous else 0)
                match = _CONTRAINDICATED.search(self.norm.text, start, found.start)
                if match is not None:
                    return self._unanswerable(match.start(), found.end)
            if concept.code == "adc":
                # "any MMAE-based ADC" (NCT06219941), "any ADC with a topoisomerase payload" (NCT06242470),
                # "prior Topoisomerase I inhibitor(TOPO1i) antibody drug conjugate" (NCT06555744): the ADCs
                # of one payload, which no drug class of the profile records.
                line_start = self.norm.text.rfind("\n", 0, found.start) + 1
                payload = _PAYLOAD_BEFORE.search(
                    self.norm.text, max(found.start - 50, line_start), found.start
                )
                if payload is not None:
                    return self._unanswerable(payload.start(), found.end)
                payload = _PAYLOAD_AFTER.match(self.norm.text, found.end)
                if payload is not None:
                    return self._unanswerable(found.start, payload.end())
            if concept.code == "targeted_therapy" and not self.norm.text[found.start : found.end].isupper():
                # "any other PSMA targeted therapy" (NCT06520345), "(STEAP1)-targeted therapy" (NCT06691984):
                # therapies against one target, which no drug class of the profile records.
                line_start = self.norm.text.rfind("\n", 0, found.start) + 1
                target = _TARGET_BEFORE.search(self.norm.text, max(found.start - 20, line_start), found.start)
                if target is not None:
                    return self._unanswerable(target.start(), found.end)
            dose = self._steroid_dose(index)
            if dose is not None:
                return self._unanswerable(dose[0], dose[1])
            high = _HIGH_DOSE_BEFORE.search(self.norm.text, max(0, found.start - 20), found.start)
            if high is not None:
                return self._unanswerable(high.start(), found.end)
            if self.names_cumulative_dose:
                line_start = self.norm.text.rfind("\n", 0, found.start) + 1
                window = max(found.start - 90, line_start)
                cumulative = _CUMULATIVE_DOSE_BEFORE.search(self.norm.text, window, found.start)
                if cumulative is None and _DOSE_NEXT.match(self.norm.text, found.end):
                    cumulative = _CUMULATIVE_BEFORE.search(self.norm.text, window, found.start)
                if cumulative is not None:
                    return self._unanswerable(cumulative.start(), found.end)
                cumulative = _CUMULATIVE_DOSE_AFTER.match(self.norm.text, found.end)
                if cumulative is not None:
                    return self._unanswerable(found.start, cumulative.end())
            if concept.code in _GENERIC_THERAPIES and (
                target := _TARGETING_AFTER.match(self.norm.text, found.end)
            ):
                return self._unanswerable(found.start, target.end())
            # A floor on the duration: the treatment given that long, which the profile cannot tell.
            duration = self._treatment_duration(index)
            if duration is not None and not duration[2]:
                return self._unanswerable(duration[0], duration[1])
            before = self._setting_before(index) if self.names_adjuvant else None
            setting = self._setting_after(index)
            if (before is not None or setting is not None) and self._let_in(index, section):
                # "Patients may have had prior systemic therapy in the adjuvant setting" (NCT02339571): what
                # is let in in any setting asks for none.
                return None
            if before is not None:
                return self._unanswerable(before, found.end)
            return None if setting is None else self._unanswerable(found.start, setting)
        if concept.system != "diagnosis":
            return None
        # A lexicon phrase names a treatment too ("Prior anthracycline for breast cancer"): the tree drops
        # it, and the disease must not then stand for the treatment.
        named = self.found[index - 1] if index else None
        for treatment in (previous, named):
            if (
                treatment is not None
                and treatment.kind in ("therapy", "procedure")
                and _INDICATION.match(self.norm.text, treatment.end, found.start)
            ):
                return self._unanswerable(treatment.start, found.end)
        if concept.code == "cancer" and section == "inclusion" and assertion in ("negated", "exception"):
            return self._unanswerable(found.start, found.end)
        line_start = self.norm.text.rfind("\n", 0, found.start) + 1
        start = max(found.start - 60, line_start, previous.end if previous else 0)
        # Every match names a therapy or a treatment: most conditions have neither word before them.
        if self._may_hold("therap", start, found.start) or self._may_hold("treatment", start, found.start):
            generic = _GENERIC_TREATMENT_FOR.search(self.norm.text, start, found.start)
            if generic is not None:
                return self._unanswerable(generic.start(), found.end)
        event = self._disease_event(index)
        if event is not None:
            return self._unanswerable(*event)
        course = self._course(index, start, line_start) if self.names_course else None
        if course is not None:
            return course
        match = _QUALIFIER.search(self.norm.text, start, found.start)
        if match is None and self._may_hold("untreated", start, found.start) and not is_cancer(concept.code):
            match = _UNTREATED_QUALIFIER.search(self.norm.text, start, found.start)
        site = _SITE_BEFORE_CANCER.search(self.norm.text, start, found.start)
        if match is None and site is not None and is_cancer(concept.code):
            return self._unanswerable(site.start(), found.end)
        form = _FORM_BEFORE_CANCER.search(self.norm.text, start, found.start)
        if (
            match is None
            and form is not None
            and is_cancer(concept.code)
            and not _ALTERNATIVE_FORM_BEFORE.search(self.norm.text, start, form.start())
            and not (form.group(0).lower().startswith("squamous") and _has_squamous_kind(concept.code))
        ):
            return self._unanswerable(form.start(), found.end)
        involvement = (
            _INVOLVEMENT_BY.search(self.norm.text, start, found.start) if self.names_involvement else None
        )
        if match is None and involvement is not None:
            return self._unanswerable(involvement.start(), found.end)
        if match is None and is_cancer(concept.code) and self._after_sited_cancer(index):
            return self._unanswerable(found.start, found.end)
        site_after = _SITE_AFTER_CANCER.match(self.norm.text, found.end)
        if match is None and site_after is not None and is_cancer(concept.code):
            return self._unanswerable(found.start, site_after.end())
        if match is None and self.gives_examples:
            # "known active infectious disease, such as hepatitis B or C infection" (NCT03740256): the
            # examples of a qualified general condition carry its qualifier.
            match = _QUALIFIED_EXAMPLES_OF.search(
                self.norm.text, max(found.start - 160, line_start), found.start
            )
        if match is None:
            cause = _CAUSE_AFTER.match(self.norm.text, found.end)
            return None if cause is None else self._unanswerable(found.start, cause.end())
        if match.group(0).lower().startswith(("other", "another")) and concept.code in _SECOND_CANCER_CODES:
            # The engine reads "another malignancy" itself, but not whether it was left untreated ("another
            # untreated malignant neoplasm"): that stays a question.
            untreated = _UNTREATED_WORD.search(self.norm.text, match.start(), found.start)
            return None if untreated is None else self._unanswerable(match.start(), untreated.end())
        return self._unanswerable(match.start(), found.end)

    def _after_sited_cancer(self, index: int) -> bool:
        """Whether the cancer at `index` is the alternative of a cancer narrowed to a site right before it:
        "Known central nervous system (CNS) lymphoma or leukemia" (NCT03516617) and "Known current central
        nervous system involvement by lymphoma/leukemia" (NCT06839053) ask whether the leukaemia is there
        too, not whether the patient has a leukaemia."""
        if index == 0:
            return False
        before = self.found[index - 1]
        if before.kind != "condition" or before.concept is None or not is_cancer(before.concept.code):
            return False
        if _OR_LINK.fullmatch(self.norm.text[before.end : self.found[index].start].strip()) is None:
            return False
        start = max(before.start - 60, self.norm.text.rfind("\n", 0, before.start) + 1)
        if _SITE_BEFORE_CANCER.search(self.norm.text, start, before.start) is not None:
            return True
        return (
            self.names_involvement and _INVOLVEMENT_BY.search(self.norm.text, start, before.start) is not None
        )

    def _setting_after(self, index: int) -> int | None:
        """Where the disease setting named after a treatment, or after the list of treatments it opens, ends
        ("chemotherapy or immunotherapy for advanced or metastatic disease"); None when none is named."""
        last = index
        while (
            last + 1 < len(self.found)
            and self.found[last + 1].kind in ("therapy", "procedure")
            and _TREATMENT_LIST_GAP.match(self.norm.text[self.found[last].end : self.found[last + 1].start])
        ):
            last += 1
        match = _FOR_SETTING.match(self.norm.text, self.found[last].end)
        return None if match is None else match.end()

    def _caused_after(self, index: int) -> int | None:
        """Where the toxicity a treatment caused, named right after it ("docetaxel-related toxicities"),
        ends; None when none is."""
        found = self.found[index]
        if found.kind != "therapy" or not (self.names_toxicity or self.names_cause):
            return None
        match = _CAUSED_AFTER.match(self.norm.text, found.end)
        return None if match is None else match.end()

    def _setting_before(self, index: int) -> int | None:
        """Where an adjuvant, perioperative or intravesical setting named right before a treatment starts, or
        None; a list shares it ("adjuvant or neoadjuvant chemotherapy or immunotherapy")."""
        found = self.found[index]
        previous = self._previous_read(index)
        line_start = self.norm.text.rfind("\n", 0, found.start) + 1
        start = max(found.start - 60, line_start, self.found[previous].end if previous >= 0 else 0)
        match = _SETTING_BEFORE.search(self.norm.text, start, found.start)
        if match is not None:
            if _SYSTEMIC_ALTERNATIVE.search(self.norm.text, max(start, match.start() - 25), found.start):
                return None
            return match.start()
        listed = self._listed_with(index, line_start, (_TREATMENT_LIST_GAP,), ("therapy",))
        return None if listed < 0 else self._setting_before(listed)

    def _sentence_around(self, start: int, end: int) -> tuple[int, int]:
        """The sentence that holds text[start:end]: its line, cut where a full stop or semicolon ends a word
        and a capital follows (the full stops of "e.g.," end nothing, NCT04787042)."""
        text = self.norm.text
        first = text.rfind("\n", 0, start) + 1
        last = text.find("\n", end)
        last = len(text) if last < 0 else last
        for stop in _SENTENCE_START.finditer(text, first, last):
            if stop.end() <= start:
                first = stop.end()
            elif stop.start() >= end:
                return first, stop.start()
        return first, last

    def _stopped_for_toxicity(self, index: int) -> tuple[int, int] | None:
        """The span from the therapy to the discontinuation for toxicity its sentence names (before or after
        it), or None when the sentence names none (`_DISCONTINUED_FOR_TOXICITY`)."""
        found = self.found[index]
        start, end = self._sentence_around(found.start, found.end)
        match = _DISCONTINUED_FOR_TOXICITY.search(self.norm.text, start, end)
        if match is None:
            return None
        return min(found.start, match.start()), max(found.end, match.end())

    def _toxicity_from(self, index: int) -> int | None:
        """Where the toxicity a treatment caused is named before it ("toxicities from prior therapy,
        including commercial osimertinib", "adverse events due to a previously administered agent"), or
        None; a list shares it ("toxicity from prior chemotherapy or radiotherapy")."""
        if not self.names_toxicity:
            return None
        found = self.found[index]
        previous = self._previous_read(index)
        line_start = self.norm.text.rfind("\n", 0, found.start) + 1
        start = max(found.start - 100, line_start, self.found[previous].end if previous >= 0 else 0)
        match = _TOXICITY_FROM.search(self.norm.text, start, found.start)
        if match is not None:
            return match.start()
        listed = self._listed_with(index, line_start, (_TREATMENT_LIST_GAP, _UNREAD_ITEM_GAP), _TREATMENTS)
        return None if listed < 0 else self._toxicity_from(listed)

    def _course(self, index: int, start: int, line_start: int) -> Atom | None:
        """The course a cancer is asked to have, named right before it ("relapsed or refractory multiple
        myeloma"), as an atom the profile's recorded course answers; None when none is named, or when the
        course is one alternative among words that are not courses ("recurrent or metastatic"), the words
        between it and the cancer narrow it further ("relapsed symptomatic myeloma"), or the text caps the
        treatments given for the cancer ("No more than 2 prior regimens for refractory lymphoma")."""
        found = self.found[index]
        concept = found.concept
        if concept is None or not is_cancer(concept.code):
            return None
        match = extract.COURSE_BEFORE.search(self.norm.text, start, found.start)
        if match is None:
            return None
        gap = match.group("gap")
        if (gap.strip(" ,") and _QUALIFIER.search(gap + " ")) or _ALTERNATIVE_BEFORE.search(
            self.norm.text, line_start, match.start()
        ):
            return None
        if self._treatments_capped_before(index):
            return None
        courses = extract.course_codes(match.group("course"))
        text, span = self._original(*match.span("course"))
        return Atom(
            "condition",
            text,
            span,
            extract.COURSE_RULE,
            0.8,
            mapped=True,
            concept=Concept(
                "course", f"{concept.code}:{','.join(courses)}", f"{text.lower()} {concept.label}"
            ),
        )

    def _disease_event(self, index: int) -> tuple[int, int] | None:
        """Where a diagnosis is named as the disease of an event ("asthma exacerbation", "exacerbation of
        asthma", "sickle cell crisis"), the event and the disease together; None otherwise."""
        found = self.found[index]
        if not self.names_event or found.kind != "condition":
            return None
        if found.concept is None or found.concept.system != "diagnosis":
            return None
        line_start = self.norm.text.rfind("\n", 0, found.start) + 1
        before = _DISEASE_EVENT_BEFORE.search(self.norm.text, max(line_start, found.start - 40), found.start)
        if before is not None:
            return before.start(), found.end
        after = _DISEASE_EVENT_AFTER.match(self.norm.text, found.end)
        return None if after is None else (found.start, after.end())

    def _capped_dose(self, index: int) -> bool:
        dose = self._steroid_dose(index)
        return dose is not None and dose[2]

    def _steroid_dose(self, index: int) -> tuple[int, int, bool] | None:
        """Where the text names the dose of a corticosteroid, and whether as a cap (True: "at a dose of at
        most 20 mg/day", "at physiologic doses") or not ("(> 10 mg/day prednisone or equivalent)"); None when
        it does not."""
        found = self.found[index]
        if not self.names_dose or not _is_corticosteroid(found):
            return None
        line_start = self.norm.text.rfind("\n", 0, found.start) + 1
        before = _STEROID_DOSE_BEFORE.search(self.norm.text, max(line_start, found.start - 45), found.start)
        if before is not None:
            return before.start(), found.end, _DOSE_CAP.search(before.group(0)) is not None
        after = _STEROID_DOSE_AFTER.match(self.norm.text, found.end)
        if after is not None:
            return found.start, after.end(), _DOSE_CAP.search(after.group(0)) is not None
        return None

    def _treatment_duration(self, index: int) -> tuple[int, int, bool] | None:
        """Where the text names how long a treatment was given, and whether as a cap (True: "No more than 12
        months of prior estrogen", "Exposure to levodopa of 14 days or less") or a floor ("growth hormone
        exceeding twelve months", "treated with levodopa for at least one year"); None when it does not. The
        duration comes before the treatment or after it or after the list of treatments it is in
        ("estrogen, androgen or growth hormone exceeding twelve months")."""
        if index not in self._durations:
            self._durations[index] = self._find_treatment_duration(index)
        return self._durations[index]

    def _find_treatment_duration(self, index: int) -> tuple[int, int, bool] | None:
        found = self.found[index]
        if found.kind != "therapy" or not self.names_duration:
            return None
        line_start = self.norm.text.rfind("\n", 0, found.start) + 1
        start = max(found.start - 80, line_start)
        # Every match names its unit, which the words before most treatments do not.
        if any(self._may_hold(unit, start, found.start) for unit in _DURATION_WORDS):
            before = _DURATION_BEFORE.search(self.norm.text, start, found.start)
            if before is not None:
                return before.start(), found.end, _DURATION_CAP.search(before.group(0)) is not None
        last = index
        for following in range(index + 1, len(self.found)):
            candidate = self.found[following]
            if candidate.rule_id.startswith(LEXICON_PREFIX):
                continue
            # Tested before the articles are taken out of it, which leaves line breaks as they are.
            gap = self.norm.text[self.found[last].end : candidate.start]
            if candidate.kind != "therapy" or "\n" in gap or not _LIST_GAP.match(_ARTICLE.sub("", gap)):
                break
            last = following
        after = _DURATION_AFTER.match(self.norm.text, self.found[last].end)
        if after is None:
            return None
        cap = _DURATION_CAP.search(after.group(0)) is not None or bool(
            _OR_LESS.match(self.norm.text, after.end())
        )
        return found.start, after.end(), cap

    def _current(self, index: int) -> tuple[int, int] | None:
        """Where the text asks about the treatment only while it is given ("no concurrent radiotherapy"), or
        None; a list shares its cue ("no concurrent chemotherapy, radiotherapy or immunotherapy")."""
        found = self.found[index]
        if found.kind not in ("therapy", "procedure") or not self.says_current:
            return None
        previous = self._previous_read(index)
        line_start = self.norm.text.rfind("\n", 0, found.start) + 1
        start = max(found.start - 60, line_start, self.found[previous].end if previous >= 0 else 0)
        match = (
            _CURRENT.search(self.norm.text, start, found.start)
            if any(self._may_hold(word, start, found.start) for word in _CURRENT_WORDS)
            else None
        )
        if match is not None:
            if _PRIOR_BEFORE.search(self.norm.text, max(0, match.start() - 20), match.start()):
                return None
            return match.start(), match.end()
        listed = self._listed_with(index, line_start, (_LIST_GAP, _EXAMPLES_GAP, _UNREAD_ITEM_GAP))
        return None if listed < 0 else self._current(listed)

    def _taking(self, index: int) -> tuple[int, int] | None:
        """Where the text names a treatment the patient is taking or receiving, on a line with no window of
        its own ("Participants taking other prohibited medications ..., including anticancer therapy",
        NCT06194929): the treatment given now. A list shares the cue. None without one, or after "since" or
        "prior" ("since receiving docetaxel", "receiving prior chemotherapy")."""
        found = self.found[index]
        if found.kind not in ("therapy", "procedure") or not self.says_taking:
            return None
        previous = self._previous_read(index)
        line_start = self.norm.text.rfind("\n", 0, found.start) + 1
        start = max(found.start - 80, line_start, self.found[previous].end if previous >= 0 else 0)
        match = _TAKING.search(self.norm.text, start, found.start)
        if match is not None:
            return match.start(), match.end()
        listed = self._listed_with(index, line_start, (_TREATMENT_LIST_GAP,))
        return None if listed < 0 else self._taking(listed)

    def _listed_with(
        self,
        index: int,
        line_start: int,
        gaps: tuple[re.Pattern[str], ...],
        kinds: tuple[str, ...] | None = None,
    ) -> int:
        """The read atom before `index` on its line when only a list's words (one of `gaps`) stand between
        them, so that the two share what the list's first item is named with; -1 when there is none."""
        previous = self._previous_read(index)
        if previous < 0 or self.found[previous].end < line_start:
            return -1
        if kinds is not None and self.found[previous].kind not in kinds:
            return -1
        between = self.norm.text[self.found[previous].end : self.found[index].start]
        return previous if any(gap.match(between) for gap in gaps) else -1

    def _unanswerable(self, start: int, end: int) -> Atom:
        text, span = self._original(start, end)
        return Atom("other", text, span, QUALIFIER_RULE, 0.5, checkable=False, mapped=False)

    def _same_line(self, a: int, b: int) -> bool:
        return self.norm.text.find("\n", min(a, b), max(a, b)) < 0


# A bracket that allows any value of what it names, inside a sentence that goes on: "ER+ (any progesterone
# receptor [PR] and HER2 status is allowed) metastatic breast cancer". It asks nothing, and what follows the
# bracket is still the requirement, not an exception to it.
_ANY_ALLOWED_ASIDE = re.compile(r"\(\s*any\s[^()\n]*$", re.IGNORECASE)
_ASIDE_GOES_ON = re.compile(r"[^()\n]*\)[ \t]*\w")


def _any_allowed_aside(text: str, cue: Cue) -> bool:
    line_start = text.rfind("\n", 0, cue.start) + 1
    return (
        _ANY_ALLOWED_ASIDE.search(text, line_start, cue.start) is not None
        and _ASIDE_GOES_ON.match(text, cue.end) is not None
    )


def _without_mentions(node: Node) -> Node | None:
    """The tree without its uncoded lexicon phrases; None when nothing else is left (Criterion.mentions).

    A node that loses nothing is returned itself, not rebuilt, so `criterion` can tell an unchanged tree by
    identity instead of comparing it field by field."""
    if isinstance(node, Atom):
        return None if node.rule_id.startswith(LEXICON_PREFIX) else node
    if isinstance(node, Not):
        child = _without_mentions(node.child)
        return None if child is None else node if child is node.child else Not(child)
    if isinstance(node, Except):
        # An exception only ever lets more patients in, so its phrases stay: dropping "except known Gilbert's
        # syndrome" would make a raised bilirubin exclude a patient the text admits.
        main = _without_mentions(node.main)
        return None if main is None else node if main is node.main else Except(main, node.exception)
    children = tuple(c for c in (_without_mentions(child) for child in node.children) if c is not None)
    if not children:
        return None
    if len(children) == 1:
        return children[0]
    if len(children) == len(node.children) and all(map(operator.is_, children, node.children)):
        return node
    return And(children) if isinstance(node, And) else Or(children)


@dataclass(frozen=True)
class _Scope:
    """What a group header passes down to its sub-items."""

    assertion: str | None = None  # "negated" or "historical" from "No history of any of the following:"
    cue: tuple[int, int] | None = None  # the header's cue, normalised offsets
    in_exception: bool = False  # under "Patients with brain metastases are eligible if:" in the exclusions
    about_cns: bool = False  # the header names brain metastases, so "stable for 4 weeks" is about them
    window: TimeWindow | None = None  # the header's time window, for sub-items that state none


# Names the vocabulary does not know, listed between two it does: "Acute myeloid leukemia, acute
# lymphocytic leukemia, myelodysplasia, or lymphoma" is still one list of alternatives.
_UNREAD_ALTERNATIVES = re.compile(
    r"\s*,(?:\s*[A-Za-z][\w'-]*(?:\s+[\w'-]+){0,3}\s*,)+\s*(?:or|and/or)\s+", re.I
)
# A list item's own first words before a term the vocabulary knows ("..., acute lymphocytic leukemia").
_LISTED_WITH_WORDS = re.compile(r"\s*,\s*(?:[A-Za-z][\w'-]*\s+){1,3}")


# The gap tests of `_link` and `_Builder.combine`, compiled once (re's own cache costs a lookup a call).
_STOP = re.compile(r"[;.]")
_SENTENCE_BREAK = re.compile(r"[;.:]")
_SENTENCE_OR_LINE_BREAK = re.compile(r"[;.:\n]")
_COMMA_OR_OR = re.compile(r",|\bor\b", re.I)
_OR_WORD = re.compile(r"\bor\b", re.IGNORECASE)
# Items of a comma list the parser does not read, between two cancers it does: ", BTC, " in "breast cancer,
# ovarian cancer, BTC, endometrial cancer or squamous non-small cell lung cancer" (NCT05123482).
_UNREAD_LIST_ITEMS = re.compile(r"\s*,(?:\s*[^,;.:()\n]{1,30}?\s*,){1,3}\s*(?:(?:or|and|and/or)\s+)?", re.I)
_AND_WORD = re.compile(r"\b(?:and|plus)\b(?!/)", re.IGNORECASE)
_OR_BEFORE_NEXT = re.compile(r"(?:,|\s)\s*(?:or|and/or)\s+(?:[\w()-]+\s+){0,6}\(?$", re.IGNORECASE)


def _link(gap: str) -> str:
    """How two neighbouring atoms are joined: "or", "and", "list" (a bare comma) or "apart"."""
    if _UNREAD_ALTERNATIVES.fullmatch(gap):
        return "or"
    if _STOP.search(gap) or len(gap.split()) > 3:
        return "apart"
    if "and/or" in gap.lower():
        return "or"
    if _AND_LINK.search(gap):
        return "and"
    if _OR_LINK.search(gap):
        return "or"
    if _LISTED_WITH_WORDS.fullmatch(gap):
        return "list"
    return "list" if _LIST_GAP.match(gap) and len(gap) < 4 else "apart"


def _distinct_cancers(first: Found, second: Found, *, nested: bool = False) -> bool:
    """Two named kinds of cancer, neither a kind of the other ("lymphoma" and "myeloma", not "cancer" and
    "breast cancer"). With `nested`, one may be a kind of the other ("lymphoma" or "Waldenstrom's
    macroglobulinemia"): as alternatives, that is harmless."""
    codes = []
    for found in (first, second):
        concept = found.concept
        if found.kind != "condition" or concept is None or concept.system != "diagnosis":
            return False
        if concept.code in ONCOLOGY_ROOTS or not is_cancer(concept.code):
            return False
        codes.append(concept.code)
    if nested:
        return codes[0] != codes[1]
    return not (is_a(codes[0], codes[1]) or is_a(codes[1], codes[0]))


def _sex_of_disease(first: Found, second: Found, gap: str) -> bool:
    """A sex written right before a disease, as its adjective ("Male breast cancer")."""
    return (
        first.kind == "demographic"
        and first.concept is not None
        and first.concept.code == "sex"
        and second.kind == "condition"
        and not gap.strip()
    )


def _qualifier_of_disease(first: Found, second: Found, gap: str) -> bool:
    """A stage or a biomarker written right before a disease, as its adjective ("Stage IV colorectal cancer",
    "MSS colorectal cancer", "stage 3 or 4 encephalopathy"). Not before a cancer of any kind ("advanced/ Stage
    IV cancer"), which is the patient's own in an inclusion but another cancer in an exclusion."""
    first_concept, second_concept = first.concept, second.concept
    return (
        not gap.strip()
        and second.kind == "condition"
        and second_concept is not None
        and second_concept.system == "diagnosis"
        and second_concept.code not in ONCOLOGY_ROOTS
        and first_concept is not None
        and (first.kind == "biomarker" or first_concept.system == "stage")
    )


def _pregnant_and_nursing(first: Found, second: Found, node: Node, before: Node) -> bool:
    """Whether two neighbouring atoms, neither negated, are pregnancy and breastfeeding."""
    codes = {f.concept.code for f in (first, second) if f.kind == "pregnancy" and f.concept is not None}
    return (
        codes == {"pregnant", "breastfeeding"} and not isinstance(node, Not) and not isinstance(before, Not)
    )


def _disjoint_ages(first: Found, second: Found, node: Node, before: Node) -> bool:
    """Whether two neighbouring ages, neither negated, are an upper and a lower bound no age meets both of
    (below 18, above 90)."""
    if isinstance(node, Not) or isinstance(before, Not):
        return False
    bounds = {}
    for found in (first, second):
        if found.concept is None or found.concept.code != "age" or found.value is None:
            return False
        if found.comparator in ("<", "<="):
            bounds["upper"] = (found.value, found.comparator)
        elif found.comparator in (">", ">="):
            bounds["lower"] = (found.value, found.comparator)
    if len(bounds) != 2:
        return False
    (upper, below), (lower, above) = bounds["upper"], bounds["lower"]
    return upper < lower or (upper == lower and not (below == "<=" and above == ">="))


def _both_stages(first: Found, second: Found, node: Node, before: Node) -> bool:
    """Whether two neighbouring atoms, neither negated, are stages on one scale."""
    concepts = [f.concept for f in (first, second)]
    scales = {c.code.rpartition(":")[0] for c in concepts if c is not None and c.system == "stage"}
    stages = sum(1 for c in concepts if c is not None and c.system == "stage")
    return stages == 2 and len(scales) == 1 and not isinstance(node, Not) and not isinstance(before, Not)


def _run_node(run: list[Node], is_or: bool, says_or: bool, of_examples: bool) -> Node:
    """One run of `_Builder.combine`'s atoms as a node."""
    if len(run) == 1:
        return run[0]
    if of_examples and isinstance(run[0], Not):
        # "No severe lung disease (e.g., chronic obstructive pulmonary disease)", "No history of autoimmune
        # disease such as rheumatoid arthritis, ...": the examples share the negation.
        return Not(Or(tuple(node.child if isinstance(node, Not) else node for node in run)))
    if says_or and all(isinstance(node, Not) for node in run):
        # "not pregnant or nursing" means neither, not "not pregnant, or not nursing".
        return Not(Or(tuple(node.child for node in run if isinstance(node, Not))))
    return Or(tuple(run)) if is_or else And(tuple(run))


# Between an alteration and the cancer that carries it: "MET exon 14 skipping mutant NSCLC".
_CARRIED_BY = re.compile(r"[\s-]*(?:mutant|mutated|mutation[\s-]positive|altered|rearranged|amplified)\s+")


def _treated_for(treatment: Node, indication: Node) -> Node:
    """A treatment and the condition it was given for, as one conjunction; a negation both carry ("No
    chemotherapy for other malignancy") negates the pair, so a treatment given for something else is clear."""
    if isinstance(treatment, Not) and isinstance(indication, Not):
        return Not(And((treatment.child, indication.child)))
    return And((treatment, indication))


def _last_end(item: Item) -> int:
    return max([item.end, *(_last_end(child) for child in item.children)])


_INFECTION_AFTER = re.compile(r"(?:\s*\([^()]{1,12}\))?[\s)-]*$")


def _is_infection(concept: Concept | None) -> bool:
    """Whether the concept is an infectious disease (ICD-10 A00-B99)."""
    return (
        concept is not None
        and concept.system == "diagnosis"
        and (icd10cm(concept.code) or "")[:1] in ("A", "B")
    )


def _without_restated_infections(text: str, found: list[extract.Found]) -> list[extract.Found]:
    """ "Hepatitis B virus (HBV) infection", "HIV infection": the generic "infection" after an infectious
    disease (ICD-10 A00-B99) names that disease again, not another one it must come with; so does its
    abbreviation in brackets ("hepatitis C virus (HCV)"), which would otherwise miss the assertion of the
    name before it ("Negative hepatitis C virus (HCV) antibody test")."""
    kept: list[extract.Found] = []
    for f in found:
        before = kept[-1].concept if kept else None
        if (
            f.concept is not None
            and before is not None
            and kept[-1].kind == "condition"
            and before.code != "infection"
            and _is_infection(before)
            and (
                (f.concept.code == "infection" and _INFECTION_AFTER.match(text[kept[-1].end : f.start]))
                or (
                    f.concept.code == before.code
                    and _ABBREVIATION_OPENS.fullmatch(text, kept[-1].end, f.start) is not None
                )
            )
        ):
            continue
        kept.append(f)
    return kept


_ABBREVIATION_OPENS = re.compile(r"\s*\(\s*")


# "No prior systemic treatment with either chemotherapy or immunotherapy", "requiring systemic treatment with
# either corticosteroids or other immunosuppressive medication": the treatments after "with" say which.
_WITH_WHICH = re.compile(r"\s+with\s+(?:either\s+)?(?:an?\s+|the\s+)?$", re.IGNORECASE)
_GENERIC_TREATMENTS = frozenset({"systemic_anticancer"})


# A dose written in milligrams of one corticosteroid: "(> 10 mg/day prednisone or equivalent)", "at most 20
# mg/day of prednisone", "prednisone dose >10mg per day or equivalent", "greater than prednisone 20 mg daily
# (or equivalent)". The drug there is the yardstick of the dose (NCT04104893, NCT05267626, NCT04215809).
_MILLIGRAMS_BEFORE = re.compile(
    r"\d+(?:\.\d+)?\s*(?:mg|milligrams?)\b(?:\s*/\s*(?:day|d)\b|\s+(?:per\s+day|a\s+day|daily|once\s+daily|qd))?"
    r"\s*(?:equivalent\s+)?(?:of\s+)?(?:oral\s+)?$",
    re.IGNORECASE,
)
_EQUIVALENT_BEFORE = re.compile(r"\bequivalent\s+$", re.IGNORECASE)
_EQUIVALENT_AFTER = re.compile(r"[^,;.\n]{0,45}?\bequivalen(?:ts?|ce)\b", re.IGNORECASE)
_CORTICOSTEROID = "corticosteroid"
# The dose a corticosteroid is taken at, after it ("corticosteroids (>10 mg prednisone/day ...)", "at
# physiologic doses", "Steroids used for ... must be at a dose of at most 20 mg/day") or before it
# ("immunosuppressive doses of systemic corticosteroids", "low-dose corticosteroid"). No profile records
# a dose.
_STEROID_DOSE_AFTER = re.compile(
    r"[^;.\n()]{0,80}?\b(?:at|in|with|on)\s+(?:an?\s+|any\s+|the\s+)?(?:[\w-]+\s+){0,2}?"
    r"(?:doses?|dosing|dosage)\b"
    r"[^;\n()]{0,30}?(?:\d+(?:\.\d+)?\s*(?:mg|milligrams?)\b|(?=[;,.)\n]|$))"
    r"|[\s(\[,:]*(?:doses?\s+(?:of\s+)?)?(?:[<>≤≥]=?|=<|(?:more|greater|less|higher|lower)\s+than|up\s+to"
    r"|at\s+(?:most|least)|not\s+(?:to\s+)?exceed(?:ing)?|exceeding|above|below|of)?\s*\d+(?:\.\d+)?\s*"
    r"(?:mg|milligrams?)\b",
    re.IGNORECASE,
)
# What a generic treatment targets, after it: "any other anticancer therapy targeting immune-regulatory
# receptors or mechanisms" (NCT06627647) names treatments of one kind, which no class of the profile records.
_TARGETING_AFTER = re.compile(
    r"\s+(?:that\s+targets?|targeting|directed\s+(?:at|against|to(?:wards)?))\s+[^,;.\n]{2,80}", re.IGNORECASE
)
_GENERIC_THERAPIES = frozenset(
    {"systemic_anticancer", "immunotherapy", "targeted_therapy", "tki", "chemotherapy"}
)
# What a treatment caused, named after it: "docetaxel-related toxicities", "docetaxel toxicity related dose
# interruption" (NCT03574571), "checkpoint inhibitor-induced colitis". Whether any is left is the question.
_CAUSED_AFTER = re.compile(
    r"[\s-]*(?:related|induced|associated|attributed|attributable)\s+(?:[\w-]+\s+){0,2}?"
    r"(?:toxicit(?:y|ies)|adverse\s+(?:events?|reactions?)|side[\s-]effects?|AEs?|pneumonitis|neuropathy"
    r"|colitis|hepatitis|reactions?)\b"
    r"|\s+(?:due\s+to\s+(?:[\w-]+\s+){0,2}?)?(?:toxicit(?:y|ies)|adverse\s+(?:events?|reactions?)"
    r"|side[\s-]effects?)\b",
    re.IGNORECASE,
)
# A treatment given at a dose of its own kind: "Prior high dose chemotherapy requiring stem cell rescue"
# (NCT04787042), "myeloablative chemotherapy". Not any chemotherapy.
_HIGH_DOSE_BEFORE = re.compile(r"\b(?:high[\s-]+dose|myeloablative)\s+$", re.IGNORECASE)
# A cumulative dose of a drug, before it ("a prior total cumulative anthracycline dose of >= 350 mg/m2
# doxorubicin (or equivalent anthracycline dose)", NCT04969835) or after it ("treatment with anthracyclines
# with a cumulative dose exceeding 360 mg/m2", NCT07021066): how much of the drug the patient had, which no
# profile records, not whether the patient had it.
# "cumulative anthracycline dose": the drug names the dose, whose adjective comes before it.
_CUMULATIVE_BEFORE = re.compile(r"\bcumulative\s+(?:[\w-]+\s+){0,2}$", re.IGNORECASE)
_DOSE_NEXT = re.compile(r"\s*doses?\b", re.IGNORECASE)
_CUMULATIVE_DOSE_BEFORE = re.compile(
    r"\bcumulative\s+(?:[\w-]+\s+){0,2}?doses?\s+(?:of\s+)?[^;.\n]{0,45}?$", re.IGNORECASE
)
_CUMULATIVE_DOSE_AFTER = re.compile(r"[^;.\n]{0,40}?\bcumulative\s+(?:[\w-]+\s+)?doses?\b", re.IGNORECASE)
_STEROID_DOSE_BEFORE = re.compile(
    r"\b(?:high|low|immunosuppressive|physiologic(?:al)?|replacement|supra-?physiologic(?:al)?|pharmacologic(?:al)?)"
    r"[\s-]+dos(?:es?|ing)\s+(?:of\s+)?(?:systemic\s+|oral\s+)?$",
    re.IGNORECASE,
)
# A dose the text caps ("at most 20 mg/day", "not to exceed", "physiologic doses"): it binds only the patients
# on the drug.
_DOSE_CAP = re.compile(
    r"at\s+most|not\s+(?:to\s+)?exceed|no\s+more\s+than|up\s+to|[≤<]|=<|less\s+than|maximum|physiologic|\blow"
    r"|replacement|or\s+(?:less|lower)|below",
    re.IGNORECASE,
)


def _is_corticosteroid(found: extract.Found) -> bool:
    return found.kind == "therapy" and found.concept is not None and _corticosteroid_code(found.concept.code)


@lru_cache(maxsize=4096)
def _corticosteroid_code(code: str) -> bool:
    # Asked of every therapy of a text that names a dose, some several times: walk the classes once a code.
    return code == _CORTICOSTEROID or _CORTICOSTEROID in drug_classes(code)


def _without_dose_yardsticks(text: str, found: list[extract.Found]) -> list[extract.Found]:
    """A corticosteroid named as the measure of a dose ("corticosteroids (> 10 mg/day prednisone or
    equivalent)", "or equivalent corticosteroid") is no drug of its own: dropped after a steroid named on its
    line, else it stands for the class it measures ("a dose greater than prednisone 20 mg daily (or
    equivalent)" is any corticosteroid). A drug with its own dose and no equivalence ("abiraterone 1000 mg
    plus prednisone 5 mg") stays."""
    kept: list[extract.Found] = []
    for f in found:
        if _is_corticosteroid(f):
            assert f.concept is not None
            line_start = text.rfind("\n", 0, f.start) + 1
            drug = f.concept.code != _CORTICOSTEROID
            measured = _EQUIVALENT_BEFORE.search(
                text, max(line_start, f.start - 20), f.start
            ) is not None or (
                drug
                and (
                    _MILLIGRAMS_BEFORE.search(text, max(line_start, f.start - 30), f.start) is not None
                    or _EQUIVALENT_AFTER.match(text, f.end) is not None
                )
            )
            if measured and any(_is_corticosteroid(k) and k.start >= line_start for k in kept):
                continue
            if measured and drug:
                steroid, _ = link_exact("corticosteroids", "therapy")
                f = replace(f, concept=steroid)
        kept.append(f)
    return kept


def _without_generic_treatment_heads(text: str, found: list[extract.Found]) -> list[extract.Found]:
    """A generic treatment ("systemic treatment") named with the treatments it was ("with either
    chemotherapy or immunotherapy") is those treatments, not any systemic treatment."""
    kept: list[extract.Found] = []
    for index, f in enumerate(found):
        following = found[index + 1] if index + 1 < len(found) else None
        if (
            f.kind == "therapy"
            and f.concept is not None
            and f.concept.code in _GENERIC_TREATMENTS
            and following is not None
            and following.kind == "therapy"
            and _WITH_WHICH.match(text[f.end : following.start])
        ):
            continue
        kept.append(f)
    return kept


def _non_prefixed(text: str, found: extract.Found) -> tuple[str, tuple[int, int]] | None:
    """ "Non-pregnant", "non-lactating": the prefix negates a pregnancy status (the cue rules never see it,
    since "non" is glued to its word). Other kinds are left alone: "non-small cell" or "non-melanoma" name
    another disease rather than deny one. "Previously untreated CLL" (`extract.find_untreated`) denies any
    systemic anticancer therapy the same way, the "un" glued to its word."""
    if found.rule_id == extract.UNTREATED_RULE:
        return "negated", (found.start, found.end)
    if found.kind == "biomarker":
        # "Negative for EGFR mutation", "negative for PD-L1 expression": tested, and without it.
        before = _NEGATIVE_FOR_BEFORE.search(text, max(0, found.start - 20), found.start)
        return None if before is None else ("negated", (before.start(1), before.end(1)))
    if found.kind == "condition":
        # "Negative hepatitis B surface antigen (HBsAg) test", "HIV negative", "HIV-seronegative": a test
        # result that rules the infection out. Other conditions are left alone: "surgical margins testing
        # negative for tumor" denies no cancer.
        if not _is_infection(found.concept):
            return None
        before = _NEGATIVE_RESULT_BEFORE.search(text, max(0, found.start - 20), found.start)
        if before is not None:
            return "negated", (before.start(1), before.end(1))
        after = _NEGATIVE_RESULT_AFTER.match(text, found.end)
        return None if after is None else ("negated", (after.start(1), after.end(1)))
    if found.kind == "therapy":
        # "KRAS G12C inhibitor naive", "chemotherapy-naive", "EGFR TKI-naïve": never given that treatment.
        naive = _NAIVE_AFTER.match(text, found.end)
        return None if naive is None else ("negated", (naive.start(1), naive.end(1)))
    if found.kind != "pregnancy" or found.concept is None or found.concept.code not in _STATUS_CODES:
        return None
    start = found.start - 4
    if (
        start < 0
        or text[start : found.start].lower() not in ("non-", "non ")
        or text[start - 1 : start].isalpha()
    ):
        return None
    return "negated", (start, start + 3)


_STATUS_CODES = frozenset({"pregnant", "breastfeeding"})
_NEGATIVE_FOR_BEFORE = re.compile(r"\b(negative)\s+for\s+(?:an?\s+|any\s+)?$", re.IGNORECASE)
_NEGATIVE_RESULT_BEFORE = re.compile(r"\b((?:sero)?negative|non-?reactive)\s+(?:for\s+)?$", re.IGNORECASE)
_NEGATIVE_RESULT_AFTER = re.compile(
    r"(?:\s*\([^()]{1,12}\))?(?:\s+(?:antibody|antigen|serology|test|status))?[\s-]+((?:sero)?negative)\b",
    re.IGNORECASE,
)
# Examinations, imaging and biopsies an inclusion names are how the site assesses her at screening
# ("measurable disease by CT or MRI", "biopsy-proven NSCLC", "echocardiogram within 28 days of registration"),
# not treatments she must have had: a profile does not answer them, the site does.
_ASSESSMENT_PROCEDURES = frozenset(
    {
        "biopsy",
        "mri",
        "ct",
        "ultrasound",
        "echocardiography",
        "ecg",
        "xray",
        "colonoscopy",
        "physical_examination",
        "spirometry",
        "angiography",
    }
)


def _is_transfusion(found: Found) -> bool:
    """A transfusion, which an inclusion names as a condition on a blood count ("patients may be transfused to
    this level ... but transfusion must occur > 1 week prior to registration", NCT06265285; "If a participant
    has received a recent blood transfusion, the laboratory tests must be obtained >= 14 days after",
    NCT05382559), never as a treatment the patient must have had; what it forbids ("without transfusion")
    stays denied."""
    return found.kind == "procedure" and found.concept is not None and found.concept.code == "transfusion"


def _is_assessment(found: extract.Found) -> bool:
    return (
        found.kind == "procedure"
        and found.concept is not None
        and found.concept.code in _ASSESSMENT_PROCEDURES
    )


_NAIVE_AFTER = re.compile(r"[\s-]?(naive)\b", re.IGNORECASE)


# A treatment named as a label: "Radiotherapy:" over "- No concurrent radiotherapy", or "... Chemotherapy: See
# Disease Characteristics Surgery: Not specified" in the PDQ records' merged "PRIOR CONCURRENT THERAPY:"
# paragraphs. It opens a line or item, follows another label, or is capitalised inside a merged paragraph.
# ... or its words before the colon say it heads requirements: "Prior enfortumab vedotin specific
# requirements:" (NCT06465069).
_LABEL_AFTER = re.compile(
    r"\s*(?P<requirements>(?:specific\s+|related\s+)?(?:requirements?|criteria)\s*)?:", re.IGNORECASE
)
_LABEL_BEFORE = re.compile(r"(?:^|[:.]|^[\s*>-]+)\s*$")


# A condition that names an organisation ("the COPD Clinical Research Network", "Children's Oncology Group",
# "Cystic Fibrosis Foundation", "Gynecologic Cancer InterGroup"): capitalised words after it ending in a
# word for a body of people, not a class of the condition ("COPD Group B").
_ORGANISATION_AFTER = re.compile(
    r"[ \t]+(?:[A-Z][\w&'-]*[ \t]+){0,3}(?:Network|Group|Inter[Gg]roup|Foundation|Society|Association"
    r"|Consortium|Alliance|Program|Programme|Registry|Institute)\b(?![ \t]+(?:[A-Z0-9]|I{1,3}|IV)\b)"
)

# The disease in the name of a set of response criteria: "Response Evaluation Criteria in Solid Tumors" (98
# registry mentions; NCT05638295 gave it the window of the imaging in its sentence).
# So is the disease in a protocol's title: "as specified in S1400: Phase II/III Biomarker-Driven Master
# Protocol for Previously Treated Squamous Cell Lung Cancer (Lung-Map)" (NCT05642572).
_CRITERIA_BEFORE = re.compile(
    r"\b(?:Evaluation\s+Criteria\s+(?:in|for)|Protocol\s+for(?:\s+[A-Z][\w-]*){0,3})\s+$", re.I
)


# "No extra hepatic disease" (NCT05953337), "extra-hepatic disease": the cancer spread outside the organ (the
# one word "extrahepatic" split), not a disease of it.
_EXTRA_BEFORE = re.compile(r"\bextra[- ]$", re.IGNORECASE)
_ORGAN_ADJECTIVE = re.compile(
    r"(?:hepatic|pulmonary|renal|cranial|thoracic|abdominal|pelvic|nodal|osseous|peritoneal|medullary)\b",
    re.IGNORECASE,
)


# Radiation named for what is not a treatment: "lack of ability to follow radiation safety precautions"
# (NCT06710756), "as adjudicated by the radiation oncologist" (NCT04221893).
_NOT_THE_TREATMENT_AFTER = re.compile(
    r"[ \t]+(?:safety|precautions?|protection|oncologists?|physicists?|department)\b", re.IGNORECASE
)


def _radiation_named_for_else(text: str, found: Found) -> bool:
    return (
        found.kind == "procedure"
        and found.concept is not None
        and found.concept.code == "radiotherapy"
        and _NOT_THE_TREATMENT_AFTER.match(text, found.end) is not None
    )


@lru_cache(maxsize=256)
def _has_squamous_kind(code: str) -> bool:
    """Whether the vocabulary has a squamous kind of the cancer (head and neck squamous cell carcinoma of
    head and neck cancer): "Squamous cell cancer of the head and neck" then names the cancer as it always
    has, and only a cancer without one ("squamous cell ... gastroesophageal cancer") is narrowed by it."""
    return any(
        "squamous" in e.concept.label and e.concept.code != code and is_a(e.concept.code, code)
        for e in vocabulary().get("condition", ())
    )


def _outside_the_organ(text: str, found: Found) -> bool:
    return (
        found.kind == "condition"
        and _ORGAN_ADJECTIVE.match(text, found.start) is not None
        and _EXTRA_BEFORE.search(text, max(0, found.start - 6), found.start) is not None
    )


def _without_redefined_abbreviations(text: str, found: list[Found]) -> list[Found]:
    """Drops the vocabulary's reading of an abbreviation the text defines as something it does not mean: in
    "mast cell leukemia (MCL)" MCL is no mantle cell lymphoma, and in "Richter's Transformation (RT)"
    (NCT04792489) RT is no radiotherapy, here or further on. The words right before the brackets whose
    initials spell the abbreviation define it (a possessive's "'s" is its word's); it is redefined when they
    name another linked disease and start with a word none of the vocabulary's names for its concept starts
    with ("chronic lymphocytic lymphoma (CLL)" still means chronic lymphocytic leukaemia)."""
    redefined: set[str] = set()
    for match in _abbreviations_defined(text):
        abbreviation = match.group("abbr")
        words = re.findall(r"[A-Za-z]+(?:['\u2019]s\b)?", match.group("words"))[-len(abbreviation) :]
        if len(words) < len(abbreviation) or "".join(w[0] for w in words).upper() != abbreviation.upper():
            continue
        own = next((f for f in found if f.start == match.start("abbr") and f.concept), None)
        phrase_start = match.start("words") + match.group("words").rfind(words[0])
        named = [
            f.concept.code
            for f in found
            if phrase_start <= f.start and f.end <= match.end("words") and f.kind == "condition" and f.concept
        ]
        if own is None or own.concept is None or own.concept.code in named:
            continue
        terms = _terms_of(own.kind, own.concept.code)
        if not named:
            # Words that name nothing linked define it too when they share no word with any of the
            # concept's names: "Peritoneal Carcinomatosis Index (PCI)" (NCT05802056) is no percutaneous
            # coronary intervention. Only for a disease, a procedure or a treatment: a lab's or a score's
            # abbreviation is spelled out in words of its own ("Eastern Cooperative Oncology Group (ECOG)").
            if own.kind not in ("condition", "procedure", "therapy"):
                continue
            known = {w for term in terms for w in re.findall(r"[a-z]+", term.lower())}
            if not any(w.lower() in known for w in words):
                redefined.add(abbreviation)
            continue
        first = words[0].lower()
        if not any(term.lower().split()[0] == first for term in terms):
            redefined.add(abbreviation)
    if not redefined:
        return found
    return [f for f in found if f.concept is None or text[f.start : f.end] not in redefined]


def _abbreviations_defined(text: str) -> Iterator[re.Match[str]]:
    """The matches of `_ABBREVIATION_DEFINED.finditer(text)`, found far faster.

    A match's words hold no line break or bracket, so it lies on the line of the bracketed abbreviation it
    ends with, after the one before: the pattern is searched only there, once per bracketed abbreviation,
    instead of from every letter of the text (1.8 s to 0.04 s over all the Chia and XML texts).
    """
    searched_from = 0
    for bracket in _BRACKETED_ABBREVIATION.finditer(text):
        start = max(searched_from, text.rfind("\n", 0, bracket.start()) + 1)
        match = _ABBREVIATION_DEFINED.search(text, start, bracket.end())
        if match is not None:
            yield match
        searched_from = bracket.end()


def _terms_of(kind: str, code: str) -> tuple[str, ...]:
    entry = next((e for e in vocabulary().get(kind, ()) if e.concept.code == code), None)
    return () if entry is None else entry.synonyms


# A drug's code name at the start of a longer code: "any sub study of protocol MK-3475-U03" (NCT07049926)
# names a protocol, not pembrolizumab (MK-3475).
_CODE_GOES_ON = re.compile(r"-[A-Za-z]*\d")


def _inside_longer_code(text: str, found: Found) -> bool:
    return (
        found.kind == "therapy"
        and text.startswith("-", found.end)
        and any(c.isdigit() for c in text[found.start : found.end])
        and _CODE_GOES_ON.match(text, found.end) is not None
    )


def _names_organisation(text: str, found: Found) -> bool:
    return found.kind == "condition" and (
        _ORGANISATION_AFTER.match(text, found.end) is not None
        or _CRITERIA_BEFORE.search(text, max(0, found.start - 60), found.start) is not None
    )


def _topic_label(text: str, found: Found) -> bool:
    if found.kind not in ("therapy", "procedure"):
        return False
    label = _LABEL_AFTER.match(text, found.end)
    if label is None:
        return False
    if label.group("requirements"):
        return True
    line_start = text.rfind("\n", 0, found.start) + 1
    before = text[line_start : found.start]
    return _LABEL_BEFORE.search(before) is not None or text[found.start].isupper()


# An inclusion item that opens with its population's age: "Patients aged > 49 years and < 75 years with
# NHL, ...", "Patients < 50 years of age with NHL, CLL or multiple myeloma at high risk ...".
_AGE_POPULATION = re.compile(
    r"(?:patients?|subjects?|participants?)\s+(?:aged?\s+)?(?:(?:[<>≤≥]=?|older\s+than|younger\s+than"
    r"|over|under|between)\s*)?\d+[^\n]*?\bwith\b",
    re.IGNORECASE,
)
# An item naming the study group it defines ("Patients with CAD group, defined by the following criteria:
# ...", then "Patients without CAD group, defined as: ..."; "Control group: healthy volunteers ...").
_GROUP_POPULATION = re.compile(
    r"(?:(?:patients?|subjects?|participants?)\s+(?:with|without)\s+)?[\w'/ -]{1,40}?\bgroup\b\s*"
    r"(?:[:,(]|defined\b)",
    re.IGNORECASE,
)


# A short inclusion item that is only its population: "Patients with Parkinson's disease off medication.",
# "Patients with frontal lobe dementia." A run of them naming different diseases lists the study's patient
# groups (`_different_diseases`); "Patients with Parkinson's disease who have been treated with levodopa ..."
# after "Patients with relatively advanced disease" names one group's requirements.
_DISEASE_POPULATION = re.compile(
    r"(?:patients?|subjects?|individuals|people|persons)\s+with\s+(?:\S+\s+){0,9}\S+$", re.IGNORECASE
)


def _different_diseases(run: list[Criterion]) -> bool:
    """At least two of the criteria name a diagnosis, and no two of them the same or related ones."""
    named = [
        {a.concept.code for a in iter_atoms(c.tree) if a.kind == "condition" and a.concept is not None}
        for c in run
    ]
    named = [codes for codes in named if codes]
    return len(named) >= 2 and not any(
        is_a(x, y) or is_a(y, x)
        for first, second in itertools.combinations(named, 2)
        for x in first
        for y in second
    )


def _with_alternative_populations(
    norm: Normalised, roots: list[Item], criteria: list[Criterion]
) -> list[Criterion]:
    """Two or more inclusion items in a row, each opening with its own population's age ("Patients aged > 49
    years ... with NHL, CLL and multiple myeloma ..." then "Patients < 50 years of age with NHL, CLL or
    multiple myeloma at high risk ...") or with the study group it defines ("Patients with CAD group,
    defined by ..." then "Patients without CAD group, defined as ..."), describe alternative populations: a
    patient need fit only one of them, so they become one criterion, an Or of theirs."""
    merged: list[Criterion] = []
    run: list[Criterion] = []
    opening: re.Pattern[str] | None = None  # a run is of one form: ages or study groups
    # No match of _GROUP_POPULATION, the slowest of the three to fail, lacks "group".
    forms: tuple[re.Pattern[str], ...]
    if may_contain(norm.text, norm.text.lower(), ("group",)):
        forms = (_AGE_POPULATION, _GROUP_POPULATION, _DISEASE_POPULATION)
    else:
        forms = (_AGE_POPULATION, _DISEASE_POPULATION)

    def close() -> None:
        if len(run) < 2 or (opening is _DISEASE_POPULATION and not _different_diseases(run)):
            merged.extend(run)
        else:
            start, end = run[0].span[0], run[-1].span[1]
            mentions = tuple(m for c in run for m in c.mentions)
            text = norm.original[start:end]
            merged.append(
                Criterion("inclusion", text, (start, end), Or(tuple(c.tree for c in run)), None, mentions)
            )
        run.clear()

    for item, criterion in zip(roots, criteria, strict=True):
        form = None
        if item.section == "inclusion" and item.cohort is None:
            item_text = norm.text[item.start : item.end].rstrip(" .")
            form = next(
                (p for p in forms if p.match(item_text)),
                None,
            )
        if form is not None and form is opening:
            run.append(criterion)
            continue
        close()
        opening = form
        if form is not None:
            run.append(criterion)
            continue
        merged.append(criterion)
    close()
    return merged


# A criterion about the study's control participants, not its patients: the item says so ("Age-matched girls
# without Turner's syndrome entered as controls", "Controls should have no signs or symptoms of Sjogren's
# syndrome", "Control subjects must be within +/- 2SD for height", "Intact uterus. (Controls)"), or the
# heading it stands under does ("INCLUSION CRITERIA - HEALTHY CONTROL WOMEN:", "Exclusion criteria for control
# participants:"). "Control of blood pressure" and "birth control" name no one.
_CONTROL_WORDS = r"(?:(?:healthy|normal|negative|age[- ]matched|matched|unaffected|volunteer)\s+)*controls?"
_CONTROL_ITEM = re.compile(
    rf"^[\W\d]*{_CONTROL_WORDS}(?:\s+(?:subjects?|participants?|volunteers?|women|men|children|group))?"
    r"(?!\s+(?:of|over|for|with)\b)(?:\s|:|$)"
    rf"|\b(?:as|serve\s+as)\s+{_CONTROL_WORDS}\b"
    r"|\(\s*controls?\s*\)\W*$",
    re.IGNORECASE,
)
_CONTROL_HEADING = re.compile(rf"(?<!birth\s)\b{_CONTROL_WORDS}\b", re.IGNORECASE)
_CASES = re.compile(r"\b(?:patients?|cases?)\b", re.IGNORECASE)


def _control_items(text: str, roots: list[Item]) -> list[bool]:
    """For each root item, whether it is about the control participants (`_CONTROL_ITEM`)."""
    if "control" not in text.lower():
        return [False] * len(roots)
    headings: list[tuple[int, bool]] = []  # (line start, whether the heading names controls)
    offset = 0
    for line in text.splitlines(keepends=True):
        if section_of_heading(line.strip()) is not None:
            # "EXCLUSION CRITERIA FOR PTLDS PATIENTS AND LYME ARTHRITIS CONTROLS:" is for both.
            for_controls = _CONTROL_HEADING.search(line) is not None and not _CASES.search(line)
            headings.append((offset, for_controls))
        offset += len(line)
    starts = [start for start, _ in headings]
    found = []
    for item in roots:
        under = bisect_left(starts, item.start + 1) - 1
        by_heading = under >= 0 and headings[under][1]
        found.append(by_heading or _CONTROL_ITEM.search(text[item.start : item.end]) is not None)
    return found


def _with_control_alternatives(
    norm: Normalised, roots: list[Item], criteria: list[Criterion]
) -> tuple[list[Item], list[Criterion]]:
    """A trial that takes patients and controls lists the controls' criteria beside the patients': a patient
    need meet only the patients' ones, a control only the controls' ones. The inclusion criteria of both
    become one criterion, an Or of the patients' (all of them) and the controls' (their inclusions, and not
    their exclusions); the controls' criteria are then no longer required of every patient."""
    control = _control_items(norm.text, roots)
    patients = [
        i
        for i, (item, c) in enumerate(zip(roots, criteria, strict=True))
        if not control[i] and c.section == "inclusion" and item.cohort is None
    ]
    controls = [i for i, item in enumerate(roots) if control[i] and item.cohort is None]
    if not patients or not controls:
        return roots, criteria

    def both(nodes: list[Node]) -> Node:
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    patients_branch = both([criteria[i].tree for i in patients])
    controls_branch = both(
        [criteria[i].tree if criteria[i].section == "inclusion" else Not(criteria[i].tree) for i in controls]
    )
    joined = [criteria[i] for i in patients + controls]
    text = "\n".join(c.text for c in joined[: len(patients)])
    text += "\nor, as a control:\n" + "\n".join(c.text for c in joined[len(patients) :])
    span = (min(c.span[0] for c in joined), max(c.span[1] for c in joined))
    mentions = tuple(m for c in joined for m in c.mentions)
    merged = Criterion("inclusion", text, span, Or((patients_branch, controls_branch)), None, mentions)
    joined_indices = set(patients + controls)
    kept = [i for i in range(len(criteria)) if i == patients[0] or i not in joined_indices]
    return [roots[i] for i in kept], [merged if i == patients[0] else criteria[i] for i in kept]


# A list run into its item after "the following:" ("No presence or history of any medical condition ...,
# specifically those who have the following: a history of convulsive, hepatic, or renal disorders; currently
# receiving treatment for ...; and pregnant women"), ending at the sentence.
_INLINE_LIST = re.compile(r"\bthe\s+following\s*:(?P<list>.+?)(?:\.(?=\s|$)|$)", re.DOTALL | re.IGNORECASE)


def _negate_inline_lists(
    text: str,
    roots: list[Item],
    found: list[Found],
    assertions: list[tuple[str, tuple[int, int] | None]],
    cues: list[Cue],
) -> None:
    """An item opening with a negation over "the following:" negates the list run in after the colon, as a
    negated header does its sub-items: the colon and the semicolons between the list's parts end a ConText
    scope, which left "No history of the following: hypertension, diabetes mellitus, ..." requiring them."""
    negations = {cue.start: cue for cue in cues if cue.category == "negated" and cue.direction == "forward"}
    stack = list(roots)
    while stack:
        item = stack.pop()
        stack.extend(item.children)
        opening = negations.get(item.start)
        listed = _INLINE_LIST.search(text, item.start, item.end) if opening is not None else None
        if opening is None or listed is None:
            continue
        start, end = listed.span("list")
        for index, f in enumerate(found):
            if start <= f.start < end and assertions[index][0] not in ("negated", "exception"):
                assertions[index] = ("negated", (opening.start, opening.end))


_SENTENCE_START = re.compile(r"(?<=[a-z)])[.;]\s+(?=[A-Z])")


def _without_definitions(text: str, roots: list[Item], found: list[Found]) -> list[Found]:
    """Leaves out the atoms of items that define a term (`rationale.DEFINITION`) and of the items under
    them; a definition that starts a later sentence of an item ("Evidence of post-menopausal status or
    negative urinary or serum pregnancy test ... Women will be considered post-menopausal if ...",
    NCT04693377) leaves out the rest of the item from there."""
    spans = []
    stack = list(roots)
    while stack:
        item = stack.pop()
        starts = [item.start]
        words = text[item.start : item.end].lower()
        if "consider" in words or "defin" in words:
            starts += [m.end() for m in _SENTENCE_START.finditer(text, item.start, item.end)]
        start = next((s for s in starts if rationale.DEFINITION.match(text, s)), None)
        if start is not None:
            spans.append((start, _end_with_children(item)))
        else:
            stack.extend(item.children)
    return _outside(found, spans)


def _end_with_children(item: Item) -> int:
    """Where the item ends with the items under it."""
    last = item
    while last.children:
        last = last.children[-1]
    return max(item.end, last.end)


def _outside(found: list[Found], spans: list[tuple[int, int]]) -> list[Found]:
    """The atoms that start in none of the spans."""
    if not spans:
        return found
    return [f for f in found if not any(start <= f.start < end for start, end in spans)]


# An item about the donor of a transplant or of cells, not the patient: "DONOR: Age >= 12 years"
# (NCT04195633), "DONOR CRITERIA: The donor must be HIV negative" (NCT06735690), "Donor selection and
# eligibility:" over its sub-items (NCT06839456), "Related donor: Must be >= 5/10 match". Antibodies in the
# patient against a donor ("Donor specific HLA antibodies") are the patient's.
_DONOR_ITEM = re.compile(
    rationale.ITEM_MARK + r"(?:(?:the|a|an|each|any|all|identified|potential"
    r"|related|unrelated|haploidentical|sibling|matched|allogeneic|stem\s+cell|cell)\s+)*donors?(?:'s)?\b"
    r"(?![-\s](?:specific|lymphocyte|derived|chimerism|type))",
    re.IGNORECASE,
)
_LINE = re.compile(r"^[^\n]*$", re.MULTILINE)
_DONOR_WORD = re.compile(r"\bdonors?\b", re.IGNORECASE)


def _without_donor_items(text: str, roots: list[Item], found: list[Found]) -> list[Found]:
    """Leaves out the atoms of items about a donor, and of the items under them, and of the items under a
    heading for donors ("Donor Inclusion Criteria (note: donors are not research subjects):", NCT06001385):
    the patient need not meet what the donor must."""
    headings = [(m.start(), m.group(0)) for m in _LINE.finditer(text) if section_of_heading(m.group(0))]
    spans = []
    for root in roots:
        under = max(((at, line) for at, line in headings if at < root.start), default=None)
        if under is not None and _DONOR_WORD.search(under[1]):
            spans.append((root.start, _end_with_children(root)))
    stack = list(roots)
    while stack:
        item = stack.pop()
        if _DONOR_ITEM.match(text, item.start):
            spans.append((item.start, _end_with_children(item)))
        else:
            stack.extend(item.children)
    return _outside(found, spans)


def parse_eligibility(
    text: str,
    *,
    minimum_age: str | None = None,
    maximum_age: str | None = None,
    sex: str | None = None,
) -> ParsedEligibility:
    """Parse eligibility criteria text into criteria trees.

    `minimum_age` / `maximum_age` take ClinicalTrials.gov forms ("18 Years", "6 Months"); `sex` takes
    ALL / FEMALE / MALE. Spans index `text` as given.
    """
    nlp = pipeline()
    norm = normalise(text)
    roots, headings_found = items(norm.text)
    candidates = list(_dictionary_atoms(nlp.make_doc(norm.text), norm.text))
    lowered = norm.text.lower()
    for finder, triggers in _FINDERS:
        # `may_contain`, not a plain substring test: the finders' case-insensitive patterns also match the
        # few non-ASCII letters re.IGNORECASE folds to ASCII (a long s for "s"), which lower() keeps.
        if triggers is None or may_contain(norm.text, lowered, triggers):
            candidates.extend(finder(norm.text))
    # Lexicon phrases only fill gaps: a linked term or a rule's reading of the same words always wins.
    found = _resolve([c for c in candidates if not c.rule_id.startswith("lexicon.")])
    taken = [(f.start, f.end) for f in found]
    found = sorted(
        found
        + [
            f
            for f in _resolve([c for c in candidates if c.rule_id.startswith("lexicon.")])
            if not any(f.start < end and start < f.end for start, end in taken)
        ],
        key=lambda f: (f.start, f.end),
    )
    found = [
        f
        for f in found
        if not _topic_label(norm.text, f)
        and not _names_organisation(norm.text, f)
        and not _inside_longer_code(norm.text, f)
    ]
    found = [f for f, gone in zip(found, rationale.unstated(norm.text, found), strict=True) if not gone]
    if "potential" in lowered or "menopausal" in lowered:
        found = _without_definitions(norm.text, roots, found)
    if "donor" in lowered:
        found = _without_donor_items(norm.text, roots, found)
    if "extra" in lowered:
        found = [f for f in found if not _outside_the_organ(norm.text, f)]
    if "radiation" in lowered:
        found = [f for f in found if not _radiation_named_for_else(norm.text, f)]
    if _BRACKETED_ABBREVIATION.search(norm.text):
        found = _without_redefined_abbreviations(norm.text, found)
    if "infection" in lowered or "(" in lowered:
        found = _without_restated_infections(norm.text, found)
    if " with " in lowered:
        found = _without_generic_treatment_heads(norm.text, found)
    if "equivalen" in lowered or "mg" in lowered:
        found = _without_dose_yardsticks(norm.text, found)
    context: EligibilityContext = nlp.get_pipe("eligibility_context")  # type: ignore[assignment]
    cues = context.find_cues(norm.text)
    assertions = [
        _non_prefixed(norm.text, f) or (category, (cue.start, cue.end) if cue else None)
        for f, (category, cue) in zip(
            found, context.assertions(norm.text, cues, [f.start for f in found]), strict=True
        )
    ]
    if "following" in lowered:
        _negate_inline_lists(norm.text, roots, found, assertions, cues)
    builder = _Builder(norm, found, assertions, context, cues)
    roots, built = _with_control_alternatives(norm, roots, [builder.criterion(item) for item in roots])
    criteria = _structured(minimum_age, maximum_age, sex) + _with_alternative_populations(norm, roots, built)
    # Chia tagger hook (nlp.chia_mentions): its entities join the mentions where no atom reads the words.
    criteria = add_mentions(text, criteria)
    versions = manifest()
    return ParsedEligibility(
        criteria=criteria,
        parser_version=versions["parser_version"],
        dictionary_version=versions["dictionary_version"],
        section_headings_found=headings_found,
    )


class EligibilityText(NamedTuple):
    """One text for `parse_eligibility_many`, with the structured fields `parse_eligibility` takes."""

    text: str
    minimum_age: str | None = None
    maximum_age: str | None = None
    sex: str | None = None


def parse_eligibility_many(texts: Iterable[EligibilityText]) -> list[ParsedEligibility]:
    """`parse_eligibility` of each text, the same parses, cheaper per text for many short texts.

    The Chia tagger's numpy steps cost about as much for many texts as for one, so all the texts are tagged
    together first (`LinearTagger.tagging_ahead`) and each parse reads its text's entities from that.
    """
    batch = list(texts)
    with linear_tagger.load().tagging_ahead([t.text for t in batch]):
        return [
            parse_eligibility(t.text, minimum_age=t.minimum_age, maximum_age=t.maximum_age, sex=t.sex)
            for t in batch
        ]
