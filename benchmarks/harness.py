"""Shared set-up for benchmarks: the deployed configuration by default.

``python -m benchmarks`` (``make bench``) runs with the production settings against PostgreSQL and
Redis, the environment that ``scripts/serve_prod.py`` gives the deployed stack (state in
``var/bench-misc``, database ``portal_bench_misc``, Redis db 13). Benchmarks that drive the site
start that stack (nginx -> gunicorn with deploy/gunicorn.conf.py, the Celery worker) with
:func:`misc_stack`; in-process benchmarks use :func:`test_database` (``test_portal_bench_misc``).
Set ``DJANGO_SETTINGS_MODULE`` (e.g. ``portal.settings.test``: SQLite in memory) to measure
something else; such figures are extra lines, not the figures of record (the stack benchmarks then
refuse to run: their data is made through this process's database).

What each figure was measured on is printed before it: ``# configuration of this process: ...``
(:func:`django_setup`), then per benchmark ``# configuration of NAME: ...``, either the database
:func:`test_database` made in this process or the stack it started (:func:`stack_describe`; a
benchmark module starting its own stack declares its ``STACK_OVERRIDES`` for that line).
"""

import contextlib
import html.parser
import http.client
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
# The stack of bench_registration / bench_payments / bench_learning / bench_portal / bench_accounts.
MISC_PORT = 8480
MISC_APP_PORT = 8481
MISC_DIR = ROOT / "var" / "bench-misc"
MISC_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_misc"
MISC_BROKER_URL = "redis://127.0.0.1:6379/13"


def misc_overrides(**extra: str) -> dict[str, str]:
    """The ``SERVE_PROD_*`` variables of this stack (ports 8480/8481, its database and Redis db)."""
    return {
        "SERVE_PROD_DIR": str(MISC_DIR),
        "SERVE_PROD_PORT": str(MISC_PORT),
        "SERVE_PROD_APP_PORT": str(MISC_APP_PORT),
        "SERVE_PROD_DATABASE_URL": MISC_DATABASE_URL,
        "SERVE_PROD_BROKER_URL": MISC_BROKER_URL,
        "SERVE_PROD_DEMO": "0",
        **extra,
    }


