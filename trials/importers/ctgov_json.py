"""ClinicalTrials.gov API v2 studies: the `protocolSection` shape, one study per JSON object."""

from __future__ import annotations

from typing import Any

from trials.importers.common import (
    ArmRecord,
    InterventionRecord,
    RecordContext,
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
    parse_latitude,
    parse_longitude,
    parse_phase,
    parse_sex,
    parse_site_status,
    parse_status,
    parse_study_type,
    site_max_length,
    strip_intervention_type,
)
from trials.models import Trial


def is_study(value: Any) -> bool:
    return isinstance(value, dict) and "protocolSection" in value


def parse_study(study: Any, *, source: str) -> TrialRecord:
    context = RecordContext(source)
    if not isinstance(study, dict):
        context.fail(None, f"expected a study object, found {type(study).__name__}")
    protocol = _object(context, study, "protocolSection")
    identification = _object(context, protocol, "identificationModule")
    context.nct(identification.get("nctId"))
    status = _object(context, protocol, "statusModule")
    sponsors = _object(context, protocol, "sponsorCollaboratorsModule")
    conditions = _object(context, protocol, "conditionsModule")
    design = _object(context, protocol, "designModule")
    arms_interventions = _object(context, protocol, "armsInterventionsModule")
    eligibility = _object(context, protocol, "eligibilityModule")
    locations = _object(context, protocol, "contactsLocationsModule")
    description = _object(context, protocol, "descriptionModule")
    lead_sponsor = _object(context, sponsors, "leadSponsor")
    enrollment = _object(context, design, "enrollmentInfo")
    study_type = context.convert("studyType", parse_study_type, design.get("studyType"))
    sites = tuple(_site(context, item) for item in _objects(context, locations, "locations"))

    record = TrialRecord(
        nct_id=context.nct_id or "",
        source_format=Trial.Source.CTGOV_API_V2,
        brief_title=context.text("briefTitle", identification.get("briefTitle"), max_length=500),
        official_title=context.text("officialTitle", identification.get("officialTitle")),
        acronym=context.text("acronym", identification.get("acronym"), max_length=100),
        phase=context.convert("phases", parse_phase, _phases(context, design.get("phases"))),
        study_type=study_type,
        overall_status=context.convert("overallStatus", parse_status, status.get("overallStatus")),
        sponsor_name=context.text("leadSponsor.name", lead_sponsor.get("name"), max_length=300),
        sponsor_class=context.convert("leadSponsor.class", parse_agency_class, lead_sponsor.get("class")),
        collaborators=tuple(
            context.text("collaborators", item.get("name"))
            for item in _objects(context, sponsors, "collaborators")
        ),
        conditions=context.text_list("conditions", conditions.get("conditions")),
        keywords=context.text_list("keywords", conditions.get("keywords")),
        interventions=tuple(
            InterventionRecord(
                type=context.convert("interventions.type", parse_intervention_type, item.get("type")),
                name=context.text("interventions.name", item.get("name")),
                description=context.text("interventions.description", item.get("description")),
                other_names=context.text_list("interventions.otherNames", item.get("otherNames")),
            )
            for item in _objects(context, arms_interventions, "interventions")
        ),
        brief_summary=context.text("briefSummary", description.get("briefSummary")),
        start_date=_date(context, status, "startDateStruct"),
        primary_completion_date=_date(context, status, "primaryCompletionDateStruct"),
        completion_date=_date(context, status, "completionDateStruct"),
        last_update_posted=_date(context, status, "lastUpdatePostDateStruct"),
        enrollment=context.convert("enrollmentInfo.count", parse_count, enrollment.get("count")),
        enrollment_is_actual=enrollment.get("type") == "ACTUAL",
        minimum_age_years=context.convert("minimumAge", parse_age, eligibility.get("minimumAge")),
        maximum_age_years=context.convert("maximumAge", parse_age, eligibility.get("maximumAge")),
        sex=context.convert("sex", parse_sex, eligibility.get("sex")),
        healthy_volunteers=context.convert(
            "healthyVolunteers", parse_healthy_volunteers, eligibility.get("healthyVolunteers")
        ),
        eligibility_text=context.text("eligibilityCriteria", eligibility.get("eligibilityCriteria")),
        arms=tuple(
            _arm(context, item, study_type) for item in _objects(context, arms_interventions, "armGroups")
        ),
        sites=sites,
        countries=tuple(dict.fromkeys(site.country for site in sites if site.country)),
    )
    return finish_record(context, record)


def _object(context: RecordContext, parent: dict[str, Any], key: str) -> dict[str, Any]:
    """A nested module; an absent module is empty, one of the wrong type is an error."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        context.fail(key, f"{value!r} is not an object")
    return value


def _objects(context: RecordContext, parent: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        context.fail(key, f"{value!r} is not a list of objects")
    return value


def _phases(context: RecordContext, value: Any) -> list[str] | None:
    if value is not None and not isinstance(value, list):
        context.fail("phases", f"{value!r} is not a list of phases")
    return value


def _date(context: RecordContext, status: dict[str, Any], key: str) -> Any:
    return context.convert(key, parse_date, _object(context, status, key).get("date"))


def _arm(context: RecordContext, item: dict[str, Any], study_type: str) -> ArmRecord:
    label = context.text("armGroups.label", item.get("label"), max_length=300)
    if not label:
        context.fail("armGroups.label", "is missing")
    names = context.text_list("armGroups.interventionNames", item.get("interventionNames"))
    return ArmRecord(
        label=label,
        arm_type=context.convert(
            "armGroups.type", lambda value: parse_arm_type(value, study_type=study_type), item.get("type")
        ),
        description=context.text("armGroups.description", item.get("description")),
        interventions=tuple(strip_intervention_type(name) for name in names),
    )


def _site(context: RecordContext, item: dict[str, Any]) -> SiteRecord:
    contacts = _objects(context, item, "contacts")
    roles = [context.text("locations.contacts.role", c.get("role")) for c in contacts]
    contact = next(
        (c for c, role in zip(contacts, roles, strict=True) if role not in _INVESTIGATOR_ROLES), {}
    )
    investigator = next(
        (c for c, role in zip(contacts, roles, strict=True) if role in _INVESTIGATOR_ROLES), {}
    )
    geo = _object(context, item, "geoPoint")
    return SiteRecord(
        facility=context.text(
            "locations.facility", item.get("facility"), max_length=site_max_length("facility")
        ),
        city=context.text("locations.city", item.get("city"), max_length=site_max_length("city")),
        state=context.text("locations.state", item.get("state"), max_length=site_max_length("state")),
        zip_code=context.text("locations.zip", item.get("zip"), max_length=site_max_length("zip_code")),
        country=context.text("locations.country", item.get("country"), max_length=site_max_length("country")),
        latitude=context.convert("locations.geoPoint.lat", parse_latitude, geo.get("lat")),
        longitude=context.convert("locations.geoPoint.lon", parse_longitude, geo.get("lon")),
        status=context.convert("locations.status", parse_site_status, item.get("status")),
        contact_name=context.text("locations.contacts.name", contact.get("name"), max_length=200),
        contact_email=context.email("locations.contacts.email", contact.get("email")),
        contact_phone=context.text(
            "locations.contacts.phone",
            join_phone(contact.get("phone"), contact.get("phoneExt")),
            max_length=60,
        ),
        investigator=context.text("locations.contacts.name", investigator.get("name"), max_length=200),
    )


_INVESTIGATOR_ROLES = {"PRINCIPAL_INVESTIGATOR", "SUB_INVESTIGATOR", "STUDY_CHAIR", "STUDY_DIRECTOR"}
