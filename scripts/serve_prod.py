"""``make serve-prod``: the production-like stack on this machine, without root and without Docker.

nginx (deploy/nginx/portal.conf.template) in front of gunicorn (deploy/gunicorn.conf.py) with the
production settings, a Celery worker and Celery beat (Procfile.prod, started by honcho: Ctrl-C or
SIGTERM stops all four), against the local PostgreSQL and Redis: the same configuration files as
docker compose. Before starting it creates the database if missing, migrates, collects the static
files, renders the nginx configuration and (``SERVE_PROD_DEMO=1``, the default) loads the demo data.

    python scripts/serve_prod.py            # start (foreground)
    python scripts/serve_prod.py run CMD…   # run a command with the stack's environment

Throwaway secrets are generated once into ``<SERVE_PROD_DIR>/secrets.env``; everything else is set
here, from these variables (defaults in brackets):

    SERVE_PROD_DIR          state: files, static, nginx logs and temp, beat schedule [var/serve-prod]
    SERVE_PROD_PORT         nginx, the address to open [8080] (on 127.0.0.1)
    SERVE_PROD_APP_PORT     gunicorn, behind nginx [8001] (on 127.0.0.1)
    SERVE_PROD_DATABASE_URL [postgres://postgres@127.0.0.1:5432/portal_serve_prod]
    SERVE_PROD_BROKER_URL   Celery broker and shared cache [redis://127.0.0.1:6379/14]
    SERVE_PROD_DEMO         load the demo data [1]
    WEB_CONCURRENCY         gunicorn workers [2 x cores + 1]

The variables a test suite sets (DATABASE_URL, CELERY_BROKER_URL, ...) are not inherited, so the
stack never runs against the tests' database by accident. The site is plain HTTP on loopback:
``SECURE_SSL_REDIRECT`` and HSTS are off, everything else is production as deployed.
"""

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# Inherited from the caller's environment never: they would point the stack elsewhere.
NOT_INHERITED = (
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "TEST_DATABASE_NAME",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "CACHE_URL",
    "REQUIRE_SERVICES",
    "PORTAL_VAR_DIR",
    "PRIVATE_MEDIA_ROOT",
    "STATIC_ROOT",
    "DEBUG",
)


def state_dir() -> Path:
    return Path(os.environ.get("SERVE_PROD_DIR") or ROOT / "var" / "serve-prod").resolve()


def secrets_file(state: Path) -> Path:
    """``secrets.env`` under ``state``, made once: a throwaway SECRET_KEY, Fernet key and hash key."""
    path = state / "secrets.env"
    if not path.exists():
        from cryptography.fernet import Fernet

        state.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "# Throwaway secrets of the local production-like stack (scripts/serve_prod.py).\n"
            f"SECRET_KEY={secrets.token_urlsafe(48)}\n"
            f"FIELD_ENCRYPTION_KEYS={Fernet.generate_key().decode()}\n"
            f"PERSONAL_DATA_HASH_KEY={secrets.token_urlsafe(32)}\n",
            encoding="utf-8",
        )
        path.chmod(0o600)
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def stack_env() -> dict[str, str]:
    state = state_dir()
    port = os.environ.get("SERVE_PROD_PORT", "8080")
    app_port = os.environ.get("SERVE_PROD_APP_PORT", "8001")
    broker = os.environ.get("SERVE_PROD_BROKER_URL", "redis://127.0.0.1:6379/14")
    origins = f"http://127.0.0.1:{port},http://localhost:{port}"
    env = {key: value for key, value in os.environ.items() if key not in NOT_INHERITED}
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}{os.pathsep}/usr/sbin",
            "DJANGO_SETTINGS_MODULE": "portal.settings.production",
            "DATABASE_URL": os.environ.get(
                "SERVE_PROD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_serve_prod"
            ),
            "CELERY_BROKER_URL": broker,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CSRF_TRUSTED_ORIGINS": origins,
            "PORTAL_SITE_URL": f"http://127.0.0.1:{port}",
            "EMAIL_URL": "consolemail://",
            "DEFAULT_FROM_EMAIL": "portal@localhost",
            "PORTAL_VAR_DIR": str(state),
            "PRIVATE_MEDIA_ROOT": str(state / "private"),
            "STATIC_ROOT": str(state / "static"),
            # Plain HTTP on loopback: no redirect to HTTPS, no HSTS; the rest as in production.
            "SECURE_SSL_REDIRECT": "False",
            "SECURE_HSTS_SECONDS": "0",
            # nginx in front: it sends the files, and its address is the one trusted proxy.
            "PORTAL_FILE_SERVING": "nginx",
            "PORTAL_TRUSTED_PROXIES": "127.0.0.1,::1",
            "GUNICORN_BIND": f"127.0.0.1:{app_port}",
            "SERVE_PROD_DIR": str(state),
            "SERVE_PROD_PORT": port,
            "SERVE_PROD_APP_PORT": app_port,
        }
    )
    env.update(secrets_file(state))
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)  # noqa: S603


