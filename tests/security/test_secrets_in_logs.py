"""Secrets never reach logs or error reports: passwords, one-time codes and links, ID numbers."""

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views.debug import ExceptionReporter

from tests.portal.test_settings import PROD_ENV

BASE = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def _failing_service(password, token, id_number, name):
    code = str(len(password) * 111111)[:6]  # noqa: F841 - a local an error report would show
    raise RuntimeError("boom")


def test_error_reports_hide_secret_post_fields_and_locals(settings):
    # Made up here so that no secret appears in the source lines an error report quotes.
    password, token, sms_code = uuid.uuid4().hex, uuid.uuid4().hex, str(100000 + uuid.uuid4().int % 900000)
    id_number = "440106" + str(19800101000 + uuid.uuid4().int % 999) + "X"
    request = RequestFactory().post(
        "/learning/code/confirm/",
        {
            "mobile": "13700000001",
            "code": sms_code,
            "new_password1": password,
            "id_number": id_number,
            "name": "张三",
        },
    )
    try:
        _failing_service(password, token, id_number, "张三")
    except RuntimeError:
        reporter = ExceptionReporter(request, *sys.exc_info())
    text = reporter.get_traceback_text()
    for secret in (password, token, id_number, sms_code, str(len(password) * 111111)[:6]):
        assert secret not in text, secret
    assert "13700000001" in text  # the rest stays readable
    assert settings.DEFAULT_EXCEPTION_REPORTER_FILTER == "portal.log_filters.PortalExceptionReporterFilter"


def test_password_views_mark_their_post_fields_sensitive(client):
    response = client.post(reverse("portal:login"), {"username": "13700000001", "password": "Wrong-pass-1"})
    assert response.wsgi_request.sensitive_post_parameters == "__ALL__"
    response = client.post(reverse("learning:code_confirm"), {"mobile": "13700000001", "code": "123456"})
    assert {"code", "new_password1", "new_password2"} <= set(response.wsgi_request.sensitive_post_parameters)
    response = client.post(reverse("learning:activate", args=["unknown-token"]), {"new_password1": "x"})
    assert {"new_password1", "new_password2"} <= set(response.wsgi_request.sensitive_post_parameters)


def test_production_logs_no_sms_text():
    """In production the console SMS backend (the default until a gateway is configured) would log
    one-time codes and password links: the production logging masks them."""
    script = (
        "import django; django.setup();"
        "from portal.notifications import sms_send;"
        "sms_send(mobile='13700000001', message='验证码 123456，链接 https://t.example.org/learning/activate/Tk9x/')"
    )
    env = {**PROD_ENV, "SMS_BACKEND": "portal.notifications.ConsoleSmsBackend", "LOG_LEVEL": "INFO"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    logged = result.stdout + result.stderr
    assert "137****0001" in logged and "characters not logged" in logged, logged
    for secret in ("123456", "activate/Tk9x", "13700000001"):
        assert secret not in logged, logged
