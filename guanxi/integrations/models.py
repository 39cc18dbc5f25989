"""Email out (an outbox that the job system delivers) and, later, other integrations."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboundEmail(models.Model):
    """One email to send. Rows are created in the transaction of the event that causes them; a task
    claims a row (SELECT … FOR UPDATE SKIP LOCKED), sends it over SMTP and marks it sent in the same
    transaction, so a killed worker leaves it queued for the next one. `dedupe_key` makes the same
    event produce one row at most."""

    to = models.TextField(_("to"), max_length=5000)
    cc = models.TextField(_("cc"), max_length=5000, blank=True)
    subject = models.CharField(_("subject"), max_length=500)
    body_text = models.TextField(_("text"), max_length=200_000)
    body_html = models.TextField(_("HTML"), max_length=500_000, blank=True)
    from_email = models.CharField(_("from"), max_length=320, blank=True)
    reply_to = models.CharField(max_length=320, blank=True)
    message_id = models.CharField(_("message ID"), max_length=255, unique=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=OutboundStatus.choices,
                              default=OutboundStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    interaction = models.ForeignKey("activities.Interaction", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="outbound_emails")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing emails")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="outbound_status_idx")]

    def __str__(self):
        return self.subject
