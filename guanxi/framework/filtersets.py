"""Base FilterSet: one per model, serving both the UI list and the API list."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Func, Q, Value
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from .customfields import definitions_for


def _bootstrap(field):
    widget = field.widget
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


class JSONNumberFilter(django_filters.NumberFilter):
    """Compare a number inside the `custom` JSON; JSON lookups need a float, not a Decimal."""

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        return qs.filter(**{f"{self.field_name}__{self.lookup_expr}": float(value)})


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.custom_definitions = definitions_for(self._meta.model) if hasattr(self._meta.model, "custom") else []
        for d in self.custom_definitions:
            self._add_custom_filters(d)
        for f in self.filters.values():
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
