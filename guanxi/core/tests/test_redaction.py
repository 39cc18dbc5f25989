"""Links to records the viewer may not see are shown empty: in lists, detail pages, exports and the API."""

import pytest
from django.test import Client
from django.urls import reverse

from guanxi.activities.tests.factories import InteractionFactory
from guanxi.core.models import ApiToken
from guanxi.customers.models import AccountContact
from guanxi.customers.tests.factories import AccountFactory, ContactFactory
from guanxi.framework.testing import export_rows

pytestmark = pytest.mark.django_db

SECRET = "华南机密集团有限公司"


@pytest.fixture
def world(users):
    hidden = AccountFactory(owner=users["rep3"], name=SECRET)
    mine = AccountFactory(owner=users["rep1"], name="我的公司")
    contact = ContactFactory(owner=users["rep1"], name="林一")
    AccountContact.objects.create(account=hidden, contact=contact)
    AccountContact.objects.create(account=mine, contact=contact)
    child = AccountFactory(owner=users["rep1"], name="子公司", parent=hidden)
    call = InteractionFactory(owner=users["rep3"], account=hidden, contact=contact, subject="报价沟通")
    return {"hidden": hidden, "contact": contact, "child": child, "call": call}


def client(user):
    c = Client()
    c.force_login(user)
    return c


def test_ui_lists_and_pages_do_not_name_hidden_companies(users, world):
    rep1 = client(users["rep1"])
    pages = [
        rep1.get(reverse("customers:contact_list"), {"cols": ["name", "companies"]}),
        rep1.get(world["contact"].get_absolute_url()),
        rep1.get(reverse("customers:account_list"), {"cols": ["name", "parent"]}),
        rep1.get(world["child"].get_absolute_url()),
        rep1.get(reverse("activities:interaction_list"), {"cols": ["occurred_at", "subject", "account", "contact"]}),
        rep1.get(world["call"].get_absolute_url()),
    ]
    for response in pages:
        assert response.status_code == 200
        assert SECRET not in response.content.decode(), response.request["PATH_INFO"]
    # The manager of rep3's region would see it; rep1's manager does not either.
    assert "报价沟通" in pages[4].content.decode()  # the interaction itself is visible through the contact


def test_api_and_export_do_not_name_or_number_hidden_companies(users, world, client_for):
    _t, raw = ApiToken.issue(user=users["rep1"], name="t")
    api = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    call = api.get(f"/api/v1/interactions/{world['call'].pk}", **headers).json()
    assert call["account"] is None and call["contact"] == world["contact"].pk
    contact = api.get(f"/api/v1/contacts/{world['contact'].pk}", **headers).json()
    assert [m["account"] for m in contact["accounts"]] != [] and world["hidden"].pk not in [
        m["account"] for m in contact["accounts"]]
    child = api.get(f"/api/v1/accounts/{world['child'].pk}", **headers).json()
    assert child["parent"] is None
    manager = client_for("manager")
    for path in (reverse("customers:contact_export"), reverse("customers:account_export")):
        rows = export_rows(manager.get(path, {"format": "csv", "cols": ["name", "companies", "parent"]}), "csv")
        assert SECRET not in str(rows)
    # Someone who may see it still does.
    admin = client(users["admin"])
    assert SECRET in admin.get(world["child"].get_absolute_url()).content.decode()


def test_shared_company_shows_and_all_shares_are_read_once(users, world, api_for):
    """A company shared with rep1 is no longer hidden on rep1's contact; the shares of every record type a
    request restricts (contacts, then the contacts' companies) come from one statement."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from guanxi.core.models import RecordShare

    other = ContactFactory(owner=users["rep3"], name="共享联系人")
    RecordShare.objects.create(record_type="customers.contact", record_id=other.pk, user=users["rep1"])
    RecordShare.objects.create(record_type="customers.account", record_id=world["hidden"].pk, user=users["rep1"])
    api = api_for("rep1")
    with CaptureQueriesContext(connection) as ctx:
        body = api.get("/api/v1/contacts", ordering="name").json()
    by_name = {c["name"]: c for c in body["items"]}
    assert set(by_name) == {"林一", "共享联系人"}
    assert world["hidden"].pk in [m["account"] for m in by_name["林一"]["accounts"]]
    share_reads = [q["sql"] for q in ctx.captured_queries if 'FROM "core_recordshare"' in q["sql"]]
    assert len(share_reads) == 1, share_reads


def test_unowned_company_in_my_pool_shows_on_my_contact(users, world, api_for):
    """The API's prefetch checks the companies' pools in the same statement: a company without an owner
    in a pool rep1 belongs to (directly or through their team) shows, one in another pool does not."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from guanxi.customers.models import Pool

    mine, theirs = Pool.objects.create(name="华东公海"), Pool.objects.create(name="华南公海")
    mine.members.add(users["rep1"])
    theirs.members.add(users["rep3"])
    in_mine = AccountFactory(owner=None, pool=mine, name="公海甲")
    in_theirs = AccountFactory(owner=None, pool=theirs, name="公海乙")
    for account in (in_mine, in_theirs):
        AccountContact.objects.create(account=account, contact=world["contact"])
    api = api_for("rep1")
    with CaptureQueriesContext(connection) as ctx:
        item = api.get("/api/v1/contacts", q="林一").json()["items"][0]
    shown = {m["account"] for m in item["accounts"]}
    assert in_mine.pk in shown and in_theirs.pk not in shown and world["hidden"].pk not in shown
    assert not [q for q in ctx.captured_queries if q["sql"].startswith('SELECT "customers_pool"')]
    # Through the team: rep2 is in rep1's team (demo organisation); the pool names the team instead.
    mine.members.clear()
    mine.member_teams.add(users["rep1"].team)
    item = api_for("rep1").get("/api/v1/contacts", q="林一").json()["items"][0]
    assert in_mine.pk in {m["account"] for m in item["accounts"]}
    mine.is_active = False
    mine.save()
    item = api_for("rep1").get("/api/v1/contacts", q="林一").json()["items"][0]
    assert in_mine.pk not in {m["account"] for m in item["accounts"]}


