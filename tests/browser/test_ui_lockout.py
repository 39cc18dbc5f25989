"""Login security in Chromium: repeated wrong passwords lock the login with a clear message, and
two-factor login is switched on from the profile page and then asked for at the next login."""

import base64
import hashlib
import hmac
import struct
import time

import pytest
from django.urls import reverse

from guanxi.customers.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def submit_login(page, username, password):
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form button[type=submit]:not([name=language])")
    page.wait_for_load_state()


def test_locked_out_login_shows_a_clear_message(page, screenshot, settings):
    from guanxi.core.choices import AuditAction
    from guanxi.core.models import AuditEvent

    page.goto("/login/")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        submit_login(page, "rep1", "not-the-password")
        assert page.locator(".alert-danger").is_visible()
        assert page.locator("#lockout-message").count() == 0
    submit_login(page, "rep1", "not-the-password")
    message = page.locator("#lockout-message")
    assert message.is_visible()
    text = message.inner_text()
    assert "rep1" in text and "15" in text
    assert page.locator("#id_username").input_value() == "rep1"
    screenshot(page, "login-locked-out")

    # The right password does not get through while the lockout lasts.
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("form button[type=submit]:not([name=language])")
    page.wait_for_load_state()
    assert "/login/" in page.url and page.locator("#lockout-message").is_visible()
    assert AuditEvent.objects.filter(action=AuditAction.LOCKOUT, record_label="rep1").count() == 1


def totp(secret, at):
    key = base64.b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at // 30)), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return f"{(struct.unpack('>I', mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def away_from_a_step_boundary(margin=6):
    """Wait until the current 30-second step has `margin` seconds left. A code sent just before a step
    ends is checked in the next one: django-otp accepts it and records a drift of one step, after which
    it refuses the next step's code (the replay guard and the drift window no longer overlap)."""
    left = 30 - time.time() % 30
    if left < margin:
        time.sleep(left + 0.1)


def test_two_factor_login_from_the_profile_page(rep1_page, login, screenshot):
    page = rep1_page
    page.goto("/profile/")
    page.click("#otp-setup")
    page.locator("#two-factor svg").wait_for()
    secret = page.locator("#otp-secret").inner_text()
    screenshot(page, "profile-two-factor-setup")
    away_from_a_step_boundary()
    page.fill("#two-factor input[name=code]", totp(secret, time.time()))
    page.click("#otp-enable")
    page.locator("#otp-disable").wait_for()

    page.locator("#user-menu").click()
    page.locator("form[action='/logout/'] button").click()
    page.wait_for_url("**/login/")
    submit_login(page, "rep1", DEMO_PASSWORD)
    assert "/login/verify/" in page.url
    page.goto(reverse("customers:account_list"))  # any page waits for the code
    assert "/login/verify/" in page.url
    page.fill("#id_code", "000000" if totp(secret, time.time() + 30) != "000000" else "111111")
    page.click("#otp-submit")
    assert page.locator("#otp-error").is_visible()
    page.wait_for_timeout(1500)  # django-otp's back-off: one second after the first wrong code
    # The next 30-second step's code: the one used to switch 2FA on cannot be replayed.
    away_from_a_step_boundary()
    page.fill("#id_code", totp(secret, time.time() + 30))
    page.click("#otp-submit")
    page.wait_for_url(lambda url: "/login/" not in url)
    assert page.locator("#user-menu").is_visible()
