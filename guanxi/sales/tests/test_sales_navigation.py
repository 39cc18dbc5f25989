"""The Sales menu, the sales settings index and Ctrl+K for leads and deals."""

import pytest
from django.urls import reverse

from guanxi.customers.tests.factories import AccountFactory
from guanxi.sales.models import Lead, Opportunity
from guanxi.sales.opportunity_services import opportunity_create

from .factories import LeadFactory

pytestmark = pytest.mark.django_db


def set_language(user, language):
    user.language = language
    user.save(update_fields=["language"])


def test_sales_menu_follows_the_role(users, client_for):
    for name in ("rep1", "manager"):
        page = client_for(name).get(reverse("home")).content.decode()
        for url in ("sales:lead_list", "sales:board_default", "sales:opportunity_list", "sales:funnel",
                    "sales:forecast"):
            assert f'href="{reverse(url)}"' in page, (name, url)
        assert f'href="{reverse("sales:settings")}"' not in page
    auditor = client_for("auditor").get(reverse("audit_log")).content.decode()
    assert f'href="{reverse("sales:lead_list")}"' not in auditor
    assert f'href="{reverse("sales:board_default")}"' not in auditor
    assert f'href="{reverse("sales:settings")}"' in client_for("admin").get(reverse("home")).content.decode()


def test_sales_settings_is_for_administrators_in_both_languages(users, client_for):
    assert client_for("rep1").get(reverse("sales:settings")).status_code == 404
    assert client_for("manager").get(reverse("sales:settings")).status_code == 404
    admin = users["admin"]
    set_language(admin, "en")
    page = client_for("admin").get(reverse("sales:settings")).content.decode()
    assert "Pipelines and stages" in page and "Standard sales" in page
    set_language(admin, "zh-hans")
    page = client_for("admin").get(reverse("sales:settings")).content.decode()
    assert "销售设置" in page and "标准销售流程" in page


def test_palette_finds_visible_leads_and_deals_only(users, client_for):
    rep1, rep2 = users["rep1"], users["rep2"]
    mine = LeadFactory(name="欧阳明", company_name="星河仪器", mobile="+8613900001111", email="oy@xinghe.cn",
                       owner=rep1)
    theirs = LeadFactory(name="欧阳华", company_name="远山科技", owner=rep2)
    account = AccountFactory(name="星河仪器有限公司", owner=rep1)
    deal = opportunity_create(actor=rep1, fields={"name": "星河仪器 二期扩容", "account": account, "owner": rep1})
    client = client_for("rep1")

    def found(q):
        return client.get(reverse("palette_search"), {"q": q}).content.decode()

    page = found("欧阳")
    assert mine.get_absolute_url() in page and theirs.get_absolute_url() not in page
    assert mine.get_absolute_url() in found("139 0000 1111")  # any phone format, exact match
    assert mine.get_absolute_url() in found("OY@xinghe.cn")
    assert "13900001111" not in found("139 0000 1111").replace(" ", "")  # found, not revealed
    assert deal.get_absolute_url() in found("二期")
    other = client_for("rep2").get(reverse("palette_search"), {"q": "二期"}).content.decode()
    assert deal.get_absolute_url() not in other
    assert Lead.objects.count() == 2 and Opportunity.objects.count() == 1
