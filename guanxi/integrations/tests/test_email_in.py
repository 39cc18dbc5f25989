"""Email in, against a real IMAP server (Dovecot, started by the test fixtures): messages are logged on the
right timelines with attachments and threads, never twice, and a bad message does not stop the rest."""

import base64
import datetime
import hashlib
from email.message import EmailMessage

import pytest
from django.urls import reverse
from django.utils.html import escape

from guanxi.activities.models import Attachment, Interaction
from guanxi.customers.models import AccountContact
from guanxi.customers.tests.factories import AccountFactory, ContactFactory
from guanxi.integrations import email_in
from guanxi.integrations.crypto import PasswordUnreadable
from guanxi.integrations.email_in import mailbox_sync
from guanxi.integrations.models import Mailbox
from guanxi.integrations.tasks import mailbox_sync_task, mailboxes_sync_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def customer(users):
    """rep1's company 华东精密 with its primary contact 王伟 (wang.wei@example.cn)."""
    account = AccountFactory(name="华东精密", owner=users["rep1"])
    contact = ContactFactory(name="王伟", email="wang.wei@example.cn", owner=users["rep1"])
    AccountContact.objects.create(account=account, contact=contact, is_primary=True)
    return account, contact


def make_mailbox(account, owner=None, **extra):
    mailbox = Mailbox(owner=owner, name="收件箱", host=account.host, port=account.port, use_ssl=False,
                      username=account.username, address=account.username, **extra)
    mailbox.set_password(account.password)
    mailbox.save()
    return mailbox


@pytest.fixture
def mailbox(imap_account, users):
    return make_mailbox(imap_account, owner=users["rep1"])


def message(*, sender="王伟 <Wang.Wei@Example.CN>", to="rep1 <rep1@guanxi.test>", subject="关于报价的问题",
            body="您好，请查收报价单。", message_id="<q1@example.cn>", cc=None, date=None, **headers):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, to, subject
    if cc:
        m["Cc"] = cc
    if message_id:
        m["Message-ID"] = message_id
    m["Date"] = date or "Tue, 01 Dec 2026 10:00:00 +0800"
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content(body)
    return m


def test_a_chinese_message_with_attachments_is_logged_on_the_contact_and_the_company(imap_account, mailbox, customer,
                                                                                     users):
    account, contact = customer
    m = message(subject="关于报价的问题（第二版）", body="王经理您好：\n附件是第二版报价单，请审阅。")
    m.add_attachment("单价：100 元/件".encode(), maintype="text", subtype="plain", filename="报价单 v2.txt")
    pdf = b"%PDF-1.4 fake but binary \x00\x01\x02"
    m.add_attachment(pdf, maintype="application", subtype="pdf", filename="../../合同.pdf")
    imap_account.append(m)

    result = mailbox_sync(pk=mailbox.pk)

    assert (result.imported, result.failed, result.unmatched, result.error) == (1, 0, 0, "")
    email = Interaction.objects.get()
    assert email.kind == "email" and email.direction == "in"
    assert email.subject == "关于报价的问题（第二版）"
    assert email.content == "王经理您好：\n附件是第二版报价单，请审阅。"
    assert (email.contact, email.account, email.owner) == (contact, account, users["rep1"])
    assert email.email_from == "wang.wei@example.cn" and email.email_to == "rep1@guanxi.test"
    assert email.message_id == "<q1@example.cn>" and email.thread_key == "<q1@example.cn>"
    assert email.occurred_at == datetime.datetime(2026, 12, 1, 2, 0, tzinfo=datetime.UTC)
    text, document = Attachment.objects.filter(interaction=email).order_by("id")
    assert (text.filename, text.content_type) == ("报价单 v2.txt", "text/plain")
    assert text.file.read().decode() == "单价：100 元/件"
    # A sender's path never reaches the file system: the name is only a name.
    assert document.filename == "合同.pdf" and document.content_type == "application/pdf"
    assert document.size == len(pdf) and document.sha256 == hashlib.sha256(pdf).hexdigest()
    assert document.file.name.startswith("attachments/") and ".." not in document.file.name
    document.file.open("rb")
    assert document.file.read() == pdf
    mailbox.refresh_from_db()
    assert (mailbox.last_uid, mailbox.imported_count, mailbox.last_error) == (1, 1, "")
    assert mailbox.last_sync_at and mailbox.last_success_at and mailbox.uidvalidity
    assert mailbox.sync_started_at is None


