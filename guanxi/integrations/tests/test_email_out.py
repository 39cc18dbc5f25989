"""Email out from a record, delivered to a real SMTP server (aiosmtpd, started by the test fixtures), logged on
the timeline; templates in both languages, sandboxed; access: nothing sent or logged for a hidden contact."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from guanxi.activities.models import Interaction
from guanxi.core.models import AuditEvent
from guanxi.customers.models import AccountContact
from guanxi.customers.tests.factories import AccountFactory, ContactFactory
from guanxi.integrations.email_out import email_send
from guanxi.integrations.email_templates import render_email_template, validate_template
from guanxi.integrations.models import EmailTemplate, OutboundEmail

pytestmark = pytest.mark.django_db

COMPOSE = reverse("integrations:email_compose")
BODY = "王经理您好：\n附件是第二版报价单，请审阅。"


@pytest.fixture
def customer(users):
    account = AccountFactory(name="华东精密", owner=users["rep1"])
    contact = ContactFactory(name="王伟", email="wang.wei@example.cn", owner=users["rep1"])
    AccountContact.objects.create(account=account, contact=contact, is_primary=True)
    return account, contact


@pytest.fixture
def rep2_contact(users):
    account = AccountFactory(name="张氏物流", owner=users["rep2"])
    return ContactFactory(name="张敏", email="zhang.min@example.cn", owner=users["rep2"], companies=[account])


@pytest.fixture
def templates():
    zh = EmailTemplate.objects.create(name="报价跟进", language="zh-hans", subject="{{ account.name }} 报价跟进",
                                      body="{{ contact.name }}您好：\n附件是报价单。\n{{ user.display_name }}")
    en = EmailTemplate.objects.create(name="报价跟进", language="en", subject="Quote for {{ account.name }}",
                                      body="Dear {{ contact.name }},\nplease find our quote.\n{{ user.display_name }}")
    return zh, en


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """`with commit():` runs what the code scheduled for after its commit (the delivery) at the block's end:
    the test's own transaction never commits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def nothing_sent_or_logged(smtp_server):
    return not Interaction.objects.exists() and not OutboundEmail.objects.exists() and smtp_server.messages == []


def test_an_email_sent_from_a_contact_page_reaches_the_smtp_server_and_the_timeline(client_rep1, customer,
                                                                                      smtp_mailer, users, commit):
    account, contact = customer
    page = client_rep1.get(COMPOSE, {"contact": contact.pk})
    assert page.status_code == 200
    html = page.content.decode()
    # The user picks the person; the address stays masked on the page.
    assert "王伟" in html and "w***@example.cn" in html and "wang.wei@example.cn" not in html
    with commit():
        response = client_rep1.post(f"{COMPOSE}?contact={contact.pk}", {
            "recipient": contact.pk, "subject": "报价单：华东精密 第二版", "body": BODY})
    assert response.status_code == 302 and response.url == contact.get_absolute_url()

    [received] = smtp_mailer.wait_for(1)
    assert received.rcpt_tos == ["wang.wei@example.cn"]
    sent = received.message
    assert sent["Subject"] == "报价单：华东精密 第二版"
    assert sent.get_body(("plain",)).get_content().replace("\r\n", "\n").strip() == BODY
    assert sent["Reply-To"] == "rep1@demo.guanxi.local"

    email = Interaction.objects.get()
    assert (email.kind, email.direction, email.contact, email.account, email.owner) == (
        "email", "out", contact, account, users["rep1"])
    assert email.subject == "报价单：华东精密 第二版" and email.email_to == "wang.wei@example.cn"
    assert sent["Message-ID"] == email.message_id and email.thread_key == email.message_id
    outbox = OutboundEmail.objects.get()
    assert outbox.status == "sent" and outbox.interaction == email and outbox.message_id == email.message_id
    # Logged: the interaction's audit row names the actor and the contact.
    audit = AuditEvent.objects.get(record_type="activities.interaction", record_id=email.pk, action="create")
    assert audit.actor == users["rep1"]
    # The contact's page shows it.
    assert "报价单：华东精密 第二版" in client_rep1.get(contact.get_absolute_url()).content.decode()


