"""Ranking trials for one patient: BM25 topical relevance combined with the three-valued eligibility verdict.

BM25 (Robertson & Zaragoza 2009, k1=1.2, b=0.75) is implemented here: a few lines, no index to maintain, and
the collections it ranks (a patient's candidate trials) fit in memory. The patient's query is the summary
minus what it denies or attributes to relatives ("no history of diabetes" must not pull diabetes trials),
plus the preferred labels of the concepts found in it ("HTN" also searches "hypertension").

Relevance searches what a trial is about (title, conditions, keywords) with word stems, taking term
statistics from a whole trial collection when one is given (a patient's few candidate trials are too small a
sample for inverse document frequencies). The combined score is the expected value of a trial to the patient:
relevance times how well the patient fits, so eligibility orders trials on the patient's topic and cannot lift
an unrelated one. A violated structured age or sex limit is decisive, violated criteria read from text count
one by one (the parser misreads some, and criteria about the disease most often), and unknowns do not count
against a trial (unknown never silently excludes).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nlp.patient_text import PatientText

_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_STOPWORD_TEXT = """
a about above after again against all also an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers him his how i if in into is it its itself just me more most my no nor not
now of off on once only or other our out over own same she should so some such than that the their
them then there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your patient patients presents presented history year
years old day days week weeks month months noted showed shows reports revealed found also s p h o w
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# The combined score is relevance * (FIT_FLOOR + fit) / (FIT_FLOOR + 1) (see `combine` and `fit`):
# violated criteria read from text count one by one up to MAX_COUNTED_VIOLATIONS, because the parser
# misreads some and one alone must not bury a trial; a violated inclusion criterion about the disease counts
# DISEASE_VIOLATION_WEIGHT, because on legacy text those are mostly misreads (docs/trec_error_classes.md).
# The query counts the patient's own linked conditions CONDITION_BOOST times and the opening sentence, where
# notes and letters name the problem, OPENING_BOOST more times. All were chosen once on the whole TREC pool
# (docs/benchmarks.md) from a handful of settings, never per patient.
FIT_FLOOR = 0.25
MAX_COUNTED_VIOLATIONS = 3
DISEASE_VIOLATION_WEIGHT = 0.25
CONDITION_BOOST = 3
# A trial the patient may enter whose inclusion criteria her biomarker results meet ranks as if this much more
# relevant: among trials about her cancer, the one selecting for her tumour's alteration comes first.
TARGET_BOOST = 1.5
# A trial the patient may enter only if a tumour test she has never had comes back with the alteration its
# inclusion needs ranks as if this much less relevant: a targeted alteration is found in a minority of the
# patients tested, so such a trial is worth less to her than one she can be considered for today. Chosen
# from 1/TARGET_BOOST, 0.5, 0.4 and 0.25 on the demo patient's list as the mildest that ranks trials needing
# a KRAS result she does not have below her on-topic trials that need none (docs/benchmarks.md, TREC).
UNTESTED_FACTOR = 0.4
# Such a trial whose needed result is a driver her tumour almost surely lacks, because it has another driver
# of the same cancer (EGFR-mutant lung cancer and a KRAS G12C trial), ranks as if this much less relevant,
# instead of UNTESTED_FACTOR. UNTESTED_FACTOR stands for a result found in a minority of the tumours tested
# (KRAS in 33%, EGFR in 14%, BRAF in 10% of TCGA's lung adenocarcinomas, 2014); these drivers are found
# together in few tumours (nlp/data/README.md), so the chance is far smaller again. A quarter of
# UNTESTED_FACTOR ranks such a trial below the on-topic trials she may be considered for without that result,
# as the product wants, while a trial about her cancer still stays above the ones about other diseases (whose
# relevance is a small fraction of it). Chosen once from that reasoning; not tuned on a patient or benchmark.
DRIVER_FACTOR = 0.1
OPENING_BOOST = 2
# Stemming by truncation: "depressed"/"depression", "diabetic"/"diabetes" and "mastocytosis"/"mastocytoses"
# meet at six letters (+0.01 NDCG@10 on the TREC pool), with no word lists to ship.
STEM_LENGTH = 6
_OPENING = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])|\n\s*\n")


def tokenize(text: str, *, stem: bool = False) -> list[str]:
    """Lower-cased word tokens without stopwords, with a plural 's' folded ("tumors" -> "tumor"); with
    `stem`, cut to their first STEM_LENGTH letters."""
    tokens = []
    for token in _TOKEN.findall(text.lower()):
        if token in _STOPWORDS or len(token) < 2:
            continue
        if len(token) > 4 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
            token = token[:-1]
        tokens.append(token[:STEM_LENGTH] if stem else token)
    return tokens


