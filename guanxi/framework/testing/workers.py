"""Real background-job workers for tests: `guanxi worker` / `guanxi scheduler` processes on the test database.

Fixtures (registered by the root conftest.py):
- `db_job_workers`: the database queue (django-tasks-db). The test process enqueues on the same backend.
- `redis_job_workers`: Redis streams (django-tasks-redis) under a key prefix of this test's own, deleted
  afterwards (nothing else on the server is touched). Skipped when Redis is unreachable, unless
  GUANXI_REQUIRE_SERVICES=1 (CI), where it fails instead.

Both need the transactional_db fixture (the workers are other processes: they only see committed rows).
They start processes with `.start(n)`, SIGKILL one with `.kill(proc)`, and stop all of them at teardown.
Workers run with the normal settings module (guanxi.settings), configured through the environment
exactly as in production (DATABASE_URL, TASKS_BACKEND, REDIS_URL, REDIS_KEY_PREFIX), with short timeouts:
a job whose worker was killed is reclaimed after CLAIM_TIMEOUT seconds.

The tasks below are for tests: they append a line to a file so that a test can count runs across
processes (`runs(path)`).
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.tasks import task

BASE_DIR = Path(__file__).resolve().parents[3]
CLAIM_TIMEOUT = 2  # seconds; the slow test job must take less than this
DEFAULT_TIMEOUT = 40.0


# -- tasks run by the workers in tests --------------------------------------------------------------


def _append(path, line):
    # One write() of a short line with O_APPEND is atomic: lines from several processes never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@task
def record_run(key, log_path, seconds=0):
    if seconds:
        time.sleep(seconds)
    _append(log_path, f"done {key} {os.getpid()}")
    return key


@task
def slow_record(key, log_path, seconds):
    _append(log_path, f"start {key} {os.getpid()}")
    time.sleep(seconds)
    _append(log_path, f"done {key} {os.getpid()}")
    return key


@task
def fail_job(message):
    raise RuntimeError(message)


@task
def probe_tick():
    """Enqueued every second by a test scheduler (GUANXI_TEST_PERIODIC_PROBE=1)."""
    return os.getpid()


if os.environ.get("GUANXI_TEST_PERIODIC_PROBE"):
    from apscheduler.triggers.interval import IntervalTrigger
    from crontask import cron

    probe_tick = cron(IntervalTrigger(seconds=1))(probe_tick)


def runs(path):
    """[(event, key, pid)] from a run log written by the tasks above."""
    path = Path(path)
    if not path.exists():
        return []
    return [tuple(line.split(" ")) for line in path.read_text().splitlines() if line]


# -- services -------------------------------------------------------------------------------------


def services_required():
    return os.environ.get("GUANXI_REQUIRE_SERVICES") == "1"


def redis_test_url():
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_or_skip():
    """A client on the test Redis, or skip (fail when GUANXI_REQUIRE_SERVICES=1) if it is unreachable."""
    import redis

    client = redis.Redis.from_url(redis_test_url(), socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as e:
        reason = f"Redis is unreachable at {redis_test_url()} ({e}); set TEST_REDIS_URL or start redis-server"
        if services_required():
            pytest.fail(reason + " (GUANXI_REQUIRE_SERVICES=1)")
        pytest.skip(reason)
    return client


def worker_database_url():
    """A DATABASE_URL naming the test database this test process uses (pytest-django's, xdist-suffixed)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(s["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            raise RuntimeError("worker tests need a file-based SQLite test database (see guanxi/settings_test.py)")
        return f"sqlite:///{name}"
    if connection.vendor == "postgresql":
        auth = quote(s["USER"] or "", safe="")
        if s.get("PASSWORD"):
            auth += ":" + quote(s["PASSWORD"], safe="")
        return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    raise RuntimeError(f"no worker test support for {connection.vendor}")


# -- processes ----------------------------------------------------------------------------------


class JobProcesses:
    """Start, kill and stop `guanxi worker` / `guanxi scheduler` processes for one test."""

    def __init__(self, kind, tmp_path, *, redis_prefix=None):
        self.kind = kind
        self.tmp_path = Path(tmp_path)
        self.redis_prefix = redis_prefix
        self.procs = []
        self.log_path = self.tmp_path / "runs.log"

    # settings shared by this test process and the workers
    def tasks_setting(self):
        if self.kind == "db":
            return {"default": {"BACKEND": settings.TASK_BACKEND_ALIASES["db"]}}
        from guanxi.settings import redis_tasks_options

        return {"default": {"BACKEND": settings.TASK_BACKEND_ALIASES["redis"],
                            "OPTIONS": redis_tasks_options(redis_test_url(), self.redis_prefix)}}

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
        env.update({
            "DJANGO_SETTINGS_MODULE": "guanxi.settings",
            "DATABASE_URL": worker_database_url(),
            "DB_CONN_MAX_AGE": "0",
            "TASKS_BACKEND": self.kind,
            "TASKS_CLAIM_TIMEOUT": str(CLAIM_TIMEOUT),
            "TASKS_CLAIM_INTERVAL": "0.5",
            "TASKS_REDIS_BLOCK_MS": "500",
            "SCHEDULER_STANDBY_POLL": "0.3",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "WARNING",
        })
        if self.kind == "redis":
            env.update({"REDIS_URL": redis_test_url(), "REDIS_KEY_PREFIX": self.redis_prefix})
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def _spawn(self, args, env):
        n = len(self.procs)
        out = open(self.tmp_path / f"{args[0]}-{n}.out", "wb")  # noqa: SIM115 - closed in stop()
        proc = subprocess.Popen([sys.executable, str(BASE_DIR / "manage.py"), *args], cwd=BASE_DIR, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        proc.out_file = out
        self.procs.append(proc)
        return proc

    def start(self, n=1, *, worker_id=None, **extra_env):
        """Start n worker processes; returns them."""
        args = ["worker", "--interval", "0.1"]
        if worker_id:
            args += ["--worker-id", worker_id]
        return [self._spawn(args, self.env(**extra_env)) for _ in range(n)]

    def wait_ready(self, procs):
        """Until each worker has started (printed its first line)."""
        self.wait_until(lambda: all("Worker for" in self.output(p) for p in procs), message="workers to start")

    def start_scheduler(self, **extra_env):
        return self._spawn(["scheduler"], self.env(**extra_env))

    def output(self, proc):
        proc.out_file.flush()
        return Path(proc.out_file.name).read_text(errors="replace")

    def outputs(self):
        return "\n".join(f"--- {' '.join(p.args[2:])} (pid {p.pid}, exit {p.poll()})\n{self.output(p)}"
                         for p in self.procs)

    def kill(self, proc_or_pid):
        """SIGKILL: the worker gets no chance to finish or hand back its job."""
        proc = self._find(proc_or_pid)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self, proc_or_pid, timeout=10):
        """SIGTERM, then SIGKILL if it has not exited in time."""
        proc = self._find(proc_or_pid)
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
            except ProcessLookupError:
                pass
        return proc.returncode

    def stop_all(self):
        for proc in self.procs:
            try:
                self.stop(proc, timeout=5)
            except Exception:  # never leave a process behind because another one misbehaved
                if proc.poll() is None:
                    proc.kill()
            proc.out_file.close()

    def _find(self, proc_or_pid):
        if isinstance(proc_or_pid, subprocess.Popen):
            return proc_or_pid
        return next(p for p in self.procs if p.pid == int(proc_or_pid))

    def wait_until(self, predicate, timeout=DEFAULT_TIMEOUT, message="condition"):
        """Poll predicate() until it is truthy; fail with the processes' output otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            for proc in self.procs:
                if proc.poll() not in (None, 0, -signal.SIGKILL, -signal.SIGTERM):
                    pytest.fail(f"{' '.join(proc.args[2:])} exited with {proc.returncode}\n{self.outputs()}")
            time.sleep(0.1)
        pytest.fail(f"timed out after {timeout}s waiting for {message}\n{self.outputs()}")

    def runs(self):
        return runs(self.log_path)


def _delete_prefix(client, prefix):
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i:i + 500])


@pytest.fixture
def db_job_workers(transactional_db, tmp_path, settings):
    """Worker processes on the database queue of the test database; this test enqueues there too."""
    procs = JobProcesses("db", tmp_path)
    settings.TASKS = procs.tasks_setting()
    try:
        yield procs
    finally:
        procs.stop_all()
        Path(f"{connection.settings_dict['NAME']}.scheduler.lock").unlink(missing_ok=True)  # a scheduler's


@pytest.fixture
def redis_job_workers(transactional_db, tmp_path, settings):
    """Worker processes on Redis under a key prefix of this test's own (deleted afterwards)."""
    client = redis_or_skip()
    procs = JobProcesses("redis", tmp_path, redis_prefix=f"guanxi-test-{uuid.uuid4().hex[:12]}")
    settings.TASKS = procs.tasks_setting()
    try:
        yield procs
    finally:
        procs.stop_all()
        _delete_prefix(client, procs.redis_prefix)
        client.close()
