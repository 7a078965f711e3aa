"""Issue #22, findings 4 and 8: formula injection in the exports, broken workbooks in the uploads.

Every Excel / CSV export is produced the way staff produce it (the admin page or action) from rows
whose names, addresses and titles are formulas; the file is re-opened and no cell may be a formula,
the text intact. Every spreadsheet upload is fed malformed XML, an entity bomb, an external entity,
a zip that is not a workbook, a truncated zip and an empty file where the user uploads it: one
clear message, no 500, nothing saved.
"""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from portal.models import AuditEntry
from tests.factories import StaffFactory
from tests.portal.spreadsheet_files import BROKEN_WORKBOOKS, CSV_LONG_FIELD, PAYLOADS, formulas_in

pytestmark = pytest.mark.django_db

UNREADABLE = (
    "无法读取该文件：它已损坏或不是 Excel 工作簿（.xlsx）。请用 Excel 或 WPS 打开，"
    "另存为“Excel 工作簿（*.xlsx）”后重新上传。"
)
NOT_A_TABLE = "文件既不是 Excel 工作簿也不是 CSV 文件。"
EMPTY = "所提交的是空文件。"  # Django's own, before the file reaches the import
HYPERLINK = PAYLOADS[0]


def staff_client(role: str) -> Client:
    client = Client()
    client.force_login(StaffFactory(role=role))
    return client


def xlsx_rows(data: bytes, sheet: int = 0) -> list[list]:
    assert formulas_in(data) == []
    return [
        list(row) for row in load_workbook(io.BytesIO(data)).worksheets[sheet].iter_rows(values_only=True)
    ]


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


# --- Exports ---------------------------------------------------------------------------------------


def test_trainee_export_with_full_id_numbers():
    from tests.factories import ApplicationFactory, TraineeFactory

    application = ApplicationFactory(unit_name="=1+2")
    trainees = [
        TraineeFactory(
            application=application, name=text, status_reason="@SUM(1)", previous_certificate_no="-2+3"
        )
        for text in PAYLOADS
    ]
    response = staff_client("reviewer").get(reverse("admin:registration_trainee_export"))
    assert response.status_code == 200
    rows = xlsx_rows(response.content)
    assert sorted(row[3] for row in rows[1:]) == sorted(PAYLOADS)
    assert {(row[1], row[9], row[11]) for row in rows[1:]} == {("=1+2", "-2+3", "@SUM(1)")}
    assert {row[5] for row in rows[1:]} == {t.id_number for t in trainees}  # full numbers for reviewers
    assert all(isinstance(row[2], int) for row in rows[1:])  # numbers stay numbers


def _training_records():
    from learning.services.staff_hours import study_hours_record
    from tests.factories import CourseFactory, EnrollmentFactory, LessonFactory, plan_with

    actor = StaffFactory(role="course_admin")
    lesson = LessonFactory(course=CourseFactory(title="=1+2"))
    plan_with(lesson.course)
    enrollments = []
    for text in PAYLOADS:
        enrollment = EnrollmentFactory(trainee__name=text, trainee__application__programme__name="@SUM(1)")
        study_hours_record(enrollment=enrollment, lesson=lesson, minutes=30, reason=text, actor=actor)
        enrollments.append(enrollment)
    return enrollments


@pytest.mark.parametrize(
    ("changelist", "action"),
    [
        ("admin:learning_enrollment_changelist", "export_record_xlsx"),
        ("admin:learning_enrollment_changelist", "export_record_csv"),
        ("admin:learning_studyrecord_changelist", "export_xlsx"),
        ("admin:learning_studyrecord_changelist", "export_csv"),
    ],
)
def test_training_record_exports(changelist, action):
    from learning.models import StudyRecord

    enrollments = _training_records()
    if "enrollment" in changelist:
        selected = [e.pk for e in enrollments]
    else:
        selected = list(StudyRecord.objects.values_list("pk", flat=True))
    response = staff_client("course_admin").post(
        reverse(changelist), {"action": action, "_selected_action": selected}
    )
    assert response.status_code == 200
    if action.endswith("csv"):
        rows = csv_rows(response.content)[1:]
        quote = "'"
        assert {row[9] for row in rows} == {"30.0"}  # minutes: a number, no quote
    else:
        rows = xlsx_rows(response.content)[1:]
        quote = ""
        assert {row[9] for row in rows} == {30}
    assert sorted(row[0] for row in rows) == sorted(quote + text for text in PAYLOADS)
    assert {row[2] for row in rows} == {quote + "@SUM(1)"}
    assert {row[8].split(" / ")[0] for row in rows} == {quote + "=1+2"}


