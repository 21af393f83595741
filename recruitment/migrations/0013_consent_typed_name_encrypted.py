"""The typed name of a consent signature is a full name: encrypted at rest like the account's names."""

from django.db import migrations

import recruitment.encryption
from recruitment.encryption import TOKEN_PREFIX, decrypt, encrypt

# Raw SQL on purpose: the historical model's field would try to decrypt the plaintext rows it is meant to fix.
TABLE, COLUMN = "recruitment_consent", "typed_name"


def _rewrite(schema_editor, convert, needs_it):
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {quote(COLUMN)} FROM {quote(TABLE)} WHERE {quote(COLUMN)} <> ''")  # noqa: S608
        rows = [(pk, value) for pk, value in cursor.fetchall() if needs_it(value)]
        for pk, value in rows:
            cursor.execute(
                f"UPDATE {quote(TABLE)} SET {quote(COLUMN)} = %s WHERE id = %s",  # noqa: S608 (fixed names)
                [convert(value), pk],
            )


def encrypt_typed_names(apps, schema_editor):
    """Signatures stored before this migration hold the name in clear; encrypted ones (a re-run) stay."""
    _rewrite(schema_editor, encrypt, lambda value: not value.startswith(TOKEN_PREFIX))


def decrypt_typed_names(apps, schema_editor):
    _rewrite(
        schema_editor,
        lambda value: decrypt(value, what="a consent's typed name"),
        lambda value: value.startswith(TOKEN_PREFIX),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("recruitment", "0012_rematch_request"),
    ]

    operations = [
        # The column first becomes text (a token is longer than the 200 characters of its name), then
        # the rows are encrypted; backwards, the rows are decrypted before the column is narrowed again.
        migrations.AlterField(
            model_name="consent",
            name="typed_name",
            field=recruitment.encryption.EncryptedCharField(
                max_length=200, verbose_name="full name as typed"
            ),
        ),
        migrations.RunPython(encrypt_typed_names, decrypt_typed_names),
    ]
