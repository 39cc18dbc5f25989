"""Service: tickets (complaints, inquiries, requests) with their conversation and history, the category
tree, assignment rules, SLA policies and the business-hours calendars they are measured in."""

import functools
import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from guanxi.core.choices import Language
from guanxi.framework.base import OwnedMixin, Record, TaggedMixin
from guanxi.framework.fields import PhoneField

from .choices import (
    AssignMethod,
    CalendarDayKind,
    MessageKind,
    TicketChannel,
    TicketEventKind,
    TicketKind,
    TicketPriority,
    TicketStatus,
)
from .defaults import label

CATEGORY_MAX_DEPTH = 3


class TicketCategory(models.Model):
    """A node of the administrator-defined category tree (product quality › packaging…)."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey("self", verbose_name=_("parent category"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("ticket category")
        verbose_name_plural = _("ticket categories")
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["parent", "name"], name="ticketcategory_parent_name")]

    def __str__(self):
        return self.path_label

    @property
    def label(self):
        return label(self.name)

    @property
    def path_label(self):
        """“Product quality › Packaging” (parents first; the tree is shallow, so walking it is cheap)."""
        parts, node, seen = [], self, set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            parts.append(node.label)
            node = node.parent
        return " › ".join(reversed(parts))

    def ancestor_ids(self):
        ids, node = [], self
        while node is not None and node.pk not in ids:
            ids.append(node.pk)
            node = node.parent
        return ids

    def clean(self):
        # A category must not become its own ancestor (the tree would loop).
        node, seen = self.parent, set()
        while node is not None and node.pk not in seen:
            if self.pk is not None and node.pk == self.pk:
                raise ValidationError({"parent": _("A category cannot be placed under itself or its subcategories.")})
            seen.add(node.pk)
            node = node.parent
        # Lists and pickers read three levels of parents in their one query (ticket_records.select_related).
        height, level = 0, [self.pk] if self.pk else []
        while level:
            level = list(TicketCategory.objects.filter(parent_id__in=level).values_list("pk", flat=True))
            height += 1 if level else 0
            if height > CATEGORY_MAX_DEPTH:
                break
        if len(seen) + 1 + height > CATEGORY_MAX_DEPTH:
            raise ValidationError({"parent": _("Categories can be nested at most %(n)d levels deep.")
                                   % {"n": CATEGORY_MAX_DEPTH}})


def _default_working_days():
    return [0, 1, 2, 3, 4]


def _default_periods():
    return [["09:00", "12:00"], ["13:00", "18:00"]]


class BusinessCalendar(models.Model):
    """Working time for SLA clocks: working weekdays, daily working periods, and dated exceptions
    (public holidays, and the make-up working days that China's holiday schedule moves onto weekends)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    working_days = models.JSONField(_("working weekdays"), default=_default_working_days,
                                    help_text=_("0 = Monday … 6 = Sunday"))
    periods = models.JSONField(_("working hours"), default=_default_periods,
                               help_text=_("Periods of each working day, e.g. 09:00–12:00 and 13:00–18:00."))
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["-is_default", "name", "id"]

    def __str__(self):
        return label(self.name)

    def clean(self):
        from .sla import parse_periods

        errors = {}
        if not is_time_zone(self.timezone):
            errors["timezone"] = _("Unknown time zone; use a name such as Asia/Shanghai.")
        try:
            parse_periods(self.periods)
        except (TypeError, ValueError) as e:
            errors["periods"] = str(e) if isinstance(e, ValueError) and e.args else _("Invalid working hours.")
        if not isinstance(self.working_days, list) or any(d not in range(7) for d in self.working_days):
            errors["working_days"] = _("Working weekdays are numbers from 0 (Monday) to 6 (Sunday).")
        if errors:
            raise ValidationError(errors)


@functools.cache
def _time_zones():
    return frozenset(zoneinfo.available_timezones())


def is_time_zone(name):
    """Whether `name` is an IANA time zone this system knows (a set lookup: never a path on disk)."""
    return isinstance(name, str) and name in _time_zones()


class CalendarDay(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="days")
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=CalendarDayKind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="calendarday_calendar_date")]

    def __str__(self):
        return f"{self.date} {self.name}"


