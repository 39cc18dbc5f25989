"""Contacts: the generic record suite plus phones, emails, several companies with roles, input hardening."""

import pytest

from guanxi.customers.models import Account, AccountContact, Contact
from guanxi.framework.testing import RecordTypeSuite, assert_invalid_input

from .factories import AccountFactory, ContactFactory, EnglishContactFactory


class TestContactRecord(RecordTypeSuite):
    record_type = "customers.contact"
    api_path = "/api/v1/contacts"
    model_factory = ContactFactory
    create_data = {
        "name": "王小明", "title": "采购经理", "mobile": "138 1234 5678", "email": " Wang.XM@Example.CN ",
        "city": "上海市", "tags": ["VIP"],
        "accounts": lambda: [{"account": AccountFactory().pk, "role": "采购经理"},
                             {"account": AccountFactory().pk, "role": "顾问"}],
    }
    update_data = {"title": "采购总监", "city": "苏州市", "tags": ["VIP", "华东"]}
    invalid_create_data = {"name": "王小明", "email": "not-an-email"}
    form_data = {"name": "李雷", "title": "技术总监", "mobile": "13912345678", "email": "li.lei@example.cn",
                 "country": "CN", "tags_text": "VIP", "companies": lambda: [AccountFactory().pk],
                 "company_role": "技术总监"}
    form_update = {"title": "CTO", "city": "杭州市"}
    filter_cases = [
        ({"title": "采购"}, {"title": "采购经理"}, {"title": "技术总监"}),
        ({"city": "杭州市"}, {"city": "杭州市"}, {"city": "南京市"}),
        ({"email": "Buyer@Example.CN"}, {"email": "buyer@example.cn"}, {"email": "seller@example.cn"}),
        ({"mobile": "139-0000-1111"}, {"mobile": "+8613900001111"}, {"mobile": "+8613900002222"}),
        ({"tag": "VIP"}, {"tags": ["VIP"]}, {"tags": ["华东"]}),
        ({"account": lambda obj: obj.memberships.get().account_id},
         {"companies": lambda: [AccountFactory()]}, {"companies": lambda: [AccountFactory()]}),
    ]
    search_cases = [
        ("小明", {"name": "王小明"}, {"name": "李雷"}),
        ("smith", {"name": "John Smith"}, {"name": "Jane Doe"}),
        ("+86 139 0000 1111", {"mobile": "+8613900001111"}, {"mobile": "+8613900002222"}),
        ("13900001111", {"phone": "+8613900001111", "mobile": ""}, {"mobile": "+8613900002222"}),
        ("Buyer@Example.cn", {"email": "buyer@example.cn"}, {"email": "seller@example.cn"}),
    ]
    ordering_case = ("name", [{"name": "Adams"}, {"name": "Baker"}, {"name": "Clark"}])
    rich_kwargs = {"tags": ["VIP", "华东"], "companies": lambda: [(AccountFactory(), "采购"), AccountFactory()]}


class TestEnglishContactRecord(TestContactRecord):
    """The same suite with English (en_US) names."""

    model_factory = EnglishContactFactory


def _post(api, **data):
    return api.post("/api/v1/contacts", {"name": "王小明", **data})


@pytest.mark.django_db
class TestContactInput:
    @pytest.mark.parametrize("raw", ["138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "8613812345678",
                                     "(138) 1234 5678", "０１３８１２３４５６７８"[1:]])
    def test_mobile_and_phone_are_e164(self, api, raw):
        response = _post(api, mobile=raw, phone=raw)
        assert response.status_code == 201, response.content
        # Stored in E.164; the API shows personal data masked unless revealed.
        contact = Contact.objects.get(pk=response.json()["id"])
        assert contact.mobile == contact.phone == "+8613812345678"
        assert response.json()["mobile"] == response.json()["phone"] == "138****5678"
        revealed = api.post(f"/api/v1/contacts/{contact.pk}/reveal", {"fields": ["mobile"]})
        assert revealed.status_code == 200, revealed.content
        assert revealed.json() == {"id": contact.pk, "fields": {"mobile": "+8613812345678"}}

    def test_ui_form_normalises_phones(self, client_rep1):
        response = client_rep1.post("/contacts/new/", {"name": "韩梅梅", "mobile": "139 0000 1111", "country": "CN"})
        assert response.status_code == 302
        assert Contact.objects.get(name="韩梅梅").mobile == "+8613900001111"
        response = client_rep1.post("/contacts/new/", {"name": "坏号码", "mobile": "12345", "country": "CN"})
        assert response.status_code == 422 and "mobile" in response.context["form"].errors

    @pytest.mark.parametrize("field", ["mobile", "phone"])
    @pytest.mark.parametrize("bad", ["12345", "not a phone", "+86 138", "1" * 40])
    def test_invalid_phone_is_422(self, api, field, bad):
        assert_invalid_input(_post(api, **{field: bad}), field)
        assert Contact.all_objects.count() == 0

    def test_email_is_lower_cased(self, api):
        body = _post(api, email=" Wang@Example.CN ").json()
        assert body["email"] == "w***@example.cn"
        assert Contact.objects.get(pk=body["id"]).email == "wang@example.cn"

    @pytest.mark.parametrize("email", ["not-an-email", "a@", "@b.cn", "a b@c.cn", "x" * 250 + "@c.cn"])
    def test_invalid_email_is_422(self, api, email):
        assert_invalid_input(_post(api, email=email), "email")
        assert Contact.all_objects.count() == 0

    @pytest.mark.parametrize("data,field", [
        ({"name": "a\x00b"}, "name"),
        ({"wechat": "wx\x00"}, "wechat"),
        ({"tags": ["a\x00"]}, "tags"),
        ({"accounts": [{"account": 1, "role": "r\x00"}]}, "accounts"),
        ({"name": "名" * 101}, "name"),
        ({"title": "t" * 101}, "title"),
        ({"wechat": "w" * 65}, "wechat"),
        ({"street": "s" * 256}, "street"),
        ({"accounts": [{"account": 1, "role": "r" * 101}]}, None),
        ({"name": 5}, "name"),
        ({"name": ["x"]}, "name"),
        ({"birthday": "not a date"}, "birthday"),
        ({"birthday": "2024-02-30"}, "birthday"),
        ({"accounts": "x"}, "accounts"),
        ({"accounts": [{"account": "x"}]}, None),
        ({"accounts": [{"account": 10**30}]}, None),
        ({"accounts": [{"role": "no account"}]}, None),
        ({"owner": 10**30}, "owner"),
        ({"owner": -1}, "owner"),
        ({"custom": {"unknown": 1}}, "custom.unknown"),
    ])
    def test_bad_input_is_422_and_creates_nothing(self, api, data, field):
        assert_invalid_input(_post(api, **data), field)
        assert Contact.all_objects.count() == 0
        assert AccountContact.objects.count() == 0


