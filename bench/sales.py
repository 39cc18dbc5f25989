"""Sales benchmark: the kanban board's first screen and the funnel at 100k deals, against raw SQL.

Never run as a test. ``--seed N`` first loads N deals (default 100,000) into a database that already has
the demo data (``seed_demo``): a third pipeline (渠道分销) besides the two of the demo, 26 more sales reps
in four more teams (so 30 owners: rep1, rep2, rep3, manager and the bench reps; 13 of them are in the
manager's department), 20,000 companies, the deals with their whole stage history drawn by
``guanxi.sales.demo.plan_deal`` (the demo's shape: created over the last 270 days, more of them recent,
about 45% still open, some stalled), and one interaction per three deals in the last 60 days (what the
"stalled" flag looks at). Rows go in with COPY in batches, ids assigned up front; then ANALYZE.
Seeded random: the same N gives the same data.

Then, as rep1 (scope own), manager (subtree) and admin (superuser), it times in the same run,
interleaved, N rounds of:

- **board**: ``GET /pipelines/<default>/board/`` through the Django test Client (session login, every
  middleware, access control, the template: the first screen as the browser gets it, HTML);
- **board_columns**: the selector alone (stages, per-stage count and sum, the first 50 cards of each
  open column with the stalled flag, display preparation);
- **board SQL**: the same aggregation written by hand and run through a plain cursor: one GROUP BY for
  count and sum per stage, one LATERAL query for the first 50 cards of every open column with the
  company and owner names and the stalled flag; the owner filter is the user's id list from the access
  rules (none for admin);
- **funnel**: ``GET /sales/funnel/`` (default pipeline, the default period = the last 90 days) and
  ``?all=1`` (every deal of the pipeline), through the Client;
- **funnel()**: the selector alone for the same periods;
- **funnel SQL**: the five GROUP BY statements of the funnel written by hand (reached per stage over the
  stage history, average days per stage, current stage counts and sums, lost reasons, owners).

It prints p50/p95 (wall clock), the ratios to the raw SQL, the number of statements per request and,
with ``--explain``, the EXPLAIN ANALYZE of the raw statements and of the selector's statements.

Usage (PostgreSQL, an own database on the shared server; about 2 minutes to load)::

    cd /work/main
    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE guanxi_bench_sales"
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/guanxi_bench_sales
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py seed_demo
    .venv/bin/python -W ignore bench/sales.py --seed 100000     # once: loads the deals, then ANALYZE
    .venv/bin/python -W ignore bench/sales.py --runs 30 --explain
    unset DATABASE_URL
    psql -h 127.0.0.1 -U postgres -c "DROP DATABASE guanxi_bench_sales"

Options: ``--runs`` (30) timed runs after ``--warmup`` (3) per case; ``--users rep1,manager,admin``;
``--only board|funnel``; ``--json PATH`` also writes the figures. Run one benchmark at a time.
"""

import argparse
import datetime
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
# Pages render {% static %} without a collectstatic run (the manifest look-up is a dict read either way).
os.environ.setdefault("STATICFILES_BACKEND", "django.contrib.staticfiles.storage.StaticFilesStorage")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.contacts_api import CpuClock  # noqa: E402
from bench.pgload import copy_rows, explain, next_ids, run_sql  # noqa: E402
from bench.stats import summary  # noqa: E402
from guanxi.activities.models import Interaction  # noqa: E402
from guanxi.core import access  # noqa: E402
from guanxi.core.models import Department, Team  # noqa: E402
from guanxi.core.roles import ensure_default_roles  # noqa: E402
from guanxi.customers.choices import CompanySize, Industry  # noqa: E402
from guanxi.customers.demo import PLACES  # noqa: E402
from guanxi.customers.models import Account  # noqa: E402
from guanxi.sales import analytics  # noqa: E402
from guanxi.sales.demo import KEY_ACCOUNTS, PipelineShape, created_at, deal_fields, plan_deal  # noqa: E402
from guanxi.sales.models import LostReason, Opportunity, Pipeline, Stage, StageHistory  # noqa: E402
from guanxi.sales.opportunity_selectors import board_columns  # noqa: E402
from guanxi.sales.opportunity_services import pipeline_default  # noqa: E402

