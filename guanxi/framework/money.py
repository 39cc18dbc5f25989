"""Amounts as people read them, the same on every page: "¥380,000.00" with the symbol of the usual
currencies, "SGD 7.00" with the ISO code for the rest. Without Babel: a board draws hundreds of them."""

from decimal import Decimal

CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "JP¥", "HKD": "HK$"}


def currency_prefix(currency):
    """What goes before the amount: the symbol, else the code and a space."""
    currency = str(currency)
    return CURRENCY_SYMBOLS.get(currency, f"{currency} ")


def money_display(amount, currency, places=2):
    """`money_display(Decimal("380000"), "CNY")` → "¥380,000.00"; a Money as `money_display(m.amount, m.currency)`."""
    if amount is None:
        return "—"
    return f"{currency_prefix(currency)}{Decimal(amount):,.{places}f}"
