"""The embedded default (SQLite, ``make run``) answers parallel requests (issue #22, finding 9).

With SQLite's defaults, 8 parallel heartbeats gave 4 × "database is locked": a transaction that
reads and then writes cannot take the write lock while another one holds it, and SQLite refuses it
at once. The settings put SQLite in WAL mode with IMMEDIATE transactions and a busy timeout
(``portal/settings/database.py``). Here 16 threads write to a migrated SQLite *file* with those
options through the real services: heartbeats of eight learners, and exam starts and submits (two
taps each) of four trainees; none may fail and every result must be exact.
"""

import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connections
from django.db.utils import load_backend
from django.utils import timezone

from exams import services as exam_services
from exams.models import Attempt, AttemptStatus
from learning.models import LessonProgress, StudyRecord
from learning.services.staff_hours import study_hours_record
from learning.services.study import study_heartbeat, study_start
from portal.models import AuditEntry
from portal.settings.database import SQLITE_ENGINE, sqlite_options_apply
from tests.exams.helpers import answers_scoring
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    LessonFactory,
    StaffFactory,
    bank_make,
    plan_with,
    template_make,
)

BASE = Path(__file__).resolve().parents[2]
BEATS = 5  # heartbeats per learner and round, 15 s apart


def _wrapper(settings_dict):
    return load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "default")


@contextmanager
def _default_database(settings_dict):
    """In this thread only, the ``default`` alias (what the services use) is ``settings_dict``."""
    previous = connections["default"]
    connections["default"] = _wrapper(settings_dict)
    ContentType.objects.clear_cache()  # cached per alias: ids of the other database
    try:
        yield connections["default"]
    finally:
        connections["default"].close()
        connections["default"] = previous
        ContentType.objects.clear_cache()


@pytest.fixture
def sqlite_file(transactional_db, tmp_path):
    """A migrated SQLite file with the settings' options, as ``make run`` has it (the test
    database itself is in memory, where WAL does not exist)."""
    settings_dict = connections.configure_settings(
        {"default": sqlite_options_apply({"ENGINE": SQLITE_ENGINE, "NAME": str(tmp_path / "portal.sqlite3")})}
    )["default"]
    with _default_database(settings_dict) as connection:
        call_command("migrate", verbosity=0, interactive=False)
        yield settings_dict, connection


def _in_parallel(settings_dict, jobs) -> list[str]:
    """Run every job in its own thread with its own connection, all released at once."""
    barrier = threading.Barrier(len(jobs))
    errors: list[str] = []

    def run(job):
        connections["default"] = _wrapper(settings_dict)
        try:
            barrier.wait(timeout=30)
            job()
        except Exception as exc:  # noqa: BLE001 -- reported by the test
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connections["default"].close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return errors


