"""Email out (an outbox that the job system delivers, templates) and email in (IMAP mailboxes)."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.core.choices import Language


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboundEmail(models.Model):
    """One email to send. Rows are created in the transaction of the event that causes them; a task
    claims a row (SELECT … FOR UPDATE SKIP LOCKED), sends it over SMTP and marks it sent in the same
    transaction, so a killed worker leaves it queued for the next one. `dedupe_key` makes the same
    event produce one row at most."""

    to = models.TextField(pgettext_lazy("email", "to"), max_length=5000)
    cc = models.TextField(_("cc"), max_length=5000, blank=True)
    subject = models.CharField(_("subject"), max_length=500)
    body_text = models.TextField(_("text"), max_length=200_000)
    body_html = models.TextField(_("HTML"), max_length=500_000, blank=True)
    from_email = models.CharField(pgettext_lazy("email", "from"), max_length=320, blank=True)
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


class EmailTemplate(models.Model):
    """A reusable email in one language. Placeholders ({{ contact.name }}, {{ account.name }},
    {{ user.display_name }}) are filled in by `guanxi.integrations.email_templates`, which allows
    nothing else (no tags, no other variables)."""

    name = models.CharField(_("name"), max_length=100)
    language = models.CharField(_("language"), max_length=10, choices=Language.choices, default=Language.ZH_HANS)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"), max_length=20_000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")
        ordering = ["name", "language", "id"]
        constraints = [models.UniqueConstraint(fields=["name", "language"], name="emailtemplate_name_language")]

    def __str__(self):
        return f"{self.name} ({self.get_language_display()})"


class Mailbox(models.Model):
    """An IMAP folder whose messages are logged on the timelines of the contacts they involve.

    A personal mailbox (`owner` set) is synced on its owner's behalf: only contacts the owner may see
    are matched. A shared mailbox (no owner, managed by administrators) matches every contact.
    The password is stored encrypted (Fernet, key derived from SECRET_KEY): see `crypto.py`.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
                              on_delete=models.CASCADE, related_name="mailboxes")
    name = models.CharField(_("name"), max_length=100)
    address = models.EmailField(_("email address"), max_length=254, blank=True,
                                help_text=_("Messages from this address are logged as sent (outbound)."))
    host = models.CharField(_("IMAP server"), max_length=255)
    port = models.PositiveIntegerField(_("port"), default=993, validators=[MaxValueValidator(65535)])
    use_ssl = models.BooleanField(_("use SSL/TLS"), default=True)
    username = models.CharField(_("user name"), max_length=254)
    password_encrypted = models.TextField(blank=True, editable=False)
    folder = models.CharField(_("folder"), max_length=200, default="INBOX")
    enabled = models.BooleanField(_("enabled"), default=True)
    creates_tickets = models.BooleanField(
        _("service mailbox (email to ticket)"), default=False,
        help_text=_("Each new message becomes a service ticket, and replies go on their ticket. For a shared "
                    "support address such as service@…"))
    # The sync cursor: the highest UID imported, valid while the folder's UIDVALIDITY is unchanged.
    uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(default=0, editable=False)
    last_sync_at = models.DateTimeField(_("last sync"), null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(_("last successful sync"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)
    imported_count = models.PositiveIntegerField(_("messages imported"), default=0, editable=False)
    # Set while a sync runs (a claim, so two workers do not fetch the same messages at once).
    sync_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["enabled", "last_sync_at"], name="mailbox_due_idx")]

    def __str__(self):
        return self.name

    @property
    def is_shared(self):
        return self.owner_id is None

    def set_password(self, raw):
        from .crypto import encrypt

        self.password_encrypted = encrypt(raw) if raw else ""

    def get_password(self):
        from .crypto import decrypt

        return decrypt(self.password_encrypted) if self.password_encrypted else ""
