"""Background jobs for activities: thin wrappers that load ids and call services (safe to run twice)."""

from crontask import cron
from django.tasks import task

from . import task_services


@cron("* * * * *")
@task
def reminders_dispatch():
    """Every minute: enqueue a delivery for every due, undelivered reminder."""
    return task_services.reminders_dispatch()


@task
def reminder_deliver(task_id, remind_at_iso):
    """Deliver one reminder (notification + email) exactly once; a duplicate job finds it claimed."""
    notification = task_services.reminder_deliver(task_id=task_id, remind_at=remind_at_iso)
    return notification.pk if notification is not None else None