def test_an_email_from_a_company_page_offers_only_its_visible_contacts_with_an_address(client_rep1, customer, users,
                                                                                        smtp_mailer, commit):
    account, contact = customer
    ContactFactory(name="没有邮箱", email="", owner=users["rep1"], companies=[account])
    hidden = ContactFactory(name="张敏", email="zhang.min@example.cn", owner=users["rep2"], companies=[account])
    html = client_rep1.get(COMPOSE, {"account": account.pk}).content.decode()
    assert "王伟" in html and "没有邮箱" not in html and "张敏" not in html
    # A contact the user cannot see is answered 404 even when posted by hand; nothing is sent or logged.
    with commit():
        response = client_rep1.post(f"{COMPOSE}?account={account.pk}",
                                    {"recipient": hidden.pk, "subject": "x", "body": "y"})
    assert response.status_code == 404
    assert nothing_sent_or_logged(smtp_mailer)
    with commit():
        response = client_rep1.post(f"{COMPOSE}?account={account.pk}",
                                    {"recipient": contact.pk, "subject": "来自公司页面", "body": "正文"})
    assert response.status_code == 302 and response.url == account.get_absolute_url()
    assert smtp_mailer.wait_for(1)[0].rcpt_tos == ["wang.wei@example.cn"]
    assert Interaction.objects.get().account == account


def test_rep1_cannot_send_to_rep2s_contact(client_rep1, rep1, rep2_contact, customer, smtp_mailer, commit):
    assert client_rep1.get(COMPOSE, {"contact": rep2_contact.pk}).status_code == 404
    with commit():
        response = client_rep1.post(f"{COMPOSE}?contact={rep2_contact.pk}",
                                    {"recipient": rep2_contact.pk, "subject": "x", "body": "y"})
        assert response.status_code == 404
        # Nor through their own contact's page with the other id posted.
        _account, own = customer
        response = client_rep1.post(f"{COMPOSE}?contact={own.pk}",
                                    {"recipient": rep2_contact.pk, "subject": "x", "body": "y"})
        assert response.status_code == 404
        with pytest.raises(type(rep2_contact).DoesNotExist):
            email_send(actor=rep1, contact=rep2_contact.pk, subject="x", body="y")
    assert nothing_sent_or_logged(smtp_mailer)
    assert not AuditEvent.objects.filter(record_type="activities.interaction").exists()


def test_the_manager_can_send_to_a_subordinates_contact(client_manager, rep2_contact, smtp_mailer, commit):
    with commit():
        response = client_manager.post(f"{COMPOSE}?contact={rep2_contact.pk}",
                                       {"recipient": rep2_contact.pk, "subject": "经理来信", "body": "你好"})
    assert response.status_code == 302
    assert smtp_mailer.wait_for(1)[0].rcpt_tos == ["zhang.min@example.cn"]


def test_a_role_that_cannot_log_interactions_gets_403(client_for, customer, smtp_mailer, commit):
    _account, contact = customer
    marketer = client_for("marketer")  # sees every contact, logs nothing
    assert marketer.get(COMPOSE, {"contact": contact.pk}).status_code == 403
    with commit():
        response = marketer.post(f"{COMPOSE}?contact={contact.pk}",
                                 {"recipient": contact.pk, "subject": "x", "body": "y"})
    assert response.status_code == 403
    assert nothing_sent_or_logged(smtp_mailer)
    assert 'id="send-email"' not in marketer.get(contact.get_absolute_url()).content.decode()


def test_the_send_button_shows_on_contact_and_company_pages(client_rep1, customer):
    account, contact = customer
    assert f"{COMPOSE}?contact={contact.pk}" in client_rep1.get(contact.get_absolute_url()).content.decode()
    assert f"{COMPOSE}?account={account.pk}" in client_rep1.get(account.get_absolute_url()).content.decode()


@pytest.mark.parametrize("params", [{}, {"contact": "abc"}, {"contact": "99999999"}, {"account": "-1"},
                                    {"contact": "²"}])
def test_bad_targets_are_404(client_rep1, params, customer):
    assert client_rep1.get(COMPOSE, params).status_code == 404


