"""Companies: the generic record suite plus credit codes, hierarchy, phones, input hardening, custom fields."""

import pytest

from guanxi.customers.models import Account
from guanxi.framework.testing import RecordTypeSuite, assert_invalid_input

from .factories import AccountFactory, EnglishAccountFactory


class TestAccountRecord(RecordTypeSuite):
    record_type = "customers.account"
    api_path = "/api/v1/accounts"
    model_factory = AccountFactory
    create_data = {
        "name": "华为技术有限公司", "credit_code": "914403001922038216", "industry": "internet",
        "lifecycle_stage": "customer", "phone": "0755 2878 0808", "city": "深圳市", "tags": ["VIP", "华南"],
        "annual_revenue": "1000000.00", "annual_revenue_currency": "CNY",
    }
    update_data = {"city": "东莞市", "lifecycle_stage": "loyal", "tags": ["VIP"]}
    invalid_create_data = {"name": "", "credit_code": "91350100M000100Y44"}
    form_data = {"name": "福州测试科技有限公司", "credit_code": "91350100M000100Y43", "lifecycle_stage": "prospect",
                 "country": "CN", "tags_text": "VIP, 华东", "annual_revenue_0": "", "annual_revenue_1": "CNY"}
    form_update = {"city": "福州市", "lifecycle_stage": "intent"}
    filter_cases = [
        ({"lifecycle_stage": "customer"}, {"lifecycle_stage": "customer"}, {"lifecycle_stage": "prospect"}),
        ({"industry": "finance"}, {"industry": "finance"}, {"industry": "retail"}),
        ({"city": "杭州市"}, {"city": "杭州市"}, {"city": "南京市"}),
        ({"tag": "VIP"}, {"tags": ["VIP", "华东"]}, {"tags": ["华东"]}),
        ({"credit_code": "91350100M000100Y43"}, {"credit_code": "91350100M000100Y43"}, {}),
        ({"parent": lambda obj: obj.parent_id}, {"parent": AccountFactory}, {"parent": AccountFactory}),
        ({"lifecycle_stage": "churned", "city": "成都市"}, {"lifecycle_stage": "churned", "city": "成都市"},
         {"lifecycle_stage": "churned", "city": "武汉市"}),
    ]
    search_cases = [
        ("腾讯", {"name": "深圳市腾讯计算机系统有限公司"}, {"name": "阿里巴巴（中国）有限公司"}),
        ("acme", {"name": "ACME Corporation"}, {"name": "Globex Inc."}),
        ("138 1234 5678", {"phone": "+8613812345678"}, {"phone": "+8613900000000"}),
        ("91350100m000100y43", {"credit_code": "91350100M000100Y43"}, {}),
    ]
    ordering_case = ("name", [{"name": "Alpha Ltd"}, {"name": "Bravo Ltd"}, {"name": "Charlie Ltd"}])
    rich_kwargs = {"tags": ["VIP", "华东"], "parent": AccountFactory}


class TestEnglishAccountRecord(TestAccountRecord):
    """The same suite with English (en_US) companies."""

    model_factory = EnglishAccountFactory


def _post_account(api, **data):
    return api.post("/api/v1/accounts", {"name": "测试有限公司", **data})


