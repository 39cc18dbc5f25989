"""Base FilterSet: one per model, serving both the UI list and the API list."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Func, Q, Value
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from .customfields import definitions_for
from .validators import MAX_ID


def _bootstrap(field):
    widget = field.widget
    if isinstance(widget, forms.NullBooleanSelect):
        # Django's "Unknown" reads as a value; in a filter the empty choice means "don't filter".
        widget.choices = [("unknown", _("Any")), ("true", _("Yes")), ("false", _("No"))]
    css = "form-select form-select-sm" if isinstance(widget, forms.Select) else "form-control form-control-sm"
    widget.attrs.setdefault("class", css)


def name_contains(value, field="name"):
    """Case-insensitive substring search on a name column that has the trigram and short-gram GIN indexes.

    The ORM's icontains is `UPPER(name) LIKE UPPER('%q%')`, which the trigram index serves from three
    characters on. On PostgreSQL a shorter fragment also requires `guanxi_short_grams(UPPER(name))` (the
    name's characters and character pairs, migration customers 0005) to contain it, so that index narrows
    the rows and the LIKE still decides: same results, no sequential scan (docs/performance.md). The
    fragment is one array element, so the planner's estimate comes from that element's frequency.
    """
    condition = Q(**{f"{field}__icontains": value})
    if connection.vendor == "postgresql" and len(value) < 3:
        from django.contrib.postgres.fields import ArrayField
        from django.contrib.postgres.lookups import DataContains
        from django.db.models import TextField

        grams = Func(Upper(field), function="guanxi_short_grams", output_field=ArrayField(TextField()))
        fragment = Func(Upper(Value(value)), template="ARRAY[%(expressions)s]", output_field=ArrayField(TextField()))
        condition &= Q(DataContains(grams, fragment))
    return condition


def _given_keys(data, prefix):
    """The parameter names in `data`, without the form prefix."""
    keys = list(data.keys())
    if prefix:
        keys = [k.removeprefix(f"{prefix}-") for k in keys if k.startswith(f"{prefix}-")]
    return keys


def _names(filter_name, keys):
    # `name_min`, `name_after`, `name_0`...: multi-value widgets read suffixed parameters.
    return any(k == filter_name or k.startswith(f"{filter_name}_") for k in keys)


def nonblank_equals(field, value):
    """`field = value` written so that a partial index `WHERE field <> ''` serves it on every database.

    Most contacts have no `phone`, so an index over every row is mostly the empty string, and SQLite's
    statistics then make it scan the table for any phone (docs/performance.md). The partial index
    leaves the empty values out, and SQLite only uses it when the query states the index's condition
    itself; PostgreSQL would infer it. Same rows: value is not blank.
    """
    condition = Q(**{field: value})
    if value != "":
        condition &= ~Q(**{field: ""})
    return condition


class JSONNumberFilter(django_filters.NumberFilter):
    """Compare a number inside the `custom` JSON; JSON lookups need a float, not a Decimal."""

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        return qs.filter(**{f"{self.field_name}__{self.lookup_expr}": float(value)})


class RecordFilter(django_filters.NumberFilter):
    """Rows linked to one record, given by its id: an id in the API; in the UI a record picked by name,
    as nobody knows a record's id. `record_type` (a registry key) gets an autocomplete over what the
    viewer sees; `options(user)` a plain select of a few rows (teams, the viewer's pools)."""

    def __init__(self, *args, record_type=None, options=None, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)
        self.record_type, self.options = record_type, options

    def picker(self, user):
        from . import registry
        from .forms import RecordPicker

        if self.options is not None:
            # A callable: read when the form is drawn, not when an export or the autocomplete filters.
            return forms.Select(choices=lambda: [("", "---------"), *((o.pk, str(o)) for o in self.options(user))])
        rt = registry.get(self.record_type)
        return RecordPicker(rt.key, lambda: rt.base_queryset(user, "view"))


class RecordFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    tag = django_filters.CharFilter(field_name="tags__name", label=_("Tag"), distinct=False, method="filter_tag")
    owner = django_filters.ModelChoiceFilter(
        queryset=lambda request: get_user_model().objects.filter(is_active=True), label=_("Owner")
    )
    created_after = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label=_("Created from"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    created_before = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label=_("Created until"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    @classmethod
    def get_filters(cls):
        """The declared filters, without `tag`/`owner` for models that have no tags or owner."""
        filters = super().get_filters()
        model = cls._meta.model
        if model is not None:
            names = {f.name for f in model._meta.get_fields()}
            for filter_name, field_name in (("tag", "tags"), ("owner", "owner")):
                if field_name not in names:
                    filters.pop(filter_name, None)
        return filters

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, only_given=False):
        """`only_given=True` (the API) builds only the filters the data names.

        django-filter deep-copies every filter and builds a form field for each on every request; a
        filter whose parameter is absent filters nothing, so leaving it out changes no result. The
        custom-field definitions are then read only when a `cf_` parameter is present. The UI list
        renders the whole filter form and keeps the default.
        """
        given = _given_keys(data, prefix) if only_given and data is not None else None
        if given is not None:
            # An instance attribute: django-filter copies self.base_filters into self.filters.
            self.base_filters = {n: f for n, f in self.base_filters.items() if _names(n, given)}
        super().__init__(data, queryset, request=request, prefix=prefix)
        model = self._meta.model
        wants_custom = hasattr(model, "custom") and (given is None or any(k.startswith("cf_") for k in given))
        self.custom_definitions = definitions_for(model) if wants_custom else []
        for d in self.custom_definitions:
            self._add_custom_filters(d)
        if given is not None:
            self.filters = {n: f for n, f in self.filters.items() if _names(n, given)}
        for f in self.filters.values():
            if isinstance(f, RecordFilter) and given is None:  # the UI's form, not the API
                f.field.widget = f.picker(getattr(request, "user", None))
            _bootstrap(f.field)

    def _add_custom_filters(self, d):
        key = f"cf_{d.name}"
        if d.field_type in ("text",):
            self.filters[key] = django_filters.CharFilter(
                field_name=f"custom__{d.name}", lookup_expr="icontains", label=d.label
            )
        elif d.field_type == "choice":
            self.filters[key] = django_filters.ChoiceFilter(
                field_name=f"custom__{d.name}", choices=[(c, c) for c in d.choices], label=d.label
            )
        elif d.field_type == "date":
            for suffix, lookup, label in (("from", "gte", _("from")), ("to", "lte", _("until"))):
                self.filters[f"{key}_{suffix}"] = django_filters.CharFilter(
                    field_name=f"custom__{d.name}", lookup_expr=lookup, label=f"{d.label} {label}",
                    widget=forms.DateInput(attrs={"type": "date"}),
                )
        else:  # number, money: compared as JSON numbers
            path = f"custom__{d.name}" + ("__amount" if d.field_type == "money" else "")
            for suffix, lookup, label in (("min", "gte", "≥"), ("max", "lte", "≤")):
                self.filters[f"{key}_{suffix}"] = JSONNumberFilter(
                    field_name=path, lookup_expr=lookup, label=f"{d.label} {label}"
                )

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tags__name=value.strip())

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return self.search(queryset, value)

    def search(self, queryset, value):
        return queryset.filter(name__icontains=value)

    @property
    def is_filtered(self):
        data = self.form.cleaned_data if self.is_bound and self.form.is_valid() else {}
        return any(v not in (None, "", []) for v in data.values())
