"""Words in a criterion that state no requirement on the patient: the reasons given for one, what to do if
something happens during the study, pregnancy named as what contraception prevents or of a partner, and the
assay a tissue sample is asked for ("Archival tumour tissue must be available for PD-L1 testing": the trial
wants the tissue, not a PD-L1 result; see `extract.TISSUE_FOR_TESTING`).

The NCI template sentences are the common case, in about one trial in seven of the 2026 registry:

- "Pregnant women are excluded from this study because cisplatin and mitomycin C are class D agents with the
  potential for teratogenic or abortifacient effects." The exclusion is pregnancy; the drugs are the reason.
- "Because there is an unknown but potential risk for adverse events in nursing infants secondary to treatment
  of the mother with osimertinib, breastfeeding should be discontinued if the mother is treated with
  osimertinib." Nothing here excludes anyone: a mother may stop breastfeeding.
- "The effects of abemaciclib and olaparib on the developing human fetus are unknown. For this reason and
  because CDK- and PARP-inhibiting agents are known to be teratogenic, women of child-bearing potential ...
  must agree to use adequate contraception ... Should a woman become pregnant or suspect she is pregnant while
  participating in this study, she should inform her treating physician immediately."

Read as requirements, such words asked every patient to have had the drugs named, and an inclusion asked her
to be pregnant, so that every man and every woman not pregnant failed the trial. `unstated(text, found)` tells
the parser which atoms to leave out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from nlp.extract import TISSUE_FOR_TESTING, TISSUE_WORDS, Found

# Why a requirement is there. After "because" or "due to", the clause names a risk or the evidence missing.
_REASON_WORDS = (
    r"teratogen\w*|abortifacient|fetus|fetal|foetal|unborn|pregnancy\s+category|class\s+[A-DX]\b"
    r"|(?:nursing|breast-?fed)\s+infants?|unknown\s+(?:but\s+)?(?:potential\s+)?risks?|potential(?:ly)?\s+"
    r"(?:for|risks?|harm|dangerous|teratogenic|interactions?)|no\s+(?:dosing|safety|adverse\s+event)\b"
    r"|pharmacokinetic\s+interactions?|poor\s+prognosis|confounded?|lists?\s+of\s+these\s+agents"
)
# "Because the safety and efficacy of Degarelix in pediatric patients have not been established, children
# ... are excluded" (NCT05839119): a reason only where it opens the sentence, before what it explains.
_UNESTABLISHED = r"not\s+(?:yet\s+)?(?:been\s+)?established"
_CLAUSE_END = r"(?=[.;](?:\s|$)|\n|$)"
_RATIONALE = re.compile(
    # "... because of the potential for teratogenic effects", "... due to the teratogenic potential of the
    # drug", "..., as there are no safety data available for these drug regimens during pregnancy": to the
    # end of the sentence.
    rf"\b(?:because(?:\s+of)?|due\s+(?:to\s+)?|as\s+there\s+(?:is|are)\s+no)\b(?=[^.;\n]*?(?:{_REASON_WORDS}))"
    rf"[^;\n]*?{_CLAUSE_END}"
    # "The effects of DS-8201a on the developing human fetus are unknown.": a sentence of its own.
    r"|\bthe\s+effects?\s+(?:of\s+[^.;\n]{1,200}?\s+)?on\s+the\s+(?:developing\s+)?(?:human\s+)?(?:fetus|foetus)"
    rf"[^.;\n]*{_CLAUSE_END}"
    # "... are known to be teratogenic, therefore women of ...", "... are known to be teratogenic; thus,":
    # from the sentence's start to the reason's end.
    r"|(?:^|(?<=[.;:]\s)|(?<=\n)|(?<=\*\s))[^.;\n]{0,300}?\bknown\s+to\s+be\s+teratogenic\b"
    r"(?:\s*[,;]?\s*(?:thus|therefore|hence|so)\b\s*,?)?"
    # "However, based on animal studies and the mechanism of action, Degarelix may cause fetal loss."
    # (NCT05839119), "irinotecan can cause fetal harm": a sentence of its own, the reason for contraception.
    r"|(?:^|(?<=[.;:]\s)|(?<=\n)|(?<=\*\s))[^.;\n]{0,200}?\b(?:may|can|could)\s+cause\s+"
    rf"(?:fetal|foetal|embryo-?fetal|embryo-?foetal)\s+\w+[^.;\n]*{_CLAUSE_END}"
    # "Should a woman become pregnant or suspect she is pregnant while ..., she should inform her treating
    # physician immediately.", "If a woman becomes pregnant ...": what happens later in the study.
    r"|\b(?:should|if)\s+(?:a|the|any)\s+(?:woman|female|participant|patient|subject)(?:'s\s+partner)?\s+"
    rf"(?:become|becomes|suspects?|is\s+found\s+to\s+be)\b[^;\n]*?{_CLAUSE_END}"
    # "HIV-positive patients on combination antiretroviral therapy are ineligible because ... In addition,
    # these patients are at increased risk of lethal infections when treated with marrow-suppressive therapy.
    # Appropriate studies will be undertaken in patients receiving combination antiretroviral therapy when
    # indicated.": the reasons again, and a plan ("who are at increased risk of bleeding" is a criterion).
    rf"|(?<!who\s)\bare\s+at\s+(?:an\s+)?increased\s+risk\s+of\b[^;\n]*?{_CLAUSE_END}"
    rf"|\bappropriate\s+studies\s+will\s+be\s+undertaken\b[^;\n]*?{_CLAUSE_END}"
    # "...; a patient of childbearing potential is anyone who meets the following criteria: 1) has achieved
    # menarche ...": a definition, to the end of its line.
    r"|(?<=[.;]\s)(?:an?\s+|the\s+)?(?:patient|female|woman|women|person|individual|participant|subject)s?\s+of"
    r"\s+(?:child-?bearing|reproductive)\s+potential\s+(?:\([^()\n]{0,20}\)\s+)?(?:is|are)\s+(?:defined\s+as"
    r"|any(?:one)?\b|a\s+woman\b|considered\b)[^\n]*"
    # "breastfeeding should be discontinued if the mother is treated with osimertinib": a mother may stop.
    r"|\bbreast-?feeding\s+should\s+be\s+(?:discontinued|stopped)\b[^;\n]*?"
    rf"{_CLAUSE_END}",
    re.IGNORECASE,
)
# "Because there is an unknown but potential risk ... with X, breastfeeding should ...": a reason opening
# the sentence ends at its comma, before what it is the reason for.
_OPENING_REASON = re.compile(
    r"(?:^|(?<=[.;:]\s)|(?<=\n)|(?<=\*\s)|(?<=\d\.\s))(?:for\s+this\s+reason\s+and\s+)?because\b"
    rf"(?=[^,.;\n]*?(?:{_REASON_WORDS}|{_UNESTABLISHED}))[^,.;\n]*,",
    re.IGNORECASE,
)
_FOR_THIS_REASON = re.compile(r"\bfor\s+this\s+reason\s*,?", re.IGNORECASE)

# Pregnancy named as what contraception prevents, what a test rules out, what may happen later, or a
# partner's: not whether the patient is pregnant now. The first words apply to the noun only ("to avoid
# pregnancy", "during pregnancy"; "exclude pregnant women" is her status); the second to any form ("capable of
# becoming pregnant", "suspects she is pregnant", "a negative serum pregnancy within 72 hours").
_PURPOSE_BEFORE = re.compile(
    r"\b(?:avoid|avoiding|prevent|preventing|prevention\s+of|rule\s+out|ruling\s+out|exclude|excluding"
    r"|risk\s+of|result\s+in|resulting\s+in|side[- ]effects?\s+of|during|duration\s+of|in\s+case\s+of"
    r"|cause|suspect|suspected|incapable\s+of|discontinue|discontinue/postpone|postpone|stop|cease"
    r"|abstains?\s+from|not\s+begin|unintentional|unintended|unplanned)"
    r"\s+(?:(?:the|a|an|any)\s+)?$",
    re.IGNORECASE,
)
_LATER_BEFORE = re.compile(
    r"(?:\b(?:become|becomes|becoming|plans?\s+to|planning\s+to|capable\s+of|determined\s+to\s+be"
    r"|found\s+to\s+be|administered\s+to|get\s+(?:you|someone|a\s+woman))"
    r"|\bsuspects?\s+(?:that\s+)?(?:she\s+is|he\s+is|they\s+are)"
    r"|\bnegative\s+(?:for\s+)?(?:(?:urine|serum|blood|beta[- ]?hcg)\s+(?:or\s+)?)*)"
    r"\s*(?:(?:a|an)\s+)?$",
    re.IGNORECASE,
)
_NOT_HER_STATUS_AFTER = re.compile(
    r"\s*(?:\(s\)\s*)?(?:(?:female\s+|male\s+)?partners?\b|infants?\b|category\b|prevention\b|potential\b"
    r"|risk\b|is\s+(?:known\s+or\s+)?suspected\b)",
    re.IGNORECASE,
)
# "Breastfeeding participants must be willing to discontinue breastfeeding ...": whoever is breastfeeding
# is asked to stop, not kept out.
_ASKED_TO_STOP_AFTER = re.compile(
    r"(?:[^.;\n]|\.(?=\S)){0,80}?\b(?:must|should|will)\s+(?:(?:be\s+willing|agree)\s+to\s+)?"
    r"(?:discontinue|stop|cease|postpone|interrupt)",
    re.IGNORECASE,
)
# Whose pregnancy: a partner, or "an individual that is pregnant" someone has intercourse with.
_PARTNER_BEFORE = re.compile(
    r"(?:\b(?:partners?(?:\(s\))?"
    r"|(?:intercourse|sex|abstinent)\s+with\s+(?:an?\s+)?(?:individual|woman|women|female|person)s?"
    r"|\bwith\s+(?:an?\s+)?(?:woman|women|female|individual|person)s?)"
    r"\s+(?:(?:who|that)\s+(?:is|are)\s+|(?:is|are)\s+)?(?:(?:currently|already)\s+)?"
    r"(?:(?:pregnant|breast-?feeding)\s+or\s+)?"
    r"|\b(?:intercourse|sex|abstinent)\s+with\s+(?:an?\s+)?)$",
    re.IGNORECASE,
)
_STATUS_WORDS = frozenset({"pregnant", "lactating"})
# "All females of childbearing potential must have a blood test ... to rule out pregnancy", "WOCBP must agree
# to use contraception": whom a requirement binds, not a requirement ("WOCBP must:" heading a list binds the
# items under it, as the parser reads it). A woman who cannot become pregnant, or a man, is asked nothing by
# it; one who can is asked what follows.
_BOUND_BY_WHAT_FOLLOWS = re.compile(
    r"(?:\s*\([^()\n]{0,60}\))?(?:\s*,[^,.;\n]{0,80},)?"
    r"(?:\s+(?:and|or)\s+(?:all\s+)?(?:their\s+)?(?:sexually\s+active\s+)?(?:men|males?|partners?))?"
    r"\s+(?:must|should|shall|will\s+need|need\s+to"
    r"|(?:is|are)\s+required\s+to|will\s+be\s+required\s+to)\b(?!\s*:)",
    re.IGNORECASE,
)
# "A female of child-bearing potential is any woman (regardless of sexual orientation ...) who meets the
# following criteria:", "Women of childbearing potential (WOCBP) are defined as ...": what a term means, not a
# criterion. The parser leaves out the atoms of such an item and of the items under it.
# A bullet or number that may open an item ("- ", "3. ", "b) "), and the space before it.
ITEM_MARK = r"\s*(?:[-*\u2022]\s*|\d{1,2}[.)]\s*|[a-z][.)]\s*)?"
DEFINITION = re.compile(
    ITEM_MARK + r"(?:note:\s*)?(?:an?\s+|the\s+)?"
    r"(?:females?|women|woman|persons?|people|individuals?|participants?|patients?|subjects?|males?|men)"
    r"\s+(?:of|with|who\s+(?:are|is)\s+of)\s+(?:non[- ]?)?(?:child[- ]?bearing|reproductive)\s+potential"
    # "Women of non-child-bearing potential defined as pre-menopausal females with a documented tubal
    # ligation or hysterectomy; or postmenopausal ..." (NCT04585958) defines, with or without its verb.
    r"(?:\s*\([^()\n]{0,20}\))?\s+(?:(?:(?:is|are)\s+)?defined\s+as|(?:is|are)\s+(?:considered|any\b|all\b"
    r"|those\b|a\s+woman\b|women\s+who\b))"
    # "Women < 50 years of age would be considered post-menopausal if they have been amenorrheic for 12 months
    # or more ..." (NCT04499053 and two more): who counts as post-menopausal.
    # "A woman is considered to be of childbearing potential if she is < 60 years old, ..." (NCT06680661).
     + "|" + ITEM_MARK + r"(?:an?\s+)?(?:females?|women|woman)\b[^.;\n]{0,60}?"
    r"\b(?:(?:would|will)\s+be|are|is)\s+considered\s+(?:to\s+be\s+)?(?:(?:post|pre)-?\s?menopausal\b"
    r"|(?:of\s+)?(?:non[- ]?)?(?:child[- ]?bearing|reproductive)\s+potential\b)",
    re.IGNORECASE,
)
_TRIGGERS = (
    "because",
    "due to",
    "as there",
    "fetus",
    "foetus",
    "teratogenic",
    "should a",
    "should the",
    "if a",
    "if the",
    "breastfeeding should",
    "breast-feeding should",
    "for this reason",
    "increased risk",
    "appropriate studies",
    "potential is",
    "potential are",
)
_PREGNANCY_CODES = frozenset({"pregnant", "breastfeeding"})
# What contraception includes, to the sentence's end: '"effective contraception" also includes refraining from
# sexual activity ... and surgery ... including a hysterectomy, bilateral oophorectomy, ... and vasectomy'
# (NCT05806515, NCT06470243) lists methods, not procedures the patient must have had.
_METHODS_LISTED = re.compile(
    r"\b(?:contraception|contraceptive\s+methods?|birth\s+control(?:\s+methods?)?)\W{0,3}\s+(?:also\s+)?"
    r"(?:includes?|may\s+include|consists?\s+of|(?:is|are)\s+defined\s+as)\b(?:[^.;\n]|\.(?=\S))*",
    re.IGNORECASE,
)


def rationale_spans(text: str) -> list[tuple[int, int]]:
    """Spans of `text` that give reasons or say what happens later in the study."""
    lowered = text.lower()
    if not any(word in lowered for word in _TRIGGERS):
        return []
    spans = [m.span() for m in _RATIONALE.finditer(text)]
    spans += [m.span() for m in _OPENING_REASON.finditer(text)]
    spans += [m.span() for m in _FOR_THIS_REASON.finditer(text)]
    return sorted(spans)


def not_her_status(text: str, start: int, end: int) -> bool:
    """The pregnancy or breastfeeding words at text[start:end] are not about the patient now."""
    before = text[max(text.rfind("\n", 0, start) + 1, start - 120) : start]
    noun = text[start:end].lower() not in _STATUS_WORDS
    if (noun and _PURPOSE_BEFORE.search(before)) or _LATER_BEFORE.search(before):
        return True
    if _PARTNER_BEFORE.search(before) or _NOT_HER_STATUS_AFTER.match(text, end):
        return True
    breastfeeding = text[start:end].lower() not in ("pregnant", "pregnancy")
    return breastfeeding and _ASKED_TO_STOP_AFTER.match(text, end) is not None


def _bare_population(found: Found) -> bool:
    """A childbearing-potential mention the extractor found no requirement for ("a negative pregnancy test",
    contraception) on its line: alone it would be read as required."""
    requirement = (found.extra or {}).get("requirement")
    return found.kind == "pregnancy" and (requirement is None or requirement.code == "wocbp")


def unstated(text: str, found: Sequence[Found]) -> list[bool]:
    """For each atom, whether its words state no requirement on the patient (see the module's docstring)."""
    spans = rationale_spans(text)
    lowered = text.lower()
    if "contracepti" in lowered or "birth control" in lowered:
        spans += [m.span() for m in _METHODS_LISTED.finditer(text)]
    if any(word in lowered for word in TISSUE_WORDS):
        spans += [m.span("purpose") for m in TISSUE_FOR_TESTING.finditer(text)]
    flags = []
    for f in found:
        inside = any(start <= f.start and f.end <= end for start, end in spans)
        code = f.concept.code if f.concept is not None else None
        flags.append(
            inside
            or (f.kind == "pregnancy" and code in _PREGNANCY_CODES and not_her_status(text, f.start, f.end))
            or (
                code == "wocbp"
                and _bare_population(f)
                and _BOUND_BY_WHAT_FOLLOWS.match(text, f.end) is not None
            )
        )
    return flags
