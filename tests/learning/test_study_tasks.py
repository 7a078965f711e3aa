import datetime
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from learning import tasks
from learning.models import LessonProgress, StudyState
from learning.services.study import study_heartbeat, study_start
from portal.celery import BEAT_SCHEDULE
from tests.factories import EnrollmentFactory, LessonFactory, plan_with

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_presence_overdue_sweep_task_is_scheduled_and_idempotent(settings):
    assert BEAT_SCHEDULE["learning-presence-overdue-sweep"]["task"] == "learning.tasks.presence_overdue_sweep"
    settings.LEARNING_PRESENCE_MIN_MINUTES = 5
    settings.LEARNING_PRESENCE_MAX_MINUTES = 5
    lesson = LessonFactory(class_hours=Decimal("2"))
    plan_with(lesson.course)
    with time_machine.travel(START, tick=False) as clock:
        enrollment = EnrollmentFactory()
        state = study_start(
            enrollment=enrollment,
            lesson=lesson,
            session_key="a-login-session",
            session_auth_hash=enrollment.user.get_session_auth_hash(),
            session_expires_at=START + timedelta(hours=12),
        )
        seq = 0
        while True:
            clock.shift(timedelta(seconds=15))
            seq += 1
            result = study_heartbeat(
                session_key="a-login-session", token=state.token, seq=seq, client_state="active"
            )
            if result.presence:
                break
        assert LessonProgress.objects.get(enrollment=enrollment).credited_ms == seq * 15_000
        assert tasks.presence_overdue_sweep.delay().get() == 0  # still within the minute
        clock.shift(timedelta(minutes=2))
        assert tasks.presence_overdue_sweep.delay().get() == 1
        assert tasks.presence_overdue_sweep.delay().get() == 0
        assert LessonProgress.objects.get(enrollment=enrollment).credited_ms == 0
        assert StudyState.objects.get(enrollment=enrollment).checks_missed == 1
