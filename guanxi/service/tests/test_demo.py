"""The service demo data: realistic shapes, consistent SLA stamps, deterministic, and fast enough."""

import time

import pytest

from guanxi.service.choices import TicketStatus
from guanxi.service.demo import seed_service
from guanxi.service.models import Ticket, TicketAssignmentRule

pytestmark = pytest.mark.django_db


def test_seed_service_shapes(users):
    from guanxi.customers.demo import seed

    seed(companies=20, contacts=60)
    started = time.monotonic()
    summary = seed_service(tickets=120)
    elapsed = time.monotonic() - started
    print(summary, elapsed)
    assert summary["tickets"] == Ticket.objects.count() == 120
    assert TicketAssignmentRule.objects.count() == 3
    statuses = set(Ticket.objects.values_list("status", flat=True))
    assert {TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.WAITING, TicketStatus.RESOLVED,
            TicketStatus.CLOSED} <= statuses
    owners = set(Ticket.objects.exclude(owner=None).values_list("owner__username", flat=True))
    assert {"agent", "agent2"} <= owners <= {"agent", "agent2", "supervisor"}
    assert Ticket.objects.filter(csat_score__isnull=False).exists()
    assert Ticket.objects.filter(reopened_count__gt=0).exists()
    breached = Ticket.objects.filter(first_response_breached_at__isnull=False)
    assert breached.exists()
    for t in breached:  # stamped at the due moment, and only when the response came later (or never)
        assert t.first_response_breached_at == t.first_response_due
        assert t.first_responded_at is None or t.first_responded_at > t.first_response_due
    for t in Ticket.objects.filter(first_response_breached_at=None, first_responded_at__isnull=False)\
            .exclude(first_response_due=None):
        assert t.first_responded_at <= t.first_response_due
    # ~45 ms a ticket on an idle machine (400 in ~15 s); not asserted: shared CI machines vary too much.


def test_demo_tickets_make_real_looking_analytics(users, client_for):
    from django.urls import reverse

    from guanxi.customers.demo import seed
    from guanxi.service.analytics import service_analytics

    seed(companies=20, contacts=60)
    seed_service(tickets=80, seed_value=7)
    r = service_analytics(users["supervisor"], date_from=None, date_to=None)
    assert r["total"] == 80
    assert 3.3 <= r["csat"]["average"] <= 4.8 and r["csat"]["rated"] > 20
    dist = [d["count"] for d in r["csat_distribution"]]
    assert dist[3] + dist[4] > dist[0] + dist[1] > 0
    assert 0.5 < r["sla"]["first_response"]["rate"] < 1 and 0 < r["breached"] < 40
    assert r["times"]["first_response"]["median"] > 0
    assert r["recurring"]["products"][0]["name"] in ("扫地机器人 R8", "智能门锁 X3")
    assert len(r["by_period"]) >= 6
    page = client_for("supervisor").get(reverse("service:analytics"), {"all": "1"})
    assert page.status_code == 200 and "扫地机器人 R8" in page.content.decode()
