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
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
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
