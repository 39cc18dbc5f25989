"""GIN indexes for 1- and 2-character name searches on PostgreSQL (docs/performance.md).

pg_trgm cannot serve `UPPER(name) LIKE '%ab%'` when the text is shorter than three characters: no
trigram can be extracted, so the search fell back to a sequential scan (~1 s at 1M contacts for a
two-character Chinese name fragment such as 李秀). `guanxi_short_grams(text)` returns the distinct
single characters and character pairs of a text; a GIN index on it, for the same UPPER("name"::text)
the ORM emits, narrows such a search to the rows containing the fragment, and the LIKE rechecks them
(see guanxi.framework.filtersets.name_contains). SQLite has no equivalent; the operation does
nothing there.
"""

from django.db import migrations

INDEXES = [
    ("account_name_grams", "customers_account", "name"),
    ("contact_name_grams", "customers_contact", "name"),
]

FUNCTION = """
CREATE OR REPLACE FUNCTION guanxi_short_grams(text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT g), '{}')
    FROM generate_series(1, char_length($1)) AS i,
         LATERAL (VALUES (substr($1, i, 1)), (substr($1, i, 2))) AS grams(g)
$$
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    for name, table, column in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (guanxi_short_grams(UPPER("{column}"::text)))'
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    schema_editor.execute("DROP FUNCTION IF EXISTS guanxi_short_grams(text)")


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_currency_choices")]
    operations = [migrations.RunPython(forwards, backwards)]
