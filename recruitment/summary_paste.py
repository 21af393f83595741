""" "Paste a summary": profile facts read from a letter, clinic note or the patient's own summary, offered for
review, and saved only once a person ticks them. Shared by the patient portal and the site candidate page.

Nothing is saved while suggestions are shown; the text itself is never stored. What comes back from the
browser is a list of ticked suggestions, each a kind and a few whitelisted fields (never an id), so a
tampered form can only add facts of the allowed kinds to the profile the view already chose.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from nlp.extract import COURSES
from nlp.patient_text import Finding, extract_patient_facts
from recruitment.matching.from_text import facts_from_text, finding_source
from recruitment.models import (
    Biomarker,
    Diagnosis,
    FactSource,
    PatientProfile,
    Procedure,
    ProfileFact,
    Therapy,
    User,
)
from recruitment.models.profile import STAGE_PATTERN
from recruitment.services.profile import profile_fact_save, profile_update
from recruitment.validators import gene_as_reported

# Longer pastes are cut here (a long letter is a few thousand characters); the page says so.
MAX_TEXT_LENGTH = 20_000
# What makes two facts of a kind the same fact: a suggestion the profile already holds is not offered again.
SAME_FACT: dict[str, tuple[str, ...]] = {
    "diagnosis": ("code", "presence"),
    "biomarker": ("gene", "status", "protein_change"),  # the alteration type follows from the change
    "therapy": ("drug",),
    "procedure": ("name",),
    "ecog": ("ecog",),
}
# The only fields a ticked suggestion may set, per kind.
PASTE_FIELDS: dict[str, tuple[type[ProfileFact], frozenset[str]]] = {
    "diagnosis": (Diagnosis, frozenset({"code", "label", "presence", "stage", "course"})),
    "biomarker": (Biomarker, frozenset({"gene", "alteration_type", "status", "protein_change"})),
    "therapy": (Therapy, frozenset({"drug"})),
    "procedure": (Procedure, frozenset({"name", "code"})),
}
KIND_TITLES = {
    "diagnosis": "Illness or condition",
    "biomarker": "Tumour test (biomarker)",
    "therapy": "Medicine or treatment",
    "procedure": "Operation or procedure",
    "ecog": "Performance status",
}


class PasteError(Exception):
    """A ticked suggestion that cannot be saved; nothing from the same confirmation was saved."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Suggestion:
    """One fact offered for review: what it would save, how it reads, and where in the text it came from."""

    kind: str
    fields: dict[str, Any]
    shown: str
    quote: str
    span: tuple[int, int]
    confidence: float

    on_profile: bool = False

    @property
    def title(self) -> str:
        return KIND_TITLES[self.kind]

    @property
    def identity(self) -> tuple[str, ...]:
        return _identity(self.kind, self.fields)

    @property
    def value(self) -> str:
        """The checkbox value: the kind and the fields, nothing else."""
        return json.dumps({"kind": self.kind, "fields": self.fields}, sort_keys=True)


def summary_suggestions(
    text: str, *, today: date, profile: PatientProfile | None = None, shown_to_site: bool = False
) -> list[Suggestion]:
    """Facts found in `text` that a profile can hold, once each (the surest mention), in text order;
    those `profile` already holds are marked `on_profile` (shown, not offered).

    For site staff (`shown_to_site`), only the facts their pseudonymous summary already shows (the present
    diagnoses, the biomarkers, ECOG) are marked: marking a drug or a procedure would tell them, for any text
    they paste, whether the patient has it. The others are offered, and saving one the profile holds adds
    nothing (`summary_facts_save`)."""
    patient = extract_patient_facts(text[:MAX_TEXT_LENGTH])
    facts = facts_from_text(patient, today=today)
    by_source = {finding_source(f): f for f in patient.findings}
    found: list[tuple[str, dict[str, Any], str, Finding]] = []
    for d in facts.diagnoses:
        presence = "present" if d.present else "absent"
        shown = d.label if d.present else f"No {d.label} (ruled out)"
        fields = {"code": d.code, "label": d.label, "presence": presence}
        # A TNM stage stays in the note: the profile holds stage groups, which TNM gives only by organ.
        if d.present and STAGE_PATTERN.fullmatch(d.stage):
            fields["stage"] = d.stage
            shown = f"{shown}, stage {d.stage}"
        if d.present and d.course:
            fields["course"] = d.course
            shown = f"{shown}, {COURSES[d.course]}"
        found.append(("diagnosis", fields, shown, by_source[d.source]))
    for b in facts.biomarkers:
        change = "" if b.protein_change in ("positive", "negative") else b.protein_change
        fields = {
            "gene": b.gene,
            "alteration_type": b.alteration_type,
            "status": b.status,
            "protein_change": change,
        }
        shown = " ".join(part for part in (gene_as_reported(b.gene), change, b.status) if part)
        found.append(("biomarker", fields, shown, by_source[b.source]))
    for t in facts.therapies:
        found.append(("therapy", {"drug": t.drug}, t.drug, by_source[t.source]))
    for p in facts.procedures:
        found.append(("procedure", {"name": p.name, "code": p.code}, p.name, by_source[p.source]))
    grades = patient.of("performance_status")
    if facts.ecog is not None and grades:
        surest = max(grades, key=lambda f: f.confidence)  # the one PatientText.ecog reports
        found.append(("ecog", {"ecog": facts.ecog}, f"Performance status (ECOG) {facts.ecog}", surest))
    suggestions: dict[str, Suggestion] = {}
    for kind, fields, shown, finding in found:
        suggestion = Suggestion(kind, fields, shown, finding.text, finding.span, finding.confidence)
        kept = suggestions.get(suggestion.value)
        if kept is None or suggestion.confidence > kept.confidence:
            suggestions[suggestion.value] = suggestion
    held = _held(profile, shown_to_site=shown_to_site) if profile is not None else set()
    return sorted(
        (replace(s, on_profile=s.identity in held) for s in suggestions.values()), key=lambda s: s.span
    )


