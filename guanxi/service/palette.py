"""Tickets in the Ctrl+K palette: by reference (T000123, or the bare number) or subject, restricted by access."""

from django.db.models import Q

from .models import Ticket

LIMIT = 5


def palette_tickets(user, q):
    q = (q or "").strip()
    if not q or "@" in q:
        return []
    condition = Q(subject__icontains=q)
    number = q.upper().removeprefix("T")
    if number.isdigit() and len(number) <= 12:
        condition |= Q(pk=int(number))
    return list(Ticket.objects.restrict(user, "view").filter(condition).order_by("-created_at", "-pk")[:LIMIT])
