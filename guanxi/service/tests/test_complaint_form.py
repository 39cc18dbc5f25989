"""The public complaint form: creates a web ticket (matched to a known contact, acknowledged by email with
the status link), keeps the customer's input on errors, and refuses spam, floods and bad input with clear
messages — never a 500 — in both languages."""

import re

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from guanxi.customers.models import AccountContact
from guanxi.customers.tests.factories import AccountFactory, ContactFactory
from guanxi.integrations.models import OutboundEmail
from guanxi.service import ticket_services as svc
from guanxi.service.models import Ticket, TicketAttachment, TicketCategory

pytestmark = pytest.mark.django_db
URL = "/forms/complaint/"


@pytest.fixture(autouse=True)
def fresh(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def visitor():
    return Client(enforce_csrf_checks=True)


def csrf(client, lang):
    html = client.get(URL, {"lang": lang}).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def submit(client, lang="zh-hans", files=None, **data):
    body = {"name": "王芳", "email": "wang.fang@example.cn", "phone": "", "company_name": "宁波港务",
            "category": "", "product": "保温杯 X2", "order_ref": "SO-2026-001", "subject": "杯盖漏水",
            "description": "收到三天杯盖就漏水了。", "language": lang, "homepage": ""}
    body.update(data)
    body["csrfmiddlewaretoken"] = csrf(client, lang)
    if files:
        body["files"] = files
    return client.post(f"{URL}?lang={lang}", body)


def zh(text):
    with translation.override("zh-hans"):
        return gettext(text)


def test_the_form_in_both_languages(visitor):
    en = visitor.get(URL, {"lang": "en"})
    assert en.status_code == 200
    html = en.content.decode()
    assert 'lang="en"' in html and "Submit a complaint" in html and "中文" in html
    assert "Product quality" in html  # top-level categories, labelled
    assert "Packaging damaged" not in html  # subcategories are for agents
    assert 'name="csrfmiddlewaretoken"' in html and 'name="homepage"' in html
    assert 'name="viewport"' in html
    cn = visitor.get(URL, {"lang": "zh-hans"}).content.decode()
    assert 'lang="zh-hans"' in cn and escape(zh("Submit a complaint")) in cn
    assert escape(TicketCategory.objects.get(name="Product quality").label) in cn or "产品质量" in cn


def test_a_complaint_becomes_a_web_ticket_with_its_link(visitor, settings):
    quality = TicketCategory.objects.get(name="Product quality", parent=None)
    photo = SimpleUploadedFile("杯盖.jpg", b"\xff\xd8\xff jpeg", content_type="image/jpeg")
    response = submit(visitor, lang="en", category=str(quality.pk), files=[photo])
    assert response.status_code == 200, response.content.decode()[:2000]
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.kind, ticket.subject, ticket.language) == ("web", "complaint", "杯盖漏水", "en")
    assert ticket.category == quality and ticket.product == "保温杯 X2" and ticket.order_ref == "SO-2026-001"
    assert ticket.customer_email == "wang.fang@example.cn" and ticket.customer_name == "王芳（宁波港务）"
    assert ticket.created_by is None and ticket.contact is None
    assert TicketAttachment.objects.get(ticket=ticket).filename == "杯盖.jpg"
    html = response.content.decode()
    assert ticket.reference in html and "Thank you" in html
    link = re.search(r'id="status-link"[^>]*>([^<]+)<', html).group(1)
    assert svc.ticket_from_token(re.search(r"/support/t/([^/]+)/", link).group(1)) == ticket
    assert response["Referrer-Policy"] == "same-origin" and "no-store" in response["Cache-Control"]
    # The acknowledgement email with the link, in the customer's language.
    email = OutboundEmail.objects.get(to="wang.fang@example.cn")
    assert ticket.reference in email.subject and "We received your request" in email.subject
    assert svc.ticket_from_token(re.search(r"/support/t/([^/\s]+)/", email.body_text).group(1)) == ticket
    # The link works.
    page = visitor.get(link.replace("http://testserver", ""))
    assert page.status_code == 200 and "杯盖漏水" in page.content.decode()


def test_a_known_contact_is_matched_by_email_or_phone(visitor, users):
    account = AccountFactory(name="华东精密", owner=users["rep1"])
    contact = ContactFactory(name="王伟", email="wang.wei@example.cn", mobile="+8613800001234", owner=users["rep1"])
    AccountContact.objects.create(account=account, contact=contact, is_primary=True)
    submit(visitor, email="Wang.Wei@Example.CN")
    submit(visitor, email="", phone="138 0000 1234", subject="第二次投诉")
    tickets = list(Ticket.objects.order_by("pk"))
    assert [(t.contact, t.account) for t in tickets] == [(contact, account), (contact, account)]
    assert tickets[1].customer_phone == "+8613800001234"


