"""The whole notice in a real browser, every step through the pages as people do it.

A unit registers three trainees (two typed in the page, one imported from the portal's Excel template),
each trainee completes attachment 2 with photo and ID card copies through their own link, a reviewer
approves them in admin, the unit reports a bank transfer and finance confirms it in admin, the study
accounts open (Celery runs in-process), and two of the trainees, each in turn, set a password through
the link sent to them, study every lesson (the server's clock is moved forward instead of waiting for
hours; the daily cap sends them home and they log in again the next morning), the exam unlocks, they
fail it, see 成绩未及格，请及时参加补考, resit and pass.

The unit works on a phone (390×844, touch); staff work in admin on a desktop. The trainee part runs
twice, for two trainees: one on a phone, one on a desktop (1366×900), each from their own account
message to the passed exam. Every page of the unit and the trainees is checked for horizontal
scrolling, controls hidden behind other elements and the accessibility basics (tests/browser/a11y.py).
Screenshots: ``test-output/screenshots/walk-NN-<step>-<viewport>.png``.

After the exam each walking trainee downloads the PDF certificate, a stranger confirms it on the
public verification page, a reviewer books the courier and imports the tracking number, and the
trainee sees it (tests/browser/walk_certificates.py).

The walk is a chain of step functions sharing a :class:`Walk`. Separate tests cover the failure paths.
"""

from __future__ import annotations

import datetime
import json
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
from django.core import mail
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from exams import services as exam_services
from exams.demo import questions_load as demo_questions_load
from exams.models import Attempt, AttemptStatus, QuestionType
from learning.demo import CONTENT as DEMO_COURSES
from learning.models import (
    Course,
    CoursePlan,
    Enrollment,
    EnrollmentStatus,
    Lesson,
    LessonProgress,
    StudyState,
)
from learning.services.staff_hours import study_hours_record
from learning.services.windows import enrollments_expire
from payments.models import Payment, PaymentStatus
from registration.models import Application, Trainee, TraineeStatus
from tests.browser.a11y import (
    assert_accessible_basics,
    assert_exam_keyboard_operable,
    assert_fits_viewport,
    assert_unobstructed,
)
from tests.browser.conftest import SCREENSHOTS, WatchedPage
from tests.browser.test_registration import _admin_login, _fill_attachment2, _image
from tests.browser.walk_certificates import (
    issuer_configure,
    other_trainees_certificate_urls,
    step_certificate_download,
    step_certificate_mailing,
    step_certificate_verify,
)
from tests.factories import (
    CertificateFactory,
    PaymentSettingsFactory,
    ProgrammeFactory,
    StaffFactory,
    TraineeFactory,
    id_number_make,
    template_make,
    uscc_make,
)

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.django_db(transaction=True)

DATA = Path(__file__).resolve().parent / "data"
# A 120-second VP8 WebM (solid colour, 7 kB): ffmpeg -f lavfi -i color=c=0x1f4e79:size=320x180:rate=1:duration=120
#   -c:v libvpx -b:v 4k -g 30 -an lesson-120s.webm
LESSON_VIDEO = DATA / "lesson-120s.webm"
PASSWORD = "Anquan-Peixun-2026"
UNIT_NAME = "示例市安康精密机械有限公司"

# The roster: two rows typed in the page, one imported from the Excel template. The two safety managers
# in refresher training (12 class hours) walk on through study and the exam: the imported one on a phone
# (account link from the e-mail), the typed one on a desktop (account link from the SMS).
TYPED = [
    {
        "name": "王建国",
        "id_number": id_number_make(601, male=True),
        "mobile": "13700006001",
        "certificate_type": "principal",
        "training_category": "initial",
    },
    {
        "name": "李秀英",
        "id_number": id_number_make(602, male=False),
        "mobile": "13700006002",
        "certificate_type": "safety_manager",
        "training_category": "refresher",
        "previous_certificate_no": "GD2024-00031",
    },
]
IMPORTED = {
    "name": "欧阳志远",
    "id_number": id_number_make(603, male=True),
    "mobile": "13700006003",
    "email": "ouyang@example.org",
    "certificate_type": "安全生产管理人员",
    "training_category": "再培训",
    "previous_certificate_no": "GD2024-00077",
}
UNIT_VIEWPORT = "phone"
# Who walks the trainee part, on which device: the imported trainee on a phone, 李秀英 on a desktop.
WALKERS = (("phone", IMPORTED["name"]), ("desktop", TYPED[1]["name"]))
DEVICES = {**{name: viewport for viewport, name in WALKERS}, TYPED[0]["name"]: "phone"}

# Study with a moved clock: the page sends a heartbeat every second; a heartbeat may credit up to
# interval + slack of server time, so moving the clock 3 hours between two heartbeats credits 3 hours.
HEARTBEAT_SECONDS = 1
HEARTBEAT_SLACK_SECONDS = 4 * 3600
STUDY_STEP = datetime.timedelta(hours=3)
VIDEO_CLASS_HOURS = Decimal("0.01")  # 27 seconds of the 120-second video
# While the video plays at 16× the server's clock runs 20×: each heartbeat covers what was played.
FAST_CLOCK = 20


# ---------------------------------------------------------------------------------------------
# Shared helpers


def tick_consents(page) -> None:
    """Tick every consent checkbox the form has (``consent_*``), whatever their number."""
    boxes = page.locator("input[type=checkbox][name^=consent]")
    for index in range(boxes.count()):
        boxes.nth(index).check()


def forgive(watched: WatchedPage, url_part: str, failure: str = "net::ERR_ABORTED") -> None:
    """Accept "request failed" for these requests on this page (e.g. the heartbeat in flight when the
    lesson page is left: the browser cuts it off)."""
    watched.allow(rf"^request failed: \S*{re.escape(url_part)} {re.escape(failure)}$")


