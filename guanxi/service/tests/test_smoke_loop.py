import pytest

from guanxi.service import ticket_services as svc
from guanxi.service.choices import TicketStatus
from guanxi.service.models import Ticket, TicketAssignmentRule, TicketCategory


@pytest.mark.django_db
def test_loop(users):
    quality = TicketCategory.objects.get(name="Product quality")
    TicketAssignmentRule.objects.create(name="q", category=quality, team=users["agent"].team)
    child = TicketCategory.objects.get(name="Packaging damaged")
    t = svc.ticket_create(actor=None, fields={"subject": "Box broken", "category": child, "customer_name": "Zhang",
                                              "customer_email": "z@example.com", "channel": "web"})
    t.refresh_from_db()
    assert t.owner in (users["agent"], users["agent2"])
    assert t.status == TicketStatus.ASSIGNED
    assert t.first_response_due and t.resolution_due and t.sla_policy
    token = svc.status_token(t)
    assert svc.ticket_from_token(token) == t
    svc.ticket_reply(actor=t.owner, ticket=t, body="Sorry, sending a new one")
    svc.ticket_customer_reply(ticket=t, body="thanks")
    svc.ticket_set_status(actor=t.owner, ticket=t, status=TicketStatus.RESOLVED)
    svc.ticket_rate(ticket=t, score=5, comment="great")
    t.refresh_from_db()
    assert t.csat_score == 5 and t.first_responded_at and t.resolved_at
    svc.ticket_escalate(actor=None, ticket=t, reason="resolution")
    t.refresh_from_db()
    assert t.escalated_to == users["supervisor"]
    svc.ticket_link_revoke(actor=t.owner, ticket=t)
    assert svc.ticket_from_token(token) is None
    assert Ticket.objects.restrict(users["agent"], "view").filter(pk=t.pk).exists()
    assert not Ticket.objects.restrict(users["rep1"], "view").filter(pk=t.pk).exists()
    from guanxi.integrations.models import OutboundEmail
    subjects = list(OutboundEmail.objects.values_list("subject", flat=True))
    assert len(subjects) == 3, subjects  # created, reply, resolved
    print(subjects)


@pytest.mark.django_db
def test_ticket_no_rule_waits_in_creators_team_queue(users):
    rep1 = users["rep1"]
    t = svc.ticket_create(actor=rep1, fields={"subject": "Invoice wrong", "channel": "phone"})
    t.refresh_from_db()
    assert t.owner is None and t.team == rep1.team and t.status == TicketStatus.NEW
    assert Ticket.objects.restrict(rep1, "view").filter(pk=t.pk).exists()
    assert Ticket.objects.restrict(users["rep2"], "change").filter(pk=t.pk).exists()
    assert not Ticket.objects.restrict(users["rep3"], "view").filter(pk=t.pk).exists()
