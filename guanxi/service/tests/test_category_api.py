"""The ticket category API: read by anyone who sees tickets, maintained by administrators (audited as
settings changes), the tree kept free of cycles, used categories kept; and the SLA policies (read-only)."""


import pytest

from guanxi.core.choices import AuditAction
from guanxi.core.models import AuditEvent, Team
from guanxi.service import ticket_services as svc
from guanxi.service.models import SlaPolicy, TicketAssignmentRule, TicketCategory

URL = "/api/v1/ticket-categories"


def tree():
    return list(TicketCategory.objects.order_by("pk").values())


def settings_audits():
    return AuditEvent.objects.filter(action=AuditAction.SETTINGS_CHANGE, record_type="service.ticketcategory")


def test_list_in_the_readers_language(api_for, users):
    r = api_for("agent").get(URL)
    assert r.status_code == 200
    items = {c["name"]: c for c in r.json()["items"]}
    assert r.json()["count"] == TicketCategory.objects.count()
    late = items["Late delivery"]
    assert late["parent"] == items["Delivery"]["id"] and late["is_active"]
    users["agent"].language = "en"
    users["agent"].save()
    items = {c["name"]: c for c in api_for("agent").get(URL).json()["items"]}
    assert items["Late delivery"]["path"] == "Delivery › Late delivery"
    r = api_for("agent").get(f"{URL}/{items['Delivery']['id']}")
    assert r.status_code == 200 and r.json()["label"] == "Delivery"
    assert api_for("agent").get(f"{URL}/999999").status_code == 404


def test_ticket_count(api_for, users):
    refund = TicketCategory.objects.get(name="Refund")
    svc.ticket_create(actor=None, fields={"subject": "退款", "category": refund}, notify_customer=False)
    r = api_for("admin").get(f"{URL}/{refund.pk}")
    assert r.json()["ticket_count"] == 1


@pytest.mark.parametrize("username", ["auditor"])
def test_readers_need_ticket_view(api_for, username):
    assert api_for(username).get(URL).status_code == 403
    assert api_for(username).get("/api/v1/sla-policies").status_code == 403


def test_admin_creates_renames_moves_and_deactivates(api_for):
    api = api_for("admin")
    delivery = TicketCategory.objects.get(name="Delivery")
    r = api.post(URL, {"name": "  破损  ", "parent": delivery.pk, "position": 5})
    assert r.status_code == 201, r.content
    created = r.json()
    assert created["name"] == "破损" and created["parent"] == delivery.pk and created["position"] == 5
    event = settings_audits().get(record_id=created["id"])
    assert event.data["event"] == "created" and event.actor.username == "admin"
    billing = TicketCategory.objects.get(name="Billing")
    r = api.patch(f"{URL}/{created['id']}", {"name": "外包装破损", "parent": billing.pk, "is_active": False})
    assert r.status_code == 200, r.content
    assert r.json()["parent"] == billing.pk and not r.json()["is_active"]
    event = settings_audits().filter(record_id=created["id"]).order_by("-id").first()
    assert event.data["event"] == "updated"
    assert event.data["changes"]["name"] == ["破损", "外包装破损"]
    assert event.data["changes"]["parent"] == [delivery.pk, billing.pk]
    r = api.patch(f"{URL}/{created['id']}", {"parent": None})
    assert r.status_code == 200 and r.json()["parent"] is None
    count = settings_audits().count()
    assert api.patch(f"{URL}/{created['id']}", {}).status_code == 200
    assert settings_audits().count() == count  # nothing changed, nothing audited


