"""Upload checks shared by every app.

* :func:`upload_size_check` - a form's ``clean_<field>`` refuses a file over its limit with a clear
  message (the same words the attachment 2 documents use).
* :func:`image_upload_check` - the one check of every uploaded image (attachment 2 documents, the
  payment screenshot, the collection QR code, the certificate seal): byte size, JPEG or PNG by
  content, and the pixel count read from the header *before* anything is decoded (a 500 KB PNG of
  13000 x 13000 pixels of one colour would take 2 s and 660 MB to decode); decompression bombs
  (Pillow's warning as well as its error) are refused with the same message. The caller decodes
  only an image that passed (:meth:`CheckedImage.decode`).
* :func:`image_jpeg_encode` - the one re-encoding of a checked, decoded image: a JPEG from the
  pixels alone (no metadata survives), transparency flattened on white, and at most a byte limit
  (a large phone photo is scaled down rather than refused: quality first, then the pixel size).
* :class:`RequestSizeLimitMiddleware` - refuses a request whose declared body is larger than any
  form needs (413) before a byte of it is read or spooled to disk. Django limits the non-file part
  of a request (``DATA_UPLOAD_MAX_MEMORY_SIZE``) but not the files, and gunicorn serves without a
  proxy in front: without this a public form would accept any size into the temporary directory.
  ``PORTAL_MAX_REQUEST_BYTES`` applies to the public pages, ``PORTAL_MAX_ADMIN_REQUEST_BYTES`` to
  the admin (lesson videos).
"""

import contextlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from .http import from_trusted_proxy

MB = 1024 * 1024
TOO_LARGE = _("The file is too large (%(size)s MB); the limit is %(limit)s MB.")
TOO_LARGE_READ = _("The file is too large; the limit is %(limit)s MB.")
EMPTY = _("The file is empty.")
NOT_AN_IMAGE = _("The file is not a JPEG or PNG image. Upload an image saved as JPEG or PNG.")
TOO_MANY_PIXELS = _("The image has too many pixels (more than %(limit)s million); upload a smaller image.")

IMAGE_FORMATS = ("JPEG", "PNG")
IMAGE_MAX_PIXELS = 40_000_000  # about 7300 x 5500: any real photo, scan or screenshot; more is refused


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


def upload_bytes_read(upload, *, max_bytes: int) -> bytes:
    """The content of ``upload`` (at most ``max_bytes``, else ``ValidationError``); not empty."""
    upload_size_check(upload, max_bytes=max_bytes)
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(max_bytes + 1)
    if hasattr(upload, "seek"):
        upload.seek(0)  # the caller may still store the upload itself
    if len(data) > max_bytes:
        raise ValidationError(TOO_LARGE_READ, code="file_too_large", params={"limit": f"{max_bytes // MB}"})
    if not data:
        raise ValidationError(EMPTY, code="file_empty")
    return data


def _not_an_image() -> ValidationError:
    return ValidationError(NOT_AN_IMAGE, code="file_type")


