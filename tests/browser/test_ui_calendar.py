"""The calendar in the browser: drag a task to another day and time, a stale drop put back, phone list view."""

import datetime
import zoneinfo

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def this_week_days():
    """(a day of the week on screen, another day of the same week): today and its neighbour.

    The Chinese locale starts weeks on Monday, so Sunday's neighbour is Saturday.
    """
    today = datetime.datetime.now(SHANGHAI).date()
    other = today - datetime.timedelta(days=1) if today.weekday() == 6 else today + datetime.timedelta(days=1)
    return today, other


def at(day, hour):
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=SHANGHAI)


def drag(page, source, day, time):
    """Drag `source` (a locator) with the mouse so that its start lands on `day` at `time` (HH:MM:SS)."""
    box = source.bounding_box()
    column = page.locator(f"td.fc-timegrid-col[data-date='{day.isoformat()}']").bounding_box()
    lane = page.locator(f"td.fc-timegrid-slot-lane[data-time='{time}']").bounding_box()
    x0, y0 = box["x"] + box["width"] / 2, box["y"] + 4
    x1, y1 = column["x"] + column["width"] / 2, lane["y"] + 4
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 6, y0 + 6, steps=4)
    page.mouse.move(x1, y1, steps=20)
    page.mouse.up()


def open_week(page):
    page.click("#mainnav a.nav-link[href='/calendar/']")
    page.wait_for_url("**/calendar/")
    page.locator(".fc-timeGridWeek-view").wait_for()


def test_drag_a_task_to_another_day_and_time(page, login, screenshot, browser_users):
    from guanxi.activities.models import Task

    rep1 = browser_users["rep1"]
    today, other = this_week_days()
    task = Task.objects.create(title="给闽江发报价", owner=rep1, created_by=rep1, due_at=at(today, 10),
                               remind_at=at(today, 9))
    login(page)
    open_week(page)
    event = page.locator(f"[data-event-id='task-{task.pk}']")
    event.wait_for()
    assert page.locator(f"td.fc-timegrid-col[data-date='{today.isoformat()}'] [data-event-id='task-{task.pk}']") \
        .count() == 1

    with page.expect_response(lambda r: f"/calendar/events/task/{task.pk}/move/" in r.url) as moved:
        drag(page, event, other, "14:00:00")
    assert moved.value.status == 200, moved.value.text()
    page.locator("#calendar-alert.alert-success").wait_for()

    task.refresh_from_db()
    assert task.due_at == at(other, 14)
    assert task.remind_at == at(other, 13)  # the reminder kept its hour before the due time

    page.reload()
    page.locator(".fc-timeGridWeek-view").wait_for()
    moved_event = page.locator(f"td.fc-timegrid-col[data-date='{other.isoformat()}'] [data-event-id='task-{task.pk}']")
    moved_event.wait_for()
    assert "14:00" in moved_event.inner_text()
    screenshot(page, "calendar-week")


def test_a_stale_drop_is_put_back_with_a_message(page, login, browser_users, make_account):
    from guanxi.activities.models import Interaction

    rep1 = browser_users["rep1"]
    today, other = this_week_days()
    account = make_account(name="闽江智能科技有限公司")
    meeting = Interaction.objects.create(kind="meeting", subject="方案评审", account=account, owner=rep1,
                                         occurred_at=at(today, 11), duration_minutes=60)
    login(page)
    open_week(page)
    event = page.locator(f"[data-event-id='interaction-{meeting.pk}']")
    event.wait_for()
    # Someone else saves the meeting after the calendar loaded it.
    Interaction.objects.filter(pk=meeting.pk).update(version=meeting.version + 1)

    with page.expect_response(lambda r: f"/calendar/events/interaction/{meeting.pk}/move/" in r.url) as moved:
        drag(page, event, other, "15:00:00")
    assert moved.value.status == 409
    page.locator("#calendar-alert.alert-warning").wait_for()
    # Put back where it was, and unchanged in the database.
    page.locator(f"td.fc-timegrid-col[data-date='{today.isoformat()}'] [data-event-id='interaction-{meeting.pk}']") \
        .wait_for()
    assert Interaction.objects.get(pk=meeting.pk).occurred_at == at(today, 11)


def test_phone_shows_a_list(phone_page, login, screenshot, browser_users):
    from guanxi.activities.models import Task

    rep1 = browser_users["rep1"]
    today, _other = this_week_days()
    task = Task.objects.create(title="回访客户", owner=rep1, created_by=rep1, due_at=at(today, 16))
    login(phone_page)
    phone_page.goto("/calendar/")
    phone_page.locator(".fc-listWeek-view").wait_for()
    row = phone_page.locator(".fc-list-event", has_text="回访客户")
    row.wait_for()  # the list says "no events" until the event source answers
    assert "16:00" in row.inner_text()
    assert row.locator("a").get_attribute("href").endswith(f"/tasks/{task.pk}/")
    screenshot(phone_page, "calendar-phone")
