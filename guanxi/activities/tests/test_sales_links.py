"""Activities about leads and deals: logging against them (quick log, API, service, generic form, task card),
their timelines and follow-up figures, the company timeline covering its deals, a deal's stage changes, and
visibility that follows the lead or deal (nobody attaches or reads what they may not see)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from djmoney.money import Money

from guanxi.activities.models import Interaction, Task
from guanxi.activities.selectors import follow_up, interactions_about, visible_interactions_about
from guanxi.activities.services import interaction_log
from guanxi.activities.timeline import context_for, make_filters, timeline_page
from guanxi.core.models import RecordShare, User
from guanxi.customers.tests.factories import AccountFactory, ContactFactory
from guanxi.sales.models import Lead, Opportunity, Pipeline, StageHistory

from .factories import InteractionFactory, TaskFactory

pytestmark = pytest.mark.django_db
UTC = datetime.UTC


def default_pipeline():
    """The default pipeline seeded by migration sales/0002 (transactional tests elsewhere flush it)."""
    from guanxi.sales.tests.factories import ensure_default_pipeline

    if not Pipeline.objects.filter(is_default=True).exists():
        ensure_default_pipeline()
    return Pipeline.objects.get(is_default=True)


def at(*args):
    return datetime.datetime(*args, tzinfo=UTC)


def make_deal(owner, account=None, name="年度采购项目"):
    pipeline = default_pipeline()
    stage = pipeline.stages.filter(kind="open").order_by("position", "id").first()
    return Opportunity.objects.create(name=name, account=account or AccountFactory(owner=owner), pipeline=pipeline,
                                      stage=stage, owner=owner, amount=Money(100_000, "CNY"),
                                      stage_entered_at=at(2025, 1, 1))


def make_lead(owner, **kwargs):
    return Lead.objects.create(name=kwargs.pop("name", "王经理"), company_name="潜在客户公司", owner=owner, **kwargs)


def log_url(record):
    return reverse("activities:interaction_quick_log", args=[record.type_key(), record.pk])


def keys(page):
    return [(i.source, i.position.pk) for i in page.items]


def snapshot():
    return (list(Interaction.all_objects.order_by("pk").values()), list(Task.all_objects.order_by("pk").values()))


# -- logging ---------------------------------------------------------------------------------------


def test_quick_log_on_a_lead_shows_on_its_timeline_and_follow_up(users, client_rep1):
    rep1 = users["rep1"]
    lead = make_lead(rep1)
    response = client_rep1.post(log_url(lead), {"kind": "call", "occurred_at": "2025-04-01T15:30",
                                                "subject": "首次联系线索", "next_step": "发资料"},
                                HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Trigger"] == "timeline-changed"
    logged = Interaction.objects.get(subject="首次联系线索")
    assert (logged.lead_id, logged.account_id, logged.contact_id, logged.opportunity_id) == (lead.pk, None, None, None)
    assert keys(timeline_page(lead, rep1))[0] == ("interaction", logged.pk)
    items = client_rep1.get(reverse("activities:timeline", args=["sales.lead", lead.pk]))
    assert items.status_code == 200 and "首次联系线索" in items.content.decode()
    summary = client_rep1.get(reverse("activities:follow_up", args=["sales.lead", lead.pk]))
    assert summary.status_code == 200 and summary.context["follow_up"].last_contacted == logged
    assert summary.context["follow_up"].next_step.text == "发资料"
    # The lead's detail page gets the panel from activity_panel (quick log, summary, timeline).
    panel = _panel(lead, rep1)
    assert panel["log_form"] is not None and panel["follow_up"].last_contacted == logged
    assert [i.obj for i in panel["timeline_page"].items if i.source == "interaction"] == [logged]
    # A lead form has neither company nor contact to choose.
    assert "account" not in panel["log_form"].fields and "contact" not in panel["log_form"].fields


def _panel(record, user):
    from django.test import RequestFactory

    from guanxi.activities.timeline_views import activity_panel

    request = RequestFactory().get("/")
    request.user = User.objects.get(pk=user.pk)
    return activity_panel(record, request)


def test_quick_log_on_a_deal_files_it_under_its_company_and_both_timelines_show_it(users, client_rep1):
    rep1 = users["rep1"]
    account = AccountFactory(owner=rep1, name="乙集团")
    deal = make_deal(rep1, account)
    contact = ContactFactory(owner=rep1, companies=[account])
    response = client_rep1.post(log_url(deal), {"kind": "meeting", "occurred_at": "2025-04-02T10:00",
                                                "subject": "方案演示", "contact": contact.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    logged = Interaction.objects.get(subject="方案演示")
    assert (logged.opportunity_id, logged.account_id, logged.contact_id) == (deal.pk, account.pk, contact.pk)
    for record in (deal, account, contact):
        assert ("interaction", logged.pk) in keys(timeline_page(record, rep1)), record
    item = next(i for i in timeline_page(account, rep1).items if i.source == "interaction")
    assert ("sales.opportunity", deal.pk) in {(r.type_key, r.pk) for r in item.about}
    assert _panel(deal, rep1)["follow_up"].last_contacted == logged


def test_company_timeline_covers_its_deals_even_when_an_item_names_only_the_deal(users):
    rep1 = users["rep1"]
    account = AccountFactory(owner=rep1)
    deal = make_deal(rep1, account)
    other_deal = make_deal(rep1)  # another company's deal
    call = InteractionFactory(account=None, opportunity=deal, occurred_at=at(2025, 2, 1), owner=rep1)
    elsewhere = InteractionFactory(account=None, opportunity=other_deal, occurred_at=at(2025, 2, 2), owner=rep1)
    task = TaskFactory(opportunity=deal, owner=rep1)
    page = keys(timeline_page(account, rep1))
    assert ("interaction", call.pk) in page and ("task_created", task.pk) in page
    assert ("interaction", elsewhere.pk) not in page
    assert context_for(account, rep1).targets["sales.opportunity"] == [deal.pk]
    assert follow_up(rep1, context_for(account, rep1).targets).next_step.source == task


def test_api_logs_against_a_deal_and_reads_its_timeline(users, api):
    rep1 = users["rep1"]
    account = AccountFactory(owner=rep1)
    deal = make_deal(rep1, account)
    lead = make_lead(rep1)
    response = api.post("/api/v1/interactions", {"kind": "call", "subject": "电话跟进", "opportunity": deal.pk})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["opportunity"] == deal.pk and body["account"] == account.pk and body["lead"] is None
    response = api.post("/api/v1/interactions", {"kind": "note", "subject": "线索备注", "lead": lead.pk})
    assert response.status_code == 201 and response.json()["lead"] == lead.pk
    listed = api.get("/api/v1/interactions", opportunity=deal.pk).json()["items"]
    assert [i["subject"] for i in listed] == ["电话跟进"]
    timeline = api.get(f"/api/v1/opportunities/{deal.pk}/timeline").json()["items"]
    assert "电话跟进" in [i["title"] for i in timeline]
    timeline = api.get(f"/api/v1/leads/{lead.pk}/timeline").json()["items"]
    assert [i["title"] for i in timeline if i["source"] == "interaction"] == ["线索备注"]
    company = api.get(f"/api/v1/accounts/{account.pk}/timeline").json()["items"]
    assert "电话跟进" in [i["title"] for i in company]
    # Tasks: the deal's company is filled in as well.
    response = api.post("/api/v1/tasks", {"title": "准备合同", "opportunity": deal.pk})
    assert response.status_code == 201 and response.json()["account"] == account.pk
    assert response.json()["opportunity"] == deal.pk


def test_task_card_on_a_deal_and_a_lead(users, client_rep1):
    rep1 = users["rep1"]
    account = AccountFactory(owner=rep1)
    deal = make_deal(rep1, account)
    lead = make_lead(rep1)
    for kind, record in (("opportunity", deal), ("lead", lead)):
        url = reverse("activities:task_card", args=[kind, record.pk])
        assert client_rep1.get(url).status_code == 200
        response = client_rep1.post(url, {"task-title": f"跟进{kind}", "task-priority": "normal"},
                                    HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        task = Task.objects.get(title=f"跟进{kind}")
        assert getattr(task, f"{kind}_id") == record.pk
        assert f"跟进{kind}" in response.content.decode()
    assert Task.objects.get(title="跟进opportunity").account_id == account.pk
    assert Task.objects.get(title="跟进lead").account_id is None


def test_generic_forms_offer_and_default_the_deal(users, client_rep1):
    rep1 = users["rep1"]
    account = AccountFactory(owner=rep1)
    deal = make_deal(rep1, account)
    response = client_rep1.post(reverse("activities:interaction_add"), {
        "kind": "visit", "occurred_at": "2025-04-03T09:00", "subject": "上门拜访", "opportunity": deal.pk,
        "owner": rep1.pk})
    assert response.status_code == 302, response.context and response.context["form"].errors
    visit = Interaction.objects.get(subject="上门拜访")
    assert (visit.opportunity_id, visit.account_id) == (deal.pk, account.pk)
    detail = client_rep1.get(visit.get_absolute_url()).content.decode()
    assert deal.get_absolute_url() in detail
    filtered = client_rep1.get(reverse("activities:interaction_list"), {"opportunity": deal.pk})
    assert [obj.pk for obj, _v in filtered.context["rows"]] == [visit.pk]


# -- refusals: nothing attached to a record the user cannot see --------------------------------------


def test_a_rep_cannot_log_against_a_deal_or_lead_they_cannot_see(users, client_rep1, api):
    rep1, rep3 = users["rep1"], users["rep3"]
    deal = make_deal(rep3)
    lead = make_lead(rep3)
    before = snapshot()
    for record, kind in ((deal, "opportunity"), (lead, "lead")):
        assert client_rep1.get(log_url(record)).status_code == 404
        assert client_rep1.post(log_url(record), {"kind": "call", "occurred_at": "2025-04-01T15:30"}).status_code == 404
        assert client_rep1.get(reverse("activities:follow_up", args=[record.type_key(), record.pk])).status_code == 404
        assert client_rep1.get(reverse("activities:timeline", args=[record.type_key(), record.pk])).status_code == 404
        card = reverse("activities:task_card", args=[kind, record.pk])
        assert client_rep1.get(card).status_code == 404
        assert client_rep1.post(card, {"task-title": "偷偷加任务", "task-priority": "normal"}).status_code == 404
        response = api.post("/api/v1/interactions", {"kind": "call", kind: record.pk})
        assert response.status_code == 422 and kind in response.json()["errors"]
        response = api.post("/api/v1/tasks", {"title": "x", kind: record.pk})
        assert response.status_code == 422 and kind in response.json()["errors"]
        timeline_path = "leads" if kind == "lead" else "opportunities"
        assert api.get(f"/api/v1/{timeline_path}/{record.pk}/timeline").status_code == 404
        with pytest.raises(ValidationError) as e:
            interaction_log(actor=rep1, kind="call", **{kind: record.pk})
        assert kind in e.value.message_dict
        # The generic add form offers only visible deals and leads.
        response = client_rep1.post(reverse("activities:interaction_add"), {
            "kind": "call", "occurred_at": "2025-04-01T15:30", kind: record.pk, "owner": rep1.pk})
        assert response.status_code in (200, 422) and kind in response.context["form"].errors
    # Changing one's own interaction to point at the hidden deal is refused too.
    mine = InteractionFactory(account=AccountFactory(owner=rep1), owner=rep1)
    before = snapshot()
    response = api.patch(f"/api/v1/interactions/{mine.pk}", {"version": mine.version, "opportunity": deal.pk})
    assert response.status_code == 422
    assert snapshot() == before


# -- visibility follows the deal ---------------------------------------------------------------------


def test_an_interaction_about_a_deal_is_seen_by_whoever_sees_the_deal(users, client_for):
    rep1, rep2, manager = users["rep1"], users["rep2"], users["manager"]
    deal = make_deal(rep2)
    # Filed only under the deal (its company left out on purpose): visibility comes from the deal alone.
    call = InteractionFactory(account=None, opportunity=deal, owner=rep2, subject="只关于商机的电话")
    path = call.get_absolute_url()
    assert client_for("rep2").get(path).status_code == 200
    assert client_for("manager").get(path).status_code == 200  # rep2 is below the manager
    assert client_for("rep1").get(path).status_code == 404
    assert client_for("rep3").get(path).status_code == 404
    assert not Interaction.objects.restrict(rep1, "view").filter(pk=call.pk).exists()
    assert Interaction.objects.restrict(manager, "change").filter(pk=call.pk).exists()
    # Shared with rep1 for reading: rep1 sees the deal and the call, but may not change the call.
    RecordShare.objects.create(record_type="sales.opportunity", record_id=deal.pk, user=rep1, level="read")
    rep1 = User.objects.get(pk=rep1.pk)
    assert client_for("rep1").get(path).status_code == 200
    assert Interaction.objects.restrict(rep1, "view").filter(pk=call.pk).exists()
    assert not Interaction.objects.restrict(rep1, "change").filter(pk=call.pk).exists()
    # The deal in the recycle bin hides it again.
    Opportunity.all_objects.filter(pk=deal.pk).update(deleted_at=at(2025, 5, 1))
    assert client_for("rep2").get(path).status_code == 404


def test_lead_interaction_follows_the_lead_including_the_pool(users, client_for):
    from guanxi.customers.models import Pool

    rep1, rep3 = users["rep1"], users["rep3"]
    pool = Pool.objects.create(name="华东公海")
    pool.members.add(rep1)
    lead = make_lead(None, pool=pool)
    note = InteractionFactory(account=None, lead=lead, owner=rep3, subject="公海线索备注")
    # rep1 belongs to the pool: sees the unowned lead and its history, but may not change it.
    assert client_for("rep1").get(note.get_absolute_url()).status_code == 200
    assert not Interaction.objects.restrict(User.objects.get(pk=rep1.pk), "change").filter(pk=note.pk).exists()
    assert client_for("rep3").get(note.get_absolute_url()).status_code == 404


def test_visible_interactions_about_agrees_with_restrict_for_deals_and_leads(users):
    """The timeline's fast path gives the same rows as restrict() over the reference condition."""
    rep1, rep2, rep3 = users["rep1"], users["rep2"], users["rep3"]
    account = AccountFactory(owner=rep1)
    contact = ContactFactory(owner=rep1, companies=[account])
    mine, theirs = make_deal(rep1, account), make_deal(rep3)
    lead = make_lead(rep2)
    rows = [
        InteractionFactory(account=None, opportunity=mine),
        InteractionFactory(account=None, opportunity=theirs, participant_contacts=[contact]),
        InteractionFactory(account=None, lead=lead, participant_contacts=[contact]),
        InteractionFactory(account=account, opportunity=theirs),
        InteractionFactory(account=None, contact=None, lead=None, opportunity=mine, participant_contacts=[contact]),
    ]
    assert rows
    for user in User.objects.filter(username__in=["rep1", "rep2", "rep3", "manager", "admin", "agent"]):
        for record in (account, contact, mine, theirs, lead):
            if not type(record).objects.restrict(user, "view").filter(pk=record.pk).exists():
                continue
            targets = context_for(record, user).targets
            fast = visible_interactions_about(user, targets)
            fast = set(fast.values_list("pk", flat=True)) if fast is not None else set()
            condition = interactions_about(targets)
            reference = set(Interaction.objects.restrict(user, "view").filter(condition)
                            .values_list("pk", flat=True)) if condition is not None else set()
            assert fast == reference, (user.username, record)


