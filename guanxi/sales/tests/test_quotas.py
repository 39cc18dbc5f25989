"""Quotas: who may set whose, validation with clear errors, bulk entry for a team, audit rows, the API."""

import datetime
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from djmoney.money import Money

from guanxi.core.models import ApiToken, AuditEvent
from guanxi.sales.models import Quota

from .analytics_data import opportunity_grants

pytestmark = pytest.mark.django_db
Q3 = datetime.date(2026, 7, 1)


@pytest.fixture(autouse=True)
def grants(users):
    opportunity_grants()


def state():
    return sorted(Quota.objects.values_list("user_id", "team_id", "period", "start", "amount"), key=str)


def form(user=None, team=None, period="quarter", start="2026-07-01", amount="100000"):
    data = {"target": "user" if user else "team", "period": period, "start": start, "amount": amount}
    if user:
        data["user"] = user.pk
    if team:
        data["team"] = team.pk
    return data


def test_manager_sets_a_reps_quota_with_audit(users, client_manager):
    rep1 = users["rep1"]
    r = client_manager.post(reverse("sales:quota_add"), form(user=rep1))
    assert r.status_code == 302, r.content.decode()[:2000]
    quota = Quota.objects.get(user=rep1)
    assert (quota.period, quota.start, quota.amount) == ("quarter", Q3, Money(100000, "CNY"))
    event = AuditEvent.objects.get(record_type="sales.quota", record_id=quota.pk)
    assert event.action == "create" and event.actor == users["manager"]
    r = client_manager.post(reverse("sales:quota_edit", args=[quota.pk]), form(user=rep1, amount="120000.50"))
    assert r.status_code == 302
    quota.refresh_from_db()
    assert quota.amount.amount == Decimal("120000.50")
    assert AuditEvent.objects.filter(record_type="sales.quota", record_id=quota.pk, action="update").count() == 1
    r = client_manager.post(reverse("sales:quota_delete", args=[quota.pk]))
    assert r.status_code == 302 and not Quota.objects.exists()
    assert AuditEvent.objects.filter(record_type="sales.quota", record_id=quota.pk, action="delete").exists()


@pytest.mark.parametrize("start,period,message", [
    ("2026-07-15", "quarter", "A period starts on the first day of a month."),
    ("2026-08-01", "quarter", "A quarter starts in January, April, July or October."),
    ("2026-02-30", "month", "Enter a valid date."),
])
def test_start_validation_errors(users, client_for, start, period, message):
    manager = users["manager"]
    manager.language = "en"
    manager.save()
    c = client_for("manager")
    r = c.post(reverse("sales:quota_add"), form(user=users["rep1"], start=start, period=period))
    assert r.status_code == 400
    assert message in r.content.decode()
    assert state() == []


@pytest.mark.parametrize("amount", ["-1", "abc", "1" * 30, ""])
def test_bad_amount(users, client_manager, amount):
    r = client_manager.post(reverse("sales:quota_add"), form(user=users["rep1"], amount=amount))
    assert r.status_code == 400 and state() == []


def test_duplicate_quota_is_a_clear_error(users, client_for):
    manager = users["manager"]
    manager.language = "en"
    manager.save()
    Quota.objects.create(user=users["rep1"], period="quarter", start=Q3, amount=Money(1, "CNY"))
    before = state()
    r = client_for("manager").post(reverse("sales:quota_add"), form(user=users["rep1"]))
    assert r.status_code == 400
    assert "This user already has a quota for this period." in r.content.decode()
    assert state() == before


def test_manager_cannot_set_quotas_outside_subtree_or_own(users, client_manager):
    for target in (users["rep3"], users["manager"]):
        r = client_manager.post(reverse("sales:quota_add"), form(user=target))
        assert r.status_code == 400
    south = users["rep3"].team
    r = client_manager.post(reverse("sales:quota_add"), form(team=south))
    assert r.status_code == 400
    assert state() == []
    outside = Quota.objects.create(user=users["rep3"], period="quarter", start=Q3, amount=Money(5, "CNY"))
    before = state()
    assert client_manager.get(reverse("sales:quota_edit", args=[outside.pk])).status_code == 404
    assert client_manager.post(reverse("sales:quota_edit", args=[outside.pk]), form(amount="9")).status_code == 404
    assert client_manager.post(reverse("sales:quota_delete", args=[outside.pk])).status_code == 404
    assert state() == before


