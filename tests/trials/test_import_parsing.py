"""Parsing registry exports into records: pure functions, no database."""

import dataclasses
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from trials.importers import RecordError
from trials.importers.common import (
    TrialRecord,
    parse_age,
    parse_agency_class,
    parse_date,
    parse_phase,
    parse_sex,
    parse_status,
    record_checksum,
)
from trials.importers.sources import Document, parse_document
from trials.models import Arm, Trial, TrialSite


def _document(path: Path) -> Document:
    return Document(name=path.name, read=path.read_bytes)


def _records(source: Path | Document, fmt: str = "auto"):
    items = parse_document(_document(source) if isinstance(source, Path) else source, fmt=fmt)
    errors = [item for _, item in items if isinstance(item, RecordError)]
    assert not errors, [str(error) for error in errors]
    return [item for _, item in items]


def _bytes_document(name: str, data: bytes) -> Document:
    return Document(name=name, read=lambda: data)


@pytest.mark.parametrize(
    ("raw", "years"),
    [
        ("18 Years", Decimal("18.00")),
        ("1 Year", Decimal("1.00")),
        ("6 Months", Decimal("0.50")),
        ("4 Weeks", Decimal("0.08")),
        ("120 Days", Decimal("0.33")),
        ("N/A", None),
        (None, None),
    ],
)
def test_ages_become_years(raw, years):
    assert parse_age(raw) == years


@pytest.mark.parametrize(
    ("raw", "phase"),
    [
        ("Phase 1/Phase 2", Trial.Phase.PHASE1_PHASE2),
        ("Phase 2/Phase 3", Trial.Phase.PHASE2_PHASE3),
        ("Early Phase 1", Trial.Phase.EARLY_PHASE1),
        ("N/A", Trial.Phase.NA),
        ("Not Applicable", Trial.Phase.NA),
        (["PHASE1", "PHASE2"], Trial.Phase.PHASE1_PHASE2),
        (["NA"], Trial.Phase.NA),
        (None, ""),
    ],
)
def test_phases_become_trial_phase_codes(raw, phase):
    assert parse_phase(raw) == phase


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("Recruiting", Trial.Status.RECRUITING),
        ("Active, not recruiting", Trial.Status.ACTIVE_NOT_RECRUITING),
        ("Unknown status", Trial.Status.UNKNOWN),
        ("ENROLLING_BY_INVITATION", Trial.Status.ENROLLING_BY_INVITATION),
        ("No longer available", Trial.Status.NO_LONGER_AVAILABLE),
    ],
)
def test_statuses_become_trial_status_codes(raw, status):
    assert parse_status(raw) == status


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        ("January 2007", date(2007, 1, 1)),
        ("July 3, 2007", date(2007, 7, 3)),
        ("2023-05", date(2023, 5, 1)),
        ("2023-05-17", date(2023, 5, 17)),
    ],
)
def test_dates_of_every_registry_precision_are_read(raw, day):
    assert parse_date(raw) == day


@pytest.mark.parametrize(
    ("raw", "code"), [("Industry", "INDUSTRY"), ("U.S. Fed", "FED"), ("NIH", "NIH"), (None, "")]
)
def test_sponsor_classes_use_the_api_v2_codes(raw, code):
    assert parse_agency_class(raw) == code


def test_sex_accepts_both_spellings():
    assert parse_sex("Female") == parse_sex("FEMALE") == Trial.Sex.FEMALE
    assert parse_sex("All") == Trial.Sex.ALL