def test_bad_input_is_refused_with_400_and_nothing_sent(client_rep1, customer, smtp_mailer, commit):
    _account, contact = customer
    url = f"{COMPOSE}?contact={contact.pk}"
    for data in ({"recipient": contact.pk, "subject": "", "body": "正文"},
                 {"recipient": contact.pk, "subject": "主题", "body": "   "},
                 {"recipient": contact.pk, "subject": "x" * 301, "body": "y"},
                 {"recipient": "", "subject": "主题", "body": "正文"},
                 {"recipient": contact.pk, "subject": "主题", "body": "a\x00b"}):
        with commit():
            response = client_rep1.post(url, data)
        assert response.status_code == 400, data
    assert nothing_sent_or_logged(smtp_mailer)


def test_a_subject_cannot_add_headers(rep1, customer, smtp_mailer, commit):
    _account, contact = customer
    with commit():
        email_send(actor=rep1, contact=contact, subject="报价\r\nBcc: evil@example.com", body="正文")
    [received] = smtp_mailer.wait_for(1)
    assert received.rcpt_tos == ["wang.wei@example.cn"]
    assert received.message["Subject"] == "报价 Bcc: evil@example.com" and received.message["Bcc"] is None


def test_a_reply_carries_in_reply_to_and_joins_the_thread(client_rep1, rep1, customer, smtp_mailer, commit):
    _account, contact = customer
    with commit():
        first = email_send(actor=rep1, contact=contact, subject="合作意向", body="您好")
    page = client_rep1.get(COMPOSE, {"contact": contact.pk, "reply_to": first.pk})
    assert page.status_code == 200 and "Re: 合作意向" in page.content.decode()
    with commit():
        response = client_rep1.post(f"{COMPOSE}?contact={contact.pk}&reply_to={first.pk}",
                                    {"recipient": contact.pk, "subject": "Re: 合作意向", "body": "补充一点"})
    assert response.status_code == 302
    _first_mail, reply_mail = smtp_mailer.wait_for(2)
    assert reply_mail.message["In-Reply-To"] == first.message_id
    assert first.message_id in reply_mail.message["References"]
    reply = Interaction.objects.exclude(pk=first.pk).get()
    assert reply.in_reply_to == first.message_id and reply.thread_key == first.thread_key == first.message_id


def test_a_reply_to_an_email_the_user_cannot_see_is_404(client_rep1, users, rep2_contact, customer):
    theirs = email_send(actor=users["rep2"], contact=rep2_contact, subject="内部", body="x")
    _account, contact = customer
    response = client_rep1.get(COMPOSE, {"contact": contact.pk, "reply_to": theirs.pk})
    assert response.status_code == 404


def test_emails_on_a_company_rep1_cannot_see_do_not_show_to_rep1(client_rep1, client_for, users, rep2_contact):
    email = email_send(actor=users["rep2"], contact=rep2_contact, subject="张氏物流报价", body="机密报价")
    assert client_rep1.get(reverse("activities:interaction_detail", args=[email.pk])).status_code == 404
    assert "张氏物流报价" not in client_rep1.get(reverse("activities:interaction_list")).content.decode()
    rep2 = client_for("rep2")
    assert "张氏物流报价" in rep2.get(reverse("activities:interaction_list")).content.decode()


# -- templates -------------------------------------------------------------------------------------


def test_templates_fill_in_the_placeholders_in_both_languages(client_rep1, customer, templates, smtp_mailer, commit):
    account, contact = customer
    zh, en = templates
    url = f"{COMPOSE}?contact={contact.pk}"
    with commit():
        page = client_rep1.post(url, {"recipient": contact.pk, "template": zh.pk, "apply_template": "1"})
    assert page.status_code == 200
    form = page.context["form"]
    assert form["subject"].value() == "华东精密 报价跟进"
    assert form["body"].value() == "王伟您好：\n附件是报价单。\n李销售"
    page = client_rep1.post(url, {"recipient": contact.pk, "template": en.pk, "apply_template": "1"})
    form = page.context["form"]
    assert form["subject"].value() == "Quote for 华东精密"
    assert form["body"].value() == "Dear 王伟,\nplease find our quote.\n李销售"
    assert smtp_mailer.messages == [] and not Interaction.objects.exists()  # filling in sends nothing


