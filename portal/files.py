"""Sending stored files: Django decides who may have a file, nginx sends its bytes.

Every view that answers with a file kept on disk (lesson videos and PDFs, trainee photos and ID
copies, certificate PDFs, print runs, invoices, payment screenshots, the collection QR code) does
its permission check and its audit entry, then returns :func:`private_file_response`. What that
sends depends on ``PORTAL_FILE_SERVING``:

``"nginx"`` (docker compose, ``make serve-prod``)
    An empty response with ``X-Accel-Redirect: /protected/<storage name>``: nginx sends the file
    from an ``internal`` location (``deploy/nginx/portal.conf.template``) with range requests and
    sendfile, so a video viewer or a paused phone costs nginx a connection and no Python worker.
    nginx keeps this response's Content-Type, Content-Disposition and Cache-Control; the protected
    locations copy its security headers (CSP, X-Frame-Options, ...) from ``$upstream_http_*``.
``"django"`` (``make run``, the tests)
    Django streams the file itself, answering single-range requests with 206 so phones can seek.

Whatever the mode, a file in object storage (``PORTAL_STORAGE=s3``) is answered with a redirect to
a presigned URL of the bucket (``portal.storage.presigned_url``) valid ``PORTAL_S3_URL_SECONDS``
(videos ``PORTAL_S3_VIDEO_URL_SECONDS``), carrying the same Content-Type and Content-Disposition:
the bucket sends the bytes and the ranges, no web host holds the file.

Files generated for one request (the printable attachment 2, Excel and CSV exports) are not on
disk and stay answered by their views.
"""

import mimetypes
import re
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.utils.http import content_disposition_header

from .storage import is_object_storage, presigned_url

FILE_SERVING_MODES = ("django", "nginx")
# Internal nginx locations (``internal``: a client asking for them directly gets 404) and the
# settings naming the folder each one serves. The nginx configuration is rendered from this list
# (portal/deploy.py), so the two cannot drift apart.
ACCEL_LOCATIONS = (
    ("/protected/", "PRIVATE_MEDIA_ROOT"),  # personal documents, payments, certificates, lessons
    ("/protected-media/", "MEDIA_ROOT"),  # the public collection QR code
)
CHUNK = 64 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def file_serving_mode() -> str:
    mode = getattr(settings, "PORTAL_FILE_SERVING", "django")
    if mode not in FILE_SERVING_MODES:
        raise ImproperlyConfigured(f"PORTAL_FILE_SERVING must be one of {FILE_SERVING_MODES}, not {mode!r}.")
    return mode


def byte_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """``(start, end)`` (inclusive) of a single ``Range: bytes=...`` header; ``None`` for no or an
    unsupported (multi-range) header (serve the whole file); ``False`` if unsatisfiable."""
    match = RANGE.match((header or "").strip())
    if not match or not (match.group(1) or match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        length = int(last)
        if length == 0 or size == 0:
            return False
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return False
    return start, end


def _chunks(handle, start: int, length: int):
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            data = handle.read(min(CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
    finally:
        handle.close()


def accel_redirect_path(field_file) -> str:
    """The internal nginx URI of a stored file: its location's prefix and the file's path below the
    folder that location serves, percent-encoded (nginx decodes it)."""
    try:
        path = Path(field_file.storage.path(field_file.name)).resolve()
    except NotImplementedError:
        raise ImproperlyConfigured(
            "PORTAL_FILE_SERVING = 'nginx' needs the files on this machine's disk "
            f"({type(field_file.storage).__name__} has no local path)."
        ) from None
    for prefix, setting in ACCEL_LOCATIONS:
        root = Path(getattr(settings, setting)).resolve()
        if path.is_relative_to(root):
            return prefix + quote(path.relative_to(root).as_posix())
    raise ImproperlyConfigured(f"{field_file.name} is in no folder nginx serves ({ACCEL_LOCATIONS}).")


def private_file_response(
    request: HttpRequest,
    field_file,
    *,
    filename: str | None = None,
    as_attachment: bool = False,
    content_type: str | None = None,
    cache_control: str = "private, no-store",
    url_seconds: int | None = None,
) -> HttpResponse:
    """The stored file ``field_file`` for a request the caller has already authorised.

    ``filename`` is what the browser shows or saves (Chinese names are sent RFC 5987-encoded);
    ``cache_control`` defaults to no caching at all (personal files). A missing file answers 404.
    """
    if not field_file or not field_file.storage.exists(field_file.name):
        raise Http404
    content_type = content_type or mimetypes.guess_type(field_file.name)[0] or "application/octet-stream"
    if is_object_storage(field_file.storage):
        if url_seconds is None and content_type.startswith("video/"):
            url_seconds = settings.PORTAL_S3_VIDEO_URL_SECONDS  # the player asks for ranges all along
        url = presigned_url(
            field_file,
            content_type=content_type,
            filename=filename,
            as_attachment=as_attachment,
            seconds=url_seconds,
        )
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-store"  # the URL expires: never reuse the redirect
        return response
    if file_serving_mode() == "nginx":
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = accel_redirect_path(field_file)
    else:
        response = _streamed(request, field_file, content_type=content_type)
    if response.status_code != 416:
        response["Content-Disposition"] = (
            content_disposition_header(as_attachment=as_attachment, filename=filename)
            if filename
            else ("attachment" if as_attachment else "inline")
        )
    response["Cache-Control"] = cache_control
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _streamed(request: HttpRequest, field_file, *, content_type: str) -> HttpResponse:
    """The file sent by Django: whole, or the one byte range asked for (206 / 416)."""
    storage, name = field_file.storage, field_file.name
    size = storage.size(name)
    wanted = None
    # Ranges only for GET, and never against an If-Range validator (there is none to compare to).
    if request.method == "GET" and "If-Range" not in request.headers:
        wanted = byte_range(request.headers.get("Range", ""), size)
    if wanted is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    elif wanted is None:
        response = FileResponse(storage.open(name, "rb"), content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        start, end = wanted
        response = StreamingHttpResponse(
            _chunks(storage.open(name, "rb"), start, end - start + 1), content_type=content_type, status=206
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response
