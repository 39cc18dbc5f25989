"""Form base for record edits: Bootstrap classes, version for optimistic locking, tags and custom fields."""

import datetime

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from . import customfields, services
from .validators import is_id

# Dates a report accepts: periods are computed from them, and the extremes of `date` overflow that.
DATE_MIN, DATE_MAX = datetime.date(1900, 1, 1), datetime.date(2199, 12, 31)

# Django 6.1's blank-choice label; its own zh_Hans catalogue does not have it yet, ours does.
BLANK_CHOICE_LABEL = _("- Select an option -")


class AutocompleteSelect(forms.Select):
    """A select that renders only the chosen options; Tom Select fetches the rest as the user types.

    Rendering every option would load a million companies into one page.
    """

    def __init__(self, record_type_key, multiple=False, attrs=None):
        super().__init__(attrs)
        self.record_type_key = record_type_key
        self.allow_multiple_selected = multiple

    def get_context(self, name, value, attrs):
        attrs = dict(attrs or {})
        attrs["data-autocomplete"] = reverse("autocomplete", args=[self.record_type_key])
        if self.allow_multiple_selected:
            attrs["multiple"] = True
        return super().get_context(name, value, attrs)

    def chosen_queryset(self):
        return getattr(self.choices, "queryset", None)

    def optgroups(self, name, value, attrs=None):
        values = [v for v in (value or []) if is_id(v)]
        queryset = self.chosen_queryset() if values else None
        chosen = list(queryset.filter(pk__in=values)) if queryset is not None else []
        options = [self.create_option(name, "", "", False, 0)] if not self.allow_multiple_selected else []
        for index, obj in enumerate(chosen, start=1):
            options.append(self.create_option(name, str(obj.pk), str(obj), True, index))
        return [(None, options, 0)]

    def value_from_datadict(self, data, files, name):
        if self.allow_multiple_selected:
            return data.getlist(name) if hasattr(data, "getlist") else data.get(name)
        return data.get(name)


class RecordPicker(AutocompleteSelect):
    """The UI of a filter by a linked record's id (`framework.filtersets.RecordFilter`): picked by name,
    the chosen one shown by name if the viewer may see it."""

    def __init__(self, record_type_key, queryset):
        super().__init__(record_type_key)
        self.queryset = queryset  # a callable: the viewer's restrict() runs only when a value is drawn

    def chosen_queryset(self):
        return self.queryset()


class TagsField(forms.CharField):
    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Tags"))
        kwargs.setdefault("help_text", _("Separate tags with commas."))
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        names = [n.strip() for n in text.replace("，", ",").split(",")]
        try:
            return services.clean_tag_names(names)
        except forms.ValidationError as e:
            raise forms.ValidationError(e.messages)

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return ", ".join(value)
        return value


class RecordForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        model = self._meta.model
        if "tags" in self.fields or any(f.name == "tags" for f in model._meta.many_to_many):
            self.fields.pop("tags", None)
            self.fields["tags_text"] = TagsField()
            if self.instance.pk:
                self.initial["tags_text"] = [t.name for t in self.instance.tags.all()]
        if self.instance.pk:
            self.initial["version"] = self.instance.version
        if "owner" in self.fields and user is not None:
            from guanxi.core.access import allows, assignable_owner_ids, assignable_users

            owner = self.fields["owner"]
            owner.queryset = assignable_users(user, model)
            if not self.instance.pk:
                self.initial.setdefault("owner", user.pk)
            # Without `assign` the owner stays what it is (the creator for a new record); only a user who
            # may assign to anyone can leave a record without owner (e.g. for the customer pool).
            owner.disabled = not allows(user, "assign", model)
            owner.required = assignable_owner_ids(user, model) is not None
        self._hide_sensitive(model, user)
        self.custom_definitions = customfields.definitions_for(model)
        for d in self.custom_definitions:
            self.fields[f"cf_{d.name}"] = customfields.form_field(d)
            value = (self.instance.custom or {}).get(d.name)
            if isinstance(value, dict):
                value = value.get("amount")
            self.initial[f"cf_{d.name}"] = value
        for field in self.fields.values():
            # A MultiWidget (money: amount + currency) styles its parts, laid out side by side.
            parts = field.widget.widgets if isinstance(field.widget, forms.MultiWidget) else [field.widget]
            for widget in parts:
                if isinstance(widget, forms.CheckboxInput):
                    widget.attrs.setdefault("class", "form-check-input")
                elif isinstance(widget, forms.Select):
                    widget.attrs.setdefault("class", "form-select")
                elif not isinstance(widget, forms.HiddenInput):
                    widget.attrs.setdefault("class", "form-control")
            if len(parts) > 1:
                field.widget.template_name = "framework/widgets/multiwidget_row.html"

    def _hide_sensitive(self, model, user):
        """Personal data in an edit form: shown (and audited by the view) to users who may reveal it;
        for others the input starts empty with the mask as placeholder, and empty keeps the value."""
        from guanxi.core.access import can
        from guanxi.core.masking import mask_field, sensitive_fields

        self.shown_sensitive, self._kept = [], {}
        if not self.instance.pk or user is None:
            return
        present = [n for n in sensitive_fields(model) if n in self.fields and getattr(self.instance, n, None)]
        if not present:
            return
        if can(user, "reveal", self.instance):
            self.shown_sensitive = present
            return
        for name in present:
            field = self.fields[name]
            self._kept[name] = getattr(self.instance, name)
            field.required = False
            field.widget.attrs["placeholder"] = mask_field(model, name, self._kept[name])
            field.help_text = _("Hidden personal data: leave empty to keep the current value.")
            self.initial[name] = ""

    def clean(self):
        cleaned = super().clean()
        for name, value in self._kept.items():
            if cleaned.get(name) in (None, ""):
                cleaned[name] = value
        return cleaned

    def _post_clean(self):
        # Custom values are validated by the model's clean(); give it the submitted ones first.
        custom = {}
        for d in self.custom_definitions:
            value = self.cleaned_data.get(f"cf_{d.name}")
            if value not in (None, ""):
                custom[d.name] = value
        self.instance.custom = custom
        super()._post_clean()

    def add_error(self, field, error):
        # Map "custom.<name>" model errors onto the form's cf_<name> fields.
        if isinstance(error, forms.ValidationError) and hasattr(error, "error_dict"):
            for key in list(error.error_dict):
                if key.startswith("custom."):
                    name = "cf_" + key.split(".", 1)[1]
                    if name in self.fields:
                        error.error_dict[name] = error.error_dict.pop(key)
        super().add_error(field, error)

    def model_fields(self):
        """The cleaned values of real model fields (what the generic service sets)."""
        # Only editable fields: `version` is the form's optimistic-lock input, not a value to set.
        names = [f.name for f in self._meta.model._meta.concrete_fields if f.editable]
        values = {k: v for k, v in self.cleaned_data.items() if k in names}
        values["custom"] = self.instance.custom
        return values

    def related(self):
        related = {}
        if "tags_text" in self.fields:
            related["tags"] = self.cleaned_data.get("tags_text", [])
        return related


class BoundedDateField(forms.DateField):
    """A date picker limited to DATE_MIN..DATE_MAX (report filters)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(**kwargs)

    def validate(self, value):
        super().validate(value)
        if value and not DATE_MIN <= value <= DATE_MAX:
            raise forms.ValidationError(_("Enter a date between %(a)s and %(b)s.") % {"a": DATE_MIN, "b": DATE_MAX})