def test_a_rerun_imports_nothing_twice_even_from_the_start_or_twice_stored(imap_account, mailbox, customer):
    imap_account.append(message(message_id="<once@example.cn>"))
    imap_account.append(message(message_id="<once@example.cn>"))  # the same message stored twice
    first = mailbox_sync(pk=mailbox.pk)
    assert (first.imported, first.duplicates) == (1, 1)
    again = mailbox_sync(pk=mailbox.pk)
    assert (again.imported, again.duplicates) == (0, 0)  # the cursor: nothing new was fetched
    Mailbox.objects.filter(pk=mailbox.pk).update(last_uid=0)  # a lost cursor re-reads everything...
    from_start = mailbox_sync(pk=mailbox.pk)
    assert (from_start.imported, from_start.duplicates) == (0, 2)  # ...and the Message-ID keeps it once
    assert Interaction.objects.count() == 1
    mailbox.refresh_from_db()
    assert mailbox.imported_count == 1


def test_a_message_without_message_id_gets_a_stable_id_and_is_imported_once(imap_account, mailbox, customer):
    imap_account.append(message(message_id=None, subject="没有编号的邮件"))
    imap_account.append(message(message_id=None, subject="没有编号的邮件"))
    result = mailbox_sync(pk=mailbox.pk)
    assert (result.imported, result.duplicates) == (1, 1)
    email = Interaction.objects.get()
    assert email.message_id.endswith("@no-message-id.guanxi>")


def nested_multipart(depth):
    """A MIME bomb: multiparts nested deeper than the parser can follow."""
    raw = b"From: wang.wei@example.cn\r\nSubject: broken\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
    for i in range(depth):
        raw += b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
    return raw


def test_malformed_mime_in_the_middle_of_a_batch_does_not_lose_the_others(imap_account, mailbox, customer):
    imap_account.append(message(message_id="<before@example.cn>", subject="第一封"))
    imap_account.append(nested_multipart(3000))
    imap_account.append(b"From: wang.wei@example.cn\r\nMessage-ID: <<<>\r\nSubject: odd id\r\n\r\nstill readable")
    imap_account.append(message(message_id="<after@example.cn>", subject="第三封"))

    result = mailbox_sync(pk=mailbox.pk)

    assert (result.imported, result.failed) == (3, 1)
    assert set(Interaction.objects.values_list("subject", flat=True)) == {"第一封", "odd id", "第三封"}
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 4  # moved past the bad message: it is not retried for ever
    assert "UID 2" in mailbox.last_error and "RecursionError" in mailbox.last_error
    assert mailbox.imported_count == 3
    # The next run starts clean: the error is about the last run only.
    assert mailbox_sync(pk=mailbox.pk).failed == 0
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""