CHANNEL = "渠道分销"
CHANNEL_STAGES = [("渠道报备", 10, "open", 14), ("样品测试", 30, "open", 21), ("商务报价", 60, "open", 14),
                  ("签约", 85, "open", 10), ("成交", 100, "won", 0), ("丢单", 0, "lost", 0)]
# (team, department, reps): the manager's department gets two more teams, the other regions their own.
BENCH_TEAMS = [("华东销售二组", "销售部", 8), ("华北销售组", "销售部", 5), ("华南销售二组", "华南大区", 7),
               ("西部销售组", "西部大区", 6)]
PER_COLUMN = 50


# -- the generator -------------------------------------------------------------------------------------

def seed_owners():
    roles = ensure_default_roles()
    User = get_user_model()
    owners = list(User.objects.filter(username__in=["rep1", "rep2", "rep3", "manager"]).order_by("pk"))
    k = 0
    for team_name, dept_name, n in BENCH_TEAMS:
        dept, _ = Department.objects.get_or_create(name=dept_name)
        team, _ = Team.objects.get_or_create(name=team_name, defaults={"department": dept})
        for _i in range(n):
            k += 1
            user, created = User.objects.get_or_create(
                username=f"bench_rep{k:02d}", defaults={"display_name": f"销售{k:02d}", "role": roles["sales_rep"],
                                                        "team": team, "email": f"bench_rep{k:02d}@bench.local"})
            if created:
                user.set_unusable_password()
                user.save()
            owners.append(user)
    return owners


def seed_channel_pipeline():
    pipeline, created = Pipeline.objects.get_or_create(name=CHANNEL, defaults={"position": 2})
    if created:
        Stage.objects.bulk_create([Stage(pipeline=pipeline, name=name, position=i, probability=p, kind=kind,
                                         stall_days=stall) for i, (name, p, kind, stall) in enumerate(CHANNEL_STAGES)])
    return pipeline


def pick(rng, shapes):
    """(shape, is key-account) drawn by the pipelines' shares."""
    roll, acc = rng.random(), 0.0
    for shape, is_key, share in shapes:
        acc += share
        if roll < acc:
            return shape, is_key
    return shapes[0][0], shapes[0][1]


