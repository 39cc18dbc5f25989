"""Finer planner statistics for contact names on PostgreSQL (docs/performance.md).

A name search is `UPPER(name) LIKE '%徐秀珍%' ORDER BY name LIMIT 25`. PostgreSQL estimates how many
rows match from the column's most-common values and histogram; with the default 100 entries and the
many repeated Chinese names, it guessed 941 matches for a name with 24 and walked the whole name
index looking for 25 of them (67 ms at 100k contacts instead of 1 ms through the trigram index).
With 1,000 entries the estimate is 9 rows and the plan is the trigram bitmap scan; common fragments
(e.g. "AN", thousands of rows) still walk the name index, which is right for them. ANALYZE then
samples 300,000 rows instead of 30,000. Nothing to do on SQLite.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('ALTER TABLE customers_contact ALTER COLUMN "name" SET STATISTICS 1000')


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('ALTER TABLE customers_contact ALTER COLUMN "name" SET STATISTICS -1')


class Migration(migrations.Migration):
    dependencies = [("customers", "0006_partial_phone_email_indexes")]
    operations = [migrations.RunPython(forwards, backwards)]