def test_gb18030_and_encoded_words_are_decoded(imap_account, mailbox, customer):
    subject = base64.b64encode("朱镕基 合同（GB2312 标注）".encode("gb18030")).decode()
    name = base64.b64encode("王伟".encode("gb18030")).decode()
    raw = (f"From: =?gb2312?B?{name}?= <wang.wei@example.cn>\r\nTo: rep1@guanxi.test\r\n"
           f"Subject: =?gb2312?B?{subject}?=\r\nMessage-ID: <gb@example.cn>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           ).encode() + "镕字不在 GB2312 里，但在 GB18030 里。€".encode("gb18030")
    imap_account.append(raw)
    raw_utf8_header = ("From: 王伟 <wang.wei@example.cn>\r\nSubject: 八位 UTF-8 标题\r\n"
                       "Message-ID: <u8@example.cn>\r\n\r\n正文").encode()
    imap_account.append(raw_utf8_header)
    assert mailbox_sync(pk=mailbox.pk).imported == 2
    gb = Interaction.objects.get(message_id="<gb@example.cn>")
    assert gb.subject == "朱镕基 合同（GB2312 标注）"
    assert gb.content == "镕字不在 GB2312 里，但在 GB18030 里。€"
    assert Interaction.objects.get(message_id="<u8@example.cn>").subject == "八位 UTF-8 标题"


def test_an_html_only_message_becomes_text_without_scripts(imap_account, mailbox, customer):
    m = EmailMessage()
    m["From"], m["Subject"], m["Message-ID"] = "wang.wei@example.cn", "HTML", "<h@example.cn>"
    m.set_content("<html><head><style>p{color:red}</style><script>alert('x')</script></head><body>"
                  "<h1>会议纪要 &amp; 安排</h1><p>第一行<br>第二行</p><ul><li>报价</li><li>交期</li></ul>"
                  "<img src=x onerror=alert(1)></body></html>", subtype="html")
    imap_account.append(m)
    assert mailbox_sync(pk=mailbox.pk).imported == 1
    content = Interaction.objects.get().content
    assert content == "会议纪要 & 安排\n\n第一行\n第二行\n\n• 报价\n• 交期"
    assert "alert" not in content and "<" not in content


def test_an_unknown_sender_is_skipped_and_the_hook_is_called(imap_account, mailbox, customer, monkeypatch):
    seen = []
    monkeypatch.setattr(email_in, "email_unmatched", lambda *, mailbox, parsed: seen.append(parsed.from_address))
    imap_account.append(message(sender="陌生人 <stranger@unknown.cn>", message_id="<s@unknown.cn>"))
    result = mailbox_sync(pk=mailbox.pk)
    assert (result.imported, result.unmatched) == (0, 1)
    assert seen == ["stranger@unknown.cn"]
    assert not Interaction.objects.exists()
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 1 and mailbox.last_error == ""


def test_a_message_the_owner_sent_is_outbound_and_filed_under_the_recipient(imap_account, mailbox, customer, users):
    account, contact = customer
    other = ContactFactory(name="李娜", email="li.na@example.cn", owner=users["rep1"])
    imap_account.append(message(sender=f"rep1 <{imap_account.username}>", to="王伟 <wang.wei@example.cn>",
                                cc="李娜 <LI.NA@example.cn>", message_id="<out@guanxi.test>"))
    assert mailbox_sync(pk=mailbox.pk).imported == 1
    email = Interaction.objects.get()
    assert email.direction == "out" and email.contact == contact and email.account == account
    assert list(email.participant_contacts.all()) == [other]
    assert email.email_to == "wang.wei@example.cn, li.na@example.cn"


def test_a_personal_mailbox_matches_only_contacts_its_owner_may_see(imap_account, mailbox, users):
    ContactFactory(name="赵敏", email="zhao@example.cn", owner=users["rep2"])
    imap_account.append(message(sender="zhao@example.cn", message_id="<z@example.cn>"))
    result = mailbox_sync(pk=mailbox.pk)
    assert (result.imported, result.unmatched) == (0, 1)
    assert not Interaction.objects.exists()


def test_a_shared_mailbox_logs_on_any_contact_and_only_its_viewers_see_it(imap_account, users, client_for):
    account = AccountFactory(name="赵氏贸易", owner=users["rep2"])
    ContactFactory(name="赵敏", email="zhao@example.cn", owner=users["rep2"], companies=[account])
    shared = make_mailbox(imap_account, owner=None)
    imap_account.append(message(sender="zhao@example.cn", message_id="<z@example.cn>", subject="共享邮箱来信"))
    assert mailbox_sync(pk=shared.pk).imported == 1
    email = Interaction.objects.get()
    assert email.account == account and email.owner is None
    url = reverse("activities:interaction_detail", args=[email.pk])
    rep1, rep2 = client_for("rep1"), client_for("rep2")
    assert rep1.get(url).status_code == 404
    assert "共享邮箱来信" not in rep1.get(reverse("activities:interaction_list")).content.decode()
    assert rep2.get(url).status_code == 200
    assert "共享邮箱来信" in rep2.get(reverse("activities:interaction_list")).content.decode()
    assert "共享邮箱来信" in client_for("manager").get(url).content.decode()


def test_a_recreated_folder_is_read_again_without_duplicates(imap_account, customer, users):
    imap_account.create_folder("Customers")
    box = make_mailbox(imap_account, owner=users["rep1"], folder="Customers")
    imap_account.append(message(message_id="<a@example.cn>"), folder="Customers")
    assert mailbox_sync(pk=box.pk).imported == 1
    box.refresh_from_db()
    before = box.uidvalidity
    imap_account.delete_folder("Customers")
    imap_account.create_folder("Customers")
    imap_account.append(message(message_id="<a@example.cn>"), folder="Customers")
    imap_account.append(message(message_id="<b@example.cn>"), folder="Customers")
    result = mailbox_sync(pk=box.pk)
    assert (result.imported, result.duplicates) == (1, 1)
    box.refresh_from_db()
    assert box.uidvalidity != before and box.last_uid == 2


def test_the_batch_limit_leaves_the_rest_for_the_next_run(imap_account, mailbox, customer):
    for i in range(5):
        imap_account.append(message(message_id=f"<m{i}@example.cn>", subject=f"第{i}封"))
    first = mailbox_sync(pk=mailbox.pk, batch_limit=2)
    assert (first.imported, first.more) == (2, True)
    assert mailbox_sync(pk=mailbox.pk, batch_limit=2).imported == 2
    last = mailbox_sync(pk=mailbox.pk, batch_limit=2)
    assert (last.imported, last.more) == (1, False)
    assert Interaction.objects.count() == 5


def test_the_periodic_job_syncs_every_enabled_mailbox_to_the_end(imap_server, customer, users, monkeypatch):
    monkeypatch.setattr(email_in, "BATCH_LIMIT", 2)
    one, two, off = imap_server.account(), imap_server.account(), imap_server.account()
    for i in range(3):
        one.append(message(message_id=f"<one{i}@example.cn>"))
    two.append(message(message_id="<two@example.cn>"))
    off.append(message(message_id="<off@example.cn>"))
    make_mailbox(one, owner=users["rep1"])
    make_mailbox(two, owner=users["rep1"])
    make_mailbox(off, owner=users["rep1"], enabled=False)
    assert mailboxes_sync_task.enqueue().return_value == 2  # the immediate backend runs it now
    assert set(Interaction.objects.values_list("message_id", flat=True)) == {
        "<one0@example.cn>", "<one1@example.cn>", "<one2@example.cn>", "<two@example.cn>"}


def test_a_sync_already_running_is_not_started_twice(mailbox):
    from django.utils import timezone

    Mailbox.objects.filter(pk=mailbox.pk).update(sync_started_at=timezone.now())
    assert mailbox_sync(pk=mailbox.pk) is None
    assert mailbox_sync_task.enqueue(mailbox.pk).return_value is None
    # A claim older than a dead worker's is taken over.
    Mailbox.objects.filter(pk=mailbox.pk).update(sync_started_at=timezone.now() - datetime.timedelta(hours=1))
    assert mailbox_sync(pk=mailbox.pk) is not None


def test_a_wrong_password_is_recorded_not_raised(imap_account, users):
    box = make_mailbox(imap_account, owner=users["rep1"])
    box.set_password("wrong")
    box.save()
    result = mailbox_sync(pk=box.pk)
    assert result.error and result.imported == 0
    box.refresh_from_db()
    assert "login" in box.last_error.lower() or "登录" in box.last_error
    assert box.last_sync_at and box.last_success_at is None


def test_an_unreachable_server_is_recorded(users):
    from guanxi.framework.testing.mailservers import free_port

    box = Mailbox(owner=users["rep1"], name="x", host="127.0.0.1", port=free_port(), use_ssl=False, username="u")
    box.set_password("p")
    box.save()
    assert mailbox_sync(pk=box.pk).error
    box.refresh_from_db()
    assert f"127.0.0.1:{box.port}" in box.last_error


def test_the_password_is_stored_encrypted(imap_account, users, settings):
    box = make_mailbox(imap_account, owner=users["rep1"])
    stored = Mailbox.objects.values_list("password_encrypted", flat=True).get(pk=box.pk)
    assert imap_account.password not in stored and stored.startswith("fernet:")
    assert box.get_password() == imap_account.password
    # After a key rotation the old key still decrypts while it is listed as a fallback...
    old = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a new secret key " * 3, [old]
    assert box.get_password() == imap_account.password
    # ...and without it the sync says the password must be entered again.
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(PasswordUnreadable):
        box.get_password()
    result = mailbox_sync(pk=box.pk)
    assert result.error and result.imported == 0


def test_an_attachment_over_the_limit_is_left_out_with_a_note(imap_account, mailbox, customer, monkeypatch):
    monkeypatch.setattr(email_in, "MAX_ATTACHMENT_BYTES", 1000)
    m = message(message_id="<big@example.cn>", body="见附件")
    m.add_attachment(b"x" * 2000, maintype="application", subtype="zip", filename="大文件.zip")
    m.add_attachment(b"small", maintype="application", subtype="octet-stream", filename="小.bin")
    imap_account.append(m)
    assert mailbox_sync(pk=mailbox.pk).imported == 1
    email = Interaction.objects.get()
    assert list(email.attachments.values_list("filename", flat=True)) == ["小.bin"]
    assert "大文件.zip" in email.content and "2000" in email.content


def test_nothing_is_marked_read_on_the_server(imap_account, mailbox, customer):
    imap_account.append(message())
    mailbox_sync(pk=mailbox.pk)
    conn = imap_account.connect()
    try:
        conn.select("INBOX", readonly=True)
        typ, data = conn.uid("SEARCH", None, "UNSEEN")
        assert data[0].split() == [b"1"]
    finally:
        conn.logout()


def test_a_reply_to_an_email_we_sent_joins_its_thread(imap_account, mailbox, customer, users, smtp_mailer,
                                                      django_capture_on_commit_callbacks):
    from guanxi.integrations.email_out import email_send

    _account, contact = customer
    with django_capture_on_commit_callbacks(execute=True):
        sent = email_send(actor=users["rep1"], contact=contact, subject="合作方案", body="王经理您好，方案见下。")
    [delivered] = smtp_mailer.wait_for(1)
    assert delivered.message["Message-ID"] == sent.message_id
    # The customer answers; our own copy of the sent message is in the mailbox too (Sent folder, Bcc...).
    reply = message(subject="回复：合作方案", body="方案收到，周五电话沟通。", message_id="<reply@example.cn>",
                    In_Reply_To=sent.message_id, References=sent.message_id)
    imap_account.append(delivered.data)
    imap_account.append(reply)
    result = mailbox_sync(pk=mailbox.pk)
    assert (result.imported, result.duplicates) == (1, 1)
    answer = Interaction.objects.get(message_id="<reply@example.cn>")
    assert answer.direction == "in" and answer.contact == contact
    assert answer.in_reply_to == sent.message_id and answer.thread_key == sent.thread_key == sent.message_id
    # A later message that only names the answer still joins the same thread.
    imap_account.append(message(subject="再回复", message_id="<third@example.cn>", In_Reply_To="<reply@example.cn>"))
    mailbox_sync(pk=mailbox.pk)
    assert Interaction.objects.get(message_id="<third@example.cn>").thread_key == sent.message_id


# -- mailbox settings and sync health ---------------------------------------------------------------

MAILBOXES = reverse("integrations:mailbox_list")


def mailbox_form(account, **extra):
    return {"name": "我的邮箱", "address": account.username, "host": account.host, "port": account.port,
            "username": account.username, "password": account.password, "folder": "INBOX", "enabled": "on",
            **extra}


def test_a_user_adds_their_mailbox_and_sees_its_sync_health(client_rep1, imap_account, customer, users):
    response = client_rep1.post(reverse("integrations:mailbox_add"), mailbox_form(imap_account))
    assert response.status_code == 302
    box = Mailbox.objects.get()
    assert box.owner == users["rep1"] and not box.use_ssl and box.get_password() == imap_account.password
    from guanxi.core.models import AuditEvent

    event = AuditEvent.objects.get(action="settings_change", record_type="integrations.mailbox")
    assert event.actor == users["rep1"] and event.data["operation"] == "add" and event.data["password_changed"]
    assert imap_account.password not in str(event.data)
    # The password is write-only: the edit page never shows it.
    edit = client_rep1.get(reverse("integrations:mailbox_edit", args=[box.pk])).content.decode()
    assert imap_account.password not in edit and box.password_encrypted not in edit
    html = client_rep1.get(MAILBOXES).content.decode()
    assert "我的邮箱" in html and "mailbox-ok" not in html and "mailbox-error" not in html  # not synced yet

    imap_account.append(message(message_id="<ui@example.cn>"))
    assert client_rep1.post(reverse("integrations:mailbox_sync", args=[box.pk])).status_code == 302
    box.refresh_from_db()
    assert box.imported_count == 1 and box.last_error == "" and box.last_sync_at
    html = client_rep1.get(MAILBOXES).content.decode()
    assert "mailbox-ok" in html and "我的邮箱" in html

    # Leaving the password empty keeps it; a wrong one shows as the mailbox's error.
    data = mailbox_form(imap_account, password="")
    assert client_rep1.post(reverse("integrations:mailbox_edit", args=[box.pk]), data).status_code == 302
    box.refresh_from_db()
    assert box.get_password() == imap_account.password
    data = mailbox_form(imap_account, password="wrong-password")
    client_rep1.post(reverse("integrations:mailbox_edit", args=[box.pk]), data)
    client_rep1.post(reverse("integrations:mailbox_sync", args=[box.pk]))
    box.refresh_from_db()
    assert "AUTHENTICATIONFAILED" in box.last_error and "b'" not in box.last_error
    assert escape(box.last_error) in client_rep1.get(MAILBOXES).content.decode()


def test_changing_the_folder_restarts_the_cursor(client_rep1, imap_account, mailbox):
    Mailbox.objects.filter(pk=mailbox.pk).update(last_uid=7, uidvalidity=123)
    data = mailbox_form(imap_account, password="", folder="Archive")
    assert client_rep1.post(reverse("integrations:mailbox_edit", args=[mailbox.pk]), data).status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.folder, mailbox.last_uid, mailbox.uidvalidity) == ("Archive", 0, None)


