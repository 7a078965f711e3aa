"""The certificate PDF: the data printed on it (with the holder's photo, normalised once and kept on
the certificate), rendering it (``certificates.rendering``) in a Celery task, the sweep that queues
the missing ones, and the stored file for downloads (produced on the spot if the task has not run)."""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .. import rendering
from ..models import Certificate, CertificateStatus, photo_upload_to
from .config import certificate_settings_get
from .verification import verify_url

logger = logging.getLogger(__name__)


def _read(field_file) -> bytes | None:
    if not field_file:
        return None
    try:
        with field_file.storage.open(field_file.name, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, OSError):
        return None


def certificate_data(
    certificate: Certificate, *, seal: bytes | None, photo: bytes | None
) -> rendering.CertificateData:
    with translation.override(settings.LANGUAGE_CODE):
        return rendering.CertificateData(
            number=certificate.number,
            holder_name=certificate.holder_name,
            id_number_masked=certificate.id_number_masked,
            certificate_type_label=str(certificate.get_certificate_type_display()),
            training_category_label=str(certificate.get_training_category_display()),
            hours=certificate.hours,
            issue_date=certificate.issue_date,
            issuer=certificate.issuer,
            unit_name=certificate.unit_name,
            verify_url=verify_url(certificate),
            photo=photo,
            seal=seal,
        )


def _certificate_photo(certificate: Certificate) -> bytes | None:
    """The certificate's own normalised copy of the attachment-2 photo (made and kept on first use,
    so that a reprint does not depend on the trainee's documents being kept)."""
    own = _read(certificate.photo)
    if own:
        return own
    original = _read(certificate.enrollment.trainee.photo)
    if not original:
        return None
    try:
        normalized = rendering.normalize_photo(original)
    except rendering.InvalidImageError:
        return None
    storage = certificate.photo.storage
    name = storage.save(photo_upload_to(certificate, "photo.jpg"), ContentFile(normalized))
    if Certificate.objects.filter(pk=certificate.pk, photo="").update(photo=name):
        certificate.photo.name = name
        return normalized
    storage.delete(name)  # a concurrent render kept its copy first
    certificate.refresh_from_db(fields=["photo"])
    return _read(certificate.photo) or normalized


def certificate_render(*, certificate_id: int, force: bool = False) -> Certificate | None:
    """Produce (or re-produce with ``force``) the certificate's PDF. Idempotent."""
    certificate = Certificate.objects.select_related("enrollment__trainee").filter(pk=certificate_id).first()
    if certificate is None or (certificate.pdf and not force):
        return certificate
    config = certificate_settings_get()
    photo = _certificate_photo(certificate)
    try:
        pdf = rendering.render_certificate_pdf(
            certificate_data(certificate, seal=_read(config.seal), photo=photo)
        )
    except (rendering.UnrenderableTextError, rendering.InvalidImageError) as exc:
        Certificate.objects.filter(pk=certificate.pk).update(render_error=str(exc))
        logger.error("Certificate %s could not be rendered: %s", certificate.number, exc)
        return certificate
    old_pdf = certificate.pdf.name if certificate.pdf else ""
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if locked.pdf and not force:  # a concurrent run finished first
            return locked
        locked.pdf.save(f"{certificate.number}.pdf", ContentFile(pdf), save=False)
        locked.pdf_rendered_at = timezone.now()
        locked.render_error = ""
        locked.save(update_fields=["pdf", "pdf_rendered_at", "render_error"])
    if old_pdf and old_pdf != locked.pdf.name:
        locked.pdf.storage.delete(old_pdf)
    return locked


def _pdf_unavailable() -> ValidationError:
    return ValidationError(_("The certificate PDF could not be produced. The association has been told."))


def _stored(field_file) -> bool:
    """A file that is there and not empty."""
    try:
        return bool(field_file) and field_file.storage.size(field_file.name) > 0
    except (FileNotFoundError, OSError):
        return False


def certificate_pdf_file(*, certificate: Certificate):
    """The stored PDF (its ``FieldFile``, to be sent by portal.files), produced now if the task
    has not run yet or the file is missing."""
    if _stored(certificate.pdf):
        return certificate.pdf
    rendered = certificate_render(certificate_id=certificate.pk, force=bool(certificate.pdf))
    if rendered is None or not _stored(rendered.pdf):
        raise _pdf_unavailable()
    return rendered.pdf


def certificate_pdf_bytes(*, certificate: Certificate) -> bytes:
    """The stored PDF's content, produced now if the task has not run yet."""
    data = _read(certificate_pdf_file(certificate=certificate))
    if not data:
        raise _pdf_unavailable()
    return data


def certificates_render_missing(*, batch_size: int = 200) -> int:
    """Queue the PDF of valid certificates that have none (and no recorded problem)."""
    from ..tasks import certificate_render

    ids = list(
        Certificate.objects.filter(pdf="", render_error="", status=CertificateStatus.VALID)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    for pk in ids:
        certificate_render.delay(certificate_id=pk)
    return len(ids)
