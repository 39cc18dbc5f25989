"""rep1 and a new customer, in the browser: create, add a contact, edit, link it to another company."""

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMPANY = "闽江智能科技有限公司"
CREDIT_CODE = "91350100M000100Y43"
SAVE = "#record-form .card-footer button[type=submit]"
DETAIL_URL = re.compile(r"/companies/\d+/$")


def graph_node_names(page):
    """The node names ECharts is drawing in #relation-graph (read from the live chart, not the JSON)."""
    page.wait_for_function(
        "() => window.echarts && echarts.getInstanceByDom(document.getElementById('relation-graph'))"
    )
    return page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('relation-graph'))"
        ".getOption().series[0].data.map(n => n.name)"
    )


def test_create_company_then_contact_through_the_ui(page, login, choose):
    login(page)  # through the real login form
    page.click("#mainnav a.nav-link[href='/companies/']")
    page.wait_for_url("**/companies/")
    page.click("a.btn-primary[href='/companies/new/']")
    page.wait_for_url("**/companies/new/")

    page.fill("#id_name", COMPANY)
    page.fill("#id_credit_code", CREDIT_CODE)
    page.select_option("#id_industry", "manufacturing")
    page.select_option("#id_size", "200-999")
    page.fill("#id_phone", "0591-87654321")
    page.fill("#id_province", "福建省")
    page.fill("#id_city", "福州市")
    page.fill("#id_district", "鼓楼区")
    page.fill("#id_street", "五四路 100 号")
    page.click(SAVE)

    page.wait_for_url(DETAIL_URL)
    company_url = page.url
    assert page.locator("h1").inner_text().strip() == COMPANY
    summary = page.locator("dl").first.inner_text()
    assert CREDIT_CODE in summary
    assert "福州市" in summary
    assert page.locator("#stat-contacts").inner_text().strip() == "0"

    # A contact, linked through the Tom Select company picker by typing part of the name.
    page.click("#mainnav a.nav-link[href='/contacts/']")
    page.wait_for_url("**/contacts/")
    page.click("a.btn-primary[href='/contacts/new/']")
    page.wait_for_url("**/contacts/new/")
    page.fill("#id_name", "林晓明")
    page.fill("#id_title", "采购经理")
    page.fill("#id_mobile", "13812345678")
    page.fill("#id_email", "lin.xiaoming@example.com")
    choose(page, "id_companies", "闽江智能", COMPANY)
    page.fill("#id_company_role", "采购负责人")
    page.click(SAVE)

    page.wait_for_url(re.compile(r"/contacts/\d+/$"))
    assert page.locator("h1").inner_text().strip() == "林晓明"
    link = page.locator("#contact-companies a", has_text=COMPANY)
    link.click()

    page.wait_for_url(company_url)
    contacts = page.locator("#account-contacts")
    assert "林晓明" in contacts.inner_text()
    assert "采购负责人" in contacts.inner_text()
    assert page.locator("#stat-contacts").inner_text().strip() == "1"


def test_edit_company_shows_change_and_timeline_entry(page, login, make_account):
    account = make_account(name=COMPANY, credit_code=CREDIT_CODE, province="福建省", city="福州市")
    login(page)
    page.goto(account.get_absolute_url())
    timeline = page.locator("#timeline > li")
    assert timeline.count() == 1  # "created"

    page.click(f"a[href='/companies/{account.pk}/edit/']")
    page.wait_for_url(f"**/companies/{account.pk}/edit/")
    assert page.input_value("#id_city") == "福州市"
    page.fill("#id_city", "厦门市")
    page.select_option("#id_lifecycle_stage", "customer")
    page.click(SAVE)

    page.wait_for_url(f"**/companies/{account.pk}/")
    assert "厦门市" in page.locator("dl").first.inner_text()
    assert timeline.count() == 2
    newest = timeline.first.inner_text()
    assert re.search(r"城市\s*:\s*福州市\s*→\s*厦门市", newest), newest
    assert re.search(r"生命周期阶段\s*:\s*潜在客户\s*→\s*成交客户", newest), newest
    assert page.locator(".alert-success").count() == 1


