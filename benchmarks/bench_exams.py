"""Exams load test: 300 exam takers behaving as the exam page (``exams/static/exams/exam.js``) makes
their browsers behave, against the production-like stack.

The stack is the one ``make serve-prod`` runs (``scripts/serve_prod.py``): nginx on 127.0.0.1:8280 in
front of gunicorn on 8281 (``deploy/gunicorn.conf.py``: sync workers, ``2 x cores + 1``), the
production settings (Argon2 log-ins, no DEBUG), a Celery worker and beat, PostgreSQL database
``portal_bench_exams`` (created fresh, dropped at the end) and Redis db 11 (flushed before and after),
state in ``var/bench-exams``. The demo data gives the course plans, the question bank, the exam
templates and the certificate issuer.

The takers' state is built for real (``prepare``, run with the stack's environment): paid trainees,
their enrollments and log-in accounts (the tests' factories), and every lesson of their course
plan credited through learning's own service (``study_hours_record``, as staff record classroom
hours): the exam unlocks by learning's rule, nothing is replaced.

What each taker does, request by request, as the page does (``benchmarks/exam_client.py``):

* logs in at a moment spread at random over the start window (the log-in page, the form with its
  CSRF token, the page it redirects to), opens the exam page of the enrollment, starts the exam
  (the form) and loads the paper, taking the URLs and the timer from it as ``exam.js`` does;
* answers the questions in order: one autosave per change event, as ``exam.js`` sends it
  (``POST`` to the form's ``data-answer-url`` with ``{"position", "choices"}``, JSON, ``X-CSRFToken``
  from the page): one for a single-choice or true/false question, one per ticked box for a
  multiple-choice one; on about one question in eight the taker first gives another answer and
  changes it later (one more save);
* re-reads the server's timer (``GET`` the ``data-state-url``) every 60 s from the paper's load
  (``setInterval``);
* submits the form (every answer in it, as ``form.submit()`` posts it) and opens the result page.
  Most takers (85 %) submit within the last two minutes of the sitting (the rush), the others
  earlier; about 70 % know the material (95 % of answers right) and pass, the others guess more and
  mostly fail. Every pass runs the real pass -> certificate path (the signal queues the Celery task
  of the stack's worker).

Time scale (compressed, say so when quoting figures): the sitting lasts ``BENCH_EXAM_WINDOW_S``
(600 s) instead of the templates' 60-90 minutes, and their time limit is set to it (plus one
minute, as staff may set a template's time limit); the log-ins keep a real start window
(``BENCH_EXAM_START_S``, 300 s: a cohort of 300 arriving over five minutes, one a second) and the
rush is the last two minutes in real time. About 130 change events per taker (~40,000 autosaves)
in ~7 minutes is about eight times the autosave rate of a real 60-minute sitting (printed as
``exams.answers_per_s``), so the answering load (also during the rush) is harsher than a real
one, while the log-ins, the timer re-read (the page's real 60 s interval) and the rush keep their
real rates; ``BENCH_EXAM_WINDOW_S=3600`` runs a sitting at real density. A browser's cookies are
kept as a browser does on 127.0.0.1 (the production cookies are ``Secure``; browsers send them to
a loopback address over plain HTTP); static files are not fetched (nginx serves them; a browser
has them cached after the first page).

Checks (the benchmark raises when one fails): no request failed or answered other than the page
expects; every autosave answered ``ok`` for its question; every timer re-read lists exactly the
questions the taker has answered so far, and every remaining time the server gives (re-read or
autosave) counts down with the page's timer; every taker's attempt is graded as submitted by the
taker, with exactly the answers the taker gave (read back from the database), the score those
answers earn and the expected pass/fail; every final answer was stored by its autosave before the
submit (the submit rewrites only answers that differ, stamping them with its own time); every
passed enrollment, and no other, gets its certificate from the worker (within
``CERTIFICATE_WAIT_S``).

Prints ``bench exams.p95_ms``, ``exams.p99_ms`` (all requests, log-ins included), ``exams.errors``,
``exams.requests``, ``exams.submit_p95_ms`` (the submits of the rush), with details: the p95 of
each kind of request, the autosave rate, and ``exams.server_p95_ms`` (gunicorn's own time for the
same requests, from its access log: the rest of a figure is waiting in nginx for a worker).
``BENCH_EXAM_TAKERS`` (300) and ``BENCH_EXAM_WINDOW_S`` (600) change the size for a quick try.
"""

import importlib.util
import json
import math
import os
import random
import re
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