def test_parallel_heartbeats_and_exam_starts_and_submits_all_succeed(sqlite_file):
    settings_dict, connection = sqlite_file
    # Real state on the file: a 32-hour plan, a question bank and an exam paper.
    lessons = [LessonFactory(course=CourseFactory(), class_hours=Decimal(16)) for _ in range(2)]
    plan_with(*(lesson.course for lesson in lessons))
    bank_make()
    template_make()  # of the factories' certificate type, as the plan and the enrollments
    staff = StaffFactory(role="course_admin", is_superuser=True)
    start = timezone.now()

    learners = []
    for _ in range(8):
        enrollment = EnrollmentFactory()
        state = study_start(
            enrollment=enrollment,
            lesson=lessons[0],
            session_key=f"session-{enrollment.pk}",
            session_auth_hash=enrollment.user.get_session_auth_hash(),
            session_expires_at=start + timedelta(hours=1),
            now=start,
        )
        learners.append((enrollment, state.token))
    takers = []
    for _ in range(4):
        enrollment = EnrollmentFactory()
        for lesson in lessons:
            study_hours_record(
                enrollment=enrollment, lesson=lesson, minutes=16 * 45, reason="课堂培训", actor=staff
            )
        takers.append(enrollment)

    beats: dict[int, list] = {}
    started: dict[int, list] = {}
    graded: dict[int, list] = {}

    def study(enrollment, token, seqs):
        def job():
            for seq in seqs:
                result = study_heartbeat(
                    session_key=f"session-{enrollment.pk}",
                    token=token,
                    seq=seq,
                    client_state="active",
                    now=start + timedelta(seconds=15 * seq),
                )
                beats.setdefault(enrollment.pk, []).append((result.ok, result.credited_ms))

        return job

    def start_exam(enrollment):
        def job():
            attempt = exam_services.attempt_start(enrollment=enrollment, actor=enrollment.user)
            started.setdefault(enrollment.pk, []).append(attempt.pk)

        return job

    def submit_exam(enrollment):
        def job():
            attempt = Attempt.objects.get(enrollment=enrollment)
            result = exam_services.attempt_submit(
                attempt_id=attempt.pk, user=enrollment.user, answers=answers_scoring(attempt, wrong=11)
            )
            graded.setdefault(enrollment.pk, []).append((result.pk, result.status, result.score))

        return job

    # Round 1: every learner beats while every taker starts the exam twice (a double tap);
    # round 2: they go on beating while each taker submits twice.
    first, second = range(1, BEATS + 1), range(BEATS + 1, 2 * BEATS + 1)
    round_one = [study(enrollment, token, first) for enrollment, token in learners]
    round_one += [start_exam(enrollment) for enrollment in takers for _tap in range(2)]
    round_two = [study(enrollment, token, second) for enrollment, token in learners]
    round_two += [submit_exam(enrollment) for enrollment in takers for _tap in range(2)]
    assert len(round_one) == len(round_two) == 16

    assert _in_parallel(settings_dict, round_one) == []
    assert _in_parallel(settings_dict, round_two) == []

    for enrollment, _token in learners:
        assert beats[enrollment.pk] == [(True, 15_000)] * 2 * BEATS
        progress = LessonProgress.objects.get(enrollment=enrollment, lesson=lessons[0])
        assert progress.credited_ms == 2 * BEATS * 15_000
        record = StudyRecord.objects.get(enrollment=enrollment, lesson=lessons[0])
        assert (record.credited_ms, record.heartbeats) == (2 * BEATS * 15_000, 2 * BEATS)
    for enrollment in takers:
        attempt = Attempt.objects.get(enrollment=enrollment)  # one attempt for the two taps
        assert started[enrollment.pk] == [attempt.pk, attempt.pk]
        assert (attempt.status, attempt.score, attempt.passed) == (
            AttemptStatus.SUBMITTED,
            Decimal("0"),
            False,
        )
        assert graded[enrollment.pk] == [(attempt.pk, AttemptStatus.SUBMITTED, Decimal("0"))] * 2
        assert (
            AuditEntry.objects.filter(action="exams.attempt_started", target_id=str(attempt.pk)).count() == 1
        )
        assert (
            AuditEntry.objects.filter(action="exams.attempt_graded", target_id=str(attempt.pk)).count() == 1
        )
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


def test_make_run_settings_open_sqlite_in_wal_mode_with_immediate_transactions(tmp_path):
    """``make run`` (local settings, no DATABASE_URL): the database file under PORTAL_VAR_DIR."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings.local", PORTAL_VAR_DIR=str(tmp_path))
    script = (
        "import django\n"
        "django.setup()\n"
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    values = [c.execute(f'PRAGMA {p}').fetchone()[0] for p in ('journal_mode', 'synchronous', 'busy_timeout')]\n"
        "print(connection.settings_dict['NAME'], *values, connection.transaction_mode)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # synchronous 1 = NORMAL; busy_timeout in milliseconds
    assert result.stdout.split() == [str(tmp_path / "db.sqlite3"), "wal", "1", "20000", "IMMEDIATE"]
