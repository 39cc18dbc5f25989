"""Forms of the customer pool pages: the administrators' pool form, the pool filter and the return reason."""

from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import Team
from guanxi.core.org_forms import style, user_label

from .choices import PoolRecordKind
from .models import Pool
from .pool_services import REASON_MAX, split_provinces


class UsersField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return user_label(obj)


class PoolForm(forms.ModelForm):
    members = UsersField(label=_("Members"), required=False,
                         queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
                         help_text=_("Users who see the pool and may claim from it."))
    member_teams = forms.ModelMultipleChoiceField(label=_("Member teams"), required=False,
                                                  queryset=Team.objects.order_by("name"),
                                                  help_text=_("Every member of these teams sees the pool and may "
                                                              "claim from it."))

    class Meta:
        model = Pool
        fields = ["name", "description", "provinces", "members", "member_teams", "claim_quota", "reclaim_days",
                  "cooldown_days", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style(self)
        for name in ("members", "member_teams"):
            self.fields[name].widget.attrs["data-pool-multi"] = "1"
        for name in ("claim_quota", "reclaim_days", "cooldown_days"):
            self.fields[name].widget.attrs.update({"min": 0, "max": 100000})
            self.fields[name].validators.append(MaxValueValidator(100000))

    def clean_provinces(self):
        return ", ".join(split_provinces(self.cleaned_data.get("provinces")))

    def pool_fields(self):
        return {k: v for k, v in self.cleaned_data.items() if k not in ("members", "member_teams")}


class PoolFilterForm(forms.Form):
    type = forms.ChoiceField(choices=PoolRecordKind.choices, required=False)
    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name")}))
    province = forms.CharField(label=_("Province"), required=False, max_length=64)

    def __init__(self, *args, provinces=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["province"].widget = forms.Select(
            choices=[("", _("All provinces"))] + [(p, p) for p in provinces])
        style(self)

    def value(self, name):
        if not self.is_valid():
            return self.fields[name].initial or ""
        return (self.cleaned_data.get(name) or "").replace("\x00", "").strip()


class ReturnForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX,
                             widget=forms.TextInput(attrs={"placeholder": _("Why does it go back?")}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style(self)


class PutForm(ReturnForm):
    pool = forms.ModelChoiceField(label=_("Customer pool"), queryset=Pool.objects.filter(is_active=True))