def test_legacy_xml_record_is_normalised(ctgov):
    (record,) = _records(ctgov / "legacy_xml" / "NCT00461643.xml")
    assert record.nct_id == "NCT00461643"
    assert record.source_format == Trial.Source.CTGOV_LEGACY_XML
    assert record.phase == Trial.Phase.PHASE4
    assert record.overall_status == Trial.Status.UNKNOWN
    assert record.start_date == date(2007, 1, 1)
    assert record.sex == Trial.Sex.FEMALE
    assert record.maximum_age_years == Decimal("35.00")
    assert record.enrollment == 552
    assert not record.enrollment_is_actual
    assert [arm.label for arm in record.arms] == ["Strategy A", "Strategy B", "Strategy C"]
    assert {arm.arm_type for arm in record.arms} == {Arm.ArmType.ACTIVE_COMPARATOR}
    assert record.eligibility_text.startswith("Inclusion Criteria:")
    assert "\r" not in record.eligibility_text


def test_a_facility_listed_twice_is_one_site(ctgov):
    xml = (ctgov / "legacy_xml" / "NCT00461643.xml").read_text()
    assert xml.count("<name>&quot;Pugliese&quot; Hospital</name>") == 2
    (record,) = _records(ctgov / "legacy_xml" / "NCT00461643.xml")
    facilities = [site.facility for site in record.sites]
    assert facilities.count('"Pugliese" Hospital') == 1
    assert record.sites[0].status == TrialSite.Status.RECRUITING
    assert record.sites[0].contact_phone == "+39 0961 883234"


def test_observational_groups_are_cohorts(ctgov):
    (record,) = _records(ctgov / "legacy_xml" / "NCT00490152.xml")
    assert record.study_type == Trial.StudyType.OBSERVATIONAL
    assert {arm.arm_type for arm in record.arms} == {Arm.ArmType.COHORT}


def test_arms_know_their_interventions(ctgov):
    (record,) = _records(ctgov / "legacy_xml" / "NCT00496028.xml")
    assert len(record.arms) == 3
    assert len(record.sites) == 7
    assert all(arm.interventions for arm in record.arms)


def test_api_v2_study_reads_like_its_legacy_original(ctgov):
    (legacy,) = _records(ctgov / "legacy_xml" / "NCT00496028.xml")
    (v2,) = _records(ctgov / "api_v2" / "NCT00496028.json")
    assert v2.source_format == Trial.Source.CTGOV_API_V2
    for name in ("nct_id", "brief_title", "phase", "overall_status", "start_date", "enrollment", "sex"):
        assert getattr(v2, name) == getattr(legacy, name), name
    assert v2.minimum_age_years == legacy.minimum_age_years
    assert [(arm.label, arm.arm_type, arm.interventions) for arm in v2.arms] == [
        (arm.label, arm.arm_type, arm.interventions) for arm in legacy.arms
    ]
    assert [site.key for site in v2.sites] == [site.key for site in legacy.sites]


@pytest.mark.parametrize(
    ("name", "count"), [("study_list.json", 2), ("studies_page.json", 2), ("studies.jsonl", 3)]
)
def test_api_v2_lists_pages_and_lines_are_read(ctgov, name, count):
    records = _records(ctgov / "api_v2" / name)
    assert len(records) == count
    assert {record.source_format for record in records} == {Trial.Source.CTGOV_API_V2}


def test_oncology_lines_are_read(ctgov):
    records = _records(ctgov / "oncology" / "trials.jsonl")
    assert [record.nct_id for record in records] == ["NCT05642455", "NCT00001465", "NCT05068583"]
    first, _, infants = records
    assert first.phase == Trial.Phase.PHASE1_PHASE2
    assert first.overall_status == Trial.Status.RECRUITING
    assert first.maximum_age_years == Decimal("21.00")
    assert first.countries == ("United States",)
    assert first.sites == ()
    assert infants.minimum_age_years == Decimal("0.50")
    assert infants.healthy_volunteers is True


def test_forced_format_must_fit(ctgov):
    items = parse_document(_document(ctgov / "oncology" / "trials.jsonl"), fmt="ctgov-json")
    assert all(isinstance(item, RecordError) for _, item in items)


