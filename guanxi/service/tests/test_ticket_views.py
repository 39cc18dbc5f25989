"""The agents' and managers' ticket pages: detail, commands through the UI, downloads, list, menu, palette."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from guanxi.integrations.models import OutboundEmail
from guanxi.service import ticket_services as svc
from guanxi.service.choices import MessageKind, TicketEventKind, TicketStatus
from guanxi.service.models import Ticket, TicketAttachment, TicketEvent, TicketMessage

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def english(user):
    user.language = "en"
    user.save(update_fields=["language"])
    return user


def make_ticket(users, owner="agent", **fields):
    data = {"subject": "Box arrived broken", "description": "The box was crushed.", "customer_name": "Zhang Wei",
            "customer_email": "zhang@example.com", "customer_phone": "+8613800138000"}
    data.update(fields)
    if owner:
        data["owner"] = users[owner]
    return svc.ticket_create(actor=users["agent"], fields=data)


@pytest.fixture
def ticket(users):
    return make_ticket(users)


@pytest.fixture
def agent(users, client_for):
    english(users["agent"])
    return client_for("agent")


def url(name, ticket, *args):
    return reverse(f"service:ticket_{name}", args=[ticket.pk, *args])


def state(ticket):
    """What a denied command must leave unchanged."""
    t = Ticket.all_objects.get(pk=ticket.pk)
    return (t.version, t.status, t.owner_id, t.access_key, t.escalated_at,
            TicketMessage.objects.filter(ticket=t).count(), TicketEvent.objects.filter(ticket=t).count())


# -- detail page ------------------------------------------------------------------------------------


def test_detail_shows_conversation_history_and_commands(users, agent, ticket):
    svc.ticket_reply(actor=users["agent"], ticket=ticket, body="We will send a new one.")
    svc.ticket_note(actor=users["agent"], ticket=ticket, body="Courier to blame, claim filed.")
    r = agent.get(ticket.get_absolute_url())
    assert r.status_code == 200
    html = r.content.decode()
    assert ticket.reference in html and "Box arrived broken" in html
    assert "We will send a new one." in html
    assert 'data-kind="reply"' in html
    note = TicketMessage.objects.get(kind=MessageKind.NOTE)
    # The note is marked internal (badge, data attribute, the warning) in the staff UI.
    block = html.split(f'id="message-{note.pk}"')[1].split("</article>")[0]
    assert 'data-internal="true"' in block and "Internal note" in block
    assert "the customer never sees this" in block
    assert "Ticket created" in html and "Assigned to" in html  # history
    assert 'id="btn-resolve"' in html and 'id="btn-take"' not in html  # already mine
    assert "SLA" in html and 'data-sla="ok"' in html
    # Sensitive customer data is masked in the facts (revealable, audited).
    assert "zhang@example.com" not in html and "z***@example.com" in html
    assert "13800138000" not in html


def test_detail_in_chinese(users, client_for, ticket):
    r = client_for("agent").get(ticket.get_absolute_url())
    html = r.content.decode()
    assert "历史记录" in html and "详情" in html and "编辑" in html


def test_only_valid_transitions_offered(users, agent, ticket):
    svc.ticket_set_status(actor=users["agent"], ticket=ticket, status=TicketStatus.CLOSED)
    html = agent.get(ticket.get_absolute_url()).content.decode()
    assert 'id="btn-start"' in html and "Reopen" in html
    for command in ("wait", "resolve", "close"):
        assert f'id="btn-{command}"' not in html
    assert "reopen it to reply" in html and 'id="reply-form"' not in html


def test_xss_in_subject_and_bodies_is_escaped(users, agent):
    evil = "<script>alert(1)</script>"
    t = make_ticket(users, subject=f"Hi {evil}", description=evil, customer_name="<img src=x onerror=alert(2)>")
    svc.ticket_reply(actor=users["agent"], ticket=t, body=evil)
    svc.ticket_note(actor=users["agent"], ticket=t, body=evil)
    svc.ticket_customer_reply(ticket=t, body=evil)
    for response in (agent.get(t.get_absolute_url()), agent.post(url("note", t), {"body": evil}, **HX),
                     agent.get(reverse("service:ticket_list"))):
        html = response.content.decode()
        assert evil not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_outsider_gets_404_everywhere_and_nothing_changes(users, client_for, ticket):
    before = state(ticket)
    rep = client_for("rep1")
    assert rep.get(ticket.get_absolute_url()).status_code == 404
    posts = [("take", {}), ("assign", {"owner": users["rep1"].pk}), ("reply", {"body": "x"}), ("note", {"body": "x"}),
             ("status", {"status": "resolved"}), ("escalate", {}), ("link_revoke", {}), ("link_renew", {})]
    for name, data in posts:
        assert rep.post(url(name, ticket), data).status_code == 404, name
        assert rep.post(url(name, ticket), data, **HX).status_code == 404, name
    assert state(ticket) == before
    # The auditor has no ticket access at all.
    assert client_for("auditor").post(url("reply", ticket), {"body": "x"}).status_code == 404
    assert state(ticket) == before


def test_commands_are_post_only(agent, ticket):
    for name in ("take", "reply", "status", "escalate", "link_revoke"):
        assert agent.get(url(name, ticket)).status_code == 405


# -- commands ---------------------------------------------------------------------------------------


def test_take_assigns_to_me(users, client_for):
    t = make_ticket(users, owner="agent2")
    english(users["agent"])
    r = client_for("agent").post(url("take", t), {"version": t.version})
    assert r.status_code == 302 and r.url == t.get_absolute_url()
    t.refresh_from_db()
    assert t.owner == users["agent"]
    assert TicketEvent.objects.filter(ticket=t, kind=TicketEventKind.ASSIGNED, data__owner=users["agent"].pk).exists()


def test_take_from_team_queue(users, client_for):
    t = make_ticket(users, owner=None)
    svc.ticket_assign(actor=users["supervisor"], ticket=t, owner=users["agent2"])
    Ticket.all_objects.filter(pk=t.pk).update(owner=None)  # back in the team's queue, unassigned
    r = client_for("agent").post(url("take", t), **HX)
    assert r.status_code == 200 and "ticket-side" in r.content.decode()
    t.refresh_from_db()
    assert t.owner == users["agent"]


def test_assign_shows_load_and_assigns(users, client_for, ticket):
    english(users["supervisor"])
    sup = client_for("supervisor")
    html = sup.get(ticket.get_absolute_url()).content.decode()
    assert 'id="assign-owner"' in html and "1 open ticket)" in html and "0 open tickets)" in html
    r = sup.post(url("assign", ticket), {"owner": users["agent2"].pk, "version": ticket.version}, **HX)
    assert r.status_code == 200 and "Assigned to" in r.content.decode()
    ticket.refresh_from_db()
    assert ticket.owner == users["agent2"]


def test_assign_outside_scope_is_a_message(users, client_for, ticket):
    english(users["supervisor"])
    before = state(ticket)
    r = client_for("supervisor").post(url("assign", ticket), {"owner": users["rep1"].pk}, **HX)
    assert r.status_code == 200 and "You cannot assign tickets to this user." in r.content.decode()
    r = client_for("supervisor").post(url("assign", ticket), {"owner": "abc"}, **HX)
    assert "Choose an agent." in r.content.decode()
    assert state(ticket) == before


def test_reply_with_files(users, agent, ticket):
    mails = OutboundEmail.objects.count()
    files = [SimpleUploadedFile("photo.jpg", b"\xff\xd8jpeg", content_type="image/jpeg"),
             SimpleUploadedFile("invoice.pdf", b"%PDF-1.4", content_type="application/pdf")]
    r = agent.post(url("reply", ticket), {"body": "Replacement shipped.", "files": files, "version": ticket.version})
    assert r.status_code == 302
    message = TicketMessage.objects.get(ticket=ticket, kind=MessageKind.REPLY)
    assert message.body == "Replacement shipped." and message.author == users["agent"]
    assert sorted(a.filename for a in message.attachments.all()) == ["invoice.pdf", "photo.jpg"]
    assert all(a.is_public for a in message.attachments.all())
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.first_responded_at
    assert OutboundEmail.objects.count() == mails + 1
    html = agent.get(ticket.get_absolute_url()).content.decode()
    assert "Reply sent to the customer." in html and "photo.jpg" in html


def test_blank_reply_is_a_message_not_an_error(users, agent, ticket):
    before = state(ticket)
    r = agent.post(url("reply", ticket), {"body": "   "}, **HX)
    assert r.status_code == 200 and "This field cannot be blank." in r.content.decode()
    r = agent.post(url("reply", ticket), {"body": "   "}, follow=True)
    assert r.status_code == 200 and "This field cannot be blank." in r.content.decode()
    assert state(ticket) == before


def test_note_is_internal_and_not_emailed(users, agent, ticket):
    mails = OutboundEmail.objects.count()
    f = SimpleUploadedFile("internal.txt", b"secret", content_type="text/plain")
    r = agent.post(url("note", ticket), {"body": "Customer is a VIP", "files": [f]}, **HX)
    html = r.content.decode()
    assert r.status_code == 200 and "Internal note added." in html and 'data-internal="true"' in html
    note = TicketMessage.objects.get(ticket=ticket, kind=MessageKind.NOTE)
    assert note.body == "Customer is a VIP"
    assert list(note.attachments.values_list("is_public", flat=True)) == [False]
    assert "data-internal-file" in html
    assert OutboundEmail.objects.count() == mails
    assert not svc.customer_visible_messages(ticket).filter(pk=note.pk).exists()


@pytest.mark.parametrize("path", [
    [TicketStatus.IN_PROGRESS, TicketStatus.WAITING, TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED,
     TicketStatus.CLOSED, TicketStatus.IN_PROGRESS],
])
def test_status_buttons(users, agent, ticket, path):
    for status in path:
        ticket.refresh_from_db()
        r = agent.post(url("status", ticket), {"status": status, "version": ticket.version}, **HX)
        assert r.status_code == 200
        assert "Status changed to" in r.content.decode()
        ticket.refresh_from_db()
        assert ticket.status == status
    assert ticket.reopened_count == 1 and ticket.resolved_at is None


def test_invalid_transition_message(users, client_for, ticket):
    svc.ticket_set_status(actor=users["agent"], ticket=ticket, status=TicketStatus.CLOSED)
    before = state(ticket)
    english(users["agent"])
    r = client_for("agent").post(url("status", ticket), {"status": "waiting"}, follow=True)
    assert r.status_code == 200
    assert "A ticket cannot go from “Closed” to “Waiting on customer”." in r.content.decode()
    r = client_for("agent").post(url("status", ticket), {"status": "bogus"}, **HX)
    assert "Unknown status." in r.content.decode()
    r = client_for("agent").post(url("reply", ticket), {"body": "hello"}, **HX)
    assert "The ticket is closed; reopen it to reply." in r.content.decode()
    assert state(ticket) == before


def test_stale_version_is_a_conflict_message(users, agent, ticket):
    stale = ticket.version
    svc.ticket_set_status(actor=users["agent2"], ticket=ticket, status=TicketStatus.IN_PROGRESS)
    before = state(ticket)
    r = agent.post(url("status", ticket), {"status": "resolved", "version": stale}, **HX)
    html = r.content.decode()
    assert r.status_code == 200 and "Someone else changed this ticket meanwhile" in html
    assert 'data-status="in_progress"' in html  # the latest state is shown
    assert state(ticket) == before


def test_escalate(users, agent, ticket):
    r = agent.post(url("escalate", ticket), **HX)
    assert r.status_code == 200 and "Ticket escalated." in r.content.decode()
    ticket.refresh_from_db()
    assert ticket.escalated_at and ticket.escalated_to == users["supervisor"]
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.ESCALATED).count() == 1
    assert "Escalate again" in r.content.decode()


def _status_tokens(html):
    """The status-page tokens a page shows (a token carries its signing time, so compare what it opens)."""
    return set(re.findall(r"/support/t/([^/\"<\s]+)/", html))


def test_status_link_revoke_and_renew(users, agent, ticket):
    html = agent.get(ticket.get_absolute_url()).content.decode()
    (old,) = _status_tokens(html)
    assert svc.ticket_from_token(old) == ticket
    r = agent.post(url("link_revoke", ticket), **HX)
    assert "no longer works" in r.content.decode() and 'id="status-link-revoked"' in r.content.decode()
    ticket.refresh_from_db()
    assert ticket.access_key == "" and svc.ticket_from_token(old) is None
    mails = OutboundEmail.objects.count()
    r = agent.post(url("link_renew", ticket), **HX)
    ticket.refresh_from_db()
    (new,) = _status_tokens(r.content.decode())
    assert ticket.access_key and svc.ticket_from_token(new) == ticket and svc.ticket_from_token(old) is None
    assert OutboundEmail.objects.count() == mails + 1


# -- attachments ------------------------------------------------------------------------------------


def test_attachment_download_checks_access(users, agent, client_for, ticket):
    html_file = SimpleUploadedFile("page.html", b"<script>alert(1)</script>", content_type="text/html")
    svc.ticket_note(actor=users["agent"], ticket=ticket, body="see file", files=[html_file])
    a = TicketAttachment.objects.get(ticket=ticket)
    r = agent.get(url("attachment", ticket, a.pk))
    assert r.status_code == 200
    assert b"".join(r.streaming_content) == b"<script>alert(1)</script>"
    assert r["Content-Type"] == "application/octet-stream" and "attachment" in r["Content-Disposition"]
    assert client_for("rep1").get(url("attachment", ticket, a.pk)).status_code == 404
    other = make_ticket(users)
    assert agent.get(url("attachment", other, a.pk)).status_code == 404


# -- list, menu, palette ----------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["agent", "supervisor", "rep1"])
def test_list_loads_with_few_queries(users, client_for, django_assert_max_num_queries, username):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = client_for(username)
    counts = []
    for batch in range(2):
        for i in range(4 * batch, 4 * batch + 4):
            t = make_ticket(users, subject=f"Ticket {i}", owner="agent" if i % 2 else "agent2")
            svc.ticket_set_status(actor=users["agent"], ticket=t, status=TicketStatus.IN_PROGRESS)
        c.get(reverse("service:ticket_list"))  # warm caches
        with CaptureQueriesContext(connection) as ctx, django_assert_max_num_queries(28):
            r = c.get(reverse("service:ticket_list"))
        counts.append(len(ctx.captured_queries))
        assert r.status_code == 200
    assert counts[0] == counts[1]  # not one query per row
    html = r.content.decode()
    if username == "rep1":
        assert "Ticket 1" not in html
    else:
        assert "Ticket 1" in html and "Ticket 6" in html


def test_quick_filters(users, client_for):
    mine = make_ticket(users, subject="Mine ticket")
    theirs = make_ticket(users, subject="Theirs ticket", owner="agent2")
    Ticket.all_objects.filter(pk=theirs.pk).update(resolution_breached_at=theirs.created_at)
    c = client_for("agent")
    html = c.get(reverse("service:ticket_list") + "?mine=true&is_open=true").content.decode()
    assert "Mine ticket" in html and "Theirs ticket" not in html
    html = c.get(reverse("service:ticket_list") + "?breached=true").content.decode()
    assert "Theirs ticket" in html and "Mine ticket" not in html
    assert mine.pk


def test_service_menu(users, client_for):
    english(users["agent"])
    html = client_for("agent").get(reverse("home")).content.decode()
    assert "Service" in html and reverse("service:ticket_list") in html and "My open tickets" in html
    assert "?mine=true&amp;is_open=true" in html
    html = client_for("auditor").get(reverse("home")).content.decode()
    assert reverse("service:ticket_list") not in html


def test_palette_finds_tickets_by_reference_and_subject(users, client_for, ticket):
    c = client_for("agent")
    for q in (ticket.reference, ticket.reference.lower(), "arrived broken"):
        html = c.get(reverse("palette_search"), {"q": q}).content.decode()
        assert ticket.get_absolute_url() in html, q
    html = client_for("rep1").get(reverse("palette_search"), {"q": ticket.reference}).content.decode()
    assert ticket.get_absolute_url() not in html


def test_view_only_role_sees_no_commands(users, client_for, ticket):
    marketer = client_for("marketer")
    html = marketer.get(ticket.get_absolute_url()).content.decode()
    assert 'id="ticket-conversation"' in html
    for marker in ('id="reply-form"', 'id="note-form"', 'id="ticket-commands"', 'id="assign-owner"', 'id="status-url"'):
        assert marker not in html
    before = state(ticket)
    assert marketer.post(url("reply", ticket), {"body": "x"}).status_code == 404
    assert state(ticket) == before


def test_menu_highlights_the_service_dropdown_only_on_service_pages(users, client_for):
    c = client_for("supervisor")
    html = c.get(reverse("service:ticket_list")).content.decode()
    assert 'dropdown-toggle active" href="#" role="button" data-bs-toggle="dropdown" aria-expanded="false" ' \
           'id="nav-bi-life-preserver"' in html
    html = c.get(reverse("home")).content.decode()
    assert "dropdown-toggle active" not in html


def test_refused_reply_keeps_the_draft(users, agent, ticket, monkeypatch):
    monkeypatch.setattr(svc, "MAX_ATTACHMENT_BYTES", 10)
    before = state(ticket)
    big = SimpleUploadedFile("big.bin", b"x" * 11, content_type="application/octet-stream")
    draft = "Dear <customer>, sorry"
    r = agent.post(url("reply", ticket), {"body": draft, "files": [big]}, **HX)
    html = r.content.decode()
    assert r.status_code == 200 and "“big.bin” is larger than" in html
    assert "Dear &lt;customer&gt;, sorry</textarea>" in html
    assert state(ticket) == before and not TicketAttachment.objects.exists()
    r = agent.post(url("note", ticket), {"body": "   "}, **HX)
    assert 'class="nav-link active" id="tab-note"' in r.content.decode()


def test_detail_queries_do_not_grow_with_the_conversation(users, agent, ticket):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for _round in range(2):
        for i in range(3):
            f = SimpleUploadedFile(f"f{i}.txt", b"x", content_type="text/plain")
            svc.ticket_reply(actor=users["agent"], ticket=ticket, body=f"reply {i}", files=[f])
            svc.ticket_note(actor=users["agent2"], ticket=ticket, body=f"note {i}")
            svc.ticket_customer_reply(ticket=ticket, body=f"customer {i}")
        with CaptureQueriesContext(connection) as ctx:
            assert agent.get(ticket.get_absolute_url()).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] and counts[1] <= 30, counts
