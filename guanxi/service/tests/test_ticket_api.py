"""The ticket REST API: CRUD through the ticket services, filters and ordering, the commands, scope and
role checks (denials change nothing), bad input (4xx, never 500), and its OpenAPI schema (schemathesis)."""


import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from guanxi.core.choices import AuditAction
from guanxi.core.models import ApiToken, AuditEvent, Team
from guanxi.integrations.models import OutboundEmail
from guanxi.service import ticket_services as svc
from guanxi.service.models import Ticket, TicketAssignmentRule, TicketCategory, TicketEvent, TicketMessage

URL = "/api/v1/tickets"


@pytest.fixture
def team(users):
    return Team.objects.get(name="客户服务部")


@pytest.fixture
def routed(team):
    """New tickets go to the service team (round-robin: agent first)."""
    return TicketAssignmentRule.objects.create(name="all", team=team)


def make_ticket(owner=None, **fields):
    fields = {"subject": "热水器漏水", "customer_name": "张先生", "customer_email": "zhang@example.com",
              "customer_phone": "13800138000", **fields}
    if owner is not None:
        fields["owner"] = owner
    ticket = svc.ticket_create(actor=None, fields=fields, notify_customer=False)
    ticket.refresh_from_db()
    return ticket


def state(ticket):
    """Everything a denied request must leave as it was."""
    return (list(Ticket.all_objects.filter(pk=ticket.pk).values()), TicketMessage.objects.count(),
            TicketEvent.objects.count(), AuditEvent.objects.count())


# -- CRUD ---------------------------------------------------------------------------------------------


def test_create_routes_and_starts_the_sla(api_for, users, routed, team):
    api = api_for("agent")
    category = TicketCategory.objects.get(name="Late delivery")
    r = api.post(URL, {"subject": "快递三天没到", "category": category.pk, "priority": "high",
                       "customer_email": "Li@Example.com", "customer_phone": "13900139000", "tags": ["物流"],
                       "channel": "wechat"})
    assert r.status_code == 201, r.content
    body = r.json()
    ticket = Ticket.objects.get(pk=body["id"])
    assert body["reference"] == f"T{ticket.pk:06d}"
    assert body["status"] == "assigned" and body["owner"] == users["agent"].pk and body["team"] == team.pk
    assert body["first_response_due"] and body["resolution_due"] and body["sla_policy"]
    assert body["sla_state"] == "ok"
    assert body["category"] == category.pk and "›" in body["category_path"]
    assert body["tags"] == ["物流"] and body["version"] == ticket.version
    assert body["reply_count"] == 0 and body["note_count"] == 0
    # Personal data is masked for display; the stored value is the real one.
    assert body["customer_email"] != "li@example.com" and ticket.customer_email == "li@example.com"
    assert ticket.created_by == users["agent"]


def test_status_owner_and_sla_are_not_writable(api_for, users):
    api = api_for("agent")
    r = api.post(URL, {"subject": "x", "status": "closed", "owner": users["rep1"].pk, "team": 1,
                       "resolution_due": "2020-01-01T00:00:00Z"})
    assert r.status_code == 201
    ticket = Ticket.objects.get(pk=r.json()["id"])
    assert ticket.status == "new" and ticket.owner is None
    assert ticket.resolution_due and ticket.resolution_due.year > 2020
    mine = make_ticket(owner=users["agent"])
    r = api.patch(f"{URL}/{mine.pk}", {"version": mine.version, "status": "closed", "owner": users["agent2"].pk,
                                       "subject": "renamed"})
    assert r.status_code == 200
    mine.refresh_from_db()
    assert (mine.subject, mine.status, mine.owner) == ("renamed", "assigned", users["agent"])


