"""import_paths and the import_trials command: containers, formats, failures and the summary."""

import gzip
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError

from trials.importers import import_paths
from trials.models import Arm, Site, Trial, TrialSite

pytestmark = pytest.mark.django_db

LEGACY_IDS = {"NCT00461643", "NCT00490152", "NCT00493792", "NCT00496028"}


def _tgz(tmp_path: Path, members: dict[str, bytes]) -> Path:
    archive = tmp_path / "registry.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive


def _nct_ids() -> set[str]:
    return set(Trial.objects.values_list("nct_id", flat=True))


def test_a_single_xml_file_imports(ctgov):
    summary = import_paths([ctgov / "legacy_xml" / "NCT00496028.xml"], progress=False)
    assert (summary.created, summary.failed) == (1, 0)


def test_a_folder_imports_recursively(ctgov, tmp_path):
    nested = tmp_path / "NCT0049xxxx" / "deeper"
    shutil.copytree(ctgov / "legacy_xml", nested)
    (tmp_path / "notes.txt").write_text("not a registry record")
    summary = import_paths([tmp_path], progress=False)
    assert (summary.created, summary.failed) == (4, 0)
    assert _nct_ids() == LEGACY_IDS


def test_a_tgz_archive_is_read_without_extracting(ctgov, tmp_path):
    archive = _tgz(
        tmp_path, {f"./NCT00xxxx/{p.name}": p.read_bytes() for p in (ctgov / "legacy_xml").iterdir()}
    )
    summary = import_paths([archive], progress=False)
    assert (summary.created, summary.failed) == (4, 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.tgz"]


def test_gzip_compressed_documents_import(ctgov, tmp_path):
    (tmp_path / "trials.jsonl.gz").write_bytes(
        gzip.compress((ctgov / "oncology" / "trials.jsonl").read_bytes())
    )
    xml = (ctgov / "legacy_xml" / "NCT00496028.xml").read_bytes()
    (tmp_path / "NCT00496028.xml.gz").write_bytes(gzip.compress(xml))
    summary = import_paths([tmp_path], progress=False)
    assert (summary.created, summary.failed) == (4, 0)


def test_a_corrupt_gzip_file_is_reported(tmp_path):
    broken = tmp_path / "trials.jsonl.gz"
    broken.write_bytes(gzip.compress(b'{"nct_id": "NCT00000001"}\n')[:15])
    summary = import_paths([broken], progress=False)
    assert summary.failed == 1
    assert summary.errors[0].source == str(broken)
    assert summary.errors[0].message.startswith("cannot be read: ")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("NCT00496028.json", {"NCT00496028"}),
        ("study_list.json", {"NCT00461643", "NCT00490152"}),
        ("studies_page.json", {"NCT00496028", "NCT00461643"}),
        ("studies.jsonl", {"NCT00496028", "NCT00461643", "NCT00490152"}),
    ],
)
def test_api_v2_single_list_page_and_lines_import(ctgov, name, expected):
    summary = import_paths([ctgov / "api_v2" / name], progress=False)
    assert (summary.created, summary.failed) == (len(expected), 0)
    assert _nct_ids() == expected
    assert set(Trial.objects.values_list("source", flat=True)) == {Trial.Source.CTGOV_API_V2}


def test_oncology_lines_import_without_sites(ctgov):
    summary = import_paths([ctgov / "oncology" / "trials.jsonl"], fmt="oncology-jsonl", progress=False)
    assert (summary.created, summary.failed) == (3, 0)
    assert TrialSite.objects.count() == 0


def test_the_same_trial_from_xml_then_api_v2_is_one_trial(ctgov):
    import_paths([ctgov / "legacy_xml" / "NCT00496028.xml"], progress=False)
    summary = import_paths([ctgov / "api_v2" / "NCT00496028.json"], progress=False)
    assert summary.created == 0
    assert Trial.objects.count() == 1
    assert Arm.objects.count() == 3
    assert Site.objects.count() == 7


