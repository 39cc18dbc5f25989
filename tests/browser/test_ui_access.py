"""Access control in the browser: reps see only their own customers, managers their team's, and
revealing personal data is an explicit, audited action."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MINE = "闽侯一号精工有限公司"
THEIRS = "仓山二号贸易有限公司"
MOBILE = "+8613961234567"


@pytest.fixture
def two_customers(make_account, browser_users):
    mine = make_account(name=MINE, city="福州市")
    theirs = make_account(actor=browser_users["rep2"], name=THEIRS, city="福州市")
    return mine, theirs


@pytest.fixture
def second_page(chromium, live_server, login):
    """Another browser context (own cookies) for a second user in the same test."""
    contexts = []

    def make(username):
        context = chromium.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                       viewport={"width": 1366, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return login(context.new_page(), username)

    yield make
    for context in contexts:
        context.close()


def list_names(page):
    return page.locator("#record-table tbody td a.fw-semibold").all_inner_texts()


def palette_search(page, text):
    page.keyboard.press("Control+k")
    page.locator("#palette").wait_for(state="visible")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'palette-input'")
    with page.expect_response(lambda r: "/search/?" in r.url and r.status == 200):
        page.keyboard.type(text, delay=40)
    page.wait_for_timeout(100)
    return page.locator("#palette-results").inner_text()


def test_rep_sees_only_own_customers_manager_sees_both(rep1_page, two_customers, second_page, screenshot):
    mine, theirs = two_customers
    page = rep1_page
    page.goto("/companies/")
    names = list_names(page)
    assert MINE in names and THEIRS not in names
    assert THEIRS not in palette_search(page, "仓山二号")
    page.keyboard.press("Escape")
    response = page.goto(theirs.get_absolute_url())
    assert response.status == 404
    assert page.locator("#not-found").is_visible()
    screenshot(page, "access-rep1-404")

    manager = second_page("manager")
    manager.goto("/companies/")
    names = list_names(manager)
    assert MINE in names and THEIRS in names
    assert THEIRS in palette_search(manager, "仓山二号")
    manager.keyboard.press("Escape")
    assert manager.goto(theirs.get_absolute_url()).status == 200
    screenshot(manager, "access-manager-list")


def test_manager_reveals_a_phone_and_the_auditor_sees_it(browser_users, second_page, screenshot):
    from guanxi.customers.models import Contact
    from guanxi.framework.services import record_create

    contact = record_create(model=Contact, actor=browser_users["rep1"],
                            fields={"name": "林晓", "mobile": MOBILE, "email": "linxiao@example.cn"})
    manager = second_page("manager")
    manager.goto(contact.get_absolute_url())
    mobile_cell = manager.locator("dd[data-sensitive='mobile']")
    assert "139****4567" in mobile_cell.inner_text()
    assert MOBILE not in manager.content()
    with manager.expect_response(lambda r: "/reveal/" in r.url and r.status == 200):
        mobile_cell.locator("[data-reveal]").click()
    manager.locator("[data-revealed='mobile']").wait_for(state="visible")
    assert mobile_cell.locator("[data-revealed='mobile']").inner_text() == MOBILE
    screenshot(manager, "reveal-phone")

    auditor = second_page("auditor")
    auditor.goto("/audit/?action=reveal")
    row = auditor.locator("table tbody tr", has_text="林晓").first
    row.wait_for(state="visible")
    assert "manager" in row.inner_text()
    assert MOBILE not in auditor.content()
    screenshot(auditor, "audit-log-reveal")
