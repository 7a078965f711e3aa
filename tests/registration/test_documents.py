import io
import os
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from registration import documents
from registration.documents import photo_clean, scan_clean
from tests.factories import image_bytes, upload


def noisy_scan_bytes(width: int, height: int) -> bytes:
    """A JPEG that compresses badly (random pixels): large for its size, like a detailed phone photo."""
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, "JPEG", quality=95)
    return out.getvalue()


def codes(excinfo) -> set[str]:
    return {error.code for error in excinfo.value.error_list}


def png_bomb(width=20000, height=20000) -> bytes:
    """A few hundred bytes of PNG whose header announces a huge image (the classic bomb shape)."""
    data = bytearray(image_bytes(64, 64, fmt="PNG"))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


def real_png_bomb() -> bytes:
    """A genuine bomb: 64 million pixels of one colour compressed to a few kilobytes."""
    out = io.BytesIO()
    Image.new("1", (8000, 8000), 0).save(out, format="PNG", optimize=True)
    return out.getvalue()


def test_photo_is_reencoded_as_jpeg():
    result = photo_clean(upload("me.png", image_bytes(fmt="PNG"), "image/png"))
    assert result.name.endswith(".jpg")
    image = Image.open(io.BytesIO(result.read()))
    assert image.format == "JPEG"
    assert image.size == (354, 496)


def test_html_named_png_is_refused():
    html = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
    with pytest.raises(ValidationError) as excinfo:
        photo_clean(SimpleUploadedFile("photo.png", html, "image/png"))
    assert codes(excinfo) == {"file_type"}
    with pytest.raises(ValidationError):
        scan_clean(SimpleUploadedFile("front.jpg", html, "image/jpeg"))


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "WEBP", "TIFF"])
def test_other_image_formats_are_refused(fmt):
    with pytest.raises(ValidationError) as excinfo:
        scan_clean(upload("front.jpg", image_bytes(800, 500, fmt=fmt)))
    assert codes(excinfo) == {"file_type"}


