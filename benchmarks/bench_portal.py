"""The site shell on the deployed stack: the home page and the login page as a visitor gets them.

Through nginx and gunicorn (scripts/serve_prod.py, production settings, PostgreSQL, Redis), one
keep-alive connection, one request at a time: the median time of 50 requests after 3 warm-ups.
Checked: every answer is 200 and the Chinese page (``lang="zh-Hans"``).
"""

import statistics
import time

from .harness import Browser, misc_stack

REPEAT = 50
WARMUP = 3


def _median_ms(browser: Browser, path: str) -> float:
    samples = []
    for n in range(WARMUP + REPEAT):
        start = time.perf_counter()
        status, _response, page = browser.get(path, follow=False)
        elapsed = (time.perf_counter() - start) * 1000
        if status != 200 or b'lang="zh-Hans"' not in page:
            raise SystemExit(f"portal bench: {path} answered {status}")
        if n >= WARMUP:
            samples.append(elapsed)
    return statistics.median(samples)


def run(report) -> None:
    with misc_stack("portal") as stack:
        browser = Browser(stack.url)
        try:
            report("home_ms", _median_ms(browser, "/"), "ms")
            report("login_page_ms", _median_ms(browser, "/login/"), "ms")
        finally:
            browser.close()
