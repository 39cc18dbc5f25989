"""A lead's conversion on the timelines of the company, contact and deal it became: "Converted from lead …"
with a link to the lead for readers who may see it, "Converted from a lead" for the others (and for rows
without the lead's id), the name escaped."""

import re

import pytest
from django.urls import reverse

from guanxi.core.choices import TimelineKind
from guanxi.core.models import TimelineEvent
from guanxi.customers.models import Account
from guanxi.sales.lead_services import lead_convert
from guanxi.sales.tests.factories import EnglishLeadFactory, ensure_default_pipeline

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
LEAD_LABEL = "Jorge Lawson · Guerra PLC&lt;script&gt;alert(1)&lt;/script&gt;"
TITLE = re.compile(r'<strong class="tl-kind">([^<]*)</strong> · (?:<a class="tl-title" href="([^"]*)">|'
                   r'<span class="tl-title">)([^<]*)</')


@pytest.fixture
def converted(users):
    ensure_default_pipeline()
    lead = EnglishLeadFactory(owner=users["rep1"], name="Jorge Lawson", company_name=f"Guerra PLC{SCRIPT}")
    account, contact, deal = lead_convert(lead=lead, actor=users["rep1"])
    return lead, account, contact, deal


def titles(client, record):
    html = client.get(reverse("activities:timeline", args=[record.type_key(), record.pk])).content.decode()
    assert SCRIPT not in html
    return html, [(kind, url, title) for kind, url, title in TITLE.findall(html) if kind in ("Linked", "关联")]


@pytest.mark.parametrize(("language", "expected"), [
    ("en", f"Converted from lead {LEAD_LABEL}"),
    ("zh-hans", f"由线索 {LEAD_LABEL} 转化"),
])
def test_the_company_contact_and_deal_name_the_lead(users, client_for, converted, language, expected):
    lead, account, contact, deal = converted
    users["rep1"].language = language
    users["rep1"].save(update_fields=["language"])
    client = client_for("rep1")
    for record in (account, contact, deal):
        html, linked = titles(client, record)
        assert (linked[0][0], linked[0][1], linked[0][2]) == (
            "Linked" if language == "en" else "关联", lead.get_absolute_url(), expected), record
        assert "· —" not in html
    # The company page itself.
    page = client.get(account.get_absolute_url())
    assert page.status_code == 200


def test_a_reader_who_may_not_see_the_lead_gets_no_name(users, client_for, converted):
    lead, account, _contact, _deal = converted
    Account.all_objects.filter(pk=account.pk).update(owner=users["rep3"])
    users["rep3"].language = "en"
    users["rep3"].save(update_fields=["language"])
    html, linked = titles(client_for("rep3"), account)
    assert [(url, title) for _kind, url, title in linked] == [("", "Converted from a lead")]
    assert "Jorge Lawson" not in html and lead.get_absolute_url() not in html


def test_rows_without_the_leads_id_still_read(users, client_for, converted):
    _lead, account, _contact, _deal = converted
    rows = TimelineEvent.objects.filter(kind=TimelineKind.LINKED, data__command="convert")
    assert rows.update(data={"label": "Jorge Lawson · Guerra PLC", "command": "convert"}) == 3
    users["rep1"].language = "en"
    users["rep1"].save(update_fields=["language"])
    html, linked = titles(client_for("rep1"), account)
    # The company's timeline covers its contact and deal: the three rows of the conversion.
    assert [(url, title) for _kind, url, title in linked if "lead" in title] == [("", "Converted from a lead")] * 3
    assert "· —" not in html
