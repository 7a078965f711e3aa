"""Learning: heartbeat throughput of the deployed stack, against a bare view of the same stack.

The stack is scripts/serve_prod.py (nginx -> gunicorn with deploy/gunicorn.conf.py, production
settings, PostgreSQL, Redis). Trainees log in with the real form, open their lesson page and start
the study session as the page's script does; then ``wrk`` (a C load generator, keep-alive
connections, ``benchmarks/heartbeat.lua``) posts heartbeats for them as ``study.js`` does (same
headers and body, real study tokens, each trainee's sequence numbers rising), and in alternate
rounds asks ``/healthz`` (``portal:healthz``: a Django view with the whole middleware, no database)
over the same connections, with the same cookies. Prints ``learning.heartbeat_rps``,
``learning.bare_rps`` and ``learning.heartbeat_ratio`` (target at least 0.5).

Checked: every response 200, none timed out, and the server counted (sequence numbers stored) at
least the heartbeats wrk saw answered, and no more than those plus one in flight per connection.
Bounded: fixed trainees, rounds and seconds; the stack is stopped and its database dropped.
"""

import json
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .harness import Browser, misc_stack

THREADS = 2
CONNECTIONS = 32
TRAINEES = 2 * CONNECTIONS  # two per connection: a trainee never has two beats in flight
ROUNDS = 3
ROUND_SECONDS = 5
PASSWORD = "Bench-learning-2026!"  # noqa: S105 -- throw-away accounts of a throw-away database

SCRIPT = Path(__file__).with_name("heartbeat.lua")  # the requests wrk sends: see that file


def _prepare(count: int) -> list[tuple[str, int, int]]:
    """Approved, paid trainees with an open enrollment and a password: ``(mobile, enrollment, lesson)``."""
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from learning.models import Course, CoursePlan, Enrollment, Lesson, ProgrammeStudyRule
    from portal.models import User
    from registration.models import Trainee, TraineeStatus

    from .harness import bench_application

    now = timezone.now()
    programme, application = bench_application(reference="BENCH-LEARN", year=now.year)
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
    password = make_password(PASSWORD)  # one hash (the production hasher), the same for every account
    User.objects.bulk_create(User(mobile=t.mobile, name=t.name, password=password) for t in trainees)
    users = {u.mobile: u for u in User.objects.filter(mobile__in=[t.mobile for t in trainees])}
    Enrollment.objects.bulk_create(
        Enrollment(
            trainee=t,
            user=users[t.mobile],
            programme=programme,
            opened_at=now,
            deadline=now + timedelta(days=30),
        )
        for t in trainees
    )
    return [
        (e.user.mobile, e.pk, lesson.pk)
        for e in Enrollment.objects.filter(programme=programme).select_related("user").order_by("pk")
    ]


def _start(url: str, mobile: str, enrollment: int, lesson: int) -> str:
    """As the trainee's browser: log in with the form, open the lesson, start the study session."""
    browser = Browser(url)
    try:
        status, _response, page = browser.get("/login/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.decode()).group(1)
        status, response, page = browser.post(
            "/login/", [("csrfmiddlewaretoken", csrf), ("username", mobile), ("password", PASSWORD)]
        )
        assert status == 302, f"login of {mobile}: {status}"
        lesson_path = f"/learning/enrollments/{enrollment}/lessons/{lesson}/"
        status, _response, page = browser.get(lesson_path)
        assert status == 200, f"lesson page of {mobile}: {status}"
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.decode()).group(1)
        status, _response, body = browser.request(
            "POST",
            lesson_path + "start/",
            body=b"{}",
            headers={
                "Content-Type": "application/json",
                "X-CSRFToken": csrf,
                "X-Requested-With": "fetch",
                "Origin": url,
            },
        )
        started = json.loads(body)
        assert status == 200 and started["ok"], (status, started)
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        return f"{cookie}\t{csrf}\t{started['token']}"
    finally:
        browser.close()


