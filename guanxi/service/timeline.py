"""Tickets on the 360° timelines: a company's or contact's timeline (and a ticket's own) shows when its
tickets were created, resolved and rated.

The source reads the tickets itself from the records the timeline covers (tickets of the covered
companies and contacts, through restrict(user, "view")) rather than widening the covered records with
register_related: that would also pour every ticket's change rows (assignments, status moves) into the
company's timeline, where only the milestones matter.
"""

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.activities.selectors import ACCOUNT, CONTACT
from guanxi.activities.timeline import Item, Position, QuerySetSource, register_source

from .choices import TicketEventKind, TicketStatus

TICKET = "service.ticket"


class TicketSource(QuerySetSource):
    name = "ticket"
    rank = 35
    time_field = "at"
    person_field = "actor_id"

    def kinds(self):
        return [("ticket", _("Tickets"))]

    def queryset(self, ctx, filters):
        from .models import Ticket, TicketEvent

        about = Q()
        for field, key in (("account_id", ACCOUNT), ("contact_id", CONTACT), ("pk", TICKET)):
            ids = ctx.targets.get(key) or []
            if ids:
                about |= Q(**{f"{field}__in": ids})
        if not about:
            return None
        tickets = Ticket.objects.restrict(ctx.user, "view").filter(about).values("pk")
        milestones = (Q(kind__in=[TicketEventKind.CREATED, TicketEventKind.RATED])
                      | Q(kind=TicketEventKind.STATUS, data__new=TicketStatus.RESOLVED.value))
        return TicketEvent.objects.filter(milestones, ticket__in=tickets).select_related("ticket", "actor")

    def to_item(self, event, ctx):
        ticket = event.ticket
        data = event.data or {}
        if event.kind == TicketEventKind.CREATED:
            label, icon, details = _("Ticket created"), "bi-life-preserver", [
                (_("Type"), ticket.get_kind_display()), (_("Priority"), ticket.get_priority_display())]
        elif event.kind == TicketEventKind.RATED:
            label, icon, details = _("Ticket rated"), "bi-star-fill", [
                (_("Satisfaction"), f"{data.get('score', '?')}/5")]
        else:
            label, icon, details = _("Ticket resolved"), "bi-check2-circle", []
        return Item(
            source=self.name, position=Position(event.at, self.rank, event.pk), kind="ticket",
            kind_label=label, icon=icon, title=str(ticket), person=event.actor, details=details,
            url=ticket.get_absolute_url(), obj=event,
        )


register_source(TicketSource())
