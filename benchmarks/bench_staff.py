"""Staff dashboard: ``/admin/dashboard/`` with 50,000 trainees in the database, on the deployed stack.

The stack is ``scripts/serve_prod.py`` (nginx → gunicorn with the production settings, PostgreSQL,
Redis, the Celery worker and beat) on its own ports, database, Redis db and state folder. Data is
made in the stack's database by a subprocess with the stack's environment, set-based
(``bulk_create`` and ``UPDATE``): one programme open today with 50,000 trainees across the pipeline
(submitted, returned, approved, paid; study accounts active with class hours credited lesson by lesson
over 21 lessons, expired, or passed with exam attempts and a certificate, mailed or not), 500 unit applications each with a
payment (reported or confirmed) and its invoice, sign-ups spread over the last 60 days. Then, over
HTTP through nginx, a superuser (every role's charts: the most work) logs in to admin with the real
form (CSRF, Argon2) and requests the dashboard with its defaults (the current programme, the last 30
days) ``REPEAT`` times after ``WARMUP`` requests on one keep-alive connection.

Figures: ``dashboard_ms`` (the median) and ``dashboard_p95_ms``, target < 300 ms. The first request
(a warm-up, not in the figures) also computes the study progress, which reads every lesson's
credited time (about 430,000 rows here) and is then kept in the cache for
``learning.dashboard.PROGRESS_CACHE_SECONDS``; its time is printed as a comment line.

Checks (the bench exits 1 when one fails): every answer is 200; the numbers in the tables of five
charts (sign-ups per day, review backlog, study progress, payments reported, certificates) add up
to the counts this process computes with its own SQL on the stack's database. The load average
before and after is printed as a comment line.

    make bench BENCH=staff     # or: .venv/bin/python -m benchmarks staff
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAINEES = 50_000
APPLICATIONS = 500
LESSONS = 21
REPEAT, WARMUP = 30, 3
TARGET_MS = 300
PORT, APP_PORT = 8580, 8581
DATABASE = "portal_bench_staff"
BROKER = "redis://127.0.0.1:6379/9"
STATE = ROOT / "var" / "bench-staff"
STAFF_MOBILE, STAFF_PASSWORD = "13900000580", "bench-Staff-580!"
STACK_OVERRIDES = {
    "SERVE_PROD_DIR": str(STATE),
    "SERVE_PROD_PORT": str(PORT),
    "SERVE_PROD_APP_PORT": str(APP_PORT),
    "SERVE_PROD_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
    "SERVE_PROD_BROKER_URL": BROKER,
    "SERVE_PROD_DEMO": "0",
}


# --------------------------------------------------------------------------------------------
# The data (a subprocess with the stack's environment)
# --------------------------------------------------------------------------------------------


def setup_data() -> dict:
    from datetime import timedelta
    from decimal import Decimal

    from django.db import connection, transaction
    from django.utils import timezone

    from certificates.models import Certificate, MailingStatus
    from exams.models import Attempt, AttemptStatus, ExamTemplate
    from learning.models import Course, Enrollment, EnrollmentStatus, Lesson, LessonProgress
    from payments.models import Invoice, InvoiceStatus, Payment, PaymentStatus
    from portal.models import User
    from registration.models import Application, Programme, Trainee, TraineeStatus

    started = time.perf_counter()
    now = timezone.now()
    today = timezone.localdate()
    User.objects.create_superuser(mobile=STAFF_MOBILE, name="基准管理员", password=STAFF_PASSWORD)
    learner = User.objects.create_user(mobile="13800000580", name="基准学员")
    with transaction.atomic():
        programme = Programme.objects.create(
            name="基准测试项目（看板）",
            year=today.year,
            opens_on=today - timedelta(days=90),
            closes_on=today + timedelta(days=90),
        )
        applications = Application.objects.bulk_create(
            Application(
                programme=programme,
                reference=f"BS{a:06d}",
                access_key=f"bench-staff-app-{a}",
                unit_name=f"基准单位{a}",
                industry="C",
                contact_name="基准",
                contact_phone="13800000000",
                mail_recipient="基准",
                mail_phone="13800000000",
                mail_address="示例路 1 号",
                invoice_title=f"基准单位{a}",
                invoice_email="bench@example.org",
            )
            for a in range(APPLICATIONS)
        )
        per_application = TRAINEES // APPLICATIONS

        def stage(n: int) -> int:
            return n % 20

        def trainee(n: int) -> Trainee:
            s = stage(n)
            days = n % 60
            status = (
                TraineeStatus.SUBMITTED
                if s < 3
                else TraineeStatus.RETURNED
                if s == 3
                else TraineeStatus.APPROVED
            )
            paid = s >= 7
            return Trainee(
                application=applications[n // per_application],
                programme=programme,
                row_number=n,
                access_key=f"bench-staff-{n}",
                name=f"学员{n}",
                id_number=f"{n:018d}",
                mobile=f"139{n:08d}",
                certificate_type="principal",
                training_category="refresher" if n % 5 == 0 else "initial",
                status=status,
                status_changed_at=now - timedelta(days=n % 9, hours=n % 24),
                declared_at=now - timedelta(days=days) if s >= 1 else None,
                paid_at=now - timedelta(days=max(days - 1, 0), hours=n % 7) if paid else None,
            )

        Trainee.objects.bulk_create((trainee(n) for n in range(TRAINEES)), batch_size=2000)
        with connection.cursor() as cursor:  # sign-ups spread over the last 60 days
            cursor.execute(
                "UPDATE registration_trainee SET created_at = %s - make_interval(days => row_number %% 60, "
                "hours => row_number %% 11) WHERE programme_id = %s",
                [now, programme.pk],
            )
        rows = list(
            Trainee.objects.filter(programme=programme, paid_at__isnull=False).values_list(
                "pk", "row_number", "paid_at"
            )
        )
        course = Course.objects.create(code="bench-staff", title="基准课程")
        lessons = Lesson.objects.bulk_create(
            Lesson(
                course=course, code=f"bench-staff-{i}", order=i, title=f"第{i}讲", class_hours=Decimal("1.5")
            )
            for i in range(LESSONS)
        )

        def enrollment(pk: int, n: int, paid_at) -> Enrollment:
            s = stage(n)
            opened = min(paid_at + timedelta(days=n % 3, hours=n % 5), now)
            status = (
                EnrollmentStatus.EXPIRED
                if s == 14
                else EnrollmentStatus.PASSED
                if s >= 15
                else EnrollmentStatus.ACTIVE
            )
            return Enrollment(
                trainee_id=pk,
                user=learner,
                programme=programme,
                opened_at=opened,
                deadline=opened + timedelta(days=30),
                status=status,
                passed_at=now if status == EnrollmentStatus.PASSED else None,
            )

        Enrollment.objects.bulk_create(
            (enrollment(pk, n, paid_at) for pk, n, paid_at in rows if stage(n) >= 8), batch_size=2000
        )
        enrollments = list(
            Enrollment.objects.filter(programme=programme).values_list(
                "pk", "trainee__row_number", "opened_at"
            )
        )
        # Time credited per lesson as study leaves it: a passed account has every lesson, an active one
        # the first n % 22, an expired one a few (about 430,000 rows).
        lesson_ms = int(Decimal("1.5") * 45 * 60_000)

        def lessons_done(n: int) -> int:
            s = stage(n)
            return LESSONS if s >= 15 else n % 6 if s == 14 else n % (LESSONS + 1)

        LessonProgress.objects.bulk_create(
            (
                LessonProgress(enrollment_id=pk, lesson=lessons[i], credited_ms=lesson_ms)
                for pk, n, _opened in enrollments
                for i in range(lessons_done(n))
            ),
            batch_size=5000,
        )
        template = ExamTemplate.objects.create(
            programme=programme, certificate_type="principal", training_category="initial", name="基准模板"
        )

        def attempt(pk: int, n: int, number: int, passed: bool, at) -> Attempt:
            return Attempt(
                enrollment_id=pk,
                template=template,
                number=number,
                status=AttemptStatus.SUBMITTED,
                started_at=at - timedelta(hours=1),
                deadline=at,
                submitted_at=at,
                total_points=Decimal("100"),
                pass_mark=Decimal("60"),
                score=Decimal("80") if passed else Decimal("40"),
                passed=passed,
            )

        attempts = []
        for pk, n, opened in enrollments:
            s, at = stage(n), min(opened + timedelta(days=5), now)
            if s in (12, 13):
                attempts.append(attempt(pk, n, 1, False, at))
            elif s >= 15:
                first = n % 3 != 0
                attempts.append(attempt(pk, n, 1, first, at))
                if not first:
                    attempts.append(attempt(pk, n, 2, True, at))
        Attempt.objects.bulk_create(attempts, batch_size=5000)
        Certificate.objects.bulk_create(
            (
                Certificate(
                    enrollment_id=pk,
                    number=f"BS{n:09d}",
                    verify_key=f"bs{n:014d}",
                    holder_name=f"学员{n}",
                    id_number_masked="4401**********0000",
                    certificate_type="principal",
                    training_category="initial",
                    hours=Decimal("32"),
                    unit_name="基准单位",
                    issuer="示例市职业安全健康协会",
                    passed_at=min(opened + timedelta(days=5), now),
                    issue_date=min(opened + timedelta(days=5), now).date(),
                    issued_at=min(opened + timedelta(days=5), now),
                    mail_recipient="基准",
                    mail_phone="13800000000",
                    mail_address="示例路 1 号",
                    mail_due_on=(min(opened + timedelta(days=5), now) + timedelta(days=14)).date(),
                    mailing_status=MailingStatus.MAILED if n % 2 else MailingStatus.PENDING,
                    mailed_at=min(opened + timedelta(days=5 + n % 20), now) if n % 2 else None,
                )
                for pk, n, opened in enrollments
                if stage(n) >= 15
            ),
            batch_size=2000,
        )
        payments = Payment.objects.bulk_create(
            Payment(
                application=application,
                channel="bank_transfer",
                payer_name=application.unit_name,
                amount_fen=80_000 * per_application,
                expected_fen=80_000 * per_application,
                transaction_no=f"BSTX{a:08d}",
                paid_at=now - timedelta(days=a % 45),
                reported_at=now - timedelta(days=a % 45),
                status=PaymentStatus.REPORTED if a % 4 == 0 else PaymentStatus.CONFIRMED,
                decided_at=None if a % 4 == 0 else now - timedelta(days=max(a % 45 - 1, 0)),
            )
            for a, application in enumerate(applications)
        )
        Invoice.objects.bulk_create(
            Invoice(
                payment=payment,
                buyer_name=payment.payer_name,
                email="bench@example.org",
                due_on=(payment.paid_at + timedelta(days=7)).date(),
                status=InvoiceStatus.ISSUED if a % 3 else InvoiceStatus.REQUESTED,
                issued_at=payment.paid_at + timedelta(days=a % 9) if a % 3 else None,
            )
            for a, payment in enumerate(payments)
        )
    with connection.cursor() as cursor:  # as autovacuum would after a bulk load
        cursor.execute("ANALYZE")
    return {"programme": programme.pk, "seconds": round(time.perf_counter() - started, 1)}


# --------------------------------------------------------------------------------------------
# The independent counts (this process, plain SQL on the stack's database)
# --------------------------------------------------------------------------------------------


def _sql(query: str, params=()) -> int:
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=DATABASE)
    try:
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchone()[0]
    finally:
        connection.close()


def expected_counts(programme: int) -> dict[str, int]:
    """What the default view (the last 30 local days up to today) must show, counted in SQL."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    midnight = datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=0, minute=0, second=0, microsecond=0)
    since, until = midnight - timedelta(days=29), midnight + timedelta(days=1)
    return {
        "signups": _sql(
            "SELECT count(*) FROM registration_trainee WHERE programme_id = %s AND created_at >= %s "
            "AND created_at < %s",
            [programme, since, until],
        ),
        "review_backlog": _sql(
            "SELECT count(*) FROM registration_trainee WHERE programme_id = %s AND status = 'submitted'",
            [programme],
        ),
        "progress": _sql("SELECT count(*) FROM learning_enrollment WHERE programme_id = %s", [programme]),
        "payments": _sql(
            "SELECT count(*) FROM payments_payment p JOIN registration_application a ON a.id = p.application_id "
            "WHERE a.programme_id = %s AND p.reported_at >= %s AND p.reported_at < %s",
            [programme, since, until],
        ),
        "mailing": _sql(
            "SELECT count(*) FROM certificates_certificate c JOIN learning_enrollment e ON e.id = c.enrollment_id "
            "WHERE e.programme_id = %s AND c.status = 'valid' AND c.issued_at >= %s AND c.issued_at < %s",
            [programme, since, until],
        ),
    }