def _wrk(url: str, mode: str, clients: Path, seconds: int) -> tuple[int, float, int, str]:
    """Run wrk with heartbeat.lua; ``(answered requests, seconds, non-2xx responses, socket errors line)``."""
    out = subprocess.run(  # noqa: S603 -- wrk, fixed arguments, loopback
        [
            shutil.which("wrk") or "/usr/bin/wrk",
            f"-t{THREADS}",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(SCRIPT),
            url,
            "--",
            mode,
            str(clients),
            str(THREADS),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    found = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if not found:
        raise RuntimeError(f"wrk output not understood:\n{out}")
    duration = float(found.group(2)) / (1000 if found.group(3) == "ms" else 1)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return int(found.group(1)), duration, int(bad.group(1)) if bad else 0, errors.group(0) if errors else ""


def _last_seqs(tokens: list[str]) -> dict[str, int]:
    from learning.models import StudyState

    return {
        str(t): seq for t, seq in StudyState.objects.filter(token__in=tokens).values_list("token", "last_seq")
    }


def _settled(tokens: list[str]) -> int:
    """The sum of the stored sequence numbers once the beats wrk left in flight are processed."""
    total = sum(_last_seqs(tokens).values())
    for _ in range(30):
        time.sleep(0.5)
        now = sum(_last_seqs(tokens).values())
        if now == total:
            return total
        total = now
    raise SystemExit("learning bench: heartbeats still arriving 15 s after wrk stopped")


def run(report) -> None:
    with misc_stack("learning") as stack, tempfile.TemporaryDirectory(prefix="bench-learning-") as tmp:
        trainees = _prepare(TRAINEES)
        with ThreadPoolExecutor(max_workers=4) as pool:
            lines = list(pool.map(lambda t: _start(stack.url, *t), trainees))
        tokens = [line.rsplit("\t", 1)[1] for line in lines]
        clients = Path(tmp) / "clients.tsv"
        totals = {"bare": [0, 0.0], "heartbeat": [0, 0.0]}
        for round_no in range(ROUNDS + 1):  # round 0 warms both up and is not counted
            for mode in ("bare", "heartbeat"):
                # Each trainee's beats go on from the sequence number the server stored.
                before = _last_seqs(tokens)
                assert len(before) == TRAINEES, f"{len(before)} study sessions, not {TRAINEES}"
                clients.write_text(
                    "".join(f"{line}\t{before[t]}\n" for line, t in zip(lines, tokens, strict=True))
                )
                requests, seconds, bad, errors = _wrk(
                    stack.url, mode, clients, 2 if round_no == 0 else ROUND_SECONDS
                )
                if bad or not re.search(r"timeout 0$", errors or "timeout 0"):
                    raise SystemExit(f"learning bench: {mode}: {bad} non-2xx responses; {errors}")
                counted = _settled(tokens) - sum(before.values())
                # One step per heartbeat: fewer means replays or lost beats. More: the beats in flight
                # when wrk stopped, those resent after a broken connection, and one request() per
                # thread that wrk builds but never sends (its sequence number is skipped).
                resent = sum(int(n) for n in re.findall(r"(?:read|write) (\d+)", errors))
                if (
                    mode == "heartbeat"
                    and not requests <= counted <= requests + CONNECTIONS + THREADS + resent
                ):
                    raise SystemExit(
                        f"learning bench: wrk saw {requests} heartbeats, the server stored {counted} ({errors})"
                    )
                if mode == "bare" and counted:
                    raise SystemExit("learning bench: the bare view changed study sessions")
                if round_no:
                    totals[mode][0] += requests
                    totals[mode][1] += seconds
    bare_rps = totals["bare"][0] / totals["bare"][1]
    beat_rps = totals["heartbeat"][0] / totals["heartbeat"][1]
    report("heartbeat_rps", beat_rps, "req/s")
    report("bare_rps", bare_rps, "req/s")
    report("heartbeat_ratio", beat_rps / bare_rps, "")
