"""Unified timeline benchmark: one page of a company's timeline (plus its follow-up figures) per user,
against the same page read through Interaction.objects.restrict() (the row filter of the access rules).

Never run as a test. ``--seed`` first fills an empty database with SQL (no ORM): 200k companies and 300k
contacts owned by manager/rep1/rep2/rep3 in turn, one company per contact, 1M interactions spread over
them (a third filed under a contact only), and company 42 with 5,000 more. Then, for rep1 (scope own),
manager (subtree) and admin (superuser), it times N runs of:

- ``page``: timeline_page() + follow_up() for company 42 (41 for rep1, which owns it) as the page does:
  every source, labels, participants (median wall-clock ms and queries per run);
- ``restrict``: the first page of the same interactions through restrict() (what the timeline did before
  reading filed-under rows directly), for the ratio.

Usage (PostgreSQL, own database on the shared server)::

    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE guanxi_bench_tl"
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/guanxi_bench_tl
    .venv/bin/python manage.py migrate
    .venv/bin/python -W ignore bench/timeline.py --seed
    unset DATABASE_URL; psql -h 127.0.0.1 -U postgres -c "DROP DATABASE guanxi_bench_tl"

Measured on the development machine (2 cores shared with other work, PostgreSQL 15, warm cache): the whole
page (10-12 queries) 16 / 29 / 27 ms for rep1 / manager / admin; the restrict() reference for the
interaction query alone 7 / 252 / 200 ms (cold, with parallel workers: up to 0.9 s / 2 s).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

SEED_SQL = """
INSERT INTO customers_account (id, created_at, updated_at, version, custom, country, province, city, district,
  street, name, credit_code, industry, size, website, phone, lifecycle_stage, source, description, owner_id)
SELECT g, now(), now(), 1, '{}', 'CN', '', '上海市', '', '', '公司' || g, '', 'internet', '', '', '', 'prospect', '',
  '', %(owners)s[1 + g %% 4] FROM generate_series(1, 200000) g;
INSERT INTO customers_contact (id, created_at, updated_at, version, custom, country, province, city, district,
  street, name, title, department, mobile, phone, email, wechat, owner_id)
SELECT g, now(), now(), 1, '{}', 'CN', '', '', '', '', '联系人' || g, '', '', '', '', '', '', %(owners)s[1 + g %% 4]
FROM generate_series(1, 300000) g;
INSERT INTO customers_accountcontact (role, is_primary, account_id, contact_id)
SELECT '', false, 1 + (g %% 200000), g FROM generate_series(1, 300000) g;
INSERT INTO activities_interaction (created_at, updated_at, version, custom, kind, direction, subject, content,
  occurred_at, outcome, next_step, message_id, in_reply_to, thread_key, email_from, email_to, account_id,
  contact_id, owner_id)
SELECT now(), now(), 1, '{}', (ARRAY['call','meeting','visit','note','email'])[1 + g %% 5], '', '第' || g || '次',
  '内容', now() - (g || ' minutes')::interval, '', '', '', '', '', '', '',
  CASE WHEN g %% 3 = 0 THEN NULL ELSE 1 + (g * 7 %% 200000) END,
  CASE WHEN g %% 3 = 0 THEN 1 + (g * 11 %% 300000) ELSE NULL END, %(owners)s[1 + g %% 4]
FROM generate_series(1, 1000000) g;
INSERT INTO activities_interaction (created_at, updated_at, version, custom, kind, direction, subject, content,
  occurred_at, outcome, next_step, message_id, in_reply_to, thread_key, email_from, email_to, account_id, owner_id)
SELECT now(), now(), 1, '{}', 'call', '', 'big' || g, '', now() - (g || ' hours')::interval, '', '', '', '', '', '',
  '', 42, %(owners)s[1] FROM generate_series(1, 5000) g;
SELECT setval(pg_get_serial_sequence('customers_account', 'id'), 200001);
SELECT setval(pg_get_serial_sequence('customers_contact', 'id'), 300001);
"""


def seed():
    from guanxi.customers.demo import seed_users

    users = seed_users()
    owners = [users[u].pk for u in ("manager", "rep1", "rep2", "rep3")]
    with connection.cursor() as cursor:
        cursor.execute(SEED_SQL, {"owners": owners})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def timed(fn, runs):
    times, queries = [], 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
        queries = len(ctx.captured_queries)
    return statistics.median(times), queries


def main():
    from guanxi.activities.models import Interaction
    from guanxi.activities.selectors import follow_up, interactions_about
    from guanxi.activities.timeline import context_for, timeline_page
    from guanxi.core.models import User
    from guanxi.customers.models import Account

    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", action="store_true")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if args.seed:
        seed()
    print(f"{'user':8} {'company':>7} {'page ms':>8} {'q/run':>5} {'restrict ms':>11} {'ratio':>6}")
    for username in ("rep1", "manager", "admin"):
        user = User.objects.get(username=username)
        account = Account.objects.restrict(user, "view").filter(pk__in=[42, 41]).order_by("-pk").first()
        if username == "rep1":
            account = Account.objects.restrict(user, "view").get(pk=41)

        def page(user=user, account=account):
            ctx = context_for(account, user)
            timeline_page(account, user, context=ctx)
            follow_up(user, ctx.targets)

        def reference(user=user, account=account):
            targets = context_for(account, user).targets
            list(Interaction.objects.restrict(user, "view").filter(interactions_about(targets))
                 .order_by("-occurred_at", "-id")[:21])

        page()
        ms, queries = timed(page, args.runs)
        ref_ms, _q = timed(reference, max(3, args.runs // 2))
        print(f"{username:8} {account.pk:>7} {ms:>8.1f} {queries:>5} {ref_ms:>11.1f} {ref_ms / ms:>6.1f}")


if __name__ == "__main__":
    main()