def _one_error(document: Document) -> RecordError:
    try:
        items = parse_document(document)
    except RecordError as unreadable:
        return unreadable
    (error,) = [item for _, item in items if isinstance(item, RecordError)]
    return error


def _legacy_with(ctgov, old: str, new: str) -> Document:
    xml = (ctgov / "legacy_xml" / "NCT00496028.xml").read_text()
    assert old in xml
    return _bytes_document("archive.tgz:NCT0049xxxx/NCT00496028.xml", xml.replace(old, new, 1).encode())


def test_a_bad_age_names_record_source_and_field(ctgov):
    error = _one_error(
        _legacy_with(ctgov, "<minimum_age>18 Years</minimum_age>", "<minimum_age>18 Yeers</minimum_age>")
    )
    assert str(error) == (
        "NCT00496028 (archive.tgz:NCT0049xxxx/NCT00496028.xml) field minimum_age: '18 Yeers' is not an age"
    )


def test_minimum_age_above_maximum_is_refused(ctgov):
    error = _one_error(
        _legacy_with(ctgov, "<maximum_age>N/A</maximum_age>", "<maximum_age>12 Years</maximum_age>")
    )
    assert error.nct_id == "NCT00496028"
    assert error.field == "minimum_age"
    assert "above the maximum age" in error.message


def test_truncated_xml_reports_line_and_column(ctgov):
    data = (ctgov / "legacy_xml" / "NCT00496028.xml").read_bytes()[:3000]
    error = _one_error(_bytes_document("cut.xml", data))
    assert error.source == "cut.xml"
    assert "not well-formed XML at line" in error.message
    assert "column" in error.message


def test_xml_with_an_entity_declaration_is_refused():
    data = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><clinical_study>&a;</clinical_study>'
    error = _one_error(_bytes_document("bomb.xml", data))
    assert "refused unsafe XML" in error.message


def test_missing_and_malformed_nct_ids_are_named(ctgov):
    line = json.loads((ctgov / "oncology" / "trials.jsonl").read_text().splitlines()[0])
    missing = {key: value for key, value in line.items() if key != "nct_id"}
    malformed = {**line, "nct_id": "NCT123"}
    data = f"{json.dumps(missing)}\n{json.dumps(malformed)}\n".encode()
    items = parse_document(_bytes_document("bad.jsonl", data))
    errors = [item for _, item in items]
    assert [str(error) for error in errors] == [
        "bad.jsonl:1 field nct_id: is missing",
        "bad.jsonl:2 field nct_id: 'NCT123' is not an NCT id (NCT followed by eight digits)",
    ]


def test_an_nct_id_in_digits_other_than_ascii_is_malformed(ctgov):
    """Fullwidth or Arabic-Indic digits are digits to a regular expression's \\d: such an id was imported
    as a second trial beside the one it imitates."""
    line = json.loads((ctgov / "oncology" / "trials.jsonl").read_text().splitlines()[0])
    wide = "NCT" + line["nct_id"][3:].translate({ord(str(digit)): 0xFF10 + digit for digit in range(10)})
    data = json.dumps({**line, "nct_id": wide}).encode()
    error = _one_error(_bytes_document("wide.jsonl", data))
    assert (error.field, error.message) == (
        "nct_id",
        f"{wide!r} is not an NCT id (NCT followed by eight digits)",
    )


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"conditions": 42}, "conditions", "42 is not a list of strings"),
        ({"enrollment_count": "many"}, "enrollment_count", "'many' is not a whole number"),
        ({"enrollment_count": -5}, "enrollment_count", "-5 is negative"),
        ({"phase": "Phase 9"}, "phase", "'Phase 9' is not a phase"),
        ({"start_date": "soon"}, "start_date", "'soon' is not a date"),
        ({"title": ["a", "list"]}, "title", "['a', 'list'] is not text"),
        # PostgreSQL stores no NUL character (SQLite does): the save failed there naming no field.
        ({"title": "Osimertinib\u0000"}, "title", "holds a NUL character (\\x00), which cannot be stored"),
        (
            {"conditions": ["NSCLC\u0000"]},
            "conditions",
            "holds a NUL character (\\x00), which cannot be stored",
        ),
        # A date the calendar has but no trial: a zero-filled or placeholder date in the export.
        ({"start_date": "0001-01-01"}, "start_date", "'0001-01-01' is not a plausible date (1900 to 2200)"),
        (
            {"completion_date": "9999-12-31"},
            "completion_date",
            "'9999-12-31' is not a plausible date (1900 to 2200)",
        ),
        # An escape sequence or a text-direction override shows on screen as something other than is stored.
        ({"title": "Osimertinib\u001b[31m"}, "title", "holds an invisible control character (U+001B)"),
        ({"conditions": ["NSCLC\u202e"]}, "conditions", "holds an invisible control character (U+202E)"),
    ],
)
def test_wrong_types_and_absurd_values_name_the_field(ctgov, change, field, message):
    line = json.loads((ctgov / "oncology" / "trials.jsonl").read_text().splitlines()[0])
    data = json.dumps({**line, **change}).encode()
    error = _one_error(_bytes_document("trials.jsonl", data))
    assert (error.nct_id, error.source, error.field, error.message) == (
        "NCT05642455",
        "trials.jsonl:1",
        field,
        message,
    )


