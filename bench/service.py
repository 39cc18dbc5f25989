"""Service benchmark: the ticket list, the ticket API, the detail page, the SLA sweep and the complaint
analytics at 100k tickets, against raw SQL.

Never run as a test. ``--seed N`` first loads N tickets (default 100,000) into a database that already has
the demo data (``seed_demo``): three more service teams (two managed by ``supervisor``, one by a bench
lead) with 20 bench agents, so the tickets are spread over 22 agents (agent, agent2 and the bench agents)
in four teams; then the tickets over the last 12 months (more of them recent), drawn with the demo's
category, priority, channel and product weights (``guanxi.service.demo``), their SLA due and warning times
computed with ``guanxi.service.sla`` on the default calendar and the priority's policy, reply and resolution
times drawn in business minutes around the targets (most met, some missed) and stored on the ticket
(``first_response_minutes`` / ``resolution_minutes``, as the services store them), about 10% still open (most of
them recent, some in a team's queue), the rest resolved or closed; warnings and breaches stamped the way
the sweep stamps them (so that nothing is due: the sweep's steady state), escalations on breaches, CSAT on
~60% of the done tickets, a few reopens and one "created" TicketEvent per ticket. Rows go in with COPY in
batches, ids assigned up front; then ANALYZE. Seeded random: the same N gives the same data.

Then, as agent (scope team), supervisor (subtree) and admin (superuser), it times in the same run,
interleaved, N rounds of:

- **list**: ``GET /tickets/`` (first page, default ordering) through the Django test Client (session
  login, every middleware, access control, the template); **api**: ``GET /api/v1/tickets?is_open=true&
  ordering=-created`` through the Client with a bearer token; **SQL**: the same first page (and count) by
  hand through a cursor, with the user's access filter (owners of the scope, or unassigned in their queues);
- **detail**: ``GET /tickets/<pk>/`` of the user's most recent demo ticket with a conversation; **SQL**:
  the ticket with its names, its messages, attachments and events;
- **analytics**: ``GET /service/analytics/`` (the default period: the last 90 days); **selector**:
  ``service_analytics()``; **durations()**: its business-time part alone, which reads the stored
  ``Ticket.first_response_minutes`` / ``resolution_minutes``; **durations_walk**: the same figures the way
  they were computed before those columns (fetch the timestamps, walk the business calendar per ticket),
  the "before" in the same run, checked to give the same counts, medians and averages;
  **durations_sql**: the durations by hand, one ``percentile_cont``/``AVG … GROUP BY ROLLUP`` over the
  stored minutes (checked against the selector); **SQL**: the GROUP BY statements of the figures by hand
  (counts, SLA compliance, CSAT, reopens; per category; per week; CSAT distribution; recurring companies and
  products) plus that durations aggregate.

And once per run (not per user):

- **sweep idle**: ``sla_sweep(now=now)`` when nothing is due (the scheduler's every-minute steady state)
  vs **SQL**: its four selection queries by hand;
- **sweep ~1,000 due**: ``sla_sweep(now=later)`` with ``later`` chosen so that about 1,000 SLA moments of
  open tickets have passed (a scheduler that was down for a while), inside a transaction rolled back after
  each run, so the database is the same for every run (the sweep handles at most 200 per moment and run).

It prints p50/p95 (wall clock and CPU), the ratios to the raw SQL, the number of statements per request
and, with ``--explain``, the EXPLAIN ANALYZE of the raw statements and of the slowest captured ones.

Usage (PostgreSQL, an own database on the shared server; about a minute to load)::

    cd /work/main
    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE guanxi_bench_service"
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/guanxi_bench_service
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py seed_demo --companies 200 --contacts 500
    .venv/bin/python -W ignore bench/service.py --seed 100000     # once: loads the tickets, then ANALYZE
    .venv/bin/python -W ignore bench/service.py --runs 20 --explain
    unset DATABASE_URL
    psql -h 127.0.0.1 -U postgres -c "DROP DATABASE guanxi_bench_service"

Options: ``--runs`` (20) timed runs after ``--warmup`` (2) per case; ``--analytics-runs`` (20; the run
before the stored minutes used 10); ``--sweep-runs`` (3) for the sweep
with ~1,000 due; ``--users agent,supervisor,admin``; ``--only list|detail|analytics|sweep``; ``--json PATH``
also writes the figures. Run one benchmark at a time.
"""

