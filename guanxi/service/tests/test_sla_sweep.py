"""The SLA sweep with an injected clock: each warning and breach fires once (event, notification,
escalation, audit row) however often the sweep runs, also from two connections at once; answered,
resolved and reopened tickets; the partial indexes; the periodic job.

An urgent ticket created on Wednesday 2026-03-04 09:00 (Shanghai): first response warned 09:15, due 09:30;
resolution warned 13:45, due 14:00 (business time, lunch 12:00–13:00).
"""

import datetime
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections
from django.utils import translation

from guanxi.core.choices import AuditAction
from guanxi.core.models import AuditEvent, Notification
from guanxi.service import ticket_services as svc
from guanxi.service.choices import TicketEventKind, TicketStatus
from guanxi.service.models import Ticket, TicketEvent
from guanxi.service.sla_jobs import MOMENTS, due_ids, due_queryset, sla_sweep

SH = ZoneInfo("Asia/Shanghai")
NOTHING = {"first_response_warning": 0, "first_response_breach": 0, "resolution_warning": 0,
           "resolution_breach": 0}


def t(y, m, d, h=0, mi=0):
    return datetime.datetime(y, m, d, h, mi, tzinfo=SH)


def fired(**counts):
    return {**NOTHING, **counts}


def urgent(users, subject="Broken", at=None):
    agent = users["agent"]
    return svc.ticket_create(actor=agent, fields={"subject": subject, "priority": "urgent", "owner": agent},
                             at=at or t(2026, 3, 4, 9))


def events(ticket, kind):
    return list(TicketEvent.objects.filter(ticket=ticket, kind=kind).order_by("at", "id"))


def escalations(ticket):
    return list(AuditEvent.objects.filter(action=AuditAction.TICKET_ESCALATE, record_type="service.ticket",
                                          record_id=ticket.pk).order_by("pk"))


def notes(user, kind):
    return list(Notification.objects.filter(user=user, kind=kind).order_by("pk"))


