import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.framework.fields import looks_like_phone, normalise_phone
from guanxi.framework.filtersets import RecordFilter, RecordFilterSet, name_contains, nonblank_equals

from .choices import CompanySize, Industry, LifecycleStage, RelationType, Source
from .models import Account, AccountRelation, Contact


class AccountFilterSet(RecordFilterSet):
    industry = django_filters.ChoiceFilter(choices=Industry.choices, label=_("Industry"))
    size = django_filters.ChoiceFilter(choices=CompanySize.choices, label=_("Size"))
    lifecycle_stage = django_filters.ChoiceFilter(choices=LifecycleStage.choices, label=_("Lifecycle stage"))
    source = django_filters.ChoiceFilter(choices=Source.choices, label=_("Source"))
    province = django_filters.CharFilter(label=_("Province / state"))
    city = django_filters.CharFilter(label=_("City"))
    parent = RecordFilter(field_name="parent_id", label=_("Parent company"), record_type="customers.account")
    credit_code = django_filters.CharFilter(label=_("Unified social credit code"))

    class Meta:
        model = Account
        fields = []

    def search(self, queryset, value):
        if looks_like_phone(value):
            return queryset.filter(phone=normalise_phone(value))
        condition = name_contains(value)
        if len(value) == 18:
            condition |= Q(credit_code=value.upper())
        return queryset.filter(condition)


def contact_phone_q(number):
    """Contacts whose mobile or phone is `number` (E.164), matching the indexes (partial on phone)."""
    return Q(mobile=number) | nonblank_equals("phone", number)


def contact_email_q(email):
    """Contacts with this (lower-case) email, matching the partial email index."""
    return nonblank_equals("email", email)


class ContactFilterSet(RecordFilterSet):
    account = RecordFilter(field_name="memberships__account_id", label=_("Company"), record_type="customers.account")
    title = django_filters.CharFilter(lookup_expr="icontains", label=_("Job title"))
    province = django_filters.CharFilter(label=_("Province / state"))
    city = django_filters.CharFilter(label=_("City"))
    email = django_filters.CharFilter(method="filter_email", label=_("Email"))
    mobile = django_filters.CharFilter(method="filter_phone", label=_("Mobile"))

    class Meta:
        model = Contact
        fields = []

    def filter_email(self, queryset, name, value):
        return queryset.filter(contact_email_q(value.strip().lower()))

    def filter_phone(self, queryset, name, value):
        try:
            number = normalise_phone(value)
        except Exception:
            return queryset.none()
        return queryset.filter(contact_phone_q(number))

    def search(self, queryset, value):
        # A phone or an email is an exact, indexed match; anything else searches names.
        if "@" in value:
            return queryset.filter(contact_email_q(value.lower()))
        if looks_like_phone(value):
            return queryset.filter(contact_phone_q(normalise_phone(value)))
        return queryset.filter(name_contains(value))


class AccountRelationFilterSet(RecordFilterSet):
    relation_type = django_filters.ChoiceFilter(choices=RelationType.choices, label=_("Relation"))
    account = RecordFilter(method="filter_account", label=_("Company"), record_type="customers.account")

    class Meta:
        model = AccountRelation
        fields = []

    def filter_account(self, queryset, name, value):
        return queryset.filter(Q(from_account_id=value) | Q(to_account_id=value))

    def search(self, queryset, value):
        return queryset.filter(Q(from_account__name__icontains=value) | Q(to_account__name__icontains=value))
