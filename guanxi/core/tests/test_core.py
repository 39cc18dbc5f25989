"""Palette search, health check, API tokens, profile language and the Django admin."""

import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from guanxi.core.models import ApiToken
from guanxi.customers.models import Account
from guanxi.customers.tests.factories import AccountFactory, ContactFactory


@pytest.mark.django_db
class TestPaletteSearch:
    @pytest.fixture
    def data(self):
        return {
            "huawei": AccountFactory(name="华为技术有限公司", credit_code="914403001922038216", phone="+8675528780808"),
            "other": AccountFactory(name="福州测试科技", credit_code="91350100M000100Y43", phone="+8613900002222"),
            "li": ContactFactory(name="李雷", mobile="+8613812345678", email="li.lei@example.cn", phone=""),
            "han": ContactFactory(name="韩梅梅", mobile="+8613700001111", email="han@example.cn", phone=""),
        }

    @pytest.mark.parametrize("q,found,absent", [
        ("华为", ["华为技术有限公司"], ["福州测试科技", "李雷"]),
        ("李雷", ["李雷"], ["韩梅梅", "华为技术有限公司"]),
        ("138 1234 5678", ["李雷"], ["韩梅梅"]),
        ("138-1234-5678", ["李雷"], ["韩梅梅"]),
        ("+8613812345678", ["李雷"], ["韩梅梅"]),
        ("13812345678", ["李雷"], ["韩梅梅"]),
        ("0755-28780808", ["华为技术有限公司"], ["福州测试科技"]),
        ("Li.Lei@Example.CN", ["李雷"], ["韩梅梅"]),
        ("914403001922038216", ["华为技术有限公司"], ["福州测试科技"]),
        ("91350100m000100y43", ["福州测试科技"], ["华为技术有限公司"]),
    ])
    def test_finds_by_name_phone_email_and_credit_code(self, client_rep1, data, q, found, absent):
        response = client_rep1.get("/search/", {"q": q})
        assert response.status_code == 200
        page = response.content.decode()
        for name in found:
            assert name in page, (q, name)
        for name in absent:
            assert name not in page, (q, name)

    def test_deleted_records_and_odd_input(self, client_rep1, data):
        Account.all_objects.filter(pk=data["huawei"].pk).update(deleted_at="2024-01-01T00:00:00Z")
        assert "华为技术有限公司" not in client_rep1.get("/search/", {"q": "华为"}).content.decode()
        for q in ("", "\x00", "%", "_", "'", "x" * 5000, "\ud800".encode("utf-8", "surrogatepass").decode("latin-1")):
            assert client_rep1.get("/search/", {"q": q}).status_code == 200

    def test_requires_login(self, client, data):
        response = client.get("/search/", {"q": "华为"})
        assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"


@pytest.mark.django_db
class TestApiTokens:
    def test_created_on_the_profile_page_shown_once_hashed_at_rest(self, client_rep1, rep1):
        response = client_rep1.post("/profile/tokens/", {"name": "ERP sync"})
        assert response.status_code == 200
        raw = response.context["new_token"]
        assert raw.startswith("gx_") and raw in response.content.decode()
        token = ApiToken.objects.get(user=rep1, name="ERP sync")
        assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
        stored = [str(v) for v in ApiToken.objects.filter(pk=token.pk).values().get().values()]
        assert raw not in stored
        # Shown once: the profile page afterwards lists the token but not its key.
        page = client_rep1.get("/profile/").content.decode()
        assert "ERP sync" in page and raw not in page

        api = Client()
        assert token.last_used_at is None
        response = api.get("/api/v1/accounts", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 200
        token.refresh_from_db()
        assert token.last_used_at is not None

        client_rep1.post(f"/profile/tokens/{token.pk}/revoke/")
        token.refresh_from_db()
        assert token.revoked_at is not None
        response = api.get("/api/v1/accounts", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 401 and response.json()["code"] == "not_authenticated"

    def test_blank_or_bad_token_name_creates_nothing(self, client_rep1):
        for name in ("", "x" * 101, "a\x00b"):
            response = client_rep1.post("/profile/tokens/", {"name": name})
            assert response.status_code == 302
        assert ApiToken.objects.count() == 0

    def test_cannot_revoke_someone_elses_token(self, client_rep1, users):
        token, _raw = ApiToken.issue(user=users["rep2"], name="theirs")
        assert client_rep1.post(f"/profile/tokens/{token.pk}/revoke/").status_code == 404
        token.refresh_from_db()
        assert token.revoked_at is None

    def test_management_command_prints_a_working_token(self, rep1):
        out = io.StringIO()
        call_command("api_token", "rep1", "--name", "cli test", stdout=out)
        raw = out.getvalue().strip()
        assert ApiToken.objects.get(name="cli test").key_hash == hashlib.sha256(raw.encode()).hexdigest()
        response = Client().get("/api/v1/accounts", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 200
        with pytest.raises(CommandError):
            call_command("api_token", "nobody", stdout=io.StringIO())

    def test_inactive_user_token_is_401(self, rep1, api_token):
        rep1.is_active = False
        rep1.save()
        assert Client().get("/api/v1/accounts", HTTP_AUTHORIZATION=f"Bearer {api_token}").status_code == 401

    @pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Token abc", "Bearer \x00", "Basic cmVwMTp4"])
    def test_malformed_authorization_is_401(self, db, header):
        assert Client().get("/api/v1/accounts", HTTP_AUTHORIZATION=header).status_code == 401


@pytest.mark.django_db
def test_profile_language_switch_persists(client_rep1, rep1):
    assert '<html lang="zh-CN">' in client_rep1.get("/").content.decode()
    response = client_rep1.post("/profile/", {"display_name": "Li", "email": "rep1@example.cn", "language": "en",
                                              "timezone": "Europe/London"})
    assert response.status_code == 302
    rep1.refresh_from_db()
    assert rep1.language == "en" and rep1.timezone == "Europe/London"
    page = client_rep1.get("/").content.decode()
    assert '<html lang="en">' in page
    # A fresh session of the same user still gets English.
    other = Client()
    other.force_login(rep1)
    assert '<html lang="en">' in other.get("/companies/").content.decode()
    response = client_rep1.post("/profile/", {"display_name": "Li", "email": "rep1@example.cn",
                                              "language": "klingon", "timezone": "Mars/Base"})
    assert response.status_code == 200 and response.context["form"].errors
    rep1.refresh_from_db()
    assert rep1.language == "en"


@pytest.mark.django_db
def test_admin_is_for_superusers_only(client, rep1, admin_user):
    client.force_login(rep1)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_api_browser_session_auth_and_csrf(rep1):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(rep1)
    assert browser.get("/api/v1/accounts").status_code == 200
    response = browser.post("/api/v1/accounts", '{"name": "x"}', content_type="application/json")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert Account.all_objects.count() == 0
    # No credentials but a stale session cookie: 401, not a CSRF 403.
    stale = Client(enforce_csrf_checks=True)
    stale.cookies["sessionid"] = "stale"
    response = stale.post("/api/v1/accounts", '{"name": "x"}', content_type="application/json")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