import argparse
import datetime
import json
import math
import os
import random
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
os.environ.setdefault("STATICFILES_BACKEND", "django.contrib.staticfiles.storage.StaticFilesStorage")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.contacts_api import CpuClock  # noqa: E402
from bench.pgload import copy_rows, explain, next_ids, run_sql  # noqa: E402
from bench.stats import summary  # noqa: E402
from guanxi.core import access  # noqa: E402
from guanxi.core.models import ApiToken, Department, Team  # noqa: E402
from guanxi.core.roles import ensure_default_roles  # noqa: E402
from guanxi.customers.models import Account  # noqa: E402
from guanxi.service import analytics  # noqa: E402
from guanxi.service.choices import OPEN_STATUSES, TicketEventKind, TicketStatus  # noqa: E402
from guanxi.service.demo import CATEGORY_WEIGHTS, CHANNELS, PRIORITIES, PRODUCTS, SERVICE_TEAM  # noqa: E402
from guanxi.service.models import BusinessCalendar, SlaPolicy, Ticket, TicketCategory, TicketEvent, TicketMessage  # noqa: E402
from guanxi.service.sla import (  # noqa: E402
    add_business_minutes,
    business_minutes_between,
    calendar_spec,
    default_calendar,
    subtract_business_minutes,
)
from guanxi.service.sla_jobs import BATCH, MOMENTS, sla_sweep  # noqa: E402

# (team, manager username or None for a bench lead, agents)
BENCH_TEAMS = [("客服二组", "supervisor", 7), ("客服三组", "supervisor", 6), ("售后技术组", None, 7)]
PAGE = settings.GUANXI_PAGE_SIZE
DUE_TARGET = 1000


def weighted(rng, pairs):
    return rng.choices([p[0] for p in pairs], weights=[p[-1] if len(p) == 2 else p[1] for p in pairs])[0]


# -- the generator -------------------------------------------------------------------------------------

def seed_agents():
    """[(user, team)] of the service agents: the demo's two and 20 bench agents in three more teams."""
    roles = ensure_default_roles()
    User = get_user_model()
    home = Team.objects.get(name=SERVICE_TEAM)
    agents = [(u, home) for u in User.objects.filter(username__in=["agent", "agent2"]).order_by("pk")]
    k = 0
    for i, (team_name, manager_name, n) in enumerate(BENCH_TEAMS):
        manager = User.objects.filter(username=manager_name).first() if manager_name else None
        if manager is None:
            manager, _c = User.objects.get_or_create(
                username=f"bench_lead{i}", defaults={"display_name": f"客服主管{i}", "role": roles["service_manager"],
                                                     "email": f"bench_lead{i}@bench.local"})
        dept = home.department or Department.objects.first()
        team, _c = Team.objects.get_or_create(name=team_name, defaults={"department": dept, "manager": manager})
        for _j in range(n):
            k += 1
            user, created = User.objects.get_or_create(
                username=f"bench_agent{k:02d}",
                defaults={"display_name": f"客服{k:02d}", "role": roles["service_agent"], "team": team,
                          "email": f"bench_agent{k:02d}@bench.local"})
            if created:
                user.set_unusable_password()
                user.save()
            agents.append((user, team))
    return agents


def open_chance(age_days):
    """Recent tickets are mostly still open, old ones almost never (about 10% open overall)."""
    return 0.85 * math.exp(-age_days / 12) + 0.035


