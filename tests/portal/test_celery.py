"""The Celery app: configuration, and a real round trip through Redis to a worker."""

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from portal.celery import BEAT_SCHEDULE, app
from portal.tasks import echo


def test_json_only_and_time_limits():
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_time_limit and app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert app.conf.timezone == "Asia/Shanghai"


def test_beat_schedule_names_registered_tasks():
    app.loader.import_default_modules()
    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]


def test_embedded_default_broker_needs_no_server(monkeypatch, tmp_path):
    """Without CELERY_BROKER_URL the local settings use kombu's filesystem transport under var/."""
    import subprocess
    import sys

    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "portal.settings.local",
        "PORTAL_VAR_DIR": str(tmp_path),
    }
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.CELERY_BROKER_URL, s.CELERY_BROKER_TRANSPORT_OPTIONS['data_folder_in'], s.CELERY_RESULT_BACKEND)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    broker, folder, backend = out.split()
    assert broker == "filesystem://"
    assert folder.startswith(str(tmp_path))
    assert backend.startswith("file://")


@pytest.mark.services("redis")
def test_round_trip_through_redis_to_a_real_worker():
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            result = echo.delay("你好")
            assert result.get(timeout=20) == "echo:你好"
    finally:
        app.conf.task_always_eager = True
