"""Interactions: the generic record suite, access through the customers they are about, the quick-log form,
the unified timeline (sources, filters, keyset pages, escaping, no leaks) and the derived follow-up figures."""

import datetime
import json

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from guanxi.activities.models import Interaction, Task
from guanxi.activities.selectors import follow_up
from guanxi.activities.services import interaction_log
from guanxi.activities.timeline import Position, context_for, timeline_page
from guanxi.core.choices import TimelineKind
from guanxi.core.models import ApiToken, AuditEvent, TimelineEvent
from guanxi.customers.models import AccountContact
from guanxi.customers.tests.factories import AccountFactory, ContactFactory
from guanxi.framework.services import record_create, record_update
from guanxi.framework.testing import RecordTypeSuite, api_ids, assert_invalid_input

from .factories import InteractionFactory

UTC = datetime.UTC


def at(*args):
    return datetime.datetime(*args, tzinfo=UTC)


def user_pk(username):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username).pk


class TestInteractionRecord(RecordTypeSuite):
    record_type = "activities.interaction"
    api_path = "/api/v1/interactions"
    model_factory = InteractionFactory
    create_data = {
        "kind": "meeting", "direction": "out", "subject": "季度业务回顾", "content": "讨论了明年的采购计划。\n第二行",
        "occurred_at": "2025-03-01T10:00:00+08:00", "duration_minutes": 45, "outcome": "客户同意试用",
        "next_step": "发送报价单", "next_step_due": "2025-03-08",
        "account": lambda: AccountFactory().pk,
        "participant_users": lambda: [user_pk("rep2")],
    }
    update_data = {"subject": "季度业务回顾（更新）", "outcome": "已签意向书", "duration_minutes": 60}
    invalid_create_data = {"kind": "fax", "account": 1}
    form_data = {"kind": "call", "occurred_at": "2025-03-01T10:00", "account": lambda: AccountFactory().pk,
                 "subject": "电话回访", "content": "客户反馈良好"}
    form_update = {"subject": "电话回访（二）", "outcome": "约好下周拜访"}
    filter_cases = [
        ({"kind": "visit"}, {"kind": "visit"}, {"kind": "call"}),
        ({"account": lambda obj: obj.account_id}, {}, {}),
        ({"contact": lambda obj: obj.contact_id}, {"contact": ContactFactory}, {"contact": ContactFactory}),
        ({"occurred_after": "2025-06-01"}, {"occurred_at": at(2025, 6, 2, 3)}, {"occurred_at": at(2025, 5, 30)}),
        ({"occurred_before": "2025-05-31"}, {"occurred_at": at(2025, 5, 30)}, {"occurred_at": at(2025, 6, 2, 3)}),
    ]
    search_cases = [
        ("报价", {"subject": "发送报价单"}, {"subject": "例行拜访"}),
        ("合同条款", {"content": "讨论合同条款细节"}, {"content": "闲聊"}),
        ("renewal", {"subject": "Renewal call"}, {"subject": "Kick-off"}),
    ]
    ordering_case = ("occurred_at", [{"occurred_at": at(2025, 1, 1)}, {"occurred_at": at(2025, 2, 1)},
                                     {"occurred_at": at(2025, 3, 1)}])
    export_text_field = "subject"
    rich_kwargs = {"contact": ContactFactory, "participant_users": lambda: [user_pk("rep2")],
                   "participant_contacts": lambda: [ContactFactory()]}

    def test_ui_list_shows_live_rows_only(self, client_rep1):
        # The suite's version looks for str() of the first column; here it is a time, shown in the
        # reader's time zone and format, so look for the subject column and the local time instead.
        rows = [self.make(subject=f"主题{n}", occurred_at=at(2025, 1, 1, n)) for n in range(3)]
        deleted = self.make(subject="已删除")
        self.model.all_objects.filter(pk=deleted.pk).update(deleted_at="2024-01-01T00:00:00Z")
        response = client_rep1.get(self.url("list"))
        assert sorted(self.ui_ids(response)) == sorted(r.pk for r in rows)
        assert response.context["count"].value == 3
        html = response.content.decode()
        assert all(f"主题{n}" in html for n in range(3)) and "已删除" not in html
        with timezone.override("Asia/Shanghai"):
            assert timezone.localtime(rows[0].occurred_at).strftime("%H:%M") == "08:00"


# -- helpers -------------------------------------------------------------------------------------


def snapshot():
    """Everything a denied write must leave as it was."""
    return (list(Interaction.all_objects.order_by("pk").values()), AuditEvent.objects.count(),
            TimelineEvent.objects.count())


def log_url(record):
    return f"/interactions/log/{record.type_key()}/{record.pk}/"


def timeline_url(record):
    return f"/timeline/{record.type_key()}/{record.pk}/"


def item_keys(page):
    return [(i.source, i.position.pk) for i in page.items]


