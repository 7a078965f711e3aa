"""Issuing (once per passed enrollment), the PDF, revocation, mailing deadlines, tracking numbers
(bulk print runs: test_print_runs.py)."""

import datetime
import io
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
import zxingcpp
from django.core.exceptions import ValidationError
from django.utils import timezone
from PIL import Image
from pypdf import PdfReader

from certificates.models import Certificate, CertificateStatus, MailingStatus
from certificates.selectors import mailing_state
from certificates.services.issue import certificates_issue, certificates_issue_missing
from certificates.services.mailing import (
    certificate_mark_mailed,
    mailing_list_export,
    tracking_numbers_import,
)
from certificates.services.notices import certificate_issued_notify
from certificates.services.pdf import certificate_pdf_bytes, certificate_render
from certificates.services.revocation import certificate_revoke
from certificates.services.verification import verify_url
from learning.models import EnrollmentStatus
from portal.models import AuditEntry, Holiday, OutboundMessage
from tests.factories import CertificateFactory, StaffFactory, passed_enrollment_make

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def _issue(enrollment):
    return certificates_issue(enrollment_ids=[enrollment.pk])


# -- issuing ---------------------------------------------------------------------------------


def test_issue_once_per_passed_enrollment_however_often_the_job_runs(django_capture_on_commit_callbacks):
    enrollment = passed_enrollment_make(name="王小明")
    with django_capture_on_commit_callbacks(execute=True):
        first = _issue(enrollment)
    second = _issue(enrollment)
    swept = certificates_issue_missing()

    assert len(first.issued) == 1 and second.issued == [] and swept == 0
    assert second.skipped == {enrollment.pk: "exists"}
    certificate = Certificate.objects.get()
    assert certificate.enrollment == enrollment
    assert certificate.number == f"AQ{timezone.localdate().year}{certificate.pk:06d}"
    assert certificate.holder_name == "王小明"
    assert certificate.hours == 32
    assert certificate.certificate_type == "principal" and certificate.training_category == "initial"
    assert (
        "*" in certificate.id_number_masked
        and certificate.id_number_masked[-4:] == enrollment.trainee.id_number[-4:]
    )
    assert certificate.mail_address == enrollment.trainee.application.mail_address
    assert AuditEntry.objects.filter(action="certificate.issued", target_id=str(certificate.pk)).count() == 1
    assert certificate.pdf  # the render task ran on commit (eager Celery)


def test_issuer_is_the_associations_and_required():
    from portal.models import Association

    enrollment = passed_enrollment_make()
    Association.objects.update(certificate_issuer="")
    with pytest.raises(ValidationError):
        _issue(enrollment)
    assert not Certificate.objects.exists()
    Association.objects.update(certificate_issuer="某省安全生产协会")
    (certificate,) = _issue(enrollment).issued
    assert certificate.issuer == "某省安全生产协会"


def test_numbers_are_unique_and_come_from_the_row_sequence():
    enrollments = [passed_enrollment_make() for _ in range(3)]
    result = certificates_issue(enrollment_ids=[e.pk for e in enrollments])
    numbers = [row.number for row in result.issued]
    assert len(set(numbers)) == 3
    assert sorted(numbers) == sorted(Certificate.objects.values_list("number", flat=True))


def test_not_passed_and_hours_incomplete_are_not_issued():
    from tests.factories import EnrollmentFactory

    active = EnrollmentFactory()
    short = passed_enrollment_make(hours_complete=False)
    result = certificates_issue(enrollment_ids=[active.pk, short.pk])
    assert result.issued == []
    assert result.skipped == {active.pk: "not_passed", short.pk: "hours_incomplete"}
    assert AuditEntry.objects.filter(action="certificate.withheld", target_id=str(short.pk)).exists()
    assert not Certificate.objects.exists()


def test_sweep_issues_what_the_signal_missed():
    enrollments = [passed_enrollment_make() for _ in range(2)]
    assert certificates_issue_missing() == 2
    assert certificates_issue_missing() == 0
    assert Certificate.objects.filter(enrollment__in=enrollments).count() == 2


def test_exam_passed_signal_issues_the_certificate(django_capture_on_commit_callbacks):
    from exams.models import Attempt
    from exams.signals import exam_passed

    enrollment = passed_enrollment_make()
    exam_passed.send(sender=Attempt, enrollment_id=enrollment.pk, attempt_id=0)
    exam_passed.send(sender=Attempt, enrollment_id=enrollment.pk, attempt_id=0)
    assert Certificate.objects.filter(enrollment=enrollment).count() == 1


