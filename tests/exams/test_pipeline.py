"""Exams together with the real learning rules (no monkeypatching): the exam unlocks only when the
plan's hours are credited, a fail offers a resit, a pass moves the enrollment to "passed"."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from exams.selectors import exam_access
from exams.services import attempt_start, attempt_submit
from learning.models import Course, CoursePlan, EnrollmentStatus, Lesson
from learning.services import study_hours_record
from tests.portal.factories import StaffFactory

from .helpers import answers_scoring

pytestmark = pytest.mark.django_db


@pytest.fixture
def exam_unlock():  # overrides the conftest's monkeypatch: the real learning rule applies here
    return None


@pytest.fixture
def mark_passed():
    return None


def _plan(enrollment) -> list[Lesson]:
    trainee = enrollment.trainee
    course = Course.objects.create(code="law", title="安全生产法")
    lessons = [
        Lesson.objects.create(
            course=course, code=f"law-{i}", order=i, title=f"第 {i} 讲", class_hours=Decimal(16)
        )
        for i in (1, 2)
    ]
    plan = CoursePlan.objects.create(
        certificate_type=trainee.certificate_type, training_category=trainee.training_category
    )
    plan.courses.add(course)
    return lessons


def test_exam_unlocks_at_the_hours_then_fail_resit_pass(enrollment, template):
    lessons = _plan(enrollment)
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
