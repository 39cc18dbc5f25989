"""Company relations: the generic record suite plus self-relations and duplicates."""

from guanxi.framework.testing import RecordTypeSuite

from .factories import AccountFactory, RelationFactory


class TestAccountRelationRecord(RecordTypeSuite):
    record_type = "customers.accountrelation"
    api_path = "/api/v1/account-relations"
    model_factory = RelationFactory
    create_data = {"from_account": lambda: AccountFactory().pk, "to_account": lambda: AccountFactory().pk,
                   "relation_type": "supplier", "notes": "长期供应商"}
    update_data = {"relation_type": "partner", "notes": "战略合作伙伴"}
    invalid_create_data = {"from_account": 1, "to_account": 2, "relation_type": "friend"}
    form_data = {"from_account": lambda: AccountFactory().pk, "to_account": lambda: AccountFactory().pk,
                 "relation_type": "competitor"}
    form_update = {"relation_type": "distributor", "notes": "华南区总代理"}
    filter_cases = [
        ({"relation_type": "supplier"}, {"relation_type": "supplier"}, {"relation_type": "partner"}),
        ({"account": lambda obj: obj.from_account_id}, {}, {}),
        ({"account": lambda obj: obj.to_account_id}, {}, {}),
    ]
    search_cases = [
        ("腾讯", {"from_account": lambda: AccountFactory(name="深圳市腾讯计算机系统有限公司")}, {}),
        ("globex", {"to_account": lambda: AccountFactory(name="Globex Inc.")}, {}),
    ]
    ordering_case = ("from_account", [{"from_account": lambda n=n: AccountFactory(name=n)} for n in "ABC"])
    export_text_field = "notes"
    rich_kwargs = {}
