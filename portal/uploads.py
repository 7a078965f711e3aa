"""Upload size limits shared by every app.

* :func:`upload_size_check` - a form's ``clean_<field>`` refuses a file over its limit with a clear
  message (the same words the attachment 2 documents use).
* :class:`RequestSizeLimitMiddleware` - refuses a request whose declared body is larger than any
  form needs (413) before a byte of it is read or spooled to disk. Django limits the non-file part
  of a request (``DATA_UPLOAD_MAX_MEMORY_SIZE``) but not the files, and gunicorn serves without a
  proxy in front: without this a public form would accept any size into the temporary directory.
  ``PORTAL_MAX_REQUEST_BYTES`` applies to the public pages, ``PORTAL_MAX_ADMIN_REQUEST_BYTES`` to
  the admin (lesson videos).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

MB = 1024 * 1024
TOO_LARGE = _("The file is too large (%(size)s MB); the limit is %(limit)s MB.")


def _mb(size: int) -> str:
    return f"{size / MB:.1f}" if size < 10 * MB else f"{size / MB:.0f}"


def upload_size_check(upload, *, max_bytes: int):
    """Return ``upload`` or raise ``ValidationError`` when it is larger than ``max_bytes``."""
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise ValidationError(
            TOO_LARGE, code="file_too_large", params={"size": _mb(size), "limit": f"{max_bytes // MB}"}
        )
    return upload


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        admin = request.path_info.startswith("/admin/")
        limit = settings.PORTAL_MAX_ADMIN_REQUEST_BYTES if admin else settings.PORTAL_MAX_REQUEST_BYTES
        if length > limit:
            response = render(
                request,
                "portal/request_too_large.html",
                {"size": _mb(length), "limit": f"{limit // MB}"},
                status=413,
            )
            response["Connection"] = "close"  # the body was not read
            return response
        return self.get_response(request)
