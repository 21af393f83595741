# The fields' class changes which validators Django runs, not the column: state only, no table rebuilt.

import recruitment.models.profile
import recruitment.validators
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('recruitment', '0023_user_deactivated_at'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='patientprofile',
                    name='ecog',
                    field=recruitment.models.profile.RangedPositiveSmallIntegerField(blank=True, null=True, validators=[recruitment.validators.ecog_of_a_living_patient], verbose_name='ECOG performance status'),
                ),
                migrations.AlterField(
                    model_name='therapy',
                    name='line',
                    field=recruitment.models.profile.RangedPositiveSmallIntegerField(blank=True, null=True, validators=[recruitment.validators.plausible_therapy_line]),
                ),
            ],
        ),
    ]