from .exam_client import Sitting, Stats, Taker, percentile

ROOT = Path(__file__).resolve().parent.parent
TAKERS = int(os.environ.get("BENCH_EXAM_TAKERS", "300"))
WINDOW_S = float(os.environ.get("BENCH_EXAM_WINDOW_S", "600"))
START_WINDOW_S = float(os.environ.get("BENCH_EXAM_START_S", "300"))  # log-ins: real time, not compressed
CERTIFICATE_WAIT_S = 180.0
PASSWORD = "bench-exam-2026"
HOST, PORT, APP_PORT = "127.0.0.1", 8280, 8281
DATABASE = "portal_bench_exams"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
REDIS_URL = "redis://127.0.0.1:6379/11"
STATE_DIR = ROOT / "var" / "bench-exams"


# --------------------------------------------------------------------------------------------
# The takers' state, built for real (runs in a subprocess with the stack's environment)


def prepare(out_file: str, takers: int) -> None:
    """Create ``takers`` paid trainees with their accounts and enrollments, their whole course plan
    credited through learning's service; set the exam templates' time limit to the sitting's;
    write ``[[mobile, enrollment id], ...]`` to ``out_file``."""
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from benchmarks.harness import bench_application
    from exams.models import ExamTemplate
    from learning.models import Lesson
    from learning.selectors.study import enrollment_exam_unlocked
    from learning.services.staff_hours import study_hours_record
    from portal.models import User
    from tests.factories import EnrollmentFactory, PaidTraineeFactory
    from tests.factories.people import StaffFactory

    programme, application = bench_application(reference="BENCH-EXAM", year=timezone.now().year)
    ExamTemplate.objects.filter(programme=None).update(time_limit_minutes=math.ceil(WINDOW_S / 60) + 1)
    staff = StaffFactory(is_superuser=True, mobile="13700009999")
    password = make_password(PASSWORD)  # Argon2, once: every taker has the same password
    kinds = [(c, t) for c in ("principal", "safety_manager") for t in ("initial", "initial", "refresher")]
    lessons = {
        kind: list(
            Lesson.objects.filter(
                course__plans__certificate_type=kind[0], course__plans__training_category=kind[1]
            ).order_by("course__order", "order", "pk")
        )
        for kind in set(kinds)
    }
    for kind, rows in lessons.items():
        if not rows:
            raise RuntimeError(f"The demo data has no course plan for {kind}")
    rows = []
    for n in range(takers):
        mobile = f"1391234{n:04d}"
        certificate_type, category = kinds[n % len(kinds)]
        user = User.objects.create(mobile=mobile, name=f"考生{n}", password=password)
        trainee = PaidTraineeFactory(
            application=application,
            programme=programme,
            mobile=mobile,
            name=f"考生{n}",
            certificate_type=certificate_type,
            training_category=category,
        )
        enrollment = EnrollmentFactory(trainee=trainee, user=user)
        for lesson in lessons[(certificate_type, category)]:
            study_hours_record(
                enrollment=enrollment,
                lesson=lesson,
                minutes=math.ceil(lesson.required_ms / 60_000),
                reason="课堂培训",
                actor=staff,
            )
        if not enrollment_exam_unlocked(enrollment):
            raise RuntimeError(f"The exam of enrollment {enrollment.pk} did not unlock")
        rows.append([mobile, enrollment.pk])
    Path(out_file).write_text(json.dumps(rows))


# --------------------------------------------------------------------------------------------
# The database, Redis and the stack


def _database(sql: str, params=(), *, dbname: str = DATABASE, autocommit: bool = False):
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=dbname)
    connection.autocommit = autocommit
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall() if cursor.description else []
        connection.commit()
        return rows
    finally:
        connection.close()


def _drop_database() -> None:
    _database(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)', dbname="postgres", autocommit=True)


def _flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def _serve_prod():
    spec = importlib.util.spec_from_file_location("bench_serve_prod", ROOT / "scripts" / "serve_prod.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Papers:
    """What a taker who knows the material knows: the right answers of their paper (from the
    database, as the tests' helpers read them; one shared connection)."""

    def __init__(self):
        import psycopg2

        self.lock = threading.Lock()
        self.connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=DATABASE)
        self.connection.autocommit = True

    def __call__(self, attempt_id: int) -> dict[int, tuple[list[int], str]]:
        with self.lock, self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT position, correct, qtype FROM exams_attemptquestion WHERE attempt_id = %s",
                [attempt_id],
            )
            return {p: (c, q) for p, c, q in cursor.fetchall()}

    def close(self) -> None:
        self.connection.close()


