"""Study time crediting: heartbeats, idle / hidden, two tabs, video spans, caps, presence checks,
the exam unlock. The clock is driven by time-machine; the learner uses the real endpoints."""

import datetime
import uuid
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from learning.models import (
    EnrollmentStatus,
    LessonProgress,
    ProgrammeStudyRule,
    RecordStatus,
    StudyRecord,
)
from learning.selectors.study import enrollment_exam_unlocked, enrollment_study_overview
from learning.services.passing import enrollment_mark_passed
from learning.services.study import presence_overdue_sweep
from learning.services.windows import enrollments_expire
from portal.models import AuditEntry
from tests.factories import CourseFactory, EnrollmentFactory, LessonFactory, ProgrammeFactory, plan_with

from .study import Learner

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def _no_surprise_checks(settings):
    """Presence checks come late by default in this module; the tests about them set their own."""
    settings.LEARNING_PRESENCE_MIN_MINUTES = 600
    settings.LEARNING_PRESENCE_MAX_MINUTES = 600


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def lesson(db):
    lesson = LessonFactory(class_hours=Decimal("2"))  # 90 minutes
    plan_with(lesson.course)
    return lesson


@pytest.fixture
def enrollment(clock, lesson):
    return EnrollmentFactory()


def credited(enrollment, lesson) -> int:
    row = LessonProgress.objects.filter(enrollment=enrollment, lesson=lesson).first()
    return row.credited_ms if row else 0


def learner(enrollment, lesson, clock, **kwargs) -> Learner:
    client = Client()
    client.force_login(enrollment.user)
    return Learner(client, enrollment, lesson, clock=clock, **kwargs)


def test_studying_credits_exactly_the_time_spent(clock, enrollment, lesson):
    me = learner(enrollment, lesson, clock)
    assert me.start().status_code == 200
    me.study(10 * 60)
    assert credited(enrollment, lesson) == 10 * 60 * 1000
    # irregular intervals (a slow phone): still the real time, within one heartbeat interval
    for step in (13, 17, 21, 9):
        clock.shift(timedelta(seconds=step))
        me.beat()
    assert credited(enrollment, lesson) == (10 * 60 + 60) * 1000
    record = StudyRecord.objects.get(enrollment=enrollment)
    assert record.credited_ms == (10 * 60 + 60) * 1000 and record.heartbeats == 44


def test_nothing_for_idle_or_hidden_time_and_gaps_are_refused(clock, enrollment, lesson):
    me = learner(enrollment, lesson, clock)
    me.start()
    me.study(60)
    assert credited(enrollment, lesson) == 60_000
    me.study(120, state="idle")
    me.study(120, state="hidden")
    assert credited(enrollment, lesson) == 60_000
    # the screen was off for 10 minutes: no heartbeats, then the page comes back
    clock.shift(timedelta(minutes=10))
    response = me.beat("hidden")
    assert response.json()["credited_ms"] == 0
    # a client that claims "active" after a long gap gets nothing for the gap either
    clock.shift(timedelta(minutes=3))
    assert me.beat("active").json()["credited_ms"] == 0
    me.study(30)
    assert credited(enrollment, lesson) == 90_000


def test_a_second_tab_takes_over_and_the_first_earns_nothing(clock, enrollment, lesson):
    first = learner(enrollment, lesson, clock)
    second = learner(enrollment, lesson, clock)
    first.start()
    first.study(30)
    second.start()
    for _ in range(8):
        clock.shift(timedelta(seconds=15))
        old = first.beat()
        new = second.beat()
        assert old.status_code == 409 and "另一个" in old.json()["message"]
        assert new.status_code == 200
    assert credited(enrollment, lesson) == 30_000 + 8 * 15_000


def test_video_credits_played_span_only_never_a_skipped_one(clock, enrollment):
    video = LessonFactory(kind="video", class_hours=Decimal("2"), video_duration_seconds=3600, body_html="")
    plan_with(video.course)
    me = learner(enrollment, video, clock)
    me.start()
    clock.shift(timedelta(seconds=15))
    assert me.beat(played=[[0, 15]]).json()["credited_ms"] == 15_000
    # seek ahead to 10:00 after 5 s of play, then 10 s of play there
    clock.shift(timedelta(seconds=15))
    assert me.beat(played=[[15, 20], [600, 610]]).json()["credited_ms"] == 15_000
    # jumping far ahead: only the 5 s played after the seek
    clock.shift(timedelta(seconds=15))
    assert me.beat(played=[[2000, 2005]]).json()["credited_ms"] == 5_000
    # a claimed range longer than the wall time is capped to the wall time
    clock.shift(timedelta(seconds=15))
    assert me.beat(played=[[0, 900]]).json()["credited_ms"] == 15_000
    # paused (nothing played) while "active": nothing
    clock.shift(timedelta(seconds=15))
    assert me.beat(played=[]).json()["credited_ms"] == 0
    assert credited(enrollment, video) == 50_000
    # the position is kept server-side: another device resumes there
    other = learner(enrollment, video, clock)
    assert other.start().json()["position"] == 900


