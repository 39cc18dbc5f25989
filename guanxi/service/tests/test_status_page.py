"""The customer's ticket status page behind its signed link: it opens one ticket only, cannot be guessed,
never shows internal notes, internal files or anyone else's data, and takes the customer's replies and one
rating per resolution — in both languages, without JavaScript, with CSRF and a rate limit."""

import re

import pytest
from django.core import signing
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from guanxi.service import ticket_services as svc
from guanxi.service.choices import MessageKind, TicketStatus
from guanxi.service.models import TicketAttachment, TicketMessage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def visitor():
    """An anonymous browser with CSRF checks on, as in production."""
    return Client(enforce_csrf_checks=True)


def make_ticket(users, *, subject="包装破损", email="zhang@example.com", language="zh-hans", **extra):
    ticket = svc.ticket_create(actor=users["agent"], fields={
        "subject": subject, "description": "收到的箱子破了。", "customer_name": "张先生", "customer_email": email,
        "channel": "web", "language": language, "owner": users["agent"], **extra})
    ticket.refresh_from_db()
    return ticket


def url(ticket, **params):
    base = reverse("service_public:status", args=[svc.status_token(ticket)])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def csrf(client, page_url):
    html = client.get(page_url).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def post(client, page_url, **data):
    return client.post(page_url, {"csrfmiddlewaretoken": csrf(client, page_url), **data})


def test_the_page_shows_the_ticket_in_its_language_with_private_headers(visitor, users):
    ticket = make_ticket(users)
    svc.ticket_reply(actor=users["agent"], ticket=ticket, body="您好，我们会补发一个新箱子。")
    response = visitor.get(url(ticket))
    html = response.content.decode()
    assert response.status_code == 200
    assert ticket.reference in html and "包装破损" in html and "我们会补发一个新箱子" in html
    assert 'lang="zh-hans"' in html
    assert response["Referrer-Policy"] == "same-origin"
    assert "noindex" in response["X-Robots-Tag"]
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    # The agent by display name only; the stepper marks "being handled" as current.
    assert str(users["agent"]) in html
    assert users["agent"].email not in html
    from django.utils import translation
    from django.utils.translation import gettext
    with translation.override("zh-hans"):
        handling = gettext("Being handled")
    assert f'class="current" aria-current="step">{handling}<' in html
    english = visitor.get(url(ticket, lang="en")).content.decode()
    assert 'lang="en"' in english and "Being handled" in english and "Write to us" in english
    assert "?lang=en" in re.search(r'<form method="post" action="([^"]+)"', english).group(1)


def test_english_ticket_defaults_to_english(visitor, users):
    ticket = make_ticket(users, language="en", subject="Broken box")
    html = visitor.get(url(ticket)).content.decode()
    assert 'lang="en"' in html and "Your request" in html
    assert "中文" in html  # the switch to the other language


def test_a_staff_members_session_language_is_left_alone(client_for, users):
    """An agent opening a customer's link in English keeps working in Chinese afterwards."""
    ticket = make_ticket(users, language="en")
    client = client_for("agent")
    assert 'lang="en"' in client.get(url(ticket, lang="en")).content.decode()
    home = client.get(reverse("home")).content.decode()
    assert '<html lang="zh-CN">' in home


@pytest.mark.parametrize("mangle", ["tamper", "other_id", "random", "empty_key"])
def test_the_link_cannot_be_guessed(visitor, users, mangle):
    ticket = make_ticket(users)
    other = make_ticket(users, subject="另一个客户的问题", email="li@example.com")
    token = svc.status_token(ticket)
    if mangle == "tamper":
        bad = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif mangle == "other_id":  # this ticket's token with another ticket's id put in, signature kept
        payload, rest = token.split(":", 1)
        forged = signing.b64_encode(f'[{other.pk},"{ticket.access_key}"]'.encode()).decode()
        assert forged != payload
        bad = forged + ":" + rest
    elif mangle == "random":
        bad = "x" * 40
    else:
        bad = signing.dumps([ticket.pk, ""], salt=svc.LINK_SALT, compress=False)
    response = visitor.get(reverse("service_public:status", args=[bad]))
    html = response.content.decode()
    assert response.status_code == 404
    assert 'id="link-invalid"' in html
    assert "包装破损" not in html and "另一个客户" not in html
    assert response["Referrer-Policy"] == "same-origin"


def test_signed_key_of_one_ticket_does_not_open_another(visitor, users):
    ticket = make_ticket(users)
    other = make_ticket(users, subject="另一个客户的问题", email="li@example.com")
    forged = signing.dumps([other.pk, ticket.access_key], salt=svc.LINK_SALT, compress=False)
    assert visitor.get(reverse("service_public:status", args=[forged])).status_code == 404
    html = visitor.get(url(ticket)).content.decode()
    assert "另一个客户" not in html and "li@example.com" not in html


