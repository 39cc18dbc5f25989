"""Reminders: due ones fire once (notification + email in the assignee's language and time zone), future
ones do not, a second dispatch or a racing delivery changes nothing, a moved reminder fires again once."""

import datetime
import threading
import zoneinfo

import pytest
from django.core import mail
from django.db import connection, connections
from django.urls import reverse
from django.utils import translation

from guanxi.activities.models import Task
from guanxi.activities.task_services import (
    reminder_deliver,
    reminder_key,
    reminders_dispatch,
    reminders_due,
    task_complete,
    task_reschedule,
)
from guanxi.core.models import Notification
from guanxi.integrations.models import OutboundEmail

from .factories import TaskFactory

pytestmark = pytest.mark.django_db

LOCMEM = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# Injected "now": every reminder below is relative to it, nobody sleeps.
NOW = datetime.datetime(2030, 3, 1, 8, 50, tzinfo=SHANGHAI)
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.MAILERS = LOCMEM


@pytest.fixture
def dispatch(django_capture_on_commit_callbacks):
    """Run the dispatcher at an injected time; the email jobs queued on commit run too."""

    def run(now=NOW):
        with django_capture_on_commit_callbacks(execute=True):
            return reminders_dispatch(now=now)

    return run


def reminder_task(**kwargs):
    kwargs.setdefault("due_at", datetime.datetime(2030, 3, 1, 9, 0, tzinfo=SHANGHAI))
    kwargs.setdefault("remind_at", NOW - MINUTE)
    return TaskFactory(**kwargs)


def test_due_reminders_fire_and_future_ones_do_not(dispatch, rep1, users):
    due = reminder_task(title="给王总回电话")
    exactly_now = reminder_task(remind_at=NOW)
    future = reminder_task(remind_at=NOW + MINUTE)
    done = reminder_task(status="done")
    deleted = reminder_task()
    Task.all_objects.filter(pk=deleted.pk).update(deleted_at=NOW)
    no_reminder = reminder_task(remind_at=None)

    assert dispatch() == 2
    notified = set(Notification.objects.values_list("dedupe_key", flat=True))
    assert notified == {reminder_key(due.pk, due.remind_at), reminder_key(exactly_now.pk, exactly_now.remind_at)}
    for task in (future, done, deleted, no_reminder):
        assert Task.all_objects.get(pk=task.pk).reminded_at is None
    assert Task.objects.get(pk=due.pk).reminded_at is not None

    notification = Notification.objects.get(dedupe_key=reminder_key(due.pk, due.remind_at))
    assert notification.user == rep1 and notification.kind == "task_reminder" and notification.read_at is None
    assert notification.url == due.get_absolute_url() and "给王总回电话" in notification.title
    assert len(mail.outbox) == 2 and {m.to[0] for m in mail.outbox} == {rep1.email}
    assert OutboundEmail.objects.filter(status="sent").count() == 2

    # A minute later the future one is due; the delivered ones are not sent again.
    assert dispatch(NOW + MINUTE) == 1
    assert Notification.objects.count() == 3 and len(mail.outbox) == 3


def test_dispatch_twice_and_deliver_twice_fire_once(dispatch, rep1):
    task = reminder_task()
    assert dispatch() == 1
    assert dispatch() == 0  # claimed: not due any more
    # A duplicate delivery job (e.g. two dispatch runs before the first job ran) finds it claimed.
    assert reminder_deliver(task_id=task.pk, remind_at=task.remind_at.isoformat()) is None
    assert reminder_deliver(task_id=task.pk, remind_at=task.remind_at) is None
    assert Notification.objects.count() == 1 and OutboundEmail.objects.count() == 1 and len(mail.outbox) == 1


def test_two_deliveries_before_any_claim_fire_once(django_capture_on_commit_callbacks, rep1):
    task = reminder_task()
    # Both jobs were enqueued (as two overlapping dispatch runs would); they run one after the other.
    with django_capture_on_commit_callbacks(execute=True):
        first = reminder_deliver(task_id=task.pk, remind_at=task.remind_at.isoformat())
        second = reminder_deliver(task_id=task.pk, remind_at=task.remind_at.isoformat())
    assert first is not None and second is None
    assert Notification.objects.count() == 1 and len(mail.outbox) == 1