def plan_ticket(rng, now, spec, policies, categories, agents, teams, accounts):
    """The field values of one ticket, consistent with its SLA clocks and as the sweep would have stamped it."""
    created = now - datetime.timedelta(days=365 * rng.random() ** 1.5, minutes=rng.randint(0, 600))
    age = (now - created).total_seconds() / 86400
    cat_name, _w, kind = CATEGORY_WEIGHTS[rng.choices(range(len(CATEGORY_WEIGHTS)),
                                                      weights=[c[1] for c in CATEGORY_WEIGHTS])[0]]
    priority = weighted(rng, PRIORITIES)
    policy = policies.get(priority)
    f = {"kind": kind, "category_id": categories[cat_name], "priority": priority,
         "channel": weighted(rng, CHANNELS), "product": weighted(rng, PRODUCTS), "created_at": created,
         "sla_policy_id": policy.pk if policy else None}
    is_open = rng.random() < open_chance(age)
    owner, team = rng.choice(agents)
    if is_open and rng.random() < 0.08:
        owner, team = None, rng.choice(teams)  # waiting in a team's queue
    f.update(owner_id=owner.pk if owner else None, team_id=team.pk,
             assigned_at=created + datetime.timedelta(minutes=rng.randint(1, 30)) if owner else None)
    fr_due = res_due = fr_warn = res_warn = responded = resolved = None
    if policy:
        fr_due = add_business_minutes(spec, created, policy.first_response_minutes)
        res_due = add_business_minutes(spec, created, policy.resolution_minutes)
        fr_warn = subtract_business_minutes(spec, fr_due, policy.warn_before_minutes, created)
        res_warn = subtract_business_minutes(spec, res_due, policy.warn_before_minutes, created)
        fr_target, res_target = policy.first_response_minutes, policy.resolution_minutes
    else:
        fr_target, res_target = 240, 1440
    # Business minutes drawn around the target: ~88% of replies and ~85% of resolutions in time. They are
    # also what the ticket stores (first_response_minutes / resolution_minutes), as the services would.
    fr_minutes = int(fr_target * rng.lognormvariate(-0.75, 0.6))
    res_minutes = int(res_target * rng.lognormvariate(-0.6, 0.55))
    responded = add_business_minutes(spec, created, fr_minutes)
    resolved = add_business_minutes(spec, created, res_minutes)
    if resolved and responded and resolved < responded:
        resolved = responded + datetime.timedelta(minutes=rng.randint(5, 120))
        res_minutes = round(business_minutes_between(spec, created, resolved), 2)
    if not is_open and (resolved is None or resolved > now):
        is_open = True
    if is_open:
        resolved = None
        if owner is None or responded is None or responded > now or rng.random() < 0.3:
            responded = None
        status = (TicketStatus.NEW if owner is None else TicketStatus.ASSIGNED) if responded is None else \
            rng.choice([TicketStatus.IN_PROGRESS, TicketStatus.IN_PROGRESS, TicketStatus.WAITING])
        closed = None
    else:
        closed = resolved + datetime.timedelta(days=7) if resolved + datetime.timedelta(days=7) < now else None
        status = TicketStatus.CLOSED if closed else TicketStatus.RESOLVED
    f.update(status=status, first_responded_at=responded, resolved_at=resolved, closed_at=closed,
             first_response_minutes=float(fr_minutes) if responded else None,
             resolution_minutes=float(res_minutes) if resolved else None,
             first_response_due=fr_due, resolution_due=res_due, first_response_warn_at=fr_warn,
             resolution_warn_at=res_warn)
    # The stamps the sweep would have set by now: a moment that passed while its clock was running.
    fr_stop = responded or (resolved if resolved else now)
    res_stop = resolved or now
    f["first_response_warned_at"] = fr_warn if fr_warn and fr_warn <= fr_stop and fr_warn <= now else None
    f["first_response_breached_at"] = fr_due if fr_due and fr_due <= fr_stop and fr_due <= now else None
    f["resolution_warned_at"] = res_warn if res_warn and res_warn <= res_stop and res_warn <= now else None
    f["resolution_breached_at"] = res_due if res_due and res_due <= res_stop and res_due <= now else None
    breach = f["first_response_breached_at"] or f["resolution_breached_at"]
    f["escalated_at"] = breach
    f["escalated_to_id"] = team.manager_id if breach else None
    if not is_open and rng.random() < 0.6:
        low = 1.5 if breach else 0
        f["csat_score"] = max(1, min(5, round(rng.triangular(1, 5.4, 4.8) - low * rng.random())))
        f["csat_at"] = min(now, resolved + datetime.timedelta(hours=rng.uniform(1, 72)))
    f["reopened_count"] = 1 if not is_open and rng.random() < 0.04 else 0
    if rng.random() < 0.75:
        f["account_id"] = accounts[int(len(accounts) * rng.random() ** 2.5)]
    f["updated_at"] = closed or resolved or responded or created
    return f


def seed(n, batch=10_000, seed_value=6):
    if connection.vendor != "postgresql":
        raise SystemExit("The service benchmark loads its data with COPY: run it on PostgreSQL.")
    if not Team.objects.filter(name=SERVICE_TEAM).exists() or not SlaPolicy.objects.exists():
        raise SystemExit("Run manage.py seed_demo first (demo users, the service team, SLA policies).")
    rng = random.Random(seed_value)
    now = timezone.now()
    t0 = time.perf_counter()
    with transaction.atomic():
        agents = seed_agents()
    teams = sorted({t.pk: t for _u, t in agents}.values(), key=lambda t: t.pk)
    spec = calendar_spec(default_calendar())
    policies = {p.priority: p for p in SlaPolicy.objects.filter(is_active=True, category__isnull=True)
                .order_by("-position", "-id")}
    categories = {}
    for c in TicketCategory.objects.order_by("-parent_id", "id"):
        categories.setdefault(c.name, c.pk)
    accounts = list(Account.objects.order_by("?").values_list("pk", flat=True)[:2000])
    print(f"  {len(agents)} agents in {len(teams)} teams, {len(accounts)} companies ({time.perf_counter() - t0:.0f} s)")

    ticket_fields = [f for f in Ticket._meta.concrete_fields]
    event_fields = [f for f in TicketEvent._meta.concrete_fields if not f.primary_key]
    ids = iter(next_ids(Ticket, n))
    made = opened = 0
    while made < n:
        size = min(batch, n - made)
        rows, events = [], []
        for _ in range(size):
            f = plan_ticket(rng, now, spec, policies, categories, agents, teams, accounts)
            pk = next(ids)
            rows.append(Ticket(pk=pk, subject=f"基准工单 {pk} {f['product']}", customer_name=f"客户{pk % 9973}",
                               description="", access_key=secrets.token_urlsafe(24), **f))
            events.append(TicketEvent(ticket_id=pk, kind=TicketEventKind.CREATED, at=f["created_at"], data={}))
            opened += f["status"] in OPEN_STATUSES
        with transaction.atomic():
            copy_rows(Ticket, rows, ticket_fields)
            copy_rows(TicketEvent, events, event_fields)
        made += size
        print(f"  {made:,} tickets, {opened:,} open ({time.perf_counter() - t0:.0f} s)")
    with connection.cursor() as cursor:
        for model in (Ticket, TicketEvent):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    print(f"Loaded in {time.perf_counter() - t0:.0f} s.")