def test_a_missing_ticket_and_a_bad_link_look_the_same(visitor, users):
    ticket = make_ticket(users)
    gone = signing.dumps([ticket.pk + 1000, "abc"], salt=svc.LINK_SALT, compress=False)
    a = visitor.get(reverse("service_public:status", args=[gone]), {"lang": "en"})
    b = visitor.get(reverse("service_public:status", args=["nonsense"]), {"lang": "en"})
    assert a.status_code == b.status_code == 404
    assert a.content == b.content
    assert "This link is not valid or has expired" in a.content.decode()


def test_no_internal_note_and_no_internal_file(visitor, users):
    ticket = make_ticket(users)
    svc.ticket_note(actor=users["agent"], ticket=ticket, body="INTERNAL-ZEBRA-42 客户很难缠",
                    files=[SimpleUploadedFile("secret-plan.txt", b"internal only")])
    svc.ticket_reply(actor=users["agent"], ticket=ticket, body="已为您安排补发。",
                     files=[SimpleUploadedFile("发货单.pdf", b"%PDF public")])
    svc.ticket_set_status(actor=users["agent"], ticket=ticket, status=TicketStatus.WAITING, note="NOTE-OKAPI-7")
    html = visitor.get(url(ticket)).content.decode()
    assert "INTERNAL-ZEBRA-42" not in html and "NOTE-OKAPI-7" not in html and "secret-plan" not in html
    assert "已为您安排补发" in html and "发货单.pdf" in html
    internal = TicketAttachment.objects.get(filename="secret-plan.txt")
    public = TicketAttachment.objects.get(filename="发货单.pdf")
    token = svc.status_token(ticket)
    ok = visitor.get(reverse("service_public:status_attachment", args=[token, public.pk]))
    assert ok.status_code == 200 and b"".join(ok.streaming_content) == b"%PDF public"
    assert ok["Content-Disposition"].startswith("attachment")
    assert ok["Content-Type"] == "application/octet-stream"
    assert visitor.get(reverse("service_public:status_attachment", args=[token, internal.pk])).status_code == 404
    # Another ticket's public file through this ticket's link: not found either.
    other = svc.ticket_create(actor=None, fields={"subject": "x", "customer_email": "li@example.com",
                                                  "channel": "web"},
                              files=[SimpleUploadedFile("li.txt", b"li's file")])
    theirs = TicketAttachment.objects.get(ticket=other)
    assert visitor.get(reverse("service_public:status_attachment", args=[token, theirs.pk])).status_code == 404
    assert visitor.get(reverse("service_public:status_attachment", args=["bad", public.pk])).status_code == 404


def test_no_other_customers_data(visitor, users):
    ticket = make_ticket(users)
    other = make_ticket(users, subject="OTHER-CUSTOMER-SUBJECT", email="li@example.com")
    svc.ticket_reply(actor=users["agent"], ticket=other, body="OTHER-CUSTOMER-REPLY")
    html = visitor.get(url(ticket)).content.decode()
    for secret in ("OTHER-CUSTOMER", "li@example.com", other.reference):
        assert secret not in html


def test_revoked_link_is_404_and_the_renewed_one_works(visitor, users):
    ticket = make_ticket(users)
    old = url(ticket)
    svc.ticket_link_revoke(actor=users["agent"], ticket=ticket)
    assert visitor.get(old).status_code == 404
    svc.ticket_link_renew(actor=users["agent"], ticket=ticket, send=False)
    ticket.refresh_from_db()
    assert visitor.get(old).status_code == 404
    assert visitor.get(url(ticket)).status_code == 200


def test_customer_reply_reaches_the_ticket(visitor, users):
    ticket = make_ticket(users)
    page = url(ticket)
    response = post(visitor, page, action="reply", body="箱子照片见附件。")
    assert response.status_code == 302 and "done=reply" in response["Location"]
    message = TicketMessage.objects.get(ticket=ticket, kind=MessageKind.CUSTOMER)
    assert message.body == "箱子照片见附件。"
    html = visitor.get(response["Location"]).content.decode()
    assert "箱子照片见附件" in html


def test_reply_with_attachment_and_file_rules(visitor, users):
    ticket = make_ticket(users)
    page = url(ticket, lang="en")
    photo = SimpleUploadedFile("box.jpg", b"\xff\xd8\xff jpeg", content_type="image/jpeg")
    assert post(visitor, page, action="reply", body="photo", files=photo).status_code == 302
    assert TicketAttachment.objects.filter(ticket=ticket, filename="box.jpg", is_public=True).exists()
    script = SimpleUploadedFile("run.exe", b"MZ", content_type="application/octet-stream")
    response = post(visitor, page, action="reply", body="exe", files=script)
    assert response.status_code == 422 and "not a file type we accept" in response.content.decode()
    assert not TicketMessage.objects.filter(body="exe").exists()


