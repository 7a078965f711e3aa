"""Checking and cleaning uploaded personal documents (the photo and the ID card copies).

Files are judged by their content, never their name: the shared image check
(:func:`portal.uploads.image_upload_check`) limits the byte size, accepts only a JPEG or PNG and
refuses too many pixels (decompression bombs included) before anything is decoded; the image is
then decoded and re-encoded (EXIF orientation applied first) so no metadata or trailing payload
survives. A phone photo may be larger than the stored limit (up to :func:`max_input_bytes`): it is
scaled down below :func:`max_upload_bytes` (:func:`portal.uploads.image_jpeg_encode`) instead of
being refused.
"""

import logging
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

from portal.uploads import MB, image_jpeg_encode, image_upload_check

from .validators import photo_colour_validate, photo_face_validate

DEFAULT_MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # a stored document; the limit the form states
DEFAULT_MAX_INPUT_BYTES = 20 * 1024 * 1024  # an upload accepted (and scaled down below the above)

logger = logging.getLogger(__name__)

PHOTO_MIN_WIDTH = 295
PHOTO_MIN_HEIGHT = 413
PHOTO_RATIO = 25 / 35  # width / height of a one-inch (25 x 35 mm) photo
PHOTO_RATIO_TOLERANCE = 0.08  # relative
SCAN_MIN_SIDE = 300
SCAN_MAX_SIDE = 2400  # scans are scaled down to this; the photo to PHOTO_MAX_HEIGHT
PHOTO_MAX_HEIGHT = 1200


def max_upload_bytes() -> int:
    return int(getattr(settings, "REGISTRATION_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


def max_input_bytes() -> int:
    """The largest upload accepted (a phone photo), never below the stored limit."""
    limit = int(getattr(settings, "REGISTRATION_MAX_INPUT_BYTES", DEFAULT_MAX_INPUT_BYTES))
    return max(limit, max_upload_bytes())


def upload_limits() -> dict:
    """The limits in MB, for the words next to each file input."""
    return {"limit": max_upload_bytes() // MB, "input": max_input_bytes() // MB}


def _open_checked(upload) -> Image.Image:
    """Check the upload, decode it and return it with EXIF orientation applied."""
    image = image_upload_check(upload, max_bytes=max_input_bytes()).decode()
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # broken EXIF: keep the pixels as they are
        logger.info("Ignoring unreadable EXIF orientation", exc_info=True)
    return image


def _encode(image: Image.Image, *, prefix: str) -> ContentFile:
    data = image_jpeg_encode(image, max_bytes=max_upload_bytes())
    return ContentFile(data, name=f"{prefix}-{uuid.uuid4().hex[:12]}.jpg")


def photo_clean(upload) -> ContentFile:
    """Check the 25 x 35 mm colour photo (size, proportions, in colour:
    :func:`registration.validators.photo_colour_validate`) and return it re-encoded as a JPEG
    ``ContentFile``."""
    image = _open_checked(upload)
    width, height = image.size
    if width < PHOTO_MIN_WIDTH or height < PHOTO_MIN_HEIGHT:
        raise ValidationError(
            _(
                "The photo is too small (%(width)s×%(height)s pixels); it must be at least "
                "%(min_width)s×%(min_height)s pixels."
            ),
            code="photo_too_small",
            params={
                "width": width,
                "height": height,
                "min_width": PHOTO_MIN_WIDTH,
                "min_height": PHOTO_MIN_HEIGHT,
            },
        )
    ratio = width / height
    if abs(ratio - PHOTO_RATIO) > PHOTO_RATIO * PHOTO_RATIO_TOLERANCE:
        raise ValidationError(
            _(
                "The photo must be an upright one-inch ID photo (25×35 mm, width:height about 5:7); "
                "this one is %(width)s×%(height)s pixels."
            ),
            code="photo_proportions",
            params={"width": width, "height": height},
        )
    photo_colour_validate(image)
    photo_face_validate(image)
    if height > PHOTO_MAX_HEIGHT:
        image = image.resize((round(width * PHOTO_MAX_HEIGHT / height), PHOTO_MAX_HEIGHT), Image.LANCZOS)
    return _encode(image, prefix="photo")


def scan_clean(upload) -> ContentFile:
    """Check a scan or photo of the ID card and return it re-encoded as a JPEG ``ContentFile``."""
    image = _open_checked(upload)
    width, height = image.size
    if min(width, height) < SCAN_MIN_SIDE:
        raise ValidationError(
            _(
                "The image is too small to read (%(width)s×%(height)s pixels); each side must be at "
                "least %(min)s pixels."
            ),
            code="scan_too_small",
            params={"width": width, "height": height, "min": SCAN_MIN_SIDE},
        )
    if max(width, height) > SCAN_MAX_SIDE:
        image.thumbnail((SCAN_MAX_SIDE, SCAN_MAX_SIDE), Image.LANCZOS)
    return _encode(image, prefix="scan")