# -- the raw SQL references ----------------------------------------------------------------------------

def scope_filter(user, alias="t"):
    """(SQL, params): the user's visibility on tickets (owners of the scope, or unassigned in a queue)."""
    g = access.grant(user, Ticket)
    owners = access.owner_ids_for_scope(user, g.scope)
    if owners is None:
        return "", {}
    teams = access.queue_team_ids(user, g.scope)
    return (f" AND ({alias}.owner_id = ANY(%(owners)s)"
            f" OR ({alias}.owner_id IS NULL AND {alias}.team_id = ANY(%(teams)s)))",
            {"owners": sorted(owners), "teams": teams})


def list_sql(user, open_only=False, counts=False):
    """The first page (one more row, to know there is a next page) and the capped count."""
    where, params = scope_filter(user)
    where = "t.deleted_at IS NULL" + where
    if open_only:
        where += " AND t.status = ANY(%(open)s)"
        params = {**params, "open": list(OPEN_STATUSES)}
    extra = ""
    if counts:
        extra = ", " + ", ".join(
            f"(SELECT COUNT(*) FROM service_ticketmessage m WHERE m.ticket_id = t.id AND m.kind = '{k}')"
            for k in ("reply", "customer", "note")) + \
            ", (SELECT COUNT(*) FROM service_ticketattachment x WHERE x.ticket_id = t.id)"
    page = f"""SELECT t.*, u.display_name, tm.name, a.name, ct.name, c.name, cp.name, cpp.name{extra}
        FROM service_ticket t LEFT JOIN core_user u ON u.id = t.owner_id LEFT JOIN core_team tm ON tm.id = t.team_id
        LEFT JOIN customers_account a ON a.id = t.account_id LEFT JOIN customers_contact ct ON ct.id = t.contact_id
        LEFT JOIN service_ticketcategory c ON c.id = t.category_id
        LEFT JOIN service_ticketcategory cp ON cp.id = c.parent_id
        LEFT JOIN service_ticketcategory cpp ON cpp.id = cp.parent_id
        WHERE {where} ORDER BY t.created_at DESC, t.id DESC LIMIT {PAGE + 1}"""
    count = f"""SELECT COUNT(*) FROM (SELECT 1 FROM service_ticket t WHERE {where}
        LIMIT {settings.GUANXI_EXACT_COUNT_LIMIT + 1}) s"""
    return [(page, params), (count, params)]


def detail_sql(pk):
    p = {"pk": pk}
    return [
        ("""SELECT t.*, u.display_name, tm.name, a.name, ct.name, c.name, cp.name, pol.name
            FROM service_ticket t LEFT JOIN core_user u ON u.id = t.owner_id LEFT JOIN core_team tm ON tm.id = t.team_id
            LEFT JOIN customers_account a ON a.id = t.account_id LEFT JOIN customers_contact ct ON ct.id = t.contact_id
            LEFT JOIN service_ticketcategory c ON c.id = t.category_id
            LEFT JOIN service_ticketcategory cp ON cp.id = c.parent_id
            LEFT JOIN service_slapolicy pol ON pol.id = t.sla_policy_id WHERE t.id = %(pk)s""", p),
        ("""SELECT m.*, u.display_name FROM service_ticketmessage m LEFT JOIN core_user u ON u.id = m.author_id
            WHERE m.ticket_id = %(pk)s ORDER BY m.created_at, m.id""", p),
        ("SELECT * FROM service_ticketattachment x WHERE x.ticket_id = %(pk)s ORDER BY x.created_at, x.id", p),
        ("""SELECT e.*, u.display_name FROM service_ticketevent e LEFT JOIN core_user u ON u.id = e.actor_id
            WHERE e.ticket_id = %(pk)s ORDER BY e.at, e.id""", p),
    ]


