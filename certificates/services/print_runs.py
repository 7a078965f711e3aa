"""Bulk print runs: many certificates rendered into one PDF by a Celery task, with the progress saved
as pages are produced (shown in admin)."""

import io
import logging

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_record

from .. import rendering
from ..models import Certificate, CertificateStatus, PrintRun, PrintRunStatus
from .config import certificate_settings_get
from .pdf import _certificate_photo, _read, certificate_data

logger = logging.getLogger(__name__)


def print_run_create(*, certificate_ids: list[int], actor: User) -> PrintRun:
    ids = list(
        Certificate.objects.filter(pk__in=certificate_ids, status=CertificateStatus.VALID)
        .order_by("number")
        .values_list("pk", flat=True)
    )
    if not ids:
        raise ValidationError(_("Select at least one valid certificate to print."))
    with transaction.atomic():
        run = PrintRun.objects.create(requested_by=actor, certificate_ids=ids, total=len(ids))
        audit_record(actor=actor, action="certificate.print_run", target=run, new={"certificates": len(ids)})
        from ..tasks import print_run_produce

        print_run_produce.delay_on_commit(print_run_id=run.pk)
    return run


def print_run_produce(*, print_run_id: int) -> PrintRun | None:
    """Render the run's certificates into one PDF, saving the progress as pages are produced.

    Idempotent: a run already done (or taken by another worker) is left alone.
    """
    with transaction.atomic():
        run = PrintRun.objects.select_for_update(skip_locked=True).filter(pk=print_run_id).first()
        if run is None or run.status in (PrintRunStatus.DONE, PrintRunStatus.FAILED):
            return run
        if (
            run.status == PrintRunStatus.RUNNING
            and run.started_at
            and (timezone.now() - run.started_at).total_seconds() < 3600
        ):
            return run  # another worker is on it
        run.status = PrintRunStatus.RUNNING
        run.started_at = timezone.now()
        run.done = 0
        run.save(update_fields=["status", "started_at", "done"])
    config = certificate_settings_get()
    seal = _read(config.seal)
    certificates = list(
        Certificate.objects.select_related("enrollment__trainee")
        .filter(pk__in=run.certificate_ids)
        .order_by("number")
    )
    items = [certificate_data(row, seal=seal, photo=_certificate_photo(row)) for row in certificates]

    def progress(done: int, total: int) -> None:
        PrintRun.objects.filter(pk=run.pk).update(done=done)

    try:
        pdf = rendering.render_certificates_pdf(items, progress=progress)
    except Exception as exc:  # the run must end visibly, whatever went wrong
        logger.exception("Print run %s failed", run.pk)
        PrintRun.objects.filter(pk=run.pk).update(
            status=PrintRunStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        run.refresh_from_db()
        return run
    run.pdf.save(f"print-run-{run.pk}.pdf", ContentFile(pdf), save=False)
    PrintRun.objects.filter(pk=run.pk).update(
        pdf=run.pdf.name, status=PrintRunStatus.DONE, done=len(items), finished_at=timezone.now()
    )
    run.refresh_from_db()
    return run


def print_run_pdf_file(*, run: PrintRun):
    """The finished run's PDF (its ``FieldFile``, to be sent by portal.files)."""
    if run.status != PrintRunStatus.DONE or not run.pdf:
        raise ValidationError(_("The print run is not ready yet."))
    return run.pdf


def print_run_pdf(*, run: PrintRun) -> io.BufferedReader:
    field_file = print_run_pdf_file(run=run)
    return field_file.storage.open(field_file.name, "rb")
