"""Customer pool (公海): claim with quota and cooldown, return, put, the reclaim job with injected time,
access (members see unowned pool records, view only), the pages and the API."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from guanxi.activities.models import Interaction
from guanxi.core.choices import AuditAction
from guanxi.core.models import AuditEvent, Notification, TimelineEvent
from guanxi.core.roles import ensure_default_roles
from guanxi.customers.choices import PoolEventKind
from guanxi.customers.models import Account, Pool, PoolEvent
from guanxi.customers.pool_services import (
    PoolError,
    claimed_count,
    pool_claim,
    pool_put,
    pool_reclaim_due,
    pool_return,
    pool_save,
)
from guanxi.sales.models import Lead, Opportunity, Pipeline, Stage

from .factories import AccountFactory

T0 = datetime.datetime(2030, 3, 1, 2, 0, tzinfo=datetime.UTC)


def days(n):
    return datetime.timedelta(days=n)


@pytest.fixture
def pool(users):
    ensure_default_roles(["sales.lead"])  # the lead record type may not be registered in every checkout
    p = Pool.objects.create(name="华东公海", claim_quota=2, reclaim_days=30, cooldown_days=7,
                            provinces="上海市, 浙江省")
    p.member_teams.add(users["rep1"].team)  # rep1, rep2, manager (华东销售一组); not rep3
    return p


def pooled_account(pool, **kw):
    return AccountFactory(owner=None, pool=pool, **kw)


def pooled_lead(pool, **kw):
    return Lead.objects.create(name=kw.pop("name", "王小明"), company_name="某公司", owner=None, pool=pool, **kw)


def audit_actions(record):
    return list(AuditEvent.objects.filter(record_type=record.type_key(), record_id=record.pk)
                .order_by("pk").values_list("action", flat=True))


def deal_for(account, **kw):
    pipeline = Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.create(name="P", is_default=True)
    stage = pipeline.stages.order_by("position").first() or Stage.objects.create(pipeline=pipeline, name="S")
    return Opportunity.objects.create(name="Deal", account=account, pipeline=pipeline, stage=stage,
                                      owner=account.owner, **kw)


# -- claim ---------------------------------------------------------------------------------------


def test_claim_within_quota_then_refused_past_it(users, pool):
    rep1 = users["rep1"]
    a1, a2, a3 = (pooled_account(pool) for _ in range(3))
    lead = pooled_lead(pool)
    claimed = pool_claim(record=a1, actor=rep1, at=T0)
    assert claimed.owner == rep1 and claimed.claimed_at == T0 and claimed.pool == pool
    pool_claim(record=lead, actor=rep1, at=T0)  # leads count against the same quota
    assert claimed_count(rep1, pool) == 2
    with pytest.raises(PoolError) as exc:
        pool_claim(record=a2, actor=rep1, at=T0)
    assert exc.value.code == "quota_reached" and exc.value.status == 409
    assert "2" in exc.value.messages[0]
    # Nothing changed for the refused claim.
    a2.refresh_from_db()
    assert a2.owner is None and a2.claimed_at is None
    assert not PoolEvent.objects.filter(record_id=a2.pk, record_type="customers.account").exists()
    assert audit_actions(a2) == []
    # Rows written for the claims.
    assert audit_actions(a1) == [AuditAction.POOL_CLAIM]
    assert audit_actions(lead) == [AuditAction.POOL_CLAIM]
    event = PoolEvent.objects.get(record_type="customers.account", record_id=a1.pk)
    assert (event.kind, event.user, event.actor, event.at) == (PoolEventKind.CLAIMED, rep1, rep1, T0)
    tl = TimelineEvent.objects.get(record_type="customers.account", record_id=a1.pk)
    assert tl.data["command"] == "pool_claim" and tl.data["changes"]["owner"][1]["id"] == rep1.pk
    # Another member is not limited by rep1's claims.
    assert pool_claim(record=a3, actor=users["rep2"]).owner == users["rep2"]


def test_claim_refusals(users, pool):
    rep1, rep3 = users["rep1"], users["rep3"]
    account = pooled_account(pool)
    with pytest.raises(PoolError) as exc:
        pool_claim(record=account, actor=rep3)  # not a member
    assert exc.value.code == "not_member"
    pool_claim(record=account, actor=rep1)
    with pytest.raises(PoolError) as exc:
        pool_claim(record=account, actor=users["rep2"])
    assert exc.value.code == "already_claimed"
    assert Account.objects.get(pk=account.pk).owner == rep1
    outside = AccountFactory(owner=None, pool=None)
    with pytest.raises(PoolError) as exc:
        pool_claim(record=outside, actor=rep1)
    assert exc.value.code == "no_pool"
    Pool.objects.filter(pk=pool.pk).update(is_active=False)
    other = pooled_account(pool)
    with pytest.raises(PoolError) as exc:
        pool_claim(record=other, actor=users["rep2"])
    assert exc.value.code == "not_member"
    assert Account.objects.get(pk=other.pk).owner is None


def test_converted_leads_are_not_claimable_and_free_the_quota(users, pool):
    rep1 = users["rep1"]
    converted = pooled_lead(pool, name="已转化")
    Lead.objects.filter(pk=converted.pk).update(status="converted")
    with pytest.raises(PoolError) as exc:
        pool_claim(record=converted, actor=rep1)
    assert exc.value.code == "not_claimable"
    a, b = pooled_lead(pool), pooled_lead(pool)
    pool_claim(record=a, actor=rep1)
    pool_claim(record=b, actor=rep1)
    assert claimed_count(rep1, pool) == 2
    Lead.objects.filter(pk=a.pk).update(status="converted")  # what lead_convert does to it
    assert claimed_count(rep1, pool) == 1
    assert pool_claim(record=pooled_account(pool), actor=rep1).owner == rep1
    # A converted lead is not reclaimed either.
    assert pool_reclaim_due(now=timezone.now() + days(400)) == 2  # b and the company, not a
    assert Lead.objects.get(pk=a.pk).owner == rep1


def test_direct_member_may_claim(users, pool):
    rep3 = users["rep3"]
    pool.members.add(rep3)
    account = pooled_account(pool)
    assert pool_claim(record=account, actor=rep3).owner == rep3


def test_cooldown_after_return_and_after_reclaim(users, pool):
    rep1, rep2 = users["rep1"], users["rep2"]
    account = pooled_account(pool)
    pool_claim(record=account, actor=rep1, at=T0)
    pool_return(record=account, actor=rep1, reason="不感兴趣", at=T0 + days(1))
    with pytest.raises(PoolError) as exc:
        pool_claim(record=account, actor=rep1, at=T0 + days(3))
    assert exc.value.code == "cooldown" and exc.value.params["days"] == 5
    assert Account.objects.get(pk=account.pk).owner is None
    # Someone else may claim it at once; rep1 may claim again after the cooldown.
    pool_claim(record=account, actor=rep2, at=T0 + days(3))
    pool_return(record=account, actor=rep2, reason="转给同事", at=T0 + days(4))
    assert pool_claim(record=account, actor=rep1, at=T0 + days(8)).owner == rep1
    # Lost to the reclaim job: the same cooldown.
    assert pool_reclaim_due(now=T0 + days(8) + days(31)) == 1
    with pytest.raises(PoolError) as exc:
        pool_claim(record=account, actor=rep1, at=T0 + days(8) + days(32))
    assert exc.value.code == "cooldown"


def test_return_needs_reason_and_owner(users, pool):
    rep1, rep2, manager = users["rep1"], users["rep2"], users["manager"]
    account = pooled_account(pool)
    pool_claim(record=account, actor=rep1, at=T0)
    with pytest.raises(PoolError) as exc:
        pool_return(record=account, actor=rep1, reason="  ")
    assert exc.value.code == "reason_required"
    with pytest.raises(PoolError) as exc:
        pool_return(record=account, actor=rep2, reason="not mine")
    assert exc.value.code == "forbidden"
    assert Account.objects.get(pk=account.pk).owner == rep1
    returned = pool_return(record=account, actor=rep1, reason="预算不足", at=T0 + days(2))
    assert returned.owner is None and returned.claimed_at is None and returned.pool == pool
    assert audit_actions(account) == [AuditAction.POOL_CLAIM, AuditAction.POOL_RETURN]
    event = PoolEvent.objects.filter(record_id=account.pk, kind=PoolEventKind.RETURNED).get()
    assert event.reason == "预算不足" and event.user == rep1
    # A manager (change + assign over rep1's records) returns rep1's record; the cooldown is rep1's.
    pool_claim(record=account, actor=rep2, at=T0 + days(3))
    pool_return(record=account, actor=manager, reason="重新分配", at=T0 + days(4))
    event = PoolEvent.objects.filter(record_id=account.pk, kind=PoolEventKind.RETURNED).first()
    assert (event.user, event.actor) == (rep2, manager)


def test_pool_put_for_managers_only(users, pool):
    rep1, manager = users["rep1"], users["manager"]
    account = AccountFactory(owner=rep1)
    with pytest.raises(PoolError) as exc:
        pool_return(record=account, actor=rep1, reason="x")
    assert exc.value.code == "no_pool"
    with pytest.raises(PoolError) as exc:
        pool_put(record=account, pool=pool, actor=rep1, reason="x")  # reps have no assign
    assert exc.value.code == "forbidden"
    put = pool_put(record=account, pool=pool, actor=manager, reason="离职交接")
    assert put.owner is None and put.pool == pool
    assert audit_actions(account) == [AuditAction.POOL_RETURN]
    assert PoolEvent.objects.get(record_id=account.pk).kind == PoolEventKind.ENTERED


# -- reclaim ---------------------------------------------------------------------------------------


def test_reclaim_with_injected_time(users, pool):
    rep1, rep2 = users["rep1"], users["rep2"]
    pool.claim_quota = 10
    pool.save()
    quiet, followed, dealt, fresh = (pooled_account(pool) for _ in range(4))
    lead = pooled_lead(pool)
    for record in (quiet, followed, dealt, lead):
        pool_claim(record=record, actor=rep1, at=T0)
    pool_claim(record=fresh, actor=rep2, at=T0 + days(20))
    # A follow-up on day 10 and a deal moved on day 15 restart their clocks.
    Interaction.objects.create(kind="call", account=followed, owner=rep1, occurred_at=T0 + days(10))
    deal = deal_for(Account.objects.get(pk=dealt.pk))
    Opportunity.objects.filter(pk=deal.pk).update(created_at=T0 - days(100), stage_entered_at=T0 + days(15))
    # Day 29: nothing is due yet.
    assert pool_reclaim_due(now=T0 + days(29)) == 0
    # Day 31: the quiet company and the quiet lead go back; the others stay.
    assert pool_reclaim_due(now=T0 + days(31)) == 2
    owners = dict(Account.objects.filter(pool=pool).values_list("pk", "owner_id"))
    assert owners[quiet.pk] is None and owners[followed.pk] == rep1.pk and owners[dealt.pk] == rep1.pk
    assert owners[fresh.pk] == rep2.pk
    assert Lead.objects.get(pk=lead.pk).owner is None
    event = PoolEvent.objects.get(record_type="customers.account", record_id=quiet.pk, kind=PoolEventKind.RECLAIMED)
    assert (event.user, event.actor, event.at) == (rep1, None, T0 + days(31))
    row = AuditEvent.objects.filter(record_type="customers.account", record_id=quiet.pk).order_by("pk").last()
    assert row.action == AuditAction.POOL_RECLAIM and row.actor is None
    note = Notification.objects.get(user=rep1, kind="pool_reclaim", url=quiet.get_absolute_url())
    assert quiet.name in note.title
    # Run twice: nothing more (one event, one notification).
    assert pool_reclaim_due(now=T0 + days(31)) == 0
    assert PoolEvent.objects.filter(kind=PoolEventKind.RECLAIMED).count() == 2
    assert Notification.objects.filter(kind="pool_reclaim").count() == 2
    # Day 41 / 46: the follow-up (day 10) and the deal (day 15) are now 31 days old.
    assert pool_reclaim_due(now=T0 + days(41)) == 1
    assert pool_reclaim_due(now=T0 + days(46)) == 1
    # The fresh claim (day 20) goes on day 51, not before.
    assert Account.objects.get(pk=fresh.pk).owner == rep2
    assert pool_reclaim_due(now=T0 + days(51)) == 1
    assert Account.objects.get(pk=fresh.pk).owner is None


def test_reclaim_off_and_english_notification(users, pool):
    rep1 = users["rep1"]
    rep1.language = "en"
    rep1.save()
    account = pooled_account(pool)
    pool_claim(record=account, actor=rep1, at=T0)
    Pool.objects.filter(pk=pool.pk).update(reclaim_days=0)
    assert pool_reclaim_due(now=T0 + days(400)) == 0
    Pool.objects.filter(pk=pool.pk).update(reclaim_days=30)
    assert pool_reclaim_due(now=T0 + days(31)) == 1
    note = Notification.objects.get(user=rep1, kind="pool_reclaim")
    assert note.title.startswith("Returned to the pool") and "30 days" in note.body


def test_the_periodic_task_runs_the_reclaim(users, pool):
    from guanxi.customers.tasks import pool_reclaim

    account = pooled_account(pool)
    pool_claim(record=account, actor=users["rep1"], at=timezone.now() - days(31))
    result = pool_reclaim.enqueue()
    assert result.return_value == 1
    assert Account.objects.get(pk=account.pk).owner is None


# -- concurrency (PostgreSQL) ----------------------------------------------------------------------


def _race(fns):
    barrier, results, errors = threading.Barrier(len(fns)), [], []

    def run(fn):
        try:
            barrier.wait()
            results.append(fn())
        except PoolError as e:
            errors.append(e.code)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_do_not_exceed_the_quota(users, pool):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has a single writer, so the claims cannot overlap")
    rep1 = users["rep1"]
    Pool.objects.filter(pk=pool.pk).update(claim_quota=1)
    a, b = pooled_account(pool), pooled_account(pool)
    results, errors = _race([lambda: pool_claim(record=a, actor=rep1), lambda: pool_claim(record=b, actor=rep1)])
    assert len(results) == 1 and errors == ["quota_reached"]
    assert Account.objects.filter(owner=rep1, pool=pool).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_users_racing_for_one_record_get_one_winner(users, pool):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has a single writer, so the claims cannot overlap")
    account = pooled_account(pool)
    results, errors = _race([lambda: pool_claim(record=account, actor=users["rep1"]),
                             lambda: pool_claim(record=account, actor=users["rep2"])])
    assert len(results) == 1 and errors == ["already_claimed"]
    assert PoolEvent.objects.filter(kind=PoolEventKind.CLAIMED).count() == 1
    assert Account.objects.get(pk=account.pk).owner == results[0].owner


@pytest.mark.django_db(transaction=True)
def test_concurrent_reclaim_runs_return_once(users, pool):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has a single writer, so the runs cannot overlap")
    accounts = [pooled_account(pool) for _ in range(2)]
    for a in accounts:
        pool_claim(record=a, actor=users["rep1"], at=T0)
    results, errors = _race([lambda: pool_reclaim_due(now=T0 + days(31))] * 2)
    assert not errors and sum(results) == 2
    assert PoolEvent.objects.filter(kind=PoolEventKind.RECLAIMED).count() == 2
    assert Notification.objects.filter(kind="pool_reclaim").count() == 2


# -- access ----------------------------------------------------------------------------------------


def test_members_see_unowned_pool_records_for_view_only(users, pool, client_for):
    account = pooled_account(pool)
    rep1 = client_for("rep1")
    detail = reverse("customers:account_detail", args=[account.pk])
    edit = reverse("customers:account_edit", args=[account.pk])
    assert rep1.get(detail).status_code == 200
    assert rep1.get(edit).status_code == 404
    assert rep1.post(edit, {"name": "改名"}).status_code == 404
    assert Account.objects.get(pk=account.pk).name == account.name
    # A non-member sees nothing of it.
    rep3 = client_for("rep3")
    assert rep3.get(detail).status_code == 404
    # Once claimed, the claimer may edit it; the other members no longer see it.
    pool_claim(record=account, actor=users["rep1"])
    assert rep1.get(edit).status_code == 200
    assert client_for("rep2").get(detail).status_code == 404


def test_pool_pages_for_members_only(users, pool, client_for):
    account = pooled_account(pool, name="浦东公海科技有限公司", province="上海市")
    pooled_account(pool, name="杭州某某贸易", province="浙江省")
    pooled_lead(pool, name="李雷")
    rep1, rep3 = client_for("rep1"), client_for("rep3")
    listing = rep1.get(reverse("customers:pool_list"))
    assert listing.status_code == 200 and "华东公海" in listing.content.decode()
    assert "华东公海" not in rep3.get(reverse("customers:pool_list")).content.decode()
    detail_url = reverse("customers:pool_detail", args=[pool.pk])
    page = rep1.get(detail_url).content.decode()
    assert account.name in page and "杭州某某贸易" in page
    filtered = rep1.get(detail_url, {"province": "上海市"}).content.decode()
    assert account.name in filtered and "杭州某某贸易" not in filtered
    assert "李雷" in rep1.get(detail_url, {"type": "sales.lead"}).content.decode()
    assert rep3.get(detail_url).status_code == 404
    assert rep3.get(detail_url, {"type": "sales.lead"}).status_code == 404
    # Bad input is not a 500.
    assert rep1.get(detail_url, {"type": "x", "page": "abc"}).status_code == 200


def test_claim_and_return_buttons(users, pool, client_for):
    pool.claim_quota = 1
    pool.save()
    a, b = pooled_account(pool), pooled_account(pool)
    rep1 = client_for("rep1")
    users["rep1"].language = "en"
    users["rep1"].save()
    url = reverse("customers:pool_claim", args=["customers.account", a.pk])
    r = rep1.post(url, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and Account.objects.get(pk=a.pk).owner == users["rep1"]
    r = rep1.post(reverse("customers:pool_claim", args=["customers.account", b.pk]), HTTP_HX_REQUEST="true")
    assert r.status_code == 409 and "You hold 1 of 1 records" in r.content.decode()
    assert Account.objects.get(pk=b.pk).owner is None
    # A non-member: 404, nothing changes.
    assert client_for("rep3").post(reverse("customers:pool_claim", args=["customers.account", b.pk])).status_code == 404
    assert client_for("rep1").post(reverse("customers:pool_claim", args=["x.y", b.pk])).status_code == 404
    # The company page shows the pool actions; return needs a reason.
    page = rep1.get(reverse("customers:account_detail", args=[a.pk])).content.decode()
    assert "Return to pool" in page
    ret = reverse("customers:pool_return", args=["customers.account", a.pk])
    assert rep1.post(ret, {"reason": ""}).status_code == 422
    assert Account.objects.get(pk=a.pk).owner == users["rep1"]
    assert rep1.post(ret, {"reason": "Not a fit"}).status_code == 302
    assert Account.objects.get(pk=a.pk).owner is None
    # The company's timeline and history show the claim and the return (rep1 still sees it: a member).
    timeline = rep1.get(reverse("activities:timeline", args=["customers.account", a.pk])).content.decode()
    assert timeline.count("华东公海") == 2
    history = rep1.get(reverse("record_history", args=["customers.account", a.pk]))
    assert history.status_code == 200
    assert "Claim" in rep1.get(reverse("customers:account_detail", args=[b.pk])).content.decode()


def test_admin_creates_and_edits_pools(users, client_for):
    admin, rep1 = client_for("admin"), client_for("rep1")
    add = reverse("customers:pool_add")
    assert rep1.get(add).status_code == 404
    assert admin.get(add).status_code == 200
    team = users["rep1"].team
    r = admin.post(add, {"name": "华南公海", "claim_quota": "5", "reclaim_days": "15", "cooldown_days": "3",
                         "provinces": "广东省，广西壮族自治区", "is_active": "on", "member_teams": [team.pk],
                         "members": [users["rep3"].pk]})
    assert r.status_code == 302
    created = Pool.objects.get(name="华南公海")
    assert created.provinces == "广东省, 广西壮族自治区" and created.claim_quota == 5
    assert list(created.members.all()) == [users["rep3"]]
    assert AuditEvent.objects.filter(action=AuditAction.SETTINGS_CHANGE, record_type="customers.pool").exists()
    edit = reverse("customers:pool_edit", args=[created.pk])
    assert admin.get(edit).status_code == 200 and "华南公海" in admin.get(edit).content.decode()
    assert rep1.post(edit, {"name": "hijack"}).status_code == 404
    r = admin.post(edit, {"name": "华南公海", "claim_quota": "-1", "reclaim_days": "15", "cooldown_days": "3"})
    assert r.status_code == 422
    assert Pool.objects.get(pk=created.pk).claim_quota == 5
    with pytest.raises(PoolError):
        pool_save(actor=users["rep1"], fields={"name": "x"})


# -- API -------------------------------------------------------------------------------------------


def test_api_claim_return_and_errors(users, pool, api):
    pool.claim_quota = 1
    pool.save()
    a, b = pooled_account(pool), pooled_account(pool)
    listing = api.get("/api/v1/pools")
    assert listing.status_code == 200 and [p["id"] for p in listing.json()["items"]] == [pool.pk]
    detail = api.get(f"/api/v1/pools/{pool.pk}").json()
    assert detail["claim_quota"] == 1 and detail["claimed_by_me"] == 0
    records = api.get(f"/api/v1/pools/{pool.pk}/records", record_type="customers.account").json()
    assert {r["id"] for r in records["items"]} == {a.pk, b.pk} and records["count"] == 2
    r = api.post("/api/v1/pools/claim", {"record_type": "customers.account", "record_id": a.pk})
    assert r.status_code == 200 and r.json()["owner"] == users["rep1"].pk
    r = api.post("/api/v1/pools/claim", {"record_type": "customers.account", "record_id": b.pk})
    assert r.status_code == 409 and r.json()["code"] == "quota_reached"
    r = api.post("/api/v1/pools/claim", {"record_type": "customers.account", "record_id": 999999})
    assert r.status_code == 404
    r = api.post("/api/v1/pools/claim", {"record_type": "nope", "record_id": a.pk})
    assert r.status_code == 422
    r = api.post("/api/v1/pools/return", {"record_type": "customers.account", "record_id": a.pk, "reason": ""})
    assert r.status_code == 422 and Account.objects.get(pk=a.pk).owner == users["rep1"]
    r = api.post("/api/v1/pools/return", {"record_type": "customers.account", "record_id": a.pk, "reason": "no"})
    assert r.status_code == 200 and r.json()["owner"] is None
    # Someone else's claim: 409 already_claimed.
    pool_claim(record=b, actor=users["rep2"])
    r = api.post("/api/v1/pools/claim", {"record_type": "customers.account", "record_id": b.pk})
    assert r.status_code == 409 and r.json()["code"] == "already_claimed"
    # Admin-only writes.
    assert api.post("/api/v1/pools", {"name": "x"}).status_code == 403
    assert api.patch(f"/api/v1/pools/{pool.pk}", {"claim_quota": 99}).status_code == 403
    assert Pool.objects.get(pk=pool.pk).claim_quota == 1


def test_api_non_member_sees_nothing(users, pool, client):
    import json

    from guanxi.core.models import ApiToken

    a = pooled_account(pool)
    _t, raw = ApiToken.issue(user=users["rep3"], name="t")
    h = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get("/api/v1/pools", **h).json()["items"] == []
    assert client.get(f"/api/v1/pools/{pool.pk}", **h).status_code == 404
    assert client.get(f"/api/v1/pools/{pool.pk}/records", **h).status_code == 404
    r = client.post("/api/v1/pools/claim", json.dumps({"record_type": "customers.account", "record_id": a.pk}),
                    content_type="application/json", **h)
    assert r.status_code == 404 and Account.objects.get(pk=a.pk).owner is None


def test_api_admin_creates_and_updates_pools(users, client):
    import json

    from guanxi.core.models import ApiToken

    _t, raw = ApiToken.issue(user=users["admin"], name="t")
    h = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    body = {"name": "西部公海", "claim_quota": 3, "member_ids": [users["rep3"].pk], "provinces": ["四川省"]}
    r = client.post("/api/v1/pools", json.dumps(body), content_type="application/json", **h)
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert r.json()["member_ids"] == [users["rep3"].pk] and r.json()["provinces"] == ["四川省"]
    r = client.patch(f"/api/v1/pools/{pk}", json.dumps({"claim_quota": 4, "is_active": False}),
                     content_type="application/json", **h)
    assert r.status_code == 200 and r.json()["claim_quota"] == 4 and r.json()["is_active"] is False
    r = client.post("/api/v1/pools", json.dumps({"name": "西部公海"}), content_type="application/json", **h)
    assert r.status_code in (409, 422)
    r = client.patch(f"/api/v1/pools/{pk}", json.dumps({"member_ids": [99999]}), content_type="application/json", **h)
    assert r.status_code == 422


def test_manager_moves_a_company_into_a_pool_from_its_page(users, pool, client_for):
    account = AccountFactory(owner=users["rep1"])
    detail = reverse("customers:account_detail", args=[account.pk])
    put = reverse("customers:pool_put", args=["customers.account", account.pk])
    assert 'id="pool-actions"' not in client_for("rep1").get(detail).content.decode()  # reps cannot put
    assert client_for("rep1").post(put, {"pool": pool.pk, "reason": "x"}).status_code == 404
    assert client_for("rep3").post(put, {"pool": pool.pk, "reason": "x"}).status_code == 404
    manager = client_for("manager")
    assert 'id="pool-put"' in manager.get(detail).content.decode()
    assert manager.post(put, {"pool": pool.pk, "reason": ""}).status_code == 422
    assert Account.objects.get(pk=account.pk).owner == users["rep1"]
    assert manager.post(put, {"pool": pool.pk, "reason": "离职交接"}).status_code == 302
    moved = Account.objects.get(pk=account.pk)
    assert moved.owner is None and moved.pool == pool
    # Without any active pool, the company page has no pool card at all.
    Pool.objects.update(is_active=False)
    assert 'id="pool-actions"' not in manager.get(
        reverse("customers:account_detail", args=[AccountFactory(owner=users["rep1"]).pk])).content.decode()


def test_pool_for_province_and_settings_validation(users, pool):
    from guanxi.customers.pool_services import pool_for_province

    assert pool_for_province("浙江省") == pool and pool_for_province("浙江") is None
    assert pool_for_province("") is None
    Pool.objects.filter(pk=pool.pk).update(is_active=False)
    assert pool_for_province("浙江省") is None
    with pytest.raises(ValidationError) as exc:
        pool_save(actor=users["admin"], fields={"name": "   "})
    assert "name" in exc.value.message_dict
    assert not Pool.objects.exclude(pk=pool.pk).exists()
