"""Email out from a record: a rep writes to a contact (optionally from a template), the message goes
through the outbox and is logged on the timeline as an outbound email interaction, both in one
transaction.

The rep never needs to see the address: the form offers contacts (name and masked address), and
`email_send` looks the address up after checking that the rep may see the contact. Using the address
to send is not a reveal; the interaction's audit row records the send.
"""

import uuid
from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.activities.choices import Direction, InteractionKind
from guanxi.activities.models import Interaction
from guanxi.core import access
from guanxi.core.masking import mask_email
from guanxi.customers.models import Account, AccountContact, Contact

from .email_templates import render_email_template
from .services import make_message_id, outbound_create

SUBJECT_MAX = 300
BODY_MAX = 100_000


def email_recipients(*, actor, contact=None, account=None):
    """[(contact, label)] the actor may write to from a contact's or a company's page: the contact
    itself, or the company's contacts that the actor may see; only contacts with an address. The label
    shows the name and the masked address."""
    qs = Contact.objects.restrict(actor, "view").exclude(email="")
    if contact is not None:
        qs = qs.filter(pk=contact.pk)
    elif account is not None:
        qs = qs.filter(pk__in=AccountContact.objects.filter(account=account).values("contact_id"))
    else:
        return []
    return [(c, f"{c.name} <{mask_email(c.email)}>") for c in qs.order_by("name", "pk")[:500]]


def email_default_account(*, actor, contact):
    """The company an email with `contact` is filed under: the contact's primary company, else its only
    one, and only a company the actor may see (`actor=None`: a shared mailbox's sync, any company)."""
    memberships = list(
        AccountContact.objects.filter(contact=contact, account__deleted_at__isnull=True)
        .order_by("-is_primary", "id").values_list("account_id", "is_primary")[:2]
    )
    if not memberships or (len(memberships) > 1 and not memberships[0][1]):
        return None
    accounts = Account.objects.all() if actor is None else Account.objects.restrict(actor, "view")
    return accounts.filter(pk=memberships[0][0]).first()


def email_reply_source(*, actor, pk):
    """The email interaction being replied to, if the actor may see it (else DoesNotExist)."""
    return Interaction.objects.restrict(actor, "view").get(pk=pk, kind=InteractionKind.EMAIL)


def email_visible_contact(*, actor, pk):
    """The contact, if the actor may see it (else Contact.DoesNotExist: the view answers 404)."""
    return Contact.objects.restrict(actor, "view").get(pk=pk)


def email_compose_text(*, actor, template, contact, account=None):
    """(subject, body) of `template` filled in for `contact`; the contact must be visible to the actor."""
    contact = email_visible_contact(actor=actor, pk=contact.pk)
    account = account or email_default_account(actor=actor, contact=contact)
    return render_email_template(template, contact=contact, account=account, user=actor)


def _clean_text(subject, body):
    errors = {}
    subject = " ".join((subject or "").split())  # one line: no value can add a header
    if not subject:
        errors["subject"] = _("Enter a subject.")
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = _("A subject has at most %(n)d characters.") % {"n": SUBJECT_MAX}
    body = (body or "").replace("\r\n", "\n")
    if not body.strip():
        errors["body"] = _("Write the message.")
    elif len(body) > BODY_MAX:
        errors["body"] = _("A message has at most %(n)d characters.") % {"n": BODY_MAX}
    if "\x00" in subject or "\x00" in body:
        errors["body"] = _("The text contains a NUL character.")
    if errors:
        raise ValidationError(errors)
    return subject, body


@transaction.atomic
def email_send(*, actor, contact, subject, body, account=None, reply_to=None):
    """Queue an email to `contact` and log it on the timeline; returns the Interaction.

    `contact`, `account` and `reply_to` (an email interaction this one answers) are records or ids;
    each must be visible to the actor, else <Model>.DoesNotExist (404 in the views: the same answer
    for missing and hidden records). The role must allow adding interactions (else PermissionDenied).
    Nothing is written or sent unless every check passes; the email leaves after commit.
    """
    from guanxi.activities.services import interaction_log

    if not access.allows(actor, "add", Interaction):
        raise PermissionDenied(_("Your role does not allow logging interactions."))
    contact = email_visible_contact(actor=actor, pk=getattr(contact, "pk", contact))
    if account is not None:
        account = Account.objects.restrict(actor, "view").get(pk=getattr(account, "pk", account))
        if not AccountContact.objects.filter(account=account, contact=contact).exists():
            raise ValidationError({"recipient": _("This person is not a contact of the company.")})
    else:
        account = email_default_account(actor=actor, contact=contact)
    if reply_to is not None:
        reply_to = email_reply_source(actor=actor, pk=getattr(reply_to, "pk", reply_to))
    address = (contact.email or "").strip().lower()
    if not address:
        raise ValidationError({"recipient": _("This contact has no email address.")})
    subject, body = _clean_text(subject, body)

    # The Message-ID follows from the outbox key, so the interaction carries it from its first row on.
    key = f"email-out:{uuid.uuid4().hex}"
    message_id = make_message_id(key)
    in_reply_to = reply_to.message_id if reply_to is not None else ""
    thread_key = (reply_to.thread_key or reply_to.message_id) if reply_to is not None else message_id
    interaction = interaction_log(
        actor=actor, kind=InteractionKind.EMAIL, account=account, contact=contact, direction=Direction.OUTBOUND,
        subject=subject, content=body, message_id=message_id, in_reply_to=in_reply_to, thread_key=thread_key,
        email_from=parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower(), email_to=address,
    )
    row = outbound_create(to=[address], subject=subject, body_text=body, actor=actor, dedupe_key=key,
                          in_reply_to=in_reply_to, interaction=interaction, reply_to=actor.email or "")
    assert row.message_id == message_id
    # The audit trail of the send is the interaction's CREATE row (written by interaction_log in this
    # transaction): who, when, which contact, the address (masked there as personal data) and the text.
    return interaction
