"""Forms of the lead pages: the record form, the convert and disqualify commands, and the rule settings."""

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Account, Contact
from guanxi.framework.forms import AutocompleteSelect, RecordForm

from .choices import DisqualifyReason
from .lead_services import HOOK, MAX_AMOUNT
from .models import AssignmentRule, Lead, ScoringRule


class LeadForm(RecordForm):
    class Meta:
        model = Lead
        fields = [
            "name", "company_name", "title", "mobile", "phone", "email", "wechat", "website", "industry", "size",
            "source", "source_detail", "owner", "country", "province", "city", "district", "street", "description",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        owner = self.fields.get("owner")
        if owner is not None and not self.instance.pk and not owner.required and not owner.disabled:
            owner.help_text = _("Leave empty to let the assignment rules choose.")

    def related(self):
        related = super().related()
        new_unowned = not self.instance.pk and self.cleaned_data.get("owner") is None
        related[HOOK] = {"auto_assign": new_unowned}
        return related


class LeadConvertForm(forms.Form):
    account = forms.ModelChoiceField(
        queryset=Account.objects.none(), required=False, label=_("Existing company"),
        help_text=_("Empty: a company with the lead's company name is reused, or a new one is created."),
        widget=AutocompleteSelect("customers.account", attrs={"class": "form-select"}),
    )
    contact = forms.ModelChoiceField(
        queryset=Contact.objects.none(), required=False, label=_("Existing contact"),
        help_text=_("Empty: a contact with the lead's mobile or email is reused, or a new one is created."),
        widget=AutocompleteSelect("customers.contact", attrs={"class": "form-select"}),
    )
    create_opportunity = forms.BooleanField(
        required=False, initial=True, label=_("Create a deal"),
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))
    opportunity_name = forms.CharField(
        required=False, max_length=200, label=_("Deal name"),
        widget=forms.TextInput(attrs={"class": "form-control"}))
    amount = forms.DecimalField(
        required=False, min_value=0, max_value=MAX_AMOUNT, max_digits=18, decimal_places=2, label=_("Amount (CNY)"),
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "0.01", "min": "0"}))

    def __init__(self, *args, user=None, lead=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.restrict(user, "view")
        self.fields["contact"].queryset = Contact.objects.restrict(user, "view")
        if lead is not None and not self.is_bound:
            self.initial.setdefault("opportunity_name", lead.company_name or lead.name)


class LeadDisqualifyForm(forms.Form):
    reason = forms.ChoiceField(choices=DisqualifyReason.choices, label=_("Reason"),
                               widget=forms.Select(attrs={"class": "form-select"}))
    note = forms.CharField(required=False, max_length=500, label=_("Note"),
                           widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}))


def _bootstrap(form):
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


class ScoringRuleForm(forms.ModelForm):
    class Meta:
        model = ScoringRule
        fields = ["name", "field", "value", "points", "is_active", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self)

    def clean(self):
        from .choices import ScoringField

        cleaned = super().clean()
        field, value = cleaned.get("field"), (cleaned.get("value") or "").strip()
        if field == ScoringField.RECENT_ENGAGEMENT and value and not (value.isascii() and value.isdigit()
                                                                         and 1 <= int(value) <= 3650):
            self.add_error("value", _("Enter a number of days between 1 and 3650."))
        needs_value = {ScoringField.INDUSTRY, ScoringField.SIZE, ScoringField.SOURCE, ScoringField.PROVINCE,
                       ScoringField.TITLE_CONTAINS}
        if field in needs_value and not value:
            self.add_error("value", _("This criterion needs a value."))
        return cleaned


class AssignmentRuleForm(forms.ModelForm):
    class Meta:
        model = AssignmentRule
        fields = ["name", "position", "is_active", "provinces", "industries", "sources", "method", "team", "user",
                  "pool"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from django.contrib.auth import get_user_model

        self.fields["user"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        _bootstrap(self)