def test_a_contacts_companies_follow_shares_and_the_viewer_while_compiled_once(users, world, api_for):
    """The API reads a contact's visible companies with a statement compiled once per viewer's filter and
    page size (framework.related.FilteredRows): a new or revoked share, another viewer, another page size
    each get the companies that viewer may see now."""
    from guanxi.core.models import RecordShare
    from guanxi.framework.related import _filtered_rows_query

    url = f"/api/v1/contacts/{world['contact'].pk}"
    rep1, manager = api_for("rep1"), api_for("manager")

    def companies(api, path=url, **params):
        body = api.get(path, **params).json()
        item = body["items"][0] if "items" in body else body
        return {m["account"] for m in item["accounts"]}

    mine = AccountContact.objects.get(contact=world["contact"], account__name="我的公司").account_id
    hidden = world["hidden"].pk
    assert companies(rep1) == {mine}
    hits = _filtered_rows_query.cache_info().hits
    assert companies(rep1) == {mine}
    assert _filtered_rows_query.cache_info().hits == hits + 1  # the same viewer's filter: compiled before
    share = RecordShare.objects.create(record_type="customers.account", record_id=hidden, user=users["rep1"])
    assert companies(rep1) == {mine, hidden}
    assert companies(rep1, "/api/v1/contacts", q="林一") == {mine, hidden}
    share.delete()
    assert companies(rep1) == {mine}
    assert companies(rep1, "/api/v1/contacts", q="林一") == {mine}
    # Another viewer, another filter: rep1's manager sees rep1's company, not that of rep3 (another region).
    assert companies(manager) == {mine}
    world["hidden"].owner = users["rep2"]  # in the manager's team
    world["hidden"].save()
    assert companies(manager) == {mine, hidden}
    assert companies(rep1) == {mine}


def test_a_role_that_sees_contacts_but_no_companies_gets_contacts_without_companies(users, world, api_for):
    """The companies' filter is then "nothing": no statement can express it, and none runs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from guanxi.core.models import RolePermission

    RolePermission.objects.filter(role=users["rep1"].role, record_type="customers.account").delete()
    api = api_for("rep1")
    with CaptureQueriesContext(connection) as ctx:
        listed = api.get("/api/v1/contacts", q="林一")
    assert listed.status_code == 200, listed.content
    assert listed.json()["items"][0]["accounts"] == []
    assert not [q for q in ctx.captured_queries if 'FROM "customers_accountcontact"' in q["sql"]]
    detail = api.get(f"/api/v1/contacts/{world['contact'].pk}")
    assert detail.status_code == 200 and detail.json()["accounts"] == []
    changed = api.patch(f"/api/v1/contacts/{world['contact'].pk}", {"title": "采购经理", "version": 1})
    assert changed.status_code == 200, changed.content
    assert changed.json()["accounts"] == [] and changed.json()["title"] == "采购经理"


def test_iterating_a_loaded_queryset_in_chunks_reads_only_visible_companies(users, world):
    """iterator() reads records a chunk at a time and runs the loaders per chunk, as Django's prefetch does:
    no path reads a contact without the filter on its companies (related_rows would fall back to all)."""
    from guanxi.customers.records import CONTACT
    from guanxi.framework.related import related_rows

    extra = [ContactFactory(owner=users["rep1"], name=f"林{i}") for i in range(3)]
    AccountContact.objects.create(account=world["hidden"], contact=extra[1])
    queryset = CONTACT.base_queryset(users["rep1"], api=True).order_by("pk")
    seen = {c.pk: {m.account_id for m in related_rows(c, "memberships")} for c in queryset.iterator(chunk_size=2)}
    assert world["hidden"].pk not in set().union(*seen.values())
    assert seen[world["contact"].pk] and seen[extra[1].pk] == set()
    assert {c.pk for c in queryset} == set(seen)