def images_loaded(page, seconds: float = 10) -> None:
    """Wait until every image of the page has loaded (lazy ones scrolled into view first)."""
    page.evaluate("() => document.querySelectorAll('img').forEach((img) => { img.loading = 'eager'; })")
    deadline = time.monotonic() + seconds
    while not page.evaluate("() => Array.from(document.images).every((img) => img.complete)"):
        assert time.monotonic() < deadline, f"{page.url}: images still loading"
        time.sleep(0.05)


def check_page(watched: WatchedPage, *controls) -> None:
    """The checks every page of the unit and the trainee gets."""
    page = watched.page
    assert_fits_viewport(page)
    assert_accessible_basics(page)
    assert_unobstructed(page, *controls)


def login_cookie(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def admin_action(page, url: str, pks, action: str) -> None:
    page.goto(url)
    for pk in pks:
        page.locator(f"input[name=_selected_action][value='{pk}']").check()
    page.locator("select[name=action]").select_option(action)
    page.locator("button[name=index]").click()
    page.wait_for_load_state()


def workbook_fill(path: Path, rows: list[dict]) -> None:
    """Fill roster rows into the template (found by its header row, as the portal reads it)."""
    workbook = load_workbook(path)
    sheet = workbook.worksheets[0]
    header_row, columns = None, {}
    for row in sheet.iter_rows(min_row=1, max_row=40):
        texts = {str(cell.value or "").strip(): cell.column for cell in row}
        if "姓名" in texts:
            header_row = row[0].row
            for text, column in texts.items():
                for key, starts in (
                    ("name", "姓名"),
                    ("id_number", "身份证"),
                    ("mobile", "手机"),
                    ("email", "电子邮箱"),
                    ("certificate_type", "证书类型"),
                    ("training_category", "培训类别"),
                    ("previous_certificate_no", "原证书编号"),
                ):
                    if text.startswith(starts):
                        columns[key] = column
            break
    assert header_row, "the Excel template has no roster header row"
    for offset, data in enumerate(rows, start=1):
        for key, value in data.items():
            sheet.cell(row=header_row + offset, column=columns[key], value=value)
    workbook.save(path)


def exam_answer(page, attempt: Attempt, *, correct: bool) -> None:
    """Answer every question by clicking (each answer saved before the next click)."""
    saved = lambda r: r.request.method == "POST" and r.url.endswith(f"/exams/a/{attempt.pk}/answer/")  # noqa: E731
    for item in attempt.items.order_by("position"):
        options = range(len(item.options))
        wanted = set(item.correct) if correct else {next(i for i in options if i not in item.correct)}
        for index in options:
            box = page.locator(f"#q{item.position}-{index}")
            should = index in wanted
            if box.is_checked() == should or (not should and item.qtype != QuestionType.MULTIPLE):
                continue
            with page.expect_response(saved):
                if should and item.qtype != QuestionType.MULTIPLE:
                    page.locator(f"label[for='q{item.position}-{index}']").click()
                else:
                    box.set_checked(should)
    expect(page.locator("#answered-count")).to_have_text(str(attempt.question_count))


def exam_submit(page) -> None:
    page.locator("#submit-button").click()
    page.wait_for_selector("#confirm-modal.show")
    expect(page.locator("#confirm-ready")).to_be_visible()
    assert page.locator("#confirm-submit").is_enabled()


@contextmanager
def fast_clock(clock, factor: float):
    """Run the server's clock ``factor`` times faster than real time (from another thread)."""
    stop = threading.Event()

    def run():
        while not stop.wait(0.1):
            clock.shift(0.1 * (factor - 1))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


# ---------------------------------------------------------------------------------------------
# The walk


@dataclass
class Walk:
    """What the steps share. ``viewport`` is the device of whoever acts now: the unit's, then each
    walking trainee's in turn (:meth:`trainee_walk_start`)."""

    url: str
    viewport: str
    open_page: object
    clock: time_machine.Traveller
    tmp: Path
    lock: object  # the live server's request lock (see tests/browser/conftest.py)
    unit: WatchedPage | None = None
    staff: WatchedPage | None = None
    trainee: WatchedPage | None = None
    application: Application | None = None
    links: dict[str, str] = field(default_factory=dict)  # attachment-2 link of each trainee, by name
    walker: Trainee | None = None  # the trainee who studies and sits the exam
    enrollment: Enrollment | None = None
    attempts: list[Attempt] = field(default_factory=list)
    presence_checks: int = 0  # answered by the walking trainee

    def shot(self, watched: WatchedPage, step: str, *, dialog: bool = False) -> Path:
        """``walk-NN-<step>-<viewport of that page>.png``: the whole page, or what the window shows
        while a dialog or panel is open over it."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        kind = watched.name.rsplit("-", 1)[-1]
        path = SCREENSHOTS / f"walk-{step}-{kind}.png"
        if not dialog:
            watched.page.evaluate("window.scrollTo({top: 0, behavior: 'instant'})")  # sticky bars on top
        watched.page.screenshot(path=str(path), full_page=not dialog)
        return path

    def trainee_walk_start(self, viewport: str, name: str) -> None:
        """The next trainee walks on from their account message, on their own device; each on a new day."""
        if self.walker is not None:
            self.clock.shift(_next_morning(timezone.now()))
        self.viewport = viewport
        self.walker = Trainee.objects.get(name=name)
        self.enrollment = Enrollment.objects.get(trainee=self.walker)
        self.trainee = None
        self.attempts = []
        self.presence_checks = 0

    def staff_page(self, role: str) -> WatchedPage:
        """A fresh admin session (desktop) of a staff member in ``role``."""
        staff = StaffFactory(role=role)
        watched = self.open_page("desktop")
        _admin_login(watched.page, SimpleNamespace(url=self.url), staff)  # it needs live_server.url
        return watched


def step_register(walk: Walk) -> None:
    """The unit fills attachment 1: two trainees typed in, the third imported from the Excel template."""
    walk.unit = walk.open_page(walk.viewport)
    page = walk.unit.page
    page.goto(walk.url + "/registration/")
    page.get_by_role("link", name="单位报名").click()
    page.wait_for_url("**/registration/unit/")
    _unit_fields(page)
    page.locator("#id_contact_email").fill("hr@example.org")
    for row, data in enumerate(TYPED):
        if row:
            page.get_by_role("button", name="添加学员").click()
        prefix = f"#id_roster-{row}-"
        page.locator(prefix + "name").fill(data["name"])
        page.locator(prefix + "id_number").fill(data["id_number"])
        page.locator(prefix + "mobile").fill(data["mobile"])
        page.locator(prefix + "certificate_type").select_option(data["certificate_type"])
        page.locator(prefix + "training_category").select_option(data["training_category"])
        if data.get("previous_certificate_no"):
            page.locator(prefix + "previous_certificate_no").fill(data["previous_certificate_no"])
    check_page(walk.unit, page.locator("#id_workbook"), page.get_by_role("button", name="提交报名"))
    walk.shot(walk.unit, "01-attachment-1")

    # The Excel template offered on the page, filled in and imported: its row joins the roster.
    with page.expect_download() as download:
        page.locator("#workbook-help a").click()
    workbook = walk.tmp / "roster.xlsx"
    download.value.save_as(workbook)
    workbook_fill(workbook, [IMPORTED])
    page.locator("#id_workbook").set_input_files(str(workbook))
    page.get_by_role("button", name="导入", exact=True).click()
    page.wait_for_selector("#import-report")
    assert "alert-success" in page.locator("#import-report").get_attribute("class"), page.locator(
        "#import-report"
    ).inner_text()
    for row, name in enumerate([*(d["name"] for d in TYPED), IMPORTED["name"]]):
        expect(page.locator(f"#id_roster-{row}-name")).to_have_value(name)
    expect(page.locator("#id_unit_name")).to_have_value(UNIT_NAME)
    check_page(walk.unit, page.get_by_role("button", name="提交报名"))
    walk.shot(walk.unit, "02-roster-imported")
    assert not Application.objects.exists()  # nothing is saved before the unit submits

    tick_consents(page)
    page.get_by_role("button", name="提交报名").click()
    page.wait_for_url("**/registration/a/**")
    walk.application = Application.objects.get()
    assert walk.application.trainees.count() == 3
    assert "1400.00" in page.locator("[data-fee-total]").inner_text().replace(",", "")  # 800 + 300 + 300
    check_page(walk.unit, page.locator("a[href*='/registration/t/']").first)
    walk.shot(walk.unit, "03-application")
    for card in page.locator(".trainee-card").all():
        name = card.locator("h3").inner_text().split(". ", 1)[1]
        walk.links[name] = card.locator("a[href*='/registration/t/']").get_attribute("href")
    assert set(walk.links) == {TYPED[0]["name"], TYPED[1]["name"], IMPORTED["name"]}


def step_attachment2(walk: Walk) -> None:
    """Each trainee opens their link on their own device, uploads photo and ID card copies and signs
    attachment 2."""
    files = {
        "photo": _image(walk.tmp / "photo.jpg", (354, 496), (40, 90, 200)),
        "front": _image(walk.tmp / "front.jpg", (856, 540), (220, 220, 220)),
        "back": _image(walk.tmp / "back.jpg", (856, 540), (200, 200, 200)),
    }
    devices: dict[str, WatchedPage] = {}
    for name, link in walk.links.items():
        first = DEVICES[name] not in devices
        if first:
            devices[DEVICES[name]] = walk.open_page(DEVICES[name])
        watched = devices[DEVICES[name]]
        page = watched.page
        page.goto(walk.url + link)
        check_page(
            watched, page.locator("#id_photo"), page.locator("main form button[type=submit].btn-primary")
        )
        tick_consents(page)
        _fill_attachment2(page, name, files)
        expect(page.locator(".alert-success").first).to_be_visible()
        check_page(watched, page.locator("img.document-thumb.photo"))
        images_loaded(page)  # before the next link: leaving would cut the thumbnails off
        if first:
            walk.shot(watched, "04-attachment-2")
    assert all(t.attachment2_complete for t in Trainee.objects.all())


def step_review(walk: Walk) -> None:
    """A reviewer approves the three registrations in admin."""
    walk.staff = walk.staff_page("reviewer")
    trainees = list(Trainee.objects.order_by("row_number"))
    admin_action(
        walk.staff.page,
        walk.url + "/admin/registration/trainee/",
        [t.pk for t in trainees],
        "approve_selected",
    )
    walk.shot(walk.staff, "05-review")
    assert set(Trainee.objects.values_list("status", flat=True)) == {TraineeStatus.APPROVED}


def step_payment(walk: Walk) -> None:
    """The unit reports its bank transfer on the payment page; finance confirms it in admin."""
    page = walk.unit.page
    page.goto(walk.url + f"/registration/a/{walk.application.access_key}/")
    page.get_by_role("link", name="缴纳培训费").click()
    page.wait_for_url(f"**/payments/a/{walk.application.access_key}/")
    outstanding = page.locator("[data-testid=outstanding-total]").inner_text()
    assert outstanding.replace(",", "") == "¥1400.00"
    page.get_by_label("付款方式").select_option("bank_transfer")
    page.get_by_label("付款人姓名").fill(UNIT_NAME)
    page.get_by_label("付款金额（元）").fill("1400.00")
    page.get_by_label("付款人手机号码").fill("13700006000")
    page.get_by_label("交易单号").fill("WALK-2026-0001")
    paid_at = timezone.localtime() - datetime.timedelta(hours=1)
    page.get_by_label("付款时间").fill(paid_at.strftime("%Y-%m-%dT%H:%M"))
    check_page(walk.unit, page.get_by_role("button", name="提交付款信息"))
    page.get_by_role("button", name="提交付款信息").click()
    page.wait_for_selector(".alert-success")
    check_page(walk.unit)
    walk.shot(walk.unit, "06-payment")
    payment = Payment.objects.get()
    assert payment.amount_fen == 140_000 and payment.trainees.count() == 3

    finance = walk.staff_page("finance")
    admin_action(finance.page, walk.url + "/admin/payments/payment/", [payment.pk], "confirm_action")
    finance.page.locator("input[name=apply]").click()  # the confirmation step lists the payment
    finance.page.wait_for_load_state()
    walk.shot(finance, "07-finance-confirm")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED
    # Celery runs in-process: the confirmation opened the three study accounts.
    assert Enrollment.objects.count() == 3


def step_account(walk: Walk) -> None:
    """The trainee sets their password through the link in the account message: from the e-mail when
    they gave an address (the SMS has the same link), else from the SMS."""
    from portal.notifications import sms_outbox

    pattern = re.compile(r"https?://\S+?(/learning/activate/[\w-]+/)")
    sms = [
        m.message for m in sms_outbox if m.mobile == walk.walker.mobile and "/learning/activate/" in m.message
    ]
    assert len(sms) == 1, sms
    link = pattern.search(sms[0]).group(1)
    if walk.walker.email:
        emails = [
            m.body for m in mail.outbox if walk.walker.email in m.to and "/learning/activate/" in m.body
        ]
        assert len(emails) == 1, emails
        assert pattern.search(emails[0]).group(1) == link

    walk.trainee = walk.open_page(walk.viewport)
    page = walk.trainee.page
    page.goto(walk.url + link)
    expect(page.get_by_role("heading", level=1)).to_have_text("设置密码")
    check_page(walk.trainee, page.locator("#id_new_password1"), page.get_by_role("button", name="设置密码"))
    page.locator("#id_new_password1").fill(PASSWORD)
    page.locator("#id_new_password2").fill(PASSWORD)
    walk.shot(walk.trainee, "08-set-password")
    page.get_by_role("button", name="设置密码").click()
    page.wait_for_url("**/learning/")
    check_page(walk.trainee, page.get_by_role("link", name="进入该项目"))
    walk.shot(walk.trainee, "09-personal-centre")


def _next_heartbeat(page) -> dict:
    """The answer to the next heartbeat the page sends (sent after whatever was done before)."""
    with page.expect_request(
        lambda r: r.method == "POST" and r.url.endswith("/learning/study/heartbeat/")
    ) as info:
        pass
    response = info.value.response()
    return response.json()


def _presence_confirm(walk: Walk) -> None:
    """Answer the presence check through its modal (the first one is checked and photographed)."""
    page = walk.trainee.page
    button = page.get_by_role("button", name="我在学习")
    expect(button).to_be_visible()
    if not walk.presence_checks:
        check_page(walk.trainee, button)
        walk.shot(walk.trainee, "12-presence-check", dialog=True)
    walk.presence_checks += 1
    with page.expect_response(lambda r: r.url.endswith("/learning/study/presence/")) as answer:
        button.click()
    assert answer.value.json()["code"] == "confirmed", answer.value.json()
    expect(page.locator("#presence-modal")).to_be_hidden()


def _lesson_done(walk: Walk, lesson: Lesson) -> bool:
    with walk.lock:  # the page keeps sending heartbeats
        progress = LessonProgress.objects.filter(enrollment=walk.enrollment, lesson=lesson).first()
    return progress is not None and progress.completed_at is not None


def _next_morning(now: datetime.datetime) -> datetime.timedelta:
    local = timezone.localtime(now)
    morning = (local + datetime.timedelta(days=1)).replace(hour=8, minute=30, second=0, microsecond=0)
    return morning - local


def _navbar(walk: Walk, role: str, name: str) -> None:
    """Follow a link or press a button of the navigation bar (behind its toggle on a phone)."""
    page = walk.trainee.page
    if walk.viewport == "phone":
        page.get_by_role("button", name="切换导航").click()
        page.wait_for_selector("#nav-main.show")
    page.locator("#nav-main").get_by_role(role, name=name, exact=True).click()


def _next_day(walk: Walk, lesson: Lesson) -> None:
    """Today's limit is reached: the trainee logs out, and the next morning (a new log-in session:
    sessions last 12 hours) logs in with their password and goes back to the lesson."""
    page = walk.trainee.page
    page.get_by_role("link", name="全部学习任务").click()
    page.wait_for_url(f"**/learning/enrollments/{walk.enrollment.pk}/")
    _navbar(walk, "button", "退出")
    page.wait_for_url(walk.url + "/")
    walk.clock.shift(_next_morning(timezone.now()))
    _navbar(walk, "link", "登录")
    check_page(walk.trainee, page.get_by_label("手机号"), page.get_by_role("button", name="登录").last)
    page.get_by_label("手机号").fill(walk.walker.mobile)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").last.click()
    page.wait_for_url(walk.url + "/learning/")  # the log-in lands on the personal centre
    page.get_by_role("link", name="进入该项目").click()
    page.get_by_role("link", name="开始学习", exact=True).click()
    page.wait_for_url(f"**/lessons/{lesson.pk}/")


def step_study(walk: Walk) -> None:
    """From the personal centre to every lesson of the plan; the clock moves instead of waiting.

    Text lessons: move the clock 3 hours, the next heartbeat credits them, the presence check that
    comes with it is answered; the daily cap (8 class hours) ends the day: the trainee logs out and
    logs in again the next morning. The video lesson plays at 16× while the server's clock runs 20×.
    """
    page = walk.trainee.page
    forgive(walk.trainee, "/learning/study/heartbeat/")  # the heartbeat in flight as a lesson page closes
    page.get_by_role("link", name="进入该项目").click()
    page.wait_for_url(f"**/learning/enrollments/{walk.enrollment.pk}/")
    start = page.get_by_role("link", name="开始学习", exact=True)
    check_page(walk.trainee, start)
    walk.shot(walk.trainee, "10-learning-tasks")
    start.click()
    lessons = list(Lesson.objects.order_by("course__order", "order"))
    days = 1
    for number, lesson in enumerate(lessons):
        page.wait_for_url(f"**/lessons/{lesson.pk}/")
        expect(page.get_by_role("heading", level=1)).to_have_text(lesson.title)
        controls = [page.get_by_role("link", name="全部学习任务")]
        if lesson.kind == "video":
            controls.insert(0, page.locator("#lesson-video"))
        check_page(walk.trainee, *controls)
        if lesson.kind == "video":
            walk.shot(walk.trainee, "13-lesson-video")
            with fast_clock(walk.clock, FAST_CLOCK):
                page.locator("#lesson-video").evaluate(
                    "v => { v.muted = true; v.playbackRate = 16; return v.play(); }"
                )
                deadline = time.monotonic() + 30
                while not _lesson_done(walk, lesson) and time.monotonic() < deadline:
                    if page.locator("#presence-modal.show").count():
                        _presence_confirm(walk)
                    time.sleep(0.2)
            assert _lesson_done(walk, lesson), "the video lesson was not credited"
        else:
            if number == 0:
                walk.shot(walk.trainee, "11-lesson-text")
            for _ in range(12):
                if _lesson_done(walk, lesson):
                    break
                walk.clock.shift(STUDY_STEP)
                beat = _next_heartbeat(page)
                if beat.get("presence"):
                    _presence_confirm(walk)
                if beat.get("code") == "daily_cap":
                    expect(page.locator("#study-alert")).to_contain_text("今日")
                    _next_day(walk, lesson)
                    days += 1
            assert _lesson_done(walk, lesson), f"{lesson.title} was not credited"
        # The heartbeat that completed the lesson asked for a presence check: every later one
        # repeats it until it is answered.
        if _next_heartbeat(page).get("presence"):
            _presence_confirm(walk)
        expect(page.locator("#study-status")).to_have_text("本课时已完成。")
        if number + 1 < len(lessons):
            page.get_by_role("link", name=re.compile("下一课时")).click()
    assert days == 2, f"12 class hours with a daily cap of 8 take two days, not {days}"
    assert walk.presence_checks >= 3, walk.presence_checks  # one at least for each lesson completed
    page.get_by_role("link", name="全部学习任务").click()
    page.wait_for_url(f"**/learning/enrollments/{walk.enrollment.pk}/")
    expect(page.locator("[data-study-complete]")).to_have_text("所有课程已完成，考试已解锁。")
    for done in page.locator("[data-lesson][data-state=done] a.btn").all():  # studied again: 复习, not 审核
        expect(done).to_contain_text("复习")
    exam_link = page.get_by_role("link", name="考试页面")
    check_page(walk.trainee, exam_link)
    walk.shot(walk.trainee, "14-exam-unlocked")
    exam_link.click()


def step_exam_fail(walk: Walk) -> None:
    """The exam: keyboard check, answer sheet, every answer wrong, 确认交卷, the fail message."""
    page = walk.trainee.page
    page.wait_for_url(f"**/exams/e/{walk.enrollment.pk}/")
    expect(page.locator(".alert-info")).to_contain_text("考试已解锁")
    start = page.get_by_role("button", name="开始考试")
    check_page(walk.trainee, start)
    start.click()
    page.wait_for_url("**/exams/a/*/")
    attempt = Attempt.objects.get(enrollment=walk.enrollment, number=1)
    walk.attempts.append(attempt)
    assert_exam_keyboard_operable(page)
    sheet = page.locator("#answer-sheet a.sheet-item")
    controls = [page.locator(".exam-question input").first, page.locator(".exam-question input").last]
    if walk.viewport == "phone":
        controls.append(page.get_by_role("button", name="答题卡"))
    else:
        controls.append(sheet.first)
    check_page(walk.trainee, *controls, page.locator("#submit-button"))
    walk.shot(walk.trainee, "15-exam-paper")
    if walk.viewport == "phone":
        page.get_by_role("button", name="答题卡").click()
        page.wait_for_selector("#answer-sheet.show")
        check_page(walk.trainee, sheet.first, sheet.last, page.locator("#answer-sheet button[type=submit]"))
        walk.shot(walk.trainee, "16-answer-sheet", dialog=True)
        page.locator("#answer-sheet .btn-close").click()
        page.wait_for_selector("#answer-sheet.show", state="detached")

    exam_answer(page, attempt, correct=False)
    exam_submit(page)
    check_page(walk.trainee, page.locator("#confirm-submit"))
    walk.shot(walk.trainee, "17-confirm-submit", dialog=True)
    page.locator("#confirm-submit").click()
    page.wait_for_url(f"**/exams/a/{attempt.pk}/result/")
    expect(page.locator("#fail-message")).to_have_text("成绩未及格，请及时参加补考")
    resit = page.get_by_role("button", name="开始补考")
    check_page(walk.trainee, resit)
    walk.shot(walk.trainee, "18-exam-failed")
    attempt.refresh_from_db()
    assert attempt.status != AttemptStatus.IN_PROGRESS and attempt.passed is False


def step_exam_resit_pass(walk: Walk) -> None:
    """The resit from the result page: every answer right, passed; the enrollment is passed."""
    page = walk.trainee.page
    page.get_by_role("button", name="开始补考").click()
    page.wait_for_url("**/exams/a/*/")
    attempt = Attempt.objects.get(enrollment=walk.enrollment, number=2)
    walk.attempts.append(attempt)
    expect(page.get_by_role("heading", level=1)).to_contain_text("补考")
    check_page(walk.trainee, page.locator(".exam-question input").first, page.locator("#submit-button"))
    walk.shot(walk.trainee, "19-resit-paper")
    exam_answer(page, attempt, correct=True)
    exam_submit(page)
    page.locator("#confirm-submit").click()
    page.wait_for_url(f"**/exams/a/{attempt.pk}/result/")
    expect(page.locator(".alert-success")).to_contain_text("合格")
    check_page(walk.trainee, page.get_by_role("link", name="考试记录").last)
    walk.shot(walk.trainee, "20-exam-passed")
    attempt.refresh_from_db()
    walk.enrollment.refresh_from_db()
    assert attempt.passed is True
    assert walk.enrollment.status == EnrollmentStatus.PASSED


# ---------------------------------------------------------------------------------------------
# Set-up of what the association prepares before the notice goes out


def _video_lesson(course: Course, order: int) -> Lesson:
    lesson = Lesson(
        course=course,
        code="walk-video",
        order=order,
        title="事故案例警示（视频）",
        kind="video",
        class_hours=VIDEO_CLASS_HOURS,
        video_duration_seconds=120,
    )
    lesson.video.save("walk.webm", ContentFile(LESSON_VIDEO.read_bytes()), save=False)
    lesson.save()
    return lesson


def _demo_lesson(code: str) -> dict:
    """A lesson text of the portal's demo content (real reading for the screenshots)."""
    courses = json.loads(DEMO_COURSES.read_text(encoding="utf-8"))["courses"]
    return next(lesson for course in courses for lesson in course["lessons"] if lesson["code"] == code)


