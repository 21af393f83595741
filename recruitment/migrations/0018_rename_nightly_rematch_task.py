"""The nightly re-match takes only the patients who are due since 0017, so its beat entry is now called
"nightly-rematch" instead of "nightly-full-rematch".

django-celery-beat's DatabaseScheduler keeps a PeriodicTask row per entry name and never deletes one whose
name left the settings: without this migration the old row would go on starting a second re-match every
night. The row is renamed, so whatever an operator set on it in the admin (enabled, last run) is kept; if beat
already created the new row, the old one is deleted.
"""

from django.db import migrations

OLD_NAME = "nightly-full-rematch"
NEW_NAME = "nightly-rematch"


def rename_entry(apps, schema_editor):
    _rename(apps, OLD_NAME, NEW_NAME)


def restore_entry(apps, schema_editor):
    _rename(apps, NEW_NAME, OLD_NAME)


def _rename(apps, old: str, new: str) -> None:
    periodic_task = apps.get_model("django_celery_beat", "PeriodicTask")
    if periodic_task.objects.filter(name=new).exists():
        periodic_task.objects.filter(name=old).delete()
    else:
        periodic_task.objects.filter(name=old).update(name=new)


class Migration(migrations.Migration):
    dependencies = [
        ("recruitment", "0017_match_horizon"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(rename_entry, restore_entry)]