def test_never_more_than_the_lesson_hours(clock, enrollment, settings):
    settings.LEARNING_CLASS_HOUR_MINUTES = 1
    short = LessonFactory(class_hours=Decimal("1.5"))  # 90 seconds
    plan_with(short.course)
    me = learner(enrollment, short, clock)
    me.start()
    me.study(5 * 60)
    assert credited(enrollment, short) == 90_000
    progress = LessonProgress.objects.get(enrollment=enrollment, lesson=short)
    assert progress.completed_at is not None


def test_daily_cap(clock, enrollment, lesson, settings):
    settings.LEARNING_CLASS_HOUR_MINUTES = 1
    ProgrammeStudyRule.objects.create(
        programme=enrollment.programme, daily_cap_hours=Decimal("1")
    )  # 60 s a day
    big = LessonFactory(class_hours=Decimal("10"))
    plan_with(big.course)
    me = learner(enrollment, big, clock)
    me.start()
    me.study(120)
    assert credited(enrollment, big) == 60_000
    assert me.responses[-1].json()["code"] == "daily_cap"
    assert me.responses[-1].json()["message"] == "今日计入的学时已达上限，请明天继续学习。"
    # the next day it counts again
    clock.move_to(START + timedelta(days=1))
    assert me.start().json()["code"] == "login"  # the 12-hour session ended overnight
    me.client.force_login(enrollment.user)
    me.start()
    me.study(30)
    assert credited(enrollment, big) == 90_000


def test_daily_cap_defaults_from_the_setting(clock, enrollment, settings):
    settings.LEARNING_CLASS_HOUR_MINUTES = 1
    settings.LEARNING_DAILY_CAP_HOURS = 2
    big = LessonFactory(class_hours=Decimal("10"))
    plan_with(big.course)
    me = learner(enrollment, big, clock)
    me.start()
    me.study(300)
    assert credited(enrollment, big) == 120_000


def test_missed_presence_check_discards_the_unconfirmed_time(clock, enrollment, lesson, settings):
    settings.LEARNING_PRESENCE_MIN_MINUTES = 5
    settings.LEARNING_PRESENCE_MAX_MINUTES = 5
    me = learner(enrollment, lesson, clock, answer_checks=False)
    me.start()
    me.study(5 * 60)
    presence = me.responses[-1].json()["presence"]
    assert presence and presence["seconds"] == 60
    me.study(45)  # the check is open: time accrues provisionally
    assert credited(enrollment, lesson) == 345_000
    me.study(30)  # now the minute (+ grace) is over: everything since the start is discarded
    body = me.responses[-1].json()
    assert body["discarded_ms"] == 345_000 + 15_000 and "未" in body["message"]
    assert credited(enrollment, lesson) == 0
    assert StudyRecord.objects.get(enrollment=enrollment).status == RecordStatus.DISCARDED
    # study goes on; an answered check confirms what came since
    me.answer_checks = True
    me.study(6 * 60)
    assert credited(enrollment, lesson) >= 5 * 60 * 1000
    assert StudyRecord.objects.filter(enrollment=enrollment, status=RecordStatus.CONFIRMED).exists()


def test_answered_presence_check_confirms_and_a_late_answer_discards(clock, enrollment, lesson, settings):
    settings.LEARNING_PRESENCE_MIN_MINUTES = 5
    settings.LEARNING_PRESENCE_MAX_MINUTES = 5
    me = learner(enrollment, lesson, clock, answer_checks=False)
    me.start()
    me.study(5 * 60)
    check = me.responses[-1].json()["presence"]["id"]
    clock.shift(timedelta(seconds=20))
    answer = me.answer(check)
    assert answer.json()["code"] == "confirmed"
    assert StudyRecord.objects.get(enrollment=enrollment).status == RecordStatus.CONFIRMED
    me.study(5 * 60)
    check = me.responses[-1].json()["presence"]["id"]
    clock.shift(timedelta(seconds=90))
    late = me.answer(check)
    assert late.json()["code"] == "missed"
    assert credited(enrollment, lesson) == 5 * 60 * 1000  # only the confirmed part