def test_truncated_image_is_refused():
    data = image_bytes(800, 500, fmt="PNG")
    with pytest.raises(ValidationError) as excinfo:
        scan_clean(upload("front.png", data[: len(data) // 2]))
    assert codes(excinfo) == {"file_type"}


def test_decompression_bomb_is_refused():
    bomb = real_png_bomb()
    assert len(bomb) < 100_000  # tiny on disk, 64 million pixels decoded
    with pytest.raises(ValidationError) as excinfo:
        scan_clean(upload("front.png", bomb))
    assert codes(excinfo) == {"image_too_many_pixels"}


@pytest.mark.parametrize("size", [(9000, 9000), (20000, 20000), (60000, 60000)])
def test_forged_header_bombs_are_refused(size):
    """Above our limit, above Pillow's warning limit and above its error limit: all refused."""
    with pytest.raises(ValidationError) as excinfo:
        photo_clean(upload("photo.png", png_bomb(*size)))
    assert codes(excinfo) == {"image_too_many_pixels"}


def test_too_large_file_is_refused(settings):
    settings.REGISTRATION_MAX_UPLOAD_BYTES = 10_000
    settings.REGISTRATION_MAX_INPUT_BYTES = 10_000
    big = image_bytes(2000, 2800, quality=100)
    assert len(big) > 10_000
    with pytest.raises(ValidationError) as excinfo:
        photo_clean(upload("photo.jpg", big))
    assert codes(excinfo) == {"file_too_large"}


def test_phone_photo_over_the_stored_limit_is_scaled_down_below_it(settings):
    """A phone photo larger than the stored limit (5 MB by default) but within the input limit (20 MB)
    is re-encoded below the stored limit instead of being refused."""
    settings.REGISTRATION_MAX_UPLOAD_BYTES = 400_000
    settings.REGISTRATION_MAX_INPUT_BYTES = 20 * 1024 * 1024
    big = noisy_scan_bytes(2400, 1600)
    assert len(big) > 1_000_000
    cleaned = scan_clean(upload("id.jpg", big))
    assert cleaned.size <= 400_000
    with Image.open(cleaned) as image:
        assert image.format == "JPEG" and min(image.size) >= 300


def test_empty_file_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        photo_clean(SimpleUploadedFile("photo.jpg", b"", "image/jpeg"))
    assert codes(excinfo) == {"file_empty"}


def test_tiny_photo_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        photo_clean(upload("photo.jpg", image_bytes(100, 140)))
    assert codes(excinfo) == {"photo_too_small"}
    assert "295" in excinfo.value.messages[0]


def test_tiny_scan_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        scan_clean(upload("front.jpg", image_bytes(120, 80)))
    assert codes(excinfo) == {"scan_too_small"}


@pytest.mark.parametrize(("width", "height"), [(700, 500), (413, 413), (295, 600)])
def test_photo_with_wrong_proportions_is_refused(width, height):
    with pytest.raises(ValidationError) as excinfo:
        photo_clean(upload("photo.jpg", image_bytes(width, height)))
    assert codes(excinfo) == {"photo_proportions"}


@pytest.mark.parametrize(("width", "height"), [(295, 413), (300, 413), (358, 480), (600, 840)])
def test_photo_near_25_by_35_passes(width, height):
    assert photo_clean(upload("photo.jpg", image_bytes(width, height))).size > 0


def test_exif_is_stripped_and_orientation_applied():
    image = Image.new("RGB", (496, 354), (10, 200, 10))  # stored landscape, shown portrait
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise for display
    exif[0x8825] = {2: (23.0, 7.0, 0.0)}  # GPS latitude (must not survive)
    exif[0x010F] = "SecretCamera"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"private comment")
    data = out.getvalue()
    assert b"SecretCamera" in data

    result = photo_clean(upload("photo.jpg", data)).read()
    cleaned = Image.open(io.BytesIO(result))
    assert cleaned.size == (354, 496)  # rotated upright, so it passes the portrait check
    assert not cleaned.getexif()
    assert b"SecretCamera" not in result and b"private comment" not in result
    assert "exif" not in cleaned.info and "comment" not in cleaned.info


def test_appended_payload_does_not_survive():
    data = image_bytes(800, 500) + b"<?php system($_GET['c']); ?>"
    result = scan_clean(upload("front.jpg", data)).read()
    assert b"<?php" not in result


def test_transparent_png_is_flattened():
    out = io.BytesIO()
    Image.new("RGBA", (800, 500), (0, 0, 0, 0)).save(out, format="PNG")
    result = Image.open(io.BytesIO(scan_clean(upload("front.png", out.getvalue())).read()))
    assert result.mode == "RGB"
    assert result.getpixel((10, 10)) == (255, 255, 255)


def test_big_scan_is_scaled_down():
    result = Image.open(io.BytesIO(scan_clean(upload("front.jpg", image_bytes(4000, 2500))).read()))
    assert max(result.size) == documents.SCAN_MAX_SIDE


def test_grayscale_photo_is_refused():
    """The notice asks for a recent colour photo: photo_clean applies the validators' rule."""
    with pytest.raises(ValidationError) as excinfo:
        photo_clean(upload("photo.jpg", image_bytes(color=(128, 128, 128))))
    assert codes(excinfo) == {"photo_grayscale"}
    gray = io.BytesIO()
    Image.new("L", (354, 496), 120).save(gray, format="PNG")
    with pytest.raises(ValidationError) as excinfo:
        photo_clean(upload("photo.png", gray.getvalue(), content_type="image/png"))
    assert codes(excinfo) == {"photo_grayscale"}
    # ID card copies may be black-and-white scans
    assert scan_clean(upload("front.jpg", image_bytes(856, 540, color=(128, 128, 128))))
