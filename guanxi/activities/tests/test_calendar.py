"""The calendar: events in a window (who sees what), drag-to-reschedule, and the personal iCalendar feed."""

import datetime
import hashlib

import icalendar
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from guanxi.activities.calendar_services import interaction_reschedule
from guanxi.activities.models import CalendarFeedToken, Interaction, Task
from guanxi.core.choices import AuditAction
from guanxi.core.models import AuditEvent, TimelineEvent
from guanxi.customers.tests.factories import AccountFactory, ContactFactory
from guanxi.framework.errors import Conflict

from .factories import InteractionFactory

pytestmark = pytest.mark.django_db

CANARY_PHONE = "+8613912345678"
CANARY_EMAIL = "canary.person@example.org"


def _base():
    # Tomorrow 09:00 in Shanghai (the demo users' zone), so that the feed window (relative to now) holds it.
    tz = timezone.get_default_timezone()
    local = timezone.localtime(timezone.now(), tz) + datetime.timedelta(days=1)
    return local.replace(hour=9, minute=0, second=0, microsecond=0)


def make_task(owner, title, due_at, **kw):
    return Task.objects.create(owner=owner, created_by=owner, title=title, due_at=due_at, **kw)


@pytest.fixture
def world(users):
    rep1, rep2, rep3 = users["rep1"], users["rep2"], users["rep3"]
    base = _base()
    acc1, acc2 = AccountFactory(owner=rep1, name="一号公司"), AccountFactory(owner=rep2, name="二号公司")
    acc3 = AccountFactory(owner=rep3, name="三号公司")
    canary = ContactFactory(owner=rep1, name="金丝雀", mobile=CANARY_PHONE, email=CANARY_EMAIL, companies=[acc1])
    w = {"base": base, "acc1": acc1, "acc2": acc2, "canary": canary}
    w["t1"] = make_task(rep1, "Send the quote", base + datetime.timedelta(days=1),
                        remind_at=base + datetime.timedelta(days=1, minutes=-30), account=acc1)
    w["t1_later"] = make_task(rep1, "Far away", base + datetime.timedelta(days=60))
    w["t2"] = make_task(rep2, "Rep2's task", base + datetime.timedelta(days=2), account=acc2)
    w["t3"] = make_task(rep3, "Rep3's task", base + datetime.timedelta(days=2), account=acc3)
    w["i1"] = InteractionFactory(owner=rep1, kind="meeting", subject="Kick-off", account=acc1, contact=canary,
                                 occurred_at=base + datetime.timedelta(days=3), duration_minutes=60,
                                 participant_contacts=[canary])
    w["i1_note"] = InteractionFactory(owner=rep1, kind="note", account=acc1, occurred_at=base)
    # Logged by rep2 on rep1's company with rep1 taking part: rep1's too.
    w["i3"] = InteractionFactory(owner=rep2, kind="visit", subject="Site visit", account=acc1,
                                 occurred_at=base + datetime.timedelta(days=4), participant_users=[rep1])
    # Logged by rep2 on rep1's company without rep1: visible to rep1, but not "mine".
    w["i4"] = InteractionFactory(owner=rep2, kind="call", subject="Rep2 calls", account=acc1,
                                 occurred_at=base + datetime.timedelta(days=4, hours=2))
    w["i2"] = InteractionFactory(owner=rep2, kind="call", subject="Rep2's call", account=acc2,
                                 occurred_at=base + datetime.timedelta(days=5))
    # Starts two hours before the window and ends inside it.
    w["i_overlap"] = InteractionFactory(owner=rep1, kind="meeting", subject="Long workshop", account=acc1,
                                        occurred_at=base - datetime.timedelta(hours=2), duration_minutes=180)
    w["i_before"] = InteractionFactory(owner=rep1, kind="meeting", subject="Ended before", account=acc1,
                                       occurred_at=base - datetime.timedelta(hours=3), duration_minutes=60)
    return w


def window(w, days=14):
    return {"start": w["base"].isoformat(), "end": (w["base"] + datetime.timedelta(days=days)).isoformat()}


