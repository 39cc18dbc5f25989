from django import forms
from django.contrib.auth import get_user_model

from guanxi.customers.models import Account, Contact
from guanxi.framework.forms import AutocompleteSelect, RecordForm
from guanxi.sales.models import Lead, Opportunity

from .models import Interaction, Task
from .services import deal_default_account

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


# The records an interaction or task can be about: form field -> model whose visible rows are the choices.
LINKS = {"account": Account, "contact": Contact, "lead": Lead, "opportunity": Opportunity}


def restrict_links(form):
    """Choices of the company, contact, lead and deal fields: only records the user may see."""
    for name, model in LINKS.items():
        if name in form.fields:
            form.fields[name].queryset = model.objects.restrict(form.user, "view")


def default_deal_account(form, cleaned):
    """A new interaction or task about a deal is also filed under the deal's company (when visible), so
    that the company's timeline shows it."""
    if not form.instance.pk and cleaned.get("opportunity") and not cleaned.get("account"):
        cleaned["account"] = deal_default_account(opportunity=cleaned["opportunity"], actor=form.user)
    return cleaned


class InteractionForm(RecordForm):
    class Meta:
        model = Interaction
        fields = [
            "kind", "direction", "occurred_at", "duration_minutes", "account", "contact", "lead", "opportunity",
            "subject", "content",
            "outcome", "next_step", "next_step_due", "participant_contacts", "participant_users", "owner",
        ]
        widgets = {
            "occurred_at": DATETIME,
            "account": AutocompleteSelect("customers.account"),
            "contact": AutocompleteSelect("customers.contact"),
            "lead": AutocompleteSelect("sales.lead"),
            "opportunity": AutocompleteSelect("sales.opportunity"),
            "participant_contacts": AutocompleteSelect("customers.contact", multiple=True),
            "content": forms.Textarea(attrs={"rows": 5}),
            "next_step_due": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only customers, leads and deals the user may see can be linked (ARCHITECTURE.md §4).
        restrict_links(self)
        self.fields["participant_contacts"].queryset = Contact.objects.restrict(self.user, "view")
        self.fields["participant_users"].queryset = get_user_model().objects.filter(is_active=True).order_by(
            "username")
        self.fields["occurred_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]

    def clean(self):
        return default_deal_account(self, super().clean())

    def related(self):
        related = super().related()
        related["participant_contacts"] = list(self.cleaned_data.get("participant_contacts") or [])
        related["participant_users"] = list(self.cleaned_data.get("participant_users") or [])
        return related


class TaskForm(RecordForm):
    class Meta:
        model = Task
        fields = ["title", "due_at", "priority", "owner", "remind_at", "recurrence", "recurrence_interval",
                  "account", "contact", "lead", "opportunity", "description"]
        widgets = {
            "due_at": DATETIME,
            "remind_at": DATETIME,
            "account": AutocompleteSelect("customers.account"),
            "contact": AutocompleteSelect("customers.contact"),
            "lead": AutocompleteSelect("sales.lead"),
            "opportunity": AutocompleteSelect("sales.opportunity"),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        restrict_links(self)
        for name in ("due_at", "remind_at"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]

    def clean(self):
        return default_deal_account(self, super().clean())
