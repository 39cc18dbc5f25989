"""Service analytics in a real browser: the charts render (no script errors), a click on a bar opens the
ticket list behind it, and the page fits a phone."""

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_tickets(browser_users):
    from guanxi.customers.demo import seed
    from guanxi.service.demo import seed_service

    seed(companies=15, contacts=40)
    return seed_service(tickets=60, seed_value=11)


def test_charts_and_drill_down(page, login, demo_tickets, screenshot):
    login(page, "supervisor")
    page.goto("/service/analytics/?all=1")
    for name in ("periods", "categories", "csat", "times", "products"):
        page.locator(f'[data-chart="{name}"] canvas').wait_for()
    page.wait_for_timeout(1200)  # let the animations finish for the screenshot
    screenshot(page, "service-analytics", full_page=True)
    # A click on the 5-star bar (the right-most, tallest one) opens the tickets rated 5.
    page.locator('[data-chart="csat"]').scroll_into_view_if_needed()
    box = page.locator('[data-chart="csat"]').bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.88, box["y"] + box["height"] - 30)
    page.wait_for_url(re.compile(r"/tickets/\?.*csat=5"))


def test_phone(phone_page, login, demo_tickets, screenshot):
    login(phone_page, "agent")
    phone_page.goto("/service/analytics/?all=1")
    phone_page.locator('[data-chart="periods"] canvas').wait_for()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1
    screenshot(phone_page, "service-analytics-phone")