@pytest.mark.parametrize("change", [{"port": "70000"}, {"host": "mail.example.cn; rm -rf"}, {"host": ""},
                                    {"password": ""}, {"folder": "   "}, {"address": "not an address"}])
def test_bad_mailbox_input_is_400_and_saves_nothing(client_rep1, imap_account, change):
    response = client_rep1.post(reverse("integrations:mailbox_add"), mailbox_form(imap_account, **change))
    assert response.status_code == 400
    assert not Mailbox.objects.exists()


def test_mailboxes_are_managed_by_their_owner_and_shared_ones_by_administrators(client_for, imap_account, users):
    rep1_box = make_mailbox(imap_account, owner=users["rep1"])
    rep2 = client_for("rep2")
    for name in ("mailbox_edit", "mailbox_delete", "mailbox_sync"):
        url = reverse(f"integrations:{name}", args=[rep1_box.pk])
        assert (rep2.post(url, mailbox_form(imap_account)) if name != "mailbox_edit" else rep2.get(url)).status_code \
            == 404
    assert rep2.post(reverse("integrations:mailbox_edit", args=[rep1_box.pk]),
                     mailbox_form(imap_account, name="hijacked")).status_code == 404
    assert "收件箱" not in rep2.get(MAILBOXES).content.decode()
    rep1_box.refresh_from_db()
    assert rep1_box.name == "收件箱" and rep1_box.last_sync_at is None

    # A rep cannot create a shared mailbox (the choice is not offered and is ignored if posted)...
    rep1 = client_for("rep1")
    assert 'name="shared"' not in rep1.get(reverse("integrations:mailbox_add")).content.decode()
    rep1.post(reverse("integrations:mailbox_add"), mailbox_form(imap_account, name="想共享", shared="on"))
    assert Mailbox.objects.get(name="想共享").owner == users["rep1"]
    # ...an administrator can, and only administrators see and manage shared ones.
    admin = client_for("admin")
    admin.post(reverse("integrations:mailbox_add"), mailbox_form(imap_account, name="销售部公共邮箱", shared="on"))
    shared = Mailbox.objects.get(name="销售部公共邮箱")
    assert shared.owner is None
    assert "销售部公共邮箱" in admin.get(MAILBOXES).content.decode()
    assert "销售部公共邮箱" not in rep1.get(MAILBOXES).content.decode()
    assert rep1.get(reverse("integrations:mailbox_edit", args=[shared.pk])).status_code == 404
    assert "收件箱" not in admin.get(MAILBOXES).content.decode()  # not other users' personal mailboxes
    assert admin.post(reverse("integrations:mailbox_delete", args=[shared.pk])).status_code == 302
    assert not Mailbox.objects.filter(pk=shared.pk).exists()
