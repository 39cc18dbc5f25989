"""The outbox: every email Guanxi sends goes through `outbound_create` and is delivered by a task.

Why an outbox: the email is recorded in the same transaction as the event that causes it (a reminder
claimed, a message written on a record), so a rolled-back event sends nothing, and the unique
`dedupe_key` makes one event produce one email even when two workers handle it. Delivery claims the
row with SELECT … FOR UPDATE SKIP LOCKED and marks it sent in the same transaction: a worker killed
mid-send leaves the row queued (its lock dies with its connection) and the next run sends it.
"""

import email.utils
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .models import OutboundEmail, OutboundStatus

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


def make_message_id(key=None):
    """An RFC 5322 Message-ID on our domain; deterministic for a dedupe key so retries reuse it."""
    domain = settings.GUANXI_EMAIL_DOMAIN
    if key:
        import hashlib
        import hmac

        # Keyed with the server's secret: replies are threaded onto tickets by the Message-IDs they answer,
        # so they must not be computable from the (guessable) dedupe key alone.
        digest = hmac.new(settings.SECRET_KEY.encode(), key.encode(), hashlib.sha256).hexdigest()
        return f"<{digest[:32]}@{domain}>"
    return email.utils.make_msgid(domain=domain)


def outbound_create(*, to, subject, body_text, body_html="", actor=None, dedupe_key=None, in_reply_to="",
                    interaction=None, cc="", reply_to=""):
    """Queue one email (in the caller's transaction) and schedule its delivery after commit.

    Returns the row, or the existing one when `dedupe_key` was already used.
    """
    from .tasks import outbound_send_task

    if dedupe_key:
        existing = OutboundEmail.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            row = OutboundEmail.objects.create(
                to=to if isinstance(to, str) else ", ".join(to), cc=cc, subject=subject[:500], body_text=body_text,
                body_html=body_html, from_email=settings.DEFAULT_FROM_EMAIL, reply_to=reply_to,
                message_id=make_message_id(dedupe_key), in_reply_to=in_reply_to, dedupe_key=dedupe_key,
                created_by=actor, interaction=interaction,
            )
    except IntegrityError:
        # Another worker queued the same event between our check and our insert.
        return OutboundEmail.objects.get(dedupe_key=dedupe_key)
    transaction.on_commit(lambda: outbound_send_task.enqueue(row.pk))
    return row


def _claim(pk):
    qs = OutboundEmail.objects.filter(pk=pk, status=OutboundStatus.QUEUED)
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True)
    return qs.first()


def outbound_send(*, pk):
    """Deliver one queued email. Idempotent: a sent, failed or claimed-elsewhere row is left alone.

    Returns the final status, or None when there was nothing to do.
    """
    with transaction.atomic():
        row = _claim(pk)
        if row is None:
            return None
        message = EmailMultiAlternatives(
            subject=row.subject, body=row.body_text, from_email=row.from_email or settings.DEFAULT_FROM_EMAIL,
            to=[a.strip() for a in row.to.split(",") if a.strip()],
            cc=[a.strip() for a in row.cc.split(",") if a.strip()],
            reply_to=[row.reply_to] if row.reply_to else None,
            headers={"Message-ID": row.message_id, **({"In-Reply-To": row.in_reply_to,
                                                        "References": row.in_reply_to} if row.in_reply_to else {})},
        )
        if row.body_html:
            message.attach_alternative(row.body_html, "text/html")
        row.attempts += 1
        try:
            mailers["default"].send_messages([message])
        except Exception as e:  # SMTP refused, unreachable, timed out: keep the error, retry later
            row.last_error = f"{type(e).__name__}: {e}"[:2000]
            row.status = OutboundStatus.FAILED if row.attempts >= MAX_ATTEMPTS else OutboundStatus.QUEUED
            row.save(update_fields=["attempts", "last_error", "status"])
            log.warning("email %s not sent (attempt %d): %s", row.pk, row.attempts, row.last_error)
            return row.status
        row.status, row.sent_at, row.last_error = OutboundStatus.SENT, timezone.now(), ""
        row.save(update_fields=["attempts", "status", "sent_at", "last_error"])
        return row.status


def outbound_pending_ids(limit=500):
    """Queued emails to (re)try: what the periodic sweep enqueues after a failure or a lost job."""
    return list(OutboundEmail.objects.filter(status=OutboundStatus.QUEUED).order_by("created_at")
                .values_list("pk", flat=True)[:limit])