@pytest.mark.django_db
class TestContactCompanies:
    def test_several_companies_with_roles(self, api, client_rep1):
        a, b, c = (AccountFactory(name=n) for n in ("甲公司", "乙公司", "丙公司"))
        response = _post(api, accounts=[{"account": a.pk, "role": "采购经理"}, {"account": b.pk, "role": "顾问"}])
        assert response.status_code == 201, response.content
        body = response.json()
        assert sorted((m["account"], m["role"]) for m in body["accounts"]) == [(a.pk, "采购经理"), (b.pk, "顾问")]
        contact = Contact.objects.get(pk=body["id"])
        assert set(contact.accounts.values_list("name", flat=True)) == {"甲公司", "乙公司"}

        # Replace: drop a, change b's role, add c.
        response = api.patch(f"/api/v1/contacts/{contact.pk}", {
            "version": 1, "accounts": [{"account": b.pk, "role": "技术顾问"}, {"account": c.pk}],
        })
        assert response.status_code == 200, response.content
        assert sorted((m["account"], m["role"]) for m in response.json()["accounts"]) == [
            (b.pk, "技术顾问"), (c.pk, "")]
        # The contact shows on each company's page and the companies on the contact's.
        assert "王小明" in client_rep1.get(f"/companies/{b.pk}/").content.decode()
        page = client_rep1.get(f"/contacts/{contact.pk}/").content.decode()
        assert "乙公司" in page and "丙公司" in page and "技术顾问" in page
        # The same company twice is one membership.
        response = api.patch(f"/api/v1/contacts/{contact.pk}", {
            "version": 2, "accounts": [{"account": c.pk, "role": "x"}, {"account": c.pk, "role": "y"}],
        })
        assert response.status_code == 200
        assert AccountContact.objects.filter(contact=contact).count() == 1

    def test_company_the_user_cannot_reference_is_422(self, api):
        gone = AccountFactory()
        Account.all_objects.filter(pk=gone.pk).update(deleted_at="2024-01-01T00:00:00Z")
        ok = AccountFactory()
        for pk in (gone.pk, 2**62):
            assert_invalid_input(_post(api, accounts=[{"account": ok.pk}, {"account": pk}]), "accounts")
        assert Contact.all_objects.count() == 0 and AccountContact.objects.count() == 0
        contact = ContactFactory(companies=[ok])
        assert_invalid_input(
            api.patch(f"/api/v1/contacts/{contact.pk}", {"version": 1, "accounts": [{"account": gone.pk}]}),
            "accounts",
        )
        assert list(contact.memberships.values_list("account_id", flat=True)) == [ok.pk]
        assert Contact.objects.get(pk=contact.pk).version == 1

    def test_ui_form_companies_and_role(self, client_rep1):
        a, b = AccountFactory(), AccountFactory()
        response = client_rep1.post("/contacts/new/", {"name": "赵六", "country": "CN", "companies": [a.pk, b.pk],
                                                       "company_role": "财务总监"})
        assert response.status_code == 302
        contact = Contact.objects.get(name="赵六")
        assert sorted(contact.memberships.values_list("account_id", "role")) == [(a.pk, "财务总监"), (b.pk, "财务总监")]
        gone = AccountFactory()
        Account.all_objects.filter(pk=gone.pk).update(deleted_at="2024-01-01T00:00:00Z")
        response = client_rep1.post("/contacts/new/", {"name": "钱七", "country": "CN", "companies": [gone.pk]})
        assert response.status_code == 422 and "companies" in response.context["form"].errors
        assert not Contact.objects.filter(name="钱七").exists()