def test_reimporting_a_folder_creates_no_duplicates(ctgov):
    import_paths([ctgov / "legacy_xml"], progress=False)
    counts = (Trial.objects.count(), Arm.objects.count(), Site.objects.count(), TrialSite.objects.count())
    summary = import_paths([ctgov / "legacy_xml"], progress=False)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 4)
    assert (
        Trial.objects.count(),
        Arm.objects.count(),
        Site.objects.count(),
        TrialSite.objects.count(),
    ) == counts


def test_a_truncated_file_imports_nothing_from_itself_but_the_rest_imports(ctgov, tmp_path):
    shutil.copytree(ctgov / "api_v2", tmp_path / "in")
    cut = tmp_path / "in" / "study_list.json"
    cut.write_bytes(cut.read_bytes()[:6000])
    summary = import_paths([tmp_path / "in" / "study_list.json", ctgov / "legacy_xml"], progress=False)
    assert (summary.created, summary.failed) == (4, 1)
    (error,) = summary.errors
    assert error.source == str(cut)
    assert "not valid JSON at line" in error.message


def test_a_bad_record_in_an_archive_is_reported_and_the_others_import(ctgov, tmp_path):
    members = {p.name: p.read_bytes() for p in (ctgov / "legacy_xml").iterdir()}
    members["NCT00496028.xml"] = members["NCT00496028.xml"].replace(b"18 Years", b"18 Yeers")
    archive = _tgz(tmp_path, members)
    summary = import_paths([archive], progress=False)
    assert (summary.created, summary.failed) == (3, 1)
    assert [str(error) for error in summary.errors] == [
        f"NCT00496028 ({archive}:NCT00496028.xml) field minimum_age: '18 Yeers' is not an age"
    ]
    assert "NCT00496028" not in _nct_ids()


def test_a_trial_given_twice_in_one_file_with_different_content_is_imported_from_neither(ctgov, tmp_path):
    lines = (ctgov / "oncology" / "trials.jsonl").read_text().splitlines()
    revised = json.dumps({**json.loads(lines[0]), "enrollment_count": 40})
    repeated = tmp_path / "trials.jsonl"
    repeated.write_text("\n".join([lines[0], lines[1], revised, lines[2]]) + "\n")
    summary = import_paths([repeated], progress=False)
    assert (summary.created, summary.failed) == (2, 2)
    assert [str(error) for error in summary.errors] == [
        f"NCT05642455 ({repeated}:1) field nct_id: is given again with different content at {repeated}:3: "
        "none of them is imported",
        f"NCT05642455 ({repeated}:3) field nct_id: is given again with different content at {repeated}:1: "
        "none of them is imported",
    ]
    assert "NCT05642455" not in _nct_ids()


def test_a_trial_given_twice_in_one_file_alike_is_one_trial(ctgov, tmp_path):
    lines = (ctgov / "oncology" / "trials.jsonl").read_text().splitlines()
    repeated = tmp_path / "trials.jsonl"
    repeated.write_text("\n".join([*lines, lines[0]]) + "\n")
    summary = import_paths([repeated], progress=False)
    assert (summary.created, summary.unchanged, summary.failed) == (3, 1, 0)


def test_a_failure_while_saving_fails_that_record_alone(ctgov, monkeypatch):
    real_bulk_create = Site.objects.bulk_create

    def bulk_create_refusing_italy(sites, *args, **kwargs):
        if any(site.country == "Italy" for site in sites):
            raise IntegrityError("refused")
        return real_bulk_create(sites, *args, **kwargs)

    monkeypatch.setattr(Site.objects, "bulk_create", bulk_create_refusing_italy)
    summary = import_paths([ctgov / "legacy_xml"], progress=False)
    assert (summary.created, summary.failed) == (3, 1)
    assert summary.errors[0].nct_id == "NCT00461643"
    assert "NCT00461643" not in _nct_ids()
    assert not Site.objects.filter(country="Italy").exists()