# -- access ----------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestInteractionAccess:
    def test_rep_sees_interactions_on_own_customers_only_manager_sees_both(self, users, client_rep1, client_for,
                                                                          api, api_for):
        mine = InteractionFactory(account=AccountFactory(owner=users["rep1"]))
        theirs = InteractionFactory(account=AccountFactory(owner=users["rep2"]), owner=users["rep2"])
        via_contact = InteractionFactory(account=None, contact=ContactFactory(owner=users["rep1"]),
                                         owner=users["rep2"])
        outside = InteractionFactory(account=AccountFactory(owner=users["rep3"]), owner=users["rep3"])

        assert sorted(api_ids(api.get("/api/v1/interactions"))) == sorted([mine.pk, via_contact.pk])
        ui = client_rep1.get("/interactions/")
        assert sorted(o.pk for o, _v in ui.context["rows"]) == sorted([mine.pk, via_contact.pk])
        for hidden in (theirs, outside):
            assert client_rep1.get(f"/interactions/{hidden.pk}/").status_code == 404
            assert api.get(f"/api/v1/interactions/{hidden.pk}").status_code == 404

        manager = api_for("manager")
        assert sorted(api_ids(manager.get("/api/v1/interactions"))) == sorted([mine.pk, theirs.pk, via_contact.pk])
        assert client_for("manager").get(f"/interactions/{theirs.pk}/").status_code == 200
        assert manager.get(f"/api/v1/interactions/{outside.pk}").status_code == 404
        rep2 = api_for("rep2")
        assert sorted(api_ids(rep2.get("/api/v1/interactions"))) == [theirs.pk]

    def test_rep1_cannot_log_against_rep2s_company(self, users, api, client_rep1):
        theirs = AccountFactory(owner=users["rep2"])
        their_contact = ContactFactory(owner=users["rep2"], companies=[theirs])
        before = snapshot()
        assert_invalid_input(api.post("/api/v1/interactions", {"kind": "call", "account": theirs.pk}), "account")
        assert_invalid_input(api.post("/api/v1/interactions", {"kind": "call", "contact": their_contact.pk}),
                             "contact")
        mine = AccountFactory(owner=users["rep1"])
        assert_invalid_input(api.post("/api/v1/interactions", {
            "account": mine.pk, "participant_contacts": [their_contact.pk]}), "participant_contacts")
        # The quick-log form on their pages: the page itself is not found.
        assert client_rep1.post(log_url(theirs), {"kind": "call", "occurred_at": "2025-01-01T10:00"}).status_code == 404
        assert client_rep1.get(log_url(their_contact)).status_code == 404
        # The generic form refuses the company as a choice.
        response = client_rep1.post("/interactions/new/", {"kind": "call", "occurred_at": "2025-01-01T10:00",
                                                            "account": theirs.pk})
        assert response.status_code == 422 and "account" in response.context["form"].errors
        # And the service itself, whatever the caller.
        with pytest.raises(Exception) as exc:
            interaction_log(actor=users["rep1"], kind="call", account=theirs)
        assert "account" in exc.value.message_dict
        assert snapshot() == before

    def test_rep1_cannot_change_or_move_interactions(self, users, api):
        theirs = InteractionFactory(account=AccountFactory(owner=users["rep2"]), owner=users["rep2"])
        mine = InteractionFactory(account=AccountFactory(owner=users["rep1"]))
        other = AccountFactory(owner=users["rep2"])
        before = snapshot()
        assert api.patch(f"/api/v1/interactions/{theirs.pk}", {"version": 1, "subject": "x"}).status_code == 404
        assert api.delete(f"/api/v1/interactions/{theirs.pk}").status_code == 404
        # Moving one's own interaction to a company one cannot see.
        assert_invalid_input(api.patch(f"/api/v1/interactions/{mine.pk}", {"version": 1, "account": other.pk}),
                             "account")
        assert snapshot() == before

    def test_a_role_without_add_cannot_log(self, users, client_for):
        account = AccountFactory(owner=users["rep1"])
        auditor, marketer = client_for("auditor"), client_for("marketer")  # (signing in writes audit rows)
        before = snapshot()
        # The auditor sees no company at all; the marketer sees every company but may not log interactions.
        assert auditor.post(log_url(account), {"kind": "call", "occurred_at": "2025-01-01T10:00"}).status_code == 404
        assert marketer.post(log_url(account), {"kind": "call"}).status_code == 403
        page = marketer.get(account.get_absolute_url())
        assert page.status_code == 200 and 'id="quick-log"' not in page.content.decode()
        assert snapshot() == before


