from django import forms
from django.contrib.auth import get_user_model

from guanxi.customers.models import Account, Contact
from guanxi.framework.forms import AutocompleteSelect, RecordForm

from .models import Interaction, Task

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class InteractionForm(RecordForm):
    class Meta:
        model = Interaction
        fields = [
            "kind", "direction", "occurred_at", "duration_minutes", "account", "contact", "subject", "content",
            "outcome", "next_step", "next_step_due", "participant_contacts", "participant_users", "owner",
        ]
        widgets = {
            "occurred_at": DATETIME,
            "account": AutocompleteSelect("customers.account"),
            "contact": AutocompleteSelect("customers.contact"),
            "participant_contacts": AutocompleteSelect("customers.contact", multiple=True),
            "content": forms.Textarea(attrs={"rows": 5}),
            "next_step_due": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only customers the user may see can be linked (ARCHITECTURE.md §4).
        self.fields["account"].queryset = Account.objects.restrict(self.user, "view")
        self.fields["contact"].queryset = Contact.objects.restrict(self.user, "view")
        self.fields["participant_contacts"].queryset = Contact.objects.restrict(self.user, "view")
        self.fields["participant_users"].queryset = get_user_model().objects.filter(is_active=True).order_by(
            "username")
        self.fields["occurred_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]

    def related(self):
        related = super().related()
        related["participant_contacts"] = list(self.cleaned_data.get("participant_contacts") or [])
        related["participant_users"] = list(self.cleaned_data.get("participant_users") or [])
        return related


class TaskForm(RecordForm):
    class Meta:
        model = Task
        fields = ["title", "due_at", "priority", "owner", "remind_at", "recurrence", "recurrence_interval",
                  "account", "contact", "description"]
        widgets = {
            "due_at": DATETIME,
            "remind_at": DATETIME,
            "account": AutocompleteSelect("customers.account"),
            "contact": AutocompleteSelect("customers.contact"),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.restrict(self.user, "view")
        self.fields["contact"].queryset = Contact.objects.restrict(self.user, "view")
        for name in ("due_at", "remind_at"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
