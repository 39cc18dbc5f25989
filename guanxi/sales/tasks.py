"""Background jobs for sales: thin wrappers that call services (safe to run twice)."""

from crontask import cron
from django.tasks import task

from . import scoring


@cron("17 3 * * *")
@task
def leads_rescore():
    """Recompute every open lead's score: after the scoring rules changed, and nightly because recent
    engagement decays. Writes only the leads whose score changed; returns how many."""
    return scoring.leads_rescore_all()
