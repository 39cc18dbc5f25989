"""A list filtered by a linked record picked by name, as a user does it (no record ids to type)."""

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_filter_companies_by_parent_picked_by_name(page, login, choose, make_account):
    group = make_account(name="闽江控股集团有限公司", province="福建省", city="福州市")
    child = make_account(name="闽江智能（厦门）有限公司", province="福建省", city="厦门市", parent=group)
    other = make_account(name="榕城供应链管理有限公司", province="福建省", city="福州市")
    login(page)
    page.goto("/companies/")
    rows = page.locator("#record-table tbody")
    assert other.name in rows.inner_text()

    with page.expect_response(re.compile(r"/companies/\?.*parent=")):
        choose(page, "id_parent", "闽江控股", group.name)
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    assert child.name in rows.inner_text() and other.name not in rows.inner_text()
    assert f"parent={group.pk}" in page.url  # the filtered list is a link that can be shared

    page.reload()  # and drawn again from that link, the chosen company shown by name
    assert group.name in page.locator("#filter-form").inner_text()
    assert other.name not in rows.inner_text()