def _serve_prod():
    import importlib.util

    spec = importlib.util.spec_from_file_location("serve_prod", ROOT / "scripts" / "serve_prod.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def django_setup() -> None:
    """Django in this process: the deployed stack's environment unless DJANGO_SETTINGS_MODULE is set.

    Prints the configuration of this process (its settings, database engine, cache, broker); each
    benchmark then says where it runs: :func:`test_database` names the database it creates,
    :func:`misc_stack` and :func:`stack_describe` the stack a benchmark starts."""
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        env = _serve_prod().stack_env_with(misc_overrides())
        for key, value in env.items():
            # Not the stack's own variables: other benchmarks start stacks with theirs.
            if not key.startswith("SERVE_PROD_") and key != "GUNICORN_BIND":
                os.environ[key] = value
    import django

    django.setup()
    from django.conf import settings

    print(
        f"# configuration of this process: {os.environ['DJANGO_SETTINGS_MODULE']}, "
        f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
        f"cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, "
        f"broker {settings.CELERY_BROKER_URL.split('://', 1)[0]}, "
        f"password hasher {settings.PASSWORD_HASHERS[0].rsplit('.', 1)[-1]}, DEBUG={settings.DEBUG}",
        flush=True,
    )


def stack_describe(name: str, overrides: dict[str, str]) -> str:
    """The ``# configuration`` line of a benchmark that starts scripts/serve_prod.py with
    ``overrides``: what that stack runs, whatever this process's own settings are."""
    env = _serve_prod().stack_env_with(overrides)
    database = urlparse(env["DATABASE_URL"])
    broker = urlparse(env["CELERY_BROKER_URL"])
    workers = env.get("WEB_CONCURRENCY") or str(2 * (os.cpu_count() or 1) + 1)
    kind = "gthread" if int(env.get("GUNICORN_THREADS") or 1) > 1 else "sync"  # as deploy/gunicorn.conf.py
    engine = "postgresql" if database.scheme.startswith("postgres") else database.scheme
    return (
        f"# configuration of {name}: its own stack (scripts/serve_prod.py): nginx :{env['SERVE_PROD_PORT']}"
        f" -> gunicorn :{env['GUNICORN_BIND'].rsplit(':', 1)[-1]} (deploy/gunicorn.conf.py, {workers} {kind}"
        f" workers), {env['DJANGO_SETTINGS_MODULE']}, {engine} {database.path.lstrip('/')}, cache and broker"
        f" {broker.scheme} db {broker.path.lstrip('/') or 0}, Celery worker and beat"
    )


@contextlib.contextmanager
def test_database(name: str) -> Iterator[None]:
    """Create the test database (migrated) for the duration of the block, then drop it. On the
    deployed configuration the Redis db of this process (cache and broker: the tasks the benchmark
    queues, which no worker runs) is emptied before and after."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    broker = settings.CELERY_BROKER_URL if settings.CELERY_BROKER_URL == MISC_BROKER_URL else None
    if broker:
        redis_flush(broker)
    setup_test_environment()
    # serialize=False: no benchmark needs the serialized copy (used only for TransactionTestCase rollback).
    old_name = connection.settings_dict["NAME"]  # create_test_db returns the test database's name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    print(
        f"# configuration of {name}: in this process, {connection.vendor} database {connection.settings_dict['NAME']} "
        f"(created, migrated, dropped at the end)" + (f", Redis {broker}" if broker else ""),
        flush=True,
    )
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
        if broker:
            redis_flush(broker)


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


# --- The deployed stack, for benchmarks that drive the site over HTTP ------------------------


def database_drop(url: str) -> None:
    """Drop the PostgreSQL database of ``url`` (if it exists), closing its connections."""
    import psycopg2
    from psycopg2 import sql

    parsed = urlparse(url)
    name = unquote(parsed.path.lstrip("/"))
    connection = psycopg2.connect(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
        user=unquote(parsed.username or "postgres"),
        dbname="postgres",
    )
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        connection.close()


def redis_flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


@contextlib.contextmanager
def misc_stack(name: str, **extra: str):
    """The deployed stack (scripts/serve_prod.py: nginx, gunicorn, Celery worker and beat) on
    127.0.0.1:8480, with a fresh ``portal_bench_misc`` database and Redis db 13, both emptied
    again at the end, failed or not. This process's Django uses the same database (django_setup),
    so a benchmark prepares its data with the ORM and then drives the site over HTTP."""
    from django.conf import settings
    from django.db import connections

    if settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1] != "postgresql":
        raise SystemExit(f"bench {name}: needs the deployed configuration (unset DJANGO_SETTINGS_MODULE)")
    log = MISC_DIR / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    connections.close_all()
    database_drop(MISC_DATABASE_URL)
    redis_flush(MISC_BROKER_URL)
    print(stack_describe(name, misc_overrides(**extra)), flush=True)
    try:
        with _serve_prod().stack(misc_overrides(**extra), log=log) as running:
            yield running
    finally:
        connections.close_all()
        database_drop(MISC_DATABASE_URL)
        redis_flush(MISC_BROKER_URL)


class _FormParser(html.parser.HTMLParser):
    """The fields a browser would send for one form: (name, value) pairs and the file inputs.
    Not sent, as by a browser: disabled controls, unchecked boxes, buttons, and whatever is inside
    a ``<template>`` (inert markup a script clones, e.g. a formset's empty row)."""

    def __init__(self, form_id: str | None):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.fields, self.files = form_id, False, [], []
        self._templates = 0
        self._select: str | None = None
        self._select_value: str | None = None
        self._first_option: str | None = None
        self._option: str | None = None
        self._option_selected = self._option_disabled = self._select_disabled = False
        self._option_text = ""
        self._textarea: str | None = None
        self._textarea_disabled = False
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "template":
            self._templates += 1
            return
        if tag == "form" and not self._templates:
            self.inside = self.form_id is None or a.get("id") == self.form_id
            return
        if not self.inside or self._templates:
            return
        name = a.get("name")
        disabled = "disabled" in a
        if tag == "input" and name and not disabled:
            kind = (a.get("type") or "text").lower()
            if kind == "file":
                self.files.append(name)
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "image", "reset"):
                self.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select, self._select_value, self._first_option = name, None, None
            self._select_disabled = disabled
        elif tag == "option" and self._select:
            self._option, self._option_text = a.get("value"), ""
            self._option_selected, self._option_disabled = "selected" in a, disabled
        elif tag == "textarea" and name:
            self._textarea, self._text, self._textarea_disabled = name, "", disabled

    def handle_endtag(self, tag):
        if tag == "template":
            self._templates = max(0, self._templates - 1)
        elif self._templates:
            return
        elif tag == "form":
            self.inside = False
        elif tag == "option" and self._select:
            value = self._option if self._option is not None else self._option_text.strip()
            if self._first_option is None and not self._option_disabled:
                self._first_option = value
            if self._option_selected and self._select_value is None:
                self._select_value = value
            self._option = None
        elif tag == "select" and self._select:
            chosen = self._select_value if self._select_value is not None else self._first_option
            if not self._select_disabled:
                self.fields.append((self._select, chosen or ""))
            self._select = None
        elif tag == "textarea" and self._textarea:
            if not self._textarea_disabled:
                self.fields.append((self._textarea, self._text))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text += data
        elif self._option is not None or self._select:
            self._option_text += data


def form_fields(page: str, form_id: str | None = None) -> list[tuple[str, str]]:
    """What a browser sends for the form ``form_id`` (the first form when ``None``) as it is shown."""
    parser = _FormParser(form_id)
    parser.feed(page)
    return parser.fields


class Browser:
    """One visitor over one keep-alive connection: cookies (as a browser keeps them for this site,
    the Secure flag aside: the stack is plain HTTP on loopback), Origin on posts, redirects followed."""

    def __init__(self, base_url: str, *, timeout: float = 120.0):
        parsed = urlparse(base_url)
        self.base, self.host, self.port = base_url.rstrip("/"), parsed.hostname, parsed.port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self._connection: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def request(self, method: str, path: str, *, body: bytes | None = None, headers=None):
        """``(status, headers, body bytes)``; reconnects once if the server closed the connection."""
        sent = {"Host": f"{self.host}:{self.port}", "User-Agent": "portal-bench/1", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self._connection.request(method, path, body=body, headers=sent)
                response = self._connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
                continue
            break
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, cookie = pair.partition("=")
                if "max-age=0" in value.lower() or "expires=thu, 01 jan 1970" in value.lower():
                    self.cookies.pop(key.strip(), None)
                else:
                    self.cookies[key.strip()] = cookie.strip()
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return response.status, response, data

    def get(self, path: str, *, follow: bool = True):
        status, response, data = self.request("GET", path)
        while follow and status in (301, 302, 303):
            status, response, data = self.request("GET", self._local(response.getheader("Location")))
        return status, response, data

    def post(self, path: str, fields, *, files=None, follow: bool = False):
        """POST ``fields`` ([(name, value)]) as a form; ``files`` ({name: (filename, bytes, type)})
        makes it multipart, as a browser does for a form with a file input."""
        headers = {"Origin": self.base, "Referer": self.base + path}
        if files is None:
            body = urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            boundary = f"----portalbench{uuid.uuid4().hex}"
            parts = []
            for name, value in fields:
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                )
            for name, (filename, content, content_type) in files.items():
                parts.append(
                    (
                        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                        f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
                    ).encode()
                    + content
                    + b"\r\n"
                )
            parts.append(f"--{boundary}--\r\n".encode())
            body = b"".join(parts)
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        status, response, data = self.request("POST", path, body=body, headers=headers)
        if follow and status in (301, 302, 303):
            return self.get(self._local(response.getheader("Location")))
        return status, response, data

    def _local(self, location: str) -> str:
        parsed = urlparse(location)
        return parsed.path + (f"?{parsed.query}" if parsed.query else "")
