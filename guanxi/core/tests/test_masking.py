"""Masking of personal data: phone numbers are masked by their national number, emails keep the domain."""

import phonenumbers
import pytest

from guanxi.core.masking import MASK, mask_email, mask_phone, mask_text


def reference_mask(value):
    """What mask_phone showed when it parsed every number with phonenumbers (the slow, obvious way)."""
    digits = "".join(ch for ch in value if ch.isdigit())
    try:
        national = str(phonenumbers.parse(value, None).national_number) if value.startswith("+") else digits
    except phonenumbers.NumberParseException:
        national = digits
    return f"{national[:3]}{MASK}{national[-4:]}" if len(national) >= 7 else f"{MASK}{national[-2:]}"


@pytest.mark.parametrize("value", [
    "+8613812345678", "+86 138 1234 5678", "+86-10-8765-4321", "+862161234567",
    "+16502530000", "+1 (650) 253-0000", "+85291234567", "+442079460000", "+390612345678",
    "+4930123456", "+6591234567", "+81312345678", "+380441234567", "+12345", "+8612",
    "13812345678", "010-8765 4321", "12345",
])
def test_phone_mask_matches_the_parsed_national_number(value):
    assert mask_phone(value) == reference_mask(value)


def test_phone_masks():
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_phone("+16502530000") == "650****0000"
    assert mask_phone("+390612345678") == "612****5678"  # Italy: the leading 0 is not part of the number
    assert mask_phone("") == "" and mask_phone(None) is None


def test_unknown_calling_code_masks_every_digit_group():
    assert mask_phone("+9991234567890") == "999****7890"


def test_email_and_text_masks():
    assert mask_email("li.lei@example.cn") == "l***@example.cn"
    assert mask_email("a@x.cn, b@y.cn") == "a***@x.cn, b***@y.cn"
    assert mask_text("上海市浦东新区") == "上***"
    assert mask_text("x") == "*"
