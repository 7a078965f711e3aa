"""portal.files: one helper sends every stored file, by Django (ranges) or through nginx (X-Accel)."""

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db.models.fields.files import FieldFile
from django.http import Http404
from django.test import RequestFactory

from portal.files import byte_range, private_file_response
from portal.storage import private_storage

DATA = bytes(range(256)) * 40  # 10240 bytes


class _Field:
    """Stands for a model's ``FileField`` (FieldFile needs one for ``storage``)."""

    def __init__(self, storage):
        self.storage = storage


@pytest.fixture
def stored():
    storage = private_storage()
    name = storage.save("portal/tests/video.mp4", ContentFile(DATA))
    yield FieldFile(None, _Field(storage), name)
    storage.delete(name)


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def _get(**headers):
    return RequestFactory().get("/x", headers=headers)


def test_django_streams_the_whole_file_and_single_ranges(stored, settings):
    settings.PORTAL_FILE_SERVING = "django"
    whole = private_file_response(_get(), stored)
    assert whole.status_code == 200 and _body(whole) == DATA
    assert whole["Content-Length"] == "10240" and whole["Accept-Ranges"] == "bytes"
    assert whole["Content-Type"] == "video/mp4" and whole["Content-Disposition"] == "inline"
    assert whole["Cache-Control"] == "private, no-store" and whole["X-Content-Type-Options"] == "nosniff"
    assert "X-Accel-Redirect" not in whole

    part = private_file_response(_get(Range="bytes=100-199"), stored)
    assert part.status_code == 206 and _body(part) == DATA[100:200]
    assert part["Content-Range"] == "bytes 100-199/10240" and part["Content-Length"] == "100"
    tail = private_file_response(_get(Range="bytes=-16"), stored)
    assert tail.status_code == 206 and _body(tail) == DATA[-16:]
    open_ended = private_file_response(_get(Range="bytes=10000-"), stored)
    assert _body(open_ended) == DATA[10000:] and open_ended["Content-Range"] == "bytes 10000-10239/10240"
    beyond = private_file_response(_get(Range="bytes=99999-"), stored)
    assert beyond.status_code == 416 and beyond["Content-Range"] == "bytes */10240"
    # a validator we cannot compare to, or several ranges: the whole file (always a correct answer)
    assert private_file_response(_get(Range="bytes=0-1", **{"If-Range": '"x"'}), stored).status_code == 200
    assert private_file_response(_get(Range="bytes=0-1,5-6"), stored).status_code == 200


def test_byte_range_parsing():
    assert byte_range("", 100) is None
    assert byte_range("bytes=0-", 100) == (0, 99)
    assert byte_range("bytes=10-2000", 100) == (10, 99)
    assert byte_range("bytes=-500", 100) == (0, 99)
    assert byte_range("bytes=50-10", 100) is False
    assert byte_range("bytes=-0", 100) is False
    assert byte_range("items=0-1", 100) is None


def test_nginx_gets_an_empty_answer_with_the_internal_path(stored, settings):
    settings.PORTAL_FILE_SERVING = "nginx"
    response = private_file_response(
        _get(Range="bytes=0-99"),
        stored,
        filename="证书-王𠮷.pdf",
        as_attachment=True,
        content_type="application/pdf",
    )
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == f"/protected/{stored.name}"
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''%E8%AF%81%E4%B9%A6-%E7%8E%8B%F0%A0%AE%B7.pdf"
    )
    assert response["Cache-Control"] == "private, no-store"


def test_nginx_path_is_percent_encoded_and_media_files_use_their_own_location(settings, tmp_path):
    settings.PORTAL_FILE_SERVING = "nginx"
    settings.MEDIA_ROOT = tmp_path
    storage = FileSystemStorage(location=tmp_path)
    name = storage.save("payments/qr code 收款.png", ContentFile(b"\x89PNG"))
    response = private_file_response(_get(), FieldFile(None, _Field(storage), name), cache_control="public")
    assert response["X-Accel-Redirect"] == "/protected-media/payments/qr%20code%20%E6%94%B6%E6%AC%BE.png"
    assert response["Content-Type"] == "image/png" and response["Cache-Control"] == "public"


def test_a_file_outside_the_served_folders_is_refused(settings, tmp_path):
    settings.PORTAL_FILE_SERVING = "nginx"
    storage = FileSystemStorage(location=tmp_path / "elsewhere")
    name = storage.save("a.pdf", ContentFile(b"%PDF"))
    with pytest.raises(ImproperlyConfigured):
        private_file_response(_get(), FieldFile(None, _Field(storage), name))


def test_missing_file_is_404_in_both_modes(settings):
    field = FieldFile(None, _Field(private_storage()), "portal/tests/never-stored.mp4")
    for mode in ("django", "nginx"):
        settings.PORTAL_FILE_SERVING = mode
        with pytest.raises(Http404):
            private_file_response(_get(), field)
        with pytest.raises(Http404):
            private_file_response(_get(), FieldFile(None, _Field(private_storage()), ""))


def test_unknown_mode_is_refused(stored, settings):
    settings.PORTAL_FILE_SERVING = "apache"
    with pytest.raises(ImproperlyConfigured, match="PORTAL_FILE_SERVING"):
        private_file_response(_get(), stored)


def test_private_storage_is_the_folder_nginx_serves(settings):
    assert Path(private_storage().location).resolve() == Path(settings.PRIVATE_MEDIA_ROOT).resolve()
