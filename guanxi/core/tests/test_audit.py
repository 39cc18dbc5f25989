"""The audit trail: one row per event with the required fields, the hash chain and `audit_verify`, the
auditor's page and CSV export, each record's History tab, and seeded canaries that must never leak."""

import csv
import datetime
import io
import json
import logging
from pathlib import Path
from unittest import mock

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone, translation

from guanxi.core import audit
from guanxi.core.audit import audit_log, audit_verify, event_hash
from guanxi.core.choices import AuditAction, AuditOutcome
from guanxi.core.models import ApiToken, AuditEvent, AuditHead, CustomField, TimelineEvent
from guanxi.customers.demo import DEMO_PASSWORD
from guanxi.customers.models import Contact
from guanxi.customers.tests.factories import AccountFactory, ContactFactory

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) GuanxiAuditTest/1.0 Safari/537.36"
UTC = datetime.UTC


def last_id():
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def rows_since(since):
    return list(AuditEvent.objects.filter(pk__gt=since).order_by("pk"))


def browser(user=None):
    """A test client with a real user agent (the client's REMOTE_ADDR is 127.0.0.1), signed in when given a user."""
    client = Client(HTTP_USER_AGENT=UA)
    if user is not None:
        if user.language != "en":  # messages and headers below are asserted in English
            user.language = "en"
            user.save(update_fields=["language"])
        client.force_login(user)
    return client


def check_row(row, *, action, actor, outcome=AuditOutcome.SUCCESS, record=None, label=None):
    """The fields every audit row carries: who, when, from where, what, how it ended, on which record."""
    assert row.action == action
    assert row.outcome == outcome
    assert row.actor_id == (actor.pk if actor else None)
    assert row.actor_label == (actor.get_username() if actor else "")
    assert abs(timezone.now() - row.at) < datetime.timedelta(minutes=1)
    assert row.ip == "127.0.0.1"
    assert row.user_agent == UA
    if record is not None:
        assert (row.record_type, row.record_id, row.record_label) == (record.type_key(), record.pk, str(record))
    if label is not None:
        assert row.record_label == label
    assert len(row.hash) == 64 and len(row.prev_hash) == 64


def one_row(since, **expected):
    rows = rows_since(since)
    assert len(rows) == 1, [(r.action, r.record_label) for r in rows]
    check_row(rows[0], **expected)
    return rows[0]


def contact_form(contact, **changes):
    data = {"name": contact.name, "title": contact.title, "mobile": contact.mobile, "phone": contact.phone,
            "email": contact.email, "wechat": contact.wechat, "country": contact.country or "CN",
            "city": contact.city, "street": contact.street, "owner": contact.owner_id, "version": contact.version}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def at(*args):
    return datetime.datetime(*args, tzinfo=UTC)


def log_at(when, **kwargs):
    """An audit row written at a chosen time (rows always take the clock's time)."""
    with mock.patch.object(audit.timezone, "now", return_value=when):
        return audit_log(**kwargs)


# -- the catalogue: each event type writes exactly one row ------------------------------------------------