# -- bad input ---------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestInteractionInput:
    @pytest.mark.parametrize("data,field", [
        ({}, "non_field_errors"),  # about no customer
        ({"account": None, "contact": None}, "non_field_errors"),
        ({"subject": "a\x00b"}, "subject"),
        ({"content": "x\x00"}, "content"),
        ({"participant_contacts": ["x"]}, None),
        ({"content": "长" * 100_001}, "content"),
        ({"subject": "s" * 301}, "subject"),
        ({"duration_minutes": 24 * 60 + 1}, "duration_minutes"),
        ({"duration_minutes": -5}, "duration_minutes"),
        ({"kind": "fax"}, "kind"),
        ({"direction": "sideways"}, "direction"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"next_step_due": "2025-02-30"}, "next_step_due"),
        ({"account": 10**30}, "account"),
        ({"account": 2**62}, "account"),
        ({"participant_users": [2**62]}, "participant_users"),
        ({"owner": 2**62}, "owner"),
        ({"custom": {"unknown": 1}}, "custom.unknown"),
    ])
    def test_bad_input_is_422_and_creates_nothing(self, api, rep1, data, field):
        account = AccountFactory(owner=rep1)
        body = {"kind": "call", **({"account": account.pk} if data and "account" not in data else {}), **data}
        before = snapshot()
        assert_invalid_input(api.post("/api/v1/interactions", body), field)
        assert snapshot() == before

    def test_duration_of_a_full_day_is_accepted_and_naive_times_are_the_users_zone(self, api, rep1):
        account = AccountFactory(owner=rep1)
        response = api.post("/api/v1/interactions", {"account": account.pk, "duration_minutes": 24 * 60,
                                                     "occurred_at": "2025-03-01T10:00"})
        assert response.status_code == 201, response.content
        # rep1 works in Asia/Shanghai: 10:00 there is 02:00 UTC.
        assert Interaction.objects.get(pk=response.json()["id"]).occurred_at == at(2025, 3, 1, 2)

    def test_contact_with_one_company_files_it_under_the_company(self, api, rep1):
        account = AccountFactory(owner=rep1)
        contact = ContactFactory(owner=rep1, companies=[account])
        body = api.post("/api/v1/interactions", {"contact": contact.pk, "kind": "visit"}).json()
        assert (body["account"], body["contact"]) == (account.pk, contact.pk)
        # Two companies: none is guessed.
        contact.memberships.create(account=AccountFactory(owner=rep1))
        body = api.post("/api/v1/interactions", {"contact": contact.pk}).json()
        assert (body["account"], body["contact"]) == (None, contact.pk)

    def test_a_company_the_actor_cannot_see_is_not_filled_in(self, users):
        theirs = AccountFactory(owner=users["rep2"])
        contact = ContactFactory(owner=users["rep1"], companies=[theirs])
        logged = interaction_log(actor=users["rep1"], kind="call", contact=contact)
        assert logged.account_id is None and logged.contact_id == contact.pk

    def test_service_writes_audit_and_timeline_rows(self, users):
        account = AccountFactory(owner=users["rep1"])
        contact = ContactFactory(owner=users["rep1"], companies=[account])
        logged = interaction_log(actor=users["rep1"], kind="meeting", contact=contact, subject="需求调研",
                                 participant_users=[users["rep2"]], participant_contacts=[contact.pk])
        assert logged.account == account and logged.owner == users["rep1"] and logged.created_by == users["rep1"]
        assert list(logged.participant_users.all()) == [users["rep2"]]
        assert list(logged.participant_contacts.all()) == [contact]
        assert AuditEvent.objects.filter(action="create", record_type="activities.interaction",
                                         record_id=logged.pk).count() == 1
        assert TimelineEvent.objects.filter(record_type="activities.interaction", record_id=logged.pk,
                                            kind=TimelineKind.CREATED).count() == 1
        with pytest.raises(TypeError):
            interaction_log(actor=users["rep1"], kind="call", account=account, deleted_at=timezone.now())


# -- quick log form ----------------------------------------------------------------------------------


