"""Reads for the registry."""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from nlp import iter_atoms
from nlp.model import node_from_dict, node_to_dict
from nlp.terminology import manifest as nlp_manifest
from trials.models import EligibilityCriterion, Trial, TrialSite


def trial_search(*, query: str = "", status: str = "") -> QuerySet[Trial]:
    trials = Trial.objects.select_related("sponsor").annotate(site_count=Count("trial_sites"))
    if query:
        trials = trials.filter(
            Q(nct_id__iexact=query) | Q(brief_title__icontains=query) | Q(sponsor__name__icontains=query)
        )
    if status:
        trials = trials.filter(overall_status=status)
    return trials.order_by("nct_id")


def trial_with_related() -> QuerySet[Trial]:
    return Trial.objects.select_related("sponsor").prefetch_related(
        "arms", Prefetch("trial_sites", queryset=TrialSite.objects.select_related("site"))
    )


@dataclass(frozen=True)
class Segment:
    """A piece of a criterion's text; `atom` is set where the parser read something there, and `mention`
    where that something is a phrase it recognised but could not code."""

    text: str
    atom: dict[str, Any] | None = None
    mention: bool = False


@dataclass(frozen=True)
class CriterionView:
    criterion: EligibilityCriterion
    segments: list[Segment]
    atoms: list[dict[str, Any]]
    mentions: list[dict[str, Any]]
    tree_json: str
    # The parser's current reading, where a parse read the criterion differently after its review.
    new_reading: list[dict[str, Any]] | None = None


def _atoms_of(tree: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The tree's atoms in their JSON form, for the template."""
    if tree is None:
        return []
    return [node_to_dict(atom) for atom in iter_atoms(node_from_dict(tree))]


def _segments(
    source: str, start: int, end: int, atoms: list[dict[str, Any]], mentions: list[dict[str, Any]]
) -> list[Segment]:
    """Cut the criterion's source text at its atoms' and mentions' spans (original offsets) so a template can
    mark them; where they overlap, the one that starts first (the longer at the same start) is marked."""
    segments: list[Segment] = []
    cursor = start
    marked = [(atom, False) for atom in atoms] + [(mention, True) for mention in mentions]
    for atom, is_mention in sorted(marked, key=lambda m: (m[0]["span"][0], -m[0]["span"][1], m[1])):
        atom_start, atom_end = max(atom["span"][0], cursor), min(atom["span"][1], end)
        if atom_start >= atom_end:
            continue  # structured criteria and overlapping readings have no place of their own in the text
        if atom_start > cursor:
            segments.append(Segment(source[cursor:atom_start]))
        segments.append(Segment(source[atom_start:atom_end], atom, is_mention))
        cursor = atom_end
    if cursor < end:
        segments.append(Segment(source[cursor:end]))
    return segments


def _reads_at_its_span(source: str, criterion: EligibilityCriterion) -> bool:
    """Whether the trial's text holds the criterion's words at its span, as the parse left it (case and
    spacing aside). Not while a changed text waits for its parse: the span then points at other words."""
    if criterion.span_end <= criterion.span_start:
        return False  # a structured criterion (age, sex) has no place in the text
    written = source[criterion.span_start : criterion.span_end]
    return " ".join(written.lower().split()) == " ".join(criterion.text.lower().split())


def criteria_for_review(
    *, trial: Trial, section: str = "", status: str = "", flagged: bool = False, changed: bool = False
) -> list[CriterionView]:
    criteria = trial.criteria.filter(retired_at__isnull=True).select_related("reviewed_by")
    if section:
        criteria = criteria.filter(section=section)
    if status:
        criteria = criteria.filter(status=status)
    if flagged:
        criteria = criteria.filter(needs_review=True)
    if changed:
        criteria = criteria.filter(reading_changed_at__isnull=False)
    views = []
    for criterion in criteria:
        tree = criterion.curated_tree if criterion.curated_tree is not None else criterion.parsed_tree
        atoms = _atoms_of(tree)
        # The parser's uncoded phrases are leads for its own reading; a curator's tree replaces that reading.
        mentions = criterion.mentions if criterion.curated_tree is None else []
        if _reads_at_its_span(trial.eligibility_text, criterion):
            segments = _segments(
                trial.eligibility_text, criterion.span_start, criterion.span_end, atoms, mentions
            )
        else:
            segments = [Segment(criterion.text)]
        new_reading = _atoms_of(criterion.parsed_tree) if criterion.reading_changed_at else None
        views.append(
            CriterionView(criterion, segments, atoms, mentions, json.dumps(tree, indent=2), new_reading)
        )
    return views


def criteria_counts(*, trial: Trial) -> dict[str, int]:
    current = trial.criteria.filter(retired_at__isnull=True)
    counts = dict(current.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {
        "total": sum(counts.values()),
        "flagged": current.filter(needs_review=True).count(),
        "reading_changed": current.filter(reading_changed_at__isnull=False).count(),
        **{status: counts.get(status, 0) for status in EligibilityCriterion.Status.values},
    }


def trial_parse_key(trial: Trial) -> str:
    """What a parse depends on: the text, the structured fields and the parser and dictionary versions.

    Equal keys mean an identical parse, so a trial whose key is unchanged need not be parsed again.
    """
    versions = nlp_manifest()
    parts = [
        versions["parser_version"],
        versions["dictionary_version"],
        trial.eligibility_text,
        str(trial.minimum_age_years),
        str(trial.maximum_age_years),
        trial.sex,
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def trials_needing_parse() -> list[int]:
    """Ids of trials whose criteria are missing or come from other text or parser or dictionary versions."""
    fields = (
        "pk",
        "eligibility_text",
        "minimum_age_years",
        "maximum_age_years",
        "sex",
        "eligibility_parse_key",
    )
    return [
        trial.pk
        for trial in Trial.objects.only(*fields).iterator()
        if trial_parse_key(trial) != trial.eligibility_parse_key
    ]
