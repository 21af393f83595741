from django.db import migrations, models

CURATED = ["accepted", "corrected", "unparseable"]


def from_parse_events(apps, schema_editor):
    """Criteria that past parses already listed as read differently under a review (the PARSED event's
    `curated_reading_differs`) and that nobody has reviewed since get the time of the latest such parse."""
    TrialEvent = apps.get_model("trials", "TrialEvent")
    EligibilityCriterion = apps.get_model("trials", "EligibilityCriterion")
    changed_at = {}
    parses = TrialEvent.objects.filter(kind="parsed").order_by("created_at", "id")
    for event in parses.only("created_at", "detail").iterator():
        for criterion_id in (event.detail or {}).get("curated_reading_differs") or []:
            changed_at[criterion_id] = event.created_at
    ids = list(changed_at)
    for start in range(0, len(ids), 500):
        criteria = EligibilityCriterion.objects.filter(pk__in=ids[start : start + 500], status__in=CURATED)
        for criterion in criteria.only("pk", "reviewed_at"):
            when = changed_at[criterion.pk]
            if criterion.reviewed_at is None or criterion.reviewed_at < when:
                EligibilityCriterion.objects.filter(pk=criterion.pk).update(reading_changed_at=when)


class Migration(migrations.Migration):
    dependencies = [("trials", "0008_reviewed_criterion_has_curated_tree")]

    operations = [
        migrations.AddField(
            model_name="eligibilitycriterion",
            name="reading_changed_at",
            field=models.DateTimeField(
                blank=True,
                help_text=(
                    "When a parse last read this reviewed criterion differently from the reading the reviewer "
                    "saw; empty until then, and emptied by the next review."
                ),
                null=True,
            ),
        ),
        migrations.RunPython(from_parse_events, migrations.RunPython.noop),
    ]
