"""rep1 writes to a customer from the contact's page with a template; a real SMTP server (started by the test
fixtures) receives the email, and the contact's timeline shows it."""

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTACT_URL = re.compile(r"/contacts/\d+/$")


@pytest.fixture
def customer(browser_users, make_account):
    from guanxi.customers.models import AccountContact, Contact
    from guanxi.framework.services import record_create
    from guanxi.integrations.models import EmailTemplate

    account = make_account(name="闽江智能科技有限公司")
    contact = record_create(model=Contact, actor=browser_users["rep1"],
                            fields={"name": "林晓明", "email": "lin.xiaoming@example.com", "title": "采购经理"})
    AccountContact.objects.create(account=account, contact=contact, is_primary=True)
    EmailTemplate.objects.create(name="报价跟进", language="zh-hans", subject="{{ account.name }} 报价跟进",
                                 body="{{ contact.name }}您好：\n报价单已更新，请查收。\n{{ user.display_name }}")
    return account, contact


def test_send_an_email_from_a_contact_page_and_see_it_on_the_timeline(page, login, customer, smtp_mailer,
                                                                       screenshot):
    account, contact = customer
    login(page)
    page.goto(contact.get_absolute_url())
    page.click("#send-email")
    page.wait_for_url("**/email/compose/**")
    # The recipient is chosen by name; the address is masked.
    recipient = page.locator("#id_recipient option:checked").inner_text()
    assert "林晓明" in recipient and "l***@example.com" in recipient
    assert "lin.xiaoming@example.com" not in page.content()

    page.select_option("#id_template", label="报价跟进 (简体中文)")
    page.click("#apply-template")
    page.wait_for_function("() => document.getElementById('id_subject').value !== ''")
    assert page.input_value("#id_subject") == "闽江智能科技有限公司 报价跟进"
    assert page.input_value("#id_body").startswith("林晓明您好：")
    page.fill("#id_body", page.input_value("#id_body") + "\n附：交期为三周。")
    screenshot(page, "email-compose")
    page.click("#send-button")

    page.wait_for_url(CONTACT_URL)
    item = page.locator("#timeline li.timeline-item", has_text="闽江智能科技有限公司 报价跟进").first
    item.wait_for(state="visible")
    assert "交期为三周" in item.inner_text()
    item.scroll_into_view_if_needed()
    screenshot(page, "email-sent")

    [received] = smtp_mailer.wait_for(1)
    assert received.rcpt_tos == ["lin.xiaoming@example.com"]
    message = received.message
    assert message["Subject"] == "闽江智能科技有限公司 报价跟进"
    text = message.get_body(("plain",)).get_content()
    assert "林晓明您好" in text and "交期为三周" in text and "李销售" in text
