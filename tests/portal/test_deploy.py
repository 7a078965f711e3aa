"""Deployment files: one list of Debian packages, one nginx template, one gunicorn configuration, used
alike by the Dockerfile / docker-compose.yml and by ``make serve-prod``; and nginx for real in front
of the portal (files sent by X-Accel-Redirect with ranges, body limits answered by Django's page)."""

import datetime
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from django.conf import settings as django_settings
from django.test import Client, RequestFactory
from django.urls import reverse

from portal.deploy import NginxOptions, nginx_config_render, nginx_config_write
from portal.files import ACCEL_LOCATIONS
from portal.http import client_ip, from_trusted_proxy

BASE = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def _need_nginx():
    if NGINX is None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("nginx is not installed (bash scripts/system_deps.sh)", pytrace=False)
        pytest.skip("nginx is not installed")


def _package_list() -> list[str]:
    lines = (BASE / "scripts" / "system-packages.txt").read_text().splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


# --- one list of system packages --------------------------------------------------------------


def test_one_list_of_debian_packages_for_the_image_and_the_machines():
    packages = _package_list()
    # certificates (rare characters, HarfBuzz subsetting), the proxy, video processing, benchmarks
    assert {"libharfbuzz-subset0", "fonts-hanazono", "fonts-babelstone-han", "fonts-noto-cjk"} <= set(
        packages
    )
    assert {"nginx", "ffmpeg", "wrk", "libpango-1.0-0"} <= set(packages)
    listed = subprocess.run(
        ["bash", "scripts/system_deps.sh", "--list"], cwd=BASE, capture_output=True, text=True, check=True
    )
    assert listed.stdout.split() == packages  # what system_deps.sh installs is the list

    dockerfile = (BASE / "Dockerfile").read_text()
    assert "scripts/system-packages.txt" in dockerfile and "system_deps.sh" in dockerfile
    # the image installs through system_deps.sh only: no package named in the Dockerfile itself
    install_lines = [line for line in dockerfile.splitlines() if "apt-get install" in line]
    assert install_lines == [], install_lines
    instructions = "\n".join(line for line in dockerfile.splitlines() if not line.lstrip().startswith("#"))
    assert not [package for package in packages if package in instructions]
    # CI and make run call the same script
    assert "scripts/system_deps.sh" in (BASE / ".ci" / "run").read_text()
    assert "scripts/system_deps.sh" in (BASE / "Makefile").read_text()


# --- nginx configuration ----------------------------------------------------------------------


def _options(tmp_path, **extra) -> NginxOptions:
    return NginxOptions(listen="127.0.0.1:18080", upstream="127.0.0.1:18001", run_dir=str(tmp_path), **extra)


def test_nginx_limits_and_folders_come_from_the_settings(settings, tmp_path):
    settings.PORTAL_MAX_REQUEST_BYTES = 7 * 1024 * 1024
    settings.PORTAL_MAX_ADMIN_REQUEST_BYTES = 900 * 1024 * 1024
    text = nginx_config_render(_options(tmp_path))
    assert not re.search(r"\$\{[A-Z_]+\}", text) and not re.search("^#%", text, re.MULTILINE)
    server = text[text.index("    server {") :]
    assert re.findall(r"client_max_body_size (\d+);", text) == [str(7 * 1024 * 1024), str(900 * 1024 * 1024)]
    admin = server[server.index("location /admin/ {") :]
    assert admin.split("}")[0].count(f"client_max_body_size {900 * 1024 * 1024};") == 1
    for prefix, setting in ACCEL_LOCATIONS:
        block = server[server.index(f"location {prefix} {{") :].split("}")[0]
        assert "internal;" in block
        assert f"alias {Path(getattr(settings, setting)).resolve()}/;" in block
    assert f"alias {Path(settings.STATIC_ROOT).resolve()}/;" in server
    for directive in (
        "proxy_request_buffering on;",
        "proxy_buffering on;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "sendfile on;",
        "gzip on;",
        "client_body_timeout 60s;",
        "listen 127.0.0.1:18080 default_server;",
        "server 127.0.0.1:18001;",
    ):
        assert directive in text, directive
    assert "ssl_certificate" not in text


