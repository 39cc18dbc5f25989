"""Lead commands: create and edit (scored, and routed by the assignment rules), set the working status,
disqualify, requalify and convert into a company, a contact and a deal.

Status changes only through these commands; each runs in one transaction, locks the lead row, writes the
audit row and the lead's timeline, and bumps the lead's version (a form opened before is then stale).
"""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from djmoney.money import Money

from guanxi.core import access
from guanxi.core.audit import audit_log
from guanxi.core.choices import AuditAction, TimelineKind
from guanxi.customers.choices import Source
from guanxi.customers.filtersets import contact_email_q, contact_phone_q
from guanxi.customers.models import Account, AccountContact, Contact
from guanxi.framework.errors import StateError
from guanxi.framework.services import record_create, record_update, timeline_add
from guanxi.framework.validators import validate_no_nul

from .assignment import lead_assign_auto
from .choices import OPEN_LEAD_STATUSES, DisqualifyReason, LeadSource, LeadStatus
from .models import Lead
from .scoring import lead_rescore

# The key of `related` under which the lead's form and API pass their options to the save hook.
HOOK = "lead"
WORKING_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)
MAX_AMOUNT = Decimal("9999999999999999.99")


class LeadStateError(StateError):
    """The lead's status does not allow the command (API: 409 with `code`)."""


def lead_save_related(obj, related, actor):
    """The record type's save hook (runs inside record_create / record_update): route a new lead by the
    assignment rules when asked, then store its score."""
    options = related.pop(HOOK, None) or {}
    if options.get("auto_assign"):
        lead_assign_auto(lead=obj, actor=actor)
    lead_rescore(obj)


def lead_create(*, actor, fields, related=None, auto_assign=False):
    """Create a lead (score computed; routed by the assignment rules when `auto_assign`)."""
    related = {**(related or {}), HOOK: {"auto_assign": auto_assign}}
    return record_create(model=Lead, actor=actor, fields=fields, related=related)


def lead_update(*, lead, actor, fields, related=None, version=None):
    related = {**(related or {}), HOOK: {}}
    return record_update(obj=lead, actor=actor, fields=fields, related=related, version=version)


def _lock(lead):
    return Lead.all_objects.select_for_update().get(pk=lead.pk)


def _set(lead, actor, command, changes, action=AuditAction.UPDATE, data=None, **values):
    """Write `values` on the locked lead with a version bump, a timeline row and an audit row."""
    Lead.all_objects.filter(pk=lead.pk).update(version=F("version") + 1, **values)
    for name, value in values.items():
        setattr(lead, name, value)
    lead.version += 1
    timeline_add(obj=lead, kind=TimelineKind.UPDATED, actor=actor,
                 data={"changes": changes, "command": command, **(data or {})})
    audit_log(actor=actor, action=action, obj=lead, data={"command": command, "changes": changes, **(data or {})})
    return lead


def _closed_error(lead):
    if lead.status == LeadStatus.CONVERTED:
        return LeadStateError("lead_converted", _("This lead has already been converted."))
    return LeadStateError("lead_disqualified", _("This lead is disqualified; requalify it first."))


@transaction.atomic
def lead_set_status(*, lead, actor, status):
    """Move an open lead between new, contacted and qualified (setting the current status changes nothing)."""
    if status not in WORKING_STATUSES:
        raise ValidationError({"status": _("Choose new, contacted or qualified; converting and disqualifying "
                                           "are commands of their own.")})
    lead = _lock(lead)
    if lead.status not in OPEN_LEAD_STATUSES:
        raise _closed_error(lead)
    if lead.status == status:
        return lead
    return _set(lead, actor, "set_status", {"status": [lead.status, str(status)]}, status=str(status))


