"""Background jobs for integrations: thin wrappers that load ids and call services."""

from crontask import cron
from django.tasks import task

from . import email_in, services


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


@task
def mailbox_sync_task(mailbox_id):
    """Import new messages of one mailbox; runs again at once while the batch limit left some behind."""
    result = email_in.mailbox_sync(pk=mailbox_id)
    if result is not None and result.more and not result.error:
        mailbox_sync_task.enqueue(mailbox_id)
    return None if result is None else {"imported": result.imported, "failed": result.failed,
                                         "error": result.error}


@cron("*/5 * * * *")
@task
def mailboxes_sync_task():
    """The periodic job: enqueue a sync of every enabled mailbox (each claims its mailbox, so a sync
    still running from the previous round is not started twice)."""
    ids = email_in.mailboxes_due()
    for pk in ids:
        mailbox_sync_task.enqueue(pk)
    return len(ids)