def table_first_column(page: str, key: str) -> list[float]:
    """The first number column of the chart's table on the page."""
    match = re.search(rf'<table id="chart-{key}-table">(.*?)</table>', page, re.S)
    if not match:
        raise SystemExit(f"staff bench: no table for the chart {key!r} on the page")
    return [float(v) for v in re.findall(r"</th><td>([0-9.]+)", match.group(1))]


# --------------------------------------------------------------------------------------------
# The driver (this process)
# --------------------------------------------------------------------------------------------


def _in_stack(env: dict, *args: str) -> dict:
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "benchmarks.bench_staff", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench_staff {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _database_drop() -> None:
    from benchmarks.harness import database_drop

    database_drop(STACK_OVERRIDES["SERVE_PROD_DATABASE_URL"])


def _csrf(page: bytes) -> str:
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1).decode()


def _log_in(browser) -> None:
    status, _response, page = browser.get("/admin/login/?next=/admin/")
    assert status == 200, f"admin log-in page: {status}"
    status, response, _page = browser.post(
        "/admin/login/?next=/admin/",
        [
            ("csrfmiddlewaretoken", _csrf(page)),
            ("username", STAFF_MOBILE),
            ("password", STAFF_PASSWORD),
            ("next", "/admin/"),
        ],
    )
    location = response.getheader("Location") or ""
    assert status == 302 and location.endswith("/admin/"), f"admin log-in: {status}"