def sweep_sql(now):
    """The sweep's four selection queries (the partial indexes' conditions)."""
    out = []
    for m in MOMENTS:
        extra = " AND resolved_at IS NULL" if m.stop_field == "first_responded_at" else ""
        out.append((f"""SELECT id FROM service_ticket WHERE deleted_at IS NULL AND {m.stop_field} IS NULL
            AND {m.stamp_field} IS NULL{extra} AND {m.at_field} <= %(now)s ORDER BY {m.at_field} LIMIT {BATCH}""",
                    {"now": now}))
    return out


def analytics_sql(user, date_from, date_to, now):
    """The analytics' figures by hand: the KPI aggregate, per category, per week, CSAT, recurring problems,
    and the business-time durations (one aggregate over the stored minutes, ``durations_sql``)."""
    where, params = scope_filter(user)
    where = ("t.deleted_at IS NULL AND t.created_at >= %(from)s AND t.created_at < %(to)s" + where)
    params = {**params, "from": analytics.day_start(date_from),
              "to": analytics.day_start(date_to + datetime.timedelta(days=1)), "now": now,
              "open": list(OPEN_STATUSES), "done": ["resolved", "closed"], "tz": str(timezone.get_current_timezone())}
    kpi = f"""SELECT COUNT(*), COUNT(*) FILTER (WHERE status = ANY(%(open)s)),
          COUNT(*) FILTER (WHERE status = ANY(%(done)s)),
          COUNT(*) FILTER (WHERE first_response_breached_at IS NOT NULL OR resolution_breached_at IS NOT NULL),
          COUNT(*) FILTER (WHERE first_response_due IS NOT NULL AND (first_responded_at IS NOT NULL
                                                                    OR first_response_due < %(now)s)),
          COUNT(*) FILTER (WHERE first_responded_at <= first_response_due),
          COUNT(*) FILTER (WHERE resolution_due IS NOT NULL AND (resolved_at IS NOT NULL OR resolution_due < %(now)s)),
          COUNT(*) FILTER (WHERE resolved_at <= resolution_due),
          COUNT(*) FILTER (WHERE resolved_at IS NOT NULL OR reopened_count > 0),
          COUNT(*) FILTER (WHERE reopened_count > 0), COUNT(csat_score), AVG(csat_score)
        FROM service_ticket t WHERE {where}"""
    by_category = f"SELECT category_id, COUNT(*) FROM service_ticket t WHERE {where} GROUP BY 1"
    by_week = f"""SELECT date_trunc('week', created_at AT TIME ZONE %(tz)s), COUNT(*) FROM service_ticket t
        WHERE {where} GROUP BY 1 ORDER BY 1"""
    csat = f"SELECT csat_score, COUNT(*) FROM service_ticket t WHERE {where} AND csat_score IS NOT NULL GROUP BY 1"
    companies = f"""SELECT t.account_id, a.name, COUNT(*) AS n FROM service_ticket t
        JOIN customers_account a ON a.id = t.account_id WHERE {where}
        GROUP BY 1, 2 ORDER BY n DESC, a.name, 1 LIMIT 10"""
    per_company = f"""WITH top AS ({companies})
        SELECT t.account_id, t.product, t.category_id, COUNT(*) FROM service_ticket t
        WHERE {where} AND t.account_id IN (SELECT account_id FROM top) GROUP BY 1, 2, 3"""
    products = f"""SELECT product, COUNT(*) AS n FROM service_ticket t WHERE {where} AND product <> ''
        GROUP BY 1 ORDER BY n DESC, product LIMIT 10"""
    statements = [(sql, params) for sql in (kpi, by_category, by_week, csat, companies, per_company, products)]
    return statements + durations_sql(user, date_from, date_to)


def durations_sql(user, date_from, date_to):
    """durations() by hand over the stored business minutes (``Ticket.first_response_minutes``,
    ``resolution_minutes``): count, median and average per top-level category (the seeded tree has two
    levels) and overall (the ROLLUP row, ``GROUPING(...) = 1``) in one statement."""
    where, params = scope_filter(user)
    params = {**params, "from": analytics.day_start(date_from),
              "to": analytics.day_start(date_to + datetime.timedelta(days=1))}
    fr, res = "t.first_response_minutes", "t.resolution_minutes"
    sql = f"""SELECT GROUPING(COALESCE(c.parent_id, c.id)), COALESCE(c.parent_id, c.id),
          COUNT({fr}), percentile_cont(0.5) WITHIN GROUP (ORDER BY {fr}), AVG({fr}),
          COUNT({res}), percentile_cont(0.5) WITHIN GROUP (ORDER BY {res}), AVG({res})
        FROM service_ticket t LEFT JOIN service_ticketcategory c ON c.id = t.category_id
        WHERE t.deleted_at IS NULL AND t.created_at >= %(from)s AND t.created_at < %(to)s{where}
          AND ({fr} IS NOT NULL OR {res} IS NOT NULL)
        GROUP BY ROLLUP (COALESCE(c.parent_id, c.id))"""
    return [(sql, params)]


