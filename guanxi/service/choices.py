from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TicketKind(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    INQUIRY = "inquiry", _("Inquiry")
    REQUEST = "request", _("Service request")


class TicketChannel(models.TextChoices):
    PHONE = "phone", pgettext_lazy("ticket channel", "Phone")
    EMAIL = "email", pgettext_lazy("ticket channel", "Email")
    WEB = "web", _("Web form")
    WECHAT = "wechat", _("WeChat")
    IN_PERSON = "in_person", _("In person")


class TicketPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class TicketStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("ticket status", "New")
    ASSIGNED = "assigned", pgettext_lazy("ticket status", "Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING = "waiting", _("Waiting on customer")
    RESOLVED = "resolved", pgettext_lazy("ticket status", "Resolved")
    CLOSED = "closed", pgettext_lazy("ticket status", "Closed")


OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.WAITING)
DONE_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class MessageKind(models.TextChoices):
    REPLY = "reply", _("Reply to the customer")
    NOTE = "note", _("Internal note")
    CUSTOMER = "customer", _("Customer message")


class TicketEventKind(models.TextChoices):
    CREATED = "created", _("Ticket created")
    ASSIGNED = "assigned", _("Assigned")
    STATUS = "status", _("Status changed")
    ESCALATED = "escalated", _("Escalated")
    SLA_WARNING = "sla_warning", _("SLA warning")
    SLA_BREACH = "sla_breach", _("SLA breached")
    RATED = "rated", _("Rated by the customer")
    LINK_REVOKED = "link_revoked", _("Status link revoked")


class SlaTarget(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    RESOLUTION = "resolution", _("Resolution")


class AssignMethod(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round-robin in the team")
    LEAST_LOADED = "least_loaded", _("Least open tickets in the team")


class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", _("Holiday (no work)")
    WORKDAY = "workday", _("Make-up working day")
