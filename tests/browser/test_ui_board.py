"""The kanban board in a real browser: drag a deal to another column and see the stage, the time-in-stage
history and the funnel change; on a phone, move a deal with the card's "Move to…" select."""

import datetime
import re

import pytest
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def deals(browser_users, make_account):
    from djmoney.money import Money

    from guanxi.sales.opportunity_services import opportunity_create, pipeline_default
    from guanxi.sales.tests.factories import ensure_default_pipeline

    ensure_default_pipeline()
    rep1 = browser_users["rep1"]
    pipeline = pipeline_default()
    account = make_account(name="杭州西湖科技有限公司", owner=rep1)
    start = timezone.now() - datetime.timedelta(days=3)
    made = [opportunity_create(actor=rep1, fields={"name": name, "account": account, "owner": rep1,
                                                   "amount": Money(amount, "CNY")}, at=start)
            for name, amount in (("ERP 升级项目", 380000), ("数据中台一期", 120000), ("门店 POS 替换", 56000))]
    # One long-idle deal so the stalled badge shows.
    opportunity_create(actor=rep1, fields={"name": "老客户续约", "account": account, "owner": rep1,
                                           "amount": Money(90000, "CNY")},
                       at=timezone.now() - datetime.timedelta(days=40))
    return pipeline, made


def reached(page, pipeline, stage):
    page.goto(f"/sales/funnel/?pipeline={pipeline.pk}&all=1")
    cell = page.locator(f'#funnel-table tr[data-stage="{stage.pk}"] td[data-reached]')
    value = cell.get_attribute("data-reached")
    return int(value if value not in (None, "") else cell.inner_text().strip())


def drag(page, source, target):
    """SortableJS listens to pointer events: press on the card, move in steps over the target, release."""
    box, goal = source.bounding_box(), target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 12)
    page.mouse.down()
    steps = 12
    for i in range(1, steps + 1):
        page.mouse.move(box["x"] + box["width"] / 2 + (goal["x"] + 40 - box["x"] - box["width"] / 2) * i / steps,
                        box["y"] + 12 + (goal["y"] + 30 - box["y"] - 12) * i / steps)
        page.wait_for_timeout(30)
    page.mouse.up()


