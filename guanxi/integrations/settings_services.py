"""Settings of the email integration: templates (administrators) and IMAP mailboxes (each user their own,
administrators the shared ones). Every change writes a SETTINGS_CHANGE audit row in its transaction;
a mailbox password never appears in one (only whether it changed)."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.core.access import is_admin
from guanxi.core.audit import audit_log
from guanxi.core.choices import AuditAction

from .models import Mailbox

TEMPLATE_TYPE = "integrations.emailtemplate"
MAILBOX_TYPE = "integrations.mailbox"
MAILBOX_AUDITED = ("name", "address", "host", "port", "use_ssl", "username", "folder", "enabled", "creates_tickets")


def _require_admin(actor):
    if not is_admin(actor):
        raise PermissionDenied(_("Only administrators manage email templates."))


@transaction.atomic
def email_template_save(*, actor, template, changed=()):
    """Create or update a template (already validated by the form)."""
    _require_admin(actor)
    operation = "change" if template.pk else "add"
    template.save()
    audit_log(actor=actor, action=AuditAction.SETTINGS_CHANGE, obj=template, record_type=TEMPLATE_TYPE,
              data={"operation": operation, "name": template.name, "language": template.language,
                    "fields": sorted(changed)})
    return template


@transaction.atomic
def email_template_delete(*, actor, template):
    _require_admin(actor)
    audit_log(actor=actor, action=AuditAction.SETTINGS_CHANGE, obj=template, record_type=TEMPLATE_TYPE,
              data={"operation": "remove", "name": template.name, "language": template.language})
    template.delete()


def mailboxes_managed_by(user):
    """The mailboxes `user` manages: their own, and the shared ones for administrators."""
    qs = Mailbox.objects.filter(owner=user)
    if is_admin(user):
        qs = Mailbox.objects.filter(owner=user) | Mailbox.objects.filter(owner__isnull=True)
    return qs.select_related("owner")


def can_manage_mailbox(user, mailbox):
    return mailbox.owner_id == user.pk if mailbox.owner_id else is_admin(user)


@transaction.atomic
def mailbox_save(*, actor, mailbox, password=None, changed=()):
    """Create or update a mailbox; `password` (when given) replaces the stored one. A changed server,
    account or folder restarts the cursor (the UIDs belong to the old folder)."""
    if not can_manage_mailbox(actor, mailbox):
        raise PermissionDenied(_("You cannot manage this mailbox."))
    operation = "change" if mailbox.pk else "add"
    if password:
        mailbox.set_password(password)
    if operation == "change" and {"host", "port", "username", "folder"} & set(changed):
        mailbox.uidvalidity, mailbox.last_uid = None, 0
    if password or changed:
        mailbox.last_error = ""
    mailbox.save()
    audit_log(actor=actor, action=AuditAction.SETTINGS_CHANGE, obj=mailbox, record_type=MAILBOX_TYPE,
              data={"operation": operation, "name": mailbox.name, "shared": mailbox.is_shared,
                    "host": mailbox.host, "fields": sorted(f for f in changed if f in MAILBOX_AUDITED),
                    "password_changed": bool(password)})
    return mailbox


@transaction.atomic
def mailbox_delete(*, actor, mailbox):
    """Remove a mailbox; what it imported stays on the timelines."""
    if not can_manage_mailbox(actor, mailbox):
        raise PermissionDenied(_("You cannot manage this mailbox."))
    audit_log(actor=actor, action=AuditAction.SETTINGS_CHANGE, obj=mailbox, record_type=MAILBOX_TYPE,
              data={"operation": "remove", "name": mailbox.name, "shared": mailbox.is_shared})
    mailbox.delete()
