"""The test mail servers themselves: real SMTP and IMAP servers on free ports, isolated per test."""

import email.policy
import imaplib
from email.message import EmailMessage

import pytest
from django.core.mail import EmailMessage as DjangoEmail
from django.core.mail import mailers


def test_smtp_server_receives_what_django_sends(smtp_mailer):
    message = DjangoEmail(subject="报价单：华东项目", body="王经理您好，附件是报价单。", from_email="crm@guanxi.test",
                          to=["wang@example.cn"], cc=["li@example.cn"])
    message.attach("报价单.txt", "单价 100 元".encode(), "text/plain")
    assert mailers["default"].send_messages([message]) == 1
    [received] = smtp_mailer.wait_for(1)
    assert received.mail_from == "crm@guanxi.test"
    assert sorted(received.rcpt_tos) == ["li@example.cn", "wang@example.cn"]
    parsed = received.message
    assert parsed["Subject"] == "报价单：华东项目"
    assert parsed.get_body(("plain",)).get_content().strip() == "王经理您好，附件是报价单。"
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == "报价单.txt" and attachment.get_content().strip() == "单价 100 元"


def test_smtp_server_starts_each_test_empty(smtp_server):
    assert smtp_server.messages == []
    assert smtp_server.port > 0


def test_smtp_server_wait_fails_when_nothing_arrives(smtp_server):
    with pytest.raises(pytest.fail.Exception):
        smtp_server.wait_for(1, timeout=0.2)


def _message(subject, body):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = "a@example.cn", "b@example.cn", subject, "<m1@example.cn>"
    m.set_content(body)
    return m


def test_imap_append_then_fetch(imap_account):
    imap_account.append(_message("你好", "正文：测试"))
    imap_account.append(_message("second", "two"))
    assert imap_account.uids() == [1, 2]
    conn = imap_account.connect()
    try:
        conn.select("INBOX", readonly=True)
        typ, data = conn.uid("FETCH", "1", "(RFC822)")
        assert typ == "OK"
        parsed = email.message_from_bytes(data[0][1], policy=email.policy.default)
        assert parsed["Subject"] == "你好" and parsed.get_content().strip() == "正文：测试"
    finally:
        conn.logout()


def test_imap_accounts_are_separate(imap_server):
    one, two = imap_server.account(), imap_server.account()
    one.append(_message("only in one", "x"))
    assert one.uids() == [1] and two.uids() == []


def test_imap_refuses_a_wrong_password(imap_server):
    account = imap_server.account()
    with pytest.raises(imaplib.IMAP4.error):
        imaplib.IMAP4(account.host, account.port, timeout=10).login(account.username, "wrong")


def test_imap_recreated_folder_gets_a_new_uidvalidity(imap_account):
    def uidvalidity():
        conn = imap_account.connect()
        try:
            typ, data = conn.status("Archive", "(UIDVALIDITY)")
            return data[0]
        finally:
            conn.logout()

    imap_account.create_folder("Archive")
    before = uidvalidity()
    imap_account.delete_folder("Archive")
    imap_account.create_folder("Archive")
    assert uidvalidity() != before