@pytest.mark.django_db
class TestCatalogue:
    def test_create(self, users):
        client, since = browser(users["rep1"]), last_id()
        response = client.post("/contacts/new/", {"name": "审计测试", "mobile": "139 0000 1111", "country": "CN",
                                                  "owner": users["rep1"].pk})
        assert response.status_code == 302, response.content.decode()[:2000]
        contact = Contact.objects.get(name="审计测试")
        row = one_row(since, action=AuditAction.CREATE, actor=users["rep1"], record=contact)
        changes = row.data["changes"]
        assert changes["name"] == [None, "审计测试"]
        assert changes["mobile"] == [None, "139****1111"]  # masked, never the number

    def test_update_has_field_level_before_and_after(self, users):
        contact = ContactFactory(title="采购经理", mobile="+8613900001111", owner=users["rep1"])
        client, since = browser(users["rep1"]), last_id()
        response = client.post(f"/contacts/{contact.pk}/edit/",
                               contact_form(contact, title="技术总监", mobile="+8613900002222"))
        assert response.status_code == 302, response.content.decode()[:2000]
        row = one_row(since, action=AuditAction.UPDATE, actor=users["rep1"], record=contact)
        assert row.data["changes"] == {"title": ["采购经理", "技术总监"], "mobile": ["139****1111", "139****2222"]}

    def test_an_edit_that_changes_nothing_writes_nothing(self, users):
        contact = ContactFactory(owner=users["rep1"])
        client, since = browser(users["rep1"]), last_id()
        assert client.post(f"/contacts/{contact.pk}/edit/", contact_form(contact)).status_code == 302
        assert rows_since(since) == []

    def test_delete_and_restore(self, users):
        contact = ContactFactory(owner=users["rep1"])
        client = browser(users["rep1"])
        since = last_id()
        assert client.post(f"/contacts/{contact.pk}/delete/").status_code == 302
        one_row(since, action=AuditAction.DELETE, actor=users["rep1"], record=contact)
        since = last_id()
        assert client.post(f"/trash/customers.contact/{contact.pk}/restore/").status_code == 302
        one_row(since, action=AuditAction.RESTORE, actor=users["rep1"], record=contact)

    def test_purge(self, users):
        contact = ContactFactory(owner=users["rep1"])
        client = browser(users["admin"])
        assert client.post(f"/contacts/{contact.pk}/delete/").status_code == 302
        since = last_id()
        assert client.post(f"/trash/customers.contact/{contact.pk}/purge/").status_code == 302
        assert not Contact.all_objects.filter(pk=contact.pk).exists()
        one_row(since, action=AuditAction.PURGE, actor=users["admin"], record=contact)

    def test_bulk_writes_one_row_per_record(self, users):
        a, b = ContactFactory(owner=users["rep1"]), ContactFactory(owner=users["rep1"])
        client, since = browser(users["rep1"]), last_id()
        response = client.post("/contacts/bulk/", {"action": "add_tag", "tag": "重点客户", "ids": [a.pk, b.pk]})
        assert response.status_code == 302
        rows = rows_since(since)
        assert sorted(r.record_id for r in rows) == sorted([a.pk, b.pk])
        for row, contact in zip(sorted(rows, key=lambda r: r.record_id), sorted([a, b], key=lambda c: c.pk),
                                strict=True):
            check_row(row, action=AuditAction.BULK, actor=users["rep1"], record=contact)
            assert row.data == {"operation": "add_tag", "changes": {"tags": [[], ["重点客户"]]}}

    def test_export_records_fields_and_row_count(self, users):
        ContactFactory(owner=users["rep1"]), ContactFactory(owner=users["rep2"])
        client, since = browser(users["manager"]), last_id()
        response = client.get("/contacts/export/", {"format": "csv"})
        assert response.status_code == 200
        lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        row = one_row(since, action=AuditAction.EXPORT, actor=users["manager"])
        assert row.record_type == "customers.contact"
        assert row.data.get("rows", row.data.get("count")) == len(lines) - 1 == 2
        assert "name" in row.data["fields"] and "mobile" in row.data["fields"]

    def test_reveal(self, users):
        contact = ContactFactory(owner=users["rep1"], mobile="+8613900003333")
        client, since = browser(users["manager"]), last_id()
        response = client.post(f"/reveal/customers.contact/{contact.pk}/mobile/")
        assert response.status_code == 200
        row = one_row(since, action=AuditAction.REVEAL, actor=users["manager"], record=contact)
        assert row.data == {"fields": ["mobile"]}  # which field, never its value

    def test_login_success(self, users):
        client, since = browser(), last_id()
        response = client.post("/login/", {"username": "rep1", "password": DEMO_PASSWORD})
        assert response.status_code == 302
        one_row(since, action=AuditAction.LOGIN, actor=users["rep1"], label="rep1")

    def test_login_failure_keeps_the_name_not_the_password(self, users):
        client, since = browser(), last_id()
        response = client.post("/login/", {"username": "rep1", "password": "wrong-Password-42"})
        assert response.status_code == 200
        row = one_row(since, action=AuditAction.LOGIN_FAILED, actor=None, outcome=AuditOutcome.FAILURE,
                      label="rep1")
        assert "wrong-Password-42" not in json.dumps(row.data)

    def test_logout(self, users):
        client = browser(users["rep1"])
        since = last_id()
        assert client.post("/logout/").status_code == 302
        one_row(since, action=AuditAction.LOGOUT, actor=users["rep1"], label="rep1")

    def test_lockout(self, users):
        client, since = browser(), last_id()
        for _ in range(5):
            client.post("/login/", {"username": "rep1", "password": "wrong-Password-42"})
        rows = rows_since(since)
        assert [r.action for r in rows].count(AuditAction.LOGIN_FAILED) == 5
        [lockout] = [r for r in rows if r.action == AuditAction.LOCKOUT]
        check_row(lockout, action=AuditAction.LOCKOUT, actor=None, outcome=AuditOutcome.DENIED, label="rep1")

    def test_token_create_and_revoke(self, users):
        client, since = browser(users["rep1"]), last_id()
        response = client.post("/profile/tokens/", {"name": "ERP sync"})
        assert response.status_code == 200
        token = ApiToken.objects.get(user=users["rep1"])
        row = one_row(since, action=AuditAction.TOKEN_CREATE, actor=users["rep1"], label=str(token))
        assert (row.record_type, row.record_id) == ("core.apitoken", token.pk)
        assert response.context["new_token"] not in json.dumps(row.data)
        since = last_id()
        assert client.post(f"/profile/tokens/{token.pk}/revoke/").status_code == 302
        row = one_row(since, action=AuditAction.TOKEN_REVOKE, actor=users["rep1"])
        assert (row.record_type, row.record_id) == ("core.apitoken", token.pk)

    def test_settings_change(self, users):
        client, since = browser(users["admin"]), last_id()
        response = client.post("/settings/custom-fields/", {
            "record_type": "customers.contact", "name": "vip_level", "label_zh": "VIP 等级", "label_en": "VIP level",
            "field_type": "text", "position": 1})
        assert response.status_code == 302
        row = one_row(since, action=AuditAction.SETTINGS_CHANGE, actor=users["admin"])
        assert (row.record_type, row.record_id) == ("core.customfield", CustomField.objects.get(name="vip_level").pk)

    def test_audit_export_is_itself_audited(self, users):
        client = browser(users["auditor"])
        since = last_id()
        response = client.get("/audit/export/", {"action": "login"})
        assert response.status_code == 200
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        row = one_row(since, action=AuditAction.AUDIT_EXPORT, actor=users["auditor"])
        assert row.data["filter"] == {"action": "login"}
        assert row.data["rows"] == len(list(csv.reader(io.StringIO(body)))) - 1 == 1  # the auditor's own login

    def test_the_chain_verifies_after_the_whole_catalogue(self, users):
        contact = ContactFactory(owner=users["rep1"])
        client = browser(users["rep1"])
        client.post(f"/contacts/{contact.pk}/edit/", contact_form(contact, title="新职位"))
        client.post("/contacts/bulk/", {"action": "add_tag", "tag": "VIP", "ids": [contact.pk]})
        client.post(f"/contacts/{contact.pk}/delete/")
        client.post(f"/trash/customers.contact/{contact.pk}/restore/")
        client.post("/logout/")
        browser().post("/login/", {"username": "rep1", "password": "nope"})
        out = io.StringIO()
        with translation.override("en"):  # the assertions read the English message
            call_command("audit_verify", stdout=out)
        n = AuditEvent.objects.count()
        assert n >= 7
        assert f"{n} rows checked" in out.getvalue()


