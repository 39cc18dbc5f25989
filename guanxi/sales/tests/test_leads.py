"""Leads: the generic record suite, read-only status/score, the detail page, access scopes and commands."""

import pytest
from django.urls import reverse

from guanxi.framework.testing import RecordTypeSuite, assert_invalid_input
from guanxi.sales.models import Lead

from .factories import EnglishLeadFactory, LeadFactory


class TestLeadRecord(RecordTypeSuite):
    record_type = "sales.lead"
    api_path = "/api/v1/leads"
    model_factory = LeadFactory
    create_data = {"name": "王小明", "company_name": "杭州云栖科技有限公司", "mobile": "138 1234 5678",
                   "email": "Wang@Example.CN", "industry": "internet", "source": "trade_show", "province": "浙江省",
                   "tags": ["展会"]}
    update_data = {"city": "宁波市", "source": "referral", "tags": ["VIP", "展会"]}
    invalid_create_data = {"name": "", "company_name": ""}
    form_data = {"name": "刘洋", "company_name": "苏州测试有限公司", "source": "cold_call", "country": "CN",
                 "tags_text": "华东"}
    form_update = {"city": "苏州市", "source": "referral"}
    filter_cases = [
        ({"status": "qualified"}, {"status": "qualified"}, {"status": "new"}),
        ({"source": "referral"}, {"source": "referral"}, {"source": "cold_call"}),
        ({"province": "广东省"}, {"province": "广东省"}, {"province": "浙江省"}),
        ({"tag": "VIP"}, {"tags": ["VIP"]}, {"tags": ["华东"]}),
        ({"mobile": "13912340000"}, {"mobile": "+8613912340000"}, {"mobile": "+8613912340001"}),
        ({"email": "A@B.CN"}, {"email": "a@b.cn"}, {"email": "c@b.cn"}),
        ({"score_min": "10"}, {"score": 15}, {"score": 5}),
    ]
    search_cases = [
        ("云栖", {"company_name": "杭州云栖科技有限公司"}, {"company_name": "阿里巴巴（中国）有限公司"}),
        ("小明", {"name": "王小明"}, {"name": "李雷"}),
        ("139 1234 0000", {"mobile": "+8613912340000"}, {"mobile": "+8613912340001"}),
        ("Lead@Example.com", {"email": "lead@example.com"}, {"email": "other@example.com"}),
    ]
    ordering_case = ("score", [{"score": 1}, {"score": 20}, {"score": 300}])
    export_filter_case = ({"source": "referral"}, {"source": "referral"}, {"source": "cold_call"})
    rich_kwargs = {"tags": ["VIP", "华东"]}


class TestEnglishLeadRecord(TestLeadRecord):
    model_factory = EnglishLeadFactory


pytestmark = pytest.mark.django_db


def test_status_score_and_conversion_are_read_only_in_the_api(api, rep1):
    lead = LeadFactory(owner=rep1)
    response = api.patch(f"/api/v1/leads/{lead.pk}", {"version": lead.version, "status": "converted", "score": 999,
                                                       "converted_account": 1, "city": "宁波市"})
    assert response.status_code == 200, response.content
    fresh = Lead.objects.get(pk=lead.pk)
    assert (fresh.status, fresh.score, fresh.converted_account_id, fresh.city) == ("new", 0, None, "宁波市")
    created = api.post("/api/v1/leads", {"name": "张三", "status": "converted", "score": 50})
    assert created.status_code == 201
    assert created.json()["status"] == "new" and created.json()["score"] == 0


def test_status_and_score_are_not_form_fields(client_rep1, rep1):
    lead = LeadFactory(owner=rep1)
    form = client_rep1.get(reverse("sales:lead_edit", args=[lead.pk])).context["form"]
    assert not {"status", "score", "score_detail", "converted_account", "converted_at"} & set(form.fields)


def test_a_lead_needs_a_name_or_a_company(api):
    assert_invalid_input(api.post("/api/v1/leads", {"title": "CEO"}))
    assert Lead.all_objects.count() == 0


@pytest.mark.parametrize("body", [{"name": "x\x00y"}, {"name": "a" * 101}, {"name": "n", "email": "not-an-email"},
                                  {"name": "n", "mobile": "12"}, {"name": "n", "source": "nope"}])
def test_bad_api_input_is_422(api, body):
    assert api.post("/api/v1/leads", body).status_code == 422
    assert Lead.all_objects.count() == 0