def run(report) -> None:
    import redis

    from benchmarks.harness import Browser
    from scripts.serve_prod import stack

    STATE.mkdir(parents=True, exist_ok=True)
    _database_drop()
    redis.Redis.from_url(BROKER).flushdb()
    shutil.rmtree(STATE / "private", ignore_errors=True)
    try:
        with stack(STACK_OVERRIDES, log=STATE / "stack.log", timeout=600) as running:
            made = _in_stack(running.env, "setup")
            print(f"# data: {TRAINEES} trainees made in {made['seconds']} s", flush=True)
            expected = expected_counts(made["programme"])
            load_before = os.getloadavg()[0]
            browser = Browser(f"http://127.0.0.1:{PORT}")
            samples, page, cold = [], b"", 0.0
            try:
                _log_in(browser)
                for n in range(WARMUP + REPEAT):
                    start = time.perf_counter()
                    status, _response, page = browser.get("/admin/dashboard/", follow=False)
                    elapsed = (time.perf_counter() - start) * 1000
                    if status != 200:
                        raise SystemExit(f"staff bench: the dashboard answered {status}")
                    if n == 0:
                        cold = elapsed  # the study progress computed, not yet in the cache
                    if n >= WARMUP:
                        samples.append(elapsed)
            finally:
                browser.close()
            load_after = os.getloadavg()[0]
    finally:
        _database_drop()
        redis.Redis.from_url(BROKER).flushdb()
    text = page.decode()
    shown = {key: int(sum(table_first_column(text, key))) for key in expected}
    print(
        f"# load average {load_before:.1f} before, {load_after:.1f} after; first request {cold:.0f} ms "
        f"(the study progress computed, then cached); counts {shown}",
        flush=True,
    )
    samples.sort()
    report("dashboard_ms", statistics.median(samples), "ms")
    report("dashboard_p95_ms", samples[int(0.95 * (len(samples) - 1))], "ms")
    if shown != expected:
        raise SystemExit(f"staff bench: the page shows {shown}, SQL counts {expected}")


if __name__ == "__main__":
    from benchmarks.harness import django_setup

    django_setup()
    command = sys.argv[1]
    if command == "setup":
        measured = setup_data()
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(measured))