@pytest.mark.parametrize(
    ("where", "value", "field", "message"),
    [
        (("locations", "geoPoint", "lat"), 90.5, "locations.geoPoint.lat",
         "90.5 is not a latitude (-90 to 90)"),
        (("locations", "geoPoint", "lat"), -1e6, "locations.geoPoint.lat",
         "-1000000.0 is not a latitude (-90 to 90)"),
        (("locations", "geoPoint", "lon"), 180.01, "locations.geoPoint.lon",
         "180.01 is not a longitude (-180 to 180)"),
        (("locations", "geoPoint", "lon"), "NaN", "locations.geoPoint.lon",
         "'NaN' is not a longitude (-180 to 180)"),
        (("enrollmentInfo", "count"), 10_000_001, "enrollmentInfo.count",
         "10000001 is not a plausible count (at most 10000000)"),
        (("leadSponsor", "class"), "X" * 41, "leadSponsor.class", "is 41 characters long, at most 40 fit"),
    ],
)  # fmt: skip
def test_coordinates_off_the_globe_absurd_enrolment_and_overlong_sponsor_classes_are_refused(
    ctgov, where, value, field, message
):
    study = json.loads((ctgov / "api_v2" / "NCT00496028.json").read_text())
    protocol = study["protocolSection"]
    place = {
        "locations": protocol["contactsLocationsModule"]["locations"][0],
        "enrollmentInfo": protocol["designModule"]["enrollmentInfo"],
        "leadSponsor": protocol["sponsorCollaboratorsModule"]["leadSponsor"],
    }[where[0]]
    for key in where[1:-1]:
        place = place.setdefault(key, {})
    place[where[-1]] = value
    error = _one_error(_bytes_document("one.json", json.dumps(study).encode()))
    assert (error.nct_id, error.field, error.message) == ("NCT00496028", field, message)


def test_a_site_contact_email_that_is_not_an_address_is_refused_naming_the_field(ctgov):
    study = json.loads((ctgov / "api_v2" / "NCT00496028.json").read_text())
    location = study["protocolSection"]["contactsLocationsModule"]["locations"][0]
    location["contacts"] = [{"name": "Ana Silva", "role": "CONTACT", "email": "ana.silva at hopital.fr"}]
    error = _one_error(_bytes_document("one.json", json.dumps(study).encode()))
    assert (error.nct_id, error.field, error.message) == (
        "NCT00496028",
        "locations.contacts.email",
        "'ana.silva at hopital.fr' is not an e-mail address",
    )


