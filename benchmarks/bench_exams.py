"""Exams load test: 300 simulated exam takers against gunicorn on this machine.

A prepared database (PostgreSQL if ``DATABASE_URL`` points at one — a throw-away database is
created next to it and dropped afterwards — else a SQLite file in a temporary folder) holds 300
trainees with study accounts, the demo question bank and the exam templates. gunicorn serves the
portal on 127.0.0.1 (a free port) through ``benchmarks/exam_wsgi.py``, which marks every exam as
unlocked (the trainees are prepared without a study history). Each simulated taker logs in, opens the
exam page, starts the exam, loads the paper, saves answers one by one (the autosave endpoint),
checks the timer, submits the paper and opens the result.

How the takers behave (what a real sitting looks like, not a worst case):

* Passwords are hashed as in production (Argon2 with Django's parameters, 0.3–0.4 s of CPU per
  log-in here), not with the test settings' fast hasher.
* Arrival: the takers log in spread evenly at random over ``RAMP_SECONDS`` (five minutes: a cohort
  of 300 starting a scheduled exam, about one log-in a second).
* Think time: ``PAUSE_SECONDS`` between pages, ``ANSWER_SECONDS`` (10–30 s) to read and answer
  each question. ``ANSWERS_PER_TAKER`` answers are saved one by one; the rest of the 90 go with
  the submitted form, as the no-script form does.
* The exam page re-reads the server's timer every minute (``exam.js``); so does each taker.

The README also gives the figures of a harsher model: the fast test hasher, all log-ins within
45 s and 2–5 s per answer (about 20 answers a second from 300 takers, a rate no real sitting
produces).

gunicorn runs 3 gthread workers of 4 threads (2 cores: one process more than cores, so that a
log-in hashing in one does not hold up the pages). ``BENCH_EXAM_TAKERS``, ``BENCH_EXAM_RAMP_S``,
``BENCH_EXAM_WORKERS`` and ``BENCH_EXAM_THREADS`` override the numbers for experiments.

Prints ``bench exams.p50_ms``, ``bench exams.p95_ms`` (all requests, log-ins included) and
``bench exams.errors``, with the p95 of some kinds of request and the CPU used.
"""

import json
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, HTTPRedirectHandler, Request, build_opener

from benchmarks.harness import bench_application, free_port

ROOT = Path(__file__).resolve().parent.parent
TAKERS = int(os.environ.get("BENCH_EXAM_TAKERS", "300"))
ANSWERS_PER_TAKER = 10  # saved one by one; the rest go with the submitted form
RAMP_SECONDS = float(os.environ.get("BENCH_EXAM_RAMP_S", "300"))
PAUSE_SECONDS = (2.0, 5.0)  # between pages
ANSWER_SECONDS = (10.0, 30.0)  # reading and answering one question
STATE_EVERY_SECONDS = 60.0  # exam.js re-reads the server's timer every minute
DEADLINE_SECONDS = RAMP_SECONDS + 420.0
PASSWORD = "bench-exam-2026"
WORKERS = int(os.environ.get("BENCH_EXAM_WORKERS", "3"))
THREADS = int(os.environ.get("BENCH_EXAM_THREADS", "4"))


# --------------------------------------------------------------------------------------------
# Preparing the database (runs in a subprocess with DJANGO_SETTINGS_MODULE=benchmarks.exam_settings)


def prepare(users_file: str) -> None:
    import django

    django.setup()
    from datetime import timedelta

    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.utils import timezone

    from exams import demo
    from learning.models import Enrollment
    from portal.models import User
    from registration.models import Trainee, TraineeStatus

    call_command("migrate", verbosity=0)
    now = timezone.now()
    programme, application = bench_application(reference="BENCH-EXAM", year=now.year)
    password = make_password(PASSWORD)
    mobiles = [f"1391234{n:04d}" for n in range(TAKERS)]
    User.objects.bulk_create(
        User(mobile=m, name=f"考生{n}", password=password) for n, m in enumerate(mobiles)
    )
    users = dict(User.objects.filter(mobile__in=mobiles).values_list("mobile", "pk"))
    Trainee.objects.bulk_create(
        Trainee(
            application=application,
            programme=programme,
            row_number=n + 1,
            access_key=f"bench-exam-{n}",
            name=f"考生{n}",
            id_number=f"{n:018d}",
            mobile=m,
            certificate_type="principal" if n % 2 else "safety_manager",
            training_category="initial" if n % 3 else "refresher",
            status=TraineeStatus.APPROVED,
            paid_at=now - timedelta(days=3),
        )
        for n, m in enumerate(mobiles)
    )
    trainees = dict(Trainee.objects.filter(programme=programme).values_list("mobile", "pk"))
    Enrollment.objects.bulk_create(
        Enrollment(
            trainee_id=trainees[m],
            user_id=users[m],
            programme=programme,
            opened_at=now - timedelta(days=2),
            deadline=now + timedelta(days=28),
        )
        for m in mobiles
    )
    demo.questions_load()
    demo.templates_load()
    enrollments = dict(Enrollment.objects.filter(programme=programme).values_list("user__mobile", "pk"))
    Path(users_file).write_text(json.dumps([[m, enrollments[m]] for m in mobiles]))