def _too_many_pixels(max_pixels: int) -> ValidationError:
    return ValidationError(
        TOO_MANY_PIXELS, code="image_too_many_pixels", params={"limit": max(1, max_pixels // 1_000_000)}
    )


@dataclass(frozen=True)
class CheckedImage:
    """An uploaded image that passed :func:`image_upload_check` (not decoded yet)."""

    data: bytes
    format: str  # "JPEG" or "PNG"
    width: int
    height: int
    max_pixels: int = IMAGE_MAX_PIXELS

    def decode(self):
        """The decoded ``PIL.Image`` (all pixels loaded); a file Pillow cannot decode is refused.

        (WeasyPrint, once imported, sets Pillow's ``LOAD_TRUNCATED_IMAGES``: a truncated JPEG is
        then decoded with its missing part filled in; a truncated PNG fails ``verify`` before.)
        """
        from PIL import Image, UnidentifiedImageError

        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                image = Image.open(io.BytesIO(self.data), formats=IMAGE_FORMATS)
                if image.width * image.height > self.max_pixels:
                    raise _too_many_pixels(self.max_pixels)
                image.load()
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                raise _too_many_pixels(self.max_pixels) from None
            except ValidationError:
                raise
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
                raise _not_an_image() from None
        return image


def image_upload_check(upload, *, max_bytes: int, max_pixels: int = IMAGE_MAX_PIXELS) -> CheckedImage:
    """Check an uploaded image without decoding its pixels; raise ``ValidationError`` if it fails.

    In this order: byte size (before reading more than ``max_bytes``), not empty, a JPEG or PNG by
    content (only those two Pillow plugins may open it; the file name and declared type count for
    nothing), width x height from the header at most ``max_pixels``, one frame (no animated PNG),
    and the file's structure (``verify``: PNG chunks and checksums, read without inflating them).
    """
    from PIL import Image, UnidentifiedImageError

    data = upload_bytes_read(upload, max_bytes=max_bytes)
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that (89 to 179 million pixels).
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as probe:  # reads the header only
                kind = probe.format
                width, height = probe.size
                if width * height > max_pixels:
                    raise _too_many_pixels(max_pixels)
                if getattr(probe, "n_frames", 1) > 1:
                    raise _not_an_image()
                probe.verify()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(max_pixels) from None
        except ValidationError:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise _not_an_image() from None
    if kind not in IMAGE_FORMATS:
        raise _not_an_image()
    return CheckedImage(data=data, format=kind, width=width, height=height, max_pixels=max_pixels)


JPEG_QUALITIES = (88, 80, 72)
JPEG_MIN_SIDE = 300  # scaling never goes below this (the smallest readable scan)


def image_jpeg_encode(image, *, max_bytes: int, quality: int = JPEG_QUALITIES[0]) -> bytes:
    """``image`` (a decoded ``PIL.Image``) as JPEG bytes of at most ``max_bytes``.

    A fresh image is made from the pixels alone (no EXIF, ICC profile, comment or other chunk
    survives); transparency is flattened on white. When the JPEG is larger than ``max_bytes`` the
    quality is lowered (down to 72), then the image is scaled down by steps of 3/4 until it fits.
    Raises ``ValidationError`` only if even the smallest size does not fit (not for any real photo).
    """
    from PIL import Image

    if image.mode not in ("RGB", "L"):
        if image.mode in ("RGBA", "LA", "P", "PA"):
            image = image.convert("RGBA")
            background = Image.new("RGB", image.size, (255, 255, 255))
            background.paste(image, mask=image.getchannel("A"))
            image = background
        else:
            image = image.convert("RGB")
    image = Image.frombytes(image.mode, image.size, image.tobytes())
    qualities = [q for q in JPEG_QUALITIES if q <= quality] or [quality]
    while True:
        for step in qualities:
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=step, optimize=True)
            if out.tell() <= max_bytes:
                return out.getvalue()
        width, height = image.size
        if min(width, height) * 3 // 4 < JPEG_MIN_SIDE:
            raise ValidationError(
                TOO_LARGE_READ, code="file_too_large", params={"limit": f"{max(1, max_bytes // MB)}"}
            )
        image = image.resize((width * 3 // 4, height * 3 // 4), Image.LANCZOS)


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = body = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = body = 0
        if from_trusted_proxy(request):
            # nginx refused a body over its client_max_body_size (the same limits) and asks for
            # this page instead of its own, in English (deploy/nginx/portal.conf.template).
            with contextlib.suppress(ValueError):
                length = max(length, int(request.META.get("HTTP_X_PORTAL_REFUSED_LENGTH") or 0))
        admin = request.path_info.startswith("/admin/")
        limit = settings.PORTAL_MAX_ADMIN_REQUEST_BYTES if admin else settings.PORTAL_MAX_REQUEST_BYTES
        if length > limit:
            response = render(
                request,
                "portal/request_too_large.html",
                {"size": _mb(length), "limit": f"{limit // MB}"},
                status=413,
            )
            if body > limit:
                response["Connection"] = "close"  # the body was not read
            return response
        return self.get_response(request)
