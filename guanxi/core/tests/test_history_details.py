"""The details of a record's History entries read as words in the reader's language: assignments name the
rule, method, owner and pool (never their ids or codes), reveals name the fields, and names are escaped.
The names are read in bulk: a page of many assignments costs what a page of two does."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guanxi.core.audit import audit_log
from guanxi.core.choices import AuditAction
from guanxi.core.models import Team
from guanxi.customers.models import Pool
from guanxi.customers.tests.factories import ContactFactory
from guanxi.sales.assignment import lead_assign_auto
from guanxi.sales.lead_services import lead_create
from guanxi.sales.tests.factories import AssignmentRuleFactory
from guanxi.service import ticket_services as svc
from guanxi.service.models import TicketAssignmentRule

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
DETAIL = re.compile(r'<div><span class="text-body-secondary">([^<]*)</span>: (.*?)</div>')


def reader(client_for, users, username, language):
    users[username].language = language
    users[username].save(update_fields=["language"])
    return client_for(username)


def details(client, obj):
    """{label: value} of the details (not the field changes) of the record's History entries, newest first."""
    html = client.get(reverse("record_history", args=[obj.type_key(), obj.pk])).content.decode()
    assert SCRIPT not in html
    found = {}
    for label, value in DETAIL.findall(html):
        if " → " not in value:
            found.setdefault(label, value)
    return html, found


def no_raw_values(found, *codes):
    for label, value in found.items():
        assert not value.strip().isdigit(), (label, value)
        assert value not in codes, (label, value)
        assert "_" not in label, label


@pytest.fixture
def east():
    return Team.objects.get(name="华东销售一组")


def new_lead():
    return lead_create(actor=None, fields={"name": "客户", "owner": None}, auto_assign=True)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_lead_assignment_names_rule_method_and_owner(users, client_for, east, language):
    users["rep1"].display_name = f"小李{SCRIPT}"
    users["rep1"].save(update_fields=["display_name"])
    rule = AssignmentRuleFactory(name=f"华东：一组轮流分配{SCRIPT}", method="round_robin", team=east)
    lead = new_lead()
    while lead.owner != users["rep1"]:
        lead_assign_auto(lead=lead, actor=None)
    html, found = details(reader(client_for, users, "admin", language), lead)
    escaped_rule, escaped_owner = "华东：一组轮流分配&lt;script&gt;alert(1)&lt;/script&gt;", \
        "小李&lt;script&gt;alert(1)&lt;/script&gt;"
    if language == "en":
        assert found["Rule"] == escaped_rule
        assert found["Method"] == "Round-robin within a team"
        assert found["Owner"] == escaped_owner
    else:
        assert found["规则"] == escaped_rule
        assert found["方式"] == "团队内轮流分配"
        assert found["负责人"] == escaped_owner
    no_raw_values(found, "round_robin")
    assert f": {rule.pk}</div>" not in html and f": {users['rep1'].pk}</div>" not in html


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_lead_assignment_into_a_pool_names_the_pool(users, client_for, language):
    pool = Pool.objects.create(name=f"华东公海{SCRIPT}")
    AssignmentRuleFactory(name="进公海", method="pool", pool=pool)
    lead = new_lead()
    assert lead.pool == pool
    _html, found = details(reader(client_for, users, "admin", language), lead)
    pool_label, method_label = ("Customer pool", "Method") if language == "en" else ("公海", "方式")
    assert found[pool_label] == "华东公海&lt;script&gt;alert(1)&lt;/script&gt;"
    assert found[method_label] == ("Into a customer pool" if language == "en" else "放入公海")
    no_raw_values(found, "pool")


def test_old_rows_with_a_deleted_pool_or_user_show_a_dash(users, client_for):
    lead = new_lead()
    audit_log(actor=None, action=AuditAction.LEAD_ASSIGN, obj=lead,
              data={"rule": 999999, "rule_name": "", "method": "user", "owner": 999998, "pool": None})
    _html, found = details(reader(client_for, users, "admin", "en"), lead)
    assert found["Owner"] == "—" and found["Method"] == "A fixed user"
    no_raw_values(found, "user")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_ticket_assignment_names_rule_and_method(users, client_for, language):
    TicketAssignmentRule.objects.create(name=f"全部{SCRIPT}", team=users["agent"].team, method="least_loaded")
    ticket = svc.ticket_create(actor=None, fields={"subject": "网上投诉", "channel": "web"})
    _html, found = details(reader(client_for, users, "supervisor", language), ticket)
    rule_label, method_label = ("Rule", "Method") if language == "en" else ("规则", "方式")
    assert found[rule_label] == "全部&lt;script&gt;alert(1)&lt;/script&gt;"
    assert found[method_label] == ("Least open tickets in the team" if language == "en" else "团队内未完成工单最少者")
    no_raw_values(found, "least_loaded")
    # Assigned by hand: the method in words too.
    svc.ticket_assign(actor=users["supervisor"], ticket=ticket, owner=users["agent2"])
    _html, found = details(reader(client_for, users, "supervisor", language), ticket)
    assert found[method_label] == ("by hand" if language == "en" else "手动")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_reveal_names_the_fields(users, client_for, language):
    contact = ContactFactory(owner=users["manager"])
    audit_log(actor=users["manager"], action=AuditAction.REVEAL, obj=contact,
              data={"fields": ["mobile", "email", "wechat"], "via": "edit form"})
    _html, found = details(reader(client_for, users, "manager", language), contact)
    if language == "en":
        assert found["Fields"] == "Mobile, Email, WeChat ID"
    else:
        assert found["字段"] == "手机, 邮箱, 微信号"


def test_many_assignments_cost_the_same_queries_as_two(users, client_for, east):
    AssignmentRuleFactory(method="round_robin", team=east)
    pools = [Pool.objects.create(name=f"公海 {n}") for n in range(3)]
    few, many = new_lead(), new_lead()
    audit_log(actor=None, action=AuditAction.LEAD_ASSIGN, obj=few,
              data={"rule": None, "rule_name": "", "method": "pool", "owner": None, "pool": pools[2].pk})
    for n in range(18):
        if n % 3:
            lead_assign_auto(lead=many, actor=None)
        else:
            audit_log(actor=None, action=AuditAction.LEAD_ASSIGN, obj=many,
                      data={"rule": None, "rule_name": "", "method": "pool", "owner": None, "pool": pools[n % 2].pk})
    client = reader(client_for, users, "admin", "en")
    client.get(reverse("record_history", args=[few.type_key(), few.pk]))  # warm the per-request caches

    def count(lead):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("record_history", args=[lead.type_key(), lead.pk]))
        assert response.status_code == 200
        return len(ctx), response.content.decode()

    n_few, _ = count(few)
    n_many, html = count(many)
    assert html.count("Customer pool") >= 6 and html.count("Round-robin within a team") >= 10
    assert n_many == n_few


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_commands_and_time_in_stage_in_words(users, client_for, language):
    from guanxi.sales.tests.factories import OpportunityFactory

    deal = OpportunityFactory(owner=users["rep1"])
    audit_log(actor=users["rep1"], action=AuditAction.UPDATE, obj=deal,
              data={"command": "move", "seconds_in_stage": 3 * 86400 + 4 * 3600 + 59})
    _html, found = details(reader(client_for, users, "rep1", language), deal)
    no_raw_values(found, "move")
    if language == "en":
        assert found["Operation"] == "move to another stage"
        assert found["Time in the previous stage"] == "3\xa0days, 4\xa0hours"
    else:
        assert found["操作"] == "移到另一阶段"
        assert found["在上一阶段停留"] == "3\xa0日，4\xa0小时"
