"""Browser-test fixtures: Debian Chromium driven by Playwright against pytest-django's live server.

Skipping rule: without /usr/bin/chromium the browser tests are skipped with a clear reason, unless
GUANXI_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.

Playwright's own browser downloads are never used: the system Chromium is launched by path.
"""

import os
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
# pytest-django's live server listens on this address unless --liveserver is given.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

CHROMIUM = Path(os.environ.get("GUANXI_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def browser_required():
    return os.environ.get("GUANXI_REQUIRE_BROWSER", "") == "1"


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists() or browser_required():
        return
    skip = pytest.mark.skip(
        reason=f"Chromium not found at {CHROMIUM}: install the Debian 'chromium' package "
        "(set GUANXI_REQUIRE_BROWSER=1 to make this a failure)"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the whole session."""
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM}"
        if browser_required():
            pytest.fail(f"{message}, and GUANXI_REQUIRE_BROWSER=1 requires the browser tests to run")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def browser_users(transactional_db):
    """The demo users (rep1 is the one who clicks), created in a transactional database."""
    from guanxi.customers.demo import seed_users

    return seed_users()


def _open_page(chromium, live_server, **context_args):
    """A fresh context (own cookies) and page; yields it, then fails on JavaScript or server errors seen."""
    context = chromium.new_context(
        base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai", **context_args
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = []
    # The stack says which script threw (a bare message from a minified library is hard to place).
    page.on("pageerror", lambda exc: problems.append(f"JavaScript error: {exc} {getattr(exc, 'stack', '') or ''}"))
    page.on(
        "response",
        lambda r: r.status >= 500 and problems.append(f"server error {r.status} on {r.request.method} {r.url}"),
    )
    yield page
    context.close()
    assert not problems, "; ".join(problems)


@pytest.fixture
def page(chromium, live_server, browser_users):
    """A desktop-sized page pointing at the live server."""
    yield from _open_page(chromium, live_server, viewport=DESKTOP)


@pytest.fixture
def phone_page(chromium, live_server, browser_users):
    """A phone-sized page (390×844, touch) pointing at the live server."""
    yield from _open_page(chromium, live_server, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)


@pytest.fixture
def screenshot():
    """screenshot(page, name) saves var/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name, **kwargs):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), **kwargs)
        return path

    return take


def _login(page, username="rep1"):
    from guanxi.customers.demo import DEMO_PASSWORD

    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("form button[type=submit]:not([name=language])")
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


@pytest.fixture
def login():
    """login(page, username="rep1"): log in through the real form and wait to leave /login/."""
    return _login


@pytest.fixture
def rep1_page(page):
    """The desktop page, logged in as rep1 through the login form."""
    return _login(page)


@pytest.fixture
def make_account(browser_users):
    """make_account(name=..., ...): seed a company owned by rep1 through the service layer.

    For preconditions only; the flows under test create their records through the UI.
    """
    from guanxi.customers.models import Account
    from guanxi.framework.services import record_create

    def make(actor=None, **fields):
        return record_create(model=Account, actor=actor or browser_users["rep1"], fields=fields)

    return make


def _choose(page, select_id, typed, option_text):
    """Pick `option_text` in the Tom Select that replaced <select id=select_id>, by typing `typed`."""
    wrapper = page.locator(f"#{select_id} + .ts-wrapper")
    wrapper.locator(".ts-control").click()
    page.keyboard.type(typed, delay=40)
    option = page.locator(f"#{select_id}-ts-dropdown .option", has_text=option_text)
    option.first.wait_for(state="visible")
    option.first.click()
    page.wait_for_function(
        "([id, text]) => [...document.getElementById(id).selectedOptions].some(o => o.text.includes(text))",
        arg=[select_id, option_text],
    )


@pytest.fixture
def choose():
    """choose(page, "id_companies", "闽江", full_name): type into a Tom Select and click a result."""
    return _choose
