"""SLA clocks in business time.

A `BusinessCalendar` says when people work: working weekdays, the working periods of a day, and dated
exceptions (a holiday on a weekday, a make-up working day on a weekend). `add_business_minutes` walks
forward from a moment through working periods only; `business_minutes_between` measures the working
time between two moments (first response and resolution times in the analytics).

A ticket's policy is the most specific active `SlaPolicy` for its category (or an ancestor) and priority.
Its due times and warning times are stored on the ticket when the policy applies, so the scheduler's
sweep (`sla_check`) is an indexed range query; each warning and each breach is stamped by a conditional
UPDATE (… WHERE stamp IS NULL), so it fires exactly once however many sweeps run, even concurrently.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from .models import BusinessCalendar, SlaPolicy

# Walk at most this many days ahead: a calendar without working time must not loop for ever.
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class CalendarSpec:
    tz: ZoneInfo
    working_days: frozenset
    periods: tuple  # ((time, time), ...) sorted, non-overlapping
    overrides: dict  # date -> "holiday" | "workday"

    def is_working_day(self, day: date) -> bool:
        kind = self.overrides.get(day)
        if kind == "holiday":
            return False
        if kind == "workday":
            return True
        return day.weekday() in self.working_days

    def periods_on(self, day: date):
        """The working intervals of a day as aware datetimes in UTC (empty on a day off).

        UTC because Python subtracts and adds aware datetimes of one tzinfo in wall-clock time: across a
        daylight-saving change in a calendar's time zone the arithmetic below would be an hour off.
        """
        if not self.is_working_day(day):
            return []
        return [(datetime.combine(day, start, self.tz).astimezone(UTC),
                 datetime.combine(day, end, self.tz).astimezone(UTC))
                for start, end in self.periods]

    @property
    def has_working_time(self) -> bool:
        """False when no day can ever be worked (no periods, or no working weekday and no make-up day)."""
        return bool(self.periods) and (bool(self.working_days) or "workday" in self.overrides.values())


def _aware(moment: datetime) -> datetime:
    """Naive datetimes are taken to be in the current time zone (as Django does)."""
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def parse_periods(raw):
    """[["09:00","12:00"], …] → ((time, time), …), validated: each start before its end, no overlaps."""
    periods = []
    for item in raw or []:
        start, end = (time.fromisoformat(str(v)) for v in item)
        if start >= end:
            raise ValueError(_("Each working period must start before it ends."))
        periods.append((start, end))
    periods.sort()
    for (_s1, e1), (s2, _e2) in zip(periods, periods[1:], strict=False):
        if s2 < e1:
            raise ValueError(_("Working periods must not overlap."))
    return tuple(periods)


def calendar_spec(calendar: BusinessCalendar) -> CalendarSpec:
    return CalendarSpec(
        tz=ZoneInfo(calendar.timezone or "Asia/Shanghai"),
        working_days=frozenset(int(d) for d in calendar.working_days or []),
        periods=parse_periods(calendar.periods),
        overrides=dict(calendar.days.values_list("date", "kind")),
    )


def default_calendar():
    return BusinessCalendar.objects.filter(is_default=True).first() or BusinessCalendar.objects.first()


def add_business_minutes(spec: CalendarSpec, start: datetime, minutes: int) -> datetime | None:
    """The moment `minutes` of working time after `start` (None if the calendar has no working time).

    Outside working time the clock waits for the next working period: from a lunch break, an evening, a
    weekend or a holiday the minutes count from the next period's start. A target that ends exactly at a
    period's end is due then (not at the next period's start). `minutes` = 0 is the next working moment
    (`start` itself during working time).
    """
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    if not spec.has_working_time:
        return None
    start = _aware(start)
    remaining = timedelta(minutes=minutes)
    day = start.astimezone(spec.tz).date()
    for _i in range(MAX_DAYS):
        for begin, end in spec.periods_on(day):
            begin = max(begin, start)
            if begin > end or (begin == end and remaining):
                continue
            available = end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        day += timedelta(days=1)
    return None


def subtract_business_minutes(spec: CalendarSpec, end: datetime, minutes: int, not_before: datetime) -> datetime:
    """The moment `minutes` of working time before `end`, but not before `not_before` (warning times).

    With `minutes` = 0, `end` itself. When there is not that much working time between `not_before` and
    `end`, `not_before` (the warning is due at once).
    """
    end, not_before = _aware(end), _aware(not_before)
    if end <= not_before:
        return not_before
    if minutes <= 0:
        return end
    remaining = timedelta(minutes=minutes)
    day = end.astimezone(spec.tz).date()
    floor_day = not_before.astimezone(spec.tz).date()
    while day >= floor_day:
        for begin, finish in reversed(spec.periods_on(day)):
            finish = min(finish, end)
            if finish <= begin:
                continue
            available = finish - begin
            if remaining <= available:
                return max(finish - remaining, not_before)
            remaining -= available
        day -= timedelta(days=1)
    return not_before


def business_minutes_between(spec: CalendarSpec, start: datetime, end: datetime) -> float:
    """Working minutes between two moments (0 when end is not after start)."""
    start, end = _aware(start), _aware(end)
    if end <= start:
        return 0.0
    total = timedelta()
    day = start.astimezone(spec.tz).date()
    last = end.astimezone(spec.tz).date()
    while day <= last:
        for begin, finish in spec.periods_on(day):
            begin, finish = max(begin, start), min(finish, end)
            if finish > begin:
                total += finish - begin
        day += timedelta(days=1)
    return total.total_seconds() / 60


# -- policies ---------------------------------------------------------------------------------------


def sla_policy_for(ticket):
    """The most specific active policy: category (nearest ancestor first) before priority before neither."""
    ancestors = ticket.category.ancestor_ids() if ticket.category_id else []
    best, best_rank = None, None
    for policy in SlaPolicy.objects.filter(is_active=True).select_related("calendar").order_by("position", "id"):
        if policy.priority and policy.priority != ticket.priority:
            continue
        if policy.category_id and policy.category_id not in ancestors:
            continue
        distance = ancestors.index(policy.category_id) if policy.category_id else len(ancestors) + 1
        rank = (distance, 0 if policy.priority else 1)
        if best_rank is None or rank < best_rank:
            best, best_rank = policy, rank
    return best


def sla_due_times(policy, start, spec=None):
    """{field: datetime} of the SLA clocks a policy starts at `start`."""
    calendar = policy.calendar or default_calendar()
    if calendar is None:
        return {}
    spec = spec or calendar_spec(calendar)
    first_due = add_business_minutes(spec, start, policy.first_response_minutes)
    resolution_due = add_business_minutes(spec, start, policy.resolution_minutes)
    warn = policy.warn_before_minutes
    return {
        "first_response_due": first_due,
        "resolution_due": resolution_due,
        "first_response_warn_at": subtract_business_minutes(spec, first_due, warn, start) if first_due else None,
        "resolution_warn_at": subtract_business_minutes(spec, resolution_due, warn, start) if resolution_due else None,
    }


def sla_apply(ticket, *, start=None, resolution_only=False):
    """Set the ticket's policy and due times (in memory; the caller saves). `start` defaults to its creation.

    Returns the names of the fields set. On reopen (`resolution_only`) only the resolution clock restarts:
    its due and warning times are computed from `start`, and its warning and breach stamps are cleared so
    that the scheduler can warn and breach on the new clock (the earlier ones stay in the ticket's history).
    """
    policy = sla_policy_for(ticket)
    ticket.sla_policy = policy
    names = ["sla_policy"]
    if policy is None:
        values = {"first_response_due": None, "resolution_due": None, "first_response_warn_at": None,
                  "resolution_warn_at": None}
    else:
        values = sla_due_times(policy, start or ticket.created_at or timezone.now())
    if resolution_only:
        values = {k: v for k, v in values.items() if k.startswith("resolution")}
        values.update(resolution_warned_at=None, resolution_breached_at=None)
    for name, value in values.items():
        setattr(ticket, name, value)
        names.append(name)
    return names


def _late(done, due):
    return bool(done and due and done > due)


def sla_state(ticket, now=None):
    """{"state": ok|warning|breached|met|none, "label": text, "due": datetime|None} for display.

    `due` is the running clock's due time (first response until answered, then resolution).
    """
    now = now or timezone.now()
    if (ticket.first_response_breached_at or ticket.resolution_breached_at
            or _late(ticket.first_responded_at, ticket.first_response_due)
            or _late(ticket.resolved_at, ticket.resolution_due)):
        return {"state": "breached", "label": _("Breached"), "due": None}
    if ticket.resolved_at or ticket.status in ("resolved", "closed"):
        if ticket.first_response_due is None and ticket.resolution_due is None:
            return {"state": "none", "label": "", "due": None}
        return {"state": "met", "label": _("Met"), "due": None}
    due = ticket.resolution_due if ticket.first_responded_at else (ticket.first_response_due or ticket.resolution_due)
    if due is None:
        return {"state": "none", "label": "", "due": None}
    if due <= now:
        return {"state": "breached", "label": _("Breached"), "due": due}
    warn = ticket.resolution_warn_at if ticket.first_responded_at else ticket.first_response_warn_at
    if warn and warn <= now:
        return {"state": "warning", "label": _("Due soon"), "due": due}
    return {"state": "ok", "label": _("On time"), "due": due}