def _surface_words(text: str) -> dict[str, str]:
    """Each stem's first word in the text as written, to explain matches in the patient's own words."""
    words: dict[str, str] = {}
    for token in tokenize(text):
        words.setdefault(token[:STEM_LENGTH], token)
    return words


class BM25:
    """Okapi BM25 over a fixed list of tokenised documents."""

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.counts = [Counter(doc) for doc in documents]
        self.lengths = [len(doc) for doc in documents]
        self.average_length = sum(self.lengths) / len(documents) if documents else 0.0
        frequency: Counter[str] = Counter()
        for counts in self.counts:
            frequency.update(counts.keys())
        total = len(documents)
        self.total = total
        self.idf = {term: self._idf(df) for term, df in frequency.items()}

    def _idf(self, df: int) -> float:
        return math.log(1 + (self.total - df + 0.5) / (df + 0.5))

    def term_scores(self, query: Sequence[str], index: int) -> dict[str, float]:
        """Each query term's contribution to document `index` (the terms that matched, for explanations)."""
        return self.document_term_scores(query, self.counts[index], self.lengths[index])

    def document_term_scores(
        self, query: Sequence[str], counts: Mapping[str, int], length: int
    ) -> dict[str, float]:
        """The same for any document, scored with this collection's statistics (a term the collection
        lacks counts as the rarest)."""
        norm = self.k1 * (1 - self.b + self.b * length / self.average_length) if self.average_length else 0
        contributions: dict[str, float] = {}
        for term, weight in Counter(query).items():
            tf = counts.get(term, 0)
            if tf:
                idf = self.idf.get(term) or self._idf(0)
                contributions[term] = weight * idf * tf * (self.k1 + 1) / (tf + norm)
        return contributions

    def scores(self, query: Sequence[str]) -> list[float]:
        return [sum(self.term_scores(query, index).values()) for index in range(len(self.counts))]


@dataclass(frozen=True)
class TrialText:
    """The searchable text of a trial."""

    nct_id: str
    title: str = ""
    conditions: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    summary: str = ""
    eligibility: str = ""

    def tokens(self) -> list[str]:
        """All of the trial's text: what the BM25 baseline searches."""
        return tokenize(
            " ".join((self.title, *self.conditions, *self.keywords, self.summary, self.eligibility))
        )

    def topic_tokens(self) -> list[str]:
        """What the trial is about, stemmed. Its eligibility text is left out on purpose: a patient's words
        found there are as often exclusions as inclusions (measured: docs/trec_error_classes.md)."""
        return tokenize(" ".join((self.title, *self.conditions, *self.keywords)), stem=True)


def topic_statistics(trials: Sequence[TrialText]) -> BM25:
    """Term statistics of a trial collection's topic text, for `rank_trials(statistics=...)`."""
    return BM25([trial.topic_tokens() for trial in trials])


