"""Funnel and forecast pages in a real browser: charts render, a click on the funnel and on a number
drills down to the deals behind it."""

import re

import pytest
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def deals(browser_users):
    from djmoney.money import Money

    from guanxi.sales.analytics import period_for
    from guanxi.sales.models import Quota
    from guanxi.sales.tests.analytics_data import generate

    u = browser_users
    pipeline, stages, generated = generate([u["rep1"], u["rep2"]], n=60, seed=7, now=timezone.now())
    start, _end = period_for("quarter", timezone.localdate())
    Quota.objects.create(user=u["rep1"], period="quarter", start=start, amount=Money(300000, "CNY"))
    return pipeline, stages, generated


def test_funnel_chart_and_drill_down(rep1_page, deals, screenshot, browser_users):
    page = rep1_page
    pipeline, stages, generated = deals
    page.goto(f"/sales/funnel/?pipeline={pipeline.pk}&all=1")
    page.locator('[data-chart="funnel"] canvas').wait_for()
    page.locator('[data-chart="conversion"] canvas').wait_for()
    first = page.locator(f'#funnel-table tr[data-stage="{stages[0].pk}"] td[data-reached]')
    reached = int(first.get_attribute("data-reached"))
    mine = [d for d in generated if d.owner_id == browser_users["rep1"].pk]
    assert reached == len(mine) > 0  # every deal of rep1 starts in the first stage
    page.wait_for_timeout(1200)  # let the chart animations finish for the screenshot
    screenshot(page, "funnel", full_page=True)

    # A click on the top layer of the funnel chart opens the deals that reached the first stage.
    box = page.locator('[data-chart="funnel"]').bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 30)
    page.wait_for_url(re.compile(r"/sales/funnel/deals/\?.*metric=reached"))
    assert int(page.locator("[data-count]").inner_text()) == reached
    page.go_back()

    # The number in the table does the same for the second stage.
    second = page.locator(f'#funnel-table tr[data-stage="{stages[1].pk}"] td[data-reached]')
    n = int(second.get_attribute("data-reached"))
    second.locator("a").click()
    page.wait_for_url(re.compile(r"/sales/funnel/deals/"))
    assert int(page.locator("[data-count]").inner_text()) == n
    assert page.locator("#funnel-deals tr[data-deal]").count() == min(n, 50)


def test_forecast_chart(rep1_page, deals, screenshot):
    page = rep1_page
    page.goto("/sales/forecast/")
    page.locator('[data-chart="attainment"] canvas').wait_for()
    assert page.locator("#forecast-reps tr[data-row]").count() == 1
    page.wait_for_timeout(1200)
    screenshot(page, "forecast", full_page=True)