def test_update_reapplies_the_sla_and_stale_version_is_409(api_for, users):
    api = api_for("agent")
    ticket = make_ticket(owner=users["agent"], priority="low")
    due = ticket.resolution_due
    r = api.patch(f"{URL}/{ticket.pk}", {"version": ticket.version, "priority": "urgent"})
    assert r.status_code == 200, r.content
    ticket.refresh_from_db()
    assert ticket.priority == "urgent" and ticket.resolution_due < due
    assert r.json()["resolution_due"] is not None and r.json()["version"] == ticket.version
    before = state(ticket)
    r = api.patch(f"{URL}/{ticket.pk}", {"version": ticket.version - 1, "priority": "low"})
    assert r.status_code == 409 and r.json()["code"] == "stale_version"
    assert state(ticket) == before


def test_list_filters_search_ordering_and_count(api_for, users, team):
    api = api_for("supervisor")
    delivery = TicketCategory.objects.get(name="Delivery")
    late = TicketCategory.objects.get(name="Late delivery")
    a = make_ticket(owner=users["agent"], subject="订单未到", category=late, priority="urgent", order_ref="SO-1")
    b = make_ticket(owner=users["agent2"], subject="发票开错", priority="low")
    c = make_ticket(subject="无人处理", priority="normal")
    Ticket.all_objects.filter(pk=c.pk).update(team=team)  # in the team's queue, unassigned
    ids = lambda r: [t["id"] for t in r.json()["items"]]  # noqa: E731
    r = api.get(URL)
    assert r.status_code == 200 and r.json()["count"] == 3
    assert ids(api.get(URL, category=delivery.pk)) == [a.pk]  # subcategories included
    assert ids(api.get(URL, priority="low")) == [b.pk]
    assert ids(api.get(URL, unassigned="true")) == [c.pk]
    assert ids(api.get(URL, q="发票")) == [b.pk]
    assert ids(api.get(URL, q=a.reference)) == [a.pk]
    assert ids(api.get(URL, q="SO-1")) == [a.pk]
    assert sorted(ids(api.get(URL, status="assigned"))) == sorted([a.pk, b.pk])
    assert ids(api.get(URL, ordering="reference")) == [a.pk, b.pk, c.pk]
    assert ids(api.get(URL, ordering="-reference")) == [c.pk, b.pk, a.pk]
    page = api.get(URL, ordering="reference", limit=1, offset=1).json()
    assert page["count"] == 3 and [t["id"] for t in page["items"]] == [b.pk]
    r = api.get(URL, ordering="customer_email")
    assert r.status_code == 400 and r.json()["code"] == "invalid_ordering"
    r = api.get(URL, status="bogus")
    assert r.status_code == 400 and r.json()["code"] == "invalid_filter"
    r = api.get(URL, csat="9")
    assert r.status_code == 400


def test_list_is_scoped(api_for, users, team):
    mine = make_ticket(owner=users["agent"])
    other_team = Team.objects.create(name="售后二组")
    elsewhere = make_ticket(subject="别组的")
    Ticket.all_objects.filter(pk=elsewhere.pk).update(team=other_team)
    agent_ids = [t["id"] for t in api_for("agent").get(URL).json()["items"]]
    assert agent_ids == [mine.pk]
    assert api_for("rep1").get(URL).json()["count"] == 0
    assert api_for("auditor").get(URL).json()["count"] == 0
    assert api_for("marketer").get(URL).json()["count"] == 2  # marketers view everything


