"""Email to ticket: what a service mailbox (Mailbox.creates_tickets) does with each received message.

- A reply to a ticket — its subject carries the reference ("Re: [T000123] …") or its In-Reply-To /
  References name an email we sent about the ticket — from the ticket's customer address goes on that
  ticket as the customer's message (`ticket_customer_reply`: a waiting ticket moves on, a resolved one
  reopens). The reference alone is not trusted: the sender must be the ticket's customer, else anyone
  could write into someone else's ticket by guessing a number.
- Anything else becomes a new ticket (channel email) from the sender: subject, text, attachments within
  the limits, the contact matched by the From address; the customer is acknowledged with their link,
  except for automatic messages (auto-replies, bounces), which would otherwise answer each other forever.
- A reply to a closed ticket becomes a new ticket that names the old one.
- Never twice: a customer message keeps its Message-ID (unique on TicketMessage), a new ticket keeps it
  as `source_message_id` (unique on Ticket), so a re-import, a restarted cursor or a second worker finds
  it and answers "duplicate".
"""

import re

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from guanxi.integrations.models import OutboundEmail

from .choices import TicketChannel, TicketKind
from .models import Ticket, TicketMessage
from .ticket_services import (
    BODY_MAX,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    TicketStateError,
    ticket_create,
    ticket_customer_reply,
)

REFERENCE_RE = re.compile(r"\[T(\d{6,12})\]", re.IGNORECASE)
DESCRIPTION_MAX = 10_000  # Ticket.description
_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _already_imported(message_id):
    return (TicketMessage.objects.filter(message_id=message_id).exists()
            or Ticket.all_objects.filter(source_message_id=message_id).exists())


def _customer_addresses(ticket):
    addresses = {ticket.customer_email, ticket.contact.email if ticket.contact_id else ""}
    return {a.strip().lower() for a in addresses if a and a.strip()}


def _referenced_tickets(parsed):
    """Tickets the message refers to, most explicit first: the reference in its subject, then the ticket
    of each of our emails it answers."""
    # Only the Message-IDs of our own emails thread a message: they are keyed with the server's secret,
    # while a reference in the subject (T000123) is easy to guess and the From header easy to forge.
    pks = []
    ids = parsed.thread_ids
    if ids:
        for key in OutboundEmail.objects.filter(message_id__in=ids, dedupe_key__startswith="ticket:") \
                .values_list("dedupe_key", flat=True):
            part = key.split(":")[1] if key.count(":") >= 2 else ""
            if part.isdigit():
                pks.append(int(part))
    seen, ordered = set(), []
    for pk in pks:
        if pk not in seen:
            seen.add(pk)
            ordered.append(pk)
    found = {t.pk: t for t in Ticket.objects.filter(pk__in=ordered).select_related("contact")}
    return [found[pk] for pk in ordered if pk in found]


def _split_attachments(parsed):
    kept, skipped = [], []
    for attachment in parsed.attachments:
        if len(attachment.data) > MAX_ATTACHMENT_BYTES or len(kept) >= MAX_ATTACHMENTS:
            skipped.append((attachment.filename, len(attachment.data)))
        else:
            kept.append(SimpleUploadedFile(attachment.filename, attachment.data, attachment.content_type))
    return kept, skipped


def _text(parsed, skipped, limit, prefix=""):
    text = (prefix + (parsed.text or "")).strip()
    notes = [_("Attachment “%(name)s” (%(size)d bytes) was not imported: it is larger than the limit or one "
               "too many.") % {"name": name, "size": size} for name, size in skipped]
    if notes:
        text = (text + "\n\n" + "\n".join(notes)).strip()
    if len(text) > limit:
        note = _("[Message shortened: it is longer than %(n)d characters.]") % {"n": limit}
        text = text[: limit - len(note) - 2] + "\n\n" + note
    return text


def _valid_address(address):
    try:
        validate_email(address)
    except ValidationError:
        return ""
    return address if len(address) <= 254 else ""


def _matching_contact(mailbox, address):
    from guanxi.customers.filtersets import contact_email_q
    from guanxi.customers.models import Contact

    if not address:
        return None
    contacts = Contact.objects.restrict(mailbox.owner, "view") if mailbox.owner_id else Contact.objects.all()
    return contacts.filter(contact_email_q(address)).order_by("pk").first()


def _reply(ticket, parsed, *, auto_submitted=False):
    kept, skipped = _split_attachments(parsed)
    body = _text(parsed, skipped, BODY_MAX) or _("(empty message)")
    # Received now: the sender's Date header must not move the SLA clocks. An automatic reply (out of
    # office…) is kept on the ticket but does not reopen or restart it.
    message = ticket_customer_reply(ticket=ticket, body=body, files=kept, message_id=parsed.message_id,
                                    reopen=not auto_submitted)
    return "imported" if message is not None else "duplicate"


def _new_ticket(mailbox, parsed, *, auto_submitted, follows=None):
    from guanxi.integrations.email_out import email_default_account

    address = _valid_address(parsed.from_address)
    contact = _matching_contact(mailbox, address)
    kept, skipped = _split_attachments(parsed)
    prefix = ""
    if follows is not None:  # for the agents: in the language the import runs in (the site's)
        prefix = _("(Sent as a reply to %(ref)s, which is closed.)") % {"ref": follows.reference} + "\n\n"
    else:
        mentioned = ["T" + m for m in REFERENCE_RE.findall(parsed.subject or "")]
        if mentioned:
            prefix = _("(The subject mentions %(refs)s, but the message does not answer one of our emails, so it "
                       "was not added to that ticket.)") % {"refs": ", ".join(mentioned[:5])} + "\n\n"
    text = (parsed.text or "") + (parsed.subject or "")
    fields = {
        "kind": TicketKind.COMPLAINT, "channel": TicketChannel.EMAIL,
        "subject": (parsed.subject or "").strip()[:200] or _("(no subject)"),
        "description": _text(parsed, skipped, DESCRIPTION_MAX, prefix=prefix),
        "customer_name": (parsed.from_name or "")[:100], "customer_email": address, "contact": contact,
        "account": email_default_account(actor=None, contact=contact) if contact else None,
        # Chinese text → a Chinese-speaking customer; otherwise English.
        "language": "zh-hans" if _CJK_RE.search(text) else (follows.language if follows else "en"),
    }
    ticket_create(actor=None, fields=fields, files=kept, message_id=parsed.message_id,
                  notify_customer=not auto_submitted)
    return "imported"


def ticket_from_email(*, mailbox, parsed, auto_submitted=False):
    """Put one received message on its ticket or open a new one. Returns "imported" or "duplicate";
    raises when the message cannot be stored (the importer records it as failed)."""
    if _already_imported(parsed.message_id):
        return "duplicate"
    sender = (parsed.from_address or "").strip().lower()
    closed = None
    try:
        with transaction.atomic():
            for ticket in _referenced_tickets(parsed):
                if sender and sender in _customer_addresses(ticket):
                    try:
                        return _reply(ticket, parsed, auto_submitted=auto_submitted)
                    except TicketStateError:
                        closed = ticket  # a closed ticket takes no more messages: a new one follows it up
                        break
            return _new_ticket(mailbox, parsed, auto_submitted=auto_submitted, follows=closed)
    except IntegrityError:
        # Another worker stored the same message meanwhile (a unique Message-ID refused ours).
        if _already_imported(parsed.message_id):
            return "duplicate"
        raise
