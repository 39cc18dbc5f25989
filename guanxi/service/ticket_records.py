"""The ticket record type: list, filters, detail page, edit form, export, bulk actions and API CRUD."""

from django.utils.translation import gettext_lazy as _

from guanxi.framework.registry import Column, RecordType, register
from guanxi.framework.related import TAGS, tags_text

from .models import Ticket
from .ticket_filtersets import TicketFilterSet
from .ticket_forms import TicketForm


def _detail(obj, request):
    from .ticket_views import ticket_detail_context

    return ticket_detail_context(obj, request)


def _create(*, actor, fields, related=None):
    from .ticket_services import ticket_create

    return ticket_create(actor=actor, fields=fields, related=related)


def _update(*, obj, actor, fields, related=None, version=None):
    from .ticket_services import ticket_update

    return ticket_update(ticket=obj, actor=actor, fields=fields, related=related, version=version)


def _sla(obj):
    from .sla import sla_state

    return sla_state(obj)["label"]


TICKET = register(
    RecordType(
        model=Ticket,
        filterset_class=TicketFilterSet,
        form_class=TicketForm,
        columns=[
            Column("reference", _("Number"), accessor="reference", order_by=("id",), link=True),
            Column("subject", _("Subject"), order_by=("subject",), link=True),
            Column("status", _("Status"), order_by=("status",)),
            Column("priority", _("Priority"), order_by=("priority",)),
            Column("kind", _("Type"), order_by=("kind",)),
            Column("category", _("Category"), accessor=lambda o: o.category.path_label if o.category else ""),
            Column("customer", _("Customer"), accessor="customer_label"),
            Column("account", _("Company"), accessor="account.name", order_by=("account__name",)),
            Column("channel", _("Channel"), order_by=("channel",)),
            Column("product", _("Product"), order_by=("product",)),
            Column("owner", _("Agent"), order_by=("owner__username",)),
            Column("team", _("Team"), accessor="team.name"),
            Column("sla", _("SLA"), accessor=_sla),
            Column("first_response_due", _("First response due"), order_by=("first_response_due",)),
            Column("resolution_due", _("Resolution due"), order_by=("resolution_due",)),
            Column("csat_score", _("Satisfaction"), order_by=("csat_score",)),
            Column("tags", _("Tags"), accessor=tags_text),
            Column("created", _("Created at"), accessor="created_at", order_by=("created_at",)),
        ],
        default_columns=["reference", "subject", "status", "priority", "category", "customer", "owner", "sla",
                         "created"],
        default_ordering="-created",
        select_related=("owner", "team", "account", "contact", "category", "category__parent",
                        "category__parent__parent"),
        prefetch_related=("tags",),
        api_prefetch_related=(TAGS,),
        detail_template="service/ticket_detail.html",
        detail_fields=["kind", "channel", "category", "priority", "account", "contact", "customer_name",
                       "customer_email", "customer_phone", "product", "order_ref", "province", "owner", "team"],
        detail_context=_detail,
        create=_create,
        update=_update,
        # Handing a ticket to someone is the assign command (it notifies, audits, moves the status).
        bulk_actions=("add_tag", "remove_tag", "delete"),
        icon="bi-life-preserver",
    )
)