@pytest.fixture
def notice(settings):
    """Programme, payment details, the refresher course plan for safety managers (two text lessons
    of 6 class hours and a short video, texts from the demo content) and the exam: 11 questions
    drawn from the demo question bank."""
    settings.LEARNING_HEARTBEAT_SECONDS = HEARTBEAT_SECONDS
    settings.LEARNING_HEARTBEAT_SLACK_SECONDS = HEARTBEAT_SLACK_SECONDS
    programme = ProgrammeFactory(name="2026年度生产经营单位主要负责人和安全生产管理人员线上培训")
    issuer_configure()
    PaymentSettingsFactory(account_number="6200 0000 0000 0000 0001 2345 6789")
    law = Course.objects.create(code="walk-law", title="安全生产法律法规", order=1)
    practice = Course.objects.create(code="walk-practice", title="安全风险分级管控和隐患排查治理", order=2)
    for course, order, code in ((law, 1, "law-basics-1"), (practice, 1, "dual-prevention-2")):
        demo = _demo_lesson(code)
        Lesson.objects.create(
            course=course,
            code=f"walk-{code}",
            order=order,
            title=demo["title"],
            class_hours=Decimal(6),
            body_html=demo["body_html"],
        )
    _video_lesson(law, 2)
    plan = CoursePlan.objects.create(certificate_type="safety_manager", training_category="refresher")
    plan.courses.add(law, practice)
    demo_questions_load()
    template_make(
        certificate_type="safety_manager", training_category="refresher", name="安全生产管理人员再培训考试"
    )
    return programme


