"""Activity services with domain meaning: logging an interaction about a company, contact, lead or deal
(from the quick-log form, the API or the mail import).
Plain edits of interactions go through the generic services (guanxi.framework.services)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core import access
from guanxi.customers.models import Account, AccountContact, Contact
from guanxi.framework.services import record_create
from guanxi.sales.models import Lead, Opportunity

from .models import Interaction

# Fields interaction_log passes through to the model as they are (validated by the model's full_clean).
LOG_FIELDS = (
    "direction", "subject", "content", "duration_minutes", "outcome", "next_step", "next_step_due",
    "message_id", "in_reply_to", "thread_key", "email_from", "email_to",
)


def interaction_default_account(*, contact, actor):
    """The company to file an interaction about `contact` under when none is given: the contact's only
    live company, if it has exactly one and the actor may see it (never a company the actor cannot see)."""
    ids = list(
        AccountContact.objects.filter(contact=contact, account__deleted_at__isnull=True)
        .values_list("account_id", flat=True)[:2]
    )
    if len(ids) != 1:
        return None
    accounts = Account.objects.all() if actor is None else Account.objects.restrict(actor, "view")
    return accounts.filter(pk=ids[0]).first()


def deal_default_account(*, opportunity, actor):
    """The company to file an interaction or task about a deal under: the deal's company, when the actor
    may see it (so that the company's timeline shows it)."""
    if opportunity is None or not opportunity.account_id:
        return None
    accounts = Account.objects.all() if actor is None else Account.objects.restrict(actor, "view")
    return accounts.filter(pk=opportunity.account_id).first()


def _visible(model, actor, pk_or_obj, field, message):
    """The record the actor may see, or a field error (the same answer for missing and hidden ones)."""
    if pk_or_obj is None:
        return None
    pk = pk_or_obj.pk if hasattr(pk_or_obj, "pk") else pk_or_obj
    qs = model.objects.all() if actor is None else model.objects.restrict(actor, "view")
    found = qs.filter(pk=pk).first()
    if found is None:
        raise ValidationError({field: message})
    return found


@transaction.atomic
def interaction_log(*, actor, kind, account=None, contact=None, lead=None, opportunity=None, occurred_at=None,
                    participant_contacts=(), participant_users=(), owner=None, **fields):
    """Log a call, meeting, visit, note, message... about a company, contact, lead and/or deal; returns it.

    `account`, `contact`, `lead`, `opportunity` and `participant_contacts` are records or ids and must be
    visible to `actor` (a hidden one is a field error, like a missing one); without a company, the deal's
    company (`deal_default_account`) or else the contact's one company (`interaction_default_account`) is
    filled in. `owner` (who logged it) defaults to the actor. Other
    keyword arguments are model fields (LOG_FIELDS). `actor=None` is a system job (the mail import)
    that matched the customers itself. Writes the audit and timeline rows in the same transaction.
    """
    unknown = sorted(set(fields) - set(LOG_FIELDS))
    if unknown:
        raise TypeError(f"interaction_log got unknown fields: {', '.join(unknown)}")
    if actor is not None and not access.allows(actor, "add", Interaction):
        raise PermissionDenied(_("Your role does not allow logging interactions."))
    account = _visible(Account, actor, account, "account", _("No such company."))
    contact = _visible(Contact, actor, contact, "contact", _("No such contact."))
    lead = _visible(Lead, actor, lead, "lead", _("No such lead."))
    opportunity = _visible(Opportunity, actor, opportunity, "opportunity", _("No such opportunity."))
    if account is None and contact is None and lead is None and opportunity is None:
        raise ValidationError(_("Choose the company, contact, lead or opportunity this is about."))
    if account is None and opportunity is not None:
        account = deal_default_account(opportunity=opportunity, actor=actor)
    if account is None and contact is not None:
        account = interaction_default_account(contact=contact, actor=actor)
    people = []
    for item in participant_contacts or ():
        person = _visible(Contact, actor, item, "participant_contacts", _("No such contact."))
        if person not in people:
            people.append(person)
    colleagues = []
    if participant_users:
        ids = {getattr(u, "pk", u) for u in participant_users}
        colleagues = list(get_user_model().objects.filter(pk__in=ids, is_active=True))
        if len(colleagues) != len(ids):
            raise ValidationError({"participant_users": _("No such active user.")})
    values = {"kind": kind, "account": account, "contact": contact, "lead": lead, "opportunity": opportunity,
              "occurred_at": occurred_at or timezone.now(), **fields}
    if owner is not None:
        values["owner"] = owner
    return record_create(model=Interaction, actor=actor, fields=values,
                         related={"participant_contacts": people, "participant_users": colleagues})