def event_ids(client, params):
    response = client.get(reverse("calendar:events"), params)
    assert response.status_code == 200, response.content
    return {e["id"] for e in response.json()["events"]}


def ids(w, *names):
    return {("task-" if names_ in ("t1", "t1_later", "t2", "t3") else "interaction-") + str(w[names_].pk)
            for names_ in names}


# -- the event source --------------------------------------------------------------------------


def test_events_are_exactly_the_visible_items_in_the_window(world, client_rep1, client_for):
    w = world
    assert event_ids(client_rep1, window(w)) == ids(w, "t1", "i1", "i3", "i_overlap")
    # A sales rep's scope covers only themself: "team" is the same as "mine".
    assert event_ids(client_rep1, {**window(w), "scope": "team"}) == ids(w, "t1", "i1", "i3", "i_overlap")
    assert event_ids(client_for("rep2"), window(w)) == ids(w, "t2", "i2")
    manager = client_for("manager")
    assert event_ids(manager, window(w)) == set()
    # The manager's team: rep1 and rep2 (not rep3, in another region), each item once.
    assert event_ids(manager, {**window(w), "scope": "team"}) == ids(w, "t1", "t2", "i1", "i2", "i3", "i4",
                                                                      "i_overlap")


def test_events_carry_what_the_calendar_needs(world, client_rep1):
    events = {e["id"]: e for e in client_rep1.get(reverse("calendar:events"), window(world)).json()["events"]}
    task = events[f"task-{world['t1'].pk}"]
    assert task["url"] == world["t1"].get_absolute_url()
    assert task["editable"] is True and task["durationEditable"] is False
    assert task["extendedProps"]["version"] == world["t1"].version
    # Wall-clock time in the user's zone, without an offset (FullCalendar with a named time zone).
    assert task["start"] == timezone.localtime(world["t1"].due_at).replace(tzinfo=None).isoformat()
    meeting = events[f"interaction-{world['i1'].pk}"]
    assert meeting["end"] == timezone.localtime(world["i1"].occurred_at + datetime.timedelta(hours=1)) \
        .replace(tzinfo=None).isoformat()
    assert meeting["durationEditable"] is True
    assert "Kick-off" in meeting["title"] and "一号公司" in meeting["title"]


def test_items_a_user_may_see_but_not_change_are_not_draggable(world, client_rep1, rep1):
    from guanxi.core.models import RecordShare

    # rep2's company shared with rep1 for reading: rep1 sees a meeting there that they take part in,
    # but may not change it (changing an interaction needs change on a company or contact it is about).
    RecordShare.objects.create(record_type="customers.account", record_id=world["acc2"].pk, user=rep1, level="read")
    meeting = InteractionFactory(owner=world["acc2"].owner, kind="meeting", account=world["acc2"],
                                 occurred_at=world["base"] + datetime.timedelta(days=6), participant_users=[rep1])
    events = {e["id"]: e for e in client_rep1.get(reverse("calendar:events"), window(world)).json()["events"]}
    assert events[f"interaction-{meeting.pk}"]["editable"] is False
    assert events[f"task-{world['t1'].pk}"]["editable"] is True
    assert move(client_rep1, "interaction", meeting, "2030-01-01T10:00:00").status_code == 404
    assert Interaction.objects.get(pk=meeting.pk).occurred_at == meeting.occurred_at


@pytest.mark.parametrize("params", [
    {},
    {"start": "2026-03-01T00:00:00"},
    {"start": "yesterday", "end": "2026-03-01T00:00:00"},
    {"start": "2026-03-10T00:00:00", "end": "2026-03-01T00:00:00"},
    {"start": "2026-03-01T00:00:00", "end": "2026-03-01T00:00:00"},
    {"start": "2026-01-01T00:00:00", "end": "2026-06-01T00:00:00"},
    {"start": "0001-01-01T00:00:00", "end": "0001-01-05T00:00:00"},
    {"start": "9999-12-01T00:00:00", "end": "9999-12-05T00:00:00"},
    {"start": "2026-03-01T00:00:00\x00", "end": "2026-03-05T00:00:00"},
    {"start": "2026-03-01T00:00:00", "end": "2026-03-05T00:00:00", "scope": "everyone"},
])
def test_bad_windows_are_a_clear_400(client_rep1, params):
    response = client_rep1.get(reverse("calendar:events"), params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] in ("bad_window", "bad_scope") and body["detail"]