@pytest.mark.django_db
class TestCreditCode:
    @pytest.mark.parametrize("code", ["91350100M000100Y43", "914403001922038216", " 91350100m000100y43 "])
    def test_valid_codes_are_accepted_and_normalised(self, api, code):
        response = _post_account(api, credit_code=code)
        assert response.status_code == 201, response.content
        assert response.json()["credit_code"] == code.strip().upper()

    @pytest.mark.parametrize("code", [
        "91350100M000100Y44",  # checksum
        "914403001922038217",  # checksum
        "91350100M000100Y4",  # 17 characters
        "91350100M000100Y433",  # 19 characters
        "91350100I000100Y43",  # I is not allowed
        "９１３５０１００Ｍ０００１００Ｙ４３",  # full-width
    ])
    def test_invalid_codes_are_422_and_create_nothing(self, api, code):
        assert_invalid_input(_post_account(api, credit_code=code), "credit_code")
        assert Account.all_objects.count() == 0

    def test_ui_form_rejects_a_bad_checksum(self, client_rep1):
        response = client_rep1.post("/companies/new/", {"name": "坏代码公司", "credit_code": "91350100M000100Y44",
                                                         "lifecycle_stage": "prospect"})
        assert response.status_code == 422
        assert "credit_code" in response.context["form"].errors
        assert Account.all_objects.count() == 0

    def test_duplicate_code_is_rejected_and_creates_nothing(self, api):
        assert _post_account(api, credit_code="914403001922038216").status_code == 201
        response = _post_account(api, name="另一家公司", credit_code="914403001922038216")
        assert response.status_code in (409, 422), response.content
        assert Account.all_objects.count() == 1
        # Changing another company to the same code is refused and changes nothing.
        other = AccountFactory(credit_code="")
        response = api.patch(f"/api/v1/accounts/{other.pk}", {"version": 1, "credit_code": "914403001922038216"})
        assert response.status_code in (409, 422)
        other.refresh_from_db()
        assert other.credit_code == "" and other.version == 1

    def test_deleted_company_frees_its_code_and_restore_then_collides(self, api, client_rep1):
        first = _post_account(api, credit_code="914403001922038216").json()
        assert api.delete(f"/api/v1/accounts/{first['id']}").status_code == 204
        assert _post_account(api, name="新公司", credit_code="914403001922038216").status_code == 201
        response = client_rep1.post(f"/trash/customers.account/{first['id']}/restore/")
        assert response.status_code == 302 and response["Location"] == "/trash/"
        assert Account.all_objects.get(pk=first["id"]).deleted_at is not None

    def test_blank_codes_may_repeat(self, api):
        assert _post_account(api, credit_code="").status_code == 201
        assert _post_account(api, credit_code="").status_code == 201


@pytest.mark.django_db
class TestParentHierarchy:
    def test_two_company_cycle_is_422_and_changes_nothing(self, api):
        a, b = AccountFactory(), AccountFactory()
        response = api.patch(f"/api/v1/accounts/{b.pk}", {"version": 1, "parent": a.pk})
        assert response.status_code == 200 and response.json()["parent"] == a.pk
        assert_invalid_input(api.patch(f"/api/v1/accounts/{a.pk}", {"version": 1, "parent": b.pk}), "parent")
        a.refresh_from_db()
        assert a.parent_id is None and a.version == 1

    def test_self_parent_is_422(self, api):
        a = AccountFactory()
        assert_invalid_input(api.patch(f"/api/v1/accounts/{a.pk}", {"version": 1, "parent": a.pk}), "parent")
        a.refresh_from_db()
        assert a.parent_id is None and a.version == 1

    def test_longer_cycle_is_422(self, api):
        a = AccountFactory()
        b = AccountFactory(parent=a)
        c = AccountFactory(parent=b)
        assert_invalid_input(api.patch(f"/api/v1/accounts/{a.pk}", {"version": 1, "parent": c.pk}), "parent")
        assert Account.objects.get(pk=a.pk).parent_id is None

    def test_ui_edit_cycle_is_422(self, client_rep1):
        a = AccountFactory()
        b = AccountFactory(parent=a)
        response = client_rep1.post(f"/companies/{a.pk}/edit/", {
            "name": a.name, "lifecycle_stage": "prospect", "parent": b.pk, "version": a.version,
        })
        assert response.status_code == 422
        assert "parent" in response.context["form"].errors
        assert Account.objects.get(pk=a.pk).parent_id is None

    def test_parent_in_recycle_bin_or_missing_is_422(self, api):
        gone = AccountFactory()
        Account.all_objects.filter(pk=gone.pk).update(deleted_at="2024-01-01T00:00:00Z")
        for pk in (gone.pk, 2**62):
            assert_invalid_input(_post_account(api, parent=pk), "parent")
        assert Account.objects.count() == 0

    def test_parent_and_subsidiaries_show_on_the_detail_page(self, client_rep1):
        parent = AccountFactory(name="集团总部")
        child = AccountFactory(name="华南子公司", parent=parent)
        page = client_rep1.get(f"/companies/{parent.pk}/").content.decode()
        assert "华南子公司" in page
        page = client_rep1.get(f"/companies/{child.pk}/").content.decode()
        assert "集团总部" in page


