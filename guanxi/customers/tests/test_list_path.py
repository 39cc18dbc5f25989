"""The API list's lean path (docs/performance.md): same answers, fewer statements.

- the FilterSet builds only the filters a request names (custom-field definitions only for `cf_`);
- a page with fewer rows than `limit` carries its own total, so no count query runs;
- the table-size estimate is only shown for a list that nothing narrows, not even the user's scope.
"""

import copy
import pickle

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from guanxi.core.models import CustomField
from guanxi.customers.filtersets import ContactFilterSet
from guanxi.customers.models import Contact

from .factories import ContactFactory

URL = "/api/v1/contacts"


def run(api, **params):
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(URL, **params)
    assert response.status_code == 200, response.content
    return response.json(), [q["sql"] for q in ctx.captured_queries]


def counts(sqls):
    return [s for s in sqls if "COUNT(" in s.upper()]


@pytest.fixture
def three(rep1):
    return [ContactFactory(name=f"张三{i}", owner=rep1) for i in range(3)]


def test_page_not_full_needs_no_count_query(api, three):
    body, sqls = run(api, limit=25)
    assert (body["count"], body["count_exact"], len(body["items"])) == (3, True, 3)
    assert counts(sqls) == []


def test_full_page_counts(api, three):
    body, sqls = run(api, limit=2)
    assert (body["count"], body["count_exact"], len(body["items"])) == (3, True, 2)
    assert len(counts(sqls)) == 1


def test_last_partial_page_total_is_offset_plus_rows(api, three):
    body, sqls = run(api, limit=2, offset=2)
    assert (body["count"], body["count_exact"], len(body["items"])) == (3, True, 1)
    assert counts(sqls) == []


def test_page_past_the_end_still_counts(api, three):
    body, sqls = run(api, limit=2, offset=10)
    assert (body["count"], body["count_exact"], body["items"]) == (3, True, [])
    assert len(counts(sqls)) == 1


def test_empty_result(api, three):
    body, sqls = run(api, q="没有这个人")
    assert (body["count"], body["count_exact"], body["items"]) == (0, True, [])
    assert counts(sqls) == []


def test_total_beyond_the_exact_limit_is_not_claimed_exact(api, three, settings):
    settings.GUANXI_EXACT_COUNT_LIMIT = 2
    body, _sqls = run(api, limit=25)
    assert (body["count"], body["count_exact"], len(body["items"])) == (2, False, 3)