def test_window_accepts_dates_offsets_and_100_days(client_rep1):
    url = reverse("calendar:events")
    assert client_rep1.get(url, {"start": "2026-03-01", "end": "2026-06-09"}).status_code == 200
    assert client_rep1.get(url, {"start": "2026-03-01T00:00:00+08:00", "end": "2026-03-08T00:00:00Z"}) \
        .status_code == 200
    # Offsets PostgreSQL cannot store (beyond ±15:59) are read as the same instant in UTC.
    assert client_rep1.get(url, {"start": "2026-03-01T00:00:00+22:29", "end": "2026-03-08T00:00:00-23:00"}) \
        .status_code == 200


def test_events_need_a_login(client):
    response = client.get(reverse("calendar:events"), {"start": "2026-03-01", "end": "2026-03-08"})
    assert response.status_code == 302


def test_event_queries_do_not_grow_with_the_number_of_items(world, client_for, users):
    manager = client_for("manager")
    params = {**window(world), "scope": "team"}
    manager.get(reverse("calendar:events"), params)  # warm per-user caches (the session's user is new each time)
    with CaptureQueriesContext(connection) as before:
        manager.get(reverse("calendar:events"), params)
    for n in range(15):
        make_task(users["rep2"], f"More {n}", world["base"] + datetime.timedelta(hours=n))
        InteractionFactory(owner=users["rep1"], kind="meeting", account=world["acc1"],
                           occurred_at=world["base"] + datetime.timedelta(hours=n, minutes=5), duration_minutes=30)
    with CaptureQueriesContext(connection) as after:
        response = manager.get(reverse("calendar:events"), params)
    assert len(response.json()["events"]) == 7 + 30
    assert len(after.captured_queries) == len(before.captured_queries)


# -- drag to reschedule --------------------------------------------------------------------------


def move(client, kind, obj, start, version=None, end=None):
    data = {"start": start, "version": obj.version if version is None else version}
    if end:
        data["end"] = end
    return client.post(reverse("calendar:move", args=[kind, obj.pk]), data)


def test_moving_a_task_keeps_its_reminder_offset_and_is_audited(world, client_rep1, rep1):
    task = world["t1"]
    new_local = (world["base"] + datetime.timedelta(days=2)).replace(hour=14)
    response = move(client_rep1, "task", task, new_local.replace(tzinfo=None).isoformat())
    assert response.status_code == 200, response.content
    task.refresh_from_db()
    assert task.due_at == new_local
    assert task.remind_at == new_local - datetime.timedelta(minutes=30)
    assert response.json()["event"]["extendedProps"]["version"] == task.version
    audit = AuditEvent.objects.filter(record_type="activities.task", record_id=task.pk,
                                      action=AuditAction.UPDATE).get()
    assert audit.actor == rep1 and "due_at" in audit.data["changes"]
    timeline = TimelineEvent.objects.filter(record_type="activities.task", record_id=task.pk).get()
    before, after = timeline.data["changes"]["due_at"]
    assert before != after


def test_moving_with_a_stale_version_is_409_and_changes_nothing(world, client_rep1):
    task = world["t1"]
    Task.objects.filter(pk=task.pk).update(version=task.version + 1)  # someone else saved meanwhile
    response = move(client_rep1, "task", task, "2030-01-01T10:00:00", version=task.version)
    assert response.status_code == 409
    assert response.json()["code"] == "stale_version"
    fresh = Task.objects.get(pk=task.pk)
    assert fresh.due_at == task.due_at and fresh.remind_at == task.remind_at
    assert not AuditEvent.objects.filter(record_type="activities.task", record_id=task.pk).exists()


