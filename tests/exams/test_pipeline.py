"""Exams along learning's rules step by step: the exam unlocks only when the plan's hours are
credited, a fail offers a resit, a pass moves the enrollment to "passed"."""

import pytest
from django.core.exceptions import ValidationError

from exams.selectors import exam_access
from exams.services import attempt_start, attempt_submit
from learning.models import EnrollmentStatus
from learning.services.staff_hours import study_hours_record
from tests.factories import EnrollmentFactory, StaffFactory, plan_make

from .helpers import answers_scoring

pytestmark = pytest.mark.django_db


def test_exam_unlocks_at_the_hours_then_fail_resit_pass(template):
    enrollment = EnrollmentFactory(
        trainee__certificate_type="principal", trainee__training_category="initial"
    )
    lessons = plan_make(certificate_type="principal", training_category="initial", hours=32)
    assert not exam_access(enrollment).allowed
    with pytest.raises(ValidationError):
        attempt_start(enrollment=enrollment, actor=enrollment.user)

    staff = StaffFactory(role="course_admin", is_superuser=True)
    study_hours_record(
        enrollment=enrollment, lesson=lessons[0], minutes=16 * 45, reason="课堂培训", actor=staff
    )
    assert not exam_access(enrollment).allowed  # 16 of 32 hours
    study_hours_record(
        enrollment=enrollment, lesson=lessons[1], minutes=16 * 45, reason="课堂培训", actor=staff
    )
    assert exam_access(enrollment).allowed

    first = attempt_start(enrollment=enrollment, actor=enrollment.user)
    first = attempt_submit(
        attempt_id=first.pk, user=enrollment.user, answers=answers_scoring(first, wrong=40)
    )
    assert not first.passed
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE

    resit = attempt_start(enrollment=enrollment, actor=enrollment.user)
    resit = attempt_submit(attempt_id=resit.pk, user=enrollment.user, answers=answers_scoring(resit))
    assert resit.passed
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.PASSED and enrollment.passed_at is not None
