"""The site shell: how long the home page and the login page take to render (median)."""

from django.test import Client

from .harness import median_ms, test_database


def run(report) -> None:
    with test_database():
        client = Client()
        report("home_ms", median_ms(lambda: client.get("/"), repeat=50, warmup=3), "ms")
        report("login_page_ms", median_ms(lambda: client.get("/login/"), repeat=50, warmup=3), "ms")
