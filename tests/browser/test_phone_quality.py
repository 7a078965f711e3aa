"""Issue 19, point 7: phone quality of every public and trainee page.

On a phone (390 × 844, touch), in Chinese, in English and inside WeChat's browser, each page passes
axe-core (vendored, ``tests/browser/vendor/``) with no serious or critical violation, does not scroll
sideways, has labels and button names, tap targets of at least 44 px (header, content and footer;
the opened menu, the exam's answer sheet and confirmation, WeChat's download overlay too) and images
sized before they load (``tests/browser/a11y.py``). The pages' state is built with the shared
factories: a unit's application, attachment 2 before and after, payment with the QR code, a
certificate to verify, an account link; a trainee starting (text and video lessons, the locked exam,
practice), one resitting after a failed exam, one with the certificate issued. Every page is checked
and all problems are reported together, each under the page's name (axe-core's moderate and minor
findings are printed, not failed); a screenshot of each page goes to
``test-output/screenshots/phone-quality-<variant>[-<trainee>]-NN-<page>.png``.
"""

from __future__ import annotations

import datetime
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, Resolver404, resolve

from certificates.services.issue import certificates_issue
from certificates.services.pdf import certificate_render
from exams import services as exam_services
from exams.models import QuestionType
from learning.models import AccessCodePurpose, Lesson
from learning.services.accounts import access_code_issue
from tests.browser.a11y import (
    assert_accessible_basics,
    assert_axe_clean,
    assert_fits_viewport,
    assert_images_sized,
    assert_tap_targets,
)
from tests.browser.conftest import VIEWPORTS, WatchedPage
from tests.browser.test_wechat import WECHAT_UA
from tests.factories import (
    ApplicationFactory,
    ApprovedTraineeFactory,
    CompleteTraineeFactory,
    EnrollmentFactory,
    LessonFactory,
    PaymentSettingsFactory,
    ProgrammeFactory,
    TraineeFactory,
    bank_make,
    image_bytes,
    passed_enrollment_make,
    plan_make,
    studied_enrollment_make,
    template_make,
)

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.django_db(transaction=True)

LESSON_VIDEO = Path(__file__).resolve().parent / "data" / "lesson-120s.webm"
# The pages other parts of issue 19 add (public guide, questions, programmes, announcements, the unit
# account's log-in and link recovery): checked when the portal has them.
NEW_PUBLIC_PAGES = (
    "/guide/",
    "/faq/",
    "/programmes/",
    "/announcements/",
    "/registration/unit-account/login/",
    "/registration/unit-account/recover/",
)
# (language cookie, user agent): Chinese is the default (the browser asks for zh-CN), English by the
# language switch's cookie; WeChat's browser gets its own style sheet and the download overlay.
VARIANTS = {
    "zh-Hans": (None, None),
    "en": ("en", None),
    "wechat": (None, WECHAT_UA),
}


@dataclass
class Checked:
    failures: list[str]
    pages: list[str]


@pytest.fixture(params=list(VARIANTS))
def phone(request, browser, live_server):
    """Factory: a WatchedPage on the phone viewport in the variant's language and browser."""
    language, user_agent = VARIANTS[request.param]
    contexts, pages = [], []

    def factory(who: str = "") -> WatchedPage:
        options = dict(VIEWPORTS["phone"], locale="zh-CN", timezone_id="Asia/Shanghai")
        if user_agent:
            options["user_agent"] = user_agent
        context = browser.new_context(**options)
        if language:
            context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        context.set_default_timeout(10_000)
        contexts.append(context)
        name = f"phone-quality-{request.param}" + (f"-{who}" if who else "")
        watched = WatchedPage(context.new_page(), name)
        watched.language = "en" if language == "en" else "zh-Hans"  # what <html lang> must say
        pages.append(watched)
        return watched

    factory.variant = request.param
    yield factory
    problems = [p for page in pages for p in page.all_problems()]
    for context in contexts:
        context.close()
    assert not problems, "problems in the browser:\n" + "\n".join(problems)