def test_a_moved_reminder_fires_again_once(dispatch, rep1, client_rep1):
    task = reminder_task()
    assert dispatch() == 1
    task.refresh_from_db()
    # The user moves the reminder (edit form): the claim is cleared, the new time fires once.
    form = {"title": task.title, "due_at": "2030-03-01T10:00", "remind_at": "2030-03-01T09:40",
            "priority": "normal", "recurrence": "", "recurrence_interval": "1", "version": task.version}
    assert client_rep1.post(reverse("activities:task_edit", args=[task.pk]), form).status_code == 302
    task.refresh_from_db()
    assert task.reminded_at is None
    assert dispatch() == 0  # 09:40 is not due at 08:50
    later = datetime.datetime(2030, 3, 1, 9, 40, tzinfo=SHANGHAI)
    assert dispatch(later) == 1 and dispatch(later) == 0
    assert Notification.objects.count() == 2 and len(mail.outbox) == 2
    # Rescheduling (calendar drag) moves the reminder with the due time: once more.
    task.refresh_from_db()
    task_reschedule(actor=rep1, task=task, due_at=datetime.datetime(2030, 3, 2, 10, tzinfo=SHANGHAI),
                    version=task.version)
    next_day = datetime.datetime(2030, 3, 2, 9, 40, tzinfo=SHANGHAI)
    assert dispatch(next_day) == 1 and dispatch(next_day) == 0
    assert Notification.objects.count() == 3 and len(mail.outbox) == 3


def test_a_completed_or_moved_task_is_not_delivered_by_a_late_job(django_capture_on_commit_callbacks, rep1):
    task = reminder_task()
    stale_time = task.remind_at.isoformat()
    task_complete(actor=rep1, task=task)
    assert reminder_deliver(task_id=task.pk, remind_at=stale_time) is None
    other = reminder_task()
    Task.objects.filter(pk=other.pk).update(remind_at=NOW + MINUTE)
    assert reminder_deliver(task_id=other.pk, remind_at=other.remind_at.isoformat()) is None
    assert reminder_deliver(task_id=10**9, remind_at=stale_time) is None
    assert not Notification.objects.exists() and not OutboundEmail.objects.exists()


def test_the_next_occurrence_of_a_repeating_task_reminds_again(dispatch, rep1):
    task = reminder_task(recurrence="daily")
    assert dispatch() == 1
    _done, nxt = task_complete(actor=rep1, task=Task.objects.get(pk=task.pk))
    assert nxt.remind_at == task.remind_at + datetime.timedelta(days=1) and nxt.reminded_at is None
    assert dispatch(NOW + datetime.timedelta(days=1)) == 1
    assert Notification.objects.filter(dedupe_key=reminder_key(nxt.pk, nxt.remind_at)).exists()


def test_email_in_the_assignees_language_and_time_zone(dispatch, users):
    rep1, rep2 = users["rep1"], users["rep2"]
    type(rep1).objects.filter(pk=rep1.pk).update(language="en", timezone="America/New_York")
    type(rep2).objects.filter(pk=rep2.pk).update(language="zh-hans", timezone="Asia/Shanghai")
    # Due 2030-03-01 09:00 in Shanghai = 2030-02-28 20:00 in New York.
    english = reminder_task(owner=rep1, title="Call Mr. Wang")
    chinese = reminder_task(owner=rep2, title="给王总回电话")
    with translation.override("zh-hans"):  # whatever language the worker runs in
        assert dispatch() == 2
    by_to = {m.to[0]: m for m in mail.outbox}

    message = by_to[rep1.email]
    assert message.subject == "Reminder: Call Mr. Wang"
    assert "Feb. 28, 2030" in message.body and "8 p.m." in message.body and "America/New_York" in message.body
    assert "Priority: Normal" in message.body
    assert f"http://127.0.0.1:8000{english.get_absolute_url()}" in message.body

    message = by_to[rep2.email]
    with translation.override("zh-hans"):
        from django.utils.translation import gettext

        assert message.subject == gettext("Reminder: %(title)s") % {"title": "给王总回电话"}
        assert gettext("Priority: %(priority)s") % {"priority": gettext("Normal")} in message.body
    assert "2030年3月1日 09:00" in message.body and "Asia/Shanghai" in message.body
    assert chinese.get_absolute_url() in message.body
    # The notification says the same as the email.
    note = Notification.objects.get(user=rep2)
    assert note.title == message.subject and "2030年3月1日 09:00" in note.body


