"""Custom field values: validated against the administrator's definitions, stored in `Record.custom`."""

import datetime
from decimal import Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .validators import validate_no_nul

MAX_TEXT = 1000


def definitions_for(model):
    from guanxi.core.models import CustomField

    return list(CustomField.objects.filter(record_type=model.type_key()))


def _clean_one(definition, value):
    kind = definition.field_type
    if value in (None, ""):
        return None
    if kind == "text":
        if not isinstance(value, str):
            raise ValidationError(_("Enter text."))
        validate_no_nul(value)
        if len(value) > MAX_TEXT:
            raise ValidationError(_("At most %(n)d characters.") % {"n": MAX_TEXT})
        return value
    if kind == "number":
        if isinstance(value, bool):
            raise ValidationError(_("Enter a number."))
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValidationError(_("Enter a number."))
        if not number.is_finite() or abs(number) >= Decimal("1e15"):
            raise ValidationError(_("Enter a number."))
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "date":
        if isinstance(value, datetime.date):
            return value.isoformat()
        try:
            # Only YYYY-MM-DD text: fromisoformat() alone also takes 20240101, 2024W01, ...
            if not (isinstance(value, str) and len(value) == 10 and value[4] == value[7] == "-"):
                raise ValueError
            return datetime.date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValidationError(_("Enter a date as YYYY-MM-DD."))
    if kind == "choice":
        if value not in definition.choices:
            raise ValidationError(_("Choose one of: %(choices)s") % {"choices": ", ".join(definition.choices)})
        return value
    if kind == "money":
        if isinstance(value, dict):
            amount, currency = value.get("amount"), value.get("currency") or settings.DEFAULT_CURRENCY
        else:
            amount, currency = value, settings.DEFAULT_CURRENCY
        try:
            amount = Decimal(str(amount)).quantize(Decimal("0.01"))
        except (InvalidOperation, TypeError):
            raise ValidationError(_("Enter an amount."))
        if not amount.is_finite() or abs(amount) >= Decimal("1e15"):
            raise ValidationError(_("Enter an amount."))
        if currency not in settings.CURRENCIES:
            raise ValidationError(_("Unknown currency."))
        # A JSON number so that filters can compare amounts; < 1e15 with cents stays exact in a double.
        return {"amount": float(amount), "currency": currency}
    raise ValidationError(_("Unknown field type."))


def clean_custom_values(model, values, definitions=None):
    if values in (None, ""):
        values = {}
    if not isinstance(values, dict):
        raise ValidationError({"custom": _("Custom fields must be an object.")})
    definitions = definitions if definitions is not None else definitions_for(model)
    by_name = {d.name: d for d in definitions}
    errors, cleaned = {}, {}
    for key in values:
        if key not in by_name:
            errors[f"custom.{key}"] = _("Unknown custom field.")
    for name, definition in by_name.items():
        try:
            value = _clean_one(definition, values.get(name))
        except ValidationError as e:
            errors[f"custom.{name}"] = e.messages
            continue
        if value is None:
            if definition.required:
                errors[f"custom.{name}"] = _("This field is required.")
            continue
        cleaned[name] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def display_value(definition, value):
    if value in (None, ""):
        return ""
    if definition.field_type == "money" and isinstance(value, dict):
        return f"{value.get('currency', '')} {value.get('amount', 0):,.2f}"
    return value


def form_field(definition):
    """A Django form field for a custom field definition."""
    common = {"label": definition.label, "required": definition.required}
    kind = definition.field_type
    if kind == "text":
        return forms.CharField(max_length=MAX_TEXT, **common)
    if kind == "number":
        return forms.DecimalField(max_digits=20, decimal_places=6, **common)
    if kind == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == "choice":
        return forms.ChoiceField(choices=[("", "---------")] + [(c, c) for c in definition.choices], **common)
    return forms.DecimalField(max_digits=17, decimal_places=2, **common)  # money, in the default currency
