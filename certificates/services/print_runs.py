"""Bulk print runs: many certificates rendered into one PDF by the Celery worker's processes.

A run is split into parts of at most ``CERTIFICATE_PRINT_PART_SIZE`` certificates
(:func:`print_run_produce`, the run queued → running); each part is one Celery task
(:func:`print_run_part_render`) that renders its certificates into the part's own PDF, so the
prefork worker's processes (and further workers) render a run in parallel; the last part to be
stored queues :func:`print_run_join`, which merges the parts in order into the run's PDF (running →
done) and deletes the parts' files. Every step is idempotent and safe to run twice at once: the
run's row is locked by every step that changes the run (start, storing a part, join, failure), a
part already stored is not stored again, a run already joined is not joined again, and a join that
runs before every part is there changes nothing. A part that cannot be rendered ends the run
(running → failed, the problem shown on the run's admin page) and its stored parts are deleted.
"""

import io
import logging
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_record

from .. import rendering
from ..fonts import FontUnavailableError
from ..models import (
    Certificate,
    CertificateStatus,
    PrintRun,
    PrintRunPart,
    PrintRunStatus,
    print_part_upload_to,
)
from .config import certificate_settings_get
from .pdf import _certificate_photo, _read, certificate_data

logger = logging.getLogger(__name__)

#: Certificates per part (one Celery task, one WeasyPrint document): small enough that the worker's
#: processes share a run evenly and the progress moves, large enough that the fonts embedded once
#: per part and the join stay cheap.
DEFAULT_PART_SIZE = 20
#: A run queued or started longer ago than this is taken for one whose tasks were lost: the periodic
#: sweep (:func:`print_runs_requeue_stale`) delivers its ``print_run_produce`` task again, which
#: queues the parts not stored yet (a part's task lost in a killed worker process is delivered again
#: by the broker: acks late, rejected on worker loss).
STALE_SECONDS = 3600


def _part_size() -> int:
    return max(1, int(getattr(settings, "CERTIFICATE_PRINT_PART_SIZE", DEFAULT_PART_SIZE)))


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


def _certificates_in_order(ids: list[int]) -> list[Certificate]:
    rows = Certificate.objects.select_related("enrollment__trainee").in_bulk(ids)
    return [rows[pk] for pk in ids if pk in rows]


def _text_problem(run: PrintRun) -> str:
    """Why the run cannot be printed (a text no font can draw), checked before anything is rendered."""
    renderer = rendering.get_renderer()
    try:
        for row in _certificates_in_order(run.certificate_ids):
            renderer.check_text(certificate_data(row, seal=None, photo=None))
    except rendering.UnrenderableTextError as exc:
        return _("The print run cannot be produced: %(reason)s") % {"reason": exc}
    return ""


def print_run_produce(*, print_run_id: int) -> PrintRun | None:
    """Start the run (queued → running): split it into parts and queue one task per part.

    Idempotent: a run done, failed or started less than an hour ago is left alone; a run started
    longer ago (its tasks lost) queues again the parts that are not stored yet.
    """
    problem = ""
    run = PrintRun.objects.filter(pk=print_run_id).first()
    if run is not None and run.status == PrintRunStatus.QUEUED:
        problem = _text_problem(run)
    with transaction.atomic():
        run = PrintRun.objects.select_for_update().filter(pk=print_run_id).first()
        if run is None or run.status in (PrintRunStatus.DONE, PrintRunStatus.FAILED):
            return run
        if (
            run.status == PrintRunStatus.RUNNING
            and run.started_at
            and (timezone.now() - run.started_at).total_seconds() < STALE_SECONDS
        ):
            return run  # its parts are queued
        if problem:
            return _fail(run, problem)
        old_status = run.status
        run.status = PrintRunStatus.RUNNING
        run.started_at = timezone.now()
        run.save(update_fields=["status", "started_at"])
        if not run.parts.exists():
            size = _part_size()
            ids = run.certificate_ids
            PrintRunPart.objects.bulk_create(
                PrintRunPart(run=run, index=index, certificate_ids=ids[start : start + size])
                for index, start in enumerate(range(0, len(ids), size))
            )
        waiting = list(run.parts.filter(pdf="").values_list("pk", flat=True))
        audit_record(
            actor=None,
            # A run whose tasks were lost (started over an hour ago) only queues its parts again.
            action="certificate.print_run_start"
            if old_status == PrintRunStatus.QUEUED
            else "certificate.print_run_requeue",
            target=run,
            old={"status": old_status},
            new={"status": run.status, "parts": run.parts.count(), "queued": len(waiting)},
        )
        from ..tasks import print_run_join, print_run_part_render

        for part_id in waiting:
            print_run_part_render.delay_on_commit(part_id=part_id)
        if not waiting:
            print_run_join.delay_on_commit(print_run_id=run.pk)
    return run


