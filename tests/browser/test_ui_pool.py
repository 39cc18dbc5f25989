"""Customer pool (公海) in the browser: rep1 claims companies from a pool until the quota, the next claim is
refused with the message in the row (nothing changes), the quota indicator follows; then the claimed company's
page offers "Return to pool" with a reason."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_claim_until_the_quota_then_refused(page, login, screenshot, browser_users):
    from guanxi.customers.models import Account, Pool

    rep1 = browser_users["rep1"]
    pool = Pool.objects.create(name="华东公海", claim_quota=2, reclaim_days=30, cooldown_days=7,
                               provinces="上海市, 浙江省")
    pool.member_teams.add(rep1.team)
    names = ["上海浦江精密仪器有限公司", "杭州西湖数据科技有限公司", "宁波港湾物流有限公司"]
    for i, name in enumerate(names):
        Account.objects.create(name=name, owner=None, pool=pool, province="上海市" if i != 1 else "浙江省",
                               city="上海市" if i != 1 else "杭州市")

    login(page)
    page.goto("/pools/")
    page.click(f"#pool-cards a[href='/pools/{pool.pk}/']")
    page.wait_for_url(f"**/pools/{pool.pk}/")
    quota = page.locator("#pool-quota")
    assert "0" in quota.inner_text() and "2" in quota.inner_text()

    rows = page.locator("#pool-records tbody tr")
    assert rows.count() == 3
    # Newest first: the third company is at the top.
    for name, claimed in ((names[2], 1), (names[1], 2)):
        row = page.locator("#pool-records tr", has_text=name)
        row.locator("button.pool-claim").click()
        row.locator(".badge.text-bg-success").wait_for()
        page.wait_for_function("([n]) => document.querySelector('#pool-quota').innerText.includes(n + ' ')",
                               arg=[str(claimed)])
    assert set(Account.objects.filter(owner=rep1).values_list("name", flat=True)) == {names[1], names[2]}

    # Past the quota: refused, the message shows in the row, the company stays unowned.
    row = page.locator("#pool-records tr", has_text=names[0])
    row.locator("button.pool-claim").click()
    error = row.locator(".pool-error")
    error.wait_for()
    assert "2" in error.inner_text()
    assert Account.objects.get(name=names[0]).owner is None
    screenshot(page, "pool")

    # The claimed company's page: the pool card offers "Return to pool" with a reason.
    page.goto(Account.objects.get(name=names[2]).get_absolute_url())
    page.locator("#pool-return summary").click()
    page.fill("#pool-return-reason", "客户暂无预算")
    page.locator("#pool-return button[type=submit]").click()
    page.wait_for_url(lambda url: "/pools/return/" not in url)
    page.locator(".alert-success").wait_for()
    assert Account.objects.get(name=names[2]).owner is None

    # On a phone the pool page fits the screen (no sideways scrolling), the Claim buttons still show.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/pools/{pool.pk}/")
    page.locator("#pool-records button.pool-claim").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "pool-phone")
