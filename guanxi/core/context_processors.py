from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def navigation(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    from .access import can_read_audit, is_admin

    return {
        "is_org_admin": is_admin(request.user),
        "can_read_audit": can_read_audit(request.user),
        "nav_items": [
            (reverse("home"), _("Home"), "bi-house"),
            (reverse("customers:account_list"), _("Companies"), "bi-building"),
            (reverse("customers:contact_list"), _("Contacts"), "bi-person-vcard"),
            (reverse("customers:accountrelation_list"), _("Relations"), "bi-diagram-3"),
            (reverse("trash"), _("Recycle bin"), "bi-trash3"),
        ]
    }
