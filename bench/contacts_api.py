"""Contacts API list benchmark: first-page latency through the full Django stack vs. the raw SQL.

Never run as a test. It times, with the Django test Client (real URL routing, bearer-token auth for
the demo user ``rep1``, JSON rendering), the first page (limit=25) of GET /api/v1/contacts for:

- ``filter+sort``  ?city=上海市&ordering=name
- ``q name``       ?q=<first 2 characters of an existing name> (a 2-character substring search)
- ``q name 3ch``   ?q=<first 3 characters of an existing name> (a trigram-sized substring search)
- ``q phone``      ?q=<an existing mobile written locally, e.g. 138 1234 5678>
- ``unfiltered``   ?ordering=-created

For each case it captures the SQL the request ran once, then interleaves N timed API requests with
N runs of that request's own page SELECT ... LIMIT 25 plus its count query through a plain cursor,
and N runs of every data statement of the request (count, page and the tag/company prefetches), and
prints p50/p95, the ratios API/raw SQL and the queries per request. On
PostgreSQL it then prints EXPLAIN (ANALYZE, BUFFERS) of each case's page and count queries, and a
2-character Chinese substring query showing whether the trigram index can serve it; on SQLite it
prints EXPLAIN QUERY PLAN.

Usage (the same recipe as docs/performance.md, which has the measured figures)::

    cd /work/main
    # PostgreSQL (own database names on a shared server)
    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE guanxi_bench_1m"      # or guanxi_bench_100k
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/guanxi_bench_1m
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py seed_demo --contacts 1000000                  # 100000 for 100k
    psql -h 127.0.0.1 -U postgres -d guanxi_bench_1m -c "VACUUM ANALYZE"
    .venv/bin/python -W ignore bench/contacts_api.py
    unset DATABASE_URL

    # SQLite (the embedded default): one file per size under var/
    export GUANXI_VAR_DIR=/work/main/var/bench-sqlite-1m                     # or bench-sqlite-100k
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py seed_demo --contacts 1000000
    sqlite3 $GUANXI_VAR_DIR/guanxi.sqlite3 ANALYZE
    .venv/bin/python -W ignore bench/contacts_api.py --runs 20 --warmup 2

    # clean up
    psql -h 127.0.0.1 -U postgres -c "DROP DATABASE guanxi_bench_1m"
    rm -rf var/bench-sqlite-1m

Options: ``--runs N`` (default 50) timed runs after ``--warmup W`` (default 5) per case;
``--no-explain`` skips the plans. The script creates an API token for rep1 and deletes it at the end;
it writes nothing else. Run one benchmark at a time on a shared machine.
"""

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from guanxi.core.models import ApiToken  # noqa: E402
from guanxi.customers.models import Contact  # noqa: E402

URL = "/api/v1/contacts"
TABLE = Contact._meta.db_table


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def local_mobile(e164):
    """+8613812345678 -> '138 1234 5678' (how people type it)."""
    digits = e164.removeprefix("+86")
    return f"{digits[:3]} {digits[3:7]} {digits[7:]}"