def _login(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def _settle(page, seconds: float = 3.0) -> None:
    """Wait for the page's CSS transitions to end (a modal or panel fading in is measured as it ends
    up, not half-transparent); a page with an endless animation is checked after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if page.evaluate("document.getAnimations().every((a) => a.playState !== 'running')"):
            return
        time.sleep(0.05)


def _check(watched: WatchedPage, name: str, checked: Checked) -> None:
    """Every check on the page as it is now; each failure is recorded under the page's name."""
    page = watched.page
    _settle(page)
    checks = (
        assert_fits_viewport,
        assert_accessible_basics,
        assert_axe_clean,
        lambda page: assert_tap_targets(page, scope="body"),  # the header and footer too
        assert_images_sized,
    )
    for check in checks:
        try:
            lesser = check(page)
        except AssertionError as exc:
            checked.failures.append(f"[{name}] {exc}")
        else:
            for violation in lesser or ():  # axe-core's moderate and minor findings: reported only
                targets = ", ".join(node["target"] for node in violation["nodes"])
                print(f"axe {violation['impact']}: [{name}] {violation['id']}: {targets}")
    lang = page.locator("html").get_attribute("lang")
    if lang != watched.language:
        checked.failures.append(f"[{name}] {page.url}: <html lang={lang!r}>, expected {watched.language}")
    checked.pages.append(name)
    watched.screenshot(name)


def _visit(watched: WatchedPage, url: str, name: str, checked: Checked, *, status: int = 200) -> None:
    response = watched.page.goto(url)
    assert response is not None and response.status == status, f"{name}: {url} answered {response.status}"
    watched.page.wait_for_load_state("load")
    _check(watched, name, checked)


def _report(checked: Checked, expected_pages: int) -> None:
    assert len(checked.pages) == expected_pages, checked.pages
    assert not checked.failures, f"{len(checked.failures)} problem(s):\n\n" + "\n\n".join(checked.failures)


# ---------------------------------------------------------------------------------------------
# Public pages


def _public_state() -> dict[str, str]:
    """A programme open for sign-up, payee details with a QR code, a unit's application with a
    trainee still to fill attachment 2 and one who did (photo, ID copies), a certificate to verify,
    an account link."""
    programme = ProgrammeFactory()
    payee = PaymentSettingsFactory(account_number="6200 0000 0000 0000 0001 2345 6789")
    payee.qr_image.save("qr.png", SimpleUploadedFile("qr.png", image_bytes(240, 240, fmt="PNG")))
    application = ApplicationFactory(programme=programme, unit_name="示例市安康精密机械制造股份有限公司")
    waiting = TraineeFactory(application=application, programme=programme, name="王小明")
    complete = CompleteTraineeFactory(application=application, programme=programme, name="李秀英")
    ApprovedTraineeFactory(application=application, programme=programme, name="欧阳娜娜")
    enrollment = passed_enrollment_make(name="赵国强")
    (certificate,) = certificates_issue(enrollment_ids=[enrollment.pk]).issued
    link = access_code_issue(
        user=EnrollmentFactory().user,
        purpose=AccessCodePurpose.ACTIVATE,
        code_valid=datetime.timedelta(hours=1),
    )
    return {
        "home": "/",
        "login": "/login/",
        "registration-start": "/registration/",
        "registration-unit": "/registration/unit/",
        "registration-individual": "/registration/individual/",
        "registration-individual-sent": "/registration/individual/sent/",
        "attachment2-empty": f"/registration/t/{waiting.access_key}/",
        "attachment2-complete": f"/registration/t/{complete.access_key}/",
        "application": f"/registration/a/{application.access_key}/",
        "payment": f"/payments/a/{application.access_key}/",
        "certificate-verify": "/certificates/verify/",
        "certificate-verified": f"/certificates/verify/{certificate.number}/",
        "code-request": "/learning/code/",
        "code-confirm": "/learning/code/confirm/",
        "activate": f"/learning/activate/{link.link_token}/",
        "activate-invalid": "/learning/activate/not-a-valid-token/",
    }


def _new_public_pages() -> list[str]:
    found = []
    for path in NEW_PUBLIC_PAGES:
        try:
            resolve(path)
        except (Resolver404, NoReverseMatch):
            continue
        found.append(path)
    return found


def test_public_pages_on_a_phone(live_server, phone):
    pages = _public_state()
    watched = phone()
    checked = Checked([], [])
    for name, path in pages.items():
        _visit(
            watched, live_server.url + path, name, checked, status=410 if name == "activate-invalid" else 200
        )
    _visit(watched, live_server.url + "/no-such-page/", "not-found", checked, status=404)
    # The navigation menu opened on a phone: its links and buttons are tap targets too.
    watched.page.goto(live_server.url + "/")
    watched.page.locator(".navbar-toggler").click()
    expect(watched.page.locator("#nav-main")).to_be_visible()
    _settle(watched.page)  # the menu's collapse animation
    try:
        assert_tap_targets(watched.page, scope="nav")
        assert_axe_clean(watched.page)
    except AssertionError as exc:
        checked.failures.append(f"[navigation-open] {exc}")
    if phone.variant == "wechat":  # the overlay of a download link, open
        watched.page.goto(live_server.url + "/registration/")
        watched.page.locator("a[data-download]").first.click()
        expect(watched.page.locator("#wechat-overlay")).to_be_visible()
        _settle(watched.page)
        try:
            assert_axe_clean(watched.page)
            assert_tap_targets(watched.page, scope="#wechat-overlay")
        except AssertionError as exc:
            checked.failures.append(f"[wechat-overlay] {exc}")
    _report(checked, len(pages) + 1)


def test_new_public_pages_on_a_phone(live_server, phone):
    """The guide, the questions, the programmes and the announcements with a detail page of each, the
    unit account's log-in and recovery (issue 19), those that exist."""
    found = _new_public_pages()
    missing = sorted(set(NEW_PUBLIC_PAGES) - set(found))
    if not found:
        pytest.skip(f"none of {', '.join(NEW_PUBLIC_PAGES)} exists in the portal yet")
    programme = ProgrammeFactory()
    pages = {path.strip("/"): path for path in found}
    if "/programmes/" in found:
        pages["programme"] = f"/programmes/{programme.pk}/"
    if "/announcements/" in found:
        from tests.factories import AnnouncementFactory

        announcement = AnnouncementFactory(
            title="关于2026年度线上培训报名的通知",
            body_html="<p>请各单位于截止日期前完成报名。</p><p>咨询电话见页脚。</p>",
            pinned=True,
        )
        pages["announcement"] = f"/announcements/{announcement.pk}/"
        pages["home-with-announcements"] = "/"
    watched = phone()
    checked = Checked([], [])
    for name, path in pages.items():
        _visit(watched, live_server.url + path, name, checked)
    _report(checked, len(pages))
    if missing:
        pytest.skip(f"checked {', '.join(found)}; not in the portal yet: {', '.join(missing)}")


# ---------------------------------------------------------------------------------------------
# Trainee pages


def _trainee_state() -> dict:
    """Three trainees of one plan (two text lessons and a video lesson; the exam of 11 questions):
    one starting to study, one who failed the exam and resits it, one with the certificate issued."""
    bank_make()
    template_make()
    lessons = plan_make(hours=32)
    video = Lesson(
        course=lessons[0].course,
        code="phone-video",
        order=3,
        title="事故案例警示（视频）",
        kind="video",
        class_hours=Decimal("0.2"),  # 9 minutes: whole minutes, as the factories credit them
        video_duration_seconds=120,
    )
    video.video.save("phone.webm", ContentFile(LESSON_VIDEO.read_bytes()), save=False)
    video.save()
    LessonFactory(course=lessons[0].course, order=4, title="补充材料", body_html="<p>补充。</p>" * 5)
    starting = EnrollmentFactory()
    resitting = studied_enrollment_make()
    failed = exam_services.attempt_start(enrollment=resitting)
    wrong = {}
    for item in failed.items.all():
        choices = [i for i in range(len(item.options)) if i not in item.correct]
        wrong[item.position] = choices[:1] if item.qtype != QuestionType.MULTIPLE else choices
    exam_services.attempt_submit(attempt_id=failed.pk, user=resitting.user, answers=wrong)
    resit = exam_services.attempt_start(enrollment=resitting)
    exam_services.attempt_answer_save(attempt_id=resit.pk, user=resitting.user, position=1, choices=[0])
    certified = passed_enrollment_make(name="欧阳志远")
    (certificate,) = certificates_issue(enrollment_ids=[certified.pk]).issued
    certificate_render(certificate_id=certificate.pk)
    return {
        "users": {"starting": starting.user, "resitting": resitting.user, "certified": certified.user},
        "pages": [
            ("starting", "centre-new", "/learning/"),
            ("starting", "enrollment", f"/learning/enrollments/{starting.pk}/"),
            ("starting", "lesson-text", f"/learning/enrollments/{starting.pk}/lessons/{lessons[0].pk}/"),
            ("starting", "lesson-video", f"/learning/enrollments/{starting.pk}/lessons/{video.pk}/"),
            ("starting", "exam-locked", f"/exams/e/{starting.pk}/"),
            ("starting", "practice", f"/exams/e/{starting.pk}/practice/?mode=sequential"),
            ("resitting", "centre-resit", "/learning/"),
            ("resitting", "enrollment-done", f"/learning/enrollments/{resitting.pk}/"),
            ("resitting", "exam-home", f"/exams/e/{resitting.pk}/"),
            ("resitting", "exam-result-failed", f"/exams/a/{failed.pk}/result/"),
            ("resitting", "exam-attempt", f"/exams/a/{resit.pk}/"),
            ("certified", "centre-certificate", "/learning/"),
            ("certified", "enrollment-passed", f"/learning/enrollments/{certified.pk}/"),
            ("certified", "exam-home-passed", f"/exams/e/{certified.pk}/"),
        ],
    }


def test_trainee_pages_on_a_phone(live_server, phone, settings):
    settings.LEARNING_PRESENCE_MIN_MINUTES = settings.LEARNING_PRESENCE_MAX_MINUTES = 60
    state = _trainee_state()
    checked = Checked([], [])
    sessions = {}
    for who, name, path in state["pages"]:
        if who not in sessions:
            sessions[who] = phone(who)
            _login(sessions[who].page, live_server, state["users"][who])
        watched = sessions[who]
        _visit(watched, live_server.url + path, name, checked)
        if name == "exam-attempt":  # 答题卡 and 确认交卷 opened over the paper
            page = watched.page
            page.locator("[aria-controls='answer-sheet']").click()
            page.wait_for_selector("#answer-sheet.show")
            _check(watched, "exam-answer-sheet", checked)
            page.keyboard.press("Escape")
            page.wait_for_selector("#answer-sheet.show", state="detached")
            page.locator("#submit-button").click()
            page.wait_for_selector("#confirm-modal.show")
            _check(watched, "exam-confirm", checked)
        if name == "practice":  # a wrong answer, explained
            page = watched.page
            page.locator(".practice-option label").first.click()
            page.locator("form button[type=submit]").last.click()
            page.wait_for_load_state("load")
            _check(watched, "practice-answered", checked)
        # the lesson page's heartbeat cut off when the page is left
        watched.allow(r"^request failed: \S*/learning/study/\S* net::ERR_ABORTED$")
    _report(checked, len(state["pages"]) + 3)


# ---------------------------------------------------------------------------------------------
# The checks themselves


def test_phone_checks_find_problems(open_page):
    """axe-core, the tap-target and the image-size checks do fail on a page with those problems,
    and pass on the same page fixed."""
    watched = open_page("phone")
    page = watched.page
    page.set_content(
        '<html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>t</title></head><body><main>"
        "<h1>Checks</h1>"
        '<p style="color:#bbb">Grey on white</p>'
        '<p><a id="alone" href="#x" style="font-size:12px">Alone</a></p>'
        '<p>Read <a id="inline" href="#y">the rules</a> before you start.</p>'
        '<button id="tiny" style="padding:0;font-size:10px">OK</button>'
        '<img id="loose" alt="A photo" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        '<img alt="Sized" width="10" height="10" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        '<img alt="Sized in CSS" style="width:5rem;aspect-ratio:1" '
        'src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        "</main></body></html>"
    )
    with pytest.raises(AssertionError, match=r"(?s)color-contrast \(serious\).*<p style=\"color:#bbb\">"):
        assert_axe_clean(page)
    with pytest.raises(AssertionError) as small:
        assert_tap_targets(page)
    assert 'id="alone"' in str(small.value) and 'id="tiny"' in str(small.value)
    assert 'id="inline"' not in str(small.value)  # in a sentence: exempt
    with pytest.raises(AssertionError, match=r"(?s)without a size.*id=\"loose\"") as unsized:
        assert_images_sized(page)
    assert str(unsized.value).count("<img") == 1
    page.evaluate(
        """() => {
          document.querySelector("p[style]").style.color = "#333";
          for (const el of document.querySelectorAll("#alone, #tiny")) {
            el.style.cssText = "display:inline-block;min-width:44px;min-height:44px";
          }
          document.getElementById("loose").setAttribute("width", "1");
          document.getElementById("loose").setAttribute("height", "1");
        }"""
    )
    assert_axe_clean(page)
    assert_tap_targets(page)
    assert_images_sized(page)


def test_vendored_axe_is_the_version_its_readme_names():
    vendor = Path(__file__).resolve().parent / "vendor"
    banner = re.match(r"/\*! axe v(\d+\.\d+\.\d+)", (vendor / "axe.min.js").read_text(encoding="utf-8"))
    assert banner, "tests/browser/vendor/axe.min.js is not axe-core's release build"
    assert f"**{banner[1]}**" in (vendor / "README.md").read_text(encoding="utf-8")
    assert "Mozilla Public License" in (vendor / "LICENSE").read_text(encoding="utf-8")
