"""The Ctrl+K palette driven by the keyboard alone: ↓/↑ move the highlight, Enter opens, Escape closes."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The palette lists companies by name: Foods, Logistics, Textiles.
NAMES = ["Guerra Logistics", "Guerra Textiles", "Guerra Foods"]


@pytest.fixture
def companies(make_account):
    return {name: make_account(name=name, lifecycle_stage="customer") for name in NAMES}


def open_palette(page):
    page.keyboard.press("Control+k")
    page.locator("#palette").wait_for(state="visible")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'palette-input'")


def highlighted(page):
    """The text of the option marked aria-selected, checked against the input's aria-activedescendant."""
    option = page.locator("#palette-list [role=option][aria-selected=true]")
    assert option.count() == 1
    assert page.get_attribute("#palette-input", "aria-activedescendant") == option.get_attribute("id")
    assert "active" in option.get_attribute("class").split()  # the visible highlight
    return option.inner_text().strip()


def test_arrow_keys_and_enter_open_the_highlighted_company(rep1_page, companies):
    page = rep1_page
    page.goto("/companies/")
    open_palette(page)
    page.keyboard.type("Guerra", delay=40)
    page.wait_for_function("() => document.querySelectorAll('#palette-list [role=option]').length === 3")
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    assert page.get_attribute("#palette-list", "role") == "listbox"
    assert highlighted(page) == "Guerra Foods"  # the first result, as soon as results arrive

    page.keyboard.press("ArrowDown")
    assert highlighted(page) == "Guerra Logistics"
    page.keyboard.press("ArrowDown")
    assert highlighted(page) == "Guerra Textiles"
    page.keyboard.press("ArrowDown")  # wraps round to the first
    assert highlighted(page) == "Guerra Foods"
    page.keyboard.press("ArrowUp")  # and back to the last
    assert highlighted(page) == "Guerra Textiles"
    page.keyboard.press("ArrowUp")
    assert highlighted(page) == "Guerra Logistics"
    assert page.evaluate("() => document.activeElement.id") == "palette-input"  # typing goes on in the input

    target = companies["Guerra Logistics"]
    with page.expect_navigation(url=f"**{target.get_absolute_url()}", timeout=20_000):
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text().strip() == "Guerra Logistics"


def test_the_highlight_follows_the_refreshed_results(rep1_page, companies):
    page = rep1_page
    open_palette(page)
    page.keyboard.type("Guerra", delay=40)
    page.wait_for_function("() => document.querySelectorAll('#palette-list [role=option]').length === 3")
    page.keyboard.press("ArrowDown")
    with page.expect_response(lambda r: "/search/?" in r.url and "Text" in r.url):
        page.keyboard.type(" Text", delay=40)
    page.wait_for_function("() => document.querySelectorAll('#palette-list [role=option]').length === 1")
    assert highlighted(page) == "Guerra Textiles"
    with page.expect_navigation(url=f"**{companies['Guerra Textiles'].get_absolute_url()}", timeout=20_000):
        page.keyboard.press("Enter")


def test_escape_closes_the_palette(rep1_page, companies):
    page = rep1_page
    start = page.url
    open_palette(page)
    page.keyboard.type("Guerra", delay=40)
    page.wait_for_function("() => document.querySelectorAll('#palette-list [role=option]').length === 3")
    page.keyboard.press("Escape")
    page.locator("#palette").wait_for(state="hidden")
    assert page.url == start  # closed, nothing opened


def test_enter_before_the_new_results_opens_nothing_stale(rep1_page, companies):
    """Typing on makes the shown results stale: Enter before the next ones arrive must not open the old
    highlighted result (Guerra Foods); once they arrive, Enter opens the new first one."""
    page = rep1_page
    open_palette(page)
    page.keyboard.type("Guerra", delay=40)
    page.wait_for_function("() => document.querySelectorAll('#palette-list [role=option]').length === 3")
    assert highlighted(page) == "Guerra Foods"
    page.keyboard.type(" Tex")  # no delay: the search waits 200 ms for typing to stop
    assert page.locator("#palette-list [role=option][aria-selected=true]").count() == 0
    assert page.get_attribute("#palette-input", "aria-activedescendant") is None
    start = page.url
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#palette-list [role=option]').length === 1")
    assert page.url == start  # nothing stale was opened
    assert highlighted(page) == "Guerra Textiles"
    with page.expect_navigation(url=f"**{companies['Guerra Textiles'].get_absolute_url()}", timeout=20_000):
        page.keyboard.press("Enter")
