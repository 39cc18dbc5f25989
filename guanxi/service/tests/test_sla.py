"""SLA clocks in business time: the arithmetic on the seeded China calendar (nights, lunch breaks, weekends,
public holidays, make-up working days), policy matching, due times set by ticket_create, and sla_state.

The seeded calendar: Monday–Friday 09:00–12:00 and 13:00–18:00 Asia/Shanghai; 2026-02-14 (Saturday) is a
make-up working day, 2026-02-15..23 the Spring Festival, 2026-10-01..07 National Day, 2026-10-10
(Saturday) a make-up working day.
"""

import datetime
import random
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from guanxi.service import ticket_services as svc
from guanxi.service.choices import TicketStatus
from guanxi.service.models import SlaPolicy, TicketCategory
from guanxi.service.sla import (
    CalendarSpec,
    add_business_minutes,
    business_minutes_between,
    calendar_spec,
    default_calendar,
    parse_periods,
    sla_apply,
    sla_due_times,
    sla_policy_for,
    sla_state,
    subtract_business_minutes,
)

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
UTC = datetime.UTC


def t(y, m, d, h=0, mi=0):
    return datetime.datetime(y, m, d, h, mi, tzinfo=SH)


@pytest.fixture
def spec():
    return calendar_spec(default_calendar())


# (start, minutes, expected)
ADD_CASES = [
    pytest.param(t(2026, 3, 4, 9), 60, t(2026, 3, 4, 10), id="plain-morning"),
    pytest.param(t(2026, 3, 4, 11, 30), 60, t(2026, 3, 4, 13, 30), id="across-lunch"),
    pytest.param(t(2026, 3, 4, 12, 30), 30, t(2026, 3, 4, 13, 30), id="start-inside-lunch"),
    pytest.param(t(2026, 3, 4, 12), 30, t(2026, 3, 4, 13, 30), id="start-at-period-end"),
    pytest.param(t(2026, 3, 4, 9), 180, t(2026, 3, 4, 12), id="ends-at-period-end"),
    pytest.param(t(2026, 3, 4, 13), 300, t(2026, 3, 4, 18), id="ends-at-day-end"),
    pytest.param(t(2026, 3, 4, 17, 30), 60, t(2026, 3, 5, 9, 30), id="overnight"),
    pytest.param(t(2026, 3, 4, 20), 30, t(2026, 3, 5, 9, 30), id="start-in-the-evening"),
    pytest.param(t(2026, 3, 4, 6), 30, t(2026, 3, 4, 9, 30), id="start-before-work"),
    pytest.param(t(2026, 3, 6, 17), 120, t(2026, 3, 9, 10), id="over-the-weekend"),
    pytest.param(t(2026, 3, 7, 10), 30, t(2026, 3, 9, 9, 30), id="start-on-saturday"),
    pytest.param(t(2026, 3, 2, 9), 3 * 8 * 60, t(2026, 3, 4, 18), id="three-working-days"),
    pytest.param(t(2026, 3, 4, 10), 0, t(2026, 3, 4, 10), id="zero-in-working-time"),
    pytest.param(t(2026, 3, 4, 12, 30), 0, t(2026, 3, 4, 13), id="zero-in-lunch"),
    # Spring Festival 2026: Saturday 14 Feb is worked, 15–23 Feb are off.
    pytest.param(t(2026, 2, 13, 17), 120, t(2026, 2, 14, 10), id="into-make-up-saturday"),
    pytest.param(t(2026, 2, 14, 17), 120, t(2026, 2, 24, 10), id="across-spring-festival"),
    pytest.param(t(2026, 2, 18, 10), 30, t(2026, 2, 24, 9, 30), id="start-in-spring-festival"),
    # National Day 2026: 1–7 Oct off, Saturday 10 Oct worked.
    pytest.param(t(2026, 9, 30, 17), 120, t(2026, 10, 8, 10), id="across-national-day"),
    pytest.param(t(2026, 10, 3, 10), 30, t(2026, 10, 8, 9, 30), id="start-on-a-holiday"),
    pytest.param(t(2026, 10, 9, 17), 120, t(2026, 10, 10, 10), id="into-make-up-saturday-october"),
    pytest.param(t(2026, 10, 10, 17, 30), 60, t(2026, 10, 12, 9, 30), id="make-up-saturday-then-sunday-off"),
]


