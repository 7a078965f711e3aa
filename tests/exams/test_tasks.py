from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from exams import services, tasks
from exams.models import Attempt, AttemptStatus, SubmitReason
from portal.celery import BEAT_SCHEDULE
from tests.factories import studied_enrollment_make

pytestmark = pytest.mark.django_db


def test_attempts_expire_task_grades_only_attempts_out_of_time(template):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        late = services.attempt_start(enrollment=studied_enrollment_make())
        traveller.shift(timedelta(minutes=30))
        on_time = services.attempt_start(enrollment=studied_enrollment_make())
        traveller.shift(timedelta(minutes=31))
        assert tasks.attempts_expire.delay().get() == 1
        assert tasks.attempts_expire.delay().get() == 0  # safe to run twice
    late.refresh_from_db()
    on_time.refresh_from_db()
    assert late.status == AttemptStatus.SUBMITTED and late.submit_reason == SubmitReason.TIMEOUT
    assert on_time.status == AttemptStatus.IN_PROGRESS
    assert Attempt.objects.filter(status=AttemptStatus.SUBMITTED).count() == 1


def test_task_is_in_the_beat_schedule():
    entries = [e for e in BEAT_SCHEDULE.values() if e["task"] == "exams.tasks.attempts_expire"]
    assert len(entries) == 1
