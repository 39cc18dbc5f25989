import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.framework.filtersets import RecordFilter, RecordFilterSet

from .choices import InteractionKind, Priority, TaskStatus
from .models import Interaction, Task


class InteractionFilterSet(RecordFilterSet):
    # distinct=False: a plain IN needs no DISTINCT, and PostgreSQL refuses FOR UPDATE (bulk actions) with one.
    kind = django_filters.MultipleChoiceFilter(choices=InteractionKind.choices, label=_("Type"), distinct=False)
    account = RecordFilter(field_name="account_id", label=_("Company"), record_type="customers.account")
    contact = RecordFilter(field_name="contact_id", label=_("Contact"), record_type="customers.contact")
    lead = RecordFilter(field_name="lead_id", label=_("Lead"), record_type="sales.lead")
    opportunity = RecordFilter(field_name="opportunity_id", label=_("Deal"), record_type="sales.opportunity")
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
    account = RecordFilter(field_name="account_id", label=_("Company"), record_type="customers.account")
    contact = RecordFilter(field_name="contact_id", label=_("Contact"), record_type="customers.contact")
    lead = RecordFilter(field_name="lead_id", label=_("Lead"), record_type="sales.lead")
    opportunity = RecordFilter(field_name="opportunity_id", label=_("Deal"), record_type="sales.opportunity")
    due_after = django_filters.DateFilter(field_name="due_at", lookup_expr="date__gte", label=_("Due from"),
                                          widget=forms.DateInput(attrs={"type": "date"}))
    due_before = django_filters.DateFilter(field_name="due_at", lookup_expr="date__lte", label=_("Due until"),
                                           widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = Task
        fields = []

    def search(self, queryset, value):
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))
