"""The platform guide (附件3), the FAQ and the footer's contacts on a phone, and the guide's screenshots.

(a) Always: the guide and the FAQ on a phone in Chinese and English: no horizontal scrolling, the
accessibility basics and axe-core, images sized before they load, the contacts in the footer by role with ``tel:`` links, tap targets of 44 px.

(b) With ``PORTAL_GUIDE_SCREENSHOTS=1`` (``make screenshots``): the screenshots of the real pages the
guide shows (log-in, personal centre, lesson, exam, certificate), on a phone, in zh-Hans and in
English, written to ``static/portal/guide/<language>/<name>.png``, and the README's phone pictures
of the guide and the programme list (``docs/screenshots/guide-phone.png``, ``programmes-phone.png``).
The state is built with the shared factories and the portal's demo courses and questions; the PNGs
are reduced to a 256-colour palette to stay small (tests/portal/test_guide.py checks them).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse
from PIL import Image

from certificates.services.issue import certificates_issue
from certificates.services.pdf import certificate_render
from exams.demo import questions_load, templates_load
from learning.demo import content_load
from portal.models import ContactRole
from portal.selectors import GUIDE_SHOT_NAMES, GUIDE_SHOT_SIZE
from tests.browser.a11y import (
    assert_accessible_basics,
    assert_axe_clean,
    assert_fits_viewport,
    assert_images_sized,
    assert_tap_targets,
)
from tests.browser.conftest import VIEWPORTS
from tests.browser.walk_certificates import issuer_configure
from tests.factories import (
    ContactFactory,
    FaqEntryFactory,
    ProgrammeFactory,
    passed_enrollment_make,
    studied_enrollment_make,
)

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
GUIDE_STATIC = ROOT / "static" / "portal" / "guide"
DOCS = ROOT / "docs" / "screenshots"
WRITE_SCREENSHOTS = os.environ.get("PORTAL_GUIDE_SCREENSHOTS") == "1"
LANGUAGES = {"zh-hans": "zh-hans", "en": "en"}  # page language -> folder
PROGRAMME_NAME = "2026年度生产经营单位主要负责人和安全生产管理人员线上培训"


def _contacts() -> None:
    ContactFactory(role=ContactRole.TECHNICAL, name="姚老师", phone="020-00000001", order=1)
    ContactFactory(role=ContactRole.REGISTRATION, name="王老师", phone="020-00000002", order=2)
    ContactFactory(role=ContactRole.REGISTRATION, name="翁老师", phone="020-00000003", order=3)


def _language(page, live_server, language: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])


def _login(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_guide_and_faq_on_a_phone_with_the_contacts(live_server, open_page, language):
    _contacts()
    FaqEntryFactory(
        topic="账号与登录", question="没有收到短信怎么办？", answer_html="<p>在登录页获取短信验证码。</p>"
    )
    FaqEntryFactory(question="草稿？", published=False)
    watched = open_page("phone")
    page = watched.page
    _language(page, live_server, language)
    page.goto(live_server.url + reverse("portal:guide"))
    assert page.locator("html").get_attribute("lang") == ("en" if language == "en" else "zh-Hans")
    for section in ("login", "centre", "study", "exam", "certificate"):
        expect(page.locator(f"#guide-{section} h2")).to_be_visible()
    # the table of contents jumps to a section
    page.locator(".guide-toc a[href='#guide-exam']").click()
    expect(page.locator("#guide-exam")).to_be_in_viewport()
    assert_fits_viewport(page)
    assert_accessible_basics(page)
    footer = page.locator("footer")
    expect(footer.locator("[data-role='technical']")).to_contain_text("姚老师")
    expect(footer.locator("[data-role='registration']")).to_contain_text("翁老师")
    assert footer.locator("a[href='tel:02000000002']").count() == 1
    assert_tap_targets(page, scope="main, footer")
    assert_images_sized(page)
    assert_axe_clean(page)
    watched.screenshot(f"guide-{language}")

    page.locator(f"footer a[href='{reverse('portal:faq')}']").click()
    page.wait_for_url(live_server.url + reverse("portal:faq"))
    question = page.locator("summary", has_text="没有收到短信怎么办？")
    question.click()
    expect(page.locator(".faq-answer", has_text="在登录页获取短信验证码。")).to_be_visible()
    assert page.locator("summary", has_text="草稿").count() == 0
    assert_fits_viewport(page)
    assert_accessible_basics(page)
    assert_tap_targets(page, scope="main, footer")
    assert_axe_clean(page)
    watched.screenshot(f"faq-{language}")


# --- the screenshots (make screenshots) -----------------------------------------------------------


def _png_small(png: bytes, path: Path) -> None:
    """Write the screenshot as a 256-colour PNG (a tenth of the size, the same look for a page)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(io.BytesIO(png)) as image:
        image.convert("RGB").quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        ).save(path, format="PNG", optimize=True)


