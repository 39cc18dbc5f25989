"""Record-type declarations for companies, contacts and relations: what the generic machinery needs."""

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _

from guanxi.core.access import visibility_q
from guanxi.framework.redaction import redact_prefetched
from guanxi.framework.registry import Column, RecordType, register
from guanxi.framework.related import TAGS, FilteredRows, related_rows, tags_text, visible_rows_attr

from . import selectors
from .filtersets import AccountFilterSet, AccountRelationFilterSet, ContactFilterSet
from .forms import AccountForm, AccountRelationForm, ContactForm
from .models import Account, AccountContact, AccountRelation, Contact
from .services import contact_set_accounts


def _redact_memberships(contacts, user):
    """A contact's companies as a viewer may see them: memberships of hidden companies are left out."""
    redact_prefetched(contacts, user, attr="memberships", model=Account,
                      linked_id=lambda membership: membership.account_id)


def _visible_memberships(user):
    """The API's read of a contact's companies, limited to those the viewer may see: one statement, compiled
    once per viewer and page size, where prefetching every membership and then checking their companies
    (and the viewer's pools) took up to three."""
    visible = visibility_q(user, Account, "view", "account__", pools_inline=True)
    return FilteredRows("memberships", visible, visible_rows_attr("memberships"))


def _companies(contact):
    """Live companies by name, from the memberships the list prefetches (with their accounts) for the API."""
    accounts = sorted((m.account for m in related_rows(contact, "memberships") if m.account.deleted_at is None),
                      key=lambda a: (a.name, a.pk))
    return ", ".join(a.name for a in accounts)


ACCOUNT = register(
    RecordType(
        model=Account,
        filterset_class=AccountFilterSet,
        form_class=AccountForm,
        columns=[
            Column("name", _("Name"), order_by=("name",), link=True),
            Column("credit_code", _("Credit code")),
            Column("industry", _("Industry"), order_by=("industry",)),
            Column("size", _("Size")),
            Column("lifecycle_stage", _("Lifecycle stage"), order_by=("lifecycle_stage",)),
            Column("city", _("City"), order_by=("city",)),
            Column("phone", _("Phone")),
            Column("annual_revenue", _("Annual revenue"), order_by=("annual_revenue",)),
            Column("parent", _("Parent company"), accessor="parent.name"),
            Column("owner", _("Owner"), order_by=("owner__username",)),
            Column("source", _("Source")),
            Column("tags", _("Tags"), accessor=tags_text),
            Column("created", _("Created at"), accessor="created_at", order_by=("created_at",)),
        ],
        default_columns=["name", "industry", "lifecycle_stage", "city", "owner", "tags"],
        select_related=("owner", "parent"),
        prefetch_related=("tags",),
        api_select_related=(),  # the API shows the owner's and the parent's ids only
        api_prefetch_related=(TAGS,),
        detail_template="customers/account_detail.html",
        detail_context=selectors.account_360,
        icon="bi-building",
    )
)

CONTACT = register(
    RecordType(
        model=Contact,
        filterset_class=ContactFilterSet,
        form_class=ContactForm,
        columns=[
            Column("name", _("Name"), order_by=("name",), link=True),
            Column("title", _("Job title"), order_by=("title",)),
            Column("companies", _("Companies"), accessor=_companies),
            Column("mobile", _("Mobile")),
            Column("phone", _("Phone")),
            Column("email", _("Email"), order_by=("email",)),
            Column("wechat", _("WeChat ID")),
            Column("city", _("City"), order_by=("city",)),
            Column("owner", _("Owner"), order_by=("owner__username",)),
            Column("tags", _("Tags"), accessor=tags_text),
            Column("created", _("Created at"), accessor="created_at", order_by=("created_at",)),
        ],
        default_columns=["name", "title", "companies", "mobile", "email", "owner"],
        select_related=("owner",),
        # One query serves both the API (memberships with roles) and the list's companies column.
        prefetch_related=("tags", Prefetch("memberships", queryset=AccountContact.objects.select_related("account"))),
        # The API shows owner and company ids, not names: no user row, no company rows.
        api_select_related=(),
        api_prefetch_related=(TAGS, _visible_memberships),
        detail_template="customers/contact_detail.html",
        detail_fields=["title", "department", "mobile", "phone", "email", "wechat", "birthday", "owner"],
        detail_context=selectors.contact_detail,
        redact=_redact_memberships,
        save_related=lambda obj, related, actor: contact_set_accounts(
            contact=obj, memberships=related.get("accounts", []), actor=actor
        ),
        icon="bi-person-vcard",
    )
)

RELATION = register(
    RecordType(
        model=AccountRelation,
        filterset_class=AccountRelationFilterSet,
        form_class=AccountRelationForm,
        columns=[
            Column("from_account", _("Company"), accessor="from_account.name", order_by=("from_account__name",),
                   link=True),
            Column("relation_type", _("Relation"), order_by=("relation_type",)),
            Column("to_account", _("Related company"), accessor="to_account.name", order_by=("to_account__name",)),
            Column("notes", _("Notes")),
            Column("created", _("Created at"), accessor="created_at", order_by=("created_at",)),
        ],
        default_columns=["from_account", "relation_type", "to_account", "notes"],
        default_ordering="-created",
        select_related=("from_account", "to_account"),
        detail_fields=["from_account", "relation_type", "to_account", "notes"],
        bulk_actions=("delete",),
        icon="bi-diagram-3",
    )
)