# Event types whose rows are asserted in the modules that own their writers (same required fields).
COVERED_ELSEWHERE = {
    AuditAction.ROLE_CHANGE: "guanxi/core/tests/test_org.py",
    AuditAction.ORG_CHANGE: "guanxi/core/tests/test_org.py",
    AuditAction.SHARE_CHANGE: "guanxi/core/tests/test_org.py",
    AuditAction.OTP_CHANGE: "guanxi/core/tests/test_login_security.py",
    AuditAction.LEAD_ASSIGN: "guanxi/sales/tests/test_lead_assignment.py",
    AuditAction.LEAD_CONVERT: "guanxi/sales/tests/test_lead_convert.py",
    AuditAction.LEAD_DISQUALIFY: "guanxi/sales/tests/test_lead_convert.py",
    AuditAction.POOL_CLAIM: "guanxi/customers/tests/test_pools.py",
    AuditAction.POOL_RETURN: "guanxi/customers/tests/test_pools.py",
    AuditAction.POOL_RECLAIM: "guanxi/customers/tests/test_pools.py",
    AuditAction.STAGE_CHANGE: "guanxi/sales/tests/test_opportunity_stages.py",
    AuditAction.TICKET_ASSIGN: "guanxi/service/tests/test_ticket_audit.py",
    AuditAction.TICKET_STATUS: "guanxi/service/tests/test_ticket_audit.py",
    AuditAction.TICKET_ESCALATE: "guanxi/service/tests/test_ticket_audit.py",
    AuditAction.TICKET_REPLY: "guanxi/service/tests/test_ticket_audit.py",
    AuditAction.TICKET_RATE: "guanxi/service/tests/test_ticket_audit.py",
    AuditAction.TICKET_LINK: "guanxi/service/tests/test_ticket_audit.py",
}


# The case above that asserts each event type's row.
CATALOGUE = {
    AuditAction.CREATE: "test_create",
    AuditAction.UPDATE: "test_update_has_field_level_before_and_after",
    AuditAction.DELETE: "test_delete_and_restore",
    AuditAction.RESTORE: "test_delete_and_restore",
    AuditAction.PURGE: "test_purge",
    AuditAction.BULK: "test_bulk_writes_one_row_per_record",
    AuditAction.EXPORT: "test_export_records_fields_and_row_count",
    AuditAction.REVEAL: "test_reveal",
    AuditAction.LOGIN: "test_login_success",
    AuditAction.LOGIN_FAILED: "test_login_failure_keeps_the_name_not_the_password",
    AuditAction.LOGOUT: "test_logout",
    AuditAction.LOCKOUT: "test_lockout",
    AuditAction.TOKEN_CREATE: "test_token_create_and_revoke",
    AuditAction.TOKEN_REVOKE: "test_token_create_and_revoke",
    AuditAction.SETTINGS_CHANGE: "test_settings_change",
    AuditAction.AUDIT_EXPORT: "test_audit_export_is_itself_audited",
}


