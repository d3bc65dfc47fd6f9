"""Browser tests: pytest-django's live server in this process, driven by Playwright in Debian's
headless Chromium (`apt-get install chromium`; Playwright's own browser download is not used).

Without a Chromium (or with BROWSER_TESTS=off, as CI's second pass sets) every test here is
skipped, and the run says so in its summary. Screenshots of the main pages are kept under
test-output/screenshots/ for a person to look at."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# themselves (factories, assertions) are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from boxoffice.accounts.models import User
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _skip_reason() -> str | None:
    if os.environ.get("BROWSER_TESTS", "").lower() in {"off", "0", "false", "no"}:
        return "browser tests turned off (BROWSER_TESTS=off)"
    if chromium_path() is None:
        return "no Chromium: `apt-get install chromium` (or set CHROMIUM) to run the browser tests"
    return None


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    reason = _skip_reason()
    if reason is None:
        return
    marker = pytest.mark.skip(reason=reason)
    for item in items:
        if "tests/web/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(marker)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


def launch(playwright: Playwright, *args: str) -> Browser:
    return playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=["--no-sandbox", *args]
    )


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = launch(playwright_instance)
    yield browser
    browser.close()


@pytest.fixture
def site(live_server: Any, settings: Any, transactional_db: None) -> str:
    """The live server's address, also what e-mails and the fake PSP link to."""
    settings.PUBLIC_BASE_URL = live_server.url
    return str(live_server.url)


@pytest.fixture
def new_page(browser: Browser, site: str) -> Iterator[Callable[..., Page]]:
    """Pages in fresh browser contexts (a context is a separate person: own cookies)."""
    contexts = []

    def make(*, mobile: bool = False) -> Page:
        options: dict[str, Any] = {"base_url": site, "locale": "en-GB"}
        if mobile:
            options |= {"viewport": {"width": 390, "height": 844}, "is_mobile": True}
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()


def sign_in(page: Page, user: User, *, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def screenshot(page: Page, name: str) -> None:
    """Keep a full-page picture of what the person saw (CI artifact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^a-z0-9-]+", "-", name.lower())
    page.screenshot(path=str(SCREENSHOTS / f"{safe}.png"), full_page=True)