@transaction.atomic
def lead_disqualify(*, lead, actor, reason, note=""):
    if reason not in DisqualifyReason.values:
        raise ValidationError({"reason": _("Choose a reason.")})
    note = (note or "").strip()
    validate_no_nul(note)
    if len(note) > 500:
        raise ValidationError({"note": _("At most 500 characters.")})
    lead = _lock(lead)
    if lead.status == LeadStatus.DISQUALIFIED:
        raise LeadStateError("already_disqualified", _("This lead is already disqualified."))
    if lead.status not in OPEN_LEAD_STATUSES:
        raise _closed_error(lead)
    changes = {"status": [lead.status, LeadStatus.DISQUALIFIED.value], "disqualify_reason": ["", reason]}
    return _set(lead, actor, "disqualify", changes, action=AuditAction.LEAD_DISQUALIFY,
                data={"reason": reason, "note": note[:200]},
                status=LeadStatus.DISQUALIFIED, disqualify_reason=reason, disqualify_note=note)


@transaction.atomic
def lead_requalify(*, lead, actor):
    """Reopen a disqualified lead as new."""
    lead = _lock(lead)
    if lead.status != LeadStatus.DISQUALIFIED:
        raise LeadStateError("not_disqualified", _("Only a disqualified lead can be requalified."))
    changes = {"status": [lead.status, LeadStatus.NEW.value], "disqualify_reason": [lead.disqualify_reason, ""]}
    lead = _set(lead, actor, "requalify", changes, status=LeadStatus.NEW, disqualify_reason="", disqualify_note="")
    lead_rescore(lead)
    return lead


# -- convert -------------------------------------------------------------------------------------------

ACCOUNT_SOURCE = {
    LeadSource.WEB_FORM: Source.WEBSITE, LeadSource.REFERRAL: Source.REFERRAL,
    LeadSource.ADVERTISEMENT: Source.ADVERTISEMENT, LeadSource.TRADE_SHOW: Source.TRADE_SHOW,
    LeadSource.COLD_CALL: Source.COLD_CALL, LeadSource.PARTNER: Source.PARTNER,
}


def _require_add(actor, model):
    if actor is not None and not access.allows(actor, "add", model):
        raise PermissionDenied(_("Your role does not allow creating %(type)s.")
                               % {"type": model._meta.verbose_name_plural})


def _owner_for(actor, model, preferred):
    """The lead's owner for the new record when the actor may give it to them, else the actor (e.g. a lead
    shared with the actor for editing)."""
    if preferred is None or actor is None:
        return preferred or actor
    allowed = access.assignable_owner_ids(actor, model)
    return preferred if allowed is None or preferred.pk in allowed else actor


def matching_account(lead, actor):
    """A visible company with exactly the lead's company name (the oldest), or None."""
    name = (lead.company_name or "").strip()
    if not name:
        return None
    return Account.objects.restrict(actor, "view").filter(name=name).order_by("pk").first()


def matching_contact(lead, actor):
    """A visible contact with the lead's mobile or email, or None."""
    condition = None
    if lead.mobile:
        condition = contact_phone_q(lead.mobile)
    if lead.email:
        q = contact_email_q(lead.email.lower())
        condition = q if condition is None else condition | q
    if condition is None:
        return None
    return Contact.objects.restrict(actor, "view").filter(condition).order_by("pk").first()


def parse_amount(amount):
    if amount in (None, ""):
        return Decimal("0")
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise ValidationError({"amount": _("Enter a number.")}) from None
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        raise ValidationError({"amount": _("Enter an amount between 0 and %(max)s.") % {"max": MAX_AMOUNT}})
    return value.quantize(Decimal("0.01"))


def _ref(obj):
    return {"id": obj.pk, "label": str(obj)} if obj is not None else None