@dataclass(frozen=True)
class EligibilityOutcome:
    """What the matcher concluded for one trial, reduced to what ranking and its explanation need."""

    overall: str  # eligible, possibly_eligible, ineligible
    score: float  # the engine's score: 1 eligible, 0 ineligible, 0.5-0.99 possible by share settled
    met: tuple[str, ...] = ()
    not_met: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    # Violated criteria from the registry's structured age and sex fields: far more reliable than text.
    structured_not_met: tuple[str, ...] = ()
    # Violated text criteria that the registry's structured fields contradict (a text-read sex requirement
    # in a trial declared for all sexes): shown, but not counted against the trial.
    contradicted: tuple[str, ...] = ()
    # Violated inclusion criteria about the disease itself (diagnosis, biomarker): counted at a quarter.
    not_met_on_disease: tuple[str, ...] = ()
    # Inclusion criteria met on the patient's own biomarker results: the trial selects for what her tumour was
    # found to have (or not to have), the point of stratified recruitment.
    met_on_biomarker: tuple[str, ...] = ()
    # Tumour test results that unsettled inclusion criteria need and the patient has never had ("KRAS G12D"):
    # until they come back, the trial is a long shot.
    untested_biomarkers: tuple[str, ...] = ()
    # Of those, the drivers her tumour almost surely lacks because it has another driver of the same cancer
    # (nlp/data/drivers.json), each with hers: ("KRAS mutations", "an EGFR mutation").
    rare_drivers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RankedTrial:
    nct_id: str
    score: float
    relevance: float  # BM25 over the patient's query, scaled to the best trial for this patient (0-1)
    bm25: float
    matched_terms: tuple[str, ...]
    eligibility: EligibilityOutcome | None

    def explain(self) -> str:
        lines = [f"{self.nct_id}: score {self.score:.3f} (relevance {self.relevance:.2f})"]
        lines.append("  matched terms: " + (", ".join(self.matched_terms[:12]) or "none"))
        if self.eligibility is not None:
            lines.append(f"  eligibility: {self.eligibility.overall}")
            for label, texts in (
                ("met", self.eligibility.met),
                ("not met", self.eligibility.not_met),
                ("unknown", self.eligibility.unknown),
            ):
                lines.extend(f"  {label}: {text}" for text in texts)
        return "\n".join(lines)

    def summary(self) -> str:
        """One line for a match list: what the trial has in common with the patient, and how they fit."""
        common = ", ".join(self.matched_terms[:5])
        line = f"In common: {common}." if common else "No topic words in common."
        outcome = self.eligibility
        if outcome is None:
            return line
        counts = [
            f"{len(texts)} {label}"
            for texts, label in (
                (outcome.met, "met"),
                (outcome.not_met, "not met"),
                (outcome.unknown, "to check"),
            )
            if texts
        ]
        if outcome.met_on_biomarker and outcome.overall != "ineligible":
            line += " It selects for your tumour test result."
        if outcome.rare_drivers and outcome.overall != "ineligible":
            needed, rare = _results_named(outcome.untested_biomarkers), _rarely_found(outcome.rare_drivers)
            line += f" It needs {needed}; {rare}."
        elif outcome.untested_biomarkers and outcome.overall != "ineligible":
            line += f" It needs {_results_named(outcome.untested_biomarkers)} you do not have yet."
        fit_line = outcome.overall.replace("_", " ").capitalize()
        return f"{line} {fit_line}" + (f": {', '.join(counts)}." if counts else ".")


def _results_named(results: Sequence[str]) -> str:
    """'a KRAS G12D result', 'an ALK fusion result', 'test results (ALK fusion, ROS1 fusion)': several are
    often alternatives, any one of which would do, so they are listed without 'and' or 'or'."""
    if len(results) == 1:
        return f"{'an' if results[0][:1] in 'AEIOU' else 'a'} {results[0]} result"
    return f"test results ({', '.join(results)})"


def _rarely_found(pairs: Sequence[tuple[str, str]]) -> str:
    """'KRAS mutations are rarely found in tumours with an EGFR mutation like yours', the drivers asked for
    gathered by the patient's driver."""
    by_found: dict[str, list[str]] = {}
    for driver, found in pairs:
        by_found.setdefault(found, []).append(driver)
    return "; ".join(
        f"{' and '.join(drivers)} are rarely found in tumours with {found} like yours"
        for found, drivers in by_found.items()
    )


def _patients_text(patient: PatientText) -> str:
    """The summary without what it denies or attributes to relatives."""
    text = patient.text
    removed = sorted(f.span for f in patient.findings if f.assertion in ("negated", "family"))
    kept, position = [], 0
    for start, end in removed:
        kept.append(text[position:start])
        position = max(position, end)
    kept.append(text[position:])
    return " ".join(kept)


def patient_query(patient: PatientText) -> list[str]:
    """Stemmed query: the patient's own text, its opening sentence again, and the labels of concepts found
    (the patient's conditions weighted over incidental words)."""
    text = _patients_text(patient)
    opening = _OPENING.split(text.strip(), maxsplit=1)[0]
    labels = []
    for f in patient.findings:
        if f.concept is not None and f.assertion in ("present", "historical") and f.concept.code != "cancer":
            labels.extend([f.concept.label] * (CONDITION_BOOST if f.kind == "condition" else 1))
    return (
        tokenize(text, stem=True)
        + tokenize(opening, stem=True) * OPENING_BOOST
        + tokenize(" ".join(labels), stem=True)
    )


def fit(outcome: EligibilityOutcome) -> float:
    """0-1: half the engine's score, half a weighted count of violated criteria (0 for a structured
    exclusion)."""
    if outcome.structured_not_met:
        return 0.0
    counted = [text for text in outcome.not_met if text not in outcome.contradicted]
    violations = sum(
        DISEASE_VIOLATION_WEIGHT if text in outcome.not_met_on_disease else 1.0 for text in counted
    )
    score = outcome.score
    if outcome.overall == "ineligible" and not counted:
        score = 0.5  # only contradicted violations: as undecided as a possible match with nothing settled
    return 0.5 * score + 0.5 * (1.0 - min(violations, MAX_COUNTED_VIOLATIONS) / MAX_COUNTED_VIOLATIONS)