def test_all_or_nothing_rolls_everything_back(ctgov, tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_bytes((ctgov / "legacy_xml" / "NCT00496028.xml").read_bytes()[:2000])
    summary = import_paths([ctgov / "legacy_xml", bad], all_or_nothing=True, progress=False)
    assert summary.rolled_back
    assert summary.failed == 1
    assert (Trial.objects.count(), Site.objects.count()) == (0, 0)


def test_limit_stops_after_n_records(ctgov):
    summary = import_paths([ctgov / "api_v2" / "studies.jsonl"], limit=2, progress=False)
    assert summary.processed == 2
    assert Trial.objects.count() == 2


def test_a_missing_path_is_a_failure(tmp_path):
    summary = import_paths([tmp_path / "nowhere"], progress=False)
    assert summary.failed == 1
    assert str(summary.errors[0]) == f"{tmp_path / 'nowhere'}: no such file or folder"


def test_a_folder_or_an_archive_holding_no_trial_document_is_a_failure(tmp_path, capsys):
    # The registry's CSV download, given where its JSON or XML export was meant: nothing is importable.
    folder = tmp_path / "download"
    folder.mkdir()
    (folder / "ctg-studies.csv").write_text("NCT Number,Study Title\nNCT05642455,Osimertinib\n")
    archive = _tgz(tmp_path, {"ctg-studies.csv": b"NCT Number,Study Title\n"})
    with pytest.raises(CommandError):
        call_command("import_trials", str(folder), str(archive), "--no-progress")
    captured = capsys.readouterr()
    holds_none = "holds no trial document (.xml, .json, .jsonl or .ndjson, also gzip-compressed or in a .tgz)"
    assert f"FAILED {folder}: {holds_none}" in captured.err
    assert f"FAILED {archive}: {holds_none}" in captured.err
    assert "failed 2" in captured.out


def test_the_command_prints_a_summary_and_succeeds(ctgov, capsys):
    call_command("import_trials", str(ctgov / "legacy_xml"), "--no-progress")
    out = capsys.readouterr().out
    assert out.startswith("created 4, updated 0, unchanged 0, failed 0 in ")
    assert "records/s" in out


def test_the_command_lists_failures_and_exits_non_zero(ctgov, tmp_path, capsys):
    bad = tmp_path / "trials.jsonl"
    bad.write_text('{"nct_id": "NCT05642455", "title": "x", "enrollment_count": "many"}\n')
    with pytest.raises(CommandError) as caught:
        call_command("import_trials", str(bad), "--no-progress", "--format", "oncology-jsonl")
    assert caught.value.returncode == 1
    captured = capsys.readouterr()
    assert (
        f"FAILED NCT05642455 ({bad}:1) field enrollment_count: 'many' is not a whole number" in captured.err
    )
    assert "created 0, updated 0, unchanged 0, failed 1" in captured.out


def test_the_command_says_when_it_rolled_back(ctgov, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe not json")
    with pytest.raises(CommandError):
        call_command(
            "import_trials", str(ctgov / "legacy_xml"), str(bad), "--no-progress", "--all-or-nothing"
        )
    captured = capsys.readouterr()
    assert "rolled back" in captured.out
    assert f"FAILED {bad}: not UTF-8: byte 0xff at line 1, column 1" in captured.err
    assert Trial.objects.count() == 0


def test_an_archive_declaring_more_than_512_mib_is_refused_before_anything_is_read(ctgov, tmp_path):
    xml = (ctgov / "legacy_xml" / "NCT00496028.xml").read_bytes()
    first = tarfile.TarInfo("NCT00496028.xml")
    first.size = len(xml)
    bomb = tarfile.TarInfo("bomb.xml")
    bomb.size = 600 * 1024 * 1024  # declared; a gzip stream of zeros that long is under a megabyte
    raw = first.tobuf() + xml + b"\0" * (-len(xml) % 512) + bomb.tobuf() + b"\0" * 1024
    archive = tmp_path / "bomb.tgz"
    archive.write_bytes(gzip.compress(raw))

    summary = import_paths([archive], progress=False)

    assert (summary.created, summary.failed) == (0, 1)
    (error,) = summary.errors
    assert error.source == str(archive)
    assert error.message == "refused: more than 512 MiB uncompressed once bomb.xml is counted"
    assert not Trial.objects.exists()


def test_an_archive_whose_members_together_pass_the_limit_is_refused_whole(ctgov, tmp_path, monkeypatch):
    from trials.importers import sources

    members = {p.name: p.read_bytes() for p in sorted((ctgov / "legacy_xml").iterdir())}
    monkeypatch.setattr(sources, "MAX_UNCOMPRESSED_BYTES", sum(map(len, members.values())) - 1)
    archive = _tgz(tmp_path, members)

    summary = import_paths([archive, ctgov / "api_v2" / "NCT00496028.json"], progress=False)

    assert (summary.created, summary.failed) == (1, 1)
    assert summary.errors[0].source == str(archive)
    assert summary.errors[0].message.endswith(f"once {list(members)[-1]} is counted")
    assert _nct_ids() == {"NCT00496028"}


def test_a_gzip_document_decompressing_past_the_limit_is_refused(ctgov, tmp_path, monkeypatch):
    from trials.importers import sources

    data = (ctgov / "oncology" / "trials.jsonl").read_bytes()
    monkeypatch.setattr(sources, "MAX_UNCOMPRESSED_BYTES", len(data) - 1)
    packed = tmp_path / "trials.jsonl.gz"
    packed.write_bytes(gzip.compress(data))

    summary = import_paths([packed], progress=False)

    assert (summary.created, summary.failed) == (0, 1)
    assert summary.errors[0].source == str(packed)
    assert summary.errors[0].message.startswith("refused: trials.jsonl is more than ")


def _with_broken_deflate_data(packed: bytes) -> bytes:
    # The byte after the 10-byte gzip header starts the first deflate block: 0xFF makes its type invalid.
    return packed[:10] + b"\xff" + packed[11:]


def test_a_gzip_document_with_corrupt_compressed_data_is_reported_and_the_rest_imports(ctgov, tmp_path):
    broken = tmp_path / "trials.jsonl.gz"
    broken.write_bytes(
        _with_broken_deflate_data(gzip.compress((ctgov / "oncology" / "trials.jsonl").read_bytes()))
    )

    summary = import_paths([broken, ctgov / "api_v2" / "NCT00496028.json"], progress=False)

    assert (summary.created, summary.failed) == (1, 1)
    assert summary.errors[0].source == str(broken)
    assert summary.errors[0].message.startswith("cannot be read: ")


def test_an_archive_with_corrupt_compressed_data_is_reported_and_the_rest_imports(ctgov, tmp_path):
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as writer:
        for path in sorted((ctgov / "legacy_xml").iterdir()):
            writer.add(path, arcname=path.name)
    first_member_ends = 512 + -(-(ctgov / "legacy_xml" / "NCT00461643.xml").stat().st_size // 512) * 512
    whole, first = tar.getvalue(), tar.getvalue()[:first_member_ends]
    # Two gzip members, read as one stream: the archive opens, and breaks past its first file.
    archive = tmp_path / "registry.tgz"
    archive.write_bytes(
        gzip.compress(first) + _with_broken_deflate_data(gzip.compress(whole[first_member_ends:]))
    )

    summary = import_paths([archive, ctgov / "api_v2" / "NCT00496028.json"], progress=False)

    assert (summary.created, summary.failed) == (1, 1)
    assert summary.errors[0].source == str(archive)
    assert summary.errors[0].message.startswith("not a readable tar archive: ")


def test_an_unexpected_failure_while_saving_fails_that_record_alone(ctgov, monkeypatch):
    from trials import services

    real_trial_create = services._trial_create

    def trial_create(*, record, **kwargs):
        if record.nct_id == "NCT00461643":
            raise ValueError("a value the database layer refused")
        return real_trial_create(record=record, **kwargs)

    monkeypatch.setattr(services, "_trial_create", trial_create)
    summary = import_paths([ctgov / "legacy_xml"], progress=False)
    assert (summary.created, summary.failed) == (3, 1)
    assert str(summary.errors[0]).endswith(
        "could not be saved: ValueError: a value the database layer refused"
    )
    assert summary.errors[0].nct_id == "NCT00461643"
    assert "NCT00461643" not in _nct_ids()
