"""Background jobs: real `guanxi worker` and `guanxi scheduler` processes on the database queue and on Redis,
exactly-once runs with two workers, recovery of a job whose worker was SIGKILLed, the scheduler lock, the
administrators' Jobs page and the outbox sweep."""

from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus, task_backends
from django.urls import reverse
from django.utils import timezone

from guanxi.core import jobs
from guanxi.core.choices import AuditAction
from guanxi.core.models import AuditEvent
from guanxi.framework.testing.workers import CLAIM_TIMEOUT, fail_job, record_run, slow_record

pytestmark = pytest.mark.django_db(transaction=True)

KINDS = ["db", "redis"]


@pytest.fixture(params=KINDS)
def job_workers(request):
    return request.getfixturevalue(f"{request.param}_job_workers")


def result(job_id):
    return task_backends["default"].get_result(str(job_id))


def done_keys(procs):
    return [key for event, key, _pid in procs.runs() if event == "done"]


# -- workers ------------------------------------------------------------------------------------


def test_two_worker_processes_run_each_of_fifty_jobs_exactly_once_and_record_results(job_workers):
    log = str(job_workers.log_path)
    job_workers.wait_ready(job_workers.start(2))
    bad = fail_job.enqueue("disk on fire")
    ids = [record_run.enqueue(f"job{i}", log, 0.02).id for i in range(50)]

    job_workers.wait_until(lambda: len(done_keys(job_workers)) >= 50, message="50 jobs")
    job_workers.wait_until(lambda: all(result(i).status == TaskResultStatus.SUCCESSFUL for i in ids),
                           message="50 successful results")
    assert Counter(done_keys(job_workers)) == {f"job{i}": 1 for i in range(50)}
    pids = {pid for _e, _k, pid in job_workers.runs()}
    assert pids == {str(p.pid) for p in job_workers.procs}  # both workers took jobs
    assert result(ids[7]).return_value == "job7"

    job_workers.wait_until(lambda: result(bad.id).status == TaskResultStatus.FAILED, message="the failing job")
    failed = jobs.job_get(bad.id)
    assert failed.error_class == "builtins.RuntimeError"
    assert "RuntimeError: disk on fire" in failed.traceback
    assert failed.worker_ids  # the worker that ran it


def _start_slow_job_and_kill_its_worker(procs, **start):
    log = str(procs.log_path)
    job = slow_record.enqueue("slow", log, CLAIM_TIMEOUT * 0.6)
    procs.start(**start)
    started = procs.wait_until(lambda: [r for r in procs.runs() if r[0] == "start"], message="the slow job to start")
    victim = started[0][2]
    procs.kill(victim)
    assert result(job.id).status == TaskResultStatus.RUNNING  # what the dead worker left behind
    return job, victim


def test_redis_job_of_a_killed_worker_is_run_by_the_other_worker(redis_job_workers):
    procs = redis_job_workers
    job, victim = _start_slow_job_and_kill_its_worker(procs, n=2)

    procs.wait_until(lambda: result(job.id).status == TaskResultStatus.SUCCESSFUL, message="the reclaimed job")
    done = [r for r in procs.runs() if r[0] == "done"]
    assert len(done) == 1 and done[0][2] != victim
    assert len(result(job.id).worker_ids) == 2  # started by the killed worker, then by the survivor


def test_db_job_of_a_killed_worker_is_rerun_when_it_restarts_with_its_id(db_job_workers):
    procs = db_job_workers
    job, victim = _start_slow_job_and_kill_its_worker(procs, worker_id="host-1")

    procs.start(worker_id="host-1")  # e.g. systemd restarting guanxi-worker@1
    procs.wait_until(lambda: result(job.id).status == TaskResultStatus.SUCCESSFUL, message="the re-queued job")
    done = [r for r in procs.runs() if r[0] == "done"]
    assert len(done) == 1 and done[0][2] != victim
    assert result(job.id).worker_ids == ["host-1", "host-1"]