class SlaPolicy(models.Model):
    """Targets in business minutes for tickets of a priority and/or category (empty = any). The most
    specific active policy applies: category and priority, then category, then priority, then neither."""

    name = models.CharField(_("name"), max_length=100)
    priority = models.CharField(_("priority"), max_length=10, choices=TicketPriority.choices, blank=True)
    category = models.ForeignKey(TicketCategory, verbose_name=_("category"), null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="+",
                                 help_text=_("Also applies to its subcategories."))
    first_response_minutes = models.PositiveIntegerField(
        _("first response within (business minutes)"), validators=[MinValueValidator(1), MaxValueValidator(525_600)])
    resolution_minutes = models.PositiveIntegerField(
        _("resolution within (business minutes)"), validators=[MinValueValidator(1), MaxValueValidator(525_600)])
    warn_before_minutes = models.PositiveIntegerField(
        _("warn before a breach (business minutes)"), default=60, validators=[MaxValueValidator(525_600)])
    calendar = models.ForeignKey(BusinessCalendar, verbose_name=_("business calendar"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+",
                                 help_text=_("Empty: the default calendar."))
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["position", "id"]

    def __str__(self):
        return label(self.name)


class TicketAssignmentRule(models.Model):
    """Routes a new ticket to a team by category (with its subcategories), priority and region; within
    the team, round-robin or the member with the fewest open tickets. The first matching rule wins."""

    name = models.CharField(_("name"), max_length=100)
    category = models.ForeignKey(TicketCategory, verbose_name=_("category"), null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="+",
                                 help_text=_("Empty: any category. Subcategories match too."))
    priority = models.CharField(_("priority"), max_length=10, choices=TicketPriority.choices, blank=True)
    provinces = models.CharField(_("provinces / regions"), max_length=500, blank=True,
                                 help_text=_("Comma-separated; empty: anywhere."))
    team = models.ForeignKey("core.Team", verbose_name=_("team"), on_delete=models.CASCADE, related_name="+")
    method = models.CharField(_("method"), max_length=20, choices=AssignMethod.choices,
                              default=AssignMethod.ROUND_ROBIN)
    last_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, editable=False,
                                  on_delete=models.SET_NULL, related_name="+")
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("ticket assignment rule")
        verbose_name_plural = _("ticket assignment rules")
        ordering = ["position", "id"]

    def __str__(self):
        return self.name


def new_access_key():
    return secrets.token_urlsafe(24)


