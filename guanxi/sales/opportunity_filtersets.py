import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.framework.filtersets import RecordFilter, RecordFilterSet, name_contains

from .choices import ForecastCategory, StageKind
from .models import Opportunity, Pipeline, Stage
from .opportunity_selectors import stalled_q

MAX_AMOUNT = 10**16


class OpportunityFilterSet(RecordFilterSet):
    pipeline = django_filters.ModelChoiceFilter(queryset=Pipeline.objects.all(), label=_("Pipeline"))
    stage = django_filters.ModelChoiceFilter(queryset=Stage.objects.select_related("pipeline"), label=_("Stage"))
    status = django_filters.ChoiceFilter(field_name="stage__kind", choices=StageKind.choices,
                                         label=_("Status"))
    account = RecordFilter(field_name="account_id", label=_("Company"), record_type="customers.account")
    forecast_category = django_filters.ChoiceFilter(choices=ForecastCategory.choices, label=_("Forecast category"))
    close_after = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="gte",
                                            label=_("Expected close from"),
                                            widget=forms.DateInput(attrs={"type": "date"}))
    close_before = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="lte",
                                             label=_("Expected close until"),
                                             widget=forms.DateInput(attrs={"type": "date"}))
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte", label=_("Amount from"),
                                             min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT)
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte", label=_("Amount up to"),
                                             min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT)
    stalled = django_filters.BooleanFilter(method="filter_stalled", label=_("Stalled"))

    class Meta:
        model = Opportunity
        fields = []

    def filter_stalled(self, queryset, name, value):
        if value is None:
            return queryset
        condition = stalled_q()
        return queryset.filter(condition if value else ~condition)

    def search(self, queryset, value):
        return queryset.filter(name_contains(value) | name_contains(value, "account__name"))
