"""The whole complaint loop in the browser (issue 6): a customer files a complaint on the public form, the
assignment rule routes it by category to the one free agent of the service team, who replies, adds an
internal note and escalates; the customer follows the ticket on the status page behind the signed link
(the reply shows, the internal note never does), answers, and rates the resolved ticket; the service team's
manager finds it in the complaint analytics and drills down to it.

Each person has a browser context of their own (own cookies); the customer's is anonymous. Any JavaScript
error or 5xx answer in any of them fails the test.
"""

import datetime
import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}  # as the other browser tests
PHONE = {"width": 390, "height": 844}
RULE_NAME = "产品质量投诉 → 客户服务部"
SUBJECT = "电饭煲内胆涂层脱落"
DESCRIPTION = "上周购买的智能电饭煲，使用三次后内胆涂层开始成片脱落，担心影响健康，希望尽快处理。"
PRODUCT = "智能电饭煲 X3"
REPLY = "王女士您好，非常抱歉给您带来不便。我们将为您免费更换内胆，请保留包装。"
NOTE = "内部备注：批次B-0457疑似涂层供应商问题，勿告知客户"
CUSTOMER_REPLY = "谢谢，新内胆已收到，使用正常。"
RATING_COMMENT = "处理很及时，客服态度很好。"


@pytest.fixture
def browser(chromium, live_server, browser_users, login):
    """browser(username=None) → a page in a new context: logged in as `username`, or anonymous (the
    customer). JavaScript errors and server errors of every context fail the test at teardown."""
    contexts, problems = [], []

    def open_page(username=None):
        context = chromium.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                       viewport=DESKTOP)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        who = username or "customer"
        page.on("pageerror", lambda exc: problems.append(f"{who}: JavaScript error: {exc}"))
        page.on("response", lambda r: r.status >= 500 and problems.append(
            f"{who}: server error {r.status} on {r.request.method} {r.url}"))
        return login(page, username) if username else page

    yield open_page
    for context in contexts:
        context.close()
    assert not problems, "; ".join(problems)


@pytest.fixture
def routing(browser_users):
    """Product-quality complaints go to 客户服务部 (least loaded); a billing rule before it sends billing
    to the sales team, so the match is by category. agent and supervisor already hold an open ticket each
    (agent's is a month old: its SLA is breached), so agent2 is the one free member."""
    from django.core.cache import cache
    from django.utils import timezone

    from guanxi.core.models import Team
    from guanxi.service.defaults import ensure_defaults
    from guanxi.service.models import TicketAssignmentRule, TicketCategory
    from guanxi.service.ticket_services import ticket_create

    cache.clear()  # the public pages' per-IP rate limits start from zero
    ensure_defaults()  # a flushing test before this one removed the seeded categories
    quality = TicketCategory.objects.get(name="Product quality", parent=None)
    billing = TicketCategory.objects.get(name="Billing", parent=None)
    delivery = TicketCategory.objects.get(name="Delivery", parent=None)
    service = Team.objects.get(name="客户服务部")
    TicketAssignmentRule.objects.create(name="账单问题 → 销售一组", category=billing,
                                        team=Team.objects.get(name="华东销售一组"), position=0)
    TicketAssignmentRule.objects.create(name=RULE_NAME, category=quality, team=service,
                                        method="least_loaded", position=10)
    month_ago = timezone.now() - datetime.timedelta(days=30)
    busy = {}
    for username, subject, at in (("agent", "物流延误两周未送达", month_ago), ("supervisor", "送错型号", None)):
        busy[username] = ticket_create(actor=None, at=at, notify_customer=False, fields={
            "subject": subject, "customer_name": "老客户", "customer_phone": "+8613800000001",
            "category": delivery, "owner": browser_users[username]})
    return {"quality": quality, "team": service, "busy": busy}