def print_runs_requeue_stale(*, limit: int = 50) -> int:
    """Periodic (with the certificates sweep): queue again the start of runs whose tasks were lost,
    queued or started more than ``STALE_SECONDS`` ago; :func:`print_run_produce` then queues the
    parts not stored yet, or the join when they all are. Returns how many runs were queued."""
    cutoff = timezone.now() - timedelta(seconds=STALE_SECONDS)
    ids = list(
        PrintRun.objects.filter(
            Q(status=PrintRunStatus.QUEUED, created_at__lt=cutoff)
            | Q(status=PrintRunStatus.RUNNING, started_at__lt=cutoff)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    from ..tasks import print_run_produce as produce_task

    for pk in ids:
        produce_task.delay(print_run_id=pk)
    return len(ids)


def print_run_part_render(*, part_id: int) -> PrintRunPart | None:
    """Render one part of a running run into its own PDF and store it; queue the join when it was
    the last one. Idempotent: a part already stored (or of a run no longer running) is skipped, and
    of two tasks rendering the same part at once only the first stores it (and counts its pages)."""
    part = PrintRunPart.objects.select_related("run").filter(pk=part_id).first()
    if part is None or part.run.status != PrintRunStatus.RUNNING or part.pdf:
        return part
    try:
        pdf = _part_pdf(part)
    except Exception as exc:  # the run must end visibly, whatever went wrong
        logger.exception("Print run %s, part %s failed", part.run_id, part.index)
        print_run_fail(print_run_id=part.run_id, error=_part_problem(part, exc))
        return part
    storage = part.pdf.storage
    name = storage.save(
        print_part_upload_to(part, f"print-run-{part.run_id}-{part.index}.pdf"), ContentFile(pdf)
    )
    try:
        with transaction.atomic():
            run = PrintRun.objects.select_for_update().get(pk=part.run_id)
            locked = PrintRunPart.objects.select_for_update().get(pk=part.pk)
            stored = not locked.pdf and run.status == PrintRunStatus.RUNNING
            if stored:
                locked.pdf.name = name
                locked.rendered_at = timezone.now()
                locked.save(update_fields=["pdf", "rendered_at"])
                PrintRun.objects.filter(pk=run.pk).update(done=F("done") + len(locked.certificate_ids))
    except BaseException:
        storage.delete(name)
        raise
    if not stored:  # stored first by a concurrent task, or the run failed meanwhile: this copy goes
        storage.delete(name)
    elif not PrintRunPart.objects.filter(run_id=part.run_id, pdf="").exists():
        from ..tasks import print_run_join

        print_run_join.delay(print_run_id=part.run_id)  # the last part stored (maybe by two tasks)
    return locked


def _part_pdf(part: PrintRunPart) -> bytes:
    config = certificate_settings_get()
    seal = _read(config.seal)
    rows = _certificates_in_order(part.certificate_ids)
    if len(rows) != len(part.certificate_ids):
        raise _PartProblem(_("a certificate of this part no longer exists"))
    items = [certificate_data(row, seal=seal, photo=_certificate_photo(row)) for row in rows]
    return rendering.render_certificates_pdf(items, processes=1)


class _PartProblem(Exception):
    """A part's problem already worded for staff."""


#: Problems whose own text tells staff what to do (which certificate, which character or image).
_EXPLAINED = (
    _PartProblem,
    rendering.UnrenderableTextError,
    rendering.InvalidImageError,
    FontUnavailableError,
)


def _part_problem(part: PrintRunPart, exc: Exception) -> str:
    """The run's error as staff read it in admin: which part, and why (details of an unexpected
    error stay in the worker's log)."""
    if isinstance(exc, SoftTimeLimitExceeded):
        reason = _("it took longer than the time allowed for one part")
    elif isinstance(exc, _EXPLAINED):
        reason = str(exc)
    else:
        reason = _("an unexpected error (%(error)s), recorded in the worker's log") % {
            "error": type(exc).__name__
        }
    first = _first_position(part)
    return _(
        "Part %(part)s of %(parts)s (certificates %(first)s to %(last)s) could not be produced: %(reason)s"
    ) % {
        "part": part.index + 1,
        "parts": part.run.parts.count(),
        "first": first,
        "last": first + len(part.certificate_ids) - 1,
        "reason": reason,
    }


def _first_position(part: PrintRunPart) -> int:
    """The position in the run (from 1) of the part's first certificate."""
    earlier = PrintRunPart.objects.filter(run_id=part.run_id, index__lt=part.index).values_list(
        "certificate_ids", flat=True
    )
    return sum(len(ids) for ids in earlier) + 1


def print_run_join(*, print_run_id: int) -> PrintRun | None:
    """Merge the stored parts, in order, into the run's PDF (running → done).

    Idempotent and safe to run concurrently: the run's row is locked; a run not running, or with a
    part not stored yet, is left as it is."""
    with transaction.atomic():
        run = PrintRun.objects.select_for_update().filter(pk=print_run_id).first()
        if run is None or run.status != PrintRunStatus.RUNNING:
            return run
        parts = list(run.parts.order_by("index"))
        if not parts or any(not part.pdf for part in parts):
            return run
        contents = [_read(part.pdf) for part in parts]
        if any(content is None for content in contents):
            return _fail(run, _("A part of the print run is missing; request the print run again."))
        pdf = contents[0] if len(contents) == 1 else rendering.join_pdfs(contents)
        run.pdf.save(f"print-run-{run.pk}.pdf", ContentFile(pdf), save=False)
        run.status = PrintRunStatus.DONE
        run.done = run.total
        run.finished_at = timezone.now()
        run.save(update_fields=["pdf", "status", "done", "finished_at"])
        audit_record(
            actor=None,
            action="certificate.print_run_done",
            target=run,
            old={"status": PrintRunStatus.RUNNING},
            new={"status": run.status, "pages": run.total},
        )
        part_files = [(part.pdf.storage, part.pdf.name) for part in parts]
        transaction.on_commit(lambda: _delete_files(part_files))
    return run


def _delete_files(files) -> None:
    for storage, name in files:
        storage.delete(name)


def print_run_fail(*, print_run_id: int, error: str) -> PrintRun | None:
    """End a queued or running run visibly with its problem (→ failed)."""
    with transaction.atomic():
        run = PrintRun.objects.select_for_update().filter(pk=print_run_id).first()
        if run is None or run.status not in (PrintRunStatus.QUEUED, PrintRunStatus.RUNNING):
            return run
        return _fail(run, error)


def _fail(run: PrintRun, error: str) -> PrintRun:
    """Inside the transaction holding the run's row lock: the run fails and the parts stored so far
    are deleted (after the commit); parts still being rendered discard theirs (the run is failed)."""
    old_status = run.status
    run.status = PrintRunStatus.FAILED
    run.error = error[:2000]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    audit_record(
        actor=None,
        action="certificate.print_run_failed",
        target=run,
        old={"status": old_status},
        new={"status": run.status, "error": run.error},
    )
    stored = [(part.pdf.storage, part.pdf.name) for part in run.parts.exclude(pdf="")]
    if stored:
        transaction.on_commit(lambda: _delete_files(stored))
    return run


def print_run_pdf_file(*, run: PrintRun):
    """The finished run's PDF (its ``FieldFile``, to be sent by portal.files)."""
    if run.status != PrintRunStatus.DONE or not run.pdf:
        raise ValidationError(_("The print run is not ready yet."))
    return run.pdf


def print_run_pdf(*, run: PrintRun) -> io.BufferedReader:
    field_file = print_run_pdf_file(run=run)
    return field_file.storage.open(field_file.name, "rb")
