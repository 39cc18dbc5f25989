"""Forms of the Service settings pages: categories, assignment rules, SLA policies, business calendars
and their dated days (one at a time, or pasted in bulk)."""

import re
from datetime import date

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.models import Team

from .choices import CalendarDayKind
from .models import BusinessCalendar, CalendarDay, SlaPolicy, TicketAssignmentRule, TicketCategory
from .sla import parse_periods

WEEKDAYS = [
    (0, gettext_lazy("Monday")), (1, gettext_lazy("Tuesday")), (2, gettext_lazy("Wednesday")),
    (3, gettext_lazy("Thursday")), (4, gettext_lazy("Friday")), (5, gettext_lazy("Saturday")),
    (6, gettext_lazy("Sunday")),
]
MAX_PASTE_LINES = 500
MIN_YEAR, MAX_YEAR = 2000, 2100  # a dated day outside these is a typo


class CategoryChoiceField(forms.ModelChoiceField):
    """Categories shown by their path (“Product quality › Packaging damaged”)."""

    def label_from_instance(self, obj):
        return obj.path_label


def _categories():
    return TicketCategory.objects.select_related("parent__parent__parent")


def tree_order(categories):
    """Categories in tree order: each after its parent, siblings by position."""
    by_id = {c.pk: c for c in categories}

    def key(c):
        chain, node, seen = [], c, set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            chain.append((node.position, node.pk))
            node = by_id.get(node.parent_id)
        return list(reversed(chain))

    return sorted(by_id.values(), key=key)


def _category_field(field, queryset, empty_label):
    # The queryset still validates the choice; the listed options follow the tree.
    field.queryset = queryset
    field.choices = [("", empty_label), *((c.pk, c.path_label) for c in tree_order(queryset))]


