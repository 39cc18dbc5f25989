"""Background jobs for integrations: thin wrappers that load ids and call services."""

from crontask import cron
from django.tasks import task

from . import services


@task
def outbound_send_task(email_id):
    return services.outbound_send(pk=email_id)


@cron("*/5 * * * *")
@task
def outbound_sweep_task():
    """Retry queued emails whose delivery job failed or was lost (sending is idempotent: claimed rows
    and sent rows are skipped, so an email already being delivered is not sent twice)."""
    ids = services.outbound_pending_ids()
    for email_id in ids:
        outbound_send_task.enqueue(email_id)
    return len(ids)