def seed(n, companies=20_000, batch=10_000, seed_value=4):
    if connection.vendor != "postgresql":
        raise SystemExit("The sales benchmark loads its data with COPY: run it on PostgreSQL.")
    if not Pipeline.objects.filter(name=KEY_ACCOUNTS).exists():
        raise SystemExit("Run manage.py seed_demo first (demo users, pipelines and deals).")
    rng = random.Random(seed_value)
    now = timezone.now()
    t0 = time.perf_counter()
    with transaction.atomic():
        owners = seed_owners()
        channel = seed_channel_pipeline()
    standard = Pipeline.objects.get(is_default=True)
    key = Pipeline.objects.get(name=KEY_ACCOUNTS)
    shapes = [(PipelineShape.of(standard), False, 0.6), (PipelineShape.of(key), True, 0.25),
              (PipelineShape.of(channel), False, 0.15)]
    lost_reasons = list(LostReason.objects.filter(is_active=True).order_by("position", "id"))

    account_fields = [f for f in Account._meta.concrete_fields]
    accounts = []
    for pk in next_ids(Account, companies):
        province, city, districts, _region = PLACES[pk % len(PLACES)]
        accounts.append(Account(
            pk=pk, name=f"基准客户{pk}有限公司", industry=Industry.values[pk % len(Industry.values)],
            size=CompanySize.values[pk % 5], country="CN", province=province, city=city,
            district=districts[pk % 3], owner_id=owners[pk % len(owners)].pk, created_at=now, updated_at=now))
    with transaction.atomic():
        copy_rows(Account, accounts, account_fields)
    account_ids = [a.pk for a in accounts]
    owner_of = {a.pk: a.owner_id for a in accounts}
    print(f"  {companies:,} companies, {len(owners)} owners ({time.perf_counter() - t0:.0f} s)")

    opp_fields = [f for f in Opportunity._meta.concrete_fields]
    hist_fields = [f for f in StageHistory._meta.concrete_fields if not f.primary_key]
    ia_fields = [f for f in Interaction._meta.concrete_fields if not f.primary_key]
    ids = iter(next_ids(Opportunity, n))
    made = stays = notes = 0
    while made < n:
        size = min(batch, n - made)
        deals, history, interactions = [], [], []
        for _ in range(size):
            shape, is_key = pick(rng, shapes)
            account_id = rng.choice(account_ids)
            created = created_at(rng, now, 270)
            path, outcome = plan_deal(rng, shape, created, now)
            f = deal_fields(rng, shape, path, outcome, now, is_key, lost_reasons)
            lost_reason = f.pop("lost_reason")
            pk = next(ids)
            owner_id = owner_of[account_id]
            deals.append(Opportunity(
                pk=pk, name=f"基准商机 {pk}", account_id=account_id, pipeline_id=shape.pipeline_id, owner_id=owner_id,
                created_by_id=owner_id, created_at=created, updated_at=f["stage_entered_at"],
                lost_reason_id=lost_reason.pk if lost_reason else None,
                board_rank=-f["stage_entered_at"].timestamp(), **f))
            for k, (stage_id, entered) in enumerate(path):
                left = path[k + 1][1] if k + 1 < len(path) else None
                history.append(StageHistory(opportunity_id=pk, stage_id=stage_id, entered_at=entered, left_at=left,
                                            moved_by_id=owner_id))
            if rng.random() < 1 / 3:
                at = now - datetime.timedelta(days=rng.uniform(0, 60))
                interactions.append(Interaction(
                    kind="call", subject="跟进", occurred_at=max(at, created), opportunity_id=pk, owner_id=owner_id,
                    created_by_id=owner_id, created_at=now, updated_at=now))
        with transaction.atomic():
            copy_rows(Opportunity, deals, opp_fields)
            copy_rows(StageHistory, history, hist_fields)
            copy_rows(Interaction, interactions, ia_fields)
        made += size
        stays += len(history)
        notes += len(interactions)
        print(f"  {made:,} deals, {stays:,} stays, {notes:,} interactions ({time.perf_counter() - t0:.0f} s)")
    with connection.cursor() as cursor:
        for model in (Account, Opportunity, StageHistory, Interaction):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    print(f"Loaded in {time.perf_counter() - t0:.0f} s.")


# -- the raw SQL references ----------------------------------------------------------------------------

def owner_filter(user, alias="o"):
    """(SQL, params) of the user's row filter on deals: the owner ids their scope covers (none for all)."""
    ids = access.owner_ids_for_scope(user, access.grant(user, Opportunity).scope)
    if ids is None:
        return "", {}
    return f" AND {alias}.owner_id = ANY(%(owners)s)", {"owners": sorted(ids)}


def board_sql(user, pipeline, now):
    """[(sql, params)]: count and sum per stage, then the first cards of every open column (one LATERAL)."""
    owners, params = owner_filter(user)
    params = {**params, "p": pipeline.pk, "now": now, "n": PER_COLUMN}
    totals = f"""SELECT o.stage_id, o.amount_currency, COUNT(*), SUM(o.amount) FROM sales_opportunity o
        WHERE o.pipeline_id = %(p)s AND o.deleted_at IS NULL{owners} GROUP BY 1, 2"""
    cards = f"""SELECT s.id, c.* FROM sales_stage s CROSS JOIN LATERAL (
          SELECT o.id, o.name, o.amount, o.amount_currency, o.expected_close_date, o.probability,
                 o.forecast_category, o.stage_entered_at, o.board_rank, a.name AS account_name,
                 u.display_name AS owner_name,
                 (s.stall_days > 0 AND o.stage_entered_at < %(now)s - make_interval(days => s.stall_days)
                  AND NOT EXISTS (SELECT 1 FROM activities_interaction i WHERE i.opportunity_id = o.id
                                  AND i.deleted_at IS NULL
                                  AND i.occurred_at >= %(now)s - make_interval(days => s.stall_days))) AS stalled
          FROM sales_opportunity o JOIN customers_account a ON a.id = o.account_id
          LEFT JOIN core_user u ON u.id = o.owner_id
          WHERE o.stage_id = s.id AND o.pipeline_id = %(p)s AND o.deleted_at IS NULL{owners}
          ORDER BY o.board_rank, o.id LIMIT %(n)s) c
        WHERE s.pipeline_id = %(p)s AND s.kind = 'open' ORDER BY s.position, s.id, c.board_rank, c.id"""
    return [(totals, params), (cards, params)]


