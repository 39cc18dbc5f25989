"""`guanxi worker`: run the background-job worker of the configured backend (TASKS_BACKEND)."""

from django.conf import settings
from django.core.management import call_command, load_command_class
from django.core.management.base import BaseCommand, CommandError

from guanxi.core import jobs


class Command(BaseCommand):
    help = "Run a background-job worker for the configured backend (database queue or Redis)."

    def add_arguments(self, parser):
        parser.add_argument("--worker-id", default=None,
                            help="Database queue: a stable id unique among running workers (e.g. the host name "
                                 "and a number). A worker restarted with its id re-queues at once the jobs it was "
                                 "running when it stopped, instead of after TASKS_CLAIM_TIMEOUT.")
        parser.add_argument("--interval", type=float, default=1.0,
                            help="Database queue: seconds between polls of an empty queue (default 1).")
        parser.add_argument("--batch", action="store_true", help="Run the jobs queued now, then exit.")
        parser.add_argument("--max-tasks", type=int, default=None, help="Exit after this many jobs.")

    def handle(self, *args, worker_id, interval, batch, max_tasks, verbosity, **options):
        kind = jobs.backend_kind()
        backend = jobs.backend_label()
        if kind == "db":
            # A killed worker leaves its job RUNNING forever in django-tasks-db: take back such jobs first.
            requeued, abandoned = jobs.jobs_requeue_stale(worker_id=worker_id) if worker_id else (0, 0)
            stale, stale_abandoned = jobs.jobs_requeue_stale()
            if requeued + stale + abandoned + stale_abandoned:
                self.stdout.write(f"Re-queued {requeued + stale} job(s) left running by a stopped worker; "
                                  f"gave up on {abandoned + stale_abandoned}.")
            self.stdout.write(f"Worker for {backend} (database queue), worker id {worker_id or 'random'}.")
            self.stdout.flush()
            kwargs = {"queue_name": "*", "interval": interval, "batch": batch, "reload": False,
                      "startup_delay": False, "verbosity": verbosity}
            if worker_id:
                kwargs["worker_id"] = worker_id
            if max_tasks:
                kwargs["max_tasks"] = max_tasks
            call_command("db_worker", **kwargs)
        elif kind == "redis":
            self.stdout.write(f"Worker for {backend} (Redis, keys {jobs.current_backend().key_prefix}:*).")
            self.stdout.flush()
            # By class, not by name: the command works whether or not django_tasks_redis is an installed app.
            command = load_command_class("django_tasks_redis", "run_redis_tasks")
            call_command(command, continuous=not batch, max_tasks=max_tasks or 0,
                         claim_interval=settings.TASKS_CLAIM_INTERVAL, verbosity=verbosity)
        else:
            raise CommandError(f"The task backend {backend} has no worker: set TASKS_BACKEND=db or redis.")