def test_resolved_ticket_reopens_on_reply(visitor, users):
    ticket = make_ticket(users)
    svc.ticket_set_status(actor=users["agent"], ticket=ticket, status=TicketStatus.RESOLVED)
    html = visitor.get(url(ticket, lang="en")).content.decode()
    assert "your ticket will be reopened" in html
    # The stepper: resolved is current; the "waiting for you" detour was never taken, so it is not done.
    assert '<li class="current" aria-current="step">Resolved</li>' in html
    assert '<li class="">Waiting for you</li>' in html and '<li class="done">Being handled</li>' in html
    assert post(visitor, url(ticket), action="reply", body="还是坏的").status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.reopened_count == 1


def test_closed_ticket_refuses_replies(visitor, users):
    ticket = make_ticket(users)
    svc.ticket_set_status(actor=users["agent"], ticket=ticket, status=TicketStatus.CLOSED)
    html = visitor.get(url(ticket, lang="en")).content.decode()
    assert 'value="reply"' not in html and "This ticket is closed" in html
    response = post(visitor, url(ticket, lang="en"), action="reply", body="hello?")
    assert response.status_code == 422
    assert "This ticket is closed. Please submit a new one." in response.content.decode()
    assert not TicketMessage.objects.filter(ticket=ticket, kind=MessageKind.CUSTOMER).exists()


def test_rating_once_after_resolution(visitor, users):
    ticket = make_ticket(users)
    assert 'value="rate"' not in visitor.get(url(ticket)).content.decode()  # not before resolution
    response = post(visitor, url(ticket), action="rate", score="5")
    assert response.status_code == 422
    svc.ticket_set_status(actor=users["agent"], ticket=ticket, status=TicketStatus.RESOLVED)
    html = visitor.get(url(ticket, lang="en")).content.decode()
    assert "How satisfied are you" in html
    response = post(visitor, url(ticket, lang="en"), action="rate", score="4", comment="很快")
    assert response.status_code == 302 and "done=rated" in response["Location"]
    ticket.refresh_from_db()
    assert (ticket.csat_score, ticket.csat_comment) == (4, "很快")
    html = visitor.get(response["Location"]).content.decode()
    assert "Thank you for your rating" in html and "You rated us 4/5" in html and 'value="rate"' not in html
    again = post(visitor, url(ticket, lang="en"), action="rate", score="1")
    assert again.status_code == 422
    ticket.refresh_from_db()
    assert ticket.csat_score == 4


@pytest.mark.parametrize("score", ["0", "6", "abc", "", "3\x00"])
def test_bad_score_is_an_error_and_saves_nothing(visitor, users, score):
    ticket = make_ticket(users)
    svc.ticket_set_status(actor=users["agent"], ticket=ticket, status=TicketStatus.RESOLVED)
    response = post(visitor, url(ticket, lang="en"), action="rate", score=score)
    assert response.status_code == 422
    assert "Choose a rating from 1 to 5." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.csat_score is None and ticket.csat_at is None


@pytest.mark.parametrize("body,message", [
    ("", "This field is required."),
    ("a\x00b", "Null characters are not allowed."),
    ("x" * 20_001, "Ensure this value has at most 20000 characters"),
])
def test_bad_reply_is_a_clear_error(visitor, users, body, message):
    ticket = make_ticket(users)
    response = post(visitor, url(ticket, lang="en"), action="reply", body=body)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not TicketMessage.objects.filter(ticket=ticket, kind=MessageKind.CUSTOMER).exists()


def test_chinese_errors(visitor, users):
    ticket = make_ticket(users)
    response = post(visitor, url(ticket, lang="zh-hans"), action="reply", body="")
    assert response.status_code == 422
    from django.utils import translation
    from django.utils.html import escape
    from django.utils.translation import gettext
    with translation.override("zh-hans"):
        expected = gettext("This field is required.")
    assert expected != "This field is required." and escape(expected) in response.content.decode()


def test_posts_need_the_csrf_token(visitor, users):
    ticket = make_ticket(users)
    response = visitor.post(url(ticket), {"action": "reply", "body": "no token"})
    assert response.status_code == 403
    assert not TicketMessage.objects.filter(ticket=ticket, kind=MessageKind.CUSTOMER).exists()


def test_unknown_action_is_a_400(visitor, users):
    ticket = make_ticket(users)
    assert post(visitor, url(ticket), action="delete").status_code == 400


def test_posts_are_rate_limited_per_address(visitor, users, settings):
    settings.GUANXI_SUPPORT_RATE_LIMIT = 2
    ticket = make_ticket(users)
    assert post(visitor, url(ticket), action="reply", body="一").status_code == 302
    assert post(visitor, url(ticket), action="reply", body="二").status_code == 302
    response = post(visitor, url(ticket, lang="en"), action="reply", body="三")
    assert response.status_code == 429 and "Too many requests" in response.content.decode()
    assert TicketMessage.objects.filter(ticket=ticket, kind=MessageKind.CUSTOMER).count() == 2
    other = Client(enforce_csrf_checks=True, REMOTE_ADDR="10.9.8.7")
    assert post(other, url(ticket), action="reply", body="四").status_code == 302
