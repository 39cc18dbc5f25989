"""The personal iCalendar feed (RFC 5545) that calendar apps subscribe to.

Tasks are VEVENTs with a ⏰ (open) or ✓ (done) prefix rather than VTODOs: Google Calendar ignores
VTODO in subscribed feeds, Outlook drops them, and Apple Calendar shows them only in Reminders (and
not from a subscription), so a VTODO would be invisible for most users. A short, transparent event at
the due time shows everywhere without blocking free/busy time.

The feed leaves the CRM for a third-party calendar service, so it carries no personal data in clear:
people appear by name only, free text (meeting notes, task descriptions) stays in the CRM behind the
record link, and phone numbers or email addresses typed into a title are masked.
"""

import datetime
import re

from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from guanxi.core.masking import mask_email, mask_phone

from .calendar_selectors import about_label, calendar_items
from .choices import TaskStatus

PAST = datetime.timedelta(days=90)
FUTURE = datetime.timedelta(days=365)
REFRESH = datetime.timedelta(hours=1)  # how often calendar apps should poll
MAX_ITEMS = 5000

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")


def scrub(text):
    """Mask email addresses and phone-like numbers in free text (a title someone typed)."""
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text or "")

    def phone(match):
        value = match.group(0)
        digits = sum(ch.isdigit() for ch in value)
        return mask_phone(value) if digits >= 7 else value

    return _PHONE.sub(phone, text)


def _utc(value):
    return value.astimezone(datetime.UTC)


def _description(lines, url):
    return "\n".join([*(f"{label}: {value}" for label, value in lines if value), url])


def _task_event(task, host, absolute):
    done = task.status == TaskStatus.DONE
    event = Event()
    event.add("uid", f"task-{task.pk}@{host}")
    event.add("summary", f"{'✓' if done else '⏰'} {scrub(task.title)}")
    event.add("dtstart", _utc(task.due_at))
    event.add("dtend", _utc(task.due_at) + datetime.timedelta(minutes=30))
    event.add("transp", "TRANSPARENT")
    event.add("categories", [str(_("Task"))])
    url = absolute(task.get_absolute_url())
    event.add("description", _description([
        (_("Priority"), task.get_priority_display()),
        (_("Status"), task.get_status_display()),
        (_("Company"), task.account.name if task.account_id else ""),
        (_("Contact"), task.contact.name if task.contact_id else ""),
        (_("Opportunity"), task.opportunity.name if task.opportunity_id else ""),
        (_("Lead"), str(task.lead) if task.lead_id else ""),
    ], url))
    event.add("url", url)
    return _stamp(event, task)


def _interaction_event(item, host, absolute):
    interaction = item.obj
    label = interaction.get_kind_display()
    title = scrub(interaction.subject) or label
    about = about_label(interaction)
    event = Event()
    event.add("uid", f"interaction-{interaction.pk}@{host}")
    event.add("summary", f"{title} · {about}" if about and about not in title else title)
    event.add("dtstart", _utc(item.start))
    event.add("dtend", _utc(max(item.end, item.start + datetime.timedelta(minutes=1))))
    event.add("categories", [str(label)])
    url = absolute(interaction.get_absolute_url())
    participants = ", ".join(c.name for c in interaction.participant_contacts.all())
    event.add("description", _description([
        (_("Type"), label),
        (_("Company"), interaction.account.name if interaction.account_id else ""),
        (_("Contact"), interaction.contact.name if interaction.contact_id else ""),
        (_("Opportunity"), interaction.opportunity.name if interaction.opportunity_id else ""),
        (_("Lead"), str(interaction.lead) if interaction.lead_id else ""),
        (_("Taking part"), participants),
    ], url))
    event.add("url", url)
    return _stamp(event, interaction)


def _stamp(event, obj):
    # Without METHOD, DTSTAMP is when the item last changed (RFC 5545 §3.8.7.2): stable output, and
    # SEQUENCE (the record's version) tells clients which copy is newer.
    event.add("dtstamp", _utc(obj.updated_at))
    event.add("last-modified", _utc(obj.updated_at))
    event.add("sequence", obj.version)
    return event


def feed_calendar(user, *, host, absolute, now=None):
    """The user's own items ("mine", through restrict) from 90 days back to a year ahead, as bytes."""
    now = now or timezone.now()
    items, _truncated = calendar_items(user, now - PAST, now + FUTURE, limit=MAX_ITEMS,
                                       prefetch_participants=True)
    cal = Calendar()
    cal.add("prodid", "-//Guanxi CRM//Calendar feed//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    product = _("Guanxi CRM")
    cal.add("x-wr-calname", f"{product} · {user}")
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")  # Outlook's name for the same hint (an X- property is plain text)
    for item in items:
        if item.kind == "task":
            cal.add_component(_task_event(item.obj, host, absolute))
        else:
            cal.add_component(_interaction_event(item, host, absolute))
    return cal.to_ical()
