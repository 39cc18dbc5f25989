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
    visible = [(reverse(url), label, icon) for key, url, label, icon in records if allows(user, "view", key)]
    if allows(user, "view", "activities.task") or allows(user, "view", "activities.interaction"):
        visible.append((reverse("calendar:page"), _("Calendar"), "bi-calendar3"))
    items = [(reverse("home"), _("Home"), "bi-house"), *visible]
    if visible:
        items.append((reverse("trash"), _("Recycle bin"), "bi-trash3"))
    return {"is_org_admin": is_admin(user), "can_read_audit": can_read_audit(user), "nav_items": items}
