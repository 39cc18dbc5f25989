"""The customer's emails about their ticket, in the ticket's language (zh-hans or en).

Plain text from templates/service/email/<event>.txt; the first line is the subject. Rendered with the
ticket's language active, so both languages come from the same templates and catalogue.
"""

from django.template.loader import render_to_string
from django.utils import translation

EVENTS = {"created", "reply", "status_in_progress", "status_waiting", "status_resolved", "status_closed", "link"}


def render_customer_email(ticket, event, *, message=None, link=""):
    """(subject, body) of the email about `event`."""
    template = f"service/email/{event if event in EVENTS else 'status_in_progress'}.txt"
    with translation.override(ticket.language or "zh-hans"):
        text = render_to_string(template, {"ticket": ticket, "message": message, "link": link,
                                           "status": ticket.get_status_display()})
    subject, _sep, body = text.strip().partition("\n")
    return subject.strip()[:300], body.strip() + "\n"
