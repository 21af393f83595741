"""The FHIR import pages stop keeping an upload once it passes the import limit and say why, without a 500."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.test import Client
from django.urls import reverse

from recruitment.fhir_import import MAX_BUNDLE_BYTES
from recruitment.fhir_import_views import ImportSizeLimit

pytestmark = pytest.mark.django_db

URL = "portal:fhir_import"


class ByteCounter(FileUploadHandler):
    """Counts the file bytes that reach Django's own upload handlers (memory or temporary file)."""

    received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        ByteCounter.received += len(raw_data)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@pytest.fixture
def counted_uploads(settings):
    ByteCounter.received = 0
    settings.FILE_UPLOAD_HANDLERS = [f"{__name__}.ByteCounter", *settings.FILE_UPLOAD_HANDLERS]
    return ByteCounter


def big_file(size: int = MAX_BUNDLE_BYTES + 1024 * 1024) -> SimpleUploadedFile:
    return SimpleUploadedFile("bundle.json", b" " * size, content_type="application/json")


def test_a_file_over_the_limit_is_not_kept_and_the_form_says_so(client, elena, counted_uploads):
    client.force_login(elena.user)
    response = client.post(reverse(URL), {"file": big_file()})
    assert response.status_code == 200
    assert "The file is larger than 5 MB." in response.content.decode()
    assert counted_uploads.received <= MAX_BUNDLE_BYTES


def test_the_limit_stops_at_the_first_chunk_past_it():
    limit = ImportSizeLimit()
    chunk = b"x" * (1024 * 1024)
    for _ in range(MAX_BUNDLE_BYTES // len(chunk)):
        assert limit.receive_data_chunk(chunk, 0) == chunk
    with pytest.raises(StopUpload):
        limit.receive_data_chunk(b"x", 0)
    assert limit.too_large


def test_the_import_pages_still_check_the_csrf_token(elena):
    client = Client(enforce_csrf_checks=True)
    client.force_login(elena.user)
    assert client.post(reverse(URL), {"text": "{}"}).status_code == 403
    client.get(reverse(URL))
    token = client.cookies["csrftoken"].value
    response = client.post(reverse(URL), {"csrfmiddlewaretoken": token, "file": big_file()})
    assert response.status_code == 200
    assert "The file is larger than 5 MB." in response.content.decode()


def test_pasted_json_up_to_the_limit_is_read(client, elena):
    client.force_login(elena.user)
    response = client.post(reverse(URL), {"text": "[" + " " * (4 * 1024 * 1024)})
    assert response.status_code == 400
    assert "not valid JSON" in response.content.decode()


def test_pasted_text_far_over_the_limit_is_refused_with_the_reason(client, elena):
    client.force_login(elena.user)
    response = client.post(reverse(URL), {"text": " " * (7 * 1024 * 1024)})
    assert response.status_code == 413
    assert "The pasted JSON is larger than 5 MB." in response.content.decode()
