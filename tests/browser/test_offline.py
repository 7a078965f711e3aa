"""Offline check-in (issue #23) on a phone: the trainee, logged in, opens the session's QR link at
the venue, sees the session and checks in with one tap; the programme page then shows the hours."""

import pytest
from django.test import Client
from django.urls import reverse

from learning.models import CheckInMethod, OfflineCheckIn
from tests.factories import EnrollmentFactory, OfflineSessionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_trainee_checks_in_by_scanning_on_a_phone(live_server, open_page):
    enrollment = EnrollmentFactory()
    session = OfflineSessionFactory(
        programme=enrollment.programme,
        title="安全生产法规线下面授（第一期）",
        place="市安全生产培训中心 301 室",
    )
    client = Client()
    client.force_login(enrollment.user)
    watched = open_page("phone")
    page = watched.page
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(live_server.url + reverse("learning:offline_checkin", args=[session.token]))
    assert session.title in page.inner_text("main") and session.place in page.inner_text("main")
    watched.assert_no_horizontal_scroll()
    button = page.locator("[data-checkin-button]")
    box = button.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    assert not OfflineCheckIn.objects.exists()  # opening the page changed nothing
    watched.screenshot("session")
    button.click()
    page.wait_for_selector("[data-checked-in]")
    checkin = OfflineCheckIn.objects.get()
    assert (checkin.enrollment_id, checkin.method) == (enrollment.pk, CheckInMethod.SCAN)
    watched.assert_no_horizontal_scroll()
    watched.screenshot("checked-in")
    page.goto(live_server.url + reverse("learning:enrollment_detail", args=[enrollment.pk]))
    row = page.locator(f"[data-offline-session='{session.pk}']")
    assert session.title in row.inner_text()
    assert page.locator("[data-hours-split]").count() == 1
    watched.assert_no_horizontal_scroll()
    watched.screenshot("programme")
