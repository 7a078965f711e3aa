"""Every upload refuses an over-size file with a clear message.

``test_every_file_field_has_an_upload_case`` finds the forms with file fields (the forms modules
of the apps and the forms Django admin builds, inlines included) so a new file field without a
case here fails. Each case posts a file one byte over the field's limit where the user posts it.
"""

import importlib
import inspect
import io
import os

import pytest
from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse
from PIL import Image

from payments.models import PaymentSettings
from payments.reconciliation import MAX_BYTES as STATEMENT_MAX_BYTES
from payments.services.invoices import INVOICE_PDF_MAX_BYTES
from payments.services.payments import SCREENSHOT_MAX_BYTES
from portal.models import User
from registration.documents import max_input_bytes, max_upload_bytes
from registration.roster_import import MAX_WORKBOOK_BYTES
from tests.factories import CourseFactory, LessonFactory

MB = 1024 * 1024
APPS = ("portal", "registration", "payments", "learning", "exams", "certificates")
NOT_YET_COVERED: set[str] = set()

pytestmark = pytest.mark.django_db


def _file_fields(form_class) -> list[str]:
    return [name for name, field in form_class.base_fields.items() if isinstance(field, forms.FileField)]


def discovered_file_fields() -> set[str]:
    found = set()
    for app in APPS:
        try:
            module = importlib.import_module(f"{app}.forms")
        except ModuleNotFoundError:
            continue
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                found |= {f"{app}.forms.{name}.{field}" for field in _file_fields(cls)}
    request = RequestFactory().get("/admin/")
    request.user = User(mobile="13900000000", is_active=True, is_staff=True, is_superuser=True)
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        if model._meta.app_label in NOT_YET_COVERED or model._meta.app_label not in APPS:
            continue
        form_classes = [model_admin.get_form(request)]
        form_classes += [
            inline.get_formset(request).form for inline in model_admin.get_inline_instances(request)
        ]
        for form_class in form_classes:
            found |= {f"admin:{label}.{field}" for field in _file_fields(form_class) if field}
    return found


def big(name: str, size: int, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"\0" * size, content_type)


def big_png(min_bytes: int) -> SimpleUploadedFile:
    """A real PNG larger than ``min_bytes`` (noise does not compress)."""
    side = int((min_bytes / 3) ** 0.5) + 64
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=0)
    assert out.tell() > min_bytes
    return SimpleUploadedFile("qr.png", out.getvalue(), "image/png")


def _field_error(response, field: str, form: str = "form") -> str:
    assert response.status_code == 200, response.status_code
    errors = response.context[form].errors
    # A field's error, or the form's own when the limit is checked after the form (service).
    errors = errors.get(field) or errors.get("__all__")
    assert errors, response.context[form].errors
    return " ".join(str(e) for e in errors)