def test_a_legacy_site_contact_email_that_is_not_an_address_is_refused_naming_the_field(ctgov):
    xml = (ctgov / "legacy_xml" / "NCT00461643.xml").read_text()
    broken = xml.replace("<email>zullo@unicz.it</email>", "<email>zullo(at)unicz.it</email>")
    error = _one_error(_bytes_document("NCT00461643.xml", broken.encode()))
    assert (error.nct_id, error.field, error.message) == (
        "NCT00461643",
        "contact_email",
        "'zullo(at)unicz.it' is not an e-mail address",
    )


def test_a_contact_field_listing_two_addresses_keeps_the_trial_and_the_first_address(ctgov):
    # As NCT00491608 of the legacy archive lists its contacts ("John.Pribble@bms.com; Scot.Maxon@bms.com").
    xml = (ctgov / "legacy_xml" / "NCT00461643.xml").read_text()
    listed = xml.replace(
        "<email>angela.falbo@libero.it</email>", "<email>angela.falbo@libero.it; i.tomaino@libero.it</email>"
    )
    (record,) = _records(_bytes_document("NCT00461643.xml", listed.encode()))
    assert "angela.falbo@libero.it" in [site.contact_email for site in record.sites]


def test_a_contact_field_listing_an_address_and_something_else_is_refused_naming_it(ctgov):
    xml = (ctgov / "legacy_xml" / "NCT00461643.xml").read_text()
    listed = xml.replace(
        "<email>angela.falbo@libero.it</email>", "<email>angela.falbo@libero.it, ext. 4411</email>"
    )
    error = _one_error(_bytes_document("NCT00461643.xml", listed.encode()))
    assert (error.field, error.message) == ("contact_email", "'ext. 4411' is not an e-mail address")


def test_coordinates_on_the_globe_are_kept(ctgov):
    study = json.loads((ctgov / "api_v2" / "NCT00496028.json").read_text())
    location = study["protocolSection"]["contactsLocationsModule"]["locations"][0]
    location["geoPoint"] = {"lat": -90, "lon": 180}
    ((_, record),) = parse_document(_bytes_document("one.json", json.dumps(study).encode()))
    assert isinstance(record, TrialRecord)
    assert (record.sites[0].latitude, record.sites[0].longitude) == (Decimal(-90), Decimal(180))


def test_api_v2_module_of_the_wrong_type_is_named(ctgov):
    study = json.loads((ctgov / "api_v2" / "NCT00496028.json").read_text())
    study["protocolSection"]["eligibilityModule"]["minimumAge"] = 18
    error = _one_error(_bytes_document("one.json", json.dumps(study).encode()))
    assert str(error) == "NCT00496028 (one.json) field minimumAge: 18 is not an age"


def test_truncated_json_file_is_unreadable_as_a_whole(ctgov):
    data = (ctgov / "api_v2" / "study_list.json").read_bytes()[:5000]
    with pytest.raises(RecordError) as caught:
        parse_document(_bytes_document("list.json", data))
    assert caught.value.source == "list.json"
    assert caught.value.message.startswith("not valid JSON at line ")


def test_non_utf8_file_is_unreadable_as_a_whole(ctgov):
    data = (ctgov / "oncology" / "trials.jsonl").read_bytes().replace(b"Adaptimmune", b"Adaptimm\xfcne")
    with pytest.raises(RecordError) as caught:
        parse_document(_bytes_document("trials.jsonl", data))
    assert caught.value.message.startswith("not UTF-8: byte 0xfc at line 1, column ")


def test_a_broken_json_line_fails_alone(ctgov):
    lines = (ctgov / "oncology" / "trials.jsonl").read_text().splitlines()
    data = "\n".join([lines[0], lines[1][:200], lines[2]]).encode()
    items = parse_document(_bytes_document("trials.jsonl", data))
    assert [type(item).__name__ for _, item in items] == ["TrialRecord", "RecordError", "TrialRecord"]
    assert items[1][0] == "trials.jsonl:2"


