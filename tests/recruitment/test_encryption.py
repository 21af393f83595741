"""Direct identifiers are encrypted at rest: the database holds tokens, the application reads plaintext."""

import importlib
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.db import connection

from recruitment.encryption import DecryptionError, check_field_encryption_key
from recruitment.models import PatientProfile, User
from tests.test_settings import PRODUCTION_ENV, run_django

pytestmark = pytest.mark.django_db

migration = importlib.import_module("recruitment.migrations.0011_encrypted_identifiers_mfa")


def raw(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


@pytest.fixture
def elena_contact(pat):
    pat.first_name, pat.last_name = "Elena", "Marquez"
    pat.save(update_fields=["first_name", "last_name"])
    return PatientProfile.objects.create(user=pat, phone="+1 617 555 0142", address="12 Harbor Street, Apt 3")


def test_names_phone_and_address_are_stored_encrypted_and_read_back_in_clear(elena_contact):
    profile = elena_contact
    assert "Elena" not in raw("recruitment_user", "first_name", profile.user_id)
    assert "Marquez" not in raw("recruitment_user", "last_name", profile.user_id)
    assert "555" not in raw("recruitment_patientprofile", "phone", profile.pk)
    assert "Harbor" not in raw("recruitment_patientprofile", "address", profile.pk)

    fresh = PatientProfile.objects.select_related("user").get(pk=profile.pk)
    assert fresh.user.get_full_name() == "Elena Marquez"
    assert (fresh.phone, fresh.address) == ("+1 617 555 0142", "12 Harbor Street, Apt 3")


def test_the_same_name_encrypts_differently_each_time(pat, cora):
    for user in (pat, cora):
        user.first_name = "Alex"
        user.save(update_fields=["first_name"])
    assert raw("recruitment_user", "first_name", pat.pk) != raw("recruitment_user", "first_name", cora.pk)


def test_a_wrong_key_gives_a_clear_error(elena_contact, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    expected = r"Cannot decrypt recruitment_user\.first_name.*FIELD_ENCRYPTION_KEY"
    with pytest.raises(DecryptionError, match=expected):
        User.objects.get(pk=elena_contact.user_id)


def test_a_rotated_key_still_reads_old_rows_and_writes_with_the_new_one(elena_contact, settings):
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    user = User.objects.get(pk=elena_contact.user_id)
    assert user.first_name == "Elena"
    user.save(update_fields=["first_name", "last_name"])
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert User.objects.get(pk=user.pk).first_name == "Elena"


def test_encrypted_fields_refuse_lookups_that_could_never_match(elena_contact):
    with pytest.raises(FieldError, match="Unsupported lookup"):
        list(User.objects.filter(first_name="Elena"))
    assert User.objects.filter(first_name__isnull=False).count() == 1


def test_blank_values_stay_blank_without_a_key(cora):
    assert raw("recruitment_user", "last_name", cora.pk) == ""


def test_the_migration_encrypts_rows_written_in_clear_and_leaves_encrypted_ones(pat, cora):
    cora.first_name = "Cora"
    cora.save(update_fields=["first_name"])
    already = raw("recruitment_user", "first_name", cora.pk)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE recruitment_user SET first_name = %s WHERE id = %s", ["Patricia", pat.pk])

    migration.encrypt_existing_names(None, SimpleNamespace(connection=connection))

    assert "Patricia" not in raw("recruitment_user", "first_name", pat.pk)
    assert raw("recruitment_user", "first_name", cora.pk) == already
    assert User.objects.get(pk=pat.pk).first_name == "Patricia"

    migration.decrypt_names(None, SimpleNamespace(connection=connection))
    assert raw("recruitment_user", "first_name", pat.pk) == "Patricia"


@pytest.mark.parametrize("keys", [[], ["ZGV2LW9ubHktZmllbGQta2V5LWRlbW8tdGVzdHMtMDA="], ["not-a-key"]])
def test_the_deployment_check_refuses_a_missing_public_or_malformed_key(settings, keys):
    settings.FIELD_ENCRYPTION_KEYS = keys
    assert [message.id for message in check_field_encryption_key()] in (
        ["recruitment.E001"],
        ["recruitment.E002"],
    )


def test_the_deployment_check_accepts_a_real_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert check_field_encryption_key() == []


def test_production_fails_the_deployment_check_without_an_encryption_key():
    result = run_django("check", "--deploy", env={**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEY": ""})
    assert result.returncode != 0
    assert "recruitment.E001" in result.stderr + result.stdout
