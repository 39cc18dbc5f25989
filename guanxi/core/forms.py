import re

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.framework import registry

from .models import CustomField, User


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["display_name", "email", "language", "timezone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = _("Email")
        for f in self.fields.values():
            f.widget.attrs["class"] = "form-select" if isinstance(f.widget, forms.Select) else "form-control"


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100,
                           widget=forms.TextInput(attrs={"class": "form-control", "placeholder": _("e.g. ERP sync")}))


class OtpCodeForm(forms.Form):
    """A six-digit code from an authenticator app (spaces, as some apps show them, are ignored)."""

    code = forms.CharField(
        label=_("Authentication code"), max_length=12,
        widget=forms.TextInput(attrs={
            "class": "form-control", "inputmode": "numeric", "autocomplete": "one-time-code",
            "pattern": "[0-9 ]*", "placeholder": "123456",
        }),
    )

    def clean_code(self):
        code = self.cleaned_data["code"].replace(" ", "")
        if not re.fullmatch(r"[0-9]{6}", code):
            raise forms.ValidationError(_("Enter the 6-digit code from your authenticator app."))
        return code


class CustomFieldForm(forms.ModelForm):
    choices_text = forms.CharField(
        label=_("Choices"), required=False, help_text=_("For choice fields: one value per line."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    class Meta:
        model = CustomField
        fields = ["record_type", "name", "label_zh", "label_en", "field_type", "required", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["record_type"] = forms.ChoiceField(
            label=_("Record type"), choices=[(rt.key, rt.verbose_name_plural) for rt in registry.all_types()]
        )
        for f in self.fields.values():
            if isinstance(f.widget, forms.CheckboxInput):
                f.widget.attrs["class"] = "form-check-input"
            else:
                f.widget.attrs["class"] = "form-select" if isinstance(f.widget, forms.Select) else "form-control"

    def clean_name(self):
        name = self.cleaned_data["name"]
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,49}", name):
            raise forms.ValidationError(_("Start with a letter; use lower-case letters, digits and underscores."))
        return name

    def clean(self):
        data = super().clean()
        choices = [c.strip() for c in (data.get("choices_text") or "").splitlines() if c.strip()]
        if data.get("field_type") == "choice" and not choices:
            self.add_error("choices_text", _("A choice field needs at least one choice."))
        if any(len(c) > 100 or "\x00" in c for c in choices):
            self.add_error("choices_text", _("A choice has at most 100 characters."))
        self.instance.choices = choices
        return data
