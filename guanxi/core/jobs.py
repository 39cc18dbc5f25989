"""Background jobs: which backend runs them, what the Jobs page shows, retrying a failed job, and
recovering database-queue jobs whose worker died.

Jobs are Django `django.tasks` tasks. The backend is chosen by settings alone (TASKS_BACKEND): the
database queue (django-tasks-db) or Redis streams (django-tasks-redis). Both deliver a job at least once:
a job whose worker is killed is run again by another worker, so every job must be idempotent (claim its
work in the database, use dedupe keys). This module reads each backend through its own models or API.
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, Task, TaskResultStatus, task_backends
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string

from .audit import audit_log
from .choices import AuditAction

log = logging.getLogger(__name__)

STATUSES = [TaskResultStatus.READY, TaskResultStatus.RUNNING, TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL]
ABANDONED = "guanxi.core.jobs.JobAbandoned"


class JobAbandoned(Exception):
    """Recorded on a job that was started TASKS_MAX_ATTEMPTS times without finishing."""


class JobNotRetryable(Exception):
    pass


def current_backend():
    return task_backends[DEFAULT_TASK_BACKEND_ALIAS]


def backend_kind(backend=None):
    """'db', 'redis' or 'other' (immediate, dummy: nothing to inspect and no worker to run)."""
    from django_tasks_db import DatabaseBackend
    from django_tasks_redis import RedisTaskBackend

    backend = backend or current_backend()
    if isinstance(backend, DatabaseBackend):
        return "db"
    if isinstance(backend, RedisTaskBackend):
        return "redis"
    return "other"


def backend_label(backend=None):
    backend = backend or current_backend()
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


@dataclass
class Job:
    """One job as the Jobs page shows it, whatever backend stored it."""

    id: str
    task_path: str
    status: str
    args: list = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)
    enqueued_at: object = None
    started_at: object = None
    finished_at: object = None
    worker_ids: list = field(default_factory=list)
    error_class: str = ""
    traceback: str = ""

    @property
    def name(self):
        return self.task_path.rsplit(".", 1)[-1]

    @property
    def attempts(self):
        return len(self.worker_ids)

    @property
    def arguments(self):
        text = ", ".join([json.dumps(a, ensure_ascii=False) for a in self.args]
                         + [f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in self.kwargs.items()])
        return text if len(text) <= 200 else text[:199] + "…"

    @property
    def error_summary(self):
        lines = [line for line in self.traceback.strip().splitlines() if line.strip()]
        return lines[-1] if lines else self.error_class


@dataclass
class JobsOverview:
    kind: str
    backend: str
    counts: dict
    lists: dict  # status -> [Job], newest first (queued: oldest first)
    inspectable: bool = True


# -- reading -------------------------------------------------------------------------------------


def _db_job(row):
    return Job(id=str(row.id), task_path=row.task_path, status=row.status,
               args=row.args_kwargs.get("args", []), kwargs=row.args_kwargs.get("kwargs", {}),
               enqueued_at=row.enqueued_at, started_at=row.started_at, finished_at=row.finished_at,
               worker_ids=list(row.worker_ids or []), error_class=row.exception_class_path, traceback=row.traceback)


def _redis_job(data):
    def when(key):
        return parse_datetime(data[key]) if data.get(key) else None

    errors = json.loads(data.get("errors_json") or "[]")
    last = errors[-1] if errors else {}
    return Job(id=data["task_id"], task_path=data.get("task_path", ""), status=data.get("status", ""),
               args=json.loads(data.get("args_json") or "[]"), kwargs=json.loads(data.get("kwargs_json") or "{}"),
               enqueued_at=when("enqueued_at"), started_at=when("last_attempted_at") or when("started_at"),
               finished_at=when("finished_at"), worker_ids=json.loads(data.get("worker_ids_json") or "[]"),
               error_class=last.get("exception_class_path", ""), traceback=last.get("traceback", ""))


def _redis_ids(backend, status, limit, oldest_first=False):
    # The backend keeps one sorted set per status (scored by when the job entered it): reading its ends
    # costs the same however many results are stored, unlike walking every result.
    from django_tasks_redis.utils import get_status_index_key

    key = get_status_index_key(backend.key_prefix, backend.alias, status)
    client = backend.get_client()
    return client.zrange(key, 0, limit - 1) if oldest_first else client.zrevrange(key, 0, limit - 1)


def _redis_jobs(backend, ids):
    client = backend.get_client()
    pipe = client.pipeline()
    for task_id in ids:
        pipe.hgetall(backend.broker.result_key(task_id))
    return [_redis_job(data) for data in pipe.execute() if data]


def jobs_overview(*, limit=50):
    """Counts per status and the jobs of each status the page lists."""
    backend = current_backend()
    kind = backend_kind(backend)
    name = backend_label(backend)
    if kind == "db":
        from django_tasks_db.models import DBTaskResult

        qs = DBTaskResult.objects.filter(backend_name=backend.alias)
        counts = dict.fromkeys(STATUSES, 0)
        for row in qs.order_by().values("status").annotate(n=Count("id")):
            counts[row["status"]] = row["n"]
        lists = {
            TaskResultStatus.READY: qs.filter(status=TaskResultStatus.READY).order_by("enqueued_at")[:limit],
            TaskResultStatus.RUNNING: qs.filter(status=TaskResultStatus.RUNNING).order_by("started_at")[:limit],
            TaskResultStatus.FAILED: qs.filter(status=TaskResultStatus.FAILED).order_by("-finished_at")[:limit],
            TaskResultStatus.SUCCESSFUL: qs.filter(status=TaskResultStatus.SUCCESSFUL).order_by("-finished_at")[:20],
        }
        return JobsOverview(kind, name, counts, {s: [_db_job(r) for r in rows] for s, rows in lists.items()})
    if kind == "redis":
        raw = backend.get_status_counts()
        counts = {s: raw.get(s, 0) for s in STATUSES}
        lists = {
            TaskResultStatus.READY: _redis_jobs(backend, _redis_ids(backend, "READY", limit, oldest_first=True)),
            TaskResultStatus.RUNNING: _redis_jobs(backend, _redis_ids(backend, "RUNNING", limit, oldest_first=True)),
            TaskResultStatus.FAILED: _redis_jobs(backend, _redis_ids(backend, "FAILED", limit)),
            TaskResultStatus.SUCCESSFUL: _redis_jobs(backend, _redis_ids(backend, "SUCCESSFUL", 20)),
        }
        return JobsOverview(kind, name, counts, lists)
    return JobsOverview(kind, name, dict.fromkeys(STATUSES, 0), {s: [] for s in STATUSES}, inspectable=False)


def job_get(job_id):
    """The job with this id on the configured backend, or None."""
    backend = current_backend()
    kind = backend_kind(backend)
    if kind == "db":
        from django.core.exceptions import ValidationError
        from django_tasks_db.models import DBTaskResult

        try:
            row = DBTaskResult.objects.filter(pk=job_id, backend_name=backend.alias).first()
        except ValidationError:  # not a UUID
            return None
        return _db_job(row) if row else None
    if kind == "redis":
        data = backend.get_task_data(str(job_id))
        return _redis_job(data) if data else None
    return None


# -- retry ---------------------------------------------------------------------------------------


def job_retry(*, actor, job_id):
    """Enqueue a failed job's task again with the same arguments (a new job); audited.

    Raises JobNotRetryable for an unknown job, one that did not fail, or one whose task no longer exists.
    """
    job = job_get(job_id)
    if job is None or job.status != TaskResultStatus.FAILED:
        raise JobNotRetryable(job_id)
    try:
        task = import_string(job.task_path)
    except ImportError:
        raise JobNotRetryable(job_id)
    if not isinstance(task, Task):  # the stored path is data: run nothing that is not a declared task
        raise JobNotRetryable(job_id)
    with transaction.atomic():
        result = task.enqueue(*job.args, **job.kwargs)
        audit_log(actor=actor, action=AuditAction.SETTINGS_CHANGE, record_type="core.job", label=job.task_path,
                  data={"event": "job_retry", "job": job.id, "new_job": str(result.id), "task": job.task_path,
                        "error": job.error_class})
    return result


# -- recovery of database-queue jobs -----------------------------------------------------------


def jobs_requeue_stale(*, worker_id=None, older_than=None, now=None):
    """Put RUNNING database-queue jobs whose worker is gone back in the queue.

    django-tasks-db marks a job RUNNING when a worker claims it and nothing ever changes that if the
    worker is killed (SIGKILL, out of memory, machine lost): the job would stay RUNNING forever. A job is
    taken back when it was claimed by `worker_id` (a restarted worker that reuses its id recovers its own
    jobs at once) or, without `worker_id`, when it started more than TASKS_CLAIM_TIMEOUT seconds ago
    (`older_than`). A job already started TASKS_MAX_ATTEMPTS times is marked FAILED (JobAbandoned) instead.
    Each row is changed only if it is still the same claim, so two recoverers never double a job.

    Returns (requeued, abandoned) counts.
    """
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    older_than = settings.TASKS_CLAIM_TIMEOUT if older_than is None else older_than
    qs = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
    if worker_id is None:
        qs = qs.filter(started_at__lt=now - timedelta(seconds=older_than))
    requeued = abandoned = 0
    for row in qs.only("id", "started_at", "worker_ids", "task_path"):
        if worker_id is not None and (not row.worker_ids or row.worker_ids[-1] != worker_id):
            continue
        same_claim = DBTaskResult.objects.filter(pk=row.pk, status=TaskResultStatus.RUNNING,
                                                 started_at=row.started_at)
        if len(row.worker_ids or []) >= settings.TASKS_MAX_ATTEMPTS:
            abandoned += same_claim.update(
                status=TaskResultStatus.FAILED, finished_at=now, exception_class_path=ABANDONED,
                traceback=f"{ABANDONED}: started {len(row.worker_ids)} times without finishing; "
                          "its worker stopped each time\n")
            log.error("job %s (%s) abandoned after %d attempts", row.pk, row.task_path, len(row.worker_ids))
        elif same_claim.update(status=TaskResultStatus.READY, started_at=None):
            requeued += 1
            log.warning("job %s (%s) re-queued: its worker %s stopped while running it", row.pk, row.task_path,
                        row.worker_ids[-1] if row.worker_ids else "?")
    return requeued, abandoned


def jobs_prune(*, days=None):
    """Delete finished database-queue jobs older than TASKS_RESULT_DAYS (Redis expires its own)."""
    if backend_kind() != "db":
        return 0
    from django_tasks_db.models import DBTaskResult

    cutoff = timezone.now() - timedelta(days=settings.TASKS_RESULT_DAYS if days is None else days)
    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    return deleted
