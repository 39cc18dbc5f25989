"""Amounts read the same on every page and in both languages: symbol, thousands grouped by commas."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation
from djmoney.money import Money

from guanxi.framework.money import money_display


def test_money_display():
    assert money_display(Decimal("1572000"), "CNY") == "¥1,572,000.00"
    assert money_display(Decimal("1572000.4"), "CNY", places=0) == "¥1,572,000"
    assert money_display(Decimal("50"), "USD") == "$50.00"
    assert money_display(Decimal("7"), "SGD") == "SGD 7.00"
    assert money_display(None, "CNY") == "—"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_money_filters_and_grouped_numbers_in_both_languages(language):
    template = Template('{% load money %}{{ deal|money }} | {{ won|money:"CNY" }} | '
                        '{{ won|floatformat:"2g" }}')
    with translation.override(language):
        shown = template.render(Context({"deal": Money("57000", "CNY"), "won": Decimal("836000")}))
    # Django's own zh_Hans formats group no digits: "836000.00" (guanxi/formats/zh_Hans).
    assert shown == "¥57,000.00 | ¥836,000.00 | 836,000.00"


@pytest.mark.django_db
def test_an_amount_change_is_recorded_as_pages_write_amounts(users):
    from guanxi.core.models import TimelineEvent
    from guanxi.framework.services import record_update
    from guanxi.sales.tests.factories import OpportunityFactory

    deal = OpportunityFactory(owner=users["rep1"], amount=Money("1000", "CNY"))
    record_update(obj=deal, actor=users["rep1"], fields={"amount": Money("169000", "CNY")}, version=deal.version)
    event = TimelineEvent.objects.filter(record_id=deal.pk, record_type=deal.type_key()).latest("pk")
    assert event.data["changes"]["amount"] == ["¥1,000.00", "¥169,000.00"]  # was "CNY 169000"
