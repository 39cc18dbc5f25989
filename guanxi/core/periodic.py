"""The core app's periodic jobs (declared here, run by `guanxi scheduler`; see guanxi/core/scheduler.py)."""

from crontask import cron
from django.tasks import task

from . import jobs


@cron("* * * * *")
@task
def jobs_requeue_stale_task():
    """Give database-queue jobs whose worker died to another worker (Redis reclaims its own)."""
    if jobs.backend_kind() != "db":
        return None
    requeued, abandoned = jobs.jobs_requeue_stale()
    return {"requeued": requeued, "abandoned": abandoned}


@cron("17 3 * * *")
@task
def jobs_prune_task():
    """Drop finished job results older than TASKS_RESULT_DAYS."""
    return jobs.jobs_prune()