@pytest.mark.django_db
class TestAccountInput:
    @pytest.mark.parametrize("raw,e164", [
        ("138 1234 5678", "+8613812345678"), ("138-1234-5678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"), ("0755 2878 0808", "+8675528780808"),
        ("+1 650 253 0000", "+16502530000"),
    ])
    def test_phone_is_normalised_to_e164(self, api, client_rep1, raw, e164):
        response = _post_account(api, phone=raw)
        assert response.status_code == 201, response.content
        assert response.json()["phone"] == e164
        response = client_rep1.post("/companies/new/",
                                    {"name": "表单公司", "phone": raw, "lifecycle_stage": "prospect"})
        assert response.status_code == 302
        assert Account.objects.get(name="表单公司").phone == e164

    @pytest.mark.parametrize("phone", ["12345", "abc", "138 1234 56789 0", "+86"])
    def test_invalid_phone_is_422(self, api, phone):
        assert_invalid_input(_post_account(api, phone=phone), "phone")
        assert Account.all_objects.count() == 0

    @pytest.mark.parametrize("data,field", [
        ({"name": "坏\x00名字"}, None),
        ({"description": "x\x00"}, None),
        ({"tags": ["ok", "b\x00d"]}, None),
        ({"custom": {"k\x00": "v"}}, None),
        ({"name": "\ud800"}, None),
        ({"name": "长" * 201}, "name"),
        ({"description": "x" * 5001}, "description"),
        ({"city": "x" * 65}, "city"),
        ({"website": "not a url"}, "website"),
        ({"tags": ["t" * 51]}, "tags"),
        ({"tags": [f"t{i}" for i in range(51)]}, "tags"),
        ({"name": 123}, "name"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"tags": "VIP"}, "tags"),
        ({"lifecycle_stage": "bogus"}, "lifecycle_stage"),
        ({"industry": 5}, "industry"),
        ({"annual_revenue": "-1"}, "annual_revenue"),
        ({"annual_revenue": "1e30"}, "annual_revenue"),
        ({"annual_revenue": "abc"}, "annual_revenue"),
        ({"annual_revenue": "10", "annual_revenue_currency": "XXX"}, "annual_revenue_currency"),
        ({"parent": 10**30}, "parent"),
        ({"parent": "abc"}, "parent"),
        ({"owner": 10**30}, "owner"),
        ({"owner": 2**62}, "owner"),
        ({"custom": []}, "custom"),
        ({"custom": {"unknown": 1}}, "custom.unknown"),
        ({"country": "CHN"}, "country"),
    ])
    def test_bad_input_is_422_and_creates_nothing(self, api, data, field):
        body = {"name": "测试有限公司", **data}
        assert_invalid_input(api.post("/api/v1/accounts", body), field)
        assert Account.all_objects.count() == 0

    def test_bad_patch_is_422_and_changes_nothing(self, api):
        a = AccountFactory(name="原名")
        for data in ({"name": "x\x00"}, {"name": "长" * 201}, {"version": "x"}, {"version": 10**30},
                     {"parent": 10**30}, {"tags": [1, 2]}, {"name": None}):
            response = api.patch(f"/api/v1/accounts/{a.pk}", {"version": 1, **data})
            assert response.status_code == 422, (data, response.content)
        a.refresh_from_db()
        assert a.name == "原名" and a.version == 1

    def test_malformed_json_is_4xx(self, api, client):
        response = client.post("/api/v1/accounts", "{not json", content_type="application/json",
                               **api.headers)
        assert 400 <= response.status_code < 500
        assert Account.all_objects.count() == 0

    def test_owner_is_set_and_only_assigners_change_it(self, api, users, client):
        import json

        from guanxi.core.models import ApiToken

        body = _post_account(api).json()
        assert body["owner"] == users["rep1"].pk
        # A sales rep may not hand a company to someone else: 422, nothing changes.
        response = api.patch(f"/api/v1/accounts/{body['id']}", {"version": 1, "owner": users["rep2"].pk})
        assert_invalid_input(response, "owner")
        assert Account.objects.get(pk=body["id"]).owner == users["rep1"]
        assert Account.objects.get(pk=body["id"]).version == 1
        # Their manager may, within the team.
        _t, raw = ApiToken.issue(user=users["manager"], name="t")
        response = client.patch(f"/api/v1/accounts/{body['id']}", json.dumps({"version": 1, "owner": users["rep2"].pk}),
                                content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 200, response.content
        assert response.json()["owner"] == users["rep2"].pk
        # ... but not to someone outside their subtree.
        data = json.dumps({"version": 2, "owner": users["agent"].pk})
        response = client.patch(f"/api/v1/accounts/{body['id']}", data, content_type="application/json",
                                HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert_invalid_input(response, "owner")

    def test_out_of_range_ids_in_lists_are_4xx(self, api, client_rep1):
        for params in ({"parent": 10**30}, {"owner": 10**30}, {"parent": -5}, {"owner": "x"}):
            assert api.get("/api/v1/accounts", **params).status_code in (400, 422), params
            assert client_rep1.get("/companies/", params).status_code == 200


CUSTOM_FIELDS = [
    ("region_note", "text", []), ("employees", "number", []), ("founded", "date", []),
    ("grade", "choice", ["A", "B", "C"]), ("budget", "money", []),
]


@pytest.fixture
def custom_fields(db):
    from guanxi.core.models import CustomField

    return [
        CustomField.objects.create(record_type="customers.account", name=name, field_type=kind, choices=choices,
                                   label_zh=f"自定义{name}", label_en=f"Custom {name}", position=i)
        for i, (name, kind, choices) in enumerate(CUSTOM_FIELDS)
    ]


@pytest.mark.django_db
class TestAccountCustomFields:
    values = {"region_note": "华东大区", "employees": 1200, "founded": "2008-05-12", "grade": "A",
              "budget": {"amount": "1234.5", "currency": "CNY"}}

    def test_api_round_trip(self, api, custom_fields):
        response = _post_account(api, custom=self.values)
        assert response.status_code == 201, response.content
        custom = response.json()["custom"]
        assert custom == {**self.values, "budget": {"amount": 1234.5, "currency": "CNY"}}
        response = api.patch(f"/api/v1/accounts/{response.json()['id']}",
                             {"version": 1, "custom": {**self.values, "grade": "B", "employees": 5}})
        assert response.status_code == 200
        assert response.json()["custom"]["grade"] == "B" and response.json()["custom"]["employees"] == 5

    @pytest.mark.parametrize("custom,key", [
        ({"nope": 1}, "custom.nope"),
        ({"employees": "many"}, "custom.employees"),
        ({"employees": True}, "custom.employees"),
        ({"employees": 1e20}, "custom.employees"),
        ({"founded": "2024-13-45"}, "custom.founded"),
        ({"founded": 20240101}, "custom.founded"),
        ({"grade": "Z"}, "custom.grade"),
        ({"budget": "lots"}, "custom.budget"),
        ({"budget": {"amount": 5, "currency": "XXX"}}, "custom.budget"),
        ({"region_note": 5}, "custom.region_note"),
        ({"region_note": "x" * 1001}, "custom.region_note"),
    ])
    def test_api_rejects_bad_values(self, api, custom_fields, custom, key):
        assert_invalid_input(_post_account(api, custom=custom), key)
        assert Account.all_objects.count() == 0

    def test_required_custom_field(self, api, custom_fields):
        custom_fields[3].required = True
        custom_fields[3].save()
        assert_invalid_input(_post_account(api), "custom.grade")
        assert _post_account(api, custom={"grade": "C"}).status_code == 201

    def test_ui_form_detail_and_export(self, client_rep1, client_manager, custom_fields):
        page = client_rep1.get("/companies/new/").content.decode()
        for name, _kind, _choices in CUSTOM_FIELDS:
            assert f'name="cf_{name}"' in page
        response = client_rep1.post("/companies/new/", {
            "name": "自定义字段公司", "lifecycle_stage": "prospect", "cf_region_note": "华南", "cf_employees": "300",
            "cf_founded": "2010-01-02", "cf_grade": "B", "cf_budget": "99.50",
        })
        assert response.status_code == 302, response.context["form"].errors
        obj = Account.objects.get(name="自定义字段公司")
        assert obj.custom == {"region_note": "华南", "employees": 300, "founded": "2010-01-02", "grade": "B",
                              "budget": {"amount": 99.5, "currency": "CNY"}}
        detail = client_rep1.get(obj.get_absolute_url()).content.decode()
        assert "自定义grade" in detail and "华南" in detail and "2010-01-02" in detail
        bad = client_rep1.post("/companies/new/", {"name": "坏", "lifecycle_stage": "prospect", "cf_grade": "Z",
                                                   "cf_employees": "lots"})
        assert bad.status_code == 422
        assert {"cf_grade", "cf_employees"} <= set(bad.context["form"].errors)
        edit = client_rep1.get(f"/companies/{obj.pk}/edit/").content.decode()
        assert 'value="华南"' in edit

        from guanxi.framework.testing import export_rows

        for fmt in ("csv", "xlsx"):
            rows = export_rows(client_manager.get("/companies/export/", {"format": fmt}), fmt)
            header, row = rows[0], rows[1]
            for name, _kind, _choices in CUSTOM_FIELDS:
                assert f"自定义{name}" in header
            values = dict(zip(header, row, strict=True))
            assert values["自定义grade"] == "B"
            assert values["自定义region_note"] == "华南"
            assert str(values["自定义employees"]) == "300"

    @pytest.mark.parametrize("params,expected", [
        ({"cf_grade": "A"}, ["a"]),
        ({"cf_region_note": "华东"}, ["a"]),
        ({"cf_employees_min": "1000"}, ["a"]),
        ({"cf_employees_max": "1000"}, ["b"]),
        ({"cf_employees_min": "10", "cf_employees_max": "5000"}, ["a", "b"]),
        ({"cf_budget_min": "1000"}, ["a"]),
        ({"cf_budget_max": "99.99"}, ["b"]),
        ({"cf_founded_from": "2005-01-01"}, ["a"]),
        ({"cf_founded_to": "2005-01-01"}, ["b"]),
        ({"cf_founded_from": "2000-01-01", "cf_founded_to": "2010-12-31"}, ["a", "b"]),
    ])
    def test_filters_in_ui_and_api(self, api, client_rep1, custom_fields, params, expected):
        made = {
            "a": AccountFactory(name="Alpha", custom={"region_note": "华东大区", "employees": 1200, "grade": "A",
                                                      "founded": "2008-05-12",
                                                      "budget": {"amount": 1234.5, "currency": "CNY"}}),
            "b": AccountFactory(name="Bravo", custom={"region_note": "西北", "employees": 50, "grade": "C",
                                                      "founded": "2001-01-01",
                                                      "budget": {"amount": 99.5, "currency": "CNY"}}),
            "c": AccountFactory(name="Charlie", custom={}),
        }
        want = sorted(made[k].pk for k in expected)
        response = api.get("/api/v1/accounts", **params)
        assert response.status_code == 200, response.content
        assert sorted(i["id"] for i in response.json()["items"]) == want
        response = client_rep1.get("/companies/", params)
        assert sorted(o.pk for o, _v in response.context["rows"]) == want

    def test_bad_custom_filter_values(self, api, client_rep1, custom_fields):
        AccountFactory(custom={"employees": 5})
        for params in ({"cf_employees_min": "lots"}, {"cf_grade": "Z"}, {"cf_employees_max": "1e400"}):
            response = api.get("/api/v1/accounts", **params)
            assert response.status_code == 400, (params, response.content)
            assert response.json()["code"] == "invalid_filter"
            assert client_rep1.get("/companies/", params).status_code == 200

    def test_custom_column_can_be_shown_and_sorted(self, client_rep1, custom_fields):
        AccountFactory(name="Small", custom={"employees": 5})
        AccountFactory(name="Big", custom={"employees": 500})
        response = client_rep1.get("/companies/", {"cols": ["name", "cf_employees"], "sort": "-name"})
        assert response.status_code == 200
        assert "Custom employees" in response.content.decode() or "自定义employees" in response.content.decode()
