from django.db import models
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    MONEY = "money", _("Money")


class TimelineKind(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")
    DELETED = "deleted", _("Moved to recycle bin")
    RESTORED = "restored", _("Restored")
    LINKED = "linked", _("Linked")
    UNLINKED = "unlinked", _("Unlinked")


TIMEZONES = [
    "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo", "Asia/Seoul",
    "Asia/Kolkata", "Asia/Dubai", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Moscow",
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo",
    "Australia/Sydney", "Pacific/Auckland", "UTC",
]


class Scope(models.TextChoices):
    """Which records a role sees of a record type (ARCHITECTURE.md §4)."""

    OWN = "own", _("Own (owner or shared)")
    TEAM = "team", _("Team")
    SUBTREE = "subtree", _("Subordinates (department subtree)")
    ALL = "all", _("All")


class Action(models.TextChoices):
    VIEW = "view", _("View")
    ADD = "add", _("Add")
    CHANGE = "change", _("Change")
    DELETE = "delete", _("Delete")
    EXPORT = "export", _("Export")
    IMPORT = "import", _("Import")
    ASSIGN = "assign", _("Assign owner")
    REVEAL = "reveal", _("Reveal sensitive fields")


class ShareLevel(models.TextChoices):
    READ = "read", _("Read")
    EDIT = "edit", _("Edit")


class AuditAction(models.TextChoices):
    CREATE = "create", _("Create")
    UPDATE = "update", _("Update")
    DELETE = "delete", _("Delete")
    RESTORE = "restore", _("Restore")
    PURGE = "purge", _("Purge")
    BULK = "bulk", _("Bulk action")
    EXPORT = "export", _("Export")
    REVEAL = "reveal", _("Reveal")
    LOGIN = "login", _("Login")
    LOGIN_FAILED = "login_failed", _("Login failed")
    LOGOUT = "logout", _("Logout")
    LOCKOUT = "lockout", _("Account locked out")
    TOKEN_CREATE = "token_create", _("API token created")
    TOKEN_REVOKE = "token_revoke", _("API token revoked")
    ROLE_CHANGE = "role_change", _("Role or permission change")
    ORG_CHANGE = "org_change", _("Department, team or user change")
    SHARE_CHANGE = "share_change", _("Sharing change")
    SETTINGS_CHANGE = "settings_change", _("Settings change")
    OTP_CHANGE = "otp_change", _("Two-factor change")
    AUDIT_EXPORT = "audit_export", _("Audit log export")
    LEAD_ASSIGN = "lead_assign", _("Lead assigned")
    LEAD_CONVERT = "lead_convert", _("Lead converted")
    LEAD_DISQUALIFY = "lead_disqualify", _("Lead disqualified")
    POOL_CLAIM = "pool_claim", _("Claimed from a customer pool")
    POOL_RETURN = "pool_return", _("Returned to a customer pool")
    POOL_RECLAIM = "pool_reclaim", _("Reclaimed to a customer pool")
    STAGE_CHANGE = "stage_change", _("Deal stage change")
    TICKET_ASSIGN = "ticket_assign", _("Ticket assigned")
    TICKET_STATUS = "ticket_status", _("Ticket status change")
    TICKET_ESCALATE = "ticket_escalate", _("Ticket escalated")
    TICKET_REPLY = "ticket_reply", _("Reply sent to a customer")
    TICKET_RATE = "ticket_rate", _("Ticket rated by the customer")
    TICKET_LINK = "ticket_link", _("Customer status link issued or revoked")


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", _("Success")
    DENIED = "denied", _("Denied")
    FAILURE = "failure", _("Failure")