def test_drag_a_deal_to_another_stage(rep1_page, deals, screenshot):
    from guanxi.sales.models import Opportunity

    page = rep1_page
    pipeline, made = deals
    deal = made[0]
    first, second = list(pipeline.stages.order_by("position"))[:2]
    before = reached(page, pipeline, second)

    page.goto("/sales/board/")
    card = page.locator(f'.board-card[data-id="{deal.pk}"]')
    card.wait_for()
    assert page.locator(f'.board-column[data-stage="{first.pk}"] .board-count').inner_text() == "4"
    assert page.locator(".board-card.stalled").count() == 1
    target = page.locator(f'.board-cards[data-stage="{second.pk}"]')
    with page.expect_response(re.compile(rf"/opportunities/{deal.pk}/move/$")) as response:
        drag(page, card.locator(".board-card-days"), target)
    assert response.value.status == 200, response.value.text()
    assert page.locator(f'.board-cards[data-stage="{second.pk}"] .board-card[data-id="{deal.pk}"]').count() == 1
    assert page.locator(f'.board-column[data-stage="{second.pk}"] .board-count').inner_text() == "1"
    assert page.locator(f'.board-column[data-stage="{first.pk}"] .board-count').inner_text() == "3"
    # The columns' totals follow, written as every amount is ("¥380,000"; 646,000 - 380,000 left behind).
    assert page.locator(f'.board-column[data-stage="{second.pk}"] .board-sum').inner_text() == "¥380,000"
    assert page.locator(f'.board-column[data-stage="{first.pk}"] .board-sum').inner_text() == "¥266,000"
    deal = Opportunity.objects.get(pk=deal.pk)
    assert deal.stage == second
    page.wait_for_timeout(300)
    screenshot(page, "board", full_page=True)

    # The page after a reload agrees with the database.
    page.reload()
    assert page.locator(f'.board-cards[data-stage="{second.pk}"] .board-card[data-id="{deal.pk}"]').count() == 1

    # The deal's page shows the new stay: three days in the first stage, the second one open.
    page.goto(f"/opportunities/{deal.pk}/")
    assert page.locator("#current-stage").inner_text() == str(second)
    rows = page.locator("#stage-history tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("data-stage") == str(first.pk)
    assert float(rows.nth(0).locator("[data-days]").inner_text()) == pytest.approx(3.0, abs=0.1)
    assert rows.nth(1).get_attribute("data-stage") == str(second.pk)
    assert "table-active" in rows.nth(1).get_attribute("class")

    # The funnel counts one more deal that reached the second stage.
    assert reached(page, pipeline, second) == before + 1


def test_refused_move_is_undone_on_the_board(rep1_page, deals):
    from guanxi.sales.models import Opportunity
    from guanxi.sales.opportunity_services import opportunity_move

    page = rep1_page
    pipeline, made = deals
    deal = made[1]
    first, second, third = list(pipeline.stages.order_by("position"))[:3]
    page.goto("/sales/board/")
    card = page.locator(f'.board-card[data-id="{deal.pk}"]')
    card.wait_for()
    # Someone else moves it meanwhile: the board's version is stale.
    opportunity_move(opportunity=deal, actor=deal.owner, stage=third)
    with page.expect_response(re.compile(rf"/opportunities/{deal.pk}/move/$")) as response:
        drag(page, card.locator(".board-card-days"), page.locator(f'.board-cards[data-stage="{second.pk}"]'))
    assert response.value.status == 409
    page.locator("#board-alert:not(.d-none)").wait_for()
    assert page.locator(f'.board-cards[data-stage="{first.pk}"] .board-card[data-id="{deal.pk}"]').count() == 1
    assert Opportunity.objects.get(pk=deal.pk).stage == third


def test_drop_on_lost_asks_for_the_reason(rep1_page, deals):
    from guanxi.sales.models import LostReason, Opportunity

    page = rep1_page
    page.set_viewport_size({"width": 1920, "height": 1000})  # a wide screen shows every column
    pipeline, made = deals
    deal = made[1]
    first = pipeline.stages.order_by("position").first()
    lost = pipeline.stages.get(kind="lost")
    page.goto("/sales/board/")
    card = page.locator(f'.board-card[data-id="{deal.pk}"]')
    card.wait_for()
    zone = page.locator(f'.board-cards[data-stage="{lost.pk}"]')
    # Cancelling the dialog puts the card back and changes nothing.
    drag(page, card.locator(".board-card-days"), zone)
    page.locator("#lost-dialog[open]").wait_for()
    page.locator('#lost-dialog button[value="cancel"]').click()
    page.locator(f'.board-cards[data-stage="{first.pk}"] .board-card[data-id="{deal.pk}"]').wait_for()
    assert Opportunity.objects.get(pk=deal.pk).stage == first
    # With a reason the deal is lost: the card leaves the board and the Lost column counts it.
    reason = LostReason.objects.get(name="Price")
    drag(page, card.locator(".board-card-days"), zone)
    page.locator("#lost-dialog[open]").wait_for()
    page.select_option("#lost-dialog-reason", str(reason.pk))
    page.fill("#lost-dialog-note", "预算砍掉了")
    with page.expect_response(re.compile(rf"/opportunities/{deal.pk}/lost/$")) as response:
        page.locator('#lost-dialog button[value="ok"]').click()
    assert response.value.status == 200
    page.locator(f'.board-card[data-id="{deal.pk}"]').wait_for(state="detached")
    assert page.locator(f'.board-column[data-stage="{lost.pk}"] .board-count').inner_text() == "1"
    deal = Opportunity.objects.get(pk=deal.pk)
    assert (deal.stage, deal.lost_reason, deal.lost_note) == (lost, reason, "预算砍掉了")


def test_move_on_a_phone(phone_page, login, deals, screenshot):
    from guanxi.sales.models import Opportunity

    page = login(phone_page)
    pipeline, made = deals
    deal = made[2]
    quote = pipeline.stages.get(name="Quote")
    page.goto("/sales/board/")
    card = page.locator(f'.board-card[data-id="{deal.pk}"]')
    card.wait_for()
    # Columns scroll sideways; a card fits the screen.
    assert page.evaluate("document.getElementById('board').scrollWidth > window.innerWidth")
    assert card.bounding_box()["width"] <= 390
    screenshot(page, "board-phone")
    with page.expect_response(re.compile(rf"/opportunities/{deal.pk}/move/$")) as response:
        card.locator("select[data-board-move]").select_option(str(quote.pk))
    assert response.value.status == 200
    assert page.locator(f'.board-cards[data-stage="{quote.pk}"] .board-card[data-id="{deal.pk}"]').count() == 1
    assert Opportunity.objects.get(pk=deal.pk).stage == quote


def test_quick_create_in_a_column(rep1_page, deals, choose):
    from guanxi.sales.models import Opportunity

    page = rep1_page
    pipeline, _made = deals
    demo = pipeline.stages.get(name="Demo")
    page.goto("/sales/board/")
    page.locator(f'[data-bs-target="#quick-{demo.pk}"]').click()
    form = page.locator(f"#quick-{demo.pk}")
    form.locator('input[name="name"]').fill("展会新商机")
    choose(page, f"quick-account-{demo.pk}", "西湖", "杭州西湖科技有限公司")
    form.locator('input[name="amount"]').fill("66000")
    form.locator("button").click()
    page.wait_for_load_state()
    created = Opportunity.objects.get(name="展会新商机")
    assert created.stage == demo and created.amount.amount == 66000
    card = page.locator(f'.board-cards[data-stage="{demo.pk}"] .board-card[data-id="{created.pk}"]')
    card.wait_for()
    assert "¥66,000.00" in card.inner_text()