def test_restricted_list_never_shows_the_table_estimate(api, client_for, users, settings):
    """rep1 sees their own 4 of 12 contacts: "3+", not an estimate of the whole table (PostgreSQL)."""
    settings.GUANXI_EXACT_COUNT_LIMIT = 3
    for owner in ("rep1", "rep2", "manager"):
        for i in range(4):
            ContactFactory(name=f"{owner}{i}", owner=users[owner])
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{Contact._meta.db_table}"')  # the estimate is read from the statistics
    body, sqls = run(api, limit=2)
    assert (body["count"], body["count_exact"]) == (3, False)
    assert not any("pg_class" in s for s in sqls)
    # The UI list uses the same counting.
    page = client_for("rep1").get("/contacts/")
    assert str(page.context["count"]) == "3+"

    from guanxi.core.models import ApiToken

    _token, raw = ApiToken.issue(user=users["admin"], name="tests")
    admin_body = client_for("admin").get(URL, {"limit": 2}, HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert admin_body["count_exact"] is False
    if connection.vendor == "postgresql":
        assert admin_body["count"] >= 12  # the superuser's list is the whole table: the estimate stands
    else:
        assert admin_body["count"] == 3


def test_filterset_builds_only_the_named_filters(db):
    CustomField.objects.create(record_type="customers.contact", name="grade", label_zh="等级", label_en="Grade",
                               field_type="choice", choices=["A", "B"])
    everything = ContactFilterSet(QueryDict("city=上海市"))
    assert {"q", "city", "owner", "cf_grade"} <= set(everything.filters)

    given = ContactFilterSet(QueryDict("city=上海市&limit=5"), only_given=True)
    assert set(given.filters) == {"city"}
    assert given.custom_definitions == []

    with_cf = ContactFilterSet(QueryDict("cf_grade=A&created_after=2024-01-01"), only_given=True)
    assert set(with_cf.filters) == {"cf_grade", "created_after"}
    assert [d.name for d in with_cf.custom_definitions] == ["grade"]


def test_api_custom_field_filter_and_bad_values(api, rep1):
    CustomField.objects.create(record_type="customers.contact", name="grade", label_zh="等级", label_en="Grade",
                               field_type="choice", choices=["A", "B"])
    a = ContactFactory(name="甲", owner=rep1, custom={"grade": "A"})
    ContactFactory(name="乙", owner=rep1, custom={"grade": "B"})
    body, sqls = run(api, cf_grade="A")
    assert [i["id"] for i in body["items"]] == [a.pk]
    bad = api.get(URL, cf_grade="Z")
    assert bad.status_code == 400 and "cf_grade" in bad.json()["errors"]
    bad = api.get(URL, created_after="not-a-date")
    assert bad.status_code == 400 and "created_after" in bad.json()["errors"]
    # Without a cf_ parameter the definitions are not read at all.
    _body, sqls = run(api, city="上海市")
    assert not any("core_customfield" in s for s in sqls)


def _statements_reading(sqls, column):
    """Statements that select `column` ('"table"."name"'), the token look-up (which loads its user) aside."""
    return [s for s in sqls if column in s.split(" FROM ")[0] and '"core_apitoken"' not in s]


def test_api_reads_no_owner_or_company_rows_and_stays_flat(api, rep1):
    """The API shows owner and company ids: it joins no user row and loads no company row (the UI list,
    which shows their names, does), and its statements do not grow with the page."""
    from .factories import AccountFactory

    acme, other = AccountFactory(name="Acme"), AccountFactory(name="Beta")
    first = ContactFactory(name="李雷", owner=rep1, tags=["VIP"], companies=[(acme, "采购"), other])
    body, sqls = run(api, limit=25, ordering="name")
    assert body["items"][0]["owner"] == rep1.pk
    assert body["items"][0]["tags"] == ["VIP"]
    assert sorted(a["account"] for a in body["items"][0]["accounts"]) == sorted([acme.pk, other.pk])
    assert {"account": acme.pk, "role": "采购"} in body["items"][0]["accounts"]
    assert _statements_reading(sqls, '"core_user"."username"') == []
    assert _statements_reading(sqls, '"customers_account"."name"') == []
    for i in range(5):
        ContactFactory(name=f"韩梅梅{i}", owner=rep1, tags=[f"t{i}"], companies=[AccountFactory()])
    body_more, sqls_more = run(api, limit=25, ordering="name")
    reads = [q for q in sqls if q.startswith("SELECT")]  # the first request also stamps the token's last use
    assert len(body_more["items"]) == 6 and len([q for q in sqls_more if q.startswith("SELECT")]) == len(reads)

    detail = api.get(f"{URL}/{first.pk}")
    assert detail.status_code == 200 and detail.json()["accounts"] == body["items"][0]["accounts"]


def test_api_account_reads_no_owner_or_parent_rows(api, rep1):
    from .factories import AccountFactory

    parent = AccountFactory(name="集团总部", owner=rep1)
    AccountFactory(name="集团子公司", owner=rep1, parent=parent)
    with CaptureQueriesContext(connection) as ctx:
        response = api.get("/api/v1/accounts", ordering="name")
    assert response.status_code == 200
    child = next(a for a in response.json()["items"] if a["name"] == "集团子公司")
    assert (child["parent"], child["owner"]) == (parent.pk, rep1.pk)
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert _statements_reading(sqls, '"core_user"."username"') == []
    page = [s for s in sqls if s.startswith('SELECT "customers_account"."id", ')]
    assert len(page) == 1 and "JOIN" not in page[0]


def test_loaded_rows_are_read_without_queries_and_fall_back_to_one(rep1, django_assert_num_queries):
    from guanxi.framework.related import ManyToManyRows, related_rows, tag_names

    ContactFactory(name="甲", owner=rep1, tags=["VIP", "华东"])
    ContactFactory(name="乙", owner=rep1)
    with django_assert_num_queries(2):  # the contacts and their tags
        contacts = list(Contact.objects.order_by("pk").load_rows(ManyToManyRows("tags")))
    with django_assert_num_queries(0):
        assert [tag_names(c) for c in contacts] == [["VIP", "华东"], []]
    plain = Contact.objects.get(name="甲")
    with django_assert_num_queries(1):  # nothing loaded: one query, as obj.tags.all() would
        assert sorted(t.name for t in related_rows(plain, "tags")) == ["VIP", "华东"]


def test_many_to_many_rows_are_what_django_prefetches_for_every_page_size(rep1, django_assert_num_queries):
    from django.db.models import Prefetch

    from guanxi.core.models import Tag
    from guanxi.framework.related import ManyToManyRows, _many_to_many_query

    names = ["VIP", "华东", "Alpha", "alpha", "重点", "b"]
    for i in range(7):
        ContactFactory(name=f"联系人{i}", owner=rep1, tags=names[i % 3: i % 3 + i % 4])
    Tag.objects.create(name="unused")
    loader = ManyToManyRows("tags")
    _many_to_many_query.cache_clear()
    everyone = list(Contact.objects.order_by("pk").values_list("pk", flat=True))
    for size in (1, 2, 7, 2):  # a size seen before reuses its compiled statement
        page = Contact.objects.filter(pk__in=everyone[:size]).order_by("-pk")
        expected = {c.pk: list(c.tags_rows) for c in page.prefetch_related(Prefetch("tags", to_attr="tags_rows"))}
        with django_assert_num_queries(2):
            loaded = list(page.load_rows(loader))
        assert {c.pk: c.tags_rows for c in loaded} == expected  # same tags, same (name) order
        assert all(t.name == e.name and t.color == e.color
                   for c in loaded for t, e in zip(c.tags_rows, expected[c.pk], strict=True))
    assert _many_to_many_query.cache_info().currsize == 3  # sizes 1, 2 and 7
    # One read per fetch, none for rows that are not model instances or were already read.
    with django_assert_num_queries(1):
        assert len(list(Contact.objects.load_rows(loader).values_list("pk", flat=True))) == 7
    page = Contact.objects.order_by("pk").load_rows(loader)
    with django_assert_num_queries(2):
        list(page)
        list(page)
    expected = list(Contact.objects.get(pk=everyone[1]).tags.all())
    with django_assert_num_queries(2):  # get() reads its record, then its tags
        assert page.get(pk=everyone[1]).tags_rows == expected
    # Copied querysets keep their loaders; pickling one reads it, loaded rows included.
    copied = copy.deepcopy(page.filter(pk=everyone[1]))
    with django_assert_num_queries(2):
        assert [c.tags_rows for c in copied] == [expected]
    pickled = pickle.dumps(page.filter(pk=everyone[1]))
    with django_assert_num_queries(0):
        assert [c.tags_rows for c in pickle.loads(pickled)] == [expected]


def test_openapi_documents_the_custom_field_filters_and_an_unknown_one_filters_nothing(api, three, client):
    operations = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/contacts", "/api/v1/accounts"):
        description = operations[path]["get"]["description"]
        assert "`cf_<name>_min`" in description and "`cf_<name>_from`" in description, path
    body, _sqls = run(api, cf_nothing_like_this="x")
    assert body["count"] == 3
