"""Behind nginx no view streams a stored file: each one checks, audits, and hands the file over.

With ``PORTAL_FILE_SERVING = "nginx"`` every view that answers with a stored file (lesson videos and
PDFs, trainee photos and ID copies, payment screenshots, invoices, the collection QR code,
certificate PDFs, print runs) must answer, to the user allowed to have the file, with an empty body
and ``X-Accel-Redirect`` naming that very file. The ``cases`` fixture walks them all;
``test_every_file_view_is_walked`` fails when a function sends a file through
``portal.files.private_file_response`` without a case here, and
``test_no_view_streams_a_file_itself`` when app code builds a file response of its own or a view
reads a stored file. Files generated for one request (printable attachment 2, Excel / CSV exports)
are not stored and are answered by their views.
"""

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from certificates.models import PrintRun, PrintRunStatus
from portal.models import AuditEntry
from portal.roles import FINANCE, REVIEWER
from tests.factories import CertificateFactory, PaymentSettingsFactory, StaffFactory, image_bytes

from .world import PDF_BYTES

pytestmark = pytest.mark.django_db

BASE = Path(__file__).resolve().parents[2]
APPS = ("portal", "registration", "payments", "learning", "exams", "certificates")


@dataclass
class Case:
    view: str  # the function that calls private_file_response (wherever its module is)
    url: str
    client: Client
    field_file: object
    location: str = "/protected/"


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def cases(world_a) -> list[Case]:
    world = world_a
    trainee, lesson = world.trainee, world.lesson
    lesson.document.save("lesson.pdf", ContentFile(PDF_BYTES))
    trainee_client = _client(world.user)
    reviewer, finance = StaffFactory(role=REVIEWER), StaffFactory(role=FINANCE)
    settings_row = PaymentSettingsFactory()
    settings_row.qr_image.save("qr.png", ContentFile(image_bytes(200, 200, fmt="PNG")))
    certificate = CertificateFactory()
    certificate.pdf.save("certificate.pdf", ContentFile(PDF_BYTES))
    run = PrintRun.objects.create(requested_by=reviewer, status=PrintRunStatus.DONE, total=1, done=1)
    run.pdf.save("print-run.pdf", ContentFile(PDF_BYTES))
    learning_url = "learning:lesson_media"
    cases = [
        Case(
            "lesson_media",
            reverse(learning_url, args=[world.enrollment.pk, lesson.pk, "video"]),
            trainee_client,
            lesson.video,
        ),
        Case(
            "lesson_media",
            reverse(learning_url, args=[world.enrollment.pk, lesson.pk, "document"]),
            trainee_client,
            lesson.document,
        ),
        Case(
            "qr_image",
            reverse("payments:qr_image"),
            _client(),
            settings_row.qr_image,
            "/protected-media/",
        ),
        Case(
            "_private_file",
            reverse("payments:payment_screenshot", args=[world.payment.pk]),
            _client(finance),
            world.payment.screenshot,
        ),
        Case(
            "_private_file",
            reverse("payments:invoice_pdf", args=[world.invoice.pk]),
            _client(finance),
            world.invoice.pdf,
        ),
        Case(
            "download",
            reverse("certificates:download", args=[certificate.pk]),
            _client(certificate.enrollment.user),
            certificate.pdf,
        ),
        Case(
            "download",
            reverse("certificates:download", args=[certificate.pk]),
            _client(reviewer),
            certificate.pdf,
        ),
        Case(
            "pdf_view",
            reverse("admin:certificates_printrun_pdf", args=[run.pk]),
            _client(reviewer),
            run.pdf,
        ),
    ]
    # 一人一档 (issue #23): a programme's zip of one-person files, for reviewers
    from certificates.models import DossierRun

    dossiers = DossierRun.objects.create(
        programme=trainee.programme,
        requested_by=reviewer,
        trainee_ids=[trainee.pk],
        total=1,
        done=1,
        status=PrintRunStatus.DONE,
    )
    dossiers.archive.save("dossiers.zip", ContentFile(b"PK\x05\x06" + bytes(18)))
    cases.append(
        Case(
            "zip_view",
            reverse("admin:certificates_dossierrun_zip", args=[dossiers.pk]),
            _client(reviewer),
            dossiers.archive,
        )
    )
    # identity checks (issue #23): a snapshot beside the registered photo, for reviewers
    from learning.models import IdentityCheck

    check = IdentityCheck(enrollment=world.enrollment, context="study", method="face")
    check.snapshot.save("first.jpg", ContentFile(image_bytes(320, 360)), save=False)
    check.save()
    cases.append(
        Case(
            "image_view",
            reverse("admin:learning_identitycheck_image", args=[check.pk, "first"]),
            _client(reviewer),
            check.snapshot,
        )
    )
    for kind in ("photo", "id_front", "id_back"):
        cases.append(
            Case(
                "_document_response",
                reverse("registration:trainee_document", args=[trainee.access_key, kind]),
                _client(),
                getattr(trainee, kind),
            )
        )
        cases.append(
            Case(
                "_document_response",
                reverse("registration:staff_document", args=[trainee.pk, kind]),
                _client(reviewer),
                getattr(trainee, kind),
            )
        )
    return cases


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_behind_nginx_every_file_view_hands_the_file_to_nginx(cases, settings):
    settings.PORTAL_FILE_SERVING = "nginx"
    for case in cases:
        response = case.client.get(case.url, HTTP_RANGE="bytes=0-9")
        assert response.status_code == 200, case.url
        assert _body(response) == b"", f"{case.url} sent the file itself"
        assert response["X-Accel-Redirect"] == case.location + case.field_file.name, case.url
        root = settings.MEDIA_ROOT if case.location == "/protected-media/" else settings.PRIVATE_MEDIA_ROOT
        assert (Path(root) / case.field_file.name).is_file(), case.url
        assert "X-Content-Type-Options" in response and "Content-Disposition" in response, case.url
    # the permission checks and audit entries are the views' own, unchanged
    assert AuditEntry.objects.filter(action="trainee.view_full_id").count() == 2
    assert AuditEntry.objects.filter(action="certificate.pdf_viewed").count() == 1


