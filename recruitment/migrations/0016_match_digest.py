"""`Match.digest`: what a re-match compares instead of reading back the stored explanation.

No data migration fills it in. Existing rows get an empty digest (on PostgreSQL, adding a column with a
constant default changes the catalogue only, without rewriting a large table); the first re-match of each
live match finds the digest differing, compares the stored fields as before and writes the digest (alone when
nothing else changed), so the backfill costs what one re-match cost before, spread over the normal runs.
Computing it here instead would decode every row's JSON during the deploy, and from PostgreSQL's jsonb, whose
key order is not the engine's, it would not even equal the digest of the same explanation freshly built.
Retired matches are never compared again and keep an empty digest.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('recruitment', '0015_phi_access'),
    ]

    operations = [
        migrations.AddField(
            model_name='match',
            name='digest',
            field=models.CharField(blank=True, default='', help_text='Fingerprint of verdict, score, criteria, cohort and to_settle as last written; empty for matches written before it existed, until their next re-match.', max_length=32),
        ),
    ]
