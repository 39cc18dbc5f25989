"""Interactions (every call, email, meeting, visit, note or message with a customer) and tasks."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.framework.base import OwnedMixin, Record

from .choices import Direction, InteractionKind, Priority, Recurrence, TaskStatus


class Interaction(Record, OwnedMixin):
    """One contact with a customer, logged against a company and/or a contact (later: lead, opportunity).

    Its visibility follows the records it is about (`access_parents_any`): whoever may see the customer
    sees its history, whoever logged it. `owner` is the person who logged it or ran the meeting.
    """

    kind = models.CharField(_("type"), max_length=10, choices=InteractionKind.choices, default=InteractionKind.CALL)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    content = models.TextField(_("content"), max_length=100_000, blank=True)
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    duration_minutes = models.PositiveIntegerField(
        _("duration (minutes)"), null=True, blank=True, validators=[MaxValueValidator(24 * 60)]
    )
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)
    next_step = models.CharField(_("next step"), max_length=300, blank=True)
    next_step_due = models.DateField(_("next step due"), null=True, blank=True)
    account = models.ForeignKey(
        "customers.Account", verbose_name=_("company"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="interactions",
    )
    contact = models.ForeignKey(
        "customers.Contact", verbose_name=_("contact"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="interactions",
    )
    lead = models.ForeignKey(
        "sales.Lead", verbose_name=_("lead"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="interactions",
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity", verbose_name=_("opportunity"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="interactions",
    )
    participant_contacts = models.ManyToManyField(
        "customers.Contact", verbose_name=_("contacts taking part"), blank=True, related_name="+"
    )
    participant_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("colleagues taking part"), blank=True, related_name="+"
    )
    # Email: kept for threading and so that a message is never imported twice.
    message_id = models.CharField(_("message ID"), max_length=255, blank=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    thread_key = models.CharField(max_length=255, blank=True, db_index=True)
    email_from = models.CharField(pgettext_lazy("email", "from"), max_length=320, blank=True)
    email_to = models.TextField(pgettext_lazy("email", "to"), max_length=5000, blank=True)

    access_parents_any = ("account", "contact", "lead", "opportunity")
    # Email addresses and message text of customers are personal data too.
    sensitive_fields = {"email_from": "email", "email_to": "email"}

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["message_id"], condition=models.Q(message_id__gt=""),
                                    name="interaction_message_id_unique"),
        ]
        indexes = [
            models.Index(fields=["account", "-occurred_at"], name="interaction_account_idx"),
            models.Index(fields=["contact", "-occurred_at"], name="interaction_contact_idx"),
            models.Index(fields=["lead", "-occurred_at"], name="interaction_lead_idx"),
            models.Index(fields=["opportunity", "-occurred_at"], name="interaction_opportunity_idx"),
            models.Index(fields=["owner", "-occurred_at"], name="interaction_owner_idx"),
            models.Index(fields=["kind", "-occurred_at"], name="interaction_kind_idx"),
            # The list's default order: a page is read off this index and filtered by visibility.
            models.Index(fields=["-occurred_at", "-id"], name="interaction_recent_idx"),
        ]

    def __str__(self):
        label = self.subject or self.get_kind_display()
        return f"{label} · {timezone.localtime(self.occurred_at):%Y-%m-%d %H:%M}" if self.occurred_at else label

    def get_absolute_url(self):
        return reverse("activities:interaction_detail", args=[self.pk])

    def clean(self):
        super().clean()
        if not (self.account_id or self.contact_id or self.lead_id or self.opportunity_id):
            raise ValidationError(_("Choose the company, contact, lead or opportunity this is about."))


class Attachment(models.Model):
    """A file attached to an interaction (an email attachment, meeting minutes...)."""

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/")
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["filename", "id"]

    def __str__(self):
        return self.filename


class Task(Record, OwnedMixin):
    """A to-do with an assignee (`owner`), due time, reminder and optional repetition.

    Status changes only through `task_complete` / `task_reopen`; a completed repeating task creates
    the next one.
    """

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=10_000, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN,
                              editable=False)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True, editable=False)
    remind_at = models.DateTimeField(_("reminder"), null=True, blank=True)
    # Set in the transaction that delivers the reminder: the claim that makes delivery happen once.
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    recurrence = models.CharField(_("repeats"), max_length=10, choices=Recurrence.choices, blank=True,
                                  default=Recurrence.NONE)
    recurrence_interval = models.PositiveSmallIntegerField(
        _("every"), default=1, validators=[MaxValueValidator(365)]
    )
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="next_occurrence", editable=False,
    )
    account = models.ForeignKey(
        "customers.Account", verbose_name=_("company"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="tasks",
    )
    contact = models.ForeignKey(
        "customers.Contact", verbose_name=_("contact"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="tasks",
    )
    lead = models.ForeignKey(
        "sales.Lead", verbose_name=_("lead"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="tasks",
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity", verbose_name=_("opportunity"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="tasks",
    )

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["owner", "status", "due_at"], name="task_owner_due_idx"),
            models.Index(fields=["account", "status"], name="task_account_idx"),
            models.Index(fields=["contact", "status"], name="task_contact_idx"),
            # The reminder scan: due reminders not yet delivered.
            models.Index(fields=["remind_at"], condition=models.Q(reminded_at__isnull=True, remind_at__isnull=False),
                         name="task_reminder_due_idx"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("activities:task_detail", args=[self.pk])

    def clean(self):
        super().clean()
        # A reminder is for doing the task on time (guanxi.activities.task_services explains the choices).
        if self.remind_at and self.due_at and self.remind_at > self.due_at:
            raise ValidationError({"remind_at": _("The reminder must not be later than the due time.")})

    def save(self, *args, **kwargs):
        # `reminded_at` is the reminder job's claim: a plain save never writes it (a form read before the
        # claim must not undo it), and moving the reminder clears it so that the new time fires once.
        if not self._state.adding and self.pk and kwargs.get("update_fields") is None:
            if type(self).all_objects.filter(pk=self.pk).exclude(remind_at=self.remind_at).update(reminded_at=None):
                self.reminded_at = None
            kwargs["update_fields"] = [f.name for f in self._meta.concrete_fields
                                       if not f.primary_key and f.name != "reminded_at"]
        super().save(*args, **kwargs)

    @property
    def is_overdue(self):
        return self.status == TaskStatus.OPEN and self.due_at is not None and self.due_at < timezone.now()


class CalendarFeedToken(models.Model):
    """The secret in a user's personal iCalendar feed URL; only its SHA-256 is stored.

    Calendar apps cannot log in, so the URL itself is the credential: it is shown once, can be revoked,
    and a user has at most one active feed token (creating a new one revokes the old).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed token")
        verbose_name_plural = _("calendar feed tokens")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=models.Q(revoked_at__isnull=True),
                                    name="calendar_feed_one_active_per_user"),
        ]

    def __str__(self):
        return f"{self.prefix}…"
