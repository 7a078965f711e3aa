"""The lesson page in a real browser (phone and desktop): heartbeats credit time, the presence check
modal confirms it, a second tab takes over."""

import re
import time
from decimal import Decimal

import pytest
from django.test import Client

from learning.models import LessonProgress, RecordStatus, StudyRecord
from tests.factories import EnrollmentFactory, LessonFactory, plan_with

pytestmark = pytest.mark.django_db(transaction=True)


def _wait(condition, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_lesson_page_credits_time_and_asks_for_presence(live_server, open_page, viewport_name, settings):
    settings.LEARNING_HEARTBEAT_SECONDS = 1
    settings.LEARNING_PRESENCE_MIN_MINUTES = 0
    settings.LEARNING_PRESENCE_MAX_MINUTES = 0
    lesson = LessonFactory(
        class_hours=Decimal("1"), body_html="<h2>安全生产法</h2>" + "<p>条文内容。</p>" * 30
    )
    plan_with(lesson.course)
    enrollment = EnrollmentFactory()
    client = Client()
    client.force_login(enrollment.user)
    watched = open_page(viewport_name)
    page = watched.page
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/learning/enrollments/{enrollment.pk}/")  # 我的项目: the learning tasks
    watched.assert_no_horizontal_scroll()
    watched.screenshot("project")
    page.get_by_role("link", name="开始学习").first.click()
    page.wait_for_selector("#study")
    watched.assert_no_horizontal_scroll()
    page.mouse.move(10, 10)
    # the first credited heartbeat brings the presence check (due at once in this test)
    page.wait_for_selector("#presence-modal.show")
    # the countdown's unit comes from the template's translated data attribute
    assert re.fullmatch(r"\d+ 秒", page.locator("#presence-countdown").inner_text())
    watched.screenshot("presence")
    page.get_by_role("button", name="我在学习").click()
    assert _wait(
        lambda: StudyRecord.objects.filter(enrollment=enrollment, status=RecordStatus.CONFIRMED).exists()
    )
    assert _wait(lambda: LessonProgress.objects.get(enrollment=enrollment).credited_ms >= 2000)
    watched.screenshot("studying")
    # a second tab takes over: the first one says so and stops
    second = open_page(viewport_name).page
    second.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    second.goto(page.url)
    assert _wait(lambda: "另一个窗口" in page.locator("#study-alert").inner_text())
    assert _wait(lambda: not page.locator("#presence-modal").is_visible())
    watched.screenshot("taken-over")
    # the refused heartbeat (409) is the expected answer here, not a problem of the page
    watched.problems[:] = [p for p in watched.problems if "409" not in p or "/study/heartbeat/" not in p]


def test_presence_answered_while_the_modal_fades_in_closes_it(live_server, open_page, settings):
    """Bootstrap ignores hide() during the show transition (0.3 s): an answer that comes back
    before the modal has finished fading in must still close it."""
    settings.LEARNING_HEARTBEAT_SECONDS = 1
    settings.LEARNING_PRESENCE_MIN_MINUTES = 0
    settings.LEARNING_PRESENCE_MAX_MINUTES = 0
    lesson = LessonFactory(class_hours=Decimal("1"), body_html="<p>条文内容。</p>")
    plan_with(lesson.course)
    enrollment = EnrollmentFactory()
    client = Client()
    client.force_login(enrollment.user)
    watched = open_page("desktop")
    page = watched.page
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    # the trainee answers the moment the modal starts to appear
    page.add_init_script(
        """document.addEventListener("show.bs.modal", function () {
             setTimeout(function () { document.getElementById("presence-confirm").click(); }, 0);
           });"""
    )

    def answer_with_no_further_check(route):
        settings.LEARNING_PRESENCE_MIN_MINUTES = settings.LEARNING_PRESENCE_MAX_MINUTES = 60
        route.continue_()

    page.route("**/learning/study/presence/", answer_with_no_further_check)
    with page.expect_response(lambda r: r.url.endswith("/learning/study/presence/")) as answer:
        page.goto(f"{live_server.url}/learning/enrollments/{enrollment.pk}/lessons/{lesson.pk}/")
        page.mouse.move(10, 10)
    assert answer.value.json()["code"] == "confirmed"
    page.wait_for_timeout(1500)  # the backdrop (0.15 s) and the modal (0.3 s) have finished fading in
    assert not page.locator("#presence-modal").is_visible()
    assert not page.locator(".modal-backdrop").count()
    assert StudyRecord.objects.filter(enrollment=enrollment, status=RecordStatus.CONFIRMED).exists()


def test_lesson_page_keeps_its_status_in_view_and_explains_time_taken_off(
    live_server, open_page, viewport_name, settings
):
    """The minutes still needed stay in view (sticky) while scrolling, the screen is kept awake (or
    the page says it cannot be), and time taken off after a missed presence check is explained."""
    settings.LEARNING_HEARTBEAT_SECONDS = 1
    settings.LEARNING_PRESENCE_MIN_MINUTES = 0
    settings.LEARNING_PRESENCE_MAX_MINUTES = 0
    settings.LEARNING_PRESENCE_ANSWER_SECONDS = 1
    lesson = LessonFactory(class_hours=Decimal("1"), body_html="<p>条文内容。</p>" * 120)
    plan_with(lesson.course)
    enrollment = EnrollmentFactory()
    client = Client()
    client.force_login(enrollment.user)
    watched = open_page(viewport_name)
    page = watched.page
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/learning/enrollments/{enrollment.pk}/lessons/{lesson.pk}/")
    assert "需要在本页学习共 45 分钟（还需 45 分钟）" in page.locator("#study-how-long").inner_text()
    assert page.locator("#study-left").inner_text() == "还需学习 45 分钟"
    page.mouse.move(10, 10)
    # Screen Wake Lock where the browser grants it, else the hint: either way the page says which
    assert _wait(lambda: page.locator("#study-wake").is_visible())
    assert "屏幕" in page.locator("#study-wake").inner_text()
    # the presence check is not answered: the time is taken off with the minutes and the reason
    page.wait_for_selector("#presence-modal.show")
    assert _wait(lambda: page.locator("#study-removed").is_visible(), seconds=25)
    removed = page.locator("#study-removed-list li").first.inner_text()
    assert re.fullmatch(r"\d\d:\d\d：未按时完成在岗确认：[\d.]+ 分钟的学习时间未计入。", removed), removed
    assert StudyRecord.objects.filter(enrollment=enrollment, status=RecordStatus.DISCARDED).exists()
    # scrolled to the end of the text, the status is still at the top of the screen
    settings.LEARNING_PRESENCE_MIN_MINUTES = settings.LEARNING_PRESENCE_MAX_MINUTES = 60
    assert _wait(lambda: not page.locator("#presence-modal").is_visible())
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(300)
    assert page.evaluate("window.scrollY") > 1000
    box = page.locator("#study-bar").bounding_box()
    assert box is not None and -1 <= box["y"] <= 2
    watched.screenshot("status-sticky")