@pytest.fixture
def clock():
    """The server's clock (the live server runs in this process), moved forward by the steps. The
    walk starts at 08:30 tomorrow, so a study day fits in one log-in session whenever the test runs
    (the server's clock is never behind the browser's: cookies keep their lifetimes)."""
    with time_machine.travel(timezone.now() + _next_morning(timezone.now()), tick=True) as traveller:
        yield traveller


def test_notice_walk(live_server, open_page, notice, clock, tmp_path):
    walk = Walk(
        url=live_server.url,
        viewport=UNIT_VIEWPORT,
        open_page=open_page,
        clock=clock,
        tmp=tmp_path,
        lock=live_server.request_lock,
    )
    step_register(walk)
    step_attachment2(walk)
    step_review(walk)
    step_payment(walk)
    for viewport, name in WALKERS:  # the trainee part, on a phone and on a desktop
        walk.trainee_walk_start(viewport, name)
        step_account(walk)
        step_study(walk)
        step_exam_fail(walk)
        step_exam_resit_pass(walk)
        certificate = step_certificate_download(walk)
        step_certificate_verify(walk, certificate)
        step_certificate_mailing(walk, certificate)


# ---------------------------------------------------------------------------------------------
# Failure paths


def _unit_fields(page) -> None:
    page.locator("#id_unit_name").fill(UNIT_NAME)
    page.locator("#id_industry").select_option("C")
    page.locator("#id_contact_name").fill("陈经理")
    page.locator("#id_contact_phone").fill("13700006000")
    page.locator("#id_mail_recipient").fill("陈经理")
    page.locator("#id_mail_phone").fill("13700006000")
    page.locator("#id_mail_address").fill("示例市工业大道 8 号")
    page.locator("#id_invoice_title").fill(UNIT_NAME)
    page.locator("#id_invoice_tax_id").fill(uscc_make(601))
    page.locator("#id_invoice_email").fill("invoice@example.org")


