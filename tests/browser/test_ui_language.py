"""Switching the interface language on /profile/: English, then back to the default Simplified Chinese."""

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAV_EN = ["Home", "Companies", "Contacts", "Relations", "Activities", "Tasks", "Calendar", "Recycle bin"]
NAV_ZH = ["首页", "公司", "联系人", "关系网络", "活动", "任务", "日历", "回收站"]
# Glossary terms: their English form must not be visible anywhere on a Chinese page.
GLOSSARY_EN = NAV_EN + [
    "Search",
    "New",
    "Save",
    "Edit",
    "Delete",
    "Filter",
    "Columns",
    "Export",
    "Saved views",
    "Log out",
    "Log in",
    "Relationship network",
    "Timeline",
]
GLOSSARY_ZH = {
    "Search": "搜索",
    "New": "新建",
    "Filter": "筛选",
    "Columns": "列",
    "Export": "导出",
    "Saved views": "保存的视图",
}


def nav_labels(page):
    # The notification bell is a dropdown (icon and unread count), not a menu entry.
    links = page.locator("#mainnav a.nav-link:not(.dropdown-toggle, #notification-bell)")
    return [t.strip() for t in links.all_inner_texts()]


def heading(page):
    return page.locator("main h1").first.inner_text().strip()


def set_language(page, code):
    page.click("#user-menu")
    page.click("a.dropdown-item[href='/profile/']")
    page.wait_for_url("**/profile/")
    page.select_option("#id_language", code)
    with page.expect_navigation():
        page.click("#profile-save")
    assert page.input_value("#id_language") == code


def visible_english(page):
    """Glossary words still shown in English in the visible text of the page (whole words only)."""
    text = page.evaluate("() => document.body.innerText")
    return [w for w in GLOSSARY_EN if re.search(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])", text)]


def test_switch_to_english_and_back_to_chinese(rep1_page, make_account, screenshot):
    page = rep1_page
    for name, city, stage in [
        ("闽江智能科技有限公司", "福州市", "customer"),
        ("榕城供应链管理有限公司", "福州市", "prospect"),
        ("Harbour Logistics Ltd", "厦门市", "intent"),
        ("海峡精密零部件厂", "厦门市", "customer"),
        ("Southeast Grid IT Co.", "泉州市", "loyal"),
        ("鼎新自动化", "泉州市", "prospect"),
    ]:
        make_account(name=name, city=city, province="福建省", lifecycle_stage=stage, industry="manufacturing")

    # Default for a new user: Simplified Chinese.
    assert page.locator("html").get_attribute("lang") == "zh-CN"

    set_language(page, "en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert nav_labels(page) == NAV_EN
    assert heading(page) == "Profile"
    page.click("#mainnav a.nav-link[href='/companies/']")
    page.wait_for_url("**/companies/")
    assert heading(page) == "Companies"
    assert page.locator("#columns-btn").inner_text().strip() == "Columns"
    assert page.locator("#saved-views-btn").inner_text().strip() == "Saved views"
    assert page.locator("#record-table tbody tr").count() == 6
    screenshot(page, "companies-list-en")
    page.click("#mainnav a.nav-link[href='/contacts/']")
    page.wait_for_url("**/contacts/")
    assert heading(page) == "Contacts"
    page.click("#mainnav a.nav-link[href='/relations/']")
    page.wait_for_url("**/relations/")
    assert heading(page).startswith("Company relations")

    set_language(page, "zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert nav_labels(page) == NAV_ZH
    page.click("#mainnav a.nav-link[href='/companies/']")
    page.wait_for_url("**/companies/")
    assert heading(page) == "公司"
    assert nav_labels(page) == NAV_ZH
    assert page.locator("#columns-btn").inner_text().strip() == GLOSSARY_ZH["Columns"]
    assert page.locator("#saved-views-btn").inner_text().strip() == GLOSSARY_ZH["Saved views"]
    assert GLOSSARY_ZH["Search"] in page.locator("nav.navbar button[data-palette-open]:visible").inner_text()
    assert visible_english(page) == []
    screenshot(page, "companies-list-zh")
    page.click("#mainnav a.nav-link[href='/contacts/']")
    page.wait_for_url("**/contacts/")
    assert heading(page) == "联系人"
    assert visible_english(page) == []