def test_without_token_is_401(client, users):
    ticket = make_ticket(owner=users["agent"])
    for method, url in (("get", URL), ("get", f"{URL}/{ticket.pk}"), ("post", f"{URL}/{ticket.pk}/reply"),
                        ("get", "/api/v1/ticket-categories")):
        r = getattr(client, method)(url)
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
    r = client.get(URL, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert r.status_code == 401


# -- commands -----------------------------------------------------------------------------------------


def test_conversation_status_and_history(api_for, users, settings):
    settings.GUANXI_SITE_URL = "https://crm.example.com"
    api = api_for("agent")
    ticket = make_ticket(owner=users["agent"])
    url = f"{URL}/{ticket.pk}"
    r = api.post(f"{url}/reply", {"body": "您好，师傅明天上门。", "version": ticket.version})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["message"]["kind"] == "reply" and body["message"]["author"] == users["agent"].pk
    assert body["ticket"]["status"] == "in_progress" and body["ticket"]["first_responded_at"]
    assert body["ticket"]["reply_count"] == 1
    assert OutboundEmail.objects.filter(to="zhang@example.com").count() == 1
    r = api.post(f"{url}/notes", {"body": "客户比较着急"})
    assert r.status_code == 201 and r.json()["message"]["kind"] == "note"
    assert OutboundEmail.objects.count() == 1  # notes are never emailed
    svc.ticket_customer_reply(ticket=Ticket.objects.get(pk=ticket.pk), body="谢谢")
    messages = api.get(f"{url}/messages").json()
    assert messages["count"] == 3
    assert [m["kind"] for m in messages["items"]] == ["reply", "note", "customer"]
    r = api.post(f"{url}/status", {"status": "resolved", "note": "已更换"})
    assert r.status_code == 200 and r.json()["status"] == "resolved" and r.json()["resolved_at"]
    version = r.json()["version"]
    r = api.post(f"{url}/status", {"status": "waiting"})
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    r = api.post(f"{url}/status", {"status": "closed", "version": version - 1})
    assert r.status_code == 409 and r.json()["code"] == "stale_version"
    r = api.post(f"{url}/status", {"status": "closed", "version": version})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    r = api.post(f"{url}/reply", {"body": "还在吗"})
    assert r.status_code == 409 and r.json()["code"] == "ticket_closed"
    r = api.post(f"{url}/status", {"status": "in_progress"})  # reopen
    assert r.status_code == 200 and r.json()["reopened_count"] == 1
    events = api.get(f"{url}/events").json()
    kinds = [e["kind"] for e in events["items"]]
    assert kinds[0] == "created" and kinds.count("status") >= 4
    assert events["count"] == len(kinds)
    assert api.get(f"{url}/events", limit=1).json()["count"] == events["count"]


def test_assign_take_and_escalate(api_for, users, team):
    ticket = make_ticket()
    Ticket.all_objects.filter(pk=ticket.pk).update(team=team)
    url = f"{URL}/{ticket.pk}"
    r = api_for("agent2").post(f"{url}/take")
    assert r.status_code == 200, r.content
    assert r.json()["owner"] == users["agent2"].pk and r.json()["status"] == "assigned"
    r = api_for("supervisor").post(f"{url}/assign", {"owner": users["agent"].pk})
    assert r.status_code == 200 and r.json()["owner"] == users["agent"].pk
    assert AuditEvent.objects.filter(action=AuditAction.TICKET_ASSIGN, record_id=ticket.pk).count() == 2
    r = api_for("supervisor").post(f"{url}/assign", {"owner": users["rep1"].pk})  # outside their scope
    assert r.status_code == 422 and "owner" in r.json()["errors"]
    r = api_for("supervisor").post(f"{url}/assign", {"owner": 10**9})
    assert r.status_code == 422 and "owner" in r.json()["errors"]
    r = api_for("agent").post(f"{url}/escalate")
    assert r.status_code == 200 and r.json()["escalated_to"] == users["supervisor"].pk
    assert r.json()["escalated_at"]


def test_status_link(api_for, users, settings):
    settings.GUANXI_SITE_URL = "https://crm.example.com"
    api = api_for("agent")
    ticket = make_ticket(owner=users["agent"])
    url = f"{URL}/{ticket.pk}/status-link"
    link = api.get(url).json()
    assert link["active"] and "/support/t/" in link["url"]
    r = api.post(f"{url}/revoke")
    assert r.json() == {"active": False, "url": ""}
    token = link["url"].rstrip("/").rsplit("/", 1)[-1]
    assert svc.ticket_from_token(token) is None
    r = api.post(f"{url}/renew", {"send": False})
    assert r.json()["active"] and r.json()["url"] != link["url"]
    assert OutboundEmail.objects.count() == 0
    r = api.post(f"{url}/renew")
    assert r.status_code == 200 and OutboundEmail.objects.count() == 1
    assert api_for("marketer").get(url).status_code == 403  # needs change, not just view


# -- scope and roles ----------------------------------------------------------------------------------

COMMANDS = [("post", "assign", "owner"), ("post", "take", None), ("post", "reply", {"body": "x"}),
            ("post", "notes", {"body": "x"}), ("post", "status", {"status": "resolved"}),
            ("post", "escalate", None), ("post", "status-link/revoke", None), ("post", "status-link/renew", None),
            ("get", "status-link", None), ("patch", "", {"version": 1, "subject": "hijacked"}),
            ("delete", "", None)]


def _call(api, method, url, body, users):
    if body == "owner":
        body = {"owner": users["agent2"].pk}
    if method == "get":
        return api.get(url)
    if method == "delete":
        return api.delete(url)
    return getattr(api, method)(url, body or {})


@pytest.mark.parametrize("username", ["rep1", "agent2_elsewhere", "marketer", "auditor"])
def test_no_change_outside_scope_or_role(api_for, users, team, username):
    ticket = make_ticket(owner=users["agent"])
    if username == "agent2_elsewhere":  # an agent of another team
        users["agent2"].team = Team.objects.create(name="售后二组")
        users["agent2"].save()
        username = "agent2"
    api = api_for(username)
    before = state(ticket)
    for method, command, body in COMMANDS:
        url = f"{URL}/{ticket.pk}" + (f"/{command}" if command else "")
        r = _call(api, method, url, body, users)
        expected = {403} if username in ("marketer", "auditor") and command else {404}
        if username == "marketer" and not command:
            expected = {404}  # PATCH / DELETE look the ticket up in the change / delete scope
        if username == "rep1" and command == "assign":
            expected = {403}  # a sales rep may not assign tickets to others at all
        assert r.status_code in expected, (username, method, command, r.status_code, r.content)
        assert r.json()["code"] in ("not_found", "forbidden")
    for read in ("", "/messages", "/events"):
        r = api.get(f"{URL}/{ticket.pk}{read}")
        if username == "marketer":
            assert r.status_code == 200
        else:
            assert r.status_code in (403, 404), (username, read)
    assert state(ticket) == before


def test_agent_without_assign_to_others_gets_403(api_for, users):
    """rep1 (sales rep: no assign permission) may change their own ticket but not hand it on."""
    ticket = make_ticket(owner=users["rep1"])
    before = state(ticket)
    r = api_for("rep1").post(f"{URL}/{ticket.pk}/assign", {"owner": users["rep2"].pk})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert state(ticket) == before
    r = api_for("rep1").post(f"{URL}/{ticket.pk}/notes", {"body": "own ticket"})
    assert r.status_code == 201


def test_marketer_cannot_create(api_for):
    r = api_for("marketer").post(URL, {"subject": "x"})
    assert r.status_code == 403
    assert not Ticket.all_objects.exists()


# -- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    {"subject": "a\x00b"},
    {"subject": "x" * 201},
    {"subject": ""},
    {"subject": ["x"]},
    {"subject": "x", "priority": 5},
    {"subject": "x", "priority": "asap"},
    {"subject": "x", "category": 10**30},
    {"subject": "x", "category": 999999},
    {"subject": "x", "account": -1},
    {"subject": "x", "customer_email": "not an email"},
    {"subject": "x", "customer_phone": "abc"},
    {"subject": "x", "tags": "vip"},
    {"subject": "x", "custom": {"k": "\x00"}},
    {"subject": "x", "description": "d" * 10_001},
    {"subject": "x", "language": "fr"},
])
def test_bad_create_input_is_422(api_for, body):
    r = api_for("agent").post(URL, body)
    assert r.status_code == 422, (body, r.content)
    assert r.json()["code"] == "invalid_input" and r.json()["errors"]
    assert not Ticket.all_objects.exists()