def test_bad_id_number_in_the_roster_is_shown_and_nothing_saved(live_server, open_page, tmp_path):
    ProgrammeFactory()
    good = id_number_make(611)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")  # a typing error: the check digit does not match
    watched = open_page("desktop")
    page = watched.page
    page.goto(live_server.url + "/registration/unit/")
    _unit_fields(page)
    page.locator("#id_roster-0-name").fill("张错号")
    page.locator("#id_roster-0-id_number").fill(bad)
    page.locator("#id_roster-0-mobile").fill("13700006011")
    page.locator("#id_roster-0-certificate_type").select_option("principal")
    page.locator("#id_roster-0-training_category").select_option("initial")
    tick_consents(page)
    page.get_by_role("button", name="提交报名").click()
    page.wait_for_selector("#error-summary")
    summary = page.locator("#error-summary").inner_text()
    assert f"身份证号码 {bad} 有误：校验码不符，请逐位核对。" in summary, summary
    field_ = page.locator("#id_roster-0-id_number")
    expect(field_).to_have_class(re.compile("is-invalid"))
    expect(field_).to_have_value(bad)  # kept for correcting
    assert_fits_viewport(page)
    assert_accessible_basics(page)
    watched.screenshot("bad-id-number")
    assert not Application.objects.exists() and not Trainee.objects.exists()

    # The same number in an imported workbook: the import report names the Excel row.
    path = tmp_path / "roster.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["序号", "姓名", "身份证号码", "手机号码", "证书类型", "培训类别"])
    sheet.append([1, "钱错号", bad, "13700006012", "主要负责人", "初始培训"])
    workbook.save(path)
    page.locator("#id_workbook").set_input_files(str(path))
    page.get_by_role("button", name="导入", exact=True).click()
    page.wait_for_selector("#import-report")
    report = page.locator("#import-report").inner_text()
    assert f"第 2 行：身份证号码：身份证号码 {bad} 有误：校验码不符，请逐位核对。" in report, report
    expect(page.locator("#id_roster-1-id_number")).to_have_class(
        re.compile("is-invalid")
    )  # shown in the roster
    watched.screenshot("bad-id-number-import")
    assert not Application.objects.exists() and not Trainee.objects.exists()