# -- stage changes -----------------------------------------------------------------------------------


def test_stage_changes_show_on_the_deal_and_its_company(users):
    rep1 = users["rep1"]
    rep1.language = "en"
    account = AccountFactory(owner=rep1)
    deal = make_deal(rep1, account, name="Big deal")
    stages = list(deal.pipeline.stages.filter(kind="open").order_by("position", "id")[:2])
    first = StageHistory.objects.create(opportunity=deal, stage=stages[0], entered_at=at(2025, 1, 1),
                                        left_at=at(2025, 1, 4, 6), moved_by=rep1)
    moved = StageHistory.objects.create(opportunity=deal, stage=stages[1], entered_at=at(2025, 1, 4, 6),
                                        moved_by=users["rep2"])
    with translation.override("en"):
        page = timeline_page(deal, rep1, filters=make_filters(kinds=["stage"]))
        assert keys(page) == [("stage", moved.pk), ("stage", first.pk)]
        titles = [i.title for i in page.items]
        assert titles[0] == f"Moved to {stages[1]} after 3 days in {stages[0]}"
        assert titles[1] == f"Started in {stages[0]}"
        assert page.items[0].person == users["rep2"]
        company = timeline_page(account, rep1, filters=make_filters(kinds=["stage"]))
        assert keys(company) == keys(page)
        assert [(r.type_key, r.pk) for r in company.items[0].about] == [("sales.opportunity", deal.pk)]
        # Person filter: only what rep1 did.
        mine = timeline_page(deal, rep1, filters=make_filters(kinds=["stage"], person=rep1.pk))
        assert keys(mine) == [("stage", first.pk)]
    # Paging through a cursor keeps the stage items in order, once each.
    page1 = timeline_page(deal, rep1, limit=1)
    seen = [keys(page1)[0]]
    while page1.next_cursor:
        page1 = timeline_page(deal, rep1, limit=1, cursor=page1.next_cursor)
        seen.extend(keys(page1))
    assert [k for k in seen if k[0] == "stage"] == [("stage", moved.pk), ("stage", first.pk)]
    assert len(seen) == len(set(seen))
    # A reader who cannot see the deal gets no stage items on a company they can see.
    other = User.objects.get(username="rep3")
    hidden_deal = make_deal(other, account)
    StageHistory.objects.create(opportunity=hidden_deal, stage=stages[0], entered_at=at(2025, 2, 1))
    shared_company = timeline_page(account, rep1, filters=make_filters(kinds=["stage"]))
    assert {i.obj.opportunity_id for i in shared_company.items} == {deal.pk}


