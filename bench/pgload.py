"""PostgreSQL helpers of the bench scripts: bulk loading for `--seed` (COPY model rows, reserve ids up front)
and running the hand-written reference SQL (plain cursor, EXPLAIN ANALYZE).

Imported after django.setup() by the bench scripts."""

from django.db import connection


def copy_rows(model, objs, fields):
    """COPY the given fields of unsaved model instances into the model's table (ids set by the caller)."""
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for obj in objs:
            copy.write_row([f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields])


def next_ids(model, n):
    """n ids after the table's largest, and the sequence moved past them."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        start = cursor.fetchone()[0] + 1
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [start + n])
    return range(start, start + n)


def run_sql(statements):
    """Run [(sql, params)] through a plain cursor; the fetched rows of each."""
    out = []
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            out.append(cursor.fetchall())
    return out


def explain(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join("    " + r[0] for r in cursor.fetchall())
