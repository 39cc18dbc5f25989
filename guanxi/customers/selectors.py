"""Reads that span relations: the customer 360 page and the relationship graph."""

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from .models import Account, AccountContact, AccountRelation, Contact


def relation_graph(account, user):
    """Nodes and links for ECharts: the company, its group neighbours and its typed relations."""
    visible = Account.objects.restrict(user, "view")
    relations = list(
        AccountRelation.objects.restrict(user, "view")
        .filter(Q(from_account=account) | Q(to_account=account))
        .filter(from_account__in=visible, to_account__in=visible)
        .select_related("from_account", "to_account")[:200]
    )
    nodes = {account.pk: {"id": str(account.pk), "name": account.name, "category": 0, "symbolSize": 46,
                          "url": account.get_absolute_url()}}
    links = []

    def node(other, category):
        nodes.setdefault(other.pk, {"id": str(other.pk), "name": other.name, "category": category,
                                    "symbolSize": 30, "url": other.get_absolute_url()})

    for rel in relations:
        node(rel.from_account, 1)
        node(rel.to_account, 1)
        links.append({"source": str(rel.from_account_id), "target": str(rel.to_account_id),
                      "label": rel.get_relation_type_display()})
    parent = visible.filter(pk=account.parent_id).first() if account.parent_id else None
    if parent:
        node(parent, 2)
        links.append({"source": str(account.pk), "target": str(parent.pk), "label": _("Subsidiary")})
    for child in visible.filter(parent=account)[:50]:
        node(child, 2)
        links.append({"source": str(child.pk), "target": str(account.pk), "label": _("Subsidiary")})
    categories = [{"name": _("This company")}, {"name": _("Related company")}, {"name": _("Group company")}]
    return {"nodes": list(nodes.values()), "links": links, "categories": categories}


def account_360(account, request):
    user = request.user
    visible = Account.objects.restrict(user, "view")
    memberships = (
        AccountContact.objects.filter(account=account, contact__in=Contact.objects.restrict(user, "view"))
        .select_related("contact").order_by("-is_primary", "contact__name")
    )
    subsidiaries = list(
        visible.filter(parent=account).annotate(contact_count=Count("contacts", distinct=True)).order_by("name")
    )
    root = account.group_root()
    group_ids = [root.pk, *root.descendant_ids()]
    group = visible.filter(pk__in=group_ids)
    return {
        "memberships": memberships[:100],
        "contact_count": memberships.count(),
        "subsidiaries": subsidiaries,
        "group_root": root,
        "group_company_count": group.count(),
        "group_contact_count": Contact.objects.restrict(user, "view")
        .filter(memberships__account_id__in=group_ids).distinct().count(),
        "graph": relation_graph(account, user),
        "relations": AccountRelation.objects.restrict(user, "view")
        .filter(Q(from_account=account) | Q(to_account=account))
        .select_related("from_account", "to_account")[:100],
        # The unified timeline (its contacts' and relations' items too), follow-up figures and quick log.
        **_activity_panel(account, request),
    }


def contact_detail(contact, request):
    visible = Account.objects.restrict(request.user, "view")
    return {
        "memberships": contact.memberships.filter(account__in=visible).select_related("account"),
        **_activity_panel(contact, request),
    }


def _activity_panel(record, request):
    from guanxi.activities.timeline_views import activity_panel

    return activity_panel(record, request)


def home_summary(user):
    accounts = Account.objects.restrict(user, "view")
    contacts = Contact.objects.restrict(user, "view")
    by_stage = dict(accounts.values_list("lifecycle_stage").annotate(n=Count("id")).order_by())
    from .choices import LifecycleStage

    return {
        "stages": [(value, label, by_stage.get(value, 0)) for value, label in LifecycleStage.choices],
        "my_accounts": accounts.filter(owner=user).order_by("-updated_at")[:8],
        "recent_contacts": contacts.order_by("-created_at", "-id")[:8],
    }
