"""Personal documents of attachment 2 and its printable PDF, behind the trainee's private link or
for staff.

The photo and the ID card copies have no public URL: only these views stream them, after checking
the link or the staff permission. The ID card copies and the printable form with the full ID number
need ``registration.view_full_id_number`` (``FULL_ID_PERMISSION``), and each such view is written to
the audit log.
"""

import mimetypes

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from portal.files import private_file_response
from portal.http import client_ip

from . import selectors
from .models import FULL_ID_PERMISSION, Trainee
from .pdf import attachment2_pdf
from .services.attachment2 import ATTACHMENT2_FILES
from .services.personal_data import trainee_full_id_view_record


def _sniff_content_type(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def _document_response(request, trainee: Trainee, kind: str):
    if kind not in ATTACHMENT2_FILES:
        raise Http404
    field_file = getattr(trainee, kind)
    if not field_file:
        raise Http404
    try:
        with field_file.storage.open(field_file.name, "rb") as handle:  # the type, from 16 bytes
            content_type = _sniff_content_type(handle.read(16))
    except (FileNotFoundError, OSError):
        raise Http404 from None
    if content_type is None:
        guessed = mimetypes.guess_type(field_file.name)[0]
        content_type = guessed if guessed in ("image/jpeg", "image/png") else "application/octet-stream"
    extension = mimetypes.guess_extension(content_type) or ".bin"
    response = private_file_response(
        request,
        field_file,
        filename=f"{kind}{'.jpg' if extension == '.jpeg' else extension}",
        content_type=content_type,
    )
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


# Documents that show the full ID number.
ID_DOCUMENT_KINDS = ("id_front", "id_back")


def _staff_trainee(request, trainee_pk):
    """The trainee, for staff allowed to see trainees; others go to the admin log-in or get 403."""
    user = request.user
    if not user.is_authenticated:
        return None, redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if not (user.is_active and user.is_staff and user.has_perm("registration.view_trainee")):
        raise PermissionDenied
    return get_object_or_404(Trainee.objects.select_related("programme", "application"), pk=trainee_pk), None


@require_GET
def trainee_document(request, access_key, kind):
    trainee = selectors.trainee_by_access_key(access_key)
    if trainee is None:
        raise Http404
    return _document_response(request, trainee, kind)


@require_GET
def staff_document(request, trainee_pk, kind):
    """A document for staff. The ID card copies show the full ID number: they need the full-ID
    permission, and each view is written to the audit log (who, when, which, from where)."""
    trainee, refused = _staff_trainee(request, trainee_pk)
    if refused:
        return refused
    if kind in ID_DOCUMENT_KINDS and not request.user.has_perm(FULL_ID_PERMISSION):
        raise PermissionDenied
    response = _document_response(request, trainee, kind)
    if kind in ID_DOCUMENT_KINDS:
        trainee_full_id_view_record(trainee=trainee, viewer=request.user, what=kind, ip=client_ip(request))
    return response


def _pdf_response(trainee: Trainee, *, full_id: bool = False, birth_date: bool = True):
    response = HttpResponse(
        attachment2_pdf(trainee, full_id=full_id, birth_date=birth_date), content_type="application/pdf"
    )
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=False, filename=_("attachment2-%(name)s.pdf") % {"name": trainee.name}
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def attachment2_print(request, access_key):
    trainee = selectors.trainee_by_access_key(access_key)
    if trainee is None:
        raise Http404
    return _pdf_response(trainee)


@require_GET
def staff_attachment2_print(request, trainee_pk):
    """The printable attachment 2 for staff: the full ID number and the date of birth (which
    nearly rebuilds it from the masked one) only with the full-ID permission, and then the view is
    audited."""
    trainee, refused = _staff_trainee(request, trainee_pk)
    if refused:
        return refused
    full = request.user.has_perm(FULL_ID_PERMISSION)
    response = _pdf_response(trainee, full_id=full, birth_date=full)
    if full:
        trainee_full_id_view_record(
            trainee=trainee, viewer=request.user, what="attachment2_pdf", ip=client_ip(request)
        )
    return response