def test_every_event_type_has_a_catalogue_case():
    """A new AuditAction needs a case above (or a named home elsewhere): the catalogue stays complete."""
    assert set(CATALOGUE) | set(COVERED_ELSEWHERE) == set(AuditAction.values)
    for action, case in CATALOGUE.items():
        assert callable(getattr(TestCatalogue, case, None)), (action, case)
    root = Path(__file__).resolve().parents[3]
    for action, module in COVERED_ELSEWHERE.items():
        assert f"AuditAction.{action.name}" in (root / module).read_text(), (action, module)


# -- the hash chain and audit_verify ---------------------------------------------------------------------


@pytest.fixture
def chain(users):
    """Six audit rows of different kinds; returns their ids in order."""
    rep1 = users["rep1"]
    contact = ContactFactory(owner=rep1)
    ids = [
        audit_log(actor=rep1, action=AuditAction.CREATE, obj=contact, data={"changes": {"name": [None, "甲"]}}).pk,
        audit_log(actor=rep1, action=AuditAction.UPDATE, obj=contact, data={"changes": {"title": ["a", "b"]}}).pk,
        audit_log(actor=None, action=AuditAction.LOGIN_FAILED, outcome=AuditOutcome.FAILURE, label="ghost",
                  data={"username": "ghost"}).pk,
        audit_log(actor=rep1, action=AuditAction.EXPORT, record_type="customers.contact",
                  data={"fields": ["name"], "rows": 1}).pk,
        audit_log(actor=rep1, action=AuditAction.DELETE, obj=contact).pk,
        audit_log(actor=rep1, action=AuditAction.RESTORE, obj=contact).pk,
    ]
    assert audit_verify().ok
    return ids


def sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def verify_fails():
    with pytest.raises(CommandError) as error, translation.override("en"):
        call_command("audit_verify", stdout=io.StringIO())
    assert error.value.returncode == 1
    return str(error.value)


@pytest.mark.django_db
class TestVerify:
    def test_intact_chain_passes_and_counts_rows(self, chain):
        out = io.StringIO()
        with translation.override("en"):  # the assertions read the English message
            call_command("audit_verify", stdout=out)
        assert f"{AuditEvent.objects.count()} rows checked" in out.getvalue()

    def test_empty_log_passes(self, db):
        out = io.StringIO()
        with translation.override("en"):  # the assertions read the English message
            call_command("audit_verify", stdout=out)
        assert "0 rows checked" in out.getvalue()

    def test_the_orm_refuses_to_change_rows(self, chain):
        event = AuditEvent.objects.get(pk=chain[2])
        for attempt in (lambda: AuditEvent.objects.filter(pk=event.pk).update(record_label="x"),
                        lambda: AuditEvent.objects.filter(pk=event.pk).delete(),
                        event.save, event.delete):
            with pytest.raises(PermissionError):
                attempt()
        assert audit_verify().ok

    @pytest.mark.parametrize("column,value", [
        ("record_label", "forged"), ("ip", "10.0.0.1"), ("actor_label", "rep2"), ("outcome", "success"),
        ("data", '{"username": "someone-else"}'),
    ])
    def test_edited_row(self, chain, column, value):
        sql(f"UPDATE core_auditevent SET {column} = %s WHERE id = %s", [value, chain[2]])  # noqa: S608
        message = verify_fails()
        assert f"row {chain[2]}:" in message and "edited" in message

    def test_edited_time(self, chain):
        sql("UPDATE core_auditevent SET at = %s WHERE id = %s", [at(2020, 1, 1), chain[3]])
        assert f"row {chain[3]}:" in verify_fails()

    def test_edited_row_with_its_hash_recomputed_breaks_the_next_link(self, chain):
        sql("UPDATE core_auditevent SET record_label = %s WHERE id = %s", ["forged", chain[2]])
        forged = AuditEvent.objects.get(pk=chain[2])
        sql("UPDATE core_auditevent SET hash = %s WHERE id = %s", [event_hash(forged, forged.prev_hash), chain[2]])
        message = verify_fails()
        assert f"row {chain[3]}:" in message and "broken link" in message

    def test_deleted_row_in_the_middle(self, chain):
        sql("DELETE FROM core_auditevent WHERE id = %s", [chain[2]])
        message = verify_fails()
        assert f"row {chain[3]}:" in message and "broken link" in message

    def test_deleted_newest_row(self, chain):
        sql("DELETE FROM core_auditevent WHERE id = %s", [chain[-1]])
        message = verify_fails()
        assert f"row {chain[-1]}:" in message and "newest rows removed" in message

    def test_two_rows_swapped(self, chain):
        a, b = chain[1], chain[3]
        sql("UPDATE core_auditevent SET id = %s WHERE id = %s", [-1, a])
        sql("UPDATE core_auditevent SET id = %s WHERE id = %s", [a, b])
        sql("UPDATE core_auditevent SET id = %s WHERE id = %s", [b, -1])
        message = verify_fails()
        assert f"row {a}:" in message and "broken link" in message

    def test_row_appended_behind_the_heads_back(self, chain):
        head = AuditHead.objects.get(pk=1)
        sql("INSERT INTO core_auditevent (at, actor_label, action, outcome, record_type, record_label, ip, "
            "user_agent, data, prev_hash, hash) VALUES (%s, '', 'login', 'success', '', 'x', '', '', '{}', %s, %s)",
            [timezone.now(), head.last_hash, "f" * 64])
        verify_fails()

    def test_continues_past_chunk_boundaries(self, chain):
        assert audit_verify(chunk=2).ok
        sql("UPDATE core_auditevent SET record_label = %s WHERE id = %s", ["forged", chain[4]])
        result = audit_verify(chunk=2)
        assert (result.ok, result.event_id, result.checked) == (False, chain[4], len(chain) - 2)


