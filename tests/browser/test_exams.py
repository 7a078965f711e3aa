"""The exam page in a real browser (phone and desktop): autosave, answer sheet, reload, confirmation."""

import pytest
from django.test import Client

from exams import services
from exams.models import AttemptQuestion
from tests.exams.helpers import studied_enrollment_make
from tests.factories import bank_make, template_make

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