def test_issued_sms_goes_once(sms_outbox, django_capture_on_commit_callbacks):
    enrollment = passed_enrollment_make()
    with django_capture_on_commit_callbacks(execute=True):
        (certificate,) = _issue(enrollment).issued
    due = certificate.mail_due_on.isoformat()
    issued = f"您的培训证书{certificate.number}已核发，可在个人中心下载，纸质证书将于{due}前寄出。"
    assert [(m.mobile, m.message) for m in sms_outbox] == [(enrollment.user.mobile, issued)]
    # Recorded as the message kind registered with the SMS provider, about the certificate.
    (record,) = OutboundMessage.objects.filter(kind="certificate_issued")
    assert (record.event, record.about_id, record.status) == (
        f"certificate:{certificate.pk}:issued:sms",
        str(certificate.pk),
        "sent",
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert certificate_issued_notify(certificate_id=certificate.pk) is False
    assert len(sms_outbox) == 1


@pytest.mark.services("postgres")
@pytest.mark.django_db(transaction=True)
def test_concurrent_issue_on_postgresql_makes_one_certificate():
    enrollment = passed_enrollment_make()

    def run():
        from django.db import connections

        try:
            return len(certificates_issue(enrollment_ids=[enrollment.pk]).issued)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(4) as pool:
        issued = list(pool.map(lambda _i: run(), range(4)))
    assert sum(issued) == 1
    assert Certificate.objects.filter(enrollment=enrollment).count() == 1


# -- the PDF -----------------------------------------------------------------------------------


RARE = "张𠮷"  # U+20BB7, beyond the basic multilingual plane


def _pdf_text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_pdf_holds_the_rare_name_as_text_and_a_qr_code_to_the_verification_page(settings, tmp_path):
    settings.PORTAL_SITE_URL = "https://peixun.example.cn"
    enrollment = passed_enrollment_make(name=RARE)
    (certificate,) = _issue(enrollment).issued
    certificate.refresh_from_db()
    pdf = certificate_pdf_bytes(certificate=certificate)
    text = _pdf_text(pdf)
    assert RARE in text
    assert certificate.number in text
    certificate.refresh_from_db()
    assert certificate.photo  # the certificate keeps its own copy of the photo

    (tmp_path / "cert.pdf").write_bytes(pdf)
    subprocess.run(  # poppler-utils: installed by scripts/system_deps.sh in CI
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp_path / "cert.pdf"), str(tmp_path / "page")],
        check=True,
    )
    codes = zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))
    urls = [code.text for code in codes if code.format == zxingcpp.BarcodeFormat.QRCode]
    assert urls == [verify_url(certificate)]
    assert urls[0].startswith(f"https://peixun.example.cn/certificates/verify/{certificate.number}/?k=")


def test_render_is_idempotent_and_force_replaces_the_file():
    (certificate,) = _issue(passed_enrollment_make()).issued
    first = certificate_render(certificate_id=certificate.pk).pdf.name
    assert first
    again = certificate_render(certificate_id=certificate.pk)
    assert again.pdf.name == first
    forced = certificate_render(certificate_id=certificate.pk, force=True)
    assert forced.pdf.name != first
    assert not forced.pdf.storage.exists(first)


def test_a_name_no_font_can_draw_is_recorded_not_crashed():
    enrollment = passed_enrollment_make(name="王\U0010fffd")
    (certificate,) = _issue(enrollment).issued
    certificate_render(certificate_id=certificate.pk)
    certificate.refresh_from_db()
    assert not certificate.pdf and "U+10FFFD" in certificate.render_error
    with pytest.raises(ValidationError):
        certificate_pdf_bytes(certificate=certificate)


# -- revocation ----------------------------------------------------------------------------------


def test_revoke_needs_a_reason_is_audited_and_happens_once():
    staff = StaffFactory()
    certificate = CertificateFactory()
    with pytest.raises(ValidationError):
        certificate_revoke(certificate=certificate, actor=staff, reason="  ")
    certificate_revoke(certificate=certificate, actor=staff, reason="证件造假", ip="10.0.0.9")
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.REVOKED and certificate.revoked_by == staff
    entry = AuditEntry.objects.get(action="certificate.revoked")
    assert entry.reason == "证件造假" and entry.actor == staff and entry.ip_address == "10.0.0.9"
    assert entry.old_value == {"status": "valid"} and entry.new_value == {"status": "revoked"}
    with pytest.raises(ValidationError):
        certificate_revoke(certificate=certificate, actor=staff, reason="again")


# -- the 10-working-day mailing deadline ---------------------------------------------------------


def test_mailing_deadline_is_ten_working_days_after_passing_skipping_holidays():
    # Passed on Friday 2027-03-05 (a year chinesecalendar does not know: Mon-Fri plus the table).
    Holiday.objects.create(date=datetime.date(2027, 3, 8), name="test holiday")  # Monday off
    Holiday.objects.create(date=datetime.date(2027, 3, 13), is_workday=True, name="make-up Saturday")
    passed = datetime.datetime(2027, 3, 5, 16, 0, tzinfo=SHANGHAI)
    with time_machine.travel(passed + datetime.timedelta(hours=1), tick=False):
        enrollment = passed_enrollment_make(passed_at=passed)
        (certificate,) = _issue(enrollment).issued
    # Working days: 9,10,11,12,13(Sat, make-up),15,16,17,18,19 -> the 10th is Friday 2027-03-19.
    assert certificate.mail_due_on == datetime.date(2027, 3, 19)
    assert mailing_state(certificate, today=datetime.date(2027, 3, 10)) == "pending"
    assert mailing_state(certificate, today=datetime.date(2027, 3, 18)) == "due_soon"
    assert mailing_state(certificate, today=datetime.date(2027, 3, 19)) == "due_soon"
    assert mailing_state(certificate, today=datetime.date(2027, 3, 20)) == "overdue"