def test_bad_command_input_is_4xx(api_for, users):
    api = api_for("agent")
    ticket = make_ticket(owner=users["agent"])
    url = f"{URL}/{ticket.pk}"
    before = state(ticket)
    cases = [
        ("reply", {"body": "a\x00"}), ("reply", {"body": ""}), ("reply", {"body": "x" * 20_001}),
        ("reply", {}), ("reply", {"body": 5}), ("notes", {"body": None}), ("status", {"status": "done"}),
        ("status", {"status": "resolved", "version": "one"}), ("status", {"status": "resolved", "note": "\x00"}),
        ("assign", {"owner": "agent"}), ("assign", {"owner": 10**20}), ("assign", {"owner": users["agent"].pk,
                                                                                     "team": 10**9}),
        ("status-link/renew", {"send": "sometimes"}),
    ]
    for command, body in cases:
        r = api.post(f"{url}/{command}", body)
        assert r.status_code == 422, (command, body, r.content)
    for raw in ("[1]", '"x"', "{", "null"):
        r = api.post(f"{url}/reply", raw=raw)
        assert r.status_code in (400, 422), (raw, r.content)
    assert state(ticket) == before
    for path in (f"{URL}/99999999999999999999", f"{URL}/0/reply", f"{URL}/abc/events", f"{URL}/-1"):
        r = api.get(path) if "reply" not in path else api.post(path, {"body": "x"})
        assert r.status_code in (404, 422), (path, r.status_code)
    assert api.get(f"{URL}/{ticket.pk + 1000}").status_code == 404
    assert api.get(f"{url}/messages", limit=10**9).status_code == 422
    r = api.patch(url, {"version": ticket.version, "subject": None, "priority": None})
    assert r.status_code == 200 and r.json()["subject"] == ticket.subject  # null = unchanged for required fields
    r = api.patch(url, {"subject": "no version"})
    assert r.status_code == 422


