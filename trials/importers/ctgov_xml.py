"""ClinicalTrials.gov legacy `<clinical_study>` XML, one study per document.

Registry downloads are untrusted input: they are parsed with defusedxml, which refuses DTDs and entity
tricks that plain ElementTree would expand.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from trials.importers.common import (
    ArmRecord,
    InterventionRecord,
    RecordContext,
    RecordError,
    SiteRecord,
    TrialRecord,
    finish_record,
    join_phone,
    parse_age,
    parse_agency_class,
    parse_arm_type,
    parse_count,
    parse_date,
    parse_healthy_volunteers,
    parse_intervention_type,
    parse_phase,
    parse_sex,
    parse_site_status,
    parse_status,
    parse_study_type,
    site_max_length,
)
from trials.models import Arm, Trial


def parse_document(data: bytes, *, source: str) -> TrialRecord:
    """One legacy XML document -> one record; unreadable XML is reported with the parser's line and column."""
    try:
        root = fromstring(data)
    except ParseError as exc:
        line, column = exc.position
        raise RecordError(
            f"not well-formed XML at line {line}, column {column}: {exc.msg}", source=source
        ) from None
    except DefusedXmlException as exc:
        raise RecordError(f"refused unsafe XML: {exc}", source=source) from None
    if root.tag != "clinical_study":
        raise RecordError(f"expected a <clinical_study> document, found <{root.tag}>", source=source)
    return parse_study(root, source=source)


def _text(element: Element, path: str) -> str:
    return (element.findtext(path) or "").strip()


def _all(element: Element, path: str) -> tuple[str, ...]:
    return tuple(
        text for text in (child.text.strip() for child in element.iterfind(path) if child.text) if text
    )


def parse_study(root: Element, *, source: str) -> TrialRecord:
    context = RecordContext(source)
    context.nct(_text(root, "id_info/nct_id"))
    study_type = context.convert("study_type", parse_study_type, _text(root, "study_type"))
    enrollment = root.find("enrollment")
    interventions, arm_interventions = _interventions(root, context)
    record = TrialRecord(
        nct_id=context.nct_id or "",
        source_format=Trial.Source.CTGOV_LEGACY_XML,
        brief_title=context.text("brief_title", _text(root, "brief_title"), max_length=500),
        official_title=context.text("official_title", root.findtext("official_title")),
        acronym=context.text("acronym", root.findtext("acronym"), max_length=100),
        phase=context.convert("phase", parse_phase, _text(root, "phase")),
        study_type=study_type,
        overall_status=context.convert("overall_status", parse_status, _text(root, "overall_status")),
        sponsor_name=context.text(
            "lead_sponsor", root.findtext("sponsors/lead_sponsor/agency"), max_length=300
        ),
        sponsor_class=context.convert(
            "agency_class", parse_agency_class, _text(root, "sponsors/lead_sponsor/agency_class")
        ),
        collaborators=_all(root, "sponsors/collaborator/agency"),
        conditions=_all(root, "condition"),
        keywords=_all(root, "keyword"),
        interventions=interventions,
        brief_summary=context.text("brief_summary", root.findtext("brief_summary/textblock")),
        start_date=context.convert("start_date", parse_date, _text(root, "start_date")),
        primary_completion_date=context.convert(
            "primary_completion_date", parse_date, _text(root, "primary_completion_date")
        ),
        completion_date=context.convert("completion_date", parse_date, _text(root, "completion_date")),
        last_update_posted=context.convert(
            "last_update_posted", parse_date, _text(root, "last_update_posted")
        ),
        enrollment=context.convert("enrollment", parse_count, _text(root, "enrollment")),
        enrollment_is_actual=enrollment is not None and enrollment.get("type") == "Actual",
        minimum_age_years=context.convert("minimum_age", parse_age, _text(root, "eligibility/minimum_age")),
        maximum_age_years=context.convert("maximum_age", parse_age, _text(root, "eligibility/maximum_age")),
        sex=context.convert("gender", parse_sex, _text(root, "eligibility/gender")),
        healthy_volunteers=context.convert(
            "healthy_volunteers", parse_healthy_volunteers, _text(root, "eligibility/healthy_volunteers")
        ),
        eligibility_text=context.text("eligibility", root.findtext("eligibility/criteria/textblock")),
        arms=tuple(_arms(root, context, study_type, arm_interventions)),
        sites=tuple(_sites(root, context)),
        countries=_all(root, "location_countries/country"),
    )
    return finish_record(context, record)


def _interventions(
    root: Element, context: RecordContext
) -> tuple[tuple[InterventionRecord, ...], dict[str, list[str]]]:
    """The trial's interventions, and for each arm label the names of the interventions it receives."""
    interventions = []
    by_arm: dict[str, list[str]] = {}
    for element in root.iterfind("intervention"):
        name = context.text("intervention_name", element.findtext("intervention_name"))
        interventions.append(
            InterventionRecord(
                type=context.convert(
                    "intervention_type", parse_intervention_type, _text(element, "intervention_type")
                ),
                name=name,
                description=context.text("intervention_description", element.findtext("description")),
                other_names=_all(element, "other_name"),
            )
        )
        for label in _all(element, "arm_group_label"):
            by_arm.setdefault(label, []).append(name)
    return tuple(interventions), by_arm


def _arms(
    root: Element, context: RecordContext, study_type: str, arm_interventions: dict[str, list[str]]
) -> list[ArmRecord]:
    label_length = Arm._meta.get_field("label").max_length
    arms = []
    for element in root.iterfind("arm_group"):
        label = context.text("arm_group_label", element.findtext("arm_group_label"), max_length=label_length)
        if not label:
            context.fail("arm_group_label", "is missing")
        arm_type = context.convert(
            "arm_group_type",
            lambda value: parse_arm_type(value, study_type=study_type),
            _text(element, "arm_group_type"),
        )
        arms.append(
            ArmRecord(
                label=label,
                arm_type=arm_type,
                description=context.text("arm_group_description", element.findtext("description")),
                interventions=tuple(arm_interventions.get(label, ())),
            )
        )
    return arms


def _sites(root: Element, context: RecordContext) -> list[SiteRecord]:
    sites = []
    for element in root.iterfind("location"):
        address = "facility/address/"
        sites.append(
            SiteRecord(
                facility=context.text(
                    "facility", element.findtext("facility/name"), max_length=site_max_length("facility")
                ),
                city=context.text(
                    "city", element.findtext(address + "city"), max_length=site_max_length("city")
                ),
                state=context.text(
                    "state", element.findtext(address + "state"), max_length=site_max_length("state")
                ),
                zip_code=context.text(
                    "zip", element.findtext(address + "zip"), max_length=site_max_length("zip_code")
                ),
                country=context.text(
                    "country", element.findtext(address + "country"), max_length=site_max_length("country")
                ),
                status=context.convert("location_status", parse_site_status, _text(element, "status")),
                contact_name=context.text("contact", element.findtext("contact/last_name"), max_length=200),
                contact_email=context.email("contact_email", element.findtext("contact/email")),
                contact_phone=context.text(
                    "contact_phone",
                    join_phone(element.findtext("contact/phone"), element.findtext("contact/phone_ext")),
                    max_length=60,
                ),
                investigator=context.text(
                    "investigator", element.findtext("investigator/last_name"), max_length=200
                ),
            )
        )
    return sites
