"""Record type of deals (opportunities): what the generic list/detail/edit/export/API machinery needs."""

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Contact
from guanxi.framework.redaction import redact_prefetched
from guanxi.framework.registry import Column, RecordType, register
from guanxi.framework.related import TAGS

from .models import Opportunity
from .opportunity_filtersets import OpportunityFilterSet
from .opportunity_forms import OpportunityForm


def _detail(obj, request):
    from .opportunity_views import opportunity_detail_context

    return opportunity_detail_context(obj, request)


def _create(*, actor, fields, related=None):
    from .opportunity_services import opportunity_create

    return opportunity_create(actor=actor, fields=fields, related=related)


def _save_related(obj, related, actor):
    if "contacts" in related:
        obj.contacts.set(related["contacts"])


def _redact_contacts(deals, user):
    """A deal's contacts as a viewer may see them: contacts outside the viewer's scope are left out."""
    redact_prefetched(deals, user, attr="contacts", model=Contact, linked_id=lambda contact: contact.pk)


def _stalled(obj):
    return _("Stalled") if getattr(obj, "is_stalled", False) else ""


def _probability(obj):
    return f"{obj.effective_probability}%"


class OpportunityRecordType(RecordType):
    def base_queryset(self, user, action="view", *, api=False):
        from .opportunity_selectors import with_stalled

        return with_stalled(super().base_queryset(user, action, api=api))


OPPORTUNITY = register(
    OpportunityRecordType(
        model=Opportunity,
        filterset_class=OpportunityFilterSet,
        form_class=OpportunityForm,
        columns=[
            Column("name", _("Name"), order_by=("name",), link=True),
            Column("account", _("Company"), accessor="account.name", order_by=("account__name",)),
            Column("stage", _("Stage"), order_by=("stage__position",)),
            Column("amount", _("Amount"), order_by=("amount",)),
            Column("expected_close_date", _("Expected close"), order_by=("expected_close_date",)),
            Column("probability", _("Probability"), accessor=_probability),
            Column("forecast_category", _("Forecast category"), order_by=("forecast_category",)),
            Column("owner", _("Owner"), order_by=("owner__username",)),
            Column("stalled", _("Stalled"), accessor=_stalled),
            Column("pipeline", _("Pipeline")),
            Column("created", _("Created at"), accessor="created_at", order_by=("created_at",)),
        ],
        default_columns=["name", "account", "stage", "amount", "expected_close_date", "owner", "stalled"],
        default_ordering="-created",
        select_related=("account", "stage", "pipeline", "owner"),
        # Contact ids for the API (one query per page, not per row); hidden ones are left out (redact).
        prefetch_related=("tags", Prefetch("contacts", queryset=Contact.objects.only("id"))),
        api_prefetch_related=(TAGS, Prefetch("contacts", queryset=Contact.objects.only("id"))),
        detail_template="sales/opportunity_detail.html",
        detail_fields=["account", "pipeline", "stage", "amount", "expected_close_date", "probability",
                       "forecast_category", "source", "owner", "lead", "closed_at", "lost_reason", "lost_note"],
        detail_context=_detail,
        save_related=_save_related,
        redact=_redact_contacts,
        create=_create,
        icon="bi-kanban",
    )
)
