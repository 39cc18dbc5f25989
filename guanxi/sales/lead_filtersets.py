"""The lead FilterSet: one for the UI list and the API list."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.customers.choices import CompanySize, Industry
from guanxi.customers.pool_services import visible_pools
from guanxi.framework.fields import looks_like_phone, normalise_phone
from guanxi.framework.filtersets import RecordFilter, RecordFilterSet, nonblank_equals

from .choices import LeadSource, LeadStatus
from .models import Lead


def lead_phone_q(number):
    """Leads whose mobile or phone is `number` (E.164), stated so the partial mobile index serves it."""
    return nonblank_equals("mobile", number) | nonblank_equals("phone", number)


def lead_email_q(email):
    return nonblank_equals("email", email)


class LeadFilterSet(RecordFilterSet):
    status = django_filters.ChoiceFilter(choices=LeadStatus.choices, label=_("Status"))
    source = django_filters.ChoiceFilter(choices=LeadSource.choices, label=_("Source"))
    industry = django_filters.ChoiceFilter(choices=Industry.choices, label=_("Industry"))
    size = django_filters.ChoiceFilter(choices=CompanySize.choices, label=_("Size"))
    province = django_filters.CharFilter(label=_("Province / state"))
    city = django_filters.CharFilter(label=_("City"))
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte", label=_("Score at least"),
                                            min_value=-(2**31), max_value=2**31 - 1)
    pool = RecordFilter(field_name="pool_id", label=_("Customer pool"), options=visible_pools)
    unowned = django_filters.BooleanFilter(field_name="owner", lookup_expr="isnull", label=_("Without owner"))
    email = django_filters.CharFilter(method="filter_email", label=_("Email"))
    mobile = django_filters.CharFilter(method="filter_phone", label=_("Mobile"))

    class Meta:
        model = Lead
        fields = []

    def filter_email(self, queryset, name, value):
        return queryset.filter(lead_email_q(value.strip().lower()))

    def filter_phone(self, queryset, name, value):
        try:
            number = normalise_phone(value)
        except Exception:
            return queryset.none()
        return queryset.filter(lead_phone_q(number)) if number else queryset.none()

    def search(self, queryset, value):
        # A phone number or an email is an exact, indexed match; anything else searches the two names.
        if "@" in value:
            return queryset.filter(lead_email_q(value.lower()))
        if looks_like_phone(value):
            return queryset.filter(lead_phone_q(normalise_phone(value)))
        return queryset.filter(Q(name__icontains=value) | Q(company_name__icontains=value))