def test_new_partner_relation_shows_on_both_relationship_graphs(page, login, choose, make_account, screenshot):
    new = make_account(
        name=COMPANY, credit_code=CREDIT_CODE, province="福建省", city="福州市", industry="manufacturing"
    )
    other = make_account(name="榕城供应链管理有限公司", province="福建省", city="福州市", industry="logistics")
    login(page)

    page.click("#mainnav a.nav-link[href='/relations/']")
    page.wait_for_url("**/relations/")
    page.click("a.btn-primary[href='/relations/new/']")
    page.wait_for_url("**/relations/new/")
    choose(page, "id_from_account", "榕城", other.name)
    page.select_option("#id_relation_type", "partner")
    choose(page, "id_to_account", "闽江", new.name)
    page.fill("#id_notes", "2026 年联合投标")
    page.click(SAVE)
    page.wait_for_url(re.compile(r"/relations/\d+/$"))

    # The related company's page: the new company is a node of the live chart and a line of the list.
    page.click(f"main a[href='{other.get_absolute_url()}']")
    page.wait_for_url(f"**{other.get_absolute_url()}")
    assert new.name in graph_node_names(page)
    relation_list = page.locator("#relation-list")
    assert new.name in relation_list.inner_text()
    assert other.name in relation_list.inner_text()

    # And back the other way, from the list link to the new company's own 360 page.
    relation_list.locator("a", has_text=new.name).click()
    page.wait_for_url(f"**{new.get_absolute_url()}")
    assert other.name in graph_node_names(page)
    assert "2026 年联合投标" in page.locator("#relation-list").inner_text()


def test_company_360_screenshot(page, login, make_account, browser_users, screenshot):
    """A fuller 360 page (group, partners, contacts) in Chinese, for people to look at."""
    from guanxi.customers.models import AccountRelation, Contact
    from guanxi.framework.services import record_create

    rep1 = browser_users["rep1"]
    parent = make_account(name="闽江控股集团有限公司", province="福建省", city="福州市", industry="finance")
    account = make_account(
        name=COMPANY,
        credit_code=CREDIT_CODE,
        province="福建省",
        city="福州市",
        district="鼓楼区",
        street="五四路 100 号",
        industry="manufacturing",
        size="200-999",
        phone="0591-87654321",
        parent=parent,
        lifecycle_stage="customer",
        description="工业物联网网关与边缘计算设备制造商。",
    )
    make_account(name="闽江智能（厦门）有限公司", province="福建省", city="厦门市", parent=account)
    for name, kind, direction in [
        ("榕城供应链管理有限公司", "partner", "in"),
        ("海峡精密零部件厂", "supplier", "in"),
        ("东南电网信息技术公司", "customer_of", "out"),
        ("鼎新自动化", "competitor", "out"),
    ]:
        other = make_account(name=name, province="福建省", city="福州市")
        ends = (other, account) if direction == "in" else (account, other)
        record_create(
            model=AccountRelation,
            actor=rep1,
            fields={"from_account": ends[0], "to_account": ends[1], "relation_type": kind},
        )
    for name, title in [("林晓明", "采购经理"), ("陈思远", "技术总监"), ("王丽华", "财务总监")]:
        record_create(
            model=Contact,
            actor=rep1,
            fields={"name": name, "title": title},
            related={"accounts": [{"account": account, "role": title}]},
        )

    login(page)
    page.goto(account.get_absolute_url())
    names = graph_node_names(page)
    assert {"榕城供应链管理有限公司", "鼎新自动化", parent.name, "闽江智能（厦门）有限公司"} <= set(names)
    assert page.locator("#account-contacts li").count() == 3
    page.wait_for_timeout(1500)  # let the force layout settle before the picture
    screenshot(page, "company-360-zh", full_page=True)
