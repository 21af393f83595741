"""Broken registry files imported into a populated PostgreSQL database, with a real worker taking whatever an
import queues: the database is left exactly as it was, row for row."""

import gzip
import io
import tarfile
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps

from tests.services.conftest import WorkerProcess
from tests.services.reliability import queue_drained
from trials.importers import import_paths

CTGOV = Path(__file__).resolve().parents[1] / "fixtures" / "ctgov"


def database_contents() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of our two apps."""
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for app in ("trials", "recruitment")
        for model in apps.get_app_config(app).get_models()
    }


def broken_files(folder: Path) -> dict[str, tuple[Path, bool]]:
    """Each broken file (and whether it is imported all-or-nothing); each also changes trials already held,
    so that a partial write would show."""
    xml = (CTGOV / "legacy_xml" / "NCT00496028.xml").read_bytes()
    retitled = xml.replace(b"Phase I Study in Patients With Solid Tumours", b"A title that must not land")
    bad_age = folder / "NCT00496028.xml"
    bad_age.write_bytes(retitled.replace(b"18 Years", b"18 Yeers"))
    truncated = folder / "study_list.json"
    truncated.write_bytes((CTGOV / "api_v2" / "study_list.json").read_bytes()[:6000])
    corrupt = folder / "trials.jsonl.gz"
    corrupt.write_bytes(gzip.compress((CTGOV / "oncology" / "trials.jsonl").read_bytes())[:400])
    archive = folder / "mixed.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        members = {
            "NCT00496028.xml": retitled,
            "NCT00461643.xml": (CTGOV / "legacy_xml" / "NCT00461643.xml").read_bytes()[:1500],
        }
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return {
        "a record with a bad field": (bad_age, False),
        "a truncated JSON file": (truncated, False),
        "a corrupt gzip file": (corrupt, False),
        "an archive with one good and one truncated record, all or nothing": (archive, True),
    }


@pytest.mark.django_db(transaction=True)
def test_broken_files_leave_the_database_unchanged(real_services, celery_worker: WorkerProcess, tmp_path):
    assert import_paths([CTGOV / "legacy_xml", CTGOV / "oncology"], progress=False).failed == 0
    queue_drained(celery_worker)
    before = database_contents()
    assert before["trials.Trial"]
    for case, (path, all_or_nothing) in broken_files(tmp_path).items():
        summary = import_paths([path], all_or_nothing=all_or_nothing, progress=False)
        assert summary.failed >= 1, case
        queue_drained(celery_worker)
        assert database_contents() == before, case