def test_passing_late_in_the_evening_counts_the_local_day():
    passed = datetime.datetime(2027, 3, 1, 23, 30, tzinfo=SHANGHAI)  # Monday night, Sunday in UTC
    with time_machine.travel(passed, tick=False):
        enrollment = passed_enrollment_make(passed_at=passed)
        (certificate,) = _issue(enrollment).issued
    assert certificate.mail_due_on == datetime.date(2027, 3, 15)


# -- mailing and tracking numbers ------------------------------------------------------------------


def test_mark_mailed_validates_the_tracking_number_and_tells_the_trainee(
    sms_outbox, django_capture_on_commit_callbacks
):
    staff = StaffFactory()
    certificate = CertificateFactory()
    with pytest.raises(ValidationError):
        certificate_mark_mailed(certificate=certificate, tracking_number="12345", actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        certificate_mark_mailed(certificate=certificate, tracking_number="sf 1234 5678 9012", actor=staff)
    certificate.refresh_from_db()
    assert certificate.mailing_status == MailingStatus.MAILED
    assert certificate.tracking_number == "SF123456789012" and certificate.mailed_at
    assert [(m.mobile, m.message) for m in sms_outbox] == [
        (
            certificate.enrollment.user.mobile,
            f"您的培训证书{certificate.number}已由顺丰速运寄出，运单号SF123456789012（到付）。",
        )
    ]
    assert mailing_state(certificate) == "mailed"
    assert AuditEntry.objects.filter(action="certificate.mailed", target_id=str(certificate.pk)).exists()


def test_tracking_import_is_all_or_nothing_with_row_numbers():
    staff = StaffFactory()
    a, b = CertificateFactory(), CertificateFactory()
    revoked = CertificateFactory(status=CertificateStatus.REVOKED)
    rows = [
        (2, a.number, "SF1000000000001"),
        (3, "AQ2026999999", "SF1000000000002"),
        (4, b.number, "not-a-number"),
        (5, revoked.number, "SF1000000000003"),
        (6, a.number, "SF1000000000004"),
    ]
    with pytest.raises(ValidationError) as error:
        tracking_numbers_import(rows=rows, actor=staff)
    messages = error.value.messages
    for row in (3, 4, 5, 6):  # every bad row named by its number (Chinese by default)
        assert any(m.startswith(f"第 {row} 行") for m in messages), messages
    assert not any(m.startswith("第 2 行") for m in messages)
    assert not Certificate.objects.filter(mailing_status=MailingStatus.MAILED).exists()

    result = tracking_numbers_import(
        rows=[(2, a.number.lower(), "SF1000000000001"), (3, b.number, "1000000000002")], actor=staff
    )
    assert (result.mailed, result.unchanged) == (2, 0)
    again = tracking_numbers_import(rows=[(2, a.number, "SF1000000000001")], actor=staff)
    assert (again.mailed, again.unchanged) == (0, 1)
    b.refresh_from_db()
    assert b.tracking_number == "1000000000002"
    with pytest.raises(ValidationError):  # a different number for an already mailed certificate
        tracking_numbers_import(rows=[(2, a.number, "SF1000000000009")], actor=staff)


def test_mailing_export_marks_booked_and_leaves_out_revoked_and_mailed():
    from openpyxl import load_workbook

    staff = StaffFactory()
    pending = CertificateFactory()
    revoked = CertificateFactory(status=CertificateStatus.REVOKED)
    mailed = CertificateFactory(mailing_status=MailingStatus.MAILED, tracking_number="SF1")
    content = mailing_list_export(certificate_ids=[pending.pk, revoked.pk, mailed.pk], actor=staff)
    sheet = load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "用户订单号" and "付款方式" in rows[0]
    assert [row[0] for row in rows[1:]] == [pending.number]
    assert rows[1][rows[0].index("付款方式")] == "到付"
    assert rows[1][rows[0].index("收件详细地址")] == pending.mail_address
    pending.refresh_from_db()
    assert pending.mailing_status == MailingStatus.EXPORTED and pending.exported_at
    with pytest.raises(ValidationError):
        mailing_list_export(certificate_ids=[revoked.pk, mailed.pk], actor=staff)


def test_enrollment_status_is_untouched_by_issuing():
    enrollment = passed_enrollment_make()
    _issue(enrollment)
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.PASSED


def test_the_task_does_not_fail_the_exam_when_no_issuer_is_configured(caplog):
    from certificates import tasks
    from portal.models import Association

    enrollment = passed_enrollment_make()
    Association.objects.update(certificate_issuer="")
    assert tasks.issue(enrollment_id=enrollment.pk) == []
    assert tasks.issue_missing() == 0
    assert "not issued" in caplog.text
    Association.objects.update(certificate_issuer="某省安全生产协会")
    assert tasks.issue_missing() == 1
