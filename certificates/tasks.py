"""Celery tasks of the certificates app: thin wrappers around services (ids in, idempotent)."""

import logging

from celery import shared_task
from django.core.exceptions import ValidationError

from .services import mailing, notices, pdf, print_runs
from .services.issue import certificates_issue, certificates_issue_missing

logger = logging.getLogger("certificates")


@shared_task(name="certificates.tasks.issue", acks_late=True)
def issue(*, enrollment_id: int) -> list[int]:
    """Issue the certificate of a passed enrollment (queued when the exam is passed). Idempotent.

    If it cannot be issued yet (no issuer configured), the periodic sweep issues it later."""
    try:
        return [row.pk for row in certificates_issue(enrollment_ids=[enrollment_id]).issued]
    except ValidationError as exc:
        logger.error("Certificate for enrollment %s not issued: %s", enrollment_id, "; ".join(exc.messages))
        return []


@shared_task(name="certificates.tasks.issue_missing")
def issue_missing() -> int:
    """Periodic: passed enrollments without a certificate, certificates without their PDF, and print
    runs and one-person file runs whose tasks were lost."""
    try:
        issued = certificates_issue_missing()
    except ValidationError as exc:
        logger.error("Certificates not issued: %s", "; ".join(exc.messages))
        issued = 0
    pdf.certificates_render_missing()
    print_runs.print_runs_requeue_stale()
    from .services.dossier import dossier_runs_requeue_stale

    dossier_runs_requeue_stale()
    return issued


@shared_task(name="certificates.tasks.certificate_render", acks_late=True)
def certificate_render(*, certificate_id: int) -> bool:
    """Produce the certificate's PDF if it has none yet."""
    row = pdf.certificate_render(certificate_id=certificate_id)
    return bool(row and row.pdf)


@shared_task(name="certificates.tasks.certificate_issued_notify")
def certificate_issued_notify(*, certificate_id: int) -> bool:
    return notices.certificate_issued_notify(certificate_id=certificate_id)


@shared_task(name="certificates.tasks.print_run_produce", acks_late=True)
def print_run_produce(*, print_run_id: int) -> str:
    """Start a print run: one ``print_run_part_render`` task per part (rendered in parallel)."""
    run = print_runs.print_run_produce(print_run_id=print_run_id)
    return run.status if run else "missing"


@shared_task(name="certificates.tasks.print_run_part_render", acks_late=True)
def print_run_part_render(*, part_id: int) -> bool:
    """Render one part of a print run; the last part queues ``print_run_join``."""
    part = print_runs.print_run_part_render(part_id=part_id)
    return bool(part and part.pdf)


@shared_task(name="certificates.tasks.print_run_join", acks_late=True)
def print_run_join(*, print_run_id: int) -> str:
    """Merge a print run's parts into its PDF once all of them are stored."""
    run = print_runs.print_run_join(print_run_id=print_run_id)
    return run.status if run else "missing"


@shared_task(name="certificates.tasks.mailing_deadlines_recompute")
def mailing_deadlines_recompute(*, certificate_ids: list[int]) -> int:
    """After a calendar import: recompute these certificates' provisional mailing deadlines."""
    return mailing.mailing_deadlines_recompute(certificate_ids=certificate_ids)


# --- Refresher invitations (certificates.services.refresher) ---------------------------------


@shared_task(name="certificates.tasks.refresher_invitations_sweep")
def refresher_invitations_sweep() -> list[int]:
    """Daily: queue the invitations of every programme open today (each run is idempotent)."""
    from .services.refresher import refresher_programmes_open

    programme_ids = refresher_programmes_open()
    for programme_id in programme_ids:
        refresher_invitations_send.delay(programme_id=programme_id)
    return programme_ids


@shared_task(name="certificates.tasks.refresher_invitations_send", acks_late=True)
def refresher_invitations_send(*, programme_id: int) -> int:
    """Invite the holders due for the refresher to the programme (at most once each)."""
    from .services.refresher import refresher_invitations_send as send

    return len(send(programme_id=programme_id).invited)


@shared_task(name="certificates.tasks.refresher_registrations_link", acks_late=True)
def refresher_registrations_link(*, programme_id: int) -> int:
    """Link the programme's invitations to the registrations made since (idempotent)."""
    from .services.refresher import refresher_registrations_link as link

    return link(programme_id=programme_id)


@shared_task(name="certificates.tasks.dossier_run_produce", acks_late=True)
def dossier_run_produce(*, dossier_run_id: int) -> str:
    """Produce a bulk run of one-person files (一人一档) into its zip. Idempotent."""
    from .services.dossier import dossier_run_produce as produce

    return produce(dossier_run_id=dossier_run_id).status
