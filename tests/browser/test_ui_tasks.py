"""Tasks and reminders in the browser: quick-add a task with a reminder on My tasks, the reminder job runs
(at an injected time), the bell shows the unread count, the dropdown and the notification centre show the
reminder, opening it goes to the task; completing a task with the button moves it to Done today."""

import datetime
import zoneinfo

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
TITLE = "给闽江智能回电话确认报价"


def test_reminder_shows_in_the_bell_and_the_notification_centre(page, login, screenshot, browser_users, settings):
    from guanxi.activities.models import Task
    from guanxi.activities.task_services import reminders_dispatch
    from guanxi.core.models import Notification

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    login(page)
    page.click("#mainnav a.nav-link[href='/tasks/mine/']")
    page.wait_for_url("**/tasks/mine/")
    assert page.locator("#notification-badge").count() == 0

    # Quick add: due tomorrow 10:00, reminder at 09:30 (Shanghai time, the user's zone).
    tomorrow = datetime.datetime.now(SHANGHAI).date() + datetime.timedelta(days=1)
    page.fill("#id_title", TITLE)
    page.fill("#id_due_at", f"{tomorrow:%Y-%m-%d}T10:00")
    page.fill("#id_remind_at", f"{tomorrow:%Y-%m-%d}T09:30")
    page.select_option("#id_priority", "high")
    page.click("#task-quick-add button[type=submit]")
    row = page.locator("#tasks-upcoming .task-row", has_text=TITLE)
    row.wait_for()
    task = Task.objects.get(title=TITLE)
    assert task.owner == browser_users["rep1"] and task.priority == "high"
    assert task.remind_at == datetime.datetime.combine(tomorrow, datetime.time(9, 30), tzinfo=SHANGHAI)
    assert page.locator("#id_title").input_value() == ""  # the form is ready for the next one

    # The reminder job runs a minute after the reminder time (time injected: nobody waits a day).
    assert reminders_dispatch(now=task.remind_at + datetime.timedelta(minutes=1)) == 1
    assert reminders_dispatch(now=task.remind_at + datetime.timedelta(minutes=2)) == 0  # once

    page.reload()
    badge = page.locator("#notification-badge")
    badge.wait_for()
    assert badge.inner_text().split()[0] == "1"
    page.click("#notification-bell")
    item = page.locator("#notification-preview .notification-preview-item", has_text=TITLE)
    item.wait_for()
    screenshot(page, "notification-reminder")

    page.click("#notification-menu a[href='/notifications/']")
    page.wait_for_url("**/notifications/")
    entry = page.locator("#notification-list .notification-unread", has_text=TITLE)
    entry.wait_for()
    assert "10:00" in entry.inner_text()  # the due time, in the user's time zone
    entry.locator("button.notification-open").click()
    page.wait_for_url(f"**{task.get_absolute_url()}")
    assert Notification.objects.get().read_at is not None
    page.locator("#notification-count").wait_for(state="attached")
    page.wait_for_function("() => !document.getElementById('notification-badge')")


def test_complete_a_task_with_the_button(page, login, browser_users):
    from guanxi.activities.models import Task

    rep1 = browser_users["rep1"]
    overdue = Task.objects.create(title="逾期：寄送合同", owner=rep1, created_by=rep1,
                                  due_at=datetime.datetime.now(SHANGHAI) - datetime.timedelta(hours=3),
                                  recurrence="weekly")
    login(page)
    page.goto("/tasks/mine/")
    row = page.locator(f"#tasks-overdue #task-{overdue.pk}")
    row.wait_for()
    row.locator("button.task-complete").dblclick()  # a double click completes once
    done = page.locator(f"#task-{overdue.pk}.task-done")
    done.wait_for()
    done.locator(".task-next").wait_for()  # the next occurrence, a week later
    assert Task.objects.get(pk=overdue.pk).status == "done"
    assert Task.objects.filter(previous=overdue).count() == 1
    page.reload()
    page.locator(f"#tasks-done #task-{overdue.pk}").wait_for()
    page.locator(f"#tasks-done #task-{overdue.pk} button.task-reopen").click()
    page.locator(f"#task-{overdue.pk}:not(.task-done)").wait_for()
    assert Task.objects.get(pk=overdue.pk).status == "open"