# -- the auditor's page ----------------------------------------------------------------------------------


@pytest.fixture
def events(users):
    """Four rows at known times, users, kinds, outcomes and records (newest last)."""
    contact = ContactFactory(name="王小明", owner=users["rep1"])
    account = AccountFactory(name="华为审计测试", owner=users["rep2"])
    return {
        "update": log_at(at(2025, 1, 10, 2), actor=users["rep1"], action=AuditAction.UPDATE, obj=contact,
                         data={"changes": {"mobile": ["139****1111", "139****2222"], "lifecycle_stage": [None, "x"]}}),
        "export": log_at(at(2025, 2, 1, 3), actor=users["manager"], action=AuditAction.EXPORT,
                         record_type="customers.contact", data={"fields": ["name", "mobile"], "rows": 12}),
        "failed": log_at(at(2025, 2, 15, 10), actor=None, action=AuditAction.LOGIN_FAILED,
                         outcome=AuditOutcome.FAILURE, label="rep1", data={"username": "rep1"}),
        "delete": log_at(at(2025, 3, 1, 4), actor=users["rep2"], action=AuditAction.DELETE, obj=account,
                         outcome=AuditOutcome.DENIED),
        "contact": contact,
        "account": account,
    }


def shown(response):
    return [e.pk for e in response.context["events"]]