@pytest.mark.django_db
class TestQuickLog:
    def test_log_a_call_from_a_contact_page_with_htmx(self, users, client_rep1):
        account = AccountFactory(owner=users["rep1"])
        contact = ContactFactory(owner=users["rep1"], companies=[account])
        page = client_rep1.get(contact.get_absolute_url()).content.decode()
        assert 'id="quick-log"' in page and log_url(contact) in page
        response = client_rep1.post(log_url(contact), {
            "kind": "call", "occurred_at": "2025-04-01T15:30", "duration_minutes": "12", "subject": "报价跟进",
            "content": "客户要求\n分两期付款", "outcome": "同意", "next_step": "寄合同", "next_step_due": "2025-04-08",
            "participant_users": [users["rep2"].pk],
        }, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert response["HX-Trigger"] == "timeline-changed"
        assert 'id="quick-log-done"' in response.content.decode()
        logged = Interaction.objects.get()
        assert (logged.account, logged.contact, logged.owner) == (account, contact, users["rep1"])
        assert logged.occurred_at == at(2025, 4, 1, 7, 30)
        assert logged.duration_minutes == 12 and logged.next_step_due == datetime.date(2025, 4, 8)
        # It is on the company's timeline, labelled with the contact.
        items = client_rep1.get(timeline_url(account)).content.decode()
        assert "报价跟进" in items and contact.name in items and "客户要求<br>分两期付款" in items

    def test_log_on_a_company_page_with_a_contact(self, users, client_rep1):
        account = AccountFactory(owner=users["rep1"])
        contact = ContactFactory(owner=users["rep1"])
        response = client_rep1.post(log_url(account), {"kind": "visit", "occurred_at": "2025-04-01T15:30",
                                                       "contact": contact.pk}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        logged = Interaction.objects.get()
        assert (logged.kind, logged.account, logged.contact) == ("visit", account, contact)

    @pytest.mark.parametrize("data,field", [
        ({"duration_minutes": "1441"}, "duration_minutes"),
        ({"duration_minutes": "-1"}, "duration_minutes"),
        ({"content": "a\x00b"}, "content"),
        ({"subject": "s" * 301}, "subject"),
        ({"kind": "fax"}, "kind"),
        ({"occurred_at": ""}, "occurred_at"),
        ({"occurred_at": "not a time"}, "occurred_at"),
        ({"contact": "2305843009213693952"}, "contact"),
        ({"participant_users": ["x"]}, "participant_users"),
    ])
    def test_errors_come_back_inline_with_422(self, users, client_rep1, data, field):
        account = AccountFactory(owner=users["rep1"])
        before = snapshot()
        body = {"kind": "call", "occurred_at": "2025-04-01T15:30", **data}
        response = client_rep1.post(log_url(account), body, HTTP_HX_REQUEST="true")
        assert response.status_code == 422
        html = response.content.decode()
        assert html.lstrip().startswith("<form") and 'id="quick-log"' in html  # the form only, for htmx
        assert field in response.context["log_form"].errors
        assert f'data-error-for="{field}"' in html or field == "kind"
        assert "HX-Trigger" not in response
        assert snapshot() == before

    def test_without_htmx_it_redirects_or_shows_the_form_page(self, users, client_rep1):
        account = AccountFactory(owner=users["rep1"])
        response = client_rep1.post(log_url(account), {"kind": "note", "occurred_at": "2025-04-01T15:30"})
        assert response.status_code == 302 and response["Location"] == account.get_absolute_url()
        response = client_rep1.post(log_url(account), {"kind": "note", "occurred_at": "x"})
        assert response.status_code == 422 and "<html" in response.content.decode()

    def test_only_companies_and_contacts_take_quick_logs(self, users, client_rep1):
        interaction = InteractionFactory(account=AccountFactory(owner=users["rep1"]))
        assert client_rep1.get(f"/interactions/log/activities.interaction/{interaction.pk}/").status_code == 404
        assert client_rep1.get(f"/interactions/log/core.user/{users['rep1'].pk}/").status_code == 404
        assert client_rep1.get("/interactions/log/nonsense/1/").status_code == 404


# -- the unified timeline ----------------------------------------------------------------------------


def event(record, kind, when, actor, **data):
    e = TimelineEvent.objects.create(record_type=record.type_key(), record_id=record.pk, kind=kind, actor=actor,
                                     data=data)
    TimelineEvent.objects.filter(pk=e.pk).update(at=when)
    return e


def task(when, **kwargs):
    t = Task.objects.create(**kwargs)
    Task.all_objects.filter(pk=t.pk).update(created_at=when)
    return Task.objects.get(pk=t.pk)


@pytest.mark.django_db
class TestTimeline:
    def world(self, users):
        rep1, rep2 = users["rep1"], users["rep2"]
        account = AccountFactory(owner=rep1, name="甲科技有限公司")
        contact = ContactFactory(owner=rep1, name="张伟", companies=[account])
        w = {
            "account": account, "contact": contact,
            "call": InteractionFactory(account=account, kind="call", occurred_at=at(2025, 1, 1, 2), subject="首次电话"),
            "meeting": InteractionFactory(account=None, contact=contact, kind="meeting", occurred_at=at(2025, 2, 1, 2),
                                          subject="需求会议", owner=rep2),
            "created": event(account, TimelineKind.CREATED, at(2024, 12, 31), rep1, label=account.name),
            "updated": event(contact, TimelineKind.UPDATED, at(2025, 1, 15), rep2,
                             changes={"title": ["经理", "总监"]}),
            "task": task(at(2025, 1, 20), title="准备报价", owner=rep1, created_by=rep1, account=account,
                         due_at=at(2025, 3, 1)),
        }
        done = task(at(2025, 1, 10), title="寄样品", owner=rep1, created_by=rep1, contact=contact)
        Task.all_objects.filter(pk=done.pk).update(status="done", completed_at=at(2025, 1, 25))
        w["done"] = done
        return w

    def test_company_timeline_merges_sources_newest_first_with_its_contacts(self, users):
        w = self.world(users)
        page = timeline_page(w["account"], users["rep1"])
        assert item_keys(page) == [
            ("interaction", w["meeting"].pk), ("task_completed", w["done"].pk), ("task_created", w["task"].pk),
            ("change", w["updated"].pk), ("task_created", w["done"].pk), ("interaction", w["call"].pk),
            ("change", w["created"].pk),
        ]
        meeting = page.items[0]
        assert [(r.type_key, r.pk) for r in meeting.about] == [("customers.contact", w["contact"].pk)]
        assert page.next_cursor is None
        # The contact's own timeline: its interaction, task and change only (the company's call is not about it).
        page = timeline_page(w["contact"], users["rep1"])
        assert item_keys(page) == [
            ("interaction", w["meeting"].pk), ("task_completed", w["done"].pk), ("change", w["updated"].pk),
            ("task_created", w["done"].pk),
        ]

    def test_filters_by_type_person_and_period(self, users):
        w = self.world(users)
        rep1, rep2 = users["rep1"], users["rep2"]

        def keys(**kw):
            ctx = context_for(w["account"], rep1)
            from guanxi.activities.timeline import make_filters

            return item_keys(timeline_page(w["account"], rep1, filters=make_filters(**kw), context=ctx))

        assert keys(kinds=["meeting"]) == [("interaction", w["meeting"].pk)]
        assert keys(kinds=["call", "change"]) == [("change", w["updated"].pk), ("interaction", w["call"].pk),
                                                 ("change", w["created"].pk)]
        assert keys(kinds=["task"]) == [("task_completed", w["done"].pk), ("task_created", w["task"].pk),
                                       ("task_created", w["done"].pk)]
        assert keys(person=rep2.pk) == [("interaction", w["meeting"].pk), ("change", w["updated"].pk)]
        # Whole days in the reader's time zone: 2025-01-01 02:00 UTC is 10:00 in Shanghai.
        tz = datetime.timezone(datetime.timedelta(hours=8))
        assert keys(since=datetime.date(2025, 1, 1), until=datetime.date(2025, 1, 15), tz=tz) == [
            ("change", w["updated"].pk), ("task_created", w["done"].pk), ("interaction", w["call"].pk)]
        assert keys(since=datetime.date(2025, 3, 1), tz=tz) == []

    def test_cursor_pages_cover_everything_once_even_with_equal_times(self, users, api):
        account = AccountFactory(owner=users["rep1"])
        same = at(2025, 5, 5, 5)
        made = [InteractionFactory(account=account, occurred_at=same) for _ in range(5)]
        made += [InteractionFactory(account=account) for _ in range(4)]
        made_events = [event(account, TimelineKind.UPDATED, same, users["rep1"], changes={"city": ["a", "b"]})
                       for _ in range(3)]
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            response = api.get(f"/api/v1/accounts/{account.pk}/timeline", **params)
            assert response.status_code == 200, response.content
            body = response.json()
            seen.extend((i["source"], i["id"]) for i in body["items"])
            pages += 1
            cursor = body["next_cursor"]
            if not cursor:
                break
        expected = [("interaction", i.pk) for i in made] + [("change", e.pk) for e in made_events]
        assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))
        assert pages == 6
        # Strictly newest first by (time, source, id).
        whole = api.get(f"/api/v1/accounts/{account.pk}/timeline", limit=100).json()
        assert [(i["source"], i["id"]) for i in whole["items"]] == seen

    def test_ui_infinite_scroll_and_filters(self, users, client_rep1):
        account = AccountFactory(owner=users["rep1"])
        for n in range(25):
            InteractionFactory(account=account, subject=f"第{n}次", kind="call" if n % 2 else "visit")
        page = client_rep1.get(account.get_absolute_url()).content.decode()
        assert page.count('class="timeline-item"') == 20
        assert 'hx-trigger="revealed"' in page
        first = client_rep1.get(timeline_url(account))
        html = first.content.decode()
        assert html.count('class="timeline-item"') == 20
        next_url = first.context["next_url"]
        assert next_url.startswith(timeline_url(account)) and "cursor=" in next_url
        rest = client_rep1.get(next_url)
        assert rest.content.decode().count('class="timeline-item"') == 5
        assert not rest.context["next_url"] and 'hx-trigger="revealed"' not in rest.content.decode()
        visits = client_rep1.get(timeline_url(account), {"kind": "visit"})
        assert [i.kind for i in visits.context["timeline_page"].items] == ["visit"] * 13
        # Filters travel with the next page.
        calls = client_rep1.get(timeline_url(account), {"kind": "call", "person": users["rep1"].pk})
        assert calls.context["next_url"] == ""
        assert len(calls.context["timeline_page"].items) == 12

    @pytest.mark.parametrize("params", [
        {"cursor": "x"}, {"cursor": "1.2"}, {"cursor": "99999999999999999999.1.1"},
        {"cursor": "1.1.99999999999999999999"},
        {"kind": "fax"}, {"person": "abc"}, {"since": "2025-13-01"}, {"since": "2025-02-01", "until": "2025-01-01"},
    ])
    def test_bad_parameters_are_400(self, users, client_rep1, api, params):
        account = AccountFactory(owner=users["rep1"])
        assert client_rep1.get(timeline_url(account), params).status_code == 400
        response = api.get(f"/api/v1/accounts/{account.pk}/timeline", **params)
        assert response.status_code in (400, 422), response.content
        assert response.json()["code"] in ("invalid_cursor", "invalid_filter", "invalid_input")

    def test_content_is_escaped_with_line_breaks_kept(self, users, client_rep1):
        account = AccountFactory(owner=users["rep1"])
        InteractionFactory(account=account, subject="<b>粗体</b>", content="<script>alert('x')</script>\n第二行",
                           outcome="<img src=x onerror=alert(1)>", next_step="<i>下一步</i>")
        html = client_rep1.get(account.get_absolute_url()).content.decode()
        assert "<script>alert('x')</script>" not in html and "<img src=x" not in html and "<b>粗体" not in html
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;<br>第二行" in html
        assert "&lt;b&gt;粗体&lt;/b&gt;" in html and "&lt;i&gt;下一步&lt;/i&gt;" in html

    def test_time_shown_in_the_viewers_time_zone(self, users, client_rep1):
        account = AccountFactory(owner=users["rep1"])
        InteractionFactory(account=account, occurred_at=at(2025, 1, 1, 23, 30))
        assert "2025-01-02 07:30" in client_rep1.get(timeline_url(account)).content.decode()
        users["rep1"].timezone = "Europe/London"
        users["rep1"].save()
        assert "2025-01-01 23:30" in client_rep1.get(timeline_url(account)).content.decode()

    def test_nothing_leaks_from_records_the_reader_cannot_see(self, users, client_rep1, api):
        rep1, rep2 = users["rep1"], users["rep2"]
        theirs = AccountFactory(owner=rep2, name="乙方秘密公司")
        secret_person = ContactFactory(owner=rep2, name="欧阳秘密")
        mine = ContactFactory(owner=rep1, name="李明", companies=[theirs])
        # About rep1's contact and rep2's company: visible to rep1 through the contact...
        shared = InteractionFactory(account=theirs, contact=mine, subject="联合拜访", owner=rep2,
                                    participant_contacts=[secret_person, mine])
        # ...while one about rep2's company only is not.
        hidden = InteractionFactory(account=theirs, subject="内部会议纪要", owner=rep2)
        # rep2 once linked the contact to their company (the event keeps the company's name).
        event(mine, TimelineKind.LINKED, at(2025, 1, 1), rep2, label=theirs.name)
        event(mine, TimelineKind.UPDATED, at(2025, 1, 2), rep2,
              changes={"owner": [{"id": rep2.pk, "label": str(rep2)}, {"id": rep1.pk, "label": str(rep1)}]})

        page = timeline_page(mine, rep1)
        assert ("interaction", shared.pk) in item_keys(page) and ("interaction", hidden.pk) not in item_keys(page)
        html = client_rep1.get(mine.get_absolute_url()).content.decode()
        detail = client_rep1.get(f"/interactions/{shared.pk}/").content.decode()
        body = json.dumps(api.get(f"/api/v1/contacts/{mine.pk}/timeline").json(), ensure_ascii=False)
        for text in (html, detail, body):
            assert "联合拜访" in text
            assert "乙方秘密公司" not in text and "欧阳秘密" not in text and "内部会议纪要" not in text
        assert "李明" in detail
        # Their manager sees the company on the same item, and everyone taking part.
        page = timeline_page(mine, users["manager"])
        shared_item = next(i for i in page.items if i.source == "interaction")
        assert [r.label for r in shared_item.about] == ["乙方秘密公司"]
        assert sorted(r.label for r in shared_item.contacts) == sorted(["李明", "欧阳秘密"])
        linked = next(i for i in page.items if i.source == "change" and i.obj.kind == TimelineKind.LINKED)
        assert linked.title == "乙方秘密公司"
        # A timeline of a record one cannot see is not found.
        assert client_rep1.get(timeline_url(theirs)).status_code == 404
        assert api.get(f"/api/v1/accounts/{theirs.pk}/timeline").status_code == 404
        assert client_rep1.get(f"/follow-up/{theirs.type_key()}/{theirs.pk}/").status_code == 404

    def test_company_page_labels_contacts_items_and_hides_unseen_contacts(self, users, client_rep1):
        rep1, rep2 = users["rep1"], users["rep2"]
        account = AccountFactory(owner=rep1)
        seen = ContactFactory(owner=rep1, name="王芳", companies=[account])
        unseen = ContactFactory(owner=rep2, name="赵秘密", companies=[account])
        InteractionFactory(account=None, contact=seen, subject="王芳的电话")
        InteractionFactory(account=None, contact=unseen, subject="赵的电话", owner=rep2)
        html = client_rep1.get(account.get_absolute_url()).content.decode()
        assert "王芳的电话" in html and "赵的电话" not in html and "赵秘密" not in html

    def test_timeline_query_count_is_constant(self, users, client_rep1):
        account = AccountFactory(owner=users["rep1"])

        def add(n):
            for _ in range(n):
                contact = ContactFactory(owner=users["rep1"], companies=[account])
                InteractionFactory(account=account, contact=contact, participant_contacts=[contact],
                                   participant_users=[users["rep2"]])
                event(contact, TimelineKind.UPDATED, timezone.now(), users["rep1"], changes={"city": ["a", "b"]})
                task(timezone.now(), title="t", owner=users["rep1"], created_by=users["rep1"], contact=contact)

        def count():
            with CaptureQueriesContext(connection) as ctx:
                assert client_rep1.get(timeline_url(account)).status_code == 200
            return len(ctx.captured_queries)

        add(2)
        count()
        small = count()
        add(15)
        assert count() == small

    def test_interaction_page_shows_its_own_history(self, users, client_rep1):
        account = AccountFactory(owner=users["rep1"])
        logged = interaction_log(actor=users["rep1"], kind="call", account=account, subject="初次")
        record_update(obj=logged, actor=users["rep1"], fields={"subject": "初次联系"})
        response = client_rep1.get(f"/interactions/{logged.pk}/")
        assert response.status_code == 200
        kinds = [i.obj.kind for i in response.context["timeline_page"].items]
        assert kinds == ["updated", "created"]
        assert "初次 → 初次联系" in response.content.decode().replace("\n", "")


