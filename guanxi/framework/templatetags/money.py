from django import template

from guanxi.framework.money import money_display

register = template.Library()


@register.filter
def money(value, currency=None):
    """`{{ deal.amount|money }}` (a Money) or `{{ total|money:"CNY" }}` (a number in that currency)."""
    if value is None or value == "":
        return "—"
    if currency is None:
        return money_display(value.amount, value.currency)
    return money_display(value, currency)

