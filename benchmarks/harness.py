"""Shared set-up for benchmarks: Django with the test settings and a throw-away database."""

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    import django

    django.setup()


@contextlib.contextmanager
def test_database() -> Iterator[None]:
    """Create the test database (migrated) for the duration of the block, then drop it."""
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    # serialize=False: no benchmark needs the serialized copy (used only for TransactionTestCase rollback).
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


def median_ms(fn: Callable[[], object], *, repeat: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


class Reporter:
    def __init__(self, name: str):
        self.name = name

    def __call__(self, figure: str, value: float | int, unit: str) -> None:
        shown = (
            f"{value:.3f}"
            if isinstance(value, float) and value < 10
            else (f"{value:.1f}" if isinstance(value, float) else str(value))
        )
        print(f"bench {self.name}.{figure}: {shown} {unit}".rstrip(), flush=True)


def free_port(host: str = "127.0.0.1") -> int:
    """A free TCP port on the loopback interface (for a gunicorn the benchmark starts)."""
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def bench_application(*, reference: str, year: int = 2026):
    """An open programme and one unit application for benchmark trainees: ``(programme, application)``."""
    from datetime import date

    from registration.models import Application, Programme

    programme = Programme.objects.create(
        name=f"基准测试项目 {reference}", year=year, opens_on=date(year, 1, 1), closes_on=date(year, 12, 31)
    )
    application = Application.objects.create(
        programme=programme,
        reference=reference,
        unit_name="基准测试有限公司",
        industry="C",
        contact_name="基准",
        contact_phone="13800000000",
        mail_recipient="基准",
        mail_phone="13800000000",
        mail_address="示例路 1 号",
        invoice_title="基准测试有限公司",
        invoice_email="bench@example.org",
    )
    return programme, application
