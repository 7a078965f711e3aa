"""The project page (learning tasks), the lesson page, lesson files with range requests, ownership."""

import datetime
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.urls import reverse

from learning.models import LessonProgress
from learning.sanitize import lesson_html
from tests.factories import CourseFactory, EnrollmentFactory, LessonFactory, plan_with

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def plan(db):
    law = CourseFactory(title="安全生产法律法规")
    first = LessonFactory(course=law, title="安全生产法概述", class_hours=Decimal("2"))
    second = LessonFactory(course=law, title="法律责任", class_hours=Decimal("3"))
    site = CourseFactory(title="作业现场安全")
    third = LessonFactory(course=site, title="动火作业", class_hours=Decimal("2"))
    plan_with(law, site)
    return first, second, third


def test_project_page_lists_tasks_with_hours_status_and_start(client, plan, django_assert_max_num_queries):
    first, second, third = plan
    enrollment = EnrollmentFactory()
    LessonProgress.objects.create(enrollment=enrollment, lesson=first, credited_ms=2 * 45 * 60_000)
    LessonProgress.objects.create(enrollment=enrollment, lesson=second, credited_ms=45 * 60_000)
    client.force_login(enrollment.user)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("learning:enrollment_detail", args=[enrollment.pk]))
    html = response.content.decode()
    assert "学习任务" in html and "开始学习" in html
    assert "安全生产法律法规" in html and "动火作业" in html
    assert f'data-lesson="{first.code}" data-state="done"' in html
    assert f'data-lesson="{second.code}" data-state="in_progress"' in html
    assert f'data-lesson="{third.code}" data-state="not_started"' in html
    study = response.context["study"]
    assert study.hours_done == Decimal("3.0") and study.required_hours == 32
    assert [str(c.hours_done) for c in study.courses] == ["3.0", "0.0"]
    # the big "start studying" button goes to the first unfinished lesson
    assert reverse("learning:lesson", args=[enrollment.pk, second.pk]) in html


def test_centre_shows_study_step(client, plan):
    enrollment = EnrollmentFactory()
    client.force_login(enrollment.user)
    html = client.get(reverse("learning:centre")).content.decode()
    step = re.search(r'data-step="study">(.*?)</li>', html, re.S).group(1)
    assert '<div class="fw-semibold">课程学习</div>' in step
    assert '<span class="small">已完成 0.0 / 32 学时</span>' in step