@pytest.mark.django_db
def test_visible_interactions_about_is_the_access_rule(users):
    """The timeline's shortcut gives exactly the rows of restrict() for every demo user and record."""
    from guanxi.activities.selectors import interactions_about, visible_interactions_about
    from guanxi.core.models import RecordShare
    from guanxi.customers.models import Account, Contact

    owners = [users[u] for u in ("rep1", "rep2", "rep3", "manager")]
    accounts = [AccountFactory(owner=o) for o in owners]
    contacts = [ContactFactory(owner=o, companies=[accounts[(i + 1) % 4]]) for i, o in enumerate(owners)]
    Account.all_objects.filter(pk=AccountFactory(owner=users["rep1"]).pk).update(deleted_at=timezone.now())
    binned = Account.all_objects.filter(deleted_at__isnull=False).get()
    RecordShare.objects.create(record_type="customers.contact", record_id=contacts[1].pk, user=users["rep1"],
                               level="read")
    made = []
    for a in [*accounts, binned, None]:
        for c in [*contacts, None]:
            if a is None and c is None:
                continue
            for people in ([], [contacts[0]], [contacts[2], contacts[3]]):
                made.append(InteractionFactory(account=a, contact=c, participant_contacts=people))
    InteractionFactory(account=accounts[0], deleted_at=timezone.now())
    assert len(made) > 50
    compared = 0
    for username in ("rep1", "rep2", "rep3", "manager", "admin", "agent", "marketer", "auditor"):
        user = users[username]
        for record in [*Account.objects.restrict(user, "view"), *Contact.objects.restrict(user, "view")]:
            targets = context_for(record, user).targets
            expected = set(Interaction.objects.restrict(user, "view").filter(interactions_about(targets))
                           .values_list("pk", flat=True))
            qs = visible_interactions_about(user, targets)
            got = set(qs.values_list("pk", flat=True)) if qs is not None else set()
            assert got == expected, (username, record)
            compared += bool(expected)
    assert compared > 20


