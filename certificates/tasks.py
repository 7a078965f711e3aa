"""Celery tasks of the certificates app: thin wrappers around services (ids in, idempotent)."""

import logging

from celery import shared_task
from django.core.exceptions import ValidationError

from .services import notices, pdf, print_runs
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
    """Periodic: passed enrollments without a certificate, and certificates without their PDF."""
    try:
        issued = certificates_issue_missing()
    except ValidationError as exc:
        logger.error("Certificates not issued: %s", "; ".join(exc.messages))
        issued = 0
    pdf.certificates_render_missing()
    return issued


@shared_task(name="certificates.tasks.certificate_render", acks_late=True)
def certificate_render(*, certificate_id: int) -> bool:
    """Produce the certificate's PDF if it has none yet."""
    row = pdf.certificate_render(certificate_id=certificate_id)
    return bool(row and row.pdf)


@shared_task(name="certificates.tasks.certificate_issued_notify")
def certificate_issued_notify(*, certificate_id: int) -> bool:
    return notices.certificate_issued_notify(certificate_id=certificate_id)


@shared_task(
    name="certificates.tasks.print_run_produce", acks_late=True, time_limit=1800, soft_time_limit=1700
)
def print_run_produce(*, print_run_id: int) -> str:
    run = print_runs.print_run_produce(print_run_id=print_run_id)
    return run.status if run else "missing"