@pytest.mark.django_db
class TestSweep:
    def test_warning_then_breach_each_exactly_once(self, users):
        agent, supervisor = users["agent"], users["supervisor"]
        agent.language = "en"
        agent.save(update_fields=["language"])
        ticket = urgent(users)
        ticket.refresh_from_db()
        assert (ticket.first_response_warn_at, ticket.first_response_due) == (t(2026, 3, 4, 9, 15),
                                                                               t(2026, 3, 4, 9, 30))
        assert sla_sweep(now=t(2026, 3, 4, 9, 14)) == NOTHING
        assert not TicketEvent.objects.filter(kind__in=["sla_warning", "sla_breach"]).exists()
        version = ticket.version

        for _i in range(3):  # first-response warning
            sla_sweep(now=t(2026, 3, 4, 9, 16))
        assert sla_sweep(now=t(2026, 3, 4, 9, 17)) == NOTHING
        ticket.refresh_from_db()
        assert ticket.first_response_warned_at == t(2026, 3, 4, 9, 16)
        [warning] = events(ticket, TicketEventKind.SLA_WARNING)
        assert warning.actor is None and warning.data["target"] == "first_response"
        [note] = notes(agent, "ticket_sla_warning")
        assert note.title == f"SLA due soon: {ticket}" and "due by" in note.body
        assert note.url == ticket.get_absolute_url()
        assert events(ticket, TicketEventKind.SLA_BREACH) == [] and escalations(ticket) == []
        # The warning stamp does not bump the version: an agent's open form does not conflict.
        assert ticket.version == version

        assert sla_sweep(now=t(2026, 3, 4, 9, 31)) == fired(first_response_breach=1)
        for _i in range(3):
            assert sla_sweep(now=t(2026, 3, 4, 9, 32 + _i)) == NOTHING
        ticket.refresh_from_db()
        assert ticket.first_response_breached_at == t(2026, 3, 4, 9, 31)
        assert ticket.escalated_at == t(2026, 3, 4, 9, 31) and ticket.escalated_to == supervisor
        [breach] = events(ticket, TicketEventKind.SLA_BREACH)
        due = t(2026, 3, 4, 9, 30).astimezone(datetime.UTC).isoformat()
        assert breach.data == {"target": "first_response", "due": due}
        [escalated] = events(ticket, TicketEventKind.ESCALATED)
        assert escalated.data["reason"] == "first_response" and escalated.data["to"] == supervisor.pk
        [row] = escalations(ticket)
        assert row.actor_id is None and row.data == {"reason": "first_response",
                                                     "to": {"id": supervisor.pk, "label": str(supervisor)}}
        assert len(notes(supervisor, "ticket_escalated")) == 1
        assert len(notes(agent, "ticket_sla_breach")) == 1

        # The resolution clock: its own warning, breach and (second) escalation, each once.
        assert sla_sweep(now=t(2026, 3, 4, 13, 46)) == fired(resolution_warning=1)
        assert sla_sweep(now=t(2026, 3, 4, 13, 47)) == NOTHING
        assert sla_sweep(now=t(2026, 3, 4, 14, 1)) == fired(resolution_breach=1)
        assert sla_sweep(now=t(2026, 3, 5, 9)) == NOTHING
        assert [e.data["target"] for e in events(ticket, TicketEventKind.SLA_WARNING)] == [
            "first_response", "resolution"]
        assert [e.data["reason"] for e in events(ticket, TicketEventKind.ESCALATED)] == [
            "first_response", "resolution"]
        assert [r.data["reason"] for r in escalations(ticket)] == ["first_response", "resolution"]
        assert len(notes(supervisor, "ticket_escalated")) == 2
        ticket.refresh_from_db()
        assert ticket.escalated_at == t(2026, 3, 4, 9, 31)  # the first escalation's time stays

    def test_notification_in_the_recipients_language(self, users):
        agent = users["agent"]
        agent.language = "zh-hans"
        agent.save(update_fields=["language"])
        ticket = urgent(users)
        with translation.override("en"):  # the sweep's own language does not matter
            sla_sweep(now=t(2026, 3, 4, 9, 16))
        [note] = notes(agent, "ticket_sla_warning")
        with translation.override("zh-hans"):
            assert note.title == translation.gettext("SLA due soon: %(ticket)s") % {"ticket": ticket}

    def test_answered_in_time_never_warns(self, users):
        ticket = urgent(users)
        svc.ticket_reply(actor=users["agent"], ticket=ticket, body="On it", at=t(2026, 3, 4, 9, 10))
        for minute in (16, 31, 59):
            assert sla_sweep(now=t(2026, 3, 4, 9, minute)) == NOTHING
        ticket.refresh_from_db()
        assert ticket.first_response_warned_at is None and ticket.first_response_breached_at is None
        assert not TicketEvent.objects.filter(ticket=ticket, kind__in=["sla_warning", "sla_breach"]).exists()

    def test_resolved_ticket_never_breaches(self, users):
        agent = users["agent"]
        answered = urgent(users, "Answered")
        svc.ticket_reply(actor=agent, ticket=answered, body="Done", at=t(2026, 3, 4, 9, 5))
        svc.ticket_set_status(actor=agent, ticket=answered, status=TicketStatus.RESOLVED, at=t(2026, 3, 4, 9, 6))
        # Closed without a reply: the first-response clock stops with the ticket too.
        silent = urgent(users, "Silent")
        svc.ticket_set_status(actor=agent, ticket=silent, status=TicketStatus.CLOSED, at=t(2026, 3, 4, 9, 6))
        assert sla_sweep(now=t(2026, 3, 9)) == NOTHING
        assert not TicketEvent.objects.filter(kind__in=["sla_warning", "sla_breach", "escalated"]).exists()
        assert escalations(answered) == [] and escalations(silent) == []

    def test_reopen_restarts_the_resolution_clock(self, users):
        agent = users["agent"]
        ticket = urgent(users)
        svc.ticket_reply(actor=agent, ticket=ticket, body="On it", at=t(2026, 3, 4, 9, 5))
        assert sla_sweep(now=t(2026, 3, 4, 14, 1)) == fired(resolution_breach=1)  # warning stamped silently
        svc.ticket_set_status(actor=agent, ticket=ticket, status=TicketStatus.RESOLVED, at=t(2026, 3, 4, 15))
        svc.ticket_set_status(actor=agent, ticket=ticket, status=TicketStatus.IN_PROGRESS, at=t(2026, 3, 5, 17))
        ticket.refresh_from_db()
        assert ticket.resolution_due == t(2026, 3, 6, 12)
        assert ticket.resolution_warned_at is None and ticket.resolution_breached_at is None
        assert sla_sweep(now=t(2026, 3, 6, 11)) == NOTHING
        assert sla_sweep(now=t(2026, 3, 6, 11, 50)) == fired(resolution_warning=1)
        assert sla_sweep(now=t(2026, 3, 6, 12, 1)) == fired(resolution_breach=1)
        assert sla_sweep(now=t(2026, 3, 6, 12, 2)) == NOTHING
        assert len(events(ticket, TicketEventKind.SLA_BREACH)) == 2
        assert len(escalations(ticket)) == 2
        assert len(notes(users["supervisor"], "ticket_escalated")) == 2  # one per breach

    def test_late_sweep_skips_the_stale_warning(self, users):
        ticket = urgent(users)
        assert sla_sweep(now=t(2026, 3, 4, 9, 45)) == fired(first_response_breach=1)
        ticket.refresh_from_db()
        assert ticket.first_response_warned_at is not None  # out of the warning index for good
        assert events(ticket, TicketEventKind.SLA_WARNING) == []
        assert notes(users["agent"], "ticket_sla_warning") == []

    def test_queue_ticket_warns_the_team_manager(self, users):
        agent, supervisor = users["agent"], users["supervisor"]
        ticket = urgent(users)
        svc.ticket_assign(actor=supervisor, ticket=ticket, owner=None, team=agent.team)
        ticket.refresh_from_db()
        assert ticket.owner_id is None and ticket.team == agent.team
        sla_sweep(now=t(2026, 3, 4, 9, 16))
        assert len(notes(supervisor, "ticket_sla_warning")) == 1
        # The breach reaches the manager once, as the escalation.
        sla_sweep(now=t(2026, 3, 4, 9, 31))
        assert len(notes(supervisor, "ticket_escalated")) == 1
        assert notes(supervisor, "ticket_sla_breach") == []

    def test_deleted_tickets_and_batches(self, users):
        tickets = [urgent(users, f"T{i}") for i in range(3)]
        Ticket.all_objects.filter(pk=tickets[0].pk).update(deleted_at=t(2026, 3, 4, 9, 1))
        assert sla_sweep(now=t(2026, 3, 4, 9, 16), batch=1) == fired(first_response_warning=1)
        assert sla_sweep(now=t(2026, 3, 4, 9, 16), batch=1) == fired(first_response_warning=1)
        assert sla_sweep(now=t(2026, 3, 4, 9, 16), batch=1) == NOTHING
        assert events(tickets[0], TicketEventKind.SLA_WARNING) == []

    def test_no_policy_no_clock(self, users):
        from guanxi.service.models import SlaPolicy

        SlaPolicy.objects.update(is_active=False)
        urgent(users)
        assert sla_sweep(now=t(2027, 1, 1)) == NOTHING

    def test_sweep_uses_the_partial_indexes(self, users):
        if connection.vendor != "postgresql":
            pytest.skip("query plans are checked on PostgreSQL")
        urgent(users)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
        names = {"first_response_warn_at": "ticket_fr_warn_idx", "first_response_due": "ticket_fr_due_idx",
                 "resolution_warn_at": "ticket_res_warn_idx", "resolution_due": "ticket_res_due_idx"}
        for moment in MOMENTS:
            plan = due_queryset(moment, t(2026, 3, 5))[:200].explain()
            assert names[moment.at_field] in plan, plan
        assert due_ids(MOMENTS[0], t(2026, 3, 5)) != []

    def test_the_periodic_job_runs_the_sweep(self, users):
        """sla_check through the task backend (the immediate backend in tests), with the real clock."""
        from guanxi.service.tasks import sla_check

        ticket = urgent(users)  # created in March: every moment has passed
        result = sla_check.enqueue()
        assert result.return_value == fired(first_response_breach=1, resolution_breach=1)
        assert sla_check.enqueue().return_value == NOTHING
        assert len(escalations(ticket)) == 2


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_escalate_once(users):
    """Two schedulers' sweeps at the same moment, each on its own database connection."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has a single writer, so the sweeps cannot overlap")
    tickets = [urgent(users, f"Race {i}") for i in range(5)]
    barrier, results, errors = threading.Barrier(2), [], []

    def sweep():
        try:
            barrier.wait()
            results.append(sla_sweep(now=t(2026, 3, 4, 9, 31)))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sum(r["first_response_breach"] for r in results) == 5
    for ticket in tickets:
        assert len(events(ticket, TicketEventKind.SLA_BREACH)) == 1
        assert len(events(ticket, TicketEventKind.ESCALATED)) == 1
        assert len(escalations(ticket)) == 1
    assert len(notes(users["supervisor"], "ticket_escalated")) == 5


def test_sla_check_is_a_periodic_job_every_minute():
    from guanxi.core.scheduler import periodic_jobs

    assert dict(periodic_jobs())["guanxi.service.tasks.sla_check"] == "* * * * *"


@pytest.mark.django_db(transaction=True)
def test_sla_check_jobs_on_two_real_workers_escalate_once(db_job_workers, users):
    """Four sla_check jobs on the database queue, run by two `guanxi worker` processes at once."""
    from django.tasks import TaskResultStatus, task_backends

    from guanxi.service.tasks import sla_check

    ticket = urgent(users)  # created in March: every moment has passed by the real clock
    db_job_workers.wait_ready(db_job_workers.start(2))
    jobs = [sla_check.enqueue() for _i in range(4)]

    def results():
        return [task_backends["default"].get_result(job.id) for job in jobs]

    db_job_workers.wait_until(lambda: all(r.status == TaskResultStatus.SUCCESSFUL for r in results()),
                              message="four sla_check jobs")
    totals = {key: sum(r.return_value[key] for r in results()) for key in NOTHING}
    assert totals == fired(first_response_breach=1, resolution_breach=1)
    assert len(events(ticket, TicketEventKind.SLA_BREACH)) == 2
    assert [r.data["reason"] for r in escalations(ticket)] == ["first_response", "resolution"]