def test_without_nginx_the_same_views_stream_the_file(cases, settings):
    settings.PORTAL_FILE_SERVING = "django"
    for case in cases:
        response = case.client.get(case.url)
        assert response.status_code == 200, case.url
        assert "X-Accel-Redirect" not in response, case.url
        with case.field_file.storage.open(case.field_file.name, "rb") as handle:
            assert _body(response) == handle.read(), case.url


def test_behind_nginx_the_refusals_stay_djangos(world_a, world_b, settings):
    """Another trainee's lesson, a finance user's ID copy: refused before anything is handed over."""
    settings.PORTAL_FILE_SERVING = "nginx"
    other = _client(world_b.user)
    url = reverse("learning:lesson_media", args=[world_a.enrollment.pk, world_a.lesson.pk, "video"])
    assert other.get(url).status_code == 404
    finance = _client(StaffFactory(role=FINANCE))
    response = finance.get(reverse("registration:staff_document", args=[world_a.trainee.pk, "id_front"]))
    assert response.status_code == 403 and "X-Accel-Redirect" not in response


# --- the guard: where files may be sent from -------------------------------------------------


def _modules():
    for app in APPS:
        for path in sorted((BASE / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(BASE).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _functions_calling(tree, predicate: Callable[[ast.Call], bool]) -> set[str]:
    found = set()
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and predicate(node):
                    found.add(function.name)
    return found


def _called(name: str) -> Callable[[ast.Call], bool]:
    def predicate(call: ast.Call) -> bool:
        func = call.func
        return (isinstance(func, ast.Name) and func.id == name) or (
            isinstance(func, ast.Attribute) and func.attr == name
        )

    return predicate


def test_every_file_view_is_walked(cases):
    senders = {
        function
        for _module, tree in _modules()
        for function in _functions_calling(tree, _called("private_file_response"))
    }
    assert senders == {case.view for case in cases}


# Functions of views and admin modules that read something with .open() / .read(), and why that is
# no streaming of a stored file.
READS_ALLOWED = {
    "_document_response": "the first 16 bytes, to tell JPEG from PNG",
    "upload_view": "the uploaded statement (the request's own body)",
    "import_view": "the uploaded calendar file (the request's own body)",
}


def _is_view_module(module: str) -> bool:
    """views.py, *_views.py, admin.py, admin_*.py and the modules of an admin/ or views/ package."""
    parts, name = Path(module).parts, Path(module).stem
    return "views" in name or name.startswith("admin") or "admin" in parts[1:-1] or "views" in parts[1:-1]


def test_no_view_streams_a_file_itself():
    for module, tree in _modules():
        if module == "portal/files.py":
            continue
        names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        imported = {
            alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names
        }
        for streaming in ("FileResponse", "StreamingHttpResponse", "file_wrapper"):
            assert streaming not in names | imported, f"{module} uses {streaming}: use portal.files"
        if _is_view_module(module):
            readers = _functions_calling(tree, _called("open")) | _functions_calling(tree, _called("read"))
            for function in readers:
                assert function in READS_ALLOWED, f"{module}:{function} reads a file"


def test_the_guard_sees_a_streaming_view():
    assert _is_view_module("payments/admin/statements.py") and _is_view_module(
        "registration/document_views.py"
    )
    assert not _is_view_module("registration/pdf.py")
    tree = ast.parse(
        "from django.http import FileResponse\n"
        "def view(request, pk):\n"
        "    return FileResponse(Thing.objects.get(pk=pk).pdf.open('rb'))\n"
    )
    assert _functions_calling(tree, _called("open")) == {"view"}
    assert "FileResponse" in {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names
    }