def test_duplicates_cycles_and_bad_input_are_refused(api_for):
    api = api_for("admin")
    delivery = TicketCategory.objects.get(name="Delivery")
    late = TicketCategory.objects.get(name="Late delivery")
    before, audits = tree(), settings_audits().count()
    cases = [
        ("post", URL, {"name": "late delivery", "parent": delivery.pk}),  # sibling, case-insensitive
        ("post", URL, {"name": "Delivery"}),  # top-level duplicate (NULL parent)
        ("post", URL, {"name": "   "}),
        ("post", URL, {"name": ""}),
        ("post", URL, {"name": "x" * 101}),
        ("post", URL, {"name": "a\x00b"}),
        ("post", URL, {"name": "x", "parent": 999999}),
        ("post", URL, {"name": "x", "parent": 10**30}),
        ("post", URL, {"name": ["x"]}),
        ("post", URL, {"name": "x", "position": -1}),
        ("patch", f"{URL}/{delivery.pk}", {"parent": late.pk}),  # under its own child
        ("patch", f"{URL}/{delivery.pk}", {"parent": delivery.pk}),  # under itself
        ("patch", f"{URL}/{late.pk}", {"name": "Wrong item"}),  # a sibling's name
        ("patch", f"{URL}/{late.pk}", {"is_active": "maybe"}),
    ]
    for method, url, body in cases:
        r = getattr(api, method)(url, body)
        assert r.status_code == 422, (method, url, body, r.content)
        assert r.json()["code"] == "invalid_input" and r.json()["errors"]
    assert tree() == before and settings_audits().count() == audits
    assert api.patch(f"{URL}/999999", {"name": "x"}).status_code == 404
    assert api.get(f"{URL}/99999999999999999999").status_code == 422


def test_nesting_depth_is_limited(api_for):
    api = api_for("admin")
    parent = None
    for i in range(3):  # three levels: what lists read in their one query
        r = api.post(URL, {"name": f"L{i}", "parent": parent})
        assert r.status_code == 201, (i, r.content)
        parent = r.json()["id"]
    r = api.post(URL, {"name": "too deep", "parent": parent})
    assert r.status_code == 422 and "parent" in r.json()["errors"]


def test_delete_unused_and_refuse_used(api_for, users):
    api = api_for("admin")
    spare = TicketCategory.objects.create(name="Spare")
    assert api.delete(f"{URL}/{spare.pk}").status_code == 204
    assert not TicketCategory.objects.filter(pk=spare.pk).exists()
    assert settings_audits().get(record_id=spare.pk).data["event"] == "deleted"
    refund = TicketCategory.objects.get(name="Refund")
    svc.ticket_create(actor=None, fields={"subject": "退款", "category": refund}, notify_customer=False)
    billing = TicketCategory.objects.get(name="Billing")  # has subcategories
    ruled = TicketCategory.objects.create(name="Ruled")
    TicketAssignmentRule.objects.create(name="r", category=ruled, team=Team.objects.get(name="客户服务部"))
    with_policy = TicketCategory.objects.create(name="With policy")
    SlaPolicy.objects.create(name="p", category=with_policy, first_response_minutes=10, resolution_minutes=20)
    before, audits = tree(), settings_audits().count()
    for category in (refund, billing, ruled, with_policy):
        r = api.delete(f"{URL}/{category.pk}")
        assert r.status_code == 409 and r.json()["code"] == "category_in_use", category
    assert tree() == before and settings_audits().count() == audits
    assert SlaPolicy.objects.filter(category=with_policy).exists()
    assert api.delete(f"{URL}/999999").status_code == 404


@pytest.mark.parametrize("username", ["supervisor", "agent", "manager", "rep1", "marketer", "auditor"])
def test_only_administrators_change_categories(api_for, username):
    api = api_for(username)
    delivery = TicketCategory.objects.get(name="Delivery")
    before, audits = tree(), settings_audits().count()
    assert api.post(URL, {"name": "x"}).status_code == 403
    assert api.patch(f"{URL}/{delivery.pk}", {"name": "x"}).status_code == 403
    assert api.delete(f"{URL}/{delivery.pk}").status_code == 403
    assert tree() == before and settings_audits().count() == audits


def test_sla_policies_read_only(api_for):
    r = api_for("agent").get("/api/v1/sla-policies")
    assert r.status_code == 200
    items = r.json()["items"]
    assert {p["priority"] for p in items} >= {"urgent", "high", "normal", "low"}
    urgent = next(p for p in items if p["priority"] == "urgent")
    assert urgent["first_response_minutes"] == 30 and urgent["resolution_minutes"] == 240
    assert api_for("admin").post("/api/v1/sla-policies", {"name": "x"}).status_code == 405


def test_without_token_is_401(client, db):
    assert client.get(URL).status_code == 401
    assert client.post(URL, "{}", content_type="application/json").status_code == 401
    assert client.get("/api/v1/sla-policies").status_code == 401
