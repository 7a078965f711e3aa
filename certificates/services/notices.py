"""Notices to certificate holders, through ``portal.notifications.notices_deliver`` (recorded in the
caller's transaction, sent by a Celery task after the commit, failures logged and never raised):

- the certificate issued (message kind ``certificate_issued``): a Celery task after the issue
  commits, claimed once in the audit log;
- the certificate mailed with its tracking number (``certificate_mailed``): recorded in the
  transaction that marks it mailed.
"""

from django.db import transaction

from portal.models import AuditEntry
from portal.notifications import Notice, notices_deliver
from portal.services import audit_record

from ..models import Certificate, CertificateStatus


def certificate_issued_notify(*, certificate_id: int) -> bool:
    """SMS the holder that the certificate is ready (once: marked in the audit log)."""
    with transaction.atomic():
        certificate = (
            Certificate.objects.select_for_update()
            .select_related("enrollment__user")
            .filter(pk=certificate_id)
            .first()
        )
        if certificate is None or certificate.status != CertificateStatus.VALID:
            return False
        already = AuditEntry.objects.filter(
            action="certificate.notified", target_id=str(certificate.pk), target_type__model="certificate"
        ).exists()
        if already:
            return False
        audit_record(actor=None, action="certificate.notified", target=certificate)
        notices_deliver(
            [
                Notice(
                    mobile=certificate.enrollment.user.mobile,
                    email="",
                    subject="",
                    body="",
                    kind="certificate_issued",
                    params={"number": certificate.number, "due": certificate.mail_due_on.isoformat()},
                    event_key=f"certificate:{certificate.pk}:issued",
                    about=certificate,
                )
            ]
        )
    return True


def certificate_mailed_notify(*, certificate: Certificate) -> None:
    """SMS the holder the courier and the tracking number of the mailed certificate (call it in the
    transaction that marks it mailed; ``certificate.enrollment.user`` loaded)."""
    notices_deliver(
        [
            Notice(
                mobile=certificate.enrollment.user.mobile,
                email="",
                subject="",
                body="",
                kind="certificate_mailed",
                params={
                    "number": certificate.number,
                    "courier": certificate.courier,
                    "tracking": certificate.tracking_number,
                },
                event_key=f"certificate:{certificate.pk}:mailed:{certificate.tracking_number}",
                about=certificate,
            )
        ]
    )