def funnel_sql(user, pipeline, date_from, date_to, now):
    """[(sql, params)]: the funnel's five GROUP BY statements over the cohort (deals created in the period)."""
    owners, params = owner_filter(user)
    params = {**params, "p": pipeline.pk, "now": now}
    cohort = f"o.pipeline_id = %(p)s AND o.deleted_at IS NULL{owners}"
    if date_from:
        cohort += " AND o.created_at >= %(from)s"
        params["from"] = analytics.day_start(date_from)
    if date_to:
        cohort += " AND o.created_at < %(to)s"
        params["to"] = analytics.day_start(date_to + datetime.timedelta(days=1))
    opens = list(pipeline.stages.filter(kind="open").order_by("position", "id"))
    filters = ", ".join(f"COUNT(*) FILTER (WHERE reach >= {s.position})" for s in opens)
    reached = f"""SELECT {filters} FROM (
          SELECT h.opportunity_id, MAX(CASE WHEN st.kind = 'won' THEN 2147483647
                                            WHEN st.kind = 'open' THEN st.position ELSE -1 END) AS reach
          FROM sales_stagehistory h JOIN sales_stage st ON st.id = h.stage_id
          JOIN sales_opportunity o ON o.id = h.opportunity_id WHERE {cohort} GROUP BY h.opportunity_id) t"""
    days = f"""SELECT h.stage_id, AVG(COALESCE(h.left_at, %(now)s) - h.entered_at) FROM sales_stagehistory h
        JOIN sales_stage st ON st.id = h.stage_id AND st.kind = 'open'
        JOIN sales_opportunity o ON o.id = h.opportunity_id WHERE {cohort} GROUP BY 1"""
    current = f"""SELECT o.stage_id, o.amount_currency, COUNT(*), SUM(o.amount) FROM sales_opportunity o
        WHERE {cohort} GROUP BY 1, 2"""
    lost = f"""SELECT o.lost_reason_id, o.amount_currency, COUNT(*), SUM(o.amount) FROM sales_opportunity o
        JOIN sales_stage st ON st.id = o.stage_id WHERE {cohort} AND st.kind = 'lost' GROUP BY 1, 2"""
    people = f"""SELECT o.owner_id, COUNT(*), COUNT(*) FILTER (WHERE st.kind = 'won'),
          COUNT(*) FILTER (WHERE st.kind = 'lost'),
          SUM(o.amount) FILTER (WHERE st.kind = 'won' AND o.amount_currency = 'CNY'),
          AVG(o.closed_at - o.created_at) FILTER (WHERE st.kind = 'won' AND o.closed_at IS NOT NULL),
          COUNT(*) FILTER (WHERE st.kind = 'won' AND o.closed_at IS NOT NULL)
        FROM sales_opportunity o JOIN sales_stage st ON st.id = o.stage_id WHERE {cohort} GROUP BY 1"""
    return [(sql, params) for sql in (reached, days, current, lost, people)]


# -- timing --------------------------------------------------------------------------------------------

CLOCK = None