def test_courier_sheet():
    from certificates.models import CertificateSettings
    from tests.factories import CertificateFactory

    CertificateSettings.objects.create(
        sender_name="-协会", sender_phone="+86 20 0000", sender_address="@街道"
    )
    certificates = [
        CertificateFactory(holder_name=text, mail_recipient=text, mail_address="=1+2", unit_name=HYPERLINK)
        for text in PAYLOADS
    ]
    response = staff_client("reviewer").post(
        reverse("admin:certificates_certificate_changelist"),
        {"action": "export_mailing_list", "_selected_action": [c.pk for c in certificates]},
    )
    assert response.status_code == 200
    rows = xlsx_rows(response.content)[1:]
    assert sorted(row[6] for row in rows) == sorted(PAYLOADS)
    assert {(row[2], row[3], row[4], row[5], row[8], row[10]) for row in rows} == {
        ("-协会", "+86 20 0000", "@街道", HYPERLINK, "=1+2", 1)
    }


def test_finance_report():
    from payments.models import Invoice
    from payments.services.payments import payment_confirm
    from tests.factories import ApplicationFactory, ApprovedTraineeFactory, PaymentFactory, ProgrammeFactory

    finance = StaffFactory(role="finance")
    application = ApplicationFactory(programme=ProgrammeFactory(name=HYPERLINK))
    paid, _unpaid = (
        ApprovedTraineeFactory(application=application),
        ApprovedTraineeFactory(application=application),
    )
    payment = PaymentFactory(application=application, trainees=[paid], amount_fen=80_000, expected_fen=80_000)
    Invoice.objects.create(payment=payment, buyer_name="x", email="invoice@example.org")
    payment_confirm(payment=payment, actor=finance)
    today = timezone.localdate().isoformat()
    client = Client()
    client.force_login(finance)
    response = client.get(
        reverse("admin:payments_payment_report"), {"start": today, "end": today, "format": "xlsx"}
    )
    assert response.status_code == 200
    by_programme = xlsx_rows(response.content, 1)[1:]
    assert [(row[0], row[2], row[3]) for row in by_programme] == [(HYPERLINK, 1, 800)]
    outstanding = [row for row in xlsx_rows(response.content, 2)[1:] if row[0] == HYPERLINK]
    assert [(row[1], row[2]) for row in outstanding] == [(1, 800)]


# --- Uploads ---------------------------------------------------------------------------------------


def upload_roster(file):
    """The unit's public sign-up page (a programme is open: the ``programme`` fixture)."""
    from registration.models import Application, Trainee

    response = Client().post(reverse("registration:unit_register"), {"action": "import", "workbook": file})
    assert response.status_code == 200
    assert not Application.objects.exists() and not Trainee.objects.exists()
    return response.context["import_report"]["errors"]


def upload_statement(file):
    from payments.models import Statement, StatementLine

    response = staff_client("finance").post(
        reverse("admin:payments_statement_upload"), {"source": "bank", "file": file}
    )
    assert response.status_code == 200
    assert not Statement.objects.exists() and not StatementLine.objects.exists()
    return response.context["form"].errors["file"]


def upload_tracking_numbers(file):
    from certificates.models import Certificate, MailingStatus
    from tests.factories import CertificateFactory

    CertificateFactory()
    response = staff_client("reviewer").post(
        reverse("admin:certificates_certificate_tracking_import"), {"file": file}
    )
    assert response.status_code == 200
    assert not Certificate.objects.filter(mailing_status=MailingStatus.MAILED).exists()
    return response.context["errors"] or response.context["form"].errors["file"]


def upload_questions(file):
    from exams.models import Question

    response = staff_client("course_admin").post(reverse("admin:exams_question_import"), {"file": file})
    assert response.status_code == 200
    assert not Question.objects.exists()
    return response.context["errors"] or response.context["form"].errors["file"]


UPLOADS = {
    "roster": upload_roster,
    "bank statement": upload_statement,
    "tracking numbers": upload_tracking_numbers,
    "questions": upload_questions,
}


@pytest.mark.parametrize("kind", sorted(BROKEN_WORKBOOKS))
@pytest.mark.parametrize("where", sorted(UPLOADS))
def test_broken_workbooks_are_refused_with_a_message(programme, where, kind):
    file = SimpleUploadedFile("upload.xlsx", BROKEN_WORKBOOKS[kind]())
    assert list(UPLOADS[where](file)) == [UNREADABLE]
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("where", sorted(UPLOADS))
def test_an_empty_file_is_refused_with_a_message(programme, where):
    assert list(UPLOADS[where](SimpleUploadedFile("upload.xlsx", b""))) == [EMPTY]


@pytest.mark.parametrize("where", ["bank statement", "tracking numbers"])
def test_a_csv_that_cannot_be_read_is_refused_with_a_message(where):
    file = SimpleUploadedFile("upload.csv", CSV_LONG_FIELD, "text/csv")
    assert list(UPLOADS[where](file)) == [NOT_A_TABLE]
