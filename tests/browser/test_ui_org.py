"""Sharing from the record page (Share button, htmx panel in a modal), the role permission grid and the
access explainer, clicked through in a real browser on desktop and phone sizes."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMPANY = "闽江共享科技有限公司"


def test_rep1_shares_a_company_with_rep2_who_then_sees_it(page, chromium, live_server, login, make_account,
                                                         browser_users, screenshot):
    from guanxi.core.models import AuditEvent, RecordShare

    account = make_account(name=COMPANY)
    login(page, "rep1")
    page.goto(account.get_absolute_url())
    page.click("#share-button")
    panel = page.locator("#share-modal #share-panel")
    panel.wait_for(state="visible")
    assert panel.locator("#share-list li").count() == 1  # the empty state

    page.select_option("#share-modal #id_target", label="张销售 (rep2)")
    page.select_option("#share-modal #id_level", value="read")
    with page.expect_response(lambda r: "/share/" in r.url and r.request.method == "POST"):
        page.click("#share-form button[type=submit]")
    page.locator("#share-list li", has_text="张销售").wait_for(state="visible")
    screenshot(page, "share-panel")
    assert RecordShare.objects.filter(record_id=account.pk, user=browser_users["rep2"], level="read").exists()
    assert AuditEvent.objects.filter(action="share_change", record_id=account.pk).count() == 1

    rep2 = chromium.new_context(base_url=live_server.url, locale="zh-CN")
    try:
        other = rep2.new_page()
        login(other, "rep2")
        response = other.goto(account.get_absolute_url())
        assert response.status == 200 and other.locator("h1").inner_text().strip() == COMPANY
        # A read share: no Edit, Delete or Share buttons for rep2.
        assert other.locator("#share-button").count() == 0
    finally:
        rep2.close()

    # Removing the share (with a confirmation) takes it away again.
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_response(lambda r: "/remove/" in r.url):
        page.locator("#share-list li", has_text="张销售").locator("button[type=submit]").click()
    page.locator("#share-list li", has_text="张销售").wait_for(state="detached")
    assert not RecordShare.objects.filter(record_id=account.pk).exists()


def test_share_panel_on_a_phone(phone_page, login, make_account, screenshot):
    account = make_account(name=COMPANY)
    login(phone_page, "rep1")
    phone_page.goto(account.get_absolute_url())
    phone_page.evaluate("() => document.getElementById('share-modal')"
                        ".addEventListener('shown.bs.modal', () => { window.shareShown = true; })")
    phone_page.click("#share-button")
    phone_page.locator("#share-modal #share-form").wait_for(state="visible")
    phone_page.wait_for_function("() => window.shareShown === true")  # the fade-in has finished
    box = phone_page.locator("#share-modal .modal-content").bounding_box()
    assert box["width"] <= 390
    screenshot(phone_page, "share-panel-phone")


def test_admin_edits_the_grid_and_explains_access(page, login, make_account, browser_users, screenshot):
    from guanxi.core.models import Role

    account = make_account(name=COMPANY)
    role = Role.objects.get(code="sales_rep")
    login(page, "admin")
    page.goto(f"/settings/roles/{role.pk}/")
    page.locator("#permission-grid").wait_for(state="visible")
    screenshot(page, "role-grid")
    page.select_option("#id_customers__account-scope", value="team")
    page.click("#role-form button[type=submit]")
    page.wait_for_url(f"**/settings/roles/{role.pk}/")
    assert role.permissions.get(record_type="customers.account").scope == "team"

    # From the record's Share panel to the explainer, then ask about rep2.
    page.goto(account.get_absolute_url())
    # Click the link once the modal has finished opening: a click during Bootstrap's fade-in could land
    # on a moving target on a loaded machine (failed once in CI).
    page.evaluate("() => document.getElementById('share-modal')"
                  ".addEventListener('shown.bs.modal', () => { window.shareShown = true; })")
    page.click("#share-button")
    page.wait_for_function("() => window.shareShown === true")
    page.locator("#share-explain-link").wait_for(state="visible")
    with page.expect_navigation(url="**/settings/access/explain/**", timeout=20_000):
        page.click("#share-explain-link")
    page.select_option("#id_user", value=str(browser_users["rep2"].pk))
    page.click("#explain-form button[type=submit]")
    page.locator("#explain-result").wait_for(state="visible")
    assert page.locator("#explain-decision .text-bg-success").count() == 1  # same team now
    assert page.locator("#explain-mismatch").count() == 0
    screenshot(page, "access-explain")