# -- before: durations walking the calendars (the implementation until the minutes were stored) -------

def calendar_specs(calendar_ids):
    """{calendar id: CalendarSpec} for the calendars used, and the default under None."""
    from django.db.models import Q

    wanted = {pk for pk in calendar_ids if pk}
    calendars = list(BusinessCalendar.objects.filter(Q(pk__in=wanted) | Q(is_default=True))
                     .order_by("-is_default", "id"))
    specs = {c.pk: calendar_spec(c) for c in calendars}
    default = next((c for c in calendars if c.is_default), calendars[0] if calendars else None)
    specs[None] = specs[default.pk] if default else None
    return specs


def durations_walk(qs, tree):
    """analytics.durations() as it was before Ticket.first_response_minutes / resolution_minutes: fetch
    the timestamps and walk the business calendar per ticket (``business_minutes_between``). Timed as the
    "before" in the same run, and checked to give the same figures as the stored minutes."""
    from django.db.models import Q

    rows = list(qs.filter(Q(first_responded_at__isnull=False) | Q(resolved_at__isnull=False))
                .values_list("category_id", "created_at", "first_responded_at", "resolved_at",
                             "sla_policy__calendar_id"))
    specs = calendar_specs(row[4] for row in rows)
    fr_all, res_all, per = [], [], {}
    for category_id, created, responded, resolved, calendar_id in rows:
        spec = specs.get(calendar_id) or specs.get(None)
        if spec is None:
            continue
        group = per.setdefault(tree.top(category_id) if category_id else None, ([], []))
        if responded:
            minutes = business_minutes_between(spec, created, responded)
            fr_all.append(minutes)
            group[0].append(minutes)
        if resolved:
            minutes = business_minutes_between(spec, created, resolved)
            res_all.append(minutes)
            group[1].append(minutes)
    by_category = [{"id": pk, "name": tree.label(pk) if pk else "", "first_response": analytics._summary(fr),
                    "resolution": analytics._summary(res)}
                   for pk, (fr, res) in sorted(per.items(), key=lambda kv: (kv[0] is None, tree.order(kv[0])))]
    return {"first_response": analytics._summary(fr_all), "resolution": analytics._summary(res_all),
            "by_category": by_category}


def same_durations(a, b):
    def flat(d):
        out = [d["first_response"], d["resolution"]]
        for c in d["by_category"]:
            out += [c["first_response"], c["resolution"]]
        return out
    for x, y in zip(flat(a), flat(b), strict=True):
        assert x["count"] == y["count"], (x, y)
        for k in ("median", "average"):
            assert (x[k] is None) == (y[k] is None) and (x[k] is None or abs(x[k] - y[k]) < 0.05), (k, x, y)


# -- timing --------------------------------------------------------------------------------------------

CLOCK = None


def timed(fn):
    cpu0 = CLOCK.now()
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000, (CLOCK.now() - cpu0) / 1e6


def get_ok(client, url, params=None, **headers):
    response = client.get(url, params or {}, **headers)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return response


def statements(fn):
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    return result, len(ctx.captured_queries), [(q["sql"], float(q["time"]) * 1000) for q in ctx.captured_queries]


def measure(fns, args, runs=None, warmup=None):
    runs, warmup = runs or args.runs, args.warmup if warmup is None else warmup
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            samples[name].append(timed(fn))
    return samples


def row(user, case, samples, **extra):
    return {"user": user, "case": case, **extra, "figures": summary(samples)}


