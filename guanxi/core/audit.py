"""The audit log: one append-only, hash-chained row per event, written in the caller's transaction.

Each row's hash covers its content and the previous row's hash, and the `AuditHead` row holds the
newest hash, so `guanxi audit_verify` finds a row edited, deleted (anywhere, including the newest)
or moved. Writers serialise on the head row's lock (SELECT … FOR UPDATE on PostgreSQL; SQLite has a
single writer anyway), so the chain stays linear under concurrency.
"""

import contextvars
import datetime
import hashlib
import json
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .choices import AuditOutcome

GENESIS = "0" * 64


@dataclass(frozen=True)
class RequestMeta:
    ip: str = ""
    user_agent: str = ""


_request_meta = contextvars.ContextVar("guanxi_audit_request", default=None)


def set_request_meta(request):
    """Called by the middleware: later audit rows of this request carry its IP and user agent."""
    ip = request.META.get("REMOTE_ADDR", "") or ""
    agent = (request.META.get("HTTP_USER_AGENT", "") or "")[:300]
    return _request_meta.set(RequestMeta(ip=ip[:45], user_agent=agent))


def reset_request_meta(token):
    _request_meta.reset(token)


def _canonical(event):
    body = {
        "id": event.pk,
        "at": event.at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "outcome": event.outcome,
        "record_type": event.record_type,
        "record_id": event.record_id,
        "record_label": event.record_label,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "data": event.data,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_hash(event, prev_hash):
    return hashlib.sha256((prev_hash + "\n" + _canonical(event)).encode()).hexdigest()


def _jsonable(value):
    """Audit details are plain JSON (str/int/bool/list/dict) so that they hash the same after a round trip."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def audit_log(*, actor, action, obj=None, record_type="", record_id=None, label="",
              outcome=AuditOutcome.SUCCESS, data=None):
    """Append one audit row in the current transaction and return it.

    `data` holds details (field changes, exported fields and row count, ...); callers pass sensitive
    values already masked (guanxi.core.masking).
    """
    from .models import AuditEvent, AuditHead

    if obj is not None:
        record_type = record_type or obj.type_key()
        record_id = obj.pk if record_id is None else record_id
        label = label or str(obj)
    meta = _request_meta.get() or RequestMeta()
    actor = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        head = AuditHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            AuditHead.objects.get_or_create(pk=1)
            head = AuditHead.objects.select_for_update().get(pk=1)
        event = AuditEvent(
            at=timezone.now(), actor=actor, actor_label=actor.get_username() if actor else "",
            action=action, outcome=outcome, record_type=record_type, record_id=record_id,
            record_label=str(label)[:200], ip=meta.ip, user_agent=meta.user_agent,
            data=_jsonable(data or {}), prev_hash=head.last_hash, hash="",
        )
        # The id is part of the hash, so insert first (with a unique placeholder), then set the hash.
        event.hash = "pending-" + uuid.uuid4().hex
        event.save()
        event.refresh_from_db(fields=["at", "data"])  # hash what the database stores
        event.hash = event_hash(event, head.last_hash)
        _set_hash(event)
        AuditHead.objects.filter(pk=1).update(last_id=event.pk, last_hash=event.hash)
    return event


def _set_hash(event):
    # The append-only manager refuses update(); the row is brand new and unreadable by others until commit.
    from django.db.models.query import QuerySet

    from .models import AuditEvent

    QuerySet.update(AuditEvent.objects.filter(pk=event.pk), hash=event.hash)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problem: str = ""
    event_id: int | None = None


def audit_verify(chunk=2000):
    """Walk the chain in id order; report the first row whose link or content does not match."""
    from .models import AuditEvent, AuditHead

    prev, checked, last_id = GENESIS, 0, 0
    while True:
        rows = list(AuditEvent.objects.filter(pk__gt=last_id).order_by("pk")[:chunk])
        if not rows:
            break
        for event in rows:
            if event.prev_hash != prev:
                return VerifyResult(False, checked, _("broken link: a row before it was removed, added or moved"),
                                    event.pk)
            if event_hash(event, prev) != event.hash:
                return VerifyResult(False, checked, _("content does not match its hash: the row was edited"),
                                    event.pk)
            prev, last_id = event.hash, event.pk
            checked += 1
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.last_hash != prev or head.last_id != last_id):
        return VerifyResult(False, checked, _("the chain does not end where the head says: newest rows removed, "
                                              "or rows added without the head"), head.last_id)
    return VerifyResult(True, checked)
