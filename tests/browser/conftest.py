"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

Every page a test opens is watched: a JavaScript error or a failed request fails the test.
Screenshots go to ``test-output/screenshots/`` so a person can look at the flow.
"""

import os
import re
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
VIEWPORTS = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
    "desktop": {"viewport": {"width": 1366, "height": 900}},
}

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run in a thread
# with a running loop unless told the test knows what it is doing.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


class WatchedPage:
    """A page plus what went wrong on it (console errors, page errors, failed requests)."""

    def __init__(self, page, name: str):
        self.page = page
        self.name = name
        self.problems: list[str] = []
        self.shots = 0
        page.on("pageerror", lambda exc: self.problems.append(f"JS error: {exc}"))
        page.on(
            "console",
            lambda msg: (
                self.problems.append(f"console {msg.type}: {msg.text} {msg.location.get('url', '')}")
                if msg.type == "error" and not msg.text.startswith("Failed to load resource")
                else None
            ),
        )
        page.on("requestfailed", lambda req: self.problems.append(f"request failed: {req.url} {req.failure}"))
        page.on("response", self._check_response)

    def _check_response(self, response) -> None:
        # A page may answer 403/404 on purpose (failure paths); its resources never may.
        is_document = response.request.resource_type == "document"
        if response.status >= 500 or (response.status >= 400 and not is_document):
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def screenshot(self, step: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        path = SCREENSHOTS / f"{self.name}-{self.shots:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower())}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def assert_no_horizontal_scroll(self) -> None:
        overflow = self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{self.page.url} scrolls horizontally by {overflow}px"


@pytest.fixture(params=list(VIEWPORTS))
def viewport_name(request):
    return request.param


@pytest.fixture
def open_page(browser, request):
    """Factory: ``open_page("phone")`` → a WatchedPage in a fresh context with that viewport."""
    contexts, pages = [], []

    def factory(kind: str = "desktop") -> WatchedPage:
        context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **VIEWPORTS[kind])
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = WatchedPage(context.new_page(), f"{request.node.name}-{kind}")
        pages.append(page)
        return page

    yield factory
    problems = [p for page in pages for p in page.problems]
    for context in contexts:
        context.close()
    assert not problems, "problems in the browser:\n" + "\n".join(problems)