def _check(takers: list[Taker], stats: Stats) -> tuple[int, int]:
    """Compare the database with what the takers did; return (passed attempts, certificates)."""
    problems = []
    if stats.answers_ok != stats.answers_sent:
        problems.append(
            f"{stats.answers_sent - stats.answers_ok} of {stats.answers_sent} autosaves not saved"
        )
    not_submitted = [t.mobile for t in takers if not t.submitted]
    if not_submitted:
        problems.append(f"{len(not_submitted)} takers did not submit ({not_submitted[:3]})")
    ids = [t.attempt_id for t in takers if t.attempt_id]
    attempts = {
        row[0]: row[1:]
        for row in _database(
            "SELECT id, status, submit_reason, submitted_at, score, pass_mark, passed, enrollment_id "
            "FROM exams_attempt WHERE id = ANY(%s)",
            [ids],
        )
    }
    items: dict[int, dict[int, tuple]] = {}
    for attempt_id, position, answer, answered_at, correct, points in _database(
        "SELECT attempt_id, position, answer, answered_at, correct, points FROM exams_attemptquestion "
        "WHERE attempt_id = ANY(%s)",
        [ids],
    ):
        items.setdefault(attempt_id, {})[position] = (answer, answered_at, correct, points)
    expected_passes = set()
    for taker in takers:
        if not taker.submitted:  # counted above
            continue
        status, reason, submitted_at, score, pass_mark, passed, enrollment = attempts[taker.attempt_id]
        paper = items[taker.attempt_id]
        saved = {p: sorted(a or []) for p, (a, _at, _c, _pts) in paper.items()}
        if saved != taker.final:
            problems.append(f"attempt {taker.attempt_id}: saved answers differ from the taker's")
            continue
        # The submit writes only the answers that differ from the saved ones, stamped with its own
        # time: an answer stamped so was lost (or garbled) by its autosave.
        late = sorted(p for p, (_a, at, _c, _pts) in paper.items() if at is None or at >= submitted_at)
        if late:
            problems.append(f"attempt {taker.attempt_id}: answers {late[:5]} not saved by their autosave")
        earned = sum(pts for p, (_a, _at, c, pts) in paper.items() if sorted(c) == taker.final[p])
        if (status, reason) != ("submitted", "trainee") or score != earned or passed != (earned >= pass_mark):
            problems.append(
                f"attempt {taker.attempt_id}: {status} ({reason}) {score} (expected {earned}, mark {pass_mark})"
            )
        if earned >= pass_mark:
            expected_passes.add(enrollment)
    if not expected_passes and takers:
        problems.append("nobody passed: the pass -> certificate path did not run")
    enrollments = [attempts[t.attempt_id][-1] for t in takers if t.attempt_id in attempts]
    deadline = time.monotonic() + CERTIFICATE_WAIT_S
    while True:
        issued = {
            row[0]
            for row in _database(
                "SELECT enrollment_id FROM certificates_certificate WHERE enrollment_id = ANY(%s)",
                [enrollments],
            )
        }
        if issued >= expected_passes or time.monotonic() > deadline:
            break
        time.sleep(2)
    if issued != expected_passes:
        problems.append(
            f"certificates: {len(issued)} issued for {len(expected_passes)} passed enrollments "
            f"({len(expected_passes - issued)} missing, {len(issued - expected_passes)} unexpected)"
        )
    if problems:
        for problem in problems[:10]:
            print(f"  check failed: {problem}", file=sys.stderr)
        raise RuntimeError(f"exams benchmark: {len(problems)} correctness check(s) failed")
    return len(expected_passes), len(issued)


def _answer_rates(times: list[float]) -> tuple[float, float]:
    """Autosaves per second: the mean over the span they cover, and the busiest 10 s."""
    if len(times) < 2:
        return 0.0, 0.0
    times = sorted(times)
    busiest, low = 0, 0
    for high, moment in enumerate(times):
        while times[low] <= moment - 10:
            low += 1
        busiest = max(busiest, high - low + 1)
    return len(times) / (times[-1] - times[0]), busiest / 10


def _server_ms(log: Path) -> list[float]:
    """gunicorn's own time (``%(D)s`` of deploy/gunicorn.conf.py) of every request the takers sent."""
    pattern = re.compile(r'"(?:GET|POST) \S+ HTTP/[\d.]+" \d+ \S+ (\d+)us "[^"]*" "bench-exams"')
    with log.open(encoding="utf-8", errors="replace") as lines:
        return [int(m.group(1)) / 1000 for line in lines if (m := pattern.search(line))]


