"""Sensitive personal data (ARCHITECTURE.md §5): masked everywhere unless a user with `reveal` asks.

A model lists its sensitive fields and their kind in `sensitive_fields`, e.g.
``{"mobile": "phone", "email": "email", "wechat": "text", "street": "text"}``.
Masked copies of records are marked so that saving one raises instead of writing the mask.
"""

import phonenumbers

MASK = "****"


def sensitive_fields(model) -> dict[str, str]:
    return dict(getattr(model, "sensitive_fields", {}) or {})


def _national_number(digits):
    """The national number of an international number's digits: what follows the country calling code.

    Calling codes are prefix-free (1–3 digits), so the first prefix that is one is the code. This is what
    phonenumbers.parse(...).national_number gives (leading zeros dropped) at a fraction of its cost, which
    mattered: a list page masks dozens of numbers.
    """
    for length in (1, 2, 3):
        if int(digits[:length] or 0) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return digits[length:].lstrip("0")
    return digits


def mask_phone(value):
    if not value:
        return value
    digits = "".join(ch for ch in value if ch.isdigit())
    national = _national_number(digits) if value.startswith("+") else digits
    if len(national) >= 7:
        return f"{national[:3]}{MASK}{national[-4:]}"
    return f"{MASK}{national[-2:]}"


def mask_email(value):
    if value and "," in value:  # a list of addresses (an email's recipients): each one masked
        return ", ".join(mask_email(part.strip()) for part in value.split(",") if part.strip())
    if not value or "@" not in value:
        return mask_text(value)
    local, _at, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_text(value):
    if not value:
        return value
    return f"{value[:1]}***" if len(value) > 1 else "*"


MASKERS = {"phone": mask_phone, "email": mask_email, "text": mask_text}


def mask_value(kind, value):
    return MASKERS.get(kind, mask_text)(value)


def mask_field(model, name, value):
    kind = sensitive_fields(model).get(name)
    return mask_value(kind, value) if kind else value


def mask_objects(objs, *, reveal=False):
    """Replace sensitive attribute values with masks, in place, on records only read for display.

    `reveal=True` (allowed and audited by the caller) leaves them as they are.
    """
    if reveal:
        return objs
    for obj in objs:
        fields = sensitive_fields(type(obj))
        if not fields or getattr(obj, "_guanxi_masked", False):
            continue
        for name, kind in fields.items():
            setattr(obj, name, mask_value(kind, getattr(obj, name)))
        obj._guanxi_masked = True
    return objs


def revealed_fields(obj):
    """The sensitive fields of `obj` that hold a value (what a reveal would show)."""
    return [name for name in sensitive_fields(type(obj)) if getattr(obj, name, None)]
