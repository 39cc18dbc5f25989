"""rep1 converts a lead in the browser (a double click on Convert) and lands on the new company."""

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_convert_a_lead_and_land_on_the_new_company(page, login, browser_users, screenshot):
    from guanxi.customers.models import Account, Contact
    from guanxi.sales.lead_services import lead_create
    from guanxi.sales.models import Lead, Opportunity, ScoringRule
    from guanxi.sales.tests.factories import ensure_default_pipeline

    ensure_default_pipeline()
    rep1 = browser_users["rep1"]
    ScoringRule.objects.create(name="展会来源", field="source", value="trade_show", points=20)
    lead = lead_create(actor=rep1, fields={
        "name": "林晓明", "company_name": "闽江智能科技有限公司", "title": "采购经理", "mobile": "+8613812345678",
        "email": "lin@example.cn", "source": "trade_show", "province": "福建省", "city": "福州市",
    })
    login(page)
    page.goto("/leads/")
    page.locator("#record-table a", has_text="林晓明").first.click()
    page.wait_for_url(f"**{lead.get_absolute_url()}")
    assert "展会来源" in page.locator("#lead-score-rules").inner_text()
    assert page.locator("#lead-score-value").inner_text().strip() == "20"

    page.click("#convert-open")
    modal = page.locator("#convert-modal")
    modal.wait_for(state="visible")
    page.fill("#id_opportunity_name", "闽江智能 首批设备")
    page.fill("#id_amount", "120000")
    screenshot(page, "lead-convert")
    page.dblclick("#convert-submit")

    page.wait_for_url(re.compile(r"/companies/\d+/$"))
    account = Account.objects.get(name="闽江智能科技有限公司")
    assert page.url.endswith(account.get_absolute_url())
    assert page.locator("h1").inner_text().strip() == "闽江智能科技有限公司"
    assert "林晓明" in page.locator("#account-contacts").inner_text()
    assert Account.objects.count() == Contact.objects.count() == Opportunity.objects.count() == 1
    deal = Opportunity.objects.get()
    assert deal.name == "闽江智能 首批设备" and deal.amount.amount == 120000 and deal.account == account
    assert Lead.objects.get(pk=lead.pk).status == "converted"
