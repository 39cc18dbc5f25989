"""Interactions in the browser: log a call from a contact page with the quick-log form, see it on the company
timeline; inline errors; filters and infinite scroll; the English labels; the form on a phone."""

import datetime

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMPANY = "闽江智能科技有限公司"


@pytest.fixture
def customer(browser_users, make_account):
    """A company of rep1's with one contact, created through the services (so their history exists)."""
    from guanxi.customers.models import Contact
    from guanxi.framework.services import record_create

    account = make_account(name=COMPANY, province="福建省", city="福州市", industry="manufacturing")
    contact = record_create(model=Contact, actor=browser_users["rep1"], fields={"name": "林晓明", "title": "采购经理"},
                            related={"accounts": [{"account": account, "role": "采购经理"}]})
    return account, contact


def mark_page(page):
    """A marker that survives htmx swaps but not a page load."""
    page.evaluate("() => { window.__samePage = true; }")


def still_same_page(page):
    return page.evaluate("() => window.__samePage === true")


def test_log_a_call_from_a_contact_page_and_see_it_on_the_company_timeline(page, login, customer, screenshot):
    account, contact = customer
    login(page)
    page.goto(contact.get_absolute_url())
    assert page.locator("#last-contacted").inner_text().strip() == "—"
    mark_page(page)

    form = page.locator("#quick-log")
    form.locator("label[for=log_kind_0]").click()  # 电话 (a call)
    assert page.locator("#log_kind_0").is_checked()
    page.fill("#log_occurred_at", "2026-03-02T14:30")
    page.fill("#log_duration_minutes", "25")
    page.select_option("#log_direction", "out")
    page.fill("#log_subject", "样机报价跟进")
    page.fill("#log_content", "客户关心交期。\n<script>alert('x')</script> 第二批需要 200 台。")
    page.fill("#log_outcome", "同意下周看样机")
    page.fill("#log_next_step", "寄送样机与报价单")
    page.fill("#log_next_step_due", "2026-03-09")
    page.click("#quick-log-save")

    page.locator("#quick-log-done").wait_for()
    assert "电话" in page.locator("#quick-log-done").inner_text()
    assert page.input_value("#log_subject") == ""  # a fresh form for the next one
    # Newest first: the call (2026-03-02) sits below the contact's own creation (today).
    newest = page.locator("#timeline > li[data-source=interaction]").first
    newest.locator(".tl-title", has_text="样机报价跟进").wait_for()
    text = newest.inner_text()
    assert "2026-03-02 14:30" in text and "李销售" in text
    assert "同意下周看样机" in text and "寄送样机与报价单" in text and "2026-03-09" in text
    assert "<script>alert('x')</script> 第二批需要 200 台。" in text  # shown as text, on its own line
    assert newest.locator("script").count() == 0
    # The summary follows without a reload.
    page.locator("#last-contacted", has_text="2026-03-02 14:30").wait_for()
    assert "寄送样机与报价单" in page.locator("#next-step").inner_text()
    assert still_same_page(page)

    # On the company: the same call, labelled with the contact it was about.
    page.locator("#contact-companies a", has_text=COMPANY).click()
    page.wait_for_url(f"**{account.get_absolute_url()}")
    item = page.locator("#timeline > li", has_text="样机报价跟进")
    assert item.count() == 1
    assert "林晓明" in item.locator(".tl-about").inner_text()
    assert "电话" in item.locator(".tl-kind").inner_text()
    assert "2026-03-02 14:30" in page.locator("#last-contacted").inner_text()
    # The company's own change history is still in the timeline.
    assert page.locator("#timeline > li[data-source=change]").count() >= 1
    item.scroll_into_view_if_needed()
    screenshot(page, "timeline-call-logged", full_page=True)


def test_errors_show_inline_and_nothing_is_logged(page, login, customer):
    from guanxi.activities.models import Interaction

    account, _contact = customer
    login(page)
    page.goto(account.get_absolute_url())
    mark_page(page)
    page.fill("#log_duration_minutes", "2000")
    page.fill("#log_subject", "超长会议")
    page.click("#quick-log-save")
    error = page.locator("#quick-log [data-error-for=duration_minutes]")
    error.wait_for()
    assert "1440" in error.inner_text()
    assert page.input_value("#log_subject") == "超长会议"  # what was typed stays
    assert still_same_page(page)
    assert not Interaction.objects.exists()
    # Correcting it logs it.
    page.fill("#log_duration_minutes", "90")
    page.click("#quick-log-save")
    page.locator("#quick-log-done").wait_for()
    assert Interaction.objects.get().duration_minutes == 90