def _save(watched, path: Path) -> None:
    watched.page.wait_for_load_state("networkidle")
    watched.page.evaluate("document.fonts.ready")
    _png_small(watched.page.screenshot(full_page=False), path)


@pytest.fixture
def guide_world(settings):
    """A programme, the demo courses and questions, and three trainees of it: one halfway through
    the class hours, one with every hour done (exam unlocked), one passed with the certificate."""
    settings.LEARNING_PRESENCE_MIN_MINUTES = settings.LEARNING_PRESENCE_MAX_MINUTES = 60
    issuer_configure()
    _contacts()
    programme = ProgrammeFactory(name=PROGRAMME_NAME)
    content_load()
    questions_load()
    templates_load()
    studying = studied_enrollment_make(lessons_done=3, trainee__programme=programme, trainee__name="王建国")
    studied = studied_enrollment_make(trainee__programme=programme, trainee__name="李秀英")
    passed = passed_enrollment_make(name="欧阳志远", programme=programme)
    (certificate,) = certificates_issue(enrollment_ids=[passed.pk]).issued
    certificate_render(certificate_id=certificate.pk)
    return {"studying": studying, "studied": studied, "passed": passed}


@pytest.mark.skipif(not WRITE_SCREENSHOTS, reason="set PORTAL_GUIDE_SCREENSHOTS=1 (make screenshots)")
@pytest.mark.parametrize("language", list(LANGUAGES))
def test_write_the_guide_screenshots(live_server, open_page, guide_world, language):
    phone = VIEWPORTS["phone"]
    # the <img> width and height the guide states are the phone viewport's, at 2 pixels a CSS pixel
    assert (phone["viewport"]["width"], phone["viewport"]["height"]) == GUIDE_SHOT_SIZE
    assert phone["device_scale_factor"] == 2
    folder = GUIDE_STATIC / LANGUAGES[language]
    url = live_server.url
    written = {}

    def shot(name: str, user, path: str, ready: str, *, scroll_to: str = "") -> None:
        watched = open_page("phone")
        _language(watched.page, live_server, language)
        if user is not None:
            _login(watched.page, live_server, user)
        watched.page.goto(url + path)
        expect(watched.page.locator(ready).first).to_be_visible()
        assert_fits_viewport(watched.page)
        if scroll_to:  # the part the guide talks about, a little below the top of the screen
            watched.page.locator(scroll_to).first.evaluate(
                "(el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 120)"
            )
        written[name] = folder / f"{name}.png"
        _save(watched, written[name])

    studying, studied, passed = guide_world["studying"], guide_world["studied"], guide_world["passed"]
    lesson = _next_lesson(studying)
    shot("login", None, reverse("portal:login"), "form input[name='username']")
    shot("centre", studying.user, reverse("learning:centre"), "#my-programmes")
    shot("lesson", studying.user, reverse("learning:lesson", args=[studying.pk, lesson.pk]), "#study")
    shot("exam", studied.user, reverse("exams:home", args=[studied.pk]), "main h1")
    shot(
        "certificate",
        passed.user,
        reverse("learning:centre"),
        "[data-step='certificate']",
        scroll_to="[data-step='certificate']",
    )
    assert sorted(written) == sorted(GUIDE_SHOT_NAMES)

    if language == "zh-hans":  # the README's phone picture of the guide, with the pictures just made
        watched = open_page("phone")
        watched.page.goto(url + reverse("portal:guide"))
        expect(watched.page.locator("#guide-login img")).to_be_visible()
        _save(watched, DOCS / "guide-phone.png")


def _next_lesson(enrollment):
    """The first lesson of the trainee's plan not yet credited in full (the one they study next)."""
    from learning.models import Lesson, LessonProgress

    done = set(
        LessonProgress.objects.filter(enrollment=enrollment, credited_ms__gte=1).values_list(
            "lesson_id", flat=True
        )
    )
    trainee = enrollment.trainee
    lessons = Lesson.objects.filter(
        course__plans__certificate_type=trainee.certificate_type,
        course__plans__training_category=trainee.training_category,
    ).order_by("course__order", "order", "pk")
    return next(lesson for lesson in lessons if lesson.pk not in done)


@pytest.mark.skipif(not WRITE_SCREENSHOTS, reason="set PORTAL_GUIDE_SCREENSHOTS=1 (make screenshots)")
def test_write_the_programme_list_screenshot(live_server, open_page):
    try:
        path = reverse("portal:programmes")
    except NoReverseMatch:
        pytest.skip("no programme list page (portal:programmes) yet")
    issuer_configure()
    _contacts()
    ProgrammeFactory(name=PROGRAMME_NAME)
    watched = open_page("phone")
    watched.page.goto(live_server.url + path)
    expect(watched.page.get_by_text(PROGRAMME_NAME).first).to_be_visible()
    assert_fits_viewport(watched.page)
    _save(watched, DOCS / "programmes-phone.png")
