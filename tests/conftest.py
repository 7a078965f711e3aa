"""Shared test set-up.

Tests marked ``services`` need the real PostgreSQL / Redis (``@pytest.mark.services("postgres")``,
``("redis")``). Where a service is not configured they are skipped; with ``REQUIRE_SERVICES=1``
(as in CI) a missing service fails the test instead.
"""

import os
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings


def _redis_reachable() -> tuple[bool, str]:
    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis"):
        return False, f"CELERY_BROKER_URL is {url.split(':', 1)[0]}://, not Redis"
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=2):
            return True, ""
    except OSError as exc:
        return False, f"Redis at {parsed.hostname}:{parsed.port} unreachable: {exc}"


def _postgres_configured() -> tuple[bool, str]:
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        return False, f"DATABASE_URL is not PostgreSQL ({engine})"
    return True, ""


SERVICE_CHECKS = {"redis": _redis_reachable, "postgres": _postgres_configured}


def pytest_runtest_setup(item):
    marker = item.get_closest_marker("services")
    if marker is None:
        return
    required = os.environ.get("REQUIRE_SERVICES") == "1"
    for service in marker.args or ("postgres", "redis"):
        ok, why = SERVICE_CHECKS[service]()
        if not ok:
            if required:
                pytest.fail(f"REQUIRE_SERVICES=1 but {service} is not available: {why}", pytrace=False)
            pytest.skip(f"{service} not available: {why}")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Every test starts without rate-limit counters, cool-downs or log-in slow-downs (they live in
    the cache, which outlives a test)."""
    from django.core.cache import cache

    from portal.selectors import CONTACTS_CACHE_KEY, CONTACTS_CACHE_SECONDS

    cache.clear()
    # The footer's contacts as a running site has them: cached (none yet). Saving a contact drops
    # the entry (portal.selectors.contacts_cache_clear), so a test that adds contacts reads them.
    cache.set(CONTACTS_CACHE_KEY, [], CONTACTS_CACHE_SECONDS)
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def sms_outbox():
    """SMS sent during a test (the locmem backend), emptied before each test."""
    from portal.notifications import sms_outbox as outbox

    outbox.clear()
    yield outbox
    outbox.clear()


@pytest.fixture(autouse=True)
def _default_language(settings):
    """Every test starts in the default language (zh-Hans)."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture
def admin_user(db, django_user_model):
    """pytest-django's admin_user assumes a ``username``; ours logs in with a mobile number."""
    return django_user_model.objects.create_superuser(
        mobile="13900009999", name="管理员", password="admin-pass-123"
    )


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _role_migrations_reapply() -> None:
    """Re-run the data migration steps that create the staff roles and grant their permissions.

    A transactional test empties every table when it ends (Django's flush), so the groups the data
    migrations created are gone for the tests that follow; this puts them back.
    """
    import importlib
    import pkgutil

    from django.apps import apps
    from django.db.migrations.operations import RunPython

    for app_config in apps.get_app_configs():
        try:
            package = importlib.import_module(f"{app_config.name}.migrations")
        except ModuleNotFoundError:
            continue
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for operation in module.Migration.operations:
                if not isinstance(operation, RunPython):
                    continue
                # A roles migration, or a grant step inside a migration that also adds models
                # (``grant`` / ``roles_grant``): never the data steps beside it.
                if info.name.endswith(("_roles", "_role")) or "grant" in operation.code.__name__:
                    operation.code(apps, None)


@pytest.fixture(autouse=True)
def _roles_after_flush(request):
    marker = request.node.get_closest_marker("django_db")
    transactional = (
        "transactional_db" in request.fixturenames
        or "live_server" in request.fixturenames
        or bool(marker and marker.kwargs.get("transaction"))
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        _role_migrations_reapply()
    yield
