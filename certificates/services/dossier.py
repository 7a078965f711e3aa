"""一人一档 (issue #23): one trainee's file on demand, and a programme's files in one zip.

On demand (:func:`dossier_pdf_for`): the PDF of one trainee for staff with
``certificates.download_dossier``; full ID numbers only with ``registration.view_full_id_number``;
every file given out is audited (``dossier.viewed``; a full ID number also as the registration app's
full-ID view).

Bulk (:func:`dossier_run_create` → Celery :func:`dossier_run_produce`): the run lists the
programme's trainees; the task claims the run (queued → running, or a running one left stale),
renders the files chunk by chunk into a zip (a temporary file, one PDF per trainee), stores the
progress after every chunk and stores the zip in private storage (running → done). A run already
done or being produced by another worker is left alone, so delivering the task twice is harmless.
"""

import logging
import tempfile
import zipfile
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_record
from registration.models import FULL_ID_PERMISSION, Programme, Trainee
from registration.services.personal_data import FULL_ID_VIEW_ACTION, trainee_full_id_view_record

from ..dossier import dossier_filename, dossier_pdf, trainee_dossier
from ..models import DossierRun, PrintRunStatus

logger = logging.getLogger(__name__)

DOSSIER_PERMISSION = "certificates.download_dossier"
#: Files rendered between two progress updates.
CHUNK_SIZE = 10
#: A run "running" for longer than this is taken for one whose worker died: it may be claimed again.
STALE = timedelta(hours=1)


def _may_download(actor: User) -> None:
    if not actor.has_perm(DOSSIER_PERMISSION):
        raise PermissionDenied(_("You may not download one-person files."))


def dossier_pdf_for(*, trainee: Trainee, actor: User, ip: str | None = None) -> bytes:
    """The one-person file of ``trainee`` as PDF bytes, for ``actor``; audited."""
    _may_download(actor)
    full_id = actor.has_perm(FULL_ID_PERMISSION)
    content = dossier_pdf(trainee_dossier(trainee.pk, full_id=full_id))
    with transaction.atomic():
        audit_record(
            actor=actor, action="dossier.viewed", target=trainee, new={"full_id_number": full_id}, ip=ip
        )
        if full_id and trainee.id_number:
            trainee_full_id_view_record(trainee=trainee, viewer=actor, what="dossier_pdf", ip=ip)
    return content


def dossier_run_create(*, programme: Programme, actor: User, ip: str | None = None) -> DossierRun:
    """A bulk run of the files of every trainee of ``programme`` (purged ones left out); the task
    is queued after the commit."""
    from ..tasks import dossier_run_produce

    _may_download(actor)
    trainee_ids = list(
        Trainee.objects.filter(programme=programme, purged_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not trainee_ids:
        raise ValidationError(_("This programme has no trainees."))
    full_id = actor.has_perm(FULL_ID_PERMISSION)
    with transaction.atomic():
        run = DossierRun.objects.create(
            programme=programme,
            requested_by=actor,
            trainee_ids=trainee_ids,
            total=len(trainee_ids),
            full_id=full_id,
        )
        audit_record(
            actor=actor,
            action="dossier_run.requested",
            target=run,
            new={"programme": programme.pk, "trainees": len(trainee_ids), "full_id_numbers": full_id},
            ip=ip,
        )
        transaction.on_commit(lambda: dossier_run_produce.delay(dossier_run_id=run.pk))
    return run


def dossier_runs_requeue_stale(*, limit: int = 20) -> int:
    """Periodic (with the certificates sweep): queue again the runs whose task was lost (queued,
    or running, for longer than ``STALE``); :func:`dossier_run_produce` claims them again."""
    from ..tasks import dossier_run_produce as produce_task

    cutoff = timezone.now() - STALE
    ids = list(
        DossierRun.objects.filter(
            Q(status=PrintRunStatus.QUEUED, created_at__lt=cutoff)
            | Q(status=PrintRunStatus.RUNNING, started_at__lt=cutoff)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        produce_task.delay(dossier_run_id=pk)
    return len(ids)


def _claim(run_id: int) -> DossierRun | None:
    now = timezone.now()
    claimed = DossierRun.objects.filter(
        Q(status=PrintRunStatus.QUEUED) | Q(status=PrintRunStatus.RUNNING, started_at__lt=now - STALE),
        pk=run_id,
    ).update(status=PrintRunStatus.RUNNING, started_at=now, done=0)
    return DossierRun.objects.get(pk=run_id) if claimed else None


def dossier_run_produce(*, dossier_run_id: int) -> DossierRun:
    """Produce the run's zip (see the module). Idempotent: a run done, failed or being produced by
    another worker is returned unchanged."""
    run = _claim(dossier_run_id)
    if run is None:
        return DossierRun.objects.get(pk=dossier_run_id)
    try:
        with tempfile.TemporaryFile() as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
                ids = list(run.trainee_ids)
                for start in range(0, len(ids), CHUNK_SIZE):
                    chunk = Trainee.objects.filter(pk__in=ids[start : start + CHUNK_SIZE]).order_by("pk")
                    for trainee in chunk:
                        content = dossier_pdf(trainee_dossier(trainee.pk, full_id=run.full_id))
                        archive.writestr(dossier_filename(trainee), content)
                    DossierRun.objects.filter(pk=run.pk).update(done=min(len(ids), start + CHUNK_SIZE))
            handle.seek(0)
            with transaction.atomic():
                run = DossierRun.objects.select_for_update().get(pk=run.pk)
                if run.archive:
                    run.archive.delete(save=False)
                run.archive.save(f"dossiers-{run.programme_id}-{run.pk}.zip", File(handle), save=False)
                run.status = PrintRunStatus.DONE
                run.done = run.total
                run.finished_at = timezone.now()
                run.save(update_fields=["archive", "status", "done", "finished_at"])
    except Exception as exc:  # any failure ends the run with its reason for staff to see
        logger.exception("One-person file run %s failed", dossier_run_id)
        DossierRun.objects.filter(pk=dossier_run_id).update(
            status=PrintRunStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        run.refresh_from_db()
    return run


def dossier_run_file(*, run: DossierRun, actor: User, ip: str | None = None):
    """The run's zip for ``actor`` (audited); refused until the run is done."""
    _may_download(actor)
    if run.status != PrintRunStatus.DONE or not run.archive:
        raise ValidationError(_("The zip file is not ready yet."))
    audit_record(
        actor=actor,
        action="dossier_run.downloaded",
        target=run,
        new={"trainees": run.total, "full_id_numbers": run.full_id},
        ip=ip,
    )
    if run.full_id:
        audit_record(
            actor=actor,
            action=FULL_ID_VIEW_ACTION,
            target=run.programme,
            new={"what": "dossier_zip", "trainee_ids": sorted(run.trainee_ids)},
            ip=ip,
        )
    return run.archive
