"""The exam page in a real browser (phone and desktop): autosave, answer sheet, reload, confirmation."""

import pytest
from django.test import Client

from exams import services
from exams.models import AttemptQuestion
from tests.factories import bank_make, studied_enrollment_make, template_make

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_exam_page_saves_answers_and_confirms_submission(live_server, open_page, viewport_name):
    bank_make()
    template_make()
    enrollment = studied_enrollment_make()  # the plan's hours credited: the exam is unlocked
    attempt = services.attempt_start(enrollment=enrollment)
    client = Client()
    client.force_login(enrollment.user)
    watched = open_page(viewport_name)
    page = watched.page
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/exams/a/{attempt.pk}/")
    watched.assert_no_horizontal_scroll()
    watched.screenshot("paper")
    # Answer question 1 by its label: saved on the server, the sheet turns green.
    page.locator("label[for='q1-0']").click()
    expect(page.locator("#save-status")).to_contain_text("答案已保存")  # no eval: the page has a CSP
    assert AttemptQuestion.objects.get(attempt=attempt, position=1).answer == [0]
    assert "btn-success" in (page.locator(".sheet-item[data-position='1']").get_attribute("class") or "")
    assert page.locator("#answered-count").inner_text() == "1"
    # A reload resumes with the answer.
    page.reload()
    assert page.locator("#q1-0").is_checked()
    # The answer sheet: a panel on a phone; jump to question 5.
    if viewport_name == "phone":
        assert not page.locator("#answer-sheet").is_visible()
        page.get_by_role("button", name="答题卡").click()
        page.wait_for_selector("#answer-sheet.show")
    page.locator(".sheet-item[data-position='5']").click()
    expect(page.locator("#q5")).to_be_focused()
    # 确认交卷 lists the unanswered questions and does not submit.
    page.locator("#submit-button").click()
    page.wait_for_selector("#confirm-modal.show")
    text = page.locator("#confirm-unanswered").inner_text()
    assert "以下题目尚未作答" in text and "2, 3" in text
    assert page.locator("#confirm-submit").is_disabled()
    watched.screenshot("confirm")
    attempt.refresh_from_db()
    assert attempt.status == "in_progress"


def test_locked_exam_page_and_practice_answers_on_a_phone(live_server, open_page, viewport_name):
    """Locked: the hours done and still needed, and 去学习 back to the learning tasks. Practice: each
    option a full-width target at least 44 px tall; a wrong choice red and marked ✗ in words."""
    bank_make()
    template_make()
    enrollment = studied_enrollment_make(lessons_done=1)
    client = Client()
    client.force_login(enrollment.user)
    watched = open_page(viewport_name)
    page = watched.page
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/exams/e/{enrollment.pk}/")
    watched.assert_no_horizontal_scroll()
    expect(page.locator("#hours-left")).to_have_text("16.0 学时（1 节课未完成）")
    watched.screenshot("locked")
    page.get_by_role("link", name="练习题").click()
    page.goto(f"{live_server.url}/exams/e/{enrollment.pk}/practice/?mode=sequential")
    form_width = page.locator("fieldset").bounding_box()["width"]
    for label in page.locator(".practice-option label").all():
        box = label.bounding_box()
        assert box["height"] >= 44 and box["width"] >= form_width - 40, box
    question = page.locator("input[name='question']").get_attribute("value")
    from exams.models import Question

    answer = Question.objects.get(pk=question).answer
    wrong = next(i for i in range(page.locator(".practice-option").count()) if i not in answer)
    page.locator(f"label[for='choice-{wrong}']").click()  # the whole row is the target
    assert page.locator(f"#choice-{wrong}").is_checked()
    page.get_by_role("button", name="提交答案").click()
    chosen = page.locator(f".practice-option.is-wrong[data-option='{'ABCDEFGH'[wrong]}']")
    expect(chosen).to_contain_text("✗ 您的选择：错误")
    colour = chosen.locator("label").evaluate("e => getComputedStyle(e).borderTopColor")
    assert colour == "rgb(220, 53, 69)", colour  # Bootstrap's danger red
    watched.assert_no_horizontal_scroll()
    watched.screenshot("practice-wrong")
    page.goto(f"{live_server.url}/exams/e/{enrollment.pk}/")
    page.get_by_role("link", name="去学习").click()
    expect(page).to_have_url(f"{live_server.url}/learning/enrollments/{enrollment.pk}/")
