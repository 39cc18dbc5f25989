from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.framework.forms import AutocompleteSelect, RecordForm

from .models import Account, AccountRelation, Contact


class AccountForm(RecordForm):
    class Meta:
        model = Account
        fields = [
            "name", "credit_code", "industry", "size", "lifecycle_stage", "source", "annual_revenue", "website",
            "phone", "parent", "owner", "country", "province", "city", "district", "street", "description",
        ]
        widgets = {
            "parent": AutocompleteSelect("customers.account"),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = Account.objects.restrict(self.user, "view")


class ContactForm(RecordForm):
    companies = forms.ModelMultipleChoiceField(
        queryset=Account.objects.none(), required=False, label=_("Companies"),
        widget=AutocompleteSelect("customers.account", multiple=True),
    )
    company_role = forms.CharField(
        label=_("Role at new companies"), required=False, max_length=100,
        help_text=_("For example “purchasing manager”. Applied to companies added here."),
    )

    class Meta:
        model = Contact
        fields = [
            "name", "title", "department", "mobile", "phone", "email", "wechat", "birthday", "owner",
            "country", "province", "city", "district", "street",
        ]
        widgets = {"birthday": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["companies"].queryset = Account.objects.restrict(self.user, "view")
        if self.instance.pk:
            self.initial["companies"] = list(self.instance.memberships.values_list("account_id", flat=True))
        elif "account" in self.initial:
            self.initial["companies"] = [self.initial["account"]]

    def related(self):
        related = super().related()
        role = self.cleaned_data.get("company_role", "")
        existing = {}
        if self.instance.pk:
            existing = dict(self.instance.memberships.values_list("account_id", "role"))
        related["accounts"] = [
            {"account": a, "role": existing.get(a.pk, role)} for a in self.cleaned_data.get("companies", [])
        ]
        return related


class AccountRelationForm(RecordForm):
    class Meta:
        model = AccountRelation
        fields = ["from_account", "relation_type", "to_account", "notes"]
        widgets = {
            "from_account": AutocompleteSelect("customers.account"),
            "to_account": AutocompleteSelect("customers.account"),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("from_account", "to_account"):
            self.fields[name].queryset = Account.objects.restrict(self.user, "view")
