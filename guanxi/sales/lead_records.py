"""The lead record type: list, filters, detail page, edit form, export, bulk actions and API CRUD."""

from django.utils.translation import gettext_lazy as _

from guanxi.framework.registry import Column, RecordType, register
from guanxi.framework.related import TAGS, tags_text

from .lead_filtersets import LeadFilterSet
from .lead_forms import LeadForm
from .lead_services import lead_save_related
from .models import Lead


def _lead_detail(obj, request):
    from .lead_views import lead_detail_context

    return lead_detail_context(obj, request)


LEAD = register(
    RecordType(
        model=Lead,
        filterset_class=LeadFilterSet,
        form_class=LeadForm,
        columns=[
            Column("name", _("Name"), accessor=lambda o: o.name or o.company_name, order_by=("name",), link=True),
            Column("company_name", _("Company"), order_by=("company_name",)),
            Column("title", _("Job title")),
            Column("mobile", _("Mobile")),
            Column("email", _("Email")),
            Column("score", _("Score"), order_by=("score",)),
            Column("status", _("Status"), order_by=("status",)),
            Column("source", _("Source"), order_by=("source",)),
            Column("industry", _("Industry"), order_by=("industry",)),
            Column("province", _("Province / state"), order_by=("province",)),
            Column("city", _("City"), order_by=("city",)),
            Column("owner", _("Owner"), order_by=("owner__username",)),
            Column("pool", _("Customer pool"), accessor="pool.name"),
            Column("tags", _("Tags"), accessor=tags_text),
            Column("created", _("Created at"), accessor="created_at", order_by=("created_at",)),
        ],
        default_columns=["name", "company_name", "score", "status", "source", "province", "owner", "created"],
        default_ordering="-created",
        select_related=("owner", "pool"),
        prefetch_related=("tags",),
        api_prefetch_related=(TAGS,),
        detail_template="sales/lead_detail.html",
        detail_fields=["name", "company_name", "title", "mobile", "phone", "email", "wechat", "website", "industry",
                       "size", "source", "source_detail", "owner", "pool"],
        detail_context=_lead_detail,
        save_related=lead_save_related,
        icon="bi-funnel",
    )
)
