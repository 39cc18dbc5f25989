import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import Team
from guanxi.framework.filtersets import RecordFilter, RecordFilterSet

from .choices import OPEN_STATUSES, TicketChannel, TicketKind, TicketPriority, TicketStatus
from .models import Ticket, TicketCategory


class TicketFilterSet(RecordFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=TicketStatus.choices, label=_("Status"))
    is_open = django_filters.BooleanFilter(method="filter_open", label=_("Open"))
    kind = django_filters.ChoiceFilter(choices=TicketKind.choices, label=_("Type"))
    priority = django_filters.ChoiceFilter(choices=TicketPriority.choices, label=_("Priority"))
    channel = django_filters.ChoiceFilter(choices=TicketChannel.choices, label=_("Channel"))
    category = django_filters.ModelChoiceFilter(queryset=TicketCategory.objects.all(), method="filter_category",
                                                label=_("Category"))
    account = RecordFilter(field_name="account_id", label=_("Company"), record_type="customers.account")
    contact = RecordFilter(field_name="contact_id", label=_("Contact"), record_type="customers.contact")
    product = django_filters.CharFilter(field_name="product", lookup_expr="icontains", label=_("Product"))
    # The queue a ticket is in (the analytics' team filter drills down with it).
    team = RecordFilter(field_name="team_id", label=_("Team"), options=lambda user: Team.objects.order_by("name"))
    mine = django_filters.BooleanFilter(method="filter_mine", label=_("Assigned to me"))
    unassigned = django_filters.BooleanFilter(field_name="owner", lookup_expr="isnull", label=_("Unassigned"))
    breached = django_filters.BooleanFilter(method="filter_breached", label=_("SLA breached"))
    escalated = django_filters.BooleanFilter(field_name="escalated_at", lookup_expr="isnull", exclude=True,
                                             label=_("Escalated"))
    csat = django_filters.NumberFilter(field_name="csat_score", label=_("Satisfaction"), min_value=1, max_value=5)
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte",
                                              label=_("Created from"), widget=forms.DateInput(attrs={"type": "date"}))
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte",
                                               label=_("Created until"),
                                               widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = Ticket
        fields = []

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        condition = Q(status__in=OPEN_STATUSES)
        return queryset.filter(condition if value else ~condition)

    def filter_mine(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        if value is None or user is None or not user.is_authenticated:
            return queryset
        return queryset.filter(owner_id=user.pk) if value else queryset.exclude(owner_id=user.pk)

    def filter_category(self, queryset, name, value):
        """A category and everything below it (the tree is small: read it once)."""
        if not value:
            return queryset
        return queryset.filter(category_id__in=category_descendant_ids(value.pk))

    def filter_breached(self, queryset, name, value):
        if value is None:
            return queryset
        condition = Q(first_response_breached_at__isnull=False) | Q(resolution_breached_at__isnull=False)
        return queryset.filter(condition if value else ~condition)

    def search(self, queryset, value):
        condition = Q(subject__icontains=value) | Q(customer_name__icontains=value) | Q(order_ref=value)
        reference = value.strip().upper().removeprefix("T")
        if reference.isdigit() and len(reference) <= 12:
            condition |= Q(pk=int(reference))
        return queryset.filter(condition)


def category_descendant_ids(pk):
    children = {}
    for cid, parent in TicketCategory.objects.values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(cid)
    found, stack = [], [pk]
    while stack:
        node = stack.pop()
        if node in found:
            continue
        found.append(node)
        stack.extend(children.get(node, []))
    return found


def overdue_q(now=None):
    """Open tickets past a due time not yet met."""
    now = now or timezone.now()
    return (Q(first_responded_at__isnull=True, first_response_due__lt=now)
            | Q(resolved_at__isnull=True, resolution_due__lt=now)) & Q(status__in=OPEN_STATUSES)
