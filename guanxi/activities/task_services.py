"""Task commands (complete, reopen, reschedule), repetition and reminders.

Status changes only through `task_complete` / `task_reopen` (the status field is read-only in forms and the
API). Each command is one transaction with its audit and timeline rows.

Decisions:
- A reminder later than the due time is refused (`Task.clean`): a reminder is for doing the task on time.
- Due and reminder times in the past are allowed without a warning (tasks are often logged after the fact);
  a reminder that is already due fires at the next dispatch run.
- A repeating task's next occurrence is due one interval after the completed one's due time, in the
  assignee's time zone (wall clock: daily at 09:00 stays 09:00 across daylight-saving changes), with the
  same reminder offset. Monthly and yearly repeats keep the day of month: a task due on the 31st falls on
  the last day of shorter months and returns to the 31st; 29 February falls on 28 February in other years.
  Without a due time the reminder moves by the interval; with neither, the next one is due one interval
  after completion.
- Reminders are delivered exactly once per (task, reminder time): `reminder_deliver` claims the task with a
  conditional UPDATE (only one worker wins) and, in the same transaction, creates the notification and
  queues the email, both with the same dedupe key. Moving the reminder clears the claim (`Task.save`), so
  the new time fires once as well.
"""

import calendar
import datetime
import logging
import zoneinfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from guanxi.core.audit import audit_log
from guanxi.core.choices import AuditAction, TimelineKind
from guanxi.framework.errors import Conflict
from guanxi.framework.services import diff, record_update, snapshot, timeline_add

from .choices import Recurrence, TaskStatus
from .models import Task

log = logging.getLogger(__name__)

# How many due reminders one dispatch run enqueues; the next run (a minute later) takes the rest.
DISPATCH_BATCH = 500
# How far back a monthly/yearly chain is read to find the intended day of month (see _intended_day).
_CHAIN_LOOKBACK = 12
REMINDER_KIND = "task_reminder"


def _iso(value):
    return value.astimezone(datetime.UTC).isoformat()


def reminder_key(task_id, remind_at):
    """The dedupe key of one reminder: the same for the notification and the email."""
    return f"task-reminder:{task_id}:{_iso(remind_at)}"


