from django.db import migrations, models


def keep_accepted_readings(apps, schema_editor):
    """Criteria accepted before now used the parser's current reading; keep that one as the accepted one."""
    EligibilityCriterion = apps.get_model("trials", "EligibilityCriterion")
    for criterion in EligibilityCriterion.objects.filter(status="accepted", curated_tree__isnull=True).only(
        "pk", "parsed_tree"
    ):
        criterion.curated_tree = criterion.parsed_tree
        criterion.save(update_fields=["curated_tree"])


class Migration(migrations.Migration):
    dependencies = [("trials", "0006_criterion_mentions")]

    operations = [
        migrations.AlterField(
            model_name="eligibilitycriterion",
            name="curated_tree",
            field=models.JSONField(
                blank=True,
                help_text="The reading a curator accepted or corrected; wins over the parser's while so reviewed.",
                null=True,
            ),
        ),
        migrations.RunPython(keep_accepted_readings, migrations.RunPython.noop),
    ]
