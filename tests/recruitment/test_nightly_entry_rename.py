"""Migration 0018 renames the stored beat entry of the nightly re-match, so that the old name does not go on
starting a second re-match every night beside the new one."""

import importlib

from django.apps import apps
from django_celery_beat.models import CrontabSchedule, PeriodicTask

rename = importlib.import_module("recruitment.migrations.0018_rename_nightly_rematch_task")


def periodic(name: str, *, enabled: bool = True) -> PeriodicTask:
    crontab = CrontabSchedule.objects.create(minute="15", hour="2")
    return PeriodicTask.objects.create(
        name=name, task="recruitment.tasks.rematch_everyone", crontab=crontab, enabled=enabled
    )


def test_the_old_nightly_entry_is_renamed_and_keeps_what_the_operator_set(db):
    periodic("nightly-full-rematch", enabled=False)

    rename.rename_entry(apps, None)

    (entry,) = PeriodicTask.objects.filter(task="recruitment.tasks.rematch_everyone")
    assert entry.name == "nightly-rematch"
    assert entry.enabled is False


def test_an_old_entry_beside_a_new_one_already_created_by_beat_is_deleted(db):
    periodic("nightly-full-rematch")
    periodic("nightly-rematch")

    rename.rename_entry(apps, None)

    names = list(
        PeriodicTask.objects.filter(task="recruitment.tasks.rematch_everyone").values_list("name", flat=True)
    )
    assert names == ["nightly-rematch"]


def test_other_beat_entries_are_left_alone(db):
    periodic("hourly-match-alerts")

    rename.rename_entry(apps, None)
    rename.restore_entry(apps, None)

    assert PeriodicTask.objects.filter(name="hourly-match-alerts").exists()


def test_the_nightly_entry_in_the_settings_has_the_new_name(settings):
    assert "nightly-rematch" in settings.CELERY_BEAT_SCHEDULE
    assert "nightly-full-rematch" not in settings.CELERY_BEAT_SCHEDULE
