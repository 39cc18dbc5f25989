"""Finding a company: the Ctrl+K palette and the companies list filters (htmx partial refresh)."""

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TARGET = "闽江智能科技有限公司"
OTHERS = [
    ("榕城供应链管理有限公司", "prospect", "福州市"),
    ("海峡精密零部件厂", "customer", "厦门市"),
    ("东南电网信息技术公司", "loyal", "福州市"),
    ("鼎新自动化", "intent", "泉州市"),
]


@pytest.fixture
def companies(make_account):
    target = make_account(
        name=TARGET,
        credit_code="91350100M000100Y43",
        province="福建省",
        city="福州市",
        lifecycle_stage="customer",
        industry="manufacturing",
    )
    others = [make_account(name=n, lifecycle_stage=s, province="福建省", city=c) for n, s, c in OTHERS]
    return target, others


def table_names(page):
    return page.locator("#record-table tbody td a.fw-semibold").all_inner_texts()


def test_ctrl_k_palette_finds_and_opens_the_company(rep1_page, companies, screenshot):
    page = rep1_page
    target, _ = companies
    page.goto("/companies/")
    palette = page.locator("#palette")
    assert not palette.is_visible()

    page.keyboard.press("Control+k")
    palette.wait_for(state="visible")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'palette-input'")
    with page.expect_response(lambda r: "/search/?" in r.url and r.status == 200):
        page.keyboard.type("智能科", delay=50)
    result = page.locator("#palette-results #palette-list a", has_text=TARGET)
    result.wait_for(state="visible")
    assert page.locator("#palette-results #palette-list a").count() == 1
    screenshot(page, "palette")

    # A search answer still in flight swaps the list under the click on a loaded machine: let it land.
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    with page.expect_navigation(url=f"**{target.get_absolute_url()}", timeout=20_000):
        result.click()
    assert page.locator("h1").inner_text().strip() == TARGET


def test_ctrl_k_palette_by_credit_code_and_nothing_found(rep1_page, companies):
    page = rep1_page
    page.keyboard.press("Control+k")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'palette-input'")
    page.keyboard.type("91350100m000100y43")  # lower case: the code is matched upper-cased
    page.locator("#palette-list a", has_text=TARGET).wait_for(state="visible")

    page.fill("#palette-input", "")
    page.keyboard.type("不存在的公司")
    page.locator("#palette-results p", has_text="不存在的公司").wait_for(state="visible")
    assert page.locator("#palette-list").count() == 0


def test_companies_list_search_and_filter_refresh_the_table_with_htmx(rep1_page, companies):
    page = rep1_page
    target, others = companies
    page.click("#mainnav a.nav-link[href='/companies/']")
    page.wait_for_url("**/companies/")
    assert sorted(table_names(page)) == sorted([TARGET] + [o.name for o in others])
    # A full page load would drop this marker; an htmx swap of #record-table keeps it.
    page.evaluate("() => { window.__noReload = true; }")

    with page.expect_response(lambda r: "/companies/?" in r.url and r.request.headers.get("hx-request") == "true"):
        page.click("#id_q")
        page.keyboard.type("智能", delay=50)
    page.wait_for_function("() => document.querySelectorAll('#record-table tbody a.fw-semibold').length === 1")
    assert table_names(page) == [TARGET]
    assert re.search(r"[?&]q=%E6%99%BA%E8%83%BD", page.url), page.url  # pushed into the address bar
    assert page.evaluate("() => window.__noReload") is True

    # Clear the search, then narrow with a filter select instead.
    with page.expect_response(lambda r: "/companies/?" in r.url and r.request.headers.get("hx-request") == "true"):
        page.fill("#id_q", "")
    page.wait_for_function("() => document.querySelectorAll('#record-table tbody a.fw-semibold').length === 5")
    with page.expect_response(lambda r: "lifecycle_stage=customer" in r.url):
        page.select_option("#id_lifecycle_stage", "customer")
    page.wait_for_function("() => document.querySelectorAll('#record-table tbody a.fw-semibold').length === 2")
    assert sorted(table_names(page)) == sorted([TARGET, "海峡精密零部件厂"])
    assert "lifecycle_stage=customer" in page.url
    assert page.evaluate("() => window.__noReload") is True

    # The pushed URL is a real address: reloading it shows the same filtered table.
    page.reload()
    assert sorted(table_names(page)) == sorted([TARGET, "海峡精密零部件厂"])
    assert page.input_value("#id_lifecycle_stage") == "customer"
