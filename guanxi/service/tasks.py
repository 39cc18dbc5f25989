"""Background jobs for service: thin wrappers that call services (safe to run twice)."""

from crontask import cron
from django.tasks import task

from . import sla_jobs


# Every minute: the tightest default target is a 30-minute first response with a warning 15 minutes
# before it, so a five-minute tick could eat a third of the warning. Most minutes the sweep is four empty
# range scans on the partial SLA indexes, which costs next to nothing.
@cron("* * * * *")
@task
def sla_check():
    """Fire the SLA warnings and breaches (with their escalations) that are due, each exactly once."""
    return sla_jobs.sla_sweep()
