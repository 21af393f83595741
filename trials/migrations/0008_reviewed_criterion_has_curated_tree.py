from django.db import migrations, models


class Migration(migrations.Migration):
    # Apart from 0007, whose updates PostgreSQL must have finished before the table is altered.
    dependencies = [("trials", "0007_accepted_criterion_keeps_its_tree")]

    operations = [
        migrations.RemoveConstraint(
            model_name="eligibilitycriterion", name="corrected_criterion_has_curated_tree"
        ),
        migrations.AddConstraint(
            model_name="eligibilitycriterion",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["accepted", "corrected"]), _negated=True)
                | models.Q(("curated_tree__isnull", False)),
                name="reviewed_criterion_has_curated_tree",
            ),
        ),
    ]