def test_moving_someone_elses_task_is_404_and_changes_nothing(world, client_rep1, client_for):
    task = world["t2"]
    response = move(client_rep1, "task", task, "2030-01-01T10:00:00")
    assert response.status_code == 404
    assert Task.objects.get(pk=task.pk).due_at == task.due_at
    response = move(client_for("rep2"), "interaction", world["i1"], "2030-01-01T10:00:00")
    assert response.status_code == 404
    assert Interaction.objects.get(pk=world["i1"].pk).occurred_at == world["i1"].occurred_at
    assert not AuditEvent.objects.filter(action=AuditAction.UPDATE).exists()
    # The manager's scope covers rep2's task.
    assert move(client_for("manager"), "task", task, "2030-01-01T10:00:00").status_code == 200


def test_moving_a_meeting_moves_it_and_can_change_its_length(world, client_rep1, rep1):
    meeting = world["i1"]
    response = move(client_rep1, "interaction", meeting, "2030-01-02T10:00:00", end="2030-01-02T11:30:00")
    assert response.status_code == 200, response.content
    meeting.refresh_from_db()
    assert timezone.localtime(meeting.occurred_at).replace(tzinfo=None) == datetime.datetime(2030, 1, 2, 10)
    assert meeting.duration_minutes == 90
    audit = AuditEvent.objects.get(record_type="activities.interaction", record_id=meeting.pk,
                                   action=AuditAction.UPDATE)
    assert audit.actor == rep1
    assert set(audit.data["changes"]) == {"occurred_at", "duration_minutes"}
    assert audit.data["changes"]["duration_minutes"] == [60, 90]
    timeline = TimelineEvent.objects.get(record_type="activities.interaction", record_id=meeting.pk)
    assert timeline.data["changes"]["occurred_at"][1] == str(meeting.occurred_at)
    # Without an end the length stays.
    assert move(client_rep1, "interaction", meeting, "2030-01-03T10:00:00").status_code == 200
    meeting.refresh_from_db()
    assert meeting.duration_minutes == 90


def test_interaction_reschedule_service_refuses_stale_and_naive(world, rep1):
    meeting = world["i1"]
    with pytest.raises(Conflict):
        interaction_reschedule(actor=rep1, interaction=meeting, occurred_at=timezone.now(),
                               version=meeting.version + 1)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        interaction_reschedule(actor=rep1, interaction=meeting, occurred_at=datetime.datetime(2030, 1, 1),
                               version=meeting.version)
    with pytest.raises(ValidationError):
        interaction_reschedule(actor=rep1, interaction=meeting, occurred_at=timezone.now(),
                               duration_minutes=24 * 60 + 1, version=meeting.version)
    assert Interaction.objects.get(pk=meeting.pk).occurred_at == meeting.occurred_at


@pytest.mark.parametrize("data", [
    {"start": "not a time", "version": "1"},
    {"start": "2030-01-01T10:00:00"},
    {"start": "2030-01-01T10:00:00", "version": "x"},
    {"start": "2030-01-01T10:00:00", "end": "2030-01-01T09:00:00", "version": "1"},
    {"start": "2030-01-01T10:00:00", "end": "2030-01-03T10:00:00", "version": "1"},
])
def test_bad_moves_are_400(world, client_rep1, data):
    meeting = world["i1"]
    response = client_rep1.post(reverse("calendar:move", args=["interaction", meeting.pk]), data)
    assert response.status_code == 400
    assert Interaction.objects.get(pk=meeting.pk).occurred_at == meeting.occurred_at


def test_move_of_an_unknown_kind_or_id_is_404(client_rep1):
    assert client_rep1.post("/calendar/events/account/1/move/", {"start": "2030-01-01", "version": 1}) \
        .status_code == 404
    assert client_rep1.post("/calendar/events/task/99999999999999999999/move/", {}).status_code == 404
    assert client_rep1.get("/calendar/events/task/1/move/").status_code == 405


# -- the page ------------------------------------------------------------------------------------


