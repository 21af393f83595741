"""Scoring entity spans against Chia's BRAT annotations.

Pure functions only: the benchmark command reads the corpus and prints; this module holds the reader, the
deterministic train/evaluation split and the metrics, so they can be unit-tested without the corpus.
"""

from __future__ import annotations

import re
import statistics
import tarfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from defusedxml import ElementTree

from nlp.chia_mentions import RULE_PREFIX as _TAGGER_RULE
from nlp.extract import COURSE_RULE as _COURSE_RULE
from nlp.linear_tagger import ENTITY_TYPES
from nlp.model import TimeWindow

# The parser's tagger is trained on exactly the Chia types we score.
SCORED_TYPES: tuple[str, ...] = ENTITY_TYPES

# One trial in five is held out; crc32 of the NCT id keeps the split stable across machines and orderings.
HELD_OUT_MODULUS = 5
WARM_UP_TEXTS = 200


@dataclass(frozen=True)
class BratEntity:
    id: str
    type: str
    fragments: tuple[tuple[int, int], ...]

    @property
    def start(self) -> int:
        return min(s for s, _ in self.fragments)

    @property
    def end(self) -> int:
        return max(e for _, e in self.fragments)


@dataclass(frozen=True)
class BratDocument:
    name: str
    text: str
    entities: tuple[BratEntity, ...]
    relations: tuple[tuple[str, str, str], ...]  # (type, arg1 id, arg2 id)

    @property
    def trial_id(self) -> str:
        return self.name.split("_", 1)[0]


@dataclass(frozen=True)
class PredictedEntity:
    type: str
    start: int
    end: int
    negated: bool = False


@dataclass
class Prediction:
    entities: list[PredictedEntity] = field(default_factory=list)
    # (index of measurement-like entity, index of value entity) into `entities`
    has_value: list[tuple[int, int]] = field(default_factory=list)


@dataclass(frozen=True)
class PRF:
    true_positives: int
    predicted: int
    gold: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Report:
    strict: dict[str, PRF]
    relaxed: dict[str, PRF]
    strict_micro: PRF
    relaxed_micro: PRF
    has_value_accuracy: float
    has_value_gold: int
    negation_recall: float
    negated_gold: int
    negation_precision: float  # flagged entities that are negated in the gold standard
    negated_flagged: int


def parse_ann(name: str, text: str, ann: str) -> BratDocument:
    entities: list[BratEntity] = []
    relations: list[tuple[str, str, str]] = []
    for line in ann.splitlines():
        parts = line.split("\t")
        if line.startswith("T") and len(parts) >= 2:
            type_and_offsets = parts[1].split(" ", 1)
            if len(type_and_offsets) != 2:
                continue
            fragments = tuple(
                (int(a), int(b))
                for a, b in (frag.split() for frag in type_and_offsets[1].split(";") if frag.strip())
            )
            entities.append(BratEntity(parts[0], type_and_offsets[0], fragments))
        elif line.startswith("R") and len(parts) >= 2:
            fields = parts[1].split()
            if len(fields) == 3:
                relations.append((fields[0], fields[1].split(":", 1)[-1], fields[2].split(":", 1)[-1]))
    return BratDocument(name, text, tuple(entities), tuple(relations))


def read_brat_zip(path: str) -> list[BratDocument]:
    """Every `<name>.txt` with its `<name>.ann` in the archive, sorted by name."""
    with zipfile.ZipFile(path) as archive:
        members = {PurePosixPath(n): n for n in archive.namelist()}
        documents = []
        for member, raw_name in sorted(members.items()):
            if member.suffix != ".txt":
                continue
            ann_name = members.get(member.with_suffix(".ann"))
            if ann_name is None:
                continue
            text = archive.read(raw_name).decode("utf-8")
            ann = archive.read(ann_name).decode("utf-8")
            documents.append(parse_ann(member.stem, text, ann))
    return documents


def is_held_out(trial_id: str) -> bool:
    return zlib.crc32(trial_id.encode("ascii")) % HELD_OUT_MODULUS == 0


def is_dev(trial_id: str) -> bool:
    """A slice of the training trials for choosing settings, so the held-out trials are never looked at."""
    return zlib.crc32(trial_id.encode("ascii")) % HELD_OUT_MODULUS == 1


def split(documents: Iterable[BratDocument]) -> tuple[list[BratDocument], list[BratDocument]]:
    """(training, held-out evaluation) by trial id, so both sections of a trial fall on the same side."""
    train: list[BratDocument] = []
    held_out: list[BratDocument] = []
    for doc in documents:
        (held_out if is_held_out(doc.trial_id) else train).append(doc)
    return train, held_out


