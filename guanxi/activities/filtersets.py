import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.framework.filtersets import RecordFilterSet
from guanxi.framework.validators import MAX_ID

from .choices import InteractionKind, Priority, TaskStatus
from .models import Interaction, Task


class InteractionFilterSet(RecordFilterSet):
    # distinct=False: a plain IN needs no DISTINCT, and PostgreSQL refuses FOR UPDATE (bulk actions) with one.
    kind = django_filters.MultipleChoiceFilter(choices=InteractionKind.choices, label=_("Type"), distinct=False)
    account = django_filters.NumberFilter(field_name="account_id", label=_("Company ID"), min_value=1,
                                          max_value=MAX_ID)
    contact = django_filters.NumberFilter(field_name="contact_id", label=_("Contact ID"), min_value=1,
                                          max_value=MAX_ID)
    lead = django_filters.NumberFilter(field_name="lead_id", label=_("Lead ID"), min_value=1, max_value=MAX_ID)
    opportunity = django_filters.NumberFilter(field_name="opportunity_id", label=_("Opportunity ID"), min_value=1,
                                              max_value=MAX_ID)
    occurred_after = django_filters.DateFilter(field_name="occurred_at", lookup_expr="date__gte", label=_("From"),
                                               widget=forms.DateInput(attrs={"type": "date"}))
    occurred_before = django_filters.DateFilter(field_name="occurred_at", lookup_expr="date__lte", label=_("Until"),
                                                widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = Interaction
        fields = []

    def search(self, queryset, value):
        return queryset.filter(Q(subject__icontains=value) | Q(content__icontains=value))


class TaskFilterSet(RecordFilterSet):
    status = django_filters.ChoiceFilter(choices=TaskStatus.choices, label=_("Status"))
    priority = django_filters.ChoiceFilter(choices=Priority.choices, label=_("Priority"))
    account = django_filters.NumberFilter(field_name="account_id", label=_("Company ID"), min_value=1,
                                          max_value=MAX_ID)
    contact = django_filters.NumberFilter(field_name="contact_id", label=_("Contact ID"), min_value=1,
                                          max_value=MAX_ID)
    lead = django_filters.NumberFilter(field_name="lead_id", label=_("Lead ID"), min_value=1, max_value=MAX_ID)
    opportunity = django_filters.NumberFilter(field_name="opportunity_id", label=_("Opportunity ID"), min_value=1,
                                              max_value=MAX_ID)
    due_after = django_filters.DateFilter(field_name="due_at", lookup_expr="date__gte", label=_("Due from"),
                                          widget=forms.DateInput(attrs={"type": "date"}))
    due_before = django_filters.DateFilter(field_name="due_at", lookup_expr="date__lte", label=_("Due until"),
                                           widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = Task
        fields = []

    def search(self, queryset, value):
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))
