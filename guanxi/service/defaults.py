"""What a new installation starts with: the complaint categories of the source brief, a business
calendar for mainland China with its public holidays and make-up working days, and one SLA policy per
priority. Stored under English names and shown translated until an administrator renames them (as
`guanxi.sales.defaults` does for stages).

China's holiday schedule is published by the State Council each November for the next year; it is data
(calendar days an administrator can edit in Service settings), not code. The years below are the
published schedules; add the next year's days when it is announced.
"""

from datetime import date, timedelta

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

DEFAULT_CALENDAR = "Mainland China working days"

# (name, [subcategory names])
DEFAULT_CATEGORIES = [
    ("Product quality", ["Defect or malfunction", "Packaging damaged"]),
    ("Service attitude", []),
    ("Delivery", ["Late delivery", "Wrong item"]),
    ("Billing", ["Invoice", "Refund"]),
    ("Other", []),
]

# (name, priority, first response minutes, resolution minutes, warn before minutes) in business time
DEFAULT_SLA = [
    ("Urgent tickets", "urgent", 30, 4 * 60, 15),
    ("High-priority tickets", "high", 2 * 60, 8 * 60, 30),
    ("Normal tickets", "normal", 4 * 60, 3 * 8 * 60, 60),
    ("Low-priority tickets", "low", 8 * 60, 5 * 8 * 60, 120),
]


def _span(first, last):
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


def _holidays(name, first, last):
    return [(d, "holiday", name) for d in _span(first, last)]


# (date, kind, name): 国务院办公厅关于2025年、2026年部分节假日安排的通知
CHINA_DAYS = [
    *_holidays("元旦 New Year's Day", date(2025, 1, 1), date(2025, 1, 1)),
    (date(2025, 1, 26), "workday", "春节调休 Spring Festival make-up day"),
    *_holidays("春节 Spring Festival", date(2025, 1, 28), date(2025, 2, 4)),
    (date(2025, 2, 8), "workday", "春节调休 Spring Festival make-up day"),
    *_holidays("清明节 Qingming Festival", date(2025, 4, 4), date(2025, 4, 6)),
    (date(2025, 4, 27), "workday", "劳动节调休 Labour Day make-up day"),
    *_holidays("劳动节 Labour Day", date(2025, 5, 1), date(2025, 5, 5)),
    *_holidays("端午节 Dragon Boat Festival", date(2025, 5, 31), date(2025, 6, 2)),
    (date(2025, 9, 28), "workday", "国庆节调休 National Day make-up day"),
    *_holidays("国庆节、中秋节 National Day and Mid-Autumn Festival", date(2025, 10, 1), date(2025, 10, 8)),
    (date(2025, 10, 11), "workday", "国庆节调休 National Day make-up day"),
    *_holidays("元旦 New Year's Day", date(2026, 1, 1), date(2026, 1, 3)),
    (date(2026, 1, 4), "workday", "元旦调休 New Year make-up day"),
    (date(2026, 2, 14), "workday", "春节调休 Spring Festival make-up day"),
    *_holidays("春节 Spring Festival", date(2026, 2, 15), date(2026, 2, 23)),
    (date(2026, 2, 28), "workday", "春节调休 Spring Festival make-up day"),
    *_holidays("清明节 Qingming Festival", date(2026, 4, 4), date(2026, 4, 6)),
    *_holidays("劳动节 Labour Day", date(2026, 5, 1), date(2026, 5, 5)),
    (date(2026, 5, 9), "workday", "劳动节调休 Labour Day make-up day"),
    *_holidays("端午节 Dragon Boat Festival", date(2026, 6, 19), date(2026, 6, 21)),
    (date(2026, 9, 20), "workday", "国庆节调休 National Day make-up day"),
    *_holidays("中秋节 Mid-Autumn Festival", date(2026, 9, 25), date(2026, 9, 27)),
    *_holidays("国庆节 National Day", date(2026, 10, 1), date(2026, 10, 7)),
    (date(2026, 10, 10), "workday", "国庆节调休 National Day make-up day"),
]

LABELS = {
    DEFAULT_CALENDAR: _("Mainland China working days"),
    "Product quality": _("Product quality"),
    "Defect or malfunction": _("Defect or malfunction"),
    "Packaging damaged": _("Packaging damaged"),
    "Service attitude": _("Service attitude"),
    "Delivery": pgettext_lazy("ticket category", "Delivery"),
    "Late delivery": _("Late delivery"),
    "Wrong item": _("Wrong item"),
    "Billing": pgettext_lazy("ticket category", "Billing"),
    "Invoice": pgettext_lazy("ticket category", "Invoice"),
    "Refund": pgettext_lazy("ticket category", "Refund"),
    "Other": pgettext_lazy("ticket category", "Other"),
    "Urgent tickets": _("Urgent tickets"),
    "High-priority tickets": _("High-priority tickets"),
    "Normal tickets": _("Normal tickets"),
    "Low-priority tickets": _("Low-priority tickets"),
}


def label(name):
    """The display label of a stored configuration name (translated when it is a built-in default)."""
    return str(LABELS.get(name, name))


def ensure_defaults():
    """Create the default calendar (with China's days), categories and SLA policies when there are none
    of each: after migrating, and after a test flush."""
    from django.db import transaction

    from .models import BusinessCalendar, CalendarDay, SlaPolicy, TicketCategory

    with transaction.atomic():
        calendar = BusinessCalendar.objects.filter(is_default=True).first()
        if not BusinessCalendar.objects.exists():
            calendar = BusinessCalendar.objects.create(name=DEFAULT_CALENDAR, is_default=True)
            CalendarDay.objects.bulk_create([CalendarDay(calendar=calendar, date=d, kind=kind, name=name)
                                             for d, kind, name in CHINA_DAYS])
        if not TicketCategory.objects.exists():
            for i, (name, children) in enumerate(DEFAULT_CATEGORIES):
                parent = TicketCategory.objects.create(name=name, position=i * 10)
                for j, child in enumerate(children):
                    TicketCategory.objects.create(name=child, parent=parent, position=j * 10)
        if not SlaPolicy.objects.exists():
            SlaPolicy.objects.bulk_create([
                SlaPolicy(name=name, priority=priority, first_response_minutes=fr, resolution_minutes=res,
                          warn_before_minutes=warn, calendar=calendar, position=i * 10)
                for i, (name, priority, fr, res, warn) in enumerate(DEFAULT_SLA)
            ])
