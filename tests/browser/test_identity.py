"""The identity check in a real browser (issue #23): Chromium's fake camera plays a Y4M video made
from scikit-image's astronaut (the registered trainee, moving a little); the page takes two frames a
second apart, the server compares them with the registered photo, the page shows the result."""

import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from learning.models import IdentityCheck, IdentityDecision, ProgrammeStudyRule
from registration.models import Consent, ConsentKind
from tests.factories import EnrollmentFactory
from tests.factories.faces import ASTRONAUT_PHOTO_BOX, astronaut, face_photo_bytes

from .conftest import CHROMIUM

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH, HEIGHT, FRAMES = 320, 360, 20


def _y4m(path: Path) -> Path:
    """A 2-second 10 fps Y4M (4:2:0) of the astronaut's head moving sideways (a live camera)."""
    left, top, right, bottom = ASTRONAUT_PHOTO_BOX
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for index in range(FRAMES):
            dx = abs(index - FRAMES // 2) - 5  # back and forth
            frame = (
                astronaut().crop((left - 40 + dx, top, right + 40 + dx, bottom + 30)).resize((WIDTH, HEIGHT))
            )
            y, cb, cr = frame.convert("YCbCr").split()
            out.write(b"FRAME\n")
            out.write(y.tobytes())
            out.write(cb.resize((WIDTH // 2, HEIGHT // 2)).tobytes())
            out.write(cr.resize((WIDTH // 2, HEIGHT // 2)).tobytes())
    return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory, playwright_driver):
    """Chromium with a fake camera playing the astronaut video (no permission prompt)."""
    video = _y4m(tmp_path_factory.mktemp("camera") / "astronaut.y4m")
    browser = playwright_driver.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    yield browser
    browser.close()


def _wait(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


@pytest.mark.parametrize("viewport_name", ["phone"])
def test_consent_then_a_camera_check_passes(live_server, open_page, viewport_name):
    enrollment = EnrollmentFactory()
    enrollment.trainee.photo.save("photo.jpg", ContentFile(face_photo_bytes()), save=True)
    ProgrammeStudyRule.objects.create(
        programme=enrollment.programme, daily_cap_hours=Decimal(8), identity_mode="face"
    )
    client = Client()
    client.force_login(enrollment.user)
    watched = open_page(viewport_name)
    page = watched.page
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.context.grant_permissions(["camera"], origin=live_server.url)
    page.goto(f"{live_server.url}/learning/enrollments/{enrollment.pk}/identity/")
    assert "face" in page.inner_text("#identity-consent-text") or "人脸" in page.inner_text(
        "#identity-consent-text"
    )
    watched.screenshot("choice")
    watched.assert_no_horizontal_scroll()
    page.click("[data-choose-face]")
    page.wait_for_selector("#identity-video")
    assert Consent.objects.filter(trainee=enrollment.trainee, kind=ConsentKind.FACE_RECOGNITION).exists()
    page.wait_for_selector("#identity-capture:not([disabled])")
    assert _wait(lambda: page.evaluate("document.getElementById('identity-video').videoWidth") > 0)
    watched.screenshot("camera")
    watched.assert_no_horizontal_scroll()
    box = page.locator("#identity-capture").bounding_box()
    assert box["height"] >= 44
    page.click("#identity-capture")
    assert _wait(lambda: IdentityCheck.objects.filter(decision=IdentityDecision.PASSED).exists()), list(
        IdentityCheck.objects.values("decision", "failure", "distance", "frames_difference")
    )
    check = IdentityCheck.objects.get()
    assert check.distance < 0.6 and check.liveness_passed is True
    page.wait_for_selector("#identity-status.alert-success")
    watched.screenshot("passed")


@pytest.mark.parametrize("viewport_name", ["phone"])
def test_sms_exam_check_takes_a_photo_and_the_code(live_server, open_page, viewport_name, sms_outbox):
    """The SMS alternative at the exam: one camera photo (for staff, not compared) and the code."""
    enrollment = EnrollmentFactory()
    enrollment.trainee.photo.save("photo.jpg", ContentFile(face_photo_bytes()), save=True)
    ProgrammeStudyRule.objects.create(
        programme=enrollment.programme, daily_cap_hours=Decimal(8), identity_mode="sms"
    )
    client = Client()
    client.force_login(enrollment.user)
    watched = open_page(viewport_name)
    page = watched.page
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.context.grant_permissions(["camera"], origin=live_server.url)
    page.goto(f"{live_server.url}/learning/enrollments/{enrollment.pk}/identity/?context=exam")
    page.wait_for_selector("#identity-photo:not([disabled])")
    assert _wait(lambda: page.evaluate("document.getElementById('identity-video').videoWidth") > 0)
    watched.assert_no_horizontal_scroll()
    assert page.locator("#identity-photo").bounding_box()["height"] >= 44
    page.click("#identity-photo")
    page.wait_for_selector("#identity-status.alert-success")
    check = IdentityCheck.objects.get()
    assert check.snapshot and not check.snapshot_second
    watched.screenshot("exam-photo")
    page.fill("#identity-code", sms_outbox[-1].params["code"])
    page.click("#identity-code-submit")
    assert _wait(lambda: IdentityCheck.objects.filter(decision=IdentityDecision.PASSED).exists())
    check.refresh_from_db()
    assert check.photo_review == "waiting" and check.distance is None