def test_checksums_do_not_depend_on_set_order(ctgov):
    """A set's order changes between processes (string hashing), so none may feed the checksum."""
    record = _records(ctgov / "oncology" / "trials.jsonl")[0]
    assert record.absent
    assert record_checksum(dataclasses.replace(record, absent=frozenset())) == record.checksum


def test_json_nested_too_deeply_to_read_is_reported_with_its_line(ctgov):
    data = b'{\n  "studies": [\n    ' + b"[" * 100_000 + b"]" * 100_000 + b"\n  ]\n}\n"
    with pytest.raises(RecordError) as caught:
        parse_document(_bytes_document("list.json", data))
    assert caught.value.source == "list.json"
    assert caught.value.message == "not readable JSON: nested more than 100 levels deep from line 3"


def test_a_json_line_nested_too_deeply_fails_alone(ctgov):
    lines = (ctgov / "oncology" / "trials.jsonl").read_text().splitlines()
    deep = "[" * 100_000 + "]" * 100_000
    data = "\n".join([lines[0], deep, lines[2]]).encode()
    items = parse_document(_bytes_document("trials.jsonl", data))
    assert [str(item) for _, item in items if isinstance(item, RecordError)] == [
        "trials.jsonl:2: not readable JSON: nested more than 100 levels deep"
    ]
    assert sum(not isinstance(item, RecordError) for _, item in items) == 2


def test_a_field_nested_deeply_but_readable_names_the_record(ctgov):
    line = json.loads((ctgov / "oncology" / "trials.jsonl").read_text().splitlines()[0])
    nested: list = []
    for _ in range(900):
        nested = [nested]
    items = parse_document(
        _bytes_document("trials.jsonl", json.dumps({**line, "conditions": nested}).encode())
    )
    ((_, error),) = items
    assert isinstance(error, RecordError)
    assert (error.source, error.message) == (
        "trials.jsonl:1",
        "not readable JSON: nested more than 100 levels deep",
    )


def test_a_contact_role_that_is_not_text_names_the_field(ctgov):
    study = json.loads((ctgov / "api_v2" / "NCT00496028.json").read_text())
    location = study["protocolSection"]["contactsLocationsModule"]["locations"][0]
    location["contacts"] = [{"name": "Dr Who", "role": ["PRINCIPAL_INVESTIGATOR"]}]
    error = _one_error(_bytes_document("one.json", json.dumps(study).encode()))
    assert (error.nct_id, error.field) == ("NCT00496028", "locations.contacts.role")
    assert error.message == "['PRINCIPAL_INVESTIGATOR'] is not text"


def test_an_unexpected_failure_reading_one_record_fails_that_record_alone(ctgov, monkeypatch):
    from trials.importers import ctgov_json

    real_parse_study = ctgov_json.parse_study

    def parse_study(study, *, source):
        if study["protocolSection"]["identificationModule"]["nctId"] == "NCT00461643":
            raise AttributeError("'NoneType' object has no attribute 'strip'")
        return real_parse_study(study, source=source)

    monkeypatch.setattr(ctgov_json, "parse_study", parse_study)
    items = parse_document(_document(ctgov / "api_v2" / "study_list.json"))
    errors = [item for _, item in items if isinstance(item, RecordError)]
    assert [str(error) for error in errors] == [
        "study_list.json[0]: could not be read: AttributeError: 'NoneType' object has no attribute 'strip'"
    ]
    assert len(items) == 2


@pytest.mark.parametrize("data", [b"", b"\n\n  \n"])
def test_an_empty_lines_file_is_refused_as_holding_no_record(data):
    with pytest.raises(RecordError) as caught:
        parse_document(_bytes_document("trials.jsonl", data))
    assert caught.value.source == "trials.jsonl"
    assert caught.value.message == "holds no trial record: the file is empty or only blank lines"
