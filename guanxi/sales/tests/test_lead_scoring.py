"""Lead scoring: each criterion, the explanation, recomputation on create/update/rule change/nightly job."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.activities.models import Interaction
from guanxi.core.models import AuditEvent
from guanxi.sales import scoring
from guanxi.sales.models import Lead, ScoringRule

from .factories import LeadFactory, ScoringRuleFactory

pytestmark = pytest.mark.django_db


def rule(field, value="", points=10, **kw):
    return ScoringRuleFactory(name=f"{field}:{value}", field=field, value=value, points=points, **kw)


@pytest.mark.parametrize("field,value,match,miss", [
    ("industry", "finance, internet", {"industry": "internet"}, {"industry": "retail"}),
    ("size", "200-999", {"size": "200-999"}, {"size": ""}),
    ("source", "trade_show，referral", {"source": "referral"}, {"source": "cold_call"}),
    ("province", "广东, Zhejiang", {"province": "广东省"}, {"province": "浙江省"}),
    ("province", "广东, Zhejiang", {"province": "zhejiang"}, {"province": ""}),
    ("has_email", "", {"email": "a@b.cn"}, {"email": ""}),
    ("has_mobile", "", {"mobile": "+8613800000001"}, {"mobile": ""}),
    ("title_contains", "总监, director", {"title": "Sales Director"}, {"title": "工程师"}),
])
def test_each_criterion(rep1, field, value, match, miss):
    r = rule(field, value, points=7)
    hit, other = LeadFactory(owner=rep1, **match), LeadFactory(owner=rep1, **miss)
    assert scoring.lead_score(hit) == (7, [{"rule": r.pk, "name": r.name, "points": 7, "field": field}])
    assert scoring.lead_score(other) == (0, [])


def test_score_sums_active_rules_and_explains_each(rep1):
    a = rule("source", "web_form", 20)
    b = rule("industry", "internet", -5)
    rule("province", "北京", 100)  # does not match
    rule("has_email", "", 50, is_active=False)  # inactive
    lead = LeadFactory(owner=rep1, source="web_form", industry="internet", province="浙江省")
    score, detail = scoring.lead_score(lead)
    assert score == 15
    assert [(d["rule"], d["points"]) for d in detail] == [(a.pk, 20), (b.pk, -5)]


def test_recent_engagement_counts_interactions_on_the_lead_within_n_days(rep1):
    r = rule("recent_engagement", "30", 25)
    lead, quiet = LeadFactory(owner=rep1), LeadFactory(owner=rep1)
    now = timezone.now()
    Interaction.objects.create(lead=lead, kind="call", occurred_at=now - datetime.timedelta(days=3), owner=rep1)
    Interaction.objects.create(lead=lead, kind="meeting", occurred_at=now - datetime.timedelta(days=10), owner=rep1)
    Interaction.objects.create(lead=quiet, kind="call", occurred_at=now - datetime.timedelta(days=45), owner=rep1)
    score, detail = scoring.lead_score(lead)
    assert score == 25
    assert detail == [{"rule": r.pk, "name": r.name, "points": 25, "field": "recent_engagement", "days": 30,
                       "interactions": 2}]
    assert scoring.lead_score(quiet) == (0, [])
    # Engagement decays: 40 days later the nightly rescore takes the points away.
    scoring.leads_rescore_all()
    assert Lead.objects.get(pk=lead.pk).score == 25
    scoring.leads_rescore_all(now=now + datetime.timedelta(days=40))
    assert Lead.objects.get(pk=lead.pk).score == 0


def test_score_is_stored_on_create_and_update_through_the_api(api, rep1):
    rule("source", "trade_show", 30)
    rule("has_mobile", "", 5)
    response = api.post("/api/v1/leads", {"name": "张伟", "source": "trade_show"})
    body = response.json()
    assert body["score"] == 30 and [d["points"] for d in body["score_detail"]] == [30]
    response = api.patch(f"/api/v1/leads/{body['id']}", {"version": body["version"], "mobile": "13800001111"})
    assert response.json()["score"] == 35
    assert Lead.objects.get(pk=body["id"]).score == 35


def test_score_is_stored_on_create_and_update_in_the_ui(client_rep1, rep1):
    rule("source", "cold_call", 12)
    client_rep1.post(reverse("sales:lead_add"), {"name": "陈晨", "source": "cold_call", "country": "CN"})
    lead = Lead.objects.get(name="陈晨")
    assert lead.score == 12
    client_rep1.post(reverse("sales:lead_edit", args=[lead.pk]),
                     {"name": "陈晨", "source": "referral", "country": "CN", "version": lead.version})
    assert Lead.objects.get(pk=lead.pk).score == 0


def test_lead_page_shows_the_contributing_rules(client_rep1, rep1):
    rule("source", "web_form", 20, )
    ScoringRule.objects.filter(field="source").update(name="来自官网表单")
    lead = LeadFactory(owner=rep1, source="web_form")
    scoring.lead_rescore(lead)
    html = client_rep1.get(lead.get_absolute_url()).content.decode()
    assert "来自官网表单" in html and "+20" in html


def test_changing_rules_rescores_open_leads_only(client_for, rep1):
    admin = client_for("admin")
    open_lead = LeadFactory(owner=rep1, industry="finance")
    closed = LeadFactory(owner=rep1, industry="finance")
    Lead.objects.filter(pk=closed.pk).update(status="converted")
    response = admin.post(reverse("sales:scoring_rule_add"), {"name": "金融", "field": "industry", "value": "finance",
                                                               "points": "40", "is_active": "on", "position": "1"})
    assert response.status_code == 302
    assert Lead.objects.get(pk=open_lead.pk).score == 40
    assert Lead.objects.get(pk=closed.pk).score == 0
    r = ScoringRule.objects.get(name="金融")
    assert AuditEvent.objects.filter(action="settings_change", record_type="sales.scoringrule").count() == 1
    admin.post(reverse("sales:scoring_rule_edit", args=[r.pk]), {"name": "金融", "field": "industry",
                                                                "value": "finance", "points": "15", "position": "1",
                                                                "is_active": "on"})
    assert Lead.objects.get(pk=open_lead.pk).score == 15
    admin.post(reverse("sales:scoring_rule_delete", args=[r.pk]))
    assert Lead.objects.get(pk=open_lead.pk).score == 0
    assert Lead.objects.get(pk=open_lead.pk).score_detail == []


def test_many_leads_are_rescored_by_the_background_job(client_for, rep1, monkeypatch,
                                                       django_capture_on_commit_callbacks):
    monkeypatch.setattr(scoring, "INLINE_RESCORE_LIMIT", 2)
    leads = [LeadFactory(owner=rep1, source="partner") for _ in range(5)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client_for("admin").post(reverse("sales:scoring_rule_add"), {"name": "伙伴", "field": "source",
                                                                      "value": "partner", "points": "9",
                                                                      "position": "0", "is_active": "on"})
    assert {Lead.objects.get(pk=lead.pk).score for lead in leads} == {0}  # not yet: the job runs on commit
    assert len(callbacks) == 1
    callbacks[0]()  # the immediate backend runs the job
    assert {Lead.objects.get(pk=lead.pk).score for lead in leads} == {9}


def test_the_job_is_idempotent_and_reports_changes(rep1):
    from guanxi.sales.tasks import leads_rescore

    rule("has_email", "", 3)
    LeadFactory(owner=rep1)
    LeadFactory(owner=rep1)
    assert leads_rescore.call() == 2
    assert leads_rescore.call() == 0


@pytest.mark.parametrize("data,field", [
    ({"name": "", "field": "source", "value": "x", "points": "1", "position": "0"}, "name"),
    ({"name": "n", "field": "nope", "value": "x", "points": "1", "position": "0"}, "field"),
    ({"name": "n", "field": "source", "value": "x", "points": "5000", "position": "0"}, "points"),
    ({"name": "n", "field": "source", "value": "", "points": "1", "position": "0"}, "value"),
    ({"name": "n", "field": "recent_engagement", "value": "-3", "points": "1", "position": "0"}, "value"),
    ({"name": "n\x00", "field": "source", "value": "x", "points": "1", "position": "0"}, "name"),
])
def test_rule_form_rejects_bad_input(client_for, data, field):
    response = client_for("admin").post(reverse("sales:scoring_rule_add"), data)
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert not ScoringRule.objects.exists()


@pytest.mark.parametrize("username", ["manager", "rep1", "marketer", "auditor"])
def test_scoring_settings_are_for_administrators_only(client_for, username):
    r = rule("source", "x", 1)
    c = client_for(username)
    assert c.get(reverse("sales:scoring_rules")).status_code == 404
    assert c.post(reverse("sales:scoring_rule_add"), {"name": "n", "field": "source", "value": "x", "points": "1",
                                                      "position": "0"}).status_code == 404
    assert c.post(reverse("sales:scoring_rule_delete", args=[r.pk])).status_code == 404
    assert ScoringRule.objects.count() == 1


def test_admin_list_page(client_for):
    rule("source", "web_form", 20)
    admin = client_for("admin")
    response = admin.get(reverse("sales:scoring_rules"))
    assert response.status_code == 200 and "source:web_form" in response.content.decode()
    assert admin.get(reverse("sales:scoring_rule_add")).status_code == 200
