"""The audit rows of the ticket commands (the TICKET_* entries of core/tests/test_audit.py's catalogue):
each command writes exactly one row of its action, with the actor, the ticket and what changed, and no
customer text; a refused command writes none."""

import pytest
from django.core.exceptions import ValidationError

from guanxi.core.audit import audit_verify
from guanxi.core.choices import AuditAction, AuditOutcome
from guanxi.core.models import AuditEvent
from guanxi.service import ticket_services as svc
from guanxi.service.choices import TicketStatus

pytestmark = pytest.mark.django_db


def last_id():
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def one_row(since, *, action, actor, ticket):
    """The single audit row written since `since`, checked for who, what and which record."""
    rows = list(AuditEvent.objects.filter(pk__gt=since).order_by("pk"))
    assert [r.action for r in rows] == [action], [(r.action, r.record_label) for r in rows]
    row = rows[0]
    assert row.outcome == AuditOutcome.SUCCESS
    assert row.actor_id == (actor.pk if actor else None)
    assert row.actor_label == (actor.get_username() if actor else "")
    assert (row.record_type, row.record_id, row.record_label) == ("service.ticket", ticket.pk, str(ticket))
    assert len(row.hash) == 64
    return row


def ref(user):
    return {"id": user.pk, "label": str(user)}


@pytest.fixture
def ticket(users):
    return svc.ticket_create(actor=users["agent"], fields={
        "subject": "屏幕碎了", "description": "收到时屏幕已经碎了", "priority": "high", "owner": users["agent"],
        "customer_name": "张先生", "customer_email": "zhang@example.com"})


def test_ticket_assign(users, ticket):
    supervisor, agent, agent2 = users["supervisor"], users["agent"], users["agent2"]
    since = last_id()
    svc.ticket_assign(actor=supervisor, ticket=ticket, owner=agent2)
    row = one_row(since, action=AuditAction.TICKET_ASSIGN, actor=supervisor, ticket=ticket)
    assert row.data == {"changes": {"owner": [ref(agent), ref(agent2)]}, "method": "manual"}
    # Assigning to someone outside the actor's scope is refused and leaves no row.
    since = last_id()
    with pytest.raises(ValidationError):
        svc.ticket_assign(actor=agent, ticket=ticket, owner=users["rep1"])
    assert last_id() == since


def test_ticket_assign_by_rule_names_the_rule(users):
    from guanxi.service.models import TicketAssignmentRule

    rule = TicketAssignmentRule.objects.create(name="全部", team=users["agent"].team)
    since = last_id()
    ticket = svc.ticket_create(actor=None, fields={"subject": "网上投诉", "channel": "web"})
    rows = list(AuditEvent.objects.filter(pk__gt=since, action=AuditAction.TICKET_ASSIGN))
    assert len(rows) == 1 and rows[0].actor_id is None and rows[0].record_id == ticket.pk
    assert rows[0].data["rule"] == rule.pk and rows[0].data["method"] == "round_robin"


def test_ticket_status(users, ticket):
    agent = users["agent"]
    since = last_id()
    svc.ticket_set_status(actor=agent, ticket=ticket, status=TicketStatus.RESOLVED, note="已换货")
    row = one_row(since, action=AuditAction.TICKET_STATUS, actor=agent, ticket=ticket)
    assert row.data == {"changes": {"status": ["assigned", "resolved"]}}
    assert "已换货" not in str(row.data)
    # Reopen is a status change too.
    since = last_id()
    svc.ticket_set_status(actor=agent, ticket=ticket, status=TicketStatus.IN_PROGRESS)
    row = one_row(since, action=AuditAction.TICKET_STATUS, actor=agent, ticket=ticket)
    assert row.data == {"changes": {"status": ["resolved", "in_progress"]}}
    # A transition the workflow refuses writes nothing.
    since = last_id()
    with pytest.raises(svc.TicketStateError):
        svc.ticket_set_status(actor=agent, ticket=ticket, status=TicketStatus.NEW)
    assert last_id() == since


def test_ticket_escalate(users, ticket):
    agent, supervisor = users["agent"], users["supervisor"]
    since = last_id()
    svc.ticket_escalate(actor=agent, ticket=ticket, reason="manual")
    row = one_row(since, action=AuditAction.TICKET_ESCALATE, actor=agent, ticket=ticket)
    assert row.data == {"reason": "manual", "to": ref(supervisor)}


def test_ticket_reply(users, ticket):
    agent = users["agent"]
    since = last_id()
    body = "您好，我们马上为您换货"
    message = svc.ticket_reply(actor=agent, ticket=ticket, body=body)
    row = one_row(since, action=AuditAction.TICKET_REPLY, actor=agent, ticket=ticket)
    assert row.data == {"message": message.pk, "length": len(body)}
    assert body not in str(row.data)  # the conversation stays in the ticket, not in the audit trail
    # An internal note is not a customer-facing command: no row.
    since = last_id()
    svc.ticket_note(actor=agent, ticket=ticket, body="内部备注")
    assert last_id() == since


def test_ticket_rate(users, ticket):
    svc.ticket_set_status(actor=users["agent"], ticket=ticket, status=TicketStatus.RESOLVED)
    since = last_id()
    svc.ticket_rate(ticket=ticket, score=4, comment="还不错")
    row = one_row(since, action=AuditAction.TICKET_RATE, actor=None, ticket=ticket)
    assert row.data == {"score": 4}
    since = last_id()
    with pytest.raises(svc.TicketStateError):
        svc.ticket_rate(ticket=ticket, score=5)
    assert last_id() == since


def test_ticket_link(users, ticket):
    agent = users["agent"]
    since = last_id()
    svc.ticket_link_revoke(actor=agent, ticket=ticket)
    row = one_row(since, action=AuditAction.TICKET_LINK, actor=agent, ticket=ticket)
    assert row.data == {"command": "revoke"}
    since = last_id()
    svc.ticket_link_renew(actor=agent, ticket=ticket, send=False)
    row = one_row(since, action=AuditAction.TICKET_LINK, actor=agent, ticket=ticket)
    assert row.data == {"command": "renew"}
    assert audit_verify().ok
