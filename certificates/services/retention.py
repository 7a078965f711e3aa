"""Retention: the copy of the mailing details on the certificates of purged trainees is emptied
(registered in ``learning.retention.RETENTION_PURGERS`` by ``certificates.apps``)."""

from django.db import transaction

from portal.services import audit_record, audit_values_redact

from ..models import Certificate

MAILING_PURGE_ACTION = "certificate.mailing_details_purged"


def certificates_purge_mailing_details(*, trainee_ids, reason: str = "") -> list[int]:
    """Empty the copy of the mailing recipient, phone and address on the certificates of these
    purged trainees (the tracking number, dates and the certificate itself stay: the holder and
    the verification page still rely on it). Set-based, idempotent; one audit entry lists the ids."""
    ids = sorted({int(pk) for pk in trainee_ids})
    if not ids:
        return []
    with transaction.atomic():
        certificates = list(
            Certificate.objects.select_for_update()
            .filter(enrollment__trainee_id__in=ids)
            .exclude(mail_recipient="", mail_phone="", mail_address="")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not certificates:
            return []
        Certificate.objects.filter(pk__in=certificates).update(
            mail_recipient="", mail_phone="", mail_address=""
        )
        audit_values_redact(
            model=Certificate, ids=certificates, fields={"mail_recipient", "mail_phone", "mail_address"}
        )
        audit_record(
            actor=None, action=MAILING_PURGE_ACTION, new={"certificate_ids": certificates}, reason=reason
        )
    return certificates
