"""portal/uploads.py: the one image check (pixels from the header before any decoding).

Every image upload through its page (screenshot, attachment 2, QR code, seal) is in
tests/security/test_image_uploads.py; here the check itself."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageFile

from portal.uploads import IMAGE_MAX_PIXELS, image_upload_check
from tests.factories import image_bytes

from .spreadsheet_files import png_of_one_colour

MB = 1024 * 1024
TOO_MANY_PIXELS = "图片像素过多（超过 40 百万像素），请上传较小的图片。"
NOT_AN_IMAGE = "该文件不是 JPEG 或 PNG 图片。请上传 JPEG 或 PNG 格式的图片。"


@pytest.fixture
def forbid_decoding(monkeypatch):
    """Call it once the test's files are built: from then on decoding an image fails the test."""

    def refuse(self, *args, **kwargs):
        pytest.fail("an image was decoded before its pixels were checked")

    def forbid():
        Image.init()  # Pillow's plugins make small images of their own when first imported
        monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)  # decoding any image file

    return forbid


def upload(data: bytes, name="image.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, "image/png")


def refusal(data: bytes, **limits) -> ValidationError:
    with pytest.raises(ValidationError) as excinfo:
        image_upload_check(upload(data), **{"max_bytes": 5 * MB, **limits})
    return excinfo.value


def test_a_good_image_passes_undecoded_and_decodes_on_request(forbid_decoding, monkeypatch):
    data = image_bytes(354, 496, fmt="PNG")
    forbid_decoding()
    checked = image_upload_check(upload(data), max_bytes=5 * MB)
    assert (checked.format, checked.width, checked.height) == ("PNG", 354, 496)
    monkeypatch.undo()
    assert checked.decode().getpixel((10, 10)) == (200, 30, 30)


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (7000, 6000),  # 42 million: over ours, below Pillow's warning (89 million)
        (13000, 13000),  # 169 million (issue #22): Pillow only warns
    ],
)
def test_too_many_pixels_are_refused_from_the_header(forbid_decoding, width, height):
    data = png_of_one_colour(width, height)
    assert len(data) < 500_000
    forbid_decoding()
    error = refusal(data)
    assert error.code == "image_too_many_pixels"
    assert error.messages == [TOO_MANY_PIXELS]


def test_over_pillows_own_limit_too(forbid_decoding):
    """A forged header of 60000 x 60000 pixels: Pillow raises its own error, the message is ours."""
    from tests.registration.test_documents import png_bomb

    data = png_bomb(60000, 60000)
    forbid_decoding()
    assert refusal(data).messages == [TOO_MANY_PIXELS]


def test_the_pixel_limit_is_a_parameter(forbid_decoding):
    data = image_bytes(400, 400, fmt="PNG")
    forbid_decoding()
    assert refusal(data, max_pixels=100_000).messages == [
        "图片像素过多（超过 1 百万像素），请上传较小的图片。"
    ]
    assert image_upload_check(upload(data), max_bytes=MB, max_pixels=160_000).width == 400
    assert IMAGE_MAX_PIXELS == 40_000_000


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "WEBP", "TIFF"])
def test_only_jpeg_and_png(forbid_decoding, fmt):
    data = image_bytes(300, 300, fmt=fmt)
    forbid_decoding()
    error = refusal(data)
    assert (error.code, error.messages) == ("file_type", [NOT_AN_IMAGE])


def test_animated_png_is_refused(forbid_decoding):
    frames = [Image.new("RGB", (50, 50), colour) for colour in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, format="PNG", save_all=True, append_images=frames[1:])
    forbid_decoding()
    assert refusal(out.getvalue()).code == "file_type"


def test_not_an_image_and_empty_and_too_large(forbid_decoding):
    data = image_bytes(600, 600, fmt="PNG")
    forbid_decoding()
    assert refusal(b"<?php echo 1; ?>").messages == [NOT_AN_IMAGE]
    assert refusal(b"").messages == ["文件是空的。"]
    assert refusal(data, max_bytes=100).messages == [f"文件过大（{len(data) / MB:.1f} MB），上限为 0 MB。"]


def test_a_truncated_png_is_refused_without_decoding(forbid_decoding):
    data = image_bytes(800, 500, fmt="PNG")
    forbid_decoding()
    assert refusal(data[: len(data) // 2]).messages == [NOT_AN_IMAGE]  # its chunks are verified


def test_the_upload_is_rewound_for_whoever_stores_it():
    data = image_bytes(300, 300, fmt="PNG")
    file = upload(data)
    image_upload_check(file, max_bytes=MB)
    assert file.read() == data


def test_jpeg_encode_drops_metadata_flattens_transparency_and_fits_the_limit():
    import os

    from portal.uploads import image_jpeg_encode

    # transparency on white, no EXIF survives
    rgba = Image.new("RGBA", (400, 300), (255, 0, 0, 0))
    data = image_jpeg_encode(rgba, max_bytes=5 * 1024 * 1024)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.size == (400, 300)
        assert image.getpixel((10, 10)) == (255, 255, 255) and not image.info.get("exif")
    # a detailed (noisy) photo larger than the limit is scaled down below it, not refused
    noisy = Image.frombytes("RGB", (2000, 1500), os.urandom(2000 * 1500 * 3))
    data = image_jpeg_encode(noisy, max_bytes=500_000)
    with Image.open(io.BytesIO(data)) as image:
        assert (
            len(data) <= 500_000
            and image.width < 2000
            and image.width / image.height == pytest.approx(4 / 3, rel=0.01)
        )
    # a limit no real image can meet: refused with the size message
    with pytest.raises(ValidationError) as excinfo:
        image_jpeg_encode(noisy, max_bytes=1000)
    assert excinfo.value.code == "file_too_large"