def test_rep_reads_own_quotas_but_cannot_set_any(users, client_rep1):
    mine = Quota.objects.create(user=users["rep1"], period="quarter", start=Q3, amount=Money(7, "CNY"))
    other = Quota.objects.create(user=users["rep2"], period="quarter", start=Q3, amount=Money(8, "CNY"))
    before = state()
    r = client_rep1.get(reverse("sales:quota_list"))
    assert r.status_code == 200
    html = r.content.decode()
    assert f'data-quota="{mine.pk}"' in html and f'data-quota="{other.pk}"' not in html
    assert reverse("sales:quota_edit", args=[mine.pk]) not in html
    assert client_rep1.get(reverse("sales:quota_add")).status_code == 403
    assert client_rep1.post(reverse("sales:quota_add"), form(user=users["rep1"])).status_code == 403
    assert client_rep1.post(reverse("sales:quota_edit", args=[mine.pk]), form(amount="999")).status_code == 403
    assert client_rep1.post(reverse("sales:quota_delete", args=[mine.pk])).status_code == 403
    assert client_rep1.post(reverse("sales:quota_bulk"), {"team": users["rep1"].team_id}).status_code == 403
    assert state() == before


def test_bulk_entry_for_a_team_quarter(users, client_manager):
    team = users["rep1"].team
    Quota.objects.create(user=users["rep2"], period="quarter", start=Q3, amount=Money(1, "CNY"))
    r = client_manager.get(reverse("sales:quota_bulk"), {"team": team.pk, "period": "quarter", "start": "2026-07-01"})
    assert r.status_code == 200
    html = r.content.decode()
    assert f'name="member_{users["rep1"].pk}"' in html and f'name="member_{users["rep2"].pk}"' in html
    assert f'name="member_{users["manager"].pk}"' not in html  # not their own quota
    data = {"team": team.pk, "period": "quarter", "start": "2026-07-01", "team_amount": "900000",
            f"member_{users['rep1'].pk}": "400000", f"member_{users['rep2'].pk}": "500000"}
    r = client_manager.post(reverse("sales:quota_bulk"), data)
    assert r.status_code == 302
    assert Quota.objects.get(team=team).amount.amount == Decimal("900000")
    assert Quota.objects.get(user=users["rep1"]).amount.amount == Decimal("400000")
    assert Quota.objects.get(user=users["rep2"]).amount.amount == Decimal("500000")  # updated, not duplicated
    before = state()
    bad = {**data, "start": "2026-08-01", "team_amount": "1"}
    assert client_manager.post(reverse("sales:quota_bulk"), bad).status_code == 400
    assert client_manager.post(reverse("sales:quota_bulk"), {**data, "team": users["rep3"].team_id}).status_code == 404
    assert client_manager.get(reverse("sales:quota_bulk"), {"team": "x"}).status_code == 400
    assert state() == before


def test_quota_pages_render_in_both_languages(users, client_for):
    Quota.objects.create(team=users["rep1"].team, period="quarter", start=Q3, amount=Money(3, "CNY"))
    admin = users["admin"]
    r = client_for("admin").get(reverse("sales:quota_list"))
    assert r.status_code == 200 and 'lang="zh-CN"' in r.content.decode()
    admin.language = "en"
    admin.save()
    c = client_for("admin")
    html = c.get(reverse("sales:quota_list")).content.decode()
    assert "New quota" in html and "Quotas" in html
    assert c.get(reverse("sales:quota_add")).status_code == 200
    assert c.get(reverse("sales:quota_list"), {"year": "abc"}).status_code == 400


# -- API --------------------------------------------------------------------------------------------