# -- derived figures ----------------------------------------------------------------------------------


@pytest.mark.django_db
class TestFollowUp:
    def test_last_contacted_and_next_step(self, users):
        rep1 = users["rep1"]
        account = AccountFactory(owner=rep1)
        contact = ContactFactory(owner=rep1, companies=[account])
        targets = context_for(account, rep1).targets
        assert follow_up(rep1, targets) == follow_up(rep1, targets)  # stable
        empty = follow_up(rep1, targets)
        assert empty.last_contacted is None and empty.next_step is None

        call = InteractionFactory(account=account, occurred_at=at(2025, 1, 1), next_step="寄资料",
                                  next_step_due=datetime.date(2025, 1, 10))
        figures = follow_up(rep1, targets)
        assert figures.last_contacted == call
        assert (figures.next_step.text, figures.next_step.due, figures.next_step.is_task) == (
            "寄资料", datetime.date(2025, 1, 10), False)
        assert figures.next_step.overdue

        # A contact's visit counts for the company; a later note is history, not contact, but supersedes
        # the call's next step with its own.
        visit = InteractionFactory(account=None, contact=contact, kind="visit", occurred_at=at(2025, 2, 1))
        InteractionFactory(account=account, kind="note", occurred_at=at(2025, 3, 1), next_step="内部评审")
        # The future does not count as contacted.
        InteractionFactory(account=account, kind="meeting", occurred_at=timezone.now() + datetime.timedelta(days=3))
        figures = follow_up(rep1, targets)
        assert figures.last_contacted == visit
        assert figures.next_step.text == "内部评审" and figures.next_step.due is None

        # An open task due soon beats an undated next step; a done one does not count.
        soon = timezone.now() + datetime.timedelta(days=2)
        later = timezone.now() + datetime.timedelta(days=9)
        Task.objects.create(title="已完成", owner=rep1, account=account, due_at=soon, status="done")
        Task.objects.create(title="电话回访", owner=rep1, contact=contact, due_at=later)
        first = Task.objects.create(title="发合同", owner=rep1, account=account, due_at=soon)
        figures = follow_up(rep1, targets)
        assert figures.next_step.is_task and figures.next_step.source == first
        # Another rep's task on the company is not rep1's to see.
        Task.objects.create(title="别人的任务", owner=users["rep3"], account=account,
                            due_at=timezone.now() + datetime.timedelta(days=1))
        assert follow_up(rep1, targets).next_step.source == first

    def test_at_most_three_queries(self, users, django_assert_max_num_queries):
        rep1 = users["rep1"]
        account = AccountFactory(owner=rep1)
        InteractionFactory(account=account, occurred_at=at(2025, 1, 1))
        InteractionFactory(account=account, kind="note", occurred_at=at(2025, 2, 1))
        Task.objects.create(title="t", owner=rep1, account=account)
        targets = context_for(account, rep1).targets
        follow_up(rep1, targets)  # warm the per-user access cache
        with django_assert_max_num_queries(3):
            follow_up(rep1, targets)

    def test_shown_on_company_and_contact_pages(self, users, client_rep1):
        rep1 = users["rep1"]
        account = AccountFactory(owner=rep1)
        contact = ContactFactory(owner=rep1, companies=[account])
        InteractionFactory(account=None, contact=contact, occurred_at=at(2025, 1, 1, 2), next_step="安排演示")
        with translation.override("en"):
            for record in (account, contact):
                response = client_rep1.get(record.get_absolute_url())
                html = response.content.decode()
                assert 'id="last-contacted"' in html and "2025-01-01 10:00" in html
                assert "安排演示" in html
                fragment = client_rep1.get(f"/follow-up/{record.type_key()}/{record.pk}/").content.decode()
                assert "安排演示" in fragment and 'hx-trigger="timeline-changed from:body"' in fragment


