"""Inline validation on the company form: htmx posts the field to the validate endpoint when it is left."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ERROR = "#err-credit_code .invalid-feedback"


def test_invalid_credit_code_shows_error_under_the_field_without_submitting(rep1_page, screenshot):
    from guanxi.customers.models import Account

    page = rep1_page
    page.goto("/companies/new/")
    page.fill("#id_name", "闽江智能科技有限公司")
    assert page.locator(ERROR).count() == 0

    # Too short: the format error, fetched by htmx when the field loses focus.
    page.click("#id_credit_code")
    with page.expect_response(lambda r: "/companies/validate/?field=credit_code" in r.url) as answer:
        page.keyboard.type("91350100M00010", delay=20)
        page.keyboard.press("Tab")
    assert answer.value.request.method == "POST"
    assert answer.value.request.headers.get("hx-request") == "true"
    error = page.locator(ERROR)
    error.wait_for(state="visible")
    assert "18" in error.inner_text()
    # It sits directly under its own field, and nothing was submitted.
    field_box = page.locator("#id_credit_code").bounding_box()
    error_box = error.bounding_box()
    assert 0 <= error_box["y"] - (field_box["y"] + field_box["height"]) < 30
    assert page.url.endswith("/companies/new/")
    assert page.input_value("#id_name") == "闽江智能科技有限公司"
    assert page.locator("#err-name .invalid-feedback").count() == 0
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    screenshot(page, "form-inline-error")

    # Right length, wrong check character: a different message.
    format_message = error.inner_text()
    page.fill("#id_credit_code", "")
    page.click("#id_credit_code")
    with page.expect_response(lambda r: "field=credit_code" in r.url):
        page.keyboard.type("91350100M000100Y44", delay=20)
        page.keyboard.press("Tab")
    page.wait_for_function(
        "([sel, old]) => { const e = document.querySelector(sel); return e && e.innerText !== old; }",
        arg=[ERROR, format_message],
    )

    # A valid code clears the message.
    page.fill("#id_credit_code", "")
    page.click("#id_credit_code")
    with page.expect_response(lambda r: "field=credit_code" in r.url):
        page.keyboard.type("91350100M000100Y43", delay=20)
        page.keyboard.press("Tab")
    page.locator(ERROR).wait_for(state="detached")
    assert page.url.endswith("/companies/new/")
    assert Account.objects.count() == 0