def test_lesson_page_renders_sanitised_text_and_study_script(client, plan):
    first = plan[0]
    first.body_html = '<h2>标题</h2><p onclick="x()">正文</p><script>alert(1)</script><img src=x onerror=y>'
    first.save()
    enrollment = EnrollmentFactory()
    client.force_login(enrollment.user)
    response = client.get(reverse("learning:lesson", args=[enrollment.pk, first.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h2>标题</h2>" in html and "正文" in html
    assert "alert(1)" not in html and "onclick" not in html and "onerror" not in html
    assert "learning/study.js" in html and 'id="presence-modal"' in html
    assert "<script>" not in html.replace('<script src="', "")


def test_sanitiser_keeps_tables_and_drops_dangerous_links():
    cleaned = str(
        lesson_html('<table><tr><td colspan="2">x</td></tr></table><a href="javascript:evil()">y</a>')
    )
    assert '<td colspan="2">x</td>' in cleaned and "javascript" not in cleaned


def test_other_trainees_urls_give_404(client, plan):
    first = plan[0]
    mine = EnrollmentFactory()
    theirs = EnrollmentFactory()
    client.force_login(mine.user)
    assert client.get(reverse("learning:enrollment_detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("learning:lesson", args=[theirs.pk, first.pk])).status_code == 404
    assert client.post(reverse("learning:lesson_start", args=[theirs.pk, first.pk])).status_code == 404
    assert (
        client.get(reverse("learning:lesson_media", args=[theirs.pk, first.pk, "video"])).status_code == 404
    )
    # a lesson outside one's own plan
    outside = LessonFactory()
    assert client.get(reverse("learning:lesson", args=[mine.pk, outside.pk])).status_code == 404


VIDEO = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture
def video_lesson(db):
    lesson = LessonFactory(kind="video", video_duration_seconds=60, body_html="")
    lesson.video.save("clip.mp4", ContentFile(VIDEO))
    plan_with(lesson.course)
    return lesson


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_video_is_served_with_range_requests(client, video_lesson):
    enrollment = EnrollmentFactory()
    client.force_login(enrollment.user)
    url = reverse("learning:lesson_media", args=[enrollment.pk, video_lesson.pk, "video"])
    whole = client.get(url)
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes" and _body(whole) == VIDEO
    assert whole["Content-Type"] == "video/mp4"
    part = client.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{len(VIDEO)}" and part["Content-Length"] == "100"
    assert _body(part) == VIDEO[100:200]
    tail = client.get(url, HTTP_RANGE="bytes=-16")
    assert tail.status_code == 206 and _body(tail) == VIDEO[-16:]
    open_ended = client.get(url, HTTP_RANGE="bytes=10000-")
    assert (
        _body(open_ended) == VIDEO[10000:]
        and open_ended["Content-Range"] == f"bytes 10000-10239/{len(VIDEO)}"
    )
    beyond = client.get(url, HTTP_RANGE="bytes=99999-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(VIDEO)}"


def test_lesson_page_fits_a_phone(client, video_lesson):
    enrollment = EnrollmentFactory()
    client.force_login(enrollment.user)
    html = client.get(reverse("learning:lesson", args=[enrollment.pk, video_lesson.pk])).content.decode()
    assert "playsinline" in html and 'class="w-100"' in html and "ratio-16x9" in html


def test_expired_enrollment_lesson_page_says_so(client, plan):
    with time_machine.travel(START, tick=False) as clock:
        enrollment = EnrollmentFactory()
        clock.shift(datetime.timedelta(days=40))
        client.force_login(enrollment.user)
        html = client.get(reverse("learning:lesson", args=[enrollment.pk, plan[0].pk])).content.decode()
        assert 'data-can-study="0"' in html


def test_pdf_lesson_can_be_framed_by_the_lesson_page_only(client):
    lesson = LessonFactory(kind="document", body_html="")
    lesson.document.save("notes.pdf", ContentFile(b"%PDF-1.4 demo"))
    plan_with(lesson.course)
    enrollment = EnrollmentFactory()
    client.force_login(enrollment.user)
    page = client.get(reverse("learning:lesson", args=[enrollment.pk, lesson.pk])).content.decode()
    url = reverse("learning:lesson_media", args=[enrollment.pk, lesson.pk, "document"])
    assert f'src="{url}"' in page
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert _body(response) == b"%PDF-1.4 demo"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    assert (
        client.get(reverse("learning:lesson_media", args=[enrollment.pk, lesson.pk, "other"])).status_code
        == 404
    )


def test_lesson_page_says_how_long_to_stay_in_minutes(client, plan):
    second = plan[1]  # 3 class hours = 135 minutes
    enrollment = EnrollmentFactory()
    LessonProgress.objects.create(enrollment=enrollment, lesson=second, credited_ms=45 * 60_000 + 30_000)
    client.force_login(enrollment.user)
    html = client.get(reverse("learning:lesson", args=[enrollment.pk, second.pk])).content.decode()
    assert "本课时计 3 学时：需要在本页学习共 135 分钟（还需 90 分钟）。" in html
    assert '<strong id="study-minutes">45</strong> / 135 分钟' in html
    assert '<p class="mb-0 mt-1 fw-semibold" id="study-left">还需学习 90 分钟</p>' in html
    assert 'class="card mb-3 study-bar" id="study-bar"' in html  # sticky (study.css)
    # the words study.js needs: minutes left, the screen kept awake or the hint where it cannot be
    assert 'data-text-left="还需学习 %(minutes)s 分钟"' in html
    assert 'data-text-wake-off="此浏览器无法保持屏幕常亮' in html
    assert 'id="study-removed"' in html and "本课时未计入的学习时间" in html


def test_lesson_page_in_english(client, plan):
    second = plan[1]
    enrollment = EnrollmentFactory()
    client.force_login(enrollment.user)
    client.cookies["django_language"] = "en"
    html = client.get(
        reverse("learning:lesson", args=[enrollment.pk, second.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "stay on this page, studying, for 135 minutes in all (135 minutes still needed)" in html
    assert 'data-text-left="%(minutes)s minutes still needed"' in html


def test_lesson_page_explains_time_taken_off_while_away(client, plan, settings):
    """A presence check missed after the learner left (the overdue sweep): the page says when, how
    many minutes and why."""
    from learning.services.study import presence_overdue_sweep

    from .study import Learner

    settings.LEARNING_PRESENCE_MIN_MINUTES = 5
    settings.LEARNING_PRESENCE_MAX_MINUTES = 5
    second = plan[1]
    with time_machine.travel(START, tick=False) as clock:
        enrollment = EnrollmentFactory()
        client.force_login(enrollment.user)
        me = Learner(client, enrollment, second, clock=clock, answer_checks=False)
        me.start()
        me.study(5 * 60)
        assert me.responses[-1].json()["presence"]
        clock.shift(datetime.timedelta(minutes=5))
        assert presence_overdue_sweep() == 1
        html = client.get(reverse("learning:lesson", args=[enrollment.pk, second.pk])).content.decode()
    assert '<strong id="study-minutes">0</strong> / 135 分钟' in html
    removed = re.search(r'<ul class="mb-0 small" id="study-removed-list">(.*?)</ul>', html, re.S).group(1)
    assert "2026年3月2日 09:10：未按时完成在岗确认，5.0 分钟的学习时间未计入。" in " ".join(removed.split())
