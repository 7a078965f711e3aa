"""The review queue in the browser (issue #20 point 4): at 1366 px the attachments sit side by side;
approve by keyboard, keys inert while typing, return with a preset reason, then "queue empty"."""

import datetime

from django.utils import timezone

from registration.models import ReturnReason, Trainee, TraineeStatus
from tests.factories import PASSWORD, CompleteTraineeFactory, StaffFactory

QUEUE = "/admin/registration/trainee/review-queue/"


def _login(page, live_server, staff):
    page.goto(live_server.url + "/admin/login/")
    page.locator("#id_username").fill(staff.mobile)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(live_server.url + "/admin/")


def _shown(page) -> str:
    return page.locator("#review-queue-trainee").inner_text()


def test_review_queue_by_keyboard(live_server, open_page):
    now = timezone.now()
    first, second, third = (
        CompleteTraineeFactory(name=name, status_changed_at=now - datetime.timedelta(hours=hours))
        for name, hours in (("甲审核", 30), ("乙审核", 20), ("丙审核", 10))
    )
    preset, _new = ReturnReason.objects.get_or_create(
        text="照片背景不是纯色，请重新上传", defaults={"order": 0}
    )
    reviewer = StaffFactory(role="reviewer")
    staff = open_page("desktop")
    page = staff.page
    _login(page, live_server, reviewer)
    page.goto(live_server.url + QUEUE)
    assert first.name in _shown(page)
    # Attachment 2 (with the photo and ID copies) and attachment 1 side by side, no sideways scroll.
    left, right = (box.bounding_box() for box in page.locator(".review-queue-paper").all())
    assert abs(left["y"] - right["y"]) < 2 and right["x"] >= left["x"] + left["width"]
    assert page.locator(".review-queue-paper .paper-thumb-id").count() == 2
    staff.assert_no_horizontal_scroll()
    staff.screenshot("first in the queue")

    with page.expect_navigation():
        page.keyboard.press("a")
    assert second.name in _shown(page)
    assert Trainee.objects.get(pk=first.pk).status == TraineeStatus.APPROVED

    # Keys typed into the reason field are text, not decisions.
    reason = page.locator("textarea[name=reason]")
    reason.click()
    page.keyboard.type("xa")
    assert reason.input_value() == "xa" and second.name in _shown(page)
    reason.fill("")
    page.keyboard.press("Escape")  # leaves the field: the keys work again
    assert not page.locator("#review-queue-hint").is_visible()
    # "r" without a reason only shows the hint; with a preset ticked it returns the registration.
    page.keyboard.press("r")
    assert page.locator("#review-queue-hint").is_visible()
    assert Trainee.objects.get(pk=second.pk).status == TraineeStatus.SUBMITTED
    page.get_by_label(preset.text).check()
    staff.screenshot("preset reason ticked")
    with page.expect_navigation():
        page.keyboard.press("r")
    second.refresh_from_db()
    assert (second.status, second.status_reason) == (TraineeStatus.RETURNED, preset.text)
    assert third.name in _shown(page)

    with page.expect_navigation():
        page.locator("button[value=approve]").click()
    assert page.locator("#review-queue-empty").is_visible()
    assert "队列已空" in page.locator("#review-queue-empty").inner_text()
    assert Trainee.objects.get(pk=third.pk).status == TraineeStatus.APPROVED
    staff.screenshot("queue empty")


def test_review_queue_on_a_phone_stacks_the_attachments(live_server, open_page):
    CompleteTraineeFactory(name="丁审核")
    reviewer = StaffFactory(role="reviewer")
    phone = open_page("phone")
    _login(phone.page, live_server, reviewer)
    phone.page.goto(live_server.url + QUEUE)
    top, bottom = (box.bounding_box() for box in phone.page.locator(".review-queue-paper").all())
    assert bottom["y"] >= top["y"] + top["height"]
    for button in phone.page.locator(".review-queue-buttons .button").all():
        assert button.bounding_box()["height"] >= 44
    phone.assert_no_horizontal_scroll()
    phone.screenshot("review queue on a phone")
