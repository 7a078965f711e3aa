import io

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from openpyxl import load_workbook

from exams import services
from exams.models import ExamTemplate, Question
from tests.factories import QuestionFactory, StaffFactory, studied_enrollment_make, template_make

from .helpers import answers_scoring

pytestmark = pytest.mark.django_db


@pytest.fixture
def course_admin(client):
    user = StaffFactory(role="course_admin")
    client.force_login(user)
    return client


def test_course_admin_group_has_the_bank_permissions():
    perms = set(Group.objects.get(name="course_admin").permissions.values_list("codename", flat=True))
    assert {
        "add_question",
        "change_question",
        "add_examtemplate",
        "view_attempt",
        "view_exam_statistics",
    } <= perms
    assert "change_attempt" not in perms


def test_question_add_with_letters(course_admin):
    response = course_admin.post(
        reverse("admin:exams_question_add"),
        {
            "code": "a-1",
            "qtype": "multiple",
            "topic": "fire",
            "stem": "灭火的基本方法有哪些？",
            "for_principal": "on",
            "options_text": "冷却\n窒息\n隔离\n助燃",
            "answer_letters": "ABC",
            "explanation": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    question = Question.objects.get(code="a-1")
    assert question.options == ["冷却", "窒息", "隔离", "助燃"] and question.answer == [0, 1, 2]
    bad = course_admin.post(
        reverse("admin:exams_question_add"),
        {
            "code": "a-2",
            "qtype": "single",
            "topic": "fire",
            "stem": "x",
            "options_text": "甲\n乙",
            "answer_letters": "AB",
        },
    )
    assert bad.status_code == 200 and not Question.objects.filter(code="a-2").exists()


def test_question_changelist_with_stats_has_bounded_queries(
    course_admin, template, django_assert_max_num_queries
):
    enrollment = studied_enrollment_make()
    attempt = services.attempt_start(enrollment=enrollment)
    services.attempt_submit(
        attempt_id=attempt.pk, user=enrollment.user, answers=answers_scoring(attempt, wrong=2)
    )
    QuestionFactory.create_batch(20)
    with django_assert_max_num_queries(12):
        response = course_admin.get(reverse("admin:exams_question_changelist"))
    assert response.status_code == 200
    assert reverse("admin:exams_question_import") in response.content.decode()


def test_import_through_admin(course_admin):
    template = course_admin.get(reverse("admin:exams_question_import_template"))
    assert template.status_code == 200
    book = load_workbook(io.BytesIO(template.content))
    assert book.worksheets[0].cell(1, 1).value == "编号"
    upload = io.BytesIO(template.content)
    upload.name = "questions.xlsx"
    response = course_admin.post(reverse("admin:exams_question_import"), {"file": upload})
    assert response.status_code == 302
    assert Question.objects.count() == 2
    sheet = book.worksheets[0]
    sheet.cell(2, 2).value = "问答"
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "bad.xlsx"
    response = course_admin.post(reverse("admin:exams_question_import"), {"file": out})
    assert response.status_code == 200 and "第 2 行" in response.content.decode()


def test_import_of_a_file_that_is_no_workbook_shows_the_reason_on_the_file_field(course_admin):
    upload = io.BytesIO(b"code,stem\n1,2\n")
    upload.name = "questions.xlsx"
    response = course_admin.post(reverse("admin:exams_question_import"), {"file": upload})
    assert response.status_code == 200
    assert response.context["errors"] == []
    assert response.context["form"].errors == {
        "file": [
            "无法读取该文件：它已损坏或不是 Excel 工作簿（.xlsx）。请用 Excel 或 WPS 打开，"
            "另存为“Excel 工作簿（*.xlsx）”后重新上传。"
        ]
    }
    assert not Question.objects.exists()


def test_template_admin_warns_when_the_bank_is_too_small(course_admin, django_assert_max_num_queries):
    QuestionFactory.create_batch(3)
    template = template_make()
    with django_assert_max_num_queries(12):
        response = course_admin.get(reverse("admin:exams_examtemplate_changelist"))
    assert "需要 5 道，题库仅有 3 道" in response.content.decode()
    response = course_admin.get(reverse("admin:exams_examtemplate_change", args=[template.pk]))
    assert "题库题量不足" in response.content.decode()
    assert ExamTemplate.objects.count() == 1


def test_attempts_and_statistics(course_admin, template, django_assert_max_num_queries):
    for wrong in (0, 3, 5):
        enrollment = studied_enrollment_make()
        attempt = services.attempt_start(enrollment=enrollment)
        services.attempt_submit(
            attempt_id=attempt.pk, user=enrollment.user, answers=answers_scoring(attempt, wrong=wrong)
        )
    with django_assert_max_num_queries(12):
        response = course_admin.get(reverse("admin:exams_attempt_changelist"))
    assert response.status_code == 200
    with django_assert_max_num_queries(10):
        stats = course_admin.get(reverse("admin:exams_examstatistics_changelist"))
    content = stats.content.decode()
    assert stats.status_code == 200 and "各培训项目合格率" in content and "错误率最高的试题" in content
    assert "100.0%" in content  # one trainee per programme; the first passed


def test_statistics_need_the_permission(client):
    client.force_login(StaffFactory(role="finance"))
    assert client.get(reverse("admin:exams_examstatistics_changelist")).status_code == 403