def user_zone(user):
    try:
        return zoneinfo.ZoneInfo(getattr(user, "timezone", "") or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


# -- repetition --------------------------------------------------------------------------------


def _is_month_end(local):
    return local.day == calendar.monthrange(local.year, local.month)[1]


def _intended_day(task, local_due, tz):
    """The day of month a monthly/yearly chain aims at.

    A task due on the 31st falls on the 30th in April; without looking back, May would get the 30th too.
    While the current date is a month end, earlier links of the chain may name a later day: take the
    largest (bounded lookback, so a long chain costs a few queries at most).
    """
    day, link, current = local_due.day, task, local_due
    for _step in range(_CHAIN_LOOKBACK):
        if day >= 31 or not _is_month_end(current) or not link.previous_id:
            break
        link = Task.all_objects.filter(pk=link.previous_id).only("due_at", "previous_id").first()
        if link is None or link.due_at is None:
            break
        current = link.due_at.astimezone(tz)
        day = max(day, current.day)
    return day


def _add_months(local, months, day):
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    return local.replace(year=year, month=month, day=min(day, calendar.monthrange(year, month)[1]))


def next_time(value, *, recurrence, interval, tz, day=None):
    """`value` moved by one repetition interval, on the wall clock of `tz`."""
    local = value.astimezone(tz)
    interval = max(1, interval or 1)
    if recurrence == Recurrence.DAILY:
        moved = local + datetime.timedelta(days=interval)
    elif recurrence == Recurrence.WEEKLY:
        moved = local + datetime.timedelta(weeks=interval)
    elif recurrence == Recurrence.MONTHLY:
        moved = _add_months(local, interval, day or local.day)
    elif recurrence == Recurrence.YEARLY:
        moved = _add_months(local, 12 * interval, day or local.day)
    else:
        raise ValueError(f"not a repetition: {recurrence!r}")
    # Aware arithmetic on a zoneinfo datetime is wall-clock arithmetic; store the instant in UTC.
    return moved.astimezone(datetime.UTC)


def next_occurrence_times(task, *, now):
    """(due_at, remind_at) of the occurrence after `task`."""
    tz = user_zone(task.owner)
    kw = {"recurrence": task.recurrence, "interval": task.recurrence_interval, "tz": tz}
    if task.due_at is not None:
        local_due = task.due_at.astimezone(tz)
        day = _intended_day(task, local_due, tz) if task.recurrence in (Recurrence.MONTHLY, Recurrence.YEARLY) else None
        due = next_time(task.due_at, day=day, **kw)
        remind = due - (task.due_at - task.remind_at) if task.remind_at is not None else None
        return due, remind
    if task.remind_at is not None:
        return None, next_time(task.remind_at, **kw)
    return next_time(now, **kw), None


def _create_next_occurrence(*, actor, task, now):
    """The next occurrence of a repeating task, once: `previous` is unique, so a second one cannot exist."""
    if Task.all_objects.filter(previous=task).exists():
        return None
    due, remind = next_occurrence_times(task, now=now)
    nxt = Task(
        title=task.title, description=task.description, priority=task.priority, owner=task.owner,
        due_at=due, remind_at=remind, recurrence=task.recurrence, recurrence_interval=task.recurrence_interval,
        account=task.account, contact=task.contact, lead=task.lead, opportunity=task.opportunity, previous=task,
        created_by=actor, custom=dict(task.custom or {}),
    )
    nxt.full_clean(validate_unique=False)
    try:
        with transaction.atomic():
            nxt.save()
    except IntegrityError:
        # Another transaction created it first (the unique `previous`): that one is the next occurrence.
        return None
    timeline_add(obj=nxt, kind=TimelineKind.CREATED, actor=actor, data={"label": str(nxt), "previous": task.pk})
    audit_log(actor=actor, action=AuditAction.CREATE, obj=nxt,
              data={"changes": diff({}, snapshot(nxt), Task), "repeats": task.pk})
    return nxt


# -- commands ----------------------------------------------------------------------------------


def _plain(value):
    # UTC, like the values read back from the database, so that the rows compare.
    return str(value.astimezone(datetime.UTC)) if value is not None else None


def _status_change(*, actor, task, version, frm, to, completed_at, command):
    before = Task.all_objects.filter(pk=task.pk).values_list("completed_at", flat=True).first()
    qs = Task.objects.filter(pk=task.pk, status=frm)
    if version is not None:
        qs = qs.filter(version=version)
    # The conditional UPDATE is the gate: of two concurrent calls (a double click) only one changes the row.
    changed = qs.update(status=to, completed_at=completed_at, version=F("version") + 1, updated_at=timezone.now())
    fresh = Task.all_objects.select_related("owner").get(pk=task.pk)
    if not changed:
        if version is not None and fresh.version != version and fresh.status == frm:
            raise Conflict()
        return fresh, False  # already in that state (a double click, a retried request): nothing to do
    changes = {"status": [frm, to], "completed_at": [_plain(before), _plain(completed_at)]}
    timeline_add(obj=fresh, kind=TimelineKind.UPDATED, actor=actor, data={"changes": changes})
    audit_log(actor=actor, action=AuditAction.UPDATE, obj=fresh, data={"changes": changes, "command": command})
    return fresh, True


@transaction.atomic
def task_complete(*, actor, task, version=None, now=None):
    """Mark the task done; a repeating task gets its next occurrence (once, however often this runs).

    Completing a done task changes nothing. A stale `version` raises Conflict. Returns (task, next_task),
    next_task being None when none was created by this call.
    """
    now = now or timezone.now()
    fresh, changed = _status_change(actor=actor, task=task, version=version, frm=TaskStatus.OPEN,
                                    to=TaskStatus.DONE, completed_at=now, command="complete")
    nxt = None
    if changed and fresh.recurrence:
        nxt = _create_next_occurrence(actor=actor, task=fresh, now=now)
    return fresh, nxt


@transaction.atomic
def task_reopen(*, actor, task, version=None):
    """Mark a done task open again. Its next occurrence (if one was created) stays; completing it again
    does not create another."""
    fresh, _changed = _status_change(actor=actor, task=task, version=version, frm=TaskStatus.DONE,
                                     to=TaskStatus.OPEN, completed_at=None, command="reopen")
    return fresh


def task_reschedule(*, actor, task, due_at, version):
    """Move the due time (the calendar's drag and drop); the reminder keeps its offset to the due time.

    Goes through the generic update: version check (Conflict when stale), validation, audit and timeline
    rows; moving the reminder clears its delivery claim so that the new time fires.
    """
    if due_at is not None and timezone.is_naive(due_at):
        due_at = timezone.make_aware(due_at, user_zone(actor))
    fields = {"due_at": due_at}
    current = Task.all_objects.filter(pk=task.pk).values("due_at", "remind_at").first() or {}
    if due_at is not None and current.get("due_at") is not None and current.get("remind_at") is not None:
        fields["remind_at"] = due_at - (current["due_at"] - current["remind_at"])
    return record_update(obj=task, actor=actor, fields=fields, version=version)


# -- reminders ---------------------------------------------------------------------------------


def reminders_due(*, now, limit=DISPATCH_BATCH):
    """[(task id, remind_at)] of reminders due at `now` and not delivered, oldest first.

    The conditions match the partial index task_reminder_due_idx (reminded_at IS NULL AND remind_at IS
    NOT NULL), so the scan reads only undelivered reminders.
    """
    return list(
        Task.objects.filter(remind_at__isnull=False, reminded_at__isnull=True, remind_at__lte=now,
                            status=TaskStatus.OPEN)
        .order_by("remind_at", "pk").values_list("pk", "remind_at")[:limit]
    )


def reminders_dispatch(*, now=None, limit=DISPATCH_BATCH):
    """Enqueue one delivery job per due reminder; returns how many. Safe to run twice: a second job for the
    same reminder finds it claimed and does nothing."""
    from .tasks import reminder_deliver

    now = now or timezone.now()
    due = reminders_due(now=now, limit=limit)
    for pk, remind_at in due:
        reminder_deliver.enqueue(pk, _iso(remind_at))
    return len(due)


def site_url():
    return settings.GUANXI_BASE_URL


def reminder_message(task, user):
    """(title, body) of a reminder, in the user's language and time zone."""
    tz = user_zone(user)
    with translation.override(user.language or settings.LANGUAGE_CODE), timezone.override(tz):
        title = _("Reminder: %(title)s") % {"title": task.title}
        if task.due_at is not None:
            due = formats.date_format(timezone.localtime(task.due_at, tz), "DATETIME_FORMAT")
            when = _("Due: %(time)s (%(zone)s)") % {"time": due, "zone": tz.key}
        else:
            when = _("No due time.")
        lines = [task.title, when, _("Priority: %(priority)s") % {"priority": task.get_priority_display()}]
        if task.description:
            lines += ["", task.description[:500]]
        return title, "\n".join(lines)


def reminder_deliver(*, task_id, remind_at, now=None):
    """Deliver one reminder exactly once: claim, notify and queue the email in one transaction.

    Returns the notification, or None when there was nothing to do (claimed by another worker, moved,
    completed or deleted meanwhile). A worker killed before commit leaves the reminder unclaimed, and the
    next dispatch run enqueues it again.
    """
    from guanxi.core.notifications import notification_create
    from guanxi.integrations.services import outbound_create

    now = now or timezone.now()
    if isinstance(remind_at, str):
        remind_at = datetime.datetime.fromisoformat(remind_at)
    with transaction.atomic():
        claimed = Task.objects.filter(
            pk=task_id, remind_at=remind_at, reminded_at__isnull=True, status=TaskStatus.OPEN
        ).update(reminded_at=now)
        if not claimed:
            return None
        task = Task.objects.select_related("owner").get(pk=task_id)
        user = task.owner
        if user is None or not user.is_active:
            return None  # nobody to remind; the claim stays so the reminder is not retried forever
        key = reminder_key(task_id, remind_at)
        title, body = reminder_message(task, user)
        url = task.get_absolute_url()
        notification = notification_create(user=user, kind=REMINDER_KIND, title=title, body=body, url=url,
                                           dedupe_key=key, now=now)
        if user.email:
            with translation.override(user.language or settings.LANGUAGE_CODE):
                link = _("Open the task: %(url)s") % {"url": site_url().rstrip("/") + url}
            outbound_create(to=user.email, subject=title, body_text=f"{body}\n\n{link}\n", dedupe_key=key)
        return notification
