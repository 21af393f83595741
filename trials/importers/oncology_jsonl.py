"""The oncology trials JSON-lines export: one flat object per trial, with countries but no facilities."""

from __future__ import annotations

from typing import Any

from trials.importers.common import (
    InterventionRecord,
    RecordContext,
    TrialRecord,
    finish_record,
    parse_age,
    parse_count,
    parse_date,
    parse_healthy_volunteers,
    parse_phase,
    parse_sex,
    parse_status,
    parse_study_type,
)
from trials.models import Trial

# Trial fields, arms and sites the export has no place for.
ABSENT = frozenset(
    {
        "official_title",
        "acronym",
        "keywords",
        "primary_completion_date",
        "last_update_posted",
        "enrollment_is_actual",
        "arms",
        "sites",
    }
)


def parse_trial(item: Any, *, source: str) -> TrialRecord:
    context = RecordContext(source)
    if not isinstance(item, dict):
        context.fail(None, f"expected a trial object, found {type(item).__name__}")
    context.nct(item.get("nct_id"))
    eligibility = item.get("eligibility")
    if eligibility is None:
        eligibility = {}
    if not isinstance(eligibility, dict):
        context.fail("eligibility", f"{eligibility!r} is not an object")
    record = TrialRecord(
        nct_id=context.nct_id or "",
        source_format=Trial.Source.ONCOLOGY_JSONL,
        brief_title=context.text("title", item.get("title"), max_length=500),
        phase=context.convert("phase", parse_phase, item.get("phase")),
        study_type=context.convert("study_type", parse_study_type, item.get("study_type")),
        overall_status=context.convert("status", parse_status, item.get("status")),
        sponsor_name=context.text("sponsor", item.get("sponsor"), max_length=300),
        collaborators=context.text_list("collaborators", item.get("collaborators")),
        conditions=context.text_list("conditions", item.get("conditions")),
        # The export flattens interventions to their names.
        interventions=tuple(
            InterventionRecord(type="", name=name)
            for name in context.text_list("interventions", item.get("interventions"))
        ),
        brief_summary=context.text("summary", item.get("summary")),
        start_date=context.convert("start_date", parse_date, item.get("start_date")),
        completion_date=context.convert("completion_date", parse_date, item.get("completion_date")),
        enrollment=context.convert("enrollment_count", parse_count, item.get("enrollment_count")),
        minimum_age_years=context.convert("minimum_age", parse_age, eligibility.get("minimum_age")),
        maximum_age_years=context.convert("maximum_age", parse_age, eligibility.get("maximum_age")),
        sex=context.convert("sex", parse_sex, eligibility.get("sex")),
        healthy_volunteers=context.convert(
            "accepts_healthy_volunteers",
            parse_healthy_volunteers,
            eligibility.get("accepts_healthy_volunteers"),
        ),
        eligibility_text=context.text("eligibility.raw_text", eligibility.get("raw_text")),
        countries=context.text_list("locations", item.get("locations")),
        absent=ABSENT,
    )
    return finish_record(context, record)
