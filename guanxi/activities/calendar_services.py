"""Calendar commands: move a meeting/visit/call, and the personal iCalendar feed token.

Callers authorise first (the record through `restrict(actor, "change")`, the token through its owner);
each function is one transaction with its audit row (and timeline row for a record) in it.
"""

import datetime
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.audit import audit_log
from guanxi.core.choices import AuditAction, TimelineKind
from guanxi.core.models import hash_token
from guanxi.framework.errors import Conflict
from guanxi.framework.services import timeline_add

from .models import CalendarFeedToken, Interaction

KEEP = object()
FEED_RECORD_TYPE = "activities.calendarfeedtoken"
MAX_DURATION_MINUTES = 24 * 60


def _plain(value):
    # The generic services' shape for change rows (times as text, in UTC like the database returns them).
    if isinstance(value, datetime.datetime):
        return str(value.astimezone(datetime.UTC))
    return value


@transaction.atomic
def interaction_reschedule(*, actor, interaction, occurred_at, version, duration_minutes=KEEP):
    """Move an interaction to `occurred_at` (and optionally change its length). A stale `version`
    raises Conflict and changes nothing. Returns the updated interaction."""
    if not isinstance(occurred_at, datetime.datetime) or timezone.is_naive(occurred_at):
        raise ValidationError({"start": _("Give a date and time with its time zone.")})
    if duration_minutes is not KEEP and duration_minutes is not None and not (
            isinstance(duration_minutes, int) and 0 <= duration_minutes <= MAX_DURATION_MINUTES):
        raise ValidationError({"end": _("A meeting lasts at most 24 hours.")})
    current = Interaction.all_objects.select_for_update().filter(pk=interaction.pk).first()
    if current is None or current.version != version:
        raise Conflict()
    fields = {"occurred_at": occurred_at}
    if duration_minutes is not KEEP:
        fields["duration_minutes"] = duration_minutes
    changes = {name: [_plain(getattr(current, name)), _plain(value)] for name, value in fields.items()
               if getattr(current, name) != value}
    if not changes:
        return current
    # The version guard is repeated in the UPDATE so that SQLite (no row locks) is safe as well.
    if not Interaction.all_objects.filter(pk=current.pk, version=version).update(
            **fields, version=F("version") + 1, updated_at=timezone.now()):
        raise Conflict()
    current.refresh_from_db()
    timeline_add(obj=current, kind=TimelineKind.UPDATED, actor=actor, data={"changes": changes})
    audit_log(actor=actor, action=AuditAction.UPDATE, obj=current,
              data={"changes": changes, "operation": "reschedule"})
    return current


def _feed_audit(*, actor, action, token):
    audit_log(actor=actor, action=action, record_type=FEED_RECORD_TYPE, record_id=token.pk, label=str(token),
              data={"kind": "calendar feed", "prefix": token.prefix, "user": token.user.get_username()})


@transaction.atomic
def calendar_feed_token_create(*, actor, user):
    """Issue `user` a new feed token, revoking the active one; returns (token, raw). The raw token is
    shown once and never stored."""
    active = CalendarFeedToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True)
    for old in active:
        _revoke(actor=actor, token=old)
    raw = "gxc_" + secrets.token_urlsafe(32)
    token = CalendarFeedToken.objects.create(user=user, prefix=raw[:10], token_hash=hash_token(raw))
    _feed_audit(actor=actor, action=AuditAction.TOKEN_CREATE, token=token)
    return token, raw


def _revoke(*, actor, token):
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    _feed_audit(actor=actor, action=AuditAction.TOKEN_REVOKE, token=token)


@transaction.atomic
def calendar_feed_token_revoke(*, actor, token):
    """Revoke an active feed token; returns False (and writes nothing) when it was already revoked."""
    locked = CalendarFeedToken.objects.select_for_update().select_related("user").filter(pk=token.pk).first()
    if locked is None or locked.revoked_at is not None:
        return False
    _revoke(actor=actor, token=locked)
    token.revoked_at = locked.revoked_at
    return True


def calendar_feed_token_user(raw):
    """The active user a raw feed token belongs to, or None; notes the use at most once a minute."""
    if not raw or len(raw) > 100:
        return None
    token = (CalendarFeedToken.objects.select_related("user")
             .filter(token_hash=hash_token(raw), revoked_at__isnull=True, user__is_active=True).first())
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > datetime.timedelta(minutes=1):
        CalendarFeedToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