def test_stage_items_render_in_the_timeline_partial(users, client_rep1):
    rep1 = users["rep1"]
    rep1.language = "en"
    rep1.save(update_fields=["language"])
    deal = make_deal(rep1)
    stages = list(deal.pipeline.stages.filter(kind="open").order_by("position", "id")[:2])
    StageHistory.objects.create(opportunity=deal, stage=stages[0], entered_at=at(2025, 1, 1), left_at=at(2025, 1, 2))
    StageHistory.objects.create(opportunity=deal, stage=stages[1], entered_at=at(2025, 1, 2))
    response = client_rep1.get(reverse("activities:timeline", args=["sales.opportunity", deal.pk]), {"kind": "stage"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Moved to" in html and "after 1 day in" in html
    account_html = client_rep1.get(reverse("activities:timeline", args=["customers.account", deal.account_id]),
                                   {"kind": "stage"}).content.decode()
    assert "Moved to" in account_html and deal.get_absolute_url() in account_html


def test_stage_commands_show_once_with_the_lost_reason(users):
    from guanxi.sales.models import LostReason
    from guanxi.sales.opportunity_services import opportunity_mark_lost, opportunity_move

    rep1 = users["rep1"]
    deal = make_deal(rep1)
    StageHistory.objects.create(opportunity=deal, stage=deal.stage, entered_at=at(2025, 1, 1), moved_by=rep1)
    second = deal.pipeline.stages.filter(kind="open").order_by("position", "id")[1]
    deal = opportunity_move(opportunity=deal, actor=rep1, stage=second, at=at(2025, 1, 11))
    reason = LostReason.objects.create(name="价格太高")
    opportunity_mark_lost(opportunity=deal, actor=rep1, reason=reason, note="预算砍半", at=at(2025, 1, 12))
    with translation.override("en"):
        page = timeline_page(deal, rep1)
        stage_items = [i for i in page.items if i.source == "stage"]
        assert len(stage_items) == 3
        first = deal.pipeline.stages.order_by("position", "id")[0]
        assert stage_items[1].title == f"Moved to {second} after 10 days in {first}"
        assert [(str(label), value) for label, value in stage_items[0].details] == [("Lost reason", reason)]
        assert stage_items[0].content == "预算砍半"
    # The commands' own change rows are not listed a second time.
    assert not [i for i in page.items if i.source == "change" and i.obj.data.get("seconds_in_stage") is not None]


def test_lead_and_deal_pages_carry_the_quick_log_and_the_timeline(users, client_rep1):
    rep1 = users["rep1"]
    deal = make_deal(rep1)
    lead = make_lead(rep1)
    for record in (lead, deal):
        InteractionFactory(account=None, **{record._meta.model_name: record}, owner=rep1, subject=f"记录{record.pk}")
        response = client_rep1.get(record.get_absolute_url())
        assert response.status_code == 200
        html = response.content.decode()
        assert 'id="quick-log"' in html and log_url(record) in html
        assert 'id="timeline"' in html and f"记录{record.pk}" in html
    # Without the right to log interactions the form is not offered (the page still shows the timeline).
    from guanxi.core.models import RolePermission

    RolePermission.objects.filter(role=rep1.role, record_type="activities.interaction").update(actions=["view"])
    html = client_rep1.get(deal.get_absolute_url()).content.decode()
    assert 'id="quick-log"' not in html and 'id="timeline"' in html
    assert client_rep1.post(log_url(deal), {"kind": "call", "occurred_at": "2025-04-01T15:30"}).status_code == 403


def test_converted_lead_history_follows_to_the_company_contact_and_deal(users):
    rep1, rep3 = users["rep1"], users["rep3"]
    account = AccountFactory(owner=rep1)
    contact = ContactFactory(owner=rep1, companies=[account])
    deal = make_deal(rep1, account)
    lead = make_lead(rep1, converted_account=account, converted_contact=contact)
    Opportunity.objects.filter(pk=deal.pk).update(lead=lead)
    deal.refresh_from_db()
    before = InteractionFactory(account=None, lead=lead, owner=rep1, occurred_at=at(2024, 12, 1), subject="转化前电话")
    for record in (account, contact, deal):
        assert ("interaction", before.pk) in keys(timeline_page(record, rep1)), record
    assert follow_up(rep1, context_for(contact, rep1).targets).last_contacted == before
    # Someone who sees the company but not the lead does not get the lead's history through it.
    theirs = make_lead(rep3, name="别人的线索", converted_account=account)
    hidden = InteractionFactory(account=None, lead=theirs, owner=rep3, subject="看不到")
    assert ("interaction", hidden.pk) not in keys(timeline_page(account, rep1))
    assert ("interaction", hidden.pk) in keys(timeline_page(account, users["admin"]))


def test_calendar_names_the_deal_or_lead_and_hides_what_the_user_may_not_see(users, client_rep1):
    rep1, rep3 = users["rep1"], users["rep3"]
    deal = make_deal(rep1, AccountFactory(owner=rep3, name="别人的公司"), name="华东扩容项目")
    lead = make_lead(rep1, name="李总")
    when = datetime.datetime(2030, 5, 6, 2, tzinfo=UTC)
    # Filed under the deal and its company, which rep1 may not see: the company's name stays out.
    meeting = InteractionFactory(account=deal.account, opportunity=deal, owner=rep1, kind="meeting", subject="方案会",
                                 occurred_at=when, duration_minutes=60)
    call = InteractionFactory(account=None, lead=lead, owner=rep1, kind="call", subject="初次电话",
                              occurred_at=when + datetime.timedelta(hours=2))
    hidden_company_task = TaskFactory(owner=rep1, account=deal.account, due_at=when + datetime.timedelta(hours=3),
                                      title="回访")
    params = {"start": "2030-05-01T00:00:00+00:00", "end": "2030-05-10T00:00:00+00:00"}
    response = client_rep1.get(reverse("calendar:events"), params)
    assert response.status_code == 200
    events = {e["id"]: e for e in response.json()["events"]}
    assert events[f"interaction-{meeting.pk}"]["title"] == "方案会 · 华东扩容项目"
    assert events[f"interaction-{call.pk}"]["title"] == "初次电话 · 李总"
    assert f"task-{hidden_company_task.pk}" in events
    assert "别人的公司" not in response.content.decode()
