"""The certificate steps of the notice walk (tests/browser/test_notice_walk.py), after the exam:
the trainee downloads the PDF certificate, a stranger confirms it on the public verification page,
staff book the courier (SF Express sheet) and import the tracking number, the trainee sees it.

Each step takes the walk's shared state (``Walk``): ``walk.trainee`` (the trainee's page, logged
in), ``walk.walker``, ``walk.enrollment``, ``walk.staff_page(role)``, ``walk.shot(page, name)``.
"""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import expect
from pypdf import PdfReader

from certificates.models import Certificate, MailingStatus
from portal.models import Association
from tests.browser.a11y import assert_accessible_basics, assert_fits_viewport, assert_unobstructed

ISSUER = "示例省安全生产协会"


def issuer_configure() -> None:
    """The association's certificate issuer, set before the notice goes out."""
    Association.objects.update_or_create(
        pk=1, defaults={"name": "示例市职业安全健康协会", "certificate_issuer": ISSUER}
    )


def _check(watched, *controls) -> None:
    assert_fits_viewport(watched.page)
    assert_accessible_basics(watched.page)
    assert_unobstructed(watched.page, *controls)


def step_certificate_download(walk) -> Certificate:
    """Back in the personal centre: the certificate is issued; the trainee downloads the PDF."""
    page = walk.trainee.page
    page.goto(f"{walk.url}/learning/")
    certificate = Certificate.objects.get(enrollment=walk.enrollment)
    step = page.locator("[data-step='certificate']")
    expect(step).to_contain_text(certificate.number)
    expect(page.locator("[data-step='mailing']")).to_contain_text(certificate.mail_due_on.isoformat())
    link = step.get_by_role("link", name="下载证书（PDF）")
    _check(walk.trainee, link)
    walk.shot(walk.trainee, "21-certificate-issued")
    with page.expect_download() as info:
        link.click()
    pdf = Path(info.value.path()).read_bytes()
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert walk.walker.name in text and certificate.number in text and ISSUER in text
    return certificate


def step_certificate_verify(walk, certificate: Certificate) -> None:
    """Anyone (here an employer on a phone) checks the certificate by number and name."""
    watched = walk.open_page("phone")
    page = watched.page
    page.goto(f"{walk.url}/certificates/verify/")
    page.get_by_label("证书编号").fill(certificate.number)
    page.get_by_label("持证人姓名").fill(walk.walker.name + "某")
    page.get_by_role("button", name="查验").click()
    expect(page.locator("[data-result='none']")).to_be_visible()
    page.get_by_label("持证人姓名").fill(walk.walker.name)
    page.get_by_role("button", name="查验").click()
    expect(page.locator("[data-result='valid']")).to_be_visible()
    result = page.locator("#verify-result")
    expect(result).to_contain_text(certificate.id_number_masked)
    assert walk.walker.id_number not in page.content()
    _check(watched, page.get_by_role("button", name="查验"))
    walk.shot(watched, "22-certificate-verified")


def step_certificate_mailing(walk, certificate: Certificate) -> None:
    """A reviewer exports the courier sheet, SF returns it with the waybill number, the reviewer
    imports it; the trainee sees the tracking number."""
    staff = walk.staff_page("reviewer")
    page = staff.page
    page.goto(f"{walk.url}/admin/certificates/certificate/?mailing=pending")
    page.locator(f"input[name=_selected_action][value='{certificate.pk}']").check()
    page.locator("select[name=action]").select_option("export_mailing_list")
    with page.expect_download() as info:
        page.locator("button[name=index]").click()
    book = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))  # the temp file has no .xlsx
    sheet = book.active
    header = [cell.value for cell in sheet[1]]
    assert sheet.cell(row=2, column=header.index("用户订单号") + 1).value == certificate.number
    assert sheet.cell(row=2, column=header.index("付款方式") + 1).value == "到付"
    tracking = f"SF{1300000000000 + certificate.pk}"
    sheet.cell(row=1, column=len(header) + 1, value="运单号")
    sheet.cell(row=2, column=len(header) + 1, value=tracking)
    returned = walk.tmp / f"sf-{certificate.pk}.xlsx"
    book.save(returned)
    page.goto(f"{walk.url}/admin/certificates/certificate/tracking-import/")
    page.locator("input[type=file]").set_input_files(str(returned))
    page.get_by_role("button", name="导入").click()
    expect(page.locator(".messagelist")).to_contain_text("1")
    walk.shot(staff, "23-tracking-imported")
    certificate.refresh_from_db()
    assert certificate.mailing_status == MailingStatus.MAILED and certificate.tracking_number == tracking

    trainee = walk.trainee.page
    trainee.goto(f"{walk.url}/learning/")
    mailing = trainee.locator("[data-step='mailing']")
    expect(mailing).to_contain_text(tracking)
    _check(walk.trainee, mailing)
    walk.shot(walk.trainee, "24-tracking-number")


def other_trainees_certificate_urls(enrollment) -> list[str]:
    """Another trainee's certificate PDF (for the "another trainee's pages" failure path)."""
    certificate = Certificate.objects.filter(enrollment=enrollment).first()
    return [f"/certificates/{certificate.pk}/pdf/"] if certificate else []
