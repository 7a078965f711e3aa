"""Staff side: the list with the mailing deadline highlighted, revocation, the courier sheet, the
tracking-number import, bulk print with progress, the dashboard section, role permissions."""

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from certificates.models import Certificate, CertificateStatus, MailingStatus, PrintRun, PrintRunStatus
from portal.models import AuditEntry
from tests.factories import CertificateFactory, StaffFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:certificates_certificate_changelist"


@pytest.fixture
def reviewer_client():
    client = Client()
    client.force_login(StaffFactory(role="reviewer"))
    return client


def _today():
    return timezone.localdate()


def test_changelist_highlights_overdue_and_due_soon_in_constant_queries(reviewer_client):
    CertificateFactory(mail_due_on=_today() - datetime.timedelta(days=1))
    with CaptureQueriesContext(connection) as few:
        reviewer_client.get(reverse(CHANGELIST))
    for offset in (-3, 0, 30):
        CertificateFactory(mail_due_on=_today() + datetime.timedelta(days=offset))
    CertificateFactory(mailing_status=MailingStatus.MAILED, tracking_number="SF123456789012")
    with CaptureQueriesContext(connection) as many:
        response = reviewer_client.get(reverse(CHANGELIST))
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('class="mailing-overdue"') == 2
    assert page.count('class="mailing-due_soon"') == 1
    assert page.count('class="mailing-mailed"') == 1
    assert len(many.captured_queries) == len(few.captured_queries)


def test_filter_overdue(reviewer_client):
    late = CertificateFactory(mail_due_on=_today() - datetime.timedelta(days=2))
    on_time = CertificateFactory()
    page = reviewer_client.get(reverse(CHANGELIST) + "?mailing=overdue").content.decode()
    assert late.number in page and on_time.number not in page