def _identity(kind: str, fields: Mapping[str, Any]) -> tuple[str, ...]:
    return (kind, *(str(fields.get(name, "")).lower() for name in SAME_FACT[kind]))


# What a site's pseudonymous summary shows of a profile (recruitment.selectors.site.pseudonymous_summary).
_SHOWN_TO_SITE = {"diagnosis": {"presence": Diagnosis.Presence.PRESENT}, "biomarker": {}}


def _held(profile: PatientProfile, *, shown_to_site: bool = False) -> set[tuple[str, ...]]:
    """The identities of the facts the profile holds (one query per kind); with `shown_to_site`, of those
    the site's summary shows only."""
    # As stored: the caller's instance may hold a value a failed update left on it.
    ecog = PatientProfile.objects.filter(pk=profile.pk).values_list("ecog", flat=True).first()
    held = {_identity("ecog", {"ecog": ecog})} if ecog is not None else set()
    for kind, (model, _) in PASTE_FIELDS.items():
        if shown_to_site and kind not in _SHOWN_TO_SITE:
            continue
        fields = SAME_FACT[kind]
        rows = model.objects.filter(patient=profile, **_SHOWN_TO_SITE.get(kind, {}) if shown_to_site else {})  # type: ignore[attr-defined]
        for values in rows.values_list(*fields):
            held.add(_identity(kind, dict(zip(fields, values, strict=True))))
    return held


@transaction.atomic
def summary_facts_save(
    *,
    profile: PatientProfile,
    picks: Sequence[str],
    actor: User,
    source: str = FactSource.SELF_REPORTED,
    shown_version: str | None = None,
) -> int:
    """Save the ticked suggestions to `profile` through the profile services, all or none; a ticked fact the
    profile already holds is not added twice. Returns how many ticked items the profile now holds.

    Raises PasteError listing every pick that cannot be saved (then nothing is saved). `shown_version` is
    the profile's `version` when the suggestions were shown: a ticked ECOG grade would replace the one on
    the profile, so if the profile was saved since, ProfileConflict is raised and nothing is saved.
    """
    if not picks:
        raise PasteError(["Nothing was ticked; tick the items to save."])
    problems: list[str] = []
    saved = 0
    held = _held(profile)
    for raw in picks:
        try:
            kind, fields = _read_pick(raw)
            if _identity(kind, fields) in held:
                saved += 1
                continue
            if kind == "ecog":
                grade = _grade(fields["ecog"])
                profile_update(profile=profile, fields={"ecog": grade}, shown_version=shown_version)
            else:
                model, _ = PASTE_FIELDS[kind]
                profile_fact_save(profile=profile, fact=model(**fields), actor=actor, source=source)
            saved += 1
        except (ValueError, KeyError, TypeError):
            problems.append("One ticked item could not be read; please add it by hand.")
        except ValidationError as error:
            problems.extend(f"Not added: {message}" for message in error.messages)
    if problems:
        raise PasteError(problems)  # leaving the atomic block with an exception undoes what was saved
    return saved


def _grade(value: Any) -> int:
    """A pick's ECOG grade, which the page writes as a JSON integer. Anything else was not offered: int()
    would round 1.9 down to 1 and fail on infinity (1e999) with an error no caller expects."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{value!r} is not a grade")
    return value


def _read_pick(raw: str) -> tuple[str, dict[str, Any]]:
    try:
        pick = json.loads(raw)
    except RecursionError:
        # A tampered pick nested thousands of levels deep: reported like any other unreadable pick.
        raise ValueError("the ticked item is nested too deeply") from None
    kind, fields = str(pick["kind"]), dict(pick["fields"])
    allowed = frozenset({"ecog"}) if kind == "ecog" else PASTE_FIELDS[kind][1]
    if not set(fields) <= allowed:
        raise ValueError(f"unexpected fields for {kind}")
    return kind, fields