# --------------------------------------------------------------------------------------------
# The simulated takers


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.by_kind: dict[str, list[float]] = {}
        self.errors = 0
        self.samples: list[str] = []
        self.submitted = 0

    def record(self, kind: str, ms: float) -> None:
        with self.lock:
            self.latencies.append(ms)
            self.by_kind.setdefault(kind, []).append(ms)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors += 1
            if len(self.samples) < 5:
                self.samples.append(what)


class Taker:
    OPTION = re.compile(r'type="(radio|checkbox)" name="q(\d+)" value="(\d+)"')

    def __init__(self, base: str, mobile: str, enrollment_id: int, stats: Stats, rng: random.Random):
        self.base, self.mobile, self.enrollment_id = base, mobile, enrollment_id
        self.stats, self.rng = stats, rng
        self.jar = CookieJar()
        self.opener = build_opener(HTTPCookieProcessor(self.jar), _NoRedirect())

    def csrf(self) -> str:
        return next((c.value for c in self.jar if c.name == "csrftoken"), "")

    def request(self, kind, method, path, *, data=None, json_body=None, expect=(200,)):
        headers = {}
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers = {"Content-Type": "application/json", "X-CSRFToken": self.csrf()}
        elif data is not None:
            body = urlencode(data, doseq=True).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        req = Request(self.base + path, data=body, headers=headers, method=method)  # noqa: S310 -- loopback http
        start = time.perf_counter()
        try:
            with self.opener.open(req, timeout=30) as response:
                status, content, location = response.status, response.read(), response.headers.get("Location")
        except HTTPError as exc:
            status, content, location = exc.code, exc.read(), exc.headers.get("Location")
        except (URLError, OSError) as exc:
            self.stats.error(f"{kind}: {exc}")
            return None, b"", None
        self.stats.record(kind, (time.perf_counter() - start) * 1000)
        if status not in expect:
            self.stats.error(f"{kind}: HTTP {status} {content[:200]!r}")
        return status, content, location

    def think(self, seconds: tuple[float, float] = PAUSE_SECONDS) -> None:
        time.sleep(self.rng.uniform(*seconds))

    def run(self, start_at: float) -> None:
        time.sleep(max(0.0, start_at - time.monotonic()))
        _status, page, _loc = self.request("login_page", "GET", "/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page or b"")
        data = {"csrfmiddlewaretoken": token.group(1).decode() if token else "", "username": self.mobile}
        status, _c, _l = self.request(
            "login", "POST", "/login/", data={**data, "password": PASSWORD}, expect=(302,)
        )
        if status != 302:
            return
        self.request("exam_home", "GET", f"/exams/e/{self.enrollment_id}/")
        self.think()
        status, _c, location = self.request(
            "start",
            "POST",
            f"/exams/e/{self.enrollment_id}/start/",
            data={"csrfmiddlewaretoken": self.csrf()},
            expect=(302,),
        )
        if status != 302 or not location or "/exams/a/" not in location:
            self.stats.error(f"start: no attempt ({location})")
            return
        attempt_path = location.split("://", 1)[-1]
        attempt_path = attempt_path[attempt_path.index("/exams/") :]
        _status, paper, _l = self.request("paper", "GET", attempt_path)
        questions: dict[int, tuple[str, list[str]]] = {}
        for kind, position, value in self.OPTION.findall((paper or b"").decode()):
            questions.setdefault(int(position), (kind, []))[1].append(value)
        if not questions:
            self.stats.error("paper: no questions found")
            return
        answers = {
            p: (self.rng.sample(values, 2) if kind == "checkbox" else [self.rng.choice(values)])
            for p, (kind, values) in questions.items()
        }
        synced = time.monotonic()
        for position in self.rng.sample(sorted(answers), min(ANSWERS_PER_TAKER, len(answers))):
            self.think(ANSWER_SECONDS)
            if time.monotonic() - synced >= STATE_EVERY_SECONDS:
                self.request("state", "GET", f"{attempt_path}state/")
                synced = time.monotonic()
            self.request(
                "answer",
                "POST",
                f"{attempt_path}answer/",
                json_body={"position": position, "choices": [int(v) for v in answers[position]]},
            )
        self.request("state", "GET", f"{attempt_path}state/")
        self.think()
        form = {"csrfmiddlewaretoken": self.csrf(), **{f"q{p}": v for p, v in answers.items()}}
        status, _c, location = self.request(
            "submit", "POST", f"{attempt_path}submit/", data=form, expect=(302,)
        )
        if status == 302:
            self.request("result", "GET", f"{attempt_path}result/")
            with self.stats.lock:
                self.stats.submitted += 1


# --------------------------------------------------------------------------------------------


def _wait_ready(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def _postgres_database(url: str):
    """Create a throw-away database on the server ``url`` names (through its ``postgres`` maintenance
    database); return the new database's URL and a function that drops it."""
    import psycopg2

    name = f"portal_bench_exams_{os.getpid()}"
    base, _sep, _old = url.rpartition("/")

    def execute(sql: str) -> None:
        conn = psycopg2.connect(f"{base}/postgres")
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql)
        finally:
            conn.close()

    execute(f'DROP DATABASE IF EXISTS "{name}"')
    execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}", lambda: execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(report) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-exams-"))
    url = os.environ.get("DATABASE_URL", "")
    drop = None
    if url.startswith("postgres"):
        db_url, drop = _postgres_database(url.split("?", 1)[0])
    else:
        db_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "benchmarks.exam_settings",
        "PORTAL_VAR_DIR": str(tmp),
        "CELERY_BROKER_URL": "memory://",
    }
    users_file = tmp / "users.json"
    server = None
    try:
        subprocess.run(  # noqa: S603 -- our own interpreter and module
            [
                sys.executable,
                "-c",
                f"from benchmarks.bench_exams import prepare; prepare({str(users_file)!r})",
            ],
            env=env,
            cwd=ROOT,
            check=True,
        )
        takers_list = json.loads(users_file.read_text())
        port = free_port()
        server = subprocess.Popen(  # noqa: S603 -- our own interpreter and gunicorn
            [
                sys.executable,
                "-m",
                "gunicorn",
                "benchmarks.exam_wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(WORKERS),
                "--threads",
                str(THREADS),
                "--worker-class",
                "gthread",
                "--timeout",
                "60",
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
        )
        _wait_ready(port, server)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self_before = resource.getrusage(resource.RUSAGE_SELF)
        stats = Stats()
        base = f"http://127.0.0.1:{port}"
        rng = random.Random(7)
        began = time.monotonic()
        takers = [
            Taker(base, mobile, enrollment_id, stats, random.Random(rng.random()))
            for mobile, enrollment_id in takers_list
        ]
        starts = [began + rng.uniform(0, RAMP_SECONDS) for _ in takers]
        with ThreadPoolExecutor(max_workers=len(takers)) as pool:
            futures = [pool.submit(t.run, s) for t, s in zip(takers, starts, strict=True)]
            for future in futures:
                remaining = DEADLINE_SECONDS - (time.monotonic() - began)
                try:
                    future.result(timeout=max(1.0, remaining))
                except Exception as exc:  # noqa: BLE001 -- a taker that failed counts as an error
                    stats.error(f"taker: {exc!r}")
        elapsed = time.monotonic() - began
        self_after = resource.getrusage(resource.RUSAGE_SELF)
        server.terminate()
        server.wait(timeout=15)
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = lambda a, b: (b.ru_utime + b.ru_stime) - (a.ru_utime + a.ru_stime)  # noqa: E731
        report("client_cpu_s", cpu(self_before, self_after), "s")
        report("server_cpu_s", cpu(children_before, children_after), "s")
        missing = len(takers) - stats.submitted
        if missing:
            stats.error(f"{missing} takers did not submit")
        for sample in stats.samples:
            print(f"  error sample: {sample}", file=sys.stderr)
        report("takers", len(takers), "")
        report("requests", len(stats.latencies), "")
        report("duration_s", elapsed, "s")
        report("p50_ms", statistics.median(stats.latencies), "ms")
        report("p95_ms", _percentile(stats.latencies, 95), "ms")
        for kind in ("login", "answer", "paper", "start", "submit"):
            if stats.by_kind.get(kind):
                report(f"{kind}_p95_ms", _percentile(stats.by_kind[kind], 95), "ms")
        report("errors", stats.errors, "")
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        if drop is not None:
            drop()
        shutil.rmtree(tmp, ignore_errors=True)
