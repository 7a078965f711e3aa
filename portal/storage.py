"""Where uploaded and generated files go.

Personal documents, payment proofs, invoices and certificates live in the "private" storage
(``PRIVATE_MEDIA_ROOT``): never under a public URL, served only by permission-checked views.
"""

import uuid
from pathlib import PurePath

from django.core.files.storage import storages
from django.utils import timezone


def private_storage():
    """The private storage (a callable, so tests and settings can swap it)."""
    return storages["private"]


def random_upload_path(app: str, folder: str, filename: str) -> str:
    """``<app>/<folder>/<year>/<month>/<random>.<ext>``: the uploader's file name is never kept
    (it may hold personal data) and cannot be guessed."""
    suffix = PurePath(filename).suffix.lower()[:5] or ".bin"
    return f"{app}/{folder}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"
