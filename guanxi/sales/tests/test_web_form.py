"""The public web-to-lead form: creates scored, routed leads; spam, rate limit and bad input save nothing."""

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from guanxi.sales.models import Lead

from .factories import AssignmentRuleFactory, ScoringRuleFactory

pytestmark = pytest.mark.django_db
URL = "/forms/lead/"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def visitor():
    """An anonymous browser on another site: CSRF checks on, as in production."""
    return Client(enforce_csrf_checks=True)


def token(client, lang="zh-hans"):
    html = client.get(URL, {"lang": lang}).content.decode()
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def submit(client, lang="zh-hans", **data):
    body = {"name": "王芳", "company_name": "宁波港务有限公司", "mobile": "138 0000 1234", "email": "",
            "province": "浙江省", "message": "想了解报价", "token": token(client, lang), **data}
    return client.post(f"{URL}?lang={lang}", body)


def test_the_form_is_public_embeddable_and_bilingual(visitor):
    response = visitor.get(URL)
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert "联系我们" in response.content.decode() or "Contact us" in response.content.decode()
    english = visitor.get(URL, {"lang": "en"}).content.decode()
    assert "Contact us" in english and 'lang="en"' in english
    assert 'lang="en"' in visitor.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_a_submission_creates_a_scored_routed_lead(visitor, users):
    ScoringRuleFactory(field="source", value="web_form", points=15)
    AssignmentRuleFactory(method="user", user=users["rep2"], provinces="浙江")
    response = submit(visitor, page="https://example.cn/pricing")
    assert response.status_code == 200
    assert 'id="web-form-thanks"' in response.content.decode()
    lead = Lead.objects.get()
    assert (lead.name, lead.company_name, lead.mobile, lead.source, lead.source_detail) == (
        "王芳", "宁波港务有限公司", "+8613800001234", "web_form", "https://example.cn/pricing")
    assert lead.description == "想了解报价" and lead.created_by is None
    assert lead.score == 15 and lead.owner == users["rep2"]


def test_without_a_rule_the_lead_is_unowned_and_seen_by_marketing(visitor, users):
    submit(visitor, email="a@b.cn", mobile="")
    lead = Lead.objects.get()
    assert lead.owner is None and lead.email == "a@b.cn"
    assert Lead.objects.restrict(users["marketer"], "view").filter(pk=lead.pk).exists()
    assert not Lead.objects.restrict(users["rep1"], "view").filter(pk=lead.pk).exists()


def test_honeypot_looks_like_success_but_saves_nothing(visitor):
    response = submit(visitor, homepage="http://spam.example")
    assert response.status_code == 200 and 'id="web-form-thanks"' in response.content.decode()
    assert not Lead.all_objects.exists()


def test_rate_limit_per_address(visitor, settings):
    settings.GUANXI_WEB_FORM_RATE_LIMIT = 2
    assert submit(visitor).status_code == 200
    assert submit(visitor, mobile="13800001235").status_code == 200
    response = submit(visitor, mobile="13800001236", lang="en")
    assert response.status_code == 429
    assert "Too many submissions" in response.content.decode()
    assert Lead.objects.count() == 2
    # Another address is not limited.
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert submit(other, mobile="13800001237").status_code == 200
    assert Lead.objects.count() == 3


@pytest.mark.parametrize("data,message", [
    ({"name": "", "company_name": ""}, "Enter your name or your company's name."),
    ({"mobile": "", "email": ""}, "Leave a mobile number or an email address so that we can reach you."),
    ({"mobile": "12345"}, "Enter a valid phone number."),
    ({"mobile": "", "email": "not-an-email"}, "Enter a valid email address."),
    ({"name": "王\x00芳"}, "Null characters are not allowed."),
    ({"company_name": "公" * 201}, "Ensure this value has at most 200 characters"),
    ({"message": "x" * 2001}, "Ensure this value has at most 2000 characters"),
    ({"token": ""}, "This form has expired. Reload the page and try again."),
    ({"token": "forged:value"}, "This form has expired. Reload the page and try again."),
])
def test_bad_input_gets_a_clear_error_and_saves_nothing(visitor, data, message):
    response = submit(visitor, lang="en", **data)
    assert response.status_code == 422
    assert escape(message) in response.content.decode()
    assert not Lead.all_objects.exists()


def test_errors_in_chinese(visitor):
    response = submit(visitor, lang="zh-hans", name="", company_name="")
    assert response.status_code == 422
    html = response.content.decode()
    with translation.override("zh-hans"):
        expected = escape(_("Enter your name or your company's name."))
        assert 'lang="zh-hans"' in html and expected in html and escape(_("Send")) in html
    assert ">发送<" in html


def test_a_huge_body_is_refused_without_a_server_error(visitor):
    response = visitor.post(URL, {"name": "x", "message": "x" * (3 * 1024 * 1024), "token": token(visitor)})
    assert response.status_code == 400
    assert not Lead.all_objects.exists()


def test_embed_script_and_admin_snippet(client_for, visitor):
    script = visitor.get(reverse("sales:web_form_js"))
    assert script.status_code == 200 and script["Content-Type"].startswith("text/javascript")
    assert "/forms/lead/" in script.content.decode()
    page = client_for("admin").get(reverse("sales:web_form_embed")).content.decode()
    assert "&lt;iframe src=&quot;" in page or "&lt;iframe src=\"" in page
    assert "/forms/lead/embed.js" in page