@pytest.mark.parametrize(("start", "minutes", "expected"), ADD_CASES)
def test_add_business_minutes(spec, start, minutes, expected):
    assert add_business_minutes(spec, start, minutes) == expected
    if minutes:  # and the measure agrees with the walk
        assert business_minutes_between(spec, start, expected) == minutes


def test_start_in_another_time_zone(spec):
    # 01:00 UTC is 09:00 in Shanghai.
    due = add_business_minutes(spec, datetime.datetime(2026, 3, 4, 1, 0, tzinfo=UTC), 30)
    assert due == t(2026, 3, 4, 9, 30)


def test_negative_minutes_are_refused(spec):
    with pytest.raises(ValueError):
        add_business_minutes(spec, t(2026, 3, 4, 9), -1)


def test_calendar_without_working_time_gives_none():
    periods = parse_periods([["09:00", "18:00"]])
    no_days = CalendarSpec(tz=SH, working_days=frozenset(), periods=periods, overrides={})
    assert add_business_minutes(no_days, t(2026, 3, 4, 9), 60) is None
    no_hours = CalendarSpec(tz=SH, working_days=frozenset(range(7)), periods=(), overrides={})
    assert add_business_minutes(no_hours, t(2026, 3, 4, 9), 60) is None
    assert business_minutes_between(no_days, t(2026, 3, 4), t(2026, 3, 9)) == 0
    # Only one make-up day: that is where the clock runs.
    one_day = CalendarSpec(tz=SH, working_days=frozenset(), periods=periods,
                           overrides={datetime.date(2026, 3, 7): "workday"})
    assert add_business_minutes(one_day, t(2026, 3, 4, 9), 60) == t(2026, 3, 7, 10)


def test_daylight_saving_calendar_counts_real_minutes():
    """Periods are compared in UTC: across the night clocks change, nine working hours stay 540 minutes."""
    berlin = ZoneInfo("Europe/Berlin")
    periods = parse_periods([["00:00", "23:59"]])
    cal = CalendarSpec(tz=berlin, working_days=frozenset(range(7)), periods=periods, overrides={})
    start = datetime.datetime(2026, 3, 29, 0, 0, tzinfo=berlin)  # 02:00 → 03:00 that night
    end = add_business_minutes(cal, start, 240)
    assert (end - start).total_seconds() / 60 == 240  # real elapsed minutes
    assert end.astimezone(berlin).hour == 5  # wall clock skipped an hour
    assert business_minutes_between(cal, start, end) == 240


def test_parse_periods_validates():
    assert parse_periods([["13:00", "18:00"], ["09:00", "12:00"]])[0] == (datetime.time(9), datetime.time(12))
    with pytest.raises(ValueError):
        parse_periods([["12:00", "09:00"]])
    with pytest.raises(ValueError):
        parse_periods([["09:00", "13:00"], ["12:00", "18:00"]])


