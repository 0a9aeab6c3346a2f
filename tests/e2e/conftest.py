"""Browser tests: Debian's chromium, driven by Playwright, against pytest-django's live server.

Every test in this folder gets the `e2e` marker. Nothing here downloads a browser: without
/usr/bin/chromium the tests skip on a developer machine and fail in CI (CLINIC_REQUIRE_ALL=1).
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

# Playwright's sync API keeps an asyncio event loop running in the test thread, so Django's
# async-safety check would refuse the ORM calls made by fixtures (flush, seed_demo) and tests.
# Nothing here runs concurrently with that loop: the check is a false alarm for these tests.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

E2E_DIR = Path(__file__).resolve().parent
AXE_JS = E2E_DIR / "vendor" / "axe-core" / "axe.min.js"
AXE_SOURCE = AXE_JS.read_text() + "\n;true"
SCREENSHOT_DIR = E2E_DIR.parents[1] / "screenshots" / "e2e"
DEMO_PASSWORD = "demo-pass-2026"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
NAVIGATION_TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        skip_or_fail("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def demo_site(live_server):
    """The live server's URL, with the demo clinics, logins and patients in its database.

    live_server implies transactional_db: the tables are flushed after each test, so the
    demo data is put back for every test (tests/demo_data.py: a copy of what seed_demo wrote).
    """
    from tests.demo_data import load_demo

    load_demo()
    return live_server.url


@pytest.fixture
def new_page(browser):
    """Factory: new_page(viewport) -> a page in a fresh browser context.

    `viewport` is a name from VIEWPORTS or a {"width", "height"} dict. Each page gets a
    `console_errors` list holding console messages of type "error" and uncaught page
    exceptions, so tests can assert that there are none. Contexts close at teardown.
    """
    contexts = []

    def make(viewport="desktop"):
        size = VIEWPORTS[viewport] if isinstance(viewport, str) else viewport
        context = browser.new_context(viewport=size)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        errors = []

        def on_console(message):
            # Chromium asks for /favicon.ico on its own; the site has no favicon (yet), and
            # that 404 says nothing about the page under test.
            if message.type == "error" and not message.location.get("url", "").endswith(
                "/favicon.ico"
            ):
                errors.append(f"console: {message.text} ({message.location.get('url')})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
        page.console_errors = errors
        return page

    yield make
    for context in contexts:
        context.close()


def login(page, base_url, username, password=DEMO_PASSWORD):
    """Sign in through the real login form; returns the response that ends the navigation.

    Demo staff have an authenticator app (seed_demo's DEMO_TOTP_SECRET) and test settings
    require it: when the two-factor step appears, the current code is typed in."""
    from tests.totp import demo_totp_code

    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation() as navigation:
        page.click("form button[type=submit]")
    page.wait_for_load_state("load")
    if page.url.split("?")[0].endswith("/accounts/2fa/authenticate/"):
        page.fill("input[name=code]", demo_totp_code(username))
        with page.expect_navigation() as navigation:
            page.click("form[action$='/2fa/authenticate/'] button[type=submit]")
        page.wait_for_load_state("load")
    return navigation.value


def assert_no_serious_axe_violations(page):
    """Run axe-core on the page as it is now; fail on any serious or critical violation."""
    # Evaluated through the DevTools protocol, which the page's Content-Security-Policy does
    # not govern (add_script_tag would insert an inline <script>, which the policy refuses).
    page.evaluate(AXE_SOURCE)
    results = page.evaluate("async () => await axe.run()")
    serious = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
    if serious:
        lines = [f"{len(serious)} serious/critical axe violation(s) on {page.url}:"]
        for violation in serious:
            targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
            more = len(violation["nodes"]) - len(targets)
            lines.append(
                f"  - {violation['id']} ({violation['impact']}): {violation['help']}\n"
                f"      targets: {'; '.join(targets)}" + (f" (+{more} more)" if more > 0 else "")
            )
            checks = violation["nodes"][0].get("any", []) + violation["nodes"][0].get("all", [])
            if checks:
                lines.append(f"      first: {checks[0]['message']}")
        pytest.fail("\n".join(lines), pytrace=False)