def test_photo_that_is_not_an_image_is_refused(live_server, open_page, tmp_path):
    trainee = TraineeFactory(name="孙照片")
    not_an_image = tmp_path / "photo.jpg"
    not_an_image.write_text("这不是照片，是一个改了扩展名的文本文件。\n" * 20, encoding="utf-8")
    front = _image(tmp_path / "front.jpg", (856, 540), (220, 220, 220))
    back = _image(tmp_path / "back.jpg", (856, 540), (200, 200, 200))
    watched = open_page("phone")
    page = watched.page
    page.goto(f"{live_server.url}/registration/t/{trainee.access_key}/")
    tick_consents(page)
    _fill_attachment2(page, trainee.name, {"photo": str(not_an_image), "front": front, "back": back})
    message = "该文件不是 JPEG 或 PNG 图片。请上传 JPEG 或 PNG 格式的图片。"
    expect(page.locator("#error-summary")).to_contain_text(message)
    expect(page.locator("#id_photo")).to_have_class(re.compile("is-invalid"))
    assert_fits_viewport(page)
    assert_accessible_basics(page)
    # the two good ID copies are kept (saved, shown as uploaded): only the photo is chosen again
    expect(
        page.get_by_text("已保存：身份证正面（人像面）、身份证反面（国徽面），无需重新选择")
    ).to_be_visible()
    expect(page.get_by_text("✓ 已上传")).to_have_count(2)
    watched.screenshot("photo-not-an-image")
    trainee.refresh_from_db()
    assert not trainee.photo and not trainee.attachment2_complete
    assert trainee.id_front and trainee.id_back


