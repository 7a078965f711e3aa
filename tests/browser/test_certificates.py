"""Certificates in a real browser: the trainee downloads the PDF and sees the tracking number, the
public verification page (phone and desktop), staff print with progress and import tracking numbers."""

import io
from pathlib import Path

import pytest
from django.test import Client
from openpyxl import Workbook
from pypdf import PdfReader

from certificates.models import MailingStatus
from certificates.services.issue import certificates_issue
from certificates.services.pdf import certificate_render
from certificates.services.verification import verify_url
from tests.factories import StaffFactory, passed_enrollment_make

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.django_db(transaction=True)


def _login(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def _issued(name="欧阳𠮷"):
    enrollment = passed_enrollment_make(name=name)
    (certificate,) = certificates_issue(enrollment_ids=[enrollment.pk]).issued
    certificate_render(certificate_id=certificate.pk)
    certificate.refresh_from_db()
    return certificate


def test_trainee_downloads_and_anyone_verifies(live_server, open_page, viewport_name):
    certificate = _issued()
    watched = open_page(viewport_name)
    page = watched.page
    _login(page, live_server, certificate.enrollment.user)
    page.goto(f"{live_server.url}/learning/")
    step = page.locator("[data-step='certificate']")
    expect(step).to_contain_text(certificate.number)
    expect(page.locator("[data-step='mailing']")).to_contain_text(certificate.mail_due_on.isoformat())
    watched.assert_no_horizontal_scroll()
    watched.screenshot("centre-certificate")
    with page.expect_download() as info:
        step.get_by_role("link", name="下载证书（PDF）").click()
    pdf = Path(info.value.path()).read_bytes()
    assert "欧阳𠮷" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()

    # The public verification page, as a stranger on the same device.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/certificates/verify/")
    page.get_by_label("证书编号").fill(certificate.number)
    page.get_by_label("持证人姓名").fill("欧阳吉")
    page.get_by_role("button", name="查验").click()
    expect(page.locator("[data-result='none']")).to_be_visible()
    page.get_by_label("持证人姓名").fill("欧阳𠮷")
    page.get_by_role("button", name="查验").click()
    expect(page.locator("[data-result='valid']")).to_be_visible()
    expect(page.locator("#verify-result")).to_contain_text(certificate.id_number_masked)
    watched.assert_no_horizontal_scroll()
    watched.screenshot("verify-valid")
    # The QR code's link opens the same result without the name.
    url = verify_url(certificate)
    page.goto(live_server.url + url[url.index("/certificates/") :])
    expect(page.locator("[data-result='valid']")).to_be_visible()


def test_staff_print_with_progress_and_import_tracking_numbers(live_server, open_page, tmp_path):
    certificates = [_issued(name) for name in ("王小明", "李娜")]
    staff = StaffFactory(role="reviewer")
    watched = open_page("desktop")
    page = watched.page
    _login(page, live_server, staff)
    page.goto(f"{live_server.url}/admin/certificates/certificate/")
    for certificate in certificates:
        page.locator(f"input[name='_selected_action'][value='{certificate.pk}']").check()
    page.locator("select[name='action']").select_option("print_selected")
    page.locator("button[name='index']").click()
    # The run page polls its status until the PDF is ready (eager Celery: at once here).
    expect(page.locator("#print-run-download")).to_be_visible()
    expect(page.locator("#print-run-text")).to_contain_text("2/2")
    watched.screenshot("print-run")

    book = Workbook()
    book.active.append(["用户订单号", "运单号"])
    book.active.append([certificates[0].number, "SF1234567890123"])
    book.active.append([certificates[1].number, "bad"])
    bad = tmp_path / "bad.xlsx"
    book.save(bad)
    page.goto(f"{live_server.url}/admin/certificates/certificate/tracking-import/")
    page.locator("input[type='file']").set_input_files(str(bad))
    page.get_by_role("button", name="导入").click()
    expect(page.locator("#import-errors")).to_contain_text("第 3 行")
    book.active["B3"] = "SF1234567890124"
    good = tmp_path / "good.xlsx"
    book.save(good)
    page.locator("input[type='file']").set_input_files(str(good))
    page.get_by_role("button", name="导入").click()
    expect(page.locator(".messagelist")).to_contain_text("2")
    for certificate in certificates:
        certificate.refresh_from_db()
        assert certificate.mailing_status == MailingStatus.MAILED

    # The trainee sees the tracking number.
    trainee_page = open_page("phone")
    _login(trainee_page.page, live_server, certificates[0].enrollment.user)
    trainee_page.page.goto(f"{live_server.url}/learning/")
    expect(trainee_page.page.locator("[data-step='mailing']")).to_contain_text("SF1234567890123")
    trainee_page.screenshot("tracking-number")