def run_user(user, args, now, plans):
    client = Client()
    client.force_login(user)
    _token, raw_token = ApiToken.issue(user=user, name="bench")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {raw_token}"}
    rows = []
    visible = Ticket.objects.restrict(user, "view")
    print(f"\n[{user.username}] sees {visible.count():,} tickets ({visible.filter(status__in=OPEN_STATUSES).count():,}"
          f" open); load average {os.getloadavg()[0]:.1f}")
    if args.only in (None, "list"):
        list_url, api_url = reverse("service:ticket_list"), "/api/v1/tickets"
        api_params = {"is_open": "true", "ordering": "-created"}
        raw_list, raw_api = list_sql(user), list_sql(user, open_only=True, counts=True)
        out = run_sql(raw_list)
        page = get_ok(client, api_url, api_params, **bearer).json()
        api_out = run_sql(raw_api)
        first_ids = [r[0] for r in api_out[0][:PAGE]]
        items = page.get("items", page.get("results", []))
        assert [i["id"] for i in items] == first_ids, ([i["id"] for i in items][:5], first_ids[:5])
        _r, q_list, list_q = statements(lambda: get_ok(client, list_url))
        _r, q_api, api_q = statements(lambda: get_ok(client, api_url, api_params, **bearer))
        s = measure({"view": lambda: get_ok(client, list_url),
                     "api": lambda: get_ok(client, api_url, api_params, **bearer),
                     "sql": lambda: run_sql(raw_list), "sql_open": lambda: run_sql(raw_api)}, args)
        rows.append(row(user.username, "list first page", {"view": s["view"], "sql": s["sql"]},
                        n=out[1][0][0], q_view=q_list))
        rows.append(row(user.username, "API open, -created", {"view": s["api"], "sql": s["sql_open"]},
                        n=api_out[1][0][0], q_view=q_api))
        plans.append((user.username, "list", raw_list + raw_api, list_q + api_q))
    if args.only in (None, "detail"):
        ticket = (visible.annotate(n=Count("messages")).filter(n__gt=0).order_by("-created_at").first()
                  or visible.order_by("-created_at").first())
        url = reverse("service:ticket_detail", args=[ticket.pk])
        raw = detail_sql(ticket.pk)
        _r, q_view, view_q = statements(lambda: get_ok(client, url))
        s = measure({"view": lambda: get_ok(client, url), "sql": lambda: run_sql(raw)}, args)
        rows.append(row(user.username, "detail", s, n=TicketMessage.objects.filter(ticket=ticket).count(),
                        q_view=q_view))
        plans.append((user.username, "detail", raw, view_q))
    if args.only in (None, "analytics"):
        date_from, date_to = analytics.default_range()
        url = reverse("service:analytics")
        raw = analytics_sql(user, date_from, date_to, now)
        raw_durations = durations_sql(user, date_from, date_to)
        result, q_sel, sel_q = statements(lambda: analytics.service_analytics(user, date_from=date_from,
                                                                              date_to=date_to, now=now))
        out = run_sql(raw)
        assert result["total"] == out[0][0][0] and result["sla"]["first_response"]["met"] == out[0][0][5], \
            (result["total"], out[0][0])
        assert result["csat"]["rated"] == out[0][0][10]
        _r, q_view, _v = statements(lambda: get_ok(client, url))
        qs = analytics.tickets(user, date_from=date_from, date_to=date_to)
        tree = analytics.CategoryTree()
        stored = analytics.durations(qs, tree)
        # The stored minutes (seeded, or set by the services) agree with walking the calendar ...
        same_durations(stored, durations_walk(qs, tree))
        # ... and the SQL aggregate with the selector (overall: the ROLLUP row).
        total = next(r for r in out[-1] if r[0] == 1)
        for (n, median, avg), figures in ((total[2:5], stored["first_response"]), (total[5:8], stored["resolution"])):
            assert n == figures["count"] and (n == 0 or (abs(float(median) - figures["median"]) < 0.01
                                                        and abs(float(avg) - figures["average"]) < 0.01)), \
                (n, median, avg, figures)
        s = measure({
            "view": lambda: get_ok(client, url),
            "selector": lambda: analytics.service_analytics(user, date_from=date_from, date_to=date_to, now=now),
            "durations": lambda: analytics.durations(qs, tree),
            "durations_walk": lambda: durations_walk(qs, tree),
            "durations_sql": lambda: run_sql(raw_durations),
            "sql": lambda: run_sql(raw),
        }, args, runs=args.analytics_runs)
        rows.append(row(user.username, "analytics 90 days", s, n=result["total"], q_view=q_view, q_sel=q_sel,
                        measured=total[2] + total[5]))
        plans.append((user.username, "analytics", raw, sel_q))
    return rows


def due_count(now):
    """SLA moments of open tickets passed and not fired at `now` (all of them, not only a batch)."""
    total = 0
    with connection.cursor() as cursor:
        for sql, params in sweep_sql(now):
            cursor.execute(f"SELECT COUNT(*) FROM ({sql.rsplit(' LIMIT ', 1)[0]}) s", params)
            total += cursor.fetchone()[0]
    return total


def later_for(now, target=DUE_TARGET):
    """A moment after `now` at which about `target` SLA moments of open tickets have passed unfired."""
    lo, hi = 0.0, 24 * 30.0
    for _ in range(20):
        mid = (lo + hi) / 2
        if due_count(now + datetime.timedelta(hours=mid)) < target:
            lo = mid
        else:
            hi = mid
    return now + datetime.timedelta(hours=hi)


def swept(now):
    """One sweep inside a transaction that is rolled back: the database is left as it was."""
    with transaction.atomic():
        counts = sla_sweep(now=now)
        transaction.set_rollback(True)
    return counts


