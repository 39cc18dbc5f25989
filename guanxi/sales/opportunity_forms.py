from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Account, Contact
from guanxi.framework.forms import AutocompleteSelect, RecordForm

from .choices import StageKind
from .models import Opportunity, Pipeline, Stage
from .opportunity_services import pipeline_default

FIELDS = ["name", "account", "contacts", "pipeline", "stage", "amount", "expected_close_date", "probability",
          "forecast_category", "source", "owner", "description"]


class OpportunityForm(RecordForm):
    """A deal's fields. Pipeline and stage are chosen only when it is created; afterwards the stage
    changes through the move / won / lost commands."""

    contacts = forms.ModelMultipleChoiceField(
        queryset=Contact.objects.none(), required=False, label=_("Contacts"),
        widget=AutocompleteSelect("customers.contact", multiple=True),
    )

    class Meta:
        model = Opportunity
        fields = FIELDS
        widgets = {
            "account": AutocompleteSelect("customers.account"),
            "expected_close_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.restrict(self.user, "view")
        self.fields["contacts"].queryset = Contact.objects.restrict(self.user, "view")
        if self.instance.pk:
            for name in ("pipeline", "stage"):
                self.fields.pop(name, None)
            self.initial["contacts"] = list(self.instance.contacts.values_list("pk", flat=True))
        else:
            self.fields["pipeline"].queryset = Pipeline.objects.filter(is_active=True)
            self.fields["pipeline"].required = False
            self.fields["pipeline"].help_text = _("Empty: the default pipeline.")
            self.fields["stage"].queryset = (Stage.objects.filter(kind=StageKind.OPEN, pipeline__is_active=True)
                                             .select_related("pipeline"))
            self.fields["stage"].required = False
            self.fields["stage"].help_text = _("Empty: the pipeline's first stage.")
            self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline} · {s}"
            if not self.initial.get("pipeline"):
                default = pipeline_default()
                if default is not None:
                    self.initial["pipeline"] = default.pk

    def clean(self):
        cleaned = super().clean()
        stage, pipeline = cleaned.get("stage"), cleaned.get("pipeline")
        if stage is not None and pipeline is None:
            cleaned["pipeline"] = stage.pipeline
        elif stage is not None and stage.pipeline_id != pipeline.pk:
            self.add_error("stage", _("This stage belongs to another pipeline."))
        return cleaned

    def model_fields(self):
        values = super().model_fields()
        if not self.instance.pk:
            values["pipeline"] = self.cleaned_data.get("pipeline")
            values["stage"] = self.cleaned_data.get("stage")
        else:
            values.pop("pipeline", None)
            values.pop("stage", None)
        return values

    def related(self):
        related = super().related()
        related["contacts"] = list(self.cleaned_data.get("contacts") or [])
        return related


class OpportunityQuickForm(forms.Form):
    """Quick-create in a board column: a name, a company and an amount."""

    name = forms.CharField(label=_("Name"), max_length=200)
    account = forms.ModelChoiceField(queryset=Account.objects.none(), label=_("Company"),
                                     widget=AutocompleteSelect("customers.account"))
    amount = forms.DecimalField(label=_("Amount"), max_digits=18, decimal_places=2, min_value=0, required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.restrict(user, "view")
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-select" if isinstance(field.widget, forms.Select)
                                          else "form-control")