def test_calendar_page_and_nav(client_rep1, client_for):
    response = client_rep1.get(reverse("calendar:page"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="calendar"' in html and "vendor/fullcalendar/fullcalendar.min.js" in html
    assert reverse("calendar:page") in html  # the nav entry
    assert 'id="scope-team"' not in html  # a rep has no team view
    assert 'id="scope-team"' in client_for("manager").get(reverse("calendar:page")).content.decode()
    # An auditor has no activities: no calendar in the menu.
    assert reverse("calendar:page") not in client_for("auditor").get(reverse("home")).content.decode()


# -- the iCalendar feed ----------------------------------------------------------------------------


def create_feed(client):
    response = client.post(reverse("calendar:feed_token_create"))
    assert response.status_code == 200
    url = response.context["new_feed_url"]
    assert url in response.content.decode()
    return url


def parse(body):
    cal = icalendar.Calendar.from_ical(body)
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


def test_feed_token_is_stored_hashed_and_audited(client_rep1, rep1):
    url = create_feed(client_rep1)
    raw = url.rsplit("/", 1)[1].removesuffix(".ics")
    token = CalendarFeedToken.objects.get(user=rep1)
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    for row in CalendarFeedToken.objects.values_list():
        assert not any(raw in str(value) for value in row)
    audit = AuditEvent.objects.get(action=AuditAction.TOKEN_CREATE, record_type="activities.calendarfeedtoken")
    assert audit.actor == rep1 and audit.data["kind"] == "calendar feed"
    assert raw not in str(audit.data) and raw not in audit.record_label
    # Shown once: the calendar page afterwards shows only the prefix.
    page = client_rep1.get(reverse("calendar:page")).content.decode()
    assert raw not in page and token.prefix in page


def test_feed_parses_and_holds_only_the_users_items(world, client_rep1, client):
    url = create_feed(client_rep1)
    response = client.get(url)  # no login
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    events = parse(response.content)
    cal = icalendar.Calendar.from_ical(response.content)
    assert str(cal["X-PUBLISHED-TTL"]) == "PT1H" and cal.decoded("REFRESH-INTERVAL") == datetime.timedelta(hours=1)
    host = "testserver"
    expected = {f"task-{world[n].pk}@{host}" for n in ("t1", "t1_later")} | {
        f"interaction-{world[n].pk}@{host}" for n in ("i1", "i3", "i_overlap", "i_before")}
    assert set(events) == expected
    task = events[f"task-{world['t1'].pk}@{host}"]
    assert str(task["summary"]).startswith("⏰ Send the quote")
    assert task.decoded("dtstart") == world["t1"].due_at
    assert task.decoded("dtstart").utcoffset() == datetime.timedelta(0)
    assert "dtstamp" in task
    assert str(task["url"]).endswith(world["t1"].get_absolute_url())
    meeting = events[f"interaction-{world['i1'].pk}@{host}"]
    assert meeting.decoded("dtend") - meeting.decoded("dtstart") == datetime.timedelta(hours=1)
    assert "金丝雀" in str(meeting["description"])  # people by name ...


def test_feed_has_no_personal_data_in_clear(world, client_rep1, client, rep1):
    make_task(rep1, f"Call back on {CANARY_PHONE} or 139 1234 5678, mail {CANARY_EMAIL}", world["base"],
              contact=world["canary"], description=f"Her mobile is {CANARY_PHONE}")
    Interaction.objects.filter(pk=world["i1"].pk).update(content=f"Reach her at {CANARY_EMAIL}",
                                                         email_from=CANARY_EMAIL)
    body = client.get(create_feed(client_rep1)).content.decode()
    unfolded = body.replace("\r\n ", "")
    for canary in (CANARY_PHONE, "13912345678", "139 1234 5678", CANARY_EMAIL, "canary.person"):
        assert canary not in unfolded
    assert "金丝雀" in unfolded


def test_feed_stops_after_revoke_and_replace(world, client_rep1, client):
    url = create_feed(client_rep1)
    assert client.get(url).status_code == 200
    newer = create_feed(client_rep1)  # replacing revokes the first link
    assert client.get(url).status_code == 404
    assert client.get(newer).status_code == 200
    token = CalendarFeedToken.objects.get(revoked_at__isnull=True)
    response = client_rep1.post(reverse("calendar:feed_token_revoke", args=[token.pk]))
    assert response.status_code == 302
    assert client.get(newer).status_code == 404
    revokes = AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKE, record_type="activities.calendarfeedtoken")
    assert revokes.count() == 2
    assert all(r.data["kind"] == "calendar feed" for r in revokes)


def test_feed_unknown_token_and_inactive_user_are_404(client_rep1, client, rep1):
    assert client.get("/calendar/feed/gxc_nothing-here.ics").status_code == 404
    assert client.get("/calendar/feed/" + "x" * 300 + ".ics").status_code == 404
    url = create_feed(client_rep1)
    type(rep1).objects.filter(pk=rep1.pk).update(is_active=False)
    assert client.get(url).status_code == 404


def test_someone_elses_feed_token_cannot_be_revoked(client_rep1, client_for):
    create_feed(client_rep1)
    token = CalendarFeedToken.objects.get()
    assert client_for("rep2").post(reverse("calendar:feed_token_revoke", args=[token.pk])).status_code == 404
    assert CalendarFeedToken.objects.get().revoked_at is None


def test_feed_reflects_lost_access(world, client_rep1, client, users):
    url = create_feed(client_rep1)
    uid = f"interaction-{world['i1'].pk}@testserver"
    assert uid in parse(client.get(url).content)
    # The company and the contact it is about go to rep2: rep1 no longer sees that history (though they
    # logged it), and the feed follows.
    type(world["acc1"]).objects.filter(pk=world["acc1"].pk).update(owner=users["rep2"])
    assert uid in parse(client.get(url, HTTP_CACHE_CONTROL="no-cache").content)  # still about rep1's contact
    type(world["canary"]).objects.filter(pk=world["canary"].pk).update(owner=users["rep2"])
    assert uid not in parse(client.get(url).content)


def test_feed_caching_headers_and_last_used(world, client_rep1, client):
    url = create_feed(client_rep1)
    response = client.get(url)
    assert "private" in response["Cache-Control"] and "max-age=" in response["Cache-Control"]
    etag = response["ETag"]
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and not again.content
    assert CalendarFeedToken.objects.get().last_used_at is not None


# -- query plans -----------------------------------------------------------------------------------


@pytest.fixture
def busy_year(users, world):
    """A year of tasks and calls for several people, so that the planner has a reason to pick indexes."""
    owners = [users["rep1"], users["rep2"], users["manager"], users["rep3"]]
    start = world["base"] - datetime.timedelta(days=180)
    Task.objects.bulk_create([
        Task(title=f"T{i}", owner=owners[i % 4], due_at=start + datetime.timedelta(hours=i), status="open")
        for i in range(4000)], batch_size=500)
    Interaction.objects.bulk_create([
        Interaction(kind=("call", "note", "email", "meeting")[i % 4], account=world["acc1"], owner=owners[i % 4],
                    occurred_at=start + datetime.timedelta(hours=i)) for i in range(4000)], batch_size=500)
    with connection.cursor() as cursor:
        for model in (Task, Interaction):
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')


def plans(client, params):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("calendar:events"), params)
    assert response.status_code == 200
    found = {}
    for model in (Task, Interaction):
        table = model._meta.db_table
        sql = [q["sql"] for q in ctx.captured_queries
               if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"] and "LIMIT" in q["sql"]]
        assert len(sql) == 1, ctx.captured_queries
        with connection.cursor() as cursor:
            cursor.execute(("EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ") + sql[0])
            found[model] = "\n".join(str(row[-1]) for row in cursor.fetchall())
    return found


def test_event_queries_use_indexes(busy_year, world, client_rep1):
    found = plans(client_rep1, window(world))
    # The due-time range is read from the (owner, status, due_at) index: both statuses are named.
    assert "task_owner_due_idx" in found[Task], found[Task]
    # Meetings, visits and calls in the window come from an occurred_at index: (kind, occurred_at), the
    # owner's, or the plain time index of the list.
    assert any(name in found[Interaction] for name in (
        "interaction_kind_idx", "interaction_owner_idx", "interaction_recent_idx")), found[Interaction]
    assert "SCAN activities_interaction" not in found[Interaction]  # SQLite's words for a full table scan
    assert "Seq Scan on activities_interaction " not in found[Interaction]
