"""Login and API security: lockout (django-axes), TOTP two-factor login (django-otp), token audit rows,
and the production deploy check. Everything goes through the real login form and real codes."""

import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import struct
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from axes.models import AccessAttempt
from django.core.management import CommandError, call_command
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp import models as totp_models
from django_otp.plugins.otp_totp.models import TOTPDevice

from guanxi.core.audit import audit_verify
from guanxi.core.choices import AuditAction, AuditOutcome
from guanxi.core.models import ApiToken, AuditEvent, User
from guanxi.customers.demo import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[3]
LOGIN = "/login/"
VERIFY = "/login/verify/"


def rows(action):
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def english_client(**defaults):
    client = Client(**defaults)
    client.cookies["django_language"] = "en"
    return client


def post_login(client, username="rep1", password=DEMO_PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/"}, **extra)


def logged_in(client):
    return "_auth_user_id" in client.session


# Lockout


@pytest.mark.django_db
class TestLockout:
    def test_locked_after_limit_with_a_clear_page_and_one_lockout_row(self, users, settings):
        assert settings.AXES_FAILURE_LIMIT == 5
        client = english_client()
        for _ in range(4):
            response = post_login(client, password="wrong")
            assert response.status_code == 200 and "didn't match" in response.content.decode()
        response = post_login(client, password="wrong")
        assert response.status_code == 429
        assert "core/login_locked_out.html" in [t.name for t in response.templates]
        page = response.content.decode()
        assert 'id="lockout-message"' in page and "Too many failed logins" in page
        assert "<strong>rep1</strong>" in page and "Try again in 15 minutes" in page
        assert response["Retry-After"] == str(15 * 60)

        # The right password is refused too while locked; the refusal is audited as such.
        response = post_login(client)
        assert response.status_code == 429 and not logged_in(client)
        failed = rows(AuditAction.LOGIN_FAILED)
        assert len(failed) == 6 and all(r.outcome == AuditOutcome.FAILURE and r.record_label == "rep1"
                                        for r in failed)
        assert [r.data.get("locked_out", False) for r in failed] == [False] * 5 + [True]
        assert all(DEMO_PASSWORD not in json.dumps(r.data) and "wrong" not in json.dumps(r.data) for r in failed)
        lockouts = rows(AuditAction.LOCKOUT)
        assert len(lockouts) == 1
        assert lockouts[0].record_label == "rep1" and lockouts[0].ip == "127.0.0.1"
        assert lockouts[0].outcome == AuditOutcome.DENIED
        assert lockouts[0].data == {"username": "rep1", "failures": 5, "cooloff_minutes": 15}
        assert not rows(AuditAction.LOGIN)
        assert audit_verify().ok

    def test_lockout_is_per_username_and_address(self, users):
        attacker = english_client(REMOTE_ADDR="198.51.100.7")
        for _ in range(5):
            post_login(attacker, password="wrong")
        assert post_login(attacker).status_code == 429
        # The same user from their own address, and another user from the attacker's address, still log in.
        owner = english_client(REMOTE_ADDR="203.0.113.20")
        assert post_login(owner).status_code == 302 and logged_in(owner)
        neighbour = english_client(REMOTE_ADDR="198.51.100.7")
        assert post_login(neighbour, username="rep2").status_code == 302 and logged_in(neighbour)

    def test_success_resets_the_count(self, users):
        client = english_client()
        for _ in range(4):
            post_login(client, password="wrong")
        assert post_login(client).status_code == 302
        client.post(reverse("logout"))
        for _ in range(4):
            assert post_login(client, password="wrong").status_code == 200
        assert post_login(client, password="wrong").status_code == 429

    def test_page_says_how_long_is_left_and_unlocks_after_cool_off(self, users):
        client = english_client()
        for _ in range(5):
            post_login(client, password="wrong")
        # Injected time: the failures happened ten minutes ago.
        AccessAttempt.objects.update(attempt_time=F("attempt_time") - datetime.timedelta(minutes=10))
        response = post_login(client)
        assert response.status_code == 429 and "Try again in 5 minutes" in response.content.decode()
        assert response["Retry-After"] == str(5 * 60)
        # Attempts during the lockout do not extend it: five more minutes and the cool-off is over.
        AccessAttempt.objects.update(attempt_time=F("attempt_time") - datetime.timedelta(minutes=5, seconds=1))
        response = post_login(client)
        assert response.status_code == 302 and logged_in(client)
        assert len(rows(AuditAction.LOCKOUT)) == 1

    def test_axes_reset_command_unlocks(self, users):
        client = english_client()
        for _ in range(5):
            post_login(client, password="wrong")
        assert post_login(client).status_code == 429
        call_command("axes_reset_username", "rep1", stdout=open(os.devnull, "w"))
        assert post_login(client).status_code == 302 and logged_in(client)

    def test_without_cool_off_the_page_says_an_administrator_unlocks(self, users, settings):
        settings.AXES_COOLOFF_TIME = None
        client = english_client()
        for _ in range(5):
            response = post_login(client, password="wrong")
        assert response.status_code == 429 and "Retry-After" not in response
        assert "until an administrator unlocks it" in response.content.decode()
        assert rows(AuditAction.LOCKOUT)[0].data["cooloff_minutes"] is None

    def test_force_login_is_not_affected(self, users, client_rep1):
        for _ in range(5):
            post_login(Client(), password="wrong")
        assert client_rep1.get("/").status_code == 200


# Two-factor login


def totp(secret, at, step=30):
    """RFC 6238 written out here, from the key the profile page shows, as an authenticator app computes it."""
    key = base64.b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at // step)), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return f"{(struct.unpack('>I', mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


@pytest.fixture
def clock(monkeypatch):
    """The clock django-otp's TOTP check reads, under the test's control (a code is good once per 30 s step)."""
    state = SimpleNamespace(now=time.time())
    monkeypatch.setattr(totp_models, "time", SimpleNamespace(time=lambda: state.now))
    return state


def secret_on_page(client):
    page = client.get(reverse("profile")).content.decode()
    start = page.index('id="otp-secret">') + len('id="otp-secret">')
    return page, page[start:page.index("</code>", start)]


def enable_2fa(client, clock):
    client.post(reverse("otp_setup"))
    _page, secret = secret_on_page(client)
    response = client.post(reverse("otp_enable"), {"code": totp(secret, clock.now)})
    assert response.status_code == 302
    clock.now += 30
    return secret


@pytest.mark.django_db
class TestTwoFactor:
    def test_enable_with_the_shown_secret(self, users, client_rep1, clock):
        User.objects.filter(pk=users["rep1"].pk).update(language="en")  # the cookie loses to the saved language
        assert client_rep1.post(reverse("otp_setup")).status_code == 302
        page, secret = secret_on_page(client_rep1)
        assert "<svg" in page and 'id="otp-enable"' in page
        device = TOTPDevice.objects.get(user=users["rep1"])
        assert not device.confirmed and device.config_url.startswith("otpauth://totp/Guanxi%20CRM%3Arep1?")

        response = client_rep1.post(reverse("otp_enable"), {"code": totp(secret, clock.now - 300)})
        assert response.status_code == 422 and "That code is not right" in response.content.decode()
        assert not TOTPDevice.objects.get(pk=device.pk).confirmed and not rows(AuditAction.OTP_CHANGE)
        response = client_rep1.post(reverse("otp_enable"), {"code": "12ab"})
        assert response.status_code == 422 and "6-digit code" in response.content.decode()

        device.throttle_reset()  # the wrong code above started django-otp's back-off
        response = client_rep1.post(reverse("otp_enable"), {"code": totp(secret, clock.now)})
        assert response.status_code == 302
        assert TOTPDevice.objects.get(pk=device.pk).confirmed
        changes = rows(AuditAction.OTP_CHANGE)
        assert len(changes) == 1 and changes[0].data == {"change": "enable"} and changes[0].actor == users["rep1"]
        assert secret.replace(" ", "") not in json.dumps(changes[0].data)
        # This session proved it holds the device: it is not sent to the verify step.
        assert client_rep1.get("/").status_code == 200
        assert 'id="otp-disable"' in client_rep1.get(reverse("profile")).content.decode()

    def test_login_needs_a_code_and_every_page_waits_for_it(self, users, client_rep1, clock):
        User.objects.filter(pk=users["rep1"].pk).update(language="en")  # the cookie loses to the saved language
        secret = enable_2fa(client_rep1, clock)
        client = english_client()
        response = post_login(client)
        assert response.status_code == 302 and response["Location"] == VERIFY + "?next=%2F"
        for path in ["/", reverse("profile"), reverse("customers:account_list")]:
            response = client.get(path)
            assert response.status_code == 302 and response["Location"].startswith(VERIFY)
        response = client.get("/api/v1/accounts")
        assert response.status_code == 401 and response.json()["code"] == "otp_required"
        # A bearer token cannot lean on the half-signed-in session.
        response = client.get("/api/v1/accounts", HTTP_AUTHORIZATION="Bearer gx_not-a-token")
        assert response.status_code == 401
        page = client.get(VERIFY + "?next=/")
        assert page.status_code == 200 and 'id="otp-submit"' in page.content.decode()

        response = client.post(VERIFY, {"code": totp(secret, clock.now - 600), "next": "/"})
        assert response.status_code == 422 and "That code is not right" in response.content.decode()
        failed = rows(AuditAction.LOGIN_FAILED)
        assert len(failed) == 1 and failed[0].record_label == "rep1"
        assert client.get("/").status_code == 302

        TOTPDevice.objects.update(throttling_failure_timestamp=None, throttling_failure_count=0)
        response = client.post(VERIFY, {"code": totp(secret, clock.now), "next": "/"})
        assert response.status_code == 302 and response["Location"] == "/"
        assert client.get("/").status_code == 200
        assert client.get("/api/v1/accounts").status_code == 200
        # The same code cannot be used twice.
        other = english_client()
        post_login(other)
        assert other.post(VERIFY, {"code": totp(secret, clock.now), "next": "/"}).status_code == 422

    def test_verify_refuses_an_outside_next(self, users, client_rep1, clock):
        secret = enable_2fa(client_rep1, clock)
        client = english_client()
        post_login(client)
        response = client.post(VERIFY, {"code": totp(secret, clock.now), "next": "https://evil.example/"})
        assert response.status_code == 302 and response["Location"] == "/"

    def test_throttle_refuses_even_the_right_code_for_a_while(self, users, client_rep1, clock, settings):
        User.objects.filter(pk=users["rep1"].pk).update(language="en")  # the cookie loses to the saved language
        settings.OTP_TOTP_THROTTLE_FACTOR = 60
        secret = enable_2fa(client_rep1, clock)
        client = english_client()
        post_login(client)
        client.post(VERIFY, {"code": totp(secret, clock.now - 600)})
        response = client.post(VERIFY, {"code": totp(secret, clock.now)})
        assert response.status_code == 422 and "Too many wrong codes. Wait 60 seconds" in response.content.decode()
        assert client.get("/").status_code == 302
        TOTPDevice.objects.update(throttling_failure_timestamp=timezone.now() - datetime.timedelta(seconds=61))
        assert client.post(VERIFY, {"code": totp(secret, clock.now)}).status_code == 302
        assert client.get("/").status_code == 200

    def test_wrong_codes_count_towards_the_lockout(self, users, client_rep1, clock, settings):
        settings.OTP_TOTP_THROTTLE_FACTOR = 0  # only the lockout is under test here
        secret = enable_2fa(client_rep1, clock)
        client = english_client()
        post_login(client)
        for _ in range(4):
            assert client.post(VERIFY, {"code": totp(secret, clock.now - 600)}).status_code == 422
        response = client.post(VERIFY, {"code": totp(secret, clock.now - 600)})
        assert response.status_code == 429 and 'id="lockout-message"' in response.content.decode()
        assert len(rows(AuditAction.LOCKOUT)) == 1
        # The half-finished login is over, and the password alone does not get back in for now.
        assert not logged_in(client)
        assert client.get("/").status_code == 302 and client.get("/")["Location"].startswith(LOGIN)
        assert post_login(client).status_code == 429

    def test_a_session_opened_before_enabling_must_verify(self, users, client_rep1, client_for, clock):
        other_session = client_for("rep1")
        assert other_session.get("/").status_code == 200
        enable_2fa(client_rep1, clock)
        response = other_session.get("/")
        assert response.status_code == 302 and response["Location"].startswith(VERIFY)

    def test_disable_needs_a_current_code(self, users, client_rep1, clock):
        User.objects.filter(pk=users["rep1"].pk).update(language="en")  # the cookie loses to the saved language
        secret = enable_2fa(client_rep1, clock)
        response = client_rep1.post(reverse("otp_disable"), {"code": totp(secret, clock.now - 600)})
        assert response.status_code == 422 and "two-factor login stays on" in response.content.decode()
        assert TOTPDevice.objects.filter(user=users["rep1"], confirmed=True).exists()
        changes = rows(AuditAction.OTP_CHANGE)
        assert [(c.data["change"], c.outcome) for c in changes] == [("enable", "success"), ("disable", "failure")]

        TOTPDevice.objects.update(throttling_failure_timestamp=None, throttling_failure_count=0)
        response = client_rep1.post(reverse("otp_disable"), {"code": totp(secret, clock.now)})
        assert response.status_code == 302
        assert not TOTPDevice.objects.filter(user=users["rep1"]).exists()
        changes = rows(AuditAction.OTP_CHANGE)
        assert len(changes) == 3 and (changes[-1].data["change"], changes[-1].outcome) == ("disable", "success")
        client = english_client()
        assert post_login(client)["Location"] == "/" and client.get("/").status_code == 200

    def test_cancel_setup_removes_the_pending_secret(self, users, client_rep1):
        client_rep1.post(reverse("otp_setup"))
        client_rep1.post(reverse("otp_setup"))
        assert TOTPDevice.objects.filter(user=users["rep1"]).count() == 1  # one pending device, kept on reload
        client_rep1.post(reverse("otp_setup_cancel"))
        assert not TOTPDevice.objects.exists() and not rows(AuditAction.OTP_CHANGE)
        # Without a pending device there is nothing to confirm.
        assert client_rep1.post(reverse("otp_enable"), {"code": "123456"}).status_code == 302
        assert not TOTPDevice.objects.exists()


# API tokens


@pytest.mark.django_db
class TestTokenAudit:
    def test_create_and_revoke_on_the_profile_page(self, users, client_rep1):
        response = client_rep1.post(reverse("token_create"), {"name": "ERP sync"})
        assert response.status_code == 200
        raw = response.context["new_token"]
        token = ApiToken.objects.get(user=users["rep1"])
        created = rows(AuditAction.TOKEN_CREATE)
        assert len(created) == 1
        assert created[0].actor == users["rep1"] and created[0].record_id == token.pk
        assert created[0].data == {"name": "ERP sync", "prefix": raw[:8], "user": "rep1", "via": "ui"}

        assert client_rep1.post(reverse("token_revoke", args=[token.pk])).status_code == 302
        revoked = rows(AuditAction.TOKEN_REVOKE)
        assert len(revoked) == 1 and revoked[0].record_id == token.pk
        assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
        # Revoking again finds nothing to revoke and writes nothing.
        assert client_rep1.post(reverse("token_revoke", args=[token.pk])).status_code == 404
        assert len(rows(AuditAction.TOKEN_REVOKE)) == 1
        # The raw key is nowhere in the audit log.
        assert not any(raw in json.dumps(e.data) + e.record_label for e in AuditEvent.objects.all())
        assert raw[8:] not in json.dumps([e.data for e in AuditEvent.objects.all()])

    def test_someone_elses_token_cannot_be_revoked(self, users, client_rep1):
        other = ApiToken.issue(user=users["rep2"], name="theirs")[0]
        assert client_rep1.post(reverse("token_revoke", args=[other.pk])).status_code == 404
        assert ApiToken.objects.get(pk=other.pk).revoked_at is None and not rows(AuditAction.TOKEN_REVOKE)

    def test_token_and_audit_row_share_one_transaction(self, users, client_rep1, monkeypatch):
        from guanxi.core import tokens

        def broken(**kwargs):
            raise RuntimeError("audit store unavailable")

        monkeypatch.setattr(tokens, "audit_log", broken)
        with pytest.raises(RuntimeError):
            client_rep1.post(reverse("token_create"), {"name": "x"})
        assert not ApiToken.objects.exists()

    def test_command_creates_and_revokes_with_audit_rows(self, users, capsys):
        call_command("api_token", "rep1", "--name", "nightly")
        raw = capsys.readouterr().out.strip()
        token = ApiToken.objects.get(user=users["rep1"], name="nightly")
        assert token.prefix == raw[:8]
        created = rows(AuditAction.TOKEN_CREATE)
        assert len(created) == 1 and created[0].actor is None
        assert created[0].data == {"name": "nightly", "prefix": raw[:8], "user": "rep1", "via": "command"}

        with pytest.raises(CommandError, match="no active token"):
            call_command("api_token", "rep1", "--revoke", "gx_nope")
        assert not rows(AuditAction.TOKEN_REVOKE)
        call_command("api_token", "rep1", "--revoke", token.prefix)
        assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
        revoked = rows(AuditAction.TOKEN_REVOKE)
        assert len(revoked) == 1 and revoked[0].data["via"] == "command" and revoked[0].data["prefix"] == raw[:8]
        assert not any(raw in json.dumps(e.data) for e in AuditEvent.objects.all())

    def test_command_refuses_unknown_users(self, users):
        with pytest.raises(CommandError):
            call_command("api_token", "nobody")
        assert not ApiToken.objects.exists() and not rows(AuditAction.TOKEN_CREATE)


# Production settings


def run_settings_process(args, **env_vars):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", ""),
           "DJANGO_SETTINGS_MODULE": "guanxi.settings", **env_vars}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def production_env(tmp_path, **overrides):
    env = {
        "SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "false", "ALLOWED_HOSTS": "crm.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://crm.example.com", "SECURE_COOKIES": "true",
        "SECURE_SSL_REDIRECT": "true", "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
        "GUANXI_VAR_DIR": str(tmp_path),
        # Production sends real email (the deploy check refuses the demo's console backend).
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": "587", "EMAIL_USE_TLS": "true",
    }
    env.update(overrides)
    return env


def test_deploy_check_is_clean_with_production_settings(tmp_path):
    result = run_settings_process(["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                                  **production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_check_fails_on_demo_settings(tmp_path):
    result = run_settings_process(["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                                  GUANXI_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016", "mail.E001"):
        assert check in result.stderr


def test_production_security_settings(tmp_path):
    code = ("import django; django.setup(); from django.conf import settings as s; import json; print(json.dumps("
            "[s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_SSL_REDIRECT, "
            "list(s.SECURE_PROXY_SSL_HEADER), s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.AXES_FAILURE_LIMIT, "
            "s.AXES_COOLOFF_TIME.total_seconds()]))")
    result = run_settings_process(["-c", code], **production_env(tmp_path, AXES_FAILURE_LIMIT="8",
                                                                  AXES_COOLOFF_MINUTES="30"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [31536000, True, True, ["HTTP_X_FORWARDED_PROTO", "https"], True, True,
                                         8, 1800.0]
    result = run_settings_process(["-c", code], **production_env(tmp_path, SECURE_PROXY_SSL_HEADER="https"))
    assert result.returncode != 0 and "SECURE_PROXY_SSL_HEADER" in result.stderr
