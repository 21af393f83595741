"""Stored match explanations written before age evidence stopped naming the birth date ("born 1961-04-05,
aged 65 on ...") keep it, and retired matches (the record of ended candidacies) are never rewritten by a
re-match: take it out of every stored match, so that site staff never read it."""

import re
from typing import Any

from django.db import migrations

BORN = re.compile(r"born \d{4}-\d{2}-\d{2}, (?=aged \d)")


def _scrub(value: Any) -> tuple[Any, bool]:
    if isinstance(value, str):
        cleaned = BORN.sub("", value)
        return cleaned, cleaned != value
    if isinstance(value, list):
        items = [_scrub(item) for item in value]
        return [item for item, _ in items], any(changed for _, changed in items)
    if isinstance(value, dict):
        pairs = {key: _scrub(item) for key, item in value.items()}
        return {key: item for key, (item, _) in pairs.items()}, any(changed for _, changed in pairs.values())
    return value, False


def scrub_birth_dates(apps: Any, schema_editor: Any) -> None:
    Match = apps.get_model("recruitment", "Match")
    for match in Match.objects.filter(criteria__icontains="born ").only("pk", "criteria").iterator():
        criteria, changed = _scrub(match.criteria)
        if changed:
            Match.objects.filter(pk=match.pk).update(criteria=criteria)


class Migration(migrations.Migration):
    dependencies = [("recruitment", "0013_consent_typed_name_encrypted")]

    # Nothing to restore: the birth date is still on the profile for whoever may read it.
    operations = [migrations.RunPython(scrub_birth_dates, migrations.RunPython.noop)]
