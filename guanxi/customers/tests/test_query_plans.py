"""Query plans of the contact list's exact-match searches, on SQLite and PostgreSQL.

Most contacts have no `phone` (and many no email). An index over every row is then mostly the empty
string, and once SQLite has statistics it answers `mobile = ? OR phone = ?` by walking the whole table
(1.5 s at 1M contacts, docs/performance.md). The phone and email indexes are partial (`<> ''`) and the
filters state the same condition; these tests build that data shape, gather statistics and read the
plan of the request's own page query.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.customers.models import Contact

TABLE = Contact._meta.db_table
PHONE = "+862161234567"  # a Shanghai landline, typed as 021 6123 4567
EMAIL = "wang.xiaoming@example.com"


@pytest.fixture
def mostly_blank(users):
    """3,000 contacts with a mobile each, no phone and no email, a third of them rep1's; one with all three."""
    owners = [users["rep1"], users["rep2"], users["manager"]]
    Contact.objects.bulk_create(
        [Contact(name=f"联系人{i:04d}", mobile=f"+86139{i:08d}", owner=owners[i % 3]) for i in range(3000)],
        batch_size=500,
    )
    target = Contact.objects.create(name="王小明", mobile="+8613800001111", phone=PHONE, email=EMAIL,
                                    owner=users["rep1"])
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{TABLE}"')
    return target


def page_query_plan(api, **params):
    """(response, plan text) of the API list request's page query."""
    with CaptureQueriesContext(connection) as ctx:
        response = api.get("/api/v1/contacts", **params)
    assert response.status_code == 200, response.content
    pages = [q["sql"] for q in ctx.captured_queries
             if q["sql"].startswith("SELECT") and f'FROM "{TABLE}"' in q["sql"] and "LIMIT" in q["sql"]
             and "COUNT(" not in q["sql"]]
    assert len(pages) == 1, ctx.captured_queries
    with connection.cursor() as cursor:
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        cursor.execute(prefix + pages[0])
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    return response, plan


@pytest.mark.parametrize("q", ["021 6123 4567", "+86 21 6123 4567"])
def test_phone_search_uses_the_partial_phone_index(api, mostly_blank, q):
    response, plan = page_query_plan(api, q=q)
    assert [item["id"] for item in response.json()["items"]] == [mostly_blank.pk]
    assert "contact_phone_idx" in plan, plan
    assert "contact_mobile_idx" in plan, plan


def test_mobile_filter_uses_both_indexes(api, mostly_blank):
    response, plan = page_query_plan(api, mobile="021-61234567")
    assert [item["id"] for item in response.json()["items"]] == [mostly_blank.pk]
    assert "contact_phone_idx" in plan and "contact_mobile_idx" in plan, plan


@pytest.mark.parametrize("params", [{"q": EMAIL.upper()}, {"email": f"  {EMAIL} "}])
def test_email_search_and_filter_use_the_partial_email_index(api, mostly_blank, params):
    response, plan = page_query_plan(api, **params)
    assert [item["id"] for item in response.json()["items"]] == [mostly_blank.pk]
    assert "contact_email_idx" in plan, plan


def test_partial_indexes_leave_out_blank_values(mostly_blank):
    """The index definitions themselves: blank phones and emails are not indexed, on either database."""
    for name in ("contact_phone_idx", "contact_email_idx"):
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s", [name])
            else:
                cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
            definition = cursor.fetchone()[0]
        assert "WHERE" in definition.upper() and "''" in definition, definition



def test_contact_name_has_finer_statistics_on_postgresql(db):
    """Migration 0007: 1,000 statistics entries for contact names, so that LIKE estimates stay realistic."""
    if connection.vendor != "postgresql":
        pytest.skip("statistics targets are a PostgreSQL planner setting")
    with connection.cursor() as cursor:
        cursor.execute("SELECT attstattarget FROM pg_attribute "
                       "WHERE attrelid = 'customers_contact'::regclass AND attname = 'name'")
        assert cursor.fetchone()[0] == 1000