def test_placeholder_values_are_text_not_template_code(customer, rep1):
    account, contact = customer
    contact.name = "{{ user.password }} & <b>王</b>"
    template = EmailTemplate(name="t", language="en", subject="Hi {{ contact.name }}\nBcc: x",
                             body="{{ contact.name }} / {{ account.name|upper }}")
    subject, body = render_email_template(template, contact=contact, account=account, user=rep1)
    assert subject == "Hi {{ user.password }} & <b>王</b> Bcc: x"  # one line; the value is not rendered again
    assert body == "{{ user.password }} & <b>王</b> / 华东精密"


@pytest.mark.parametrize("source", [
    "{{ contact.email }}", "{{ contact.mobile }}", "{{ user.password }}", "{{ contact }}", "{{ request.user }}",
    "{% load static %}", "{% include 'base.html' %}", "{% debug %}", "{% extends 'base.html' %}",
    "{% if contact.name %}x{% endif %}", "{% for c in contact %}{% endfor %}", "{{ contact.name|safe }}",
    "{{ contact.name|default:user.password }}", "{{ contact.name.__class__ }}", "{% csrf_token %}",
    "{{ 'literal' }}", "{% url 'home' %}",
])
def test_unknown_placeholders_and_template_tags_are_refused(source):
    with pytest.raises(ValidationError):
        validate_template(source)


def test_administrators_manage_templates_audited(client_for, users):
    admin = client_for("admin")
    url = reverse("integrations:email_template_add")
    response = admin.post(url, {"name": "节日问候", "language": "zh-hans", "subject": "{{ contact.name }}，节日快乐",
                                "body": "{{ contact.name }}您好，{{ user.display_name }}祝您节日快乐。"})
    assert response.status_code == 302
    template = EmailTemplate.objects.get()
    event = AuditEvent.objects.get(action="settings_change", record_type="integrations.emailtemplate")
    assert event.actor == users["admin"] and event.data["operation"] == "add"
    # Unknown placeholders and tags are refused with the reason, nothing saved or audited.
    users["admin"].language = "en"
    users["admin"].save(update_fields=["language"])  # the page speaks the user's language
    with translation.override("en"):
        response = admin.post(reverse("integrations:email_template_edit", args=[template.pk]), {
            "name": "节日问候", "language": "zh-hans", "subject": "{{ contact.email }}", "body": "{% load static %}"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Unknown placeholder" in html and "contact.email" in html and "load" in html
    template.refresh_from_db()
    assert template.subject == "{{ contact.name }}，节日快乐"
    assert AuditEvent.objects.filter(action="settings_change").count() == 1
    assert "节日问候" in admin.get(reverse("integrations:email_template_list")).content.decode()
    assert admin.post(reverse("integrations:email_template_delete", args=[template.pk])).status_code == 302
    assert not EmailTemplate.objects.exists()
    assert AuditEvent.objects.filter(action="settings_change").count() == 2


def test_template_pages_are_404_for_non_administrators(client_rep1, templates):
    zh, _en = templates
    assert client_rep1.get(reverse("integrations:email_template_list")).status_code == 404
    assert client_rep1.get(reverse("integrations:email_template_add")).status_code == 404
    assert client_rep1.post(reverse("integrations:email_template_delete", args=[zh.pk])).status_code == 404
    assert EmailTemplate.objects.count() == 2 and not AuditEvent.objects.filter(action="settings_change").exists()


def test_the_address_an_email_went_to_is_masked_like_the_contacts_own(api, rep1, customer, smtp_mailer):
    _account, contact = customer
    email = email_send(actor=rep1, contact=contact, subject="地址打码", body="正文")
    body = api.get(f"/api/v1/interactions/{email.pk}").json()
    assert body["email_to"] == "w***@example.cn" and "wang.wei" not in str(body)
    audit = AuditEvent.objects.get(record_type="activities.interaction", record_id=email.pk, action="create")
    assert "wang.wei@example.cn" not in str(audit.data) and "w***@example.cn" in str(audit.data)


def test_the_user_menu_links_mailboxes_for_everyone_and_templates_for_administrators(client_rep1, client_for):
    mailboxes, templates = reverse("integrations:mailbox_list"), reverse("integrations:email_template_list")
    html = client_rep1.get("/").content.decode()
    assert f'href="{mailboxes}"' in html and f'href="{templates}"' not in html
    html = client_for("admin").get("/").content.decode()
    assert f'href="{mailboxes}"' in html and f'href="{templates}"' in html
