from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# The largest primary key a bigint column holds; ids from user input are checked against it.
MAX_ID = 2**63 - 1


def is_id(value):
    """A primary key from user input: ASCII digits within the bigint range ("²".isdigit() is true, too)."""
    value = str(value)
    return value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID


# GB 32100-2015 unified social credit code (统一社会信用代码).
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17):
    total = sum(CREDIT_CODE_CHARS.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def validate_credit_code(value):
    if not value:
        return
    if len(value) != 18 or any(c not in CREDIT_CODE_CHARS for c in value):
        raise ValidationError(
            _("A unified social credit code has 18 characters (digits and capital letters except I, O, Z, S, V)."),
            code="credit_code_format",
        )
    if credit_code_check_char(value[:17]) != value[17]:
        raise ValidationError(_("This unified social credit code fails its checksum."), code="credit_code_checksum")


def validate_no_nul(value):
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError(_("Null characters are not allowed."), code="null_characters_not_allowed")
