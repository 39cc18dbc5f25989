"""Email to ticket, against a real IMAP server (Dovecot, started by the test fixtures): a service mailbox
turns new messages into tickets, puts the customer's replies on their ticket (by reference or by the email
of ours they answer, only from the ticket's customer), imports nothing twice, and does not answer robots."""

import re
from email.message import EmailMessage

import pytest
from django.core.cache import cache

from guanxi.activities.models import Interaction
from guanxi.customers.models import AccountContact
from guanxi.customers.tests.factories import AccountFactory, ContactFactory
from guanxi.integrations.email_in import mailbox_sync
from guanxi.integrations.forms import MailboxForm
from guanxi.integrations.models import Mailbox, OutboundEmail
from guanxi.service import ticket_services as svc
from guanxi.service.choices import TicketStatus
from guanxi.service.models import Ticket, TicketAttachment, TicketMessage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()


def make_mailbox(account, name="客服邮箱", **extra):
    mailbox = Mailbox(owner=None, name=name, host=account.host, port=account.port, use_ssl=False,
                      username=account.username, address=account.username, creates_tickets=True, **extra)
    mailbox.set_password(account.password)
    mailbox.save()
    return mailbox


@pytest.fixture
def mailbox(imap_account, users):
    return make_mailbox(imap_account)


def message(*, sender="王伟 <Wang.Wei@Example.CN>", to="service@guanxi.test", subject="杯盖漏水",
            body="您好，收到的保温杯杯盖漏水。", message_id="<c1@example.cn>", **headers):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, to, subject
    if message_id:
        m["Message-ID"] = message_id
    m["Date"] = "Tue, 01 Dec 2026 10:00:00 +0800"
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content(body)
    return m


def sync(mailbox):
    result = mailbox_sync(pk=mailbox.pk)
    assert result is not None and result.error == "", result
    return result


def test_a_new_message_becomes_a_ticket(imap_account, mailbox, users):
    account = AccountFactory(name="华东精密", owner=users["rep1"])
    contact = ContactFactory(name="王伟", email="wang.wei@example.cn", owner=users["rep1"])
    AccountContact.objects.create(account=account, contact=contact, is_primary=True)
    m = message()
    m.add_attachment(b"\xff\xd8\xff photo", maintype="image", subtype="jpeg", filename="杯盖.jpg")
    imap_account.append(m)

    result = sync(mailbox)

    assert (result.imported, result.failed) == (1, 0)
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.subject, ticket.language) == ("email", "杯盖漏水", "zh-hans")
    assert ticket.description == "您好，收到的保温杯杯盖漏水。"
    assert (ticket.contact, ticket.account, ticket.customer_email) == (contact, account, "wang.wei@example.cn")
    assert ticket.customer_name == "王伟" and ticket.source_message_id == "<c1@example.cn>"
    assert TicketAttachment.objects.get(ticket=ticket).filename == "杯盖.jpg"
    # A ticket instead of an interaction, and the customer acknowledged with their link.
    assert not Interaction.all_objects.exists()
    ack = OutboundEmail.objects.get(dedupe_key=f"ticket:{ticket.pk}:created")
    assert ack.to == "wang.wei@example.cn"
    token = re.search(r"/support/t/([^/\s]+)/", ack.body_text).group(1)
    assert svc.ticket_from_token(token) == ticket


def test_an_unknown_sender_gets_a_ticket_too(imap_account, mailbox):
    imap_account.append(message(sender="Jane Roe <jane@example.com>", subject="Broken lid",
                                body="The lid leaks.", message_id="<j1@example.com>"))
    sync(mailbox)
    ticket = Ticket.objects.get()
    assert (ticket.contact, ticket.customer_email, ticket.language) == (None, "jane@example.com", "en")


def test_a_reference_in_the_subject_alone_does_not_attach(imap_account, mailbox):
    """References are sequential and From headers forgeable: only a message answering one of our emails
    (its Message-ID is keyed with the server's secret) goes on the ticket; the agents see the mention."""
    imap_account.append(message())
    sync(mailbox)
    ticket = Ticket.objects.get()
    svc.ticket_set_status(actor=None, ticket=ticket, status=TicketStatus.WAITING)
    imap_account.append(message(subject=f"回复：[{ticket.reference}] 我们需要您的回复：杯盖漏水",
                                body="订单号是 SO-1。", message_id="<c2@example.cn>"))
    result = sync(mailbox)
    assert result.imported == 1
    assert not TicketMessage.objects.filter(ticket=ticket).exists()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING
    other = Ticket.objects.exclude(pk=ticket.pk).get()
    assert ticket.reference in other.description and "订单号是 SO-1。" in other.description


def test_automatic_reply_is_kept_but_does_not_reopen(imap_account, mailbox):
    imap_account.append(message())
    sync(mailbox)
    ticket = Ticket.objects.get()
    svc.ticket_set_status(actor=None, ticket=ticket, status=TicketStatus.RESOLVED)
    resolved_mail = OutboundEmail.objects.filter(dedupe_key__startswith=f"ticket:{ticket.pk}:status:").get()
    imap_account.append(message(subject="自动回复：问题", body="我正在休假。", message_id="<auto1@example.cn>",
                                In_Reply_To=resolved_mail.message_id, Auto_Submitted="auto-replied"))
    sync(mailbox)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED and ticket.reopened_count == 0
    assert TicketMessage.objects.filter(ticket=ticket, message_id="<auto1@example.cn>").exists()


