"""Deals: the record type (list, detail, add through opportunity_create, edit without stage), filters,
stalled flag, access and both languages."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.customers.tests.factories import AccountFactory
from guanxi.sales.choices import StageKind
from guanxi.sales.models import Opportunity, Pipeline, StageHistory
from guanxi.sales.opportunity_selectors import with_stalled
from guanxi.sales.opportunity_services import opportunity_create, pipeline_default
from guanxi.sales.tests.factories import ensure_default_pipeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipeline(users):
    # A transactional test earlier on the same worker flushes the migrated default pipeline.
    ensure_default_pipeline()
    return pipeline_default()


@pytest.fixture
def deal(rep1, pipeline):
    account = AccountFactory(owner=rep1)
    return opportunity_create(actor=rep1, fields={"name": "ERP 项目", "account": account, "owner": rep1,
                                                  "amount": 120000})


def stage(pipeline, name):
    return pipeline.stages.get(name=name)


def test_create_through_form_starts_first_stage_with_history(client_rep1, rep1, pipeline):
    account = AccountFactory(owner=rep1)
    r = client_rep1.post(reverse("sales:opportunity_add"), {
        "name": "新官网", "account": account.pk, "amount_0": "50000", "amount_1": "CNY", "owner": rep1.pk,
        "forecast_category": "pipeline",
    })
    assert r.status_code == 302, r.content.decode()[:3000]
    opp = Opportunity.objects.get(name="新官网")
    assert opp.stage == stage(pipeline, "Qualification")
    assert opp.stage_entered_at is not None
    assert list(StageHistory.objects.filter(opportunity=opp).values_list("stage__name", "left_at")) == [
        ("Qualification", None)]


def test_create_in_chosen_open_stage_and_not_in_closed_one(client_rep1, rep1, pipeline):
    account = AccountFactory(owner=rep1)
    data = {"name": "A", "account": account.pk, "amount_0": "1", "amount_1": "CNY", "owner": rep1.pk,
            "forecast_category": "pipeline", "pipeline": pipeline.pk, "stage": stage(pipeline, "Demo").pk}
    assert client_rep1.post(reverse("sales:opportunity_add"), data).status_code == 302
    assert Opportunity.objects.get(name="A").stage.name == "Demo"
    data.update(name="B", stage=stage(pipeline, "Won").pk)
    r = client_rep1.post(reverse("sales:opportunity_add"), data)
    assert r.status_code == 422
    assert not Opportunity.objects.filter(name="B").exists()


def test_edit_form_has_no_stage_and_cannot_change_it(client_rep1, deal, pipeline):
    r = client_rep1.get(reverse("sales:opportunity_edit", args=[deal.pk]))
    assert r.status_code == 200
    assert 'name="stage"' not in r.content.decode()
    r = client_rep1.post(reverse("sales:opportunity_edit", args=[deal.pk]), {
        "name": "ERP 二期", "account": deal.account_id, "amount_0": "1", "amount_1": "CNY",
        "owner": deal.owner_id, "forecast_category": "commit", "stage": stage(pipeline, "Negotiation").pk,
        "version": deal.version,
    })
    assert r.status_code == 302
    deal.refresh_from_db()
    assert deal.name == "ERP 二期" and deal.stage.name == "Qualification"


def test_detail_page_shows_stage_path_history_and_activity_panel(client_rep1, deal):
    r = client_rep1.get(deal.get_absolute_url())
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="stage-path"' in html and 'id="stage-history"' in html
    assert 'id="timeline-card"' in html and "quick-log" in html


def test_list_and_detail_in_both_languages(client_rep1, rep1, deal):
    rep1.language = "en"
    rep1.save(update_fields=["language"])
    html = client_rep1.get(reverse("sales:opportunity_list")).content.decode()
    assert "Opportunities" in html and "ERP 项目" in html and "Owner" in html
    assert "Time in stage" in client_rep1.get(deal.get_absolute_url()).content.decode()
    rep1.language = "zh-hans"
    rep1.save(update_fields=["language"])
    html = client_rep1.get(reverse("sales:opportunity_list")).content.decode()
    # (the sales words are translated by the lead at the end; the shared column words already are)
    assert 'lang="zh-CN"' in html and "负责人" in html and "Owner" not in html


def test_other_rep_gets_404_and_nothing_changes(client_for, deal, pipeline):
    c = client_for("rep2")
    assert c.get(deal.get_absolute_url()).status_code == 404
    assert c.get(reverse("sales:opportunity_edit", args=[deal.pk])).status_code == 404
    r = c.post(reverse("sales:opportunity_command", args=[deal.pk, "move"]),
               {"stage": stage(pipeline, "Demo").pk})
    assert r.status_code == 404
    deal.refresh_from_db()
    assert deal.stage.name == "Qualification" and deal.version == 1
    html = c.get(reverse("sales:opportunity_list")).content.decode()
    assert "ERP 项目" not in html


def test_stalled_flag_and_filter(client_rep1, rep1, pipeline):
    now = timezone.now()
    account = AccountFactory(owner=rep1)
    old = opportunity_create(actor=rep1, fields={"name": "old", "account": account},
                             at=now - datetime.timedelta(days=20))  # Qualification stalls after 14 days
    fresh = opportunity_create(actor=rep1, fields={"name": "fresh", "account": account},
                               at=now - datetime.timedelta(days=3))
    flags = dict(with_stalled(Opportunity.objects.all()).values_list("name", "is_stalled"))
    assert flags == {"old": True, "fresh": False}
    r = client_rep1.get(reverse("sales:opportunity_list"), {"stalled": "true"})
    html = r.content.decode()
    assert "old" in html and ">fresh<" not in html
    # A call logged on the deal recently means it is not idle.
    from guanxi.activities.models import Interaction

    Interaction.objects.create(opportunity=old, owner=rep1, subject="call",
                               occurred_at=now - datetime.timedelta(days=1))
    flags = dict(with_stalled(Opportunity.objects.all()).values_list("name", "is_stalled"))
    assert flags == {"old": False, "fresh": False}
    assert fresh.stage.kind == StageKind.OPEN and Pipeline.objects.count() >= 1


# -- API -----------------------------------------------------------------------------------------------


def test_api_create_list_get_update_without_stage(api, rep1, pipeline):
    account = AccountFactory(owner=rep1)
    r = api.post("/api/v1/opportunities", {"name": "API deal", "account": account.pk, "amount": "1000.50",
                                           "stage": stage(pipeline, "Demo").pk})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["stage"] == stage(pipeline, "Demo").pk and body["amount"] == "1000.50"
    assert body["stage_kind"] == "open" and body["is_stalled"] is False
    opp = Opportunity.objects.get(pk=body["id"])
    assert opp.stage_history.count() == 1
    assert api.get("/api/v1/opportunities", stage=stage(pipeline, "Demo").pk).json()["count"] == 1
    assert api.get(f"/api/v1/opportunities/{opp.pk}").json()["name"] == "API deal"
    r = api.patch(f"/api/v1/opportunities/{opp.pk}", {"version": 1, "name": "renamed",
                                                      "stage": stage(pipeline, "Won").pk})
    assert r.status_code == 200 and r.json()["name"] == "renamed"
    opp.refresh_from_db()
    assert opp.stage.name == "Demo"  # the stage is not part of the update schema
    assert api.patch(f"/api/v1/opportunities/{opp.pk}", {"version": 1, "name": "x"}).status_code == 409


def test_api_create_refuses_closed_or_foreign_stage_and_invisible_company(api, users, rep1, pipeline):
    account = AccountFactory(owner=rep1)
    r = api.post("/api/v1/opportunities", {"name": "x", "account": account.pk, "stage": stage(pipeline, "Won").pk})
    assert r.status_code == 422 and "stage" in r.json()["errors"]
    other = Pipeline.objects.create(name="Other", position=3)
    r = api.post("/api/v1/opportunities", {"name": "x", "account": account.pk, "pipeline": other.pk,
                                           "stage": stage(pipeline, "Demo").pk})
    assert r.status_code == 422
    hidden = AccountFactory(owner=users["rep3"])
    r = api.post("/api/v1/opportunities", {"name": "x", "account": hidden.pk})
    assert r.status_code == 422 and "account" in r.json()["errors"]
    assert not Opportunity.objects.filter(name="x").exists()


def test_api_commands(api, deal, pipeline):
    from guanxi.sales.models import LostReason

    url = f"/api/v1/opportunities/{deal.pk}"
    r = api.post(f"{url}/move", {"stage": stage(pipeline, "Quote").pk, "version": 1})
    assert r.status_code == 200 and r.json()["stage"] == stage(pipeline, "Quote").pk and r.json()["version"] == 2
    assert api.post(f"{url}/move", {"stage": stage(pipeline, "Demo").pk, "version": 1}).status_code == 409
    assert api.post(f"{url}/move", {"stage": stage(pipeline, "Won").pk}).status_code == 422
    other = Pipeline.objects.create(name="Other", position=3)
    foreign = other.stages.create(name="S", position=1)
    assert api.post(f"{url}/move", {"stage": foreign.pk}).status_code == 422
    assert api.post(f"{url}/lost", {"reason": 999999}).status_code == 422
    reason = LostReason.objects.first()
    r = api.post(f"{url}/lost", {"reason": reason.pk, "note": "预算取消"})
    assert r.status_code == 200 and r.json()["lost_reason"] == reason.pk and r.json()["closed_at"]
    r = api.post(f"{url}/won", {})
    assert r.status_code == 409 and r.json()["code"] == "deal_closed"
    r = api.post(f"{url}/reopen", {"stage": stage(pipeline, "Demo").pk})
    assert r.status_code == 200 and r.json()["stage"] == stage(pipeline, "Demo").pk and r.json()["closed_at"] is None
    r = api.post(f"{url}/won", {"version": r.json()["version"]})
    assert r.status_code == 200 and r.json()["stage_kind"] == "won"
    assert StageHistory.objects.filter(opportunity=deal).count() == 5


def test_api_commands_on_invisible_deal_are_404_and_change_nothing(client, users, pipeline):
    from guanxi.core.models import ApiToken

    account = AccountFactory(owner=users["rep2"])
    other = opportunity_create(actor=users["rep2"], fields={"name": "rep2's", "account": account})
    _t, raw = ApiToken.issue(user=users["rep1"], name="t")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    for command, body in (("move", {"stage": stage(pipeline, "Demo").pk}), ("won", {}), ("reopen", {})):
        r = client.post(f"/api/v1/opportunities/{other.pk}/{command}", body, content_type="application/json",
                        **headers)
        assert r.status_code == 404, command
    _t, raw = ApiToken.issue(user=users["auditor"], name="t")
    r = client.post(f"/api/v1/opportunities/{other.pk}/won", {}, content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert r.status_code == 403
    other.refresh_from_db()
    assert other.stage.name == "Qualification" and other.version == 1


def test_api_pipelines(api, pipeline):
    body = api.get("/api/v1/pipelines").json()
    default = next(p for p in body["items"] if p["id"] == pipeline.pk)
    assert [s["kind"] for s in default["stages"]][-2:] == ["won", "lost"]
    assert len(body["lost_reasons"]) >= 6


# -- pipeline settings -----------------------------------------------------------------------------------


def test_pipeline_settings_are_for_administrators_only(client_for, pipeline):
    for username in ("rep1", "manager"):
        c = client_for(username)
        assert c.get(reverse("sales:pipeline_list")).status_code == 404
        assert c.post(reverse("sales:pipeline_add"), {"name": "X", "position": 1}).status_code == 404
    assert not Pipeline.objects.filter(name="X").exists()


def test_admin_creates_pipeline_with_stages_edits_reorders(client_for, pipeline):
    from guanxi.core.choices import AuditAction
    from guanxi.core.models import AuditEvent

    c = client_for("admin")
    assert c.get(reverse("sales:pipeline_list")).status_code == 200
    r = c.post(reverse("sales:pipeline_add"), {"name": "续约", "position": 5, "is_active": "on"})
    assert r.status_code == 302
    new = Pipeline.objects.get(name="续约")
    assert list(new.stages.values_list("kind", flat=True)) == ["open", "won", "lost"]
    r = c.post(reverse("sales:stage_add", args=[new.pk]), {"name": "报价", "position": 15, "probability": 50,
                                                           "kind": "open", "stall_days": 7})
    assert r.status_code == 302
    assert [s.name for s in new.stages.order_by("position")] == ["Qualification", "报价", "Won", "Lost"]
    dup = c.post(reverse("sales:stage_add", args=[new.pk]), {"name": "报价", "position": 16, "probability": 50,
                                                             "kind": "open", "stall_days": 7})
    assert dup.status_code == 422 and new.stages.filter(name="报价").count() == 1
    quote = new.stages.get(name="报价")
    c.post(reverse("sales:stage_move", args=[new.pk, quote.pk, "up"]))
    assert [s.name for s in new.stages.order_by("position")] == ["报价", "Qualification", "Won", "Lost"]
    assert AuditEvent.objects.filter(action=AuditAction.SETTINGS_CHANGE, record_type="sales.pipeline").exists()
    # The default flag moves: only one pipeline is the default.
    c.post(reverse("sales:pipeline_edit", args=[new.pk]), {"name": "续约", "position": 5, "is_active": "on",
                                                           "is_default": "on"})
    assert list(Pipeline.objects.filter(is_default=True)) == [new]


def test_stage_with_deals_cannot_be_deleted_or_change_type(client_for, deal, pipeline):
    c = client_for("admin")
    qualification = stage(pipeline, "Qualification")
    r = c.post(reverse("sales:stage_delete", args=[pipeline.pk, qualification.pk]), follow=True)
    assert "cannot be deleted" in r.content.decode() or "无法删除" in r.content.decode()
    assert pipeline.stages.filter(pk=qualification.pk).exists()
    r = c.post(reverse("sales:stage_edit", args=[pipeline.pk, qualification.pk]), {
        "name": "Qualification", "position": 1, "probability": 10, "kind": "won", "stall_days": 0})
    assert r.status_code == 422
    assert pipeline.stages.get(pk=qualification.pk).kind == "open"
    # The only lost stage stays; an unused open stage can go.
    lost = stage(pipeline, "Lost")
    c.post(reverse("sales:stage_delete", args=[pipeline.pk, lost.pk]))
    assert pipeline.stages.filter(pk=lost.pk).exists()
    demo = stage(pipeline, "Demo")
    c.post(reverse("sales:stage_delete", args=[pipeline.pk, demo.pk]))
    assert not pipeline.stages.filter(pk=demo.pk).exists()


def test_lost_reasons_admin(client_for, deal, rep1):
    from guanxi.sales.models import LostReason
    from guanxi.sales.opportunity_services import opportunity_mark_lost

    c = client_for("admin")
    r = c.post(reverse("sales:lost_reason_add"), {"name": "服务", "position": 9, "is_active": "on"})
    assert r.status_code == 302
    used = LostReason.objects.get(name="Price")
    opportunity_mark_lost(opportunity=deal, actor=rep1, reason=used)
    c.post(reverse("sales:lost_reason_delete", args=[used.pk]))
    assert LostReason.objects.filter(pk=used.pk).exists()
    c.post(reverse("sales:lost_reason_delete", args=[LostReason.objects.get(name="服务").pk]))
    assert not LostReason.objects.filter(name="服务").exists()
