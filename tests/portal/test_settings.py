"""Settings per environment: production fails fast without secrets and passes ``check --deploy``."""

import json
import subprocess
import sys
from pathlib import Path

import yaml

from portal.messaging.kinds import KINDS

BASE = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "PATH": "/usr/bin:/bin",
    "DJANGO_SETTINGS_MODULE": "portal.settings.production",
    "SECRET_KEY": "x" * 20 + "-production-secret-for-the-test-only-" + "y" * 20,
    "ALLOWED_HOSTS": "training.example.org",
    "DATABASE_URL": "postgres://portal:pw@db.example.org:5432/portal",
    "CELERY_BROKER_URL": "redis://redis.example.org:6379/0",
    "EMAIL_URL": "smtp+tls://user:pw@mail.example.org:587",
    "DEFAULT_FROM_EMAIL": "portal@example.org",
    "FIELD_ENCRYPTION_KEYS": "Vd7qGqkqTtHnO1Q0yHhY2mN8qvP6Z9yqz3m7rS8dQ0s=",
    "PERSONAL_DATA_HASH_KEY": "h" * 20 + "-hash-key-for-the-test-only-" + "k" * 20,
    # A real SMS provider with a template for every message kind (else check --deploy warns).
    "SMS_BACKEND": "portal.messaging.aliyun.AliyunSmsBackend",
    "SMS_ACCESS_KEY_ID": "LTAI5tTestOnlyKeyId",
    "SMS_ACCESS_KEY_SECRET": "test-only-sms-secret",
    "SMS_SIGN_NAME": "市安全生产协会",
    "SMS_TEMPLATES": json.dumps({name: f"SMS_{index}" for index, name in enumerate(KINDS)}),
}


def _manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_check_deploy_is_clean():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr and "System check identified no issues" in result.stdout


def test_check_deploy_warns_when_sms_are_only_logged_or_templates_are_missing():
    env = {k: v for k, v in PROD_ENV.items() if not k.startswith("SMS_")}
    result = _manage("check", "--deploy", env=env)
    assert "portal.W201" in result.stderr and "SMS are only logged, never sent" in result.stderr
    templates = {
        name: code for name, code in json.loads(PROD_ENV["SMS_TEMPLATES"]).items() if name != "password_code"
    }
    result = _manage("check", "--deploy", env={**PROD_ENV, "SMS_TEMPLATES": json.dumps(templates)})
    assert "portal.W203" in result.stderr and "No SMS template code for: password_code." in result.stderr
    result = _manage(
        "check",
        "--deploy",
        env={**PROD_ENV, "SMS_TEMPLATES": json.dumps(templates), "SMS_TEMPLATE_PASSWORD_CODE": "SMS_9"},
    )
    assert result.returncode == 0 and "System check identified no issues" in result.stdout, result.stderr


def test_production_fails_at_start_without_a_secret():
    for missing in (
        "SECRET_KEY",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "EMAIL_URL",
        "ALLOWED_HOSTS",
        "FIELD_ENCRYPTION_KEYS",
        "PERSONAL_DATA_HASH_KEY",
    ):
        env = {k: v for k, v in PROD_ENV.items() if k != missing}
        result = _manage("check", env=env)
        assert result.returncode != 0, missing
        assert "ImproperlyConfigured" in result.stderr, missing


def test_production_refuses_a_short_secret():
    result = _manage("check", env={**PROD_ENV, "SECRET_KEY": "short"})
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_time_zone_and_languages(settings):
    assert settings.TIME_ZONE == "Asia/Shanghai" and settings.USE_TZ
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _ in settings.LANGUAGES] == ["zh-hans", "en"]


def test_compiled_catalogues_are_committed():
    for path in ["locale/zh_Hans/LC_MESSAGES/django.mo"]:
        assert (BASE / path).stat().st_size > 0, path


def test_docker_compose_services_run_real_project_commands():
    compose = yaml.safe_load((BASE / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "db", "redis"} <= set(services)
    for name in ("web", "worker", "beat"):
        service = services[name]
        command = service["command"] if isinstance(service["command"], str) else " ".join(service["command"])
        assert "healthcheck" in service or name == "beat", name
        env = service.get("environment", {})
        assert {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"} <= set(env), name
        if command.startswith("gunicorn"):
            module, _, attr = command.split()[1].partition(":")
            mod = __import__(module, fromlist=[attr])
            assert callable(getattr(mod, attr))
        elif command.startswith("celery"):
            assert "-A portal" in command
            from portal.celery import app

            assert command.split()[3] in {"worker", "beat"} and app.main == "portal"
        else:
            raise AssertionError(f"unexpected command for {name}: {command}")
    for name in ("db", "redis"):
        assert "healthcheck" in services[name]
    assert {"pgdata", "media"} <= set(compose["volumes"])
