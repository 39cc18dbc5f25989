"""The companies list on a phone-sized viewport (390×844)."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_companies_list_on_a_phone(phone_page, login, make_account, screenshot):
    page = phone_page
    for i, (name, city) in enumerate(
        [
            ("闽江智能科技有限公司", "福州市"),
            ("榕城供应链管理有限公司", "福州市"),
            ("海峡两岸精密零部件制造有限责任公司", "厦门市"),
            ("东南电网信息技术公司", "泉州市"),
            ("Harbour Logistics International Ltd", "厦门市"),
            ("鼎新自动化", "泉州市"),
        ]
    ):
        make_account(
            name=name,
            city=city,
            province="福建省",
            industry="manufacturing",
            lifecycle_stage=["prospect", "customer", "intent"][i % 3],
        )
    login(page)
    page.goto("/companies/")
    assert page.locator("#record-table tbody tr").count() == 6

    # No sideways scrolling of the page itself.
    width = page.evaluate("() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert width["inner"] == 390
    assert width["scroll"] <= width["inner"] + 1, width

    # The navbar collapses behind the toggler and opens on a tap.
    menu = page.locator("#mainnav")
    companies_link = menu.locator("a.nav-link[href='/companies/']")
    assert not companies_link.is_visible()
    toggler = page.locator("button.navbar-toggler")
    assert toggler.is_visible()
    toggler.tap()
    companies_link.wait_for(state="visible")
    page.wait_for_function("() => !document.querySelector('#mainnav').classList.contains('collapsing')")
    assert toggler.get_attribute("aria-expanded") == "true"
    screenshot(page, "phone-menu")
    toggler.tap()
    companies_link.wait_for(state="hidden")

    # The wide table scrolls inside its .table-responsive box, not the page.
    scroller = page.locator("#record-table .table-responsive")
    box = scroller.evaluate(
        "el => ({overflow: getComputedStyle(el).overflowX, scroll: el.scrollWidth, client: el.clientWidth})"
    )
    assert box["overflow"] == "auto", box
    assert box["scroll"] > box["client"], box
    assert box["client"] <= 390
    moved = scroller.evaluate("el => { el.scrollLeft = 120; return el.scrollLeft; }")
    assert moved > 0
    assert page.evaluate("() => window.scrollX") == 0
    scroller.evaluate("el => { el.scrollLeft = 0; }")
    toggler.evaluate("el => el.blur()")
    page.mouse.click(5, 300)  # focus nothing in particular
    screenshot(page, "phone-list")