@pytest.mark.django_db
def test_position_cursor_round_trips():
    for when in (at(2025, 1, 1, 1, 2, 3, 456789), at(1969, 7, 20, 20, 17), timezone.now()):
        p = Position(when, 40, 123)
        assert Position.decode(p.encode()) == p


@pytest.mark.django_db
def test_existing_account_timeline_entries_kept(users, client_rep1):
    """The change history of a company and its contacts stays in the unified timeline."""
    account = record_create(model=AccountFactory._meta.model, actor=users["rep1"], fields={"name": "丙公司"})
    record_update(obj=account, actor=users["rep1"], fields={"city": "厦门市"})
    contact = ContactFactory(owner=users["rep1"])
    AccountContact.objects.create(account=account, contact=contact)
    response = client_rep1.get(account.get_absolute_url())
    kinds = [(i.source, i.obj.kind) for i in response.context["timeline_page"].items]
    assert kinds == [("change", "updated"), ("change", "created")]
    assert "厦门市" in response.content.decode()


# -- the OpenAPI schema of these operations, with data to find ------------------------------------------

_schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application()).include(
    path_regex=r"^/api/v1/(interactions|accounts/\{pk\}/timeline|contacts/\{pk\}/timeline)")


@pytest.fixture
def bearer_with_interactions(db):
    from django.core import signals
    from django.db import close_old_connections

    from guanxi.customers.demo import seed_users

    # Like Django's test client: the app must not close the connection holding the test transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    users = seed_users()
    account = AccountFactory(id=1, owner=users["rep1"])
    contact = ContactFactory(id=1, owner=users["rep1"], companies=[account])
    InteractionFactory(id=1, account=account, contact=contact, participant_contacts=[contact])
    InteractionFactory(id=2, account=None, contact=contact, kind="note", next_step="跟进")
    _token, raw = ApiToken.issue(user=users["rep1"], name="schemathesis")
    yield f"Bearer {raw}"
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@_schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_interaction_and_timeline_operations_conform_to_the_schema(case, bearer_with_interactions):
    case.call_and_validate(headers={"Authorization": bearer_with_interactions}, checks=[
        not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance])