@pytest.fixture
def unlocked(notice):
    """An enrollment of the walk's plan whose class hours are all credited (recorded by staff)."""
    from tests.factories import EnrollmentFactory

    enrollment = EnrollmentFactory(
        trainee__programme=notice,
        trainee__application__programme=notice,
        trainee__certificate_type="safety_manager",
        trainee__training_category="refresher",
        programme=notice,
    )
    staff = StaffFactory(role="course_admin", is_superuser=True)
    for lesson in Lesson.objects.all():
        minutes = int(lesson.class_hours * 45) + 1
        study_hours_record(
            enrollment=enrollment, lesson=lesson, minutes=minutes, reason="面授补录", actor=staff
        )
    return enrollment


def test_submit_with_unanswered_questions_lists_them(live_server, open_page, unlocked):
    watched = open_page("phone")
    page = watched.page
    login_cookie(page, live_server, unlocked.user)
    page.goto(f"{live_server.url}/exams/e/{unlocked.pk}/")
    page.get_by_role("button", name="开始考试").click()
    page.wait_for_url("**/exams/a/*/")
    attempt = Attempt.objects.get(enrollment=unlocked)
    with page.expect_response(lambda r: r.url.endswith("/answer/")):
        page.locator("label[for='q1-0']").click()
    # 确认交卷 in the page: the unanswered numbers, and no way to confirm.
    page.locator("#submit-button").click()
    page.wait_for_selector("#confirm-modal.show")
    missing = ", ".join(str(n) for n in range(2, attempt.question_count + 1))
    expect(page.locator("#confirm-unanswered")).to_contain_text(missing)
    expect(page.locator("#confirm-submit")).to_be_disabled()
    watched.screenshot("unanswered-confirm")
    page.get_by_role("button", name="返回答题").click()
    expect(page.locator("#confirm-modal")).to_be_hidden()
    # Sent anyway (the page's script bypassed, as a browser without JavaScript does): the server
    # refuses it and lists the unanswered questions, each a link to the question.
    page.locator("#exam-form").evaluate("form => form.submit()")
    page.wait_for_selector("#unanswered-alert")
    links = page.locator("#unanswered-alert a")
    assert links.count() == attempt.question_count - 1
    assert links.first.get_attribute("href") == "#q2"
    assert_fits_viewport(page)
    watched.screenshot("unanswered-server")
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.IN_PROGRESS and attempt.score is None


