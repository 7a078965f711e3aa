"""Issue 3 in the browser: a unit registers 3 trainees, each completes attachment 2 with photos,
a reviewer approves two and returns one with a reason, that trainee corrects it, it is approved."""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from registration.models import Trainee, TraineeStatus
from tests.factories import ProgrammeFactory, StaffFactory, id_number_make, uscc_make

pytestmark = pytest.mark.django_db(transaction=True)

ROSTER = [
    ("王小明", id_number_make(501, male=True), "13700005001", "principal", "initial", ""),
    ("李小红", id_number_make(502, male=False), "13700005002", "safety_manager", "initial", ""),
    ("赵大勇", id_number_make(503, male=True), "13700005003", "safety_manager", "refresher", "GD2025-00123"),
]


def _image(path, size, color):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return str(path)


def _tick_consents(page):
    """Tick the separate consent checkboxes (ID number; on attachment 2 also photo and ID copy)."""
    boxes = page.locator("input[type=checkbox][name^=consent_]")
    assert boxes.count() >= 1
    for index in range(boxes.count()):
        boxes.nth(index).check()


def _fill_unit_form(page):
    page.locator("#id_unit_name").fill("示例市安康机械有限公司")
    page.locator("#id_industry").select_option("C")
    page.locator("#id_contact_name").fill("陈经理")
    page.locator("#id_contact_phone").fill("13700005000")
    page.locator("#id_contact_email").fill("hr@example.org")
    page.locator("#id_mail_recipient").fill("陈经理")
    page.locator("#id_mail_phone").fill("13700005000")
    page.locator("#id_mail_address").fill("示例市工业大道 8 号")
    page.locator("#id_invoice_title").fill("示例市安康机械有限公司")
    page.locator("#id_invoice_tax_id").fill(uscc_make(77))
    page.locator("#id_invoice_email").fill("invoice@example.org")
    for row, (name, id_number, mobile, cert, category, previous) in enumerate(ROSTER):
        if row:
            page.get_by_role("button", name="添加学员").click()
        prefix = f"#id_roster-{row}-"
        page.locator(prefix + "name").fill(name)
        page.locator(prefix + "id_number").fill(id_number)
        page.locator(prefix + "mobile").fill(mobile)
        page.locator(prefix + "certificate_type").select_option(cert)
        page.locator(prefix + "training_category").select_option(category)
        if previous:
            page.locator(prefix + "previous_certificate_no").fill(previous)
    _tick_consents(page)


def _fill_attachment2(page, name, files):
    page.locator("#id_education").select_option("bachelor")
    page.locator("#id_safety_years").fill("6")
    page.locator("#id_work_unit").fill("示例市安康机械有限公司")
    page.locator("#id_work_unit_address").fill("示例市工业大道 8 号")
    page.locator("#id_mailing_address").fill("示例市工业大道 8 号 3 栋")
    page.locator("#id_work_history").fill("2015—2020 车间主任；2020 至今 安全管理部经理")
    page.locator("#id_photo").set_input_files(files["photo"])
    page.locator("#id_id_front").set_input_files(files["front"])
    page.locator("#id_id_back").set_input_files(files["back"])
    page.locator("#id_declaration_name").fill(name)
    assert page.locator("input[type=checkbox][name^=consent_]").count() == 3
    _tick_consents(page)
    page.locator("main form button[type=submit].btn-primary").click()
    page.wait_for_load_state()


def _admin_login(page, live_server, staff):
    page.goto(live_server.url + "/admin/login/")
    page.locator("#id_username").fill(staff.mobile)
    page.locator("#id_password").fill("correct-horse-battery")
    page.locator("input[type=submit]").click()
    page.wait_for_url(live_server.url + "/admin/")


def _admin_action(page, live_server, trainees, action):
    page.goto(live_server.url + "/admin/registration/trainee/")
    for trainee in trainees:
        page.locator(f"input[name=_selected_action][value='{trainee.pk}']").check()
    page.locator("select[name=action]").select_option(action)
    page.locator("button[name=index]").click()
    page.wait_for_load_state()