class TicketCategoryForm(forms.ModelForm):
    class Meta:
        model = TicketCategory
        fields = ["name", "parent", "is_active", "position"]
        field_classes = {"parent": CategoryChoiceField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        qs = _categories()
        if self.instance.pk:
            # Not under itself or its own subcategories (the model's clean() refuses that too).
            qs = qs.exclude(pk__in=descendant_ids(self.instance))
        _category_field(self.fields["parent"], qs, _("— top level —"))

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean(self):
        cleaned = super().clean()
        name, parent = cleaned.get("name"), cleaned.get("parent")
        if name:
            # The database constraint does not see duplicates at the top level (parent NULL).
            same = TicketCategory.objects.filter(parent=parent, name__iexact=name).exclude(pk=self.instance.pk)
            if same.exists():
                self.add_error("name", _("There is already a category with this name here."))
        return cleaned


def descendant_ids(category):
    """The ids of a category and everything under it."""
    children = {}
    for pk, parent_id in TicketCategory.objects.values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    found, todo = set(), [category.pk]
    while todo:
        pk = todo.pop()
        if pk not in found:
            found.add(pk)
            todo.extend(children.get(pk, []))
    return found


class AssignmentRuleForm(forms.ModelForm):
    class Meta:
        model = TicketAssignmentRule
        fields = ["name", "category", "priority", "provinces", "team", "method", "is_active", "position"]
        field_classes = {"category": CategoryChoiceField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _category_field(self.fields["category"], _categories(), _("Any category"))
        self.fields["priority"].choices = [("", _("Any priority")), *self.fields["priority"].choices[1:]]
        self.fields["team"].queryset = Team.objects.order_by("name")

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_provinces(self):
        # Stored normalised: "广东, 广西" (the matcher splits on ASCII and full-width commas).
        values = [v.strip() for v in self.cleaned_data["provinces"].replace("，", ",").split(",") if v.strip()]
        if any(len(v) > 64 for v in values):
            raise forms.ValidationError(_("Each province or region is at most 64 characters."))
        return ", ".join(values)


class SlaPolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = ["name", "priority", "category", "first_response_minutes", "resolution_minutes",
                  "warn_before_minutes", "calendar", "is_active", "position"]
        field_classes = {"category": CategoryChoiceField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _category_field(self.fields["category"], _categories(), _("Any category"))
        self.fields["priority"].choices = [("", _("Any priority")), *self.fields["priority"].choices[1:]]
        self.fields["calendar"].empty_label = _("The default calendar")
        for name in ("first_response_minutes", "resolution_minutes", "warn_before_minutes"):
            value = self.initial.get(name)
            if value:
                self.fields[name].help_text = _("= %(hours)s business hours") % {"hours": minutes_as_hours(value)}

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean(self):
        cleaned = super().clean()
        first, resolution = cleaned.get("first_response_minutes"), cleaned.get("resolution_minutes")
        if first and resolution and first > resolution:
            self.add_error("first_response_minutes", _("The first response cannot be due after the resolution."))
        return cleaned


def minutes_as_hours(minutes):
    """240 → “4”, 90 → “1.5”, 100 → “1.67”."""
    if minutes is None:
        return ""
    return f"{minutes / 60:.2f}".rstrip("0").rstrip(".")


PERIOD_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*[-–—~～]\s*(\d{1,2}):(\d{2})$")


def _hhmm(hour, minute):
    h, m = int(hour), int(minute)
    if h > 23 or m > 59:
        raise ValueError
    return f"{h:02d}:{m:02d}"


class PeriodsField(forms.CharField):
    """“09:00-12:00, 13:00-18:00” ⇄ [["09:00", "12:00"], ["13:00", "18:00"]]."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(f"{start}-{end}" for start, end in value)
        return value

    def to_python(self, value):
        text = super().to_python(value)
        periods = []
        for part in re.split(r"[,，;；\n]", text):
            part = part.strip()
            if not part:
                continue
            match = PERIOD_RE.match(part)
            try:
                if not match:
                    raise ValueError
                periods.append([_hhmm(*match.group(1, 2)), _hhmm(*match.group(3, 4))])
            except ValueError:
                raise forms.ValidationError(
                    _("“%(part)s” is not a period like 09:00-12:00.") % {"part": part[:40]}) from None
        if not periods:
            raise forms.ValidationError(_("Enter at least one working period, e.g. 09:00-12:00."))
        try:
            parse_periods(periods)
        except ValueError as e:
            raise forms.ValidationError(str(e)) from None
        return sorted(periods)


class BusinessCalendarForm(forms.ModelForm):
    working_days = forms.TypedMultipleChoiceField(
        label=gettext_lazy("working weekdays"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple)
    periods = PeriodsField(label=gettext_lazy("working hours"), max_length=300,
                           help_text=gettext_lazy("Periods of each working day, e.g. 09:00-12:00, 13:00-18:00."))

    class Meta:
        model = BusinessCalendar
        fields = ["name", "timezone", "working_days", "periods", "is_default"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].help_text = _("An IANA time zone name, e.g. Asia/Shanghai or Asia/Hong_Kong.")
        if not BusinessCalendar.objects.exclude(pk=self.instance.pk).filter(is_default=True).exists():
            # The first (or only default) calendar is the default.
            self.fields["is_default"].initial = True

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_timezone(self):
        from .models import is_time_zone

        value = self.cleaned_data["timezone"].strip()
        if not is_time_zone(value):
            raise forms.ValidationError(_("Unknown time zone; use a name such as Asia/Shanghai."))
        return value

    def clean_working_days(self):
        return sorted(set(self.cleaned_data["working_days"]))

    def clean_is_default(self):
        is_default = self.cleaned_data["is_default"]
        others = BusinessCalendar.objects.exclude(pk=self.instance.pk).filter(is_default=True)
        if not is_default and not others.exists():
            raise forms.ValidationError(
                _("One calendar must be the default: make another calendar the default instead."))
        return is_default


class CalendarDayForm(forms.ModelForm):
    class Meta:
        model = CalendarDay
        fields = ["date", "kind", "name"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, calendar, **kwargs):
        super().__init__(*args, **kwargs)
        self.calendar = calendar
        self.instance.calendar = calendar

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_date(self):
        day = self.cleaned_data["date"]
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise forms.ValidationError(_("Enter a date between %(first)d and %(last)d.") % {
                "first": MIN_YEAR, "last": MAX_YEAR})
        if CalendarDay.objects.filter(calendar=self.calendar, date=day).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("This calendar already has an entry for this date."))
        return day


KIND_WORDS = {
    "holiday": CalendarDayKind.HOLIDAY, "休": CalendarDayKind.HOLIDAY, "假": CalendarDayKind.HOLIDAY,
    "workday": CalendarDayKind.WORKDAY, "班": CalendarDayKind.WORKDAY,
}


class CalendarDaysPasteForm(forms.Form):
    """Lines “2027-01-01 holiday 元旦” (date, holiday|workday, optional name); all or nothing."""

    lines = forms.CharField(
        label=gettext_lazy("days"), widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        max_length=50_000,
        help_text=gettext_lazy("One day a line: date (YYYY-MM-DD), holiday or workday, then an optional name, "
                               "e.g. “2027-01-01 holiday 元旦”. A day already in the calendar is replaced."))

    def clean_lines(self):
        rows, errors, seen = [], [], set()
        raw_lines = self.cleaned_data["lines"].splitlines()
        if len(raw_lines) > MAX_PASTE_LINES:
            raise forms.ValidationError(_("At most %(n)d lines at a time.") % {"n": MAX_PASTE_LINES})
        for number, line in enumerate(raw_lines, start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                rows.append(self._parse(line, seen))
            except ValueError as e:
                errors.append(forms.ValidationError(
                    _("Line %(n)d: %(error)s") % {"n": number, "error": e.args[0]}))
        if errors:
            shown = errors[:20]
            if len(errors) > len(shown):
                shown.append(forms.ValidationError(_("… and %(n)d more lines with errors.") % {
                    "n": len(errors) - len(shown)}))
            raise forms.ValidationError(shown)
        if not rows:
            raise forms.ValidationError(_("Paste at least one day."))
        return rows

    @staticmethod
    def _parse(line, seen):
        parts = line.split(None, 2)
        if len(parts) < 2:
            raise ValueError(_("expected a date, holiday or workday, and an optional name."))
        try:
            day = date.fromisoformat(parts[0])
        except ValueError:
            raise ValueError(_("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": parts[0][:20]}) from None
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise ValueError(_("%(value)s is out of range (%(first)d–%(last)d).") % {
                "value": day.isoformat(), "first": MIN_YEAR, "last": MAX_YEAR})
        kind = KIND_WORDS.get(parts[1].casefold())
        if kind is None:
            raise ValueError(_("“%(value)s” is neither holiday nor workday.") % {"value": parts[1][:20]})
        name = parts[2].strip() if len(parts) > 2 else ""
        if len(name) > 100:
            raise ValueError(_("the name is longer than 100 characters."))
        if day in seen:
            raise ValueError(_("%(value)s appears more than once.") % {"value": day.isoformat()})
        seen.add(day)
        return day, kind, name