@transaction.atomic
def lead_convert(*, lead, actor, account=None, contact=None, create_opportunity=True, opportunity_name=None,
                 amount=None):
    """Turn a lead into a company, a contact and (optionally) a deal; returns (account, contact, opportunity).

    Reuses the company given, else a visible company with the lead's company name; the contact given, else a
    visible contact with its mobile or email. Idempotent: the lead row is locked, and a converted lead
    returns what it was converted into (a double click or two concurrent requests create one of each).
    Interactions and tasks logged on the lead are filed under the company and contact too.
    """
    lead = _lock(lead)
    if lead.status == LeadStatus.CONVERTED:
        return lead.converted_account, lead.converted_contact, lead.converted_opportunity
    if lead.status not in OPEN_LEAD_STATUSES:
        raise _closed_error(lead)
    opportunity_name = (opportunity_name or "").strip()
    validate_no_nul(opportunity_name)
    if len(opportunity_name) > 200:
        raise ValidationError({"opportunity_name": _("At most 200 characters.")})
    value = parse_amount(amount)
    owner = lead.owner or actor
    reused = {"account": account is not None, "contact": contact is not None}

    if account is None:
        account = matching_account(lead, actor)
        reused["account"] = account is not None
        if account is None and (lead.company_name or "").strip():
            _require_add(actor, Account)
            account = record_create(model=Account, actor=actor, fields={
                "name": lead.company_name.strip(), "industry": lead.industry, "size": lead.size,
                "website": lead.website, "source": ACCOUNT_SOURCE.get(lead.source, Source.OTHER),
                "country": lead.country, "province": lead.province, "city": lead.city,
                "district": lead.district, "street": lead.street, "owner": _owner_for(actor, Account, owner),
            })
    if create_opportunity and account is None:
        raise ValidationError({"account": _("A deal needs a company: choose one or give the lead a company name.")})

    if contact is None:
        contact = matching_contact(lead, actor)
        reused["contact"] = contact is not None
        if contact is None and (lead.name or "").strip():
            _require_add(actor, Contact)
            memberships = [{"account": account, "role": lead.title}] if account else []
            contact = record_create(model=Contact, actor=actor, related={"accounts": memberships} if account else None,
                                    fields={
                                        "name": lead.name.strip(), "title": lead.title, "mobile": lead.mobile,
                                        "phone": lead.phone, "email": lead.email, "wechat": lead.wechat,
                                        "country": lead.country, "province": lead.province, "city": lead.city,
                                        "district": lead.district, "street": lead.street,
                                        "owner": _owner_for(actor, Contact, owner),
                                    })
    if contact is not None and account is not None and \
            not AccountContact.objects.filter(account=account, contact=contact).exists():
        AccountContact.objects.create(account=account, contact=contact, role=lead.title)
        timeline_add(obj=contact, kind=TimelineKind.LINKED, actor=actor, data={"label": str(account)})

    opportunity = None
    if create_opportunity:
        from .models import Opportunity
        from .opportunity_services import opportunity_create

        _require_add(actor, Opportunity)
        name = opportunity_name or _("%(company)s – from lead") % {"company": account.name}
        opportunity = opportunity_create(actor=actor, fields={
            "name": name[:200], "account": account, "owner": _owner_for(actor, Opportunity, owner),
            "amount": Money(value, "CNY"),
            "source": lead.source, "lead": lead,
        })
        if contact is not None:
            opportunity.contacts.add(contact)

    _file_history(lead, account, contact)
    now = timezone.now()
    changes = {"status": [lead.status, LeadStatus.CONVERTED.value]}
    data = {"account": account.pk if account else None, "contact": contact.pk if contact else None,
            "opportunity": opportunity.pk if opportunity else None, "reused_account": reused["account"],
            "reused_contact": reused["contact"]}
    _set(lead, actor, "convert", changes, action=AuditAction.LEAD_CONVERT, data=data,
         status=LeadStatus.CONVERTED, converted_at=now, converted_account=account, converted_contact=contact,
         converted_opportunity=opportunity)
    for target in (account, contact, opportunity):
        if target is not None:
            timeline_add(obj=target, kind=TimelineKind.LINKED, actor=actor,
                         data={"label": str(lead), "command": "convert", "lead": lead.pk})
    return account, contact, opportunity


def _file_history(lead, account, contact):
    """Interactions and tasks logged on the lead follow the customer it became."""
    from guanxi.activities.models import Interaction, Task

    for model in (Interaction, Task):
        rows = model.all_objects.filter(lead=lead)
        if account is not None:
            rows.filter(account__isnull=True).update(account=account)
        if contact is not None:
            rows.filter(contact__isnull=True).update(contact=contact)