def test_unit_registration_review_and_correction(live_server, open_page, tmp_path):
    ProgrammeFactory()
    files = {
        "photo": _image(tmp_path / "photo.jpg", (354, 496), (40, 90, 200)),
        "front": _image(tmp_path / "front.jpg", (856, 540), (220, 220, 220)),
        "back": _image(tmp_path / "back.jpg", (856, 540), (200, 200, 200)),
    }

    # The unit fills attachment 1 on a desktop and sees the fee due.
    unit = open_page("desktop")
    page = unit.page
    page.goto(live_server.url + "/registration/unit/")
    _fill_unit_form(page)
    # roster.js counts rows and estimates the fee with the template's translated words.
    expect(page.locator("[data-roster-count]")).to_have_text("3 行")
    expect(page.locator("[data-roster-fee]")).to_have_text("已填写 3 人，预计费用 1,900.00 元")
    unit.screenshot("attachment-1")
    page.get_by_role("button", name="提交报名").click()
    page.wait_for_url("**/registration/a/**")
    total = page.locator("[data-fee-total]").inner_text().replace(",", "")
    assert "1900.00" in total  # 800 + 800 + 300 yuan
    unit.screenshot("application")
    links = [page.locator("a[href*='/registration/t/']").nth(i).get_attribute("href") for i in range(3)]
    assert len(set(links)) == 3

    # Each trainee completes attachment 2 through their link (the first one on a phone).
    for index, link in enumerate(links):
        trainee_page = open_page("phone" if index == 0 else "desktop")
        trainee_page.page.goto(live_server.url + link)
        trainee = Trainee.objects.get(access_key=link.rstrip("/").rsplit("/", 1)[-1])
        # "From the registration": the first field shown is the trainee's own name.
        expect(trainee_page.page.locator("dl dd").first).to_have_text(trainee.name)
        _fill_attachment2(trainee_page.page, trainee.name, files)
        if index == 0:
            trainee_page.assert_no_horizontal_scroll()
            trainee_page.screenshot("attachment-2")
        trainee.refresh_from_db()
        assert trainee.attachment2_complete, f"attachment 2 not saved for {trainee.name}"

    first, second, third = Trainee.objects.order_by("row_number")

    # A reviewer approves two and returns the third with a reason.
    reviewer = StaffFactory(role="reviewer")
    staff = open_page("desktop")
    _admin_login(staff.page, live_server, reviewer)
    _admin_action(staff.page, live_server, [first, second], "approve_selected")
    _admin_action(staff.page, live_server, [third], "return_selected")
    staff.page.locator("textarea[name=reason]").fill("证件照背景不是纯色，请重新上传近期免冠彩色证件照。")
    staff.page.locator("input[type=submit]").click()
    staff.page.wait_for_load_state()
    staff.screenshot("after-review")
    statuses = dict(Trainee.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "approved", second.pk: "approved", third.pk: "returned"}

    # The third trainee sees the reason, corrects the photo and submits again.
    correcting = open_page("phone")
    correcting.page.goto(live_server.url + links[2])
    assert "证件照背景不是纯色" in correcting.page.content()
    correcting.page.locator("#id_photo").set_input_files(
        _image(tmp_path / "new.jpg", (354, 496), (200, 60, 60))
    )
    correcting.page.locator("#id_declaration_name").fill(third.name)
    _tick_consents(correcting.page)
    correcting.page.locator("main form button[type=submit].btn-primary").click()
    correcting.page.wait_for_load_state()
    correcting.screenshot("corrected")
    third.refresh_from_db()
    assert third.status == TraineeStatus.SUBMITTED

    # The reviewer approves the corrected registration.
    _admin_action(staff.page, live_server, [third], "approve_selected")
    third.refresh_from_db()
    assert third.status == TraineeStatus.APPROVED


@pytest.mark.parametrize("form", ["unit", "individual"])
def test_high_risk_industry_is_refused_as_soon_as_it_is_chosen(live_server, open_page, viewport_name, form):
    """Said when chosen (the rule's codes and words from the list's data attributes), not only after
    the whole form is submitted; choosing another industry takes it away."""
    ProgrammeFactory()
    watched = open_page(viewport_name)
    page = watched.page
    page.goto(f"{live_server.url}/registration/{form}/")
    warning = page.locator("#id_industry-high-risk")
    expect(warning).to_be_hidden()
    page.select_option("#id_industry", "E")
    expect(warning).to_be_visible()
    expect(warning).to_have_text(
        re.compile(r"^“E 建筑业（建筑施工）”属于高危行业。本线上培训只面向非高危行业")
    )
    assert "is-invalid" in (page.locator("#id_industry").get_attribute("class") or "")
    assert page.locator("#id_industry").get_attribute("aria-describedby").endswith("id_industry-high-risk")
    watched.assert_no_horizontal_scroll()
    watched.screenshot("high-risk")
    page.select_option("#id_industry", "F")
    expect(warning).to_be_hidden()
    assert "is-invalid" not in (page.locator("#id_industry").get_attribute("class") or "")
