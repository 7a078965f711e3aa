"""Signal receivers: react to upstream events by queueing tasks, and warm the renderer of Celery
workers (no business logic here)."""


def exam_passed_issue_certificate(sender, *, enrollment_id: int, **kwargs) -> None:
    """``exams.signals.exam_passed`` (sent after the grading commits): queue the certificate."""
    from .tasks import issue

    issue.delay(enrollment_id=enrollment_id)


def exam_photo_approved_issue_certificate(sender, *, enrollment_id: int, approved: bool, **kwargs) -> None:
    """``learning.signals.exam_photo_reviewed`` (inside the review's transaction): an approved exam
    photo queues the certificate it held, after the commit (issuing is idempotent)."""
    from django.db import transaction

    from .tasks import issue

    if approved:
        transaction.on_commit(lambda: issue.delay(enrollment_id=enrollment_id))


def worker_starting_warm_up(sender=None, **kwargs) -> None:
    """``celery.signals.worker_init`` (the worker's main process, before its pool starts): prepare the
    certificate renderer (cut fonts, template, stylesheet, font configuration) and render a throw-away
    page, so that the pool's forked processes inherit it warm."""
    _warm_up("worker")


def worker_process_warm_up(sender=None, **kwargs) -> None:
    """``celery.signals.worker_process_init`` (each new pool process, also after a restart of one):
    render a throw-away page, so that the first certificate of the process is not a cold one.

    Only with the renderer inherited warm: preparing it from nothing takes seconds, longer than
    the pool waits for a new process to come up (``worker_proc_alive_timeout``)."""
    from . import rendering

    if rendering.get_renderer.cache_info().currsize:
        _warm_up("worker process")


def _warm_up(where: str) -> None:
    import logging
    import time

    from . import rendering

    started = time.perf_counter()
    try:
        rendering.warm_up()
    except Exception:  # a worker must start even if certificates cannot be rendered (logged)
        logging.getLogger("certificates").exception("Certificate renderer warm-up failed (%s)", where)
        return
    logging.getLogger("certificates").info(
        "Certificate renderer warm (%s) in %.0f ms", where, (time.perf_counter() - started) * 1000
    )


def calendar_changed_recompute_mailing(sender, *, years: list[int], **kwargs) -> None:
    """``portal.workday_calendar.calendar_changed`` (after the import commits): queue the
    certificates not mailed yet whose mailing deadline was provisional."""
    from .models import Certificate, CertificateStatus, MailingStatus
    from .tasks import mailing_deadlines_recompute

    ids = list(
        Certificate.objects.filter(status=CertificateStatus.VALID, deadline_provisional=True)
        .exclude(mailing_status=MailingStatus.MAILED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if ids:
        mailing_deadlines_recompute.delay(certificate_ids=ids)


def refresher_registered_link(sender, *, application_id: int, programme_id: int, **kwargs) -> None:
    """``registration.signals.refresher_registered`` (after the re-registration commits): link the
    programme's refresher invitations to the new registrations."""
    from .tasks import refresher_registrations_link

    refresher_registrations_link.delay(programme_id=programme_id)