def test_detail_page_shows_the_status_buttons_score_and_activity(client_rep1, rep1, users):
    lead = LeadFactory(owner=rep1, name="周杰", company_name="上海测试有限公司")
    users["rep1"].language = "en"
    users["rep1"].save()
    response = client_rep1.get(lead.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="convert-modal"' in html and 'id="disqualify-modal"' in html
    assert 'id="lead-score"' in html and "No scoring rule matches this lead." in html
    assert reverse("sales:lead_status", args=[lead.pk]) in html


# -- access scopes -------------------------------------------------------------------------------------------


def test_rep2_cannot_see_or_change_rep1s_lead(client_for, users):
    lead = LeadFactory(owner=users["rep1"])
    rep2 = client_for("rep2")
    for name in ("sales:lead_detail", "sales:lead_edit", "sales:lead_convert"):
        assert rep2.get(reverse(name, args=[lead.pk])).status_code == 404
    for name, data in (("sales:lead_convert", {}), ("sales:lead_disqualify", {"reason": "spam"}),
                       ("sales:lead_status", {"status": "contacted"}), ("sales:lead_requalify", {})):
        assert rep2.post(reverse(name, args=[lead.pk]), data).status_code == 404
    fresh = Lead.objects.get(pk=lead.pk)
    assert (fresh.status, fresh.version) == ("new", lead.version)
    assert lead.pk not in [o.pk for o, _v in rep2.get(reverse("sales:lead_list")).context["rows"]]


def test_manager_sees_team_leads_rep3_does_not(client_for, users):
    lead = LeadFactory(owner=users["rep1"])
    assert client_for("manager").get(lead.get_absolute_url()).status_code == 200
    assert client_for("rep3").get(lead.get_absolute_url()).status_code == 404


def test_marketer_adds_leads_and_assigns_them(client_for, users):
    marketer = client_for("marketer")
    response = marketer.post(reverse("sales:lead_add"), {"name": "市场线索", "source": "campaign", "country": "CN",
                                                          "owner": users["rep2"].pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    lead = Lead.objects.get(name="市场线索")
    assert lead.owner == users["rep2"] and lead.created_by == users["marketer"]
    other = LeadFactory(owner=users["rep1"])
    marketer.post(reverse("sales:lead_bulk"), {"action": "assign_owner", "ids": [other.pk],
                                               "owner": users["rep3"].pk})
    assert Lead.objects.get(pk=other.pk).owner == users["rep3"]


def test_pool_members_see_unowned_pooled_leads_but_cannot_convert(client_for, users):
    from guanxi.customers.models import Pool

    pool = Pool.objects.create(name="华东公海")
    pool.members.add(users["rep2"])
    lead = LeadFactory(owner=None, pool=pool)
    rep2 = client_for("rep2")
    assert rep2.get(lead.get_absolute_url()).status_code == 200
    assert rep2.post(reverse("sales:lead_convert", args=[lead.pk])).status_code == 404
    assert client_for("rep3").get(lead.get_absolute_url()).status_code == 404
    assert Lead.objects.get(pk=lead.pk).status == "new"


# -- status commands ----------------------------------------------------------------------------------------


def test_status_buttons_move_an_open_lead(client_rep1, rep1):
    lead = LeadFactory(owner=rep1)
    response = client_rep1.post(reverse("sales:lead_status", args=[lead.pk]), {"status": "contacted"})
    assert response.status_code == 302
    fresh = Lead.objects.get(pk=lead.pk)
    assert fresh.status == "contacted" and fresh.version == lead.version + 1
    # Converting and disqualifying are commands of their own, not a status value.
    client_rep1.post(reverse("sales:lead_status", args=[lead.pk]), {"status": "converted"})
    assert Lead.objects.get(pk=lead.pk).status == "contacted"


def test_status_api(api, rep1):
    lead = LeadFactory(owner=rep1)
    response = api.post(f"/api/v1/leads/{lead.pk}/status", {"status": "qualified"})
    assert response.status_code == 200 and response.json()["status"] == "qualified"
    assert api.post(f"/api/v1/leads/{lead.pk}/status", {"status": "converted"}).status_code == 422
    assert api.post(f"/api/v1/leads/{lead.pk}/status", {"status": "x\x00"}).status_code == 422
    Lead.objects.filter(pk=lead.pk).update(status="disqualified")
    response = api.post(f"/api/v1/leads/{lead.pk}/status", {"status": "new"})
    assert response.status_code == 409 and response.json()["code"] == "lead_disqualified"


def test_api_commands_404_out_of_scope_403_without_change(client, users):
    import json

    from guanxi.core.models import ApiToken

    lead = LeadFactory(owner=users["rep1"])

    def post(username, path, body):
        _t, raw = ApiToken.issue(user=users[username], name="t")
        return client.post(f"/api/v1/leads/{lead.pk}/{path}", json.dumps(body), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {raw}")

    for path, body in (("convert", {}), ("disqualify", {"reason": "spam"}), ("status", {"status": "contacted"}),
                       ("requalify", {})):
        response = post("rep2", path, body)
        assert response.status_code == 404 and response.json()["code"] == "not_found", path
        response = post("auditor", path, body)
        assert response.status_code == 403 and response.json()["code"] == "forbidden", path
    fresh = Lead.objects.get(pk=lead.pk)
    assert (fresh.status, fresh.version) == ("new", lead.version)