def test_reply_threaded_by_in_reply_to_reopens_a_resolved_ticket(imap_account, mailbox):
    imap_account.append(message())
    sync(mailbox)
    ticket = Ticket.objects.get()
    svc.ticket_set_status(actor=None, ticket=ticket, status=TicketStatus.RESOLVED)
    resolved_mail = OutboundEmail.objects.filter(dedupe_key__startswith=f"ticket:{ticket.pk}:status:").get()
    imap_account.append(message(subject="Re: 问题", body="还是漏水。", message_id="<c3@example.cn>",
                                In_Reply_To=resolved_mail.message_id, References=resolved_mail.message_id))
    sync(mailbox)
    assert Ticket.objects.count() == 1
    assert TicketMessage.objects.get(ticket=ticket).body == "还是漏水。"
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.reopened_count == 1


def test_a_stranger_cannot_write_into_someone_elses_ticket(imap_account, mailbox):
    imap_account.append(message())
    sync(mailbox)
    ticket = Ticket.objects.get()
    imap_account.append(message(sender="mallory@evil.example", subject=f"Re: [{ticket.reference}] 杯盖漏水",
                                body="请把退款打到我的账户", message_id="<m1@evil.example>"))
    sync(mailbox)
    assert not TicketMessage.objects.filter(ticket=ticket).exists()
    new = Ticket.objects.exclude(pk=ticket.pk).get()
    assert new.customer_email == "mallory@evil.example"


def test_a_reply_to_a_closed_ticket_opens_a_follow_up(imap_account, mailbox, settings):
    imap_account.append(message())
    sync(mailbox)
    ticket = Ticket.objects.get()
    svc.ticket_set_status(actor=None, ticket=ticket, status=TicketStatus.CLOSED)
    imap_account.append(message(subject=f"Re: [{ticket.reference}]", body="又坏了", message_id="<c4@example.cn>"))
    sync(mailbox)
    follow_up = Ticket.objects.exclude(pk=ticket.pk).get()
    assert ticket.reference in follow_up.description and "又坏了" in follow_up.description
    assert not TicketMessage.objects.filter(ticket=ticket).exists()


def test_nothing_is_imported_twice(imap_account, imap_server, users):
    first = make_mailbox(imap_account)
    imap_account.append(message())
    sync(first)
    ticket = Ticket.objects.get()
    created_mail = OutboundEmail.objects.get(dedupe_key=f"ticket:{ticket.pk}:created")
    imap_account.append(message(subject=f"Re: [{ticket.reference}] 杯盖漏水", body="补充",
                                message_id="<c5@example.cn>", In_Reply_To=created_mail.message_id))
    sync(first)
    # The cursor restarts (folder re-read from the beginning), and a second mailbox reads the same folder.
    Mailbox.objects.filter(pk=first.pk).update(last_uid=0, uidvalidity=None)
    again = sync(first)
    assert (again.imported, again.duplicates) == (0, 2)
    second = make_mailbox(imap_account, name="另一个")
    assert sync(second).duplicates == 2
    assert Ticket.objects.count() == 1 and TicketMessage.objects.count() == 1
    assert OutboundEmail.objects.filter(dedupe_key__endswith=":created").count() == 1


def test_auto_replies_are_filed_but_not_answered(imap_account, mailbox):
    imap_account.append(message(sender="auto@example.com", subject="Out of office", body="I am away.",
                                message_id="<a1@example.com>", Auto_Submitted="auto-replied"))
    sync(mailbox)
    assert Ticket.objects.count() == 1
    assert not OutboundEmail.objects.exists()


def test_messages_from_our_own_address_are_skipped(imap_account, mailbox):
    imap_account.append(message(sender=imap_account.username, message_id="<own@guanxi.test>"))
    result = sync(mailbox)
    assert result.unmatched == 1 and not Ticket.objects.exists()


def test_a_normal_mailbox_still_logs_interactions(imap_account, users):
    mailbox = make_mailbox(imap_account)
    Mailbox.objects.filter(pk=mailbox.pk).update(creates_tickets=False, owner=users["rep1"])
    ContactFactory(name="王伟", email="wang.wei@example.cn", owner=users["rep1"])
    imap_account.append(message())
    sync(mailbox)
    assert Interaction.objects.count() == 1 and not Ticket.objects.exists()


def test_oversized_and_surplus_attachments_are_noted_not_imported(imap_account, mailbox, settings):
    from guanxi.service import intake

    settings_limit = 1024
    intake.MAX_ATTACHMENT_BYTES, saved = settings_limit, intake.MAX_ATTACHMENT_BYTES
    try:
        m = message()
        m.add_attachment(b"x" * 2048, maintype="application", subtype="pdf", filename="big.pdf")
        m.add_attachment(b"small", maintype="text", subtype="plain", filename="small.txt")
        imap_account.append(m)
        sync(mailbox)
    finally:
        intake.MAX_ATTACHMENT_BYTES = saved
    ticket = Ticket.objects.get()
    assert [a.filename for a in TicketAttachment.objects.filter(ticket=ticket)] == ["small.txt"]
    assert "big.pdf" in ticket.description


def test_only_administrators_make_a_shared_service_mailbox(users):
    data = {"name": "客服", "address": "service@example.cn", "host": "imap.example.cn", "port": 993,
            "use_ssl": "on", "username": "service@example.cn", "folder": "INBOX", "enabled": "on",
            "password": "pw", "creates_tickets": "on"}
    rep_form = MailboxForm(data, instance=Mailbox(owner=users["rep1"]), can_share=False)
    assert "creates_tickets" not in rep_form.fields
    personal = MailboxForm(data, instance=Mailbox(owner=users["admin"]), can_share=True)
    assert not personal.is_valid() and "creates_tickets" in personal.errors
    shared = MailboxForm({**data, "shared": "on"}, instance=Mailbox(owner=users["admin"]), can_share=True)
    assert shared.is_valid(), shared.errors
    assert shared.cleaned_data["creates_tickets"] is True
