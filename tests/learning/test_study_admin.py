"""Admin: course content for course_admin, plan warnings, staff hours, the training record export."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from openpyxl import load_workbook

from learning import demo
from learning.models import Course, CoursePlan, Lesson, LessonProgress, RecordSource, StudyRecord
from learning.selectors.study import plans_hours
from learning.services.staff_hours import study_hours_record
from portal.models import AuditEntry
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    LessonFactory,
    ProgrammeFactory,
    StaffFactory,
    plan_with,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def course_admin(db):
    return StaffFactory(role="course_admin")


def test_course_admin_group_can_manage_content():
    group = Group.objects.get(name="course_admin")
    codes = set(group.permissions.values_list("codename", flat=True))
    assert {"add_course", "change_lesson", "change_courseplan", "record_hours", "view_studyrecord"} <= codes
    assert "change_studyrecord" not in codes


def test_course_admin_adds_a_lesson_in_admin(client, course_admin):
    course = CourseFactory()
    client.force_login(course_admin)
    response = client.post(
        reverse("admin:learning_lesson_add"),
        {"course": course.pk, "code": "new-lesson", "order": 1, "title": "新课", "kind": "html",
         "class_hours": "1.5", "body_html": "<p>正文</p>", "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Lesson.objects.get(code="new-lesson").class_hours == Decimal("1.5")
    missing = client.post(
        reverse("admin:learning_lesson_add"),
        {"course": course.pk, "code": "video-lesson", "order": 2, "title": "视频", "kind": "video",
         "class_hours": "1"},
    )  # fmt: skip
    assert missing.status_code == 200 and "video" in missing.context["adminform"].form.errors


def test_plan_admin_warns_when_hours_fall_short(client, course_admin):
    ProgrammeFactory(hours_initial=32)
    course = CourseFactory()
    LessonFactory(course=course, class_hours=Decimal("10"))
    plan_with(course)
    client.force_login(course_admin)
    response = client.get(reverse("admin:learning_courseplan_changelist"), follow=True)
    text = " ".join(str(m) for m in response.context["messages"])
    assert "10" in text and "32" in text


def test_staff_records_hours_with_reason_audited(client, course_admin):
    lesson = LessonFactory(class_hours=Decimal("2"))
    plan_with(lesson.course)
    enrollment = EnrollmentFactory()
    with pytest.raises(ValidationError):
        study_hours_record(enrollment=enrollment, lesson=lesson, minutes=30, reason=" ", actor=course_admin)
    reviewer = StaffFactory(role="reviewer")
    with pytest.raises(PermissionDenied):
        study_hours_record(enrollment=enrollment, lesson=lesson, minutes=30, reason="x", actor=reviewer)
    client.force_login(course_admin)
    url = reverse("admin:learning_enrollment_record_hours", args=[enrollment.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"enrollment": enrollment.pk, "lesson": lesson.pk, "minutes": 200, "reason": "3月2日课堂培训"}
    )
    assert response.status_code == 302
    record = StudyRecord.objects.get(enrollment=enrollment)
    assert record.source == RecordSource.STAFF and record.actor == course_admin
    assert record.credited_ms == 90 * 60_000  # capped at the lesson's 2 class hours
    assert LessonProgress.objects.get(enrollment=enrollment, lesson=lesson).completed_at is not None
    assert AuditEntry.objects.filter(action="study.hours_recorded", reason="3月2日课堂培训").exists()
    again = client.post(
        url, {"enrollment": enrollment.pk, "lesson": lesson.pk, "minutes": 10, "reason": "再次"}
    )
    assert again.status_code == 200 and again.context["form"].errors


def test_training_record_visible_and_exportable(client, course_admin):
    lesson = LessonFactory(class_hours=Decimal("2"))
    plan_with(lesson.course)
    enrollment = EnrollmentFactory()
    study_hours_record(
        enrollment=enrollment, lesson=lesson, minutes=30, reason="课堂培训", actor=course_admin
    )
    client.force_login(course_admin)
    changelist = client.get(reverse("admin:learning_studyrecord_changelist"))
    assert changelist.status_code == 200 and enrollment.trainee.name in changelist.content.decode()
    listing = client.get(reverse("admin:learning_enrollment_changelist"))
    assert "0.6 / 32" in listing.content.decode()
    change = client.get(reverse("admin:learning_enrollment_change", args=[enrollment.pk])).content.decode()
    assert (
        "0.6" in change and reverse("admin:learning_enrollment_record_hours", args=[enrollment.pk]) in change
    )
    for action, check in [("export_record_xlsx", "xlsx"), ("export_record_csv", "csv")]:
        response = client.post(
            reverse("admin:learning_enrollment_changelist"),
            {"action": action, "_selected_action": [enrollment.pk]},
        )
        assert response.status_code == 200
        if check == "xlsx":
            sheet = load_workbook(io.BytesIO(response.content)).active
            rows = list(sheet.values)
        else:
            rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert len(rows) == 2 and rows[1][0] == enrollment.trainee.name and "课堂培训" in rows[1][-1]
        assert float(rows[1][9]) == 30.0


def test_training_record_lists_the_exam_attempts_beside_the_study(client, course_admin):
    from exams.models import Attempt, AttemptStatus
    from tests.factories import template_make

    lesson = LessonFactory(class_hours=Decimal("2"))
    plan_with(lesson.course)
    enrollment = EnrollmentFactory()
    other = EnrollmentFactory()
    study_hours_record(
        enrollment=enrollment, lesson=lesson, minutes=30, reason="课堂培训", actor=course_admin
    )
    template = template_make(name="主要负责人初训考试")
    opened = enrollment.opened_at
    Attempt.objects.create(
        enrollment=enrollment,
        template=template,
        number=1,
        status=AttemptStatus.SUBMITTED,
        started_at=opened + timedelta(days=3),
        deadline=opened + timedelta(days=3, hours=2),
        submitted_at=opened + timedelta(days=3, hours=1),
        total_points=Decimal("100"),
        pass_mark=Decimal("60"),
        score=Decimal("55.5"),
        passed=False,
    )
    Attempt.objects.create(
        enrollment=enrollment,
        template=template,
        number=2,
        started_at=opened + timedelta(days=4),
        deadline=opened + timedelta(days=4, hours=2),
        pass_mark=Decimal("60"),
    )
    Attempt.objects.create(
        enrollment=other, template=template, number=1, deadline=opened + timedelta(hours=2), pass_mark=60
    )
    client.force_login(course_admin)
    response = client.post(
        reverse("admin:learning_enrollment_changelist"),
        {"action": "export_record_csv", "_selected_action": [enrollment.pk]},
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]
    # oldest first: the staff entry (now), then the two attempts; the other trainee's attempt not
    assert [(row[7], row[8], row[9], row[10], row[11]) for row in rows] == [
        (
            "工作人员登记",
            f"{lesson.course.title} / {lesson.title}",
            "30.0",
            "是",
            f"已确认 · {course_admin} · 课堂培训",
        ),
        ("考试", "主要负责人初训考试", "", "", "第 1 次考试 · 55.5 分（满分 100 分） · 及格分 60 · 不及格"),
        ("考试", "主要负责人初训考试", "", "", "第 2 次考试 · 进行中"),
    ]


def test_demo_content_loads_idempotently():
    assert demo.content_load() == (8, 21, 4)
    assert demo.content_load() == (8, 21, 4)
    assert Course.objects.count() == 8 and Lesson.objects.count() == 21 and CoursePlan.objects.count() == 4
    hours = plans_hours()
    for (certificate_type, category), ms in hours.items():
        needed = 32 if category == "initial" else 12
        assert ms >= needed * 45 * 60_000, (certificate_type, category)


def test_course_page_inline_edits_lessons(client, course_admin):
    lesson = LessonFactory(class_hours=Decimal("1"))
    client.force_login(course_admin)
    url = reverse("admin:learning_course_change", args=[lesson.course.pk])
    assert client.get(url).status_code == 200
    course = lesson.course
    data = {
        "code": course.code, "title": course.title, "description": "", "order": course.order, "is_active": "on",
        "lessons-TOTAL_FORMS": 1, "lessons-INITIAL_FORMS": 1, "lessons-MIN_NUM_FORMS": 0,
        "lessons-MAX_NUM_FORMS": 1000, "lessons-0-id": lesson.pk, "lessons-0-course": course.pk,
        "lessons-0-order": 3, "lessons-0-code": lesson.code, "lessons-0-title": lesson.title,
        "lessons-0-kind": "html", "lessons-0-class_hours": "2.5", "lessons-0-is_active": "on",
    }  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 302
    lesson.refresh_from_db()
    assert lesson.class_hours == Decimal("2.5") and lesson.order == 3