def test_site_address_in_the_link_comes_from_settings(dispatch, rep1, settings):
    settings.GUANXI_BASE_URL = "https://crm.example.cn/"
    task = reminder_task()
    dispatch()
    assert f"https://crm.example.cn{task.get_absolute_url()}" in mail.outbox[0].body


def test_no_email_without_an_address_but_still_a_notification(dispatch, rep1):
    type(rep1).objects.filter(pk=rep1.pk).update(email="")
    reminder_task()
    assert dispatch() == 1
    assert Notification.objects.count() == 1 and not OutboundEmail.objects.exists()


def test_a_rolled_back_delivery_leaves_the_reminder_for_the_next_run(dispatch, rep1, monkeypatch):
    """A worker that dies after the claim but before commit: nothing is kept, the next run delivers."""
    import guanxi.core.notifications as notifications

    task = reminder_task()
    real = notifications.notification_create

    def crash(**kwargs):
        real(**kwargs)
        raise RuntimeError("worker killed")

    monkeypatch.setattr(notifications, "notification_create", crash)
    assert dispatch() == 1  # the job ran and failed (the task backend records the error)
    assert Task.objects.get(pk=task.pk).reminded_at is None
    assert not Notification.objects.exists() and not OutboundEmail.objects.exists()
    monkeypatch.setattr(notifications, "notification_create", real)
    assert dispatch() == 1 and Notification.objects.count() == 1 and len(mail.outbox) == 1


def test_due_scan_uses_the_partial_index(rep1):
    if connection.vendor != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL")
    reminder_task()
    qs = Task.objects.filter(remind_at__isnull=False, reminded_at__isnull=True, remind_at__lte=NOW, status="open")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = qs.order_by("remind_at", "pk").explain()
    assert "task_reminder_due_idx" in plan, plan
    assert [pk for pk, _at in reminders_due(now=NOW)] == list(qs.values_list("pk", flat=True))


def test_unread_count_uses_the_partial_index(rep1):
    if connection.vendor != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL")
    from guanxi.core.notifications import notification_create

    notification_create(user=rep1, kind="test", title="x")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    # The count the bell asks for (no ordering).
    plan = Notification.objects.filter(user=rep1, read_at__isnull=True).order_by().explain()
    assert "notification_unread_idx" in plan, plan


