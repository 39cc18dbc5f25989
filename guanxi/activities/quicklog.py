"""The quick "log a call / meeting / visit / note / message" form on company, contact, lead and deal pages."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Account, Contact
from guanxi.framework.forms import BLANK_CHOICE_LABEL, AutocompleteSelect

from .forms import DATETIME
from .models import Interaction
from .selectors import CONTACT, FILED_UNDER

# What a record page can log against: the record's type key -> the interaction field it fills
# (customers.account, customers.contact, sales.lead, sales.opportunity).
LOG_TARGETS = dict(FILED_UNDER)
# Model fields the form passes to interaction_log as they are.
PASSED = ("direction", "subject", "content", "duration_minutes", "outcome", "next_step", "next_step_due")


class QuickLogForm(forms.ModelForm):
    account = forms.ModelChoiceField(queryset=Account.objects.none(), required=False, label=_("Company"),
                                     empty_label=BLANK_CHOICE_LABEL)
    contact = forms.ModelChoiceField(queryset=Contact.objects.none(), required=False, label=_("Contact"),
                                     widget=AutocompleteSelect(CONTACT))
    participant_contacts = forms.ModelMultipleChoiceField(
        queryset=Contact.objects.none(), required=False, label=_("Other contacts taking part"),
        widget=AutocompleteSelect(CONTACT, multiple=True),
    )

    class Meta:
        model = Interaction
        fields = ["kind", "occurred_at", "duration_minutes", "direction", "subject", "content", "outcome",
                  "next_step", "next_step_due", "participant_users"]
        widgets = {
            "kind": forms.RadioSelect(attrs={"class": "btn-check"}),
            "occurred_at": DATETIME,
            "content": forms.Textarea(attrs={"rows": 3}),
            "next_step_due": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "duration_minutes": forms.NumberInput(attrs={"min": 0, "max": 24 * 60, "inputmode": "numeric"}),
        }
        labels = {"participant_users": _("Colleagues taking part")}

    def __init__(self, data=None, *, record, user, **kwargs):
        self.record, self.user = record, user
        self.target = LOG_TARGETS[record.type_key()]
        instance = Interaction(owner=user, **{self.target: record})
        kwargs.setdefault("auto_id", "log_%s")  # the page has other forms (timeline filters)
        super().__init__(data, instance=instance, initial={"kind": "call", "occurred_at": timezone.now()}, **kwargs)
        visible_contacts = Contact.objects.restrict(user, "view")
        self.fields["participant_contacts"].queryset = visible_contacts
        self.fields["participant_users"].queryset = get_user_model().objects.filter(is_active=True).order_by(
            "username")
        self.fields["participant_users"].required = False
        self.fields["occurred_at"].show_hidden_initial = False  # set for fields with a callable default
        self.fields["occurred_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        if self.target == "lead":
            # A lead is not yet a company or contact of ours: the interaction is filed under it alone.
            del self.fields["account"], self.fields["contact"]
        elif self.target in ("account", "opportunity"):
            # A deal's interaction is also filed under the deal's company (by the service).
            del self.fields["account"]
            self.fields["contact"].queryset = visible_contacts
        else:
            del self.fields["contact"]
            # The contact's companies the user may see; with exactly one it is filled in by the service.
            companies = Account.objects.restrict(user, "view").filter(
                memberships__contact=record).order_by("name").distinct()
            self.fields["account"].queryset = companies
            self.company_choices = list(companies[:50])
            if len(self.company_choices) <= 1:
                self.fields["account"].widget = forms.HiddenInput()
        for name, f in self.fields.items():
            widget = f.widget
            if isinstance(widget, (forms.RadioSelect, forms.HiddenInput)):
                continue
            widget.attrs.setdefault("class", "form-select" if isinstance(widget, forms.Select) else "form-control")
            if name in ("subject", "outcome", "next_step") and f.max_length:
                widget.attrs.setdefault("maxlength", f.max_length)

    def clean(self):
        cleaned = super().clean()
        # The model's own clean() wants the company or the contact on the instance.
        if self.target == "contact" and cleaned.get("account"):
            self.instance.account = cleaned["account"]
        return cleaned

    def log_kwargs(self):
        """Keyword arguments for interaction_log (the service re-checks access and validity)."""
        cd = self.cleaned_data
        kwargs = {name: cd.get(name) for name in PASSED}
        for name in ("direction", "subject", "content", "outcome", "next_step"):
            kwargs[name] = kwargs[name] or ""
        kwargs.update(
            kind=cd["kind"], occurred_at=cd.get("occurred_at"),
            participant_contacts=list(cd.get("participant_contacts") or []),
            participant_users=list(cd.get("participant_users") or []),
        )
        if self.target == "contact":
            kwargs.update(contact=self.record, account=cd.get("account"))
        else:
            kwargs[self.target] = self.record
            if "contact" in self.fields:
                kwargs["contact"] = cd.get("contact")
        return kwargs
