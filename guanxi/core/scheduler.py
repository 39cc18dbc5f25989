"""The scheduler process (`guanxi scheduler`): enqueue periodic jobs on time, one scheduler at a time.

Periodic jobs are declared with django-crontask's decorator on a django.tasks task, in the app's
`tasks.py` (or `periodic.py`):

    @cron("*/5 * * * *")
    @task
    def imap_fetch_all():
        ...

crontask gives the decorator and the APScheduler scheduler it registers into. What this module adds:
- discovery of `<app>.tasks` and `<app>.periodic` for every installed app (plus GUANXI_PERIODIC_MODULES);
- a lock so that only one scheduler enqueues, with or without Redis: a Redis lock under our key prefix
  when the Redis backend is configured, else a PostgreSQL advisory lock, else (SQLite, one machine) a
  file lock next to the database file. A second scheduler stands by and takes over when the first stops;
- fresh database connections around each enqueue (a scheduler lives for months; a connection that a
  database restart broke is replaced, instead of failing every later enqueue).
"""

import fcntl
import importlib
import logging
import signal
import time
import zlib
from pathlib import Path

from apscheduler.triggers.interval import IntervalTrigger
from django.apps import apps
from django.conf import settings
from django.db import close_old_connections, connections
from django.tasks import Task
from django.utils.module_loading import module_has_submodule

log = logging.getLogger(__name__)
LOCK_TTL = 30  # seconds a Redis lock outlives a scheduler that stopped refreshing it
LOCK_REFRESH = 5
MISFIRE_GRACE = 30  # seconds
_state = {"lost_lock": False}


class LockLost(Exception):
    pass


def load_periodic_modules():
    """Import every module that declares periodic jobs; returns their names."""
    names = []
    for app in apps.get_app_configs():
        for sub in ("tasks", "periodic"):
            if module_has_submodule(app.module, sub):
                names.append(f"{app.name}.{sub}")
    names += list(settings.GUANXI_PERIODIC_MODULES)
    for name in names:
        importlib.import_module(name)
    return names


def periodic_jobs():
    """[(task path, schedule)] of the declared periodic jobs, for the Jobs page."""
    from crontask import scheduler

    load_periodic_modules()
    rows = []
    for job in scheduler.get_jobs():
        task = _job_task(job)
        if task is not None:
            rows.append((task.module_path, schedule_text(job.trigger)))
    return sorted(rows)


def schedule_text(trigger):
    """A crontab line for a cron trigger ("*/5 * * * *"), "every 30 s" for an interval, else APScheduler's."""
    from apscheduler.triggers.cron import CronTrigger

    if isinstance(trigger, CronTrigger):
        f = {field.name: str(field) for field in trigger.fields}
        return "{minute} {hour} {day} {month} {day_of_week}".format(**f)
    if isinstance(trigger, IntervalTrigger):
        return f"every {int(trigger.interval.total_seconds())} s"
    return str(trigger)


def _job_task(job):
    target = job.args[0] if job.func is enqueue_periodic and job.args else getattr(job.func, "__self__", None)
    return target if isinstance(target, Task) else None


def enqueue_periodic(task):
    """What the scheduler runs on time: enqueue the job, on a healthy database connection."""
    close_old_connections()
    try:
        return task.enqueue()
    except Exception:
        log.exception("could not enqueue periodic job %s", task.module_path)
        raise
    finally:
        close_old_connections()


# -- locks -----------------------------------------------------------------------------------------


class RedisLock:
    kind = "redis"

    def __init__(self):
        import redis

        self.lock = redis.Redis.from_url(settings.REDIS_URL).lock(
            f"{settings.REDIS_KEY_PREFIX}:scheduler-lock", timeout=LOCK_TTL, thread_local=False)

    def acquire(self):
        return self.lock.acquire(blocking=False)

    def refresh(self):
        try:
            self.lock.reacquire()
        except Exception as e:
            raise LockLost(str(e))

    def release(self):
        try:
            self.lock.release()
        except Exception:  # expired or taken over: nothing of ours to release
            pass