def test_inactive_category_is_refused_for_new_tickets_but_kept(api_for, users):
    api = api_for("agent")
    category = TicketCategory.objects.get(name="Refund")
    ticket = make_ticket(owner=users["agent"], category=category)
    TicketCategory.objects.filter(pk=category.pk).update(is_active=False)
    r = api.post(URL, {"subject": "x", "category": category.pk})
    assert r.status_code == 422 and "category" in r.json()["errors"]
    r = api.patch(f"{URL}/{ticket.pk}", {"version": ticket.version, "category": category.pk, "subject": "y"})
    assert r.status_code == 200


def test_hidden_company_is_refused(api_for, users):
    from guanxi.customers.tests.factories import AccountFactory

    hidden = AccountFactory(owner=users["rep2"])
    r = api_for("rep1").post(URL, {"subject": "x", "account": hidden.pk})
    assert r.status_code == 422 and "account" in r.json()["errors"]


def test_english_error_text(api_for, users):
    users["agent"].language = "en"
    users["agent"].save()
    ticket = make_ticket(owner=users["agent"])
    svc.ticket_set_status(actor=users["agent"], ticket=ticket, status="closed")
    r = api_for("agent").post(f"{URL}/{ticket.pk}/status", {"status": "waiting"})
    assert r.status_code == 409 and "cannot go from" in r.json()["detail"]


# -- the OpenAPI schema -------------------------------------------------------------------------------

_schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application()).include(
    path_regex=r"^/api/v1/(tickets|ticket-categories|sla-policies)")


@pytest.fixture
def bearer_agent(db):
    """An agent with a ticket (id 1) to act on; the WSGI app runs in this thread and test transaction."""
    from django.core import signals
    from django.db import close_old_connections

    from guanxi.customers.demo import seed_users

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    users = seed_users()
    ticket = make_ticket(owner=users["agent"], id=1,
                         category=TicketCategory.objects.filter(parent__isnull=False).first())
    svc.ticket_reply(actor=users["agent"], ticket=ticket, body="已收到")
    _token, raw = ApiToken.issue(user=users["agent"], name="schemathesis")
    yield f"Bearer {raw}"
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@_schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_ticket_operations_conform_to_the_schema(case, bearer_agent):
    case.call_and_validate(headers={"Authorization": bearer_agent}, checks=[
        not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance])