def _overlaps(a: BratEntity, start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in a.fragments)


def _count(
    documents: Sequence[BratDocument],
    predictions: Mapping[str, Prediction],
    types: Sequence[str],
    relaxed: bool,
) -> dict[str, PRF]:
    counts: dict[str, PRF] = {}
    for entity_type in types:
        tp = predicted = gold_total = 0
        for doc in documents:
            gold = [e for e in doc.entities if e.type == entity_type]
            pred = [p for p in predictions.get(doc.name, Prediction()).entities if p.type == entity_type]
            gold_total += len(gold)
            predicted += len(pred)
            if relaxed:
                # A gold entity counts once, so splitting one span in two is not rewarded twice.
                used: set[int] = set()
                for p in pred:
                    for i, g in enumerate(gold):
                        if i not in used and _overlaps(g, p.start, p.end):
                            used.add(i)
                            tp += 1
                            break
            else:
                gold_spans = {g.fragments for g in gold}
                tp += sum(1 for p in pred if ((p.start, p.end),) in gold_spans)
        counts[entity_type] = PRF(tp, predicted, gold_total)
    return counts


def _micro(counts: Mapping[str, PRF]) -> PRF:
    return PRF(
        sum(c.true_positives for c in counts.values()),
        sum(c.predicted for c in counts.values()),
        sum(c.gold for c in counts.values()),
    )


def _find(pred: Prediction, gold: BratEntity) -> list[int]:
    return [i for i, p in enumerate(pred.entities) if p.type == gold.type and _overlaps(gold, p.start, p.end)]


def score(
    documents: Sequence[BratDocument],
    predictions: Mapping[str, Prediction],
    types: Sequence[str] = SCORED_TYPES,
) -> Report:
    strict = _count(documents, predictions, types, relaxed=False)
    relaxed = _count(documents, predictions, types, relaxed=True)
    has_value_gold = has_value_right = negated_gold = negated_found = flagged = flagged_right = 0
    for doc in documents:
        pred = predictions.get(doc.name, Prediction())
        by_id = {e.id: e for e in doc.entities}
        negated_heads = [by_id[a] for t, a, _ in doc.relations if t == "Has_negation" and a in by_id]
        for p in pred.entities:
            if p.negated and p.type != "Negation":
                flagged += 1
                flagged_right += any(_overlaps(h, p.start, p.end) for h in negated_heads)
        links = set(pred.has_value)
        for rel_type, arg1, arg2 in doc.relations:
            head, tail = by_id.get(arg1), by_id.get(arg2)
            if head is None or tail is None:
                continue
            if rel_type == "Has_value":
                has_value_gold += 1
                if any((h, v) in links for h in _find(pred, head) for v in _find(pred, tail)):
                    has_value_right += 1
            elif rel_type == "Has_negation":
                negated_gold += 1
                if any(
                    p.negated and _overlaps(head, p.start, p.end)
                    for p in pred.entities
                    if p.type != "Negation"
                ):
                    negated_found += 1
    return Report(
        strict=strict,
        relaxed=relaxed,
        strict_micro=_micro(strict),
        relaxed_micro=_micro(relaxed),
        has_value_accuracy=has_value_right / has_value_gold if has_value_gold else 0.0,
        has_value_gold=has_value_gold,
        negation_recall=negated_found / negated_gold if negated_gold else 0.0,
        negated_gold=negated_gold,
        negation_precision=flagged_right / flagged if flagged else 0.0,
        negated_flagged=flagged,
    )


@dataclass(frozen=True)
class CtgovCriteria:
    nct_id: str
    text: str
    minimum_age: str | None
    maximum_age: str | None
    sex: str | None


def iter_ctgov_criteria(path: str) -> Iterator[CtgovCriteria]:
    """Eligibility text and structured fields of every legacy `<clinical_study>` XML record in a .tgz."""
    with tarfile.open(path) as archive:
        for member in archive:
            if not member.isfile() or not member.name.endswith(".xml"):
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            root = ElementTree.parse(handle).getroot()
            if root is None:
                continue
            text = root.findtext("eligibility/criteria/textblock")
            if text:
                yield CtgovCriteria(
                    root.findtext("id_info/nct_id") or member.name,
                    text,
                    root.findtext("eligibility/minimum_age"),
                    root.findtext("eligibility/maximum_age"),
                    root.findtext("eligibility/gender"),
                )


def criterion_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip())


@dataclass(frozen=True)
class Timing:
    lines: int
    wall_seconds: float  # median over the passes
    cpu_seconds: float  # median process CPU time: what one process costs when the machine is shared

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def lines_per_cpu_second(self) -> float:
        return self.lines / self.cpu_seconds if self.cpu_seconds else 0.0