def test_db_job_of_a_killed_worker_is_requeued_after_the_claim_timeout(db_job_workers):
    procs = db_job_workers
    job, victim = _start_slow_job_and_kill_its_worker(procs, n=2)  # two workers, random ids

    # The periodic job (guanxi.core.periodic.jobs_requeue_stale_task) leaves young claims alone ...
    assert jobs.jobs_requeue_stale() == (0, 0)
    assert result(job.id).status == TaskResultStatus.RUNNING
    # ... and hands back one older than TASKS_CLAIM_TIMEOUT.
    assert jobs.jobs_requeue_stale(now=timezone.now() + timedelta(hours=1)) == (1, 0)
    procs.wait_until(lambda: result(job.id).status == TaskResultStatus.SUCCESSFUL, message="the re-queued job")
    done = [r for r in procs.runs() if r[0] == "done"]
    assert len(done) == 1 and done[0][2] != victim


def test_requeue_gives_up_on_a_job_that_kept_killing_its_worker(settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": settings.TASK_BACKEND_ALIASES["db"]}}
    old = timezone.now() - timedelta(seconds=settings.TASKS_CLAIM_TIMEOUT + 5)
    doomed = fail_job.enqueue("x")
    stale = fail_job.enqueue("y")
    fresh = fail_job.enqueue("z")
    DBTaskResult.objects.filter(pk=doomed.id).update(status="RUNNING", started_at=old,
                                                     worker_ids=["w"] * settings.TASKS_MAX_ATTEMPTS)
    DBTaskResult.objects.filter(pk=stale.id).update(status="RUNNING", started_at=old, worker_ids=["w"])
    DBTaskResult.objects.filter(pk=fresh.id).update(status="RUNNING", started_at=timezone.now(), worker_ids=["w"])

    assert jobs.jobs_requeue_stale() == (1, 1)
    assert result(doomed.id).status == TaskResultStatus.FAILED
    assert jobs.job_get(doomed.id).error_class == jobs.ABANDONED
    assert result(stale.id).status == TaskResultStatus.READY
    assert result(fresh.id).status == TaskResultStatus.RUNNING
    assert jobs.jobs_requeue_stale(worker_id="other") == (0, 0)  # only the named worker's claims
    assert jobs.jobs_requeue_stale(worker_id="w") == (1, 0)
    assert result(fresh.id).status == TaskResultStatus.READY


# -- scheduler ----------------------------------------------------------------------------------


def test_scheduler_enqueues_periodic_jobs_and_a_second_one_stands_by(db_job_workers):
    from django_tasks_db.models import DBTaskResult

    procs = db_job_workers
    env = {"GUANXI_PERIODIC_MODULES": "guanxi.framework.testing.workers", "GUANXI_TEST_PERIODIC_PROBE": "1"}
    ticks = DBTaskResult.objects.filter(task_path="guanxi.framework.testing.workers.probe_tick")
    first = procs.start_scheduler(**env)
    procs.wait_until(lambda: ticks.count() >= 2, message="two ticks of the every-second job")
    second = procs.start_scheduler(**env)
    procs.wait_until(lambda: "standing by" in procs.output(second), message="the second scheduler to stand by")
    assert "Scheduler started" not in procs.output(second)

    assert procs.stop(first) == 0
    procs.wait_until(lambda: "Scheduler started" in procs.output(second), message="the standby to take over")
    after = ticks.count()
    procs.wait_until(lambda: ticks.count() > after, message="ticks from the second scheduler")
    assert "guanxi.integrations.tasks.outbound_sweep_task" in procs.output(second)


def test_periodic_jobs_are_declared():
    from guanxi.core.scheduler import periodic_jobs

    declared = dict(periodic_jobs())
    assert declared["guanxi.integrations.tasks.outbound_sweep_task"] == "*/5 * * * *"
    assert declared["guanxi.core.periodic.jobs_requeue_stale_task"] == "* * * * *"


# -- Jobs page ----------------------------------------------------------------------------------


@pytest.fixture
def db_backend(settings):
    settings.TASKS = {"default": {"BACKEND": settings.TASK_BACKEND_ALIASES["db"]}}


def run_queued_jobs():
    """The database worker, in this process, until the queue is empty."""
    call_command("worker", batch=True, interval=0, verbosity=0)


def test_jobs_page_is_for_administrators_only(db_backend, users, client_for, client):
    url = reverse("jobs")
    for name in ("rep1", "manager", "auditor"):
        assert client_for(name).get(url).status_code == 404
    assert client.get(url).status_code == 302  # to the login page
    page = client_for("admin").get(url)
    assert page.status_code == 200 and 'id="jobs-counts"' in page.content.decode()
    assert f'href="{url}"' in page.content.decode()  # the menu entry


def test_jobs_page_says_when_the_backend_keeps_no_jobs(users, client_for):
    page = client_for("admin").get(reverse("jobs")).content.decode()  # the tests' immediate backend
    assert 'id="jobs-not-inspectable"' in page and 'id="jobs-periodic"' in page


def test_jobs_page_lists_failed_jobs_with_their_error_and_retries_them(db_backend, users, client_for, tmp_path):
    from django_tasks_db.models import DBTaskResult

    bad = fail_job.enqueue("mailbox unreachable")
    ok = record_run.enqueue("fine", str(tmp_path / "runs.log"))
    run_queued_jobs()
    queued = record_run.enqueue("later", str(tmp_path / "runs.log"))
    admin = client_for("admin")

    page = admin.get(reverse("jobs")).content.decode()
    assert "mailbox unreachable" in page and "RuntimeError" in page
    assert str(bad.id) in page and str(ok.id) in page and str(queued.id) in page

    # Not an administrator: 404 and nothing enqueued.
    before = DBTaskResult.objects.count()
    assert client_for("rep1").post(reverse("job_retry", args=[bad.id])).status_code == 404
    assert admin.get(reverse("job_retry", args=[bad.id])).status_code == 405
    assert admin.post(reverse("job_retry", args=[ok.id])).status_code == 404  # it did not fail
    assert DBTaskResult.objects.count() == before
    assert not AuditEvent.objects.filter(data__event="job_retry").exists()

    response = admin.post(reverse("job_retry", args=[bad.id]))
    assert response.status_code == 302
    retried = DBTaskResult.objects.exclude(pk__in=[bad.id, ok.id, queued.id]).get()
    assert retried.task_path == "guanxi.framework.testing.workers.fail_job"
    assert retried.args_kwargs == {"args": ["mailbox unreachable"], "kwargs": {}}
    assert retried.status == TaskResultStatus.READY
    event = AuditEvent.objects.get(data__event="job_retry")
    assert event.action == AuditAction.SETTINGS_CHANGE and event.actor == users["admin"]
    assert event.data["job"] == str(bad.id) and event.data["new_job"] == str(retried.pk)


def test_jobs_page_reads_the_redis_backend(redis_job_workers, users, client_for):
    bad = fail_job.enqueue("redis says no")
    call_command("worker", batch=True, verbosity=0)
    admin = client_for("admin")

    page = admin.get(reverse("jobs")).content.decode()
    assert "redis says no" in page and str(bad.id) in page
    response = admin.post(reverse("job_retry", args=[bad.id]))
    assert response.status_code == 302
    overview = jobs.jobs_overview()
    assert [j.args for j in overview.lists[TaskResultStatus.READY]] == [["redis says no"]]
    assert overview.counts[TaskResultStatus.FAILED] == 1


# -- the outbox sweep --------------------------------------------------------------------------


def test_outbox_sweep_sends_queued_emails_once(settings, mailoutbox):
    from guanxi.integrations.models import OutboundEmail, OutboundStatus
    from guanxi.integrations.tasks import outbound_sweep_task

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}  # the send job is lost
    from guanxi.integrations.services import outbound_create

    row = outbound_create(to="kehu@example.com", subject="跟进", body_text="您好", dedupe_key="sweep-test")
    assert OutboundEmail.objects.get(pk=row.pk).status == OutboundStatus.QUEUED

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    assert outbound_sweep_task.call() == 1
    assert outbound_sweep_task.call() == 0
    assert OutboundEmail.objects.get(pk=row.pk).status == OutboundStatus.SENT
    assert [m.subject for m in mailoutbox] == ["跟进"]