def timed(fn):
    """(wall ms, cpu ms): cpu = this process plus the PostgreSQL backend serving it (bench/contacts_api.py's
    CpuClock), which unlike the wall clock does not count waiting for a core on a busy machine."""
    cpu0 = CLOCK.now()
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000, (CLOCK.now() - cpu0) / 1e6


def get_ok(client, url, params=None):
    response = client.get(url, params or {})
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return response


def statements(fn):
    """(result, number of statements, [(sql, ms)]) of one call."""
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    return result, len(ctx.captured_queries), [(q["sql"], float(q["time"]) * 1000) for q in ctx.captured_queries]


def check_board(data, raw):
    """The raw SQL and the selector agree on every column's count and first cards (else the ratio lies)."""
    counts = {}
    for stage_id, _cur, n, _sum in raw[0]:
        counts[stage_id] = counts.get(stage_id, 0) + n
    cards = {}
    for row in raw[1]:
        cards.setdefault(row[0], []).append(row[1])
    for col in data["columns"]:
        assert col["count"] == counts.get(col["stage"].pk, 0), (col["stage"], col["count"], counts)
        if not col["closed"]:
            assert [c.pk for c in col["cards"]] == cards.get(col["stage"].pk, []), col["stage"]


def check_funnel(result, raw):
    reached = raw[0][0]
    assert [r.reached for r in result.open_stages] == list(reached), ([r.reached for r in result.open_stages],
                                                                      reached)
    assert result.total == sum(r[2] for r in raw[2])


def measure(cases, args):
    """cases: [(label, {name: fn})]; interleaved runs → {label: {name: [ms]}}."""
    out = {}
    for label, fns in cases:
        for _ in range(args.warmup):
            for fn in fns.values():
                fn()
        samples = {name: [] for name in fns}
        for _ in range(args.runs):
            for name, fn in fns.items():
                samples[name].append(timed(fn))
        out[label] = samples
    return out


def run_user(user, args, now, plans):
    client = Client()
    client.force_login(user)
    pipeline = pipeline_default()
    board_url = reverse("sales:board", args=[pipeline.pk])
    funnel_url = reverse("sales:funnel")
    rows = []
    visible = Opportunity.objects.restrict(user, "view")
    print(f"\n[{user.username}] sees {visible.count():,} deals, {visible.filter(pipeline=pipeline).count():,} "
          f"in {pipeline} ({visible.filter(pipeline=pipeline, stage__kind='open').count():,} open)")
    if args.only in (None, "board"):
        raw = board_sql(user, pipeline, now)
        data, nq_sel, sel_sql = statements(lambda: board_columns(user=user, pipeline=pipeline, per_column=PER_COLUMN,
                                                                  now=now))
        check_board(data, run_sql(raw))
        _r, nq_view, _s = statements(lambda: get_ok(client, board_url))
        samples = measure([("board", {
            "view": lambda: get_ok(client, board_url),
            "selector": lambda: board_columns(user=user, pipeline=pipeline, per_column=PER_COLUMN, now=now),
            "sql": lambda: run_sql(raw),
        })], args)["board"]
        rows.append({"user": user.username, "case": "board first screen", "q_view": nq_view, "q_selector": nq_sel,
                     **{f"{k}_{p}": v for k, s in summary(samples).items() for p, v in s.items()}})
        plans.append((user.username, "board", raw, sel_sql))
    if args.only in (None, "funnel"):
        date_from, date_to = analytics.default_funnel_range()
        for label, params, (dfrom, dto) in (("funnel 90 days", {}, (date_from, date_to)),
                                            ("funnel all", {"all": "1"}, (None, None))):
            raw = funnel_sql(user, pipeline, dfrom, dto, now)
            result, nq_sel, sel_sql = statements(lambda d=dfrom, t=dto: analytics.funnel(
                user=user, pipeline=pipeline, date_from=d, date_to=t, now=now))
            check_funnel(result, run_sql(raw))
            _r, nq_view, _s = statements(lambda p=params: get_ok(client, funnel_url, p))
            samples = measure([(label, {
                "view": lambda p=params: get_ok(client, funnel_url, p),
                "selector": lambda d=dfrom, t=dto: analytics.funnel(user=user, pipeline=pipeline, date_from=d,
                                                                     date_to=t, now=now),
                "sql": lambda r=raw: run_sql(r),
            })], args)[label]
            rows.append({"user": user.username, "case": label, "deals": result.total, "q_view": nq_view,
                         "q_selector": nq_sel,
                         **{f"{k}_{p}": v for k, s in summary(samples).items() for p, v in s.items()}})
            plans.append((user.username, label, raw, sel_sql))
    return rows


