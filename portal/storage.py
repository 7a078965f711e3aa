"""Where uploaded and generated files go.

Personal documents, payment proofs, invoices and certificates live in the "private" storage
(``PRIVATE_MEDIA_ROOT`` on disk, or ``private/`` in the bucket with ``PORTAL_STORAGE=s3``): never
under a public URL, served only by permission-checked views (object storage: a short-lived
presigned URL handed out by those views, :func:`presigned_url`).
"""

import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.utils import timezone
from django.utils.functional import LazyObject, empty
from django.utils.http import content_disposition_header


class _PrivateStorage(LazyObject):
    """``storages["private"]``, looked up on first use (and again when STORAGES changes in tests):
    file fields keep this object, so switching the backend reaches them."""

    def _setup(self):
        self._wrapped = storages["private"]


_private = _PrivateStorage()


def _storages_changed(*, setting, **kwargs) -> None:
    if setting == "STORAGES":
        _private._wrapped = empty


setting_changed.connect(_storages_changed)


def private_storage():
    """The private storage (a callable, so tests and settings can swap it)."""
    return _private


def random_upload_path(app: str, folder: str, filename: str) -> str:
    """``<app>/<folder>/<year>/<month>/<random>.<ext>``: the uploader's file name is never kept
    (it may hold personal data) and cannot be guessed."""
    suffix = PurePath(filename).suffix.lower()[:5] or ".bin"
    return f"{app}/{folder}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


def is_object_storage(storage) -> bool:
    """Files of this storage live in an S3-compatible bucket (no local path, presigned URLs)."""
    from storages.backends.s3 import S3Storage

    return isinstance(storage, S3Storage)


def presigned_url(
    field_file,
    *,
    content_type: str | None = None,
    filename: str | None = None,
    as_attachment: bool = False,
    seconds: int | None = None,
) -> str | None:
    """A short-lived URL of a stored file in object storage (``None`` on local disk): valid
    ``PORTAL_S3_URL_SECONDS`` unless ``seconds`` says otherwise, with the content type and the
    download name the views would have sent. Call it only after the permission check."""
    storage = field_file.storage
    if not field_file or not is_object_storage(storage):
        return None
    parameters = {}
    if content_type:
        parameters["ResponseContentType"] = content_type
    disposition = content_disposition_header(as_attachment, filename) if filename or as_attachment else None
    parameters["ResponseContentDisposition"] = disposition or "inline"
    return storage.url(
        field_file.name,
        parameters=parameters,
        expire=seconds or settings.PORTAL_S3_URL_SECONDS,
    )