class PostgresLock:
    """A session advisory lock, held by a connection of its own: it ends with the process."""

    kind = "postgresql"

    def __init__(self):
        self.conn = None
        self.key = zlib.crc32(f"guanxi-scheduler:{settings.REDIS_KEY_PREFIX}".encode())

    def acquire(self):
        if self.conn is None:
            self.conn = connections.create_connection("default")
            self.conn.inc_thread_sharing()  # refreshed from the scheduler's thread pool
        with self.conn.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [self.key])
            return bool(cursor.fetchone()[0])

    def refresh(self):
        try:
            with self.conn.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as e:  # the connection, and so the lock, is gone
            raise LockLost(str(e))

    def release(self):
        if self.conn is not None:
            try:
                self.conn.close()  # ends the session and its advisory lock
            except Exception:
                pass
            self.conn = None


class FileLock:
    """SQLite is one machine's database: a lock file beside it is enough."""

    kind = "file"

    def __init__(self):
        name = str(settings.DATABASES["default"]["NAME"])
        self.path = Path(name + ".scheduler.lock") if name and ":memory:" not in name else (
            Path(settings.VAR_DIR) / "scheduler.lock")
        self.fd = None

    def acquire(self):
        fd = open(self.path, "a+")  # noqa: SIM115 - held for the life of the scheduler
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fd.close()
            return False
        self.fd = fd
        return True

    def refresh(self):
        pass  # a flock cannot be taken away from a living process

    def release(self):
        if self.fd is not None:
            self.fd.close()
            self.fd = None


def scheduler_lock():
    from .jobs import backend_kind

    if backend_kind() == "redis":
        return RedisLock()
    if connections["default"].vendor == "postgresql":
        return PostgresLock()
    return FileLock()


# -- the process ---------------------------------------------------------------------------------


def _stop(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _refresh_lock(lock, scheduler):
    try:
        lock.refresh()
    except LockLost:
        log.error("scheduler lock lost: stopping so that two schedulers never run at once")
        _state["lost_lock"] = True
        scheduler.shutdown(wait=False)  # from the pool thread, as crontask does, to avoid a deadlock


def run_scheduler(*, write=print, standby_poll=None):
    """Run until SIGTERM/SIGINT. Returns 0, or 1 when the lock was lost (a supervisor restarts it)."""
    from crontask import scheduler

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _stop)
    modules = load_periodic_modules()
    # crontask registers `task.enqueue`; run it through enqueue_periodic for connection hygiene. A run the
    # scheduler was late for (busy machine) still happens within a grace time, and once when several were.
    for job in scheduler.get_jobs():
        task = _job_task(job)
        if task is not None and job.func is not enqueue_periodic:
            job.modify(func=enqueue_periodic, args=(task,), misfire_grace_time=MISFIRE_GRACE, coalesce=True)
    lock = scheduler_lock()
    standby_poll = standby_poll or settings.SCHEDULER_STANDBY_POLL
    _state["lost_lock"] = False
    try:
        if not lock.acquire():
            write(f"Another scheduler holds the {lock.kind} lock: standing by to take over.")
            while not lock.acquire():
                time.sleep(standby_poll)
        write(f"Scheduler started ({lock.kind} lock) with modules: {', '.join(modules)}")
        for job in scheduler.get_jobs():
            task = _job_task(job)
            if task is not None:
                write(f"  {task.module_path}: {schedule_text(job.trigger)}")
        scheduler.add_job(_refresh_lock, IntervalTrigger(seconds=LOCK_REFRESH), args=(lock, scheduler),
                          name="guanxi.scheduler.lock", id="guanxi.scheduler.lock", replace_existing=True)
        scheduler.start()
    except KeyboardInterrupt as e:
        write(f"Received {e}: scheduler stopping.")
        if scheduler.running:
            scheduler.shutdown(wait=True)
    finally:
        lock.release()
    return 1 if _state["lost_lock"] else 0