@pytest.mark.django_db
class TestAuditPage:
    @pytest.mark.parametrize("username", ["auditor", "admin"])
    def test_auditors_and_administrators_read_it(self, users, username):
        client = browser(users[username])
        response = client.get("/audit/")
        assert response.status_code == 200
        assert 'href="/audit/"' in response.content.decode()  # the menu entry

    @pytest.mark.parametrize("username", ["manager", "rep1", "agent", "marketer"])
    def test_everyone_else_gets_404_and_no_menu_entry(self, users, username):
        client = browser(users[username])
        since = last_id()
        assert client.get("/audit/").status_code == 404
        assert client.get("/audit/export/").status_code == 404
        assert rows_since(since) == []
        assert 'href="/audit/"' not in client.get("/").content.decode()

    def test_a_role_with_the_flag_reads_it(self, users):
        role = users["marketer"].role
        role.can_read_audit = True
        role.save()
        assert browser(users["marketer"]).get("/audit/").status_code == 200

    def test_anonymous_is_sent_to_login(self, db):
        response = Client().get("/audit/")
        assert response.status_code == 302 and response["Location"].startswith("/login/")

    def test_newest_first_with_every_column(self, users, events):
        users["auditor"].timezone = "America/New_York"
        users["auditor"].save()
        response = browser(users["auditor"]).get("/audit/", {"until": "2025-06-30"})
        assert shown(response) == [events[k].pk for k in ("delete", "failed", "export", "update")]
        page = response.content.decode()
        assert "2025-01-09 21:00:00" in page  # 02:00 UTC in New York
        assert "America/New_York" in page
        assert "139****1111 → 139****2222" in page
        assert "王小明" in page and "华为审计测试" in page
        assert "Full name, Mobile" in page and "12" in page  # the fields by their verbose names

    def test_record_links_only_when_the_viewer_may_see_the_record(self, users, events):
        url = events["contact"].get_absolute_url()
        assert f'href="{url}"' in browser(users["admin"]).get("/audit/").content.decode()
        # The auditor role sees no customer records: the label, no link.
        page = browser(users["auditor"]).get("/audit/").content.decode()
        assert "王小明" in page and f'href="{url}"' not in page
        # A record in the recycle bin has no page to link to.
        Contact.all_objects.filter(pk=events["contact"].pk).update(deleted_at=timezone.now())
        assert f'href="{url}"' not in browser(users["admin"]).get("/audit/").content.decode()

    def test_user_agent_is_shortened(self, users, events):
        client = browser()
        assert client.post("/login/", {"username": "auditor", "password": DEMO_PASSWORD}).status_code == 302
        page = client.get("/audit/").content.decode()
        assert f'title="{UA}"' in page
        assert f">{UA}<" not in page

    @pytest.mark.parametrize("params,expected", [
        ({"since": "2025-02-01", "until": "2025-02-15"}, ["failed", "export"]),
        ({"since": "2025-02-01T11:00", "until": "2025-02-15T18:00"}, ["export"]),  # Shanghai time
        ({"until": "2025-02-14"}, ["export", "update"]),
        ({"action": "export"}, ["export"]),
        ({"outcome": "failure"}, ["failed"]),
        ({"outcome": "denied"}, ["delete"]),
        ({"record_type": "customers.account"}, ["delete"]),
        ({"record_type": "customers.contact", "until": "2025-06-30"}, ["export", "update"]),
        ({"q": "华为审计"}, ["delete"]),
        ({"q": "REP1", "until": "2025-06-30"}, ["failed"]),
        ({"q": "nothing like this"}, []),
    ])
    def test_filters(self, users, events, params, expected):
        response = browser(users["auditor"]).get("/audit/", params)
        assert response.status_code == 200
        assert shown(response) == [events[k].pk for k in expected]
        if not expected:
            assert 'id="audit-empty"' in response.content.decode()

    def test_filter_by_user_and_record_id(self, users, events):
        client = browser(users["auditor"])
        assert shown(client.get("/audit/", {"user": users["rep2"].pk})) == [events["delete"].pk]
        response = client.get("/audit/", {"record_type": "customers.contact", "record_id": events["contact"].pk})
        assert shown(response) == [events["update"].pk]

    def test_a_date_alone_ends_with_that_day_in_the_viewers_time_zone(self, users, events):
        late = log_at(at(2025, 2, 15, 16, 30), actor=users["rep1"], action=AuditAction.LOGOUT, label="rep1")
        client = browser(users["auditor"])  # Asia/Shanghai: 16:30 UTC is 00:30 the next day
        assert late.pk not in shown(client.get("/audit/", {"until": "2025-02-15"}))
        assert late.pk in shown(client.get("/audit/", {"until": "2025-02-16"}))

    @pytest.mark.parametrize("params", [
        {"record_id": "abc"}, {"record_id": "0"}, {"record_id": str(2**64)}, {"action": "hack"},
        {"outcome": "maybe"}, {"record_type": "core.auditevent"}, {"since": "yesterday"},
        {"since": "2025-03-01", "until": "2025-02-01"}, {"q": "a\x00b"}, {"q": "x" * 201},
        {"user": "999999999"}, {"user": "abc"}, {"user": str(2**64)},
    ])
    def test_bad_filters_are_400_with_the_reason(self, users, events, params):
        client = browser(users["auditor"])
        response = client.get("/audit/", params)
        assert response.status_code == 400
        assert response.context["form"].errors
        assert shown(response) == []
        since = last_id()
        response = client.get("/audit/export/", params)
        assert response.status_code == 400 and "Invalid filter" in response.content.decode()
        assert rows_since(since) == []

    @pytest.mark.parametrize("params", [{"before": "x"}, {"after": "-1"}, {"before": str(2**64)}])
    def test_bad_page_position_is_400(self, users, params):
        assert browser(users["auditor"]).get("/audit/", params).status_code == 400

    def test_keyset_pages_of_fifty(self, users):
        ids = [audit_log(actor=users["rep1"], action=AuditAction.UPDATE, label=f"r{i}").pk for i in range(120)]
        client = browser(users["auditor"])
        query = {"q": "r", "action": "update"}
        first = client.get("/audit/", query)
        assert shown(first) == ids[::-1][:50]
        assert first.context["has_older"] and not first.context["has_newer"]
        second = client.get("/audit/", {**query, "before": first.context["older"]})
        assert shown(second) == ids[::-1][50:100]
        third = client.get("/audit/", {**query, "before": second.context["older"]})
        assert shown(third) == ids[::-1][100:]
        assert not third.context["has_older"] and third.context["has_newer"]
        back = client.get("/audit/", {**query, "after": third.context["newer"]})
        assert shown(back) == shown(second)
        assert shown(client.get("/audit/", {**query, "after": second.context["newer"]})) == shown(first)
        assert f"before={second.context['older']}" in second.content.decode()
        assert first.context["count"].value == 120

    def test_csv_export_of_the_current_filter(self, users, events):
        forged = log_at(at(2025, 2, 2), actor=users["rep1"], action=AuditAction.UPDATE,
                        label="=HYPERLINK(\"http://x\")")
        client = browser(users["auditor"])
        since = last_id()
        response = client.get("/audit/export/", {"since": "2025-02-01", "until": "2025-02-20"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        raw = b"".join(response.streaming_content)
        assert raw.startswith("\ufeff".encode())
        lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        header, body = lines[0], lines[1:]
        assert header == ["ID", "Time (Asia/Shanghai)", "Time (UTC)", "User", "Event", "Outcome", "Record type",
                          "Record ID", "Record", "IP address", "User agent", "Details"]
        assert [int(r[0]) for r in body] == [forged.pk, events["failed"].pk, events["export"].pk]
        assert body[0][8] == "'=HYPERLINK(\"http://x\")"  # no formula runs in a spreadsheet
        export_row = next(r for r in body if int(r[0]) == events["export"].pk)
        assert export_row[1] == "2025-02-01 11:00:00" and export_row[2] == "2025-02-01T03:00:00+00:00"
        assert json.loads(export_row[11]) == {"fields": ["name", "mobile"], "rows": 12}
        audit_row = one_row(since, action=AuditAction.AUDIT_EXPORT, actor=users["auditor"])
        assert audit_row.data == {"filter": {"since": "2025-01-31T16:00:00+00:00",
                                             "until": "2025-02-20T16:00:00+00:00"},
                                  "rows": 3, "format": "csv"}


# -- a record's History tab -------------------------------------------------------------------------------


@pytest.mark.django_db
class TestHistory:
    def test_detail_pages_load_the_history(self, users):
        contact = ContactFactory(owner=users["rep1"])
        account = AccountFactory(owner=users["rep1"])
        other = AccountFactory(owner=users["rep1"])
        from guanxi.customers.models import AccountRelation

        relation = AccountRelation.objects.create(from_account=account, to_account=other, relation_type="partner")
        client = browser(users["rep1"])
        for obj in (contact, account, relation):
            page = client.get(obj.get_absolute_url()).content.decode()
            assert f'hx-get="/history/{obj.type_key()}/{obj.pk}/"' in page, obj
            assert client.get(f"/history/{obj.type_key()}/{obj.pk}/").status_code == 200

    def test_shows_the_records_rows_with_field_diffs(self, users):
        contact = ContactFactory(title="采购经理", mobile="+8613900001111", owner=users["rep1"])
        other = ContactFactory(owner=users["rep1"])
        client = browser(users["rep1"])
        client.post(f"/contacts/{contact.pk}/edit/", contact_form(contact, title="技术总监", mobile="+8613900002222"))
        client.post(f"/contacts/{other.pk}/edit/", contact_form(other, title="不相关"))
        response = client.get(f"/history/customers.contact/{contact.pk}/")
        assert response.status_code == 200
        page = response.content.decode()
        assert "采购经理 → 技术总监" in page
        assert "139****1111 → 139****2222" in page
        assert "不相关" not in page
        assert "<html" not in page  # a partial for htmx
        assert [e.record_id for e in response.context["events"]] == [contact.pk]

    def test_tag_changes_show_on_the_record_page_and_in_its_history(self, users):
        # Tag changes are lists: the timeline and history once failed on them with a 500.
        contact = ContactFactory(owner=users["rep1"])
        client = browser(users["rep1"])
        client.post("/contacts/bulk/", {"action": "add_tag", "tag": "VIP", "ids": [contact.pk]})
        response = client.get(contact.get_absolute_url())
        assert response.status_code == 200 and "— → VIP" in response.content.decode()
        history = client.get(f"/history/customers.contact/{contact.pk}/").content.decode()
        assert "— → VIP" in history and "Add tag" in history

    @pytest.mark.parametrize("username", ["rep2", "auditor", "marketer_without_contacts"])
    def test_out_of_scope_is_404(self, users, username):
        contact = ContactFactory(owner=users["rep1"])
        audit_log(actor=users["rep1"], action=AuditAction.UPDATE, obj=contact, data={"changes": {"title": ["a", "b"]}})
        if username == "marketer_without_contacts":
            users["marketer"].role.permissions.filter(record_type="customers.contact").delete()
            username = "marketer"
        assert browser(users[username]).get(f"/history/customers.contact/{contact.pk}/").status_code == 404

    def test_manager_sees_the_subordinates_record(self, users):
        contact = ContactFactory(owner=users["rep1"])
        assert browser(users["manager"]).get(f"/history/customers.contact/{contact.pk}/").status_code == 200

    def test_records_in_the_recycle_bin_keep_their_history(self, users):
        contact = ContactFactory(owner=users["rep1"])
        client = browser(users["rep1"])
        client.post(f"/contacts/{contact.pk}/delete/")
        response = client.get(f"/history/customers.contact/{contact.pk}/")
        assert response.status_code == 200
        assert [e.action for e in response.context["events"]] == [AuditAction.DELETE]

    @pytest.mark.parametrize("url", [
        "/history/customers.nothing/1/", "/history/nothing/1/", "/history/customers.contact/999999/",
        f"/history/customers.contact/{2**64}/",
    ])
    def test_unknown_type_or_record_is_404(self, users, url):
        assert browser(users["admin"]).get(url).status_code == 404

    def test_anonymous_is_sent_to_login(self, users):
        contact = ContactFactory(owner=users["rep1"])
        response = Client().get(f"/history/customers.contact/{contact.pk}/")
        assert response.status_code == 302 and "/login/" in response["Location"]

    def test_older_rows_load_on_demand(self, users):
        contact = ContactFactory(owner=users["rep1"])
        ids = [audit_log(actor=users["rep1"], action=AuditAction.UPDATE, obj=contact,
                         data={"changes": {"title": [str(i), str(i + 1)]}}).pk for i in range(25)]
        client = browser(users["rep1"])
        first = client.get(f"/history/customers.contact/{contact.pk}/")
        assert [e.pk for e in first.context["events"]] == ids[::-1][:20]
        older = first.context["older"]
        assert f'hx-get="/history/customers.contact/{contact.pk}/?before={older}"' in first.content.decode()
        rest = client.get(f"/history/customers.contact/{contact.pk}/", {"before": older})
        assert [e.pk for e in rest.context["events"]] == ids[::-1][20:]
        assert "Show older" not in rest.content.decode()
        assert client.get(f"/history/customers.contact/{contact.pk}/", {"before": "x"}).status_code == 400


# -- canaries: seeded personal data must never appear in clear outside the record --------------------------

CANARY = {
    "mobile": "+8613957246813",
    "email": "canary.q7x@leak-check.example",
    "wechat": "wx_canary_q7x",
    "street": "金丝雀路7号",
}
CANARY_MOBILE_2 = "+8613957246899"
# Every form in which a clear value could show up.
CANARY_STRINGS = [*CANARY.values(), "13957246813", "139 5724 6813", "139-5724-6813", CANARY_MOBILE_2,
                  "13957246899"]


def leaks(text):
    return [s for s in CANARY_STRINGS if s.lower() in text.lower()]


def dump(model):
    return json.dumps(list(model._base_manager.values()), default=str, ensure_ascii=False)


@pytest.mark.django_db
def test_canary_values_never_leak(users, caplog):
    for name in ("", "django", "axes", "guanxi"):
        caplog.set_level(logging.DEBUG, logger=name or None)
    rep1, marketer = users["rep1"], users["marketer"]
    account = AccountFactory(owner=rep1)

    # Created and edited through the UI by its owner (who may reveal), moved through every other channel.
    owner = browser(rep1)
    response = owner.post("/contacts/new/", {"name": "金丝雀", "country": "CN", "owner": rep1.pk,
                                             "companies": [account.pk], **CANARY})
    assert response.status_code == 302, response.content.decode()[:2000]
    contact = Contact.objects.get(name="金丝雀")
    assert contact.mobile == CANARY["mobile"]
    assert owner.post(f"/contacts/{contact.pk}/edit/",
                      contact_form(contact, mobile=CANARY_MOBILE_2, title="新职位")).status_code == 302
    contact.refresh_from_db()
    assert owner.post("/contacts/bulk/", {"action": "add_tag", "tag": "VIP", "ids": [contact.pk]}).status_code == 302
    assert "金丝雀" in owner.get("/search/", {"q": CANARY_MOBILE_2}).content.decode()  # exact match still finds it
    owner.get(contact.get_absolute_url())
    owner.get(f"/history/customers.contact/{contact.pk}/")
    owner.post(f"/contacts/{contact.pk}/delete/")
    owner.post(f"/trash/customers.contact/{contact.pk}/restore/")

    # Failed logins with canaries as the password.
    browser().post("/login/", {"username": "rep1", "password": CANARY["mobile"]})
    browser().post("/login/", {"username": "rep1", "password": CANARY["email"]})

    # Exports by a user who may export but not reveal, and the auditor's export of the whole log.
    viewer = browser(marketer)
    exports = []
    for fmt in ("csv", "xlsx"):
        response = viewer.get("/contacts/export/", {"format": fmt})
        assert response.status_code == 200
        exports.append((fmt, b"".join(response.streaming_content) if response.streaming else
                        b"".join(response)))
    audit_csv = b"".join(browser(users["auditor"]).get("/audit/export/").streaming_content).decode("utf-8-sig")
    audit_page = browser(users["auditor"]).get("/audit/").content.decode()
    history_as_manager = browser(users["manager"]).get(f"/history/customers.contact/{contact.pk}/").content.decode()

    assert AuditEvent.objects.filter(record_type="customers.contact", record_id=contact.pk).count() >= 5
    assert leaks(dump(AuditEvent)) == []
    assert leaks(dump(TimelineEvent)) == []
    assert leaks(audit_csv) == [] and leaks(audit_page) == [] and leaks(history_as_manager) == []
    assert leaks("\n".join(r.getMessage() for r in caplog.records)) == []
    assert leaks(caplog.text) == []
    csv_export = dict(exports)["csv"].decode("utf-8-sig")
    assert "金丝雀" in csv_export  # the record is exported, its personal data masked
    assert leaks(csv_export) == []
    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(dict(exports)["xlsx"]), read_only=True).active
    assert leaks(json.dumps([list(r) for r in sheet.iter_rows(values_only=True)], default=str,
                            ensure_ascii=False)) == []

    # Nowhere else in the database either: only the contact's own row holds the clear values.
    for model in apps.get_models():
        if model is Contact or model._meta.proxy:
            continue
        assert leaks(dump(model)) == [], model._meta.label
    assert audit_verify().ok