def sample_contact():
    """A deterministic bulk-loaded contact with a Chinese name and a mobile, from the middle of the table."""
    top = Contact.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    for c in Contact.objects.filter(pk__gte=top // 2).exclude(mobile="").order_by("pk")[:200]:
        if len(c.name) >= 3 and not c.name.isascii() and not any(ch.isdigit() for ch in c.name):
            return c
    raise SystemExit("No contacts with a Chinese name: run manage.py seed_demo --contacts 100000 first.")


def cases(contact):
    return [
        ("filter+sort", {"city": "上海市", "ordering": "name", "limit": 25}),
        ("q name (2ch)", {"q": contact.name[:2], "limit": 25}),
        ("q name (3ch)", {"q": contact.name[:3], "limit": 25}),
        ("q phone", {"q": local_mobile(contact.mobile), "limit": 25}),
        ("unfiltered", {"ordering": "-created", "limit": 25}),
    ]


def is_contact_query(sql):
    head = sql.split(" WHERE ")[0]
    return f'FROM "{TABLE}"' in head and "INNER JOIN" not in head


def capture(client, params):
    """Run the request once with query capture: (status, body, all SQL, [count SQL, page SQL])."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, params)
    sqls = [q["sql"] for q in ctx.captured_queries]
    main = [s for s in sqls if is_contact_query(s)]
    # Every statement that fetches the data in the response: count, page, tags and companies (the
    # prefetches); not the token lookup or the custom-field definitions (request overhead).
    data = [s for s in sqls if "core_apitoken" not in s and "core_customfield" not in s]
    return response, sqls, main, data


def time_raw(sqls):
    start = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in sqls:
            cursor.execute(sql)
            cursor.fetchall()
    return (time.perf_counter() - start) * 1000


def time_api(client, params):
    start = time.perf_counter()
    response = client.get(URL, params)
    response.json()
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, response.content[:500]
    return elapsed


def explain(sql):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
        rows = cursor.fetchall()
    if connection.vendor == "postgresql":
        return "\n".join("    " + r[0] for r in rows)
    return "\n".join(f"    {r[-1]}" for r in rows)


def trigram_check():
    """Does the trigram GIN index serve Chinese text under this database's locale?"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT datcollate, datctype FROM pg_database WHERE datname = current_database()")
        collate, ctype = cursor.fetchone()
        cursor.execute("SELECT show_trgm('王秀英')")
        trigrams = cursor.fetchone()[0]
    print(f"\npg_trgm under LC_COLLATE={collate} LC_CTYPE={ctype}: show_trgm('王秀英') = {trigrams}")
    print("  (4 trigrams = the CJK characters are word characters and are indexed; [] = they are dropped)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--no-explain", action="store_true")
    args = parser.parse_args()

    rep1 = get_user_model().objects.get(username="rep1")
    token, raw = ApiToken.issue(user=rep1, name="bench")
    client = Client(headers={"authorization": f"Bearer {raw}"})
    try:
        total = Contact.all_objects.count()
        vendor = connection.vendor
        print(f"{vendor} {connection.settings_dict['NAME']}: {total:,} contacts; "
              f"{args.runs} runs after {args.warmup} warm-up per case; times in ms")
        contact = sample_contact()
        rows, plans = [], []
        for label, params in cases(contact):
            for _ in range(args.warmup):
                time_api(client, params)
            response, all_sql, main_sql, data_sql = capture(client, params)
            body = response.json()
            assert response.status_code == 200, body
            for _ in range(args.warmup):
                time_raw(main_sql)
                time_raw(data_sql)
            api_ms, raw_ms, data_ms = [], [], []
            for _ in range(args.runs):
                api_ms.append(time_api(client, params))
                raw_ms.append(time_raw(main_sql))
                data_ms.append(time_raw(data_sql))
            shown = "&".join(f"{k}={v}" for k, v in params.items() if k != "limit")
            rows.append((label, shown, len(body["items"]), body["count"], body["count_exact"], len(all_sql),
                         len(main_sql), statistics.median(api_ms), percentile(api_ms, 95),
                         statistics.median(raw_ms), percentile(raw_ms, 95),
                         statistics.median(data_ms), percentile(data_ms, 95)))
            plans.append((label, shown, main_sql))

        header = (f"{'case':<13} {'params':<34} {'items':>5} {'count':>9} {'q/req':>5} {'API p50':>8} "
                  f"{'API p95':>8} {'SQL p50':>8} {'SQL p95':>8} {'×p50':>5} {'×p95':>5} "
                  f"{'data p95':>8} {'×data':>5}")
        print("\n" + header + "\n" + "-" * len(header))
        for label, shown, items, count, exact, nq, _nmain, ap50, ap95, sp50, sp95, _dp50, dp95 in rows:
            count_s = f"{count:,}" if exact else f"≈{count:,}" if count != 10000 else "10,000+"
            print(f"{label:<13} {shown:<34} {items:>5} {count_s:>9} {nq:>5} {ap50:8.1f} {ap95:8.1f} "
                  f"{sp50:8.2f} {sp95:8.2f} {ap50 / sp50:5.1f} {ap95 / sp95:5.1f} {dp95:8.2f} {ap95 / dp95:5.1f}")
        print("SQL = the request's own count + page queries run through a plain cursor; data = those plus the "
              "prefetches (tags, companies), i.e. every statement that fetches the response's data; "
              "q/req = all queries of one request (token, custom-field definitions, count, page, prefetches).")

        if not args.no_explain:
            if vendor == "postgresql":
                trigram_check()
            for label, shown, sqls in plans:
                for sql in sqls:
                    kind = "count" if "COUNT(" in sql.upper() else "page"
                    print(f"\n== {label} [{kind}] {shown}\n  {sql}\n{explain(sql)}")
            if vendor == "postgresql":
                q = contact.name[:2]
                sql = (f'SELECT COUNT(*) FROM "{TABLE}" WHERE UPPER("{TABLE}"."name"::text) '
                       f"LIKE UPPER('%%{q}%%')").replace("%%", "%")
                print(f"\n== 2-character Chinese substring, count only: {q}\n  {sql}\n{explain(sql)}")
    finally:
        token.delete()


if __name__ == "__main__":
    main()
