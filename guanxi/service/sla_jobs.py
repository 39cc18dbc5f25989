"""The SLA sweep the scheduler runs every minute (`guanxi.service.tasks.sla_check`).

For each SLA clock (first response, resolution) and each of its moments (the warning, the due time) it
finds the open tickets whose moment has passed and is not yet stamped, with the range query the partial
indexes on Ticket were made for (ticket_fr_warn_idx, ticket_fr_due_idx, ticket_res_warn_idx,
ticket_res_due_idx: the filters below are exactly their conditions). Then, one ticket per transaction:

- a conditional UPDATE sets the stamp (… WHERE stamp IS NULL AND the clock still runs AND the moment has
  passed). Only the sweep whose UPDATE changed the row goes on, so a warning or breach fires once however
  many sweeps run, even at the same time: on PostgreSQL the second UPDATE waits for the first's row lock
  and then finds the stamp set; SQLite has one writer at a time.
- a warning: a TicketEvent and a notification to the assignee (the team's manager for a ticket still in
  the queue), in their language.
- a breach: a TicketEvent, a notification to the assignee, and the escalation to the team's manager
  (`ticket_escalate`, audited), in the same transaction: if anything fails the stamp rolls back too and
  the next sweep tries again.

Nothing here bumps the ticket's version: the stamps belong to the scheduler, and an agent editing the
ticket at that moment must not get a conflict for it.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from .choices import SlaTarget, TicketEventKind
from .models import Ticket, TicketEvent

log = logging.getLogger(__name__)

# Tickets handled per clock moment and run; more wait for the next run (a minute later).
BATCH = 200


@dataclass(frozen=True)
class Moment:
    target: str  # SlaTarget
    kind: str  # "warning" | "breach"
    at_field: str  # when it fires
    stamp_field: str  # set once it fired
    stop_field: str  # set when the clock stopped (then it never fires)
    due_field: str

    @property
    def index_filter(self):
        """The partial index's condition: the clock runs and the moment has not fired."""
        return {f"{self.stop_field}__isnull": True, f"{self.stamp_field}__isnull": True}


MOMENTS = (
    Moment(SlaTarget.FIRST_RESPONSE, "breach", "first_response_due", "first_response_breached_at",
           "first_responded_at", "first_response_due"),
    Moment(SlaTarget.FIRST_RESPONSE, "warning", "first_response_warn_at", "first_response_warned_at",
           "first_responded_at", "first_response_due"),
    Moment(SlaTarget.RESOLUTION, "breach", "resolution_due", "resolution_breached_at", "resolved_at",
           "resolution_due"),
    Moment(SlaTarget.RESOLUTION, "warning", "resolution_warn_at", "resolution_warned_at", "resolved_at",
           "resolution_due"),
)


def _extra_filter(moment):
    # A ticket resolved (or closed) without a reply no longer waits for its first response.
    return {"resolved_at__isnull": True} if moment.target == SlaTarget.FIRST_RESPONSE else {}


def due_queryset(moment, now):
    """The tickets whose `moment` has passed and not fired, oldest first: a range scan of its partial index."""
    return (Ticket.objects.filter(**moment.index_filter, **_extra_filter(moment), **{f"{moment.at_field}__lte": now})
            .order_by(moment.at_field).values_list("pk", flat=True))


def due_ids(moment, now, limit=BATCH):
    return list(due_queryset(moment, now)[:limit])


def _stamp(moment, pk, now):
    """The conditional UPDATE: True only for the one sweep that fired this moment."""
    return bool(Ticket.all_objects.filter(
        pk=pk, deleted_at__isnull=True, **moment.index_filter, **_extra_filter(moment),
        **{f"{moment.at_field}__lte": now},
    ).update(**{moment.stamp_field: now}))


def _recipient(moment, ticket):
    """Who hears about a warning or breach: the assignee. A warning on a ticket still in a queue goes to
    the team's manager; a breach reaches them anyway, as the escalation."""
    from .ticket_services import escalation_target

    if ticket.owner_id:
        return ticket.owner
    return escalation_target(ticket) if moment.kind == "warning" else None


def _when(due, user):
    """The due time in the recipient's time zone, in their language's format."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(getattr(user, "timezone", "") or "Asia/Shanghai")
    return formats.date_format(due.astimezone(tz), "SHORT_DATETIME_FORMAT")


def _message(moment, ticket, due, user):
    """(title, body) in the active language (the caller sets the recipient's)."""
    when = _when(due, user) if due else ""
    if moment.kind == "warning":
        title = _("SLA due soon: %(ticket)s") % {"ticket": ticket}
        if moment.target == SlaTarget.FIRST_RESPONSE:
            body = _("The first response is due by %(when)s.") % {"when": when}
        else:
            body = _("The resolution is due by %(when)s.") % {"when": when}
    else:
        title = _("SLA breached: %(ticket)s") % {"ticket": ticket}
        if moment.target == SlaTarget.FIRST_RESPONSE:
            body = _("The first response was due by %(when)s; the ticket was escalated.") % {"when": when}
        else:
            body = _("The resolution was due by %(when)s; the ticket was escalated.") % {"when": when}
    return title, body


def _key(moment, ticket, due, suffix=""):
    # Per ticket, clock and due time: a reopened ticket's new resolution clock warns and breaches anew.
    stamp = due.isoformat() if due else "none"
    return f"ticket:{ticket.pk}:sla:{moment.target}:{moment.kind}{suffix}:{stamp}"


@transaction.atomic
def sla_fire(moment, pk, now):
    """Fire one moment of one ticket if no other sweep did: True when this call fired it."""
    from .ticket_services import _notify, ticket_escalate

    if not _stamp(moment, pk, now):
        return False
    ticket = Ticket.all_objects.select_related("owner", "team", "team__manager", "owner__manager").get(pk=pk)
    due = getattr(ticket, moment.due_field)
    if moment.kind == "warning" and due is not None and due <= now:
        # The sweep did not run between the warning and the due time (scheduler down): the breach says it
        # all, so the warning is stamped silently.
        return False
    kind = TicketEventKind.SLA_WARNING if moment.kind == "warning" else TicketEventKind.SLA_BREACH
    TicketEvent.objects.create(ticket=ticket, kind=kind, actor=None, at=now,
                               data={"target": str(moment.target), "due": due.isoformat() if due else None})
    recipient = _recipient(moment, ticket)
    if recipient is not None:
        _notify(recipient, f"ticket_sla_{moment.kind}", ticket,
                lambda: _message(moment, ticket, due, recipient), key=_key(moment, ticket, due))
    if moment.kind == "breach":
        ticket_escalate(actor=None, ticket=ticket, reason=str(moment.target), at=now,
                        key=_key(moment, ticket, due, ":escalated"))
    return True


def sla_sweep(now=None, *, batch=BATCH):
    """Fire every passed, unfired SLA warning and breach (at most `batch` per kind and run).

    Returns {"first_response_warning": n, "first_response_breach": n, "resolution_warning": n,
    "resolution_breach": n}: how many this run fired. Safe to run twice and concurrently.
    """
    now = now or timezone.now()
    counts = {}
    for moment in MOMENTS:
        fired = 0
        for pk in due_ids(moment, now, batch):
            try:
                fired += sla_fire(moment, pk, now)
            except Exception:
                # One broken ticket must not stop the others; its stamp rolled back, so it is retried.
                log.exception("SLA %s %s of ticket %s failed", moment.target, moment.kind, pk)
        counts[f"{moment.target}_{moment.kind}"] = fired
    if any(counts.values()):
        log.info("SLA sweep: %s", counts)
    return counts
