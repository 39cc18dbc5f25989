"""Trigram GIN indexes for substring search on PostgreSQL (ARCHITECTURE.md §9).

Built for the exact SQL the ORM emits for icontains: UPPER("name"::text) LIKE UPPER('%q%').
SQLite has no equivalent; the operation does nothing there.
"""

from django.db import migrations

INDEXES = [
    ("account_name_trgm", "customers_account", "name"),
    ("contact_name_trgm", "customers_contact", "name"),
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (UPPER("{column}"::text) gin_trgm_ops)'
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
