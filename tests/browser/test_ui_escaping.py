"""User input is text, never markup: a company named like an XSS payload stays inert everywhere it shows."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOAD = '<img src=x onerror="window.__xss=1">恶意公司'


def test_script_in_company_name_is_escaped_in_pages_graph_tooltip_and_palette(page, login, make_account, browser_users):
    from guanxi.customers.models import AccountRelation
    from guanxi.framework.services import record_create

    evil = make_account(name=PAYLOAD, city="福州市")
    other = make_account(name="正常科技有限公司", city="福州市")
    record_create(model=AccountRelation, actor=browser_users["rep1"],
                  fields={"from_account": evil, "to_account": other, "relation_type": "partner"})
    login(page)

    # The list and the 360 page show the name as text.
    page.goto("/companies/?q=恶意")
    assert PAYLOAD in page.locator("#record-table").inner_text()
    page.goto(other.get_absolute_url())
    assert PAYLOAD in page.locator("#relation-list").inner_text()

    # The graph tooltip (HTML rendered by ECharts) for every node, including the payload's.
    shown = page.evaluate(
        """() => {
            const chart = echarts.getInstanceByDom(document.getElementById('relation-graph'));
            const nodes = chart.getOption().series[0].data;
            const texts = [];
            nodes.forEach((n, i) => {
                chart.dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: i});
                const tip = document.querySelector('#relation-graph div[style*="z-index"]');
                if (tip) texts.push(tip.textContent);
            });
            return texts;
        }"""
    )
    assert any(PAYLOAD in text for text in shown), shown

    # The Ctrl+K palette.
    page.keyboard.press("Control+k")
    page.fill("#palette-input", "恶意")
    page.locator("#palette-results a").first.wait_for()
    assert PAYLOAD in page.locator("#palette-results").inner_text()

    assert page.evaluate("() => window.__xss") is None