def test_revoke_action_asks_a_reason_and_reports_each_row(reviewer_client):
    a = CertificateFactory()
    b = CertificateFactory(status=CertificateStatus.REVOKED)
    data = {"action": "revoke_selected", "_selected_action": [a.pk, b.pk]}
    form_page = reviewer_client.post(reverse(CHANGELIST), data)
    page = form_page.content.decode()
    assert form_page.status_code == 200 and 'name="reason"' in page
    assert "撤销后，公开查验页面将显示该证书已撤销，持证人也不能再下载。此操作不可恢复。" in page
    assert a.number in page and b.number in page
    response = reviewer_client.post(
        reverse(CHANGELIST), {**data, "apply": "1", "reason": "资料造假"}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == [
        f"已撤销（1）：{a.number}",
        f"{b.number}：未处理：证书 {b.number} 已被撤销。",
    ]
    a.refresh_from_db()
    assert a.status == CertificateStatus.REVOKED and a.revoke_reason == "资料造假"
    assert AuditEntry.objects.filter(action="certificate.revoked").count() == 1


def test_rerender_action_reports_the_certificates_that_failed(reviewer_client, monkeypatch):
    from certificates import rendering

    def unrenderable(data):
        raise rendering.InvalidImageError("the seal must be a JPEG or PNG image.")

    monkeypatch.setattr(rendering, "render_certificate_pdf", unrenderable)
    certificate = CertificateFactory()
    response = reviewer_client.post(
        reverse(CHANGELIST),
        {"action": "rerender_selected", "_selected_action": [certificate.pk]},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        f"{certificate.number}：未处理：无法生成 PDF：原因见证书页面上的错误信息。"
    ]
    certificate.refresh_from_db()
    assert certificate.render_error == "the seal must be a JPEG or PNG image." and not certificate.pdf


def test_single_revoke_page(reviewer_client):
    certificate = CertificateFactory()
    url = reverse("admin:certificates_certificate_revoke", args=[certificate.pk])
    assert reviewer_client.post(url, {"reason": ""}).status_code == 200  # form error, nothing done
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.VALID
    reviewer_client.post(url, {"reason": "重复发证"})
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.REVOKED


def test_export_courier_sheet(reviewer_client):
    from openpyxl import load_workbook

    certificate = CertificateFactory()
    response = reviewer_client.post(
        reverse(CHANGELIST), {"action": "export_mailing_list", "_selected_action": [certificate.pk]}
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet["A2"].value == certificate.number


def _xlsx(rows) -> SimpleUploadedFile:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile("sf.xlsx", out.getvalue())


def test_tracking_import_page(reviewer_client, sms_outbox):
    a, b = CertificateFactory(), CertificateFactory()
    url = reverse("admin:certificates_certificate_tracking_import")
    bad = reviewer_client.post(
        url, {"file": _xlsx([["用户订单号", "运单号"], [a.number, "SF1000000000001"], [b.number, "bad"]])}
    )
    assert bad.status_code == 200
    assert (
        '<ul class="errornote" id="import-errors"><li>第 3 行：“bad”不是有效的顺丰运单号'
        "（SF 加 12-13 位数字，或 12-15 位数字）。</li></ul>"
    ) in bad.content.decode()
    assert not Certificate.objects.filter(mailing_status=MailingStatus.MAILED).exists()
    # SF's export: waybill numbers typed as numbers, header not on the first row.
    good = reviewer_client.post(
        url,
        {
            "file": _xlsx(
                [
                    ["顺丰批量下单结果"],
                    ["用户订单号", "运单号"],
                    [a.number, "SF1000000000001"],
                    [b.number, 1000000000002],
                ]
            )
        },
    )
    assert good.status_code == 302
    assert set(
        Certificate.objects.filter(mailing_status=MailingStatus.MAILED).values_list(
            "tracking_number", flat=True
        )
    ) == {
        "SF1000000000001",
        "1000000000002",
    }
    not_a_sheet = reviewer_client.post(url, {"file": SimpleUploadedFile("x.xlsx", b"PK\x03\x04garbage")})
    assert not_a_sheet.status_code == 200


def test_mark_mailed_page(reviewer_client):
    certificate = CertificateFactory()
    url = reverse("admin:certificates_certificate_mailed", args=[certificate.pk])
    assert reviewer_client.post(url, {"tracking_number": "123"}).status_code == 200
    reviewer_client.post(url, {"tracking_number": "SF1234567890123"})
    certificate.refresh_from_db()
    assert certificate.tracking_number == "SF1234567890123"


def test_print_run_with_progress(reviewer_client, django_capture_on_commit_callbacks):
    certificates = [CertificateFactory() for _ in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        response = reviewer_client.post(
            reverse(CHANGELIST),
            {"action": "print_selected", "_selected_action": [c.pk for c in certificates]},
        )
    run = PrintRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "admin:certificates_printrun_change", args=[run.pk]
    )
    page = reviewer_client.get(response["Location"]).content.decode()
    assert "print-run-progress" in page and "certificates/print_run.js" in page
    status = reviewer_client.get(reverse("admin:certificates_printrun_status", args=[run.pk])).json()
    assert status["status"] == PrintRunStatus.DONE and status["done"] == status["total"] == 2
    pdf = reviewer_client.get(status["pdf_url"])
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")


def test_roles_finance_and_course_admin_cannot_reach_certificates():
    for role in ("finance", "course_admin"):
        client = Client()
        client.force_login(StaffFactory(role=role))
        assert client.get(reverse(CHANGELIST)).status_code == 403
        assert client.get(reverse("admin:certificates_certificate_tracking_import")).status_code == 403


def test_certificates_cannot_be_added_or_deleted_in_admin(reviewer_client):
    certificate = CertificateFactory()
    assert reviewer_client.get(reverse("admin:certificates_certificate_add")).status_code == 403
    assert (
        reviewer_client.get(
            reverse("admin:certificates_certificate_delete", args=[certificate.pk])
        ).status_code
        == 403
    )


def test_dashboard_lists_certificates_overdue_for_mailing(reviewer_client):
    late = CertificateFactory(mail_due_on=_today() - datetime.timedelta(days=1))
    page = reviewer_client.get(reverse("admin:learning_pipelinedashboard_changelist")).content.decode()
    assert 'id="certificates-mailing"' in page
    assert late.number in page and "cert-overdue" in page


def test_settings_reject_a_seal_that_is_not_an_image(admin_client):
    response = admin_client.post(
        reverse("admin:certificates_certificatesettings_add"),
        {
            "number_prefix": "AQ",
            "mailing_working_days": 10,
            "seal": SimpleUploadedFile("seal.png", b"not an image", content_type="image/png"),
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["seal"]
