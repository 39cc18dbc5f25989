"""Contacts API list benchmark: first-page latency through the full Django stack vs. the raw SQL.

Never run as a test. It times, with the Django test Client (real URL routing, middleware, bearer-token
auth, access control, masking, JSON rendering), the first page (limit=25) of GET /api/v1/contacts for
each of the demo users ``rep1`` (sales rep, scope "own": a third of the bulk-loaded contacts), ``rep3``
(sales rep in another region owning only a few hundred demo contacts, the usual shape for a rep),
``manager`` (scope "subtree": every contact of the demo data) and ``admin`` (superuser: every record).
``--shares`` contacts of other owners are shared with each of ``--share-with`` (rep1 and rep3), so their
filter is "own OR shared" as in real use. The cases:

- ``filter+sort``  ?city=上海市&ordering=name
- ``q 2ch``        ?q=<first 2 characters of a name the user can see> (2-character substring search)
- ``q 3ch``        ?q=<first 3 characters of that name> (a trigram-sized substring search)
- ``q phone``      ?q=<that contact's mobile written locally, e.g. 138 1234 5678>
- ``unfiltered``   ?ordering=-created

For each case it captures the SQL the request ran once, then interleaves N timed API requests with N
runs of two references through a plain cursor:

- ``SQL``: the page query plus the capped count query (``LIMIT 10001``) of the same filter. When the
  API skipped the count (a page with fewer than 25 rows carries its own total) the bench still times
  the count the ORM would run, so this reference never shrinks with an optimisation.
- ``data``: every data statement the request itself ran: page, count if it ran, and the prefetches
  (tags, companies). Not the token lookup, the role's permissions, the user's shares, the custom-field
  definitions or the table estimate: those are per-request overhead, not the query.

It prints the wall-clock p50/p95, the median CPU time (this process plus, on PostgreSQL, the server
backend of its connection: unlike the wall clock it does not count waiting for a core while other
people's test suites run), the ratios API/SQL and API/data, and ``q/req`` (statements per request).
Then the floor: the same Client and middleware answering a constant JSON body from (1) a plain Django
view without auth, (2) a django-ninja endpoint with the API's bearer-token auth, (3) the same plus
building the user's restricted contact queryset (role permissions and shares, no data query). That is
what any list request pays before touching the data. Per case it also times the same request
**hand-written**: ``/raw`` (ninja with the API's token auth, then every other statement the real request ran
through a plain cursor, rows as JSON) and ``/raw-all`` (a plain Django view running all of them, the token
look-up included): the lower bounds of any ninja and any Django implementation of that request.
With ``--explain`` (default) it then prints the
plans: EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite.

Usage (the same recipe as docs/performance.md, which has the measured figures)::

    cd /work/main
    # PostgreSQL (own database name on a shared server)
    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE guanxi_bench"
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/guanxi_bench
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py seed_demo --contacts 1000000                  # or 100000
    psql -h 127.0.0.1 -U postgres -d guanxi_bench -c "VACUUM ANALYZE"
    .venv/bin/python -W ignore bench/contacts_api.py
    unset DATABASE_URL

    # SQLite (the embedded default): its own file in a directory of your choice
    export GUANXI_VAR_DIR=/tmp/guanxi-bench-sqlite
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py seed_demo --contacts 1000000
    sqlite3 $GUANXI_VAR_DIR/guanxi.sqlite3 ANALYZE
    .venv/bin/python -W ignore bench/contacts_api.py --runs 20 --warmup 2

    # clean up
    psql -h 127.0.0.1 -U postgres -c "DROP DATABASE guanxi_bench"
    rm -rf /tmp/guanxi-bench-sqlite

Options: ``--runs N`` (default 50) timed runs after ``--warmup W`` (default 5) per case;
``--rounds R`` (default 1) repeats everything and reports the median of each figure over the rounds
(steadier on a shared machine); ``--users rep1,rep3,manager,admin`` (missing ones are skipped);
``--shares N`` (default 20) per user of ``--share-with rep1,rep3``;
``--no-explain``; ``--no-floor``; ``--json PATH`` also writes the figures as JSON.
The script creates an API token per user and N share rows for rep1 and deletes them at the end; it
writes nothing else. Run one benchmark at a time on a shared machine.
"""

import argparse
import json
import math
import os
import re
import statistics
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import path  # noqa: E402