def throughput(texts: Sequence[str], process: Callable[[str], object], repeats: int = 3) -> Timing:
    """Criterion lines (non-empty lines) and median times over `repeats` passes of `process` in this process.

    A short untimed warm-up first builds the pipeline and fills caches, as a long-running worker would have.
    """
    lines = sum(criterion_lines(text) for text in texts)
    for text in texts[:WARM_UP_TEXTS]:
        process(text)
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        for text in texts:
            process(text)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return Timing(lines, statistics.median(wall), statistics.median(cpu))


# How the product's own atoms answer for Chia's entity types. Chia splits "platelets >= 100" into a
# Measurement and its Value; an atom covers both, so it is cut at its first comparator or number.
_ATOM_TYPE = {
    "condition": "Condition",
    "pregnancy": "Condition",
    "therapy": "Drug",
    "procedure": "Procedure",
    "lab": "Measurement",
    "biomarker": "Measurement",
    "performance_status": "Measurement",
    "life_expectancy": "Measurement",
    "demographic": "Person",
}
# Chia types "life expectancy" an Observation (34 of its 36 exact annotations in the training split), which
# is not scored; only the Value cut from such an atom is a Chia entity.
_HEADLESS = frozenset({"life_expectancy"})
_VALUE_START = re.compile(r"(?:[<>≤≥=]|\bat least\b|\bgreater\b|\bless\b|\bmore\b|\bup to\b|\d)", re.I)


# Chia types the words of an assertion cue apart: in "no history of" "no" is a Negation and "history" a
# Temporal, and function words belong to neither.
_TEMPORAL_CUE_WORDS = frozenset({"history", "prior", "previous", "previously", "past"})
_NEGATION_CUE_WORDS = frozenset(
    {
        "no",
        "not",
        "without",
        "never",
        "absence",
        "free",
        "neither",
        "nor",
        "naive",
        "off",
        "unless",
        "except",
        "excluding",
        "besides",
        "other",
        "than",
        "exception",
    }
)
_CUE_WORD = re.compile(r"[A-Za-z]+")


def _cue_entities(text: str, cue: tuple[int, int]) -> Iterator[PredictedEntity]:
    """Negation and Temporal entities for the words of one cue span, adjacent words of a kind merged."""
    run: tuple[str, int, int] | None = None
    for match in _CUE_WORD.finditer(text, cue[0], cue[1]):
        word = match.group(0).lower()
        kind = (
            "Temporal" if word in _TEMPORAL_CUE_WORDS else "Negation" if word in _NEGATION_CUE_WORDS else None
        )
        if run is not None and kind == run[0] and not text[run[2] : match.start()].strip():
            run = (run[0], run[1], match.end())
            continue
        if run is not None:
            yield PredictedEntity(*run)
        run = (kind, match.start(), match.end()) if kind else None
    if run is not None:
        yield PredictedEntity(*run)


_WORD = re.compile(r"[\w-]+")
# Chia reads "women of childbearing potential" as a Person and a Condition ("women", "childbearing
# potential": 29 of the 30 annotated occurrences in the training split), never as one entity.
_CHILDBEARING = re.compile(
    r"(?P<person>wom[ae]n|females?)\s+of\s+(?P<condition>child[- ]?bearing\s+potential)", re.I
)


def _whole_atom_entities(
    text: str, chia_type: str, start: int, end: int, negated: bool
) -> list[PredictedEntity]:
    match = _CHILDBEARING.fullmatch(text, start, end) if chia_type == "Condition" else None
    if match is None:
        return [PredictedEntity(chia_type, start, end, negated)]
    return [
        PredictedEntity("Person", *match.span("person"), negated),
        PredictedEntity("Condition", *match.span("condition"), negated),
    ]


def _window_entity(text: str, window: TimeWindow, start: int, end: int) -> PredictedEntity:
    """An atom's time window as Chia marks it: without the spaces around it, and for a treatment given
    "concomitant(ly)", "current(ly)" or "ongoing" only that word (Chia's Temporal; "use of", "treated with"
    belong to no entity). `start` and `end` are the window's span."""
    if window.relation == "current":
        word = _WORD.search(text, start, end)
        if word is not None:
            return PredictedEntity("Temporal", word.start(), word.end())
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return PredictedEntity("Temporal", start, end)


