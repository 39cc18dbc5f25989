from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Account, Contact
from guanxi.framework.forms import AutocompleteSelect, RecordForm

from .models import Ticket, TicketCategory

FIELDS = ["kind", "subject", "description", "account", "contact", "customer_name", "customer_email",
          "customer_phone", "language", "channel", "category", "priority", "product", "order_ref", "province",
          "tags"]


class TicketForm(RecordForm):
    """A ticket's facts. Who handles it, its status and its SLA clocks change through commands
    (assign, reply, resolve…), not here."""

    class Meta:
        model = Ticket
        fields = FIELDS
        widgets = {
            "account": AutocompleteSelect("customers.account"),
            "contact": AutocompleteSelect("customers.contact"),
            "description": forms.Textarea(attrs={"rows": 5}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.restrict(self.user, "view")
        self.fields["contact"].queryset = Contact.objects.restrict(self.user, "view")
        categories = TicketCategory.objects.filter(is_active=True).select_related("parent", "parent__parent")
        if self.instance.pk and self.instance.category_id:
            categories = TicketCategory.objects.filter(pk=self.instance.category_id) | categories
        self.fields["category"].queryset = categories.order_by("parent__position", "position", "id")
        self.fields["category"].label_from_instance = lambda c: c.path_label
        self.fields["customer_email"].help_text = _("Status updates go to this address when there is no contact "
                                                    "email.")