def database_create(url: str) -> None:
    """Create the PostgreSQL database of ``url`` when it does not exist yet."""
    parsed = urlparse(url)
    if not parsed.scheme.startswith("postgres"):
        return
    import psycopg2
    from psycopg2 import sql

    name = unquote(parsed.path.lstrip("/"))
    connection = psycopg2.connect(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
        user=unquote(parsed.username or "postgres"),
        password=unquote(parsed.password or "") or None,
        dbname="postgres",
    )
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"serve-prod: created database {name}", flush=True)
    finally:
        connection.close()


def prepare(env: dict[str, str]) -> None:
    state = Path(env["SERVE_PROD_DIR"])
    for folder in ("private", "media", "nginx"):
        (state / folder).mkdir(parents=True, exist_ok=True)
    database_create(env["DATABASE_URL"])
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "collectstatic", "--noinput", "-v", "0")
    _manage(
        env,
        "nginx_config",
        "--listen",
        f"127.0.0.1:{env['SERVE_PROD_PORT']}",
        "--upstream",
        env["GUNICORN_BIND"],
        "--run-dir",
        str(state / "nginx"),
        "--output",
        str(state / "nginx" / "nginx.conf"),
    )
    if os.environ.get("SERVE_PROD_DEMO", "1") == "1":
        _manage(env, "demo_data", "--force")


def main(argv: list[str]) -> int:
    env = stack_env()
    if argv[:1] == ["run"]:
        if len(argv) < 2:
            print("usage: serve_prod.py run COMMAND [ARGS…]", file=sys.stderr)
            return 2
        os.chdir(ROOT)
        os.execvpe(argv[1], argv[1:], env)  # noqa: S606
    if argv not in ([], ["start"]):
        print("usage: serve_prod.py [start] | run COMMAND [ARGS…]", file=sys.stderr)
        return 2
    if not shutil.which("nginx", path=env["PATH"]):
        print("serve-prod: nginx is not installed (make system-deps installs it).", file=sys.stderr)
        return 1
    prepare(env)
    print(
        f"serve-prod: http://127.0.0.1:{env['SERVE_PROD_PORT']}/ (nginx) -> gunicorn on "
        f"{env['GUNICORN_BIND']}; state in {env['SERVE_PROD_DIR']}; Ctrl-C stops.",
        flush=True,
    )
    os.chdir(ROOT)
    honcho = str(VENV_BIN / "honcho")
    secrets_env = str(Path(env["SERVE_PROD_DIR"]) / "secrets.env")
    os.execve(honcho, [honcho, "--env", secrets_env, "-f", "Procfile.prod", "start"], env)  # noqa: S606
    return 0


def stack_env_with(overrides: dict[str, str]) -> dict[str, str]:
    """``stack_env()`` as it is with the ``SERVE_PROD_*`` (or other) variables of ``overrides`` set."""
    saved = dict(os.environ)
    os.environ.update(overrides)
    try:
        return stack_env()
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Stack:
    """A running stack started by :func:`stack`: its address, its environment, its log."""

    def __init__(self, url: str, env: dict[str, str], log: Path, process: subprocess.Popen):
        self.url, self.env, self.log, self.process = url, env, log, process


def stack(overrides: dict[str, str], *, log: Path, timeout: float = 300.0):
    """The stack as a context manager, for programs that drive it (benchmarks, smoke tests).

    Starts ``python scripts/serve_prod.py`` (the same preparation and the same Procfile.prod as
    ``make serve-prod``) in its own process group with the variables of ``overrides`` (e.g.
    ``SERVE_PROD_PORT``, ``SERVE_PROD_APP_PORT``, ``SERVE_PROD_DATABASE_URL``, ``SERVE_PROD_BROKER_URL``,
    ``SERVE_PROD_DIR``, ``SERVE_PROD_DEMO``), its output going to ``log``; waits until nginx answers
    the home page with 200 through gunicorn; yields a :class:`Stack`; stops every process of the
    group at the end, failed or not (SIGTERM, then SIGKILL after 30 s).
    """
    import contextlib
    import signal
    import time
    import urllib.request

    @contextlib.contextmanager
    def running():
        env = stack_env_with(overrides)
        url = f"http://127.0.0.1:{env['SERVE_PROD_PORT']}"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            process = subprocess.Popen(  # noqa: S603 -- this script, with our own interpreter
                [sys.executable, str(Path(__file__).resolve())],
                cwd=ROOT,
                env={**os.environ, **overrides},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the stack exited during start-up (see {log})")
                try:
                    with urllib.request.urlopen(url + "/", timeout=5) as response:  # noqa: S310 (loopback)
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the stack did not answer within {timeout:.0f} s (see {log})")
                time.sleep(0.5)
            yield Stack(url, env, log, process)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)  # honcho, nginx, gunicorn, worker, beat
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    return running()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
