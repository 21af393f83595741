from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recruitment", "0011_encrypted_identifiers_mfa"),
    ]

    operations = [
        migrations.CreateModel(
            name="RematchRequest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("profile_id", models.BigIntegerField(unique=True)),
                ("requested_at", models.DateTimeField(db_index=True)),
            ],
        ),
    ]