def _prepare_takers(stack) -> list[list]:
    import subprocess

    out = STATE_DIR / "takers.json"
    subprocess.run(  # noqa: S603 -- our own interpreter and module
        [
            sys.executable,
            "-c",
            f"from benchmarks.bench_exams import prepare; prepare({str(out)!r}, {TAKERS})",
        ],
        env=stack.env,
        cwd=ROOT,
        check=True,
    )
    return json.loads(out.read_text())


def run(report) -> None:
    serve_prod = _serve_prod()
    overrides = {
        "SERVE_PROD_DIR": str(STATE_DIR),
        "SERVE_PROD_PORT": str(PORT),
        "SERVE_PROD_APP_PORT": str(APP_PORT),
        "SERVE_PROD_DATABASE_URL": DATABASE_URL,
        "SERVE_PROD_BROKER_URL": REDIS_URL,
        "SERVE_PROD_DEMO": "1",
    }
    sitting = Sitting(window_s=WINDOW_S, start_s=START_WINDOW_S, host=HOST, port=PORT, password=PASSWORD)
    _drop_database()
    _flush_redis()
    shutil.rmtree(STATE_DIR / "private", ignore_errors=True)
    (STATE_DIR / "stack.log").unlink(missing_ok=True)
    papers = None
    try:
        with serve_prod.stack(overrides, log=STATE_DIR / "stack.log") as stack:
            prepared_at = time.monotonic()
            rows = _prepare_takers(stack)
            report("prepare_s", time.monotonic() - prepared_at, "s")
            papers = Papers()
            stats = Stats()
            rng = random.Random(16)
            began = time.monotonic()
            takers = [
                Taker(
                    mobile=mobile,
                    enrollment_id=enrollment_id,
                    sitting=sitting,
                    stats=stats,
                    rng=random.Random(rng.random()),
                    papers=papers,
                    began=began,
                )
                for mobile, enrollment_id in rows
            ]
            threads = [threading.Thread(target=t.run, daemon=True) for t in takers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=max(1.0, began + WINDOW_S + 300 - time.monotonic()))
            if any(thread.is_alive() for thread in threads):
                stats.error("takers still running after the sitting's end + 300 s")
            elapsed = time.monotonic() - began
            for sample in stats.samples:
                print(f"  error sample: {sample}", file=sys.stderr)
            mean_rate, peak_rate = _answer_rates(stats.answer_times)
            report("takers", len(takers), "")
            report("window_s", WINDOW_S, "s")
            report("duration_s", elapsed, "s")
            report("requests", len(stats.latencies), "")
            report("answer_requests", len(stats.by_kind.get("answer", [])), "")
            report("answers_per_s", mean_rate, "/s")
            report("answers_peak_10s_per_s", peak_rate, "/s")
            report("state_requests", len(stats.by_kind.get("state", [])), "")
            server = _server_ms(STATE_DIR / "stack.log")
            if len(server) != len(stats.latencies):
                print(
                    f"  note: gunicorn logged {len(server)} of {len(stats.latencies)} requests",
                    file=sys.stderr,
                )
            report("p50_ms", statistics.median(stats.latencies), "ms")
            report("p95_ms", percentile(stats.latencies, 95), "ms")
            report("p99_ms", percentile(stats.latencies, 99), "ms")
            for kind in ("login", "exam_home", "start", "paper", "answer", "state", "result"):
                if stats.by_kind.get(kind):
                    report(f"{kind}_p95_ms", percentile(stats.by_kind[kind], 95), "ms")
            if stats.by_kind.get("submit"):
                report("submit_all_p95_ms", percentile(stats.by_kind["submit"], 95), "ms")
            if server:
                report("server_p95_ms", percentile(server, 95), "ms")
            report("rush_submits", len(stats.rush_submits), "")
            if stats.rush_submits:
                report("submit_p95_ms", percentile(stats.rush_submits, 95), "ms")
            report("errors", stats.errors, "")
            passed, issued = _check(takers, stats)
            report("passed", passed, "")
            report("certificates", issued, "")
            if stats.errors:
                raise RuntimeError(f"exams benchmark: {stats.errors} request(s) failed or answered wrongly")
            if not stats.rush_submits:
                raise RuntimeError("exams benchmark: no submit fell in the rush")
    finally:
        if papers is not None:
            papers.close()
        _drop_database()
        _flush_redis()