@pytest.mark.django_db(transaction=True)
def test_racing_deliveries_on_two_connections_fire_once(users, settings):
    """Two workers deliver the same reminder at the same moment, each on its own database connection."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has a single writer, so the deliveries cannot overlap")
    settings.MAILERS = LOCMEM
    task = reminder_task(owner=users["rep1"])
    barrier, results, errors = threading.Barrier(2), [], []

    def deliver():
        try:
            barrier.wait()
            results.append(reminder_deliver(task_id=task.pk, remind_at=task.remind_at.isoformat()))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sum(r is not None for r in results) == 1
    assert Notification.objects.count() == 1 and OutboundEmail.objects.count() == 1
    assert len(mail.outbox) == 1  # sent after the winner's commit


# -- the notification centre -----------------------------------------------------------------------


def test_bell_count_list_and_mark_read(dispatch, client_rep1, client_for, rep1):
    for minutes in (3, 2, 1):
        reminder_task(remind_at=NOW - minutes * MINUTE, title=f"提醒 {minutes}")
    dispatch()
    count = client_rep1.get(reverse("notification_count"))
    assert count.status_code == 200 and count.context["unread"] == 3
    assert 'id="notification-badge"' in count.content.decode()
    page = client_rep1.get(reverse("notification_list"))
    items = list(page.context["page"])
    assert len(items) == 3
    assert items == sorted(items, key=lambda n: (n.created_at, n.pk), reverse=True)

    first = items[0]
    response = client_rep1.post(reverse("notification_read", args=[first.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Trigger"] == "notifications-changed"
    assert client_rep1.get(reverse("notification_count")).context["unread"] == 2
    # Someone else cannot read or open mine.
    other = client_for("rep2")
    for name in ("notification_read", "notification_open"):
        assert other.post(reverse(name, args=[items[1].pk])).status_code == 404
    assert Notification.objects.get(pk=items[1].pk).read_at is None
    assert other.get(reverse("notification_list")).context["page"].paginator.count == 0
    # Opening goes to the task and marks it read.
    response = client_rep1.post(reverse("notification_open", args=[items[1].pk]))
    assert response.status_code == 302 and response["Location"] == items[1].url
    assert Notification.objects.get(pk=items[1].pk).read_at is not None
    preview = client_rep1.get(reverse("notification_preview"))
    assert len(preview.context["items"]) == 3 and preview.context["unread"] == 1
    response = client_rep1.post(reverse("notification_read_all"))
    assert response.status_code == 302
    assert not Notification.objects.filter(user=rep1, read_at__isnull=True).exists()
    assert 'id="notification-badge"' not in client_rep1.get(reverse("notification_count")).content.decode()


def test_notification_list_is_paginated_and_filters_unread(client_rep1, rep1):
    from guanxi.core.notifications import notification_create

    for i in range(30):
        notification_create(user=rep1, kind="test", title=f"通知 {i:02d}", url="/")
    Notification.objects.filter(title="通知 00").update(read_at=NOW)
    page1 = client_rep1.get(reverse("notification_list")).context["page"]
    assert [n.title for n in page1][:2] == ["通知 29", "通知 28"] and len(page1) == 25
    page2 = client_rep1.get(reverse("notification_list"), {"page": 2}).context["page"]
    assert [n.title for n in page2] == [f"通知 {i:02d}" for i in range(4, -1, -1)]
    unread = client_rep1.get(reverse("notification_list"), {"unread": "1", "page": 2}).context["page"]
    assert "通知 00" not in [n.title for n in unread]
    assert client_rep1.get(reverse("notification_list"), {"page": "x"}).status_code == 200


def test_notification_create_dedupes(rep1):
    from guanxi.core.notifications import notification_create

    first = notification_create(user=rep1, kind="test", title="一次", dedupe_key="k:1")
    again = notification_create(user=rep1, kind="test", title="两次", dedupe_key="k:1")
    assert again.pk == first.pk and again.title == "一次" and Notification.objects.count() == 1
    # Without a key every call creates one.
    notification_create(user=rep1, kind="test", title="a")
    notification_create(user=rep1, kind="test", title="a")
    assert Notification.objects.count() == 3


def test_notification_create_survives_a_lost_race(rep1, monkeypatch):
    """The existence check missed a row another worker inserted: the unique key decides, in a savepoint."""
    from django.db import transaction

    from guanxi.core.notifications import notification_create

    existing = Notification.objects.create(user=rep1, kind="test", title="先到", dedupe_key="race:1")
    real_filter = Notification.objects.filter

    class Blind:
        def __init__(self, qs):
            self.qs = qs

        def first(self):
            return None  # the row is not visible yet to this worker's check

    monkeypatch.setattr(Notification.objects, "filter",
                        lambda *a, **kw: Blind(real_filter(*a, **kw)) if kw == {"dedupe_key": "race:1"} else
                        real_filter(*a, **kw))
    with transaction.atomic():
        found = notification_create(user=rep1, kind="test", title="后到", dedupe_key="race:1")
        Notification.objects.create(user=rep1, kind="test", title="the transaction is still usable")
    assert found.pk == existing.pk and Notification.objects.count() == 2


def test_notifications_api(api, rep1, users):
    from guanxi.core.notifications import notification_create

    mine = [notification_create(user=rep1, kind="test", title=f"我的 {i}") for i in range(3)]
    theirs = notification_create(user=users["rep2"], kind="test", title="别人的")
    body = api.get("/api/v1/notifications").json()
    assert body["count"] == 3 and body["unread"] == 3
    assert [i["id"] for i in body["items"]] == [n.pk for n in reversed(mine)]
    response = api.post(f"/api/v1/notifications/{mine[0].pk}/read", {})
    assert response.status_code == 200 and response.json()["read_at"]
    assert api.get("/api/v1/notifications", unread="true").json()["count"] == 2
    assert api.get("/api/v1/notifications", unread="false").json()["count"] == 1
    response = api.post(f"/api/v1/notifications/{theirs.pk}/read", {})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert api.post("/api/v1/notifications/read-all", {}).json() == {"marked": 2}
    assert api.get("/api/v1/notifications").json()["unread"] == 0
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert api.get("/api/v1/notifications", limit=0).status_code == 422


def test_the_dispatcher_is_a_periodic_job_every_minute():
    from guanxi.core.scheduler import periodic_jobs

    assert dict(periodic_jobs())["guanxi.activities.tasks.reminders_dispatch"] == "* * * * *"


# -- acceptance: real workers, a real SMTP server, workers killed mid-run ----------------------------

# Loaded by the worker processes (PYTHONPATH): once Django is set up it wraps two functions so that a test
# can stop a worker at an exact point, inside the delivery transaction or just before the SMTP send, and
# SIGKILL it there. Nothing of this is in the product code.
PAUSE_HOOK = '''
import os
import time

PAUSE_DIR = os.environ.get("GUANXI_TEST_PAUSE_DIR")


def _pause(point):
    if os.path.exists(os.path.join(PAUSE_DIR, "pause-" + point)):
        open(os.path.join(PAUSE_DIR, "paused-%s-%d" % (point, os.getpid())), "w").close()
        while True:
            time.sleep(1)


def _install():
    from django.core.mail.backends import smtp

    import guanxi.core.notifications as notifications

    create = notifications.notification_create

    def notification_create(**kwargs):
        result = create(**kwargs)
        _pause("deliver")  # the reminder is claimed and notified, the transaction not committed
        return result

    notifications.notification_create = notification_create
    send = smtp.EmailBackend.send_messages

    def send_messages(self, messages):
        _pause("smtp")  # the outbox row is claimed, nothing sent yet
        return send(self, messages)

    smtp.EmailBackend.send_messages = send_messages


if PAUSE_DIR:
    from django.apps import registry

    _populate = registry.Apps.populate

    def populate(self, installed_apps=None):
        _populate(self, installed_apps)
        if self.ready and not getattr(self, "_guanxi_pause_hooks", False):
            self._guanxi_pause_hooks = True
            _install()

    registry.Apps.populate = populate
'''


def _paused(pause_dir, point):
    return [int(p.name.rsplit("-", 1)[1]) for p in pause_dir.glob(f"paused-{point}-*")]


def _idle(procs):
    """No job waiting or running (a killed worker's job has been taken back and finished)."""
    from django.tasks import TaskResultStatus

    from guanxi.core.jobs import jobs_overview

    counts = jobs_overview(limit=1).counts
    return counts[TaskResultStatus.READY] == 0 and counts[TaskResultStatus.RUNNING] == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["db", "redis"])
