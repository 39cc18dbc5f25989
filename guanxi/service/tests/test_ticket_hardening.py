"""Defects found in review, each pinned by a test: masked data after a command, teams chosen on assign,
SLA clocks on a reopened ticket whose category changes, edits that must not undo the SLA sweep, a known
customer's link sent only to their address, and the first-response compliance of unanswered tickets."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from guanxi.core.models import Team
from guanxi.customers.tests.factories import ContactFactory
from guanxi.service import analytics
from guanxi.service import ticket_services as svc
from guanxi.service.choices import TicketStatus
from guanxi.service.models import Ticket
from guanxi.service.sla_jobs import sla_sweep
from guanxi.service.tests.test_complaint_form import submit

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def make(users, **fields):
    data = {"subject": "Lid leaks", "customer_email": "secret.person@example.com", "owner": users["agent"]}
    data.update(fields)
    return svc.ticket_create(actor=users["agent"], fields=data)


def test_the_refreshed_panels_after_a_command_keep_personal_data_masked(users, client_for):
    ticket = make(users)
    agent = client_for("agent")
    page = agent.get(ticket.get_absolute_url()).content.decode()
    assert "secret.person@example.com" not in page
    response = agent.post(reverse("service:ticket_note", args=[ticket.pk]), {"body": "checked"}, **HX)
    assert response.status_code == 200
    assert "secret.person@example.com" not in response.content.decode()


def test_a_ticket_goes_to_the_queue_of_its_agents_team_only(users):
    ticket = make(users)
    other = Team.objects.get(name="华东销售一组")
    before = Ticket.objects.values_list("team_id", "owner_id").get(pk=ticket.pk)
    with pytest.raises(ValidationError) as e:
        svc.ticket_assign(actor=users["agent"], ticket=ticket, owner=users["agent"], team=other)
    assert "team" in e.value.message_dict
    assert Ticket.objects.values_list("team_id", "owner_id").get(pk=ticket.pk) == before


def test_the_api_refuses_a_foreign_team_and_changes_nothing(users, client):
    from guanxi.core.models import ApiToken

    ticket = make(users)
    _t, raw = ApiToken.issue(user=users["agent"], name="t")
    other = Team.objects.get(name="华东销售一组")
    r = client.post(f"/api/v1/tickets/{ticket.pk}/assign", {"owner": users["agent"].pk, "team": other.pk},
                    content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert 400 <= r.status_code < 500 and r.status_code != 404
    assert Ticket.objects.get(pk=ticket.pk).team.name == "客户服务部"


def test_a_category_change_after_a_reopen_keeps_the_reopen_as_the_resolution_start(users):
    start = timezone.now() - datetime.timedelta(days=30)
    ticket = svc.ticket_create(actor=users["agent"], fields={"subject": "x", "owner": users["agent"]}, at=start)
    svc.ticket_reply(actor=users["agent"], ticket=ticket, body="on it", at=start + datetime.timedelta(hours=1))
    svc.ticket_set_status(actor=users["agent"], ticket=ticket, status=TicketStatus.RESOLVED,
                          at=start + datetime.timedelta(days=1))
    svc.ticket_set_status(actor=users["agent"], ticket=ticket, status=TicketStatus.IN_PROGRESS)  # reopen now
    ticket.refresh_from_db()
    svc.ticket_update(ticket=ticket, actor=users["agent"], fields={"priority": "urgent"}, version=ticket.version)
    ticket.refresh_from_db()
    assert ticket.resolution_due > timezone.now()  # urgent: 4 business hours from the reopen, not from a month ago
    assert ticket.resolution_breached_at is None


def test_an_edit_does_not_undo_what_the_sweep_stamped(users):
    ticket = make(users, priority="urgent")
    stale = Ticket.objects.get(pk=ticket.pk)  # a form opened before the sweep (a warning keeps the version)
    at = ticket.first_response_warn_at + datetime.timedelta(seconds=1)
    assert sla_sweep(now=at)["first_response_warning"] == 1
    svc.ticket_update(ticket=stale, actor=users["agent"], fields={"product": "Cup"}, version=stale.version)
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert fresh.first_response_warned_at is not None and fresh.product == "Cup"
    assert sla_sweep(now=at + datetime.timedelta(seconds=1))["first_response_warning"] == 0


def test_a_known_customers_link_goes_to_their_address_only(users, settings, tmp_path):
    from django.core.cache import cache
    from django.test import Client

    settings.MEDIA_ROOT = tmp_path
    cache.clear()
    ContactFactory(name="王伟", email="wang.wei@example.cn", owner=users["rep1"])
    response = submit(Client(enforce_csrf_checks=True), email="wang.wei@example.cn")
    assert response.status_code == 200
    body = response.content.decode()
    assert "/support/t/" not in body and 'id="link-emailed"' in body
    assert Ticket.objects.get().contact is not None


def test_a_ticket_resolved_without_a_reply_has_no_first_response_target(users):
    past = timezone.now() - datetime.timedelta(days=10)
    spam = svc.ticket_create(actor=users["agent"], fields={"subject": "spam", "owner": users["agent"]}, at=past)
    svc.ticket_set_status(actor=users["agent"], ticket=spam, status=TicketStatus.CLOSED,
                          at=past + datetime.timedelta(minutes=5))
    figures = analytics.figures(Ticket.objects.all())
    assert figures["sla"]["first_response"]["total"] == 0
