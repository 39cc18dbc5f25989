import functools

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


def normalise_phone(value, region=None):
    """Return `value` as E.164 (+8613812345678), or raise ValidationError."""
    value = (value or "").strip()
    if not value:
        return ""
    number = _e164(value, region or settings.PHONENUMBER_DEFAULT_REGION)
    if number is None:
        raise ValidationError(_("Enter a valid phone number."), code="invalid_phone")
    return number


@functools.lru_cache(maxsize=4096)
def _e164(value, region):
    # Cached: one search parses its text up to five times (is it a phone? the filter value, each
    # field's prep of the look-up), at 30-60 µs each, and a phonebook import sees numbers again.
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def looks_like_phone(text):
    try:
        normalise_phone(text)
    except ValidationError:
        return False
    return True


class PhoneField(models.CharField):
    """A phone number stored in E.164 so that search by number is an exact, indexed match."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        return normalise_phone(super().to_python(value))

    def formfield(self, **kwargs):
        field = super().formfield(**kwargs)
        field.widget.input_type = "tel"
        return field
