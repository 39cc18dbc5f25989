from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def navigation(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    from .access import allows, can_read_audit, is_admin

    user = request.user
    records = [
        ("customers.account", "customers:account_list", _("Companies"), "bi-building"),
        ("customers.contact", "customers:contact_list", _("Contacts"), "bi-person-vcard"),
        ("customers.accountrelation", "customers:accountrelation_list", _("Relations"), "bi-diagram-3"),
        ("activities.interaction", "activities:interaction_list", _("Activities"), "bi-chat-left-text"),
        ("activities.task", "activities:task_mine", _("Tasks"), "bi-check2-square"),
    ]
    # Only the record types the role may see: an auditor's menu has no customer pages.
    visible = [(reverse(url), label, icon, ()) for key, url, label, icon in records if allows(user, "view", key)]
    sales = _sales_menu(user)
    if sales:
        visible.insert(min(2, len(visible)), ("/sales/", _("Sales"), "bi-graph-up-arrow", sales))
    service = _service_menu(user)
    if service:
        visible.insert(min(3, len(visible)), ("/tickets/", _("Service"), "bi-life-preserver", service))
    if allows(user, "view", "activities.task") or allows(user, "view", "activities.interaction"):
        visible.append((reverse("calendar:page"), _("Calendar"), "bi-calendar3", ()))
    items = [(reverse("home"), _("Home"), "bi-house", ()), *visible]
    if visible:
        items.append((reverse("trash"), _("Recycle bin"), "bi-trash3", ()))
    sales_active = any(request.path.startswith(url) for url, _label, _icon in sales)
    service_active = any(request.path.startswith(url) for url, _label, _icon in service)
    return {"is_org_admin": is_admin(user), "can_read_audit": can_read_audit(user), "nav_items": items,
            "nav_sales_active": sales_active, "nav_service_active": service_active,
            # The drop-down (by its url in nav_items) holding the current page, highlighted in the menu bar.
            "nav_active_menu": "/sales/" if sales_active else "/tickets/" if service_active else ""}


def _sales_menu(user):
    """The Sales drop-down: leads, deals, customer pools and the analytics the role may see."""
    from guanxi.customers.models import Pool

    from .access import allows, is_admin, pool_ids

    items = []
    if allows(user, "view", "sales.lead"):
        items.append((reverse("sales:lead_list"), _("Leads"), "bi-funnel"))
    if allows(user, "view", "sales.opportunity"):
        items += [
            (reverse("sales:board_default"), _("Deal board"), "bi-kanban"),
            (reverse("sales:opportunity_list"), _("Deals"), "bi-briefcase"),
        ]
    if pool_ids(user) or (is_admin(user) and Pool.objects.exists()):
        items.append((reverse("customers:pool_list"), _("Customer pools"), "bi-inboxes"))
    if allows(user, "view", "sales.opportunity"):
        items += [
            (reverse("sales:funnel"), _("Funnel"), "bi-bar-chart-steps"),
            (reverse("sales:forecast"), _("Forecast & quotas"), "bi-bullseye"),
        ]
    if is_admin(user):
        items.append((reverse("sales:settings"), _("Sales settings"), "bi-sliders"))
    return items


def _service_menu(user):
    """The Service drop-down: tickets, the service analytics, and the service settings for administrators."""
    from .access import allows, is_admin

    if not allows(user, "view", "service.ticket"):
        return []
    tickets = reverse("service:ticket_list")
    # Quick filters: the queues an agent works from every day (the list's own filter parameters).
    items = [
        (tickets, _("Tickets"), "bi-life-preserver"),
        (f"{tickets}?mine=true&is_open=true", _("My open tickets"), "bi-person-check"),
        (f"{tickets}?unassigned=true&is_open=true", _("Unassigned tickets"), "bi-inbox"),
        (f"{tickets}?breached=true&is_open=true", _("SLA breached"), "bi-alarm"),
    ]
    items.append((reverse("service:analytics"), _("Service analytics"), "bi-bar-chart-line"))
    if is_admin(user):
        items.append((reverse("service:settings"), _("Service settings"), "bi-sliders"))
    return items