# (due, minutes, not_before, expected)
SUBTRACT_CASES = [
    pytest.param(t(2026, 3, 4, 10, 30), 15, t(2026, 3, 4, 10), t(2026, 3, 4, 10, 15), id="plain"),
    pytest.param(t(2026, 3, 4, 13, 30), 60, t(2026, 3, 4, 9), t(2026, 3, 4, 11, 30), id="back-over-lunch"),
    pytest.param(t(2026, 3, 4, 14), 60, t(2026, 3, 4, 9), t(2026, 3, 4, 13), id="exactly-to-period-start"),
    pytest.param(t(2026, 3, 9, 9, 30), 60, t(2026, 3, 6, 9), t(2026, 3, 6, 17, 30), id="back-over-weekend"),
    pytest.param(t(2026, 2, 24, 10), 120, t(2026, 2, 13, 9), t(2026, 2, 14, 17), id="back-over-spring-festival"),
    pytest.param(t(2026, 3, 4, 10, 30), 60, t(2026, 3, 4, 10), t(2026, 3, 4, 10), id="clamped-to-start"),
    pytest.param(t(2026, 3, 4, 13), 0, t(2026, 3, 4, 9), t(2026, 3, 4, 13), id="zero-is-the-due-time"),
]


@pytest.mark.parametrize(("due", "minutes", "not_before", "expected"), SUBTRACT_CASES)
def test_subtract_business_minutes(spec, due, minutes, not_before, expected):
    assert subtract_business_minutes(spec, due, minutes, not_before) == expected


@pytest.mark.parametrize(("start", "end", "minutes"), [
    pytest.param(t(2026, 3, 6, 17), t(2026, 3, 9, 10), 120, id="weekend"),
    pytest.param(t(2026, 3, 4, 12, 10), t(2026, 3, 4, 12, 50), 0, id="both-in-lunch"),
    pytest.param(t(2026, 3, 4, 11), t(2026, 3, 4, 10), 0, id="reversed"),
    pytest.param(t(2026, 2, 13, 17), t(2026, 2, 24, 10), 60 + 480 + 60, id="spring-festival"),
    # 30 Sep, then 8, 9 and the make-up Saturday 10 Oct.
    pytest.param(t(2026, 9, 30, 0), t(2026, 10, 11, 0), 4 * 480, id="national-day-week"),
    pytest.param(t(2026, 10, 1, 9), t(2026, 10, 7, 18), 0, id="inside-the-holiday"),
])
def test_business_minutes_between(spec, start, end, minutes):
    assert business_minutes_between(spec, start, end) == minutes


def test_walk_and_measure_agree_on_random_moments(spec):
    rng = random.Random(6)
    base = t(2026, 1, 1)
    for _i in range(200):
        start = base + datetime.timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        minutes = rng.randrange(1, 5 * 8 * 60)
        due = add_business_minutes(spec, start, minutes)
        assert due is not None and due > start
        assert business_minutes_between(spec, start, due) == minutes, (start, minutes, due)
        warn = subtract_business_minutes(spec, due, min(minutes, 60), start)
        assert business_minutes_between(spec, warn, due) == min(minutes, 60), (start, minutes, due, warn)


# -- policies ---------------------------------------------------------------------------------------


@pytest.fixture
def categories():
    return {name: TicketCategory.objects.get(name=name)
            for name in ("Product quality", "Packaging damaged", "Defect or malfunction", "Billing")}


def _ticket(**fields):
    from guanxi.service.models import Ticket

    return Ticket(subject="x", **fields)