def parser_prediction(text: str) -> Prediction:
    """What `parse_eligibility` (the parser the product uses) finds, as Chia-typed entities.

    Besides the atoms themselves: each atom's time window is a Temporal entity, and the words of the cue
    that decided its assertion are Negation or Temporal entities (each span once, however many atoms share
    it). The tagger's mentions come first: an atom's entity is left out where a tagged entity overlaps it,
    and a value, window or cue piece where a tagged one of its type does (chosen on the dev slice).
    """
    from nlp.parser import parse_eligibility  # imported here: the evaluation module loads without spaCy

    prediction = Prediction()
    parts: set[PredictedEntity] = set()
    atoms = parse_eligibility(text).recognised()
    # The tagger's mentions are already Chia-typed spans.
    tagged = [
        PredictedEntity(a.rule_id[len(_TAGGER_RULE) :], *a.span, a.assertion == "negated")
        for a in atoms
        if a.rule_id.startswith(_TAGGER_RULE)
    ]
    prediction.entities.extend(tagged)
    for atom in atoms:
        if atom.rule_id.startswith(_TAGGER_RULE):
            continue
        if atom.window is not None and atom.window.span is not None:
            parts.add(_window_entity(text, atom.window, *atom.window.span))
        if atom.assertion_cue is not None:
            parts.update(_cue_entities(text, atom.assertion_cue))
        # A cancer's course ("relapsed or refractory") is a Qualifier in Chia, which is not scored.
        chia_type = None if atom.rule_id == _COURSE_RULE else _ATOM_TYPE.get(atom.kind)
        start, end = atom.span
        if chia_type is None or end <= start:
            continue
        negated = atom.assertion == "negated"
        cut = _VALUE_START.search(text, start, end) if chia_type in ("Measurement", "Person") else None
        has_value = atom.value is not None or atom.values or atom.uln_multiple or atom.lln_multiple
        if cut is not None and cut.start() > start and has_value:
            head_end = cut.start()
            while head_end > start and text[head_end - 1] in " :,(":
                head_end -= 1
            head = PredictedEntity(chia_type, start, head_end, negated)
            value = PredictedEntity("Value", cut.start(), end)
            head_kept = atom.kind not in _HEADLESS and not _overlaps_any(head, tagged)
            if head_kept:
                prediction.entities.append(head)
            if not _overlaps_tagged(value, tagged):
                prediction.entities.append(value)
                if head_kept:
                    prediction.has_value.append((len(prediction.entities) - 2, len(prediction.entities) - 1))
        elif atom.kind not in _HEADLESS:
            for entity in _whole_atom_entities(text, chia_type, start, end, negated):
                if not _overlaps_any(entity, tagged) and entity not in prediction.entities:
                    prediction.entities.append(entity)
    # Where the tagger read a value, time or negation, its span stands for the one cut from an atom.
    parts = {p for p in parts if not _overlaps_tagged(p, tagged)}
    prediction.entities.extend(sorted(parts, key=lambda p: (p.start, p.end, p.type)))
    prediction.has_value.extend(_tagged_value_links(text, prediction))
    return prediction


_VALUE_HEADS = frozenset({"Measurement", "Person", "Condition", "Procedure", "Drug"})
_USUAL_HEADS = frozenset({"Measurement", "Person"})
_CLAUSE_END = re.compile(r"[;.\n]")


def _overlaps_tagged(entity: PredictedEntity, tagged: Sequence[PredictedEntity]) -> bool:
    return any(t.type == entity.type and t.start < entity.end and entity.start < t.end for t in tagged)


def _overlaps_any(entity: PredictedEntity, tagged: Sequence[PredictedEntity]) -> bool:
    return any(t.start < entity.end and entity.start < t.end for t in tagged)


def _tagged_value_links(text: str, prediction: Prediction) -> list[tuple[int, int]]:
    """Each Value not yet attached goes to the entity Chia most often gives it (in the training split 2,244
    of 2,398 Has_value heads are Measurements or Persons, and 505 follow their value, as in "18 years of
    age"): the nearest Measurement or Person before it on its line, else the nearest one after it in its
    clause, else the nearest other entity that can carry a value before it on its line."""
    attached = {v for _, v in prediction.has_value}
    links = []
    for v, value in enumerate(prediction.entities):
        if value.type != "Value" or v in attached:
            continue
        before = [
            (e.end, e.type in _USUAL_HEADS, i)
            for i, e in enumerate(prediction.entities)
            if e.type in _VALUE_HEADS and e.end <= value.start and "\n" not in text[e.end : value.start]
        ]
        usual = [(end, i) for end, usual, i in before if usual]
        after = [
            (-e.start, i)
            for i, e in enumerate(prediction.entities)
            if e.type in _USUAL_HEADS
            and e.start >= value.end
            and not _CLAUSE_END.search(text, value.end, e.start)
        ]
        heads = usual or after or [(end, i) for end, _, i in before]
        if heads:
            links.append((max(heads)[1], v))
    return links