def api_for(user):
    _token, raw = ApiToken.issue(user=user, name="quota tests")
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    class Api:
        def get(self, url, **params):
            return client.get(url, params, **headers)

        def post(self, url, data):
            return client.post(url, json.dumps(data), content_type="application/json", **headers)

        def patch(self, url, data):
            return client.patch(url, json.dumps(data), content_type="application/json", **headers)

        def delete(self, url):
            return client.delete(url, **headers)

    return Api()


def test_api_quota_crud_for_manager(users):
    api = api_for(users["manager"])
    body = {"user": users["rep1"].pk, "period": "quarter", "start": "2026-07-01", "amount": "300000"}
    r = api.post("/api/v1/quotas", body)
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert r.json()["user"] == users["rep1"].pk and Decimal(str(r.json()["amount"])) == Decimal("300000")
    assert api.post("/api/v1/quotas", body).status_code == 422  # duplicate
    r = api.patch(f"/api/v1/quotas/{pk}", {"amount": "310000"})
    assert r.status_code == 200 and Decimal(str(r.json()["amount"])) == Decimal("310000")
    assert api.patch(f"/api/v1/quotas/{pk}", {"start": "2026-08-01"}).status_code == 422
    assert api.get("/api/v1/quotas").json()["count"] == 1
    assert api.get(f"/api/v1/quotas/{pk}").status_code == 200
    assert api.delete(f"/api/v1/quotas/{pk}").status_code == 204
    assert not Quota.objects.exists()


@pytest.mark.parametrize("body", [
    {"period": "quarter", "start": "2026-07-01", "amount": "1"},  # neither user nor team
    {"user": 1, "team": 1, "period": "quarter", "start": "2026-07-01", "amount": "1"},
    {"user": 1, "period": "year", "start": "2026-07-01", "amount": "1"},
    {"user": 1, "period": "quarter", "start": "2026-07-02", "amount": "1"},
    {"user": 1, "period": "quarter", "start": "2026-07-01", "amount": "-5"},
    {"user": 1, "period": "quarter", "start": "2026-07-01", "amount": "1.234"},
    {"user": 99999, "period": "quarter", "start": "2026-07-01", "amount": "1"},
    "not an object",
])
def test_api_quota_bad_input(users, body):
    api = api_for(users["admin"])
    if isinstance(body, dict) and body.get("user") == 1:
        body = {**body, "user": users["rep1"].pk}
        if "team" in body:
            body["team"] = users["rep1"].team_id
    r = api.post("/api/v1/quotas", body)
    assert r.status_code == 422, r.content
    assert r.json()["code"] == "invalid_input"
    assert not Quota.objects.exists()


def test_api_quota_permissions(users, api):
    body = {"user": users["rep1"].pk, "period": "quarter", "start": "2026-07-01", "amount": "1"}
    r = api.post("/api/v1/quotas", body)  # rep1
    assert r.status_code == 403 and not Quota.objects.exists()
    mine = Quota.objects.create(user=users["rep1"], period="quarter", start=Q3, amount=Money(7, "CNY"))
    other = Quota.objects.create(user=users["rep3"], period="quarter", start=Q3, amount=Money(8, "CNY"))
    before = state()
    assert [q["id"] for q in api.get("/api/v1/quotas").json()["items"]] == [mine.pk]
    assert api.get(f"/api/v1/quotas/{other.pk}").status_code == 404
    assert api.patch(f"/api/v1/quotas/{mine.pk}", {"amount": "9"}).status_code == 403
    assert api.delete(f"/api/v1/quotas/{mine.pk}").status_code == 403
    manager = api_for(users["manager"])
    assert manager.patch(f"/api/v1/quotas/{other.pk}", {"amount": "9"}).status_code == 404
    assert manager.delete(f"/api/v1/quotas/{other.pk}").status_code == 404
    r = manager.post("/api/v1/quotas", {**body, "user": users["rep3"].pk})
    assert r.status_code == 422 and "user" in r.json()["errors"]
    assert state() == before
    assert Client().get("/api/v1/quotas").status_code == 401