def test_policy_matching_prefers_the_nearest_category_then_priority(categories):
    quality, packaging, defect = categories["Product quality"], categories["Packaging damaged"], \
        categories["Defect or malfunction"]
    default_urgent = SlaPolicy.objects.get(priority="urgent", category=None)
    quality_any = SlaPolicy.objects.create(name="Quality", category=quality, first_response_minutes=60,
                                           resolution_minutes=600)
    quality_urgent = SlaPolicy.objects.create(name="Quality urgent", category=quality, priority="urgent",
                                              first_response_minutes=10, resolution_minutes=120)
    packaging_any = SlaPolicy.objects.create(name="Packaging", category=packaging, first_response_minutes=20,
                                             resolution_minutes=200)
    SlaPolicy.objects.create(name="Off", category=defect, first_response_minutes=1, resolution_minutes=2,
                             is_active=False)
    # The subcategory's own policy beats its parent's, even the parent's priority-specific one.
    assert sla_policy_for(_ticket(category=packaging, priority="urgent")) == packaging_any
    # Same category distance: the priority-specific policy wins.
    assert sla_policy_for(_ticket(category=defect, priority="urgent")) == quality_urgent
    assert sla_policy_for(_ticket(category=defect, priority="low")) == quality_any
    assert sla_policy_for(_ticket(category=quality, priority="urgent")) == quality_urgent
    # Any category policy beats a priority-only one; without a category policy the priority decides.
    assert sla_policy_for(_ticket(category=quality, priority="normal")) == quality_any
    assert sla_policy_for(_ticket(category=categories["Billing"], priority="urgent")) == default_urgent
    assert sla_policy_for(_ticket(category=None, priority="urgent")) == default_urgent
    # A catch-all policy only catches what nothing more specific does.
    catch_all = SlaPolicy.objects.create(name="All", first_response_minutes=5, resolution_minutes=50)
    assert sla_policy_for(_ticket(category=None, priority="urgent")) == default_urgent
    SlaPolicy.objects.filter(priority="urgent", category=None).update(is_active=False)
    assert sla_policy_for(_ticket(category=None, priority="urgent")) == catch_all


def test_no_policy_clears_the_clocks():
    SlaPolicy.objects.update(is_active=False)
    ticket = _ticket(priority="normal")
    ticket.first_response_due = t(2026, 3, 4, 10)
    names = sla_apply(ticket, start=t(2026, 3, 4, 9))
    assert ticket.sla_policy is None and ticket.first_response_due is None and ticket.resolution_due is None
    assert set(names) >= {"sla_policy", "first_response_due", "resolution_due", "first_response_warn_at",
                          "resolution_warn_at"}


def test_policy_on_a_calendar_without_working_time_has_no_due_times():
    from guanxi.service.models import BusinessCalendar

    idle = BusinessCalendar.objects.create(name="Never", working_days=[], periods=[["09:00", "18:00"]])
    policy = SlaPolicy.objects.create(name="Idle", first_response_minutes=5, resolution_minutes=50, calendar=idle)
    times = sla_due_times(policy, t(2026, 3, 4, 9))
    assert times == {"first_response_due": None, "resolution_due": None, "first_response_warn_at": None,
                     "resolution_warn_at": None}


def test_ticket_create_sets_the_due_times(users):
    """Urgent: 30 min first response (warning 15 before), 4 h resolution (warning 15 before), business time."""
    agent = users["agent"]
    ticket = svc.ticket_create(actor=agent, fields={"subject": "Broken", "priority": "urgent"},
                               at=t(2026, 3, 4, 11, 50))
    ticket.refresh_from_db()
    assert ticket.sla_policy == SlaPolicy.objects.get(priority="urgent", category=None)
    assert ticket.first_response_due == t(2026, 3, 4, 13, 20)  # 10 min before lunch, 20 after
    assert ticket.first_response_warn_at == t(2026, 3, 4, 13, 5)
    assert ticket.resolution_due == t(2026, 3, 4, 16, 50)  # 10 min + 230 min
    assert ticket.resolution_warn_at == t(2026, 3, 4, 16, 35)
    # Created on the last working day before the Spring Festival: due after it.
    low = svc.ticket_create(actor=agent, fields={"subject": "Slow", "priority": "low"}, at=t(2026, 2, 14, 17))
    low.refresh_from_db()
    assert low.first_response_due == t(2026, 2, 24, 17)  # 1 h on the make-up Saturday, 7 h after the holiday
    assert low.first_response_warn_at == t(2026, 2, 24, 15)  # 2 h before


def test_category_change_reapplies_the_policy(users, categories):
    quality_urgent = SlaPolicy.objects.create(name="Quality urgent", category=categories["Product quality"],
                                              first_response_minutes=10, resolution_minutes=60)
    agent = users["agent"]
    ticket = svc.ticket_create(actor=agent, fields={"subject": "Broken", "priority": "normal"})
    ticket = svc.ticket_update(ticket=ticket, actor=agent, fields={"category": categories["Defect or malfunction"]})
    ticket.refresh_from_db()
    assert ticket.sla_policy == quality_urgent


