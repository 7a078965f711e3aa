"""Smoke test through the production-like stack (``make serve-prod``: nginx + gunicorn with the
production settings + Celery worker + beat), started here on free ports against the CI PostgreSQL
(its own database) and Redis (its own database number), and stopped at the end, failed or not.

A trainee logs in, plays a lesson video and seeks in it (206 answers from nginx); a reviewer opens
an ID card copy and downloads a certificate PDF. Every file goes out through nginx's internal
location (X-Accel-Redirect), which its access log shows (``uri=/protected/...``).
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "portal_stack_smoke"
REDIS_DB = 13

pytestmark = pytest.mark.services("postgres", "redis")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user, password = db.get("USER") or "postgres", db.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{DATABASE}"


def _database_drop() -> None:
    import psycopg2
    from psycopg2 import sql

    db = settings.DATABASES["default"]
    connection = psycopg2.connect(
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or None,
        dbname="postgres",
    )
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE))
            )
    finally:
        connection.close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def stack(tmp_path):
    """The stack of scripts/serve_prod.py in its own process group; yields its address and env."""
    for program in ("nginx", "ffmpeg"):
        if not any((Path(folder) / program).exists() for folder in ("/usr/sbin", "/usr/bin")):
            pytest.fail(f"{program} is not installed (bash scripts/system_deps.sh)", pytrace=False)
    broker = urlparse(settings.CELERY_BROKER_URL)
    state = tmp_path / "stack"
    port, app_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "SERVE_PROD_DIR": str(state),
        "SERVE_PROD_PORT": str(port),
        "SERVE_PROD_APP_PORT": str(app_port),
        "SERVE_PROD_DATABASE_URL": _database_url(),
        "SERVE_PROD_BROKER_URL": f"redis://{broker.hostname or '127.0.0.1'}:{broker.port or 6379}/{REDIS_DB}",
        "SERVE_PROD_DEMO": "0",
        "WEB_CONCURRENCY": "2",
    }
    _database_drop()
    log = (tmp_path / "stack.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "scripts/serve_prod.py"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 75
        while not _answers(base + "/"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the stack did not start:\n" + (tmp_path / "stack.log").read_text()[-4000:])
            time.sleep(0.5)
        yield {"url": base, "env": env, "access_log": state / "nginx" / "access.log"}
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)  # honcho stops nginx, gunicorn, worker and beat
            process.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        _database_drop()


def _seed(stack, tmp_path) -> dict:
    video = tmp_path / "lesson.mp4"
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", "testsrc=duration=5:size=320x240:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=5",
            "-shortest", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast",
            "-c:a", "aac", "-movflags", "+faststart", str(video),
        ],
        check=True,
        timeout=60,
    )  # fmt: skip
    result = subprocess.run(
        [
            sys.executable,
            "scripts/serve_prod.py",
            "run",
            sys.executable,
            "tests/browser/stack_seed.py",
            str(video),
        ],
        cwd=ROOT,
        env=stack["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _wait_until(page, function: str, seconds: float = 20.0) -> None:
    """Poll a JavaScript function (wait_for_function evaluates strings, which the CSP forbids)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(function):
        assert time.monotonic() < deadline, f"still false after {seconds} s: {function}"
        time.sleep(0.1)


def _log_in(page, url: str, mobile: str, password: str) -> None:
    page.goto(url)
    page.fill("input[name=username]", mobile)
    page.fill("input[name=password]", password)
    page.locator("form [type=submit]").last.click()
    page.wait_for_load_state()


def test_study_and_downloads_through_nginx(stack, tmp_path, open_page):
    data = _seed(stack, tmp_path)
    base = stack["url"]

    # --- the trainee plays the lesson video and seeks in it ---------------------------------
    watched = open_page("phone")
    page = watched.page
    media: list[tuple[str, int, dict]] = []
    page.on("response", lambda r: media.append((r.url, r.status, r.headers)) if "/video/" in r.url else None)
    _log_in(page, f"{base}/login/", data["trainee_mobile"], data["password"])
    page.goto(f"{base}/learning/enrollments/{data['enrollment']}/lessons/{data['lesson']}/")
    page.wait_for_selector("#lesson-video")
    page.evaluate(
        "() => { const v = document.getElementById('lesson-video'); v.muted = true; return v.play(); }"
    )
    _wait_until(page, "() => document.getElementById('lesson-video').currentTime > 0.5")
    page.evaluate("() => { document.getElementById('lesson-video').currentTime = 3.5; }")
    _wait_until(
        page,
        "() => { const v = document.getElementById('lesson-video'); return !v.seeking && v.currentTime >= 3.5; }",
    )
    watched.screenshot("lesson video after seeking")
    assert any(status == 206 for _url, status, _headers in media), media
    assert all("x-accel-redirect" not in headers for _url, _status, headers in media)
    assert all(headers.get("server") == "nginx" for _url, _status, headers in media)

    # --- a reviewer looks at an ID card copy in admin and downloads the certificate PDF -------
    staff = open_page("desktop").page
    copies: list = []
    staff.on("response", lambda r: copies.append(r) if r.url.endswith("/id_front/") else None)
    _log_in(staff, f"{base}/admin/login/?next=/admin/", data["staff_mobile"], data["password"])
    staff.goto(f"{base}/admin/registration/trainee/{data['trainee']}/change/")
    _wait_until(
        staff,
        "() => { const i = document.querySelector('img[src$=\"/id_front/\"]'); return i && i.naturalWidth > 0; }",
    )
    assert [(r.status, r.headers["content-type"], r.headers["cache-control"]) for r in copies] == [
        (200, "image/jpeg", "private, no-store")
    ]
    assert copies[0].body().startswith(b"\xff\xd8")
    with staff.expect_download() as download_info:
        staff.evaluate(
            "url => { const a = document.createElement('a'); a.href = url; document.body.append(a); a.click(); }",
            f"{base}/certificates/{data['certificate']}/pdf/",
        )
    download = download_info.value
    assert download.suggested_filename == f"certificate-{data['certificate_number']}.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF")

    # --- every byte of those files came from nginx's internal location ----------------------
    log = stack["access_log"].read_text()
    video_lines = re.findall(
        rf'"GET [^"]*/video/ HTTP/1.1" (\d+) .* uri=/protected/{re.escape(data["video_name"])}$', log, re.M
    )
    assert "206" in video_lines, log[-3000:]
    for name in (data["id_front_name"], data["certificate_pdf_name"]):
        assert re.search(rf'" 200 \d+ .* uri=/protected/{re.escape(name)}$', log, re.M), (name, log[-3000:])
