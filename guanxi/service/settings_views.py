"""Service settings (administrators): the index, and the pages of categories, assignment rules, SLA
policies and business calendars (framework.config_views), plus a calendar's dated days — holidays and
make-up working days — one by one or pasted in bulk."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from guanxi.core.decorators import admin_required
from guanxi.framework.config_views import ConfigPages, diff, settings_audit, snapshot, style_form

from .models import BusinessCalendar, CalendarDay, SlaPolicy, TicketAssignmentRule, TicketCategory
from .settings_forms import (
    WEEKDAYS,
    AssignmentRuleForm,
    BusinessCalendarForm,
    CalendarDayForm,
    CalendarDaysPasteForm,
    SlaPolicyForm,
    TicketCategoryForm,
    minutes_as_hours,
    tree_order,
)

INDEX = "service:settings"
INDEX_LABEL = gettext_lazy("Service settings")


def _path(category):
    return category.path_label if category is not None else _("Any category")


def _minutes(value):
    return _("%(minutes)s min (%(hours)s h)") % {"minutes": value, "hours": minutes_as_hours(value)}


# -- categories --------------------------------------------------------------------------------------


class CategoryPages(ConfigPages):
    def get_queryset(self, request):
        return TicketCategory.objects.select_related("parent__parent__parent").annotate(n_tickets=Count("tickets"))

    def sort(self, objects):
        return tree_order(objects)


categories = CategoryPages(
    model=TicketCategory, form_class=TicketCategoryForm, name="ticket_category",
    prefix="service/settings/categories/", index_url=INDEX, index_label=INDEX_LABEL,
    description=gettext_lazy("Tickets are filed under a category; rules and SLA policies for a category also "
                             "apply to its subcategories. A category in use can be deactivated, not deleted."),
    columns=[(gettext_lazy("category"), "path_label"), (gettext_lazy("tickets"), "n_tickets"),
             (gettext_lazy("position"), "position"), (gettext_lazy("active"), "is_active")],
)


# -- assignment rules --------------------------------------------------------------------------------


class RulePages(ConfigPages):
    def get_queryset(self, request):
        return TicketAssignmentRule.objects.select_related("team", "category__parent__parent").order_by(
            "position", "id")

    def sort(self, objects):
        rules = list(objects)
        members = {}
        users = get_user_model().objects.filter(team_id__in={r.team_id for r in rules}, is_active=True)
        for user in users.order_by("id"):
            members.setdefault(user.team_id, []).append(str(user))
        for rule in rules:
            rule.receivers = ", ".join(members.get(rule.team_id, [])) or _("nobody (the team has no active member)")
        return rules


rules = RulePages(
    model=TicketAssignmentRule, form_class=AssignmentRuleForm, name="ticket_rule",
    prefix="service/settings/assignment/", index_url=INDEX, index_label=INDEX_LABEL,
    description=gettext_lazy("A new ticket goes to the team of the first active rule it matches (by position); "
                             "within the team, round-robin or to the member with the fewest open tickets."),
    columns=[
        (gettext_lazy("name"), "name"),
        (gettext_lazy("category"), lambda r: _path(r.category)),
        (gettext_lazy("priority"), lambda r: r.get_priority_display() if r.priority else _("Any priority")),
        (gettext_lazy("provinces / regions"), lambda r: r.provinces or _("Anywhere")),
        (gettext_lazy("team"), "team"),
        (gettext_lazy("method"), "get_method_display"),
        (gettext_lazy("receives tickets"), "receivers"),
        (gettext_lazy("position"), "position"),
        (gettext_lazy("active"), "is_active"),
    ],
)


# -- SLA policies ------------------------------------------------------------------------------------


sla_policies = ConfigPages(
    model=SlaPolicy, form_class=SlaPolicyForm, name="sla_policy",
    prefix="service/settings/sla/", index_url=INDEX, index_label=INDEX_LABEL, ordering=["position", "id"],
    description=gettext_lazy("Targets in business minutes (working time of the calendar). The most specific "
                             "active policy applies: category and priority, then category, then priority."),
    columns=[
        (gettext_lazy("name"), lambda p: str(p)),
        (gettext_lazy("priority"), lambda p: p.get_priority_display() if p.priority else _("Any priority")),
        (gettext_lazy("category"), lambda p: _path(p.category)),
        (gettext_lazy("first response"), lambda p: _minutes(p.first_response_minutes)),
        (gettext_lazy("resolution"), lambda p: _minutes(p.resolution_minutes)),
        (gettext_lazy("warn before"), lambda p: _minutes(p.warn_before_minutes)),
        (gettext_lazy("business calendar"), lambda p: str(p.calendar) if p.calendar else _("The default calendar")),
        (gettext_lazy("position"), "position"),
        (gettext_lazy("active"), "is_active"),
    ],
)


# -- business calendars ------------------------------------------------------------------------------


def _weekdays(calendar):
    names = dict(WEEKDAYS)
    return ", ".join(str(names[d]) for d in sorted(calendar.working_days or []) if d in names)


def _hours(calendar):
    return ", ".join(f"{start}-{end}" for start, end in calendar.periods or [])


class CalendarPages(ConfigPages):
    def get_queryset(self, request):
        return BusinessCalendar.objects.annotate(n_days=Count("days"))

    def before_save(self, request, obj):
        # Saves of calendars take turns (rows locked in id order: no deadlock), so two administrators
        # making different calendars the default at once still leave exactly one.
        list(BusinessCalendar.objects.select_for_update().order_by("pk").values_list("pk", flat=True))

    def after_save(self, request, obj, created):
        if obj.is_default:  # exactly one default: this one now
            for other in BusinessCalendar.objects.filter(is_default=True).exclude(pk=obj.pk):
                other.is_default = False
                other.save(update_fields=["is_default"])
                settings_audit(request.user, other, "update", {"is_default": [True, False]})

    def delete_refusal(self, obj):
        if obj.is_default:
            return _("“%(name)s” is the default calendar. Make another calendar the default first.") % {"name": obj}
        return None


calendars = CalendarPages(
    model=BusinessCalendar, form_class=BusinessCalendarForm, name="calendar",
    prefix="service/settings/calendars/", index_url=INDEX, index_label=INDEX_LABEL,
    list_template="service/settings_calendars.html",
    description=gettext_lazy("SLA clocks run only in working time: the working weekdays and hours of the "
                             "calendar, minus its holidays, plus its make-up working days."),
    columns=[
        (gettext_lazy("name"), lambda c: str(c)),
        (gettext_lazy("time zone"), "timezone"),
        (gettext_lazy("working weekdays"), _weekdays),
        (gettext_lazy("working hours"), _hours),
        (gettext_lazy("dated days"), "n_days"),
        (gettext_lazy("default"), "is_default"),
    ],
)


# -- a calendar's dated days -------------------------------------------------------------------------


def _days_url(calendar, year=None):
    url = reverse("service:calendar_days", args=[calendar.pk])
    return f"{url}?year={year}" if year else url


def _day_context(calendar, **extra):
    return {"calendar": calendar, "index_url": reverse(INDEX), "index_label": INDEX_LABEL,
            "calendars_url": reverse("service:calendar_list"), "days_url": _days_url(calendar), **extra}


@admin_required
def calendar_days(request, pk):
    calendar = get_object_or_404(BusinessCalendar, pk=pk)
    years = sorted({d.year for d in calendar.days.values_list("date", flat=True)}
                   | {timezone.localdate().year}, reverse=True)
    try:
        year = int(request.GET.get("year") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    year = min(max(year, 1), 9999)
    days = calendar.days.filter(date__year=year).order_by("date")
    return render(request, "service/settings_calendar_days.html", _day_context(
        calendar, days=days, year=year, years=years))


@admin_required
@require_http_methods(["GET", "POST"])
def calendar_day_edit(request, pk, day_pk=None):
    calendar = get_object_or_404(BusinessCalendar, pk=pk)
    day = get_object_or_404(CalendarDay, pk=day_pk, calendar=calendar) if day_pk else None
    before = snapshot(day) if day else None
    form = style_form(CalendarDayForm(request.POST or None, instance=day, calendar=calendar))
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            saved = form.save()
            settings_audit(request.user, saved, "create" if day is None else "update",
                           diff(before, snapshot(saved)), calendar=calendar.pk)
        messages.success(request, _("%(date)s saved.") % {"date": saved.date.isoformat()})
        return redirect(_days_url(calendar, saved.date.year))
    status = 422 if request.method == "POST" else 200
    return render(request, "service/settings_calendar_day_form.html",
                  _day_context(calendar, form=form, object=day), status=status)


@admin_required
@require_http_methods(["GET", "POST"])
def calendar_day_delete(request, pk, day_pk):
    calendar = get_object_or_404(BusinessCalendar, pk=pk)
    day = get_object_or_404(CalendarDay, pk=day_pk, calendar=calendar)
    if request.method == "POST":
        with transaction.atomic():
            values = snapshot(day)
            settings_audit(request.user, day, "delete", diff(values, dict.fromkeys(values)), calendar=calendar.pk)
            day.delete()
        messages.success(request, _("%(date)s deleted.") % {"date": day.date.isoformat()})
        return redirect(_days_url(calendar, day.date.year))
    return render(request, "framework/config_confirm_delete.html", {
        "object": day, "title": _("Holidays and make-up working days"), "list_url": _days_url(calendar, day.date.year),
        "index_url": reverse(INDEX), "index_label": INDEX_LABEL})


@admin_required
@require_http_methods(["GET", "POST"])
def calendar_days_paste(request, pk):
    calendar = get_object_or_404(BusinessCalendar, pk=pk)
    form = style_form(CalendarDaysPasteForm(request.POST or None))
    if request.method == "POST" and form.is_valid():
        rows = form.cleaned_data["lines"]
        with transaction.atomic():
            existing = {d.date: d for d in calendar.days.select_for_update().filter(date__in=[r[0] for r in rows])}
            created = updated = 0
            for day, kind, name in rows:
                current = existing.get(day)
                if current is None:
                    CalendarDay.objects.create(calendar=calendar, date=day, kind=kind, name=name)
                    created += 1
                elif (current.kind, current.name) != (kind, name):
                    current.kind, current.name = kind, name
                    current.save(update_fields=["kind", "name"])
                    updated += 1
            settings_audit(request.user, calendar, "days_import", created=created, updated=updated,
                           days=[[d.isoformat(), k, n] for d, k, n in rows])
        messages.success(request, _("%(created)d days added, %(updated)d changed.") % {
            "created": created, "updated": updated})
        return redirect(_days_url(calendar, rows[0][0].year))
    status = 422 if request.method == "POST" else 200
    return render(request, "service/settings_calendar_days_paste.html", _day_context(calendar, form=form),
                  status=status)


# -- the index ---------------------------------------------------------------------------------------


@admin_required
def service_settings(request):
    counts = {
        "categories": TicketCategory.objects.filter(is_active=True).count(),
        "categories_all": TicketCategory.objects.count(),
        "rules": TicketAssignmentRule.objects.filter(is_active=True).count(),
        "sla": SlaPolicy.objects.filter(is_active=True).count(),
        "calendars": BusinessCalendar.objects.count(),
    }
    calendar_list = BusinessCalendar.objects.annotate(n_days=Count("days"))
    return render(request, "service/settings.html", {"counts": counts, "calendars": calendar_list})
