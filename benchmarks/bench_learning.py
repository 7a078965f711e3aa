"""Learning: heartbeat throughput served by gunicorn, against a bare Django view on the same server.

Prepares a database (SQLite file in a temp dir, or ``DATABASE_URL``) with trainees that each have
a logged-in session and a live study session, starts gunicorn on a free loopback port, then runs
concurrent loopback clients for a bounded time against the bare view and the heartbeat endpoint.
Prints ``learning.heartbeat_rps``, ``learning.bare_rps`` and ``learning.heartbeat_ratio`` (target
at least 0.5). Bounded: a fixed number of trainees and seconds; gunicorn is stopped at the end.
"""

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import bench_application, free_port

TRAINEES = 200
CONCURRENCY = 16
ROUNDS = 4
ROUND_SECONDS = 2.5
SECONDS = ROUNDS * ROUND_SECONDS
WARMUP_SECONDS = 1.5
HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "benchmarks.learning_settings"


def _prepare(count: int, out: str) -> None:
    """Runs in a subprocess with the bench settings: migrate, then trainees with sessions and tokens."""
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from learning.models import Course, CoursePlan, Enrollment, Lesson, ProgrammeStudyRule
    from learning.services.study import study_start
    from portal.models import User
    from registration.models import Trainee, TraineeStatus

    if connection.vendor == "postgresql":
        # A throw-away database (test_<name>), dropped by ``--drop`` after the run.
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    else:
        call_command("migrate", verbosity=0)
    now = timezone.now()
    programme, application = bench_application(reference="BENCH-LEARN", year=2026)
    ProgrammeStudyRule.objects.create(programme=programme, daily_cap_hours=Decimal("999"))
    course = Course.objects.create(code="bench", title="基准课程")
    lesson = Lesson.objects.create(
        course=course, code="bench-1", title="基准课时", class_hours=Decimal("900")
    )
    plan = CoursePlan.objects.create(certificate_type="principal", training_category="initial")
    plan.courses.add(course)
    trainees = Trainee.objects.bulk_create(
        Trainee(
            application=application,
            programme=programme,
            row_number=n,
            access_key=f"bench-learning-{n}",
            name=f"学员{n}",
            id_number=f"{n:018d}",
            mobile=f"137{n:08d}",
            certificate_type="principal",
            training_category="initial",
            status=TraineeStatus.APPROVED,
            paid_at=now,
        )
        for n in range(count)
    )
    users = []
    for trainee in trainees:
        user = User(mobile=trainee.mobile, name=trainee.name)
        user.set_unusable_password()
        users.append(user)
    users = User.objects.bulk_create(users)
    users = list(User.objects.filter(mobile__in=[t.mobile for t in trainees]).order_by("mobile"))
    by_mobile = {u.mobile: u for u in users}
    Enrollment.objects.bulk_create(
        Enrollment(
            trainee=t,
            user=by_mobile[t.mobile],
            programme=programme,
            opened_at=now,
            deadline=now + timedelta(days=30),
        )
        for t in trainees
    )
    clients = []
    for enrollment in Enrollment.objects.select_related("trainee", "programme", "user"):
        session = SessionStore()
        session[SESSION_KEY] = str(enrollment.user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = enrollment.user.get_session_auth_hash()
        session.create()
        state = study_start(
            enrollment=enrollment,
            lesson=lesson,
            session_key=session.session_key,
            session_auth_hash=session[HASH_SESSION_KEY],
            session_expires_at=session.get_expiry_date(),
        )
        clients.append({"session": session.session_key, "token": str(state.token)})
    Path(out).write_text(json.dumps(clients))


async def _load(port: int, path: str, bodies, seconds: float, warmup: float, csrf: str) -> tuple[int, int]:
    """Concurrent clients POST to ``path`` until the time is up; returns (ok, failed) after warm-up."""
    ok = failed = 0
    start = time.monotonic()
    measure_from = start + warmup
    deadline = measure_from + seconds

    async def client(index: int) -> None:
        nonlocal ok, failed
        while True:
            now = time.monotonic()
            if now >= deadline:
                return
            cookie, body = bodies(index)
            request = (
                f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
                f"X-CSRFToken: {csrf}\r\nCookie: csrftoken={csrf}; sessionid={cookie}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode() + body
            try:
                reader, writer = await asyncio.open_connection(HOST, port)
                writer.write(request)
                data = await reader.read()
                writer.close()
            except OSError:
                data = b""
            if now >= measure_from and time.monotonic() <= deadline + 1:
                if data[9:12] == b"200" and b'"ok": true' in data:
                    ok += 1
                else:
                    failed += 1

    await asyncio.gather(*(client(i) for i in range(CONCURRENCY)))
    return ok, failed


def _drop() -> None:
    """Drop the throw-away PostgreSQL database (``--drop``)."""
    import django

    django.setup()
    from django.db import connection

    if connection.vendor == "postgresql":
        name = connection.settings_dict["NAME"]
        connection.close()
        connection.settings_dict["NAME"] = name.removeprefix("test_")
        connection.creation._destroy_test_db(name, verbosity=0)


def _pg_name() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres", "pgsql")):
        return None
    return "test_" + url.rsplit("/", 1)[-1].split("?", 1)[0]


def run(report) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-learning-") as tmp:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "BENCH_LEARNING_DB": str(Path(tmp) / "db.sqlite3"),
            "PYTHONPATH": str(ROOT),
        }
        pg_name = _pg_name()
        if pg_name:
            env["BENCH_LEARNING_PG_NAME"] = pg_name
        clients_file = str(Path(tmp) / "clients.json")
        subprocess.run(  # noqa: S603 -- our own interpreter and module, fixed arguments
            [sys.executable, "-m", "benchmarks.bench_learning", "--prepare", str(TRAINEES), clients_file],
            cwd=ROOT,
            env={k: v for k, v in env.items() if k != "BENCH_LEARNING_PG_NAME"},
            check=True,
            timeout=120,
        )
        clients = json.loads(Path(clients_file).read_text())
        port = free_port(HOST)
        workers = int(os.environ.get("BENCH_LEARNING_WORKERS") or max(2, min(4, os.cpu_count() or 2)))
        gunicorn = Path(sys.executable).with_name("gunicorn")
        server = subprocess.Popen(  # noqa: S603 -- the venv's gunicorn, fixed arguments
            [str(gunicorn), "portal.wsgi:application", "-b", f"{HOST}:{port}", "-w", str(workers),
             "--log-level", "warning", "--backlog", "512"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )  # fmt: skip
        try:
            _wait_for(port, timeout=30)
            csrf = secrets.token_hex(16)  # 32 characters: a valid CSRF secret for cookie and header
            sequences = [0] * len(clients)

            def bare_body(index: int):
                return clients[index % len(clients)][
                    "session"
                ], b'{"token": "x", "seq": 1, "state": "active"}'

            def heartbeat_body(index: int):
                # each concurrent client cycles through its own trainees, so no two share a session
                slot = index + CONCURRENCY * (sequences[index] % (len(clients) // CONCURRENCY))
                sequences[index] += 1
                client = clients[slot]
                client["seq"] = client.get("seq", 0) + 1
                payload = {"token": client["token"], "seq": client["seq"], "state": "active"}
                return client["session"], json.dumps(payload).encode()

            # Interleaved rounds, so that a change in the machine's load hits both figures alike.
            bare_ok = bare_failed = beat_ok = beat_failed = 0
            for round_no in range(ROUNDS):
                warmup = WARMUP_SECONDS if round_no == 0 else 0.2
                ok, failed = asyncio.run(_load(port, "/bench/bare/", bare_body, ROUND_SECONDS, warmup, csrf))
                bare_ok, bare_failed = bare_ok + ok, bare_failed + failed
                ok, failed = asyncio.run(
                    _load(port, "/learning/study/heartbeat/", heartbeat_body, ROUND_SECONDS, warmup, csrf)
                )
                beat_ok, beat_failed = beat_ok + ok, beat_failed + failed
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
            if pg_name:
                subprocess.run(  # noqa: S603 -- our own interpreter and module, fixed arguments
                    [sys.executable, "-m", "benchmarks.bench_learning", "--drop"],
                    cwd=ROOT,
                    env=env,
                    timeout=60,
                )
    bare_rps = bare_ok / SECONDS
    beat_rps = beat_ok / SECONDS
    if bare_failed or beat_failed:
        print(f"# learning bench: {bare_failed} bare and {beat_failed} heartbeat requests failed", flush=True)
    report("heartbeat_rps", beat_rps, "req/s")
    report("bare_rps", bare_rps, "req/s")
    report("heartbeat_ratio", beat_rps / bare_rps if bare_rps else 0.0, "")


def _wait_for(port: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not start on port {port}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--prepare":
        _prepare(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1:] == ["--drop"]:
        _drop()
    else:
        print("usage: python -m benchmarks.bench_learning --prepare COUNT FILE", file=sys.stderr)
        sys.exit(2)