def print_rows(rows):
    header = (f"{'user':<8} {'case':<19} {'deals':>7} {'q/req':>5} {'q/sel':>5} | {'view p50':>8} {'p95':>6} "
              f"{'cpu':>6} {'cpu95':>6} | {'sel p50':>7} {'p95':>6} {'cpu':>6} | "
              f"{'SQL p50':>7} {'p95':>6} {'cpu':>6} | "
              f"{'×SQL view':>9} {'cpu':>5} {'×SQL sel':>8} {'cpu':>5}")
    print("\n" + header + "\n" + "-" * len(header))
    for r in rows:
        print(f"{r['user']:<8} {r['case']:<19} {r.get('deals', ''):>7} {r['q_view']:>5} {r['q_selector']:>5} | "
              f"{r['view_p50']:8.1f} {r['view_p95']:6.1f} {r['view_cpu50']:6.1f} {r['view_cpu95']:6.1f} | "
              f"{r['selector_p50']:7.1f} {r['selector_p95']:6.1f} {r['selector_cpu50']:6.1f} | "
              f"{r['sql_p50']:7.1f} {r['sql_p95']:6.1f} {r['sql_cpu50']:6.1f} | {r['view_p50'] / r['sql_p50']:9.1f} "
              f"{r['view_cpu50'] / r['sql_cpu50']:5.1f} {r['selector_p50'] / r['sql_p50']:8.1f} "
              f"{r['selector_cpu50'] / r['sql_cpu50']:5.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, help="load this many deals first (PostgreSQL)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--users", default="rep1,manager,admin")
    parser.add_argument("--only", choices=["board", "funnel"])
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.seed:
        seed(args.seed)
        return
    if connection.vendor != "postgresql":
        print("warning: the targets are for PostgreSQL; the raw SQL references are PostgreSQL SQL")
    global CLOCK
    CLOCK = CpuClock()
    now = timezone.now()
    names = args.users.split(",")
    users = sorted(get_user_model().objects.filter(username__in=names), key=lambda u: names.index(u.username))
    print(f"{connection.vendor} {connection.settings_dict['NAME']}: {Opportunity.all_objects.count():,} deals, "
          f"{StageHistory.objects.count():,} stays, {Interaction.objects.exclude(opportunity=None).count():,} "
          f"interactions on deals; {args.runs} runs after {args.warmup} warm-ups; ms; load average "
          f"{os.getloadavg()[0]:.1f}")
    rows, plans = [], []
    for user in users:
        rows += run_user(user, args, now, plans)
    print_rows(rows)
    print("\nview = the page through the test Client (HTML); sel = the selector alone (board_columns / funnel); "
          "SQL = the same aggregation by hand through a cursor; q/req, q/sel = statements; p50/p95 = wall clock; "
          "cpu = CPU time of this process + its PostgreSQL backend (median; cpu95 its p95); × = ratio of medians.")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows}, ensure_ascii=False, indent=1))
    if args.explain:
        for username, label, raw, sel_sql in plans:
            for sql, params in raw:
                print(f"\n== {username} {label} [raw]\n  {' '.join(sql.split())[:300]}\n{explain(sql, params)}")
            slow = sorted(sel_sql, key=lambda q: -q[1])[:2]
            for sql, ms in slow:
                if sql.startswith("SELECT"):
                    print(f"\n== {username} {label} [selector, {ms:.1f} ms when captured]\n  {sql[:300]}\n"
                          f"{explain(sql)}")


if __name__ == "__main__":
    main()