def _says_too_large(message: str, limit_bytes: int) -> None:
    assert "MB" in message and str(limit_bytes // MB) in message, message


# --- the cases -----------------------------------------------------------------------------------


def case_attachment2(client, world, admin_client, field):
    from registration.forms import Attachment2Form
    from registration.models import Trainee

    Trainee.objects.filter(pk=world.trainee.pk).update(status="submitted")
    limit = (
        max_input_bytes()
    )  # a larger phone photo is scaled down below max_upload_bytes(); over this, refused
    url = reverse("registration:attachment2", args=[world.trainee.access_key])
    data = {
        "education": "bachelor",
        "safety_years": "6",
        "work_unit": "广州示例贸易有限公司",
        "work_unit_address": "广州市天河区示例大道 100 号",
        "mailing_address": "广州市天河区示例大道 100 号",
        "work_history": "2015-2025 广州示例贸易有限公司 安全主任",
        "declaration_name": world.trainee.name,
        **{
            name: "on" for name in Attachment2Form(trainee=world.trainee).fields if name.startswith("consent")
        },
        field: big(f"{field}.jpg", limit + 1, "image/jpeg"),
    }
    response = client.post(url, data)
    _says_too_large(_field_error(response, field), limit)


def case_roster_workbook(client, world, admin_client, field):
    url = reverse("registration:unit_register")
    response = client.post(url, {"action": "import", "workbook": big("roster.xlsx", MAX_WORKBOOK_BYTES + 1)})
    assert response.status_code == 200
    errors = " ".join(response.context["import_report"]["errors"])
    _says_too_large(errors, MAX_WORKBOOK_BYTES)


def case_payment_screenshot(client, world, admin_client, field):
    url = reverse("payments:application_pay", args=[world.application.access_key])
    response = client.post(url, {"screenshot": big("pay.png", SCREENSHOT_MAX_BYTES + 1, "image/png")})
    _says_too_large(_field_error(response, "screenshot"), SCREENSHOT_MAX_BYTES)


def case_statement(client, world, admin_client, field):
    url = reverse("admin:payments_statement_upload")
    response = admin_client.post(url, {"source": "bank", "file": big("bank.csv", STATEMENT_MAX_BYTES + 1)})
    _says_too_large(_field_error(response, "file"), STATEMENT_MAX_BYTES)


def case_invoice_pdf(client, world, admin_client, field):
    world.payment.status = "confirmed"
    world.payment.save(update_fields=["status"])
    world.invoice.pdf = ""
    world.invoice.save(update_fields=["pdf"])
    url = reverse("admin:payments_invoice_issue", args=[world.invoice.pk])
    response = admin_client.post(url, {"number": "N0001", "pdf": big("i.pdf", INVOICE_PDF_MAX_BYTES + 1)})
    _says_too_large(_field_error(response, "pdf"), INVOICE_PDF_MAX_BYTES)


def case_qr_image(client, world, admin_client, field):
    from payments.forms import QR_IMAGE_MAX_BYTES

    row = PaymentSettings.objects.create(payee_name="协会", bank_name="银行", account_number="1")
    url = reverse("admin:payments_paymentsettings_change", args=[row.pk])
    data = {
        "payee_name": "协会",
        "bank_name": "银行",
        "account_number": "1",
        "qr_image": big_png(QR_IMAGE_MAX_BYTES),
    }
    response = admin_client.post(url, data)
    _says_too_large(_field_error(response, "qr_image", "adminform"), QR_IMAGE_MAX_BYTES)


def case_lesson_file(client, world, admin_client, field, monkeypatch=None):
    import learning.forms

    # The real limits (1 GiB video, 50 MB PDF) are lowered so the test builds no such file.
    limit = 2 * MB
    monkeypatch.setattr(learning.forms, "LESSON_VIDEO_MAX_BYTES", limit)
    monkeypatch.setattr(learning.forms, "LESSON_DOCUMENT_MAX_BYTES", limit)
    lesson = LessonFactory(course=CourseFactory())
    url = reverse("admin:learning_lesson_change", args=[lesson.pk])
    name = "lesson.mp4" if field == "video" else "lesson.pdf"
    data = {
        "course": lesson.course_id,
        "code": lesson.code,
        "order": "1",
        "title": lesson.title,
        "kind": field,
        "class_hours": "1",
        "video_duration_seconds": "60",
        field: big(name, limit + 1),
    }
    response = admin_client.post(url, data)
    _says_too_large(_field_error(response, field, "adminform"), limit)


def case_question_import(client, world, admin_client, field):
    url = reverse("admin:exams_question_import")
    response = admin_client.post(url, {"file": big("q.xlsx", 10 * MB + 1)})
    _says_too_large(_field_error(response, "file"), 10 * MB)


def case_seal(client, world, admin_client, field):
    from certificates.forms import MAX_SEAL_BYTES
    from certificates.models import CertificateSettings

    row = CertificateSettings.objects.create()
    url = reverse("admin:certificates_certificatesettings_change", args=[row.pk])
    data = {"number_prefix": "AQ", "mailing_working_days": 10, "seal": big_png(MAX_SEAL_BYTES)}
    response = admin_client.post(url, data)
    _says_too_large(_field_error(response, "seal", "adminform"), MAX_SEAL_BYTES)


def case_tracking_file(client, world, admin_client, field):
    from certificates.spreadsheets import MAX_IMPORT_BYTES

    url = reverse("admin:certificates_certificate_tracking_import")
    response = admin_client.post(url, {"file": big("sf.xlsx", MAX_IMPORT_BYTES + 1)})
    _says_too_large(_field_error(response, "file"), MAX_IMPORT_BYTES)


def case_issuer_numbers(client, world, admin_client, field):
    from certificates.spreadsheets import MAX_IMPORT_BYTES

    url = reverse("admin:certificates_certificate_issuer_import")
    response = admin_client.post(url, {"file": big("issuer.xlsx", MAX_IMPORT_BYTES + 1)})
    _says_too_large(_field_error(response, "file"), MAX_IMPORT_BYTES)


CASES = {
    "certificates.forms.IssuerImportForm.file": case_issuer_numbers,
    "certificates.forms.CertificateSettingsForm.seal": case_seal,
    "admin:certificates.certificatesettings.seal": case_seal,
    "certificates.forms.TrackingImportForm.file": case_tracking_file,
    "registration.forms.Attachment2Form.photo": case_attachment2,
    "registration.forms.Attachment2Form.id_front": case_attachment2,
    "registration.forms.Attachment2Form.id_back": case_attachment2,
    "registration.forms.RosterImportForm.workbook": case_roster_workbook,
    "payments.forms.PaymentReportForm.screenshot": case_payment_screenshot,
    "payments.forms.StatementUploadForm.file": case_statement,
    "admin:payments.statement.file": case_statement,  # its add page is the upload page
    "payments.forms.InvoiceIssueForm.pdf": case_invoice_pdf,
    "payments.forms.PaymentSettingsForm.qr_image": case_qr_image,
    "admin:payments.paymentsettings.qr_image": case_qr_image,
    "learning.forms.LessonAdminForm.video": case_lesson_file,
    "learning.forms.LessonAdminForm.document": case_lesson_file,
    "admin:learning.lesson.video": case_lesson_file,
    "admin:learning.lesson.document": case_lesson_file,
    "exams.forms.QuestionImportForm.file": case_question_import,
}


def test_every_file_field_has_an_upload_case():
    found = discovered_file_fields()
    assert found, "no file field found: the discovery is broken"
    assert not found - set(CASES), f"file fields without an over-size case: {sorted(found - set(CASES))}"
    assert not set(CASES) - found, f"cases for fields that no longer exist: {sorted(set(CASES) - found)}"


@pytest.mark.parametrize("key", sorted(CASES))
def test_over_size_upload_is_refused_with_a_message(key, client, world_a, admin_client, monkeypatch):
    field = key.rsplit(".", 1)[1]
    case = CASES[key]
    if case is case_lesson_file:
        case(client, world_a, admin_client, field, monkeypatch=monkeypatch)
    else:
        case(client, world_a, admin_client, field)


# --- the request as a whole ---------------------------------------------------------------------


def test_request_size_limits_are_set_and_fit_the_forms():
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= 2_621_440  # larger files go to a temporary file
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 10 * MB  # the non-file part of a request
    public = settings.PORTAL_MAX_REQUEST_BYTES
    # The largest public request: attachment 2 with three phone photos at the input limit (each then
    # scaled down below max_upload_bytes()), plus the form.
    assert 3 * max_input_bytes() + MB < public <= 64 * MB
    assert max_upload_bytes() < max_input_bytes()
    assert public > MAX_WORKBOOK_BYTES and public > SCREENSHOT_MAX_BYTES
    import learning.forms

    assert learning.forms.LESSON_VIDEO_MAX_BYTES < settings.PORTAL_MAX_ADMIN_REQUEST_BYTES
    assert "portal.uploads.RequestSizeLimitMiddleware" in settings.MIDDLEWARE
    # Before CSRF, which reads the body of every POST.
    middleware = settings.MIDDLEWARE
    assert middleware.index("portal.uploads.RequestSizeLimitMiddleware") < middleware.index(
        "django.middleware.csrf.CsrfViewMiddleware"
    )


def test_a_too_large_request_is_refused_before_it_is_read(client, programme):
    from registration.models import Application

    declared = settings.PORTAL_MAX_REQUEST_BYTES + 1
    response = client.post(
        reverse("registration:unit_register"), {"unit_name": "x"}, CONTENT_LENGTH=str(declared)
    )
    assert response.status_code == 413
    text = response.content.decode()
    assert "MB" in text and str(settings.PORTAL_MAX_REQUEST_BYTES // MB) in text
    assert not Application.objects.exists()
    response = client.post(
        reverse("admin:login"),
        {"username": "x"},
        CONTENT_LENGTH=str(settings.PORTAL_MAX_ADMIN_REQUEST_BYTES + 1),
    )
    assert response.status_code == 413


def test_the_admin_takes_larger_requests_up_to_its_own_limit():
    from django.http import HttpResponse

    from portal.uploads import RequestSizeLimitMiddleware

    middleware = RequestSizeLimitMiddleware(lambda request: HttpResponse("passed on"))
    declared = str(settings.PORTAL_MAX_REQUEST_BYTES + 1)
    factory = RequestFactory()
    assert middleware(factory.post("/admin/learning/lesson/add/", CONTENT_LENGTH=declared)).status_code == 200
    assert middleware(factory.post("/registration/unit/", CONTENT_LENGTH=declared)).status_code == 413
    assert middleware(factory.post("/registration/unit/", CONTENT_LENGTH="junk")).status_code == 200


def test_a_json_body_over_the_memory_limit_is_a_400(client, world_a):
    client.force_login(world_a.user)
    body = b'{"position": 1, "choices": [' + b"0," * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2) + b"0]}"
    response = client.post(
        reverse("exams:answer", args=[world_a.attempt.pk]), body, content_type="application/json"
    )
    assert response.status_code in (400, 413)