def combine(relevance: float, outcome: EligibilityOutcome | None) -> float:
    """Relevance scaled by fit: a relevant trial is worth more to a patient who fits it, and no degree of
    fit makes an off-topic trial worth showing. FIT_FLOOR keeps a failed fit from erasing relevance
    (the verdict is often wrong on legacy criteria text)."""
    if outcome is None:
        return relevance
    targeted = 1.0
    if outcome.overall != "ineligible":
        targeted *= TARGET_BOOST if outcome.met_on_biomarker else 1.0
        if outcome.rare_drivers:
            targeted *= DRIVER_FACTOR
        elif outcome.untested_biomarkers:
            targeted *= UNTESTED_FACTOR
    return targeted * relevance * (FIT_FLOOR + fit(outcome)) / (FIT_FLOOR + 1.0)


def rank_trials(
    patient: PatientText,
    trials: Sequence[TrialText],
    outcomes: Mapping[str, EligibilityOutcome] | None = None,
    *,
    statistics: BM25 | None = None,
) -> list[RankedTrial]:
    """Trials best first by topical relevance scaled by eligibility; with no outcomes, relevance alone.

    `outcomes` are keyed by `TrialText.nct_id`. `statistics` (see `topic_statistics`) are the term
    statistics of the collection the trials come from; without them the trials given are their own
    collection.
    """
    labels = (f.concept.label for f in patient.findings if f.concept is not None)
    words = _surface_words(" ".join((_patients_text(patient), *labels)))
    return _rank(patient_query(patient), words, trials, outcomes, statistics)


def rank_for_profile(
    conditions: Sequence[str],
    other_terms: Sequence[str],
    trials: Sequence[TrialText],
    outcomes: Mapping[str, EligibilityOutcome] | None = None,
    *,
    statistics: BM25 | None = None,
) -> list[RankedTrial]:
    """The same for a structured profile: its diagnoses' labels weigh CONDITION_BOOST times, other terms
    (genes, drugs, procedures) once."""
    query = tokenize(" ".join(conditions), stem=True) * CONDITION_BOOST + tokenize(
        " ".join(other_terms), stem=True
    )
    words = _surface_words(" ".join((*conditions, *other_terms)))
    return _rank(query, words, trials, outcomes, statistics)


def _rank(
    query: Sequence[str],
    words: Mapping[str, str],
    trials: Sequence[TrialText],
    outcomes: Mapping[str, EligibilityOutcome] | None,
    statistics: BM25 | None,
) -> list[RankedTrial]:
    if not trials:
        return []
    documents = [trial.topic_tokens() for trial in trials]
    index = statistics or BM25(documents)
    terms_by_trial = [index.document_term_scores(query, Counter(doc), len(doc)) for doc in documents]
    raw = [sum(terms.values()) for terms in terms_by_trial]
    best = max(raw) or 1.0
    ranked = []
    for position, trial in enumerate(trials):
        outcome = (outcomes or {}).get(trial.nct_id)
        relevance = raw[position] / best
        terms = terms_by_trial[position]
        ranked.append(
            RankedTrial(
                trial.nct_id,
                combine(relevance, outcome),
                relevance,
                raw[position],
                tuple(words.get(t, t) for t in sorted(terms, key=lambda t: -terms[t])),
                outcome,
            )
        )
    ranked.sort(key=lambda r: (-r.score, -r.bm25))  # stable: ties keep the order given
    return ranked


def rank_bm25(text: str, trials: Sequence[TrialText]) -> list[RankedTrial]:
    """The baseline: plain BM25 of the whole patient text over all of each trial's text."""
    if not trials:
        return []
    index = BM25([trial.tokens() for trial in trials])
    query = tokenize(text)
    raw = index.scores(query)
    best = max(raw) or 1.0
    ranked = []
    for position, trial in enumerate(trials):
        terms = index.term_scores(query, position)
        matched = tuple(sorted(terms, key=lambda t: -terms[t]))
        ranked.append(
            RankedTrial(
                trial.nct_id, raw[position] / best, raw[position] / best, raw[position], matched, None
            )
        )
    ranked.sort(key=lambda r: (-r.score, r.nct_id))
    return ranked
