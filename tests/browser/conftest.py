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
def playwright_driver():
    """The one Playwright driver of the session (a second ``sync_playwright()`` inside it fails):
    every Chromium is launched from it."""
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_driver):
    browser = playwright_driver.chromium.launch(
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
        self.allowed: list[re.Pattern] = []
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
        # net::ERR_ABORTED is the browser cancelling a request itself: a link answered with a file
        # (it turns into a download), a page load the next click superseded, the favicon or an
        # image of a page being left. Not a problem of the portal; the server's own failures show
        # as HTTP errors (below) and other network errors (refused, reset, empty) still count.
        self.failed_requests: list[tuple[str, str]] = []
        page.on(
            "requestfailed",
            lambda req: (
                None
                if "ERR_ABORTED" in (req.failure or "")
                else self.failed_requests.append((req.url, req.failure or ""))
            ),
        )
        page.on("response", self._check_response)

    def all_problems(self) -> list[str]:
        failed = [f"request failed: {url} {failure}" for url, failure in self.failed_requests]
        return [p for p in self.problems + failed if not any(allowed.search(p) for allowed in self.allowed)]

    def allow(self, pattern: str) -> None:
        """Accept the problems matching ``pattern`` (a regular expression) on this page, e.g. a request
        the test expects to be cut off. Applied when the test ends, so late events are covered too."""
        self.allowed.append(re.compile(pattern))

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


_LIVE_SERVERS: list = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    for server in _LIVE_SERVERS:  # the test's database is emptied: the server answers again
        server.open = True


@pytest.fixture(scope="session")
def live_server(live_server):
    """pytest-django's live server, answering one request at a time on an in-memory SQLite database.

    On SQLite the server's threads share the test database's single connection, where a request that
    begins a transaction while another one's is open fails ("cannot start a transaction within a
    transaction"): a page sending heartbeats while the learner clicks does that. ``request_lock`` is
    that lock (the test's own queries take it too, see below). While a browser test ends the server
    answers 503 without touching the database: a closed page's last heartbeat must not meet the
    emptying of the database.
    """
    import threading

    from django.db import connection

    live_server.request_lock = threading.RLock()
    live_server.serialized = connection.vendor == "sqlite" and connection.is_in_memory_db()
    live_server.open = True
    _LIVE_SERVERS.append(live_server)
    in_flight = threading.Condition()
    counter = {"requests": 0}
    httpd = live_server.thread.httpd
    application = httpd.get_app()

    def answer(environ, start_response):
        if not live_server.open:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"The test is over."]
        with in_flight:
            counter["requests"] += 1
        try:
            if not live_server.serialized:
                return application(environ, start_response)
            with live_server.request_lock:
                return application(environ, start_response)
        finally:
            with in_flight:
                counter["requests"] -= 1
                in_flight.notify_all()

    def wait_idle(timeout: float = 10.0) -> bool:
        with in_flight:
            return in_flight.wait_for(lambda: counter["requests"] == 0, timeout=timeout)

    httpd.set_app(answer)
    live_server.wait_idle = wait_idle
    return live_server


@pytest.fixture(autouse=True)
def _live_server_during_the_test(request):
    """The test's own queries (polling for what the page did) wait for the request being answered
    instead of meeting its open transaction; when the test ends the server stops answering until
    the database is emptied (see :func:`pytest_runtest_teardown`)."""
    if "live_server" not in request.fixturenames:
        yield
        return
    from django.db import connection

    live_server = request.getfixturevalue("live_server")

    def wait_for_the_server(execute, sql, params, many, context):
        with live_server.request_lock:  # re-entered by the server's own queries
            return execute(sql, params, many, context)

    live_server.open = True
    try:
        if live_server.serialized:
            with connection.execute_wrapper(wait_for_the_server):
                yield
        else:
            yield
    finally:
        live_server.open = False
        live_server.wait_idle()


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
    problems = [p for page in pages for p in page.all_problems()]
    for context in contexts:
        context.close()
    assert not problems, "problems in the browser:\n" + "\n".join(problems)