def test_a_phone_number_does_not_redirect_the_link_to_another_address(visitor, users):
    ContactFactory(name="王伟", email="wang.wei@example.cn", mobile="+8613800001234", owner=users["rep1"])
    submit(visitor, email="someone.else@example.com", phone="13800001234")
    ticket = Ticket.objects.get()
    assert ticket.contact is None
    assert list(OutboundEmail.objects.values_list("to", flat=True)) == ["someone.else@example.com"]


def test_phone_only_is_enough(visitor):
    response = submit(visitor, lang="en", email="", phone="13800001234")
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.customer_phone == "+8613800001234" and ticket.customer_email == ""
    assert not OutboundEmail.objects.exists()


def test_honeypot_looks_like_success_and_saves_nothing(visitor):
    response = submit(visitor, lang="en", homepage="http://spam.example")
    assert response.status_code == 200 and "Thank you" in response.content.decode()
    assert not Ticket.objects.exists() and not OutboundEmail.objects.exists()


def test_rate_limit_per_address(visitor, settings):
    settings.GUANXI_COMPLAINT_RATE_LIMIT = 2
    assert submit(visitor).status_code == 200
    assert submit(visitor, subject="二").status_code == 200
    response = submit(visitor, lang="en", subject="三")
    assert response.status_code == 429 and "Too many submissions" in response.content.decode()
    assert "三" in response.content.decode()  # the input is kept
    assert Ticket.objects.count() == 2
    assert submit(Client(enforce_csrf_checks=True, REMOTE_ADDR="10.1.2.3"), subject="四").status_code == 200


def test_csrf_is_required(visitor):
    response = visitor.post(URL, {"name": "x", "email": "a@example.com", "subject": "s", "description": "d",
                                  "language": "en"})
    assert response.status_code == 403
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("data,message", [
    ({"email": "", "phone": ""}, "Leave an email address or a phone number so that we can reach you."),
    ({"email": "not-an-email"}, "Enter a valid email address."),
    ({"phone": "12345"}, "Enter a valid phone number."),
    ({"name": ""}, "This field is required."),
    ({"subject": "坏\x00了"}, "Null characters are not allowed."),
    ({"description": "x" * 10_001}, "Ensure this value has at most 10000 characters"),
    ({"subject": "x" * 201}, "Ensure this value has at most 200 characters"),
    ({"category": "999999"}, "Select a valid choice."),
    ({"language": "fr"}, "Select a valid choice."),
])
def test_bad_input_is_a_clear_error_and_keeps_the_input(visitor, data, message):
    response = submit(visitor, lang="en", **data)
    html = response.content.decode()
    assert response.status_code == 422
    assert message in html
    assert not Ticket.objects.exists()
    assert 'value="宁波港务"' in html and 'value="SO-2026-001"' in html  # nothing lost
    assert ("收到三天杯盖就漏水了。" in html) == ("description" not in data)


def test_errors_in_chinese(visitor):
    response = submit(visitor, lang="zh-hans", email="", phone="")
    assert response.status_code == 422
    assert escape(zh("Leave an email address or a phone number so that we can reach you.")) in \
        response.content.decode()


@pytest.mark.parametrize("files,message", [
    (lambda: [SimpleUploadedFile(f"{i}.jpg", b"jpeg") for i in range(4)], "Attach at most 3 files."),
    (lambda: [SimpleUploadedFile("evil.html", b"<script>")], "is not a file type we accept"),
    (lambda: [SimpleUploadedFile("empty.pdf", b"")], "is empty"),
])
def test_attachment_rules(visitor, files, message):
    response = submit(visitor, lang="en", files=files())
    html = response.content.decode()
    assert response.status_code == 422 and message in html
    assert 'id="files-lost"' in html
    assert not Ticket.objects.exists() and not TicketAttachment.objects.exists()


def test_attachment_size_limit(visitor, settings):
    settings.GUANXI_PUBLIC_MAX_ATTACHMENT_BYTES = 1024 * 1024
    big = SimpleUploadedFile("big.pdf", b"x" * (1024 * 1024 + 1))
    response = submit(visitor, lang="en", files=[big])
    assert response.status_code == 422 and "is larger than 1 MB" in response.content.decode()
    assert not Ticket.objects.exists()


def test_user_text_is_escaped(visitor):
    response = submit(visitor, lang="en", email="bad", subject="<script>alert(1)</script>")
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html and escape("<script>alert(1)</script>") in html


def test_huge_body_is_a_4xx_not_a_500(visitor, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    response = submit(visitor, lang="en", description="x" * 200_000)
    assert 400 <= response.status_code < 500
    assert not Ticket.objects.exists()