def test_filters_and_infinite_scroll(page, login, customer, browser_users):
    from django.utils import timezone

    from guanxi.activities.models import Interaction

    account, contact = customer
    start = timezone.now() - datetime.timedelta(days=60)
    Interaction.objects.bulk_create([
        Interaction(account=account, contact=contact if n % 3 == 0 else None, kind="visit" if n % 5 == 0 else "call",
                    subject=f"第{n:02d}次沟通", occurred_at=start + datetime.timedelta(hours=n),
                    owner=browser_users["rep2"] if n == 7 else browser_users["rep1"])
        for n in range(30)
    ])
    login(page)
    page.goto(account.get_absolute_url())
    items = page.locator("#timeline > li.timeline-item")
    assert page.locator("#timeline > li", has_text="第29次沟通").count() == 1
    first_page = items.count()
    assert first_page == 20
    # Scrolling to the end loads the rest (the history of the company and contact included).
    for _ in range(5):
        items.last.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
    page.locator("#timeline > li", has_text="第00次沟通").wait_for()
    texts = items.all_inner_texts()
    assert len([t for t in texts if "次沟通" in t]) == 30

    page.select_option("#tl-kind", "visit")
    page.wait_for_function("() => document.querySelectorAll('#timeline > li.timeline-item').length === 6")
    assert all(k == "visit" for k in page.eval_on_selector_all("#timeline > li", "els => els.map(e => e.dataset.kind)"))
    page.select_option("#tl-kind", "")
    page.select_option("#tl-person", str(browser_users["rep2"].pk))
    page.wait_for_function("() => document.querySelectorAll('#timeline > li.timeline-item').length === 1")
    assert "第07次沟通" in items.first.inner_text()


def test_english_labels(page, login, customer, browser_users, screenshot):
    account, contact = customer
    rep1 = browser_users["rep1"]
    rep1.language = "en"
    rep1.save(update_fields=["language"])
    login(page)
    page.goto(contact.get_absolute_url())
    assert "Log a call, meeting, visit, note or message" in page.locator("#quick-log-title").inner_text()
    kinds = page.locator("#quick-log-kinds label").all_inner_texts()
    assert [k.strip() for k in kinds][:5] == ["Call", "Email", "Meeting", "Visit", "Note"]
    assert "Timeline" in page.locator("#timeline-card .card-header").inner_text()
    assert page.locator("#contact-follow-up dt").all_inner_texts() == ["Last contacted", "Next step"]
    page.locator("label[for=log_kind_2]").click()
    page.fill("#log_subject", "Kick-off meeting")
    page.click("#quick-log-save")
    page.locator("#quick-log-done", has_text="Meeting logged.").wait_for()
    item = page.locator("#timeline > li", has_text="Kick-off meeting")
    assert "Meeting" in item.locator(".tl-kind").inner_text()
    options = page.locator("#tl-kind option").all_inner_texts()
    assert options[0] == "All types" and "Changes" in options and "Task" in options


def test_quick_log_on_a_phone(phone_page, login, customer, screenshot):
    # On the contact page: the company page's relation graph (ECharts) throws on the resize that a
    # full-page screenshot makes on a phone, which is not this test's subject.
    page = phone_page
    _account, contact = customer
    login(page)
    page.goto(contact.get_absolute_url())
    page.locator("#quick-log").scroll_into_view_if_needed()
    page.locator("label[for=log_kind_3]").click()  # 拜访 (a visit)
    page.fill("#log_subject", "现场拜访")
    page.click("#quick-log-save")
    page.locator("#quick-log-done").wait_for()
    page.locator("#timeline > li", has_text="现场拜访").wait_for()
    # Nothing wider than the screen; the filters fold away behind a button.
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert not page.locator("#timeline-filters").is_visible()
    page.locator("#timeline-card button[data-bs-target='#timeline-filters']").click()
    page.locator("#tl-kind").wait_for(state="visible")
    screenshot(page, "timeline-phone", full_page=True)


def test_a_filter_change_while_the_next_page_loads(page, login, customer, browser_users):
    """The next page's request is held until the filtered list has replaced the old one: it must not be
    added after an item that is gone (htmx raised a JavaScript error, caught by the page fixture)."""
    from django.utils import timezone

    from guanxi.activities.models import Interaction

    account, _contact = customer
    start = timezone.now() - datetime.timedelta(days=60)
    Interaction.objects.bulk_create([
        Interaction(account=account, kind="visit" if n % 5 == 0 else "call", subject=f"第{n:02d}次沟通",
                    occurred_at=start + datetime.timedelta(hours=n), owner=browser_users["rep1"])
        for n in range(30)
    ])
    held = []
    page.route("**/timeline/**cursor=**", lambda route: held.append(route))
    login(page)
    page.goto(account.get_absolute_url())
    items = page.locator("#timeline > li.timeline-item")
    # The loading indicator can show before the request reaches the route handler: wait for the request.
    # Scroll again now and then: on a loaded machine the list can still be growing when the first scroll
    # lands, leaving the "load more" sentinel below the fold.
    for attempt in range(100):
        if held:
            break
        if attempt % 10 == 0:
            items.last.scroll_into_view_if_needed()
        page.wait_for_timeout(100)
    assert len(held) == 1
    page.select_option("#tl-kind", "visit")
    page.wait_for_function("() => document.querySelectorAll('#timeline > li.timeline-item').length === 6")
    for route in held:
        try:
            route.continue_()
        except Exception:  # the browser already cancelled it
            pass
    page.wait_for_timeout(1000)
    kinds = page.eval_on_selector_all("#timeline > li", "els => els.map(e => e.dataset.kind)")
    assert kinds == ["visit"] * 6