from guanxi.core.models import ApiToken, RecordShare  # noqa: E402
from guanxi.customers.models import Contact  # noqa: E402
from guanxi.customers.records import CONTACT  # noqa: E402
from guanxi.framework.listing import parse_ordering  # noqa: E402

URL = "/api/v1/contacts"
RAW_URL = "/bench-floor/raw"
RAW_ALL_URL = "/bench-floor/raw-all"
TABLE = Contact._meta.db_table
# Tables read as request overhead, not as the list's data: auth, access control (role permissions,
# shares, customer pools, the organisation for team/subtree scopes), custom-field definitions. The
# table-size estimate (pg_class, unquoted) is overhead too.
OVERHEAD = {"core_apitoken", "core_user", "core_rolepermission", "core_recordshare", "customers_pool",
            "core_customfield", "core_team", "core_department", "django_session"}
FIRST_TABLE = re.compile(r'FROM "(\w+)"')
# case number -> the statements a real request ran after its token look-up (for the /raw floor endpoint)
RAW_CASES = {}


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def local_mobile(e164):
    """+8613812345678 -> '138 1234 5678' (how people type it)."""
    digits = e164.removeprefix("+86")
    return f"{digits[:3]} {digits[3:7]} {digits[7:]}"


def sample_contact(user):
    """A deterministic contact of the user's own (else one they can see) with a 3+ character Chinese name
    and a mobile, from the middle of their range."""
    visible = Contact.objects.restrict(user, "view")
    for candidates in (visible.filter(owner=user), visible):
        top = candidates.order_by("-pk").values_list("pk", flat=True).first() or 0
        for c in candidates.filter(pk__gte=top // 2).exclude(mobile="").order_by("pk")[:400]:
            if len(c.name) >= 3 and not c.name.isascii() and not any(ch.isdigit() for ch in c.name):
                return c
    raise SystemExit("No visible contacts with a Chinese name: run manage.py seed_demo --contacts 100000 first.")


def cases(contact):
    return [
        ("filter+sort", {"city": "上海市", "ordering": "name", "limit": 25}),
        ("q 2ch", {"q": contact.name[:2], "limit": 25}),
        ("q 3ch", {"q": contact.name[:3], "limit": 25}),
        ("q phone", {"q": local_mobile(contact.mobile), "limit": 25}),
        ("unfiltered", {"ordering": "-created", "limit": 25}),
    ]


def reference_sql(user, params):
    """(page SQL, count SQL) of the list query as the ORM builds them, whether or not the API ran the count."""
    fs = CONTACT.filterset_class({k: str(v) for k, v in params.items()}, queryset=CONTACT.base_queryset(user, "view"))
    assert fs.is_valid(), fs.errors
    ordering = parse_ordering(CONTACT, params.get("ordering")) or parse_ordering(CONTACT, CONTACT.default_ordering)
    qs = fs.qs.order_by(*ordering)
    limit = settings.GUANXI_EXACT_COUNT_LIMIT
    with CaptureQueriesContext(connection) as ctx:
        list(qs.prefetch_related(None)[:25])
        qs.order_by()[: limit + 1].count()
    page, count = (q["sql"] for q in ctx.captured_queries)
    return page, count


def capture(client, params):
    """Run the request once with query capture: (response, all SQL, the data statements)."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, params)
    sqls = [q["sql"] for q in ctx.captured_queries]
    data = [s for s in sqls if s.startswith("SELECT") and (m := FIRST_TABLE.search(s)) and m[1] not in OVERHEAD]
    return response, sqls, data


class CpuClock:
    """CPU time used by this process plus, on PostgreSQL, by the server backend of its connection.

    On a shared machine the wall clock also counts waiting for a core; CPU time does not, so it
    compares code paths fairly while others run their test suites. /proc/<pid>/schedstat gives the
    backend's time on the CPU in nanoseconds (PostgreSQL on this host; otherwise only our process).
    """

    def __init__(self):
        self.path = None
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                path = Path(f"/proc/{cursor.fetchone()[0]}/schedstat")
            if path.exists():
                self.path = path

    def now(self):
        ns = time.process_time_ns()
        if self.path is not None:
            ns += int(self.path.read_text().split()[0])
        return ns


CLOCK = None


def timed(fn):
    """(wall ms, cpu ms) of fn()."""
    cpu0 = CLOCK.now()
    start = time.perf_counter()
    fn()
    wall = (time.perf_counter() - start) * 1000
    return wall, (CLOCK.now() - cpu0) / 1e6


def run_raw(sqls):
    with connection.cursor() as cursor:
        for sql in sqls:
            cursor.execute(sql)
            cursor.fetchall()


def run_statements(sqls):
    """Run captured statements through a plain cursor; the contact page's rows as dicts."""
    page = []
    with connection.cursor() as cursor:
        for sql in sqls:
            cursor.execute(sql)
            rows = cursor.fetchall()
            if sql.startswith(f'SELECT "{TABLE}"."id"'):
                names = [c[0] for c in cursor.description]  # sqlite3 gives tuples, psycopg columns
                page = [dict(zip(names, row, strict=True)) for row in rows]
    return page


def time_raw(sqls):
    return timed(lambda: run_raw(sqls))


def get_ok(client, url, params=None):
    response = client.get(url, params or {})
    response.json()
    assert response.status_code == 200, response.content[:500]


def time_get(client, url, params=None):
    return timed(lambda: get_ok(client, url, params))


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


# -- the floor: what a request costs before the list touches any data ---------------------------------

def floor_urlconf():
    """guanxi.urls plus three constant-JSON endpoints, through the same middleware (bench only)."""
    from ninja import NinjaAPI

    from guanxi.framework.api import TokenAuth

    body = {"count": 0, "count_exact": True, "items": []}

    def plain(request):
        return JsonResponse(body)

    floor_api = NinjaAPI(urls_namespace="bench-floor", auth=[TokenAuth()], docs_url=None, openapi_url=None)

    @floor_api.get("/auth")
    def auth_only(request):
        return body

    @floor_api.get("/restrict")
    def auth_restrict(request):
        CONTACT.base_queryset(request.auth, "view")  # role permissions and shares, as the list does
        return body

    @floor_api.get("/raw")
    def raw_statements(request, case: int):
        # The same statements as the real request, hand-written: no ORM, no FilterSet, no schema. The token
        # look-up already ran in TokenAuth; every other statement runs here through a plain cursor and the
        # page's rows go out as JSON. What the list would cost if every query were raw SQL.
        page = run_statements(RAW_CASES[case]["after_auth"])
        return {"count": len(page), "count_exact": True, "items": page}

    def raw_all(request):
        # Lower bound for any Django implementation: no ninja, no ORM; the token look-up and every other
        # statement of the real request through a plain cursor (the token's hash is the captured one).
        page = run_statements(RAW_CASES[int(request.GET["case"])]["all"])
        return JsonResponse({"count": len(page), "count_exact": True, "items": page},
                            json_dumps_params={"default": str})

    module = types.ModuleType("bench_floor_urls")
    from guanxi import urls

    # After the real patterns, so that resolving the API's own URL costs what it costs without the bench.
    module.urlpatterns = [*urls.urlpatterns, path("bench-floor/plain", plain),
                                             path("bench-floor/raw-all", raw_all), path("bench-floor/", floor_api.urls)]
    sys.modules[module.__name__] = module
    return module.__name__


def measure_floor(clients, args):
    """[{user, endpoint, q/req, p50, p95}] of the three constant-JSON endpoints."""
    rows = []
    for username, client in clients.items():
        for label, url in (("plain view, no auth", "/bench-floor/plain"),
                           ("ninja + token auth", "/bench-floor/auth"),
                           ("ninja + token auth + restrict()", "/bench-floor/restrict")):
            if label == "plain view, no auth" and rows:
                continue
            for _ in range(args.warmup):
                time_get(client, url)
            with CaptureQueriesContext(connection) as ctx:
                time_get(client, url)
            nq = len([q for q in ctx.captured_queries if not q["sql"].startswith("UPDATE")])
            samples = [time_get(client, url) for _ in range(args.runs)]
            wall = [w for w, _c in samples]
            rows.append({"user": "-" if label == "plain view, no auth" else username, "endpoint": label, "q_req": nq,
                         "p50": statistics.median(wall), "p95": percentile(wall, 95),
                         "cpu": statistics.median(c for _w, c in samples)})
    return rows


def print_floor(rows):
    print("\nFloor: constant JSON through the same Client and middleware (no list query)")
    print(f"{'user':<8} {'endpoint':<34} {'q/req':>5} {'p50':>7} {'p95':>7} {'cpu':>7}")
    for r in rows:
        print(f"{r['user']:<8} {r['endpoint']:<34} {r['q_req']:>5} {r['p50']:7.2f} {r['p95']:7.2f} {r['cpu']:7.2f}")


# -- main -----------------------------------------------------------------------------------------

def share_with(user, n):
    """Share n contacts of another owner with `user` (read), so the "own OR shared" filter is exercised."""
    others = Contact.objects.exclude(owner=user).exclude(owner=None).order_by("pk").values_list("pk", flat=True)
    step = max(1, others.count() // max(n, 1))
    ids = list(others[::step][:n]) if n else []
    return RecordShare.objects.bulk_create(
        [RecordShare(record_type=Contact.type_key(), record_id=pk, user=user, level="read") for pk in ids])


def run_user(user, client, args):
    """([row dict per case], [(label, params shown, reference SQL)])."""
    contact = sample_contact(user)
    rows, plans = [], []
    for label, params in cases(contact):
        for _ in range(args.warmup):
            time_get(client, URL, params)
        response, all_sql, data_sql = capture(client, params)
        body = response.json()
        assert response.status_code == 200, body
        page_sql, count_sql = reference_sql(user, params)
        ref_sql = [page_sql, count_sql]
        case_no = len(RAW_CASES)
        statements = [s for s in all_sql if s.startswith("SELECT")]
        RAW_CASES[case_no] = {"all": statements, "after_auth": [s for s in statements if "core_apitoken" not in s]}
        raw_params = {"case": case_no}
        for _ in range(args.warmup):
            time_raw(ref_sql)
            time_raw(data_sql)
            time_get(client, RAW_URL, raw_params)
            time_get(client, RAW_ALL_URL, raw_params)
        samples = {"api": [], "sql": [], "data": [], "raw": [], "rawall": []}
        for _ in range(args.runs):
            samples["api"].append(time_get(client, URL, params))
            samples["sql"].append(time_raw(ref_sql))
            samples["data"].append(time_raw(data_sql))
            samples["raw"].append(time_get(client, RAW_URL, raw_params))
            samples["rawall"].append(time_get(client, RAW_ALL_URL, raw_params))
        shown = "&".join(f"{k}={v}" for k, v in params.items() if k != "limit")
        row = {"user": user.username, "case": label, "params": shown, "items": len(body["items"]),
               "count": body["count"], "count_exact": body["count_exact"], "q_req": len(all_sql),
               "counted": any("COUNT(" in s.upper() for s in data_sql)}
        for name, values in samples.items():
            wall, cpu = [w for w, _c in values], [c for _w, c in values]
            row[f"{name}_p50"], row[f"{name}_p95"] = statistics.median(wall), percentile(wall, 95)
            row[f"{name}_cpu"] = statistics.median(cpu)
        for ref in ("sql", "data"):
            for p in ("p50", "p95", "cpu"):
                row[f"x_{ref}_{p}"] = row[f"api_{p}"] / row[f"{ref}_{p}"]
                row[f"raw_x_{ref}_{p}"] = row[f"raw_{p}"] / row[f"{ref}_{p}"]
                row[f"rawall_x_{ref}_{p}"] = row[f"rawall_{p}"] / row[f"{ref}_{p}"]
        rows.append(row)
        plans.append((label, shown, ref_sql))
    return rows, plans


def combine(rounds):
    """One row per case from several rounds: the median of each time and of each round's ratio."""
    out = []
    for same in zip(*rounds, strict=True):
        row = dict(same[0])
        for key, value in same[0].items():
            if isinstance(value, float):
                row[key] = statistics.median(r[key] for r in same)
        out.append(row)
    return out


def print_rows(username, rows):
    header = (f"{'case':<12} {'params':<26} {'items':>5} {'count':>9} {'q/req':>5} | {'API p50':>7} {'p95':>6} "
              f"{'cpu':>6} | {'SQL p50':>7} {'cpu':>6} | {'data p50':>8} {'p95':>6} {'cpu':>6} | "
              f"{'×SQL p50':>8} {'×data p50':>9} {'p95':>5} {'cpu':>5}")
    print(f"\n[{username}]\n" + header + "\n" + "-" * len(header))
    for r in rows:
        count, limit = r["count"], settings.GUANXI_EXACT_COUNT_LIMIT
        count_s = f"{count:,}" if r["count_exact"] else f"{count:,}+" if count == limit else f"≈{count:,}"
        nq_s = f"{r['q_req']}" + ("" if r["counted"] else "*")
        print(f"{r['case']:<12} {r['params'][:26]:<26} {r['items']:>5} {count_s:>9} {nq_s:>5} | "
              f"{r['api_p50']:7.1f} {r['api_p95']:6.1f} {r['api_cpu']:6.1f} | "
              f"{r['sql_p50']:7.2f} {r['sql_cpu']:6.2f} | "
              f"{r['data_p50']:8.2f} {r['data_p95']:6.2f} {r['data_cpu']:6.2f} | {r['x_sql_p50']:8.1f} "
              f"{r['x_data_p50']:9.1f} {r['x_data_p95']:5.1f} {r['x_data_cpu']:5.1f}")
    print("  the same statements hand-written: ninja = ninja + the API's token auth, then every other statement "
          "through a plain cursor; plain = a plain Django view running all of them (token look-up included):")
    for r in rows:
        for kind, label in (("raw", "ninja"), ("rawall", "plain")):
            print(f"  {r['case']:<12} {label:<5} p50 {r[kind + '_p50']:6.2f} p95 {r[kind + '_p95']:6.2f} "
                  f"cpu {r[kind + '_cpu']:6.2f} | ×data p50 {r[kind + '_x_data_p50']:4.1f} "
                  f"p95 {r[kind + '_x_data_p95']:4.1f} cpu {r[kind + '_x_data_cpu']:4.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--users", default="rep1,rep3,manager,admin")
    parser.add_argument("--shares", type=int, default=20)
    parser.add_argument("--share-with", default="rep1,rep3")
    parser.add_argument("--no-explain", action="store_true")
    parser.add_argument("--no-floor", action="store_true")
    parser.add_argument("--rounds", type=int, default=1, help="repeat everything; report medians over rounds")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    User = get_user_model()
    users = list(User.objects.filter(username__in=args.users.split(",")))
    users.sort(key=lambda u: args.users.split(",").index(u.username))
    created_tokens, shares = [], []
    clients = {}
    try:
        for user in users:
            token, raw = ApiToken.issue(user=user, name="bench")
            created_tokens.append(token)
            clients[user.username] = Client(headers={"authorization": f"Bearer {raw}"})
        for user in users:
            if user.username in args.share_with.split(",") and args.shares:
                shares += share_with(user, args.shares)
        global CLOCK
        CLOCK = CpuClock()
        total = Contact.all_objects.count()
        print(f"{connection.vendor} {connection.settings_dict['NAME']}: {total:,} contacts; {args.runs} runs after "
              f"{args.warmup} warm-ups per case, {args.rounds} round(s); times in ms; load average "
              f"{os.getloadavg()[0]:.1f}; {len(shares)} share rows for {args.share_with}")
        for user in users:
            print(f"{user.username}: sees {Contact.objects.restrict(user, 'view').count():,} contacts")
        rounds, floors, all_plans = [], [], []
        with override_settings(ROOT_URLCONF=floor_urlconf()):
            for _ in range(args.rounds):
                rows, all_plans = [], []
                for user in users:
                    user_rows, plans = run_user(user, clients[user.username], args)
                    rows += user_rows
                    all_plans.append((user.username, plans))
                rounds.append(rows)
                if not args.no_floor:
                    floors.append(measure_floor(clients, args))
        rows = combine(rounds)
        for user in users:
            print_rows(user.username, [r for r in rows if r["user"] == user.username])
        print("\nSQL = the page query + the capped count query of the same filter through a plain cursor (the "
              "count is timed even when the API skipped it); data = every data statement the request ran "
              "(page, count if run, tag and company prefetches); q/req = all statements of one request "
              "(* = no count query: the page was not full); cpu = median CPU time of this process plus the "
              "database backend (wall p50/p95 include waiting for a core on a busy machine); × = API / reference"
              + ("; medians over the rounds." if args.rounds > 1 else "."))
        if floors:
            print_floor(combine(floors))
        if args.json:
            Path(args.json).write_text(json.dumps({"vendor": connection.vendor, "contacts": total, "rows": rows,
                                                   "rounds": rounds, "floor": combine(floors) if floors else []},
                                                  ensure_ascii=False, indent=1))

        if not args.no_explain:
            if connection.vendor == "postgresql":
                trigram_check()
            for username, plans in all_plans:
                for label, shown, sqls in plans:
                    for sql in sqls:
                        kind = "count" if "COUNT(" in sql.upper() else "page"
                        print(f"\n== {username} {label} [{kind}] {shown}\n  {sql}\n{explain(sql)}")
    finally:
        for token in created_tokens:
            token.delete()
        RecordShare.objects.filter(pk__in=[s.pk for s in shares if s.pk]).delete()


if __name__ == "__main__":
    main()
