"""The full name typed to sign a consent is encrypted at rest, like the account's name it must equal."""

import importlib
from types import SimpleNamespace

import pytest
from django.db import connection

from recruitment.encryption import TOKEN_PREFIX
from recruitment.models import Consent
from recruitment.services.consent import ConsentError, consent_give
from tests.recruitment.consent_helpers import Purpose, name_patient, publish_all

pytestmark = pytest.mark.django_db

migration = importlib.import_module("recruitment.migrations.0013_consent_typed_name_encrypted")


def stored_typed_name(pk):
    with connection.cursor() as cursor:
        cursor.execute("SELECT typed_name FROM recruitment_consent WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.fixture
def documents(elena):
    name_patient(elena)
    return publish_all()


@pytest.fixture
def matching_document(documents):
    return documents[Purpose.MATCHING]


def test_a_signature_stores_the_typed_name_encrypted_and_reads_it_back(elena, matching_document):
    consent = consent_give(patient=elena, document=matching_document, typed_name=" elena  ROSSI ")
    stored = stored_typed_name(consent.pk)
    assert stored.startswith(TOKEN_PREFIX)
    assert "rossi" not in stored.lower()
    assert Consent.objects.get(pk=consent.pk).typed_name == "elena ROSSI"


def test_the_typed_name_is_still_compared_with_the_account_name(elena, matching_document):
    with pytest.raises(ConsentError, match="Type your full name exactly as on your account"):
        consent_give(patient=elena, document=matching_document, typed_name="E. Rossi")
    assert not Consent.objects.exists()


def test_the_migration_encrypts_names_stored_in_clear_and_can_be_undone(elena, documents):
    in_clear = consent_give(patient=elena, document=documents[Purpose.MATCHING], typed_name="Elena Rossi")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE recruitment_consent SET typed_name = %s WHERE id = %s", ["Elena Rossi", in_clear.pk]
        )
    other = consent_give(patient=elena, document=documents[Purpose.CONTACT], typed_name="Elena Rossi")
    already = stored_typed_name(other.pk)

    migration.encrypt_typed_names(None, SimpleNamespace(connection=connection))

    assert stored_typed_name(in_clear.pk).startswith(TOKEN_PREFIX)
    assert stored_typed_name(other.pk) == already  # encrypted rows are not encrypted twice
    assert Consent.objects.get(pk=in_clear.pk).typed_name == "Elena Rossi"

    migration.decrypt_typed_names(None, SimpleNamespace(connection=connection))
    assert stored_typed_name(in_clear.pk) == stored_typed_name(other.pk) == "Elena Rossi"