def run_sweep(args, now, plans):
    rows = []
    idle = swept(now)
    assert not any(idle.values()), f"something is due at now: {idle} (the data is not in its steady state)"
    raw = sweep_sql(now)
    _r, q_idle, idle_q = statements(lambda: sla_sweep(now=now))
    s = measure({"view": lambda: sla_sweep(now=now), "sql": lambda: run_sql(raw)}, args)
    rows.append(row("—", "sweep, nothing due", s, n=0, q_view=q_idle))
    plans.append(("—", "sweep idle", raw, idle_q))
    later = later_for(now)
    raw_due = sweep_sql(later)
    due = [len(r) for r in run_sql(raw_due)]
    total = due_count(later)
    counts, q_due, due_q = statements(lambda: swept(later))
    print(f"\nsweep at now + {(later - now).total_seconds() / 3600:.1f} h: {total} moments due, handled per moment "
          f"(≤ {BATCH}) {due}, fired {counts}, {q_due} statements")
    s = measure({"view": lambda: swept(later), "sql": lambda: run_sql(raw_due)}, args, runs=args.sweep_runs,
                warmup=0)
    rows.append(row("—", f"sweep, {total} due", s, n=sum(counts.values()), q_view=q_due, handled=sum(due)))
    plans.append(("—", "sweep due", raw_due, due_q))
    return rows


def print_rows(rows):
    header = (f"{'user':<10} {'case':<22} {'n':>7} {'q/req':>6} | {'p50':>8} {'p95':>8} {'cpu':>8} {'cpu95':>8} | "
              f"{'SQL p50':>7} {'p95':>6} {'cpu':>6} | {'×SQL':>5} {'cpu':>5} | other (p50 / cpu ms)")
    print("\n" + header + "\n" + "-" * len(header))
    for r in rows:
        f = r["figures"]
        v, q = f["view"], f["sql"]
        others = "  ".join(f"{k} {x['p50']:.1f} / {x['cpu50']:.1f}" for k, x in f.items() if k not in ("view", "sql"))
        if r.get("q_sel"):
            others += f"  q/sel {r['q_sel']}"
        print(f"{r['user']:<10} {r['case']:<22} {r['n']:>7,} {r['q_view']:>6} | {v['p50']:8.1f} {v['p95']:8.1f} "
              f"{v['cpu50']:8.1f} {v['cpu95']:8.1f} | {q['p50']:7.1f} {q['p95']:6.1f} {q['cpu50']:6.1f} | "
              f"{v['p50'] / q['p50']:5.1f} {v['cpu50'] / max(q['cpu50'], 0.01):5.1f} | {others}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, nargs="?", const=100_000, help="load this many tickets first")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--analytics-runs", type=int, default=20)
    parser.add_argument("--sweep-runs", type=int, default=3)
    parser.add_argument("--users", default="agent,supervisor,admin")
    parser.add_argument("--only", choices=["list", "detail", "analytics", "sweep"])
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.seed:
        seed(args.seed)
        return
    global CLOCK
    CLOCK = CpuClock()
    now = timezone.now()
    names = args.users.split(",")
    users = sorted(get_user_model().objects.filter(username__in=names), key=lambda u: names.index(u.username))
    print(f"{connection.vendor} {connection.settings_dict['NAME']}: {Ticket.all_objects.count():,} tickets "
          f"({Ticket.objects.filter(status__in=OPEN_STATUSES).count():,} open), {TicketEvent.objects.count():,} "
          f"events; {args.runs} runs after {args.warmup} warm-ups (analytics {args.analytics_runs}); ms; "
          f"load average {os.getloadavg()[0]:.1f}")
    rows, plans = [], []
    try:
        for user in users:
            rows += run_user(user, args, now, plans)
        if args.only in (None, "sweep"):
            rows += run_sweep(args, now, plans)
    finally:
        ApiToken.objects.filter(name="bench").delete()
    print_rows(rows)
    print("\nview = the page / API / sla_sweep() as called; SQL = the same by hand through a cursor; "
          "q/req = statements; p50/p95 = wall clock; cpu = CPU time of this process + its PostgreSQL backend "
          "(median; cpu95 its p95);"
          f" × = ratio of medians. Load average at the end {os.getloadavg()[0]:.1f}.")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows}, ensure_ascii=False, indent=1, default=str))
    if args.explain:
        for username, label, raw, captured in plans:
            for sql, params in raw:
                print(f"\n== {username} {label} [raw]\n  {' '.join(sql.split())[:300]}\n{explain(sql, params)}")
            slow = sorted(captured, key=lambda q: -q[1])[:2]
            for sql, ms in slow:
                if sql.startswith("SELECT"):
                    print(f"\n== {username} {label} [captured, {ms:.1f} ms]\n  {sql[:400]}\n{explain(sql)}")


if __name__ == "__main__":
    main()