def test_reminder_delivered_exactly_once_by_two_workers_with_workers_killed_mid_run(
        request, kind, users, smtp_server, tmp_path):
    """Two `guanxi worker` processes; the scheduler's ticks are enqueued by the test. The worker delivering
    the reminder is SIGKILLed inside the delivery transaction and restarted; the worker sending the email is
    SIGKILLed just before the SMTP conversation and restarted. The killed workers' jobs run again (the
    database queue: at once when a worker restarts with its id; Redis: reclaimed by the other worker). The
    assignee gets one notification and the SMTP server one message, in the assignee's language."""
    import time

    from django.tasks import TaskResultStatus, task_backends

    from guanxi.activities.tasks import reminder_deliver as deliver_job
    from guanxi.activities.tasks import reminders_dispatch as dispatch_job
    from guanxi.framework.testing.workers import CLAIM_TIMEOUT

    procs = request.getfixturevalue(f"{kind}_job_workers")
    rep1 = users["rep1"]
    type(rep1).objects.filter(pk=rep1.pk).update(language="en", timezone="Asia/Shanghai")
    hook_dir, pause_dir = tmp_path / "hook", tmp_path / "pause"
    hook_dir.mkdir()
    pause_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(PAUSE_HOOK)
    env = {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": smtp_server.host,
           "EMAIL_PORT": smtp_server.port, "EMAIL_TIMEOUT": 10, "PYTHONPATH": hook_dir,
           "GUANXI_TEST_PAUSE_DIR": pause_dir}
    now = timezone_now()
    task = TaskFactory(owner=rep1, title="Call Mr. Wang about the renewal", due_at=now + 60 * MINUTE,
                       remind_at=now - MINUTE)
    (pause_dir / "pause-deliver").touch()
    (pause_dir / "pause-smtp").touch()
    worker_ids = {}
    for name in ("reminders-1", "reminders-2"):
        worker_ids.update({p.pid: name for p in procs.start(worker_id=name, **env)})
    procs.wait_ready(procs.procs)

    def kill_and_restart(pid):
        procs.kill(pid)
        name = worker_ids[pid]
        worker_ids.update({p.pid: name for p in procs.start(worker_id=name, **env)})

    def result(job):
        return task_backends["default"].get_result(job.id)

    # Tick 1: a worker claims the reminder and is killed before its transaction commits.
    dispatch_job.enqueue()
    paused = procs.wait_until(lambda: _paused(pause_dir, "deliver"), message="a worker inside the delivery")
    assert Task.objects.get(pk=task.pk).reminded_at is None  # the claim is not committed
    (pause_dir / "pause-deliver").unlink()
    kill_and_restart(paused[0])
    assert Task.objects.get(pk=task.pk).reminded_at is None and not Notification.objects.exists()

    # Its job runs again and delivers; the email job is then killed just before the SMTP conversation.
    sender = procs.wait_until(lambda: _paused(pause_dir, "smtp"), timeout=60,
                              message="a worker about to send the email")
    assert Notification.objects.filter(user=rep1).count() == 1
    assert Task.objects.get(pk=task.pk).reminded_at is not None
    (pause_dir / "pause-smtp").unlink()
    kill_and_restart(sender[0])

    procs.wait_until(lambda: smtp_server.messages, timeout=60, message="the email at the SMTP server")
    # Tick 2 and a duplicate delivery job (as two overlapping ticks would enqueue): nothing more happens.
    tick = dispatch_job.enqueue()
    duplicate = deliver_job.enqueue(task.pk, task.remind_at.isoformat())
    procs.wait_until(lambda: result(tick).status == TaskResultStatus.SUCCESSFUL
                     and result(duplicate).status == TaskResultStatus.SUCCESSFUL, message="tick 2")
    assert result(tick).return_value == 0 and result(duplicate).return_value is None
    procs.wait_until(lambda: _idle(procs), message="every job to finish")
    time.sleep(CLAIM_TIMEOUT * 2)  # room for a late duplicate to show up

    assert len(smtp_server.messages) == 1
    notification = Notification.objects.get()
    assert notification.user == rep1 and notification.dedupe_key == reminder_key(task.pk, task.remind_at)
    email = OutboundEmail.objects.get()
    assert email.status == "sent" and email.dedupe_key == notification.dedupe_key and email.attempts == 1
    received = smtp_server.messages[0]
    message = received.message
    assert message["Subject"] == "Reminder: Call Mr. Wang about the renewal" == notification.title
    assert message["Message-ID"] == email.message_id and received.rcpt_tos == [rep1.email]
    assert task.get_absolute_url() in message.get_body().get_content()


def timezone_now():
    from django.utils import timezone

    return timezone.now()