def test_the_template_names_every_location_the_helper_redirects_to():
    template = (BASE / "deploy" / "nginx" / "portal.conf.template").read_text()
    for prefix, setting in ACCEL_LOCATIONS:
        assert f"location {prefix} {{\n            internal;\n            alias ${{{setting}}}/;" in template


def test_values_that_would_break_out_of_a_directive_are_refused(tmp_path):
    with pytest.raises(ValueError, match="NGINX_LISTEN"):
        nginx_config_render(
            _options(tmp_path).__class__(listen="80; include /etc/passwd", run_dir=str(tmp_path))
        )
    with pytest.raises(ValueError, match="NGINX_UPSTREAM"):
        nginx_config_render(NginxOptions(upstream="a:1; }", run_dir=str(tmp_path)))
    with pytest.raises(ValueError, match="certificate and its key"):
        nginx_config_render(_options(tmp_path, tls_certificate="/x.pem"))


def test_nginx_accepts_the_configuration(tmp_path):
    _need_nginx()
    conf = nginx_config_write(_options(tmp_path), output=tmp_path / "nginx.conf")
    result = subprocess.run(
        [NGINX, "-t", "-c", str(conf), "-e", str(tmp_path / "error.log")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def _self_signed(tmp_path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_tls_configuration_serves_https_and_redirects_http(tmp_path):
    cert, key = _self_signed(tmp_path)
    options = _options(tmp_path, tls_listen="127.0.0.1:18443", tls_certificate=str(cert), tls_key=str(key))
    text = nginx_config_render(options)
    assert "listen 127.0.0.1:18443 ssl http2 default_server;" in text
    assert f"ssl_certificate {cert};" in text and "ssl_protocols TLSv1.2 TLSv1.3;" in text
    assert "return 301 https://$host$request_uri;" in text
    _need_nginx()
    conf = nginx_config_write(options, output=tmp_path / "nginx.conf")
    result = subprocess.run(
        [NGINX, "-t", "-c", str(conf), "-e", str(tmp_path / "error.log")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_render_command_writes_the_file(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "portal.settings.base",  # as in the proxy container: no secrets
        "NGINX_LISTEN": "8080",
        "NGINX_UPSTREAM": "web:8000",
        "NGINX_RUN_DIR": str(tmp_path / "run"),
        "PRIVATE_MEDIA_ROOT": "/app/var/private",
        "PORTAL_MAX_REQUEST_BYTES": "1234",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "nginx_config", "--output", str(tmp_path / "nginx.conf")],
        cwd=BASE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "nginx.conf").read_text()
    assert "server web:8000;" in text and "client_max_body_size 1234;" in text
    assert "alias /app/var/private/;" in text and (tmp_path / "run" / "tmp" / "proxy").is_dir()


# --- compose, the local stack, gunicorn -------------------------------------------------------


def _compose() -> dict:
    return yaml.safe_load((BASE / "docker-compose.yml").read_text())


def _procfile() -> dict[str, str]:
    lines = (BASE / "Procfile.prod").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_compose_puts_nginx_in_front_and_the_local_stack_runs_the_same_commands():
    services = _compose()["services"]
    proxy, web = services["proxy"], services["web"]
    assert "ports" not in web, "gunicorn must only be reachable through the proxy"
    assert set(proxy["ports"]) == {"${HTTP_PORT:-80}:8080", "${HTTPS_PORT:-443}:8443"}
    command = " ".join(proxy["command"])
    assert "manage.py nginx_config" in command and "exec nginx -c /tmp/nginx/nginx.conf" in command
    assert proxy["image"] == web["image"]  # Debian's nginx from the portal image, static files inside
    assert "media:/app/var:ro" in proxy["volumes"]
    assert proxy["environment"]["NGINX_UPSTREAM"] == "web:8000"
    assert "SECRET_KEY" not in proxy["environment"]
    assert web["environment"]["PORTAL_FILE_SERVING"] == "nginx"
    proxy_address = proxy["networks"]["default"]["ipv4_address"]
    assert web["environment"]["PORTAL_TRUSTED_PROXIES"] == proxy_address
    # files and limits: the proxy renders from the same values the web server uses
    for key in (
        "PRIVATE_MEDIA_ROOT",
        "STATIC_ROOT",
        "PORTAL_MAX_REQUEST_BYTES",
        "PORTAL_MAX_ADMIN_REQUEST_BYTES",
    ):
        assert proxy["environment"][key] == web["environment"][key], key
    assert web["environment"]["PORTAL_MAX_REQUEST_BYTES"].endswith(
        f"-{django_settings.PORTAL_MAX_REQUEST_BYTES}}}"
    )
    assert web["environment"]["PORTAL_MAX_ADMIN_REQUEST_BYTES"].endswith(
        f"-{django_settings.PORTAL_MAX_ADMIN_REQUEST_BYTES}}}"
    )

    procfile = _procfile()
    assert set(procfile) == {"proxy", "web", "worker", "beat"}
    assert procfile["web"].split() == [
        "gunicorn",
        "--config",
        "deploy/gunicorn.conf.py",
        "portal.wsgi:application",
    ]
    assert sorted(web["command"].split()) == sorted(procfile["web"].split())
    assert procfile["worker"] == services["worker"]["command"]
    assert procfile["beat"].split()[:4] == services["beat"]["command"].split()[:4]
    assert procfile["proxy"].startswith("nginx -c ") and "daemon off;" in procfile["proxy"]
    makefile = (BASE / "Makefile").read_text()
    assert "serve-prod: system-deps install\n\t$(BIN)/python scripts/serve_prod.py" in makefile


def _gunicorn_config(env: dict[str, str] | None = None) -> dict:
    namespace: dict = {"__file__": str(BASE / "deploy" / "gunicorn.conf.py")}
    saved = {key: os.environ.get(key) for key in (env or {})}
    os.environ.update(env or {})
    try:
        exec(
            compile((BASE / "deploy" / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return namespace


def test_gunicorn_configuration():
    from gunicorn.config import Config

    values = _gunicorn_config({"WEB_CONCURRENCY": ""})
    config = Config()
    for name in (
        "bind",
        "workers",
        "worker_class",
        "timeout",
        "graceful_timeout",
        "max_requests",
        "accesslog",
    ):
        config.set(name, values[name])  # gunicorn's own validation of each value
    assert values["workers"] == 2 * os.cpu_count() + 1 and values["worker_class"] == "sync"
    assert values["timeout"] == 60 and values["graceful_timeout"] == 30
    assert values["max_requests"] == 2000 and values["max_requests_jitter"] == 200
    assert values["accesslog"] == "-" and values["errorlog"] == "-" and values["preload_app"] is False
    threaded = _gunicorn_config({"WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "4"})
    assert threaded["workers"] == 3 and threaded["worker_class"] == "gthread" and threaded["threads"] == 4


def test_serve_prod_never_inherits_the_test_suites_database(monkeypatch, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("serve_prod", BASE / "scripts" / "serve_prod.py")
    serve_prod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve_prod)
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("SERVE_PROD_DIR", str(tmp_path))
    monkeypatch.setenv("SERVE_PROD_PORT", "18123")
    env = serve_prod.stack_env()
    assert env["DATABASE_URL"].endswith("/portal_serve_prod") and env["CELERY_BROKER_URL"].endswith("/14")
    assert env["DJANGO_SETTINGS_MODULE"] == "portal.settings.production"
    assert env["PORTAL_FILE_SERVING"] == "nginx" and env["PORTAL_TRUSTED_PROXIES"] == "127.0.0.1,::1"
    assert env["PORTAL_SITE_URL"] == "http://127.0.0.1:18123"
    assert len(env["SECRET_KEY"]) >= 50 and len(env["PERSONAL_DATA_HASH_KEY"]) >= 32
    assert serve_prod.stack_env()["SECRET_KEY"] == env["SECRET_KEY"]  # generated once, then kept
    assert oct((tmp_path / "secrets.env").stat().st_mode & 0o777) == "0o600"


# --- the client's address and the body limit behind the proxy --------------------------------


def test_axes_and_the_portal_take_the_address_from_the_trusted_proxy_only(settings):
    from axes.helpers import get_client_ip_address

    settings.PORTAL_TRUSTED_PROXIES = ["127.0.0.1"]
    factory = RequestFactory()
    behind = factory.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    direct = factory.get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert get_client_ip_address(behind) == client_ip(behind) == "203.0.113.9"
    assert get_client_ip_address(direct) == client_ip(direct) == "198.51.100.7"
    assert from_trusted_proxy(behind) and not from_trusted_proxy(direct)


@pytest.mark.django_db
def test_a_body_nginx_refused_gets_djangos_page_in_the_visitors_language(client, settings):
    settings.PORTAL_TRUSTED_PROXIES = ["127.0.0.1"]
    refused = str(settings.PORTAL_MAX_REQUEST_BYTES + 1024 * 1024)
    response = client.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_PORTAL_REFUSED_LENGTH=refused)
    assert response.status_code == 413
    assert "文件过大（65 MB），上限为 64 MB。" in response.content.decode()
    # from anyone else the header is the client's own word: ignored
    assert (
        client.get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_PORTAL_REFUSED_LENGTH=refused).status_code == 200
    )


# --- nginx for real in front of the portal ----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def nginx_in_front(live_server, settings, tmp_path):
    """nginx rendered from the template, in front of pytest-django's live server."""
    _need_nginx()
    settings.PORTAL_FILE_SERVING = "nginx"
    settings.PORTAL_TRUSTED_PROXIES = ["127.0.0.1"]
    port = _free_port()
    upstream = live_server.url.removeprefix("http://")
    options = NginxOptions(
        listen=f"127.0.0.1:{port}", upstream=upstream, run_dir=str(tmp_path), worker_processes="1"
    )
    conf = nginx_config_write(options, output=tmp_path / "nginx.conf")
    process = subprocess.Popen(
        [NGINX, "-c", str(conf), "-e", str(tmp_path / "error.log"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port, tmp_path / "access.log"
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful: finish and exit
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _get(port: int, path: str, method: str = "GET", body: bytes | None = None, **headers):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_nginx_sends_the_file_django_authorised_with_ranges(nginx_in_front):
    from portal.models import AuditEntry
    from portal.roles import REVIEWER
    from tests.factories import CompleteTraineeFactory, StaffFactory

    port, access_log = nginx_in_front
    trainee = CompleteTraineeFactory()
    photo = trainee.photo.read()
    trainee.photo.close()
    url = reverse("registration:trainee_document", args=[trainee.access_key, "photo"])

    status, headers, body = _get(port, url, Range="bytes=0-99")
    assert status == 206 and body == photo[:100]
    assert headers["Content-Range"] == f"bytes 0-99/{len(photo)}"
    assert headers["Content-Type"] == "image/jpeg" and headers["Cache-Control"] == "private, no-store"
    assert headers["Content-Security-Policy"] == "default-src 'none'; img-src 'self'; sandbox"
    assert headers["X-Content-Type-Options"] == "nosniff" and "X-Accel-Redirect" not in headers
    status, headers, body = _get(port, url)
    assert status == 200 and body == photo
    # nginx, not Django, sent the bytes: the access log shows the internal location
    assert f"uri=/protected/{trainee.photo.name}" in access_log.read_text()

    # the internal location itself is closed to clients; a wrong link is Django's 404
    assert _get(port, f"/protected/{trainee.photo.name}")[0] == 404
    assert _get(port, reverse("registration:trainee_document", args=["nope", "photo"]))[0] == 404

    # staff: the permission check and the audit entry, with the address nginx saw
    client = Client()
    client.force_login(StaffFactory(role=REVIEWER))
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    staff_url = reverse("registration:staff_document", args=[trainee.pk, "id_front"])
    status, _headers, body = _get(port, staff_url, Cookie=cookie, **{"X-Forwarded-For": "203.0.113.9"})
    assert status == 200 and body.startswith(b"\xff\xd8")
    assert AuditEntry.objects.get(action="trainee.view_full_id").ip_address == "203.0.113.9"


@pytest.mark.django_db(transaction=True)
def test_nginx_refuses_a_large_body_with_djangos_page(nginx_in_front, settings):
    port, _access_log = nginx_in_front
    body = b"x" * (settings.PORTAL_MAX_REQUEST_BYTES + 1024 * 1024)
    status, headers, page = _get(
        port, reverse("registration:individual_register"), "POST", body, **{"Content-Type": "text/plain"}
    )
    assert status == 413 and "文件过大（65 MB），上限为 64 MB。" in page.decode()
    status, headers, page = _get(port, "/", **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