def test_reloading_does_not_dodge_a_presence_check(clock, enrollment, lesson, settings):
    settings.LEARNING_PRESENCE_MIN_MINUTES = 5
    settings.LEARNING_PRESENCE_MAX_MINUTES = 5
    me = learner(enrollment, lesson, clock, answer_checks=False)
    me.start()
    me.study(5 * 60)
    assert me.responses[-1].json()["presence"]
    clock.shift(timedelta(minutes=2))
    me.start()  # a reload after ignoring the check
    assert credited(enrollment, lesson) == 0


def test_overdue_sweep_discards_after_the_learner_left(clock, enrollment, lesson, settings):
    settings.LEARNING_PRESENCE_MIN_MINUTES = 5
    settings.LEARNING_PRESENCE_MAX_MINUTES = 5
    me = learner(enrollment, lesson, clock, answer_checks=False)
    me.start()
    me.study(5 * 60)
    assert not enrollment_exam_unlocked(enrollment)
    clock.shift(timedelta(minutes=5))
    assert presence_overdue_sweep() == 1
    assert presence_overdue_sweep() == 0
    assert credited(enrollment, lesson) == 0


def test_exam_unlocks_at_exactly_the_required_hours(clock, settings):
    settings.LEARNING_CLASS_HOUR_MINUTES = 1
    programme = ProgrammeFactory(hours_initial=2)
    course = CourseFactory()
    first = LessonFactory(course=course, class_hours=Decimal("1"))
    second = LessonFactory(course=course, class_hours=Decimal("1"))
    plan_with(course)
    enrollment = EnrollmentFactory(trainee__application__programme=programme)
    me = learner(enrollment, first, clock)
    me.start()
    me.study(60)
    assert not enrollment_exam_unlocked(enrollment)
    other = learner(enrollment, second, clock)
    other.start()
    other.study(45)
    assert credited(enrollment, second) == 45_000
    assert not enrollment_exam_unlocked(enrollment)
    clock.shift(timedelta(seconds=14))
    other.beat()
    assert not enrollment_exam_unlocked(enrollment)  # 1 s short
    clock.shift(timedelta(seconds=1))
    other.beat()
    assert enrollment_exam_unlocked(enrollment)


def test_exam_needs_every_lesson_even_when_the_hours_are_reached(clock, settings):
    settings.LEARNING_CLASS_HOUR_MINUTES = 1
    programme = ProgrammeFactory(hours_initial=1)
    course = CourseFactory()
    first = LessonFactory(course=course, class_hours=Decimal("1"))
    second = LessonFactory(course=course, class_hours=Decimal("1"))
    plan_with(course)
    enrollment = EnrollmentFactory(trainee__application__programme=programme)
    me = learner(enrollment, first, clock)
    me.start()
    me.study(60)
    assert not enrollment_exam_unlocked(enrollment)
    me = learner(enrollment, second, clock)
    me.start()
    me.study(60)
    assert enrollment_exam_unlocked(enrollment)
    enrollment_mark_passed(enrollment=enrollment, passed_at=START)
    enrollment.refresh_from_db()
    assert not enrollment_exam_unlocked(enrollment)  # passed: no exam to unlock


def test_refresher_needs_12_hours(clock):
    course = CourseFactory()
    LessonFactory(course=course, class_hours=Decimal("12"))
    plan_with(course, training_category="refresher")
    enrollment = EnrollmentFactory(trainee__training_category="refresher")
    overview = enrollment_study_overview(enrollment)
    assert overview.required_hours == 12 and overview.required_ms == 12 * 45 * 60_000
    assert not enrollment_exam_unlocked(enrollment)


def test_expired_enrollment_credits_nothing(clock, enrollment, lesson):
    me = learner(enrollment, lesson, clock)
    me.start()
    me.study(30)
    clock.shift(timedelta(days=31))
    enrollments_expire()
    response = me.beat()
    assert response.status_code == 403
    assert credited(enrollment, lesson) == 30_000
    assert me.start().status_code == 403


def test_someone_elses_token_credits_nothing(clock, enrollment, lesson):
    me = learner(enrollment, lesson, clock)
    me.start()
    intruder = EnrollmentFactory()
    client = Client()
    client.force_login(intruder.user)
    clock.shift(timedelta(seconds=15))
    response = client.post(
        reverse("learning:heartbeat"),
        {"token": me.token, "seq": 1, "state": "active"},
        content_type="application/json",
    )
    assert response.status_code in (403, 409) and not response.json()["ok"]
    assert credited(enrollment, lesson) == 0


