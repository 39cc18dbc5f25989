"""Tickets on the company and contact timelines: created, resolved and rated, only those the viewer may see."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from guanxi.activities.timeline import Filters, timeline_page
from guanxi.customers.tests.factories import AccountFactory, ContactFactory
from guanxi.service import ticket_services as svc
from guanxi.service.choices import TicketStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def ticket_for(users, owner="agent", at=None, **fields):
    data = {"subject": "Leaking valve", "customer_name": "Li", "owner": users[owner], **fields}
    return svc.ticket_create(actor=users[owner], fields=data, at=at)


def ticket_items(record, user, **filters):
    return [i for i in timeline_page(record, user, filters=Filters(**filters), limit=100).items if i.source == "ticket"]


def test_company_timeline_shows_ticket_milestones(users):
    account = AccountFactory(owner=users["rep1"])
    start = timezone.now() - datetime.timedelta(days=3)
    t = ticket_for(users, account=account, at=start)
    svc.ticket_reply(actor=users["agent"], ticket=t, body="On it")
    svc.ticket_set_status(actor=users["agent"], ticket=t, status=TicketStatus.WAITING)
    svc.ticket_set_status(actor=users["agent"], ticket=t, status=TicketStatus.RESOLVED)
    svc.ticket_rate(ticket=t, score=4, comment="ok")
    items = ticket_items(account, users["agent"])
    with translation.override("en"):
        assert [str(i.kind_label) for i in items] == ["Ticket rated", "Ticket resolved", "Ticket created"]
        assert ("Satisfaction", "4/5") in [(str(k), v) for k, v in items[0].details]
    assert all(i.title == str(t) and i.url == t.get_absolute_url() for i in items)
    # Type filter: "ticket" picks them; another type leaves them out.
    assert len(ticket_items(account, users["agent"], kinds=frozenset({"ticket"}))) == 3
    assert ticket_items(account, users["agent"], kinds=frozenset({"call"})) == []


def test_only_visible_tickets(users):
    account = AccountFactory(owner=users["rep1"])
    ticket_for(users, account=account)
    # rep1 owns the company but sees only their own tickets; the agent's is not on rep1's timeline.
    assert ticket_items(account, users["rep1"]) == []
    own = ticket_for(users, owner="rep1", account=account, subject="Rep's own ticket")
    items = ticket_items(account, users["rep1"])
    assert [i.title for i in items] == [str(own)]
    assert len(ticket_items(account, users["supervisor"])) == 1  # the supervisor sees the team's ticket
    assert len(ticket_items(account, users["admin"])) == 2


def test_contact_timeline_and_company_via_contact(users):
    account = AccountFactory(owner=users["rep1"])
    contact = ContactFactory(owner=users["rep1"], companies=[account])
    t = ticket_for(users, contact=contact)
    assert [i.title for i in ticket_items(contact, users["agent"])] == [str(t)]
    # A company's timeline covers its contacts: their tickets show there too.
    assert [i.title for i in ticket_items(account, users["agent"])] == [str(t)]


def test_company_page_timeline_renders_ticket_escaped(users, client_for):
    account = AccountFactory(owner=users["agent"])
    t = ticket_for(users, account=account, subject="<script>alert(1)</script>")
    users["agent"].language = "en"
    users["agent"].save(update_fields=["language"])
    timeline = reverse("activities:timeline", args=["customers.account", account.pk])
    html = client_for("agent").get(timeline).content.decode()
    assert "Ticket created" in html and t.get_absolute_url() in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_paging_through_ticket_items(users):
    account = AccountFactory(owner=users["agent"])
    base = timezone.now() - datetime.timedelta(days=10)
    for i in range(5):
        ticket_for(users, account=account, at=base + datetime.timedelta(hours=i), subject=f"T{i}")
    seen, cursor = [], None
    while True:
        page = timeline_page(account, users["agent"], filters=Filters(kinds=frozenset({"ticket"})), cursor=cursor,
                             limit=2)
        seen += [i.title for i in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(seen) == 5 and len(set(seen)) == 5