def test_study_after_expiry_is_refused(live_server, open_page, notice):
    from tests.factories import EnrollmentFactory

    opened = timezone.now() - datetime.timedelta(days=31)
    enrollment = EnrollmentFactory(
        trainee__programme=notice,
        trainee__application__programme=notice,
        trainee__certificate_type="safety_manager",
        trainee__training_category="refresher",
        programme=notice,
        opened_at=opened,
        deadline=opened + datetime.timedelta(days=30),
    )
    enrollment.user.set_password(PASSWORD)
    enrollment.user.save()
    assert enrollments_expire() == 1  # the nightly job
    lesson = Lesson.objects.order_by("course__order", "order").first()

    watched = open_page("phone")
    page = watched.page
    page.goto(live_server.url + "/login/")
    page.get_by_label("手机号").fill(enrollment.user.mobile)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").last.click()
    page.goto(live_server.url + "/learning/")
    expect(page.get_by_role("alert").filter(has_text="该学习账号已过期。")).to_be_visible()
    assert_fits_viewport(page)
    assert_accessible_basics(page)
    watched.screenshot("expired-centre")
    page.get_by_role("link", name="进入该项目").click()
    expect(page.get_by_role("alert").filter(has_text="该学习账号已过期。")).to_be_visible()
    assert page.get_by_role("link", name=re.compile("开始学习|继续")).count() == 0
    # The lesson's address typed in: the page says why, and nothing is started or credited.
    page.goto(f"{live_server.url}/learning/enrollments/{enrollment.pk}/lessons/{lesson.pk}/")
    expect(page.locator("#study-status")).to_contain_text("该学习账号已作废")  # the reason, not "starting…"
    page.wait_for_timeout(2 * HEARTBEAT_SECONDS * 1000)
    watched.screenshot("expired-lesson")
    assert not StudyState.objects.filter(enrollment=enrollment).exists()
    assert not LessonProgress.objects.filter(enrollment=enrollment, credited_ms__gt=0).exists()
    page.goto(f"{live_server.url}/exams/e/{enrollment.pk}/")
    expect(page.get_by_role("button", name="开始考试")).to_have_count(0)


def _other_trainees_urls(enrollment: Enrollment, attempt: Attempt, lesson: Lesson) -> list[str]:
    """The pages of one trainee that no other trainee may open."""
    return other_trainees_certificate_urls(enrollment) + [
        f"/learning/enrollments/{enrollment.pk}/",
        f"/learning/enrollments/{enrollment.pk}/lessons/{lesson.pk}/",
        f"/exams/e/{enrollment.pk}/",
        f"/exams/e/{enrollment.pk}/practice/",
        f"/exams/a/{attempt.pk}/",
        f"/exams/a/{attempt.pk}/result/",
    ]


def test_another_trainees_pages_are_refused(live_server, open_page, unlocked):
    from tests.factories import EnrollmentFactory

    mine = EnrollmentFactory(
        trainee__programme=unlocked.programme,
        trainee__application__programme=unlocked.programme,
        trainee__certificate_type="safety_manager",
        trainee__training_category="refresher",
        programme=unlocked.programme,
    )
    theirs = exam_services.attempt_start(enrollment=unlocked, actor=unlocked.user)
    CertificateFactory(enrollment=unlocked, holder_name=unlocked.trainee.name)  # their certificate PDF
    lesson = Lesson.objects.order_by("course__order", "order").first()
    watched = open_page("desktop")
    page = watched.page
    login_cookie(page, live_server, mine.user)
    # My own pages open ...
    for path in (f"/learning/enrollments/{mine.pk}/", f"/exams/e/{mine.pk}/"):
        # networkidle: the page's icon loads before the next page (else its request is cut off)
        assert page.goto(live_server.url + path, wait_until="networkidle").status == 200, path
    # ... another trainee's do not, and show nothing of theirs.
    for path in _other_trainees_urls(unlocked, theirs, lesson):
        response = page.goto(live_server.url + path)
        assert response.status in (403, 404), f"{path}: {response.status}"
        assert unlocked.trainee.name not in page.content(), path
        # the portal's own page, in Chinese, with the way back
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "页面不存在" if response.status == 404 else "无权访问"
        )
        assert_accessible_basics(page)
    assert_fits_viewport(page)
    assert_unobstructed(page, page.get_by_role("link", name="个人中心").last)
    watched.screenshot("another-trainees-page")
    theirs.refresh_from_db()
    assert theirs.status == AttemptStatus.IN_PROGRESS


def test_layout_and_accessibility_checks_find_problems(open_page):
    """The checks the walk relies on do fail on a page with the problems they look for."""
    watched = open_page("phone")
    page = watched.page
    page.set_content(
        '<html><head><meta name="viewport" content="width=device-width, initial-scale=1"></head><body>'
        '<button id="covered" style="position:relative">Send</button>'
        '<div style="position:relative;top:-2.2em;height:3em;background:#fff">a banner on top</div>'
        '<p style="margin-top:3em"><label for="named">Name</label><input id="named"></p>'
        '<p><input id="bare" placeholder="no label"></p>'
        '<div style="width:600px">too wide for a phone</div>'
        "</body></html>"
    )
    with pytest.raises(AssertionError, match="lang"):
        assert_accessible_basics(page)
    page.evaluate("document.documentElement.lang = 'zh-Hans'")
    with pytest.raises(AssertionError, match="(?s)without a label.*bare"):
        assert_accessible_basics(page)
    with pytest.raises(AssertionError, match="covered by"):
        assert_unobstructed(page, page.locator("#covered"))
    assert_unobstructed(page, page.locator("#named"))
    with pytest.raises(AssertionError, match="scrolls horizontally"):
        assert_fits_viewport(page)