class Ticket(Record, OwnedMixin, TaggedMixin):
    """A complaint, inquiry or request. `owner` is the agent handling it; `team` is the queue it is in.

    Status, assignment, SLA clocks and the rating change only through the services in
    `ticket_services` (commands), never by editing fields.
    """

    kind = models.CharField(_("type"), max_length=12, choices=TicketKind.choices, default=TicketKind.COMPLAINT)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), max_length=10_000, blank=True)
    account = models.ForeignKey("customers.Account", verbose_name=_("company"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="tickets")
    contact = models.ForeignKey("customers.Contact", verbose_name=_("contact"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="tickets")
    # Who to keep informed when the ticket came from outside (public form, email) without a known contact.
    customer_name = models.CharField(_("customer name"), max_length=100, blank=True)
    customer_email = models.EmailField(_("customer email"), max_length=254, blank=True)
    customer_phone = PhoneField(_("customer phone"))
    language = models.CharField(_("customer language"), max_length=10, choices=Language.choices,
                                default=Language.ZH_HANS)
    channel = models.CharField(_("channel"), max_length=12, choices=TicketChannel.choices,
                               default=TicketChannel.PHONE)
    category = models.ForeignKey(TicketCategory, verbose_name=_("category"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="tickets")
    priority = models.CharField(_("priority"), max_length=10, choices=TicketPriority.choices,
                                default=TicketPriority.NORMAL)
    product = models.CharField(_("product"), max_length=200, blank=True)
    order_ref = models.CharField(_("order number"), max_length=100, blank=True)
    province = models.CharField(_("province / region"), max_length=64, blank=True)

    status = models.CharField(_("status"), max_length=12, choices=TicketStatus.choices, default=TicketStatus.NEW,
                              editable=False)
    team = models.ForeignKey("core.Team", verbose_name=_("team"), null=True, blank=True, editable=False,
                             on_delete=models.SET_NULL, related_name="+")
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True, editable=False)
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True, editable=False)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)
    reopened_count = models.PositiveSmallIntegerField(_("times reopened"), default=0, editable=False)
    # Working time from creation to the first reply and to the resolution, in business minutes of the SLA
    # calendar: measured once when it happens, so the analytics add numbers instead of walking calendars.
    first_response_minutes = models.FloatField(_("first response time (business minutes)"), null=True, blank=True,
                                               editable=False)
    resolution_minutes = models.FloatField(_("resolution time (business minutes)"), null=True, blank=True,
                                           editable=False)

    # SLA: due times computed in business time when the policy applies; each warning and breach is
    # stamped exactly once by the scheduler (conditional UPDATE … WHERE …_at IS NULL).
    sla_policy = models.ForeignKey(SlaPolicy, verbose_name=_("SLA policy"), null=True, blank=True, editable=False,
                                   on_delete=models.SET_NULL, related_name="+")
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True, editable=False)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True, editable=False)
    first_response_warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_response_warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_response_breached_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_breached_at = models.DateTimeField(null=True, blank=True, editable=False)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True, editable=False)
    escalated_to = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("escalated to"), null=True,
                                     blank=True, editable=False, on_delete=models.SET_NULL, related_name="+")

    csat_score = models.PositiveSmallIntegerField(_("satisfaction"), null=True, blank=True, editable=False,
                                                  validators=[MinValueValidator(1), MaxValueValidator(5)])
    csat_comment = models.TextField(_("satisfaction comment"), max_length=2000, blank=True, editable=False)
    csat_at = models.DateTimeField(_("rated"), null=True, blank=True, editable=False)

    # The secret of the customer's status link (signed with SECRET_KEY around it); empty = no link.
    access_key = models.CharField(max_length=64, blank=True, default=new_access_key, editable=False)
    # Message-ID of the email the ticket came from (email-to-ticket imports it once).
    source_message_id = models.CharField(max_length=255, null=True, blank=True, unique=True, editable=False)

    sensitive_fields = {"customer_email": "email", "customer_phone": "phone"}
    # Unassigned tickets are visible to the members of the team whose queue they are in (core.access).
    team_queue = True

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="ticket_created_idx"),
            models.Index(fields=["owner", "status"], name="ticket_owner_status_idx"),
            models.Index(fields=["status", "-created_at"], name="ticket_status_idx"),
            models.Index(fields=["team", "status"], name="ticket_team_idx"),
            models.Index(fields=["category", "-created_at"], name="ticket_category_idx"),
            models.Index(fields=["account", "-created_at"], name="ticket_account_idx"),
            # The scheduler's SLA sweep: open clocks not yet stamped, by the time they fire.
            models.Index(fields=["first_response_warn_at"], name="ticket_fr_warn_idx",
                         condition=models.Q(first_responded_at__isnull=True, first_response_warned_at__isnull=True,
                                            resolved_at__isnull=True)),
            models.Index(fields=["first_response_due"], name="ticket_fr_due_idx",
                         condition=models.Q(first_responded_at__isnull=True, first_response_breached_at__isnull=True,
                                            resolved_at__isnull=True)),
            models.Index(fields=["resolution_warn_at"], name="ticket_res_warn_idx",
                         condition=models.Q(resolved_at__isnull=True, resolution_warned_at__isnull=True)),
            models.Index(fields=["resolution_due"], name="ticket_res_due_idx",
                         condition=models.Q(resolved_at__isnull=True, resolution_breached_at__isnull=True)),
        ]

    def __str__(self):
        return f"{self.reference} {self.subject}"

    @property
    def reference(self):
        return f"T{self.pk:06d}" if self.pk else "T—"

    def get_absolute_url(self):
        return reverse("service:ticket_detail", args=[self.pk])

    @property
    def is_open(self):
        return self.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED)

    @property
    def customer_label(self):
        return str(self.contact or self.customer_name or self.account or self.customer_email or "")


class TicketMessage(models.Model):
    """One entry of the conversation: a reply the customer sees, an internal note, or the customer's own
    message (status page, email). Only `reply` and `customer` are ever shown to the customer."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("type"), max_length=10, choices=MessageKind.choices)
    body = models.TextField(_("message"), max_length=20_000)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    author_name = models.CharField(_("author"), max_length=150, blank=True)
    message_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(_("time"), db_index=True)

    class Meta:
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticketmessage_ticket_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_public(self):
        return self.kind != MessageKind.NOTE


class TicketAttachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(TicketMessage, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="attachments")
    file = models.FileField(upload_to="tickets/%Y/%m/")
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    # Internal attachments (on a note) are never offered on the customer's status page.
    is_public = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.filename


class TicketEvent(models.Model):
    """The ticket's history (what the customer's progress view and the analytics read): creation,
    assignments, status changes, escalations, SLA warnings and breaches, the rating."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=TicketEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"], name="ticketevent_ticket_idx"),
                   models.Index(fields=["kind", "at"], name="ticketevent_kind_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"
