"""In-app notifications: create (once per dedupe key), count unread, mark read.

Notifications are a user's own inbox: every read and write here is scoped to one user, and marking
them read is not audited (it changes no business record).
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Notification

PREVIEW_SIZE = 5


def notification_create(*, user, kind, title, body="", url="", dedupe_key=None, now=None):
    """Create a notification for `user`; with a `dedupe_key` already used, return the existing one.

    Safe under concurrency: the key is unique, and the insert runs in a savepoint so that losing the race
    leaves the caller's transaction usable.
    """
    if dedupe_key:
        existing = Notification.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            return Notification.objects.create(
                user=user, kind=kind[:30], title=title[:200], body=body[:2000], url=url[:500],
                dedupe_key=dedupe_key or None, created_at=now or timezone.now(),
            )
    except IntegrityError:
        if not dedupe_key:
            raise
        return Notification.objects.get(dedupe_key=dedupe_key)


def notifications_for(user):
    return Notification.objects.filter(user=user)


def notification_unread_count(user):
    """Unread notifications of `user`: a count on the partial index notification_unread_idx."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_mark_read(*, user, notification_id, now=None):
    """Mark one of the user's notifications read; returns it, or None when it is not theirs."""
    now = now or timezone.now()
    Notification.objects.filter(pk=notification_id, user=user, read_at__isnull=True).update(read_at=now)
    return Notification.objects.filter(pk=notification_id, user=user).first()


def notifications_mark_all_read(*, user, now=None):
    """Mark every unread notification of the user read; returns how many changed."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=now or timezone.now())
