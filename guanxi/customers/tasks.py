"""Background jobs for customers: thin wrappers that call services (safe to run twice)."""

from crontask import cron
from django.tasks import task

from . import pool_services


@cron("17 * * * *")
@task
def pool_reclaim():
    """Hourly: return claimed pool records without a follow-up or deal for the pool's reclaim days."""
    return pool_services.pool_reclaim_due()