def test_reopen_restarts_only_the_resolution_clock(users):
    agent = users["agent"]
    ticket = svc.ticket_create(actor=agent, fields={"subject": "Broken", "priority": "urgent"},
                               at=t(2026, 3, 4, 9))
    svc.ticket_reply(actor=agent, ticket=ticket, body="On it", at=t(2026, 3, 4, 9, 10))
    svc.ticket_set_status(actor=agent, ticket=ticket, status=TicketStatus.RESOLVED, at=t(2026, 3, 4, 10))
    ticket.refresh_from_db()
    first_due = ticket.first_response_due
    svc.ticket_set_status(actor=agent, ticket=ticket, status=TicketStatus.IN_PROGRESS, at=t(2026, 3, 5, 17))
    ticket.refresh_from_db()
    assert ticket.first_response_due == first_due
    assert ticket.resolution_due == t(2026, 3, 6, 12)  # 1 h on the 5th, 3 h on the 6th
    assert ticket.resolution_warn_at == t(2026, 3, 6, 11, 45)
    assert ticket.resolved_at is None and ticket.reopened_count == 1


# -- sla_state ---------------------------------------------------------------------------------------


def test_sla_state_labels(users):
    agent = users["agent"]
    agent.language = "en"
    ticket = svc.ticket_create(actor=agent, fields={"subject": "Broken", "priority": "urgent"},
                               at=t(2026, 3, 4, 9))
    ticket.refresh_from_db()
    with translation.override("en"):
        state = sla_state(ticket, now=t(2026, 3, 4, 9, 5))
        assert (state["state"], state["label"], state["due"]) == ("ok", "On time", t(2026, 3, 4, 9, 30))
        assert sla_state(ticket, now=t(2026, 3, 4, 9, 20))["label"] == "Due soon"
        assert sla_state(ticket, now=t(2026, 3, 4, 9, 30))["label"] == "Breached"
        # Answered in time: the resolution clock is the one shown.
        svc.ticket_reply(actor=agent, ticket=ticket, body="On it", at=t(2026, 3, 4, 9, 25))
        ticket.refresh_from_db()
        state = sla_state(ticket, now=t(2026, 3, 4, 9, 40))
        assert state["state"] == "ok" and state["due"] == ticket.resolution_due == t(2026, 3, 4, 14)
        assert sla_state(ticket, now=t(2026, 3, 4, 13, 50))["state"] == "warning"
        svc.ticket_set_status(actor=agent, ticket=ticket, status=TicketStatus.RESOLVED, at=t(2026, 3, 4, 11))
        ticket.refresh_from_db()
        assert sla_state(ticket, now=t(2026, 3, 9))["label"] == "Met"
        # Resolved after the due time is a breach, stamped or not.
        late = svc.ticket_create(actor=agent, fields={"subject": "Late", "priority": "urgent"},
                                 at=t(2026, 3, 4, 9))
        svc.ticket_reply(actor=agent, ticket=late, body="x", at=t(2026, 3, 4, 9, 1))
        svc.ticket_set_status(actor=agent, ticket=late, status=TicketStatus.RESOLVED, at=t(2026, 3, 5, 9))
        late.refresh_from_db()
        assert sla_state(late, now=t(2026, 3, 9))["label"] == "Breached"
    with translation.override("zh-hans"):
        assert sla_state(ticket, now=t(2026, 3, 9))["label"] == str(translation.gettext("Met"))
    SlaPolicy.objects.update(is_active=False)
    none = svc.ticket_create(actor=agent, fields={"subject": "No SLA"})
    none.refresh_from_db()
    assert sla_state(none) == {"state": "none", "label": "", "due": None}