def test_complaint_loop_form_to_analytics(browser, routing, browser_users, screenshot):
    from guanxi.service.models import Ticket

    agent2 = browser_users["agent2"]
    tickets_before = Ticket.objects.count()

    # -- 1. The customer files a complaint. First in English, sent incomplete: the errors say what is missing.
    customer = browser()
    customer.goto("/forms/complaint/?lang=en")
    assert customer.locator("html").get_attribute("lang") == "en"
    assert customer.locator("h1").inner_text().strip() == "Submit a complaint"
    # The honeypot is off-screen, out of the tab order and hidden from screen readers.
    honeypot = customer.locator("#id_homepage")
    assert honeypot.get_attribute("tabindex") == "-1"
    assert customer.locator(".gx-hp").get_attribute("aria-hidden") == "true"
    box = honeypot.bounding_box()
    assert box is None or box["x"] + box["width"] <= 0
    customer.fill("#id_name", "Wang Li")
    customer.fill("#id_description", "The coating comes off.")
    with customer.expect_response(lambda r: r.request.method == "POST") as sent:
        customer.click("#complaint-form button[type=submit]")
    assert sent.value.status == 422
    errors = customer.locator("#complaint-errors").inner_text()
    assert "Leave an email address or a phone number" in errors
    assert "This field is required." in customer.locator("#id_subject ~ .invalid-feedback").first.inner_text()
    assert customer.input_value("#id_description") == "The coating comes off."  # the text is kept
    assert Ticket.objects.count() == tickets_before

    # A bot filling the honeypot gets the same thank-you page, without a ticket number; nothing is saved.
    customer.fill("#id_subject", "Cheap watches")
    customer.fill("#id_email", "bot@example.com")
    customer.evaluate("document.getElementById('id_homepage').value = 'http://spam.example'")
    customer.click("#complaint-form button[type=submit]")
    customer.locator("#complaint-thanks").wait_for()
    assert customer.locator("#ticket-reference").count() == 0
    assert Ticket.objects.count() == tickets_before

    # Then in Chinese (the language link), complete: category Product quality (产品质量).
    customer.goto("/forms/complaint/?lang=en")
    customer.click("a[hreflang=zh-hans]")
    customer.wait_for_url(re.compile(r"lang=zh-hans"))
    assert customer.locator("html").get_attribute("lang") == "zh-hans"
    customer.fill("#id_name", "王丽")
    customer.fill("#id_email", "wangli@example.cn")
    customer.fill("#id_phone", "13912345678")
    customer.select_option("#id_category", str(routing["quality"].pk))
    assert customer.locator("#id_category option:checked").inner_text() in ("产品质量", "Product quality")
    customer.fill("#id_product", PRODUCT)
    customer.fill("#id_order_ref", "JD20261128001")
    customer.fill("#id_subject", SUBJECT)
    customer.fill("#id_description", DESCRIPTION)
    assert customer.input_value("#id_language") == "zh-hans"
    screenshot(customer, "service-form")
    customer.click("#complaint-form button[type=submit]")
    customer.locator("#complaint-thanks").wait_for()
    ticket = Ticket.objects.get(subject=SUBJECT)
    assert customer.locator("#ticket-reference").inner_text().strip() == ticket.reference
    status_link = customer.locator("#status-link").get_attribute("href")
    assert "/support/t/" in status_link and status_link.endswith("?lang=zh-hans")
    screenshot(customer, "service-form-thanks")

    # -- 2. Routed by category to the free member of the service team.
    assert ticket.owner == agent2 and ticket.team == routing["team"] and ticket.category == routing["quality"]
    assert ticket.channel == "web" and ticket.kind == "complaint" and ticket.language == "zh-hans"
    assert ticket.status == "assigned"

    # -- 3. agent2 finds it in their tickets, replies, adds an internal note, escalates.
    agent = browser("agent2")
    agent.goto("/tickets/?mine=true")
    rows = agent.locator("#record-table tbody tr")
    assert rows.count() == 1  # the busy colleagues' tickets are not agent2's
    agent.locator("#record-table a", has_text=ticket.reference).first.click()
    agent.wait_for_url(f"**{ticket.get_absolute_url()}")
    assert agent2.display_name in agent.locator("#ticket-badges").inner_text()
    assert RULE_NAME in agent.locator("#ticket-history").inner_text()
    sla = agent.locator("#ticket-sla")
    assert sla.get_attribute("data-sla") in ("ok", "warning")  # a fresh ticket: the first-response clock runs
    assert SUBJECT in agent.locator("#ticket-description").inner_text()

    agent.fill("#reply-body", REPLY)
    agent.click("#reply-form button[type=submit]")
    agent.locator("#ticket-conversation article[data-kind=reply]").wait_for()
    assert REPLY in agent.locator("#ticket-conversation article[data-kind=reply]").inner_text()
    assert agent.locator("#ticket-flash").get_attribute("class").count("alert-success") == 1
    agent.locator("#ticket-status[data-status=in_progress]").wait_for()

    agent.click("#tab-note")
    agent.locator("#pane-note").wait_for(state="visible")
    agent.fill("#note-body", NOTE)
    agent.click("#note-form button[type=submit]")
    note = agent.locator("#ticket-conversation article[data-kind=note]")
    note.wait_for()
    assert NOTE in note.inner_text() and note.locator("[data-internal-badge]").count() == 1

    agent.once("dialog", lambda dialog: dialog.accept())
    agent.click("#btn-escalate")
    agent.locator("#ticket-escalated").wait_for()
    ticket.refresh_from_db()
    assert ticket.escalated_to == browser_users["supervisor"]
    agent.locator("#ticket-conversation").scroll_into_view_if_needed()
    screenshot(agent, "service-ticket")

    # -- 4. The customer opens the status link: the reply is there, the internal note is not; they answer.
    customer.goto(status_link)
    conversation = customer.locator("section[aria-labelledby=conversation-title]")
    assert REPLY in conversation.inner_text()
    content = customer.content()
    assert NOTE not in content and "B-0457" not in content
    assert browser_users["supervisor"].display_name not in content  # the escalation stays internal
    assert customer.locator("#ticket-reference").inner_text().strip() == ticket.reference
    customer.fill("#reply textarea[name=body]", CUSTOMER_REPLY)
    customer.click("#reply button[type=submit]")
    customer.wait_for_url(re.compile(r"done=reply"))
    customer.locator("#status-notice").wait_for()
    assert CUSTOMER_REPLY in conversation.inner_text()
    screenshot(customer, "service-status")

    # -- 5. agent2 sees the answer and resolves the ticket; the SLA badge says met.
    agent.reload()
    customer_message = agent.locator("#ticket-conversation article[data-kind=customer]")
    assert CUSTOMER_REPLY in customer_message.inner_text()
    agent.click("#btn-resolve")
    agent.locator("#ticket-status[data-status=resolved]").wait_for()
    assert agent.locator("#ticket-sla").get_attribute("data-sla") == "met"
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.resolved_at is not None

    # -- 6. The customer reloads, rates 5 with a comment and is thanked.
    customer.goto(status_link)
    customer.locator("#rating").wait_for()
    customer.check("#rating input[name=score][value='5']")
    customer.fill("#rating textarea[name=comment]", RATING_COMMENT)
    customer.click("#rating button[type=submit]")
    customer.wait_for_url(re.compile(r"done=rated"))
    customer.locator("#rating-thanks").wait_for()
    assert "5/5" in customer.locator("#rating-thanks").inner_text()
    assert customer.locator("#rating").count() == 0
    ticket.refresh_from_db()
    assert ticket.csat_score == 5 and ticket.csat_comment == RATING_COMMENT
    screenshot(customer, "service-status-rated")

    # The same page in English: labels, progress and the thank-you in English.
    customer.goto(status_link.replace("lang=zh-hans", "lang=en"))
    assert customer.locator("html").get_attribute("lang") == "en"
    assert customer.locator("#conversation-title").inner_text().strip() == "Conversation"
    assert customer.locator(".gx-steps li[aria-current=step]").inner_text().strip() == "Resolved"
    assert "You rated us 5/5. Thank you for your feedback!" in customer.locator("#rating-thanks").inner_text()
    assert "Write to us" in customer.locator("#reply").inner_text()
    assert NOTE not in customer.content()
    # On a phone the status page fits the screen (no sideways scrolling).
    customer.set_viewport_size(PHONE)
    assert customer.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(customer, "service-status-phone")

    # -- 7. The supervisor (manager of 客户服务部) sees it in the analytics and drills down to it.
    supervisor = browser("supervisor")
    supervisor.goto("/service/analytics/")
    supervisor.locator("#analytics-kpis").wait_for()
    assert supervisor.locator("[data-kpi=total]").inner_text().strip() == "3"  # ours and the two busy ones
    assert supervisor.locator("[data-kpi=csat]").inner_text().strip() == "5.00 / 5"
    categories = supervisor.locator("#analytics-categories tbody tr.fw-semibold", has_text="Product quality")
    if categories.count() == 0:  # once the catalogue translates the seeded name
        categories = supervisor.locator("#analytics-categories tbody tr.fw-semibold", has_text="产品质量")
    assert categories.locator("td").last.inner_text().strip() == "1"
    supervisor.locator("[data-chart=categories] canvas").first.wait_for()  # ECharts drew
    supervisor.wait_for_timeout(1200)  # the bars' grow-in animation ends (for the screenshot)
    screenshot(supervisor, "service-analytics")
    supervisor.locator("#analytics-categories").scroll_into_view_if_needed()
    screenshot(supervisor, "service-analytics-categories")

    supervisor.locator("#analytics-csat tr[data-score='5'] a").click()
    supervisor.wait_for_url(re.compile(r"/tickets/\?.*csat=5"))
    listed = supervisor.locator("#record-table tbody tr")
    assert listed.count() == 1 and ticket.reference in listed.first.inner_text()
    supervisor.locator("#record-table a", has_text=ticket.reference).first.click()
    supervisor.wait_for_url(f"**{ticket.get_absolute_url()}")
    assert supervisor.locator("#ticket-csat [data-score]").get_attribute("data-score") == "5"
    assert RATING_COMMENT in supervisor.locator("#ticket-csat").inner_text()
    assert NOTE in supervisor.locator("#ticket-conversation").inner_text()  # colleagues do see the note


def test_breached_sla_badge_on_a_colleagues_ticket(browser, routing, browser_users):
    """A month-old unanswered ticket: a red SLA badge on its page, even before the SLA sweep stamps it."""
    late = routing["busy"]["agent"]
    agent = browser("agent2")  # a team colleague: the team scope shows agent's tickets
    agent.goto(late.get_absolute_url())
    badge = agent.locator("#ticket-sla")
    assert badge.get_attribute("data-sla") == "breached"
    assert "text-bg-danger" in badge.get_attribute("class")