def test_heartbeat_constant_queries_and_replay_is_idempotent(
    clock, enrollment, lesson, django_assert_max_num_queries
):
    me = learner(enrollment, lesson, clock)
    me.start()
    clock.shift(timedelta(seconds=15))
    # session, the live-session row (joined with user, enrollment, lesson, progress, record line,
    # study rule), its update, the progress update, the record line insert / update
    with django_assert_max_num_queries(5):
        me.beat()
    for _ in range(5):
        clock.shift(timedelta(seconds=15))
        with django_assert_max_num_queries(5):
            assert me.beat().json()["credited_ms"] == 15_000
    before = credited(enrollment, lesson)
    clock.shift(timedelta(seconds=15))
    with django_assert_max_num_queries(2):
        replay = me.beat(seq=me.seq)  # the same heartbeat again
    assert replay.status_code == 200 and replay.json()["replay"] and replay.json()["credited_ms"] == 0
    assert credited(enrollment, lesson) == before
    assert me.beat(seq=me.seq - 3).json()["credited_ms"] == 0


def test_heartbeat_needs_csrf_and_valid_json(clock, enrollment, lesson):
    client = Client(enforce_csrf_checks=True)
    client.force_login(enrollment.user)
    response = client.post(
        reverse("learning:heartbeat"), {"token": "x", "seq": 1}, content_type="application/json"
    )
    assert response.status_code == 403
    client = Client()
    client.force_login(enrollment.user)
    bad = client.post(reverse("learning:heartbeat"), "not json", content_type="application/json")
    assert bad.status_code == 400
    anonymous = Client().post(
        reverse("learning:heartbeat"), {"token": str(uuid.uuid4()), "seq": 1, "state": "active"},
        content_type="application/json",
    )  # fmt: skip
    assert anonymous.status_code == 403 and anonymous.json()["code"] == "login"


def test_enrollment_mark_passed(clock, enrollment):
    passed = enrollment_mark_passed(enrollment=enrollment, passed_at=START)
    assert passed.status == EnrollmentStatus.PASSED and passed.passed_at == START
    assert AuditEntry.objects.filter(action="enrollment.passed", target_id=str(enrollment.pk)).count() == 1
    again = enrollment_mark_passed(enrollment=enrollment, passed_at=START + timedelta(days=1))
    assert again.passed_at == START
    assert AuditEntry.objects.filter(action="enrollment.passed").count() == 1
    expired = EnrollmentFactory(status=EnrollmentStatus.EXPIRED)
    with pytest.raises(ValidationError):
        enrollment_mark_passed(enrollment=expired, passed_at=START)


def test_heartbeat_checks_the_session_like_django_auth(clock, enrollment, lesson):
    me = learner(enrollment, lesson, clock)
    me.start()
    me.study(30)
    user = enrollment.user
    user.set_password("a-new-password-2026")  # a password change logs other sessions out
    user.save()
    clock.shift(timedelta(seconds=15))
    response = me.beat()
    assert response.status_code == 403 and response.json()["code"] == "login"
    me.client.force_login(user)
    me.start()
    me.study(15)
    assert credited(enrollment, lesson) == 45_000
    user.is_active = False
    user.save()
    clock.shift(timedelta(seconds=15))
    assert me.beat().status_code == 403
    assert credited(enrollment, lesson) == 45_000


def test_logging_out_or_another_login_session_stops_crediting(clock, enrollment, lesson):
    me = learner(enrollment, lesson, clock)
    me.start()
    me.study(15)
    thief = Client()
    thief.cookies["csrftoken"] = "x" * 32
    clock.shift(timedelta(seconds=15))
    stolen = Learner(thief, enrollment, lesson, clock=clock)
    stolen.token, stolen.seq = me.token, me.seq
    assert stolen.beat().status_code == 403  # the token alone is not enough
    me.client.post(reverse("portal:logout"))
    clock.shift(timedelta(seconds=15))
    assert me.beat().status_code == 403
    assert credited(enrollment, lesson) == 15_000


def test_heartbeats_stop_when_the_login_session_expires(clock, enrollment, lesson):
    me = learner(enrollment, lesson, clock)
    clock.shift(timedelta(hours=11, minutes=59))  # the login session (12 h) is almost over
    me.start()
    me.study(30)
    assert credited(enrollment, lesson) == 30_000
    me.study(60)  # it ends at 12:00:00, between these
    assert me.responses[-1].status_code == 403 and me.responses[-1].json()["code"] == "login"
    assert credited(enrollment, lesson) == 45_000  # up to 11:59:45 only
